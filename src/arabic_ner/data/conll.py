"""CoNLL-style corpora in and out: ``token TAG`` lines as public corpora ship them.

Reading (:func:`read_conll`) goes by what the file holds, not its name:

* one token per line, its tag last, fields separated by spaces or tabs (with tabs, a token may
  hold spaces); a blank line ends a sentence; ``-DOCSTART-`` or ``# doc_id = X`` starts a new
  document, and other ``# key = value`` lines are comments (any other line that starts with ``#``
  is a token's: ``#الموصل B-LOC``, or a hashtag ``# O``);
* lines end at ``\n`` (or ``\r\n``) and nowhere else, and only spaces and tabs separate fields:
  U+2028, U+2029, U+0085, form feed, NBSP and the other characters that ``str.splitlines`` or
  ``str.split`` would cut at are text inside a token or an id (see :func:`text_lines`);
* tags in IOB2, IOB1 (an ``I-`` may start an entity; ``B-`` only separates two of one type) or
  BIOES/BILOU; the file's scheme is found from its tags and said once;
* a file whose lines all have the same number of columns, some of them not tags (CoNLL-2003's
  ``token POS chunk NER``), keeps the first column as the token and the last as the tag;
* a line with several tags after its token (nested corpora such as Wojood: ``token I-ORG B-GPE``,
  outermost first) keeps the outermost layer, with one warning per file; a layer that the label
  map drops (``OCC: null``) gives way to the next one;
* in a two-column file, a line with more fields whose middle ones are not tags is read as a token
  that holds spaces, with a warning (ANERcorp's ``الصالحية ونايفة O``).

Labels pass through the source's label map (``GPE: LOC`` renames, ``PERS: null`` drops); a
label neither declared nor mapped is one error for the file that lists every such label.
A line that cannot be read is an error naming it (or, with ``skip_bad_lines``, a warning).

Writing (:func:`conll_lines`) gives IOB2 ``token TAG`` lines that this reader reads back.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..core.alignment import spans_to_tags, tags_to_spans
from ..core.document import Document
from ..core.labels import parse, split_tag, to_iob2
from ..core.problems import Problems, UserError
from ..core.words import Word, split_words

PREFIXES = {"B": "B", "I": "I", "E": "I", "L": "I", "S": "B", "U": "B"}  # BIOES/BILOU read as IOB


# ``# key = value``: a comment, as CoNLL-U and predict.py's conll output write them (``# doc_id = x``,
# ``# text_sha256 = ...``). The key is one or more words and ``=`` stands alone, which no token line
# has: after a token come only tags.
COMMENT = re.compile(r"# [\w.-]+(?: [\w.-]+)* =(?: |$)")


def tag_like(field: str) -> bool:
    """``O`` or ``P-TYPE`` with ``P`` one of B I E S L U."""
    return split_tag(field, PREFIXES) is not None


def text_lines(text: str) -> list[str]:
    r"""``text`` cut into lines at ``\n`` only, a ``\r`` before it removed (Windows line ends).

    ``str.splitlines`` also cuts at U+2028, U+2029, U+0085, ``\x0b``, ``\x0c`` and ``\x1c``-``\x1e``;
    in a data file those are text inside a token, an id or a record, so cutting there would read
    half a line and blame a line that the file does not hold.

    >>> text_lines("دير\u2028الزور B-LOC\r\n\nفي O\n")
    ['دير\u2028الزور B-LOC', '', 'في O']
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the file's last line ends with a line break; "" has no lines at all
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def conll_fields(line: str) -> list[str]:
    r"""A CoNLL line's fields: separated by tabs where the line has one (so a token may hold spaces),
    else by spaces. No other character separates fields: U+2028, U+0085 or NBSP inside a token is
    part of it (``str.split()`` would cut there). Whitespace at a field's ends is trimmed, and a
    field of whitespace alone is no field, so a line of whitespace has none (a blank line).

    >>> conll_fields("دير\u2028الزور  B-LOC"), conll_fields("دير الزور\tB-LOC\t")
    (['دير\u2028الزور', 'B-LOC'], ['دير الزور', 'B-LOC'])
    """
    parts = line.split("\t") if "\t" in line else line.split(" ")
    return [part.strip() for part in parts if part.strip()]


