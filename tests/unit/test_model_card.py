"""The model card states the run's data, config and scores, and its loading snippets really load the model."""

from __future__ import annotations

import re

import pytest
import yaml

from arabic_ner.core.config import Config, load_config
from arabic_ner.core.document import Document
from arabic_ner.core.results import CrossValidation, CVSummary, MeanStd, TrainingMetrics, TrainSummary
from arabic_ner.evaluation.scoring import score_documents
from arabic_ner.reports.model_card import model_card, write_model_card

from helpers import ROOT, marked, tiny_overrides

LABELS = ["LOC", "ORG", "WEAPON", "COUNT", "DATE"]


@pytest.fixture
def config() -> Config:
    return load_config(ROOT / "configs/tiny.yaml", tiny_overrides(num_train_epochs=7))


@pytest.fixture
def metrics() -> TrainingMetrics:
    """The metrics train_model returns, with a dev report where LOC is found and ORG missed."""
    gold = marked("قصف ل⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧", "dev-1")
    pred = Document("dev-1", gold.text, [gold.spans[1]])
    dev, _ = score_documents([gold], [pred], LABELS)
    dev.document_ids = ["dev-1"]
    train = TrainSummary(documents=4, windows=23, spans_per_label=COUNTS, train_loss=0.4321, epoch=7.0)
    return TrainingMetrics(train=train, best_checkpoint="checkpoint-21", log_history=[], dev=dev)


COUNTS = {"LOC": 71, "ORG": 99, "WEAPON": 19, "COUNT": 29, "DATE": 23}


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, re.S)


def test_card_gives_the_spans_per_label_and_their_total(config, metrics):
    card = model_card("models/x", config, metrics)
    for label, n in COUNTS.items():
        assert f"| {label} | {n} |" in card
    assert "| **total** | 241 |" in card
    assert "4 training documents" in card and "1 dev document (" in card


def test_card_gives_the_dev_scores_per_type(config, metrics):
    card = model_card("models/x", config, metrics)
    assert "| LOC | 100.0 | 100.0 | 100.0 | 1 |" in card
    assert "| ORG | 0.0 | 0.0 | 0.0 | 1 |" in card
    assert "| **micro** | 100.0 | 50.0 | 66.7 | 2 |" in card
    assert "missed 1" in card and "best checkpoint `checkpoint-21`" in card


def test_card_config_block_is_the_config(config, metrics):
    card = model_card("models/x", config, metrics)
    block = re.search(r"```yaml\n(.*?)```", card, re.S).group(1)
    assert yaml.safe_load(block) == config.to_dict()


def test_card_gives_cv_mean_and_std_when_there_is_a_cv_summary(config, metrics):
    cv = CrossValidation(k=5, folds=[], mean_std=CVSummary(
        span_micro_f1=MeanStd(0.62, 0.05),
        seqeval_strict_micro_f1=MeanStd(0.6, 0.04),
        span_f1_per_type={"LOC": MeanStd(0.7, 0.1), "ORG": None, "WEAPON": None, "COUNT": None, "DATE": None},
    ))
    card = model_card("models/x", config, metrics, cv)
    assert "5-fold cross-validation" in card
    assert "character-span micro F1: **62.0 ± 5.0**" in card
    assert "| LOC | 70.0 ± 10.0 |" in card and "| ORG | – (in no test fold) |" in card
    assert "the cross-validation above is the estimate to quote" in card
    assert "5-fold" not in model_card("models/x", config, metrics)


def test_card_without_dev_or_cv_says_it_has_no_held_out_score(config, metrics):
    metrics.dev = None
    card = model_card("models/x", config, metrics)
    assert "No held-out score" in card and "no dev documents" in card


def test_card_limits_name_the_rare_types_and_the_scratch_model(config, metrics):
    limits = model_card("models/x", config, metrics).split("## Limits")[1].split("## How to use")[0]
    assert "for WEAPON, COUNT, DATE:" in limits  # fewer than 30 spans; LOC and ORG are not named
    assert "random weights" in limits


@pytest.mark.slow
def test_card_snippets_load_the_model_with_transformers_and_with_the_tagger(tmp_path, capsys):
    """Run the card's own code blocks against a real (untrained) model directory."""
    from arabic_ner.model.building import build_for_training, save_model

    config = load_config(ROOT / "configs/tiny.yaml", tiny_overrides())
    words = [["قصف", "التحالف", "مواقع", "ل", "داعش", "في", "الموصل"]]
    tokenizer, model = build_for_training(config, words)
    model_dir = tmp_path / "model"
    save_model(model, tokenizer, model_dir)
    metrics = TrainingMetrics(train=TrainSummary(documents=1, windows=1, spans_per_label={"ORG": 1}, epoch=1.0))
    path = write_model_card(model_dir, config, metrics)
    assert path == model_dir / "README.md"
    pipeline_code, tagger_code = python_blocks(path.read_text(encoding="utf-8"))
    assert 'aggregation_strategy="first"' in pipeline_code and str(model_dir) in pipeline_code
    exec(pipeline_code, {})
    assert capsys.readouterr().out.startswith("[")  # the pipeline's list of entities, empty or not
    namespace = {}
    exec(tagger_code, namespace)
    assert namespace["tagger"].id2label[0] == "O"
