"""From original text to the words the model sees, keeping every word's original offsets.

The model never sees the raw text. :func:`split_words` cuts it into words and gives each a
*form*: the characters the tokenizer gets, with diacritics, tatweel and invisible marks
removed, Arabic-Indic digits made ASCII and presentation forms unfolded. Each word keeps
``start``/``end`` into the original text, so a predicted span over words
``i..j`` is exactly ``text[words[i].start:words[j].end]`` whatever the normalisation did.

Word boundaries are those a pretrained BERT's own pre-tokenizer would see in natural text:

* whitespace of any kind (NBSP, CR, LF, runs of spaces) separates words;
* each punctuation mark is a word of its own (``F-16`` is ``F`` ``-`` ``16``);
* a change of script splits (Arabic letters / other letters / digits / symbols), so
  ``2014على`` is ``2014`` ``على`` and a flag or emoji never glues to a word; but attached
  proclitics stay on what they are attached to (``و٦``, ``بF``), like on an Arabic word.
  (Words that touch still reach the tokenizer together, as one chunk: see
  :mod:`arabic_ner.core.encoding`.)

Words are never cut inside: every Arabic BERT was pretrained on unsegmented text, so
``لداعش`` and ``واشنطن`` reach the model whole, as in pretraining. An entity may still start
*inside* its first word, after attached proclitics (``لداعش`` -> ``داعش``). Where it may is the
policy of :func:`entity_starts`, stated here once: after one proclitic letter (و ف ب ل ك), or
after a conjunction (و ف) followed by a preposition (ب ل ك), when at least two letters remain.
ل written together with the article (``للتحالف``) is ل + ``لتحالف``: the entity starts after the
first ل. The model learns from context which words have a proclitic (``وسوريا``) and which
start with a root letter (``واشنطن``, ``بغداد``); see :mod:`arabic_ner.core.labels`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

PROCLITICS = frozenset("وفبلك")  # letters an entity may start after (guidelines rule 4)
CONJUNCTIONS = frozenset("وف")  # may be followed by a second, prepositional proclitic
PREPOSITIONS = frozenset("بلك")
MAX_PROCLITICS = 2  # و + ب in وبالموصل
MIN_STEM_LETTERS = 2  # letters that must remain after the proclitics
TATWEEL = "\u0640"

# Character classes. A word is a run of one class; MARK and JOIN never start a word.
SPACE, JOIN, MARK, ARABIC, LETTER, DIGIT, SYMBOL, PUNCT, OTHER = range(9)


def _is_arabic_script(ch: str) -> bool:
    cp = ord(ch)
    return 0x0600 <= cp <= 0x06FF or 0x0750 <= cp <= 0x077F or 0x08A0 <= cp <= 0x08FF or 0xFB50 <= cp <= 0xFEFC


@lru_cache(maxsize=65536)
def char_class(ch: str) -> int:
    """The word-building class of one character."""
    if ch.isspace() or ch == "\u200b":  # zero width space separates words without showing
        return SPACE
    cat = unicodedata.category(ch)
    if cat == "Cf":  # RLM, LRM, ALM, ZWNJ, ZWJ, BOM, soft hyphen, bidi embeddings: invisible, inside words
        return JOIN
    if cat in ("Mn", "Me"):
        return MARK
    if cat == "Cc":  # other control characters act as separators
        return SPACE
    if cat[0] == "L":
        return ARABIC if _is_arabic_script(ch) else LETTER
    if cat == "Nd":
        return DIGIT
    if cat in ("So", "Sk"):  # emoji, regional indicators (flags), skin-tone modifiers
        return SYMBOL
    if cat[0] in "PS":  # punctuation, math and currency signs
        return PUNCT
    return OTHER


@lru_cache(maxsize=65536)
def char_form(ch: str) -> str:
    """What the model sees of one character; ``''`` for characters it should not see."""
    cls = char_class(ch)
    if cls == JOIN or ch == TATWEEL:
        return ""
    if cls == MARK:
        # Arabic diacritics and Quranic marks, and emoji variation selectors, carry no
        # information for NER and are not in CAMeLBERT's vocabulary; other marks (e.g. a
        # combining accent on a Latin letter) are left for the tokenizer's own normaliser.
        if _is_arabic_script(ch) or 0xFE00 <= ord(ch) <= 0xFE0F:
            return ""
        return ch
    if cls == DIGIT:
        return str(unicodedata.digit(ch, ch))
    if 0xFB50 <= ord(ch) <= 0xFEFC:  # Arabic presentation forms -> base letters
        return unicodedata.normalize("NFKC", ch)
    return ch


@dataclass(frozen=True)
class Word:
    """``text[start:end]`` in the original text, and ``form``, what the model sees of it.

    ``inner_starts`` are the offsets inside the word where an entity may start instead of at
    ``start``: after one proclitic letter, then after two (see :func:`entity_starts`).
    """

    start: int
    end: int
    form: str
    inner_starts: tuple[int, ...] = ()

    def entity_start(self, skip: int) -> int | None:
        """Where an entity that skips ``skip`` proclitic letters of this word starts; None if it may not."""
        if skip == 0:
            return self.start
        return self.inner_starts[skip - 1] if skip <= len(self.inner_starts) else None

    def skip_at(self, offset: int) -> int | None:
        """How many proclitic letters an entity starting at ``offset`` skips; None if it may not start there."""
        if offset == self.start:
            return 0
        return self.inner_starts.index(offset) + 1 if offset in self.inner_starts else None


def split_words(text: str) -> list[Word]:
    """Cut ``text`` into whole words with original offsets (see the module docstring for the rules).

    >>> [w.form for w in split_words("قصف لداعش في الـموصل")]
    ['قصف', 'لداعش', 'في', 'الموصل']
    """
    words: list[Word] = []
    start = None
    cls_open = SPACE
    attached = False  # the open word is proclitics attached to digits or Latin: و٦, بF
    for i, ch in enumerate(text):
        cls = char_class(ch)
        if cls in (JOIN, MARK):
            continue  # belongs to the word around it (trimmed off the edges below)
        if start is not None and (cls != cls_open or cls == PUNCT or cls == OTHER):
            if cls_open == ARABIC and cls in (DIGIT, LETTER) and _only_proclitics(text, start, i):
                cls_open, attached = cls, True  # no change of script after a proclitic: و٦ is one word
                continue
            _close_word(text, start, i, cls_open, attached, words)
            start, attached = None, False
        if cls != SPACE and start is None:
            start, cls_open = i, cls
    if start is not None:
        _close_word(text, start, len(text), cls_open, attached, words)
    return words


def _close_word(text: str, start: int, end: int, cls: int, attached: bool, out: list[Word]) -> None:
    # Invisible JOIN characters at the edges (an RLM before a space) are not part of the word;
    # combining marks after the last letter (a final tanween) are.
    while end > start and char_class(text[end - 1]) in (JOIN, SPACE):
        end -= 1
    form = "".join(char_form(ch) for ch in text[start:end])
    if form:  # a run of tatweel alone shows the model nothing: it is not a word
        inner = entity_starts(text, start, end, 1 if attached else MIN_STEM_LETTERS) if cls == ARABIC or attached else ()
        out.append(Word(start, end, form, inner))


def _only_proclitics(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is one proclitic letter, or a conjunction and a preposition."""
    letters = [char_form(ch) for ch in text[start:end] if char_form(ch)]
    if len(letters) == 1:
        return letters[0] in PROCLITICS
    return len(letters) == 2 and letters[0] in CONJUNCTIONS and letters[1] in PREPOSITIONS


def entity_starts(text: str, start: int, end: int, min_stem: int = MIN_STEM_LETTERS) -> tuple[int, ...]:
    """The offsets inside the word ``text[start:end]`` where an entity may start after attached
    proclitics: after the first letter if it is one of و ف ب ل ك, then after the second if the
    first is a conjunction (و ف) and the second a preposition (ب ل ك); each only while at least
    ``min_stem`` letters remain (two for an Arabic word; one after proclitics attached to digits
    or Latin, ``و٦``). Diacritics and tatweel after a proclitic stay with it, so the entity
    starts at the next letter.

    >>> entity_starts("وبالموصل", 0, 8), entity_starts("للتحالف", 0, 7), entity_starts("في", 0, 2)
    ((1, 2), (1,), ())
    """
    letters = [i for i in range(start, end) if char_form(text[i])]
    starts: list[int] = []
    for k in range(min(MAX_PROCLITICS, len(letters) - min_stem)):
        letter = char_form(text[letters[k]])
        allowed = PREPOSITIONS if k else PROCLITICS
        if letter not in allowed or (k and char_form(text[letters[0]]) not in CONJUNCTIONS):
            break
        starts.append(letters[k + 1])
    return tuple(starts)
