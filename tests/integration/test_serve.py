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


# ---------------------------------------------------------------- authentication and training as annotators work, offline

USER, PASSWORD = "reviewer", "s3cret:with colon é"


def basic(user: str, password: str) -> dict:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def guarded(one_epoch_model, tmp_path_factory):
    """The application with credentials, and its backend (whose tagging and training calls are counted)."""
    from starlette.testclient import TestClient

    backend = Backend(Options(str(one_epoch_model), tmp_path_factory.mktemp("guarded"), one_epoch_model / "training_config.yaml"))
    calls = []
    for name in ("predict", "start_training", "check_config", "count_annotations"):
        real = getattr(backend, name)
        setattr(backend, name, lambda *a, _real=real, _name=name, **k: (calls.append(_name), _real(*a, **k))[1])
    with TestClient(build_app(backend, credentials=(USER, PASSWORD)), raise_server_exceptions=False) as c:
        yield c, backend, calls


WORK = [("POST", "/predict", {"tasks": [{"id": 1, "data": {"text": TEXT}}], "label_config": CONFIG}),
        ("POST", "/setup", {"project": "3.1700000000", "schema": CONFIG}),
        ("POST", "/webhook", {"action": "START_TRAINING", "project": {"id": 3}}),
        ("POST", "/webhook", {"action": "ANNOTATION_CREATED", "project": {"id": 3}, "annotation": {"id": 1}}),
        ("GET", "/versions", None), ("POST", "/versions", {}), ("GET", "/nowhere", None)]


@pytest.mark.parametrize("headers, why", [
    ({}, "no credentials"),
    (basic(USER, "wrong"), "wrong"),
    (basic("someone", PASSWORD), "wrong"),
    (basic(USER, PASSWORD + "x"), "wrong"),
    (basic(USER, PASSWORD)["Authorization"].replace("Basic", "Bearer"), "wrong"),
    ({"Authorization": "Basic not-base64!"}, "wrong"),
    ({"Authorization": "Basic " + __import__("base64").b64encode(USER.encode()).decode()}, "wrong"),  # no colon
])
def test_without_the_right_credentials_every_route_that_works_is_a_401_and_nothing_runs(guarded, headers, why):
    client, backend, calls = guarded
    headers = headers if isinstance(headers, dict) else {"Authorization": headers}
    before = (backend.version, dict(backend.annotations), backend.training)
    for method, path, body in WORK:
        response = client.request(method, path, json=body, headers=headers)
        error = answer(response, 401)
        assert response.headers["WWW-Authenticate"].startswith('Basic realm="arabic-ner"')
        assert ("takes requests with its user and password only" in error) == (why == "no credentials")
        assert PASSWORD not in error and PASSWORD not in response.text
    assert calls == [] and (backend.version, dict(backend.annotations), backend.training) == before
    health = client.get("/health", headers=headers)
    if why == "no credentials":  # a probe without credentials learns that it is up, and nothing else
        assert (health.status_code, health.json()) == (200, {"status": "UP"})
        assert client.get("/").json() == {"status": "UP"}
    else:
        assert "wrong user or password" in answer(health, 401)


def test_with_the_right_credentials_every_route_answers_as_without_authentication(guarded, one_epoch_model):
    client, backend, calls = guarded
    auth = basic(USER, PASSWORD)
    health = client.get("/health", headers=auth).json()
    assert health["model_version"] == model_version(one_epoch_model) and health["training"]["state"] == "none"
    assert client.post("/setup", json={"project": "3.1700000000", "schema": CONFIG}, headers=auth).json() == {"model_version": health["model_version"]}
    results = client.post("/predict", json={"tasks": [{"id": 1, "data": {"text": TEXT}}], "label_config": CONFIG}, headers=auth).json()["results"]
    expected = next(Tagger.load(str(one_epoch_model)).tag([__import__("arabic_ner").Document("1", TEXT)]))
    assert results == [prediction_record(expected.document, expected.score, health["model_version"])]
    assert "Not Found" in answer(client.get("/nowhere", headers=auth), 404)
    assert calls == ["check_config", "check_config", "predict"]
    calls.clear()


def test_the_webhook_401_says_that_label_studios_webhook_needs_the_header(guarded):
    client, _, _ = guarded
    error = answer(client.post("/webhook", json={"action": "ANNOTATION_CREATED"}), 401)
    assert "Settings > Webhooks" in error and "Authorization: Basic base64(user:password)" in error


