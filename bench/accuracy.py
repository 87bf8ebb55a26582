"""Accuracy on ANERcorp: the offline recipe against a CRF and the most-frequent-tag baseline, in one run.

    .venv/bin/python -m bench.accuracy                     # configs/tiny.yaml, 8 epochs: about 10 minutes on 2 cores
    .venv/bin/python -m bench.accuracy --epochs 1 --max-sentences 300   # a quick look
    .venv/bin/python -m bench.accuracy --config configs/camelbert-msa.yaml --set model=DIR   # a pretrained BERT
    .venv/bin/python -m bench.accuracy --pretrain configs/tiny-mlm.yaml    # masked-LM pretraining on train.txt's text first

ANERcorp (``data/anercorp``, CAMeL Lab's train/test split, CC BY-SA 4.0; see its README) is the
standard public Arabic NER benchmark: newswire, types PERS, LOC, ORG, MISC. Its files are read as
shipped, by the project's own CoNLL reader (``train.py`` reads them the same way), and each is one
document, as there are no document markers: training has no dev split and keeps the last epoch.

Every system is trained on ``train.txt`` and scored on ``test.txt`` against the same gold tags, one
per ANERcorp token, with seqeval in conlleval mode (how published ANERcorp scores are computed) and
in strict IOB2 mode. The model's character spans are turned into token tags (a span that starts
after a proclitic tags its whole token, as ANERcorp's spans do); its exact character-span F1 is
printed as well. The published scores come from ``data/anercorp/README.md``; they were computed on
CAMeL Lab's official test file, which differs from ``test.txt`` on 164 tags (see that README).
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
LABELS = ["LOC", "ORG", "PERS", "MISC"]
PUBLISHED = [  # entity micro F1 on CAMeL Lab's official test file (data/anercorp/README.md)
    ("AraBERT v0.1 (published)", 83.1),
    ("CAMeLBERT-MSA (published)", 82.4),
    ("AraBERT v1 (published)", 82.4),
    ("mBERT (published)", 78.4),
]


def token_sentences(doc) -> list[list[tuple[str, str]]]:
    """``(token, IOB2 tag)`` sentences of a document read from CoNLL (tokens joined by spaces, one
    line per sentence), with the tags its spans give each token."""
    tokens = []  # (start, end, sentence, position)
    sentences: list[list[list[str]]] = []
    offset = 0
    for line in doc.text.split("\n"):
        sentences.append([])
        for token in line.split(" "):
            tokens.append((offset, offset + len(token), len(sentences) - 1, len(sentences[-1])))
            sentences[-1].append([token, "O"])
            offset += len(token) + 1
    ends = [end for _, end, _, _ in tokens]
    for span in doc.spans:
        k = bisect.bisect_right(ends, span.start)  # the first token that ends after the span starts
        first = True
        while k < len(tokens) and tokens[k][0] < span.end:
            _, _, s, t = tokens[k]
            sentences[s][t][1] = f"{'B' if first else 'I'}-{span.label}"
            first, k = False, k + 1
    return [[(token, tag) for token, tag in sentence] for sentence in sentences]


def read_split(split: str, max_sentences: int | None):
    from arabic_ner.core.document import Document
    from arabic_ner.core.problems import Problems
    from arabic_ner.data.labelstudio_json import read_annotations

    problems = Problems()
    (doc,) = read_annotations(ROOT / "data" / "anercorp" / f"{split}.txt", LABELS, problems)
    problems.raise_if_errors(split)
    print(f"{split}.txt: {len(doc.spans)} entities; {len(problems.warnings)} warnings (real-data quirks, see its README)", file=sys.stderr)
    if max_sentences:
        cut = len("\n".join(doc.text.split("\n")[:max_sentences]))
        doc = Document(doc.id, doc.text[:cut], [s for s in doc.spans if s.end <= cut], doc.source)
    return doc


def pretrain_on(args, train_doc, work: Path) -> str:
    """Masked-LM pretraining (``--pretrain CONFIG``) on the text of ``train.txt``, its tags unseen:
    it writes work/pretrained and returns what the row's name starts with."""
    from arabic_ner.core.config import PretrainConfig, load_config
    from arabic_ner.core.document import Document
    from arabic_ner.training.pretraining import pretrain

    config = load_config(args.pretrain, [f"seed={args.seed}", "texts=[data/anercorp/train.txt]", *args.pretrain_set], cls=PretrainConfig)
    result = pretrain(config, [Document("train", train_doc.text)], work / "pretrained")
    print(f"pretrained: held-out masked-word loss {result.dev_loss_before:.2f} -> {result.dev_loss_after:.2f}", file=sys.stderr)
    return f"{Path(args.pretrain).stem} ({config.num_train_epochs:g} epochs) + "


