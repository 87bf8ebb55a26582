"""Choose what to annotate next: rank unlabeled documents by how unsure the model is of them.

    python -m arabic_ner.selection --model models/tiny --input data/pool --output outputs/ranking.jsonl
    python -m arabic_ner.labelstudio push --model models/tiny --input data/pool --project 3 --select 10

Each document is tagged once, and scored from its words' label distributions (the word's first
piece, as predictions read it):

entropy            the mean entropy of its words' labels (default);
least-confidence   one minus the confidence of its least sure word.

bench/selection.py measures both against documents chosen at random (a learning curve on
ANERcorp); the README quotes it. Documents with no words, and documents that could not be read,
are never chosen.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from typing import Callable, Iterable

from .cli import positive, run
from .inference import Tagged, Uncertainty
from .outputs import check_output_file, write_whole
from .precision import check_device

STRATEGIES: dict[str, Callable[[Uncertainty], float]] = {
    "entropy": lambda u: u.mean_entropy,
    "least-confidence": lambda u: u.least_confidence,
}
DEFAULT_STRATEGY = "entropy"


@dataclass(frozen=True)
class Ranked:
    """One document's place in the ranking: ``uncertainty`` is the strategy's number, the higher the
    less sure; both measures are kept so a ranking can be read with either."""

    rank: int
    id: str
    source: str | None
    uncertainty: float
    words: int
    mean_entropy: float
    least_confidence: float


def most_uncertain(tagged: Iterable[Tagged], strategy: str = DEFAULT_STRATEGY) -> list[Tagged]:
    """The documents that have words, most uncertain first (ties keep the input order)."""
    measure = STRATEGIES[strategy]
    scored = [t for t in tagged if t.uncertainty is not None and not t.document.error]
    return sorted(scored, key=lambda t: -measure(t.uncertainty))


def ranking(tagged: Iterable[Tagged], strategy: str = DEFAULT_STRATEGY) -> list[Ranked]:
    measure = STRATEGIES[strategy]
    return [
        Ranked(rank, t.document.id, t.document.source, round(measure(t.uncertainty), 6), t.uncertainty.words,
               round(t.uncertainty.mean_entropy, 6), round(t.uncertainty.least_confidence, 6))
        for rank, t in enumerate(most_uncertain(tagged, strategy), 1)
    ]


def unreadable(tagged: Iterable[Tagged], into: list[str]) -> Iterable[Tagged]:
    """``tagged`` with the documents that could not be read left out and their errors kept in ``into``."""
    for t in tagged:
        if t.document.error:
            into.append(t.document.error)
        else:
            yield t


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m arabic_ner.selection", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, metavar="DIR", help="trained model directory")
    parser.add_argument("--input", required=True, metavar="PATH", help="the pool: .txt, folder of .txt, .jsonl or Label Studio .json")
    parser.add_argument("--output", required=True, metavar="FILE.jsonl", help="the ranking, most uncertain first, one JSON object per line")
    parser.add_argument("--strategy", choices=sorted(STRATEGIES), default=DEFAULT_STRATEGY, help=f"default {DEFAULT_STRATEGY}")
    parser.add_argument("--top", type=positive, metavar="N", help="write only the N most uncertain documents")
    parser.add_argument("--batch-size", type=positive, default=256, help="most windows per tagging batch (default 256)")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from tqdm import tqdm

    from .inference import Tagger
    from .inputs import iter_input
    from .modeling import model_version

    args = parse_args(argv)
    check_output_file(args.output, args.overwrite)
    check_device(args.device)
    documents = iter_input(args.input)
    tagger = Tagger.load(args.model, device=args.device, batch_size=args.batch_size)
    errors: list[str] = []
    tagged = tqdm(tagger.tag(documents), desc="tagging the pool", unit=" docs", file=sys.stderr)
    ranked = ranking(unreadable(tagged, errors), args.strategy)[: args.top]
    version = model_version(args.model)
    lines = [json.dumps({**asdict(r), "strategy": args.strategy, "model_version": version}, ensure_ascii=False) for r in ranked]
    write_whole(args.output, "".join(line + "\n" for line in lines))
    for error in errors:
        print(f"warning: {error}; left out of the ranking", file=sys.stderr)
    print(f"{len(ranked)} document(s) ranked by {args.strategy} -> {args.output}")
    for r in ranked[:10]:
        print(f"{r.rank:>4}  {r.uncertainty:.4f}  {r.id}")
    return 1 if errors else 0


if __name__ == "__main__":
    run(main)
