"""Does choosing the documents the model is least sure of beat choosing at random? A learning curve on ANERcorp.

    .venv/bin/python -m bench.selection                       # 3 seeds, 40 -> 80 documents: about an hour on 2 idle cores
    .venv/bin/python -m bench.selection --seeds 1 --rounds 1 --start 10 --step 10 --epochs 2   # a quick look (its F1s are near 0)

ANERcorp's train.txt has no document markers, so it is cut into pseudo-documents of
``--doc-sentences`` consecutive sentences (10 by default: about 310 tokens, a short news item).
For each seed, ``--start`` documents are drawn at random and a model is trained on them with the
offline recipe (``configs/tiny.yaml``, ``--epochs`` epochs, no dev split) at half its learning
rate: at tiny.yaml's 1e-3, a training on 60 of these documents diverged at the warm-up's peak
(loss 0.55 -> 3.4) and ended predicting no entity at all (F1 0.0, against 27.8 at 5e-4), which
would measure luck, not the choice of documents. Then, for ``--rounds``
rounds, ``--step`` more documents are added and a new model is trained from scratch on all chosen
so far:

random            drawn at random from the rest (its own generator, seeded by the seed);
entropy           the most uncertain by mean word entropy, under the previous round's model;
least-confidence  the most uncertain by their least sure word, under the previous round's model.

The starting documents and the recipe are the same for all three, so each curve differs only by
the choice. Every model is scored on test.txt (conlleval entity F1, as bench/accuracy.py does).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from arabic_ner.labelstudio import selection  # noqa: E402
from bench.accuracy import LABELS, read_split, token_sentences  # noqa: E402

STRATEGIES = selection.STRATEGIES


def pseudo_documents(doc, sentences_per_doc: int) -> list:
    """``doc`` (one line per sentence) cut into documents of ``sentences_per_doc`` consecutive
    sentences, each with the spans that fall inside it, offsets relative to its own text."""
    from arabic_ner.core.document import Document, Span

    lines = doc.text.split("\n")
    documents, start = [], 0
    for first in range(0, len(lines), sentences_per_doc):
        text = "\n".join(lines[first : first + sentences_per_doc])
        end = start + len(text)
        spans = [Span(s.start - start, s.end - start, s.label) for s in doc.spans if start <= s.start and s.end <= end]
        documents.append(Document(f"train-{first // sentences_per_doc:04d}", text, spans))
        start = end + 1
    return documents


def conlleval_f1(model_dir: Path, test_doc) -> float:
    from arabic_ner.evaluation.metrics import seqeval_scores
    from arabic_ner.model.inference import Tagger

    (predicted,) = [t.document for t in Tagger.load(str(model_dir)).tag([test_doc])]
    gold = [[tag for _, tag in s] for s in token_sentences(test_doc)]
    pred = [[tag for _, tag in s] for s in token_sentences(predicted)]
    return 100 * seqeval_scores(gold, pred, LABELS).conlleval.micro.f1


def train_on(documents: list, args, seed: int, output: Path) -> None:
    from arabic_ner.core.config import load_config
    from arabic_ner.training.trainer import train_model

    overrides = [f"labels=[{','.join(LABELS)}]", f"seed={seed}", "dev_fraction=0", f"num_train_epochs={args.epochs}",
                 f"learning_rate={args.learning_rate}", *args.set]
    train_model(load_config(args.config, overrides), documents, [], output)


def choose(strategy: str, model_dir: Path, pool: list, n: int, rng: random.Random) -> list:
    """``n`` documents of ``pool`` by ``strategy``."""
    if strategy == "random":
        return rng.sample(pool, n)
    from arabic_ner.labelstudio.selection import chosen_order
    from arabic_ner.model.inference import Tagger

    tagged = Tagger.load(str(model_dir)).tag(pool)
    return [t.document for t in chosen_order(tagged, strategy)[:n]]


def curve(seed: int, documents: list, test_doc, args, work: Path) -> dict[str, list[float]]:
    """Test F1 after each round, per strategy, for one seed."""
    rng = random.Random(seed)
    start = rng.sample(documents, args.start)
    first = work / f"seed{seed}-start"
    train_on(start, args, seed, first)
    f1_start = conlleval_f1(first, test_doc)
    print(f"seed {seed}: {args.start} documents at random: F1 {f1_start:.1f}", file=sys.stderr)
    curves = {}
    for strategy in STRATEGIES:
        chosen, model_dir, f1s = list(start), first, [f1_start]
        pick_rng = random.Random(f"{seed}-random")
        for round_ in range(1, args.rounds + 1):
            ids = {d.id for d in chosen}
            chosen += choose(strategy, model_dir, [d for d in documents if d.id not in ids], args.step, pick_rng)
            model_dir = work / f"seed{seed}-{strategy}-{round_}"
            train_on(chosen, args, seed, model_dir)
            f1s.append(conlleval_f1(model_dir, test_doc))
            print(f"seed {seed}: {len(chosen)} documents by {strategy}: F1 {f1s[-1]:.1f}", file=sys.stderr)
        curves[strategy] = f1s
    return curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "configs" / "tiny.yaml"))
    parser.add_argument("--epochs", type=float, default=20, help="num_train_epochs for every model (default 20, as configs/tiny.yaml)")
    parser.add_argument("--learning-rate", type=float, default=5e-4, help="default 5e-4 (see above)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="another config override")
    parser.add_argument("--doc-sentences", type=int, default=10, help="sentences per pseudo-document (default 10)")
    parser.add_argument("--start", type=int, default=40, help="documents drawn at random to start (default 40)")
    parser.add_argument("--step", type=int, default=20, help="documents added per round (default 20)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of selection (default 2)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    args = parser.parse_args()

    started = time.perf_counter()
    documents = pseudo_documents(read_split("train", None), args.doc_sentences)
    test_doc = read_split("test", None)
    print(f"{len(documents)} pseudo-documents of {args.doc_sentences} sentences", file=sys.stderr)
    runs = {}
    sizes = [args.start + args.step * r for r in range(args.rounds + 1)]
    with tempfile.TemporaryDirectory() as work:
        for seed in args.seeds:
            runs[seed] = curve(seed, documents, test_doc, args, Path(work))
            minutes = (time.perf_counter() - started) / 60
            if args.json:  # after every seed, so that a long run that is stopped keeps what it measured
                Path(args.json).write_text(json.dumps({"sizes": sizes, "runs": runs, "minutes": round(minutes, 1), "args": vars(args)},
                                                      indent=2) + "\n", encoding="utf-8")

    print(f"Test F1 (conlleval) after training on k pseudo-documents; mean ± std over seeds {args.seeds}; {minutes:.0f} minutes")
    from arabic_ner.reports.markdown import markdown_table

    table = []
    for strategy in STRATEGIES:
        cells = []
        for r in range(len(sizes)):
            values = [runs[seed][strategy][r] for seed in args.seeds]
            spread = f" ± {statistics.stdev(values):.1f}" if len(values) > 1 else ""
            cells.append(f"{statistics.mean(values):.1f}{spread}")
        table.append([strategy, *cells])
    print("\n".join(markdown_table(["strategy", *(f"k={k}" for k in sizes)], table, numbers=True)))


if __name__ == "__main__":
    main()
