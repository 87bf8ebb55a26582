import json

import pytest

from arabic_ner.core.document import Span
from arabic_ner.core.problems import Problems, UserError
from arabic_ner.data.labelstudio_json import ReadStats, choose_annotation, labelstudio_task, read_annotations

from helpers import HARD_CASES, ls_task, marked, write_ls

LABELS = ["LOC", "ORG", "WEAPON", "COUNT", "DATE"]


def read(path, labels=LABELS):
    problems, stats = Problems(), ReadStats()
    return read_annotations(path, labels, problems, stats), problems, stats


def one_span_task(text, start, end, label="ORG", value_text=None, task_id=7):
    value = {"start": start, "end": end, "labels": [label]}
    if value_text is not None:
        value["text"] = value_text
    return {
        "id": task_id,
        "data": {"text": text},
        "annotations": [{"id": 1, "result": [{"type": "labels", "from_name": "label", "to_name": "text", "value": value}]}],
    }


def test_reads_spans_and_doc_id(tmp_path):
    doc = marked("قصف ل⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧", "article-1")
    docs, problems, _ = read(write_ls(tmp_path / "a.json", [ls_task(doc)]))
    assert problems.items == []
    assert [(d.id, d.text, d.spans) for d in docs] == [("article-1", doc.text, doc.spans)]


def test_value_text_may_be_missing(tmp_path):
    doc = marked("قصف ل⟦ORG|داعش⟧")
    docs, problems, _ = read(write_ls(tmp_path / "a.json", [ls_task(doc, with_text=False)]))
    assert problems.items == [] and docs[0].spans == doc.spans


def test_offsets_are_code_points_even_after_emoji(tmp_path):
    doc = marked("🇮🇶🔥 قصف ⟦LOC|الموصل⟧")
    docs, problems, _ = read(write_ls(tmp_path / "a.json", [ls_task(doc)]))
    assert problems.items == []
    assert docs[0].text[docs[0].spans[0].start : docs[0].spans[0].end] == "الموصل"


def test_label_studio_round_trip(tmp_path, hard_documents):
    tasks = [labelstudio_task(d) for d in hard_documents]
    docs, problems, _ = read(write_ls(tmp_path / "a.json", tasks))
    assert problems.items == []
    assert [(d.id, d.text, d.spans) for d in docs] == [(d.id, d.text, sorted(d.spans)) for d in hard_documents]


def test_ground_truth_annotation_wins():
    annotations = [
        {"id": 1, "updated_at": "2026-03-01", "result": ["newest"]},
        {"id": 2, "updated_at": "2026-01-01", "ground_truth": True, "result": ["truth"]},
    ]
    assert choose_annotation(annotations)["result"] == ["truth"]


def test_else_the_newest_annotation_that_was_not_cancelled():
    annotations = [
        {"id": 1, "updated_at": "2026-01-01T10:00:00Z", "result": ["old"]},
        {"id": 2, "updated_at": "2026-02-01T10:00:00Z", "result": ["new"]},
        {"id": 3, "updated_at": "2026-03-01T10:00:00Z", "was_cancelled": True, "result": ["cancelled"]},
    ]
    assert choose_annotation(annotations)["result"] == ["new"]


def test_overlapping_spans_are_an_error_naming_both(tmp_path):
    text = "قصف الدولة الإسلامية"
    task = one_span_task(text, 4, 20, "ORG")
    task["annotations"][0]["result"].append({"type": "labels", "value": {"start": 4, "end": 10, "labels": ["LOC"]}})
    _, problems, _ = read(write_ls(tmp_path / "a.json", [task]))
    (error,) = problems.errors
    message = str(error)
    assert "a.json: task 7" in message
    assert "[4,10) 'الدولة' LOC" in message and "[4,20) 'الدولة الإسلامية' ORG" in message
    assert "overlaps" in message


def test_an_exact_duplicate_span_is_only_a_warning(tmp_path):
    task = one_span_task("قصف داعش", 4, 8)
    task["annotations"][0]["result"] *= 2
    docs, problems, _ = read(write_ls(tmp_path / "a.json", [task]))
    assert problems.errors == [] and len(problems.warnings) == 1
    assert docs[0].spans == [Span(4, 8, "ORG")]


