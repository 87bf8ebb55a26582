"""Bad and odd input, as a careless or hostile user gives it: each case ends in one clear line and
the right exit status, never a traceback, and loses nothing (inputs are byte for byte unchanged,
every input document gets its record).

The scripts are called in this process through :func:`arabic_ner.cli.run`, exactly as their
``__main__`` does, with a small random-weights model: what is tested is what the scripts do with
the input, not what the model predicts.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from arabic_ner.cli import command_main
from arabic_ner.cli.common import run
from arabic_ner.core.config import Config

from helpers import ROOT, ls_task, marked, random_model, run_command, write_ls

TEXTS = ["قصف التحالف مواقع لداعش في الموصل", "سيطرت القوات على بلدة في محافظة نينوى يوم الأحد"]


def call(capsys, script: str, *args) -> tuple[int, str, str]:
    """Run a subcommand's main as ``arabic-ner`` does; (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        run(command_main(script), [str(a) for a in args])
    captured = capsys.readouterr()
    return exited.value.code or 0, captured.out, captured.err


def one_line(err: str) -> str:
    """The message of a refused run: its one non-progress line."""
    chatter = ("tagging", "precision:", "Loading weights", "\rLoading weights", "dev split by document")
    lines = [x for x in err.splitlines() if x.strip() and not x.startswith(chatter)]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A token classifier with random weights, saved as train.py saves one."""
    return random_model(tmp_path_factory.mktemp("model") / "m", TEXTS)


@pytest.fixture
def jsonl(tmp_path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(TEXTS)),
                    encoding="utf-8")
    return path


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ---------------------------------------------------------------- predict.py: outputs

@pytest.mark.parametrize("flag", ["--overwrite", "--resume"])
def test_the_input_is_never_the_output(capsys, model_dir, jsonl, flag):
    before = digest(jsonl)
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", jsonl, "--output", jsonl, flag)
    assert code == 2 and "is the input" in one_line(err) and "--overwrite" not in one_line(err)
    assert digest(jsonl) == before


def test_an_output_inside_the_input_folder_is_refused(capsys, model_dir, tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a.txt").write_text(TEXTS[0], encoding="utf-8")
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", tmp_path / "raw", "--output", tmp_path / "raw" / "o.jsonl")
    assert code == 2 and "is inside the input folder" in one_line(err)
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == ["a.txt"]


@pytest.mark.parametrize("content, fmt", [
    ("my notes\nmore notes\n", "jsonl"),
    ('[\n{"data": {"text": "x", "doc_id": "a"}, "predictions": []}\n]\n', "conll"),
    ("", None),
])
def test_resume_refuses_a_file_that_is_not_an_interrupted_output(capsys, model_dir, jsonl, tmp_path, content, fmt):
    out = tmp_path / ("o.json" if fmt == "conll" else "o.jsonl")
    out.write_text(content or '{"id": "d0", "entities": []}\n', encoding="utf-8")  # "": written by an older version
    before = digest(out)
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", jsonl, "--output", out, "--resume",
                        *(["--format", fmt] if fmt else []))
    assert code == 2 and "cannot resume" in one_line(err) and "--overwrite" in one_line(err)
    assert digest(out) == before


def test_resume_refuses_records_of_other_texts_under_the_same_positional_ids(capsys, model_dir, tmp_path):
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in TEXTS), encoding="utf-8")
    second.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in reversed(TEXTS)), encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert call(capsys, "predict", "--model", model_dir, "--input", first, "--output", out)[0] == 0
    before = digest(out)
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", second, "--output", out, "--resume")
    assert code == 2 and "same id but another text" in one_line(err)
    assert digest(out) == before


def test_resume_after_an_interruption_keeps_matching_records(capsys, model_dir, jsonl, tmp_path):
    out = tmp_path / "o.jsonl"
    assert call(capsys, "predict", "--model", model_dir, "--input", jsonl, "--output", out)[0] == 0
    whole = out.read_text(encoding="utf-8")
    out.write_text(whole[: whole.index("\n") + 10], encoding="utf-8")  # one record and a piece of the next
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", jsonl, "--output", out, "--resume")
    assert code == 0 and "resuming after 1 documents" in err
    assert out.read_text(encoding="utf-8") == whole


def test_devices_are_written_as_streams(capsys, model_dir, jsonl):
    assert call(capsys, "predict", "--model", model_dir, "--input", jsonl, "--output", os.devnull)[0] == 0
    result = run_command("predict", "--model", str(model_dir), "--input", str(jsonl), "--output", "/dev/stdout")
    assert result.returncode == 0 and [r["id"] for r in map(json.loads, result.stdout.splitlines())] == ["d0", "d1"]
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", jsonl, "--output", os.devnull, "--resume")
    assert code == 2 and "nothing to resume" in one_line(err)


def test_a_folder_where_a_file_goes_is_refused_even_with_overwrite(capsys, model_dir, jsonl, tmp_path):
    (tmp_path / "out.jsonl").mkdir()
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", jsonl, "--output", tmp_path / "out.jsonl", "--overwrite")
    assert code == 2 and "is a folder; give a file name" in one_line(err)


def test_an_output_under_a_file_is_refused_before_the_work(capsys, jsonl, tmp_path):
    code, _, err = call(capsys, "predict", "--model", tmp_path / "no-model", "--input", jsonl, "--output", jsonl / "o.jsonl")
    assert code == 2 and "is a file, not a folder" in one_line(err)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only folder")
def test_a_read_only_folder_is_refused_before_the_work(capsys, jsonl, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    code, _, err = call(capsys, "predict", "--model", tmp_path / "no-model", "--input", jsonl, "--output", folder / "o.jsonl")
    assert code == 2 and "cannot write there" in one_line(err)


def test_an_id_with_a_line_break_stays_one_conll_header_line(capsys, model_dir, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a\nb", "text": TEXTS[0]}, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "o.conll"
    assert call(capsys, "predict", "--model", model_dir, "--input", source, "--output", out)[0] == 0
    assert out.read_text(encoding="utf-8").splitlines()[0] == "# doc_id = a\\nb"


# ---------------------------------------------------------------- predict.py: inputs

def test_one_bad_document_never_stops_the_batch(capsys, model_dir, tmp_path):
    source = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": "good1", "text": TEXTS[0]}, ensure_ascii=False), '{"id": "bad", "text": "x \\ud800 y"}',
             '{"id": "\\udfff", "text": "x"}', '{"id": null, "text": "x"}', '{"id": {"a": 1}, "text": "x"}',
             '{"id": true, "text": "x"}', json.dumps({"id": "good2", "text": TEXTS[1]}, ensure_ascii=False)]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", source, "--output", out)
    assert code == 1 and "Traceback" not in err
    written = records(out)
    assert len(written) == len(lines)
    assert [r.get("error") is None for r in written] == [True, False, False, False, False, False, True]
    assert "lone UTF-16 surrogate" in written[1]["error"] and "character 2" in written[1]["error"]
    assert "the id holds a lone UTF-16 surrogate" in written[2]["error"]
    assert all("is not a string or a whole number" in r["error"] for r in written[3:6])


@pytest.mark.parametrize("text, where", [
    ('[{"data": {"text": "a"}} {"data": {"text": "b"}}]', "line 1, column 26"),  # a missing comma
    ('[{"data": {"text": "a"}},\n]', "line 2, column 1"),  # a trailing comma
    ('[{"data": {"text": "a"}}]\nxyz', "line 2, column 1"),  # garbage after the list
    ("[", "line 1, column 2"),
])
def test_invalid_json_task_lists_are_refused_with_line_and_column(capsys, model_dir, tmp_path, text, where):
    source = tmp_path / "tasks.json"
    source.write_text(text, encoding="utf-8")
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", source, "--output", tmp_path / "o.jsonl")
    assert code == 2 and f"malformed JSON at {where}" in one_line(err)
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize("text", ["5", '"tasks"', ""])
def test_json_that_is_not_a_task_list_is_refused(capsys, model_dir, tmp_path, text):
    source = tmp_path / "tasks.json"
    source.write_text(text, encoding="utf-8")
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", source, "--output", tmp_path / "o.jsonl")
    assert code == 2 and str(source) in one_line(err)


def test_a_folder_says_what_it_left_out_and_reads_txt_in_any_case(capsys, model_dir, tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "a.txt").write_text(TEXTS[0], encoding="utf-8")
    (folder / "B.TXT").write_text(TEXTS[1], encoding="utf-8")
    (folder / "notes.md").write_text("x", encoding="utf-8")
    (folder / "gone.txt").symlink_to(tmp_path / "missing.txt")
    out = tmp_path / "o.jsonl"
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", folder, "--output", out)
    assert code == 1 and "1 entries that are not .txt files were left out: notes.md" in err
    written = records(out)
    assert [r["id"] for r in written] == ["B", "a", "gone"]
    assert "cannot be read" in written[2]["error"]


def test_utf16_is_named_as_utf16(capsys, model_dir, tmp_path):
    text_file, jsonl_file = tmp_path / "a.txt", tmp_path / "b.jsonl"
    text_file.write_text(TEXTS[0], encoding="utf-16")
    jsonl_file.write_text(json.dumps({"id": "x", "text": TEXTS[0]}) + "\n", encoding="utf-16")
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", jsonl_file, "--output", tmp_path / "o.jsonl")
    assert code == 2 and "UTF-16" in one_line(err) and "iconv -f UTF-16" in one_line(err)
    code, _, _ = call(capsys, "predict", "--model", model_dir, "--input", text_file, "--output", tmp_path / "o.jsonl")
    assert code == 1 and "UTF-16 text" in records(tmp_path / "o.jsonl")[0]["error"]


def test_duplicate_ids_are_tagged_with_a_warning(capsys, model_dir, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": "same", "text": t}, ensure_ascii=False) + "\n" for t in TEXTS), encoding="utf-8")
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", source, "--output", tmp_path / "o.jsonl")
    assert code == 0 and "\nwarning: " in "\n" + err.replace("\r", "\n") and "'same' is used by more than one document" in err
    assert len(records(tmp_path / "o.jsonl")) == 2


# ---------------------------------------------------------------- model directories

def _damaged(model_dir: Path, tmp_path: Path, damage) -> Path:
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(model_dir, copy)
    damage(copy)
    return copy


def _fewer_labels(directory: Path) -> None:
    config = json.loads((directory / "config.json").read_text())
    config["id2label"] = {k: v for k, v in config["id2label"].items() if k != str(len(config["id2label"]) - 1)}
    config["label2id"] = {v: int(k) for k, v in config["id2label"].items()}
    (directory / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("damage, message", [
    (lambda d: [p.unlink() for p in d.glob("tokenizer*")], "no tokenizer files"),
    (lambda d: (d / "model.safetensors").write_bytes(b""), "unreadable weights"),
    (lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:5000]), "unreadable weights"),
    (lambda d: (d / "model.safetensors").write_bytes(os.urandom(5000)), "unreadable weights"),
    (_fewer_labels, "come from different models"),
    (lambda d: (d / "config.json").write_text("{nope"), "not a usable Hugging Face model directory"),
    (lambda d: (d / "config.json").unlink(), "no config.json"),
])
def test_damaged_model_directories_are_one_line(capsys, model_dir, jsonl, tmp_path, damage, message):
    model = _damaged(model_dir, tmp_path, damage)
    code, _, err = call(capsys, "predict", "--model", model, "--input", jsonl, "--output", tmp_path / "o.jsonl")
    assert code == 2 and message in one_line(err)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_one_line(capsys, model_dir, jsonl, tmp_path):
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", jsonl, "--output", tmp_path / "o.jsonl", "--device", "cuda")
    assert code == 2 and "sees no CUDA GPU" in one_line(err)


# ---------------------------------------------------------------- evaluate.py

def test_evaluate_checks_its_output_folder_before_the_work(capsys, tmp_path):
    data = write_ls(tmp_path / "gold.json", [ls_task(marked("قصف ⟦ORG|داعش⟧"))])
    (tmp_path / "report").write_text("a file")
    code, _, err = call(capsys, "evaluate", "--model", tmp_path / "no-model", "--data", data, "--output-dir", tmp_path / "report")
    assert code == 2 and "is a file; give a folder for the report" in one_line(err)


@pytest.mark.parametrize("tasks", [[], [{"data": {"text": "قصف"}, "annotations": []}]])
def test_evaluate_with_nothing_to_score_is_one_line(capsys, model_dir, tmp_path, tasks):
    data = write_ls(tmp_path / "gold.json", tasks)
    code, _, err = call(capsys, "evaluate", "--model", model_dir, "--data", data, "--output-dir", tmp_path / "r")
    assert code == 2 and "no annotated documents to score" in err.splitlines()[-1] and "Traceback" not in err


def test_evaluate_conll_that_is_not_utf8_is_one_line(capsys, tmp_path):
    path = tmp_path / "p.conll"
    path.write_text("داعش B-ORG B-ORG\n", encoding="utf-16")
    code, _, err = call(capsys, "evaluate", "--conll", path, "--output-dir", tmp_path / "r")
    assert code == 2 and "not UTF-8" in one_line(err)


def test_evaluate_conll_errors_do_not_point_to_train_check(capsys, tmp_path):
    path = tmp_path / "p.conll"
    path.write_text("داعش B-ORG\n", encoding="utf-8")
    code, _, err = call(capsys, "evaluate", "--conll", path, "--output-dir", tmp_path / "r")
    assert code == 2 and "train.py --check" not in err


# ---------------------------------------------------------------- train.py

def _gold(tmp_path: Path, name: str = "gold.json") -> Path:
    days = ["اليوم", "أمس", "الأحد"]  # three different texts
    return write_ls(tmp_path / name, [ls_task(marked(f"قصف ⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧ {days[i]}", f"d{i}"), i) for i in range(3)])


@pytest.mark.parametrize("setting, message", [
    ("learning_rate=inf", "learning_rate: inf is not a finite number"),
    ("learning_rate=.nan", "learning_rate: nan is not a finite number"),
    ("scratch.hidden_size=250", "not a multiple of num_attention_heads"),
    ("warmup_steps=-5", "warmup_steps: -5.0 must be 0 or more"),
    ("gradient_accumulation_steps=0", "gradient_accumulation_steps: 0 must be positive"),
    ("lr_scheduler_type=bogus", "'bogus' is not one of linear"),
    ("logging_steps=0", "logging_steps: 0 must be positive"),
    ("seed=-1", "seed: -1 must be between 0"),
])
def test_config_values_out_of_range_are_one_line(capsys, tmp_path, setting, message):
    code, _, err = call(capsys, "train", "--config", "configs/tiny.yaml", "--train", _gold(tmp_path), "--set", setting,
                        "--output-dir", tmp_path / "m")
    assert code == 2 and message in one_line(err)
    assert not (tmp_path / "m").exists()


def test_set_errors_name_the_set_not_the_yaml_file(capsys, tmp_path):
    code, _, err = call(capsys, "train", "--config", "configs/tiny.yaml", "--set", "learning_rate=abc", "--check")
    assert code == 2 and one_line(err).startswith("--set learning_rate=abc: learning_rate: expected float")
    code, _, err = call(capsys, "train", "--config", "configs/tiny.yaml", "--set", "labels=[LOC", "--check")
    assert code == 2 and one_line(err).startswith("--set labels=[LOC: the value is not valid YAML")


def test_a_binary_config_is_one_line(capsys, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_bytes(b"\x00\x01\xff\xfe\x80")
    code, _, err = call(capsys, "train", "--config", config, "--check")
    assert code == 2 and "not a UTF-8 text file" in one_line(err)


@pytest.mark.parametrize("k", ["0", "1", "-3"])
def test_cv_below_two_is_refused(capsys, tmp_path, k):
    code, _, err = call(capsys, "train", "--config", "configs/tiny.yaml", "--train", _gold(tmp_path), "--cv", k,
                        "--output-dir", tmp_path / "m")
    assert code == 2 and "needs K of 2 or more" in one_line(err)
    assert not (tmp_path / "m").exists()


def test_the_same_file_twice_is_refused(capsys, tmp_path, monkeypatch):
    gold = _gold(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, _, err = call(capsys, "train", "--config", ROOT / "configs/tiny.yaml", "--train", "gold.json", "./gold.json", "--check")
    assert code == 2 and "./gold.json: is the same file as gold.json" in one_line(err)
    assert gold.is_file()


def test_an_existing_model_is_replaced_only_with_overwrite(capsys, model_dir, tmp_path):
    import shutil

    model = tmp_path / "m"
    shutil.copytree(model_dir, model)
    (model / "training_config.yaml").write_text("# written by train.py\n")
    before = digest(model / "model.safetensors")
    code, _, err = call(capsys, "train", "--config", "configs/tiny.yaml", "--train", _gold(tmp_path), "--output-dir", model)
    assert code == 2 and "holds a trained model; pass --overwrite" in one_line(err)
    assert digest(model / "model.safetensors") == before


def test_a_folder_train_did_not_write_is_never_replaced(capsys, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("x")
    code, _, err = call(capsys, "train", "--config", "configs/tiny.yaml", "--train", _gold(tmp_path), "--output-dir", folder, "--overwrite")
    assert code == 2 and "is a folder that train.py or pretrain.py did not write" in one_line(err)
    code, _, err = call(capsys, "train", "--config", "configs/tiny.yaml", "--train", _gold(tmp_path / "mine", "g.json"),
                        "--output-dir", folder, "--overwrite")
    assert code == 2 and "holds the input" in one_line(err)
    assert sorted(p.name for p in folder.iterdir()) == ["g.json", "thesis.tex"]


def test_resume_refuses_changed_training_data(tmp_path):
    from arabic_ner.core.problems import UserError
    from arabic_ner.training.trainer import CHECKPOINTS, DATA_FINGERPRINT, _resume_point, data_fingerprint

    config = Config()
    checkpoints = tmp_path / CHECKPOINTS
    (checkpoints / "checkpoint-3").mkdir(parents=True)
    (checkpoints / "checkpoint-3" / "trainer_state.json").write_text("{}")
    (checkpoints / "checkpoint-3" / "optimizer.pt").write_bytes(b"")
    old, new = [marked("قصف ⟦ORG|داعش⟧")], [marked("قصف ⟦LOC|داعش⟧")]
    (checkpoints / DATA_FINGERPRINT).write_text(data_fingerprint(old, []))
    assert _resume_point(config, checkpoints, True, data_fingerprint(old, [])).name == "checkpoint-3"
    with pytest.raises(UserError, match="the training or dev documents differ from the interrupted run's"):
        _resume_point(config, checkpoints, True, data_fingerprint(new, []))


def test_a_nan_loss_stops_training_with_one_line():
    from arabic_ner.core.problems import UserError
    from arabic_ner.training.trainer import stop_on_nan

    callback, state = stop_on_nan(Config(learning_rate=0.5)), type("State", (), {"global_step": 12})()
    callback.on_log(None, state, None, logs={"loss": 0.3})
    with pytest.raises(UserError, match=r"step 12: the loss became nan.*Lower learning_rate \(now 0.5\)"):
        callback.on_log(None, state, None, logs={"loss": float("nan")})
    with pytest.raises(UserError, match=r"step 12: the grad norm became inf"):  # the Trainer may log a loss of 0.0 then
        callback.on_log(None, state, None, logs={"loss": 0.0, "grad_norm": float("inf")})


def test_dev_documents_that_are_training_documents_are_warned_about(capsys):
    from arabic_ner.training.corpora import warn_dev_overlap

    docs = [marked("قصف ⟦ORG|داعش⟧", "a"), marked("في ⟦LOC|الموصل⟧", "b")]
    warn_dev_overlap(docs, docs[:1], "dev.json")
    assert "warning: 1 of the 1 dev documents in dev.json are also training documents" in capsys.readouterr().err


# ---------------------------------------------------------------- Label Studio structure

def _task(**changes) -> dict:
    task = ls_task(marked("قصف ⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧", "d1"), 7)
    annotation = task["annotations"][0]
    for key, value in changes.items():
        if key == "item":
            annotation["result"][0] = value
        elif key == "value":
            annotation["result"][0]["value"] = value
        elif key == "labels":
            annotation["result"][0]["value"]["labels"] = value
        elif key in ("result",):
            annotation[key] = value
        elif key == "text":
            task["data"]["text"] = value
        elif key == "doc_id":
            task["data"]["doc_id"] = value
        else:
            task[key] = value
    return task


@pytest.mark.parametrize("task, message", [
    (_task(annotations=5), "task 7: annotations is the number 5; it must be a list of annotations"),
    (_task(annotations=[5]), "task 7: annotation 1: is the number 5"),
    (_task(result=7), "result is the number 7; it must be a list of result items"),
    (_task(result={"type": "labels"}), "result is an object; it must be a list of result items"),
    (_task(value="ORG"), 'task 7: result item 1: value is the string "ORG"; it must be an object'),
    (_task(item={"value": {"start": 4, "end": 8, "labels": ["ORG"]}}), 'task 7: result item 1: has no "type"'),
    (_task(item="ORG"), "task 7: result item 1: is the string"),
    (_task(labels="ORG"), 'value.labels is the string "ORG"; it must be a list of one label'),
    (_task(text="قصف \ud800 داعش"), "task 7: data.text holds a lone UTF-16 surrogate ('\\ud800' at character 4)"),
    (_task(doc_id={"a": 1}), "task 7: data.doc_id is an object; give a string"),
    (5, "task #0: is the number 5; a task must look like"),
])
def test_malformed_label_studio_structure_is_an_error_naming_file_task_and_item(capsys, tmp_path, task, message):
    path = tmp_path / "export.json"
    good = ls_task(marked("في ⟦LOC|الموصل⟧", "d2"), 8)
    path.write_text(json.dumps([task, good], ensure_ascii=True), encoding="utf-8")
    code, out, err = call(capsys, "train", "--config", "configs/tiny.yaml", "--train", path, "--check")
    assert code == 1 and "Traceback" not in err
    errors = [line for line in (out + err).splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"{path}: " in errors[0] and message in errors[0], out + err


def test_result_items_of_other_types_are_counted_in_a_note(capsys, tmp_path):
    task = _task()
    task["annotations"][0]["result"].append({"type": "relation", "from_id": "r0", "to_id": "r1"})
    path = write_ls(tmp_path / "export.json", [task])
    code, out, err = call(capsys, "train", "--config", "configs/tiny.yaml", "--train", path, "--check")
    assert code == 0 and "result items other than spans were left out (1 of type 'relation')" in out + err


# ---------------------------------------------------------------- found by a second probe

def test_an_output_inside_the_model_directory_is_refused(capsys, model_dir, jsonl):
    before = digest(model_dir / "config.json")
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", jsonl, "--output", model_dir / "config.json", "--overwrite")
    assert code == 2 and "is inside the input folder" in one_line(err)
    assert digest(model_dir / "config.json") == before


def test_resume_with_another_model_is_refused(capsys, model_dir, jsonl, tmp_path):
    import shutil

    out = tmp_path / "o.jsonl"
    assert call(capsys, "predict", "--model", model_dir, "--input", jsonl, "--output", out)[0] == 0
    other = tmp_path / "other"
    shutil.copytree(model_dir, other)
    before = digest(out)
    code, _, err = call(capsys, "predict", "--model", other, "--input", jsonl, "--output", out, "--resume")
    assert code == 2 and "resume with the same model" in one_line(err)
    assert digest(out) == before
    assert {r["model_version"] for r in records(out)} == {f"m-{records(out)[0]['model_version'][-8:]}"}


def test_html_pages_never_go_into_a_folder_predict_did_not_write(capsys, model_dir, jsonl, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("my site")
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", jsonl, "--output", site, "--format", "html", "--overwrite")
    assert code == 2 and "is a folder that predict.py did not write" in one_line(err)
    assert (site / "index.html").read_text() == "my site"


def test_a_format_that_the_name_contradicts_is_warned_about(capsys, model_dir, jsonl, tmp_path):
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", jsonl, "--output", tmp_path / "o.json", "--format", "conll")
    assert code == 0 and "the name says labelstudio, but --format conll is written into it" in err


def test_garbage_pickle_weights_are_one_line_even_when_allowed(capsys, model_dir, jsonl, tmp_path):
    model = _damaged(model_dir, tmp_path, lambda d: ((d / "model.safetensors").unlink(), (d / "pytorch_model.bin").write_bytes(os.urandom(3000))))
    code, _, err = call(capsys, "predict", "--model", model, "--input", jsonl, "--output", tmp_path / "o.jsonl", "--allow-pickle")
    assert code == 2 and "not a usable Hugging Face model directory" in one_line(err)


def test_int8_quantises_a_model_saved_in_bf16(capsys, model_dir, jsonl, tmp_path):
    import shutil

    from transformers import AutoModelForTokenClassification

    model = tmp_path / "bf16"
    shutil.copytree(model_dir, model)
    AutoModelForTokenClassification.from_pretrained(model_dir, dtype="bfloat16").save_pretrained(model)
    code, _, err = call(capsys, "predict", "--model", model, "--input", jsonl, "--output", tmp_path / "o.jsonl", "--dtype", "int8")
    assert code == 0 and len(records(tmp_path / "o.jsonl")) == 2, err


def test_the_same_text_in_two_files_is_warned_about(capsys, tmp_path):
    first, second = _gold(tmp_path, "a.json"), _gold(tmp_path, "b.json")
    code, out, err = call(capsys, "train", "--config", "configs/tiny.yaml", "--train", first, second, "--check")
    assert "has the same text as document d0 of" in out + err and "trained on twice" in out + err


def test_an_export_of_predictions_only_has_nothing_to_train_on(capsys, tmp_path):
    task = {"id": 1, "data": {"text": TEXTS[0]}, "predictions": [{"result": []}]}
    path = write_ls(tmp_path / "pred.json", [task])
    code, out, err = call(capsys, "train", "--config", "configs/tiny.yaml", "--train", path, "--check")
    assert code == 1 and "predictions but no annotation (review them in Label Studio, then pull)" in err
    assert "no annotated documents to train on" in out + err


def test_a_value_text_that_is_not_a_string_is_warned_about(capsys, tmp_path):
    task = _task()
    task["annotations"][0]["result"][0]["value"]["text"] = 5
    path = write_ls(tmp_path / "export.json", [task])
    code, out, err = call(capsys, "train", "--config", "configs/tiny.yaml", "--train", path, "--check")
    assert code == 0 and "value.text is the number 5, not a string; the span is read from its offsets" in out + err


def test_evaluate_batch_size_zero_is_refused(capsys, model_dir, tmp_path):
    code, _, err = call(capsys, "evaluate", "--model", model_dir, "--data", _gold(tmp_path), "--batch-size", "0")
    assert code == 2 and "--batch-size: 0 must be 1 or more" in err


def test_probable_config_mistakes_are_warned_about(capsys, tmp_path):
    code, _, err = call(capsys, "train", "--config", "configs/tiny.yaml", "--train", _gold(tmp_path), "--check",
                        "--set", "learning_rate=5", "--set", "dev_fraction=0.9")
    assert code == 0 and "warning: config: learning_rate 5 is very high" in err and "dev_fraction 0.9 keeps more" in err


# ---------------------------------------------------------------- Label Studio commands, without a server

def call_labelstudio(capsys, monkeypatch, url: str, *args) -> tuple[int, str]:
    monkeypatch.setenv("LABEL_STUDIO_URL", url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "not-a-real-key")
    with pytest.raises(SystemExit) as exited:
        run(command_main(str(args[0])), [str(a) for a in args[1:]])
    return exited.value.code, capsys.readouterr().err


def test_a_password_in_the_label_studio_url_is_never_printed(capsys, monkeypatch, tmp_path):
    code, err = call_labelstudio(capsys, monkeypatch, "http://me:s3cret@127.0.0.1:9", "pull", "--project", "1",
                                 "--output", tmp_path / "o.json")
    assert code == 2 and "cannot reach Label Studio at http://me:***@127.0.0.1:9" in one_line(err) and "s3cret" not in err


def test_push_checks_its_input_and_model_before_asking_the_server(capsys, monkeypatch, model_dir, jsonl, tmp_path):
    code, err = call_labelstudio(capsys, monkeypatch, "http://127.0.0.1:9", "push", "--model", model_dir,
                                 "--input", tmp_path / "missing.jsonl", "--project", "p")
    assert code == 2 and "missing.jsonl: input not found" in one_line(err)
    code, err = call_labelstudio(capsys, monkeypatch, "http://127.0.0.1:9", "push", "--model", tmp_path / "no-model",
                                 "--input", jsonl, "--project", "p")
    assert code == 2 and "no-model: no such model directory" in one_line(err)


def test_html_pages_never_go_into_a_folder_with_a_foreign_manifest(capsys, model_dir, jsonl, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("my site")
    (site / "pages.jsonl").write_text("{}\n")
    code, _, err = call(capsys, "predict", "--model", model_dir, "--input", jsonl, "--output", site, "--format", "html", "--overwrite")
    assert code == 2 and "its pages.jsonl is not a predict.py manifest" in one_line(err)
    assert (site / "index.html").read_text() == "my site"
    out = tmp_path / "pages"
    assert call(capsys, "predict", "--model", model_dir, "--input", jsonl, "--output", out, "--format", "html")[0] == 0
    assert call(capsys, "predict", "--model", model_dir, "--input", jsonl, "--output", out, "--format", "html", "--overwrite")[0] == 0


# ---------------------------------------------------------------- a pretrained model given as `model: DIR`

@pytest.mark.parametrize("damage, message", [
    (lambda d: [p.unlink() for p in d.iterdir() if p.name.startswith(("tokenizer", "vocab", "special_tokens"))],
     "no tokenizer files (tokenizer.json or vocab.txt); without them every word would be [UNK]"),
    (lambda d: (d / "model.safetensors").write_bytes(b"\0" * 64), "not a usable Hugging Face model directory"),
])
def test_a_damaged_pretrained_directory_is_one_line_before_training(capsys, pretrained_dir, tmp_path, damage, message):
    import shutil

    bert = tmp_path / "bert"
    shutil.copytree(pretrained_dir, bert)
    damage(bert)
    code, _, err = call(capsys, "train", "--config", "configs/camelbert-msa.yaml", "--train", _gold(tmp_path),
                        "--set", f"model={bert}", "--output-dir", tmp_path / "m")
    assert code == 2 and message in one_line(err)
    assert not (tmp_path / "m").exists()


def test_conll_predictions_read_back_as_the_same_documents(tmp_path):
    from arabic_ner.core.document import Document, Span
    from arabic_ner.core.problems import Problems
    from arabic_ner.data.conll import read_conll
    from arabic_ner.data.writers import PredictionWriter

    docs = [Document("a", "قصف التحالف مواقع لداعش", [Span(4, 11, "ORG"), Span(19, 23, "ORG")]),
            Document("b", "في الموصل", [Span(3, 9, "LOC")])]
    with PredictionWriter(tmp_path / "o.conll", "conll", "tiny-abc") as writer:
        for doc in docs:
            writer.write(doc, None)
    problems = Problems()
    back = read_conll(tmp_path / "o.conll", ["LOC", "ORG"], problems)
    assert not problems.errors
    # CoNLL keeps tokens, not the spacing between them: a text comes back as its tokens joined by spaces
    assert [d.id for d in back] == ["a", "b"]
    assert [d.text.split() for d in back] == [["قصف", "التحالف", "مواقع", "ل", "داعش"], ["في", "الموصل"]]
    assert [[(d.text[s.start:s.end], s.label) for s in d.spans] for d in back] == \
        [[(d.text[s.start:s.end], s.label) for s in d.spans] for d in docs]


# ---------------------------------------------------------------- line separators that are not newlines

SEPARATED = {"id": "a\u2028b\x85c", "text": "قصف\u2028التحالف مواقع\x85لداعش\x0bفي\x0cالموصل\u2029وبغداد"}


def test_an_html_run_whose_ids_hold_line_separators_writes_its_pages_and_index(model_dir, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [SEPARATED, {"id": "d1", "text": TEXTS[0]}]),
                      encoding="utf-8")
    site = tmp_path / "site"
    result = run_command("predict", "--model", str(model_dir), "--input", str(source), "--output", str(site), "--format", "html")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    pages = [json.loads(line) for line in (site / "pages.jsonl").read_text(encoding="utf-8").split("\n") if line]
    assert [p["id"] for p in pages] == [SEPARATED["id"], "d1"]
    assert all((site / p["page"]).is_file() for p in pages)
    index = (site / "index.html").read_text(encoding="utf-8")
    assert f">{SEPARATED['id']}</a>" in index and ">d1</a>" in index


def test_conll_predictions_of_texts_holding_line_separators_read_back_with_the_same_tokens(model_dir, tmp_path):
    import re

    from arabic_ner.core.problems import Problems
    from arabic_ner.data.conll import read_conll

    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(SEPARATED, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "o.conll"
    result = run_command("predict", "--model", str(model_dir), "--input", str(source), "--output", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    written = [line.split(" ")[0] for line in out.read_text(encoding="utf-8").split("\n") if line and not line.startswith("# ")]
    id2label = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))["id2label"]
    problems = Problems()
    (doc,) = read_conll(out, sorted({tag[2:] for tag in id2label.values() if tag != "O"}), problems)
    assert problems.errors == [] and doc.id == "a\\u2028b\\x85c"
    assert doc.text.split(" ") == written
    assert "".join(written) == re.sub(r"\s", "", SEPARATED["text"])  # every character but the separators, in order


def test_evaluate_conll_reads_gold_and_predictions_through_the_map(capsys, tmp_path):
    path = tmp_path / "p.conll"
    path.write_text("داعش B-ORG B-ORG\nفي O O\nالموصل B-LOC O\n", encoding="utf-8")
    code, out, err = call(capsys, "evaluate", "--conll", path, "--map", "LOC=null", "--output-dir", tmp_path / "r")
    assert code == 0 and out.startswith("seqeval strict micro F1 100.0\n")
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert sorted(report["seqeval"]["strict"]["per_type"]) == ["ORG"]
    code, out, err = call(capsys, "evaluate", "--conll", path, "--map", "LOC=ORG", "--output-dir", tmp_path / "r2")
    assert code == 0 and out.startswith("seqeval strict micro F1 66.7\n")


def test_evaluate_conll_with_a_bad_map_is_one_line(capsys, tmp_path):
    path = tmp_path / "p.conll"
    path.write_text("داعش B-ORG B-ORG\n", encoding="utf-8")
    code, _, err = call(capsys, "evaluate", "--conll", path, "--map", "LOC", "--output-dir", tmp_path / "r")
    assert code == 2 and one_line(err) == "--map 'LOC': expected LABEL=TARGET, e.g. --map GPE=LOC, or LABEL=null to drop a label"
    assert not (tmp_path / "r").exists()
