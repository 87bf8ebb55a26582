"""Choosing what to annotate next: the uncertainty the Tagger measures, the ranking, and its command."""

from __future__ import annotations

import json
import math

import pytest

from arabic_ner.core.document import Document
from arabic_ner.labelstudio.selection import chosen_order, ranking
from arabic_ner.model.inference import Tagged, Tagger, Uncertainty

from helpers import ROOT, run_command

RAW = ROOT / "data" / "raw"


def tagged(doc_id: str, entropy: float | None, least: float = 0.5, error: str | None = None) -> Tagged:
    uncertainty = None if entropy is None else Uncertainty(10, least, entropy)
    return Tagged(Document(doc_id, "نص", error=error), None if entropy is None else 0.9, uncertainty)


def test_most_uncertain_first_ties_in_input_order_and_never_a_document_without_words_or_text():
    pool = [tagged("a", 0.2), tagged("b", 0.9), tagged("none", None), tagged("c", 0.2),
            tagged("bad", 0.99, error="pool.jsonl: line 4: not JSON"), tagged("d", 0.5)]
    assert [t.document.id for t in chosen_order(pool, "entropy")] == ["b", "d", "a", "c"]


def test_each_strategy_ranks_by_its_own_measure():
    pool = [tagged("sure on average, one doubtful word", 0.1, least=0.8), tagged("unsure throughout", 0.6, least=0.4)]
    assert [t.document.id for t in chosen_order(pool, "entropy")][0] == "unsure throughout"
    assert [t.document.id for t in chosen_order(pool, "least-confidence")][0] == "sure on average, one doubtful word"
    ranked = ranking(pool, "least-confidence")
    assert [(r.rank, r.uncertainty, r.least_confidence, r.mean_entropy) for r in ranked] == [(1, 0.8, 0.8, 0.1), (2, 0.4, 0.4, 0.6)]


@pytest.fixture(scope="module")
def tagger(one_epoch_model):
    return Tagger.load(str(one_epoch_model))


def test_uncertainty_is_the_entropy_and_confidence_of_each_words_labels(tagger):
    import torch

    from arabic_ner.core.words import split_words

    words = ["قصف", "التحالف", "مواقع", "لداعش", "في", "الموصل"]
    (result,) = tagger.tag([Document("d", " ".join(words))])
    (encoding,) = tagger.encoder.encode([split_words(result.document.text)])
    (window,) = range(len(encoding.windows))
    ids = torch.tensor([tagger.encoder.inputs(encoding, window)])
    with torch.inference_mode():
        logits = tagger.model(input_ids=ids).logits[0]
    probs = torch.stack([logits[col] for col, _ in tagger.encoder.reads(encoding, window)]).float().softmax(-1)
    entropies = [-(p * p.log()).sum().item() for p in probs]
    assert result.uncertainty.words == len(words) == len(entropies)
    assert result.uncertainty.mean_entropy == pytest.approx(sum(entropies) / len(words), abs=1e-5)
    assert result.uncertainty.least_confidence == pytest.approx(1 - probs.max(-1).values.min().item(), abs=1e-5)
    assert result.score == pytest.approx(probs.max(-1).values.mean().item(), abs=1e-5)
    labels = len(tagger.id2label)
    assert 0 < result.uncertainty.mean_entropy < math.log(labels)
    assert next(tagger.tag([Document("empty", "  ")])).uncertainty is None


def test_random_is_a_seeded_shuffle_of_the_documents_that_have_words():
    pool = [tagged(f"d{i}", i / 20) for i in range(12)] + [tagged("none", None), tagged("bad", 0.5, error="unreadable")]
    first = [t.document.id for t in chosen_order(pool, "random", seed=3)]
    assert first == [t.document.id for t in chosen_order(pool, "random", seed=3)]  # the same seed, the same order
    assert sorted(first) == sorted(f"d{i}" for i in range(12))  # every document with words, once
    assert first != [t.document.id for t in chosen_order(pool, "random", seed=4)]
    assert first != [f"d{i}" for i in range(12)]
    assert [(r.rank, r.id, r.uncertainty) for r in ranking(pool, "random", seed=3)][:2] == [(1, first[0], None), (2, first[1], None)]


def test_the_default_strategy_is_random_as_the_bench_measured():
    from arabic_ner.labelstudio.selection import DEFAULT_STRATEGY, STRATEGIES

    assert DEFAULT_STRATEGY == "random" and STRATEGIES == ("random", "entropy", "least-confidence")


def test_the_ranking_command_writes_every_document_most_uncertain_first(one_epoch_model, tmp_path):
    out = tmp_path / "ranking.jsonl"
    result = run_command("select", "--model", str(one_epoch_model), "--input", str(RAW), "--output", str(out), "--strategy", "entropy")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(p.stem for p in RAW.glob("*.txt"))
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["uncertainty"] for r in rows] == sorted((r["mean_entropy"] for r in rows), reverse=True)
    assert {r["strategy"] for r in rows} == {"entropy"} and all(r["words"] > 100 for r in rows)
    assert f"5 document(s) ranked by entropy -> {out}" in result.stdout

    shuffled = tmp_path / "random.jsonl"
    result = run_command("select", "--model", str(one_epoch_model), "--input", str(RAW), "--output", str(shuffled), "--seed", "7")
    assert result.returncode == 0, result.stderr[-2000:]
    rows_random = [json.loads(line) for line in shuffled.read_text(encoding="utf-8").splitlines()]
    assert {(r["strategy"], r["seed"], r["uncertainty"]) for r in rows_random} == {("random", 7, None)}
    assert sorted(r["id"] for r in rows_random) == sorted(r["id"] for r in rows)
    by_id = {r["id"]: r["mean_entropy"] for r in rows}
    assert all(r["mean_entropy"] == by_id[r["id"]] for r in rows_random)  # the same tagging, another order
    assert f"5 document(s) ranked by random -> {shuffled}" in result.stdout

    top = tmp_path / "top.jsonl"
    result = run_command("select", "--model", str(one_epoch_model), "--input", str(RAW),
                        "--output", str(top), "--strategy", "least-confidence", "--top", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in top.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2 and rows[0]["least_confidence"] >= rows[1]["least_confidence"]

    again = run_command("select", "--model", str(one_epoch_model), "--input", str(RAW), "--output", str(out))
    assert again.returncode == 2 and again.stderr.splitlines() == [f"{out}: exists; pass --overwrite to replace it, or give another --output"]


def test_a_document_that_cannot_be_read_is_named_and_left_out(one_epoch_model, tmp_path):
    pool = tmp_path / "pool.jsonl"
    pool.write_text('{"id": "ok", "text": "قصف التحالف مواقع لداعش"}\n{"id": "broken", "text": \n', encoding="utf-8")
    out = tmp_path / "ranking.jsonl"
    result = run_command("select", "--model", str(one_epoch_model), "--input", str(pool), "--output", str(out))
    assert result.returncode == 1
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["ok"]
    assert f"{pool}: line 2" in result.stderr and "left out of the ranking" in result.stderr