def is_comment(line: str) -> bool:
    """Whether ``line`` is a ``# key = value`` comment (``# doc_id = x``, ``# text = ...``), not a
    token line that starts with ``#`` (``#الموصل B-LOC``, ``# O``: a hashtag).

    >>> is_comment("# doc_id = x"), is_comment("# text = في الموصل O"), is_comment("# O O"), is_comment("#الموصل B-LOC")
    (True, True, False, False)
    """
    return COMMENT.match(line) is not None


def mapped_tag(tag: str, label_map: Mapping[str, str | None]) -> str:
    """``tag`` read through a label map: its type renamed (``GPE: LOC``: ``B-GPE`` -> ``B-LOC``), or
    the tag ``O`` where the map drops its type (``PERS: null``)."""
    if tag == "O":
        return tag
    prefix, typ = tag[0], tag[2:]
    if typ in label_map:
        target = label_map[typ]
        return "O" if target is None else f"{prefix}-{target}"
    return tag


@dataclass
class Line:
    """A token line as read: where it is, the token, its tags (outermost layer first), and whether
    it starts a sentence."""

    number: int
    token: str
    tags: list[str]
    first_in_sentence: bool = False


@dataclass
class Block:
    """What a line is besides a token: a sentence break or the start of a document (``doc_id``)."""

    number: int
    kind: str  # "sentence" or "document"
    doc_id: str | None = None


def read_conll(
    path: Path, labels: Sequence[str], problems: Problems,
    label_map: Mapping[str, str | None] | None = None, skip_bad_lines: bool = False,
) -> list[Document]:
    """Read a CoNLL-style file into documents (see the module docstring); problems go to ``problems``."""
    items = _items(path, problems, skip_bad_lines)
    tokens = [item for item in items if isinstance(item, Line)]
    if not tokens:
        raise UserError(f"{path}: no 'token TAG' lines found; is this a CoNLL file?")
    _resolve_columns(path, tokens, problems)
    _choose_layer(path, tokens, problems, label_map or {})
    _normalise_scheme(path, tokens, problems)
    _check_labels(path, tokens, labels, problems)
    return _documents(path, items)


def _items(path: Path, problems: Problems, skip_bad_lines: bool) -> list[Line | Block]:
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UserError(f"{path}: UTF-16 text; save the file as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 (byte {exc.start}); save the file as UTF-8 (Arabic files from Windows "
                        "are often cp1256: iconv -f CP1256 -t UTF-8)") from None
    items: list[Line | Block] = []
    starts_sentence = True
    for number, line in enumerate(text_lines(text), 1):
        fields = conll_fields(line)
        if not fields:
            items.append(Block(number, "sentence"))
            starts_sentence = True
        elif line.startswith("# doc_id = ") or fields[0] == "-DOCSTART-":
            doc_id = line[len("# doc_id = "):].strip() if line.startswith("#") else None
            items.append(Block(number, "document", doc_id or None))
            starts_sentence = True
        elif is_comment(line):
            continue  # a CoNLL-U style comment (# sent_id = ..., # text = ...)
        else:
            problem = _unreadable(fields)
            if problem is None:
                items.append(Line(number, fields[0], fields[1:], starts_sentence))  # columns: see _resolve_columns
                starts_sentence = False
                continue
            fix = f"{problem}: {line!r}; fix the line (the token, then its tag, separated by spaces or a tab) or delete it"
            if skip_bad_lines:
                problems.warning(f"{path}: line {number}", f"{fix} (skipped)")
            else:
                problems.error(f"{path}: line {number}", f"{fix}, or set `skip_bad_lines: true` on this source to skip such lines")
    return items


def _unreadable(fields: list[str]) -> str | None:
    if len(fields) == 1:
        return "a single field, so the token or its tag is missing"
    if not tag_like(fields[-1]):
        return f"the last field {fields[-1]!r} is not a tag (O, B-TYPE, I-TYPE, or E-/S-/L-/U-TYPE)"
    return None


