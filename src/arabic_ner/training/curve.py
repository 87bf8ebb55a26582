"""A learning curve on the user's own data: a model trained on 25, 50, 75 and 100% of the training
documents (by document; each step holds the documents of the steps before it), each scored on a fixed
dev set or by K-fold cross-validation, so that the last step's gain says whether more annotation will
probably help; ``curve.json``, ``curve.md`` and ``curve.png``.

The steps' models are only for their scores: each is trained in a hidden folder beside the output
folder and deleted once scored, and the curve's three files are moved in together at the end, so an
interrupted run leaves nothing behind but what was there before.
"""

from __future__ import annotations

import logging
import random
import shutil
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..core.config import Config
from ..core.document import Document
from ..core.problems import UserError
from ..core.results import CurvePoint, CurveRun, LearningCurve, pct, write_json
from ..data.files import write_files_into
from ..reports.markdown import markdown_table
from .corpora import dev_split, held_out, k_folds

log = logging.getLogger(__name__)

STEPS = (25, 50, 75, 100)  # percent of the training documents, as Prodigy's train-curve takes them
CURVE_FILES = ("curve.json", "curve.md", "curve.png")


def steps_problem(percents: Sequence[int]) -> str | None:
    """What is wrong with ``percents`` as the steps of a curve, or ``None``: they must be two or more
    increasing whole percentages from 1 to 100.

    >>> steps_problem([50, 25])
    'give two or more increasing percentages from 1 to 100, e.g. 25,50,75,100'
    """
    percents = list(percents)
    if len(percents) < 2 or not all(1 <= p <= 100 for p in percents) or percents != sorted(set(percents)):
        return "give two or more increasing percentages from 1 to 100, e.g. 25,50,75,100"
    return None


