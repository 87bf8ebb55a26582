"""The ``arabic-ner`` command: one subcommand per job, each in its own module here, thin over the library.

    arabic-ner train --config configs/tiny.yaml
    arabic-ner predict --model models/tiny --input data/raw --output tagged.jsonl
    python -m arabic_ner predict ...        # the same

``arabic-ner SUBCOMMAND --help`` gives each one's options.
"""

from __future__ import annotations

import importlib
import sys

from .common import run

# subcommand: (module in this package, one line of help), in the order of the workflow
COMMANDS = {
    "train": ("train", "train a token classifier from Label Studio or CoNLL annotations (--check, --cv, --resume)"),
    "curve": ("curve", "a learning curve: train on 25/50/75/100% of the documents, F1 against their number, is it still rising?"),
    "evaluate": ("evaluate", "score a model on gold annotations, or a conlleval-style file; JSON and Markdown reports"),
    "predict": ("predict", "tag articles: JSONL, CoNLL, Label Studio tasks or HTML pages, offsets into the original text"),
    "export": ("export", "write a model's ONNX graphs (fp32, int8) into its folder, for predict on onnxruntime and openvino"),
    "pretrain": ("pretrain", "masked-language-model pretraining on unlabeled Arabic texts, before train"),
    "push": ("push", "tag documents and import them, with their predictions, into a Label Studio project for review"),
    "pull": ("pull", "write a Label Studio project's reviewed annotations to a file that train reads"),
    "score": ("score", "span P/R/F1 of a model's predictions against the reviewed annotations in Label Studio"),
    "select": ("select", "rank unlabeled documents by the model's uncertainty, to choose what to annotate next"),
    "serve": ("serve", "a Label Studio model backend: predictions as tasks open, training from Label Studio"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: arabic-ner SUBCOMMAND [options]   (arabic-ner SUBCOMMAND --help for its options)", "",
             "Arabic named-entity recognition on news text, exact to the character.", "", "subcommands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def command_main(name: str):
    """The ``main(argv)`` of subcommand ``name``."""
    return importlib.import_module(f"{__name__}.{COMMANDS[name][0]}").main


def main(argv: list[str] | None = None) -> None:
    """``arabic-ner SUBCOMMAND [options]``: runs the subcommand (exit status 2 and one line for an unknown one)."""
    from .. import __version__

    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        sys.exit(0 if argv else 2)
    if argv[0] in ("-V", "--version"):
        print(f"arabic-ner {__version__}")
        sys.exit(0)
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"arabic-ner: {name!r} is not a subcommand; choose one of {', '.join(COMMANDS)} (arabic-ner --help)", file=sys.stderr)
        sys.exit(2)
    run(command_main(name), rest)


def script(name: str) -> None:
    """What the old entry points (``python train.py``, ``python -m arabic_ner.serve``) run: the subcommand ``name``."""
    run(command_main(name), sys.argv[1:])
