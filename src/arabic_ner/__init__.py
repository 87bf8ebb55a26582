"""arabic_ner: train and run Arabic named-entity recognition on news text, exact to the character.

The public surface is small: :class:`Tagger` tags text with a trained model directory;
the scripts train.py, evaluate.py and predict.py cover the rest.
"""

__version__ = "0.1.0"


def __getattr__(name):  # import torch and transformers only when a model is actually needed
    if name == "Tagger":
        from .inference import Tagger

        return Tagger
    raise AttributeError(name)
