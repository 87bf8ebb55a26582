"""Plots of scores, errors, training runs, cross-validation and learning curves, written as PNG files.

Each plot has a ``*_figure`` function that builds a matplotlib ``Figure`` from a typed result of
:mod:`arabic_ner.core.results` (read back from its JSON with ``read_json`` if need be), and a
``plot_*`` function that saves it. Figures are built with ``matplotlib.figure.Figure``, never
pyplot, so nothing here touches the global backend or needs a display (the Agg canvas is used).
Every text in a plot is Latin (type names, fold numbers), so matplotlib's default font suffices:
Arabic would need a font with Arabic glyphs plus shaping, which matplotlib does not do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..core.results import ERROR_KINDS, CrossValidation, EvaluationReport, Fold, LearningCurve, ScoreTable

# File names of the evaluation plots, written next to report.json.
SCORES_PNG = "scores_per_type.png"
CONFUSION_PNG = "confusion.png"
ERRORS_PNG = "errors_by_kind.png"

SCORE_COLOURS = {"precision": "#4C72B0", "recall": "#DD8452", "f1": "#55A868"}
DPI = 110


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save_figure(fig, path: str | Path) -> Path:
    """Write ``fig`` as a PNG (creating the folder) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def _note(ax, text: str) -> None:
    """Say in the plot why it is empty, rather than leave a blank frame."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4", wrap=True)


# ---------------------------------------------------------------- evaluation


def scores_figure(table: ScoreTable, title: str = "Scores per entity type"):
    """Grouped P/R/F1 bars per type, then micro and macro, from a score table
    (``report.spans`` or ``report.seqeval.strict``). A type that occurs in neither the gold
    nor the predictions (``None`` in the table) gets no bars and the mark "n/a"."""
    rows = list(table.rows())
    fig = _figure(max(6.0, 1.1 * len(rows) + 1.5), 4.2)
    ax = fig.add_subplot()
    width = 0.26
    for k, (metric, colour) in enumerate(SCORE_COLOURS.items()):
        xs = [i + (k - 1) * width for i, (_, entry) in enumerate(rows) if entry]
        heights = [getattr(entry, metric) for _, entry in rows if entry]
        bars = ax.bar(xs, heights, width, label=metric if metric != "f1" else "F1", color=colour, gid=metric)
        if metric == "f1":
            ax.bar_label(bars, labels=[f"{h:.2f}" for h in heights], fontsize=7, padding=1)
    for i, (_, entry) in enumerate(rows):
        if not entry:
            ax.text(i, 0.02, "n/a", ha="center", va="bottom", color="0.4")
    ax.set_xticks(range(len(rows)), [f"{label}\nn={entry.support if entry else 0}" for label, entry in rows])
    ax.axvline(len(rows) - 2.5, color="0.7", linewidth=0.8)  # types | averages
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("score")
    ax.set_title(title)
    ax.legend(loc="upper left", ncols=3, fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


def confusion_figure(confusion: dict[str, dict[str, int]], title: str = "Entity types: gold (rows) vs predicted (columns)\n"
                     "spans paired by overlap; a boundary error counts on the diagonal"):
    """A heatmap of :func:`arabic_ner.evaluation.metrics.type_confusion`: each cell shows its count, and its
    colour is the count's share of its row, so rare types read as clearly as common ones."""
    rows = list(confusion)
    cols = list(next(iter(confusion.values())))
    counts = [[confusion[r][c] for c in cols] for r in rows]
    shares = [[n / sum(row) if sum(row) else 0.0 for n in row] for row in counts]
    fig = _figure(1.0 * len(cols) + 2.2, 0.75 * len(rows) + 1.6)
    ax = fig.add_subplot()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i, row in enumerate(counts):
        for j, n in enumerate(row):
            ax.text(j, i, str(n), ha="center", va="center", fontsize=9,
                    color="white" if shares[i][j] > 0.6 else ("black" if n else "0.6"))
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("predicted type")
    ax.set_ylabel("gold type")
    # Separate the "missed" column and the "spurious" row from the type-by-type block.
    ax.axvline(len(cols) - 1.5, color="0.3", linewidth=1)
    ax.axhline(len(rows) - 1.5, color="0.3", linewidth=1)
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, label="share of the row", shrink=0.8)
    return fig


def error_type(error: dict) -> str:
    """The entity type an error record is counted under: the gold type, or the predicted one for a spurious span."""
    return (error["gold"] or error["pred"])["label"]


