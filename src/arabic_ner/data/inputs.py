"""Where predict.py reads documents from, one document at a time.

Inputs: a ``.txt`` file, a folder of ``.txt`` files, a JSONL file of ``{"id", "text"}`` lines,
or a Label Studio tasks JSON (a list of ``{"data": {"text": ...}}``, streamed with ijson).
Text files are read with ``newline=""`` so CRLF survives and offsets refer to the exact file text.

A problem with the input as a whole (a missing path, an unknown type, a UTF-16 file, invalid
JSON) is found by :func:`iter_input` before the first document is read, and raises a
UserError. A problem with one document (not UTF-8, a lone surrogate, an id that is not a string
or a number, no text) makes that document an error record, so the batch goes on and every
input document still gets one output record.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
from array import array
from pathlib import Path
from typing import Iterator

from ..core.document import Document
from ..core.problems import UserError
from .labelstudio_json import SURROGATE, load_json, task_id

log = logging.getLogger(__name__)

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF8_BOM = b"\xef\xbb\xbf"


def read_text_file(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def iter_input(path: str | Path) -> Iterator[Document]:
    """Documents from ``path``, lazily and in a stable order (folders: sorted by file name), after
    checking the input as a whole. Every document is yielded, error records included."""
    path = Path(path)
    if path.is_dir():
        documents = _iter_folder(path, _folder_files(path))
    elif not path.exists():
        raise UserError(f"{path}: input not found; give a .txt file, a folder of them, a .jsonl or a Label Studio .json")
    elif not path.is_file():
        raise UserError(f"{path}: not a regular file; give a .txt file, a folder of them, a .jsonl or a Label Studio .json")
    elif path.suffix.lower() == ".txt":
        documents = iter([_text_document(path)])
    elif path.suffix.lower() == ".jsonl":
        _refuse_utf16(path)
        documents = _iter_jsonl(path)
    elif path.suffix.lower() == ".json":
        _refuse_utf16(path)
        check_json(path)
        documents = _iter_tasks(path)
    else:
        raise UserError(f"{path}: unknown input type {path.suffix!r}; use .txt, a folder, .jsonl or .json")
    return _warn_duplicates(documents, path)


def _folder_files(folder: Path) -> list[Path]:
    """The folder's ``.txt`` files (any case), sorted; says what else it holds, so nothing is skipped without a word."""
    files, others = [], []
    for entry in sorted(folder.iterdir()):
        if entry.suffix.lower() == ".txt" and (entry.is_file() or not entry.exists()):
            files.append(entry)  # a dangling link becomes an error record
        else:
            others.append(entry.name + ("/" if entry.is_dir() else ""))
    if not files:
        raise UserError(f"{folder}: the folder has no .txt files" + (f" (it has {_names(others)})" if others else ""))
    if others:
        log.info(f"note: {folder}: {len(others)} entries that are not .txt files were left out: {_names(others)}")
    return files


def _names(names: list[str]) -> str:
    return ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")


def _iter_folder(folder: Path, files: list[Path]) -> Iterator[Document]:
    for file in files:
        yield _text_document(file)


def _text_document(path: Path) -> Document:
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8 in the name: the id could not be written anywhere
        shown = path.name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return _failed(Path(shown).stem, path.with_name(shown),
                       f"{path.parent}/{shown}: the file name is not UTF-8, so it cannot be the document's id; rename the file")
    try:
        with open(path, "rb") as f:
            head = f.read(2)
        if head in UTF16_BOMS:
            return _failed(path.stem, path, f"{path}: UTF-16 text; convert it: iconv -f UTF-16 -t UTF-8 {path.name} > out.txt")
        return Document(path.stem, read_text_file(path), source=str(path))
    except UnicodeDecodeError as exc:
        return _failed(path.stem, path, f"{path}: not UTF-8 (byte {exc.start}); convert it, e.g. iconv -f cp1256 -t utf-8")
    except OSError as exc:
        return _failed(path.stem, path, f"{path}: cannot be read ({exc.strerror or exc})")


def _failed(doc_id: str, path: Path, error: str) -> Document:
    return Document(doc_id, "", source=str(path), error=error)


