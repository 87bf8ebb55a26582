"""Reporting bad input: one line per problem, naming the file, the task and the span.

Readers collect problems into a :class:`Problems` log instead of raising at the first one,
so a user sees every mistake in a file at once. Errors stop training; warnings do not.
A :class:`UserError` is bad input or configuration: the scripts print its lines and exit
with status 2, without a traceback (tracebacks are kept for bugs).

A flood stays readable: a value is quoted with at most :data:`VALUE_LIMIT` of its characters,
and of the problems of one kind (the same message but for the place and the values quoted in
it) the first :data:`SHOWN_PER_KIND` are printed, then one line counts the rest and says where
they start. The counts (``len(problems.errors)``) stay the true totals.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass

log = logging.getLogger(__name__)
LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "note": logging.INFO}
VALUE_LIMIT = 200  # characters of a value a message quotes; a longer one is cut, with its full length
LINE_LIMIT = 2000  # characters of one printed line, whatever it holds (a backstop for unquoted values)
SHOWN_PER_KIND = 20  # problems of one kind printed one by one; the rest are counted on one line
PLACES_LISTED = 10  # places of the rest that the count line names
# a Python repr of a string, as messages quote values: 'text' or "text", with backslash escapes,
# not an apostrophe inside a word (the source's label)
# (written so that the search jumps from quote to quote: a million messages take seconds, not minutes)
QUOTED = re.compile(r"""['"](?<!\w['"])(?:(?<=')[^'\\\n]*(?:\\.[^'\\\n]*)*'|(?<=")[^"\\\n]*(?:\\.[^"\\\n]*)*")(?!\w)""")
NUMBER = re.compile(r"[0-9]+")
AT_LINE = re.compile(r"line \d+")  # a place in a file, after its name


def quoted(value, limit: int = VALUE_LIMIT) -> str:
    """``repr(value)``, cut after ``limit`` characters with its full length, so that one huge value
    cannot flood a message: ``quoted("a" * 723_000)`` is ``'aaaa…' (723,000 characters)``.

    >>> quoted("داعش")
    "'داعش'"
    >>> quoted("a" * 1000, limit=4)
    "'aaaa…' (1,000 characters)"
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        start = repr(value[:limit])
        return f"{start[:-1]}…{start[-1]} ({len(value):,} characters)"
    return cut(repr(value), limit)


def cut(text: str, limit: int = VALUE_LIMIT) -> str:
    """``text`` as it is, or its first ``limit`` characters and its length: ``--map aaaa… (5,000 characters)``."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def shortened(line: str, limit: int = VALUE_LIMIT) -> str:
    """``line`` with each quoted value longer than ``limit`` cut as :func:`quoted` cuts it, and the
    whole line cut in the middle if it is still over :data:`LINE_LIMIT` characters."""
    if len(line) <= limit:
        return line

    def cut(match: re.Match) -> str:
        body = match.group()[1:-1]
        if len(body) <= limit:
            return match.group()
        quote = match.group()[0]
        return f"{quote}{body[:limit]}…{quote} ({len(body):,} characters)"

    line = QUOTED.sub(cut, line)
    if len(line) > LINE_LIMIT:
        head, tail = LINE_LIMIT * 2 // 3, LINE_LIMIT // 3
        line = f"{line[:head]} …({len(line) - head - tail:,} characters left out)… {line[-tail:]}"
    return line


class UserError(Exception):
    """Input or configuration the user has to fix. ``lines`` are printed as they are."""

    def __init__(self, *lines: str):
        super().__init__("\n".join(lines))
        self.lines = list(lines)


@dataclass(frozen=True, slots=True)
class Problem:
    level: str  # "error", "warning" or "note" (how the input was read, nothing wrong)
    where: str  # "annotations/corpus.json: task 3: span [10,14) 'داعش' ORG"
    message: str  # what is wrong, then what to do

    def __str__(self) -> str:
        return shortened(f"{self.level}: {self.where}: {self.message}")

    @property
    def kind(self) -> tuple[str, str]:
        """The level and the message with its quoted values and numbers blanked: problems of one kind
        differ only in their place and values (``line 7: ... 'x y z'`` and ``line 9: ... 'p'``)."""
        return self.level, NUMBER.sub("#", QUOTED.sub("''", self.message))


class Problems:
    """An append-only log of problems found while reading data."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def error(self, where: str, message: str) -> None:
        self.items.append(Problem("error", where, message))

    def warning(self, where: str, message: str) -> None:
        self.items.append(Problem("warning", where, message))

    def note(self, where: str, message: str) -> None:
        self.items.append(Problem("note", where, message))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.level == "warning"]

    def lines(self, levels: tuple[str, ...] = tuple(LEVELS)) -> list[tuple[str, str]]:
        """(level, line) for the problems of ``levels``, in order: the first :data:`SHOWN_PER_KIND` of
        each kind one by one, then one line with the number of the rest and their first places."""
        chosen = [p for p in self.items if p.level in levels]
        if len(chosen) <= SHOWN_PER_KIND:
            return [(p.level, str(p)) for p in chosen]
        kinds = [p.kind for p in chosen]
        totals = Counter(kinds)
        rest: dict[tuple[str, str], list[str]] = {}  # a kind's places after the first SHOWN_PER_KIND
        seen: Counter = Counter()
        for problem, kind in zip(chosen, kinds):
            seen[kind] += 1
            if seen[kind] > SHOWN_PER_KIND and len(places := rest.setdefault(kind, [])) < PLACES_LISTED:
                places.append(problem.where)
        out, seen = [], Counter()
        for problem, kind in zip(chosen, kinds):
            seen[kind] += 1
            if seen[kind] <= SHOWN_PER_KIND:
                out.append((problem.level, str(problem)))
            if seen[kind] == SHOWN_PER_KIND and totals[kind] > SHOWN_PER_KIND:
                out.append((problem.level, _count_line(problem.level, totals[kind] - SHOWN_PER_KIND, rest[kind])))
        return out

    def print(self, warnings_only: bool = False) -> None:
        """Log the problems, one line each, at their level (notes at INFO), through the ``arabic_ner``
        logger; of many of one kind, the first few and a line that counts the rest (see :meth:`lines`)."""
        for level, line in self.lines(("warning", "note") if warnings_only else tuple(LEVELS)):
            log.log(LEVELS[level], line)

    def raise_if_errors(self, what: str = "the data", hint: str = "arabic-ner train --check lists them without training") -> None:
        """Raise a UserError listing the errors as :meth:`lines` does (warnings are only printed by the
        caller), and their true number."""
        count = sum(p.level == "error" for p in self.items)
        if count:
            raise UserError(
                *(line for _, line in self.lines(("error",))),
                f"{count} error(s) in {what}; fix them and run again" + (f" ({hint})." if hint else "."),
            )


def _count_line(level: str, count: int, places: list[str]) -> str:
    """``error: data/x.conll: 4,980 more like the one above, not shown: lines 21, 22, ...``: the
    number of a kind's problems not printed, and the first of their places."""
    more = "" if count <= len(places) else ", …"
    files = {place.partition(": ")[0] for place in places}
    if len(files) == 1 and all(": " in place for place in places):  # one file: name it once
        head, places = f"{files.pop()}: ", [place.partition(": ")[2] for place in places]
    else:
        head = ""
    if all(AT_LINE.fullmatch(place) for place in places):
        listed = f"line{'s' if len(places) > 1 else ''} {', '.join(place[len('line '):] for place in places)}"
    else:
        listed = "; ".join(places)
    return shortened(f"{level}: {head}{count:,} more like the one above, not shown: {listed}{more}")
