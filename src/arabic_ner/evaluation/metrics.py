"""Scores: seqeval entity P/R/F1 on word tags, exact character-span P/R/F1, and error kinds.

seqeval is called directly. (``evaluate.load("seqeval")`` downloads a script from the Hub at
run time, so it fails offline.) Two seqeval modes are reported: *strict* (IOB2 scheme, an
entity counts only with a proper ``B-``) and *conlleval* (seqeval's default, which repairs a
stray ``I-`` the way conlleval.pl does). The character-span scores compare offsets into the
original text and are the ones that matter to users of the spans.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from ..core.document import Span
from ..core.results import MISSED, SPURIOUS, Scores, ScoreTable, SeqevalScores


def seqeval_scores(y_true: list[list[str]], y_pred: list[list[str]], labels: Sequence[str]) -> SeqevalScores:
    """Per-type, micro and macro P/R/F1 of seqeval's strict (IOB2) and conlleval readings."""
    return SeqevalScores(
        strict=_table(classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0), labels),
        conlleval=_table(classification_report(y_true, y_pred, output_dict=True, zero_division=0), labels),
    )


def _table(report: dict, labels: Sequence[str]) -> ScoreTable:
    def row(entry) -> Scores:
        return Scores(float(entry["precision"]), float(entry["recall"]), float(entry["f1-score"]), int(entry["support"]))

    per_type = {label: row(report[label]) if label in report else None for label in labels}
    per_type.update({label: row(entry) for label, entry in report.items() if label not in per_type and "avg" not in label})
    return ScoreTable(per_type, row(report["micro avg"]), row(report["macro avg"]))


def span_scores(gold: list[list[Span]], pred: list[list[Span]], labels: Sequence[str]) -> ScoreTable:
    """Exact-match P/R/F1 of character spans (start, end and label all equal), per type, micro and macro."""
    tp, n_gold, n_pred = Counter(), Counter(), Counter()
    for gold_spans, pred_spans in zip(gold, pred, strict=True):
        gold_keys = {(s.start, s.end, s.label) for s in gold_spans}
        pred_keys = {(s.start, s.end, s.label) for s in pred_spans}
        for key in gold_keys & pred_keys:
            tp[key[2]] += 1
        n_gold.update(k[2] for k in gold_keys)
        n_pred.update(k[2] for k in pred_keys)
    types = list(labels) + sorted((set(n_gold) | set(n_pred)) - set(labels))
    per_type = {t: Scores.count(tp[t], n_pred[t], n_gold[t]) for t in types}
    scored = [per_type[t] for t in types if n_gold[t] or n_pred[t]]
    macro = Scores(*(sum(getattr(s, key) for s in scored) / len(scored) if scored else 0.0 for key in ("precision", "recall", "f1")),
                   support=sum(n_gold.values()))
    return ScoreTable(per_type, Scores.count(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values())), macro)


def pair_spans(gold: Sequence[Span], pred: Sequence[Span]) -> list[tuple[Span | None, Span | None]]:
    """Gold and predicted spans matched one to one, as ``(gold, pred)``; ``None`` on the side that has no partner.

    Exact matches (same start, end and label) pair first. Each remaining prediction, in order, pairs
    with the remaining gold span it overlaps most. Unpaired gold spans come last as ``(gold, None)``.
    """
    gold_by_key = {(s.start, s.end, s.label): s for s in reversed(gold)}  # first of any duplicates
    pred_by_key = {(s.start, s.end, s.label): s for s in reversed(pred)}
    exact = gold_by_key.keys() & pred_by_key.keys()
    pairs: list[tuple[Span | None, Span | None]] = [(gold_by_key[k], pred_by_key[k]) for k in sorted(exact)]
    gold_left = [s for s in gold if (s.start, s.end, s.label) not in exact]
    pred_left = [s for s in pred if (s.start, s.end, s.label) not in exact]
    for p in sorted(pred_left):
        overlapping = [g for g in gold_left if g.covers(p)]
        if not overlapping:
            pairs.append((None, p))
            continue
        g = max(overlapping, key=lambda g: min(g.end, p.end) - max(g.start, p.start))
        gold_left.remove(g)
        pairs.append((g, p))
    pairs.extend((g, None) for g in gold_left)
    return pairs


def classify_errors(gold: Sequence[Span], pred: Sequence[Span]) -> list[tuple[str, Span | None, Span | None]]:
    """Each error as ``(kind, gold, pred)``, from the pairing of :func:`pair_spans`.

    A pair is *wrong-type* if the labels differ (the boundaries may differ too), else
    *wrong-boundary*. Gold spans left unpaired are *missed*; predictions left unpaired are *spurious*.
    """
    errors = []
    for g, p in pair_spans(gold, pred):
        if g is None:
            errors.append((SPURIOUS, None, p))
        elif p is None:
            errors.append((MISSED, g, None))
        elif g.label != p.label:
            errors.append(("wrong-type", g, p))
        elif (g.start, g.end) != (p.start, p.end):
            errors.append(("wrong-boundary", g, p))
    return sorted(errors, key=lambda e: (e[1] or e[2]).start)


def type_confusion(gold: list[list[Span]], pred: list[list[Span]], labels: Sequence[str]) -> dict[str, dict[str, int]]:
    """Counts of gold type (row) against predicted type (column) over the pairs of :func:`pair_spans`.

    A gold span with no overlapping prediction counts in column ``"missed"``; a prediction with no
    overlapping gold span counts in row ``"spurious"``. Paired spans count under their two types
    whatever their boundaries, so a boundary error of a LOC lands on the LOC/LOC diagonal
    (the error kinds tell boundaries apart). Types outside ``labels`` are appended, sorted.

    >>> type_confusion([[Span(0, 4, "ORG")]], [[Span(0, 4, "LOC"), Span(9, 13, "LOC")]], ["LOC", "ORG"])["ORG"]
    {'LOC': 1, 'ORG': 0, 'missed': 0}
    """
    pairs = [pair for g, p in zip(gold, pred, strict=True) for pair in pair_spans(g, p)]
    seen = {s.label for pair in pairs for s in pair if s is not None}
    types = list(labels) + sorted(seen - set(labels))
    matrix = {row: {col: 0 for col in types + [MISSED]} for row in types + [SPURIOUS]}
    for g, p in pairs:
        matrix[g.label if g else SPURIOUS][p.label if p else MISSED] += 1
    return matrix
