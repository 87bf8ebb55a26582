"""Safe files: the checks that an output path may be written (never an input, never another
program's file, never half-written), and writing a file or a directory whole."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Iterable

from ..core.config import Config, PretrainConfig
from ..core.problems import UserError


def check_not_input(output: Path, inputs: Iterable[str | Path], option: str, replaces_folder: bool = False) -> None:
    """An output must never be an input or lie inside an input folder; a folder that is replaced
    whole (``replaces_folder``) must not hold an input either."""
    out = output.resolve()
    for given in inputs:
        source = Path(given).resolve()
        if out == source or (out.exists() and source.exists() and os.path.samefile(out, source)):
            raise UserError(f"{output}: is the input {given}; writing there would destroy it. Give another {option}.")
        if source.is_dir() and source in out.parents:
            raise UserError(f"{output}: is inside the input folder {given}; give an {option} outside it")
        if out in source.parents and replaces_folder:
            raise UserError(f"{output}: holds the input {given}, and writing the model replaces the folder; "
                            f"give an {option} that holds no input")


def check_model_output(directory: str | Path, inputs: Iterable[str | Path], resume: bool = False,
                       overwrite: bool = False, cv: bool = False) -> None:
    """Refuse, before any work, a model output directory that training would wrongly replace: one
    holding an input, a folder train.py did not write, or a trained model without ``--overwrite``.
    (Cross-validation only adds its report to the directory.)"""
    directory = Path(directory)
    check_not_input(directory, inputs, "--output-dir", replaces_folder=not cv)
    if directory.exists() and not directory.is_dir():
        raise UserError(f"{directory}: is a file; give a folder for the model (--output-dir)")
    entries = {p.name for p in directory.iterdir()} if directory.is_dir() else set()
    if entries and not (resume or cv):
        if not entries & {Config.FILE, PretrainConfig.FILE} and not entries <= {"checkpoints"}:
            raise UserError(f"{directory}: is a folder that train.py or pretrain.py did not write, and training replaces "
                            "the folder with the model; give a new or empty --output-dir")
        if "config.json" in entries and not overwrite:
            raise UserError(f"{directory}: holds a trained model; pass --overwrite to replace it, or give another --output-dir")
    check_writable(directory.parent)  # the model is written beside it, then renamed into place


def check_output_file(path: str | Path, overwrite: bool, option: str = "--output") -> None:
    """A file that is written whole (``pull``, ``score``): not a folder, not replaced without
    ``--overwrite``, in a place that can be written."""
    path = Path(path)
    if is_stream(path):
        return
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give a file name for {option}")
    if path.exists() and not overwrite:
        raise UserError(f"{path}: exists; pass --overwrite to replace it, or give another {option}")
    check_writable(path.parent)


def write_whole(path: str | Path, text: str) -> None:
    """Write ``text`` to a sibling, then rename it into place: the file is never seen half-written."""
    path = Path(path)
    if is_stream(path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)


def write_directory_whole(directory: str | Path, fill) -> None:
    """Have ``fill(staging)`` write a new directory beside ``directory``, then swap it in with renames:
    the directory is never seen half-written, and its previous contents (checkpoints included) are
    removed only after the new one is in place."""
    directory = Path(directory)
    staging = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")
    previous = directory.with_name(f".{directory.name}.old-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        fill(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if directory.exists():
        os.rename(directory, previous)
    os.rename(staging, directory)
    shutil.rmtree(previous, ignore_errors=True)


def check_report_output(directory: str | Path, inputs: Iterable[str | Path]) -> None:
    """A report folder: not an input, not a file, and writable; checked before the evaluation runs."""
    directory = Path(directory)
    check_not_input(directory, inputs, "--output-dir")
    if directory.exists() and not directory.is_dir():
        raise UserError(f"{directory}: is a file; give a folder for the report (--output-dir)")
    check_writable(directory)


def check_writable(folder: Path) -> None:
    """Whether files can be created in ``folder`` (or, if it does not exist yet, in its nearest
    existing parent), found by creating one, so that a run fails before its work, not after."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise UserError(f"{folder}: {existing} is a file, not a folder; choose another output path")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise UserError(f"{existing}: cannot write there ({exc.strerror or exc}); choose a folder you can write to") from None


def is_stream(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
