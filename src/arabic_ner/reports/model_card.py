"""The model card: a README.md in a saved model directory saying what the model was trained on,
with which config, how well it scores, where it falls short, and how to load it.

Everything in the card comes from explicit inputs (the resolved config, ``metrics.json`` with its
span counts per label, and the ``cv.json`` summary when there is one), so the card states what the
run produced and nothing it did not.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..core.config import SCRATCH, Config, Source
from ..core.results import CrossValidation, SourceCount, TrainingMetrics, pct
from .markdown import markdown_table

FEW_SPANS = 30  # a type with fewer training spans than this gets a warning in the limits


def model_card(model_dir: str | Path, config: Config, metrics: TrainingMetrics, cv: CrossValidation | None = None) -> str:
    """The card's Markdown (Hugging Face front matter, then one section each) for the model saved in
    ``model_dir``, trained with ``config``, with the ``metrics`` that
    :func:`arabic_ner.training.trainer.train_model` returns and the cross-validation ``cv`` of
    :func:`arabic_ner.training.crossval.cross_validate`, if any."""
    model_dir = Path(model_dir).as_posix()
    sections = [
        front_matter(config), title(model_dir, config), training_data(config, metrics), scores(config, metrics, cv),
        limits(config, metrics), how_to_use(model_dir, config), config_block(config),
    ]
    return "\n".join(line for section in sections for line in section) + "\n"


def front_matter(config: Config) -> list[str]:
    from huggingface_hub import ModelCardData

    base = config.init_from or (None if config.model == SCRATCH else config.model)
    data = ModelCardData(language="ar", library_name="transformers", pipeline_tag="token-classification",
                         tags=["token-classification", "ner", "arabic", "news", "arabic_ner"], base_model=base)
    return ["---", data.to_yaml(), "---", ""]


def _base(config: Config) -> str:
    if config.init_from:
        return f"the token classifier `{config.init_from}` (its encoder, tokenizer and the classifier rows of shared labels), fine-tuned"
    if config.model == SCRATCH:
        s = config.scratch
        return (f"a small BERT trained from random weights ({s.num_hidden_layers} layers, hidden size "
                f"{s.hidden_size}), with a WordPiece vocabulary learnt from the training texts")
    return f"`{config.model}` (revision `{config.revision}`), fine-tuned"


def title(model_dir: str, config: Config) -> list[str]:
    return [
        f"# {Path(model_dir).name}: Arabic named-entity recognition for news", "",
        f"Tags {', '.join(config.labels)} in Arabic news text. Base: {_base(config)}. "
        "Trained with arabic_ner; its predictions are character spans of the original text.", "",
    ]


def _source_line(source: Source, count: SourceCount | None) -> str:
    """A training source: its file, what was read of it and how."""
    details = [f"{count.documents} documents, {count.windows} windows"] if count else []
    if source.weight != 1.0:
        details.append(f"weight {source.weight:g}")
    if source.label_map:
        details.append("labels mapped " + ", ".join(f"{k} → {v if v is not None else 'dropped'}" for k, v in source.label_map.items()))
    if not source.holdout:
        details.append("always trained on, never held out")
    return f"- `{source.path}`" + (f": {'; '.join(details)}" if details else "")


def _n(count, noun: str) -> str:
    """``1 document``, ``4 documents``."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def training_data(config: Config, metrics: TrainingMetrics) -> list[str]:
    train, dev = metrics.train, metrics.dev
    counts = train.sources + [None] * (len(config.train) - len(train.sources))
    lines = ["## Training data", "", *(_source_line(s, c) for s, c in zip(config.train, counts)),
             f"- {_n(train.documents, 'training document')} ({train.windows} windows of at most "
             f"{config.max_length} tokens, stride {config.stride})"]
    if dev:
        source = f"`{config.dev.path}`" if config.dev else f"{pct(config.dev_fraction)}% of the documents, held out by document"
        lines.append(f"- {_n(dev.documents, 'dev document')} ({source}), {dev.gold_spans} gold spans: {', '.join(dev.document_ids or [])}")
    else:
        lines.append("- no dev documents: the last epoch was kept")
    rows = [[label, train.spans_per_label.get(label, 0)] for label in config.labels]
    rows.append(["**total**", sum(train.spans_per_label.get(label, 0) for label in config.labels)])
    return lines + [""] + markdown_table(["label", "spans in the training documents"], rows, numbers=True) + [""]