def step_sizes(documents: int, percents: Sequence[int]) -> list[int]:
    """How many of ``documents`` training documents each step takes: its percent of them, rounded down.

    >>> step_sizes(5, STEPS)
    [1, 2, 3, 5]
    """
    return [documents * p // 100 for p in percents]


def fewest_documents(percents: Sequence[int]) -> int:
    """The fewest training documents with which every step trains on at least one, and on more than the step before.

    >>> fewest_documents(STEPS), fewest_documents([50, 100]), fewest_documents([10, 100])
    (4, 2, 10)
    """
    n = 1
    while not _usable(step_sizes(n, percents)):
        n += 1
    return n


def _usable(sizes: list[int]) -> bool:
    return sizes[0] >= 1 and all(a < b for a, b in zip(sizes, sizes[1:]))


@dataclass
class CurveSplit:
    """The documents one series of steps draws on: its training documents in the seeded order the
    steps take them (each step the first ``percent`` of them), and the documents it is scored on
    (the dev set, or a fold's held-out documents)."""

    order: list[Document]
    scored: list[Document]
    fold: int | None = None

    def step(self, percent: int) -> list[Document]:
        return self.order[: step_sizes(len(self.order), [percent])[0]]


@dataclass
class CurvePlan:
    """What a learning curve trains and scores, checked before any training."""

    percents: list[int]
    splits: list[CurveSplit]  # one per fold with --cv, else one against the dev set
    fixed: list[Document]  # documents of sources with holdout: false: every step trains on them
    scored_on: str
    k: int | None = None


def plan_curve(config: Config, documents: list[Document], dev_documents: list[Document] | None, percents: Sequence[int],
               k: int | None, where: str) -> CurvePlan:
    """The splits of a learning curve, or a :class:`UserError` naming ``where`` (the training files)
    when the data is too small to split: no dev set, fewer documents than folds, or a step that would
    train on no document or on no more than the step before.

    Without ``k`` the steps are scored on ``dev_documents``, or on the dev set that ``dev_fraction``
    splits off (as ``arabic-ner train`` splits it). With ``k`` the documents are cut into K folds as
    ``arabic-ner train --cv`` cuts them, and each fold's steps draw on its training documents. The
    order in which steps take documents is shuffled with the config's seed.
    """
    percents = list(percents)
    if problem := steps_problem(percents):
        raise UserError(f"steps {','.join(map(str, percents))}: {problem}")
    rng = random.Random(config.seed)
    if k is None:
        if dev_documents is None:
            documents, dev_documents = dev_split(config, documents)
            scored_on = f"a dev set of {len(dev_documents)} document(s) split off by dev_fraction {config.dev_fraction:g} (seed {config.seed})"
        elif not dev_documents:
            raise UserError(f"{config.dev.path}: no annotated documents in the dev set to score the steps on; "
                            "give a dev file with annotated documents, or use --cv K")
        else:
            scored_on = f"the dev set {config.dev.path} ({len(dev_documents)} document(s))"
        pool, fixed = held_out(config, documents)
        if not dev_documents:
            raise UserError(f"{where}: {len(pool)} document(s), and no dev set to score the steps on (dev_fraction "
                            f"{config.dev_fraction:g} splits off none{' of a single document' if len(pool) == 1 else ''}); "
                            "give a dev file with --dev, or use --cv K, or annotate more documents")
        order = list(pool)
        rng.shuffle(order)
        splits = [CurveSplit(order, dev_documents)]
        held = f" (besides the {len(dev_documents)} of the dev set)"
    else:
        pool, fixed = held_out(config, documents)
        if len(pool) < k:
            fix = ("annotate more documents" if len(pool) < 2 else
                   f"give --cv {len(pool)}{' or fewer' if len(pool) > 2 else ''}, or annotate more documents")
            raise UserError(f"{where}: {len(pool)} document(s) to cross-validate, fewer than the {k} folds of --cv {k}, "
                            f"and each fold needs a document to score; {fix}")
        splits = []
        for i, (train_docs, test_docs) in enumerate(k_folds(pool, k, config.seed), 1):
            order = list(train_docs)
            rng.shuffle(order)
            splits.append(CurveSplit(order, test_docs, fold=i))
        scored_on = f"{k}-fold cross-validation by document ({len(pool)} documents)"
        held = f" in the smallest fold of --cv {k}"
    _check_steps(min(len(s.order) for s in splits), percents, where, held)
    return CurvePlan(percents, splits, fixed, scored_on, k)


def _check_steps(n: int, percents: list[int], where: str, held: str) -> None:
    """Refuse steps that ``n`` training documents cannot give: a step of no document, or of as many as the step before."""
    sizes = step_sizes(n, percents)
    if _usable(sizes):
        return
    bad = 0 if sizes[0] < 1 else next(i for i in range(1, len(sizes)) if sizes[i] <= sizes[i - 1])
    why = "no document" if sizes[bad] < 1 else f"{sizes[bad]}, as many as the {percents[bad - 1]}% step"
    steps = ",".join(map(str, percents))
    raise UserError(f"{where}: {n} training document(s){held}, too few for a learning curve with steps {steps}: the "
                    f"{percents[bad]}% step would train on {why}; it needs at least {fewest_documents(percents)} training "
                    "documents. Annotate more documents, or give fewer, larger steps with --steps")


def learning_curve(config: Config, plan: CurvePlan, output_dir: str | Path,
                   on_point: Callable[[CurvePoint, float | None], None] | None = None, verbose: bool = False) -> LearningCurve:
    """Train one model per step (per fold with ``--cv``) as ``arabic-ner train`` trains, score it,
    and write ``curve.json``, ``curve.md`` and ``curve.png`` into ``output_dir`` (other files there stay).

    With a fixed dev set each step keeps its best epoch by dev F1 and reports that epoch's dev
    score, as ``arabic-ner train`` does. With ``--cv`` no document of the step is held out to choose
    an epoch: the step trains on exactly its documents, keeps the last epoch, and is scored on the
    fold's held-out documents. ``on_point(point, gain)`` is called as each step finishes (``gain``
    over the step before, ``None`` for the first).
    """
    output_dir = Path(output_dir)
    done: list[LearningCurve] = []

    def fill(staging: Path) -> None:  # the models are trained in the staging folder, and gone before it is moved in
        staging.mkdir(parents=True)
        points: list[CurvePoint] = []
        for i, percent in enumerate(plan.percents, 1):
            runs = [_train_and_score(config, plan, split, percent, f"step {i}/{len(plan.percents)}", staging / "models", verbose)
                    for split in plan.splits]
            points.append(_point(percent, runs))
            if on_point:
                on_point(points[-1], points[-1].f1 - points[-2].f1 if len(points) > 1 else None)
        shutil.rmtree(staging / "models", ignore_errors=True)
        dev = [d.id for d in plan.splits[0].scored] if plan.k is None else None
        curve = LearningCurve(plan.scored_on, points, plan.k, dev, len(plan.fixed))
        write_json(staging / CURVE_FILES[0], curve)
        (staging / CURVE_FILES[1]).write_text(curve_markdown(curve), encoding="utf-8")
        from ..reports.plots import plot_curve

        plot_curve(curve, staging / CURVE_FILES[2])
        done.append(curve)

    write_files_into(output_dir, fill)
    return done[0]


def _train_and_score(config: Config, plan: CurvePlan, split: CurveSplit, percent: int, step: str, models: Path,
                     verbose: bool) -> CurveRun:
    """One model of a step, trained in ``models`` and deleted once scored."""
    # imported here, not at the top, so that `arabic-ner curve --help` does not wait for transformers and seqeval
    from ..evaluation.scoring import score_documents
    from ..model.inference import Tagger
    from .trainer import train_model

    documents = split.step(percent)
    fold = f", fold {split.fold}/{plan.k}" if plan.k else ""
    fixed = f" (+{len(plan.fixed)} always trained on)" if plan.fixed else ""
    log.info(f"== {step}{fold}: training on {percent}% = {len(documents)} document(s){fixed}, scoring on {len(split.scored)}")
    work = models / f"step-{percent}{f'-fold-{split.fold}' if split.fold else ''}"
    try:
        if split.fold is None:
            report = train_model(config, documents + plan.fixed, split.scored, work, verbose=verbose).dev
        else:
            train_model(config, documents + plan.fixed, [], work, verbose=verbose)
            tagger = Tagger.load(str(work), batch_size=config.per_device_eval_batch_size)
            report, _ = score_documents(split.scored, [t.document for t in tagger.tag(split.scored)], config.labels)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"interrupted in {step}{fold}; a learning curve is not resumed, and nothing was written: "
                                "run the same command again to start it over") from None
    shutil.rmtree(work, ignore_errors=True)
    return CurveRun([d.id for d in documents], report.spans.micro, split.fold)


