"""The package as people install it: the wheel built from this checkout, installed away from the
source tree (``pip install --no-deps --target``), and used from another folder through its
``arabic-ner`` command, as a user who ran ``pip install arabic-ner`` would. Nothing here reads the
checkout's ``src/``: the installed package must carry everything the commands need."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from arabic_ner.model.precision import cpu_has_native_bf16

from helpers import ROOT, marked, sets, tiny_overrides, write_ls
from labelstudio_helpers import annotate, connected_project, gold_documents, post, start_backend, stop, tasks_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict]:
    """The installed package's folder, and the environment that puts it (and not the checkout) on the path."""
    work = tmp_path_factory.mktemp("wheel")
    # --no-build-isolation: the build uses this venv's setuptools, so it needs no index (CI is offline)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(work / "dist"), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (work / "dist").glob("arabic_ner-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "arabic_ner/cli/train.py" in names and not any(n.startswith(("tests/", "train.py", "configs/")) for n in names)
    target = work / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    env = {**os.environ, "PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1"}
    where = subprocess.run([sys.executable, "-c", "import arabic_ner.cli.train as m, arabic_ner; print(arabic_ner.__file__); print(m.__file__)"],
                           env=env, cwd=work, capture_output=True, text=True, timeout=60)
    assert where.returncode == 0 and all(line.startswith(str(target)) for line in where.stdout.split()), where.stdout + where.stderr
    return target, env