def scores(config: Config, metrics: TrainingMetrics, cv: CrossValidation | None) -> list[str]:
    """The cross-validation estimate, the dev scores, and how long it trained."""
    from .markdown import estimate_lines, per_type_table

    lines, dev, train = ["## Scores", ""], metrics.dev, metrics.train
    if cv:
        lines += [f"{cv.k}-fold cross-validation by document (each fold trained as this model was, scored on its held-out "
                  "documents); mean ± standard deviation over the folds:", "", *estimate_lines(cv), "",
                  *per_type_table(cv, config.labels), ""]
    if dev:
        rows = [[f"**{name}**" if name in ("micro", "macro") else name,
                 *((pct(entry.precision), pct(entry.recall), pct(entry.f1), entry.support) if entry else ("–", "–", "–", 0))]
                for name, entry in dev.spans.rows() if name in config.labels or name in ("micro", "macro")]
        lines += [
            f"On the {_n(dev.documents, 'dev document')}, exact character spans (start, end and type all equal). "
            "The dev set also chose the best epoch, so these numbers lean optimistic"
            + (" (the cross-validation above is the estimate to quote)." if cv else "."), "",
            *markdown_table(["type", "precision", "recall", "F1", "support"], rows, numbers=True), "",
            f"seqeval strict (IOB2) micro F1 on whole-word tags, which do not see where an entity starts after a "
            f"proclitic: {pct(dev.seqeval.strict.micro.f1)}. Errors: " + ", ".join(f"{k} {v}" for k, v in (dev.errors or {}).items()) + ".",
            "",
        ]
    if not cv and not dev:
        lines += ["No held-out score: this model was trained without dev documents and without cross-validation.", ""]
    epochs = train.epoch if train.epoch is not None else config.num_train_epochs
    return lines + [
        f"Trained for {epochs:g} epochs"
        + (f", best checkpoint `{metrics.best_checkpoint}`" if metrics.best_checkpoint else "")
        + (f", mean train loss {train.train_loss:.4f}" if train.train_loss is not None else "")
        + ". `metrics.json` has the full log.", "",
    ]


def limits(config: Config, metrics: TrainingMetrics) -> list[str]:
    train, dev, labels = metrics.train, metrics.dev, config.labels
    n_spans = sum(train.spans_per_label.get(label, 0) for label in labels)
    out = [
        f"It knows only {', '.join(labels)}; persons and every other kind of entity are left untagged.",
        f"It learnt from {_n(train.documents, 'document')} and {n_spans} spans. Expect it to do worse on "
        "other sources, topics, dialects and spelling than these scores say.",
    ]
    rare = [label for label in labels if train.spans_per_label.get(label, 0) < FEW_SPANS]
    if rare:
        out.append(f"Few training examples (fewer than {FEW_SPANS} spans) for {', '.join(rare)}: "
                   "scores for these types are noisy and the model often misses them.")
    if dev and dev.documents < 5:
        out.append(f"The dev score rests on {_n(dev.documents, 'document')}: a handful of spans moves it by points.")
    if config.model == SCRATCH:
        out.append("The model started from random weights and its vocabulary comes from the training texts alone: "
                   "it has no knowledge of Arabic beyond them, and words it never saw fall apart into pieces or `[UNK]`. "
                   "Use a pretrained base (configs/camelbert-msa.yaml) for real use.")
    out += [
        "The model labels whole words. A word's label also says how many proclitic letters (و ف ب ل ك) an entity "
        "leaves out of it: `B-X` starts at the word, `B1-X` after one letter, `B2-X` after two (`I-X` continues, "
        "`O` is outside). `arabic_ner.Tagger` applies this and returns «داعش» in «لداعش», exact to the character. "
        "The transformers pipeline cannot cut a word: with `aggregation_strategy=\"first\"` (below) it shows each "
        "entity word whole under its type («لداعش» as ORG), and an entity that starts after a proclitic and runs "
        "over several words as two groups of that type. It also reads diacritics and tatweel, which arabic_ner "
        "removes before the tokenizer sees the text, as in training. Use the Tagger for exact spans.",
        f"Text is read in windows of {config.max_length} tokens. The Tagger covers long documents with overlapping windows; "
        "the pipeline does so only when given `stride` (as below), and otherwise silently tags the first window alone.",
    ]
    return ["## Limits", "", *(f"- {limit}" for limit in out), ""]


def how_to_use(model_dir: str, config: Config) -> list[str]:
    return [
        "## How to use",
        "",
        "With transformers alone:",
        "",
        "```python",
        "from transformers import pipeline",
        "",
        f'ner = pipeline("token-classification", model="{model_dir}", aggregation_strategy="first", stride={config.stride})',
        'print(ner("قصف التحالف مواقع لداعش في الموصل"))',
        "```",
        "",
        "With arabic_ner (spans exact to the character, long documents windowed, batches packed):",
        "",
        "```python",
        "from arabic_ner import Tagger",
        "",
        f'tagger = Tagger.load("{model_dir}")',
        'text = "قصف التحالف مواقع لداعش في الموصل"',
        "for span in tagger.tag_text(text):",
        "    print(span.label, text[span.start:span.end], span.start, span.end)",
        "```",
        "",
        f"or from the shell: `arabic-ner predict --model {model_dir} --input data/raw --output tagged.jsonl`.",
        "",
    ]


def config_block(config: Config) -> list[str]:
    return [
        "## Config",
        "",
        "The resolved config it was trained with (also in `training_config.yaml`):",
        "",
        "```yaml",
        yaml.safe_dump(config.to_dict(), allow_unicode=True, sort_keys=False).rstrip(),
        "```",
    ]


def write_model_card(model_dir: str | Path, config: Config, metrics: TrainingMetrics, cv: CrossValidation | None = None) -> Path:
    """Write :func:`model_card` to ``<model_dir>/README.md`` and return its path.

    >>> write_model_card("models/tiny", load_config("models/tiny/training_config.yaml"),
    ...                  read_json(TrainingMetrics, "models/tiny/metrics.json"))  # doctest: +SKIP
    """
    path = Path(model_dir) / "README.md"
    path.write_text(model_card(model_dir, config, metrics, cv), encoding="utf-8")
    return path