def _resolve_columns(path: Path, lines: list[Line], problems: Problems) -> None:
    """Split each line's fields after the token into the token's own rest and its tags."""
    widths = Counter(len(line.tags) + 1 for line in lines)
    columnar = len(widths) == 1 and next(iter(widths)) >= 3 and any(not tag_like(f) for line in lines for f in line.tags[:-1])
    if columnar:
        problems.note(f"{path}", f"{next(iter(widths))} columns on every line: the token is the first, the tag the last; the others are not read")
        for line in lines:
            line.tags = line.tags[-1:]
        return
    for line in lines:
        k = len(line.tags)
        while k > 0 and tag_like(line.tags[k - 1]):
            k -= 1
        if k:
            spoken = " ".join([line.token] + line.tags[:k])
            problems.warning(
                f"{path}: line {line.number}",
                f"{len(line.tags) + 1} fields where the file has 'token TAG'; read as the token {spoken!r} (with spaces) "
                f"tagged {line.tags[k]}; if a column is missing or extra, fix the line",
            )
            line.token, line.tags = spoken, line.tags[k:]


def _choose_layer(path: Path, lines: list[Line], problems: Problems, label_map: Mapping[str, str | None]) -> None:
    """One tag per line: the outermost layer whose type the label map keeps, renamed by the map."""
    nested = dropped = 0
    for line in lines:
        kept = [t for t in (mapped_tag(tag, label_map) for tag in line.tags) if t != "O"]
        if len(line.tags) > 1:
            nested += 1
            dropped += max(0, len(kept) - 1)
        line.tags = kept[:1] or ["O"]
    if nested:
        problems.warning(
            f"{path}",
            f"{nested} lines carry several tags (nested entities); the outermost layer the label map keeps is read, "
            f"and {dropped} inner tags are left out (this project's spans are flat)",
        )


def _normalise_scheme(path: Path, lines: list[Line], problems: Problems) -> None:
    """Rewrite every tag as IOB2, saying which scheme the file used. An ``I-`` that continues no
    entity starts one: silently in an IOB1 file (that is what IOB1 means), with a warning otherwise."""
    if {line.tags[0][0] for line in lines} & {"E", "S", "L", "U"}:
        problems.note(f"{path}", "tags read as BIOES/BILOU (S-/U- a one-token entity, E-/L- an entity's last token)")
    orphans, begins_after_outside, previous = [], 0, "O"
    for line in lines:
        tag = line.tags[0]
        if line.first_in_sentence:
            previous = "O"
        if tag != "O":
            typ = tag[2:]
            continues = previous != "O" and previous[2:] == typ and previous[0] not in "ESLU"
            prefix = PREFIXES[tag[0]]
            if prefix == "I" and not continues:
                orphans.append(line)
                prefix = "B"
            elif tag[0] == "B" and not continues:
                begins_after_outside += 1
            line.tags = [f"{prefix}-{typ}"]
        previous = tag
    if orphans and not begins_after_outside:
        problems.note(f"{path}", "tags read as IOB1: an I- tag starts an entity, B- only separates two adjacent entities of one type")
        return
    for line in orphans:
        typ = line.tags[0][2:]
        problems.warning(f"{path}: line {line.number}", f"I-{typ} does not continue a {typ} entity; read as B-{typ}")


def _check_labels(path: Path, lines: list[Line], labels: Sequence[str], problems: Problems) -> None:
    """One error for all the types that are neither declared nor mapped, with counts and a first
    line each; their tags are read as O, so that ``--check`` can go on counting."""
    declared = set(labels)
    entities: Counter = Counter()
    first: dict[str, int] = {}
    for line in lines:
        tag = line.tags[0]
        if tag != "O" and tag[2:] not in declared:
            entities[tag[2:]] += tag[0] == "B"
            first.setdefault(tag[2:], line.number)
            line.tags = ["O"]
    if entities:
        found = ", ".join(f"{typ} ({entities[typ]} entities, first at line {first[typ]})" for typ in sorted(entities))
        example = sorted(entities)[0]
        problems.error(
            f"{path}",
            f"labels neither declared nor mapped: {found}; the declared labels are {', '.join(labels)}. Add them to "
            f"`labels:`, or map them in this source's `label_map:` (e.g. `{example}: null` drops {example}, "
            f"`{example}: {labels[0]}` reads it as {labels[0]})",
        )


