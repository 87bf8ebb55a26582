"""Learning from several corpora at once: sources with label maps, weights and holdout, and
starting from another token classifier (``init_from``)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import torch

from arabic_ner.core.config import Config, ScratchModel, Source, load_config, parse_label_map
from arabic_ner.core.document import Document, Span
from arabic_ner.core.problems import UserError
from arabic_ner.data.labelstudio_json import labelstudio_task
from arabic_ner.model.building import replace_classifier
from arabic_ner.training.corpora import dev_split, held_out, k_folds
from arabic_ner.training.trainer import LengthBucketSampler

from helpers import marked, one_line_errors, run_command, sets, tiny_overrides, write_ls

LABELS = ["LOC", "ORG", "WEAPON", "COUNT", "DATE"]


def test_a_source_is_a_path_or_a_mapping(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "model: scratch\nscratch: {}\ntrain:\n  - annotations/corpus.json\n"
        "  - {path: x.txt, label_map: {PERS: null, GPE: LOC}, weight: 0.25, holdout: false}\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.train == [Source("annotations/corpus.json"),
                            Source("x.txt", label_map={"PERS": None, "GPE": "LOC"}, weight=0.25, holdout=False)]
    assert load_config(path, ["dev=y.json"]).dev == Source("y.json")


@pytest.mark.parametrize("source, message", [
    ("{path: x.txt, label_map: {GPE: PLACE}}", "label_map maps 'GPE' to 'PLACE', which is not in labels"),
    ("{path: x.txt, weight: -1}", "weight -1.0 must be a finite number >= 0"),
    ("{path: x.txt, weight: .inf}", "weight inf must be a finite number >= 0"),
    ("{path: x.txt, label_map: [PERS]}", "expected a mapping like {PERS: null, GPE: LOC}"),
    ("{path: x.txt, wieght: 2}", "unknown config key 'train.wieght'; did you mean 'train.weight'?"),
    ("{path: x.txt, holdout: false}", "no source has holdout: true"),
    ("{path: '', weight: 1}", "path is empty"),
])
def test_source_errors_are_one_line_that_names_the_key(tmp_path, source, message):
    path = tmp_path / "c.yaml"
    path.write_text(f"model: scratch\nscratch: {{}}\ntrain: [{source}]\n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        load_config(path)
    assert message in str(error.value)


def test_label_map_on_the_command_line():
    assert parse_label_map(["PERS=null", "GPE=LOC"]) == {"PERS": None, "GPE": "LOC"}
    with pytest.raises(UserError, match="expected LABEL=TARGET"):
        parse_label_map(["PERS"])


def test_map_without_files_on_the_command_line_is_one_line():
    result = run_command("train", "--config", "configs/tiny.yaml", "--map", "PERS=null", "--check")
    assert result.returncode == 2 and result.stderr.strip() == (
        "--map applies to the files given with --train or --dev; in a config, give each source a label_map"
    )


def test_sources_that_all_weigh_nothing_are_refused():
    from arabic_ner.training.trainer import training_data

    config = load_config("configs/tiny.yaml", tiny_overrides(**{"train": "[{path: a.json, weight: 0}]", "dev_fraction": 0}))
    doc = marked("قصف ⟦ORG|داعش⟧", "a")
    doc.source = "a.json"  # as read from the source's file
    with pytest.raises(UserError, match="every training source has weight 0"):
        training_data(config, [doc], [])


def _docs(source: str, n: int) -> list[Document]:
    return [Document(f"{source}-{i}", "نص", [], source) for i in range(n)]


def test_dev_split_and_cv_folds_draw_only_on_holdout_sources():
    config = Config(model="scratch", scratch=ScratchModel(), train=[Source("a.json"), Source("b.txt", holdout=False)])
    documents = _docs("a.json", 5) + _docs("b.txt", 3)
    pool, fixed = held_out(config, documents)
    assert [d.source for d in pool] == ["a.json"] * 5 and [d.source for d in fixed] == ["b.txt"] * 3
    train, dev = dev_split(config, documents)
    assert len(dev) == 1 and dev[0].source == "a.json" and len(train) == 7
    assert all(d.source == "a.json" for _, test in k_folds(pool, 5, 42) for d in test)


def test_weighted_sampler_sees_whole_parts_always_and_draws_fractions_anew_each_epoch():
    torch.manual_seed(0)
    weights = [1.0] * 4 + [0.25] * 40 + [2.0]
    sampler = LengthBucketSampler([10] * len(weights), batch_size=4, weights=weights)
    assert len(sampler) == 4 + 10 + 2
    epochs = [list(sampler) for _ in range(20)]
    for order in epochs:
        counts = Counter(order)
        assert len(order) == len(sampler)
        assert all(counts[i] == 1 for i in range(4)) and counts[44] == 2
        assert sum(counts[i] for i in range(4, 44)) == 10 and max(counts[i] for i in range(4, 44)) == 1
    assert {i for order in epochs for i in order} == set(range(len(weights)))  # every window is seen in time


def test_unweighted_sampler_is_a_plain_shuffle():
    torch.manual_seed(3)
    plain = list(LengthBucketSampler([5, 9, 7, 3, 8], batch_size=8))
    torch.manual_seed(3)
    weighted = list(LengthBucketSampler([5, 9, 7, 3, 8], batch_size=8, weights=[1.0] * 5))
    assert plain == weighted and sorted(plain) == [0, 1, 2, 3, 4]


def test_replace_classifier_copies_rows_of_labels_with_the_same_name():
    from transformers import BertConfig, BertForTokenClassification

    torch.manual_seed(0)
    source = ["O", "B-PERS", "I-PERS", "B-LOC", "I-LOC"]
    model = BertForTokenClassification(BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        id2label=dict(enumerate(source)), label2id={label: i for i, label in enumerate(source)},
    ))
    old_weight, old_bias = model.classifier.weight.detach().clone(), model.classifier.bias.detach().clone()
    labels = Config(model="scratch", scratch=ScratchModel()).model_labels
    copied, new = replace_classifier(model, labels, "m")
    assert copied == ["O", "B-LOC", "I-LOC"] and "B-PERS" not in labels and "B-ORG" in new
    for label in copied:
        assert torch.equal(model.classifier.weight[labels.index(label)], old_weight[source.index(label)])
        assert model.classifier.bias[labels.index(label)] == old_bias[source.index(label)]
    assert model.classifier.out_features == len(labels) == model.config.num_labels
    assert model.config.id2label[labels.index("B-ORG")] == "B-ORG"
    assert model(torch.tensor([[1, 2, 3]])).logits.shape == (1, 3, len(labels))


def test_init_from_a_model_without_a_linear_classifier_is_one_line():
    class Model:
        classifier = torch.nn.Sequential(torch.nn.Linear(4, 2))

    with pytest.raises(UserError, match="init_from needs a token classifier whose head is one linear layer named `classifier`"):
        replace_classifier(Model(), ["O"], "some/model")


ANER_STYLE = """قال O
زيد B-PERS
إن O
بواشنطن B-GPE
و O
المنظمة B-ORG
الدولية I-ORG
قصفت O
ثلاثة B-CARDINAL
مواقع O
"""


@pytest.mark.slow
def test_mixed_sources_train_with_maps_weights_and_holdout(tmp_path):
    articles = [marked(f"قصف ⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧ يوم {i}", f"a{i}") for i in range(5)]
    gold = write_ls(tmp_path / "articles.json", [labelstudio_task(d) | {"id": i} for i, d in enumerate(articles)])
    corpus = tmp_path / "public.txt"
    corpus.write_text("\n".join([ANER_STYLE] * 20), encoding="utf-8")
    config = tmp_path / "mixed.yaml"
    config.write_text(
        open("configs/tiny.yaml", encoding="utf-8").read().replace(
            "train: [annotations/corpus.json]",
            f"train: [{gold}, {{path: {corpus}, label_map: {{PERS: null, GPE: LOC, CARDINAL: COUNT}}, weight: 0.5, holdout: false}}]",
        ),
        encoding="utf-8",
    )
    out = tmp_path / "model"
    result = run_command("train", "--config", str(config), "--output-dir", str(out), *sets(*tiny_overrides(num_train_epochs=2)))
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["train"]["spans_per_label"]["COUNT"] == 20 and metrics["train"]["spans_per_label"]["LOC"] == 4 + 20
    assert [(s["path"], s["documents"], s["weight"]) for s in metrics["train"]["sources"]] == [(str(gold), 4, 1.0), (str(corpus), 1, 0.5)]
    assert all(doc_id.startswith("a") for doc_id in metrics["dev"]["document_ids"])  # dev comes from the articles only
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "weight 0.5; labels mapped PERS → dropped, GPE → LOC, CARDINAL → COUNT; always trained on, never held out" in card

    unmapped = run_command("train", "--config", "configs/tiny.yaml", "--train", str(corpus), "--check")
    assert unmapped.returncode == 1
    assert "labels neither declared nor mapped: CARDINAL (20 entities" in "\n".join(one_line_errors(unmapped.stderr))
    mapped = run_command("train", "--config", "configs/tiny.yaml", "--train", str(corpus), "--check",
                        "--map", "PERS=null", "--map", "GPE=LOC", "--map", "CARDINAL=COUNT")
    assert mapped.returncode == 0, mapped.stderr[-2000:]
    assert "spans per label: LOC 20, ORG 20, WEAPON 0, COUNT 20, DATE 0" in mapped.stdout


@pytest.mark.slow
def test_init_from_another_token_classifier(tmp_path):
    corpus = tmp_path / "public.txt"
    corpus.write_text("\n".join([ANER_STYLE] * 20), encoding="utf-8")
    first = tmp_path / "first"
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(corpus), "--output-dir", str(first),
                        *sets(*tiny_overrides(num_train_epochs=2), "labels=[LOC, ORG, PERS]", "dev_fraction=0"), "--map", "GPE=LOC",
                        "--map", "CARDINAL=null")
    assert result.returncode == 0, result.stderr[-3000:]
    articles = [marked(f"قصف ⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧ يوم {i}", f"a{i}") for i in range(3)]
    gold = write_ls(tmp_path / "articles.json", [labelstudio_task(d) | {"id": i} for i, d in enumerate(articles)])
    second = tmp_path / "second"
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(gold), "--output-dir", str(second),
                        *sets(*tiny_overrides(num_train_epochs=1), f"init_from={first}"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"init_from {first}: encoder and tokenizer reused; classifier rows copied for O, B-LOC, I-LOC, B1-LOC, B2-LOC, B-ORG" in result.stderr
    assert "new rows for" in result.stderr and "B-WEAPON" in result.stderr.split("new rows for")[1]
    def vocab(model_dir):
        return json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]

    assert vocab(second) == vocab(first)  # the first model's tokenizer, not one learnt from the articles
    config = json.loads((second / "config.json").read_text(encoding="utf-8"))
    assert "B-PERS" not in config["id2label"].values() and "B-DATE" in config["id2label"].values()
    assert f"the token classifier `{first}`" in (second / "README.md").read_text(encoding="utf-8")


def test_spans_that_include_proclitics_move_out_where_the_corpus_attests_the_stem():
    from arabic_ner.data.labelstudio_json import move_proclitics_out

    def doc(source):
        return marked(source, source[:6])

    docs = [
        doc("زار ⟦LOC|بواشنطن⟧ و⟦LOC|بغداد⟧ ثم ⟦LOC|وبواشنطن⟧ و⟦ORG|للأمم المتحدة⟧"),
        doc("في ⟦LOC|واشنطن⟧ قال ⟦PERS|فيصل⟧ إنه يصل ⟦ORG|الأمم المتحدة⟧ و⟦LOC|غداد⟧"),
    ]
    for d in docs:  # the corpus's own convention: the proclitics inside the span
        d.spans = [Span(d.text.rfind(" ", 0, s.start) + 1, s.end, s.label) for s in d.spans]
    assert move_proclitics_out(docs) == (3, 8)
    assert [docs[0].text[s.start : s.end] for s in docs[0].spans] == ["واشنطن", "وبغداد", "واشنطن", "لأمم المتحدة"]
    assert [docs[1].text[s.start : s.end] for s in docs[1].spans] == ["واشنطن", "فيصل", "الأمم المتحدة", "وغداد"]
