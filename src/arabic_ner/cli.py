"""What the three scripts share: one-line errors for bad input, and quiet, offline-friendly defaults."""

from __future__ import annotations

import os
import sys
from typing import Callable

from .problems import UserError


def run(main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> None:
    """Run a script's ``main``: a :class:`UserError` prints its lines and exits with status 2, without
    a traceback; Ctrl-C exits with 130. Any other exception is a bug and keeps its traceback."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    try:
        status = main(argv)
    except UserError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(status or 0)
