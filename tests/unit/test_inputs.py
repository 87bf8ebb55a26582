import json

import pytest

from arabic_ner.core.problems import UserError
from arabic_ner.data.inputs import iter_input, iter_json_array


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
    assert [t["id"] for t in iter_json_array(path)] == list(range(30))
    assert [d.id for d in iter_input(path)] == [f"d{i}" for i in range(30)]


def test_a_task_without_text_is_an_error_record_naming_file_and_task(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([{"data": {"text": "قصف"}}, {"id": 9, "data": {"title": "x"}}, {"data": {"text": "داعش"}}]), encoding="utf-8")
    docs = list(iter_input(path))
    assert [(d.id, d.text, d.error is None) for d in docs] == [("#0", "قصف", True), ("9", "", False), ("#2", "داعش", True)]
    assert docs[1].error.startswith(f"{path}: task 9: no data.text string")


def test_truncated_task_list_is_an_error_with_position(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text('[{"data": {"text": "x"}}, {"data": {"te', encoding="utf-8")
    with pytest.raises(UserError, match=r"tasks.json: malformed JSON at line 1, column \d+"):
        iter_input(path)


def test_missing_input_says_what_is_accepted(tmp_path):
    with pytest.raises(UserError, match="input not found; give a .txt file, a folder"):
        list(iter_input(tmp_path / "nope.txt"))
