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


def test_jsonl_malformed_line_is_named(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1, "text": "x"}\n{"id": 2, "text": \n', encoding="utf-8")
    with pytest.raises(UserError, match=r"in.jsonl: line 2, column \d+: malformed JSON"):
        list(iter_input(path))


def test_label_studio_tasks_are_streamed_in_small_chunks(tmp_path):
    tasks = [{"id": i, "data": {"text": f"نص {i} " + "ـ" * 50, "doc_id": f"d{i}"}} for i in range(30)]
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=2), encoding="utf-8")
    assert [t["id"] for t in iter_json_array(path, chunk=7)] == list(range(30))
    assert [d.id for d in iter_input(path)] == [f"d{i}" for i in range(30)]


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
