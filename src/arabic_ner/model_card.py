"""The model card: a README.md in a saved model directory saying what the model was trained on,
with which config, how well it scores, where it falls short, and how to load it.

Everything in the card comes from explicit inputs (the resolved config, ``metrics.json`` with its
span counts per label, and the ``cv.json`` summary when there is one), so the card states what the
run produced and nothing it did not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import yaml

FEW_SPANS = 30  # a type with fewer training spans than this gets a warning in the limits


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _source_lines(sources: list[dict], counts: list[dict]) -> list[str]:
    """One line per training source: its file, what was read of it and how."""
    lines = []
    for n, source in enumerate(sources):
        count = counts[n] if n < len(counts) else {}
        details = [f"{count['documents']} documents, {count['windows']} windows"] if count else []
        if source.get("weight", 1.0) != 1.0:
            details.append(f"weight {source['weight']:g}")
        if source.get("label_map"):
            details.append("labels mapped " + ", ".join(f"{k} → {v if v is not None else 'dropped'}" for k, v in source["label_map"].items()))
        if not source.get("holdout", True):
            details.append("always trained on, never held out")
        lines.append(f"- `{source['path']}`" + (f": {'; '.join(details)}" if details else ""))
    return lines


def _n(count, noun: str) -> str:
    """``1 document``, ``4 documents``."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _prf(entry: Mapping | None) -> str:
    if not entry:
        return "– | – | –"
    return f"{_pct(entry['precision'])} | {_pct(entry['recall'])} | {_pct(entry['f1'])}"


