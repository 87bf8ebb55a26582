"""Where predict.py reads documents from and writes predictions to, one document at a time.

Inputs: a ``.txt`` file, a folder of ``.txt`` files, a JSONL file of ``{"id", "text"}`` lines,
or a Label Studio tasks JSON (a list of ``{"data": {"text": ...}}``). Text files are read with
``newline=""`` so CRLF survives and offsets refer to the exact file text.

Outputs: ``jsonl`` (one line per document, in input order), ``conll`` (``word TAG`` lines),
``labelstudio`` (tasks with ``predictions``, importable into a project that uses
``annotations/labeling-config.xml``) and ``html`` (a folder with one right-to-left page per
document, an ``index.html`` and a ``pages.jsonl`` manifest). Nothing is held in memory beyond
the current chunk.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

from .annotations import load_json, result_item
from .conll import conll_lines
from .document import Document
from .problems import UserError

FORMATS = ("jsonl", "conll", "labelstudio", "html")


def read_text_file(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def iter_input(path: str | Path) -> Iterator[Document]:
    """Documents from ``path``, lazily and in a stable order (folders: sorted by file name).

    A document that cannot be read (a file that is not UTF-8, a JSONL line that is not JSON or
    has no text) comes out with ``error`` set, so the batch goes on and it still gets a record.
    A problem with the input as a whole (a missing path, an unknown type) raises a UserError.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".txt" and p.is_file())
        if not files:
            raise UserError(f"{path}: the folder has no .txt files")
        for file in files:
            yield _text_document(file)
    elif not path.exists():
        raise UserError(f"{path}: input not found; give a .txt file, a folder of them, a .jsonl or a Label Studio .json")
    elif path.suffix == ".txt":
        yield _text_document(path)
    elif path.suffix == ".jsonl":
        yield from _iter_jsonl(path)
    elif path.suffix == ".json":
        for n, task in enumerate(iter_json_array(path)):
            data = task.get("data") if isinstance(task, dict) else None
            doc_id = str(data.get("doc_id", task.get("id", n))) if isinstance(data, dict) else str(n)
            if not isinstance(data, dict) or not isinstance(data.get("text"), str):
                problem = f'{path}: task {n}: no data.text string; a task looks like {{"data": {{"text": ...}}}}'
                yield Document(doc_id, "", source=str(path), error=problem)
            else:
                yield Document(doc_id, data["text"], source=str(path))
    else:
        raise UserError(f"{path}: unknown input type {path.suffix!r}; use .txt, a folder, .jsonl or .json")


def _text_document(path: Path) -> Document:
    try:
        return Document(path.stem, read_text_file(path), source=str(path))
    except UnicodeDecodeError as exc:
        return Document(
            path.stem, "", source=str(path),
            error=f"{path}: not UTF-8 (byte {exc.start}); convert it, e.g. iconv -f cp1256 -t utf-8",
        )


def _iter_jsonl(path: Path) -> Iterator[Document]:
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            where = f"{path}: line {number}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Document(f"line {number}", "", source=str(path), error=f"{where}: not UTF-8 (byte {exc.start} of the line)")
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Document(f"line {number}", "", source=str(path), error=f"{where}, column {exc.colno}: malformed JSON: {exc.msg}")
                continue
            doc_id = str(record.get("id", number)) if isinstance(record, dict) else f"line {number}"
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                yield Document(doc_id, "", source=str(path), error=f'{where}: no "text" string')
            else:
                yield Document(doc_id, record["text"], source=str(path))


def iter_json_array(path: Path, chunk: int = 1 << 20) -> Iterator[dict]:
    """The objects of a top-level JSON list, decoded one by one without loading the whole file."""
    decoder = json.JSONDecoder()
    with open(path, encoding="utf-8") as f:
        buffer, pos, eof = f.read(chunk), 0, False

        def more() -> bool:
            nonlocal buffer, pos, eof
            data = f.read(chunk)
            eof = not data
            buffer, pos = buffer[pos:] + data, 0
            return not eof

        def skip(chars: str) -> None:
            nonlocal pos
            while True:
                while pos < len(buffer) and buffer[pos] in chars:
                    pos += 1
                if pos < len(buffer) or not more():
                    return

        skip(" \t\r\n")
        if buffer[pos : pos + 1] == "{":  # a single task
            yield load_json(path)
            return
        if buffer[pos : pos + 1] != "[":
            load_json(path)  # raises with line and column if malformed
            raise UserError(f"{path}: expected a JSON list of Label Studio tasks")
        pos += 1
        while True:
            skip(" \t\r\n,")
            if buffer[pos : pos + 1] == "]":
                return
            while True:
                try:
                    obj, end = decoder.raw_decode(buffer, pos)
                    break
                except json.JSONDecodeError:
                    if not more():
                        load_json(path)  # re-parse to report the exact line and column
                        raise UserError(f"{path}: malformed JSON list") from None
            pos = end
            yield obj


