"""The scripts as a user runs them: train -> evaluate -> predict, offline, on a tiny model.

The memorisation test trains a small scratch model for 60 epochs on every hard case of the
alignment (proclitics, diacritics, tatweel, invisible marks, NBSP, CRLF, emoji and flags,
Arabic-Indic digits, Latin, runs of spaces, and a 700-word article with an entity at its very
end) and checks that predicting the same texts gives back the gold spans exactly.
"""

from __future__ import annotations

import json

import pytest

from arabic_ner.data.labelstudio_json import labelstudio_task

from helpers import (
    assert_spans_given_back_exactly,
    marked,
    one_line_errors,
    predicted_records,
    run_command,
    sets,
    tiny_overrides,
    write_ls,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def memorised(tmp_path_factory, request):
    """Train once for the module: (work dir, gold file, model dir, gold documents)."""
    from helpers import HARD_CASES, long_document

    work = tmp_path_factory.mktemp("e2e")
    gold = [marked(t, f"case-{i}") for i, t in enumerate(HARD_CASES)] + [marked(long_document(), "long")]
    gold_file = write_ls(work / "gold.json", [labelstudio_task(d) | {"id": i} for i, d in enumerate(gold)])
    model_dir = work / "model"
    overrides = tiny_overrides(**{  # the tiny config's width, half its depth: it memorises in ~30 of the 60 epochs
        "scratch.num_hidden_layers": 2,
        "scratch.hidden_size": 256,
        "scratch.num_attention_heads": 4,
        "scratch.intermediate_size": 1024,
        "num_train_epochs": 60,
        "learning_rate": 1e-3,
    })
    result = run_command(
        "train", "--config", "configs/tiny.yaml", "--train", str(gold_file), "--dev", str(gold_file),
        "--output-dir", str(model_dir), *sets(*overrides),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return work, gold_file, model_dir, gold


def test_model_dir_is_a_standard_hugging_face_dir_with_config_and_metrics(memorised):
    _, _, model_dir, _ = memorised
    names = {p.name for p in model_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "training_config.yaml", "metrics.json"} <= names
    assert {"README.md", "training_curves.png"} <= names  # the model card and the learning curves
    card = (model_dir / "README.md").read_text(encoding="utf-8")
    assert "pipeline(" in card and "| LOC |" in card
    assert not any(n.endswith(".bin") for n in names) and "checkpoints" not in names
    config = json.loads((model_dir / "config.json").read_text())
    assert list(config["id2label"].values()) == ["O"] + [f"{p}-{t}" for t in ["LOC", "ORG", "WEAPON", "COUNT", "DATE"] for p in ("B", "I", "B1", "B2")]
    assert config["arabic_ner"]["scheme"] == "arabic-ner-words/2"


def test_memorisation_reproduces_every_gold_span_exactly(memorised):
    work, gold_file, model_dir, gold = memorised
    records = predicted_records(model_dir, gold_file, work / "pred.jsonl")
    assert_spans_given_back_exactly(gold, records)
    long_record = records[-1]
    assert long_record["entities"][-1]["text"] == "كركوك"  # the entity at the end of the 700-word article


def test_evaluate_scores_the_memorised_model_perfectly(memorised):
    work, gold_file, model_dir, _ = memorised
    result = run_command("evaluate", "--model", str(model_dir), "--data", str(gold_file), "--output-dir", str(work / "report"))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((work / "report" / "report.json").read_text(encoding="utf-8"))
    assert report["spans"]["micro"]["f1"] == 1.0
    assert report["seqeval"]["strict"]["micro"]["f1"] == 1.0 and report["seqeval"]["conlleval"]["micro"]["f1"] == 1.0
    assert (work / "report" / "report.md").is_file() and (work / "report" / "errors.jsonl").read_text() == ""
    # it was trained on these very texts, and the report says so
    assert report["documents_seen_in_training"] == report["documents"]
    assert f"{report['documents']} of the {report['documents']} documents in {gold_file} were in" in result.stderr
    assert "were in the model's training data" in (work / "report" / "report.md").read_text(encoding="utf-8")


def test_evaluate_on_unseen_texts_gives_no_training_data_warning(memorised):
    work, _, model_dir, gold = memorised
    unseen = write_ls(work / "unseen.json", [labelstudio_task(marked("قال مسؤول في ⟦LOC|بغداد⟧ أمس", "new")) | {"id": 1}])
    result = run_command("evaluate", "--model", str(model_dir), "--data", str(unseen), "--output-dir", str(work / "unseen"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "training data" not in result.stderr
    assert "documents_seen_in_training" not in json.loads((work / "unseen" / "report.json").read_text(encoding="utf-8"))


def test_predict_writes_label_studio_tasks_and_conll(memorised):
    work, gold_file, model_dir, gold = memorised
    out = work / "pred.json"
    assert run_command("predict", "--model", str(model_dir), "--input", str(gold_file), "--output", str(out)).returncode == 0
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert [t["data"]["doc_id"] for t in tasks] == [d.id for d in gold]
    prediction = tasks[0]["predictions"][0]
    assert prediction["model_version"].startswith("model-") and 0 < prediction["score"] <= 1
    conll = work / "pred.conll"
    assert run_command("predict", "--model", str(model_dir), "--input", str(gold_file), "--output", str(conll)).returncode == 0
    assert "داعش B-ORG" in conll.read_text(encoding="utf-8")
    pages = work / "pages"
    assert run_command("predict", "--model", str(model_dir), "--input", str(gold_file), "--output", str(pages), "--format", "html").returncode == 0
    assert len(list(pages.glob("0*.html"))) == len(gold) and (pages / "index.html").is_file()
    assert '<mark style="background-color' in (pages / "00001-case-0.html").read_text(encoding="utf-8")


def test_predicted_label_studio_file_reads_back_as_annotations(memorised):
    """The labelstudio output, with its predictions accepted as annotations, is training data."""
    from arabic_ner.core.problems import Problems
    from arabic_ner.data.labelstudio_json import ReadStats, read_annotations

    work, gold_file, model_dir, gold = memorised
    out = work / "accepted.json"
    assert run_command("predict", "--model", str(model_dir), "--input", str(gold_file), "--output", str(out)).returncode == 0
    tasks = json.loads(out.read_text(encoding="utf-8"))
    for task in tasks:
        task["annotations"] = task.pop("predictions")
    out.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    problems = Problems()
    docs = read_annotations(out, ["LOC", "ORG", "WEAPON", "COUNT", "DATE"], problems, ReadStats())
    assert problems.items == []
    assert [(d.text, d.spans) for d in docs] == [(g.text, sorted(g.spans)) for g in gold]


def test_transformers_pipeline_loads_the_saved_dir_as_is(memorised):
    from transformers import pipeline

    _, _, model_dir, _ = memorised
    tagger = pipeline("token-classification", model=str(model_dir), aggregation_strategy="simple")
    entities = tagger("قصف التحالف مواقع في العراق")
    assert isinstance(entities, list)
    assert all(e["entity_group"] in {"LOC", "ORG", "WEAPON", "COUNT", "DATE"} for e in entities)


def test_train_check_reports_counts_and_exits_zero_on_good_data(memorised):
    _, gold_file, _, gold = memorised
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(gold_file), "--check", *sets(*tiny_overrides()))
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{len(gold)} documents, {sum(len(d.spans) for d in gold)} spans" in result.stdout
    assert "check: 0 error(s)" in result.stdout


def test_bad_annotations_stop_training_with_one_line_each_and_no_traceback(tmp_path):
    text = "قصف الدولة الإسلامية في الموصل"
    results = [
        {"type": "labels", "value": {"start": 4, "end": 20, "labels": ["ORG"]}},
        {"type": "labels", "value": {"start": 4, "end": 10, "labels": ["LOC"]}},
        {"type": "labels", "value": {"start": 24, "end": 30, "labels": ["PLACE"]}},
    ]
    bad = write_ls(tmp_path / "bad.json", [{"id": 3, "data": {"text": text}, "annotations": [{"result": results}]}])
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(bad), "--output-dir", str(tmp_path / "m"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = one_line_errors(result.stderr)
    (overlap,) = [line for line in lines if "overlaps" in line]
    assert "bad.json: task 3: span" in overlap
    assert "[4,10) 'الدولة' LOC" in overlap and "[4,20) 'الدولة الإسلامية' ORG" in overlap
    assert any("label 'PLACE' is not declared" in line for line in lines)
    assert not (tmp_path / "m").exists()


def test_check_exits_non_zero_on_bad_data(tmp_path):
    bad = write_ls(tmp_path / "bad.json", [{"id": 1, "data": {"text": "قصف داعش"}, "annotations": [{"result": [
        {"type": "labels", "value": {"start": 4, "end": 40, "labels": ["ORG"]}}]}]}])
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(bad), "--check")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "0 <= start < end <= 8" in result.stderr


def test_malformed_json_stops_training_with_line_and_column(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"data": {"text": "x"}, "annotations": [}]', encoding="utf-8")
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(bad), "--output-dir", str(tmp_path / "m"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "bad.json: malformed JSON at line 1, column 42" in result.stderr


def test_camelbert_config_offline_fails_with_one_clear_line(tmp_path):
    result = run_command("train", "--config", "configs/camelbert-msa.yaml", "--output-dir", str(tmp_path / "m"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot load 'CAMeL-Lab/bert-base-arabic-camelbert-msa'" in result.stderr
    assert "configs/tiny.yaml" in result.stderr


def test_unknown_config_key_from_the_command_line(tmp_path):
    result = run_command("train", "--config", "configs/tiny.yaml", "--set", "epochs=3")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "unknown config key 'epochs'" in result.stderr


def test_without_dev_the_split_is_by_document(tmp_path):
    docs = [marked(f"قصف ل⟦ORG|داعش⟧ رقم {i}", f"d{i}") for i in range(5)]
    path = write_ls(tmp_path / "g.json", [labelstudio_task(d) | {"id": i} for i, d in enumerate(docs)])
    result = run_command(
        "train", "--config", "configs/tiny.yaml", "--train", str(path), "--output-dir", str(tmp_path / "m"),
        *sets(*tiny_overrides(num_train_epochs=1)),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["dev"]["documents"] == 1 and metrics["train"]["documents"] == 4
    assert len(metrics["dev"]["document_ids"]) == 1 and metrics["dev"]["document_ids"][0] in {d.id for d in docs}


def test_training_prints_one_line_per_epoch_and_transformers_output_only_with_verbose(tmp_path):
    import re

    docs = [marked(f"قصف ل⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧ رقم {i}", f"d{i}") for i in range(5)]
    path = write_ls(tmp_path / "g.json", [labelstudio_task(d) | {"id": i} for i, d in enumerate(docs)])
    runs = {}
    for verbose in (False, True):
        result = run_command(
            "train", "--config", "configs/tiny.yaml", "--train", str(path), "--output-dir", str(tmp_path / f"m{verbose}"),
            *sets(*tiny_overrides(num_train_epochs=3, logging_steps=50)), *(["--verbose"] if verbose else []),
        )
        assert result.returncode == 0, result.stderr[-2000:]
        runs[verbose] = result.stdout + result.stderr
    epoch = re.compile(r"^epoch (\d)/3  loss \d+\.\d{4}  dev P/R/F1 [\d.]+ / [\d.]+ / [\d.]+  \d+\.\d s$", re.M)
    assert [m.group(1) for m in epoch.finditer(runs[False])] == ["1", "2", "3"]  # a loss every epoch, though logging_steps=50
    for chatter in ("{'loss'", "'eval_f1'", "Writing model shards", "100%|"):
        assert chatter not in runs[False] and chatter in runs[True]
    assert not epoch.search(runs[True])
    history = json.loads((tmp_path / "mFalse" / "metrics.json").read_text())["log_history"]
    assert [e["epoch"] for e in history if "loss" in e] == [1, 2, 3]  # and metrics.json keeps them


def test_cross_validation_reports_mean_and_std(tmp_path):
    docs = [marked(f"قصف ل⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧ رقم {i}", f"d{i}") for i in range(4)]
    path = write_ls(tmp_path / "g.json", [labelstudio_task(d) | {"id": i} for i, d in enumerate(docs)])
    result = run_command(
        "train", "--config", "configs/tiny.yaml", "--train", str(path), "--output-dir", str(tmp_path / "cv"),
        "--cv", "2", *sets(*tiny_overrides(num_train_epochs=2)),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2-fold CV span micro F1:" in result.stdout and "±" in result.stdout
    summary = json.loads((tmp_path / "cv" / "cv.json").read_text())
    tested = sorted(d for fold in summary["folds"] for d in fold["test_documents"])
    assert tested == sorted(d.id for d in docs)
    assert (tmp_path / "cv" / "cv.md").is_file() and (tmp_path / "cv" / "cv.png").is_file()
    assert not list((tmp_path / "cv").glob("fold-*"))  # fold models are removed


def test_cv_into_a_model_dir_adds_the_estimate_to_its_card(tmp_path):
    docs = [marked(f"قصف ل⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧ رقم {i}", f"d{i}") for i in range(4)]
    path = write_ls(tmp_path / "g.json", [labelstudio_task(d) | {"id": i} for i, d in enumerate(docs)])
    common = ["--config", "configs/tiny.yaml", "--train", str(path), "--output-dir", str(tmp_path / "m"), *sets(*tiny_overrides(num_train_epochs=1))]
    assert run_command("train", *common).returncode == 0
    assert "cross-validation" not in (tmp_path / "m" / "README.md").read_text(encoding="utf-8").lower()
    result = run_command("train", *common, "--cv", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cross-validation" in (tmp_path / "m" / "README.md").read_text(encoding="utf-8").lower()
    assert (tmp_path / "m" / "model.safetensors").is_file()


@pytest.mark.parametrize("dtype, engine", [("fp32", None), ("bf16", None), ("int8", "torch"), ("int8", None)])
def test_every_dtype_gives_back_the_memorised_spans(memorised, dtype, engine):
    """int8 on both engines: torch's quantize_dynamic, and onnxruntime (the default on a CPU,
    exported into the model's folder on this first use)."""
    from arabic_ner.model.precision import cpu_has_native_bf16

    work, gold_file, model_dir, gold = memorised
    out = work / f"pred-{dtype}-{engine}.jsonl"
    result = run_command("predict", "--model", str(model_dir), "--input", str(gold_file), "--output", str(out), "--dtype", dtype,
                         *(["--engine", engine] if engine else []))
    assert result.returncode == 0, result.stderr[-3000:]
    ran = dtype if dtype != "bf16" or cpu_has_native_bf16() else "fp32"
    assert f"precision: {ran} (" in result.stderr  # one line says what ran, and why
    assert ("onnxruntime, " in result.stderr) == (dtype == "int8" and engine is None)
    assert_spans_given_back_exactly(gold, [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()])


def test_bf16_training_says_what_it_chose_and_saves_an_fp32_model(tmp_path):
    from safetensors import safe_open

    from arabic_ner.model.precision import cpu_has_native_bf16

    docs = [marked(f"قصف ل⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧ رقم {i}", f"d{i}") for i in range(3)]
    path = write_ls(tmp_path / "g.json", [labelstudio_task(d) | {"id": i} for i, d in enumerate(docs)])
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(path), "--output-dir", str(tmp_path / "m"),
                        *sets(*tiny_overrides(num_train_epochs=1, bf16="true")))
    assert result.returncode == 0, result.stderr[-2000:]
    expected = "precision: bf16 mixed precision on this CPU" if cpu_has_native_bf16() else "precision: fp32 (bf16 asked for"
    assert expected in result.stderr
    with safe_open(str(tmp_path / "m" / "model.safetensors"), "pt") as weights:
        assert {str(weights.get_tensor(k).dtype) for k in weights.keys()} == {"torch.float32"}
