import json

import pytest

from arabic_ner.core.document import Document, Span
from arabic_ner.core.problems import Problems, UserError
from arabic_ner.evaluation.metrics import classify_errors, seqeval_scores, span_scores
from arabic_ner.evaluation.scoring import score_conll, score_documents, write_report

from helpers import marked


def test_strict_and_conlleval_modes_differ_on_a_stray_inside_tag():
    y_true = [["B-LOC", "I-LOC", "O"]]
    y_pred = [["I-LOC", "I-LOC", "O"]]  # conlleval repairs the stray I-; strict IOB2 does not
    scores = seqeval_scores(y_true, y_pred, ["LOC"])
    assert scores.conlleval.micro.f1 == 1.0
    assert scores.strict.micro.f1 == 0.0


def test_types_absent_from_both_sides_are_reported_as_unscored():
    scores = seqeval_scores([["B-LOC"]], [["B-LOC"]], ["LOC", "DATE"])
    assert scores.strict.per_type["DATE"] is None


def test_span_scores_need_exact_offsets_and_label():
    gold = [[Span(0, 4, "ORG"), Span(10, 15, "LOC")]]
    pred = [[Span(0, 4, "ORG"), Span(10, 14, "LOC"), Span(20, 22, "DATE")]]
    scores = span_scores(gold, pred, ["ORG", "LOC", "DATE"])
    assert scores.micro.precision == pytest.approx(1 / 3)
    assert scores.micro.recall == pytest.approx(1 / 2)
    assert scores.per_type["ORG"].f1 == 1.0 and scores.per_type["LOC"].f1 == 0.0
    assert scores.macro.f1 == pytest.approx(1 / 3)


def test_error_kinds():
    gold = [Span(0, 4, "ORG"), Span(10, 15, "LOC"), Span(20, 25, "DATE"), Span(30, 35, "COUNT")]
    pred = [Span(0, 4, "LOC"), Span(10, 13, "LOC"), Span(40, 45, "ORG")]
    kinds = [(k, g and g.start, p and p.start) for k, g, p in classify_errors(gold, pred)]
    assert kinds == [
        ("wrong-type", 0, 0),
        ("wrong-boundary", 10, 10),
        ("missed", 20, None),
        ("missed", 30, None),
        ("spurious", None, 40),
    ]


def test_perfect_predictions_score_one_and_list_no_errors(hard_documents):
    report, errors = score_documents(hard_documents, hard_documents, ["LOC", "ORG", "WEAPON", "COUNT", "DATE"])
    assert report.spans.micro.f1 == 1.0
    assert report.seqeval.strict.micro.f1 == 1.0
    assert errors == [] and report.unaligned_gold_spans == 0


def test_report_files_are_written_with_error_context(tmp_path):
    gold = marked("قصف ل⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧", "d1")
    pred = Document("d1", gold.text, [Span(gold.spans[0].start, gold.spans[0].end, "LOC")])
    report, errors = score_documents([gold], [pred], ["LOC", "ORG"])
    paths = write_report(report, errors, tmp_path, "t")
    assert [p.name for p in paths] == ["report.json", "report.md", "errors.jsonl"]
    lines = [json.loads(x) for x in (tmp_path / "errors.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [e["kind"] for e in lines] == ["wrong-type", "missed"]
    assert "⟦داعش⟧" in lines[0]["context"]
    assert "| **micro** |" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_conll_file_with_three_columns_is_scored_without_a_model(tmp_path):
    path = tmp_path / "out.conll"
    path.write_text("-DOCSTART- O O\n\nقصف O O\nداعش B-ORG B-ORG\n\nفي O O\nالموصل B-LOC O\n", encoding="utf-8")
    report = score_conll(path, Problems())
    assert report.sentences == 2 and report.tokens == 4
    assert report.seqeval.strict.micro.recall == 0.5


def test_conll_file_errors_name_the_line(tmp_path):
    path = tmp_path / "out.conll"
    path.write_text("قصف O\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"out.conll: line 1: expected 'token GOLD PRED', found 2 fields"):
        score_conll(path, Problems())
