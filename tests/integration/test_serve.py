"""``python -m arabic_ner.serve``, the Label Studio model backend.

Bad requests are sent to the real application in this process (Starlette's TestClient: the same
app, without a socket). Everything else runs against the real Label Studio server of
``labelstudio_server.py``: the backend is started as a user starts it, connected to a project
through Label Studio's API, and Label Studio itself asks it for predictions and for a training.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from arabic_ner.core.document import Span
from arabic_ner.data.labelstudio_json import prediction_record
from arabic_ner.labelstudio.backend import Backend, Options, build_app
from arabic_ner.labelstudio.client import labeling_config
from arabic_ner.model.inference import Tagger
from arabic_ner.model.loading import load_tokenizer, model_version

from helpers import run_command, sets
from labelstudio_helpers import (
    CONFIG,
    RAW,
    annotate,
    connected_project,
    gold_documents,
    post,
    project_id,
    retrieve_predictions,
    start_backend,
    stop,
    tasks_of,
)

needs_server = pytest.mark.labelstudio


# ---------------------------------------------------------------- bad requests, offline

@pytest.fixture(scope="module")
def client(one_epoch_model, tmp_path_factory):
    from starlette.testclient import TestClient

    options = Options(str(one_epoch_model), tmp_path_factory.mktemp("served"), None)
    with TestClient(build_app(Backend(options), max_request_mb=0.01), raise_server_exceptions=False) as c:
        yield c


def answer(response, status: int) -> str:
    """The one-line error of a 4xx answer."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error and "\n" not in error and "Traceback" not in error
    return error


def still_up(client) -> None:
    assert client.get("/health").json()["status"] == "UP"


TEXT = "قصف التحالف مواقع لداعش في الموصل"


@pytest.mark.parametrize("body, status, message", [
    ({"label_config": CONFIG}, 400, "no tasks"),
    ({"tasks": [], "label_config": CONFIG}, 400, "no tasks"),
    ({"tasks": "text", "label_config": CONFIG}, 400, "no tasks"),
    ({"tasks": [{"id": 3, "data": {"image": "x.png"}}], "label_config": CONFIG}, 400, "task 3 has no text"),
    ({"tasks": [{"id": 4, "data": {"text": 17}}], "label_config": CONFIG}, 400, "task 4 has no text"),
    ({"tasks": [{"id": 5}], "label_config": CONFIG}, 400, "task 5 has no text"),
    ({"tasks": ["just text"], "label_config": CONFIG}, 400, "task 0 is not a JSON object"),
    ({"tasks": [{"id": 1, "data": {"text": TEXT}}], "label_config": "<View><Text name='text'"}, 422, "not valid XML"),
    ({"tasks": [{"id": 1, "data": {"text": TEXT}}], "label_config": 12}, 400, "no labeling config"),
    ({"tasks": [{"id": 1, "data": {"text": TEXT}}], "project": "9.1700000000",
      "label_config": labeling_config(["LOC", "ORG"])}, 422, "project 9: the labeling config lacks the label(s) WEAPON, COUNT, DATE"),
    ({"tasks": [{"id": 1, "data": {"text": TEXT}}], "label_config": "<View><Image name='img' value='$image'/></View>"},
     422, 'no <Labels name="label" toName="text">'),
])
def test_a_bad_predict_request_gets_a_4xx_with_one_line_and_the_server_stays_up(client, body, status, message):
    assert message in answer(client.post("/predict", json=body), status)
    still_up(client)


def test_bodies_that_are_not_json_objects_get_400(client):
    assert "not JSON (line 1, column 2)" in answer(client.post("/predict", content=b"{tasks"), 400)
    assert "not JSON" in answer(client.post("/setup", content=b"\xff\xfe"), 400)
    assert "must be a JSON object" in answer(client.post("/predict", json=[1, 2]), 400)
    assert "not JSON" in answer(client.post("/webhook", content=b""), 400)
    still_up(client)


def test_a_body_nested_too_deeply_is_a_400_not_a_500(client):
    deep = b'{"tasks": ' + b"[" * 3000 + b"]" * 3000 + b"}"  # under the test server's 0.01 MB, deeper than json's recursion limit
    assert answer(client.post("/predict", content=deep), 400) == "the request body is nested too deeply to be a Label Studio request"
    still_up(client)


