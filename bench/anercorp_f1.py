"""Accuracy on ANERcorp: train a config on its train file, score its test file.

    .venv/bin/python bench/anercorp_f1.py                        # configs/tiny.yaml, 8 epochs: ~8 minutes on 2 cores
    .venv/bin/python bench/anercorp_f1.py --epochs 1 --max-sentences 500   # a quick look
    .venv/bin/python bench/anercorp_f1.py --src /tmp/old/src     # the same run against another checkout's library

ANERcorp (data/anercorp, CAMeL Lab's split, CC BY-SA 4.0; see its README) is the standard public
Arabic NER benchmark: newswire, types PERS, LOC, ORG, MISC, spans that include attached
proclitics. The two files are read as CoNLL after dropping the few lines that are not
``token TAG`` (the README lists these real-data quirks; the count is printed). Each file is one
document, as train.py reads a CoNLL file without document markers, so training has no dev split
and keeps the last epoch. Printed: entity micro F1 on the test file, as exact character spans and
as seqeval (conlleval mode, which published ANERcorp scores use), and the tokens the model was fed.

``--src`` puts another checkout's ``src`` first on the path, so that an older version of the
library (e.g. the proclitic-splitting one, commit 415ebf4) is measured by the same script, with
the same data, config and seed: that is how the README compares the two views of the text.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
LABELS = ["LOC", "ORG", "PERS", "MISC"]


def clean_copy(source: Path, target: Path, max_sentences: int | None) -> int:
    """Write ``source`` to ``target`` without lines that are not ``token TAG``; return how many were dropped."""
    kept, dropped, sentences = [], 0, 0
    for line in source.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if not fields:
            sentences += 1
            if max_sentences and sentences >= max_sentences:
                break
            kept.append("")
        elif len(fields) == 2:
            kept.append(line)
        else:
            dropped += 1
    target.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "configs" / "tiny.yaml"))
    parser.add_argument("--epochs", type=float, default=8)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--max-sentences", type=int, help="read only the first N sentences of each file")
    parser.add_argument("--src", default=str(ROOT / "src"), help="the arabic_ner library to measure (a checkout's src/)")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    args = parser.parse_args()
    sys.path.insert(0, args.src)

    from arabic_ner.annotations import read_annotations
    from arabic_ner.config import load_config
    from arabic_ner.evaluation import score_documents
    from arabic_ner.inference import Tagger
    from arabic_ner.problems import Problems
    from arabic_ner.text import split_words
    from arabic_ner.training import train_model

    import arabic_ner

    config = load_config(args.config, [f"num_train_epochs={args.epochs}", f"seed={args.seed}", f"labels=[{','.join(LABELS)}]"])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        docs = {}
        for split in ("train", "test"):
            path = tmp / f"{split}.conll"
            dropped = clean_copy(ROOT / "data" / "anercorp" / f"{split}.txt", path, args.max_sentences)
            problems = Problems()
            docs[split] = read_annotations(path, LABELS, problems)
            problems.raise_if_errors(str(path))
            spans = sum(len(d.spans) for d in docs[split])
            print(f"{split}: {spans} spans, {dropped} malformed line(s) dropped", file=sys.stderr)
        started = time.perf_counter()
        metrics = train_model(config, docs["train"], [], tmp / "model")
        trained = time.perf_counter() - started
        tagger = Tagger.load(str(tmp / "model"))
        predicted = [t.document for t in tagger.tag(docs["test"])]
        report, _ = score_documents(docs["test"], predicted, LABELS)
        encodings = tagger.encoder.encode([split_words(d.text) for d in docs["test"]])
    result = {
        "library": str(Path(arabic_ner.__file__).parent),
        "config": args.config,
        "epochs": args.epochs,
        "seed": args.seed,
        "train_windows": metrics["train"]["windows"],
        "test_tokens_fed": sum(len(e.ids) for e in encodings),
        "train_seconds": round(trained, 1),
        "span_micro_f1": round(100 * report["spans"]["micro"]["f1"], 1),
        "seqeval_conlleval_micro_f1": round(100 * report["seqeval"]["conlleval"]["micro"]["f1"], 1),
        "span_f1_per_type": {t: round(100 * report["spans"]["per_type"][t]["f1"], 1) for t in LABELS},
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
