"""The batched engine against the simple path: the same spans, whatever the batching."""

from __future__ import annotations

import pytest

from arabic_ner.core.document import Document
from arabic_ner.core.problems import UserError
from arabic_ner.core.words import split_words
from arabic_ner.data.labelstudio_json import labelstudio_task
from arabic_ner.model.inference import Tagger

from helpers import HARD_CASES, long_document, marked, run_command, sets, tiny_overrides, write_ls

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    work = tmp_path_factory.mktemp("inference")
    docs = [marked(t, f"case-{i}") for i, t in enumerate(HARD_CASES)] + [marked(long_document(), "long")]
    gold = write_ls(work / "gold.json", [labelstudio_task(d) | {"id": i} for i, d in enumerate(docs)])
    overrides = sets(*tiny_overrides(num_train_epochs=15, learning_rate=2e-3))
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(gold), "--output-dir", str(work / "m"), *overrides)
    assert result.returncode == 0, result.stderr[-2000:]
    return str(work / "m")


def documents() -> list[Document]:
    texts = [marked(t).text for t in HARD_CASES] + [marked(long_document(300 + 97 * i)).text for i in range(4)]
    texts += ["", "   ", "قصف", "\ufffd"] + [f"قصف التحالف مواقع لداعش في الموصل {i}" * (i % 5 + 1) for i in range(40)]
    return [Document(str(i), t) for i, t in enumerate(texts)]


def test_batched_tagging_gives_the_spans_of_one_document_at_a_time(model_dir):
    simple = Tagger.load(model_dir, batch_size=1, chunk_documents=1)
    fast = Tagger.load(model_dir, batch_size=64, max_batch_tokens=2048, chunk_documents=16)
    one_by_one = [t.document.spans for t in simple.tag(documents())]
    batched = [t.document.spans for t in fast.tag(documents())]
    assert batched == one_by_one
    for a, b in zip(simple.tag(documents()), fast.tag(documents())):
        assert all(abs(x.score - y.score) < 1e-4 for x, y in zip(a.document.spans, b.document.spans))


def test_int8_tagging_keeps_offsets_exact(model_dir):
    tagger = Tagger.load(model_dir, dtype="int8")
    for tagged in tagger.tag(documents()):
        doc = tagged.document
        assert all(0 <= s.start < s.end <= len(doc.text) for s in doc.spans)


def test_a_bf16_tagger_leaves_the_callers_model_in_fp32(model_dir):
    import torch

    from arabic_ner.model.loading import load_trained
    from arabic_ner.model.precision import cpu_has_native_bf16

    tokenizer, model = load_trained(model_dir)
    tagger = Tagger(model, tokenizer, device="cpu", dtype="bf16")
    assert next(model.parameters()).dtype == torch.float32  # the Trainer's model goes on training in fp32
    expected = torch.bfloat16 if cpu_has_native_bf16() else torch.float32
    assert next(tagger.model.parameters()).dtype == expected


def test_a_dtype_the_engine_cannot_honour_is_refused_with_what_to_do(model_dir):
    with pytest.raises(UserError, match=r"^--dtype int4: choose one of auto, fp32, bf16, int8$"):
        Tagger.load(model_dir, dtype="int4")
    # refused before the model moves, so this needs no GPU
    with pytest.raises(UserError, match=r"^--dtype int8 runs on the CPU; on a GPU use --dtype auto \(bf16/fp16 autocast\) or fp32$"):
        Tagger.load(model_dir, device="cuda", dtype="int8")


def test_batches_mix_documents_and_never_pad_more_than_a_twentieth(model_dir):
    tagger = Tagger.load(model_dir, batch_size=64, max_batch_tokens=4096)
    docs = documents()
    encodings = tagger.encoder.encode([split_words(d.text) for d in docs])
    windows = sorted(((d, k) for d, e in enumerate(encodings) for k in range(len(e.windows))),
                     key=lambda dk: -(encodings[dk[0]].windows[dk[1]][1] - encodings[dk[0]].windows[dk[1]][0]))
    batches = list(tagger._batches(windows, encodings))
    assert sorted(w for b in batches for w in b) == sorted(windows)  # every window exactly once
    assert any(len({d for d, _ in b}) > 1 for b in batches)  # windows of different documents share batches
    for batch in batches:
        lengths = [encodings[d].windows[k][1] - encodings[d].windows[k][0] + 2 for d, k in batch]
        assert max(lengths) * len(batch) <= 4096 and len(batch) <= 64
        assert max(lengths) - min(lengths) <= max(2, max(lengths) // 20)


def test_stop_ends_after_the_current_batch_with_the_finished_prefix(model_dir):
    tagger = Tagger.load(model_dir, batch_size=4, chunk_documents=64)
    docs = documents()
    out = []
    for tagged in tagger.tag(docs, stop=lambda: len(out) > 0):  # asked to stop once something came out
        out.append(tagged.document.id)
    assert 0 < len(out) < len(docs)
    assert out == [d.id for d in docs[: len(out)]]  # an in-order prefix, nothing skipped