def arabic_ner(installed, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    target, env = installed
    return subprocess.run([str(target / "bin" / "arabic-ner"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def user_folder(tmp_path_factory) -> Path:
    """A user's own folder, far from the checkout: a small Label Studio export and a config of their own."""
    folder = tmp_path_factory.mktemp("user")
    docs = [marked(f"قصف ⟦ORG|التحالف⟧ مواقع ل⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧ يوم {i}", f"d{i}") for i in range(6)]
    from arabic_ner.data.labelstudio_json import labelstudio_task

    write_ls(folder / "export.json", [labelstudio_task(d) | {"id": i} for i, d in enumerate(docs)])
    shutil.copy(ROOT / "configs" / "tiny.yaml", folder / "my-config.yaml")
    (folder / "articles").mkdir()
    (folder / "articles" / "a.txt").write_text("قصف التحالف مواقع لداعش في الموصل", encoding="utf-8")
    return folder


def test_the_installed_command_trains_predicts_and_evaluates_from_another_folder(installed, user_folder):
    trained = arabic_ner(installed, "train", "--config", "my-config.yaml", "--train", "export.json", "--output-dir", "model",
                         *sets(*tiny_overrides(num_train_epochs=2)), cwd=user_folder)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "model saved to model" in trained.stdout and (user_folder / "model" / "model.safetensors").is_file()
    assert "dev split by document" in trained.stderr  # the library's notes, printed by the installed command

    tagged = arabic_ner(installed, "predict", "--model", "model", "--input", "articles", "--output", "tagged.jsonl", cwd=user_folder)
    assert tagged.returncode == 0, tagged.stderr[-3000:]
    (record,) = [json.loads(line) for line in (user_folder / "tagged.jsonl").read_text(encoding="utf-8").splitlines()]
    text = (user_folder / "articles" / "a.txt").read_text(encoding="utf-8")
    assert record["id"] == "a" and all(text[e["start"]:e["end"]] == e["text"] for e in record["entities"])

    scored = arabic_ner(installed, "evaluate", "--model", "model", "--data", "export.json", "--output-dir", "report", cwd=user_folder)
    assert scored.returncode == 0, scored.stderr[-3000:]
    assert "seqeval strict micro F1" in scored.stdout and (user_folder / "report" / "report.json").is_file()

    # the ONNX engine from the installed package: export once, then int8 runs it, with the same offsets rule
    exported = arabic_ner(installed, "export", "--model", "model", cwd=user_folder)
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert (user_folder / "model" / "onnx" / "model-int8.onnx").is_file()
    quantized = arabic_ner(installed, "predict", "--model", "model", "--input", "articles", "--output", "int8.jsonl",
                           "--dtype", "int8", cwd=user_folder)
    assert quantized.returncode == 0, quantized.stderr[-3000:]
    assert "onnxruntime" in next(line for line in quantized.stderr.splitlines() if line.startswith("precision:"))
    assert "note:" not in quantized.stderr  # the export was reused, not made again
    (record,) = [json.loads(line) for line in (user_folder / "int8.jsonl").read_text(encoding="utf-8").splitlines()]
    assert record["id"] == "a" and all(text[e["start"]:e["end"]] == e["text"] for e in record["entities"])
    entities = {}
    for engine in ("onnxruntime", "torch"):  # fp32 runs on the export's fp32 graph by default: torch's spans, a faster start
        full = arabic_ner(installed, "predict", "--model", "model", "--input", "articles", "--output", f"fp32-{engine}.jsonl",
                          "--dtype", "fp32", *(["--engine", "torch"] if engine == "torch" else []), cwd=user_folder)
        assert full.returncode == 0, full.stderr[-3000:]
        assert (engine == "onnxruntime") == ("onnxruntime" in next(line for line in full.stderr.splitlines() if line.startswith("precision:")))
        records = [json.loads(line) for line in (user_folder / f"fp32-{engine}.jsonl").read_text(encoding="utf-8").splitlines()]
        entities[engine] = [[(e["start"], e["end"], e["label"]) for e in r["entities"]] for r in records]  # scores may differ at 1e-6
    assert entities["onnxruntime"] == entities["torch"]
    # the default dtype on a CPU with native bf16 runs the export's graph on OpenVINO, a dependency of the package
    default = arabic_ner(installed, "predict", "--model", "model", "--input", "articles", "--output", "auto.jsonl", cwd=user_folder)
    assert default.returncode == 0, default.stderr[-3000:]
    precision = next(line for line in default.stderr.splitlines() if line.startswith("precision:"))
    assert ("openvino" in precision) == cpu_has_native_bf16(), precision
    (record,) = [json.loads(line) for line in (user_folder / "auto.jsonl").read_text(encoding="utf-8").splitlines()]
    assert record["id"] == "a" and all(text[e["start"]:e["end"]] == e["text"] for e in record["entities"])


@pytest.mark.labelstudio
def test_the_installed_backend_trains_from_label_studio_and_serves_the_new_model(installed, user_folder, label_studio, tmp_path):
    """START_TRAINING through the installed ``arabic-ner serve``: the training runs the installed package's own
    command (not a train.py from a checkout) and the backend then serves the new model version."""
    model = user_folder / "served"
    trained = arabic_ner(installed, "train", "--config", "my-config.yaml", "--train", "export.json", "--output-dir", str(model),
                         *sets(*tiny_overrides(num_train_epochs=1)), cwd=user_folder)
    assert trained.returncode == 0, trained.stderr[-3000:]
    target, env = installed
    backend = start_backend(label_studio, model, tmp_path, "--set", "num_train_epochs=1", "--set", "dev_fraction=0",
                            command=(str(target / "bin" / "arabic-ner"),), env=env, cwd=user_folder)
    try:
        project, ml = connected_project(label_studio, backend, "wheel: training")
        gold = gold_documents()
        for task in tasks_of(label_studio, project.id)[:2]:
            annotate(label_studio, task, gold[task["data"]["doc_id"]].spans)
        before = backend.health()["model_version"]
        status, error = post(backend, "/webhook", json.dumps({"action": "START_TRAINING", "project": {"id": project.id}}).encode())
        assert status == 201, error
        deadline = time.monotonic() + 300
        while (training := backend.health()["training"])["state"] in ("none", "running") and time.monotonic() < deadline:
            time.sleep(1)
        assert training["state"] == "done", f"{training}\n{backend.log_tail()}"
        assert backend.health()["model_version"] == training["model_version"] != before
        log = Path(training["model_dir"] + ".log").read_text(encoding="utf-8")
        assert "model saved to" in log and str(ROOT / "src") not in log
    finally:
        stop(backend)
