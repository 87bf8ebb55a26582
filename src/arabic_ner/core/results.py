"""Typed results: scores, evaluation reports, training metrics, cross-validation and learning curves, and their JSON.

Every result the library computes is one of these dataclasses; ``report.json``, ``metrics.json``,
``cv.json`` and ``curve.json`` are their JSON form, written by :func:`to_json` and read back, validated, by
:func:`from_json` (pydantic checks the types and names the path of anything wrong). The model card,
the plots, the Markdown reports and the scripts read the attributes, never dict paths.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Iterator, TypeVar

from .problems import UserError

T = TypeVar("T")
MISSED, SPURIOUS = "missed", "spurious"  # also the extra column and row of type_confusion
ERROR_KINDS = (MISSED, SPURIOUS, "wrong-type", "wrong-boundary")  # the kinds of error an EvaluationReport counts
METRICS = "metrics.json"  # a model directory's TrainingMetrics (or a pretrained one's PretrainResult)


@dataclass
class Scores:
    """Precision, recall and F1 (fractions) over ``support`` gold entities."""

    precision: float
    recall: float
    f1: float
    support: int

    @classmethod
    def count(cls, tp: int, n_pred: int, n_gold: int) -> Scores:
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(precision, recall, f1, n_gold)

    def prf(self) -> str:
        """``P / R / F1`` in percent, one decimal."""
        return " / ".join(pct(x) for x in (self.precision, self.recall, self.f1))


@dataclass
class ScoreTable:
    """Scores per entity type (``None`` for a type in neither the gold nor the predictions), micro and macro."""

    per_type: dict[str, Scores | None]
    micro: Scores
    macro: Scores

    def rows(self) -> Iterator[tuple[str, Scores | None]]:
        """``(name, scores)`` for each type, then ``micro`` and ``macro``."""
        yield from self.per_type.items()
        yield "micro", self.micro
        yield "macro", self.macro

    def row(self, name: str) -> Scores | None:
        return {"micro": self.micro, "macro": self.macro}.get(name) or self.per_type.get(name)


@dataclass
class SeqevalScores:
    """seqeval's two readings of the same tags: strict IOB2, and conlleval's (a stray ``I-`` starts an entity)."""

    strict: ScoreTable
    conlleval: ScoreTable


@dataclass(kw_only=True)
class EvaluationReport:
    """What scoring predictions against gold gives (``report.json``; ``metrics.json``'s ``dev``; a CV fold).

    Reports of documents have ``spans`` (exact character spans), ``errors`` (counts per kind) and
    ``confusion`` (gold type against predicted type); a report of a conlleval-style file has
    sentences and tokens and seqeval only.
    """

    model: str | None = None
    data: str | None = None
    documents: int | None = None
    sentences: int | None = None
    tokens: int | None = None
    gold_spans: int | None = None
    predicted_spans: int | None = None
    unaligned_gold_spans: int | None = None
    documents_seen_in_training: int | None = None
    document_ids: list[str] | None = None
    seqeval: SeqevalScores
    spans: ScoreTable | None = None
    errors: dict[str, int] | None = None
    confusion: dict[str, dict[str, int]] | None = None

    def main_table(self) -> tuple[ScoreTable, str]:
        """The table to show first, and its name: exact character spans when there are any, else seqeval strict."""
        if self.spans is not None:
            return self.spans, "character spans, exact match"
        return self.seqeval.strict, "seqeval strict (IOB2)"


@dataclass
class SourceCount:
    """What one training source gave: documents and windows, and its weight."""

    path: str
    documents: int
    windows: int
    weight: float = 1.0


@dataclass
class TrainSummary:
    """The training half of ``metrics.json``: what the model learnt from, and the Trainer's own totals."""

    documents: int
    windows: int
    spans_per_label: dict[str, int]
    sources: list[SourceCount] = field(default_factory=list)
    text_sha256: list[str] = field(default_factory=list)  # evaluate.py warns when it scores these texts
    processes: int = 1
    epoch: float | None = None
    train_loss: float | None = None
    train_runtime: float | None = None
    train_samples_per_second: float | None = None
    train_steps_per_second: float | None = None
    total_flos: float | None = None


@dataclass
class TrainingMetrics:
    """``metrics.json`` of a trained model: its training data, the dev report and the Trainer's log."""

    train: TrainSummary
    best_checkpoint: str | None = None
    log_history: list[dict] = field(default_factory=list)
    dev: EvaluationReport | None = None


@dataclass
class MeanStd:
    mean: float
    std: float

    def __str__(self) -> str:
        return f"{pct(self.mean)} ± {pct(self.std)}"


@dataclass
class CVSummary:
    """Mean and standard deviation over the folds (per type: over the folds where the type occurs)."""

    span_micro_f1: MeanStd
    seqeval_strict_micro_f1: MeanStd
    span_f1_per_type: dict[str, MeanStd | None]


@dataclass
class Fold:
    """One fold: the documents it tested on and the report on them (in ``cv.json``, its fields sit beside ``fold``)."""

    fold: int
    test_documents: list[str]
    report: EvaluationReport


@dataclass
class CrossValidation:
    """``cv.json``: K-fold cross-validation by document."""

    k: int
    folds: list[Fold]
    mean_std: CVSummary


@dataclass
class CurveRun:
    """One model of a learning-curve step: the documents it trained on (ids, besides those of sources
    with ``holdout: false``, which every step trains on) and its character-span micro scores on the
    documents it was scored on (the dev set, or with ``--cv`` its fold's held-out documents)."""

    train_documents: list[str]
    scores: Scores
    fold: int | None = None


@dataclass
class CurvePoint:
    """One step of a learning curve: ``percent`` of the training documents, how many that is (the
    mean over the folds with ``--cv``), and the mean character-span micro P/R/F1 of its runs."""

    percent: int
    documents: float
    precision: float
    recall: float
    f1: float
    f1_std: float  # over the folds; 0 with a fixed dev set
    runs: list[CurveRun]


@dataclass
class LearningCurve:
    """``curve.json``: character-span micro F1 against the number of training documents, the
    documents drawn in a fixed seeded order so that each step holds the ones before it."""

    MIN_GAIN: ClassVar[float] = 0.01  # a last step that gains less than 1 point of F1 is a flattening curve

    scored_on: str  # e.g. "the dev set annotations/dev.json (2 document(s))", "5-fold cross-validation by document (40 documents)"
    points: list[CurvePoint]
    k: int | None = None  # folds, with --cv
    dev_documents: list[str] | None = None  # the fixed dev set's ids, without --cv
    always_trained: int = 0  # documents of sources with holdout: false, in every step

    def gains(self) -> list[float | None]:
        """Each step's F1 gain over the step before it (a fraction; ``None`` for the first step)."""
        return [None] + [b.f1 - a.f1 for a, b in zip(self.points, self.points[1:])]

    @property
    def last_gain(self) -> float:
        return self.points[-1].f1 - self.points[-2].f1

    @property
    def still_gaining(self) -> bool:
        """Whether the last step gained at least :attr:`MIN_GAIN`: then more annotation will probably help."""
        return self.last_gain >= self.MIN_GAIN

    def verdict(self) -> str:
        """One line on the last step: still rising, flattening, or falling.

        >>> def point(percent, documents, f1):
        ...     return CurvePoint(percent, documents, f1, f1, f1, 0.0, [])
        >>> LearningCurve("dev", [point(50, 2, 0.40), point(100, 4, 0.431)]).verdict()
        'the last step (50% -> 100%, 2 -> 4 documents) gained +3.1 F1: the curve is still rising, so more annotation will probably help'
        """
        a, b = self.points[-2], self.points[-1]
        step = f"the last step ({a.percent}% -> {b.percent}%, {a.documents:g} -> {b.documents:g} documents)"
        gain = 100 * self.last_gain
        if self.still_gaining:
            return f"{step} gained {gain:+.1f} F1: the curve is still rising, so more annotation will probably help"
        if gain > -100 * self.MIN_GAIN:
            change = f"gained {gain:+.1f}" if gain >= 0 else f"lost {-gain:.1f}"
            return (f"{step} {change} F1 (less than {100 * self.MIN_GAIN:g} point): the curve is flattening, "
                    "so more documents of the same kind will probably help little")
        return (f"{step} lost {-gain:.1f} F1: at this size the scores are noise as much as signal, so the curve "
                "cannot tell yet whether more annotation helps (--cv K averages over folds)")


def pct(x: float | None) -> str:
    """A fraction in percent with one decimal; ``–`` for none."""
    return "–" if x is None else f"{100 * x:.1f}"




# ---------------------------------------------------------------- JSON

def to_plain(result) -> dict:
    """The JSON-ready dict of a result. Fields that are ``None`` are left out (a CoNLL report has no
    ``spans``, a model trained without dev documents no ``dev``), a :class:`Fold` is flat
    (``{"fold", "test_documents", **report}``), and numpy scalars become numbers."""
    from pydantic import TypeAdapter

    plain = TypeAdapter(type(result)).dump_python(result, mode="json", exclude_none=True, fallback=_number)
    if isinstance(result, Fold):
        return _flat_fold(plain)
    if isinstance(result, CrossValidation):
        plain["folds"] = [_flat_fold(fold) for fold in plain["folds"]]
    return plain


def _flat_fold(fold: dict) -> dict:
    return {"fold": fold["fold"], "test_documents": fold["test_documents"], **fold["report"]}


def _number(value):
    import numpy as np

    if isinstance(value, np.generic):  # the Trainer's log can hold numpy scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def from_plain(cls: type[T], data, where: str = "result") -> T:
    """A ``cls`` from its JSON form; a field of the wrong type or a missing one is a :class:`UserError` naming it."""
    from pydantic import TypeAdapter, ValidationError

    if cls is CrossValidation and isinstance(data, dict) and isinstance(data.get("folds"), list):
        data = {**data, "folds": [_nest_fold(f) for f in data["folds"]]}
    try:
        return TypeAdapter(cls).validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise UserError(f"{where}: not a {cls.__name__} ({exc.error_count()} problem(s)); "
                        f"first at {path or 'the top'}: {first['msg']}") from None


def _nest_fold(fold):
    if not isinstance(fold, dict) or "report" in fold:
        return fold
    rest = {k: v for k, v in fold.items() if k not in ("fold", "test_documents")}
    return {"fold": fold.get("fold"), "test_documents": fold.get("test_documents"), "report": rest}


def to_json(result) -> str:
    return json.dumps(to_plain(result), ensure_ascii=False, indent=2) + "\n"


def write_json(path: str | Path, result) -> Path:
    path = Path(path)
    path.write_text(to_json(result), encoding="utf-8")
    return path


def read_json(cls: type[T], path: str | Path) -> T:
    """Read a result written by :func:`write_json` (``report.json``, ``metrics.json``, ``cv.json``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise UserError(f"{path}: not JSON ({exc})") from None
    return from_plain(cls, data, str(path))
