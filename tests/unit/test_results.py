"""Typed results: each one's JSON form reads back to the same result, and a wrong file is one line naming the field."""

from __future__ import annotations

import json
import logging

import pytest

from arabic_ner.core.document import Document, Span
from arabic_ner.core.problems import Problems, UserError
from arabic_ner.core.results import (
    CrossValidation,
    EvaluationReport,
    Fold,
    MeanStd,
    SourceCount,
    TrainingMetrics,
    TrainSummary,
    from_plain,
    read_json,
    to_plain,
    write_json,
)
from arabic_ner.evaluation.scoring import report_markdown, score_conll, score_documents
from arabic_ner.training.crossval import cv_markdown, summarise

from helpers import marked

LABELS = ["LOC", "ORG", "DATE"]


def scored() -> EvaluationReport:
    gold = marked("قصف ل⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧ يوم ⟦DATE|الخميس⟧", "d1")
    pred = Document("d1", gold.text, [gold.spans[1], Span(gold.spans[0].start, gold.spans[0].end, "LOC")])
    report, _ = score_documents([gold], [pred], LABELS)
    return report


def test_an_evaluation_report_reads_back_from_its_json(tmp_path):
    report = scored()
    report.model, report.document_ids = "models/x", ["d1"]
    path = write_json(tmp_path / "report.json", report)
    assert read_json(EvaluationReport, path) == report
    plain = json.loads(path.read_text(encoding="utf-8"))
    assert plain["spans"]["micro"]["f1"] == report.spans.micro.f1  # the file keeps the shape other tools read
    assert "sentences" not in plain and plain["spans"]["per_type"]["LOC"]["support"] == 1


def test_a_conll_report_has_no_span_fields_in_its_json(tmp_path):
    path = tmp_path / "out.conll"
    path.write_text("قصف O O\nداعش B-ORG B-ORG\n", encoding="utf-8")
    report = score_conll(path, Problems())
    plain = to_plain(report)
    assert set(plain) == {"sentences", "tokens", "seqeval"}
    assert from_plain(EvaluationReport, plain) == report


def test_training_metrics_read_back_with_numpy_numbers_in_the_log(tmp_path):
    import numpy as np

    metrics = TrainingMetrics(
        train=TrainSummary(documents=4, windows=9, spans_per_label={"LOC": 3}, sources=[SourceCount("a.json", 4, 9)],
                           text_sha256=["ab12"], train_loss=0.5, epoch=2.0),
        best_checkpoint="checkpoint-4", log_history=[{"loss": np.float32(0.5), "step": np.int64(4)}], dev=scored())
    back = read_json(TrainingMetrics, write_json(tmp_path / "metrics.json", metrics))
    assert back.log_history == [{"loss": 0.5, "step": 4}] and back.dev == metrics.dev and back.train == metrics.train
    metrics.dev = metrics.best_checkpoint = None  # a model trained without dev documents
    plain = to_plain(metrics)
    assert "dev" not in plain and "best_checkpoint" not in plain and from_plain(TrainingMetrics, plain) == metrics


def test_a_cross_validation_reads_back_with_its_folds_flat_in_json(tmp_path):
    folds = [Fold(1, ["d1"], scored()), Fold(2, ["d2"], scored())]
    cv = CrossValidation(2, folds, summarise(folds, LABELS))
    plain = json.loads(write_json(tmp_path / "cv.json", cv).read_text(encoding="utf-8"))
    assert plain["folds"][0]["fold"] == 1 and "spans" in plain["folds"][0] and "report" not in plain["folds"][0]
    assert read_json(CrossValidation, tmp_path / "cv.json") == cv
    assert cv.mean_std.span_f1_per_type["ORG"] == MeanStd(0.0, 0.0)  # ORG is in the gold, never predicted right
    assert "| LOC | 66.7 ± 0.0 |" in cv_markdown(cv, LABELS)  # one right LOC, one spurious


def test_a_metrics_file_of_the_wrong_shape_is_one_line_naming_the_field(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"train": {"documents": "four", "windows": 1, "spans_per_label": {}}}), encoding="utf-8")
    with pytest.raises(UserError) as err:
        read_json(TrainingMetrics, path)
    assert str(path) in str(err.value) and "train.documents" in str(err.value) and "\n" not in str(err.value)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(UserError, match="not JSON"):
        read_json(TrainingMetrics, path)
    with pytest.raises(UserError, match=r"missing\.json: cannot read it"):
        read_json(TrainingMetrics, tmp_path / "missing.json")


def test_the_report_gives_each_scoring_mode_its_own_support():
    """conlleval counts a stray I- as an entity and strict does not, so their supports differ."""
    path_text = [["B-LOC", "I-LOC", "O", "I-ORG"]], [["B-LOC", "I-LOC", "O", "I-ORG"]]
    from arabic_ner.evaluation.metrics import seqeval_scores

    report = EvaluationReport(sentences=1, tokens=4, seqeval=seqeval_scores(*path_text, ["LOC", "ORG"]))
    assert report.seqeval.strict.micro.support == 1 and report.seqeval.conlleval.micro.support == 2
    table = report_markdown(report, None, "t").split("| type |")[1]
    assert "seqeval strict (IOB2) support" in table and "seqeval conlleval support" in table
    micro = next(line for line in table.splitlines() if line.startswith("| **micro** |"))
    cells = [c.strip() for c in micro.strip("|").split("|")]
    assert cells[2] == "1" and cells[4] == "2"


def test_the_library_logs_to_stderr_and_a_notebook_can_silence_it(capsys, tmp_path):
    from arabic_ner.training.corpora import warn_dev_overlap

    doc = marked("قصف ⟦LOC|الموصل⟧", "d1")
    warn_dev_overlap([doc], [doc], "dev.json")
    assert "warning: 1 of the 1 dev documents in dev.json" in capsys.readouterr().err
    logger = logging.getLogger("arabic_ner")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        warn_dev_overlap([doc], [doc], "dev.json")
    finally:
        logger.setLevel(level)
    assert capsys.readouterr().err == ""
