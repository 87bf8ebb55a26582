"""The pretrained path, as an offline CAMeLBERT user takes it: configs/camelbert-msa.yaml with
``model: DIR``, a local directory holding a BERT whose WordPiece vocabulary was learnt from whole,
unsegmented words (see ``conftest.build_pretrained``).

What the model receives must be what its own tokenizer gives for the text, as in pretraining;
the spans that come back must still follow the guidelines, to the character, after one and two
proclitics and after ل+ال.
"""

from __future__ import annotations

import json

import pytest

from arabic_ner.data.labelstudio_json import labelstudio_task
from arabic_ner.model.precision import cpu_has_native_bf16

from helpers import (
    HARD_CASES,
    article_paragraphs,
    assert_spans_given_back_exactly,
    dediacritised,
    marked,
    predicted_records,
    run_command,
    sets,
    write_ls,
)

pytestmark = pytest.mark.slow

PROCLITIC_CASES = HARD_CASES + [
    "أعلن ⟦ORG|البنتاغون⟧ أن ⟦LOC|واشنطن⟧ ستدعم و⟦LOC|سوريا⟧ وب⟦LOC|الموصل القديمة⟧ ول⟦ORG|لتحالف الدولي⟧ دور ف⟦LOC|بغداد⟧.",
    "وصلت ⟦COUNT|ثلاث⟧ ⟦WEAPON|طائرات⟧ إلى ⟦LOC|كركوك⟧ وقصفت ل⟦ORG|لتنظيم⟧ مواقع في و⟦DATE|٦ كانون⟧ و⟦LOC|بيجي⟧.",
]


@pytest.fixture(scope="module")
def trained(pretrained_dir, tmp_path_factory):
    """Fine-tune the "pretrained" directory on the proclitic cases until it memorises them."""
    work = tmp_path_factory.mktemp("pretrained-run")
    gold = [marked(t, f"case-{i}") for i, t in enumerate(PROCLITIC_CASES)]
    gold_file = write_ls(work / "gold.json", [labelstudio_task(d) | {"id": i} for i, d in enumerate(gold)])
    model_dir = work / "model"
    result = run_command(
        "train", "--config", "configs/camelbert-msa.yaml", "--train", str(gold_file), "--dev", str(gold_file),
        "--output-dir", str(model_dir),
        *sets(f"model={pretrained_dir}", "revision=main", "max_length=512", "stride=128", "num_train_epochs=60",
              "learning_rate=1e-3", "warmup_steps=0.05", "per_device_train_batch_size=4", "bf16=false", "logging_steps=100"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return work, gold_file, model_dir, gold


def test_the_model_dir_records_the_scheme_and_its_labels(trained):
    _, _, model_dir, _ = trained
    config = json.loads((model_dir / "config.json").read_text())
    assert config["arabic_ner"]["scheme"] == "arabic-ner-words/2"
    labels = list(config["id2label"].values())
    assert labels[:5] == ["O", "B-LOC", "I-LOC", "B1-LOC", "B2-LOC"] and len(labels) == 21


def test_the_model_receives_exactly_its_own_tokenizers_ids_for_the_articles(trained, pretrained_dir):
    """What the model is fed, captured at its forward pass, against its tokenizer on the dediacritised
    paragraph: the same ids for at least 98% of the paragraphs, and at most 1% more tokens."""
    from transformers import AutoTokenizer

    from arabic_ner.model.inference import Tagger

    _, _, model_dir, _ = trained
    own = AutoTokenizer.from_pretrained(str(pretrained_dir))
    tagger = Tagger.load(str(model_dir), device="cpu")
    fed = []
    tagger.model.register_forward_pre_hook(lambda module, args, kwargs: fed.append(kwargs["input_ids"][0].tolist()), with_kwargs=True)
    paragraphs = article_paragraphs()
    same, ours, theirs, differing = 0, 0, 0, []
    for paragraph in paragraphs:
        fed.clear()
        tagger.tag_text(paragraph)
        (ids,) = fed  # one paragraph, one window
        expected = own(dediacritised(paragraph))["input_ids"]
        same += ids == expected
        ours, theirs = ours + len(ids), theirs + len(expected)
        if ids != expected:
            differing.append(paragraph[:60])
    assert len(paragraphs) > 70
    assert same >= 0.98 * len(paragraphs), differing
    assert ours <= 1.01 * theirs


def test_memorisation_from_the_pretrained_dir_gives_back_every_span_exactly(trained):
    work, gold_file, model_dir, gold = trained
    records = predicted_records(model_dir, gold_file, work / "pred.jsonl")
    assert_spans_given_back_exactly(gold, records)
    texts = {e["text"] for r in records for e in r["entities"]}
    assert {"داعش", "سوريا", "الموصل القديمة", "لتحالف الدولي", "لتنظيم", "واشنطن", "بغداد", "٦ كانون"} <= texts


def test_int8_and_fp32_on_onnxruntime_and_bf16_on_openvino_from_the_pretrained_dir_give_back_every_span_exactly(trained):
    """The ONNX export (made on first use, by int8) of a model fine-tuned from ``model: DIR``, and fp32 and bf16 on it."""
    work, gold_file, model_dir, gold = trained
    records = predicted_records(model_dir, gold_file, work / "pred-int8.jsonl", "--dtype", "int8", "--engine", "onnxruntime")
    assert (model_dir / "onnx" / "model-int8.onnx").is_file()
    assert_spans_given_back_exactly(gold, records)
    # fp32 now runs on that export's fp32 graph by default, and gives every span back too
    result = run_command("predict", "--model", str(model_dir), "--input", str(gold_file), "--output", str(work / "pred-fp32.jsonl"), "--dtype", "fp32")
    assert result.returncode == 0 and "onnxruntime" in next(line for line in result.stderr.splitlines() if line.startswith("precision:"))
    assert_spans_given_back_exactly(gold, [json.loads(line) for line in (work / "pred-fp32.jsonl").read_text(encoding="utf-8").splitlines()])
    # and bf16 on it on OpenVINO (on a CPU with native bf16; elsewhere bf16 runs as fp32, on onnxruntime)
    result = run_command("predict", "--model", str(model_dir), "--input", str(gold_file), "--output", str(work / "pred-bf16.jsonl"), "--dtype", "bf16")
    engine = "openvino" if cpu_has_native_bf16() else "onnxruntime"
    assert result.returncode == 0 and engine in next(line for line in result.stderr.splitlines() if line.startswith("precision:"))
    assert_spans_given_back_exactly(gold, [json.loads(line) for line in (work / "pred-bf16.jsonl").read_text(encoding="utf-8").splitlines()])


def test_the_transformers_pipeline_shows_whole_words_with_their_types(trained):
    """What the model card says of the plain pipeline: with aggregation_strategy="first" (a word's
    label is its first piece's, as arabic_ner reads it) each entity word shows whole, proclitic
    included, under its type; a multi-word entity that starts after a proclitic shows as two groups."""
    from transformers import pipeline

    _, _, model_dir, gold = trained
    ner = pipeline("token-classification", model=str(model_dir), aggregation_strategy="first")
    text = gold[-2].text
    shown = [(g["entity_group"], text[g["start"] : g["end"]]) for g in ner(text)]
    assert ("ORG", "البنتاغون") in shown and ("LOC", "وسوريا") in shown and ("LOC", "فبغداد") in shown
    assert ("LOC", "وبالموصل") in shown and ("LOC", "القديمة") in shown
