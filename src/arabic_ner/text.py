"""From original text to the words the model sees, keeping every word's original offsets.

The model never sees the raw text. :func:`split_words` cuts it into words and gives each a
*form*: the characters the tokenizer gets, with diacritics, tatweel and invisible marks
removed, Arabic-Indic digits made ASCII and presentation forms unfolded. Each word keeps
``start``/``end`` into the original text, so a predicted span over words
``i..j`` is exactly ``text[words[i].start:words[j].end]`` whatever the normalisation did.

Word boundaries:

* whitespace of any kind (NBSP, CR, LF, runs of spaces) separates words;
* each punctuation mark is a word of its own (``F-16`` is ``F`` ``-`` ``16``);
* a change of script splits (Arabic letters / other letters / digits / symbols), so
  ``2014على`` is ``2014`` ``على`` and a flag or emoji never glues to a word;
* one attached proclitic is split off an Arabic word: ``لداعش`` -> ``ل`` ``داعش``,
  ``وسوريا`` -> ``و`` ``سوريا``, and a conjunction before a preposition gives two:
  ``وبالموصل`` -> ``و`` ``ب`` ``الموصل``. This is what lets a span start after the proclitic.
  The split is purely orthographic and the same at train and predict time, so it also splits
  words whose first letter is a root letter (``بغداد`` -> ``ب`` ``غداد``); a span over the
  whole word is then simply two words, which the model learns like any multi-word name.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

#: Saved in a model's config.json; predict.py refuses a model trained with another scheme.
PRETOKENIZER = "arabic-ner-words/1"

PROCLITICS = frozenset("وفبلك")
CONJUNCTIONS = frozenset("وف")  # may be followed by a second, prepositional proclitic
PREPOSITIONS = frozenset("بلك")
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
    """``text[start:end]`` in the original text, and ``form``, what the model sees of it."""

    start: int
    end: int
    form: str


def split_words(text: str) -> list[Word]:
    """Cut ``text`` into words with original offsets (see the module docstring for the rules).

    >>> [w.form for w in split_words("قصف لداعش في الـموصل")]
    ['قصف', 'ل', 'داعش', 'في', 'الموصل']
    """
    words: list[Word] = []
    start = None
    cls_open = SPACE
    for i, ch in enumerate(text):
        cls = char_class(ch)
        if cls in (JOIN, MARK):
            continue  # belongs to the word around it (trimmed off the edges below)
        if start is not None and (cls != cls_open or cls == PUNCT or cls == OTHER):
            _close_word(text, start, i, cls_open, words)
            start = None
        if cls != SPACE and start is None:
            start, cls_open = i, cls
    if start is not None:
        _close_word(text, start, len(text), cls_open, words)
    return words


def _close_word(text: str, start: int, end: int, cls: int, out: list[Word]) -> None:
    # Invisible JOIN characters at the edges (an RLM before a space) are not part of the word;
    # combining marks after the last letter (a final tanween) are.
    while end > start and char_class(text[end - 1]) in (JOIN, SPACE):
        end -= 1
    pieces = _split_proclitics(text, start, end) if cls == ARABIC else [(start, end)]
    for s, e in pieces:
        form = "".join(char_form(ch) for ch in text[s:e])
        if form:  # a run of tatweel alone shows the model nothing: it is not a word
            out.append(Word(s, e, form))


def _split_proclitics(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split one or two attached proclitic letters off an Arabic word, if at least two letters remain."""
    letters = [i for i in range(start, end) if char_form(text[i])]
    first = text[letters[0]] if letters else ""
    if len(letters) < 3 or first not in PROCLITICS:
        return [(start, end)]
    cut = letters[1]  # marks and tatweel after the proclitic stay with it
    if first in CONJUNCTIONS and text[letters[1]] in PREPOSITIONS and len(letters) >= 4:
        return [(start, cut), (cut, letters[2]), (letters[2], end)]
    return [(start, cut), (cut, end)]