def model_card(model_dir: str | Path, config: Mapping, metrics: Mapping, cv: Mapping | None = None) -> str:
    """The card's Markdown (with Hugging Face front matter) for the model saved in ``model_dir``.

    ``config`` is the resolved config as a dict (``Config.to_dict()``), ``metrics`` what
    :func:`arabic_ner.training.train_model` returns (``train`` with ``spans_per_label``, optional
    ``dev``, ``log_history``), ``cv`` the summary of
    :func:`arabic_ner.training.cross_validate` (``cv.json``) or ``None``.
    """
    model_dir = Path(model_dir).as_posix()
    labels = list(config["labels"])
    train = metrics.get("train", {})
    label_counts = train.get("spans_per_label", {})
    dev = metrics.get("dev")
    n_spans = sum(label_counts.get(label, 0) for label in labels)
    scratch = config["model"] == "scratch"
    if config.get("init_from"):
        base = f"the token classifier `{config['init_from']}` (its encoder, tokenizer and the classifier rows of shared labels), fine-tuned"
    elif scratch:
        s = config["scratch"]
        base = (f"a small BERT trained from random weights ({s['num_hidden_layers']} layers, hidden size "
                f"{s['hidden_size']}), with a WordPiece vocabulary learnt from the training texts")
    else:
        base = f"`{config['model']}` (revision `{config['revision']}`), fine-tuned"

    lines = [
        "---",
        "language: ar",
        "library_name: transformers",
        "pipeline_tag: token-classification",
        "tags: [token-classification, ner, arabic, news, arabic_ner]",
        "---",
        "",
        f"# {Path(model_dir).name}: Arabic named-entity recognition for news",
        "",
        f"Tags {', '.join(labels)} in Arabic news text. Base: {base}. "
        "Trained with arabic_ner; its predictions are character spans of the original text.",
        "",
        "## Training data",
        "",
        *_source_lines(config["train"], train.get("sources", [])),
        f"- {_n(train.get('documents', '?'), 'training document')} ({train.get('windows', '?')} windows of at most "
        f"{config['max_length']} tokens, stride {config['stride']})",
    ]
    if dev:
        source = f"`{config['dev']['path']}`" if config.get("dev") else f"{_pct(config['dev_fraction'])}% of the documents, held out by document"
        lines.append(f"- {_n(dev['documents'], 'dev document')} ({source}), {dev['gold_spans']} gold spans: {', '.join(dev.get('document_ids', []))}")
    else:
        lines.append("- no dev documents: the last epoch was kept")
    lines += ["", "| label | spans in the training documents |", "|---|---|"]
    lines += [f"| {label} | {label_counts.get(label, 0)} |" for label in labels]
    lines += [f"| **total** | {n_spans} |", ""]

    lines += ["## Scores", ""]
    if cv:
        ms = cv["mean_std"]
        lines += [
            f"{cv['k']}-fold cross-validation by document (each fold trained as this model was, scored on its held-out documents); "
            "mean ± standard deviation over the folds:",
            "",
            f"- character-span micro F1: **{_pct(ms['span_micro_f1']['mean'])} ± {_pct(ms['span_micro_f1']['std'])}**",
            f"- seqeval strict micro F1: {_pct(ms['seqeval_strict_micro_f1']['mean'])} ± {_pct(ms['seqeval_strict_micro_f1']['std'])}",
            "",
            "| type | span F1 mean ± std |",
            "|---|---|",
        ]
        for label in labels:
            entry = ms["span_f1_per_type"].get(label)
            lines.append(f"| {label} | " + (f"{_pct(entry['mean'])} ± {_pct(entry['std'])}" if entry else "– (in no test fold)") + " |")
        lines.append("")
    if dev:
        spans = dev["spans"]
        lines += [
            f"On the {_n(dev['documents'], 'dev document')}, exact character spans (start, end and type all equal). "
            "The dev set also chose the best epoch, so these numbers lean optimistic"
            + (" (the cross-validation above is the estimate to quote)." if cv else "."),
            "",
            "| type | precision | recall | F1 | support |",
            "|---|---|---|---|---|",
        ]
        for label in labels:
            entry = spans["per_type"].get(label)
            lines.append(f"| {label} | {_prf(entry)} | {entry['support'] if entry else 0} |")
        lines += [
            f"| **micro** | {_prf(spans['micro'])} | {spans['micro']['support']} |",
            f"| **macro** | {_prf(spans['macro'])} | {spans['macro']['support']} |",
            "",
            f"seqeval strict (IOB2) micro F1 on whole-word tags, which do not see where an entity starts after a "
            f"proclitic: {_pct(dev['seqeval']['strict']['micro']['f1'])}. "
            f"Errors: " + ", ".join(f"{k} {v}" for k, v in dev["errors"].items()) + ".",
            "",
        ]
    if not cv and not dev:
        lines += ["No held-out score: this model was trained without dev documents and without cross-validation.", ""]
    epochs = train.get("epoch", config["num_train_epochs"])
    lines += [
        f"Trained for {epochs:g} epochs"
        + (f", best checkpoint `{metrics['best_checkpoint']}`" if metrics.get("best_checkpoint") else "")
        + (f", mean train loss {train['train_loss']:.4f}" if "train_loss" in train else "")
        + ". `metrics.json` has the full log.",
        "",
    ]

    lines += ["## Limits", ""]
    limits = [
        f"It knows only {', '.join(labels)}; persons and every other kind of entity are left untagged.",
        f"It learnt from {_n(train.get('documents', '?'), 'document')} and {n_spans} spans. Expect it to do worse on "
        "other sources, topics, dialects and spelling than these scores say.",
    ]
    rare = [label for label in labels if label_counts.get(label, 0) < FEW_SPANS]
    if rare:
        limits.append(f"Few training examples (fewer than {FEW_SPANS} spans) for {', '.join(rare)}: "
                      "scores for these types are noisy and the model often misses them.")
    if dev and dev["documents"] < 5:
        limits.append(f"The dev score rests on {_n(dev['documents'], 'document')}: a handful of spans moves it by points.")
    if scratch:
        limits.append("The model started from random weights and its vocabulary comes from the training texts alone: "
                      "it has no knowledge of Arabic beyond them, and words it never saw fall apart into pieces or `[UNK]`. "
                      "Use a pretrained base (configs/camelbert-msa.yaml) for real use.")
    limits += [
        "The model labels whole words. A word's label also says how many proclitic letters (و ف ب ل ك) an entity "
        "leaves out of it: `B-X` starts at the word, `B1-X` after one letter, `B2-X` after two (`I-X` continues, "
        "`O` is outside). `arabic_ner.Tagger` applies this and returns «داعش» in «لداعش», exact to the character. "
        "The transformers pipeline cannot cut a word: with `aggregation_strategy=\"first\"` (below) it shows each "
        "entity word whole under its type («لداعش» as ORG), and an entity that starts after a proclitic and runs "
        "over several words as two groups of that type. It also reads diacritics and tatweel, which arabic_ner "
        "removes before the tokenizer sees the text, as in training. Use the Tagger for exact spans.",
        f"Text is read in windows of {config['max_length']} tokens. The Tagger covers long documents with overlapping windows; "
        "the pipeline does so only when given `stride` (as below), and otherwise silently tags the first window alone.",
    ]
    lines += [f"- {limit}" for limit in limits] + [""]

    lines += [
        "## How to use",
        "",
        "With transformers alone:",
        "",
        "```python",
        "from transformers import pipeline",
        "",
        f'ner = pipeline("token-classification", model="{model_dir}", aggregation_strategy="first", stride={config["stride"]})',
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
        f"or from the shell: `python predict.py --model {model_dir} --input data/raw --output tagged.jsonl`.",
        "",
        "## Config",
        "",
        "The resolved config it was trained with (also in `training_config.yaml`):",
        "",
        "```yaml",
        yaml.safe_dump(dict(config), allow_unicode=True, sort_keys=False).rstrip(),
        "```",
    ]
    return "\n".join(lines) + "\n"


def write_model_card(model_dir: str | Path, config: Mapping, metrics: Mapping, cv: Mapping | None = None) -> Path:
    """Write :func:`model_card` to ``<model_dir>/README.md`` and return its path.

    >>> write_model_card("models/tiny", config.to_dict(), json.load(open("models/tiny/metrics.json")))  # doctest: +SKIP
    """
    path = Path(model_dir) / "README.md"
    path.write_text(model_card(model_dir, config, metrics, cv), encoding="utf-8")
    return path
