"""The plots draw the numbers they are given, and the evaluation report writes and links them.

Also here: the type confusion counts the confusion plot is drawn from (metrics.type_confusion).
"""

from __future__ import annotations

import json

import pytest
from PIL import Image

from arabic_ner.core.document import Document, Span
from arabic_ner.core.results import ERROR_KINDS, CrossValidation, EvaluationReport, Fold, Scores, ScoreTable, SeqevalScores, from_plain, to_plain
from arabic_ner.evaluation.metrics import type_confusion
from arabic_ner.evaluation.scoring import score_documents, write_report
from arabic_ner.reports.plots import confusion_figure, cv_figure, errors_figure, learning_curves_figure, plot_cv, plot_learning_curves, scores_figure

from helpers import marked

LABELS = ["LOC", "ORG", "WEAPON", "COUNT", "DATE"]


def bars(ax, gid: str) -> list[float]:
    return [p.get_height() for p in ax.patches if p.get_gid() == gid]


def line(ax, gid: str) -> tuple[list, list]:
    (found,) = [ln for ln in ax.lines if ln.get_gid() == gid]
    return list(found.get_xdata()), list(found.get_ydata())


def assert_real_png(path, min_colours: int = 20):
    """A PNG of a drawn plot: it opens, has some size, and is not one flat colour."""
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 300 and image.height > 200
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20)) >= min_colours


@pytest.fixture
def scored():
    """A gold document and predictions with one error of every kind, scored."""
    gold = marked("قصف ⟦ORG|التحالف⟧ مواقع ل⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧ يوم ⟦DATE|٦ نيسان⟧ بطائرة ⟦WEAPON|F-16⟧", "d1")
    by_text = {gold.text[s.start:s.end]: s for s in gold.spans}
    org1, org2, loc = by_text["التحالف"], by_text["داعش"], by_text["الموصل"]
    pred = Document("d1", gold.text, [
        org1,                                     # right
        Span(org2.start, org2.end, "LOC"),        # wrong-type ORG -> LOC
        Span(loc.start, loc.end - 2, "LOC"),      # wrong-boundary
        Span(0, 3, "COUNT"),                      # spurious (on قصف)
    ])                                            # DATE and WEAPON missed
    return score_documents([gold], [pred], LABELS)


# ---------------------------------------------------------------- confusion counts


def test_type_confusion_puts_missed_in_a_column_and_spurious_in_a_row():
    gold = [[Span(0, 4, "ORG"), Span(10, 15, "LOC"), Span(20, 25, "DATE")]]
    pred = [[Span(0, 4, "LOC"), Span(10, 13, "LOC"), Span(40, 45, "ORG")]]
    matrix = type_confusion(gold, pred, ["LOC", "ORG", "DATE"])
    assert list(matrix) == ["LOC", "ORG", "DATE", "spurious"]
    assert list(matrix["LOC"]) == ["LOC", "ORG", "DATE", "missed"]
    nonzero = {(r, c): n for r, row in matrix.items() for c, n in row.items() if n}
    # the boundary error of LOC lands on the diagonal; the type error off it
    assert nonzero == {("ORG", "LOC"): 1, ("LOC", "LOC"): 1, ("DATE", "missed"): 1, ("spurious", "ORG"): 1}


def test_type_confusion_adds_types_outside_the_label_list():
    matrix = type_confusion([[Span(0, 4, "PER")]], [[]], ["LOC"])
    assert list(matrix) == ["LOC", "PER", "spurious"] and matrix["PER"]["missed"] == 1


def test_type_confusion_agrees_with_the_error_counts(scored):
    report, _ = scored
    matrix = report.confusion
    types = [t for t in matrix if t != "spurious"]
    assert sum(matrix[t]["missed"] for t in types) == report.errors["missed"] == 2
    assert sum(matrix["spurious"][t] for t in types) == report.errors["spurious"] == 1
    assert sum(matrix[g][p] for g in types for p in types if g != p) == report.errors["wrong-type"] == 1
    assert sum(matrix[t][t] for t in types) == 2  # one exact, one boundary error
    json.dumps(to_plain(report))  # the report's JSON form holds the matrix as it is


# ---------------------------------------------------------------- evaluation figures


def test_scores_figure_draws_each_types_scores_and_marks_unscored_types():
    scores = Scores(precision=0.5, recall=0.25, f1=1 / 3, support=4)
    table = ScoreTable(per_type={"LOC": scores, "DATE": None}, micro=scores, macro=scores)
    ax = scores_figure(table).axes[0]
    assert bars(ax, "precision") == [0.5, 0.5, 0.5]  # LOC, micro, macro: DATE has none
    assert bars(ax, "f1") == pytest.approx([1 / 3] * 3)
    assert "n/a" in [t.get_text() for t in ax.texts]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["LOC\nn=4", "DATE\nn=0", "micro\nn=4", "macro\nn=4"]


def test_confusion_figure_writes_every_count_in_its_cell(scored):
    report, _ = scored
    matrix = report.confusion
    ax = confusion_figure(matrix).axes[0]
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    rows, cols = list(matrix), list(matrix["LOC"])
    assert cells == {(i, j): str(matrix[r][c]) for i, r in enumerate(rows) for j, c in enumerate(cols)}
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "spurious"
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "missed"


def test_errors_figure_stacks_each_kind_by_type(scored):
    _, errors = scored
    ax = errors_figure(errors, LABELS).axes[0]
    kinds = list(ERROR_KINDS)
    assert bars(ax, "DATE")[kinds.index("missed")] == 1 and bars(ax, "WEAPON")[kinds.index("missed")] == 1
    assert bars(ax, "COUNT")[kinds.index("spurious")] == 1  # a spurious error counts under its predicted type
    assert bars(ax, "ORG")[kinds.index("wrong-type")] == 1  # a wrong-type error under its gold type
    totals = [t.get_text() for t in ax.texts]
    assert totals == [str(sum(e["kind"] == k for e in errors)) for k in kinds] == ["2", "1", "1", "1"]


