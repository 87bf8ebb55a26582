"""Choosing what to annotate next: rank unlabeled documents by how unsure the model is of them
(``arabic-ner select``, and ``arabic-ner push --select``).

Each document is tagged once, and scored from its words' label distributions (the word's first
piece, as predictions read it):

entropy            the mean entropy of its words' labels (default);
least-confidence   one minus the confidence of its least sure word.

bench/selection.py measures both against documents chosen at random (a learning curve on
ANERcorp); the docs quote it. Documents with no words, and documents that could not be read,
are never chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ..model.inference import Tagged, Uncertainty

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
