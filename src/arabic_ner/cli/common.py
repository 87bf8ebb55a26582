"""What the subcommands share: one-line errors for bad input, Ctrl-C, what they print, and quiet,
offline-friendly defaults."""

from __future__ import annotations

import errno
import logging
import os
import signal
import sys
from typing import Callable

from ..core.problems import UserError

PACKAGE_LOGGER = "arabic_ner"
# a path the user gave that the system refuses: one line naming it, not a traceback
PATH_ERRORS = (errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EROFS)


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a message comes (pytest and notebooks replace it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def print_library_log() -> None:
    """What a command prints of the library's log: its notes (INFO) and warnings, each on its own
    line as the library words it ("warning: ..."), on standard error. The library itself only has a
    NullHandler, so an application that imports it keeps control of its own logs."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def run(main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> None:
    """Run a command's ``main``: a :class:`UserError` prints its lines and exits with status 2, without
    a traceback; Ctrl-C exits with 130. Any other exception is a bug and keeps its traceback."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    print_library_log()
    try:
        status = main(argv)
    except UserError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        from ..data.files import no_space, no_space_error

        if isinstance(exc, OSError) and exc.errno in PATH_ERRORS and exc.filename:
            from ..core.problems import cut

            print(f"{cut(str(exc.filename))}: {exc.strerror}; check the path given", file=sys.stderr)
            sys.exit(2)
        if not no_space(exc):
            raise  # a bug, or a fault the library should have named: keep the traceback
        for line in no_space_error(getattr(exc, "filename", None), exc, cleaned=False).lines:
            print(line, file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt as exc:
        print(str(exc) or "interrupted", file=sys.stderr)  # training says how to resume
        sys.exit(130)
    sys.exit(status or 0)


def positive(value: str) -> int:
    """An argparse type: a whole number of at least 1."""
    import argparse

    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return number




def positive_number(value: str) -> float:
    """An argparse type: a finite number above 0 (``nan``, ``inf`` and ``-1`` are refused)."""
    import argparse
    import math

    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be a finite number above 0")
    return number


def port(value: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    import argparse

    number = positive(value)
    if number > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port; ports go from 1 to 65535")
    return number


def add_training_options(parser) -> None:
    """What the scripts that train a model into an output directory share: ``--resume`` /
    ``--overwrite``, and ``--verbose`` (transformers' own progress bars and loss dicts instead of
    one line per epoch)."""
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue an interrupted run from the last checkpoint in the output dir")
    again.add_argument("--overwrite", action="store_true", help="replace the model already in the output dir")
    parser.add_argument("--verbose", action="store_true", help="show transformers' progress bars and loss dicts, not one line per epoch")


class StopOnInterrupt:
    """A context in which the first Ctrl-C only asks to stop (``requested()`` turns true), so a batch
    job can finish its current batch and flush its output; a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self._requested = False
        self._previous = None

    def requested(self) -> bool:
        return self._requested

    def _handle(self, signum, frame) -> None:
        self._requested = True
        print("\nstopping after the current batch (Ctrl-C again to abort now)", file=sys.stderr)
        signal.signal(signal.SIGINT, self._previous)

    def __enter__(self) -> "StopOnInterrupt":
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        signal.signal(signal.SIGINT, self._previous)