def _point(percent: int, runs: list[CurveRun]) -> CurvePoint:
    """A step's point: the mean of its runs' scores (over the folds with --cv)."""
    def mean(key: str) -> float:
        return statistics.fmean(getattr(run.scores, key) for run in runs)

    f1s = [run.scores.f1 for run in runs]
    return CurvePoint(percent, statistics.fmean(len(run.train_documents) for run in runs), mean("precision"), mean("recall"),
                      mean("f1"), statistics.stdev(f1s) if len(f1s) > 1 else 0.0, runs)


def curve_rows(curve: LearningCurve) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the curve's table: each step's share, documents, P/R/F1 and gain (in points)."""
    rows = []
    for point, gain in zip(curve.points, curve.gains()):
        f1 = f"{pct(point.f1)} ± {pct(point.f1_std)}" if curve.k else pct(point.f1)
        rows.append([f"{point.percent}%", f"{point.documents:g}", pct(point.precision), pct(point.recall), f1,
                     "–" if gain is None else f"{100 * gain:+.1f}"])
    f1 = "span F1 (mean ± std over the folds)" if curve.k else "span F1"
    return ["step", "documents", "span P", "span R", f1, "gain"], rows


def curve_markdown(curve: LearningCurve) -> str:
    """``curve.md``: what was scored, the verdict, the chart and the table."""
    always = (f" The {curve.always_trained} document(s) of sources with `holdout: false` are in every step."
              if curve.always_trained else "")
    intro = (f"Each step trains on a share of the training documents, by document (each step holds the documents of the "
             f"steps before it), and is scored on {curve.scored_on}.{always} Scores are character-span micro P/R/F1, exact match.")
    header, rows = curve_rows(curve)
    lines = ["# Learning curve", "", intro, "", f"**{curve.verdict()}**", "", "![learning curve](curve.png)", "", *markdown_table(header, rows, numbers=True)]
    return "\n".join(lines) + "\n"
