"""Training speed of train.py's loop against a plain Trainer, on the same model and data.

    .venv/bin/python -m bench.train_throughput            # tiny config model, 3 epochs per run
    .venv/bin/python -m bench.train_throughput --base     # BERT-base size (slow on a CPU)

Both runs start from the same initial weights and see the same windows, built by train.py's own
data preparation (arabic_ner.training.trainer.training_data), with the same batch size, learning rate
and collator. They differ in what train.py changes: its Trainer (arabic_ner.training.trainer.ner_trainer)
batches windows of similar length together, while the plain Trainer samples them at random and
pads each batch to its longest window. Checkpointing and evaluation are switched off in both,
so the numbers are the training loop's alone.

Two data sets: the bundled annotations as whole articles (windows are mostly full, so there is
little padding to save) and the same articles cut into paragraphs (lengths vary a lot, so padding
dominates a random batch).

On a CPU with native bf16, train.py's loop is then timed in bf16 mixed precision against fp32 on
the same windows; ``--dev-f1`` also trains the tiny config's full recipe in both, for two seeds,
and prints the dev F1 of each, so that a difference can be read against run-to-run noise.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def paragraphs_of(documents):
    """Each paragraph (line) of each document as a document of its own, with its spans."""
    from arabic_ner.core.document import Document, Span

    out = []
    for doc in documents:
        start = 0
        for n, line in enumerate(doc.text.split("\n")):
            end = start + len(line)
            if line.strip():
                spans = [Span(s.start - start, s.end - start, s.label) for s in doc.spans if start <= s.start and s.end <= end]
                out.append(Document(f"{doc.id}-{n}", line, spans))
            start = end + 1
    return out


def run(make_trainer, trainer_args, data) -> tuple[float, int]:
    """Samples per second of one training run, and the padded tokens it processed."""
    from accelerate.state import AcceleratorState
    from datasets import Dataset
    from transformers import DataCollatorForTokenClassification

    AcceleratorState._reset_state(reset_partial_state=True)  # it keeps the first run's mixed precision per process
    collator = DataCollatorForTokenClassification(data.tokenizer)
    trainer = make_trainer(model=copy.deepcopy(data.model), args=trainer_args, train_dataset=Dataset.from_list(data.train_rows),
                           data_collator=collator, processing_class=data.tokenizer)
    padded = sum(batch["input_ids"].numel() for batch in trainer.get_train_dataloader()) * int(trainer_args.num_train_epochs)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    return len(data.train_rows) * trainer_args.num_train_epochs / seconds, padded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each, alternating; the best counts (default 2)")
    parser.add_argument("--base", action="store_true", help="a BERT-base-size model (12 layers, hidden 768) instead of the tiny config's")
    parser.add_argument("--dev-f1", action="store_true", help="also train the tiny config in fp32 and bf16, two seeds each, and print dev F1")
    args = parser.parse_args()

    import torch
    from transformers import Trainer, TrainingArguments, set_seed

    from arabic_ner.core.config import load_config
    from arabic_ner.core.problems import Problems
    from arabic_ner.model.precision import cpu_has_native_bf16
    from arabic_ner.training.corpora import load_documents
    from arabic_ner.training.trainer import ner_trainer, training_arguments, training_data

    overrides = [f"num_train_epochs={args.epochs}", "per_device_train_batch_size=16", "max_length=256", "stride=64"]
    if args.base:
        overrides += ["scratch.num_hidden_layers=12", "scratch.hidden_size=768", "scratch.num_attention_heads=12", "scratch.intermediate_size=3072"]
    config = load_config(ROOT / "configs" / "tiny.yaml", overrides)
    articles = load_documents([str(ROOT / "annotations" / "corpus.json")], config.labels, Problems())
    print(f"{os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads; model: "
          f"{config.scratch.num_hidden_layers} layers, hidden {config.scratch.hidden_size}; batch {config.per_device_train_batch_size}, "
          f"max_length {config.max_length}, {args.epochs} epochs")
    with tempfile.TemporaryDirectory() as tmp:
        quiet = dict(save_strategy="no", eval_strategy="no", load_best_model_at_end=False, metric_for_best_model=None,
                     disable_tqdm=True, logging_steps=10_000)
        ours_args = dataclasses.replace(training_arguments(config, Path(tmp), has_dev=False), **quiet)
        plain_args = TrainingArguments(
            output_dir=tmp, num_train_epochs=config.num_train_epochs, learning_rate=config.learning_rate,
            per_device_train_batch_size=config.per_device_train_batch_size, seed=config.seed, report_to="none",
            use_cpu=not torch.cuda.is_available(), **quiet,
        )
        for name, docs in (("articles", articles), ("paragraphs", paragraphs_of(articles))):
            set_seed(config.seed)
            data = training_data(config, docs, [])
            real = sum(len(r["input_ids"]) for r in data.train_rows) * args.epochs
            # Alternate the two, twice, and keep each one's best: a shared CPU is noisy.
            plain, ours = 0.0, 0.0
            for _ in range(args.repeats):
                speed, plain_padded = run(Trainer, plain_args, data)
                plain = max(plain, speed)
                speed, ours_padded = run(ner_trainer, ours_args, data)
                ours = max(ours, speed)
            print(f"{name:10s} {len(data.train_rows):4d} windows: plain Trainer {plain:6.1f} samples/s "
                  f"({100 * (1 - real / plain_padded):.0f}% padding), train.py {ours:6.1f} samples/s "
                  f"({100 * (1 - real / ours_padded):.0f}% padding), x{ours / plain:.2f}")
        if not cpu_has_native_bf16() or torch.cuda.is_available():
            print("bf16 on a CPU: not measured (no native bf16 on this CPU, or a GPU is present)")
            return
        # bf16 mixed precision against fp32, both with train.py's loop, on the same windows
        bf16_args = dataclasses.replace(ours_args, bf16=True)
        for name, docs in (("articles", articles), ("paragraphs", paragraphs_of(articles))):
            set_seed(config.seed)
            data = training_data(config, docs, [])
            fp32, bf16 = 0.0, 0.0
            for _ in range(args.repeats):
                fp32 = max(fp32, run(ner_trainer, ours_args, data)[0])
                bf16 = max(bf16, run(ner_trainer, bf16_args, data)[0])
            print(f"{name:10s} train.py fp32 {fp32:6.1f} samples/s, bf16 {bf16:6.1f} samples/s, x{bf16 / fp32:.2f}")
    if args.dev_f1:
        dev_f1_by_precision(articles)


def dev_f1_by_precision(articles) -> None:
    """Dev F1 of the tiny config's full recipe in fp32 and in bf16, for two seeds each (the run-to-run noise)."""
    from accelerate.state import AcceleratorState

    from arabic_ner.core.config import load_config
    from arabic_ner.training.corpora import split_by_document
    from arabic_ner.training.trainer import train_model

    with tempfile.TemporaryDirectory() as tmp:
        for seed in (42, 43):
            scores = []
            for bf16 in (False, True):
                AcceleratorState._reset_state(reset_partial_state=True)
                config = load_config(ROOT / "configs" / "tiny.yaml", [f"seed={seed}", f"bf16={str(bf16).lower()}"])
                train, dev = split_by_document(articles, config.dev_fraction, 42)  # the same dev document for both seeds
                metrics = train_model(config, train, dev, Path(tmp) / f"m-{seed}-{bf16}")
                scores.append(100 * metrics.dev.spans.micro.f1)
            print(f"seed {seed}: dev span F1 fp32 {scores[0]:.1f}, bf16 {scores[1]:.1f} (dev document {dev[0].id})")


if __name__ == "__main__":
    main()