def test_a_lone_surrogate_in_a_task_is_a_422_naming_the_task(client):
    body = ('{"tasks": [{"id": 7, "data": {"text": "\\ud800\\u062a\\u0642\\u0635\\u0641"}}], "label_config": '
            + json.dumps(CONFIG) + "}").encode()
    error = answer(client.post("/predict", content=body), 422)
    assert error.startswith("task 7: its text holds a lone UTF-16 surrogate ('\\ud800' at character 0)")
    still_up(client)


def test_a_huge_payload_gets_413_whether_or_not_it_declares_its_length(client):
    big = {"tasks": [{"id": 1, "data": {"text": "كركوك " * 5000}}], "label_config": CONFIG}
    assert "at most 0.01 MB" in answer(client.post("/predict", json=big), 413)

    def chunks():  # no Content-Length: the body is cut off as it arrives
        for _ in range(20):
            yield b" " * 1024
    assert "over 0.01 MB" in answer(client.post("/predict", content=chunks()), 413)
    still_up(client)


def test_setup_checks_the_labeling_config_and_gives_the_model_version(client, one_epoch_model):
    ok = client.post("/setup", json={"project": "3.1700000000", "schema": CONFIG, "hostname": "http://x", "access_token": "secret"})
    assert ok.status_code == 200 and ok.json() == {"model_version": model_version(one_epoch_model)}
    assert "project 3: no labeling config" in answer(client.post("/setup", json={"project": "3.1700000000"}), 400)


def test_webhook_events_other_than_start_training_are_acknowledged_and_ignored(client):
    created = client.post("/webhook", json={"action": "ANNOTATION_CREATED", "project": {"id": 1}})
    assert created.status_code == 200 and created.json()["status"] == "ignored"
    assert "no \"action\"" in answer(client.post("/webhook", json={"project": {"id": 1}}), 400)
    assert "no \"project\" object" in answer(client.post("/webhook", json={"action": "START_TRAINING"}), 400)
    assert "no training_config.yaml" in answer(client.post("/webhook", json={"action": "START_TRAINING", "project": {"id": 1}}), 409)
    assert "Not Found" in answer(client.get("/nowhere"), 404)
    still_up(client)


def test_training_without_label_studio_settings_is_a_503_that_says_what_to_set(one_epoch_model, tmp_path, monkeypatch):
    from starlette.testclient import TestClient

    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    options = Options(str(one_epoch_model), tmp_path, one_epoch_model / "training_config.yaml")
    with TestClient(build_app(Backend(options)), raise_server_exceptions=False) as trainable:
        error = answer(trainable.post("/webhook", json={"action": "START_TRAINING", "project": {"id": 4}}), 503)
        assert error.startswith("LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY not set: export LABEL_STUDIO_URL=")
        assert trainable.get("/health").json()["training"]["state"] == "none"
    assert list(tmp_path.iterdir()) == []  # nothing exported, nothing trained


def test_a_missing_train_config_is_one_line_before_the_model_loads(one_epoch_model, tmp_path):
    result = run_command("serve", "--model", str(one_epoch_model), "--train-config", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"{tmp_path / 'nope.yaml'}: --train-config not found"]


def test_predictions_are_push_records_in_task_order(client, one_epoch_model):
    from arabic_ner.core.document import Document

    tasks = [{"id": 11, "data": {"text": TEXT}}, {"id": 12, "data": {"text": "", "doc_id": "empty"}},
             {"id": 13, "data": {"text": TEXT + " " + TEXT, "doc_id": "twice"}}]
    results = client.post("/predict", json={"tasks": tasks, "label_config": CONFIG}).json()["results"]
    documents = [Document(str(t["data"].get("doc_id", t["id"])), t["data"]["text"]) for t in tasks]
    version = model_version(one_epoch_model)
    expected = [prediction_record(t.document, t.score, version) for t in Tagger.load(str(one_epoch_model)).tag(documents)]
    assert results == expected
    assert results[1] == {"model_version": version, "score": None, "result": []}
    assert results[2]["result"] and results[2]["result"][0]["id"] == "twice-0"  # data.doc_id names the spans, as in push
    assert results[0]["result"] and results[0]["result"][0]["id"] == "11-0"  # else the task id


# ---------------------------------------------------------------- against Label Studio







@pytest.fixture(scope="module")
def backend(label_studio, tiny_model, tmp_path_factory):
    running = start_backend(label_studio, tiny_model, tmp_path_factory.mktemp("backend"),
                            "--set", "num_train_epochs=1", "--set", "dev_fraction=0")
    yield running
    stop(running)






