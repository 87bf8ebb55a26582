"""A document and its entity spans as right-to-left HTML: each entity highlighted by type, with a legend.

The HTML is built by slicing the original text at the span offsets and escaping each piece,
so ``text[start:end]`` of every span is exactly what its ``<mark>`` holds, and the text between
marks is kept byte for byte (line breaks and runs of spaces show through ``white-space: pre-wrap``).
The type name is drawn by CSS (``::after``), so it is not part of the page's text.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Sequence

from ..core.colours import tint, type_colours
from ..core.document import Document, Span

CSS = """
.arabic-ner { direction: rtl; font-family: "Noto Naskh Arabic", "Amiri", "DejaVu Sans", "Arial", sans-serif;
  font-size: 18px; line-height: 2.3; color: #111; max-width: 60em; }
.arabic-ner .doc-id { font-family: monospace; font-size: 13px; color: #555; direction: ltr; text-align: right; }
.arabic-ner .legend { margin: 0.3em 0 0.8em; font-size: 14px; line-height: 2; }
.arabic-ner .legend .key { display: inline-block; padding: 0 0.5em; margin-inline-end: 0.6em; border-radius: 0.3em;
  font-family: sans-serif; font-weight: bold; unicode-bidi: isolate; }
.arabic-ner .text { white-space: pre-wrap; }
.arabic-ner mark { color: inherit; padding: 0.15em 0.2em; border-radius: 0.3em; }
.arabic-ner mark::after { content: attr(data-label); font-family: sans-serif; font-size: 0.55em; font-weight: bold;
  margin-inline-start: 0.35em; vertical-align: middle; unicode-bidi: isolate; }
.arabic-ner .error { color: #c92a2a; }
"""


def check_spans(text: str, spans: Sequence[Span]) -> list[Span]:
    """The spans sorted by offset; a span outside the text, empty, or overlapping another raises
    ``ValueError`` naming it, since the highlighted text would not be the document's."""
    ordered = sorted(spans)
    for span in ordered:
        if not 0 <= span.start < span.end <= len(text):
            raise ValueError(f"span [{span.start},{span.end}) {span.label} is empty or outside the text (length {len(text)})")
    for a, b in zip(ordered, ordered[1:]):
        if b.start < a.end:
            raise ValueError(f"spans overlap: {a.describe(text)} and {b.describe(text)}; one mark cannot hold both")
    return ordered


def html_fragment(doc: Document, labels: Sequence[str] = ()) -> str:
    """A self-contained ``<div dir="rtl" lang="ar">`` (with its ``<style>``) showing ``doc.text``
    with ``doc.spans`` highlighted and a legend of ``labels`` plus any other type present.
    For a notebook: ``IPython.display.HTML(html_fragment(doc))``.

    >>> html_fragment(Document("d", "قصف لداعش", [Span(5, 9, "ORG")]))  # doctest: +ELLIPSIS
    '<style>...<mark ...data-label="ORG"...>داعش</mark>...'
    """
    spans = check_spans(doc.text, doc.spans)
    counts = Counter(s.label for s in spans)
    # pale tints of the Label Studio labeling config's colours, so each type looks alike in both
    colours = {label: tint(c) for label, c in type_colours(list(labels) + sorted(set(counts) - set(labels))).items()}
    legend = "".join(
        f'<span class="key" style="background-color: {colour}">{escape(label)}</span>'
        f'<span class="count">{counts[label]}</span>&emsp;'
        for label, colour in colours.items()
    )
    pieces, pos = [], 0
    for span in spans:
        pieces.append(escape(doc.text[pos : span.start]))
        label = escape(span.label)
        score = "" if span.score is None else f" {span.score:.2f}"
        pieces.append(
            f'<mark style="background-color: {colours[span.label]}" data-label="{label}" '
            f'data-start="{span.start}" data-end="{span.end}" title="{label}{score} [{span.start},{span.end})">'
            f"{escape(doc.text[span.start : span.end])}</mark>"
        )
        pos = span.end
    pieces.append(escape(doc.text[pos:]))
    return (
        f"<style>{CSS}</style>\n"
        f'<div class="arabic-ner" dir="rtl" lang="ar">\n'
        f'<div class="doc-id">{escape(doc.id)}</div>\n'
        + (f'<p class="error" dir="ltr">{escape(doc.error)}</p>\n' if doc.error else "")  # an unreadable input still gets a page
        + f'<div class="legend">{legend}</div>\n'
        f'<div class="text">{"".join(pieces)}</div>\n'
        "</div>"
    )


def html_page(doc: Document, labels: Sequence[str] = ()) -> str:
    """A standalone ``<html dir="rtl" lang="ar">`` page of :func:`html_fragment`, titled with the document id."""
    return (
        '<!DOCTYPE html>\n<html dir="rtl" lang="ar">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(doc.id)}</title>\n</head>\n<body>\n"
        f"{html_fragment(doc, labels)}\n</body>\n</html>\n"
    )
