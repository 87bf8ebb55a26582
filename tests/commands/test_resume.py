"""Nothing lost: interrupted batch runs and training runs resume, and bad documents never stop a batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from arabic_ner.data.labelstudio_json import labelstudio_task

from helpers import ARABIC_NER, ROOT, killed_at_first_checkpoint, marked, run_command, sets, tiny_overrides, write_ls

pytestmark = pytest.mark.slow


def small_corpus(n: int = 6):
    return [marked(f"قصف ⟦ORG|التحالف⟧ مواقع ل⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧ يوم {i} و⟦COUNT|{i + 2}⟧ طائرات", f"d{i}") for i in range(n)]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    work = tmp_path_factory.mktemp("resume")
    gold = write_ls(work / "gold.json", [labelstudio_task(d) | {"id": i} for i, d in enumerate(small_corpus())])
    result = run_command(
        "train", "--config", "configs/tiny.yaml", "--train", str(gold), "--output-dir", str(work / "model"),
        *sets(*tiny_overrides(num_train_epochs=2)),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return work / "model"


def many_documents(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"doc-{i}", "text": f"قصف التحالف مواقع لداعش في الموصل رقم {i} " * (1 + i % 5)}, ensure_ascii=False) + "\n")
    return path


def start_predict(model_dir, source, output, *extra) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [str(ARABIC_NER), "predict", "--model", str(model_dir), "--input", str(source), "--output", str(output), "--batch-size", "1", *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for_lines(path: Path, n: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            return
        assert process.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError(f"{path} did not reach {n} lines")


def ids_in(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_killed_run_resumes_with_every_document_once_in_order(model_dir, tmp_path):
    source = many_documents(tmp_path / "in.jsonl", 600)
    reference = tmp_path / "reference.jsonl"
    assert run_command("predict", "--model", str(model_dir), "--input", str(source), "--output", str(reference)).returncode == 0

    output = tmp_path / "out.jsonl"
    process = start_predict(model_dir, source, output)
    wait_for_lines(output, 100, process)
    process.kill()  # as a power cut would: no chance to flush or clean up
    process.wait()
    assert 0 < len(output.read_text(encoding="utf-8").splitlines()) < 600
    with open(output, "ab") as f:
        f.write(b'{"id": "doc-9')  # and a half-written last line

    result = run_command("predict", "--model", str(model_dir), "--input", str(source), "--output", str(output), "--resume")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resuming after" in result.stderr
    assert ids_in(output) == [f"doc-{i}" for i in range(600)]
    assert output.read_text(encoding="utf-8") == reference.read_text(encoding="utf-8")


def test_ctrl_c_stops_after_the_current_batch_with_the_output_flushed(model_dir, tmp_path):
    source = many_documents(tmp_path / "in.jsonl", 600)
    output = tmp_path / "out.jsonl"
    process = start_predict(model_dir, source, output)
    wait_for_lines(output, 30, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr[-2000:]
    assert "run again with --resume" in stderr and "Traceback" not in stderr
    done = ids_in(output)  # every line complete
    assert done == [f"doc-{i}" for i in range(len(done))] and len(done) < 600
    assert run_command("predict", "--model", str(model_dir), "--input", str(source), "--output", str(output), "--resume").returncode == 0
    assert ids_in(output) == [f"doc-{i}" for i in range(600)]


def test_resume_refuses_an_output_made_from_other_input(model_dir, tmp_path):
    output = tmp_path / "out.jsonl"
    from arabic_ner.model.loading import model_version

    record = {"id": "elsewhere", "entities": [], "model_version": model_version(model_dir), "text_sha256": "0123456789abcdef"}
    output.write_text(json.dumps(record) + "\n", encoding="utf-8")
    result = run_command("predict", "--model", str(model_dir), "--input", str(many_documents(tmp_path / "in.jsonl", 3)), "--output", str(output), "--resume")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "record 1 is 'elsewhere' but the input's document 1 is 'doc-0'" in result.stderr


def test_an_existing_output_needs_resume_or_overwrite(model_dir, tmp_path):
    output = tmp_path / "out.jsonl"
    output.write_text("{}\n")
    source = many_documents(tmp_path / "in.jsonl", 2)
    result = run_command("predict", "--model", str(model_dir), "--input", str(source), "--output", str(output))
    assert result.returncode == 2 and "exists; pass --resume" in result.stderr
    assert run_command("predict", "--model", str(model_dir), "--input", str(source), "--output", str(output), "--overwrite").returncode == 0
    assert ids_in(output) == ["doc-0", "doc-1"]


def test_one_bad_document_never_stops_the_batch(model_dir, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("قصف التحالف مواقع لداعش في الموصل", encoding="utf-8")
    (folder / "b.txt").write_bytes("Beyrouth, café: rapport".encode("latin-1"))
    (folder / "c.txt").write_text("   \n", encoding="utf-8")
    (folder / "d.txt").write_text("وسيطر التحالف على الرقة", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    result = run_command("predict", "--model", str(model_dir), "--input", str(folder), "--output", str(output))
    assert result.returncode == 1  # something failed
    assert "2 tagged, 1 empty, 1 failed" in result.stderr and "Traceback" not in result.stderr
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["a", "b", "c", "d"]
    assert "not UTF-8" in records[1]["error"] and records[1]["entities"] == []
    assert "error" not in records[0] and "error" not in records[2] and records[2]["entities"] == []


def test_a_clean_run_exits_zero(model_dir, tmp_path):
    result = run_command("predict", "--model", str(model_dir), "--input", str(ROOT / "data" / "raw"), "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 0 and "5 tagged, 0 empty, 0 failed" in result.stderr


# ---------------------------------------------------------------- training

def train_args(gold: Path, output: Path, epochs: int, *extra: str) -> list[str]:
    return [
        "train", "--config", "configs/tiny.yaml", "--train", str(gold), "--output-dir", str(output),
        *sets(*tiny_overrides(num_train_epochs=epochs, per_device_train_batch_size=2)), *extra,
    ]


def weights(model: Path) -> dict:
    from safetensors.numpy import load_file

    return load_file(str(model / "model.safetensors"))


@pytest.fixture(scope="module")
def gold_file(tmp_path_factory):
    work = tmp_path_factory.mktemp("gold")
    return write_ls(work / "gold.json", [labelstudio_task(d) | {"id": i} for i, d in enumerate(small_corpus(12))])


def test_a_killed_training_run_resumes_to_the_same_model(gold_file, tmp_path):
    epochs = 8
    reference = tmp_path / "reference"
    assert run_command(*train_args(gold_file, reference, epochs)).returncode == 0

    output = tmp_path / "model"
    killed_at_first_checkpoint(train_args(gold_file, output, epochs), output)
    assert not (output / "model.safetensors").exists()  # the final directory is never half-written

    refused = run_command(*train_args(gold_file, output, epochs))
    assert refused.returncode == 2 and "holds checkpoints of an interrupted run" in refused.stderr

    changed = run_command(*train_args(gold_file, output, epochs, "--resume", "--set", "learning_rate=0.5"))
    assert changed.returncode == 2 and "the config differs from the interrupted run's" in changed.stderr
    assert "learning_rate" in changed.stderr

    resumed = run_command(*train_args(gold_file, output, epochs, "--resume"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from" in resumed.stderr
    assert not (output / "checkpoints").exists()
    assert not list(tmp_path.glob(".model.*"))  # no staging or previous directories left behind
    a, b = weights(reference), weights(output)
    assert a.keys() == b.keys()
    assert all((a[k] == b[k]).all() for k in a), "the resumed model differs from the uninterrupted one"
    ref_metrics = json.loads((reference / "metrics.json").read_text())
    out_metrics = json.loads((output / "metrics.json").read_text())
    assert ref_metrics["dev"]["spans"] == out_metrics["dev"]["spans"]


def test_resume_without_checkpoints_is_an_error(gold_file, tmp_path):
    result = run_command(*train_args(gold_file, tmp_path / "m", 1, "--resume"))
    assert result.returncode == 2 and "has no complete checkpoint to continue from" in result.stderr


def test_same_seed_and_data_give_the_same_metrics_on_cpu(gold_file, tmp_path):
    for name in ("a", "b"):
        assert run_command(*train_args(gold_file, tmp_path / name, 2)).returncode == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert a["dev"] == b["dev"]
    assert a["train"]["train_loss"] == b["train"]["train_loss"]


def test_pickle_weights_load_only_with_allow_pickle(model_dir, tmp_path):
    import shutil

    import torch

    pickled = tmp_path / "pickled"
    shutil.copytree(model_dir, pickled)
    from safetensors.torch import load_file

    torch.save(load_file(str(pickled / "model.safetensors")), pickled / "pytorch_model.bin")
    (pickled / "model.safetensors").unlink()
    source = many_documents(tmp_path / "in.jsonl", 2)
    refused = run_command("predict", "--model", str(pickled), "--input", str(source), "--output", str(tmp_path / "a.jsonl"))
    assert refused.returncode == 2 and "has only pickle weights" in refused.stderr and "--allow-pickle" in refused.stderr
    allowed = run_command("predict", "--model", str(pickled), "--input", str(source), "--output", str(tmp_path / "b.jsonl"), "--allow-pickle")
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert ids_in(tmp_path / "b.jsonl") == ["doc-0", "doc-1"]
