"""pretrain.py: masked-language-model pretraining on a few paragraphs, by whole word, handed on to train.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from arabic_ner.core.alignment import IGNORE_INDEX
from arabic_ner.core.config import PretrainConfig, ScratchModel, load_config
from arabic_ner.core.words import split_words
from arabic_ner.model.vocabulary import train_wordpiece
from arabic_ner.training.pretraining import NOT_A_WORD, WholeWordMasking, mlm_windows, split_windows

from helpers import ROOT, article_paragraphs, killed_at_first_checkpoint, run_command, sets

SMALL = {
    "scratch.num_hidden_layers": 2,
    "scratch.hidden_size": 64,
    "scratch.num_attention_heads": 2,
    "scratch.intermediate_size": 128,
    "max_length": 64,
    "logging_steps": 5,
}


def small(**extra) -> list[str]:
    return sets(*(f"{k}={v}" for k, v in {**SMALL, **extra}.items()))


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> Path:
    """A JSONL of the paragraphs of the five articles."""
    path = tmp_path_factory.mktemp("texts") / "paragraphs.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i, paragraph in enumerate(article_paragraphs()):
            f.write(json.dumps({"id": f"p{i}", "text": paragraph}, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="module")
def pretrained(texts, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("mlm") / "tiny-mlm"
    # A vocabulary of characters and the most frequent words: with every word of 2,000 in it, the
    # held-out windows are mostly words seen once, whose loss only noise moves.
    result = run_command("pretrain", "--config", "configs/tiny-mlm.yaml", "--texts", str(texts), "--output-dir", str(output),
                        *small(**{"scratch.vocab_size": 400}, num_train_epochs=20, per_device_train_batch_size=8, learning_rate=3e-3, dev_fraction=0.1))
    assert result.returncode == 0, result.stderr[-3000:]
    return output


def tokenizer_for(texts: list[str], vocab_size: int = 60, max_length: int = 64):
    """A scratch vocabulary so small that most words are several pieces."""
    config = PretrainConfig(scratch=ScratchModel(vocab_size=vocab_size), texts=["x"])
    tokenizer = train_wordpiece([[w.form for w in split_words(t)] for t in texts], config)
    tokenizer.model_max_length = max_length
    return tokenizer


def test_masking_takes_whole_words_and_only_words():
    text = "قصفت مقاتلات التحالف مواقع التنظيم في 2014على أطراف الموصل بطائرات F-16 و٦ نيسان"
    tokenizer = tokenizer_for([text], max_length=256)
    (row,) = mlm_windows(tokenizer, [split_words(text)])
    assert row["word_ids"][0] == NOT_A_WORD and row["word_ids"][-1] == NOT_A_WORD  # [CLS] ... [SEP]
    words = split_words(text)
    assert sorted(set(row["word_ids"]) - {NOT_A_WORD}) == list(range(len(words)))
    assert max(row["word_ids"].count(w) for w in range(len(words))) > 1  # some words have several pieces
    masking = WholeWordMasking(tokenizer, probability=0.15)
    glued = {w for w, word in enumerate(words) if word.form in ("2014", "على")}
    masked_words, glued_alone = [], False
    for seed in range(200):
        inputs, labels = masking.mask(row["input_ids"], row["word_ids"], torch.Generator().manual_seed(seed))
        chosen = {w for w, label in zip(row["word_ids"], labels) if label != IGNORE_INDEX}
        assert NOT_A_WORD not in chosen  # [CLS] and [SEP] are never predicted
        assert len(chosen) == round(0.15 * len(words))
        for p, w in enumerate(row["word_ids"]):
            assert (labels[p] != IGNORE_INDEX) == (w in chosen)  # every piece of a chosen word, no other
            if labels[p] != IGNORE_INDEX:
                assert labels[p] == row["input_ids"][p]
            else:
                assert inputs[p] == row["input_ids"][p]
        glued_alone |= len(chosen & glued) == 1  # 2014 and على touch, yet are masked as two words
        masked_words.append(chosen)
    assert glued_alone
    assert len({frozenset(c) for c in masked_words}) > 50  # the draws differ


def test_masked_inputs_are_mostly_mask_tokens_some_random_some_kept():
    texts = article_paragraphs()[:10]
    tokenizer = tokenizer_for(texts, vocab_size=2000)
    rows = mlm_windows(tokenizer, [split_words(t) for t in texts])
    masking = WholeWordMasking(tokenizer)
    kinds = {"mask": 0, "random": 0, "kept": 0}
    generator = torch.Generator().manual_seed(0)
    for row in rows * 40:
        inputs, labels = masking.mask(row["input_ids"], row["word_ids"], generator)
        for i, label, original in zip(inputs, labels, row["input_ids"]):
            if label != IGNORE_INDEX:
                kinds["mask" if i == tokenizer.mask_token_id else "kept" if i == original else "random"] += 1
    total = sum(kinds.values())
    assert total > 1000
    assert 0.74 < kinds["mask"] / total < 0.86 and 0.05 < kinds["random"] / total < 0.15 and 0.05 < kinds["kept"] / total < 0.16


def test_long_texts_are_windowed_not_truncated():
    text = " ".join(article_paragraphs())
    tokenizer = tokenizer_for([text], vocab_size=3000)
    rows = mlm_windows(tokenizer, [split_words(text)])
    assert len(rows) > 5 and all(len(r["input_ids"]) <= 64 for r in rows)
    seen = [w for r in rows for w in r["word_ids"] if w != NOT_A_WORD]
    assert seen == sorted(seen) and set(seen) == set(range(len(split_words(text))))  # each word once, in order


def test_the_trainer_loss_on_masked_positions_is_the_models_own_loss(tmp_path):
    """Running the masked-LM head only where words are masked gives the same loss as the full model."""
    from transformers import BertForMaskedLM, TrainingArguments

    from arabic_ner.model.building import scratch_bert_config
    from arabic_ner.training.pretraining import masked_lm_trainer

    texts = article_paragraphs()[:6]
    tokenizer = tokenizer_for(texts, vocab_size=800)
    config = PretrainConfig(scratch=ScratchModel(num_hidden_layers=1, hidden_size=32, num_attention_heads=2, intermediate_size=64),
                            texts=["x"], max_length=64)
    torch.manual_seed(0)
    model = BertForMaskedLM(scratch_bert_config(config, tokenizer)).eval()
    masking = WholeWordMasking(tokenizer)
    batch = masking(mlm_windows(tokenizer, [split_words(t) for t in texts]))
    trainer = masked_lm_trainer(model=model, args=TrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True))
    with torch.no_grad():
        fast = trainer.compute_loss(model, batch)
        full = model(**batch).loss
    assert (batch["labels"] != IGNORE_INDEX).sum() > 20
    assert torch.allclose(fast, full, atol=1e-5), (fast, full)


def test_held_out_windows_are_a_fraction_and_never_all():
    rows = [{"input_ids": [i]} for i in range(40)]
    train, dev = split_windows(rows, 0.1, seed=1)
    assert len(dev) == 4 and len(train) == 36 and {r["input_ids"][0] for r in train + dev} == set(range(40))
    assert split_windows(rows[:1], 0.5, 1) == (rows[:1], [])
    assert len(split_windows(rows[:2], 0.9, 1)[1]) == 1


def test_pretraining_lowers_the_held_out_loss_and_writes_a_model_dir(pretrained):
    metrics = json.loads((pretrained / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["documents"] == len(article_paragraphs()) and metrics["dev_windows"] >= 3
    assert metrics["dev_loss_after"] < metrics["dev_loss_before"] - 1.0, metrics  # 6.04 -> 4.45 (seeds 1, 2: 4.35, 4.36)
    losses = [entry["loss"] for entry in metrics["log_history"] if "loss" in entry]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 1.0, losses
    config = json.loads((pretrained / "config.json").read_text(encoding="utf-8"))
    assert config["architectures"] == ["BertForMaskedLM"]
    assert load_config(pretrained / "pretraining_config.yaml", cls=PretrainConfig).num_train_epochs == 20
    card = (pretrained / "README.md").read_text(encoding="utf-8")
    assert "pipeline_tag: fill-mask" in card and "masked-word loss" in card
    assert not (pretrained / "checkpoints").exists()
    from transformers import pipeline

    filled = pipeline("fill-mask", model=str(pretrained), device="cpu")("قصفت طائرات [MASK] مواقع التنظيم")
    assert len(filled) == 5 and all(0 <= f["score"] <= 1 for f in filled)


def test_the_pretrained_dir_is_what_train_starts_from(pretrained, tmp_path):
    """train.py with ``model: DIR`` starts from the pretrained encoder and keeps its tokenizer."""
    from safetensors.torch import load_file

    from arabic_ner.core.config import load_config as load_train_config
    from arabic_ner.model.building import build_for_training

    config = load_train_config(ROOT / "configs" / "tiny.yaml", [f"model={pretrained}", "max_length=64", "stride=16"])
    tokenizer, model = build_for_training(config, [])
    assert tokenizer.get_vocab() == json.loads((pretrained / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    weights = load_file(pretrained / "model.safetensors")
    own = model.state_dict()
    encoder = [k for k in weights if k.startswith("bert.")]
    assert len(encoder) > 20 and all(torch.equal(weights[k], own[k]) for k in encoder)

    result = run_command("train", "--config", "configs/tiny.yaml", "--output-dir", str(tmp_path / "ner"),
                        *sets(f"model={pretrained}", "max_length=64", "stride=16", "num_train_epochs=1"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((tmp_path / "ner" / "config.json").read_text(encoding="utf-8"))["architectures"] == ["BertForTokenClassification"]


def test_a_pretrained_model_keeps_its_own_vocabulary(pretrained_dir, texts, tmp_path):
    """Domain adaptation: continuing a pretrained BERT's pretraining keeps its tokenizer, and learns."""
    output = tmp_path / "adapted"
    result = run_command("pretrain", "--config", "configs/tiny-mlm.yaml", "--texts", str(texts), "--output-dir", str(output),
                        *sets(f"model={pretrained_dir}", "num_train_epochs=3", "max_length=64", "learning_rate=5e-4", "dev_fraction=0.2"))
    assert result.returncode == 0, result.stderr[-3000:]
    before = json.loads((pretrained_dir / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    assert json.loads((output / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"] == before
    metrics = json.loads((output / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["dev_loss_after"] < metrics["dev_loss_before"]
    assert f"base_model: {pretrained_dir}" in (output / "README.md").read_text(encoding="utf-8")


def pretrain_args(texts: Path, output: Path, *extra: str) -> list[str]:
    return ["pretrain", "--config", "configs/tiny-mlm.yaml", "--texts", str(texts), "--output-dir", str(output),
            *small(num_train_epochs=4), *extra]


@pytest.mark.slow
def test_a_killed_pretraining_run_resumes_to_the_same_model(texts, tmp_path):
    from safetensors.torch import load_file

    reference = tmp_path / "reference"
    assert run_command(*pretrain_args(texts, reference)).returncode == 0
    output = tmp_path / "killed"
    killed_at_first_checkpoint(pretrain_args(texts, output), output)
    refused = run_command(*pretrain_args(texts, output))
    assert refused.returncode == 2 and "holds checkpoints of an interrupted run" in refused.stderr
    resumed = run_command(*pretrain_args(texts, output, "--resume"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = load_file(reference / "model.safetensors"), load_file(output / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((output / "metrics.json").read_text())["dev_loss_before"] == json.loads((reference / "metrics.json").read_text())["dev_loss_before"]


def test_bad_input_is_one_line(texts, pretrained, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_command("pretrain", "--config", "configs/tiny-mlm.yaml", "--texts", str(empty), "--output-dir", str(tmp_path / "m"))
    assert result.returncode == 2 and "the folder has no .txt files" in result.stderr and "Traceback" not in result.stderr
    blank = tmp_path / "blank.jsonl"
    blank.write_text('{"id": "a", "text": "  "}\n', encoding="utf-8")
    result = run_command("pretrain", "--config", "configs/tiny-mlm.yaml", "--texts", str(blank), "--output-dir", str(tmp_path / "m"))
    assert result.returncode == 2 and "no text to pretrain on" in result.stderr and "1 empty document(s) left out" in result.stderr
    result = run_command("pretrain", "--config", "configs/tiny-mlm.yaml", "--texts", str(texts), "--set", "mlm_probabilty=0.2")
    assert result.returncode == 2 and "did you mean 'mlm_probability'" in result.stderr
    result = run_command("pretrain", "--config", "configs/tiny-mlm.yaml", "--texts", str(texts), "--set", "mlm_probability=1.5")
    assert result.returncode == 2 and "mlm_probability: 1.5 must be between 0 and 1" in result.stderr
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    result = run_command(*pretrain_args(texts, foreign))
    assert result.returncode == 2 and "did not write" in result.stderr
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep me"
    result = run_command(*pretrain_args(texts, pretrained))
    assert result.returncode == 2 and "holds a trained model; pass --overwrite" in result.stderr


def test_a_tokenizer_without_a_mask_token_cannot_pretrain():
    from arabic_ner.core.problems import UserError

    tokenizer = tokenizer_for(article_paragraphs()[:3])
    tokenizer.mask_token = None
    with pytest.raises(UserError, match="has no mask token, so it cannot be used for masked-language-model pretraining"):
        WholeWordMasking(tokenizer)


@pytest.mark.parametrize("override, message", [
    ("texts=[]", "texts: list at least one folder of .txt articles"),
    ("output_dir=' '", "output_dir: must name a folder for the model"),
    ("scratch=null", "model: 'scratch' needs a `scratch:` block"),
    ("max_length=8", "max_length: 8 must be between 16 and 8192"),
    ("dev_fraction=1", "dev_fraction: 1.0 must be in [0, 1)"),
    ("fp16=true", "bf16 and fp16: choose one"),
    ("learning_rate=0", "learning_rate: 0.0 must be positive"),
])
def test_pretraining_config_values_are_checked(override, message):
    from arabic_ner.core.problems import UserError

    overrides = [override, "bf16=true"] if override == "fp16=true" else [override]
    with pytest.raises(UserError, match=re.escape(message)):
        load_config(ROOT / "configs" / "tiny-mlm.yaml", overrides, cls=PretrainConfig)
