"""The ONNX engines: the export kept in the model's folder (made once, reused, checked against the
weights, rebuilt or refused when stale, written whole), its graphs on onnxruntime and OpenVINO
against torch, and the choice of engine with its one-line fallback."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from arabic_ner.cli import command_main
from arabic_ner.cli.common import run
from arabic_ner.core.document import Document
from arabic_ner.core.problems import UserError
from arabic_ner.model import inference, loading, onnx_engine
from arabic_ner.model.building import save_model
from arabic_ner.model.inference import Tagger
from arabic_ner.model.loading import load_trained, model_version, model_version_later, weights_sha256
from arabic_ner.model.onnx_engine import FALLBACKS, OnnxSession, choose_engine, export, export_folder, export_state
from arabic_ner.model.precision import Precision, cpu_has_native_bf16

from helpers import random_model

TEXTS = ["قصف التحالف مواقع لداعش في الموصل يوم الأحد", "وصل الوفد الروسي إلى بغداد بطائرة F-16 أمس",
         "أعلنت وزارة الدفاع أن ٣ طائرات أصابت أهدافها قرب الرقة"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A tiny token classifier with random weights, saved as train saves one (no export)."""
    return random_model(tmp_path_factory.mktemp("model") / "m", TEXTS, layers=2)


@pytest.fixture
def model_dir(built, tmp_path) -> Path:
    """A copy of the tiny model that a test may export into and change."""
    return Path(shutil.copytree(built, tmp_path / "m"))


def documents() -> list[Document]:
    return [Document(str(i), text * (1 + i % 3)) for i, text in enumerate(TEXTS * 4)]


def spans_of(tagger: Tagger) -> list:
    return [[(s.start, s.end, s.label) for s in t.document.spans] for t in tagger.tag(documents())]


def assert_same_spans(dtype: str, got: list, expected: list) -> None:
    """fp32 spans equal torch's. bf16 engines round differently (OpenVINO's bf16 kernels are not
    torch's): on this random model's near-ties a word's label can differ (it did once in five runs
    on a busy machine), so bf16 is held to 97% of the spans here, and to every span of the
    memorised model in tests/commands/test_pretrained.py."""
    assert any(expected)
    if dtype == "fp32":
        assert got == expected
        return
    a = {(i, *span) for i, spans in enumerate(got) for span in spans}
    b = {(i, *span) for i, spans in enumerate(expected) for span in spans}
    assert 2 * len(a & b) / (len(a) + len(b)) >= 0.97, sorted(a ^ b)


def retrained(model_dir: Path) -> None:
    """Other weights in the folder, as a retraining writes them (the config stays the same)."""
    tokenizer, model = load_trained(str(model_dir))
    with torch.no_grad():
        model.classifier.bias.add_(torch.linspace(-2, 2, model.classifier.bias.numel()))
    save_model(model, tokenizer, model_dir)


def file_sha256(model_dir: Path) -> str:
    """The weights' sha256, read here from the file (not through arabic_ner's records or memory)."""
    import hashlib

    return hashlib.sha256((model_dir / "model.safetensors").read_bytes()).hexdigest()


def graph_times(model_dir: Path) -> dict:
    return {p.name: p.stat().st_mtime_ns for p in export_folder(model_dir).iterdir()}


def notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(("note:", "warning:"))]


def test_export_writes_both_graphs_and_the_weights_hash_and_the_folder_still_loads_in_transformers(model_dir):
    from transformers import pipeline

    record = export(model_dir)
    assert sorted(p.name for p in export_folder(model_dir).iterdir()) == ["export.json", "model-int8.onnx", "model.onnx"]
    assert record["weights"]["sha256"] == file_sha256(model_dir)
    assert record["verification"]["fp32_agreement"] == 1.0 and record["verification"]["fp32_max_abs_diff"] < 1e-4
    assert set(record["versions"]) == {"torch", "onnxruntime", "onnx"}
    assert pipeline("token-classification", model=str(model_dir))(TEXTS[0]) is not None  # the onnx/ folder is ignored
    assert sorted(p.name for p in model_dir.parent.iterdir()) == ["m"]  # no staging left beside it


