"""Character spans <-> word tags <-> label ids on sub-word tokens.

The unit of labelling is the whole word of :func:`arabic_ner.core.words.split_words`, tagged with the
labels of :mod:`arabic_ner.core.labels`. A span can be represented exactly when it starts at a
word's start, or right after the word's attached proclitics (``لداعش`` -> ``داعش``, tagged
``B1-ORG``), and ends at a word's end. Any other span is *unaligned*: it is reported (never
silently moved) and its words are left out of the loss. :func:`tags_to_spans` turns word tags
back into spans over the original text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .document import Span
from .labels import begin, inside, parse
from .words import Word

IGNORE_INDEX = -100  # what torch's cross-entropy skips: special tokens, padding, unaligned spans
MASKED = "-"  # a word tag meaning "do not learn from this word" (spaCy's convention)


@dataclass(frozen=True)
class Unaligned:
    span: Span
    reason: str


def spans_to_tags(
    words: Sequence[Word], spans: Sequence[Span], text: str = "", expand: bool = False
) -> tuple[list[str], list[Unaligned]]:
    """Word tags for ``words`` from non-overlapping character ``spans``.

    An unaligned span (one that starts inside a word other than after its proclitics, or ends
    inside a word) is returned in the second list. Its words get :data:`MASKED`, or, with
    ``expand=True`` (used for scoring), the tags of the smallest run of whole words that covers it.

    >>> from arabic_ner.core.words import split_words
    >>> text = "قصف لداعش"
    >>> spans_to_tags(split_words(text), [Span(5, 9, "ORG")])[0]
    ['O', 'B1-ORG']
    """
    tags = ["O"] * len(words)
    unaligned: list[Unaligned] = []
    by_start = {offset: (i, w.skip_at(offset)) for i, w in enumerate(words) for offset in (w.start, *w.inner_starts)}
    by_end = {w.end: i for i, w in enumerate(words)}
    for span in sorted(spans):
        first, skip = by_start.get(span.start, (None, 0))
        last = by_end.get(span.end)
        if first is None or last is None or first > last:
            covered = [i for i, w in enumerate(words) if w.start < span.end and span.start < w.end]
            unaligned.append(Unaligned(span, _why_unaligned(words, span, text, first is None, covered)))
            if not covered:
                continue
            first, last, skip = covered[0], covered[-1], 0
            if not expand:
                for i in range(first, last + 1):
                    tags[i] = MASKED
                continue
        if any(tags[i] != "O" for i in range(first, last + 1)):
            if not expand:  # a span before it, in the same word, could not be represented and masked the word
                unaligned.append(Unaligned(span, "shares a word with a span that cannot be represented (reported "
                                                 "before it); fix that span and this one is learnt too"))
            continue  # with expand=True: an expanded span ran into its neighbour
        tags[first] = begin(span.label, skip)
        for i in range(first + 1, last + 1):
            tags[i] = inside(span.label)
    return tags, unaligned


def _why_unaligned(words, span: Span, text: str, bad_start: bool, covered: list[int]) -> str:
    if not covered:
        return "covers no word the model sees (only spaces, punctuation marks or invisible characters)"
    word = words[covered[0] if bad_start else covered[-1]]
    where = "starts" if bad_start else "ends"
    shown = f" {text[word.start:word.end]!r}" if text else ""
    allowed = "the word's edge" if not bad_start else "the word's start, or right after its proclitics (و ف ب ل ك, one, or و/ف then ب/ل/ك)"
    return f"{where} inside the word{shown} [{word.start},{word.end}), so no tag sequence can represent it; move the boundary to {allowed}"


def tags_to_spans(
    words: Sequence[Word], tags: Sequence[str], scores: Sequence[float] | None = None
) -> list[Span]:
    """Character spans from word tags. A ``B1-``/``B2-`` span starts after that many proclitic letters
    of its first word (at the word's start if the word has none to leave out). An ``I-X`` that does
    not continue an ``X`` starts a new span (conlleval's reading). A span's score is the mean of its
    words' scores."""
    spans: list[Span] = []
    first = label = None
    start = 0

    def close(last: int) -> None:
        score = None
        if scores is not None:
            score = sum(scores[first : last + 1]) / (last + 1 - first)
        spans.append(Span(start, words[last].end, label, score))

    for i, name in enumerate(tags):
        tag = parse(name)
        kind = tag.kind if tag is not None else "O"  # the masked "-" reads as outside
        continues = kind == "I" and label == tag.type
        if first is not None and not continues:
            close(i - 1)
            first = label = None
        if kind in ("B", "I") and not continues:
            first, label = i, tag.type
            start = words[i].entity_start(tag.skip)
            if start is None:
                start = words[i].start
    if first is not None:
        close(len(tags) - 1)
    return spans


def token_label_ids(word_ids: Sequence[int | None], tags: Sequence[str], label2id: dict[str, int]) -> list[int]:
    """Label ids for sub-word tokens: every piece of a word is labelled (a ``B-``/``B1-``/``B2-``
    word's later pieces get ``I-``), so the saved model also reads sensibly through
    ``transformers.pipeline``. Special tokens and :data:`MASKED` words get :data:`IGNORE_INDEX`."""
    ids = []
    previous = None
    for w in word_ids:
        if w is None or tags[w] == MASKED:
            ids.append(IGNORE_INDEX)
        elif w != previous:
            ids.append(label2id[tags[w]])
        else:
            tag = parse(tags[w])
            ids.append(label2id[inside(tag.type) if tag.kind == "B" else tags[w]])
        previous = w
    return ids
