"""Rank unlabeled documents, to choose what to annotate next.

    arabic-ner select --model models/tiny --input data/pool --output outputs/ranking.jsonl
    arabic-ner select ... --strategy entropy            # the documents the model is least sure of first
    arabic-ner push --model models/tiny --input data/pool --project 3 --select 10   # straight into Label Studio

Each document is tagged once, and scored from its words' label distributions (the word's first
piece, as predictions read it):

random             a random order, drawn with --seed (default);
entropy            the mean entropy of its words' labels, most uncertain first;
least-confidence   one minus the confidence of its least sure word, most uncertain first.

bench/selection.py measures both uncertainty strategies against random on ANERcorp with the
offline model (configs/tiny.yaml): random did better at every seed, hence the default (see the
docs' benchmarks; a fine-tuned CAMeLBERT was not measured). Documents with no words, and
documents that could not be read, are never chosen.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from ..labelstudio.selection import DEFAULT_STRATEGY, STRATEGIES
from .common import positive


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="arabic-ner select", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, metavar="DIR", help="trained model directory")
    parser.add_argument("--input", required=True, metavar="PATH", help="the pool: .txt, folder of .txt, .jsonl or Label Studio .json")
    parser.add_argument("--output", required=True, metavar="FILE.jsonl", help="the ranking, most uncertain first, one JSON object per line")
    parser.add_argument("--strategy", choices=STRATEGIES, default=DEFAULT_STRATEGY, help=f"default {DEFAULT_STRATEGY}")
    parser.add_argument("--seed", type=int, default=0, help="the random order's seed (--strategy random; default 0)")
    parser.add_argument("--top", type=positive, metavar="N", help="write only the first N documents")
    parser.add_argument("--batch-size", type=positive, default=256, help="most windows per tagging batch (default 256)")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from tqdm import tqdm

    from ..data.files import check_output_file, write_whole
    from ..data.inputs import iter_input
    from ..labelstudio.selection import ranking, unreadable
    from ..model.inference import Tagger
    from ..model.loading import model_version
    from ..model.precision import check_device

    args = parse_args(argv)
    check_output_file(args.output, args.overwrite, inputs=[args.input, args.model])
    check_device(args.device)
    documents = iter_input(args.input)
    tagger = Tagger.load(args.model, device=args.device, batch_size=args.batch_size)
    errors: list[str] = []
    tagged = tqdm(tagger.tag(documents), desc="tagging the pool", unit=" docs", file=sys.stderr)
    ranked = ranking(unreadable(tagged, errors), args.strategy, args.seed)[: args.top]
    version = model_version(args.model)
    extra = {"seed": args.seed} if args.strategy == "random" else {}
    lines = [json.dumps({**asdict(r), "strategy": args.strategy, **extra, "model_version": version}, ensure_ascii=False) for r in ranked]
    write_whole(args.output, "".join(line + "\n" for line in lines))
    for error in errors:
        print(f"warning: {error}; left out of the ranking", file=sys.stderr)
    print(f"{len(ranked)} document(s) ranked by {args.strategy} -> {args.output}"
          + (f"; {len(errors)} left out because they could not be read (see the warnings above)" if errors else ""))
    for r in ranked[:10]:
        print(f"{r.rank:>4}  {'' if r.uncertainty is None else f'{r.uncertainty:.4f}':>6}  {r.id}")
    return 1 if errors else 0
