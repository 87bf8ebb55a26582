"""Where predict.py writes predictions: the one check that an output path is safe, the output
formats, and resuming an interrupted run.

Formats: ``jsonl`` (one line per document, in input order), ``conll`` (``word TAG`` lines),
``labelstudio`` (tasks with ``predictions``, importable into a project that uses
``annotations/labeling-config.xml``) and ``html`` (a folder with one right-to-left page per
document, an ``index.html`` and a ``pages.jsonl`` manifest). Every record carries the SHA-256
of its document's text (its first 16 hex digits; Label Studio tasks carry the text itself), so
``--resume`` can check that the records it keeps belong to the same input, by content.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from ..core.document import Document, text_sha256
from ..core.problems import UserError
from .conll import conll_lines, one_line
from .files import check_not_input, check_writable, is_stream, no_space, no_space_error, remove_stale_files, replace_whole
from .labelstudio_json import prediction_record

SHOWN_ERRORS = 20  # documents that cannot be read, printed one by one; the rest are counted (their records say why)
SUFFIX_FORMATS = {".jsonl": "jsonl", ".conll": "conll", ".json": "labelstudio"}


def format_for(path: str | Path, fmt: str | None) -> str:
    """The output format: the one asked for, else the one the suffix names, else jsonl."""
    return fmt or SUFFIX_FORMATS.get(Path(path).suffix.lower(), "jsonl")


# ---------------------------------------------------------------- is this path safe to write?

def check_output(path: str | Path, fmt: str, resume: bool = False, overwrite: bool = False,
                 inputs: Iterable[str | Path] = ()) -> bool:
    """Refuse, before any work, every output that could destroy input or someone else's file:
    an input itself or a path inside an input folder; an existing output unless ``--resume`` or
    ``--overwrite`` says what to do with it; a folder where a file goes (and the reverse); a place
    that cannot be written. Devices and pipes (``/dev/stdout``) are written as streams. Returns
    whether the output already holds records."""
    path = Path(path)
    check_not_input(path, inputs, "--output")
    if is_stream(path):
        if fmt == "html":
            raise UserError(f"{path}: --format html writes a folder of pages; give a folder name")
        if resume:
            raise UserError(f"{path}: not a regular file, so there is nothing to resume; run without --resume")
        return False
    if fmt == "html" and path.exists() and not path.is_dir():
        raise UserError(f"{path}: --format html writes a folder of pages; give a folder name")
    if fmt != "html" and path.is_dir():
        raise UserError(f"{path}: is a folder; give a file name (or --format html to write a folder of pages)")
    records = records_file(path, fmt)
    exists = records.is_file() and records.stat().st_size > 0
    if exists and not (resume or overwrite):
        raise UserError(f"{path}: exists; pass --resume to continue an interrupted run, or --overwrite to replace it")
    if fmt == "html" and exists and not _is_manifest(records):
        raise UserError(f"{path}: its pages.jsonl is not a predict.py manifest, so the folder is not one predict.py "
                        "wrote, and its index.html would be replaced; give a new or empty folder")
    if fmt == "html" and not records.exists() and path.is_dir() and any(path.iterdir()):
        raise UserError(f"{path}: is a folder that predict.py did not write (no pages.jsonl), and its index.html "
                        "would be replaced; give a new or empty folder")
    check_writable(records.parent)
    return exists
















def _is_manifest(records: Path) -> bool:
    """Whether an html folder's ``pages.jsonl`` starts with a manifest record that predict.py wrote."""
    with open(records, "rb") as f:
        first = f.readline()
    try:
        record = json.loads(first)
    except ValueError:
        return False
    return isinstance(record, dict) and {"id", "page", "text_sha256"} <= record.keys()


def records_file(path: Path, fmt: str) -> Path:
    """The file that holds the records: the output itself, or for html the folder's manifest,
    which is resumed like a jsonl file."""
    return path / "pages.jsonl" if fmt == "html" else path