@pytest.mark.parametrize("host, env, message", [
    ("0.0.0.0", {}, "--host 0.0.0.0: any machine that reaches it could tag text and start trainings; set BASIC_AUTH_USER and BASIC_AUTH_PASS"),
    ("::", {}, "--host ::: any machine that reaches it could tag text"),
    ("0.0.0.0", {"BASIC_AUTH_USER": "ner"}, "BASIC_AUTH_USER is set but BASIC_AUTH_PASS is not: set both"),
    ("127.0.0.1", {"BASIC_AUTH_PASS": "x"}, "BASIC_AUTH_PASS is set but BASIC_AUTH_USER is not: set both"),
    ("127.0.0.1", {"BASIC_AUTH_USER": "a:b", "BASIC_AUTH_PASS": "x"}, "BASIC_AUTH_USER holds a ':'"),
])
def test_serve_refuses_an_open_address_without_credentials_in_one_line(one_epoch_model, monkeypatch, host, env, message):
    monkeypatch.delenv("BASIC_AUTH_USER", raising=False)
    monkeypatch.delenv("BASIC_AUTH_PASS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from labelstudio_server import free_port

    result = run_command("serve", "--model", str(one_epoch_model), "--host", host, "--port", str(free_port()), timeout=60)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(message)
    assert all(v not in result.stderr + result.stdout for v in env.values() if len(v) > 1)


def test_credentials_are_never_taken_from_the_command_line(one_epoch_model):
    result = run_command("serve", "--model", str(one_epoch_model), "--password", "x", timeout=60)
    assert result.returncode == 2 and "unrecognized arguments: --password" in result.stderr


def test_train_every_needs_a_recipe_and_label_studio(one_epoch_model, tmp_path, monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    result = run_command("serve", "--model", str(one_epoch_model), "--train-every", "5", timeout=60)
    assert result.returncode == 2 and result.stderr.splitlines() == [
        "--train-every: a training exports the project from Label Studio; "
        "export LABEL_STUDIO_URL=http://localhost:8080 LABEL_STUDIO_API_KEY=<your token> first"]
    bare = tmp_path / "bare"
    bare.mkdir()
    for f in one_epoch_model.iterdir():
        if f.is_file() and f.name != "training_config.yaml":
            (bare / f.name).write_bytes(f.read_bytes())
    result = run_command("serve", "--model", str(bare), "--train-every", "5", timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"--train-every: {bare} has no training_config.yaml to train with; give --train-config CONFIG"]
    assert "argument --train-every: 0 must be 1 or more" in run_command("serve", "--model", str(one_epoch_model), "--train-every", "0", timeout=60).stderr


def test_annotation_events_count_towards_a_training_per_project(one_epoch_model, tmp_path, monkeypatch):
    """Submitted annotations are counted per project; skipped ones and deletions are not. The Nth
    starts a training in the background; here Label Studio is not set, so it fails, and says why."""
    from starlette.testclient import TestClient

    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    options = Options(str(one_epoch_model), tmp_path, one_epoch_model / "training_config.yaml", train_every=3)
    with TestClient(build_app(Backend(options)), raise_server_exceptions=False) as c:
        def event(action, project, annotation):
            response = c.post("/webhook", json={"action": action, "project": {"id": project}, "annotation": annotation})
            assert response.status_code == 200, response.text
            return response.json()

        assert event("ANNOTATION_CREATED", 1, {"id": 1, "was_cancelled": False})["status"] == "counted"
        assert event("ANNOTATION_CREATED", 1, {"id": 2, "was_cancelled": True}) == {"status": "counted", "project": 1, "annotations": 1, "train_every": 3}
        assert event("ANNOTATIONS_DELETED", 1, [{"id": 1}])["status"] == "ignored"
        assert event("ANNOTATION_UPDATED", 2, {"id": 3})["annotations"] == 1  # another project counts apart
        assert c.get("/health").json()["annotations"] == {"1": 1, "2": 1}
        started = event("ANNOTATIONS_CREATED", 1, [{"id": 4}, {"id": 5, "was_cancelled": True}, {"id": 6}])
        assert started == {"status": "training", "project": 1, "annotations": 3, "train_every": 3}
        deadline = time.monotonic() + 30
        while (training := c.get("/health").json()["training"])["state"] != "failed" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert training["state"] == "failed" and training["trigger"] == "3 annotations" and training["project"] == 1
        assert training["error"].startswith("LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY not set")
        health = c.get("/health").json()
        assert health["annotations"] == {"1": 0, "2": 1} and health["waiting"] is None
        assert "no \"project\"" in answer(c.post("/webhook", json={"action": "ANNOTATION_CREATED", "annotation": {"id": 9}}), 400)
        # the annotation's own project serves when the event has no project object
        assert event("ANNOTATION_CREATED", None, {"id": 10, "project": 2})["annotations"] == 2
    assert list(tmp_path.iterdir()) == []  # nothing exported, nothing trained


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


def wait_for_training(backend, versions: int, timeout: float = 300) -> dict:
    """/health once the backend has served ``versions`` model versions and no training runs or waits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = backend.health()
        served = json.loads(urllib_get(backend, "/versions"))["versions"]
        if len(served) >= versions and health["training"]["state"] != "running" and health["waiting"] is None:
            return health
        assert health["training"]["state"] != "failed", f"{health}\n{backend.log_tail()}"
        time.sleep(1)
    pytest.fail(f"no training ended within {timeout} s: {backend.health()}\n{backend.log_tail()}")


def eventually(backend, condition, timeout: float = 15) -> dict:
    """/health once ``condition(health)`` holds (Label Studio may send a webhook a moment after it answers)."""
    deadline = time.monotonic() + timeout
    while not condition(health := backend.health()):
        assert time.monotonic() < deadline, f"{health}\n{backend.log_tail()}"
        time.sleep(0.2)
    return health


def urllib_get(backend, path: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(backend.url + path, headers=backend.headers()), timeout=30) as answer:
        return answer.read()


@needs_server
@pytest.mark.slow
def test_a_backend_with_credentials_serves_label_studio_and_trains_as_annotators_work(label_studio, tiny_model, tmp_path):
    """Connected with its user and password through Label Studio's ML-backend settings: predictions,
    then N=2 annotations made through Label Studio's API start exactly one training, three more
    during it queue exactly one more, and the Start Training button still trains."""
    from label_studio_sdk.core.api_error import ApiError

    auth = ("reviewer", "a long pass:phrase")
    served = start_backend(label_studio, tiny_model, tmp_path, "--train-every", "2", "--set", "num_train_epochs=1",
                           "--set", "dev_fraction=0", auth=auth)
    try:
        client = label_studio.client()
        with pytest.raises(ApiError, match="authentication parameters were either not provided or are incorrect"):
            connected_project(label_studio, served, "serve: wrong password", auth_method="BASIC_AUTH",
                              basic_auth_user=auth[0], basic_auth_pass="wrong")
        project, ml = connected_project(label_studio, served, "serve: authenticated", auth_method="BASIC_AUTH",
                                        basic_auth_user=auth[0], basic_auth_pass=auth[1])
        assert client.ml.get(id=ml.id).state == "CO"
        # without the credentials nothing runs on the real server either
        for path, body in (("/predict", {"tasks": [{"id": 1, "data": {"text": TEXT}}]}),
                           ("/webhook", {"action": "START_TRAINING", "project": {"id": project.id}}),
                           ("/webhook", {"action": "ANNOTATION_CREATED", "project": {"id": project.id}, "annotation": {"id": 1}})):
            assert post(served, path, json.dumps(body).encode(), headers={})[0] == 401
        assert served.health()["annotations"] == {} and served.health()["training"]["state"] == "none"

        tasks = tasks_of(label_studio, project.id)
        client.tasks.get(id=tasks[0]["id"])  # opened in the labeling screen: Label Studio asks for its prediction
        assert [p["model_version"] for p in tasks_of(label_studio, project.id)[0]["predictions"]] == [model_version(tiny_model)]

        # the webhook Label Studio made for the model sends annotation events; it needs the credentials too
        (hook,) = [h for h in client.webhooks.list(project=str(project.id)) if h.url == served.url + "/webhook"]
        client.webhooks.update(id=hook.id, headers=served.headers())

        gold = gold_documents()
        for task in tasks[:2]:
            annotate(label_studio, task, gold[task["data"]["doc_id"]].spans)
        health = eventually(served, lambda h: h["training"]["state"] == "running")
        assert health["training"]["trigger"] == "2 annotations" and health["annotations"] == {str(project.id): 0}
        for task in tasks[2:5]:  # during it: the 2nd queues one training, the 3rd is counted towards the next
            annotate(label_studio, task, gold[task["data"]["doc_id"]].spans)
        health = eventually(served, lambda h: h["annotations"] == {str(project.id): 1})
        assert health["waiting"] == project.id and health["training"]["state"] == "running", health

        health = wait_for_training(served, versions=3)
        trained = sorted(p for p in served.models_dir.iterdir() if p.is_dir() and p.name != "label-studio-exports")
        assert len(trained) == 2, trained  # exactly one training, then exactly the one that waited
        assert (health["training"]["state"], health["training"]["trigger"], health["training"]["tasks"]) == ("done", "2 annotations", 5)
        newest = health["model_version"]
        assert newest == model_version(health["training"]["model_dir"]) != model_version(tiny_model)
        retrieve_predictions(label_studio, project.id)
        assert client.ml.get(id=ml.id).model_version == newest  # Settings > Model shows it
        assert newest in {p["model_version"] for t in tasks_of(label_studio, project.id) for p in t["predictions"]}

        client.ml.train(id=ml.id)  # the Start Training button, through the same credentials
        health = wait_for_training(served, versions=4)
        assert (health["training"]["state"], health["training"]["trigger"]) == ("done", "Start Training")
        log = served.log.read_text(encoding="utf-8")
        assert auth[1] not in log and label_studio.token not in log
    finally:
        stop(served)
