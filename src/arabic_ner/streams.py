"""Where predict.py reads documents from and writes predictions to, one document at a time.

Inputs: a ``.txt`` file, a folder of ``.txt`` files, a JSONL file of ``{"id", "text"}`` lines,
or a Label Studio tasks JSON (a list of ``{"data": {"text": ...}}``). Text files are read with
``newline=""`` so CRLF survives and offsets refer to the exact file text.

Outputs: ``jsonl`` (one line per document, in input order), ``conll`` (``word TAG`` lines) and
``labelstudio`` (tasks with ``predictions``, importable into a project that uses
``annotations/labeling-config.xml``). Nothing is held in memory beyond the current chunk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from .annotations import conll_lines, load_json, result_item
from .document import Document
from .problems import UserError

FORMATS = ("jsonl", "conll", "labelstudio")


def read_text_file(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def iter_input(path: str | Path) -> Iterator[Document]:
    """Documents from ``path``, lazily and in a stable order (folders: sorted by file name)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".txt" and p.is_file())
        if not files:
            raise UserError(f"{path}: the folder has no .txt files")
        for file in files:
            yield Document(file.stem, _read_utf8(file), source=str(file))
    elif not path.exists():
        raise UserError(f"{path}: input not found; give a .txt file, a folder of them, a .jsonl or a Label Studio .json")
    elif path.suffix == ".txt":
        yield Document(path.stem, _read_utf8(path), source=str(path))
    elif path.suffix == ".jsonl":
        yield from _iter_jsonl(path)
    elif path.suffix == ".json":
        for n, task in enumerate(iter_json_array(path)):
            data = task.get("data") if isinstance(task, dict) else None
            if not isinstance(data, dict) or not isinstance(data.get("text"), str):
                raise UserError(f"{path}: task {n}: no data.text; a Label Studio task looks like {{\"data\": {{\"text\": ...}}}}")
            yield Document(str(data.get("doc_id", task.get("id", n))), data["text"], source=str(path))
    else:
        raise UserError(f"{path}: unknown input type {path.suffix!r}; use .txt, a folder, .jsonl or .json")


def _read_utf8(path: Path) -> str:
    try:
        return read_text_file(path)
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 (byte {exc.start}); convert it, e.g. iconv -f cp1256 -t utf-8") from None


def _iter_jsonl(path: Path) -> Iterator[Document]:
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}: line {number}, column {exc.colno}: malformed JSON: {exc.msg}") from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise UserError(f"{path}: line {number}: expected {{\"id\": ..., \"text\": ...}}")
            yield Document(str(record.get("id", number)), record["text"], source=str(path))


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


class PredictionWriter:
    """Writes tagged documents in one of :data:`FORMATS`, streaming, flushing after each document."""

    def __init__(self, path: str | Path, fmt: str, model_version: str = ""):
        if fmt not in FORMATS:
            raise UserError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
        self.path = Path(path)
        self.format = fmt
        self.model_version = model_version
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "w", encoding="utf-8", newline="")
        self.count = 0
        if fmt == "labelstudio":
            self.file.write("[\n")

    def write(self, doc: Document, score: float | None) -> None:
        if self.format == "jsonl":
            record = {"id": doc.id, "entities": [doc.entity(s) for s in doc.spans]}
            self.file.write(json.dumps(record, ensure_ascii=False) + "\n")
        elif self.format == "conll":
            self.file.write("\n".join(conll_lines(doc)) + "\n")
        else:
            prediction = {
                "model_version": self.model_version,
                "score": round(score, 4) if score is not None else None,
                "result": [result_item(doc, s, i) for i, s in enumerate(doc.spans)],
            }
            task = {"data": {"text": doc.text, "doc_id": doc.id}, "predictions": [prediction]}
            self.file.write((",\n" if self.count else "") + json.dumps(task, ensure_ascii=False))
        self.count += 1
        self.file.flush()

    def close(self) -> None:
        if self.format == "labelstudio":
            self.file.write("\n]\n")
        self.file.close()

    def __enter__(self) -> PredictionWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
