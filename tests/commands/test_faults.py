"""Faults and hostile input (issue 28's classes that live in files, staging, the backend's options,
streamed JSON and training's messages): each case checks its one line, its exit status, and that
nothing was lost or left behind."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arabic_ner.core.problems import UserError
from arabic_ner.data.files import remove_stale_staging, write_directory_whole, write_whole

from helpers import ARABIC_NER, ROOT, marked, run_command, sets, tiny_overrides, write_ls


def listing(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) with the SHA-256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line(stderr: str) -> str:
    chatter = ("tagging", "precision:", "Loading weights", "\rLoading weights", "dev split by document", "epoch ", "note:")
    lines = [x for x in stderr.splitlines() if x.strip() and not x.lstrip("\r").startswith(chatter)]
    assert len(lines) == 1, stderr
    return lines[0]


def dead_pid() -> int:
    """The id of a process that has ended (and was reaped), as a killed run's would be."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# ---------------------------------------------------------------- a full disk, injected (always runs)

def test_a_full_disk_in_write_whole_is_one_line_and_leaves_the_old_file_and_no_staging(tmp_path, monkeypatch):
    target = tmp_path / "ranking.jsonl"
    target.write_text("the earlier ranking\n", encoding="utf-8")
    before = listing(tmp_path)

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(UserError) as refused:
        write_whole(target, "x" * 5_000_000)
    (line,) = refused.value.lines
    assert line.startswith(f"{target}: no space left on the device (5.0 MB needed, ") and "MB free" in line
    monkeypatch.undo()
    assert listing(tmp_path) == before


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "no space left"), (errno.EDQUOT, "quota"), (errno.EFBIG, "larger than")])
def test_a_full_disk_while_a_model_is_written_keeps_the_old_model_and_removes_the_staging(tmp_path, code, words):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}", encoding="utf-8")
    before = listing(tmp_path)

    def fill(staging: Path) -> None:
        staging.mkdir()
        (staging / "model.safetensors").write_bytes(b"\0" * 1000)
        raise OSError(code, os.strerror(code), str(staging / "model.safetensors"))

    with pytest.raises(UserError) as refused:
        write_directory_whole(model, fill)
    (line,) = refused.value.lines
    assert line.startswith(f"{model}: ") and words in line and "nothing was left half-written" in line
    assert listing(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["model"]


# ---------------------------------------------------------------- a full disk, for real (a small tmpfs)

@pytest.fixture
def full_disk(tmp_path):
    """A 4 MB tmpfs with about 16 KB left free; skipped where mounting is impossible (not root, no tmpfs)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'})")
    try:
        filler = mount / "filler"
        with open(filler, "wb") as f:
            f.write(b"\0" * (4 * 1024 * 1024 - 16 * 1024))
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_select_on_a_full_disk_is_one_line_and_leaves_nothing(one_epoch_model, full_disk, tmp_path):
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps({"id": f"d{i}", "text": "قصف التحالف مواقع لداعش في الموصل " * 300}, ensure_ascii=False) + "\n"
                            for i in range(40)), encoding="utf-8")
    before = listing(full_disk)
    result = run_command("select", "--model", str(one_epoch_model), "--input", str(pool), "--output", str(full_disk / "ranking.jsonl"))
    # the ranking itself is small: it fits, so the command works
    assert result.returncode == 0, result.stderr
    (full_disk / "ranking.jsonl").unlink()
    assert listing(full_disk) == before


def small_export(folder: Path) -> Path:
    docs = [marked(f"قصف ⟦ORG|التحالف⟧ مواقع ل⟦ORG|داعش⟧ رقم {i}", f"d{i}") for i in range(4)]
    return write_ls(folder / "g.json", [{"id": i, "data": {"text": d.text, "doc_id": d.id}, "annotations": [{"result": [
        {"from_name": "label", "to_name": "text", "type": "labels", "value": {"start": s.start, "end": s.end, "labels": [s.label]}}
        for s in d.spans]}]} for i, d in enumerate(docs)])


def test_training_checks_for_room_before_it_starts(full_disk, tmp_path):
    before = listing(full_disk)
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(small_export(tmp_path)),
                         "--output-dir", str(full_disk / "model"), *sets(*tiny_overrides(num_train_epochs=1)))
    assert result.returncode == 2, result.stderr
    line = one_line(result.stderr)
    assert line.startswith(f"{full_disk / 'model'}: 0.0 MB free, and training (a ") and "needs about" in line
    assert listing(full_disk) == before


def test_a_disk_that_fills_during_training_is_one_line_and_leaves_no_partial_checkpoint(full_disk, tmp_path):
    """Room for the check at the start (about four times the weights) but not for every checkpoint: the
    checkpoint being written when the disk fills is removed, the complete ones are kept for --resume."""
    filler = full_disk / "filler"
    with open(filler, "r+b") as f:
        f.truncate(filler.stat().st_size - 1_300_000)  # about 1.3 MB free: the 0.3 MB model's check needs 1.2
    output = full_disk / "model"
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(small_export(tmp_path)),
                         "--output-dir", str(output), *sets(*tiny_overrides(num_train_epochs=4)))
    assert result.returncode == 2, result.stderr
    line = one_line(result.stderr)
    assert line.startswith(f"{output / 'checkpoints'}: no space left on the device") and "Traceback" not in result.stderr
    checkpoints = sorted((output / "checkpoints").glob("checkpoint-*")) if (output / "checkpoints").is_dir() else []
    assert all((c / "trainer_state.json").is_file() for c in checkpoints), checkpoints
    if checkpoints:
        assert "are kept: --resume continues from the last" in line
    assert not [p for p in full_disk.iterdir() if p.name.startswith(".")]  # no staging folder


@pytest.mark.parametrize("name, fmt", [("out.jsonl", "jsonl"), ("out.json", "labelstudio"), ("out.conll", "conll"), ("pages", "html")])
def test_predict_on_a_full_disk_keeps_only_complete_records_and_resumes(one_epoch_model, full_disk, name, fmt):
    """The disk fills part-way: the output is cut back to its last complete record (or removed when it
    has none), the line says how many are kept, and --resume finishes it once there is room."""
    output = full_disk / name
    result = run_command("predict", "--model", str(one_epoch_model), "--input", str(ROOT / "data" / "raw"), "--output", str(output),
                         "--format", fmt)
    assert result.returncode == 2, result.stderr
    line = one_line(result.stderr.replace("\r", "\n"))
    assert "no space left on the device" in line and "Traceback" not in result.stderr
    assert not [p for p in full_disk.rglob(".*")]  # no staging file
    if "nothing was written" in line:
        assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]
    else:
        assert line.endswith("are kept: free some space and run again with --resume")
    (full_disk / "filler").unlink()
    resumed = run_command("predict", "--model", str(one_epoch_model), "--input", str(ROOT / "data" / "raw"), "--output", str(output),
                          "--format", fmt, "--resume" if output.exists() else "--overwrite")
    assert resumed.returncode == 0, resumed.stderr
    assert "5 tagged" in resumed.stderr or "resuming after" in resumed.stderr


def test_evaluate_on_a_full_disk_is_refused_before_the_model_loads(one_epoch_model, full_disk):
    result = run_command("evaluate", "--model", str(one_epoch_model), "--data", "annotations/corpus.json",
                         "--output-dir", str(full_disk / "report"))
    assert result.returncode == 2
    assert one_line(result.stderr).startswith(f"{full_disk / 'report'}: 0.0 MB free, and the report")
    assert "precision:" not in result.stderr  # the model never loaded
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


def test_a_report_that_does_not_fit_leaves_the_old_report_as_it_was(full_disk, tmp_path):
    """Room for the check, but the disk fills while the report is written: the old report stays whole."""
    from arabic_ner.core.problems import Problems
    from arabic_ner.evaluation.scoring import score_conll, write_report

    conll = tmp_path / "p.conll"
    conll.write_text("".join(f"w{i} B-LOC B-LOC\nx{i} O B-ORG\n\n" for i in range(3000)), encoding="utf-8")
    report = score_conll(conll, Problems())
    out = full_disk / "report"
    out.mkdir()
    (out / "report.md").write_text("the earlier report\n", encoding="utf-8")
    before = listing(full_disk)
    with pytest.raises(UserError) as refused:
        write_report(report, [{"kind": "missed", "gold": "x" * 4000}] * 2000, out, "title", plots=True)
    assert refused.value.lines[0].startswith(f"{out}: no space left on the device (")
    assert listing(full_disk) == before and not [p for p in full_disk.iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------- staging left by a killed run

def test_a_stale_staging_folder_beside_a_model_is_removed_with_a_note(tmp_path, caplog):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}", encoding="utf-8")
    pid = dead_pid()
    stale = tmp_path / f".model.tmp-{pid}"
    (stale / "checkpoints").mkdir(parents=True)
    (stale / "model.safetensors").write_bytes(b"\0" * 2_000_000)
    old = tmp_path / f".model.old-{pid}"
    old.mkdir()
    live = tmp_path / f".model.tmp-{os.getpid()}"  # a run still going: left alone
    live.mkdir()
    with caplog.at_level("INFO", logger="arabic_ner"):
        remove_stale_staging(model)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["model", live.name])
    assert f"removed {stale} (2.0 MB), left by an interrupted run (process {pid})" in caplog.text


def test_when_the_model_is_missing_its_staged_copies_are_kept(tmp_path, caplog):
    pid = dead_pid()
    for kind in ("tmp", "old"):
        (tmp_path / f".model.{kind}-{pid}").mkdir()
    with caplog.at_level("INFO", logger="arabic_ner"):
        remove_stale_staging(tmp_path / "model")
    assert len(list(tmp_path.iterdir())) == 2 and "holds a copy of it" in caplog.text


def test_a_killed_final_save_is_cleaned_by_the_next_run_on_the_same_output(one_epoch_model, tmp_path):
    """What a kill during the final save leaves (the model's staging folder, full size) is removed,
    with a note, by the next training into that output directory."""
    output = tmp_path / "tiny"
    shutil.copytree(one_epoch_model, output)
    staging = tmp_path / f".tiny.tmp-{dead_pid()}"
    shutil.copytree(one_epoch_model, staging)
    result = run_command("train", "--config", "configs/tiny.yaml", "--output-dir", str(output), "--overwrite",
                         *sets(*tiny_overrides(**{"num_train_epochs": 1, "scratch.num_hidden_layers": 1})))
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"note: removed {staging}" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]


def test_a_kill_during_the_final_save_then_a_rerun(tmp_path):
    """Killed (SIGKILL, as a power cut) while the final model is being written beside the output:
    --resume finishes the model and removes the staging folder the killed run left, with a note."""
    output = tmp_path / "m"
    args = ["train", "--config", "configs/tiny.yaml", "--train", str(small_export(tmp_path)), "--output-dir", str(output),
            *sets(*tiny_overrides(num_train_epochs=2))]
    process = subprocess.Popen([str(ARABIC_NER), *args], cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob(".m.tmp-*/config.json")):  # the final save has begun (the card and plots come after)
        if process.poll() is not None:
            pytest.skip("the run finished before the kill could land in its final save")
        assert time.monotonic() < deadline
        time.sleep(0.002)
    process.kill()
    process.wait()
    (staging,) = tmp_path.glob(".m.tmp-*")
    assert not (output / "config.json").exists() and list((output / "checkpoints").glob("checkpoint-*"))
    result = run_command(*args, "--resume")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"note: removed {staging}" in result.stderr and (output / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.json", "m"]


# ---------------------------------------------------------------- outputs

def test_select_never_writes_over_its_input_or_into_a_model(one_epoch_model, tmp_path):
    pool = tmp_path / "pool.jsonl"
    pool.write_text(json.dumps({"id": "a", "text": "قصف التحالف مواقع لداعش"}, ensure_ascii=False) + "\n", encoding="utf-8")
    model = tmp_path / "model"
    shutil.copytree(one_epoch_model, model)
    before = listing(tmp_path)
    for output, says in ((pool, "is the input"), (model / "config.json", "is inside the input folder"),
                         (model / "ranking.jsonl", "is inside the input folder")):
        result = run_command("select", "--model", str(model), "--input", str(pool), "--output", str(output), "--overwrite")
        assert result.returncode == 2 and says in one_line(result.stderr), result.stderr
    other = tmp_path / "elsewhere"
    shutil.copytree(one_epoch_model, other)
    result = run_command("select", "--model", str(model), "--input", str(pool), "--output", str(other / "ranking.jsonl"))
    assert result.returncode == 2 and f"is inside the model folder {other}" in one_line(result.stderr)
    shutil.rmtree(other)
    assert listing(tmp_path) == before


def test_model_weights_follow_the_umask(one_epoch_model):
    mask = os.umask(0)
    os.umask(mask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in one_epoch_model.iterdir() if p.is_file()}
    assert modes["model.safetensors"] == modes["config.json"] == 0o666 & ~mask


# ---------------------------------------------------------------- streamed task lists

def test_a_lone_surrogate_in_a_streamed_task_list_is_an_error_record_and_moves_no_offset(one_epoch_model, tmp_path):
    tasks = tmp_path / "tasks.json"
    tasks.write_text('[{"id": 1, "data": {"text": "\\ud800\\u062a\\u0642\\u0635\\u0641 \\u062f\\u0627\\u0639\\u0634"}},'
                     ' {"id": 2, "data": {"text": "\\ud83d\\ude00 \\u0642\\u0635\\u0641 \\u062f\\u0627\\u0639\\u0634"}}]', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run_command("predict", "--model", str(one_epoch_model), "--input", str(tasks), "--output", str(out))
    assert result.returncode == 1, result.stderr  # one document failed
    first, second = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
    assert first["id"] == "1" and "lone UTF-16 surrogate ('\\ud800' at character 0)" in first["error"]
    assert second["id"] == "2" and "error" not in second
    text = "😀 قصف داعش"
    assert all(text[e["start"]:e["end"]] == e["text"] for e in second["entities"])
    assert "1 failed" in result.stderr


def test_a_utf8_bom_in_a_label_studio_export_is_read(tmp_path):
    doc = marked("قصف ل⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧", "bom")
    plain = write_ls(tmp_path / "plain.json", [{"id": 1, "data": {"text": doc.text}, "annotations": [{"result": [
        {"from_name": "label", "to_name": "text", "type": "labels", "value": {"start": s.start, "end": s.end, "labels": [s.label]}}
        for s in doc.spans]}]}])
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    checks = [run_command("train", "--config", "configs/tiny.yaml", "--train", str(path), "--check") for path in (plain, bom)]
    assert [c.returncode for c in checks] == [0, 0], checks[1].stderr
    assert checks[0].stdout.replace("plain.json", "X") == checks[1].stdout.replace("bom.json", "X")


# ---------------------------------------------------------------- training's messages

def test_resume_over_a_finished_model_says_to_overwrite(one_epoch_model, tmp_path):
    output = tmp_path / "tiny"
    shutil.copytree(one_epoch_model, output)
    before = listing(output)
    result = run_command("train", "--config", "configs/tiny.yaml", "--output-dir", str(output), "--resume",
                         *sets(*tiny_overrides(**{"num_train_epochs": 1, "scratch.num_hidden_layers": 1})))
    assert result.returncode == 2
    assert one_line(result.stderr) == (f"--resume: {output} holds a finished model, so there is nothing to continue; "
                                       "pass --overwrite to train it again, or give another --output-dir")
    assert listing(output) == before


def test_ctrl_c_in_training_says_how_to_resume(tmp_path):
    output = tmp_path / "m"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([str(ARABIC_NER), "train", "--config", "configs/tiny.yaml", "--output-dir", str(output),
                                *sets(*tiny_overrides(num_train_epochs=200))], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               # as in a terminal: a shell that started the tests in the background may have
                               # left SIGINT ignored, and a child that inherits that never sees Ctrl-C
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while not list((output / "checkpoints").glob("checkpoint-*/trainer_state.json")):
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before it could be interrupted"
        time.sleep(0.05)
    time.sleep(0.5)  # let the checkpoint finish writing its last files
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    last = [line for line in stderr.splitlines() if line.strip()][-1]
    assert last.startswith("interrupted: ") and f"in {output / 'checkpoints'}; run the same command again with --resume" in last


# ---------------------------------------------------------------- the backend's options, checked before the model loads

@pytest.mark.parametrize("option, says", [
    (["--max-request-mb", "nan"], "argument --max-request-mb: nan must be a finite number above 0"),
    (["--max-request-mb", "-1"], "argument --max-request-mb: -1 must be a finite number above 0"),
    (["--max-request-mb", "inf"], "argument --max-request-mb: inf must be a finite number above 0"),
    (["--port", "70000"], "argument --port: 70000 is not a port; ports go from 1 to 65535"),
    (["--port", "0"], "argument --port: 0 must be 1 or more"),
])
def test_impossible_backend_options_are_refused_at_once(tmp_path, option, says):
    started = time.monotonic()
    result = run_command("serve", "--model", str(tmp_path / "no-model"), *option, timeout=60)
    assert result.returncode == 2 and result.stderr.strip().endswith(says)
    assert time.monotonic() - started < 30


def test_a_taken_port_is_one_line_before_the_model_loads(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_command("serve", "--model", str(tmp_path / "no-model"), "--port", str(port), timeout=60)
    assert result.returncode == 2
    assert one_line(result.stderr).startswith(f"--host 127.0.0.1 --port {port}: cannot listen there (Address already in use)")


# ---------------------------------------------------------------- cases from this issue's own probe

def test_a_file_name_that_is_not_utf8_is_an_error_record_and_the_run_goes_on(one_epoch_model, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("قصف التحالف مواقع لداعش", encoding="utf-8")
    (docs / os.fsdecode(b"bad\xff.txt")).write_text("قصف", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    result = run_command("predict", "--model", str(one_epoch_model), "--input", str(docs), "--output", str(out))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    bad, good = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
    assert bad["id"] == "bad\\xff" and bad["error"].endswith("bad\\xff.txt: the file name is not UTF-8, so it cannot be the document's id; rename the file")
    assert good["id"] == "good" and "error" not in good


def test_an_id_of_thousands_of_digits_is_an_error_record(one_epoch_model, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": ' + "9" * 5000 + ', "text": "بغداد"}\n{"id": "ok", "text": "بغداد"}\n', encoding="utf-8")
    out = tmp_path / "o.jsonl"
    result = run_command("predict", "--model", str(one_epoch_model), "--input", str(source), "--output", str(out))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    first, second = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
    assert first["error"] == f"{source}: line 1: a value cannot be read (a number of over 4,300 digits, more than Python reads); fix the line"
    assert second["id"] == "ok" and "error" not in second


@pytest.mark.parametrize("setting, says", [
    ("scratch.hidden_size=" + "1" + "0" * 40, "is more than a model from scratch can have (at most 10,000,000)"),
    ("scratch..hidden_size=64", "is not a key (an empty part between dots); write KEY=VALUE or SECTION.KEY=VALUE"),
])
def test_absurd_settings_are_one_line(setting, says):
    result = run_command("train", "--config", "configs/tiny.yaml", "--check", "--set", setting)
    assert result.returncode == 2 and says in one_line(result.stderr) and "Traceback" not in result.stderr


def test_a_path_the_system_refuses_is_one_line(tmp_path):
    config = tmp_path / "long.yaml"
    config.write_text((ROOT / "configs" / "tiny.yaml").read_text(encoding="utf-8").replace("output_dir: models/tiny", "output_dir: " + "x" * 100_000),
                      encoding="utf-8")
    result = run_command("train", "--config", str(config), *sets(*tiny_overrides(num_train_epochs=1)), cwd=tmp_path)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith(str(tmp_path)) and line.endswith(f"(100,{len(str(tmp_path)) + 1:03d} characters): File name too long; check the path given")
    assert len(line) < 400


def test_pretraining_on_texts_without_words_is_one_line(tmp_path):
    texts = tmp_path / "w.txt"
    texts.write_text(" \n\u00a0\u200f\n", encoding="utf-8")
    result = run_command("pretrain", "--config", "configs/tiny-mlm.yaml", "--texts", str(texts), "--output-dir", str(tmp_path / "out"))
    assert result.returncode == 2
    assert one_line(result.stderr) == f"{texts}: the 1 text(s) hold no words (only spaces and invisible marks); give articles to pretrain on"
    assert not (tmp_path / "out").exists()


def test_a_damaged_json_file_in_a_model_is_named(one_epoch_model, tmp_path):
    model = tmp_path / "m"
    shutil.copytree(one_epoch_model, model)
    (model / "tokenizer_config.json").write_text("not json", encoding="utf-8")
    result = run_command("predict", "--model", str(model), "--input", str(ROOT / "data" / "raw"), "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 2
    assert one_line(result.stderr) == (f"{model}: not a usable Hugging Face model directory: its tokenizer_config.json is not valid JSON; "
                                       "copy the file again from where the model came from")


def test_evaluate_never_writes_into_a_model_or_over_a_foreign_report(one_epoch_model, tmp_path):
    model = tmp_path / "m"
    shutil.copytree(one_epoch_model, model)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.json").write_text('{"mine": 1}', encoding="utf-8")
    before = listing(tmp_path)
    for out, says in ((model, f"{model}: is the input {model}"), (mine, f"{mine / 'report.json'}: was not written by arabic-ner evaluate")):
        result = run_command("evaluate", "--model", str(model), "--data", "annotations/corpus.json", "--output-dir", str(out))
        assert result.returncode == 2 and one_line(result.stderr).startswith(says), result.stderr
    assert listing(tmp_path) == before


@pytest.mark.parametrize("start", ["init_from", "model"])
def test_a_model_is_never_its_own_output(one_epoch_model, tmp_path, start):
    model = tmp_path / "m"
    shutil.copytree(one_epoch_model, model)
    before = listing(tmp_path)
    config = "configs/tiny.yaml" if start == "init_from" else "configs/camelbert-msa.yaml"
    extra = ["--set", "revision=main"] if start == "model" else []
    result = run_command("train", "--config", config, "--set", f"{start}={model}", *extra, "--output-dir", str(model), "--overwrite",
                         *sets(*tiny_overrides(num_train_epochs=1)))
    assert result.returncode == 2
    assert one_line(result.stderr) == f"{model}: is the input {model} (the model); writing there would destroy it. Give another --output-dir."
    assert listing(tmp_path) == before


def test_overwrite_starts_over_from_an_interrupted_run(tmp_path):
    from helpers import killed_at_first_checkpoint

    output = tmp_path / "m"
    args = ["train", "--config", "configs/tiny.yaml", "--train", str(small_export(tmp_path)), "--output-dir", str(output),
            *sets(*tiny_overrides(num_train_epochs=30))]
    killed_at_first_checkpoint(args, output)
    plain = run_command(*args[:-2], *sets(*tiny_overrides(num_train_epochs=1)))
    assert plain.returncode == 2 and "holds checkpoints of an interrupted run" in plain.stderr
    result = run_command(*args[:-2], *sets(*tiny_overrides(num_train_epochs=1)), "--overwrite")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"note: --overwrite: removed {output / 'checkpoints'}, the checkpoints of an earlier run; training starts over" in result.stderr
    assert (output / "model.safetensors").is_file()


def test_the_backend_checks_its_training_recipe_at_start(one_epoch_model, tmp_path):
    result = run_command("serve", "--model", str(one_epoch_model), "--set", "learning_rate", "--port", "1", timeout=120)
    assert result.returncode == 2
    assert one_line(result.stderr) == "--set 'learning_rate': expected key=value, e.g. --set num_train_epochs=3"


def test_select_counts_what_it_left_out_and_names_the_model_as_the_model(one_epoch_model, tmp_path):
    pool = tmp_path / "pool.jsonl"
    pool.write_text('{"id": "a", "text": "قصف داعش"}\n{"id": "b", "text": "\\ud800"}\nnot json\n', encoding="utf-8")
    result = run_command("select", "--model", str(one_epoch_model), "--input", str(pool), "--output", str(tmp_path / "r.jsonl"))
    assert result.returncode == 1
    assert f"1 document(s) ranked by random -> {tmp_path / 'r.jsonl'}; 2 left out because they could not be read" in result.stdout
    model = tmp_path / "m"
    shutil.copytree(one_epoch_model, model)
    inside = run_command("select", "--model", str(model), "--input", str(pool), "--output", str(model / "r.jsonl"))
    assert one_line(inside.stderr) == f"{model / 'r.jsonl'}: is inside the input folder {model} (the model); give an --output outside it"


def test_a_killed_html_runs_page_staging_is_swept_by_the_next_run(one_epoch_model, tmp_path):
    pages = tmp_path / "pages"
    args = ["predict", "--model", str(one_epoch_model), "--input", str(ROOT / "data" / "raw"), "--output", str(pages), "--format", "html"]
    assert run_command(*args).returncode == 0
    stale = pages / f".00001-x.html.tmp-{dead_pid()}"  # what a kill while a page was written leaves
    stale.write_text("half a page", encoding="utf-8")
    result = run_command(*args, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert f"note: removed {stale}, left by an interrupted run" in result.stderr
    assert not [p for p in pages.iterdir() if p.name.startswith(".")] and (pages / "index.html").is_file()