@needs_server
def test_label_studio_stores_the_backends_predictions_exactly_as_push_sends_them(label_studio, backend, tiny_model, tmp_path, monkeypatch):
    from arabic_ner.cli import command_main

    project, ml = connected_project(label_studio, backend, "serve: predictions")
    assert label_studio.client().ml.get(id=ml.id).state == "CO"  # health and setup answered
    first = tasks_of(label_studio, project.id)[0]
    assert first["predictions"] == []
    label_studio.client().tasks.get(id=first["id"])  # a task opened in the labeling screen gets its prediction
    assert [p["model_version"] for p in tasks_of(label_studio, project.id)[0]["predictions"]] == [model_version(tiny_model)]
    retrieve_predictions(label_studio, project.id)  # and the rest, from the Data Manager
    by_backend = {t["data"]["doc_id"]: t for t in tasks_of(label_studio, project.id)}

    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.token)
    assert command_main("push")(["--model", str(tiny_model), "--input", str(RAW), "--project", "serve: pushed"]) == 0
    by_push = {t["data"]["doc_id"]: t for t in tasks_of(label_studio, project_id(label_studio, "serve: pushed"))}

    assert sorted(by_backend) == sorted(by_push) and len(by_push) == 5
    spans = 0
    for doc_id, task in by_backend.items():
        (served,) = task["predictions"]
        (sent,) = by_push[doc_id]["predictions"]
        assert served["model_version"] == sent["model_version"] == model_version(tiny_model)
        assert served["score"] == sent["score"]
        assert served["result"] == sent["result"]  # every span: offsets, text, label, score, id
        spans += len(served["result"])
    assert spans > 0  # else the comparison proves nothing
    assert label_studio.token not in backend.log.read_text(encoding="utf-8")




@needs_server
def test_the_running_server_answers_bad_requests_and_stays_up(backend):
    huge = json.dumps({"tasks": [{"id": 1, "data": {"text": "كركوك " * 3_000_000}}]}).encode()  # 33 MB
    assert post(backend, "/predict", huge) == (413, f"the request is {len(huge) / 1048576:.1f} MB; this backend takes at most 32 MB (--max-request-mb)")
    assert post(backend, "/predict", b'{"tasks": [{"id": 1, "data": {}}]}')[0] == 400
    assert post(backend, "/setup", b"not json")[0] == 400
    assert post(backend, "/webhook", b'{"action": "START_TRAINING"}')[0] == 400
    assert backend.process.poll() is None and backend.health()["status"] == "UP"


@needs_server
def test_a_client_that_announces_a_huge_body_and_never_sends_it_gets_a_413(backend):
    """Content-Length says 1 GB, ten bytes come: the backend does not wait for the rest forever."""
    import socket
    from urllib.parse import urlparse

    address = urlparse(backend.url)
    started = time.monotonic()
    with socket.create_connection((address.hostname, address.port), timeout=60) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{\"tasks\": ")
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < int(data.lower().split(b"content-length: ")[1].split(b"\r\n")[0]):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        answer = data.decode("utf-8", "replace")
    assert answer.startswith("HTTP/1.1 413") and "this backend takes at most 32 MB" in answer
    assert time.monotonic() - started < 40
    assert backend.process.poll() is None and backend.health()["status"] == "UP"


@needs_server
@pytest.mark.slow
def test_a_training_started_in_label_studio_serves_a_new_model_version(label_studio, backend, tiny_model):
    client = label_studio.client()
    project, ml = connected_project(label_studio, backend, "serve: training")
    gold = gold_documents()
    tasks = tasks_of(label_studio, project.id)
    for task in tasks[:3]:
        annotate(label_studio, task, gold[task["data"]["doc_id"]].spans)
    before = backend.health()["model_version"]
    assert before == model_version(tiny_model)

    client.ml.train(id=ml.id)  # the project's Settings > Model > Start Training
    again = post(backend, "/webhook", json.dumps({"action": "START_TRAINING", "project": {"id": project.id}}).encode())
    assert again[0] == 409 and f"a training for project {project.id} is already running" in again[1]
    deadline = time.monotonic() + 300
    while (training := backend.health()["training"])["state"] in ("none", "running") and time.monotonic() < deadline:
        time.sleep(1)
    assert training["state"] == "done", f"{training}\n{backend.log_tail()}"
    assert (training["tasks"], training["spans"]) == (3, sum(len(gold[t["data"]["doc_id"]].spans) for t in tasks[:3]))
    after = backend.health()["model_version"]
    assert after != before and after == training["model_version"] == model_version(training["model_dir"])
    assert (Path(training["model_dir"]) / "training_config.yaml").is_file()  # a model directory as train.py writes it

    retrieve_predictions(label_studio, project.id)  # Label Studio asks /setup first, then /predict
    assert client.ml.get(id=ml.id).model_version == after  # Settings > Model shows the new version
    versions = {p["model_version"] for t in tasks_of(label_studio, project.id) for p in t["predictions"]}
    assert after in versions


