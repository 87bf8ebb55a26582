"""arabic_ner: train and run Arabic named-entity recognition on news text, exact to the character.

The public surface is small: :class:`Tagger` tags text with a trained model directory;
the scripts train.py, evaluate.py and predict.py cover the rest.
"""

import logging as _logging
import sys as _sys

__version__ = "0.1.0"


class _Stderr(_logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a message comes (pytest and notebooks replace it)."""

    @property
    def stream(self):
        return _sys.stderr

    @stream.setter
    def stream(self, value):
        pass


# The library speaks through logging: notes and progress at INFO, warnings at WARNING, each message
# already prefixed ("warning: ...") as the scripts print them. Silence it with
# logging.getLogger("arabic_ner").setLevel(logging.WARNING) (or ERROR).
_logger = _logging.getLogger(__name__)
if not _logger.handlers:
    _handler = _Stderr()
    _handler.setFormatter(_logging.Formatter("%(message)s"))
    _logger.addHandler(_handler)
    _logger.setLevel(_logging.INFO)
    _logger.propagate = False


def __getattr__(name):  # import torch and transformers only when a model is actually needed
    if name == "Tagger":
        from .inference import Tagger

        return Tagger
    raise AttributeError(name)
