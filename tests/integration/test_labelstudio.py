"""``python -m arabic_ner.labelstudio push|pull|score`` against a real Label Studio server.

The offset conversions and the labeling config are tested offline; everything else runs against
the server that ``labelstudio_server.py`` starts (never a mock), with a tiny model trained once for
the session. Annotations are made through the API the way the labeling screen saves them.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from arabic_ner.cli import command_main
from arabic_ner.core.document import Document, Span
from arabic_ner.core.labels import entity_types
from arabic_ner.core.problems import Problems, UserError
from arabic_ner.core.results import to_plain
from arabic_ner.data.inputs import iter_input
from arabic_ner.data.labelstudio_json import read_annotations
from arabic_ner.labelstudio import client as labelstudio
from arabic_ner.labelstudio.client import code_point_to_utf16, config_labels, fix_utf16_offsets, labeling_config, scored_tasks, utf16_to_code_point
from arabic_ner.model.inference import Tagged
from arabic_ner.model.loading import model_version

from helpers import ARABIC_NER, HARD_CASES, ROOT, marked, run_command, sets, tiny_overrides
from labelstudio_helpers import LABELS, RAW, annotate, gold_documents, project_id, tasks_of
from labelstudio_server import free_port

needs_server = pytest.mark.labelstudio
EMOJI_TEXT = "🇮🇶 صور من كركوك🔥 و👨🏻‍🚒 في الموصل 👍🏽 F-16"


@pytest.fixture
def env(label_studio, monkeypatch):
    """LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY for the commands run in this process."""
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.token)
    return {**os.environ}


_projects = itertools.count(1)


@pytest.fixture
def project_title(request) -> str:
    """A title of its own for each test's project (Label Studio allows 50 characters)."""
    return f"{next(_projects)} {request.node.name.removeprefix('test_')}"[:50]