@needs_server
def test_a_span_train_py_cannot_read_stops_the_training_and_says_which(label_studio, backend):
    project, ml = connected_project(label_studio, backend, "serve: bad span")
    task = tasks_of(label_studio, project.id)[0]
    text = task["data"]["text"]
    annotate(label_studio, task, [Span(0, 4, "LOC"), Span(2, 6, "ORG")])  # overlapping spans
    before = backend.health()
    status, error = post(backend, "/webhook", json.dumps({"action": "START_TRAINING", "project": {"id": project.id}}).encode())
    assert status == 422
    assert f"task {task['id']}" in error and "overlaps" in error and repr(text[0:4]) in error
    after = backend.health()
    assert after["model_version"] == before["model_version"] and after["training"] == before["training"]


@needs_server
def test_a_project_without_completed_annotations_is_a_422_and_nothing_trains(label_studio, backend):
    project, ml = connected_project(label_studio, backend, "serve: unannotated")
    before = backend.health()
    status, error = post(backend, "/webhook", json.dumps({"action": "START_TRAINING", "project": {"id": project.id}}).encode())
    assert (status, error) == (422, f"project {project.id} has no completed annotations to train on; annotate some tasks first")
    assert backend.health()["training"] == before["training"]


@needs_server
def test_a_failed_training_leaves_the_running_model_serving(label_studio, tiny_model, tmp_path):
    broken = start_backend(label_studio, tiny_model, tmp_path, "--set", "num_train_epochs=1", "--set", "dev_fraction=0",
                           "--set", "learning_rate=-1")  # train.py refuses it
    try:
        project, ml = connected_project(label_studio, broken, "serve: failing")
        task = tasks_of(label_studio, project.id)[0]
        annotate(label_studio, task, gold_documents()[task["data"]["doc_id"]].spans)
        label_studio.client().ml.train(id=ml.id)
        deadline = time.monotonic() + 120
        while (training := broken.health()["training"])["state"] in ("none", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert training["state"] == "failed" and "learning_rate" in training["error"], training
        assert broken.health()["model_version"] == model_version(tiny_model)
        retrieve_predictions(label_studio, project.id)
        versions = {p["model_version"] for t in tasks_of(label_studio, project.id) for p in t["predictions"]}
        assert versions == {model_version(tiny_model)}
    finally:
        stop(broken)


@needs_server
@pytest.mark.slow
def test_a_model_fine_tuned_from_a_pretrained_bert_is_trained_again_from_that_bert(label_studio, pretrained_dir, tmp_path):
    """The CAMeLBERT path, offline: the served model's recipe starts from the "pretrained" directory,
    so a training from Label Studio fine-tunes that BERT again, with its own vocabulary."""
    model = tmp_path / "camelbert-like"
    result = run_command(
        "train", "--config", "configs/camelbert-msa.yaml", "--output-dir", str(model),
        *sets(f"model={pretrained_dir}", "revision=main", "num_train_epochs=1", "max_length=128", "stride=32", "bf16=false"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    served = start_backend(label_studio, model, tmp_path, "--set", "num_train_epochs=1", "--set", "dev_fraction=0")
    try:
        project, ml = connected_project(label_studio, served, "serve: pretrained")
        gold = gold_documents()
        for task in tasks_of(label_studio, project.id)[:2]:
            annotate(label_studio, task, gold[task["data"]["doc_id"]].spans)
        label_studio.client().ml.train(id=ml.id)
        deadline = time.monotonic() + 300
        while (training := served.health()["training"])["state"] in ("none", "running") and time.monotonic() < deadline:
            time.sleep(1)
        assert training["state"] == "done", f"{training}\n{served.log_tail()}"
        retrained = Path(training["model_dir"])
        assert load_tokenizer(str(retrained), None).get_vocab() == load_tokenizer(str(pretrained_dir), None).get_vocab()
        assert f"model: {pretrained_dir}" in (retrained / "training_config.yaml").read_text(encoding="utf-8")
        retrieve_predictions(label_studio, project.id)
        assert training["model_version"] in {p["model_version"] for t in tasks_of(label_studio, project.id) for p in t["predictions"]}
    finally:
        stop(served)
