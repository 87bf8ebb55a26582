"""Masked-language-model pretraining on unlabeled articles (``pretrain.py``).

A BERT learns to fill in masked words of plain texts: for a pretrained model such as CAMeLBERT
this is domain adaptation (Gururangan et al. 2020, "Don't Stop Pretraining"); for the small
model from scratch it is pretraining on the task's own kind of text (Krishna et al. 2022,
"Downstream datasets make surprisingly good pretraining corpora"). The result is a standard
Hugging Face masked-LM directory that ``train.py`` takes as ``model: DIR``.

The model sees words exactly as training and prediction show them: ``split_words``' whole words,
tokenised by the same :class:`~arabic_ner.core.encoding.Encoder`, long texts cut into windows, never
truncated. Masking is by whole word: all the pieces of a chosen word are masked together (as
CAMeLBERT and AraBERT were pretrained), and the words are ``split_words``' own, so ``2014على``
is two words even though its pieces touch.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..core.alignment import IGNORE_INDEX
from ..core.config import SCRATCH, PretrainConfig
from ..core.document import Document
from ..core.encoding import Encoder
from ..core.problems import Problems, UserError
from ..core.words import Word, split_words
from ..data.inputs import iter_input

log = logging.getLogger(__name__)

NOT_A_WORD = -1  # word id of [CLS], [SEP] and padding: never masked


@dataclass
class PretrainResult:
    """What a pretraining run did, saved as ``metrics.json`` beside the model."""

    documents: int
    words: int
    train_windows: int
    dev_windows: int
    dev_loss_before: float | None  # masked-word loss on the held-out windows (the same masks) before training
    dev_loss_after: float | None  # ... and after
    train_loss: float
    seconds: float
    texts: list[str] = field(default_factory=list)
    log_history: list[dict] = field(default_factory=list)

    @staticmethod
    def perplexity(loss: float | None) -> float | None:
        import math

        return None if loss is None else math.exp(min(loss, 50.0))


def read_texts(paths: Sequence[str], problems: Problems) -> list[Document]:
    """The documents of every path (a folder of ``.txt`` articles, a ``.txt``, a ``.jsonl`` or a
    Label Studio ``.json``), read as ``predict.py`` reads its input. A document that cannot be
    read is a warning and is left out; so is an empty one, with a note."""
    documents, empty = [], 0
    for path in paths:
        for doc in iter_input(path):
            if doc.error:
                problems.warning(f"{path}: document {doc.id}", f"{doc.error}; it is left out of pretraining")
            elif not doc.text.strip():
                empty += 1
            else:
                documents.append(doc)
    if empty:
        problems.note(" + ".join(paths), f"{empty} empty document(s) left out")
    return documents


def mlm_windows(tokenizer, documents: Sequence[list[Word]]) -> list[dict]:
    """One example per window of ``tokenizer.model_max_length`` tokens of each document (its
    ``split_words``): ``input_ids`` with the special tokens, and ``word_ids`` (the document's word
    of each token, ``NOT_A_WORD`` for the special tokens), for whole-word masking."""
    encoder = Encoder(tokenizer, tokenizer.model_max_length, stride=0)
    rows = []
    for enc in encoder.encode(documents):
        for k, (start, end) in enumerate(enc.windows):
            rows.append({
                "input_ids": encoder.inputs(enc, k),
                "word_ids": [NOT_A_WORD] * len(encoder.prefix) + enc.word_ids[start:end] + [NOT_A_WORD] * len(encoder.suffix),
            })
    return rows


class WholeWordMasking:
    """A data collator for masked-language modelling by whole word: in each window, ``probability``
    of its words (at least one) are chosen, and every piece of a chosen word is predicted. As in
    BERT, 80% of the predicted pieces become ``[MASK]``, 10% a random piece, 10% stay as they are.

    transformers' own ``whole_word_mask`` infers words from character offsets, which would join
    words that touch (``2014على``); the words here are ``split_words``' own. Examples that already
    have ``labels`` (the held-out windows, masked once with a fixed seed) are only padded.
    """

    def __init__(self, tokenizer, probability: float = 0.15):
        import torch

        self.probability = probability
        self.pad_id = tokenizer.pad_token_id
        self.mask_id = tokenizer.mask_token_id
        if self.mask_id is None:
            raise UserError(f"{getattr(tokenizer, 'name_or_path', 'the tokenizer')}: has no mask token, so it cannot be "
                            "used for masked-language-model pretraining; pick a BERT-style model")
        special = set(tokenizer.all_special_ids)
        self.replacements = torch.tensor([i for i in range(len(tokenizer)) if i not in special])

    def mask(self, input_ids: list[int], word_ids: list[int], generator=None) -> tuple[list[int], list[int]]:
        """``(inputs, labels)`` for one window: the masked inputs, and the original id at each
        predicted position (``IGNORE_INDEX`` elsewhere)."""
        import torch

        words = sorted({w for w in word_ids if w != NOT_A_WORD})
        if not words:
            return list(input_ids), [IGNORE_INDEX] * len(input_ids)
        count = max(1, round(self.probability * len(words)))
        order = torch.randperm(len(words), generator=generator)[:count].tolist()
        chosen = {words[i] for i in order}
        inputs, labels = list(input_ids), [IGNORE_INDEX] * len(input_ids)
        predicted = [p for p, w in enumerate(word_ids) if w in chosen]
        draws = torch.rand(len(predicted), generator=generator).tolist()
        randoms = self.replacements[torch.randint(len(self.replacements), (len(predicted),), generator=generator)].tolist()
        for p, draw, random_id in zip(predicted, draws, randoms):
            labels[p] = input_ids[p]
            if draw < 0.8:
                inputs[p] = self.mask_id
            elif draw < 0.9:
                inputs[p] = random_id
        return inputs, labels

    def __call__(self, examples: list[dict]) -> dict:
        import torch

        width = max(len(e["input_ids"]) for e in examples)
        batch = {
            "input_ids": torch.full((len(examples), width), self.pad_id, dtype=torch.long),
            "attention_mask": torch.zeros((len(examples), width), dtype=torch.long),
            "labels": torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long),
        }
        for i, example in enumerate(examples):
            if "labels" in example and example["labels"] is not None:
                inputs, labels = example["input_ids"], example["labels"]
            else:
                inputs, labels = self.mask(example["input_ids"], example["word_ids"])
            batch["input_ids"][i, : len(inputs)] = torch.tensor(inputs)
            batch["attention_mask"][i, : len(inputs)] = 1
            batch["labels"][i, : len(labels)] = torch.tensor(labels)
        return batch


def split_windows(rows: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """``(train, dev)``: ``fraction`` of the windows (at least one, if there are two or more) held
    out to measure the masked-word loss, chosen with ``seed``."""
    if fraction <= 0 or len(rows) < 2:
        return rows, []
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_dev = min(len(rows) - 1, max(1, round(fraction * len(rows))))
    dev = set(order[:n_dev])
    return [r for i, r in enumerate(rows) if i not in dev], [r for i, r in enumerate(rows) if i in dev]


def masked_once(collator: WholeWordMasking, rows: list[dict], seed: int) -> list[dict]:
    """``rows`` masked with a fixed seed, so the loss before and after training is measured on the same masks."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    out = []
    for row in rows:
        inputs, labels = collator.mask(row["input_ids"], row["word_ids"], generator)
        out.append({"input_ids": inputs, "word_ids": row["word_ids"], "labels": labels})
    return out