def _refuse_utf16(path: Path) -> None:
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] in UTF16_BOMS or (len(head) == 4 and (head[1::2] == b"\0\0" or head[0::2] == b"\0\0")):
        raise UserError(f"{path}: UTF-16 text; convert it to UTF-8: iconv -f UTF-16 -t UTF-8 {path.name} > utf8{path.suffix}")


def _iter_jsonl(path: Path) -> Iterator[Document]:
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            where = f"{path}: line {number}"
            if number == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM):]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield _failed(f"line {number}", path, f"{where}: not UTF-8 (byte {exc.start} of the line)")
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield _failed(f"line {number}", path, f"{where}, column {exc.colno}: malformed JSON: {exc.msg}")
                continue
            except ValueError as exc:  # e.g. a number of over 4,300 digits, which Python refuses to read
                what = "a number of over 4,300 digits, more than Python reads" if "digits" in str(exc) else str(exc)
                yield _failed(f"line {number}", path, f"{where}: a value cannot be read ({what}); fix the line")
                continue
            if not isinstance(record, dict):
                yield _failed(f"line {number}", path, f'{where}: expected an object like {{"id": "a1", "text": "..."}}')
                continue
            yield _document(record.get("id", number), record.get("text"), path, where, '"text"')


def check_json(path: Path) -> None:
    """Parse the whole file once, without building it in memory; invalid JSON (a missing or a
    trailing comma, text after the closing bracket) is a UserError with its line and column."""
    import ijson

    with open(path, "rb") as f:
        _skip_bom(f)
        try:
            for _, event, _ in ijson.parse(f):
                pass
        except ijson.JSONError as exc:
            load_json(path)  # the standard parser names the line and column
            raise UserError(f"{path}: not valid JSON ({str(exc).splitlines()[0]}); fix it or re-export it from Label Studio") from None
        except UnicodeDecodeError as exc:
            raise UserError(f"{path}: not UTF-8 (byte {exc.start}); save the file as UTF-8") from None


def _skip_bom(f) -> None:
    if f.read(3) != UTF8_BOM:
        f.seek(0)


# A \ud800-\udbff escape not followed by a \udc00-\udfff one, or the reverse: a lone surrogate.
LONE_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _has_lone_surrogate_escape(path: Path, block: int = 1 << 20) -> bool:
    """Whether the raw JSON holds a lone surrogate escape (blocks overlap, so none is missed at a seam;
    an escape cut by a block's end may count as lone, which only costs the slower parser)."""
    with open(path, "rb") as f:
        tail = b""
        while chunk := f.read(block):
            if LONE_SURROGATE_ESCAPE.search(tail + chunk):
                return True
            tail = chunk[-12:]
    return False


def iter_json_array(path: Path) -> Iterator:
    """The items of a top-level JSON list (or the one top-level object), one by one.

    ijson's fast C parser joins a lone high surrogate escape with the next ``\\u`` escape into one
    wrong character (``"\\ud800\\u062a"`` becomes U+1022A), which shifts every offset after it. A
    file that holds a lone surrogate escape is read with ijson's Python parser instead, which keeps
    it, so that the document is reported (an error record) rather than silently changed."""
    import ijson

    parser = ijson.get_backend("python") if _has_lone_surrogate_escape(path) else ijson
    with open(path, "rb") as f:
        _skip_bom(f)
        first = next(ijson.parse(f), ("", "", None))[1]
        f.seek(0)
        _skip_bom(f)
        if first == "start_map":
            yield from parser.items(f, "", use_float=True)
        elif first == "start_array":
            yield from parser.items(f, "item", use_float=True)
        else:
            raise UserError(f"{path}: expected a JSON list of Label Studio tasks, found a {first.replace('start_', '') or 'empty file'}")


def _iter_tasks(path: Path) -> Iterator[Document]:
    for n, task in enumerate(iter_json_array(path)):
        where = f"{path}: task {task_id(task, n)}"
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict):
            yield _failed(f"#{n}", path, f'{where}: no data.text string; a task looks like {{"data": {{"text": ...}}}}')
            continue
        raw_id = data["doc_id"] if "doc_id" in data else task.get("id", f"#{n}")
        yield _document(raw_id, data.get("text"), path, where, "data.text")