@pytest.mark.parametrize("start, end", [(4, 99), (-1, 3), (6, 6), (7, 5)])
def test_offsets_outside_the_text_or_empty_are_errors(tmp_path, start, end):
    _, problems, _ = read(write_ls(tmp_path / "a.json", [one_span_task("قصف داعش", start, end)]))
    (error,) = problems.errors
    assert f"task 7: span [{start},{end})" in str(error)
    assert "0 <= start < end <= 8" in str(error)


def test_undeclared_label_is_an_error_listing_the_declared_ones(tmp_path):
    _, problems, _ = read(write_ls(tmp_path / "a.json", [one_span_task("قصف داعش", 4, 8, "PER")]))
    (error,) = problems.errors
    assert "task 7: span [4,8) 'داعش' PER: label 'PER' is not declared" in str(error)  # no value.text: the slice is shown
    assert "LOC, ORG, WEAPON, COUNT, DATE" in str(error)


def test_shifted_value_text_is_found_nearby_and_fixed_with_a_warning(tmp_path):
    text = "🔥 قصف داعش"  # Label Studio counts the emoji as two UTF-16 units
    docs, problems, _ = read(write_ls(tmp_path / "a.json", [one_span_task(text, 7, 11, value_text="داعش")]))
    assert problems.errors == []
    (warning,) = problems.warnings
    assert "moved by -1 to [6,10)" in str(warning)
    assert docs[0].spans == [Span(6, 10, "ORG")]


def test_value_text_not_found_nearby_is_an_error(tmp_path):
    _, problems, _ = read(write_ls(tmp_path / "a.json", [one_span_task("قصف داعش اليوم", 4, 8, value_text="الموصل")]))
    (error,) = problems.errors
    assert "value.text does not match" in str(error) and "'داعش'" in str(error)


def test_spaces_at_span_edges_are_trimmed_with_a_warning(tmp_path):
    docs, problems, _ = read(write_ls(tmp_path / "a.json", [one_span_task("قصف داعش اليوم", 3, 9, value_text=" داعش ")]))
    assert problems.errors == [] and "trimmed" in str(problems.warnings[0])
    assert docs[0].spans == [Span(4, 8, "ORG")]


def test_empty_texts_and_unannotated_tasks_are_skipped_and_counted(tmp_path):
    tasks = [
        one_span_task("قصف داعش", 4, 8, task_id=1),
        {"id": 2, "data": {"text": "   \n"}, "annotations": [{"result": []}]},
        {"id": 3, "data": {"text": "نص بلا تعليق"}, "annotations": []},
        {"id": 4, "data": {"text": "نص ألغي"}, "annotations": [{"was_cancelled": True, "result": []}]},
    ]
    docs, problems, stats = read(write_ls(tmp_path / "a.json", tasks))
    assert [d.id for d in docs] == ["1"]
    assert stats.skipped == {"an empty text": 1, "no completed annotation": 2}
    assert any("skipped 2 task(s) with no completed annotation (ids 3, 4)" in line for line in stats.lines("a.json"))


def test_a_completed_annotation_with_no_spans_is_kept(tmp_path):
    docs, _, _ = read(write_ls(tmp_path / "a.json", [{"id": 1, "data": {"text": "لا كيانات هنا"}, "annotations": [{"result": []}]}]))
    assert len(docs) == 1 and docs[0].spans == []


def test_malformed_json_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[\n  {"data": {"text": "x"},\n  "annotations": [}\n]', encoding="utf-8")
    with pytest.raises(UserError, match=r"bad.json: malformed JSON at line 3, column 19"):
        read(path)


def test_a_task_without_text_is_an_error(tmp_path):
    _, problems, _ = read(write_ls(tmp_path / "a.json", [{"id": 5, "data": {"body": "x"}, "annotations": []}]))
    assert "task 5: has no data.text" in str(problems.errors[0])


def test_bundled_corpus_reads_without_problems():
    from helpers import ROOT

    docs, problems, stats = read(ROOT / "annotations" / "corpus.json")
    assert problems.items == [] and not stats.skipped
    assert len(docs) == 5
    for doc in docs:
        raw = (ROOT / "data" / "raw" / f"{doc.id}.txt").read_text(encoding="utf-8")
        assert doc.text == raw
    tasks = json.loads((ROOT / "annotations" / "corpus.json").read_text(encoding="utf-8"))
    for task in tasks:
        for item in task["annotations"][0]["result"]:
            v = item["value"]
            assert task["data"]["text"][v["start"] : v["end"]] == v["text"]


def test_hard_cases_fixture_is_well_formed():
    assert all("⟦" not in marked(t).text for t in HARD_CASES)
