import json

import pytest

from arabic_ner.document import Document, Span
from arabic_ner.problems import UserError
from arabic_ner.streams import PredictionWriter, iter_input, iter_json_array


def test_text_files_keep_crlf_and_exact_offsets(tmp_path):
    (tmp_path / "a.txt").write_bytes("سطر\r\nداعش".encode("utf-8"))
    (doc,) = iter_input(tmp_path / "a.txt")
    assert doc.text == "سطر\r\nداعش" and doc.id == "a"


def test_a_folder_is_read_in_file_name_order(tmp_path):
    for name in ("b", "a", "c"):
        (tmp_path / f"{name}.txt").write_text(name, encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored")
    assert [d.id for d in iter_input(tmp_path)] == ["a", "b", "c"]


def test_jsonl_input(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "x1", "text": "قصف"}\n\n{"text": "بلا معرف"}\n', encoding="utf-8")
    assert [(d.id, d.text) for d in iter_input(path)] == [("x1", "قصف"), ("3", "بلا معرف")]


def test_bad_jsonl_lines_become_error_records_and_reading_goes_on(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"id": 1, "text": "x"}\n{"id": 2, "text": \n{"id": 3}\n{"id": 4, "text": "\xe9t\xe9"}\n{"id": 5, "text": "y"}\n'
    )
    docs = list(iter_input(path))
    assert [d.id for d in docs] == ["1", "line 2", "3", "line 4", "5"]
    assert [d.error is None for d in docs] == [True, False, False, False, True]
    assert "in.jsonl: line 2, column" in docs[1].error and "malformed JSON" in docs[1].error
    assert 'line 3: no "text" string' in docs[2].error
    assert "line 4: not UTF-8" in docs[3].error


def test_a_latin1_file_in_a_folder_is_an_error_record_between_good_ones(tmp_path):
    (tmp_path / "a.txt").write_text("قصف", encoding="utf-8")
    (tmp_path / "b.txt").write_bytes("café".encode("latin-1"))
    (tmp_path / "c.txt").write_text("داعش", encoding="utf-8")
    docs = list(iter_input(tmp_path))
    assert [(d.id, d.text) for d in docs] == [("a", "قصف"), ("b", ""), ("c", "داعش")]
    assert "b.txt: not UTF-8 (byte 3)" in docs[1].error


def test_label_studio_tasks_are_streamed_in_small_chunks(tmp_path):
    tasks = [{"id": i, "data": {"text": f"نص {i} " + "ـ" * 50, "doc_id": f"d{i}"}} for i in range(30)]
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=2), encoding="utf-8")
    assert [t["id"] for t in iter_json_array(path, chunk=7)] == list(range(30))
    assert [d.id for d in iter_input(path)] == [f"d{i}" for i in range(30)]


def test_a_task_without_text_is_an_error_record_naming_file_and_task(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([{"data": {"text": "قصف"}}, {"id": 9, "data": {"title": "x"}}, {"data": {"text": "داعش"}}]), encoding="utf-8")
    docs = list(iter_input(path))
    assert [(d.id, d.text, d.error is None) for d in docs] == [("0", "قصف", True), ("9", "", False), ("2", "داعش", True)]
    assert docs[1].error.startswith(f"{path}: task 1: no data.text string")


def test_truncated_task_list_is_an_error_with_position(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text('[{"data": {"text": "x"}}, {"data": {"te', encoding="utf-8")
    with pytest.raises(UserError, match=r"tasks.json: malformed JSON at line 1, column \d+"):
        list(iter_json_array(path, chunk=8))


def test_missing_input_says_what_is_accepted(tmp_path):
    with pytest.raises(UserError, match="input not found; give a .txt file, a folder"):
        list(iter_input(tmp_path / "nope.txt"))


def _docs():
    text = "قصف لداعش"
    return [Document("d1", text, [Span(5, 9, "ORG", 0.9)]), Document("d2", "", [])]


def test_jsonl_output_has_one_line_per_document_with_exact_slices(tmp_path):
    with PredictionWriter(tmp_path / "o.jsonl", "jsonl") as writer:
        for doc in _docs():
            writer.write(doc, 0.5)
    lines = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {"id": "d1", "entities": [{"start": 5, "end": 9, "label": "ORG", "text": "داعش", "score": 0.9}]},
        {"id": "d2", "entities": []},
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
    assert (tmp_path / "o.conll").read_text(encoding="utf-8") == "# doc_id = d1\nقصف O\nل O\nداعش B-ORG\n\n"


def test_error_records_are_written_in_every_format(tmp_path):
    failed = Document("bad", "", source="x", error="x: not UTF-8 (byte 3)")
    for fmt, suffix in (("jsonl", "jsonl"), ("conll", "conll"), ("labelstudio", "json")):
        with PredictionWriter(tmp_path / f"o.{suffix}", fmt) as writer:
            writer.write(failed, None)
        assert "not UTF-8 (byte 3)" in (tmp_path / f"o.{suffix}").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "o.jsonl").read_text(encoding="utf-8")) == {"id": "bad", "entities": [], "error": "x: not UTF-8 (byte 3)"}
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
    done = len(writer.done_ids)
    assert writer.done_ids == [d.id for d in docs[:done]]
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
    assert writer.done_ids == ["d0", "d1"]
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
    assert writer.done_ids == ["d1"]
    writer.write(docs[1], None)
    writer.close()
    assert [json.loads(line)["id"] for line in (out / "pages.jsonl").read_text().splitlines()] == ["d1", "d2"]