def _documents(path: Path, items: list[Line | Block]) -> list[Document]:
    documents: list[Document] = []
    doc_id, sentences, sentence = None, [], []

    def flush_sentence() -> None:
        if sentence:
            sentences.append(list(sentence))
            sentence.clear()

    def flush_document() -> None:
        nonlocal sentences
        flush_sentence()
        if sentences:
            name = doc_id or (path.stem if not documents else f"{path.stem}-{len(documents) + 1}")
            documents.append(_conll_document(name, sentences, str(path)))
        sentences = []

    for item in items:
        if isinstance(item, Line):
            sentence.append((item.token, item.tags[0]))
        elif item.kind == "sentence":
            flush_sentence()
        else:
            flush_document()
            doc_id = item.doc_id
    flush_document()
    return documents


def _conll_document(doc_id: str, sentences: list[list[tuple[str, str]]], source: str) -> Document:
    """A document whose text is the tokens joined by spaces, one line per sentence."""
    text_parts, words, tags = [], [], []
    offset = 0
    for s, sentence in enumerate(sentences):
        if s:
            text_parts.append("\n")
            offset += 1
        for t, (token, tag) in enumerate(sentence):
            if t:
                text_parts.append(" ")
                offset += 1
            words.append(Word(offset, offset + len(token), token))
            tags.append(tag)
            text_parts.append(token)
            offset += len(token)
        tags.append("O")  # a sentence break also ends an entity
        words.append(Word(offset, offset, ""))
    return Document(doc_id, "".join(text_parts), tags_to_spans(words, tags), source)


def one_line(value: str) -> str:
    """``value`` with its line breaks and other control characters escaped (``\\n``), so that a
    ``# doc_id =`` comment stays one line."""
    return re.sub(r"[\x00-\x1f\x7f\x85\u2028\u2029]", lambda m: ascii(m.group())[1:-1], value)


def conll_lines(doc: Document, with_header: bool = True) -> Iterable[str]:
    """The document as CoNLL lines (``token TAG``, IOB2), a blank line where the text has a line
    break, and a ``# doc_id = ...`` header.

    A token is a run of words with nothing between them that lie in the same entity (or all
    outside one), so tokens split only where an entity boundary needs it. An entity that starts
    after a word's proclitics is the one place where a word is cut, so that plain IOB2 can say
    where it starts: ``لداعش`` is written ``ل O`` / ``داعش B-ORG``, while ``بغداد``, ``F-16`` and a
    ``وسوريا`` outside any entity stay whole.
    """
    words = split_words(doc.text)
    tags, _ = spans_to_tags(words, doc.spans, doc.text, expand=True)
    pieces = []  # (start, end, IOB2 tag): words, with the proclitics before an entity cut off
    for word, tag in zip(words, tags):
        start = word.entity_start(parse(tag).skip)  # expand=True: every tag parses, and its skip is allowed
        if start != word.start:
            pieces.append((word.start, start, "O"))
        pieces.append((start, word.end, to_iob2(tag)))
    if with_header:
        yield f"# doc_id = {one_line(doc.id)}"
    token_start = token_tag = None
    previous_end = 0
    for start, end, tag in pieces:
        glued = token_start is not None and start == previous_end
        if glued and (tag == "O" and token_tag == "O" or tag.startswith("I-")):
            previous_end = end
            continue
        if token_start is not None:
            yield f"{doc.text[token_start:previous_end]} {token_tag}"
            if "\n" in doc.text[previous_end:start]:
                yield ""
        token_start, token_tag, previous_end = start, tag, end
    if token_start is not None:
        yield f"{doc.text[token_start:previous_end]} {token_tag}"
    yield ""