def errors_figure(errors: list[dict], labels: Sequence[str] = (), title: str = "Errors by kind"):
    """Bars of error counts per kind (``ERROR_KINDS``), each stacked by entity type (see
    :func:`error_type`), from the error records of :func:`arabic_ner.evaluation.scoring.score_documents`."""
    types = list(labels) + sorted({error_type(e) for e in errors} - set(labels))
    fig = _figure(7.0, 4.0)
    ax = fig.add_subplot()
    bottom = [0] * len(ERROR_KINDS)
    for label in types:
        heights = [sum(e["kind"] == kind and error_type(e) == label for e in errors) for kind in ERROR_KINDS]
        if any(heights):
            ax.bar(ERROR_KINDS, heights, 0.6, bottom=bottom, label=label, gid=label)
            bottom = [b + h for b, h in zip(bottom, heights)]
    for i, total in enumerate(bottom):
        ax.text(i, total, str(total), ha="center", va="bottom", fontsize=9)
    if not errors:
        _note(ax, "no errors")
    else:
        handles, names = ax.get_legend_handles_labels()  # top of the stack first, as drawn
        ax.legend(handles[::-1], names[::-1], title="type", fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(0, max(bottom + [1]) * 1.15)
    ax.set_ylabel("errors")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return fig


def plot_evaluation(report: EvaluationReport, errors: list[dict] | None, out_dir: str | Path) -> list[Path]:
    """Write the evaluation plots of a report into ``out_dir`` and return their paths.

    Per-type scores always (character spans when the report has them, else seqeval strict); the type
    confusion and the errors by kind only for a report made with a model (``errors`` not ``None``).
    """
    out = Path(out_dir)
    table, source = report.main_table()
    paths = [save_figure(scores_figure(table, f"Scores per entity type ({source})"), out / SCORES_PNG)]
    if errors is not None and report.confusion is not None:
        paths.append(save_figure(confusion_figure(report.confusion), out / CONFUSION_PNG))
    if errors is not None:
        paths.append(save_figure(errors_figure(errors, list(table.per_type)), out / ERRORS_PNG))
    return paths


# ---------------------------------------------------------------- training


def learning_curves_figure(log_history: list[dict], title: str = "Training"):
    """Two panels from a Hugging Face ``Trainer.state.log_history`` (``metrics.json["log_history"]``):
    the train loss (entries with ``loss``; the run's mean ``train_loss`` when no step was logged)
    and dev loss (``eval_loss``) by epoch, and the dev F1, precision and recall (``eval_f1`` ...)
    by epoch. A panel with nothing to show says so."""
    fig = _figure(10.0, 4.0)
    loss_ax, f1_ax = fig.subplots(1, 2)

    def series(key):
        points = [(e.get("epoch", e.get("step")), e[key]) for e in log_history if key in e]
        return [x for x, _ in points], [y for _, y in points]

    for key, name, style, colour in (("loss", "train loss", "-", "C0"), ("eval_loss", "dev loss", "o-", "C1")):
        xs, ys = series(key)
        if xs:
            loss_ax.plot(xs, ys, style, label=name, gid=key, color=colour, markersize=4)
    if not any(line.get_gid() == "loss" for line in loss_ax.lines):
        # A short run logs no step loss (fewer steps than logging_steps); the run's mean still tells something.
        xs, ys = series("train_loss")
        if xs:
            loss_ax.plot(xs, ys, "x", label="train loss, mean of the run\n(no step logged)", gid="train_loss", color="C0", markersize=8)
    if not loss_ax.lines:
        _note(loss_ax, "no loss logged\n(fewer steps than logging_steps?)")
    else:
        loss_ax.legend(frameon=False)
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss")
    loss_ax.set_title("loss")
    loss_ax.grid(alpha=0.3)

    for key, name, style in (("eval_f1", "dev F1", "o-"), ("eval_precision", "dev precision", "--"), ("eval_recall", "dev recall", ":")):
        xs, ys = series(key)
        if xs:
            f1_ax.plot(xs, ys, style, label=name, gid=key, markersize=4, linewidth=2 if key == "eval_f1" else 1)
    if not f1_ax.lines:
        _note(f1_ax, "no dev scores\n(trained without dev documents)")
    else:
        xs, ys = series("eval_f1")
        best = max(range(len(ys)), key=ys.__getitem__)
        f1_ax.annotate(f"best {ys[best]:.3f}", (xs[best], ys[best]), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8)
        f1_ax.legend(frameon=False, loc="lower right")
    f1_ax.set_ylim(0, 1.05)
    f1_ax.set_xlabel("epoch")
    f1_ax.set_ylabel("micro score (exact spans)")
    f1_ax.set_title("dev scores")
    f1_ax.grid(alpha=0.3)
    fig.suptitle(title)
    return fig


def plot_learning_curves(log_history: list[dict], path: str | Path, title: str = "Training") -> Path:
    """Write the learning curves of :func:`learning_curves_figure` to ``path`` (PNG) and return it.

    >>> plot_learning_curves(metrics["log_history"], "models/tiny/learning_curves.png")  # doctest: +SKIP
    """
    return save_figure(learning_curves_figure(log_history, title), path)


# ---------------------------------------------------------------- cross-validation


def _span_f1(fold: Fold) -> float:
    return fold.report.spans.micro.f1


def _strict_f1(fold: Fold) -> float:
    return fold.report.seqeval.strict.micro.f1


CV_SERIES = (  # (name, value in a fold, field of CVSummary)
    ("character-span micro F1", _span_f1, "span_micro_f1"),
    ("seqeval strict micro F1", _strict_f1, "seqeval_strict_micro_f1"),
)


def cv_figure(summary: CrossValidation, title: str | None = None):
    """Bars of each fold's micro F1 (character spans and seqeval strict), then their mean with
    ± one standard deviation as error bars, from the ``cv.json`` of
    :func:`arabic_ner.training.crossval.cross_validate`."""
    folds = summary.folds
    fig = _figure(max(6.0, 0.9 * len(folds) + 3), 4.0)
    ax = fig.add_subplot()
    width = 0.38
    for k, (name, value, key) in enumerate(CV_SERIES):
        offset = (k - 0.5) * width
        heights = [value(f) for f in folds]
        ax.bar([i + offset for i in range(len(folds))], heights, width, label=name, color=f"C{k}", gid=key)
        stats = getattr(summary.mean_std, key)
        mean_bar = ax.bar([len(folds) + offset], [stats.mean], width, yerr=[stats.std], capsize=5,
                          color=f"C{k}", edgecolor="black", hatch="//", gid=f"{key}_mean")
        ax.bar_label(mean_bar, labels=[f"{stats.mean:.2f}\n±{stats.std:.2f}"], fontsize=8, padding=3)
    ax.set_xticks(range(len(folds) + 1), [f"fold {f.fold}" for f in folds] + ["mean ± std"])
    ax.axvline(len(folds) - 0.5, color="0.7", linewidth=0.8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("micro F1 on the held-out documents")
    ax.set_title(title or f"{summary.k}-fold cross-validation by document")
    ax.legend(loc="upper left", fontsize=8, frameon=False, ncols=2)
    ax.grid(axis="y", alpha=0.3)
    return fig


def plot_cv(summary: CrossValidation, path: str | Path, title: str | None = None) -> Path:
    """Write the cross-validation chart of :func:`cv_figure` to ``path`` (PNG) and return it.

    >>> plot_cv(read_json(CrossValidation, "reports/tiny-cv/cv.json"), "reports/tiny-cv/cv.png")  # doctest: +SKIP
    """
    return save_figure(cv_figure(summary, title), path)


# ---------------------------------------------------------------- learning curve over the amount of data


def curve_figure(curve: LearningCurve, title: str | None = None):
    """Span micro F1 (with precision and recall, thinner) against the number of training documents,
    one point per step labelled with its share of the documents, from the ``curve.json`` of
    :func:`arabic_ner.training.curve.learning_curve`; with ``--cv``, ± one standard deviation of F1
    over the folds as error bars. The last step's gain, which the verdict reads, is written under it."""
    points = curve.points
    xs = [p.documents for p in points]
    fig = _figure(7.0, 4.2)
    ax = fig.add_subplot()
    for key, style in (("precision", "--"), ("recall", ":")):
        ax.plot(xs, [getattr(p, key) for p in points], style, color=SCORE_COLOURS[key], linewidth=1, label=key, gid=key)
    ax.errorbar(xs, [p.f1 for p in points], yerr=[p.f1_std for p in points] if curve.k else None, fmt="o-",
                color=SCORE_COLOURS["f1"], linewidth=2, capsize=4, label="F1", gid="f1")
    a, b = points[-2], points[-1]
    ax.annotate(f"last step {100 * curve.last_gain:+.1f} F1", ((a.documents + b.documents) / 2, (a.f1 + b.f1) / 2),
                textcoords="offset points", xytext=(0, -16), ha="center", fontsize=8, gid="last_gain",
                color="C2" if curve.still_gaining else "0.3")
    for p in points:
        ax.annotate(f"{p.f1:.2f}\n({p.percent}%)", (p.documents, p.f1), textcoords="offset points", xytext=(-6, 6),
                    ha="right", fontsize=8)  # left of the point, clear of its error bar
    ax.set_xticks(xs, [f"{x:g}" for x in xs])
    ax.set_xlim(0, max(xs) * 1.08)
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("training documents" + (" (mean over the folds)" if curve.k else ""))
    ax.set_ylabel("character-span micro score")
    ax.set_title(title or f"Learning curve: {curve.scored_on}", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    return fig


def plot_curve(curve: LearningCurve, path: str | Path, title: str | None = None) -> Path:
    """Write the learning curve of :func:`curve_figure` to ``path`` (PNG) and return it.

    >>> plot_curve(read_json(LearningCurve, "reports/curve-tiny/curve.json"), "curve.png")  # doctest: +SKIP
    """
    return save_figure(curve_figure(curve, title), path)
