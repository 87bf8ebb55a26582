import hashlib
import json

import pytest

from arabic_ner.core.document import Document, Span
from arabic_ner.core.problems import UserError
from arabic_ner.data.writers import PredictionWriter

SHA_D1 = hashlib.sha256("قصف لداعش".encode()).hexdigest()[:16]
SHA_EMPTY = hashlib.sha256(b"").hexdigest()[:16]


def _docs():
    text = "قصف لداعش"
    return [Document("d1", text, [Span(5, 9, "ORG", 0.9)]), Document("d2", "", [])]


def test_jsonl_output_has_one_line_per_document_with_exact_slices(tmp_path):
    with PredictionWriter(tmp_path / "o.jsonl", "jsonl", "tiny-abc") as writer:
        for doc in _docs():
            writer.write(doc, 0.5)
    lines = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {"id": "d1", "entities": [{"start": 5, "end": 9, "label": "ORG", "text": "داعش", "score": 0.9}],
         "model_version": "tiny-abc", "text_sha256": SHA_D1},
        {"id": "d2", "entities": [], "model_version": "tiny-abc", "text_sha256": SHA_EMPTY},
    ]


def test_label_studio_output_is_a_valid_task_list(tmp_path):
    with PredictionWriter(tmp_path / "o.json", "labelstudio", "tiny-abc") as writer:
        for doc in _docs():
            writer.write(doc, 0.75)
    tasks = json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))
    assert len(tasks) == 2
    prediction = tasks[0]["predictions"][0]
    assert prediction["model_version"] == "tiny-abc" and prediction["score"] == 0.75
    (item,) = prediction["result"]
    assert item["from_name"] == "label" and item["to_name"] == "text" and item["type"] == "labels"
    assert item["value"] == {"start": 5, "end": 9, "text": "داعش", "labels": ["ORG"]}


def test_conll_output(tmp_path):
    with PredictionWriter(tmp_path / "o.conll", "conll") as writer:
        writer.write(_docs()[0], None)
    assert (tmp_path / "o.conll").read_text(encoding="utf-8") == f"# doc_id = d1\n# text_sha256 = {SHA_D1}\n# model_version = \nقصف O\nل O\nداعش B-ORG\n\n"


def test_error_records_are_written_in_every_format(tmp_path):
    failed = Document("bad", "", source="x", error="x: not UTF-8 (byte 3)")
    for fmt, suffix in (("jsonl", "jsonl"), ("conll", "conll"), ("labelstudio", "json")):
        with PredictionWriter(tmp_path / f"o.{suffix}", fmt) as writer:
            writer.write(failed, None)
        assert "not UTF-8 (byte 3)" in (tmp_path / f"o.{suffix}").read_text(encoding="utf-8")
    expected = {"id": "bad", "entities": [], "error": "x: not UTF-8 (byte 3)", "model_version": "", "text_sha256": SHA_EMPTY}
    assert json.loads((tmp_path / "o.jsonl").read_text(encoding="utf-8")) == expected
    assert json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))[0]["data"]["error"].endswith("(byte 3)")


def test_an_existing_output_is_not_overwritten_without_a_flag(tmp_path):
    (tmp_path / "o.jsonl").write_text('{"id": "x", "entities": []}\n')
    with pytest.raises(UserError, match="o.jsonl: exists; pass --resume to continue an interrupted run, or --overwrite"):
        PredictionWriter(tmp_path / "o.jsonl", "jsonl")
    PredictionWriter(tmp_path / "o.jsonl", "jsonl", overwrite=True).close()
    assert (tmp_path / "o.jsonl").read_text() == ""


def test_html_output_over_a_file_is_refused(tmp_path):
    (tmp_path / "pages").write_text("not a folder")
    with pytest.raises(UserError, match=r"pages: --format html writes a folder of pages; give a folder name$"):
        PredictionWriter(tmp_path / "pages", "html", overwrite=True)
    assert (tmp_path / "pages").read_text() == "not a folder"


def _interrupted(tmp_path, fmt, suffix, cut):
    """Write five documents, cut the file ``cut`` bytes before its end, resume and write the rest."""
    docs = [Document(f"d{i}", f"قصف لداعش {i}", [Span(5, 9, "ORG")]) for i in range(5)]
    path = tmp_path / f"o.{suffix}"
    with PredictionWriter(path, fmt) as writer:
        for doc in docs[:4]:
            writer.write(doc, 0.5)
        writer.file.flush()
        data = path.read_bytes()
    path.write_bytes(data[: len(data) - cut])
    writer = PredictionWriter(path, fmt, resume=True)
    done = writer.done.count
    assert [kept.id for kept in writer.kept()] == [d.id for d in docs[:done]]
    for doc in docs[done:]:
        writer.write(doc, 0.5)
    writer.close()
    return path, docs


@pytest.mark.parametrize("cut", [0, 1, 7, 30])
def test_jsonl_resume_drops_a_half_written_line_and_keeps_each_document_once(tmp_path, cut):
    path, docs = _interrupted(tmp_path, "jsonl", "jsonl", cut)
    ids = [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]
    assert ids == [d.id for d in docs]


@pytest.mark.parametrize("cut", [0, 1, 7, 30])
def test_label_studio_resume_gives_a_valid_list_with_each_document_once(tmp_path, cut):
    path, docs = _interrupted(tmp_path, "labelstudio", "json", cut)
    tasks = json.loads(path.read_text(encoding="utf-8"))
    assert [t["data"]["doc_id"] for t in tasks] == [d.id for d in docs]


@pytest.mark.parametrize("cut", [0, 1, 7])
def test_conll_resume_redoes_the_last_document(tmp_path, cut):
    path, docs = _interrupted(tmp_path, "conll", "conll", cut)
    text = path.read_text(encoding="utf-8")
    assert [line[len("# doc_id = "):] for line in text.splitlines() if line.startswith("# doc_id")] == [d.id for d in docs]
    assert text.count("داعش B-ORG") == 5


def test_resuming_a_complete_label_studio_file_reopens_it(tmp_path):
    docs = [Document(f"d{i}", "قصف", []) for i in range(2)]
    with PredictionWriter(tmp_path / "o.json", "labelstudio") as writer:
        for doc in docs:
            writer.write(doc, None)
    writer = PredictionWriter(tmp_path / "o.json", "labelstudio", resume=True)
    assert [kept.id for kept in writer.kept()] == ["d0", "d1"]
    writer.close()
    assert len(json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))) == 2


def test_html_output_is_a_folder_of_pages_with_an_index(tmp_path):
    out = tmp_path / "pages"
    with PredictionWriter(out, "html", labels=("LOC", "ORG")) as writer:
        for doc in _docs():
            writer.write(doc, None)
    pages = sorted(p.name for p in out.glob("*.html"))
    assert pages == ["00001-d1.html", "00002-d2.html", "index.html"]
    page = (out / "00001-d1.html").read_text(encoding="utf-8")
    assert 'dir="rtl"' in page and ">داعش</mark>" in page
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.index("00001-d1.html") < index.index("00002-d2.html")


def test_html_output_resumes_from_its_manifest(tmp_path):
    out = tmp_path / "pages"
    docs = _docs()
    with PredictionWriter(out, "html") as writer:
        writer.write(docs[0], None)
    writer = PredictionWriter(out, "html", resume=True)
    assert [kept.id for kept in writer.kept()] == ["d1"]
    writer.write(docs[1], None)
    writer.close()
    assert [json.loads(line)["id"] for line in (out / "pages.jsonl").read_text().splitlines()] == ["d1", "d2"]
