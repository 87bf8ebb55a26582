"""Safe files: the checks that an output path may be written (never an input, never another
program's file, never half-written), and writing a file or a directory whole."""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Iterable

from ..core.problems import UserError

log = logging.getLogger(__name__)


MODEL_FILES = ("config.json", "model.safetensors", "pytorch_model.bin")
REPORT_BYTES = 2_000_000  # an evaluation report of a few thousand documents, its plots included, is under 1 MB


def model_folder_above(path: Path) -> Path | None:
    """The nearest folder at or above ``path``'s folder that holds a Hugging Face model (its
    ``config.json`` and weights), if any: outputs are never written into a model."""
    for folder in path.resolve().parents:
        if (folder / MODEL_FILES[0]).is_file() and any((folder / name).is_file() for name in MODEL_FILES[1:]):
            return folder
    return None


def check_not_input(output: Path, inputs: Iterable[str | Path], option: str, replaces_folder: bool = False) -> None:
    """An output must never be an input, lie inside an input folder or inside a model folder; a
    folder that is replaced whole (``replaces_folder``) must not hold an input either."""
    out = output.resolve()
    for given in inputs:
        source = Path(given).resolve()
        what = f"{given} (the model)" if source.is_dir() and model_folder_above(source / MODEL_FILES[0]) == source else given
        if out == source or (out.exists() and source.exists() and os.path.samefile(out, source)):
            raise UserError(f"{output}: is the input {what}; writing there would destroy it. Give another {option}.")
        if source.is_dir() and source in out.parents:
            raise UserError(f"{output}: is inside the input folder {what}; give an {option} outside it")
        if out in source.parents and replaces_folder:
            raise UserError(f"{output}: holds the input {given}, and writing the model replaces the folder; "
                            f"give an {option} that holds no input")
    model = model_folder_above(Path(output))
    if model is not None:
        raise UserError(f"{output}: is inside the model folder {model}; writing there would change the model. "
                        f"Give an {option} outside it")


def check_model_output(directory: str | Path, inputs: Iterable[str | Path], resume: bool = False,
                       overwrite: bool = False, cv: bool = False) -> None:
    """Refuse, before any work, a model output directory that training would wrongly replace: one
    holding an input, a folder train.py did not write, or a trained model without ``--overwrite``.
    (Cross-validation only adds its report to the directory.)"""
    directory = Path(directory)
    check_not_input(directory, inputs, "--output-dir", replaces_folder=not cv)
    remove_stale_staging(directory)  # a killed final save can leave a model-sized folder beside it
    if directory.exists() and not directory.is_dir():
        raise UserError(f"{directory}: is a file; give a folder for the model (--output-dir)")
    entries = {p.name for p in directory.iterdir()} if directory.is_dir() else set()
    if entries and not (resume or cv):
        from ..core.config import Config, PretrainConfig  # here: predict imports this module, and pydantic costs its start-up 0.15 s

        if not entries & {Config.FILE, PretrainConfig.FILE} and not entries <= {"checkpoints"}:
            raise UserError(f"{directory}: is a folder that train.py or pretrain.py did not write, and training replaces "
                            "the folder with the model; give a new or empty --output-dir")
        if "config.json" in entries and not overwrite:
            raise UserError(f"{directory}: holds a trained model; pass --overwrite to replace it, or give another --output-dir")
    check_writable(directory.parent)  # the model is written beside it, then renamed into place


def discard_interrupted_run(directory: str | Path) -> None:
    """``--overwrite`` starts over: the checkpoints an interrupted run left in ``directory`` go, with a note."""
    checkpoints = Path(directory) / "checkpoints"
    if checkpoints.is_dir():
        shutil.rmtree(checkpoints)
        log.info("note: --overwrite: removed %s, the checkpoints of an earlier run; training starts over", checkpoints)


def check_output_file(path: str | Path, overwrite: bool, option: str = "--output", inputs: Iterable[str | Path] = ()) -> None:
    """A file that is written whole (``pull``, ``score``, ``select``): not an input, not inside an
    input or model folder, not a folder, not replaced without ``--overwrite``, in a place that can be written."""
    path = Path(path)
    if is_stream(path):
        return
    check_not_input(path, inputs, option)
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give a file name for {option}")
    if path.exists() and not overwrite:
        raise UserError(f"{path}: exists; pass --overwrite to replace it, or give another {option}")
    check_writable(path.parent)


NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # a full disk, a full quota, a file over the size limit


def no_space(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or quota, or file size limit) ran out: an OSError, or an error of
    a writer in another language that names the OS error (safetensors: "... (os error 28)")."""
    return space_errno(exc) in NO_SPACE


def space_errno(exc: BaseException) -> int | None:
    if isinstance(exc, OSError):
        return exc.errno
    if found := re.search(r"\(os error (\d+)\)", str(exc)):
        return int(found.group(1))
    return errno.ENOSPC if "No space left on device" in str(exc) else None


def check_free_space(folder: str | Path, needed: int, what: str) -> None:
    """Refuse, before long work, to start what cannot be written: ``needed`` bytes under ``folder``."""
    existing = next(p for p in (Path(folder).resolve(), *Path(folder).resolve().parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if free < needed:
        raise UserError(f"{folder}: {free / 1e6:,.1f} MB free, and {what} needs about {needed / 1e6:,.1f} MB; "
                        "free some space, or give an --output-dir on another disk")


def no_space_error(path: str | Path | None, exc: BaseException, written: int | None = None, needed: int | None = None,
                   cleaned: bool = True) -> UserError:
    """The one line for a write that ran out of room: the path, what was written or needed, what to do."""
    reason = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "the disk quota is used up",
              errno.EFBIG: "the file is larger than this file system allows"}[space_errno(exc)]
    amounts = [f"{n / 1e6:,.1f} MB {what}" for n, what in ((written, "written"), (needed, "needed")) if n]
    existing = next((p for p in (Path(path), *Path(path).parents) if p.exists()), None) if path else None
    if existing is not None and not is_stream(existing):  # /dev/full's "free space" would be another device's
        amounts.append(f"{shutil.disk_usage(existing).free / 1e6:,.1f} MB free")
    return UserError(f"{path or 'writing'}: {reason}{' (' + ', '.join(amounts) + ')' if amounts else ''}; "
                     f"{'nothing was left half-written: ' if cleaned else ''}free some space, or write somewhere else, and run again")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def remove_stale_staging(path: str | Path) -> None:
    """Remove what a killed run left beside ``path`` while writing it whole: ``.NAME.tmp-PID`` (a file
    or a model folder being written) and ``.NAME.old-PID`` (the previous model, kept until the new
    one was in place), when process PID is gone. When ``path`` is missing and both are there, a kill
    came between the two renames and they hold the only copies: they are left alone."""
    path = Path(path)
    if not path.parent.is_dir():
        return
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(tmp|old)-(\d+)")
    stale = [(entry, match) for entry in path.parent.iterdir()
             if (match := pattern.fullmatch(entry.name)) and not _alive(int(match.group(2)))]
    olds = {match.group(2) for _, match in stale if match.group(1) == "old"}
    for entry, match in stale:
        if not path.exists() and (match.group(1) == "old" or match.group(2) in olds):
            log.warning("warning: %s is missing and %s holds a copy of it, left by an interrupted run; "
                        "move it back to %s", path, entry, path)
        else:
            size = sum(f.stat().st_size for f in entry.rglob("*") if f.is_file()) if entry.is_dir() else entry.stat().st_size
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
            log.info("note: removed %s (%s MB), left by an interrupted run (process %s) while it wrote %s",
                     entry, f"{size / 1e6:,.1f}", match.group(2), path)


def remove_stale_files(folder: Path, suffix: str) -> None:
    """One sweep of ``folder`` for the staging files (``.NAME.tmp-PID``, NAME ending in ``suffix``) of
    runs that are gone, as a killed run writing many files there leaves them."""
    if not folder.is_dir():
        return
    pattern = re.compile(rf"\.(.+{re.escape(suffix)})\.tmp-(\d+)")
    for entry in folder.iterdir():
        match = pattern.fullmatch(entry.name)
        if match and entry.is_file() and not _alive(int(match.group(2))):
            entry.unlink()
            log.info("note: removed %s, left by an interrupted run (process %s) while it wrote %s",
                     entry, match.group(2), folder / match.group(1))


def write_whole(path: str | Path, text: str) -> None:
    """Write ``text`` to a sibling, then rename it into place: the file is never seen half-written. A
    full disk is one line, and leaves the old file (if any) as it was and no staging file."""
    data = text.encode("utf-8")
    try:
        replace_whole(path, data)
    except Exception as exc:
        if no_space(exc):
            raise no_space_error(path, exc, needed=len(data)) from None
        raise


def replace_whole(path: str | Path, data: bytes, clean: bool = True) -> None:
    """:func:`write_whole` for a writer that handles a full disk itself (the OSError comes through).
    ``clean=False`` skips looking for a killed run's staging beside ``path`` (a listing of its folder):
    a writer of many files in one folder sweeps once instead (:func:`remove_stale_files`)."""
    path = Path(path)
    if is_stream(path):
        with open(path, "wb") as f:
            f.write(data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if clean:
        remove_stale_staging(path)
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        staging.write_bytes(data)
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)  # a full disk or a kill leaves no half-written staging file
        raise


def write_directory_whole(directory: str | Path, fill) -> None:
    """Have ``fill(staging)`` write a new directory beside ``directory``, then swap it in with renames:
    the directory is never seen half-written, and its previous contents (checkpoints included) are
    removed only after the new one is in place."""
    directory = Path(directory)
    staging = _staged(directory, fill)
    previous = directory.with_name(f".{directory.name}.old-{os.getpid()}")
    if directory.exists():
        os.rename(directory, previous)
    os.rename(staging, directory)
    shutil.rmtree(previous, ignore_errors=True)


def write_files_into(folder: str | Path, fill) -> list[str]:
    """Have ``fill(staging)`` write files into a new folder beside ``folder``, then move each into
    ``folder`` (created if need be); other files there stay. A full disk or a failure leaves
    ``folder`` as it was. Returns the names of the files moved in."""
    folder = Path(folder)
    staging = _staged(folder, fill)
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in staging.iterdir())
    for name in names:
        os.replace(staging / name, folder / name)  # renames on one disk: they need no room
    shutil.rmtree(staging, ignore_errors=True)
    return names


def _staged(target: Path, fill) -> Path:
    """The hidden sibling of ``target`` that ``fill`` wrote; on any failure it is removed, and a full
    disk is one line naming ``target``."""
    remove_stale_staging(target)
    staging = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        fill(staging)
    except BaseException as exc:
        written = sum(f.stat().st_size for f in staging.rglob("*") if f.is_file()) if staging.is_dir() else 0
        shutil.rmtree(staging, ignore_errors=True)
        if no_space(exc):
            raise no_space_error(target, exc, written=written) from None
        raise
    return staging


def check_report_output(directory: str | Path, inputs: Iterable[str | Path]) -> None:
    """A report folder: not an input, not a file, and writable; checked before the evaluation runs."""
    directory = Path(directory)
    check_not_input(directory, inputs, "--output-dir")
    if directory.exists() and not directory.is_dir():
        raise UserError(f"{directory}: is a file; give a folder for the report (--output-dir)")
    if model_folder_above(directory / "report.json") == directory.resolve():
        raise UserError(f"{directory}: is a model folder; writing the report there would mix it with the model. "
                        "Give another --output-dir")
    foreign = _foreign_report(directory)
    if foreign:
        raise UserError(f"{directory / foreign}: was not written by arabic-ner evaluate, and the report would replace it; "
                        "give another --output-dir (an earlier report of evaluate is replaced)")
    check_writable(directory)
    check_free_space(directory, REPORT_BYTES, "the report (JSON, Markdown, the errors and three plots)")


REPORT_FILES = ("report.json", "report.md", "errors.jsonl", "scores_per_type.png", "confusion.png", "errors_by_kind.png")


def _foreign_report(directory: Path) -> str | None:
    """The name of a file in ``directory`` that a report would replace but evaluate did not write:
    a report.json that is not an evaluation report, or report files without one."""
    present = [name for name in REPORT_FILES if (directory / name).exists()]
    if not present:
        return None
    try:
        import json

        report = json.loads((directory / "report.json").read_text(encoding="utf-8"))
        ours = isinstance(report, dict) and "seqeval" in report
    except (OSError, ValueError):
        ours = False
    return None if ours else ("report.json" if "report.json" in present else present[0])


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