def cli(*args: str, url: str, key: str) -> subprocess.CompletedProcess:
    """The command as a user runs it, in a fresh process."""
    env = {**os.environ, "LABEL_STUDIO_URL": url, "LABEL_STUDIO_API_KEY": key}
    return subprocess.run(
        [str(ARABIC_NER), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )








def predicted_spans(task: dict) -> list[Span]:
    (prediction,) = task["predictions"]
    return [Span(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in prediction["result"]]




# ---------------------------------------------------------------- offline

def test_utf16_offsets_round_trip_through_emoji_flags_and_arabic():
    units = EMOJI_TEXT.encode("utf-16-le")
    for offset in range(len(EMOJI_TEXT) + 1):
        utf16 = code_point_to_utf16(EMOJI_TEXT, offset)
        assert utf16_to_code_point(EMOJI_TEXT, utf16) == offset
        assert units[: 2 * utf16].decode("utf-16-le") == EMOJI_TEXT[:offset]  # what JavaScript's slice sees
    assert code_point_to_utf16(EMOJI_TEXT, len(EMOJI_TEXT)) == len(units) // 2


def test_utf16_offset_inside_a_surrogate_pair_has_no_code_point():
    assert utf16_to_code_point("🔥ب", 1) is None
    assert utf16_to_code_point("🔥ب", 4) is None  # beyond the text
    assert utf16_to_code_point("🔥ب", 2) == 1


def labels_item(start, end, label, text=None) -> dict:
    value = {"start": start, "end": end, "labels": [label], **({"text": text} if text is not None else {})}
    return {"type": "labels", "from_name": "label", "to_name": "text", "value": value}


def test_score_reads_spans_as_train_py_does_and_names_each_it_cannot_read():
    """A broken span is not dropped in silence: it is logged with its task, annotation and text,
    and the spans around it are still scored. UTF-16 offsets are converted, on copies."""
    k, m = EMOJI_TEXT.index("كركوك"), EMOJI_TEXT.index("الموصل")
    utf16 = (code_point_to_utf16(EMOJI_TEXT, m), code_point_to_utf16(EMOJI_TEXT, m + 6))
    tasks = [
        {"id": 7, "data": {"text": EMOJI_TEXT},
         "annotations": [{"id": 70, "result": [labels_item(k, k + 5, "LOC", "كركوك"), labels_item(*utf16, "LOC", "الموصل"),
                                               labels_item(k, k + 5, "PER"), labels_item(k + 3, 999, "LOC")]}],
         "predictions": [{"id": 71, "model_version": "v1", "result": [labels_item(k, k + 5, "LOC"), labels_item(k, k + 3, "ORG")]}]},
        {"id": 8, "data": {"text": "نص"}, "annotations": [], "predictions": [{"id": 81, "model_version": "v1", "result": []}]},
        {"id": 9, "data": {"text": "نص"}, "annotations": [{"id": 90, "result": []}], "predictions": []},
    ]
    before = json.dumps(tasks)
    problems = Problems()
    scored = scored_tasks(tasks, "v1", LABELS, "project 1 'p'", problems)
    assert scored.gold == [[Span(k, k + 5, "LOC"), Span(m, m + 6, "LOC")]]
    assert scored.pred == [[Span(k, k + 3, "ORG")]]  # of two overlapping spans the reader keeps the first
    assert (scored.unreviewed, scored.unpredicted) == (1, 1)
    assert [str(p) for p in problems.errors] == [
        f"error: project 1 'p': task 7: annotation 70: span [{k},{k + 5}) 'كركوك' PER: label 'PER' is not declared; "
        "the declared labels are LOC, ORG, WEAPON, COUNT, DATE (rename it in Label Studio, add it to `labels:` in the config, "
        "or map it in this source's `label_map:`)",
        f"error: project 1 'p': task 7: annotation 70: span [{k + 3},999) {EMOJI_TEXT[k + 3:]!r} LOC: "
        f"offsets must satisfy 0 <= start < end <= {len(EMOJI_TEXT)} (the text length); fix or delete the span",
        f"error: project 1 'p': task 7: prediction 71 of v1: span [{k},{k + 5}) 'كركوك' LOC: overlaps span [{k},{k + 3}) 'كرك' ORG; "
        "spans must be flat, so delete or shorten one of them",
    ]
    assert json.dumps(tasks) == before


def test_fix_utf16_offsets_converts_only_spans_that_match_as_utf16():
    start = EMOJI_TEXT.index("الموصل")
    utf16 = {"start": code_point_to_utf16(EMOJI_TEXT, start), "end": code_point_to_utf16(EMOJI_TEXT, start + 6)}
    k = EMOJI_TEXT.index("كركوك")
    task = {
        "data": {"text": EMOJI_TEXT},
        "annotations": [{"result": [
            {"type": "labels", "value": {**utf16, "text": "الموصل", "labels": ["LOC"]}},
            {"type": "labels", "value": {"start": k, "end": k + 5, "text": "كركوك", "labels": ["LOC"]}},
        ]}],
    }
    assert fix_utf16_offsets(task) == 1
    values = [item["value"] for item in task["annotations"][0]["result"]]
    assert [(v["start"], v["end"]) for v in values] == [(start, start + 6), (k, k + 5)]


def test_labeling_config_from_id2label_matches_the_bundled_config():
    id2label = {0: "O", 1: "B-LOC", 2: "I-LOC", 3: "B-ORG", 4: "I-ORG", 5: "B-WEAPON", 6: "I-WEAPON",
                7: "B-COUNT", 8: "I-COUNT", 9: "B-DATE", 10: "I-DATE"}
    built = ET.fromstring(labeling_config(entity_types(id2label)))
    bundled = ET.fromstring((ROOT / "annotations" / "labeling-config.xml").read_text(encoding="utf-8"))
    for root in (built, bundled):
        assert [(e.tag, e.attrib) for e in root.iter() if e.tag in ("Labels", "Text")] == [
            ("Labels", {"name": "label", "toName": "text"}),
            ("Text", {"name": "text", "value": "$text"}),  # no granularity="word"
        ]
    assert [e.attrib for e in built.iter("Label")] == [e.attrib for e in bundled.iter("Label")]
    assert config_labels(labeling_config(["LOC", "ORG"]), "here") == ["LOC", "ORG"]


def test_a_config_that_is_not_xml_is_an_error_that_names_the_project():
    with pytest.raises(UserError, match=r"^project 7: its labeling config is not valid XML \(mismatched tag: line 1, column \d+\)$"):
        config_labels("<View><Labels></View>", "project 7")


def test_a_config_without_the_label_tag_is_an_error_that_names_it():
    config = '<View><Labels name="ner" toName="text"><Label value="LOC"/></Labels><Text name="text" value="$text"/></View>'
    with pytest.raises(UserError, match=r'project 7: its labeling config has no <Labels name="label" toName="text">'):
        config_labels(config, "project 7")


# ---------------------------------------------------------------- push

@needs_server
def test_pushed_predictions_read_back_with_identical_text_offsets_labels_and_scores(label_studio, env, tiny_model, project_title):
    from arabic_ner.model.inference import Tagger

    # Tagged once and imported as they are: two taggings of a one-epoch model can differ in the
    # last float bits, and so in a near tie, which is not what this test is about.
    tagged = list(Tagger.load(str(tiny_model)).tag(iter_input(RAW)))
    assert sum(len(t.document.spans) for t in tagged) > 0  # else the comparison below proves nothing
    version = model_version(tiny_model)
    server = labelstudio.connect()
    project, _ = labelstudio.project_for(server, project_title, LABELS, version)
    labelstudio.import_predictions(server, project, tagged, version, batch=2)
    expected = {t.document.id: t for t in tagged}
    tasks = tasks_of(label_studio, project.id)
    assert sorted(t["data"]["doc_id"] for t in tasks) == sorted(expected)
    for task in tasks:
        sent = expected[task["data"]["doc_id"]]
        text = task["data"]["text"]
        assert text == sent.document.text  # character for character, CRLF and all
        assert predicted_spans(task) == sent.document.spans
        (prediction,) = task["predictions"]
        assert prediction["model_version"] == version
        assert prediction["score"] == pytest.approx(sent.score, abs=1e-4)
        for item, span in zip(prediction["result"], sent.document.spans):
            assert item["value"]["text"] == text[span.start : span.end]
            assert item["score"] == pytest.approx(span.score, abs=1e-4)


@needs_server
def test_push_creates_the_project_from_the_model_labels_and_prints_its_link(label_studio, env, tiny_model, project_title, capsys):

    assert command_main("push")(["--model", str(tiny_model), "--input", str(RAW), "--project", project_title]) == 0
    pid = project_id(label_studio, project_title)
    out = capsys.readouterr().out
    assert out.startswith(f"created project {pid} {project_title!r} with labels LOC, ORG, WEAPON, COUNT, DATE\n")
    assert out.endswith(f"{label_studio.url}/projects/{pid}/data\n")
    project = label_studio.client().projects.get(id=pid)
    id2label = json.loads((tiny_model / "config.json").read_text(encoding="utf-8"))["id2label"]
    assert config_labels(project.label_config, "project") == entity_types(id2label) == LABELS
    assert project.model_version == model_version(tiny_model)  # its predictions pre-fill the labeling screen
    texts = {d.id: d.text for d in iter_input(RAW)}
    tasks = tasks_of(label_studio, pid)
    assert {t["data"]["doc_id"]: t["data"]["text"] for t in tasks} == texts
    for task in tasks:
        (prediction,) = task["predictions"]
        assert prediction["model_version"] == model_version(tiny_model) and prediction["score"] is not None
        for item in prediction["result"]:
            value = item["value"]
            assert value["text"] == task["data"]["text"][value["start"] : value["end"]]
            assert value["labels"][0] in LABELS and "score" in item


@needs_server
def test_spans_after_emoji_and_flags_keep_their_code_point_offsets(label_studio, env, project_title):
    """Label Studio 1.23's Text tag counts code points (checked in the labeling screen in a headless
    browser: a span pushed after 👨🏻‍🚒 and 🇮🇶 highlights exactly its entity), so spans go as they are."""
    server = labelstudio.connect()
    project, _ = labelstudio.project_for(server, project_title, LABELS, "gold-1")
    gold = [marked(text, f"case-{i}") for i, text in enumerate(HARD_CASES)]
    gold.append(Document("emoji", EMOJI_TEXT, [Span(EMOJI_TEXT.index("كركوك"), EMOJI_TEXT.index("كركوك") + 5, "LOC"),
                                                Span(EMOJI_TEXT.index("F-16"), len(EMOJI_TEXT), "WEAPON")]))
    report = labelstudio.import_predictions(server, project, [Tagged(d, 0.5) for d in gold], "gold-1", batch=2)
    assert report.new == [d.id for d in gold]
    by_id = {t["data"]["doc_id"]: t for t in tasks_of(label_studio, project.id)}
    for doc in gold:
        task = by_id[doc.id]
        assert task["data"]["text"] == doc.text
        assert predicted_spans(task) == doc.spans
        assert all(r["value"]["text"] == doc.text[r["value"]["start"] : r["value"]["end"]] for r in task["predictions"][0]["result"])


@needs_server
def test_push_twice_keeps_one_task_per_document(label_studio, env, tiny_model, project_title, capsys):
    args = ["push", "--model", str(tiny_model), "--input", str(RAW), "--project", project_title, "--import-batch", "2"]
    assert command_main("push")(args[1:]) == 0
    pid = project_id(label_studio, project_title)
    first = tasks_of(label_studio, pid)
    assert command_main("push")(args[1:-2] + ["--project", str(pid)]) == 0
    assert "0 new task(s)" in capsys.readouterr().out.splitlines()[-2]
    second = tasks_of(label_studio, pid)
    assert len(first) == len(second) == 5
    assert [len(t["predictions"]) for t in second] == [1] * 5


@needs_server
def test_push_with_another_model_version_adds_its_prediction_to_each_task(label_studio, env, tiny_model, project_title, tmp_path):

    assert command_main("push")(["--model", str(tiny_model), "--input", str(RAW), "--project", project_title]) == 0
    retrained = shutil.copytree(tiny_model, tmp_path / "tiny-v2")  # another directory: another model version
    assert command_main("push")(["--model", str(retrained), "--input", str(RAW), "--project", project_title]) == 0
    pid = project_id(label_studio, project_title)
    tasks = tasks_of(label_studio, pid)
    assert len(tasks) == 5
    for task in tasks:
        assert sorted(p["model_version"] for p in task["predictions"]) == sorted([model_version(tiny_model), model_version(retrained)])
    assert label_studio.client().projects.get(id=pid).model_version == model_version(retrained)


@needs_server
def test_push_skips_a_document_whose_text_changed(label_studio, env, tiny_model, project_title, tmp_path, capsys):
    before, after = tmp_path / "before.jsonl", tmp_path / "after.jsonl"
    before.write_text(json.dumps({"id": "a1", "text": "قصف التحالف مواقع لداعش في الموصل"}, ensure_ascii=False) + "\n", encoding="utf-8")
    after.write_text(json.dumps({"id": "a1", "text": "قصف التحالف مواقع لداعش في الرقة"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert command_main("push")(["--model", str(tiny_model), "--input", str(before), "--project", project_title]) == 0
    assert command_main("push")(["--model", str(tiny_model), "--input", str(after), "--project", project_title]) == 0
    err = capsys.readouterr().err
    assert "document 'a1' is already there with a different text; skipped" in err
    (task,) = tasks_of(label_studio, project_id(label_studio, project_title))
    assert task["data"]["text"].endswith("الموصل")


@needs_server
def test_push_skips_an_unreadable_document_with_a_warning_naming_its_line(label_studio, env, tiny_model, project_title, tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a1", "text": "قصف التحالف مواقع لداعش"}, ensure_ascii=False) + "\n{not json\n", encoding="utf-8")
    assert command_main("push")(["--model", str(tiny_model), "--input", str(source), "--project", project_title]) == 0
    out, err = capsys.readouterr()
    assert f"warning: {source}: line 2, column 2: malformed JSON: " in err and err.rstrip().endswith("; skipped")
    assert "1 new task(s)" in out and "1 skipped (unreadable)" in out
    (task,) = tasks_of(label_studio, project_id(label_studio, project_title))
    assert task["data"]["doc_id"] == "a1"


@needs_server
def test_push_select_pushes_the_most_uncertain_documents_not_yet_in_the_project(label_studio, env, tiny_model, project_title, tmp_path, capsys):
    from arabic_ner.labelstudio.selection import chosen_order
    from arabic_ner.model.inference import Tagger

    order = [t.document.id for t in chosen_order(Tagger.load(str(tiny_model)).tag(iter_input(RAW)), "least-confidence")]
    push = ["push", "--model", str(tiny_model), "--input", str(RAW), "--project", project_title, "--strategy", "least-confidence"]
    assert command_main("push")([*push[1:], "--select", "2"]) == 0
    pid = project_id(label_studio, project_title)
    assert sorted(t["data"]["doc_id"] for t in tasks_of(label_studio, pid)) == sorted(order[:2])
    assert f"selected 2 of 5 document(s) not yet in project {pid}, most uncertain by least-confidence: {order[0]}" in capsys.readouterr().out
    assert command_main("push")([*push[1:], "--select", "2"]) == 0  # the next two: those already there are not chosen again
    assert sorted(t["data"]["doc_id"] for t in tasks_of(label_studio, pid)) == sorted(order[:4])
    assert "selected 2 of 3 document(s)" in capsys.readouterr().out


@needs_server
def test_push_into_a_project_that_lacks_a_label_is_an_error_naming_it(label_studio, env, tiny_model, project_title):
    label_studio.client().projects.create(title=project_title, label_config=labeling_config(["LOC", "ORG"]))
    with pytest.raises(UserError, match=r"lacks the label\(s\) WEAPON, COUNT, DATE that the model predicts"):
        command_main("push")(["--model", str(tiny_model), "--input", str(RAW), "--project", project_title])


# ---------------------------------------------------------------- pull

@needs_server
def test_pull_writes_reviewed_annotations_that_train_check_accepts(label_studio, env, tiny_model, project_title, tmp_path, capsys):
    assert command_main("push")(["--model", str(tiny_model), "--input", str(RAW), "--project", project_title]) == 0
    pid = project_id(label_studio, project_title)
    tasks = sorted(tasks_of(label_studio, pid), key=lambda t: t["data"]["doc_id"])
    gold = gold_documents()
    for task in tasks[:3]:  # reviewed: the reviewer corrected the predictions to the gold spans
        annotate(label_studio, task, gold[task["data"]["doc_id"]].spans)
    label_studio.client().annotations.create(id=tasks[3]["id"], result=[], was_cancelled=True)  # skipped
    # tasks[4] is left unlabeled
    output = tmp_path / "annotations" / "reviewed.json"
    capsys.readouterr()
    assert command_main("pull")(["--project", str(pid), "--output", str(output)]) == 0
    out = capsys.readouterr().out
    assert f"left out: 1 unlabeled task(s) (ids {tasks[4]['id']}), 1 skipped by annotators (ids {tasks[3]['id']})" in out

    problems = Problems()
    pulled = read_annotations(output, LABELS, problems)
    assert problems.items == []  # no shifted offsets, nothing to warn about
    reviewed = [gold[t["data"]["doc_id"]] for t in tasks[:3]]
    assert [(d.id, d.text, d.spans) for d in pulled] == [(d.id, d.text, d.spans) for d in reviewed]
    check = run_command("train", "--config", "configs/tiny.yaml", "--train", str(output), "--check")
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]


@needs_server
def test_pull_converts_utf16_offsets_to_code_points(label_studio, env, project_title, tmp_path, capsys):
    """Older Label Studio frontends saved UTF-16 offsets; value.text tells them apart."""
    server = labelstudio.connect()
    project, _ = labelstudio.project_for(server, project_title, LABELS, "none")
    labelstudio.import_predictions(server, project, [Tagged(Document("emoji", EMOJI_TEXT), None)], "none")
    (task,) = tasks_of(label_studio, project.id)
    start = EMOJI_TEXT.index("الموصل")
    old_style = {"start": code_point_to_utf16(EMOJI_TEXT, start), "end": code_point_to_utf16(EMOJI_TEXT, start + 6)}
    assert old_style["start"] != start
    result = [{"from_name": "label", "to_name": "text", "type": "labels", "value": {**old_style, "text": "الموصل", "labels": ["LOC"]}}]
    label_studio.client().annotations.create(id=task["id"], result=result, was_cancelled=False)
    output = tmp_path / "pulled.json"
    assert command_main("pull")(["--project", str(project.id), "--output", str(output)]) == 0
    assert "1 span(s) had UTF-16 offsets" in capsys.readouterr().out
    problems = Problems()
    (doc,) = read_annotations(output, LABELS, problems)
    assert problems.items == []
    assert doc.spans == [Span(start, start + 6, "LOC")]


@needs_server
def test_pull_reports_a_span_train_py_would_refuse_and_fails(label_studio, env, tiny_model, project_title, tmp_path, capsys):
    assert command_main("push")(["--model", str(tiny_model), "--input", str(RAW), "--project", project_title]) == 0
    pid = project_id(label_studio, project_title)
    task = tasks_of(label_studio, pid)[0]
    label_studio.client().annotations.create(id=task["id"], result=[labels_item(0, 4, "PER")], was_cancelled=False)
    output = tmp_path / "reviewed.json"
    capsys.readouterr()
    assert command_main("pull")(["--project", str(pid), "--output", str(output)]) == 1
    err = capsys.readouterr().err
    assert f"error: {output}: task {task['id']}: span [0,4) {task['data']['text'][:4]!r} PER: label 'PER' is not declared" in err
    assert err.rstrip().endswith("1 error(s): fix the spans in Label Studio and pull again")
    assert [t["id"] for t in json.loads(output.read_text(encoding="utf-8"))] == [task["id"]]  # written, for inspection


# ---------------------------------------------------------------- score

@needs_server
def test_score_is_one_when_the_reviewers_accept_every_prediction(label_studio, env, tiny_model, project_title, tmp_path, capsys):
    assert command_main("push")(["--model", str(tiny_model), "--input", str(RAW), "--project", project_title]) == 0
    pid = project_id(label_studio, project_title)
    for task in tasks_of(label_studio, pid):
        annotate(label_studio, task, predicted_spans(task))
    report = tmp_path / "score.json"
    assert command_main("score")(["--project", str(pid), "--output", str(report)]) == 0
    scores = json.loads(report.read_text(encoding="utf-8"))
    assert scores["tasks"] == 5
    assert scores["spans"]["micro"]["f1"] == 1.0
    assert scores["spans"]["micro"]["support"] > 0
    assert "micro" in capsys.readouterr().out


@needs_server
def test_score_measures_how_far_reviewers_moved_from_the_predictions(label_studio, env, tiny_model, project_title, tmp_path):
    assert command_main("push")(["--model", str(tiny_model), "--input", str(RAW), "--project", project_title]) == 0
    pid = project_id(label_studio, project_title)
    gold = gold_documents()
    tasks = tasks_of(label_studio, pid)
    for task in tasks:
        annotate(label_studio, task, gold[task["data"]["doc_id"]].spans)
    report = tmp_path / "score.json"
    assert command_main("score")(["--project", str(pid), "--output", str(report)]) == 0
    from arabic_ner.evaluation.metrics import span_scores

    expected = span_scores([gold[t["data"]["doc_id"]].spans for t in tasks], [predicted_spans(t) for t in tasks], LABELS)
    assert json.loads(report.read_text(encoding="utf-8"))["spans"] == json.loads(json.dumps(to_plain(expected)))
    assert expected.micro.f1 < 1.0  # the one-epoch model is far from the gold


@needs_server
def test_score_names_a_reviewed_span_it_cannot_read_and_fails(label_studio, env, tiny_model, project_title, capsys):
    assert command_main("push")(["--model", str(tiny_model), "--input", str(RAW), "--project", project_title]) == 0
    pid = project_id(label_studio, project_title)
    tasks = tasks_of(label_studio, pid)
    for task in tasks:
        annotate(label_studio, task, predicted_spans(task))
    broken = tasks[0]
    length = len(broken["data"]["text"])
    label_studio.client().annotations.create(id=broken["id"], result=[labels_item(length - 2, length + 5, "LOC")], was_cancelled=False)
    capsys.readouterr()
    assert command_main("score")(["--project", str(pid)]) == 1
    out, err = capsys.readouterr()
    assert f"task {broken['id']}: annotation " in err and f"span [{length - 2},{length + 5})" in err
    assert "offsets must satisfy" in err and "fix them in Label Studio and score again" in err
    assert "micro" in out  # the other tasks are still scored


@needs_server
def test_score_without_predictions_to_compare_says_what_to_do(label_studio, env, tiny_model, project_title):
    label_studio.client().projects.create(title=project_title, label_config=labeling_config(LABELS))
    pid = project_id(label_studio, project_title)
    where = f"project {pid} {project_title!r}"
    with pytest.raises(UserError, match=rf"^{re.escape(where)}: no predictions to score; model versions there: none; choose one with --model-version$"):
        command_main("score")(["--project", str(pid)])
    assert command_main("push")(["--model", str(tiny_model), "--input", str(RAW), "--project", str(pid)]) == 0
    version = model_version(tiny_model)
    with pytest.raises(UserError, match=rf"^{re.escape(where)}: no predictions from model version 'v0'; "
                                        rf"model versions there: {re.escape(version)} \(5 tasks\); choose one with --model-version$"):
        command_main("score")(["--project", str(pid), "--model-version", "v0"])
    with pytest.raises(UserError, match=rf"^{re.escape(where)}: no task has both a completed annotation and a prediction "
                                        rf"from {re.escape(version)}; review some tasks first$"):
        command_main("score")(["--project", str(pid)])


# ---------------------------------------------------------------- connection

@needs_server
def test_a_personal_access_token_works(label_studio, personal_access_token, project_title, tmp_path):
    """A PAT is a JWT refresh token; the SDK trades it for short-lived access tokens."""
    import jwt

    pat = personal_access_token
    assert jwt.decode(pat, options={"verify_signature": False})["token_type"] == "refresh"
    label_studio.client().projects.create(title=project_title, label_config=labeling_config(LABELS))
    result = cli("pull", "--project", project_title, "--output", str(tmp_path / "out.json"), url=label_studio.url, key=pat)
    assert result.returncode == 0, result.stderr
    assert "pulled 0 annotated task(s)" in result.stdout
    assert pat not in result.stdout + result.stderr


def one_line_error(result: subprocess.CompletedProcess, key: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert key not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_an_unreachable_server_is_a_one_line_error(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    line = one_line_error(cli("score", "--project", "1", url=url, key="some-key-123"), "some-key-123")
    assert line.startswith(f"cannot reach Label Studio at {url} (ConnectError")
    assert "LABEL_STUDIO_URL" in line


@needs_server
def test_a_wrong_key_is_a_one_line_401_error(label_studio, personal_access_token):
    tampered = personal_access_token[:-6] + ("AAAAAA" if not personal_access_token.endswith("AAAAAA") else "BBBBBB")
    for key in ("not-the-right-token", tampered):  # a legacy-looking key, and a PAT whose signature is wrong
        line = one_line_error(cli("score", "--project", "1", url=label_studio.url, key=key), key)
        assert line.startswith(f"Label Studio at {label_studio.url} refused LABEL_STUDIO_API_KEY (401: ")


@needs_server
def test_an_unknown_project_is_a_one_line_error(label_studio):
    line = one_line_error(cli("pull", "--project", "99999", "--output", "/dev/null", url=label_studio.url, key=label_studio.token), label_studio.token)
    assert line.startswith(f"no project 99999 in Label Studio at {label_studio.url}; ")


@needs_server
def test_a_title_that_names_no_project_or_several_is_a_one_line_error(label_studio, project_title, tmp_path):
    url, key, out = label_studio.url, label_studio.token, str(tmp_path / "out.json")
    line = one_line_error(cli("pull", "--project", project_title, "--output", out, url=url, key=key), key)
    assert line.startswith(f"no project titled {project_title!r} in Label Studio at {url}; ")
    ids = [label_studio.client().projects.create(title=project_title, label_config=labeling_config(LABELS)).id for _ in range(2)]
    line = one_line_error(cli("pull", "--project", "no such title", "--output", out, url=url, key=key), key)
    assert line.startswith(f"no project titled 'no such title' in Label Studio at {url}; the projects are: ")
    line = one_line_error(cli("pull", "--project", project_title, "--output", out, url=url, key=key), key)
    assert line == f"2 projects in Label Studio at {url} are titled {project_title!r} (ids {ids[0]}, {ids[1]}); give --project the id"


def test_a_server_that_is_not_label_studio_is_a_one_line_error(tmp_path):
    """An ordinary web server at LABEL_STUDIO_URL: for a legacy key it answers an HTML 404, and for a
    personal access token its answer to the token refresh is not JSON."""
    import jwt

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    pat = jwt.encode({"token_type": "refresh", "user_id": 1, "exp": 4102444800}, "k" * 32, algorithm="HS256")
    try:
        line = one_line_error(cli("score", "--project", "1", url=url, key="legacy-key-123"), "legacy-key-123")
        assert line == (f"Label Studio at {url} answered 404 while checking the API key: an HTML page, not Label Studio's API; "
                        "is LABEL_STUDIO_URL the address of Label Studio?")
        line = one_line_error(cli("score", "--project", "1", url=url, key=pat), pat)
        assert line == f"{url} did not answer like Label Studio (not JSON); is LABEL_STUDIO_URL the address of Label Studio?"
    finally:
        server.shutdown()


def test_a_server_whose_answers_have_the_wrong_shape_is_a_one_line_error(tmp_path):
    """A server that answers every request with a JSON list, where the SDK expects objects."""
    from http.server import BaseHTTPRequestHandler

    class Lists(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"[1, 2, 3]"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Lists)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        result = cli("pull", "--project", "1", "--output", str(tmp_path / "o.json"), url=url, key="legacy-key-123")
        line = one_line_error(result, "legacy-key-123")
        assert line.startswith(f"Label Studio at {url} answered ") and "with something that is not Label Studio's API (TypeError)" in line
        assert not (tmp_path / "o.json").exists()
    finally:
        server.shutdown()


def test_a_url_that_is_not_http_is_a_one_line_error():
    result = cli("score", "--project", "1", url="localhost:8080", key="some-key-123")
    assert one_line_error(result, "some-key-123") == (
        "LABEL_STUDIO_URL='localhost:8080' is not an http(s) URL; set it to e.g. http://localhost:8080")


def test_missing_settings_are_a_one_line_error():
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABEL_STUDIO_")}
    result = subprocess.run(
        [str(ARABIC_NER), "score", "--project", "1"],
        cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT / "src")}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY not set: export LABEL_STUDIO_URL=")


# ---------------------------------------------------------------- the whole loop

@needs_server
@pytest.mark.slow
def test_predict_push_review_pull_train(label_studio, tiny_model, project_title, tmp_path):
    """The review loop as a user runs it: predict, push, correct in Label Studio, pull, train again."""
    url, key = label_studio.url, label_studio.token
    tagged = tmp_path / "tagged.json"  # Label Studio tasks, as in the README's workflow
    result = run_command("predict", "--model", str(tiny_model), "--input", str(RAW), "--output", str(tagged))
    assert result.returncode == 0, result.stderr[-2000:]
    result = cli("push", "--model", str(tiny_model), "--input", str(tagged), "--project", project_title, url=url, key=key)
    assert result.returncode == 0, result.stderr[-2000:]
    pid = project_id(label_studio, project_title)
    gold = gold_documents()
    tasks = tasks_of(label_studio, pid)
    assert sorted(t["data"]["doc_id"] for t in tasks) == sorted(gold)
    for task in tasks:  # the reviewer corrects every prediction to the gold spans
        annotate(label_studio, task, gold[task["data"]["doc_id"]].spans)
    pulled = tmp_path / "reviewed.json"
    result = cli("pull", "--project", str(pid), "--output", str(pulled), url=url, key=key)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "pulled 5 annotated task(s), 302 span(s)" in result.stdout
    retrained = tmp_path / "retrained"
    result = run_command(
        "train", "--config", "configs/tiny.yaml", "--train", str(pulled), "--output-dir", str(retrained),
        *sets(*tiny_overrides(**{"num_train_epochs": 1, "scratch.num_hidden_layers": 1})),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (retrained / "model.safetensors").is_file()
    result = cli("push", "--model", str(retrained), "--input", str(RAW), "--project", str(pid), url=url, key=key)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "prediction added to 5 existing task(s)" in result.stdout
