"""Reporting bad input: one line per problem, naming the file, the task and the span.

Readers collect problems into a :class:`Problems` log instead of raising at the first one,
so a user sees every mistake in a file at once. Errors stop training; warnings do not.
A :class:`UserError` is bad input or configuration: the scripts print its lines and exit
with status 2, without a traceback (tracebacks are kept for bugs).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)
LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "note": logging.INFO}


class UserError(Exception):
    """Input or configuration the user has to fix. ``lines`` are printed as they are."""

    def __init__(self, *lines: str):
        super().__init__("\n".join(lines))
        self.lines = list(lines)


@dataclass(frozen=True)
class Problem:
    level: str  # "error", "warning" or "note" (how the input was read, nothing wrong)
    where: str  # "annotations/corpus.json: task 3: span [10,14) 'داعش' ORG"
    message: str  # what is wrong, then what to do

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


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

    def print(self, warnings_only: bool = False) -> None:
        """Log every problem, one line each, at its level (notes at INFO), through the ``arabic_ner`` logger."""
        for problem in self.items:
            if warnings_only and problem.level == "error":
                continue
            log.log(LEVELS[problem.level], str(problem))

    def raise_if_errors(self, what: str = "the data", hint: str = "train.py --check shows every problem") -> None:
        """Raise a UserError listing every error (warnings are only printed by the caller)."""
        errors = self.errors
        if errors:
            raise UserError(
                *(str(p) for p in errors),
                f"{len(errors)} error(s) in {what}; fix them and run again" + (f" ({hint})." if hint else "."),
            )
