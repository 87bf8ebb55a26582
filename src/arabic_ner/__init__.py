"""arabic_ner: train and run Arabic named-entity recognition on news text, exact to the character.

    from arabic_ner import Tagger

    tagger = Tagger.load("models/tiny")
    text = "قصف التحالف مواقع لداعش في الموصل"
    for span in tagger.tag_text(text):
        print(span.label, text[span.start:span.end], span.start, span.end)

The ``arabic-ner`` command (:mod:`arabic_ner.cli`) covers the rest. The library is in layers, each
importing only those before it:

- ``core``: the shapes everything shares (documents and spans, words, labels, alignment,
  encoding, configs, typed results, one-line problems);
- ``data``: files in and out (Label Studio JSON, CoNLL, inputs, prediction formats, safe writing);
- ``reports``: Markdown tables, plots, model cards;
- ``model``: loading, building, vocabulary, precision, the Tagger, sharding over processes;
- ``evaluation``: seqeval and character-span scores, evaluation reports;
- ``training``: training sources and splits, the Trainer, cross-validation, pretraining;
- ``labelstudio``: the Label Studio client, the model backend, choosing what to annotate;
- ``cli``: the ``arabic-ner`` command, one module per subcommand.

The library speaks through the ``arabic_ner`` logger and adds nothing to it but a ``NullHandler``:
an application decides what it shows (``logging.basicConfig(level=logging.INFO)`` shows the notes).
The commands print its notes and warnings on standard error.
"""

import importlib as _importlib
import logging as _logging

__version__ = "0.1.0"

_logging.getLogger(__name__).addHandler(_logging.NullHandler())

# The public names, imported when first used: torch and transformers load only when a model is needed.
_PUBLIC = {
    "Tagger": "model.inference", "Tagged": "model.inference",
    "Document": "core.document", "Span": "core.document",
    "Config": "core.config", "PretrainConfig": "core.config", "load_config": "core.config",
    "Problems": "core.problems", "UserError": "core.problems",
    "EvaluationReport": "core.results", "TrainingMetrics": "core.results", "CrossValidation": "core.results", "read_json": "core.results",
    "read_annotations": "data.labelstudio_json", "read_conll": "data.conll", "iter_input": "data.inputs",
    "load_documents": "training.corpora", "train_model": "training.trainer", "cross_validate": "training.crossval",
    "score_documents": "evaluation.scoring",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(_importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_PUBLIC])