# ---------------------------------------------------------------- formats

class NotOurs(Exception):
    """The existing output is not an interrupted predict.py output (the message says why)."""


@dataclass
class Done:
    """What an interrupted run wrote: ``keep`` bytes of ``count`` complete records, and the model
    versions that made them. The records themselves stay in the file (see :class:`Kept`), so
    resuming a run of millions of documents holds none of them in memory."""

    keep: int = 0
    count: int = 0
    versions: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Kept:
    """One complete record of an interrupted run: its document's id and text hash, the model
    versions that made it, and the offset in the file where it ends."""

    id: str
    text_sha256: str
    versions: frozenset[str]
    end: int


class JsonlFormat:
    """One JSON object per line: ``{"id", "entities", "error"?, "model_version", "text_sha256"}``."""

    header = footer = ""
    prefix = b'{"id": '

    def __init__(self, writer: PredictionWriter):
        self.writer = writer

    def record(self, doc: Document, score: float | None) -> str:
        record = {"id": doc.id, "entities": [doc.entity(s) for s in doc.spans]}
        return _json_line(record, doc, self.writer.model_version)

    def written_id(self, doc_id: str) -> str:
        return doc_id

    def scan(self, f: BinaryIO) -> Done:
        """Read an existing output through once, counting its complete records (every format)."""
        done = Done()
        for kept in self.kept(f):
            done.count += 1
            done.versions |= kept.versions
            done.keep = kept.end
        return done

    def kept(self, f: BinaryIO) -> Iterator[Kept]:
        """Complete lines up to a partial last one, which an interruption may leave."""
        end = 0
        for number, line in enumerate(f, 1):
            if not line.endswith(b"\n"):
                if not (line.startswith(self.prefix) or self.prefix.startswith(line)):
                    raise NotOurs(f"line {number} is not a record")
                return
            try:
                record = json.loads(line)
                kept = Kept(str(record["id"]), record["text_sha256"], frozenset([record["model_version"]]), end + len(line))
            except (ValueError, KeyError, TypeError):
                old = line.startswith(self.prefix) and b'"text_sha256"' not in line
                raise NotOurs(f"line {number} is not a record" + (" of this arabic_ner (no text_sha256)" if old else "")) from None
            end = kept.end
            yield kept


class HtmlFormat(JsonlFormat):
    """A page per document, and a ``pages.jsonl`` manifest that is resumed like a jsonl output."""

    def record(self, doc: Document, score: float | None) -> str:
        from .html import html_page

        folder = self.writer.path
        slug = re.sub(r"[^\w.-]+", "_", doc.id)[:80]  # the number keeps names unique and in input order
        page = f"{self.writer.count + 1:05d}-{slug}.html"
        if self.writer.count == self.writer.done.count:  # the run's first page: one sweep of the folder
            remove_stale_files(folder, ".html")
        # never seen half-written; not a listing of the folder per page, which grows with the run
        replace_whole(folder / page, html_page(doc, self.writer.labels).encode("utf-8"), clean=False)
        return _json_line({"id": doc.id, "page": page, "entities": len(doc.spans)}, doc, self.writer.model_version)

    def close(self) -> None:
        from html import escape

        rows = [json.loads(line) for line in self.writer.records.read_text(encoding="utf-8").split("\n") if line]  # not splitlines: an id may hold U+2028
        items = "\n".join(
            f'<li><a href="{escape(r["page"])}">{escape(r["id"])}</a> ({r["entities"]} entities)'
            + (f' <span class="error">{escape(r["error"])}</span>' if r.get("error") else "") + "</li>"
            for r in rows
        )
        replace_whole(
            self.writer.path / "index.html",
            ('<!DOCTYPE html>\n<html dir="rtl" lang="ar">\n<head><meta charset="utf-8"><title>arabic-ner</title></head>\n'
             f'<body>\n<ol dir="ltr">\n{items}\n</ol>\n</body>\n</html>\n').encode("utf-8"),
        )


