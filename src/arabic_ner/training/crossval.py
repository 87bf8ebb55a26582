"""K-fold cross-validation by document: each fold trained as train.py trains, scored on its held-out
documents; ``cv.json``, ``cv.md``, ``cv.png``, and the estimate added to the model card."""

from __future__ import annotations

import logging
import shutil
import statistics
from pathlib import Path
from typing import Sequence

from ..core.config import Config, load_config
from ..core.document import Document
from ..core.results import METRICS, CrossValidation, CVSummary, Fold, MeanStd, TrainingMetrics, pct, read_json, write_json
from ..evaluation.scoring import score_documents
from ..reports.markdown import estimate_lines, markdown_table, per_type_table
from .corpora import dev_split, held_out, k_folds
from .trainer import train_model

log = logging.getLogger(__name__)


def cross_validate(config: Config, documents: list[Document], k: int, output_dir: str | Path, verbose: bool = False) -> CrossValidation:
    """K-fold cross-validation by document: each fold trains exactly as train.py does (dev split
    from its training documents) and is scored on its held-out documents. Folds are drawn from the
    sources with ``holdout: true``; the others are in every fold's training data. Writes cv.json and cv.md."""
    from ..model.inference import Tagger

    output_dir = Path(output_dir)
    pool, fixed = held_out(config, documents)
    folds = []
    for i, (train_docs, test_docs) in enumerate(k_folds(pool, k, config.seed), 1):
        log.info(f"== fold {i}/{k}: {len(train_docs)} training documents (+{len(fixed)} always trained on), "
                 f"testing on {[d.id for d in test_docs]}")
        fold_dir = output_dir / f"fold-{i}"
        shutil.rmtree(fold_dir, ignore_errors=True)  # fold models are temporary: never resumed
        fit_docs, dev_docs = dev_split(config, train_docs + fixed)
        try:
            train_model(config, fit_docs, dev_docs, fold_dir, verbose=verbose)
        except KeyboardInterrupt:
            shutil.rmtree(fold_dir, ignore_errors=True)
            raise KeyboardInterrupt(f"interrupted in fold {i} of {k}; cross-validation is not resumed: run the same command "
                                    "again to start it over") from None
        tagger = Tagger.load(str(fold_dir), batch_size=config.per_device_eval_batch_size)
        predicted = [t.document for t in tagger.tag(test_docs)]
        report, _ = score_documents(test_docs, predicted, config.labels)
        folds.append(Fold(i, [d.id for d in test_docs], report))
        shutil.rmtree(fold_dir, ignore_errors=True)  # fold models are for the estimate only
    result = CrossValidation(k, folds, summarise(folds, config.labels))
    output_dir.mkdir(parents=True, exist_ok=True)
    write_json(output_dir / "cv.json", result)
    (output_dir / "cv.md").write_text(cv_markdown(result, config.labels), encoding="utf-8")
    from ..reports.plots import plot_cv

    plot_cv(result, output_dir / "cv.png")
    _add_cv_to_model_card(output_dir, result)
    return result


def summarise(folds: list[Fold], labels: Sequence[str]) -> CVSummary:
    """Mean and standard deviation of the folds' micro F1s, and of each type's span F1 over the folds where it occurs."""
    def stats(values: list[float]) -> MeanStd:
        return MeanStd(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)

    per_type = {}
    for label in labels:
        values = [s.f1 for f in folds if (s := f.report.spans.per_type.get(label)) is not None and s.support]
        per_type[label] = stats(values) if values else None
    return CVSummary(
        span_micro_f1=stats([f.report.spans.micro.f1 for f in folds]),
        seqeval_strict_micro_f1=stats([f.report.seqeval.strict.micro.f1 for f in folds]),
        span_f1_per_type=per_type,
    )






def cv_markdown(cv: CrossValidation, labels: Sequence[str]) -> str:
    """``cv.md``: the estimates, the chart, each fold, and each type."""
    folds = [[f.fold, ", ".join(f.test_documents), pct(f.report.spans.micro.precision), pct(f.report.spans.micro.recall),
              pct(f.report.spans.micro.f1), pct(f.report.seqeval.strict.micro.f1)] for f in cv.folds]
    lines = [f"# {cv.k}-fold cross-validation by document", "", *estimate_lines(cv), "", "![per-fold F1](cv.png)", ""]
    lines += markdown_table(["fold", "test documents", "span P", "span R", "span F1", "seqeval strict F1"], folds)
    return "\n".join(lines + [""] + per_type_table(cv, labels)) + "\n"


def _add_cv_to_model_card(directory: Path, cv: CrossValidation) -> None:
    """If ``directory`` holds a model trained by train.py, rewrite its card with the CV estimate."""
    from ..reports.model_card import write_model_card

    if not ((directory / Config.FILE).is_file() and (directory / METRICS).is_file()):
        return
    metrics = read_json(TrainingMetrics, directory / METRICS)
    write_model_card(directory, load_config(directory / Config.FILE), metrics, cv=cv)
    log.info(f"added the cross-validation estimate to the model card {directory / 'README.md'}")