def records_file(path: Path, fmt: str) -> Path:
    """The file that holds the records: the output itself, or for html the folder's manifest,
    which is resumed like a jsonl file."""
    return path / "pages.jsonl" if fmt == "html" else path


def check_output(path: str | Path, fmt: str, resume: bool, overwrite: bool) -> bool:
    """Refuse to clobber an existing output unless asked to; return whether it has records."""
    path = Path(path)
    if fmt == "html" and path.exists() and not path.is_dir():
        raise UserError(f"{path}: --format html writes a folder of pages; give a folder name")
    records = records_file(path, fmt)
    exists = records.exists() and records.stat().st_size > 0
    if exists and not (resume or overwrite):
        raise UserError(f"{path}: exists; pass --resume to continue an interrupted run, or --overwrite to start again")
    return exists


class PredictionWriter:
    """Writes tagged documents in one of :data:`FORMATS`, one record per document, in order.

    Each record is written whole and flushed, and synced to disk at least every second, so an
    interrupted run leaves complete records plus at most one partial one. With ``resume=True``,
    the complete records already in the file are kept (``done_ids`` lists their document ids),
    the partial one is cut off, and writing continues after them. Without it, an existing file
    is an error unless ``overwrite=True``.
    """

    def __init__(self, path: str | Path, fmt: str, model_version: str = "", resume: bool = False,
                 overwrite: bool = False, labels: tuple[str, ...] = ()):
        if fmt not in FORMATS:
            raise UserError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
        self.path = Path(path)
        self.format = fmt
        self.model_version = model_version
        self.labels = labels  # the legend order of html pages
        self.done_ids: list[str] = []
        self._synced = time.monotonic()
        self.records = records_file(self.path, fmt)
        exists = check_output(self.path, fmt, resume, overwrite)
        self.records.parent.mkdir(parents=True, exist_ok=True)
        if resume and exists:
            keep, self.done_ids = _SCANNERS[fmt](self.records.read_bytes())
            self.file = open(self.records, "r+b")
            self.file.truncate(keep)
            self.file.seek(keep)
        else:
            self.file = open(self.records, "wb")
            if fmt == "labelstudio":
                self._put("[\n")
        self.count = len(self.done_ids)

    def write(self, doc: Document, score: float | None) -> None:
        if self.format == "jsonl":
            record = {"id": doc.id, "entities": [doc.entity(s) for s in doc.spans]}
            if doc.error:
                record["error"] = doc.error
            self._put(json.dumps(record, ensure_ascii=False) + "\n")
        elif self.format == "conll":
            header = [f"# doc_id = {doc.id}"] + ([f"# error = {doc.error}"] if doc.error else [])
            body = list(conll_lines(doc, with_header=False)) if not doc.error else [""]
            self._put("\n".join(header + body) + "\n")
        elif self.format == "html":
            from .html_view import html_page

            slug = re.sub(r"[^\w.-]+", "_", doc.id)[:80]  # the number keeps names unique and in input order
            page = f"{self.count + 1:05d}-{slug}.html"
            staging = self.path / f".{page}.tmp"
            staging.write_text(html_page(doc, self.labels), encoding="utf-8")
            os.replace(staging, self.path / page)  # a page is never seen half-written
            record = {"id": doc.id, "page": page, "entities": len(doc.spans)}
            if doc.error:
                record["error"] = doc.error
            self._put(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            data = {"text": doc.text, "doc_id": doc.id}
            task: dict = {"data": data}
            if doc.error:
                data["error"] = doc.error
            else:
                task["predictions"] = [{
                    "model_version": self.model_version,
                    "score": round(score, 4) if score is not None else None,
                    "result": [result_item(doc, s, i) for i, s in enumerate(doc.spans)],
                }]
            self._put((",\n" if self.count else "") + json.dumps(task, ensure_ascii=False))
        self.count += 1

    def _put(self, text: str) -> None:
        self.file.write(text.encode("utf-8"))
        self.file.flush()
        if time.monotonic() - self._synced > 1.0:  # survive a power cut, without an fsync per document
            os.fsync(self.file.fileno())
            self._synced = time.monotonic()

    def close(self) -> None:
        if self.format == "labelstudio":
            self._put("\n]\n")
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        if self.format == "html":
            self._write_index()

    def _write_index(self) -> None:
        from html import escape

        rows = [json.loads(line) for line in self.records.read_text(encoding="utf-8").splitlines()]
        items = "\n".join(
            f'<li><a href="{escape(r["page"])}">{escape(r["id"])}</a> ({r["entities"]} entities)'
            + (f' <span class="error">{escape(r["error"])}</span>' if r.get("error") else "") + "</li>"
            for r in rows
        )
        (self.path / "index.html").write_text(
            '<!DOCTYPE html>\n<html dir="rtl" lang="ar">\n<head><meta charset="utf-8"><title>arabic-ner</title></head>\n'
            f'<body>\n<ol dir="ltr">\n{items}\n</ol>\n</body>\n</html>\n',
            encoding="utf-8",
        )

    def __enter__(self) -> PredictionWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _scan_jsonl(data: bytes) -> tuple[int, list[str]]:
    """Complete lines (ending in a newline, valid JSON with an id) up to the first bad one."""
    keep, ids = 0, []
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            ids.append(str(json.loads(line)["id"]))
        except (ValueError, KeyError, TypeError):
            break
        keep += len(line)
    return keep, ids


def _scan_labelstudio(data: bytes) -> tuple[int, list[str]]:
    """Tasks, one per line after the opening bracket; the cut is made just after the last good
    task (before its comma), where the writer would put the next separator."""
    if not data.startswith(b"[\n"):
        return 0, []
    keep, ids, offset = 2, [], 2
    for line in data[2:].splitlines(keepends=True):
        body = line.rstrip(b"\n").rstrip(b",")
        try:
            ids.append(str(json.loads(body)["data"]["doc_id"]))
        except (ValueError, KeyError, TypeError):
            break
        keep = offset + len(body)
        offset += len(line)
    return keep, ids


def _scan_conll(data: bytes) -> tuple[int, list[str]]:
    """Documents start at ``# doc_id =`` lines. A document's end is not marked, so the last one is
    always dropped and redone: that costs one document and can never keep a partial one."""
    starts = [m.start() for m in re.finditer(rb"^# doc_id = ", data, re.M)]
    if len(starts) < 2:
        return 0, []
    ids = [data[s:].split(b"\n", 1)[0][len(b"# doc_id = "):].decode("utf-8") for s in starts[:-1]]
    return starts[-1], ids


_SCANNERS = {"jsonl": _scan_jsonl, "labelstudio": _scan_labelstudio, "conll": _scan_conll, "html": _scan_jsonl}


def skip_done(documents: Iterator[Document], done_ids: list[str], output: Path) -> Iterator[Document]:
    """Skip the documents an interrupted run already wrote, checking they are the same ones in the same order."""
    for n, done_id in enumerate(done_ids):
        doc = next(documents, None)
        if doc is None or doc.id != done_id:
            found = "the input ends there" if doc is None else f"the input's document {n + 1} is {doc.id!r}"
            raise UserError(
                f"{output}: record {n + 1} is {done_id!r} but {found}; this output belongs to other input. "
                "Use --overwrite to start again."
            )
    yield from documents


def write_tagged(writer: PredictionWriter, records: Iterator[tuple[Document, float | None]]) -> Counter:
    """Write ``(document, score)`` records and count them: tagged, empty, failed, entities.
    A failed document's error is printed as it passes."""
    from tqdm import tqdm

    counts: Counter = Counter()
    for doc, score in records:
        writer.write(doc, score)
        counts["failed" if doc.error else "empty" if not doc.text.strip() else "tagged"] += 1
        counts["entities"] += len(doc.spans)
        if doc.error:
            tqdm.write(f"error: {doc.error}", file=sys.stderr)
    return counts


def summary(counts: Counter, writer: PredictionWriter) -> str:
    return (
        f"{counts['tagged']} tagged, {counts['empty']} empty, {counts['failed']} failed; "
        f"{counts['entities']} entities -> {writer.path} ({writer.format})"
    )