class ConllFormat(JsonlFormat):
    """``# doc_id = ID``, ``# text_sha256 = HASH`` and ``# model_version = V``, then ``word TAG``
    lines; a blank line ends a sentence."""

    prefix = b"# doc_id = "

    def record(self, doc: Document, score: float | None) -> str:
        header = [f"# doc_id = {one_line(doc.id)}", f"# text_sha256 = {doc.fingerprint()}",
                  f"# model_version = {one_line(self.writer.model_version)}"]
        header += [f"# error = {one_line(doc.error)}"] if doc.error else []
        body = list(conll_lines(doc, with_header=False)) if not doc.error else [""]
        return "\n".join(header + body) + "\n"

    def written_id(self, doc_id: str) -> str:
        return one_line(doc_id)

    def kept(self, f: BinaryIO) -> Iterator[Kept]:
        """Documents start at ``# doc_id =`` lines. A document's end is not marked, so the last one
        is always dropped and redone: that costs one document and can never keep a partial one."""
        start = f.read(len(self.prefix))
        if start and not (start == self.prefix or (len(start) < len(self.prefix) and self.prefix.startswith(start))):
            raise NotOurs("it does not start with a '# doc_id = ' line")
        f.seek(0)
        head: list[bytes] | None = None  # the first three lines of the document being read
        count = offset = 0
        for line in f:
            if line.startswith(self.prefix):
                if head is not None:  # the document before this one is complete
                    count += 1
                    yield self._document(head, count, offset)
                head = []
            if head is not None and len(head) < 3:
                head.append(line.rstrip(b"\n"))
            offset += len(line)

    def _document(self, head: list[bytes], number: int, end: int) -> Kept:
        found = re.match(rb"# text_sha256 = ([0-9a-f]+)$", head[1] if len(head) > 1 else b"")
        version = re.match(rb"# model_version = (.*)$", head[2] if len(head) > 2 else b"")
        if not (found and version):
            raise NotOurs(f"document {number} has no '# text_sha256 =' and '# model_version =' lines "
                          "(written by an older arabic_ner?)")
        return Kept(head[0][len(self.prefix):].decode("utf-8"), found.group(1).decode(),
                    frozenset([version.group(1).decode("utf-8")]), end)


class LabelStudioFormat(JsonlFormat):
    """A JSON list of tasks, one per line: ``{"data": {"text", "doc_id"}, "predictions": [...]}``."""

    header, footer = "[\n", "\n]\n"
    prefix = b'{"data": '

    def record(self, doc: Document, score: float | None) -> str:
        data = {"text": doc.text, "doc_id": doc.id}
        task: dict = {"data": data}
        if doc.error:
            data["error"] = doc.error
        else:
            task["predictions"] = [prediction_record(doc, score, self.writer.model_version)]
        return (",\n" if self.writer.count else "") + json.dumps(task, ensure_ascii=False)

    def kept(self, f: BinaryIO) -> Iterator[Kept]:
        """Tasks, one per line after the opening bracket; the cut is made just after the last good
        task (before its comma), where the writer would put the next separator."""
        start = f.read(2)
        if start != b"[\n":
            if len(start) < 2 and b"[\n".startswith(start):
                return
            raise NotOurs("it does not start with a '[' line")
        offset = 2
        for number, line in enumerate(f, 2):
            body = line.rstrip(b"\n").rstrip(b",")
            try:
                task = json.loads(body)
                kept = Kept(str(task["data"]["doc_id"]), text_sha256(task["data"]["text"]),
                            frozenset(p["model_version"] for p in task.get("predictions", [])), offset + len(body))
            except (ValueError, KeyError, TypeError):
                rest = line + f.read(1 << 20)  # a closing bracket, or nothing after a cut-off task: not a MiB
                cut = b"\n" not in rest.rstrip(b"\n") and (rest.startswith(self.prefix) or self.prefix.startswith(rest))
                if not f.read(1) and (rest.strip() in (b"]", b"") or cut):
                    return  # the end of a complete list, or a task cut off by an interruption (even within its first bytes)
                raise NotOurs(f"line {number} is not a task written by predict.py") from None
            offset += len(line)
            yield kept


