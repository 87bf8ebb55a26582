"""Character spans <-> IOB2 tags on words <-> label ids on sub-word tokens.

The unit of labelling is the word of :func:`arabic_ner.text.split_words`. A span can be
represented exactly when it starts at a word's start and ends at a word's end; any other
span is *unaligned*: it is reported (never silently moved) and its words are left out of
the loss. :func:`tags_to_spans` turns word tags back into spans over the original text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .document import Span
from .text import Word

IGNORE_INDEX = -100  # what torch's cross-entropy skips: special tokens, padding, unaligned spans
MASKED = "-"  # a word tag meaning "do not learn from this word" (spaCy's convention)


@dataclass(frozen=True)
class Unaligned:
    span: Span
    reason: str


def spans_to_tags(
    words: Sequence[Word], spans: Sequence[Span], text: str = "", expand: bool = False
) -> tuple[list[str], list[Unaligned]]:
    """IOB2 tags for ``words`` from non-overlapping character ``spans``.

    An unaligned span (one that starts or ends inside a word) is returned in the second list.
    Its words get :data:`MASKED`, or, with ``expand=True`` (used for scoring), the tags of the
    smallest run of whole words that covers it.

    >>> from arabic_ner.text import split_words
    >>> text = "قصف لداعش"
    >>> spans_to_tags(split_words(text), [Span(5, 9, "ORG")])[0]
    ['O', 'O', 'B-ORG']
    """
    tags = ["O"] * len(words)
    unaligned: list[Unaligned] = []
    by_start = {w.start: i for i, w in enumerate(words)}
    by_end = {w.end: i for i, w in enumerate(words)}
    for span in sorted(spans):
        first, last = by_start.get(span.start), by_end.get(span.end)
        if first is None or last is None or first > last:
            covered = [i for i, w in enumerate(words) if w.start < span.end and span.start < w.end]
            unaligned.append(Unaligned(span, _why_unaligned(words, span, text, first is None, covered)))
            if not covered:
                continue
            first, last = covered[0], covered[-1]
            if not expand:
                for i in range(first, last + 1):
                    tags[i] = MASKED
                continue
        if any(tags[i] != "O" for i in range(first, last + 1)):
            continue  # only reachable with expand=True: an expanded span ran into its neighbour
        tags[first] = f"B-{span.label}"
        for i in range(first + 1, last + 1):
            tags[i] = f"I-{span.label}"
    return tags, unaligned


def _why_unaligned(words, span: Span, text: str, bad_start: bool, covered: list[int]) -> str:
    if not covered:
        return "covers no word the model sees (only spaces, punctuation marks or invisible characters)"
    word = words[covered[0] if bad_start else covered[-1]]
    where = "starts" if bad_start else "ends"
    shown = f" {text[word.start:word.end]!r}" if text else ""
    return (
        f"{where} inside the word{shown} [{word.start},{word.end}), so no tag sequence can represent it; "
        "move the boundary to the word's edge (only the proclitics و ف ب ل ك can be split off)"
    )


def tags_to_spans(
    words: Sequence[Word], tags: Sequence[str], scores: Sequence[float] | None = None
) -> list[Span]:
    """Character spans from IOB2 word tags. An ``I-X`` that does not continue an ``X`` starts a new span
    (conlleval's reading). A span's score is the mean of its words' scores."""
    spans: list[Span] = []
    first = label = None

    def close(last: int) -> None:
        score = None
        if scores is not None:
            score = sum(scores[first : last + 1]) / (last + 1 - first)
        spans.append(Span(words[first].start, words[last].end, label, score))

    for i, tag in enumerate(tags):
        prefix, _, typ = tag.partition("-")
        continues = prefix == "I" and label == typ
        if first is not None and not continues:
            close(i - 1)
            first = label = None
        if prefix in ("B", "I") and not continues:
            first, label = i, typ
    if first is not None:
        close(len(tags) - 1)
    return spans


def token_label_ids(word_ids: Sequence[int | None], tags: Sequence[str], label2id: dict[str, int]) -> list[int]:
    """Label ids for sub-word tokens: every piece of a word is labelled (a ``B-`` word's later pieces
    get ``I-``), so the saved model also reads sensibly through ``transformers.pipeline``.
    Special tokens and :data:`MASKED` words get :data:`IGNORE_INDEX`."""
    ids = []
    previous = None
    for w in word_ids:
        if w is None or tags[w] == MASKED:
            ids.append(IGNORE_INDEX)
        elif w != previous:
            ids.append(label2id[tags[w]])
        else:
            ids.append(label2id["I" + tags[w][1:] if tags[w].startswith("B-") else tags[w]])
        previous = w
    return ids
