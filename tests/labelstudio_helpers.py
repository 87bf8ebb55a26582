"""Driving the real Label Studio server of ``labelstudio_server.py`` and the model backend, as a user and
an annotator would: projects, tasks and annotations through Label Studio's API, and ``arabic-ner serve``
started in its own process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from arabic_ner.core.document import Document, Span
from arabic_ner.core.problems import Problems
from arabic_ner.data.inputs import iter_input
from arabic_ner.data.labelstudio_json import read_annotations, result_item
from arabic_ner.labelstudio.client import labeling_config

from helpers import ARABIC_NER, ROOT
from labelstudio_server import free_port

LABELS = ["LOC", "ORG", "WEAPON", "COUNT", "DATE"]


RAW = ROOT / "data" / "raw"
CONFIG = labeling_config(LABELS)


def project_id(server, title: str) -> int:
    return next(p.id for p in server.client().projects.list(title=title) if p.title == title)


def tasks_of(server, project: int) -> list[dict]:
    return [t.model_dump(mode="json") for t in server.client().tasks.list(project=project, fields="all")]


def annotate(server, task: dict, spans: list[Span], **fields) -> None:
    """Submit an annotation the way the labeling screen does."""
    doc = Document(task["data"].get("doc_id", str(task["id"])), task["data"]["text"], spans)
    result = [result_item(doc, span, i) for i, span in enumerate(spans)]
    server.client().annotations.create(id=task["id"], result=result, was_cancelled=False, lead_time=12.5, **fields)


def gold_documents() -> dict[str, Document]:
    return {d.id: d for d in read_annotations(ROOT / "annotations" / "corpus.json", LABELS, Problems())}


@dataclass
class RunningBackend:
    url: str
    log: Path
    process: subprocess.Popen
    models_dir: Path
    auth: tuple[str, str] | None = None  # the user and password it was started with

    def headers(self) -> dict:
        import base64

        return {"Authorization": "Basic " + base64.b64encode(":".join(self.auth).encode()).decode()} if self.auth else {}

    def health(self) -> dict:
        with urllib.request.urlopen(urllib.request.Request(self.url + "/health", headers=self.headers()), timeout=10) as answer:
            return json.loads(answer.read())

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def start_backend(label_studio, model: Path, work: Path, *extra: str, command: tuple[str, ...] = (str(ARABIC_NER),),
                  env: dict | None = None, cwd: Path = ROOT, auth: tuple[str, str] | None = None) -> RunningBackend:
    """``arabic-ner serve`` as a user starts it (``command``, in ``cwd``), with ``label_studio``'s URL and key
    in its environment (none of either when it is None), and ``auth``'s user and password as
    BASIC_AUTH_USER and BASIC_AUTH_PASS (none of either without it)."""
    port = free_port()
    unset = ("BASIC_AUTH_USER", "BASIC_AUTH_PASS", "LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY")
    env = {k: v for k, v in (os.environ if env is None else env).items() if k not in unset}
    if label_studio is not None:
        env.update(LABEL_STUDIO_URL=label_studio.url, LABEL_STUDIO_API_KEY=label_studio.token)
    if auth:
        env.update(BASIC_AUTH_USER=auth[0], BASIC_AUTH_PASS=auth[1])
    log = work / "backend.log"
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [*command, "serve", "--model", str(model), "--port", str(port), "--models-dir", str(work / "models"), *extra],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    backend = RunningBackend(f"http://127.0.0.1:{port}", log, process, work / "models", auth)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the backend exited with status {process.returncode}:\n{backend.log_tail()}")
        try:
            backend.health()
            return backend
        except OSError:
            time.sleep(0.5)
    stop(backend)
    pytest.fail(f"the backend did not answer within 120 s:\n{backend.log_tail()}")


def stop(backend: RunningBackend) -> None:
    if backend.process.poll() is None:
        os.killpg(backend.process.pid, signal.SIGTERM)
        backend.process.wait(timeout=30)


def connected_project(label_studio, backend, title: str, **connect):
    """A project whose tasks are the five articles, with the backend connected under Settings > Model
    (``connect``: more of the Connect Model dialog's fields, such as its basic authentication)."""
    client = label_studio.client()
    project = client.projects.create(title=title, label_config=CONFIG)
    client.projects.import_tasks(id=project.id, request=[{"data": {"text": d.text, "doc_id": d.id}} for d in iter_input(RAW)])
    ml = client.ml.create(project=project.id, url=backend.url, title="arabic-ner", **connect)
    return project, ml


def retrieve_predictions(label_studio, project_id: int) -> None:
    """Label Studio's Data Manager action "Retrieve predictions", on every task."""
    label_studio.client().actions.create(id="retrieve_tasks_predictions", project=project_id, selected_items={"all": True, "excluded": []})


def post(backend: RunningBackend, path: str, body: bytes, headers: dict | None = None) -> tuple[int, str]:
    """The status of a POST to the running backend, and its ``error`` ("" when there is none); with
    the backend's credentials unless ``headers`` says otherwise."""
    request = urllib.request.Request(backend.url + path, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **(backend.headers() if headers is None else headers)})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read()).get("error", "")
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())["error"]
