"""Evaluation reports: score predictions against gold and write JSON, Markdown and an errors file."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Mapping, Sequence

from ..core.alignment import spans_to_tags
from ..core.document import Document, Span
from ..core.labels import split_tag, to_iob2
from ..core.problems import Problems, UserError
from ..core.results import ERROR_KINDS, METRICS, EvaluationReport, TrainingMetrics, read_json, write_json
from ..core.words import split_words
from ..data.conll import conll_fields, is_comment, mapped_tag, text_lines
from ..data.files import write_files_into
from ..reports.markdown import markdown_table
from .metrics import classify_errors, seqeval_scores, span_scores, type_confusion

CONTEXT = 40  # characters shown on each side of an error


def score_documents(gold: Sequence[Document], pred: Sequence[Document], labels: Sequence[str]) -> tuple[EvaluationReport, list[dict]]:
    """The report and the list of errors for predictions ``pred`` of documents ``gold``.

    seqeval scores are computed on IOB2 tags of the whole words of :func:`split_words`, as for any
    CoNLL file: an entity that starts after a proclitic is tagged on its whole first word there, so
    seqeval does not see the proclitic boundary; the character-span scores do. A gold span that
    cannot be represented on the words is widened to whole words for seqeval (and counted as
    ``unaligned_gold_spans``). The character-span scores use the spans as they are; so does
    ``confusion``, the counts of gold type against predicted type with a "missed" column and a
    "spurious" row (see :func:`type_confusion`).
    """
    y_true, y_pred, errors = [], [], []
    unaligned = 0
    for g, p in zip(gold, pred, strict=True):
        words = split_words(g.text)
        gold_tags, bad = spans_to_tags(words, g.spans, g.text, expand=True)
        unaligned += len(bad)
        y_true.append([to_iob2(t) for t in gold_tags])
        y_pred.append([to_iob2(t) for t in spans_to_tags(words, p.spans, p.text, expand=True)[0]])
        for kind, gs, ps in classify_errors(g.spans, p.spans):
            errors.append(_error_record(g, kind, gs, ps))
    report = EvaluationReport(
        documents=len(gold),
        gold_spans=sum(len(d.spans) for d in gold),
        predicted_spans=sum(len(d.spans) for d in pred),
        unaligned_gold_spans=unaligned,
        seqeval=seqeval_scores(y_true, y_pred, labels),
        spans=span_scores([d.spans for d in gold], [d.spans for d in pred], labels),
        errors={kind: sum(e["kind"] == kind for e in errors) for kind in ERROR_KINDS},
        confusion=type_confusion([d.spans for d in gold], [d.spans for d in pred], labels),
    )
    return report, errors


def seen_in_training(model_dir: str | Path, gold: Sequence[Document]) -> int | None:
    """How many of ``gold``'s documents the model at ``model_dir`` was trained on (matched by text),
    or None when its ``metrics.json`` does not say what it was trained on."""
    path = Path(model_dir) / METRICS
    if not path.is_file():
        return None
    try:
        trained = set(read_json(TrainingMetrics, path).train.text_sha256)
    except UserError:
        return None
    if not trained:
        return None
    return sum(doc.fingerprint() in trained for doc in gold)


def _error_record(doc: Document, kind: str, gold: Span | None, pred: Span | None) -> dict:
    start = min(s.start for s in (gold, pred) if s)
    end = max(s.end for s in (gold, pred) if s)
    text = doc.text
    context = f"{text[max(0, start - CONTEXT):start]}⟦{text[start:end]}⟧{text[end:end + CONTEXT]}"
    return {
        "doc_id": doc.id,
        "kind": kind,
        "gold": doc.entity(gold) if gold else None,
        "pred": doc.entity(pred) if pred else None,
        "context": " ".join(context.split()),
    }


def read_conll_predictions(
    path: Path, problems: Problems, label_map: Mapping[str, str | None] | None = None,
) -> tuple[list[list[str]], list[list[str]]]:
    """Gold and predicted tag sequences from a conlleval-style file: ``token GOLD PRED`` per line,
    blank lines between sentences, ``-DOCSTART-`` and ``# key = value`` lines ignored.

    Lines and fields are cut as the CoNLL reader cuts them (:func:`~arabic_ner.data.conll.text_lines`,
    :func:`~arabic_ner.data.conll.conll_fields`): a token may hold U+2028 or U+0085, and a line that
    starts with ``#`` but is not ``# key = value`` is a token's (``#الموصل B-LOC B-LOC``). Both
    tags pass through ``label_map`` (``PERS: None`` drops PERS, ``GPE: LOC`` renames it); a type
    the map names that the file does not hold is a warning, as it is most likely a typo.
    """
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    label_map = label_map or {}
    y_true, y_pred, gold, pred = [], [], [], []
    seen_types = set()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 (byte {exc.start}); convert it, e.g. iconv -f UTF-16 -t UTF-8 (or -f cp1256)") from None
    for number, line in enumerate(text_lines(text), 1):
        fields = conll_fields(line)
        if not fields or fields[0] == "-DOCSTART-" or is_comment(line):
            if gold:
                y_true.append(gold)
                y_pred.append(pred)
                gold, pred = [], []
            continue
        if len(fields) != 3:
            problems.error(f"{path}: line {number}", f"expected 'token GOLD PRED', found {len(fields)} fields: {line!r}")
            continue
        bad = [tag for tag in fields[1:] if split_tag(tag) is None]
        for tag in bad:
            problems.error(f"{path}: line {number}", f"tag {tag!r} is not IOB2 (O, B-TYPE or I-TYPE)")
        if bad:
            continue
        seen_types.update(tag[2:] for tag in fields[1:] if tag != "O")
        gold.append(mapped_tag(fields[1], label_map))
        pred.append(mapped_tag(fields[2], label_map))
    if gold:
        y_true.append(gold)
        y_pred.append(pred)
    problems.raise_if_errors(str(path), hint="")
    if not y_true:
        raise UserError(f"{path}: no tokens found; expected lines of 'token GOLD PRED'")
    for typ in sorted(set(label_map) - seen_types):
        target = "null" if label_map[typ] is None else label_map[typ]
        problems.warning(f"--map {typ}={target}", f"{path} has no {typ} tags, so this map changes nothing; "
                         f"its types are {', '.join(sorted(seen_types)) or 'none (only O)'}")
    if seen_types and all(tag == "O" for seq in y_true + y_pred for tag in seq):
        raise UserError(f"{path}: --map drops every type the file holds ({', '.join(sorted(seen_types))}), so nothing is left to score")
    return y_true, y_pred


def score_conll(path: Path, problems: Problems, label_map: Mapping[str, str | None] | None = None) -> EvaluationReport:
    """seqeval scores of a conlleval-style file (see :func:`read_conll_predictions`), its gold and
    predicted tags read through ``label_map``; a type the map drops is in no row of the report."""
    y_true, y_pred = read_conll_predictions(path, problems, label_map)
    labels = sorted({tag[2:] for seq in y_true + y_pred for tag in seq if tag != "O"})
    return EvaluationReport(sentences=len(y_true), tokens=sum(map(len, y_true)), seqeval=seqeval_scores(y_true, y_pred, labels))


def write_report(report: EvaluationReport, errors: list[dict] | None, out_dir: str | Path, title: str, plots: bool = False) -> list[Path]:
    """Write ``report.json``, ``report.md`` and (with a model) ``errors.jsonl``; return the paths.

    With ``plots``, also write the PNGs of :func:`arabic_ner.reports.plots.plot_evaluation` next to them,
    linked from report.md, and return their paths after the others.
    """
    out = Path(out_dir)
    names = ["report.json", "report.md"] + (["errors.jsonl"] if errors is not None else [])
    images: list[Path] = []

    def fill(staging: Path) -> None:  # a full disk leaves the report folder as it was
        staging.mkdir(parents=True)
        if plots:
            from ..reports.plots import plot_evaluation  # matplotlib is imported only when plots are asked for

            images.extend(plot_evaluation(report, errors, staging))
        write_json(staging / names[0], report)
        (staging / names[1]).write_text(report_markdown(report, errors, title, [p.name for p in images]), encoding="utf-8")
        if errors is not None:
            with open(staging / names[2], "w", encoding="utf-8") as f:
                for error in errors:
                    f.write(json.dumps(error, ensure_ascii=False) + "\n")

    write_files_into(out, fill)
    return [out / name for name in names] + [out / p.name for p in images]


def report_markdown(report: EvaluationReport, errors: list[dict] | None, title: str, images: Sequence[str] = ()) -> str:
    """The Markdown report; ``images`` are PNG file names next to it, shown after the score table."""
    lines = [f"# {title}", ""]
    counts = [k for k in ("documents", "sentences", "tokens", "gold_spans", "predicted_spans", "unaligned_gold_spans")
              if getattr(report, k) is not None]
    lines += [", ".join(f"{k.replace('_', ' ')}: {getattr(report, k)}" for k in counts), ""]
    if report.documents_seen_in_training:
        lines += [f"**{report.documents_seen_in_training} of the {report.documents} documents were in the model's "
                  "training data**: their scores say how well it learnt them, not how well it generalises.", ""]
    lines += score_tables_markdown(report)
    if images:
        lines += ["", "## Plots"]
        for name in images:
            lines += ["", f"![{Path(name).stem.replace('_', ' ')}]({name})"]
    if errors is not None:
        lines += ["", "## Errors", "", ", ".join(f"{k}: {v}" for k, v in (report.errors or {}).items()), ""]
        by_kind = Counter()
        for error in errors:
            if by_kind[error["kind"]] >= 10:
                continue
            by_kind[error["kind"]] += 1
            gold = f"{error['gold']['label']} {error['gold']['text']!r}" if error["gold"] else "–"
            pred = f"{error['pred']['label']} {error['pred']['text']!r}" if error["pred"] else "–"
            lines.append(f"- {error['kind']} ({error['doc_id']}): gold {gold}, predicted {pred}: {error['context']}")
        lines += ["", "The first 10 errors of each kind are shown; errors.jsonl lists them all."]
    return "\n".join(lines) + "\n"


def score_tables_markdown(report: EvaluationReport) -> list[str]:
    """One row per type, then micro and macro; for each way of scoring, P / R / F1 and its own support,
    since they count entities differently (conlleval counts a stray ``I-`` as an entity, strict does not)."""
    tables = [("seqeval strict (IOB2)", report.seqeval.strict), ("seqeval conlleval", report.seqeval.conlleval)]
    if report.spans is not None:
        tables.append(("character spans, exact", report.spans))
    header = ["type"] + [f"{name} {part}" for name, _ in tables for part in ("P / R / F1", "support")]
    first, _ = report.main_table()
    rows = []
    for name, _ in first.rows():
        row = [f"**{name}**" if name in ("micro", "macro") else name]
        for _, table in tables:
            entry = table.row(name)
            row += [entry.prf() if entry else "–", entry.support if entry else 0]
        rows.append(row)
    return markdown_table(header, rows)