def pretrain(config: PretrainConfig, documents: list[Document], output_dir: str | Path, resume: bool = False,
             verbose: bool = False) -> PretrainResult | None:
    """Pretrain on ``documents`` and write the masked-LM directory to ``output_dir`` whole.

    Like training, a full checkpoint is written to ``output_dir/checkpoints`` every epoch and
    ``resume=True`` continues from the newest one; the final directory is written beside
    ``output_dir`` and renamed into place. One line per epoch is printed; ``verbose`` shows
    transformers' progress bar and loss dicts instead.
    """
    from datasets import Dataset
    from transformers import set_seed

    from ..model.building import build_for_pretraining
    from .trainer import CHECKPOINTS, _resume_point, data_fingerprint, fit, stop_on_nan, training_arguments

    started = time.perf_counter()
    output_dir = Path(output_dir)
    checkpoints = output_dir / CHECKPOINTS
    fingerprint = data_fingerprint(documents, [])
    last = _resume_point(config, checkpoints, resume, fingerprint)
    set_seed(config.seed)
    words_of = [split_words(doc.text) for doc in documents]
    if not any(words_of):
        sources = sorted({str(doc.source or doc.id) for doc in documents})
        raise UserError(f"{', '.join(sources[:3])}{', ...' if len(sources) > 3 else ''}: the {len(documents)} text(s) hold no words "
                        "(only spaces and invisible marks); give articles to pretrain on")
    tokenizer, model = build_for_pretraining(config, ([w.form for w in words] for words in words_of), tokenizer_dir=last)
    collator = WholeWordMasking(tokenizer, config.mlm_probability)
    train_rows, dev_rows = split_windows(mlm_windows(tokenizer, words_of), config.dev_fraction, config.seed)
    dev_rows = masked_once(collator, dev_rows, config.seed)
    words = sum(len(w) for w in words_of)
    log.info(f"pretraining on {len(documents)} documents, {words:,} words: {len(train_rows)} windows of up to "
             f"{tokenizer.model_max_length} tokens, {len(dev_rows)} held out")
    args = training_arguments(config, checkpoints, has_dev=bool(dev_rows), keep_best=False, remove_unused_columns=False)
    trainer = masked_lm_trainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list([{"input_ids": r["input_ids"], "word_ids": r["word_ids"]} for r in train_rows]),
        eval_dataset=Dataset.from_list(dev_rows) if dev_rows else None,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=[stop_on_nan(config)],
    )
    before = _start_loss(trainer, checkpoints, last, bool(dev_rows))
    result = fit(trainer, config, checkpoints, fingerprint, last, verbose)
    if result is None:  # under DDP, the first process writes the model
        return None
    after = trainer.evaluate()["eval_loss"] if dev_rows else None
    outcome = PretrainResult(
        documents=len(documents), words=words, train_windows=len(train_rows), dev_windows=len(dev_rows),
        dev_loss_before=before, dev_loss_after=after, train_loss=result.training_loss,
        seconds=round(time.perf_counter() - started, 1), texts=list(config.texts), log_history=trainer.state.log_history,
    )
    _write_pretrained(output_dir, trainer.model, tokenizer, config, outcome)
    trainer.accelerator.wait_for_everyone()
    return outcome


