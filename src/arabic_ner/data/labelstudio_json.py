"""Gold annotations in: Label Studio JSON exports, and CoNLL files (read by :mod:`arabic_ner.data.conll`).

Every reader checks what it reads and logs each problem on one line that names the file,
the task and the span (see :mod:`arabic_ner.core.problems`). Policies:

* Per task, the ``ground_truth`` annotation is used if there is one, else the newest one that
  was not cancelled. Tasks with no such annotation, and empty texts, are skipped and counted.
* Offsets outside the text, ``start >= end``, overlapping spans and undeclared labels are errors.
* If ``value.text`` differs from ``text[start:end]``, the same text is looked for within ±3
  characters (exports of older Label Studio versions counted UTF-16 units, so offsets drifted
  after an emoji); if found, the span is moved with a warning, else it is an error.
* Spaces and invisible marks at a span's edges are trimmed with a warning.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ..core.document import Document, Span
from ..core.problems import Problems, UserError
from ..core.words import JOIN, SPACE, char_class, split_words
from .conll import read_conll, tag_like

SURROGATE = re.compile("[\ud800-\udfff]")  # a lone UTF-16 surrogate: legal as a JSON escape, not a character

FROM_NAME, TO_NAME = "label", "text"  # the names used in annotations/labeling-config.xml
SHIFT_TOLERANCE = 3
LabelMap = Mapping[str, "str | None"]  # a source's label -> a declared label, or None to drop it


@dataclass
class ReadStats:
    """What a reader skipped, and why: printed after every read so nothing slips away silently."""

    skipped: Counter = field(default_factory=Counter)
    skipped_ids: dict = field(default_factory=dict)

    def skip(self, reason: str, task_id) -> None:
        self.skipped[reason] += 1
        self.skipped_ids.setdefault(reason, []).append(str(task_id))

    def lines(self, path: str) -> list[str]:
        return [
            f"{path}: skipped {n} task(s) with {reason} (ids {', '.join(self.skipped_ids[reason][:10])}"
            f"{', ...' if n > 10 else ''})"
            for reason, n in sorted(self.skipped.items())
        ]


def read_annotations(
    path: str | Path, labels: Sequence[str], problems: Problems, stats: ReadStats | None = None,
    label_map: LabelMap | None = None, skip_bad_lines: bool = False,
) -> list[Document]:
    """Read gold documents from a Label Studio JSON export or a CoNLL-style file, whatever its
    name: a file whose text starts like JSON (``[{``, ``{"``, ``[]``) is a Label Studio export,
    any other is read as CoNLL. ``label_map`` renames (``GPE: LOC``) or drops (``PERS: None``)
    the file's labels before they are checked against ``labels``."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give the annotation files in it one by one (a Label Studio export or a CoNLL file)")
    if not path.is_file():
        raise UserError(f"{path}: annotation file not found")
    stats = stats if stats is not None else ReadStats()
    if looks_like_json(path):
        return read_labelstudio(path, labels, problems, stats, label_map or {})
    return read_conll(path, labels, problems, label_map, skip_bad_lines)


def move_proclitics_out(documents: list[Document]) -> tuple[int, int]:
    """Re-place spans of a corpus whose entities include their attached proclitics (ANERcorp's
    ``بواشنطن B-LOC``) as this project's guidelines place them, after the proclitics.

    Spelling alone cannot tell ``ب + واشنطن`` from ``بغداد``, so the corpus itself decides: a span's
    start moves past the proclitics of its first word when the rest of that word starts an entity
    of the same type elsewhere in ``documents`` (``واشنطن`` starts LOCs; ``غداد`` starts none, so
    ``بغداد`` stays whole, and ``فيصل`` stays whole though ``يصل`` is a word). Two proclitics are
    tried before one (``وبواشنطن`` -> ``واشنطن``). After ل, a stem that lost its ا to the
    ل+ال spelling counts with it (``للأمم`` -> ``لأمم``, since ``الأمم`` starts ORGs). Returns (spans moved, spans looked at);
    ``documents`` are changed in place.
    """
    words = [split_words(d.text) for d in documents]
    first_words = [{w.start: w for w in ws} for ws in words]
    starts = {(d.text[s.start : firsts[s.start].end], s.label)
              for d, firsts in zip(documents, first_words) for s in d.spans if s.start in firsts}
    moved = 0
    for doc, firsts in zip(documents, first_words):
        spans = []
        for span in doc.spans:
            word = firsts.get(span.start)
            inner = reversed(word.inner_starts) if word else ()
            start = next((s for s in inner if s < span.end and _starts_entity(doc.text[s : word.end], span.label, starts)), span.start)
            moved += start != span.start
            spans.append(Span(start, span.end, span.label, span.score))
        doc.spans = spans
    return moved, sum(len(d.spans) for d in documents)


def _starts_entity(stem: str, label: str, starts: set[tuple[str, str]]) -> bool:
    return (stem, label) in starts or (stem.startswith("ل") and ("ا" + stem, label) in starts)


def looks_like_json(path: Path) -> bool:
    """Whether the file opens a JSON array or object: its first character is ``[`` or ``{`` and its
    first line does not end in a tag, as every CoNLL line does (``[ O``, ``[1] O``)."""
    with open(path, "rb") as f:
        raw = f.read(4096)
    head = raw.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    line, newline, _ = head.partition("\n")
    cut = not newline and len(raw) == 4096  # a minified export: no CoNLL line is that long
    return head[:1] in ("[", "{") and (cut or not tag_like(line.split()[-1]))


def load_json(path: Path):
    """``json.load`` whose error names the line and column, without a traceback."""
    try:
        with open(path, encoding="utf-8-sig") as f:  # a UTF-8 BOM (some editors add one) is read, as predict reads it
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}; "
            "re-export the file from Label Studio or fix it by hand"
        ) from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 (byte {exc.start}); save the file as UTF-8") from None


# ---------------------------------------------------------------- Label Studio

def read_labelstudio(path: Path, labels: Sequence[str], problems: Problems, stats: ReadStats,
                     label_map: LabelMap | None = None) -> list[Document]:
    tasks = load_json(path)
    if isinstance(tasks, dict):  # a single task
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise UserError(f"{path}: a Label Studio export is a JSON list of tasks, not {_kind(tasks)}")
    documents, other_items = [], Counter()
    for n, task in enumerate(tasks):
        where = f"{path}: task {task_id(task, n)}"
        text, annotations = _task_parts(task, where, problems)
        if text is None:
            continue
        if not text.strip():
            stats.skip("an empty text", task_id(task, n))
            continue
        annotation = choose_annotation(annotations)
        if annotation is None:
            predicted = bool(task.get("predictions")) and not annotations
            stats.skip("predictions but no annotation (review them in Label Studio, then pull)" if predicted
                       else "no completed annotation", task_id(task, n))
            continue
        result = annotation.get("result") if annotation.get("result") is not None else []
        if not isinstance(result, list):
            problems.error(f"{where}: annotation {annotation.get('id', '')}".rstrip(),
                           f"result is {_kind(result)}; it must be a list of result items (re-export the task)")
            continue
        doc_id = task["data"].get("doc_id", task_id(task, n))
        if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
            problems.error(where, f"data.doc_id is {_kind(doc_id)}; give a string")
            continue
        spans = result_spans(result, text, labels, where, problems, label_map, other_items)
        documents.append(Document(str(doc_id), text, spans, str(path)))
    if other_items:
        kinds = ", ".join(f"{n} of type {kind!r}" for kind, n in sorted(other_items.items()))
        problems.note(str(path), f"result items other than spans were left out ({kinds}); only \"labels\" items are entities")
    return documents


def _task_parts(task, where: str, problems: Problems) -> tuple[str | None, list]:
    """A task's text and its annotations, after checking their structure (``None`` text: an error was logged)."""
    if not isinstance(task, dict):
        problems.error(where, f"is {_kind(task)}; a task must look like {{\"data\": {{\"text\": ...}}, \"annotations\": [...]}}")
        return None, []
    data = task.get("data")
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str):
        problems.error(where, "has no data.text string; a task must look like {\"data\": {\"text\": ...}, \"annotations\": [...]}")
        return None, []
    bad = SURROGATE.search(text)
    if bad:
        problems.error(where, f"data.text holds a lone UTF-16 surrogate ({ascii(bad.group())} at character {bad.start()}), "
                              "which is not a character; fix the escape in the JSON")
        return None, []
    annotations = task.get("annotations") if task.get("annotations") is not None else []
    if not isinstance(annotations, list):
        problems.error(where, f"annotations is {_kind(annotations)}; it must be a list of annotations (re-export the task)")
        return None, []
    for k, annotation in enumerate(annotations, 1):
        if not isinstance(annotation, dict):
            problems.error(f"{where}: annotation {k}", f"is {_kind(annotation)}; an annotation is an object with a \"result\" list")
            return None, []
    return text, annotations


def _kind(value) -> str:
    """How messages name what was found instead: ``the number 5``, ``an object``."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    kind = {"str": "string", "bool": "boolean", "int": "number", "float": "number"}.get(type(value).__name__, type(value).__name__)
    return f"the {kind} {json.dumps(value, ensure_ascii=False)[:30]}"


def task_id(task, n: int) -> str:
    """How messages and documents name the ``n``-th task (from 0) of an export or a task list:
    its Label Studio ``id``, else ``#n``."""
    return str(task.get("id", f"#{n}")) if isinstance(task, dict) else f"#{n}"


def result_spans(result: list, text: str, labels: Sequence[str], where: str, problems: Problems,
                 label_map: LabelMap | None = None, other_items: Counter | None = None) -> list[Span]:
    """The spans of an annotation's (or a prediction's) ``labels`` results over ``text``. Each item
    that cannot be read as a span of one declared label is logged in ``problems`` under ``where``
    and left out; items of other types (relations, choices) are counted in ``other_items``; a
    label that ``label_map`` maps to None is dropped; of two overlapping spans, the one that sorts
    first by offset is kept."""
    spans = []
    for k, item in enumerate(result, 1):
        here = f"{where}: result item {k}"
        if not isinstance(item, dict):
            problems.error(here, f"is {_kind(item)}; a span item looks like {{\"type\": \"labels\", \"value\": {{\"start\", \"end\", \"labels\"}}}}")
        elif "type" not in item:
            problems.error(here, "has no \"type\"; a span item has \"type\": \"labels\" (re-export the task)")
        elif item["type"] != "labels":
            if other_items is not None:
                other_items[str(item["type"])] += 1
        elif not isinstance(item.get("value"), dict):
            problems.error(here, f"value is {_kind(item.get('value'))}; it must be an object with start, end and labels")
        elif not _dropped(item, label_map or {}):
            span = _read_result_item(item, text, labels, where, problems, label_map or {})
            if span is not None:
                spans.append(span)
    return _without_overlaps(spans, text, where, problems)


def _dropped(item: dict, label_map: LabelMap) -> bool:
    """Whether the item's one label is mapped to None (``PERS: null``)."""
    names = (item.get("value") or {}).get("labels") if isinstance(item.get("value"), dict) else None
    return isinstance(names, list) and len(names) == 1 and isinstance(names[0], str) and names[0] in label_map \
        and label_map[names[0]] is None


def choose_annotation(annotations: list) -> dict | None:
    """The ``ground_truth`` annotation, else the newest one that was not cancelled."""
    usable = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")]
    for annotation in usable:
        if annotation.get("ground_truth"):
            return annotation
    if not usable:
        return None
    # ISO timestamps sort as strings; the id breaks ties and stands in when timestamps are missing.
    return max(usable, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), _int_or_zero(a.get("id"))))


