"""Training with the Hugging Face Trainer: windows to learn from, the dev scorer, checkpoints and resuming, saving.

The Trainer (accelerate underneath) picks the CPU or GPU by itself. Each epoch the model is
scored on the dev documents (entity-level micro F1, read as predict.py reads the tags) and the
best checkpoint is kept. A saved model directory holds the standard Hugging Face files plus
``training_config.yaml`` (the resolved config) and ``metrics.json``.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Sequence

from ..core.alignment import tags_to_spans
from ..core.config import Config
from ..core.document import Document
from ..core.encoding import Encoder
from ..core.problems import Problems, UserError
from ..core.results import METRICS, EvaluationReport, SourceCount, TrainingMetrics, TrainSummary, write_json
from ..core.words import Word
from ..data.files import check_free_space, no_space, no_space_error, write_directory_whole
from ..evaluation.scoring import score_documents
from ..model.building import build_for_training, save_model
from ..model.precision import cpu_has_native_bf16
from .corpora import prepare_tags, source_key

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
DATA_FINGERPRINT = "training_data.sha256"


class DevScorer:
    """``compute_metrics`` for the Trainer: exact character-span micro F1 over whole dev documents.

    Each dev window is read at the first piece of the words it owns (``Encoder.reads``), so every
    word of a document is read exactly once; the word labels are decoded into character spans by
    :func:`tags_to_spans`, as predict.py decodes them, and compared with the gold spans. The
    checkpoint kept is therefore the best by the spans users get, proclitic boundaries included.
    """

    def __init__(self, documents: list[Document], words: list[list[Word]], reads: list[tuple[int, list[tuple[int, int]]]],
                 id2label: dict[int, str], labels: Sequence[str]):
        self.documents = documents
        self.words = words
        self.reads = reads  # per dev example: (document, [(column, word)])
        self.id2label = {int(k): v for k, v in id2label.items()}
        self.labels = labels

    def __call__(self, eval_prediction) -> dict:
        from ..evaluation.metrics import span_scores

        predictions = eval_prediction.predictions
        tags = [["O"] * len(words) for words in self.words]
        for i, (d, reads) in enumerate(self.reads):
            for column, w in reads:
                tags[d][w] = self.id2label[int(predictions[i][column])]
        predicted = [tags_to_spans(words, doc_tags) for words, doc_tags in zip(self.words, tags)]
        micro = span_scores([d.spans for d in self.documents], predicted, self.labels).micro
        return {"f1": micro.f1, "precision": micro.precision, "recall": micro.recall}


class LengthBucketSampler:
    """Training order that puts windows of similar length in one batch, so little is padding.

    Each epoch the windows are shuffled, cut into groups of ``group`` batches, and sorted by
    length inside each group; the batches stay random from epoch to epoch. (The Trainer's own
    length-grouped sampler sorts within groups of one batch on a small data set, which groups
    nothing.) The shuffle draws on torch's global generator, which the Trainer seeds and saves
    in checkpoints, so a resumed run sees the same order.

    ``weights`` (one per window, from its source's ``weight``) say how often a window is seen per
    epoch: a window of weight 2.5 twice, and a third time in about half the epochs. The whole
    parts are fixed; the fractions are drawn anew each epoch, without replacement, as many as they
    add up to, so every epoch has the same length and a weight of 0.1 shows a different tenth of a
    large corpus each epoch.
    """

    def __init__(self, lengths: list[int], batch_size: int, group: int = 8, weights: list[float] | None = None):
        self.lengths = lengths
        self.size = batch_size * group
        self.weights = weights if weights is not None and any(w != 1 for w in weights) else None
        if self.weights is not None:
            self.whole = [i for i, w in enumerate(self.weights) for _ in range(int(w))]
            self.fractions = [w - int(w) for w in self.weights]
            self.drawn = round(sum(self.fractions))

    def __len__(self) -> int:
        return len(self.lengths) if self.weights is None else len(self.whole) + self.drawn

    def epoch(self) -> list[int]:
        """This epoch's windows, in random order."""
        import torch

        if self.weights is None:
            return torch.randperm(len(self.lengths)).tolist()
        picked = list(self.whole)
        if self.drawn:
            picked += torch.multinomial(torch.tensor(self.fractions, dtype=torch.float64), self.drawn).tolist()
        return [picked[k] for k in torch.randperm(len(picked)).tolist()]

    def __iter__(self):
        order = self.epoch()
        for i in range(0, len(order), self.size):
            yield from sorted(order[i : i + self.size], key=lambda k: -self.lengths[k])


def ner_trainer(window_weights: list[float] | None = None, **kwargs):
    """A Trainer whose training batches come from :class:`LengthBucketSampler`."""
    from transformers import Trainer

    class NerTrainer(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            dataset = train_dataset if train_dataset is not None else self.train_dataset
            batch = self.args.train_batch_size * self.args.gradient_accumulation_steps
            return LengthBucketSampler([len(ids) for ids in dataset["input_ids"]], batch, weights=window_weights)

    return NerTrainer(**kwargs)


def stop_on_nan(config: Config):
    """A callback that stops training with one line when the logged loss stops being a number:
    the weights are then NaN too, and such a model would predict nothing without a word."""
    from transformers import TrainerCallback

    class StopOnNan(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            for key in ("loss", "grad_norm", "eval_loss", "train_loss"):
                value = (logs or {}).get(key)
                if isinstance(value, float) and not math.isfinite(value):
                    raise UserError(
                        f"training stopped at step {state.global_step}: the {key.replace('_', ' ')} became {value}, so the "
                        f"weights are no longer numbers. Lower learning_rate (now {config.learning_rate:g}), or keep "
                        "warmup_steps > 0; nothing was saved."
                    )

    return StopOnNan()


def epoch_log(epochs: float, printing: bool = True):
    """A callback that logs the training loss at the end of every epoch (as well as every
    ``logging_steps``) and, when ``printing``, prints one line per epoch after its checkpoint is
    saved: the mean of the losses logged during the epoch, dev P/R/F1 (or the dev loss) when there
    was an evaluation, and the epoch's seconds. It stands in for transformers' progress bar and
    loss dicts, which ``verbose`` shows instead."""
    import time

    from transformers import TrainerCallback

    class EpochLog(TrainerCallback):
        def __init__(self):
            self.started, self.seen = time.perf_counter(), 0

        def on_epoch_begin(self, args, state, control, **kwargs):
            self.started, self.seen = time.perf_counter(), len(state.log_history)

        def on_epoch_end(self, args, state, control, **kwargs):
            control.should_log = True  # the loss of the epoch's last steps, even when it is shorter than logging_steps

        def on_save(self, args, state, control, **kwargs):
            if not (printing and state.is_world_process_zero):
                return
            new = state.log_history[self.seen:]
            losses = [e["loss"] for e in new if "loss" in e]
            dev = next((e for e in reversed(new) if "eval_loss" in e), None)
            parts = [f"epoch {state.epoch:g}/{epochs:g}", f"loss {sum(losses) / len(losses):.4f}" if losses else "loss -"]
            if dev and "eval_f1" in dev:
                parts.append(f"dev P/R/F1 {100 * dev['eval_precision']:.1f} / {100 * dev['eval_recall']:.1f} / {100 * dev['eval_f1']:.1f}")
            elif dev:
                parts.append(f"dev loss {dev['eval_loss']:.4f}")
            parts.append(f"{time.perf_counter() - self.started:.1f} s")
            log.info("  ".join(parts))
            self.started, self.seen = time.perf_counter(), len(state.log_history)

    return EpochLog()


def argmax_logits(logits, labels):
    """Keep only the predicted ids between evaluation steps, not the full logits."""
    return logits.argmax(dim=-1)


@dataclass
class TrainingData:
    """What the Trainer is built from: the tokenizer and model to train, the windows to learn
    from, and the dev windows with what :class:`DevScorer` reads of each."""

    tokenizer: object
    model: object
    train_rows: list[dict]
    dev_rows: list[dict]
    dev_scorer: DevScorer | None
    weights: list[float]  # per training window: its source's weight
    windows_per_source: Counter


def training_data(config: Config, train_docs: list[Document], dev_docs: list[Document], tokenizer_dir: Path | None = None) -> TrainingData:
    """Tags, tokenizer, model and windows for training (``tokenizer_dir``: a checkpoint being resumed)."""
    problems = Problems()
    train_prepared = prepare_tags(train_docs, problems)
    dev_prepared = prepare_tags(dev_docs, problems)
    problems.print()  # only warnings can be here: unaligned spans
    forms = ([w.form for w in words] for words, _ in train_prepared)
    tokenizer, model = build_for_training(config, forms, tokenizer_dir=tokenizer_dir)
    encoder = Encoder(tokenizer, tokenizer.model_max_length, config.stride)
    label2id = {label: int(i) for label, i in model.config.label2id.items()}
    weight_of = {source_key(s.path): s.weight for s in config.train}
    train_rows, weights, per_source = [], [], Counter()
    for doc, enc, (_, tags) in zip(train_docs, encoder.encode([words for words, _ in train_prepared]), train_prepared):
        rows = encoder.training_examples(enc, tags, label2id)
        train_rows.extend(rows)
        weights.extend([weight_of.get(doc.source, 1.0)] * len(rows))
        per_source[doc.source] += len(rows)
    if train_rows and not any(weights):
        raise UserError("every training source has weight 0: there is nothing to train on; give one a weight > 0")
    dev_rows, reads = [], []
    for d, (enc, (_, tags)) in enumerate(zip(encoder.encode([words for words, _ in dev_prepared]), dev_prepared)):
        dev_rows.extend(encoder.scoring_examples(enc, tags, label2id))
        reads.extend((d, encoder.reads(enc, k)) for k in range(len(enc.windows)))
    scorer = None
    if dev_rows:
        scorer = DevScorer(dev_docs, [words for words, _ in dev_prepared], reads, model.config.id2label, config.labels)
    return TrainingData(tokenizer, model, train_rows, dev_rows, scorer, weights, per_source)


def training_arguments(config, checkpoints: Path, has_dev: bool, keep_best: bool = True, **extra):
    """The Trainer's arguments for ``config`` (a :class:`Config` or :class:`PretrainConfig`): a full
    checkpoint every epoch, and with ``keep_best`` the checkpoint with the best dev F1 kept."""
    import torch
    from transformers import TrainingArguments

    on_gpu = torch.cuda.is_available()
    bf16 = config.bf16 and (on_gpu or cpu_has_native_bf16())  # emulated bf16 would train slower than fp32
    if config.bf16:
        device = "the GPU" if on_gpu else "this CPU, which has native bf16"
        log.info(f"precision: bf16 mixed precision on {device}" if bf16 else
                 "precision: fp32 (bf16 asked for, but this CPU has no native bf16 and would train slower)")
    if config.fp16 and not on_gpu:
        log.info("precision: fp32 (fp16 asked for, but fp16 mixed precision is for GPUs; on a CPU use bf16)")
    return TrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=config.num_train_epochs,
        learning_rate=config.learning_rate,
        per_device_train_batch_size=config.per_device_train_batch_size,
        per_device_eval_batch_size=config.per_device_eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_steps,
        lr_scheduler_type=config.lr_scheduler_type,
        seed=config.seed,
        bf16=bf16,
        fp16=config.fp16 and on_gpu,
        logging_steps=config.logging_steps,
        eval_strategy="epoch" if has_dev else "no",
        save_strategy="epoch",  # every epoch, with optimizer and random states, so --resume can continue
        metric_for_best_model="f1" if has_dev and keep_best else None,
        greater_is_better=True,
        load_best_model_at_end=has_dev and keep_best,
        save_total_limit=1,  # the Trainer also keeps the best one
        report_to="none",
        logging_nan_inf_filter=False,  # a NaN loss is logged as NaN, so stop_on_nan sees it
        disable_tqdm=False,
        # Without a GPU, accelerate must be told to use the CPU, or processes started by
        # `accelerate launch` / torchrun would not join one DDP group (gloo) and train apart.
        use_cpu=not on_gpu,
        **extra,
    )


def train_model(
    config: Config, train_docs: list[Document], dev_docs: list[Document], output_dir: str | Path, resume: bool = False,
    verbose: bool = False,
) -> TrainingMetrics | None:
    """Train, keep the best checkpoint by dev F1 (the last one without dev documents), save the
    model directory with its config and metrics, and return the metrics (``None`` in the other
    processes of a multi-process run, where the first one scores and saves).

    The phases, each a function: prepare the data (:func:`training_data`), build the Trainer
    (:func:`build_trainer`), fit (:func:`fit`), score the dev documents (:func:`score_dev`), save
    (:func:`save_trained`).

    A full checkpoint (weights, optimizer, scheduler, random states) is written to
    ``output_dir/checkpoints`` after every epoch; ``resume=True`` continues from the newest
    complete one, which gives the same model as an uninterrupted run. The final directory is
    written to a temporary sibling and renamed into place, so it is never seen half-written.
    It logs one line per epoch; ``verbose`` shows transformers' progress bar and loss dicts instead.
    """
    from transformers import set_seed

    output_dir = Path(output_dir)
    checkpoints = output_dir / CHECKPOINTS
    fingerprint = data_fingerprint(train_docs, dev_docs)
    last = _resume_point(config, checkpoints, resume, fingerprint)
    set_seed(config.seed)
    data = training_data(config, train_docs, dev_docs, tokenizer_dir=last)
    trainer = build_trainer(config, data, checkpoints)
    result = fit(trainer, config, checkpoints, fingerprint, last, verbose)
    if result is None:
        return None
    metrics = TrainingMetrics(
        train=train_summary(config, train_docs, data, trainer.args.world_size, result.metrics),
        best_checkpoint=Path(trainer.state.best_model_checkpoint).name if trainer.state.best_model_checkpoint else None,
        log_history=trainer.state.log_history,
        dev=score_dev(config, trainer.model, data.tokenizer, dev_docs),
    )
    save_trained(output_dir, trainer.model, data.tokenizer, config, metrics)
    trainer.accelerator.wait_for_everyone()
    return metrics


def build_trainer(config: Config, data: TrainingData, checkpoints: Path):
    """The Trainer over ``data``'s windows: length-bucketed batches drawn by source weight, the dev
    scorer each epoch, and a stop when the loss is no longer a number."""
    from datasets import Dataset
    from transformers import DataCollatorForTokenClassification

    has_dev = bool(data.dev_rows)
    return ner_trainer(
        window_weights=data.weights,
        model=data.model,
        args=training_arguments(config, checkpoints, has_dev),
        train_dataset=Dataset.from_list(data.train_rows),
        eval_dataset=Dataset.from_list(data.dev_rows) if has_dev else None,
        data_collator=DataCollatorForTokenClassification(data.tokenizer),
        processing_class=data.tokenizer,
        compute_metrics=data.dev_scorer,
        preprocess_logits_for_metrics=argmax_logits if has_dev else None,
        callbacks=[stop_on_nan(config)],
    )


def train_summary(config: Config, train_docs: list[Document], data: TrainingData, processes: int, trainer_metrics: dict) -> TrainSummary:
    """What the model learnt from (documents, windows and spans per label, per source) and the Trainer's totals."""
    spans_per_label = Counter(s.label for d in train_docs for s in d.spans)
    known = {f.name for f in fields(TrainSummary)}
    return TrainSummary(
        documents=len(train_docs),
        windows=len(data.train_rows),
        spans_per_label={label: spans_per_label[label] for label in config.labels},
        sources=[SourceCount(s.path, sum(d.source == source_key(s.path) for d in train_docs),
                             data.windows_per_source[source_key(s.path)], s.weight) for s in config.train],
        text_sha256=sorted({d.fingerprint() for d in train_docs}),
        processes=processes,
        **{k: float(v) for k, v in trainer_metrics.items() if k in known},
    )


def score_dev(config: Config, model, tokenizer, dev_docs: list[Document]) -> EvaluationReport | None:
    """The dev documents tagged by the trained model as predict.py tags, and scored; ``None`` without dev documents."""
    if not dev_docs:
        return None
    from ..model.inference import Tagger

    tagger = Tagger(model, tokenizer, batch_size=config.per_device_eval_batch_size)
    predicted = [t.document for t in tagger.tag(dev_docs)]
    report, _ = score_documents(dev_docs, predicted, config.labels)
    report.document_ids = [d.id for d in dev_docs]
    return report


def fit(trainer, config, checkpoints: Path, fingerprint: str, last: Path | None, verbose: bool = False):
    """``trainer.train()``, continuing from checkpoint ``last`` if given, with beside the checkpoints
    the config and data hash that ``--resume`` checks. A run that diverges leaves no checkpoints
    (and no empty output folder). Returns the Trainer's result in the main process, ``None`` in
    the others under DDP (after waiting for the main one to finish its work). Unless ``verbose``,
    transformers' progress bars and loss dicts give way to one line per epoch."""
    from transformers import ProgressCallback

    from ..model.loading import quiet_transformers

    if not verbose:
        trainer.remove_callback(ProgressCallback)
    trainer.add_callback(epoch_log(config.num_train_epochs, printing=not verbose))
    quiet_transformers(verbose)  # no "Writing model shards" bar at every checkpoint
    main_process = trainer.is_world_process_zero()
    if main_process:
        weights = sum(p.numel() * p.element_size() for p in trainer.model.parameters())
        # a checkpoint holds the weights and the optimizer's two moments; the final model the weights again
        check_free_space(checkpoints.parent, 4 * weights, f"training (a {weights / 1e6:,.1f} MB model: checkpoints and the final model)")
        checkpoints.mkdir(parents=True, exist_ok=True)
        config.save(checkpoints / config.FILE)
        (checkpoints / DATA_FINGERPRINT).write_text(fingerprint + "\n", encoding="utf-8")
    try:
        result = trainer.train(resume_from_checkpoint=str(last) if last else None)
    except UserError:
        if main_process:
            shutil.rmtree(checkpoints, ignore_errors=True)  # checkpoints of a diverged run are not worth resuming
            if checkpoints.parent.is_dir() and not any(checkpoints.parent.iterdir()):
                checkpoints.parent.rmdir()
        raise
    except Exception as exc:
        if not (main_process and no_space(exc)):
            raise
        for partial in checkpoints.glob("checkpoint-*"):  # the one being written when the disk filled
            if not _is_complete(partial):
                shutil.rmtree(partial, ignore_errors=True)
        kept = [c.name for c in checkpoints.glob("checkpoint-*")]
        if not kept:
            shutil.rmtree(checkpoints, ignore_errors=True)
            if checkpoints.parent.is_dir() and not any(checkpoints.parent.iterdir()):
                checkpoints.parent.rmdir()
        error = no_space_error(checkpoints, exc)
        hint = f" The complete checkpoints ({', '.join(sorted(kept))}) are kept: --resume continues from the last." if kept else ""
        raise UserError(error.lines[0] + hint) from None
    except KeyboardInterrupt:
        done = [c for c in checkpoints.glob("checkpoint-*") if _is_complete(c)]
        raise KeyboardInterrupt(
            f"interrupted: {len(done)} complete checkpoint(s) in {checkpoints}; run the same command again with --resume "
            "to continue from the last one" if done else "interrupted before the first checkpoint; run the same command again"
        ) from None
    if not main_process:
        trainer.accelerator.wait_for_everyone()
        return None
    return result


def data_fingerprint(train_docs: list[Document], dev_docs: list[Document]) -> str:
    """A hash of the training and dev documents (texts and spans), so --resume can tell whether the data changed."""
    import hashlib

    digest = hashlib.sha256()
    for name, docs in (("train", train_docs), ("dev", dev_docs)):
        for doc in docs:
            digest.update(json.dumps([name, doc.id, doc.fingerprint(), [(s.start, s.end, s.label) for s in doc.spans]],
                                     ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def _resume_point(config: Config, checkpoints: Path, resume: bool, fingerprint: str = "") -> Path | None:
    """The checkpoint to continue from, after checking that the run may start or resume at all."""
    complete = [c for c in checkpoints.glob("checkpoint-*") if _is_complete(c)] if checkpoints.is_dir() else []
    newest = max(complete, key=lambda c: int(c.name.split("-")[-1]), default=None)
    if not resume:
        if newest is not None:
            raise UserError(
                f"{checkpoints.parent}: holds checkpoints of an interrupted run ({newest.name}); "
                f"continue it with --resume, or delete {checkpoints} to start afresh"
            )
        shutil.rmtree(checkpoints, ignore_errors=True)  # leftovers of a run killed before its first checkpoint
        return None
    if newest is None:
        if (checkpoints.parent / "config.json").is_file():
            raise UserError(f"--resume: {checkpoints.parent} holds a finished model, so there is nothing to continue; "
                            "pass --overwrite to train it again, or give another --output-dir")
        raise UserError(f"--resume: {checkpoints} has no complete checkpoint to continue from; train without --resume")
    saved = checkpoints / config.FILE
    if saved.is_file():
        from ..core.config import load_config

        before = load_config(saved, cls=type(config)).to_dict()
        changed = [k for k, v in config.to_dict().items() if before.get(k) != v]
        if changed:
            raise UserError(
                f"--resume: the config differs from the interrupted run's ({saved}) in {', '.join(changed)}; "
                "resume with the same config and data, or train afresh"
            )
    saved_data = checkpoints / DATA_FINGERPRINT
    if fingerprint and saved_data.is_file() and saved_data.read_text(encoding="utf-8").strip() != fingerprint:
        raise UserError(
            f"--resume: the training or dev documents differ from the interrupted run's (texts, spans or split); "
            f"resume with the same data, or train afresh with --overwrite after deleting {checkpoints}"
        )
    log.info(f"resuming from {newest}")
    return newest


def _is_complete(checkpoint: Path) -> bool:
    # The Trainer writes trainer_state.json last, after the weights, optimizer and random states.
    try:
        json.loads((checkpoint / "trainer_state.json").read_text())
    except (OSError, ValueError):
        return False
    return (checkpoint / "optimizer.pt").is_file()


def save_trained(output_dir: Path, model, tokenizer, config: Config, metrics: TrainingMetrics) -> None:
    """Write the model directory beside ``output_dir``, then swap it in with renames (the previous
    contents, checkpoints included, are removed only after the new directory is in place).

    Beside the Hugging Face files go ``training_config.yaml``, ``metrics.json``, the learning
    curves (``training_curves.png``) and the model card (``README.md``).
    """
    from ..reports.model_card import write_model_card
    from ..reports.plots import plot_learning_curves

    def fill(staging: Path) -> None:
        save_model(model, tokenizer, staging)
        config.save(staging / config.FILE)
        write_json(staging / METRICS, metrics)
        plot_learning_curves(metrics.log_history, staging / "training_curves.png", title=f"Training {output_dir.name}")
        write_model_card(staging, config, metrics)

    write_directory_whole(output_dir, fill)