def _document(raw_id, text, path: Path, where: str, text_field: str) -> Document:
    """A document from a record's id and text, or an error record saying what is wrong with them."""
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        shown = json.dumps(raw_id, ensure_ascii=False)[:40]
        return _failed(where.split(": ", 1)[1], path, f"{where}: the id {shown} is not a string or a whole number; give each document a string id")
    if isinstance(raw_id, int) and abs(raw_id) >= 10**100:
        return _failed(where.split(": ", 1)[1], path, f"{where}: the id is a number of {len(str(abs(raw_id))):,} digits; give each document a short string id")
    doc_id = str(raw_id)
    if SURROGATE.search(doc_id):
        return _failed(doc_id.encode("utf-8", "backslashreplace").decode("ascii", "replace"), path,
                       f"{where}: the id holds a lone UTF-16 surrogate (an invalid \\ud800-\\udfff escape); fix the id")
    if not isinstance(text, str):
        return _failed(doc_id, path, f"{where}: no {text_field} string")
    bad = SURROGATE.search(text)
    if bad:
        return _failed(doc_id, path, f"{where}: the text holds a lone UTF-16 surrogate ({ascii(bad.group())} at character "
                                     f"{bad.start()}), which is not a character; fix the escape in the JSON")
    return Document(doc_id, text, source=str(path))


class SeenIds:
    """The set of document ids met so far, kept as 8-byte digests in a flat table that is at most
    half full: 16 to 32 bytes an id, whatever its length (48 for the moment the table doubles).
    Measured with tracemalloc over a million ids ``doc-0000000``, ...: 17 bytes an id (25 at the
    peak), against 70 (73) for a plain set of the same digests as ints, and 91 for the Counter of
    the ids themselves that this replaced (131 for ids ``وثيقة-0000000``, ...). The ids are the one
    thing in a predict run that grows with the input, so a fourth of a set's memory is worth these
    few lines; an id costs about 18 µs here against 7 in the set, nothing beside tagging it.

    Exact but for digest collisions: two of a million distinct ids share a digest with a chance of
    about 3 in 100 million, and the only effect would be a needless warning.

    >>> seen = SeenIds()
    >>> seen.add("أ1"), seen.add("أ2"), seen.add("أ1"), len(seen)
    (False, False, True, 2)
    """

    SLOTS = 1024  # the first table's size; always a power of two, so that a key's low bits name its slot

    def __init__(self):
        self._slots = array("Q", [0]) * self.SLOTS  # 0 marks an empty slot
        self._used = 0

    def __len__(self) -> int:
        return self._used

    @staticmethod
    def _key(doc_id: str) -> int:
        """The id's 8-byte digest, never 0 (the empty slot's mark)."""
        digest = hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return int.from_bytes(digest, "little") or 1

    def add(self, doc_id: str) -> bool:
        """Add ``doc_id``; return whether it was already there."""
        key = self._key(doc_id)
        if self._find(key):
            return True
        if 2 * (self._used + 1) > len(self._slots):  # keep it at most half full: short probe runs
            old = self._slots
            self._slots = array("Q", [0]) * (2 * len(old))  # not array(bytes(...)): no third copy at the peak
            for k in old:
                if k:
                    self._find(k, insert=True)
        self._find(key, insert=True)
        self._used += 1
        return False

    def _find(self, key: int, insert: bool = False) -> bool:
        """Whether ``key`` is in the table (linear probing from the slot its low bits name); with
        ``insert``, put it in the empty slot where the search ended."""
        slots, mask = self._slots, len(self._slots) - 1
        i = key & mask
        while slots[i]:
            if slots[i] == key:
                return True
            i = (i + 1) & mask
        if insert:
            slots[i] = key
        return False


def _warn_duplicates(documents: Iterator[Document], path: Path) -> Iterator[Document]:
    """Pass documents through, warning once per id that appears again (outputs name documents by id)."""
    from tqdm import tqdm

    seen, warned = SeenIds(), SeenIds()
    for doc in documents:
        if seen.add(doc.id) and not warned.add(doc.id):  # tqdm.write: a line of its own, also under the progress bar
            tqdm.write(f"warning: {path}: the id {doc.id!r} is used by more than one document; both are tagged, "
                       "but their output records share the id", file=sys.stderr)
        yield doc