def _int_or_zero(value) -> int:
    return value if isinstance(value, int) else 0


def _read_result_item(item: dict, text: str, labels: Sequence[str], where: str, problems: Problems,
                      label_map: LabelMap) -> Span | None:
    value = item.get("value") or {}
    start, end, names = value.get("start"), value.get("end"), value.get("labels") or []
    integers = isinstance(start, int) and isinstance(end, int) and not isinstance(start, bool) and not isinstance(end, bool)
    # what the span covers: its value.text, else the slice of the task text its offsets point to
    covered = value["text"] if isinstance(value.get("text"), str) else (text[max(start, 0) : max(end, 0)] if integers else "")
    shown = f"span [{start},{end}) {covered!r}"
    if not integers:
        problems.error(f"{where}: {shown}", "start and end must be integer character offsets")
        return None
    if not isinstance(names, list):
        problems.error(f"{where}: {shown}", f"value.labels is {_kind(names)}; it must be a list of one label, e.g. [\"ORG\"]")
        return None
    if len(names) != 1:
        problems.error(f"{where}: {shown}", f"has {len(names)} labels {names}; give each span exactly one")
        return None
    label = label_map.get(names[0], names[0]) if isinstance(names[0], str) else names[0]
    shown = f"{shown} {names[0]}"
    if label not in labels:
        problems.error(
            f"{where}: {shown}",
            f"label {label!r} is not declared; the declared labels are {', '.join(labels)} "
            "(rename it in Label Studio, add it to `labels:` in the config, or map it in this source's `label_map:`)",
        )
        return None
    offsets = _agreed_offsets(value.get("text"), text, start, end, f"{where}: {shown}", problems)
    offsets = offsets and _trimmed(text, *offsets, f"{where}: {shown}", problems)
    return Span(*offsets, label) if offsets else None