WRITERS = {"jsonl": JsonlFormat, "conll": ConllFormat, "labelstudio": LabelStudioFormat, "html": HtmlFormat}
FORMATS = tuple(WRITERS)  # predict.py's --format choices


def _json_line(record: dict, doc: Document, model_version: str) -> str:
    if doc.error:
        record["error"] = doc.error
    record["model_version"] = model_version
    record["text_sha256"] = doc.fingerprint()
    return json.dumps(record, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- the writer

class PredictionWriter:
    """Writes tagged documents in one of :data:`FORMATS`, one record per document, in order.

    Each record is written whole and flushed, and a file is synced to disk at least every second,
    so an interrupted run leaves complete records plus at most one partial one. With
    ``resume=True``, the complete records already in the file are counted (``done``) and, once
    :func:`skip_done` has matched them to the input (:meth:`kept` reads them again), kept; the partial
    one is cut off. A file that is not an interrupted output of this tool is refused. Without
    ``resume``, an existing file is an error unless ``overwrite=True``.
    """

    def __init__(self, path: str | Path, fmt: str, model_version: str = "", resume: bool = False,
                 overwrite: bool = False, labels: tuple[str, ...] = ()):
        if fmt not in FORMATS:
            raise UserError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
        self.path = Path(path)
        self.format = fmt
        self.model_version = model_version
        self.labels = labels  # the legend order of html pages
        self.records = records_file(self.path, fmt)
        self.kind = WRITERS[fmt](self)
        self.done = Done()
        if check_output(self.path, fmt, resume, overwrite) and resume:
            try:
                with open(self.records, "rb") as f:  # a record at a time: the file may hold millions
                    self.done = self.kind.scan(f)
            except NotOurs as exc:
                raise UserError(f"{self.records}: cannot resume: {exc}, so it is not an interrupted predict.py "
                                f"--format {fmt} output; give another --output, or --overwrite to replace it") from None
        self.count = self.done.count
        self.file = None
        self._regular = True
        self._synced = time.monotonic()
        self._existed = self.records.exists()
        self._made_folder = not self.records.parent.exists()
        self._good = 0  # the offset after the last complete record: where a failed write is cut back to
        self._failed = False

    def kept(self) -> Iterator[Kept]:
        """The complete records of the interrupted run, read again from the file one at a time.
        Only before the first write: that cuts the file at ``done.keep``, after which a conll
        file's last kept document, whose end only the next ``# doc_id`` line marks, is not found."""
        if self.file is not None:
            raise RuntimeError("PredictionWriter.kept() reads the kept records before the first write")
        if not self.done.count:
            return
        with open(self.records, "rb") as f:
            yield from islice(self.kind.kept(f), self.done.count)

    def _open(self) -> None:
        """Open the file at the first write, so that a refused resume never touches it."""
        self.records.parent.mkdir(parents=True, exist_ok=True)
        # unbuffered: each record is one write of its own, and a failed one leaves nothing buffered behind
        if self.done.count:
            self.file = open(self.records, "r+b", buffering=0)
            self.file.truncate(self.done.keep)
            self.file.seek(self.done.keep)
        else:
            self.file = open(self.records, "wb", buffering=0)
            self._regular = stat.S_ISREG(os.fstat(self.file.fileno()).st_mode)
            self._write_all(self.kind.header.encode("utf-8"))
        self._good = self.file.tell() if self._regular else 0

    def write(self, doc: Document, score: float | None) -> None:
        try:
            if self.file is None:
                self._open()
            self._put(self.kind.record(doc, score))
        except Exception as exc:
            self._fail(exc)
        self.count += 1
        if self._regular:
            self._good = self.file.tell()

    def _fail(self, exc: Exception) -> None:
        """A full disk: cut the file back to its last complete record (a new file with none is
        removed), so that it holds nothing partial and --resume can continue it; one line says so."""
        if not no_space(exc):
            raise exc
        self._failed = True
        if self.file is not None and self._regular:
            self.file.truncate(self._good)  # frees the space the partial record took
            self.file.close()
        kept = self.count - self.done.count
        if self._regular and self.count == 0 and not self._existed:
            self.records.unlink(missing_ok=True)
            if self._made_folder and not any(self.records.parent.iterdir()):
                self.records.parent.rmdir()
        error = no_space_error(self.records, exc, cleaned=False).lines[0]
        raise UserError(f"{error.split('; ', 1)[0]}; after {kept} new document(s) " + (
            f"the {self.count} complete record(s) are kept: free some space and run again with --resume"
            if self.count else "nothing was written: free some space, or write somewhere else, and run again")) from None

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:  # a write to a nearly full disk may take part of the bytes; the next one raises ENOSPC
            view = view[self.file.write(view):]

    def _put(self, text: str) -> None:
        self._write_all(text.encode("utf-8"))
        if self._regular and time.monotonic() - self._synced > 1.0:  # survive a power cut, without an fsync per document
            os.fsync(self.file.fileno())
            self._synced = time.monotonic()

    def close(self) -> None:
        if self._failed:
            return
        try:
            if self.file is None:
                self._open()
            self._put(self.kind.footer)
            if self._regular:
                os.fsync(self.file.fileno())
            self.file.close()
            if hasattr(self.kind, "close"):
                self.kind.close()
        except Exception as exc:
            self._fail(exc)

    def __enter__(self) -> PredictionWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def skip_done(documents: Iterator[Document], writer: PredictionWriter) -> Iterator[Document]:
    """Read past the documents an interrupted run already wrote, checking, before anything is
    written, that each kept record has the same id and the same text as the input's document
    at its place; return the rest."""
    others = sorted(writer.done.versions - {writer.model_version})
    if others:
        raise UserError(f"{writer.path}: its records were made by the model {others[0]}, and this run uses "
                        f"{writer.model_version}; resume with the same model, or --overwrite to start again")
    documents = iter(documents)
    for n, kept in enumerate(writer.kept(), 1):
        done_id = kept.id
        doc = next(documents, None)
        if doc is None:
            found = "the input ends before it"
        elif writer.kind.written_id(doc.id) != done_id:
            found = f"the input's document {n} is {doc.id!r}"
        elif doc.fingerprint() != kept.text_sha256:
            found = f"the input's document {n} has the same id but another text"
        else:
            continue
        raise UserError(f"{writer.path}: record {n} is {done_id!r} but {found}; this output belongs to other input. "
                        "Give another --output, or --overwrite to start again.")
    return documents


def write_tagged(writer: PredictionWriter, records: Iterable[tuple[Document, float | None]]) -> Counter:
    """Write ``(document, score)`` records and count them: tagged, empty, failed, entities.
    A failed document's error is printed as it passes."""
    from tqdm import tqdm

    counts: Counter = Counter()
    for doc, score in records:
        writer.write(doc, score)
        counts["failed" if doc.error else "empty" if not doc.text.strip() else "tagged"] += 1
        counts["entities"] += len(doc.spans)
        if doc.error and counts["failed"] <= SHOWN_ERRORS:
            tqdm.write(f"error: {doc.error}", file=sys.stderr)
        elif doc.error and counts["failed"] == SHOWN_ERRORS + 1:
            tqdm.write(f"error: more documents cannot be read; only the first {SHOWN_ERRORS} are shown here, and every one "
                       f"has its error in its record in {writer.records}", file=sys.stderr)
    return counts


def summary(counts: Counter, writer: PredictionWriter) -> str:
    return (
        f"{counts['tagged']} tagged, {counts['empty']} empty, {counts['failed']} failed; "
        f"{counts['entities']} entities -> {writer.path} ({writer.format})"
    )