def masked_lm_trainer(**kwargs):
    """A Trainer whose loss scores only the masked positions. A BERT masked-LM head computes logits
    over the whole vocabulary at every position, then the loss ignores all but the ~15% masked
    ones; on a small model that head is half the work. Here the encoder runs on every position and
    the head only on the masked ones, which gives the same loss. Models without BERT's
    ``bert`` + ``cls`` layout use their own forward."""
    import torch
    from transformers import Trainer

    class MaskedLmTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            bert, head = getattr(model, "bert", None), getattr(model, "cls", None)
            if bert is None or head is None or return_outputs:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            labels = inputs["labels"]
            hidden = bert(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).last_hidden_state
            predicted = labels != IGNORE_INDEX
            logits = head(hidden[predicted])
            reduction = "sum" if num_items_in_batch is not None else "mean"
            loss = torch.nn.functional.cross_entropy(logits.float(), labels[predicted], reduction=reduction)
            if num_items_in_batch is not None:  # summed over the batches of one update (and processes): as the Trainer does
                loss = loss / num_items_in_batch
                if self.args.average_tokens_across_devices:
                    loss = loss * self.accelerator.num_processes
            return loss

    return MaskedLmTrainer(**kwargs)


START_LOSS = "start_loss.json"


def _start_loss(trainer, checkpoints: Path, last: Path | None, has_dev: bool) -> float | None:
    """The held-out loss before training: measured now, or read back when resuming."""
    saved = checkpoints / START_LOSS
    if last is not None and saved.is_file():
        return json.loads(saved.read_text(encoding="utf-8"))["dev_loss_before"]
    if not has_dev:
        return None
    loss = trainer.evaluate()["eval_loss"]
    if trainer.is_world_process_zero():
        checkpoints.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps({"dev_loss_before": loss}) + "\n", encoding="utf-8")
    return loss


def _write_pretrained(output_dir: Path, model, tokenizer, config: PretrainConfig, outcome: PretrainResult) -> None:
    from ..core.results import METRICS, write_json
    from ..data.files import write_directory_whole
    from ..model.building import save_model

    def fill(staging: Path) -> None:
        save_model(model, tokenizer, staging)
        config.save(staging / config.FILE)
        write_json(staging / METRICS, outcome)
        (staging / "README.md").write_text(model_card(output_dir.name, config, outcome), encoding="utf-8")

    write_directory_whole(output_dir, fill)


def model_card(name: str, config: PretrainConfig, outcome: PretrainResult) -> str:
    """A Hugging Face model card: front matter (``ModelCardData``), then what the model is and how to use it."""
    from huggingface_hub import ModelCardData

    from ..reports.markdown import markdown_table

    data = ModelCardData(language="ar", library_name="transformers", pipeline_tag="fill-mask", tags=["arabic-ner", "masked-lm"],
                         base_model=None if config.model == SCRATCH else config.model)
    start = "from random weights (the offline model)" if config.model == SCRATCH else f"from `{config.model}`"
    lines = [
        "---", data.to_yaml(), "---", "",
        f"# {name}", "",
        f"A BERT masked language model pretrained by `pretrain.py` (arabic_ner) {start}, on "
        f"{outcome.documents:,} documents ({outcome.words:,} words) from {', '.join(f'`{t}`' for t in outcome.texts)}. "
        "Words were read by `split_words` and masked whole, as `train.py` and `predict.py` read them.", "",
        "Fine-tune it for NER with `train.py`, e.g. "
        f"`arabic-ner train --config configs/tiny.yaml --set model={config.output_dir}` (the offline recipe) "
        "or with your config's `model:` set to this directory.", "",
    ]
    if outcome.dev_loss_before is not None:
        row = [outcome.dev_windows, f"{outcome.dev_loss_before:.3f}", f"{outcome.dev_loss_after:.3f}",
               f"{outcome.perplexity(outcome.dev_loss_before):,.1f}", f"{outcome.perplexity(outcome.dev_loss_after):,.1f}"]
        lines += markdown_table(["held-out windows", "masked-word loss before", "after", "perplexity before", "after"], [row]) + [""]
    lines += [f"{outcome.train_windows} training windows, {config.num_train_epochs:g} epochs, {outcome.seconds / 60:.1f} minutes. "
              f"The config it was pretrained with is in `{config.FILE}`.", ""]
    return "\n".join(lines)