def _agreed_offsets(expected, text: str, start: int, end: int, where: str, problems: Problems) -> tuple[int, int] | None:
    """The span's offsets once they agree with its ``value.text`` (moved by a few characters if that
    is where the text is) and lie inside the task text; None, with an error, when they cannot."""
    if expected is not None and not isinstance(expected, str):
        problems.warning(where, f"value.text is {_kind(expected)}, not a string; the span is read from its offsets")
    if isinstance(expected, str) and text[start:end] != expected:
        shift = _find_shift(text, start, expected)
        if shift is None:
            found = text[max(start, 0) : max(end, 0)]
            problems.error(
                where,
                f"value.text does not match the task text, which has {found!r} there, and the text is not "
                f"within ±{SHIFT_TOLERANCE} characters either; fix the offsets or re-annotate the span",
            )
            return None
        problems.warning(where, f"offsets did not match value.text; moved by {shift:+d} to [{start + shift},{start + shift + len(expected)})")
        start, end = start + shift, start + shift + len(expected)
    if not 0 <= start < end <= len(text):
        problems.error(where, f"offsets must satisfy 0 <= start < end <= {len(text)} (the text length); fix or delete the span")
        return None
    return start, end


def _trimmed(text: str, start: int, end: int, where: str, problems: Problems) -> tuple[int, int] | None:
    """The span without spaces or invisible marks at its edges (a warning when any were there);
    None, with an error, when that leaves nothing."""
    trimmed_start, trimmed_end = start, end
    while trimmed_start < trimmed_end and char_class(text[trimmed_start]) in (SPACE, JOIN):
        trimmed_start += 1
    while trimmed_end > trimmed_start and char_class(text[trimmed_end - 1]) in (SPACE, JOIN):
        trimmed_end -= 1
    if trimmed_start == trimmed_end:
        problems.error(where, "covers only spaces or invisible marks; delete the span")
        return None
    if (trimmed_start, trimmed_end) != (start, end):
        problems.warning(where, f"spaces or invisible marks at its edges were trimmed: now [{trimmed_start},{trimmed_end})")
    return trimmed_start, trimmed_end