def test_errors_figure_says_when_there_are_none():
    ax = errors_figure([], LABELS).axes[0]
    assert "no errors" in [t.get_text() for t in ax.texts]


def test_write_report_with_plots_writes_and_links_three_pngs(scored, tmp_path):
    report, errors = scored
    paths = write_report(report, errors, tmp_path, "t", plots=True)
    pngs = [p for p in paths if p.suffix == ".png"]
    assert [p.name for p in pngs] == ["scores_per_type.png", "confusion.png", "errors_by_kind.png"]
    for png in pngs:
        assert png.parent == tmp_path
        assert_real_png(png)
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    for png in pngs:
        assert f"]({png.name})" in markdown


def test_write_report_without_a_model_plots_only_the_scores(tmp_path):
    scores = Scores(precision=1.0, recall=0.5, f1=2 / 3, support=2)
    table = ScoreTable({"LOC": scores}, scores, scores)
    report = EvaluationReport(sentences=1, tokens=3, seqeval=SeqevalScores(strict=table, conlleval=table))
    paths = write_report(report, None, tmp_path, "t", plots=True)
    assert [p.name for p in paths] == ["report.json", "report.md", "scores_per_type.png"]


# ---------------------------------------------------------------- training and CV figures

LOG_HISTORY = [  # the shape of Trainer.state.log_history, as metrics.json stores it
    {"loss": 1.6, "grad_norm": 3.0, "learning_rate": 0.001, "epoch": 0.5, "step": 10},
    {"eval_loss": 1.2, "eval_f1": 0.1, "eval_precision": 0.2, "eval_recall": 0.05, "epoch": 1.0, "step": 20},
    {"loss": 0.9, "grad_norm": 2.0, "learning_rate": 0.0005, "epoch": 1.5, "step": 30},
    {"eval_loss": 0.8, "eval_f1": 0.4, "eval_precision": 0.5, "eval_recall": 0.3, "epoch": 2.0, "step": 40},
    {"train_runtime": 9.0, "train_loss": 1.25, "epoch": 2.0, "step": 40},
]


def test_learning_curves_plot_train_loss_and_dev_f1_by_epoch():
    loss_ax, f1_ax = learning_curves_figure(LOG_HISTORY).axes
    assert line(loss_ax, "loss") == ([0.5, 1.5], [1.6, 0.9])
    assert line(loss_ax, "eval_loss") == ([1.0, 2.0], [1.2, 0.8])
    assert line(f1_ax, "eval_f1") == ([1.0, 2.0], [0.1, 0.4])
    assert "best 0.400" in [t.get_text() for t in f1_ax.texts]


def test_learning_curves_of_a_short_run_show_the_mean_train_loss_and_say_there_is_no_dev():
    history = [{"train_runtime": 1.0, "train_loss": 1.1, "epoch": 3.0, "step": 9}]  # 9 steps < logging_steps
    loss_ax, f1_ax = learning_curves_figure(history).axes
    assert line(loss_ax, "train_loss") == ([3.0], [1.1])
    assert not f1_ax.lines and any("no dev scores" in t.get_text() for t in f1_ax.texts)


def test_plot_learning_curves_writes_a_png(tmp_path):
    path = plot_learning_curves(LOG_HISTORY, tmp_path / "sub" / "curves.png")
    assert path == tmp_path / "sub" / "curves.png"
    assert_real_png(path)


def cv_summary(span_f1s, seqeval_f1s, mean_std) -> CrossValidation:
    def table(f1):
        return ScoreTable({}, Scores(f1, f1, f1, 1), Scores(f1, f1, f1, 1))

    folds = [Fold(i, [f"d{i}"], EvaluationReport(spans=table(s), seqeval=SeqevalScores(strict=table(q), conlleval=table(q))))
             for i, (s, q) in enumerate(zip(span_f1s, seqeval_f1s), 1)]
    return from_plain(CrossValidation, {"k": len(folds), "folds": [to_plain(f) for f in folds],
                                        "mean_std": {"span_f1_per_type": {}, **mean_std}})


def test_cv_figure_draws_each_fold_and_the_mean_with_the_std_as_error_bar():
    summary = cv_summary([0.5, 0.7, 0.6], [0.4, 0.6, 0.5], {
        "span_micro_f1": {"mean": 0.6, "std": 0.1},
        "seqeval_strict_micro_f1": {"mean": 0.5, "std": 0.1},
    })
    ax = cv_figure(summary).axes[0]
    assert bars(ax, "span_micro_f1") == [0.5, 0.7, 0.6]
    assert bars(ax, "seqeval_strict_micro_f1") == [0.4, 0.6, 0.5]
    assert bars(ax, "span_micro_f1_mean") == [0.6]
    error_bars = sorted(tuple(round(y, 6) for _, y in seg) for c in ax.collections for seg in c.get_segments())
    assert error_bars == [(0.4, 0.6), (0.5, 0.7)]  # seqeval 0.5 ± 0.1, spans 0.6 ± 0.1
    assert [t.get_text() for t in ax.get_xticklabels()] == ["fold 1", "fold 2", "fold 3", "mean ± std"]


def test_plot_cv_writes_a_png(tmp_path):
    summary = cv_summary([0.5, 0.7], [0.4, 0.6], {
        "span_micro_f1": {"mean": 0.6, "std": 0.14},
        "seqeval_strict_micro_f1": {"mean": 0.5, "std": 0.14},
    })
    assert_real_png(plot_cv(summary, tmp_path / "cv.png"))