@pytest.mark.parametrize("shape", [(1, 1), (5, 40), (2, 64)])
def test_the_fp32_graph_gives_torchs_logits_at_any_batch_size_and_length(model_dir, shape):
    export(model_dir)
    _, model = load_trained(str(model_dir))
    ids = torch.randint(0, model.config.vocab_size, shape, generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[-1, shape[1] // 2 + 1:] = 0
    with torch.inference_mode():
        expected = model(input_ids=ids, attention_mask=mask).logits
    got = OnnxSession(export_folder(model_dir) / "model.onnx").logits(ids, mask)
    kept = mask.bool()
    assert got.shape == expected.shape and torch.allclose(got[kept], expected[kept], atol=1e-5)


def test_fp32_on_onnxruntime_gives_torchs_spans(model_dir):
    torch_spans = spans_of(Tagger.load(str(model_dir), device="cpu", dtype="fp32"))
    tagger = Tagger.load(str(model_dir), device="cpu", dtype="fp32", engine="onnxruntime")
    assert tagger.engine == "onnxruntime" and tagger.model is None
    assert spans_of(tagger) == torch_spans and any(torch_spans)


NATIVE_BF16 = pytest.mark.skipif(not cpu_has_native_bf16(), reason="bf16 runs as fp32 on a CPU without native bf16")


@pytest.mark.parametrize("dtype, engine, graph", [("fp32", "onnxruntime", "model.onnx"),
                                                  pytest.param("bf16", "openvino", "model.onnx", marks=NATIVE_BF16)])
def test_fp32_and_bf16_on_a_cpu_run_on_a_current_export_without_reading_the_weights_and_never_make_one(model_dir, capsys, monkeypatch,
                                                                                                       dtype, engine, graph):
    torch_spans = spans_of(Tagger.load(str(model_dir), device="cpu", dtype=dtype))
    assert not export_folder(model_dir).exists() and notes(capsys.readouterr().err) == []  # no export: torch, silently
    export(model_dir)
    with monkeypatch.context() as patched:
        patched.setattr(inference, "load_trained", lambda *a, **k: pytest.fail("the torch weights were loaded"))
        tagger = Tagger.load(str(model_dir), device="cpu", dtype=dtype)
    assert tagger.engine == engine and tagger.session.path.name == graph
    assert tagger.precision.line().startswith(f"precision: {dtype} (") and f"; {engine}, " in tagger.precision.line()
    assert_same_spans(dtype, spans_of(tagger), torch_spans)
    assert Tagger.load(str(model_dir), device="cpu", dtype=dtype, engine="torch").engine == "torch"
    before = graph_times(model_dir)
    retrained(model_dir)  # the export is stale now: torch runs, with the new weights, and leaves it alone
    tagger = Tagger.load(str(model_dir), device="cpu", dtype=dtype)
    assert tagger.engine == "torch" and graph_times(model_dir) == before and notes(capsys.readouterr().err) == []
    assert spans_of(tagger) == spans_of(Tagger.load(str(model_dir), device="cpu", dtype=dtype, engine="torch"))


@pytest.mark.parametrize("dtype", ["fp32", pytest.param("bf16", marks=NATIVE_BF16)])
def test_openvino_gives_torchs_spans_at_fp32_nearly_all_at_bf16_and_logits_close_to_torchs(model_dir, dtype):
    from arabic_ner.model.openvino_engine import OpenVinoSession

    torch_spans = spans_of(Tagger.load(str(model_dir), device="cpu", dtype=dtype, engine="torch"))
    tagger = Tagger.load(str(model_dir), device="cpu", dtype=dtype, engine="openvino")
    assert tagger.engine == "openvino" and tagger.model is None and isinstance(tagger.session, OpenVinoSession)
    assert_same_spans(dtype, spans_of(tagger), torch_spans)
    _, model = load_trained(str(model_dir))
    ids = torch.randint(5, model.config.vocab_size, (3, 17), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    with torch.inference_mode():
        expected = model.eval()(input_ids=ids, attention_mask=mask).logits
    got = tagger.session.logits(ids, mask)
    kept = mask.bool()
    assert got.dtype == torch.float32 and got.shape == expected.shape
    assert torch.allclose(got[kept], expected[kept], atol=1e-4 if dtype == "fp32" else 0.1 * float(expected.abs().max()))


@pytest.mark.parametrize("dtype, engine", [("fp32", "onnxruntime"), pytest.param("bf16", "openvino", marks=NATIVE_BF16)])
def test_a_damaged_graph_is_never_used_torch_runs_with_a_note_or_it_is_refused_when_asked_for(model_dir, capsys, dtype, engine):
    export(model_dir)
    graph = export_folder(model_dir) / "model.onnx"
    graph.write_bytes(graph.read_bytes()[:1000])  # cut, as by a copy that stopped; export.json still names it
    torch_spans = spans_of(Tagger.load(str(model_dir), device="cpu", dtype=dtype, engine="torch"))
    tagger = Tagger.load(str(model_dir), device="cpu", dtype=dtype)
    assert tagger.engine == "torch" and spans_of(tagger) == torch_spans
    (note,) = notes(capsys.readouterr().err)
    assert note.startswith(f"note: {graph} cannot be opened (") and "\n" not in note
    assert note.endswith(f"so {dtype} runs on torch; `arabic-ner export --model {model_dir} --overwrite` makes it again")
    refused = rf"^--engine {engine}: {re.escape(str(graph))} cannot be opened \(.*--overwrite` makes it again, or use --engine torch$"
    with pytest.raises(UserError, match=refused):
        Tagger.load(str(model_dir), device="cpu", dtype=dtype, engine=engine)


def test_int8_on_a_cpu_exports_once_then_reuses_the_export_without_reading_the_weights(model_dir, capsys, monkeypatch):
    first = Tagger.load(str(model_dir), device="cpu", dtype="int8")
    err = capsys.readouterr().err
    assert first.engine == "onnxruntime" and "onnxruntime" in first.precision.line()
    folder = export_folder(model_dir)
    exporting, wrote = notes(err)
    assert exporting == f"note: there is no ONNX export yet: exporting it to {folder}, once (later runs reuse it)"
    assert wrote.startswith(f"note: wrote {folder} in ")
    before = graph_times(model_dir)
    opened = []
    monkeypatch.setattr(loading, "open", lambda *a, **k: opened.append(a[0]) or open(*a, **k), raising=False)
    monkeypatch.setattr(inference, "load_trained", lambda *a, **k: pytest.fail("the torch weights were loaded"))
    second = Tagger.load(str(model_dir), device="cpu", dtype="int8")
    assert notes(capsys.readouterr().err) == [] and graph_times(model_dir) == before
    assert not any(str(p).endswith(".safetensors") for p in opened)  # the recorded hash, trusted on size, mtime and inode
    assert spans_of(second) == spans_of(first)


def test_model_version_reuses_the_recorded_hash_and_still_sees_new_weights(model_dir, monkeypatch):
    before = model_version(model_dir)
    export(model_dir)
    opened = []
    monkeypatch.setattr(loading, "open", lambda *a, **k: opened.append(a[0]) or open(*a, **k), raising=False)
    assert model_version(model_dir) == before and opened == []
    retrained(model_dir)
    after = model_version(model_dir)
    assert after != before and opened  # other files on disk: hashed again
    assert after == f"m-{file_sha256(model_dir)[:8]}"


def test_weights_hashed_once_in_a_process_are_not_read_again_until_their_files_change(model_dir, monkeypatch):
    opened = []
    monkeypatch.setattr(loading, "open", lambda *a, **k: opened.append(a[0]) or open(*a, **k), raising=False)
    first = weights_sha256(model_dir)
    assert first == weights_sha256(model_dir) == file_sha256(model_dir) and len(opened) == 1
    retrained(model_dir)  # other bytes in a new file: hashed again
    assert weights_sha256(model_dir) == file_sha256(model_dir) != first and len(opened) == 2


def test_model_version_computed_in_the_background_is_the_same_and_raises_the_same(model_dir, tmp_path):
    assert model_version_later(model_dir)() == model_version(model_dir)
    broken = tmp_path / "broken"
    (broken / "model.safetensors").mkdir(parents=True)  # a weights "file" that cannot be read
    with pytest.raises(IsADirectoryError):
        model_version(broken)
    with pytest.raises(IsADirectoryError):
        model_version_later(broken)()  # raised where the caller waits for it, not lost in the thread


def test_a_stale_export_after_retraining_is_rebuilt_with_a_note_and_matches_the_new_weights(model_dir, capsys):
    export(model_dir)
    old = json.loads((export_folder(model_dir) / "export.json").read_text())["weights"]["sha256"]
    retrained(model_dir)
    tagger = Tagger.load(str(model_dir), device="cpu", dtype="fp32", engine="onnxruntime")
    lines = notes(capsys.readouterr().err)
    assert lines[0] == (f"note: {export_folder(model_dir)} was exported from other weights (sha256 {old[:8]}; the weights there "
                        f"now are {weights_sha256(model_dir)[:8]}): re-exporting it to {export_folder(model_dir)}, once (later runs reuse it)")
    assert export_state(model_dir)[0] is None
    assert spans_of(tagger) == spans_of(Tagger.load(str(model_dir), device="cpu", dtype="fp32", engine="torch"))


def test_a_stale_export_that_cannot_be_rebuilt_is_refused_when_asked_for_and_never_used(model_dir, capsys, monkeypatch):
    export(model_dir)
    retrained(model_dir)
    monkeypatch.setattr(onnx_engine, "writable", lambda folder: False)  # (the tests run as root, which writes anywhere)
    with pytest.raises(UserError, match=r"^--engine onnxruntime: .* was exported from other weights .*, and .* cannot be written; "
                                        r"run `arabic-ner export --model .*` as a user who can write there, or use --engine torch$"):
        Tagger.load(str(model_dir), device="cpu", dtype="int8", engine="onnxruntime")
    capsys.readouterr()
    tagger = Tagger.load(str(model_dir), device="cpu", dtype="int8")
    (line,) = notes(capsys.readouterr().err)
    assert tagger.engine == "torch" and tagger.session is None
    assert "was exported from other weights" in line
    assert line.endswith(f"so int8 runs on torch's quantize_dynamic; run `arabic-ner export --model {model_dir}` as a user who can write there")


def test_touched_weights_are_hashed_once_more_and_the_record_brought_up_to_date(model_dir):
    import os

    export(model_dir)
    weights = model_dir / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    assert export_state(model_dir)[0] is None  # same bytes: still current
    recorded = json.loads((export_folder(model_dir) / "export.json").read_text())["weights"]["files"]
    assert recorded == loading.weights_stats(model_dir)


def test_without_onnxruntime_int8_runs_on_torch_and_says_so_in_one_line(model_dir, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    tagger = Tagger.load(str(model_dir), device="cpu", dtype="int8")
    err = capsys.readouterr().err
    assert tagger.engine == "torch" and tagger.precision.line() == "precision: int8 (asked for)"
    assert notes(err) == ["note: onnxruntime is not installed, so int8 runs on torch's quantize_dynamic; pip install onnxruntime to run it there"]
    assert not export_folder(model_dir).exists()
    refused = r"^--engine onnxruntime: onnxruntime is not installed; pip install onnxruntime to run it there, or use --engine torch$"
    with pytest.raises(UserError, match=refused):
        Tagger.load(str(model_dir), device="cpu", dtype="int8", engine="onnxruntime")


@NATIVE_BF16
def test_without_openvino_bf16_runs_on_torch_and_says_so_in_one_line(model_dir, capsys, monkeypatch):
    export(model_dir)
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` raises ImportError
    tagger = Tagger.load(str(model_dir), device="cpu", dtype="bf16")
    assert tagger.engine == "torch" and tagger.model is not None and tagger.precision.line() == "precision: bf16 (this CPU has native bf16)"
    assert notes(capsys.readouterr().err) == ["note: openvino is not installed, so bf16 runs on torch; pip install openvino to run it there"]
    assert spans_of(tagger) == spans_of(Tagger.load(str(model_dir), device="cpu", dtype="bf16", engine="torch"))
    refused = r"^--engine openvino: openvino is not installed; pip install openvino to run it there, or use --engine torch$"
    with pytest.raises(UserError, match=refused):
        Tagger.load(str(model_dir), device="cpu", dtype="fp32", engine="openvino")


def test_engine_torch_is_kept_and_no_export_is_made(model_dir):
    tagger = Tagger.load(str(model_dir), device="cpu", dtype="int8", engine="torch")
    assert tagger.engine == "torch" and not export_folder(model_dir).exists()


def test_gpus_keep_torch_and_refuse_the_onnx_engines():
    gpu = torch.device("cuda")  # choose_engine only reads the device's type: no GPU needed
    assert choose_engine(None, Precision("bf16", "autocast"), gpu) == "torch"
    for engine in ("onnxruntime", "openvino"):
        with pytest.raises(UserError, match=rf"^--engine {engine} runs on the CPU; on a GPU torch runs"):
            choose_engine(engine, Precision("bf16", "autocast"), gpu)
    cpu = torch.device("cpu")
    assert [choose_engine(None, Precision(name, ""), cpu) for name in ("fp32", "bf16", "int8")] == ["torch", "torch", "onnxruntime"]
    exported = [choose_engine(None, Precision(name, ""), cpu, lambda: True) for name in ("fp32", "bf16", "int8")]
    assert exported == ["onnxruntime", "openvino", "onnxruntime"]  # a current export: the same spans, a faster start
    assert choose_engine("torch", Precision("fp32", ""), cpu, lambda: True) == "torch"
    assert choose_engine(None, Precision("fp32", "autocast"), gpu, lambda: True) == "torch"
    with pytest.raises(UserError, match=r"^--engine onnxruntime runs fp32 or int8, and this would run bf16; give --dtype fp32 or --dtype int8$"):
        choose_engine("onnxruntime", Precision("bf16", ""), cpu)
    with pytest.raises(UserError, match=r"^--engine openvino runs fp32 or bf16, and this would run int8; give --dtype fp32 or --dtype bf16$"):
        choose_engine("openvino", Precision("int8", ""), cpu)
    with pytest.raises(UserError, match=r"^--engine tensorrt: choose one of torch, onnxruntime, openvino$"):
        choose_engine("tensorrt", Precision("fp32", ""), cpu)


def test_an_export_that_fails_its_check_leaves_no_folder_and_keeps_the_previous_one(model_dir, monkeypatch):
    def disagrees(model, folder, seed=0):
        assert (folder / "model-int8.onnx").is_file()  # failed after both graphs were written, in the staging folder
        raise UserError("the fp32 ONNX graph of this model disagrees with torch")

    monkeypatch.setattr(onnx_engine, "verify", disagrees)
    with pytest.raises(UserError, match="disagrees with torch"):
        export(model_dir)
    assert not export_folder(model_dir).exists() and sorted(p.name for p in model_dir.iterdir() if p.name.startswith(".")) == []
    monkeypatch.undo()
    export(model_dir)
    before = graph_times(model_dir)
    retrained(model_dir)
    monkeypatch.setattr(onnx_engine, "verify", disagrees)
    with pytest.raises(UserError, match="disagrees with torch"):
        export(model_dir)
    assert graph_times(model_dir) == before  # the old export is still there, whole (and stale: never used, see above)
    assert "other weights" in export_state(model_dir)[0]


def call(capsys, *args) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        run(command_main("export"), [str(a) for a in args])
    return exited.value.code or 0, capsys.readouterr().err


def test_the_export_command_writes_says_what_and_then_has_nothing_to_do(model_dir, capsys):
    code, err = call(capsys, "--model", model_dir)
    assert code == 0, err
    lines = err.splitlines()
    assert [line.split(" (")[0] for line in lines[:3]] == [f"wrote {export_folder(model_dir) / n}" for n in ("model.onnx", "model-int8.onnx", "export.json")]
    assert lines[3].startswith("checked against torch on 3 batches") and "fp32 agrees on 100.00% of labels" in lines[3]
    assert lines[4].startswith("exported in ")
    code, err = call(capsys, "--model", model_dir)
    assert code == 0 and err == f"{export_folder(model_dir)}: already the export of these weights; nothing to do (--overwrite makes it again)\n"
    retrained(model_dir)
    code, err = call(capsys, "--model", model_dir)
    assert code == 0 and err.startswith(f"note: {export_folder(model_dir)} was exported from other weights")


@pytest.mark.parametrize("what", ["missing", "not a model", "pickle only"])
def test_the_export_command_refuses_a_folder_that_is_not_a_model_in_one_line(model_dir, tmp_path, capsys, what):
    target = {"missing": tmp_path / "nowhere", "not a model": tmp_path / "empty", "pickle only": model_dir}[what]
    if what == "not a model":
        target.mkdir()
    if what == "pickle only":
        (model_dir / "model.safetensors").rename(model_dir / "pytorch_model.bin")
    code, err = call(capsys, "--model", target)
    expected = {"missing": "no such folder", "not a model": "no config.json, so this is not a model directory",
                "pickle only": "has no safetensors weights"}[what]
    assert code == 2 and len(err.splitlines()) == 1 and expected in err, err
    assert not export_folder(target).exists()


def test_tagging_from_an_export_imports_onnxruntime_but_not_onnx(model_dir):
    export(model_dir)
    script = ("import sys; from arabic_ner.model.inference import Tagger; assert 'onnxruntime' not in sys.modules; "
              f"t = Tagger.load({str(model_dir)!r}, device='cpu', dtype='int8'); assert t.engine == 'onnxruntime'; "
              "print(sorted(m for m in ('onnx', 'onnxruntime') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["['onnxruntime']"]


def test_an_export_gone_stale_after_load_looked_runs_on_torch_with_the_weights_loaded_then(model_dir, monkeypatch):
    from arabic_ner.model.loading import load_trained_config

    export(model_dir)
    tokenizer, config = load_trained_config(str(model_dir))  # what Tagger.load reads when the export is current
    retrained(model_dir)
    monkeypatch.setattr(onnx_engine, "writable", lambda folder: False)
    tagger = Tagger(None, tokenizer, device="cpu", dtype="int8", model_dir=str(model_dir), config=config)
    assert tagger.engine == "torch" and tagger.model is not None
    assert spans_of(tagger) == spans_of(Tagger.load(str(model_dir), device="cpu", dtype="int8", engine="torch"))


def test_evaluate_at_int8_writes_no_export_into_the_model_it_scores_but_uses_a_current_one(model_dir, tmp_path, capsys):
    from arabic_ner.cli import command_main
    from arabic_ner.cli.common import run

    from helpers import ls_task, marked, write_ls

    data = write_ls(tmp_path / "gold.json", [ls_task(marked("قصف ⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧"))])
    before = sorted(p.name for p in model_dir.iterdir())

    def evaluate(report: str) -> str:
        with pytest.raises(SystemExit) as exited:
            run(command_main("evaluate"), ["--model", str(model_dir), "--data", str(data), "--dtype", "int8",
                                           "--output-dir", str(tmp_path / report)])
        assert not exited.value.code
        return capsys.readouterr().err

    err = evaluate("r1")
    assert sorted(p.name for p in model_dir.iterdir()) == before  # no onnx/ made in the scored model
    assert notes(err) == [f"note: there is no ONNX export yet, and this command writes nothing into the model, so {FALLBACKS['int8']}; "
                          f"`arabic-ner export --model {model_dir}` makes it"]
    export(model_dir)
    err = evaluate("r2")
    assert notes(err) == [] and "onnxruntime" in next(line for line in err.splitlines() if line.startswith("precision:"))


def test_an_export_of_an_older_format_is_made_again_with_a_note_that_says_so(model_dir, capsys):
    export(model_dir)
    record = export_folder(model_dir) / "export.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "format": 1}))
    tagger = Tagger.load(str(model_dir), device="cpu", dtype="int8")
    assert tagger.engine == "onnxruntime"
    assert notes(capsys.readouterr().err)[0] == (f"note: {export_folder(model_dir)} was made by another version of arabic-ner "
                                                 "(export format 1; this one makes 2): exporting it to "
                                                 f"{export_folder(model_dir)}, once (later runs reuse it)")
    assert json.loads(record.read_text())["format"] == 2
