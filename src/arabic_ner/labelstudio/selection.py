"""Choosing what to annotate next: rank unlabeled documents (``arabic-ner select``, and
``arabic-ner push --select``).

Each document is tagged once, and scored from its words' label distributions (the word's first
piece, as predictions read it):

random             a seeded random order (the default: see below);
entropy            the mean entropy of its words' labels, most uncertain first;
least-confidence   one minus the confidence of its least sure word, most uncertain first.

bench/selection.py measures the two uncertainty strategies against random on ANERcorp with the
offline model (configs/tiny.yaml): random won at every seed, so it is the default until a bench
says otherwise for a model (the docs quote the numbers). Documents with no words, and documents
that could not be read, are never chosen.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Iterable

from ..model.inference import Tagged, Uncertainty

UNCERTAINTY: dict[str, Callable[[Uncertainty], float]] = {
    "entropy": lambda u: u.mean_entropy,
    "least-confidence": lambda u: u.least_confidence,
}
STRATEGIES = ("random", *UNCERTAINTY)
DEFAULT_STRATEGY = "random"  # bench/selection.py: random beat both measures at every seed with configs/tiny.yaml


@dataclass(frozen=True)
class Ranked:
    """One document's place in the ranking: ``uncertainty`` is the strategy's number, the higher the
    less sure (None for ``random``); both measures are kept so a ranking can be read with either."""

    rank: int
    id: str
    source: str | None
    uncertainty: float | None
    words: int
    mean_entropy: float
    least_confidence: float


def chosen_order(tagged: Iterable[Tagged], strategy: str = DEFAULT_STRATEGY, seed: int = 0) -> list[Tagged]:
    """The documents that have words, in the order ``strategy`` would annotate them: shuffled by
    ``seed`` for ``random``, else most uncertain first (ties keep the input order)."""
    pool = [t for t in tagged if t.uncertainty is not None and not t.document.error]
    if strategy == "random":
        random.Random(seed).shuffle(pool)
        return pool
    measure = UNCERTAINTY[strategy]
    return sorted(pool, key=lambda t: -measure(t.uncertainty))


def uncertainty(t: Tagged, strategy: str) -> float | None:
    """The strategy's number for one document (None for ``random``)."""
    return UNCERTAINTY[strategy](t.uncertainty) if strategy in UNCERTAINTY else None


def ranking(tagged: Iterable[Tagged], strategy: str = DEFAULT_STRATEGY, seed: int = 0) -> list[Ranked]:
    def rounded(value):
        return None if value is None else round(value, 6)

    return [
        Ranked(rank, t.document.id, t.document.source, rounded(uncertainty(t, strategy)), t.uncertainty.words,
               round(t.uncertainty.mean_entropy, 6), round(t.uncertainty.least_confidence, 6))
        for rank, t in enumerate(chosen_order(tagged, strategy, seed), 1)
    ]


def unreadable(tagged: Iterable[Tagged], into: list[str]) -> Iterable[Tagged]:
    """``tagged`` with the documents that could not be read left out and their errors kept in ``into``."""
    for t in tagged:
        if t.document.error:
            into.append(t.document.error)
        else:
            yield t
