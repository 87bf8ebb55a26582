"""What predict keeps per document is bounded: duplicate ids are found from compact digests, and a
resumed output is matched to the input a record at a time, read again from the file."""

import json
import random

import pytest

from arabic_ner.core.document import Document
from arabic_ner.core.problems import UserError
from arabic_ner.data.inputs import SeenIds, iter_input
from arabic_ner.data.writers import PredictionWriter, skip_done


def test_seen_ids_agree_with_a_set_as_the_table_grows():
    rng = random.Random(0)
    ids = [f"وثيقة-{rng.randrange(3000)}" for _ in range(5000)]  # about 2,500 distinct: the table doubles three times
    seen, reference = SeenIds(), set()
    for doc_id in ids:
        assert seen.add(doc_id) == (doc_id in reference)
        reference.add(doc_id)
    assert len(seen) == len(reference)


class _LowBits(SeenIds):
    """Ids that are their own keys, so that a test chooses which share their low bits."""

    SLOTS = 8

    @staticmethod
    def _key(doc_id):
        return int(doc_id)


def test_keys_that_share_their_low_bits_are_kept_apart_as_the_table_grows():
    # every key ends in the bits of 3, 5 or 7, the slots next to the last one: long probe runs that
    # wrap round to slot 0, and after each doubling the bit above the old mask splits them apart
    keys = [str((i << 3) | (3, 5, 7)[i % 3]) for i in range(1, 200)]
    keys += [str(1 << 63), str((1 << 64) - 1)]  # the largest keys: high bits alone tell them apart
    seen, reference = _LowBits(), set()
    for key in keys + keys[::3]:
        assert seen.add(key) == (key in reference), key
        reference.add(key)
        assert 2 * len(seen) <= len(seen._slots)
    assert len(seen) == len(reference) == 201 and len(seen._slots) == 512  # grown from 8: six doublings
    assert all(seen.add(key) for key in keys)
    assert sorted(k for k in seen._slots if k) == sorted(int(k) for k in keys)


def test_ids_that_differ_only_in_a_character_are_told_apart():
    seen = SeenIds()
    assert [seen.add(i) for i in ("a1", "a2", "a1\u200f", "1a", "")] == [False] * 5
    assert seen.add("a1\u200f") and seen.add("")


def test_a_repeated_id_is_warned_once_however_many_documents_come_between(tmp_path, capsys):
    path = tmp_path / "in.jsonl"
    rows = [{"id": "same", "text": "أ"}] + [{"id": str(i), "text": "ب"} for i in range(3000)] + [{"id": "same", "text": "ت"}] * 2
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert len(list(iter_input(path))) == len(rows)  # every document still passes through
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: {path}: the id 'same' is used by more than one document; both are tagged, "
                        "but their output records share the id"]


def _interrupted_output(tmp_path, fmt, suffix, n):
    docs = [Document(f"d{i}", f"قصف لداعش {i}") for i in range(n)]
    path = tmp_path / f"o.{suffix}"
    with PredictionWriter(path, fmt, "v1") as writer:
        for doc in docs:
            writer.write(doc, 0.5)
    return path, docs


@pytest.mark.parametrize("fmt, suffix", [("jsonl", "jsonl"), ("conll", "conll"), ("labelstudio", "json")])
def test_a_resume_matches_a_late_record_from_the_file(tmp_path, fmt, suffix):
    path, docs = _interrupted_output(tmp_path, fmt, suffix, 3000)
    writer = PredictionWriter(path, fmt, "v1", resume=True)
    kept = writer.done.count  # conll redoes its last document
    assert kept == (2999 if fmt == "conll" else 3000)
    assert [k.id for k in writer.kept()] == [d.id for d in docs[:kept]]
    changed = docs[:2500] + [Document("d2500", "نص آخر")] + docs[2501:]
    with pytest.raises(UserError, match="record 2501 is 'd2500' but the input's document 2501 has the same id but another text"):
        skip_done(iter(changed), writer)
    rest = skip_done(iter(docs), writer)
    assert [d.id for d in rest] == [d.id for d in docs[kept:]]


@pytest.mark.parametrize("fmt, suffix", [("jsonl", "jsonl"), ("conll", "conll"), ("labelstudio", "json")])
def test_an_output_cut_at_any_byte_resumes_to_the_same_bytes(tmp_path, fmt, suffix):
    # the offsets kept: a cut anywhere, even within a record's first bytes, is resumed (nothing
    # refused) and the rest written after it gives the file an uninterrupted run writes
    path, docs = _interrupted_output(tmp_path, fmt, suffix, 4)
    whole = path.read_bytes()
    for cut in range(len(whole) + 1):
        path.write_bytes(whole[:cut])
        writer = PredictionWriter(path, fmt, "v1", resume=True)
        with writer:
            for doc in skip_done(iter(docs), writer):
                writer.write(doc, 0.5)
        assert path.read_bytes() == whole, cut


def test_the_kept_records_are_read_before_the_first_write(tmp_path):
    path, docs = _interrupted_output(tmp_path, "conll", "conll", 3)
    writer = PredictionWriter(path, "conll", "v1", resume=True)
    assert [k.id for k in writer.kept()] == ["d0", "d1"]
    writer.write(docs[2], 0.5)  # cuts the file where d2 began: d1's end is no longer marked
    with pytest.raises(RuntimeError, match="before the first write"):
        next(writer.kept())
    writer.close()
