"""The two data types everything else passes around: a document and its entity spans.

Offsets are Python code points into the document's original text, end exclusive, so
``doc.text[span.start:span.end]`` is always the entity's surface form.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


def text_sha256(text: str) -> str:
    """The first 16 hex digits of the SHA-256 of ``text`` in UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, order=True)
class Span:
    """An entity: ``text[start:end]`` has type ``label``. ``score`` is set on predictions only."""

    start: int
    end: int
    label: str
    score: float | None = field(default=None, compare=False)

    def covers(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def describe(self, text: str) -> str:
        """``[12,16) 'داعش' ORG``: how error messages name a span."""
        return f"[{self.start},{self.end}) {text[self.start:self.end]!r} {self.label}"


@dataclass
class Document:
    """One article. ``id`` is unique within its source; ``source`` is the file it came from.

    ``error`` is set, and ``text`` empty, when the input could not be read (a file that is not
    UTF-8, a JSONL line with no text): such a document still gets an output record.
    """

    id: str
    text: str
    spans: list[Span] = field(default_factory=list)
    source: str = ""
    error: str | None = None

    def fingerprint(self) -> str:
        """A short hash of the text: how a model directory remembers which texts it was trained on,
        and how a prediction record names the text it was made from."""
        return text_sha256(self.text)

    def entity(self, span: Span) -> dict:
        """The JSON form of a span, as predict.py writes it."""
        record = {"start": span.start, "end": span.end, "label": span.label, "text": self.text[span.start : span.end]}
        if span.score is not None:
            record["score"] = round(span.score, 4)
        return record
