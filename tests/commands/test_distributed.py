"""Scaling out with accelerate: predict.py sharded over 2 CPU processes (gloo) writes the same
output as one process, and train.py trains one model with DDP over 2 processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from arabic_ner.data.labelstudio_json import labelstudio_task

from helpers import ARABIC_NER, ROOT, marked, run_command, sets, tiny_overrides, write_ls

pytestmark = pytest.mark.slow

LAUNCH = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
          "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]


def launch(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([*LAUNCH, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def model_and_input(tmp_path_factory):
    work = tmp_path_factory.mktemp("dist")
    docs = [marked(f"قصف ⟦ORG|التحالف⟧ مواقع ل⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧ يوم {i}", f"d{i}") for i in range(6)]
    gold = write_ls(work / "gold.json", [labelstudio_task(d) | {"id": i} for i, d in enumerate(docs)])
    assert run_command("train", "--config", "configs/tiny.yaml", "--train", str(gold), "--output-dir", str(work / "model"),
                      *sets(*tiny_overrides(num_train_epochs=3))).returncode == 0
    source = work / "in.jsonl"
    with open(source, "w", encoding="utf-8") as f:  # several chunks of 256, lengths from 8 to 80 words
        for i in range(700):
            f.write(json.dumps({"id": f"doc-{i}", "text": f"قصف التحالف مواقع لداعش في الموصل رقم {i} " * (1 + i % 10)}, ensure_ascii=False) + "\n")
    return work, work / "model", source


def test_sharded_prediction_equals_one_process_line_for_line(model_and_input):
    work, model, source = model_and_input
    single, merged = work / "single.jsonl", work / "merged.jsonl"
    # Each launched process runs one thread (accelerate sets OMP_NUM_THREADS); so does the reference,
    # since a different thread count may change the last bit of a score.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}
    one = subprocess.run([str(ARABIC_NER), "predict", "--model", str(model), "--input", str(source), "--output", str(single)],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert one.returncode == 0, one.stderr[-2000:]
    two = launch("-m", "arabic_ner", "predict", "--model", str(model), "--input", str(source), "--output", str(merged))
    assert two.returncode == 0, two.stderr[-3000:]
    assert merged.read_text(encoding="utf-8").splitlines() == single.read_text(encoding="utf-8").splitlines()
    assert "700 tagged, 0 empty, 0 failed" in two.stderr
    assert not list(work.glob(".merged.jsonl.part*"))  # the parts are cleaned up


def test_sharded_prediction_refuses_an_existing_output_in_every_process(model_and_input):
    work, model, source = model_and_input
    existing = work / "existing.jsonl"
    existing.write_text('{"id": "x", "entities": []}\n')
    result = launch("-m", "arabic_ner", "predict", "--model", str(model), "--input", str(source), "--output", str(existing))
    assert result.returncode != 0
    # Each process refuses before loading anything; the launcher stops the other when one exits,
    # so one or both messages get printed.
    assert "existing.jsonl: exists; pass --resume" in result.stderr
    assert existing.read_text() == '{"id": "x", "entities": []}\n'


def test_what_runs_in_one_process_only_is_refused_under_accelerate_launch(model_and_input):
    work, model, source = model_and_input
    result = launch("-m", "arabic_ner", "predict", "--model", str(model), "--input", str(source), "--output", str(work / "r.jsonl"), "--resume")
    assert result.returncode != 0
    assert "--resume works in a single process; run predict.py without accelerate launch to resume" in result.stderr
    assert re.search(r"exitcode\s*: 2\b", result.stderr)  # the scripts' exit status for a user error, not a crash
    result = launch("train.py", "--config", "configs/tiny.yaml", "--cv", "2", "--output-dir", str(work / "cv"))
    assert result.returncode != 0
    assert "--cv runs in a single process; run train.py --cv without accelerate launch" in result.stderr
    assert re.search(r"exitcode\s*: 2\b", result.stderr)
    assert not (work / "cv").exists()


def test_ddp_training_over_two_processes_writes_one_model(tmp_path):
    docs = [marked(f"قصف ل⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧ رقم {i}", f"d{i}") for i in range(8)]
    gold = write_ls(tmp_path / "g.json", [labelstudio_task(d) | {"id": i} for i, d in enumerate(docs)])
    result = launch("train.py", "--config", "configs/tiny.yaml", "--train", str(gold), "--output-dir", str(tmp_path / "m"),
                    *sets(*tiny_overrides(num_train_epochs=2)))
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["train"]["processes"] == 2
    assert (tmp_path / "m" / "model.safetensors").is_file() and not (tmp_path / "m" / "checkpoints").exists()
    assert result.stdout.count("model saved to") == 1  # only the first process reports