def run_model(args, train_doc, test_doc, work: Path):
    from arabic_ner.core.config import load_config
    from arabic_ner.evaluation.metrics import span_scores
    from arabic_ner.model.inference import Tagger
    from arabic_ner.training.trainer import train_model

    started = time.perf_counter()
    prefix = ""
    overrides = [f"labels=[{','.join(LABELS)}]", f"seed={args.seed}", "dev_fraction=0", *args.set]
    if args.pretrain:
        prefix = pretrain_on(args, train_doc, work)
        overrides.append(f"model={work / 'pretrained'}")
    if args.epochs is not None:
        overrides.append(f"num_train_epochs={args.epochs}")
    config = load_config(args.config, overrides)
    train_model(config, [train_doc], [], work / "model")
    (predicted,) = [t.document for t in Tagger.load(str(work / "model")).tag([test_doc])]
    minutes = (time.perf_counter() - started) / 60
    spans = span_scores([test_doc.spans], [predicted.spans], LABELS).micro.f1
    name = f"{prefix}{Path(args.config).stem} ({config.num_train_epochs:g} epochs)"
    return name, token_sentences(predicted), minutes, spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "configs" / "tiny.yaml"))
    parser.add_argument("--epochs", type=float, default=8, help="num_train_epochs for the model (default 8; the config's own with --epochs 0)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="another config override")
    parser.add_argument("--pretrain", metavar="CONFIG", help="first pretrain (pretrain.py's config, e.g. configs/tiny-mlm.yaml) on train.txt's text")
    parser.add_argument("--pretrain-set", action="append", default=[], metavar="KEY=VALUE", help="an override for --pretrain's config")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--max-sentences", type=int, help="use only the first N sentences of each file")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    args = parser.parse_args()
    args.epochs = args.epochs or None
    from arabic_ner.evaluation.metrics import seqeval_scores
    from bench.baselines import crf, most_frequent_tag

    train_doc, test_doc = read_split("train", args.max_sentences), read_split("test", args.max_sentences)
    train, gold = token_sentences(train_doc), token_sentences(test_doc)
    test_tokens = [[token for token, _ in sentence] for sentence in gold]
    rows = []

    def add(name: str, predicted: list[list[str]], minutes: float, spans: float | None = None) -> None:
        scores = seqeval_scores([[t for _, t in s] for s in gold], predicted, LABELS)
        rows.append({"system": name, "conlleval_f1": round(100 * scores.conlleval.micro.f1, 1),
                     "strict_f1": round(100 * scores.strict.micro.f1, 1),
                     "span_f1": None if spans is None else round(100 * spans, 1), "minutes": round(minutes, 2)})
        print(f"{name}: {rows[-1]}", file=sys.stderr)

    for name, baseline in (("most frequent tag", most_frequent_tag), ("CRF, word features", crf)):
        started = time.perf_counter()
        add(name, baseline(train, test_tokens), (time.perf_counter() - started) / 60)
    with tempfile.TemporaryDirectory() as work:
        name, predicted, minutes, spans = run_model(args, train_doc, test_doc, Path(work))
    add(name, [[t for _, t in s] for s in predicted], minutes, spans)

    from arabic_ner.reports.markdown import markdown_table

    table = [[row["system"], f"{row['conlleval_f1']:.1f}", f"{row['strict_f1']:.1f}",
              "–" if row["span_f1"] is None else f"{row['span_f1']:.1f}", f"{row['minutes']:.1f}"] for row in rows]
    table += [[name, f"{f1:.1f}", "–", "–", "–"] for name, f1 in PUBLISHED]
    header = ["system", "F1 (conlleval)", "F1 (strict IOB2)", "exact character spans", "minutes (train + tag)"]
    print("\n".join(markdown_table(header, table, numbers=True)))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "published": PUBLISHED, "args": vars(args)},
                                              ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
