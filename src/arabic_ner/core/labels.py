"""The label scheme: the model's label names, and what each says about a word.

The model labels whole words (:func:`arabic_ner.core.words.split_words`), one label per word, read
from its first sub-word piece. The scheme is IOB2 with the start of an entity refined by how
many proclitic letters of its first word the entity leaves out:

=========  ==================================================================================
``O``      outside any entity
``B-X``    an entity of type X starts at the start of this word (``واشنطن``, ``بغداد``)
``B1-X``   it starts after the word's first letter, a proclitic (``لداعش`` -> ``داعش``,
           ``وسوريا`` -> ``سوريا``, ``للتحالف`` -> ``لتحالف``)
``B2-X``   it starts after two proclitic letters (``وبالموصل`` -> ``الموصل``)
``I-X``    this word continues an entity of type X
=========  ==================================================================================

Which letters may be left out is the policy of :func:`arabic_ner.core.words.entity_starts`. A
``B1``/``B2`` label on a word that has no such proclitic is read as ``B`` (the entity starts at
the word), so a prediction is never moved into a word where the guidelines do not allow it.
An ``I-X`` that does not continue an X starts an entity (conlleval's reading).

The label set is the model's ``id2label``, and the scheme's name and version are saved under
``arabic_ner`` in its ``config.json``. A model with only ``O``/``B-``/``I-`` labels (trained
elsewhere, or on a corpus whose spans include the proclitics) is valid: its entities start at
word starts. The ``B1``/``B2`` labels are not IOB2, so they are turned into ``B-`` before
anything IOB2 reads the tags (seqeval, CoNLL files): see :func:`to_iob2`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Container, Sequence

from .problems import UserError
from .words import MAX_PROCLITICS

#: Saved in a model's config.json (``arabic_ner.scheme``): whole words, labels as above.
SCHEME = "arabic-ner-words/2"
#: What models trained with proclitics split off the words (before SCHEME) say instead.
OLD_SCHEMES = {"arabic-ner-words/1"}
OUTSIDE = "O"


@dataclass(frozen=True)
class Tag:
    """A parsed label: ``kind`` is ``"O"``, ``"B"`` or ``"I"``; ``skip`` is the proclitic letters a
    ``B`` leaves out of its word (0, 1 or 2)."""

    kind: str
    type: str = ""
    skip: int = 0


def label_names(types: Sequence[str]) -> list[str]:
    """The model's labels, in id order: ``O``, then for each type ``B-``, ``I-``, ``B1-``, ``B2-``.

    >>> label_names(["LOC"])
    ['O', 'B-LOC', 'I-LOC', 'B1-LOC', 'B2-LOC']
    """
    names = [OUTSIDE]
    for t in types:
        names += [begin(t), inside(t)] + [begin(t, skip) for skip in range(1, MAX_PROCLITICS + 1)]
    return names


def begin(entity_type: str, skip: int = 0) -> str:
    """The label of the word where an entity starts, ``skip`` proclitic letters into it."""
    return f"B{skip or ''}-{entity_type}"


def inside(entity_type: str) -> str:
    return f"I-{entity_type}"


@lru_cache(maxsize=4096)
def parse(label: str) -> Tag | None:
    """The :class:`Tag` of a label name, or None if it is not one of this scheme's.

    >>> parse("B2-LOC"), parse("I-ORG"), parse("O"), parse("LOC")
    (Tag(kind='B', type='LOC', skip=2), Tag(kind='I', type='ORG', skip=0), Tag(kind='O', type='', skip=0), None)
    """
    if label == OUTSIDE:
        return Tag(OUTSIDE)
    prefix, sep, entity_type = label.partition("-")
    if not sep or not entity_type:
        return None
    if prefix == "I":
        return Tag("I", entity_type)
    if prefix == "B":
        return Tag("B", entity_type)
    if prefix[:1] == "B" and prefix[1:].isdigit() and 1 <= int(prefix[1:]) <= MAX_PROCLITICS:
        return Tag("B", entity_type, int(prefix[1:]))
    return None


def split_tag(tag: str, prefixes: Container[str] = "BI") -> tuple[str, str] | None:
    """``(prefix, type)`` of a file's tag such as ``B-LOC`` (a prefix among ``prefixes``, a hyphen, a
    type), ``("O", "")`` for ``O``, and None for anything else: the one test of what a tag in a CoNLL
    file looks like (IOB2 by default; the CoNLL reader also takes E-, S-, L-, U-).

    >>> split_tag("B-LOC"), split_tag("O"), split_tag("E-LOC"), split_tag("E-LOC", "BIES"), split_tag("B-")
    (('B', 'LOC'), ('O', ''), None, ('E', 'LOC'), None)
    """
    if tag == OUTSIDE:
        return OUTSIDE, ""
    if len(tag) > 2 and tag[0] in prefixes and tag[1] == "-":
        return tag[0], tag[2:]
    return None


def to_iob2(label: str) -> str:
    """The plain IOB2 tag of a label, for seqeval and CoNLL files: ``B1-LOC`` -> ``B-LOC``.
    Other strings (``O``, ``I-X``, the masked ``-``) pass through."""
    tag = parse(label)
    return begin(tag.type) if tag is not None and tag.kind == "B" else label


def check_label_set(id2label: dict, where: str) -> None:
    """Refuse a model whose labels this scheme cannot read (e.g. a sentiment classifier)."""
    labels = list(id2label.values())
    bad = [label for label in labels if parse(label) is None]
    if OUTSIDE not in labels or bad:
        raise UserError(
            f"{where}: id2label {labels} is not an IOB2 label set (O, B-TYPE, I-TYPE, and arabic_ner's "
            "B1-TYPE, B2-TYPE); it is not a token classifier trained by arabic_ner"
        )


def entity_types(id2label: dict) -> list[str]:
    """The entity types of a label set, in id order: ``{0:'O',1:'B-LOC',2:'I-LOC'} -> ['LOC']``."""
    types: list[str] = []
    for _, label in sorted((int(k), v) for k, v in id2label.items()):
        tag = parse(label)
        if tag is not None and tag.type and tag.type not in types:
            types.append(tag.type)
    return types