def _find_shift(text: str, start: int, expected: str) -> int | None:
    for distance in range(1, SHIFT_TOLERANCE + 1):
        for shift in (-distance, distance):
            s = start + shift
            if s >= 0 and text[s : s + len(expected)] == expected:
                return shift
    return None


def _without_overlaps(spans: list[Span], text: str, where: str, problems: Problems) -> list[Span]:
    """Overlapping spans are errors naming both; an exact duplicate is dropped with a warning."""
    kept: list[Span] = []
    for span in sorted(spans):
        clash = next((k for k in kept if k.covers(span)), None)
        if clash is None:
            kept.append(span)
        elif (clash.start, clash.end, clash.label) == (span.start, span.end, span.label):
            problems.warning(f"{where}: span {span.describe(text)}", "appears twice; the copy is ignored")
        else:
            problems.error(
                f"{where}: span {span.describe(text)}",
                f"overlaps span {clash.describe(text)}; spans must be flat, so delete or shorten one of them",
            )
    return kept


def result_item(doc: Document, span: Span, index: int) -> dict:
    """A Label Studio ``labels`` result item for one span (``score`` is added for predictions)."""
    item = {
        "id": f"{doc.id}-{index}"[-40:],
        "from_name": FROM_NAME,
        "to_name": TO_NAME,
        "type": "labels",
        "value": {"start": span.start, "end": span.end, "text": doc.text[span.start : span.end], "labels": [span.label]},
    }
    if span.score is not None:
        item["score"] = round(span.score, 4)
    return item


def prediction_record(doc: Document, score: float | None, model_version: str) -> dict:
    """The Label Studio prediction of one tagged document, as push, predict.py's Label Studio output
    and the model backend all send it: its spans, the model version and the document's score."""
    return {
        "model_version": model_version,
        "score": round(score, 4) if score is not None else None,
        "result": [result_item(doc, span, i) for i, span in enumerate(doc.spans)],
    }


def labelstudio_task(doc: Document, key: str = "annotations", extra: dict | None = None) -> dict:
    """A Label Studio task holding ``doc``'s spans as an annotation (or, with key="predictions", a prediction)."""
    entry = {"result": [result_item(doc, s, i) for i, s in enumerate(doc.spans)], **(extra or {})}
    return {"data": {"text": doc.text, "doc_id": doc.id}, key: [entry]}
