"""``arabic-ner serve`` under load, started as a user starts it (the installed command, its own
process, 127.0.0.1): 20 concurrent clients mixing /predict and /health, and clients that stall.

Every answer is checked against what the same model gives in this process (``Tagger`` and
``prediction_record``, the records ``push`` sends). Speed is not asserted (bench/serve_load.py
measures it); the bounds here are generous, and only there so that a backend that serialises
everyone behind a stalled client, or hangs, fails instead of blocking the run.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

import pytest

from arabic_ner.core.document import Document
from arabic_ner.data.labelstudio_json import prediction_record
from arabic_ner.model.inference import Tagger
from arabic_ner.model.loading import model_version

from helpers import article_paragraphs
from labelstudio_helpers import CONFIG, RunningBackend, start_backend, stop

CLIENTS = 20
REQUEST_TIMEOUT = 60  # seconds for any one request: a hang fails the test instead of blocking it
LOAD_TIMEOUT = 120  # seconds for a whole load
LATENCY_BOUND = 30  # no request may take longer, stalled clients or not (a few hundred ms is typical)
STALL_TIMEOUT = 300  # the stalled clients' own socket timeout: far beyond the load, so the load cannot be waiting for it
@pytest.fixture(scope="module")
def backend(one_epoch_model, tmp_path_factory):
    # as a user starts it without Label Studio and without authentication
    running = start_backend(None, one_epoch_model, tmp_path_factory.mktemp("load"))
    yield running
    stop(running)


def payloads() -> list[list[dict]]:
    """The task lists the clients send: 1 to 3 paragraphs of the articles each, some with a doc_id,
    one with an empty text."""
    paragraphs = [p for p in article_paragraphs() if len(p.strip()) > 20]
    out, k = [], 0
    for j in range(30):
        tasks = []
        for i in range(1 + j % 3):
            task = {"id": 100 * j + i, "data": {"text": paragraphs[k % len(paragraphs)]}}
            if j % 4 == 0:
                task["data"]["doc_id"] = f"p{j}-{i}"
            tasks.append(task)
            k += 1
        out.append(tasks)
    out[5][0]["data"]["text"] = ""
    return out


PAYLOADS = payloads()


@pytest.fixture(scope="module")
def expected(one_epoch_model) -> list[list[dict]]:
    """Each payload's results as this process computes them, tagged together as the backend tags a request."""
    tagger = Tagger.load(str(one_epoch_model), batch_size=32)  # arabic-ner serve's default --batch-size
    version = model_version(one_epoch_model)
    out = []
    for tasks in PAYLOADS:
        documents = [Document(str(t["data"].get("doc_id", t["id"])), t["data"]["text"]) for t in tasks]
        out.append([prediction_record(t.document, t.score, version) for t in tagger.tag(documents)])
    assert any(r["result"] for records in out for r in records)  # else comparing them proves little
    return out


def predict_body(tasks: list[dict]) -> bytes:
    return json.dumps({"tasks": tasks, "label_config": CONFIG}, ensure_ascii=False).encode()


@dataclass
class Outcome:
    client: int
    request: int
    path: str
    payload: int | None  # index into PAYLOADS, for /predict
    seconds: float
    status: int | None = None
    body: dict | None = None
    error: str = ""  # the exception, when no answer came


def call(backend: RunningBackend, client: int, k: int) -> Outcome:
    """Request ``k`` of ``client``: a /health every third request, else a /predict of one payload."""
    port = int(backend.url.rsplit(":", 1)[1])
    health = (client + k) % 3 == 0
    payload = None if health else (client * 11 + k) % len(PAYLOADS)  # every payload, at 5 requests a client too
    start = time.monotonic()
    outcome = Outcome(client, k, "/health" if health else "/predict", payload, 0.0)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        if health:
            connection.request("GET", "/health")
        else:
            connection.request("POST", "/predict", body=predict_body(PAYLOADS[payload]), headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        outcome.status, outcome.body = answer.status, json.loads(answer.read())
    except Exception as exc:  # recorded, so the failure lists every request that went wrong
        outcome.error = f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()
        outcome.seconds = time.monotonic() - start
    return outcome


def load(backend: RunningBackend, per_client: int) -> list[Outcome]:
    """CLIENTS threads, started together, each making ``per_client`` requests one after another."""
    start_line = threading.Barrier(CLIENTS, timeout=30)
    deadline = time.monotonic() + LOAD_TIMEOUT

    def client(c: int) -> list[Outcome]:
        start_line.wait()
        # past the deadline no request starts, so a hung backend costs one REQUEST_TIMEOUT more at most
        return [call(backend, c, k) for k in range(per_client) if time.monotonic() < deadline]

    pool = ThreadPoolExecutor(max_workers=CLIENTS)
    futures = [pool.submit(client, c) for c in range(CLIENTS)]
    _, pending = wait(futures, timeout=LOAD_TIMEOUT + REQUEST_TIMEOUT)
    pool.shutdown(wait=False, cancel_futures=True)
    assert not pending, f"{len(pending)} client(s) still busy after {LOAD_TIMEOUT + REQUEST_TIMEOUT} s:\n{backend.log_tail()}"
    outcomes = [outcome for future in futures for outcome in future.result()]
    assert len(outcomes) == CLIENTS * per_client, f"{len(outcomes)} of {CLIENTS * per_client} requests made in {LOAD_TIMEOUT} s"
    return outcomes


def wrong_answers(outcomes: list[Outcome], expected: list[list[dict]], version: str) -> list[str]:
    """One line per answer that is not exactly the right one."""
    wrong = []
    for o in outcomes:
        where = f"client {o.client} request {o.request} {o.path}"
        if o.error or o.status != 200:
            wrong.append(f"{where}: {o.error or o.status} {o.body}")
        elif o.path == "/health" and (o.body["status"], o.body["model_version"]) != ("UP", version):
            wrong.append(f"{where}: {o.body}")
        elif o.path == "/predict" and (o.body["results"], o.body["model_version"]) != (expected[o.payload], version):
            wrong.append(f"{where}: payload {o.payload} answered {json.dumps(o.body, ensure_ascii=False)[:300]}")
    return wrong


def test_twenty_concurrent_clients_get_exactly_the_right_answers_and_the_backend_stays_up(backend, expected, one_epoch_model):
    outcomes = load(backend, per_client=15)  # 300 requests

    assert {o.path for o in outcomes} == {"/health", "/predict"} and len({o.payload for o in outcomes} - {None}) == len(PAYLOADS)
    wrong = wrong_answers(outcomes, expected, model_version(one_epoch_model))
    assert not wrong, f"{len(wrong)} wrong answer(s) of {len(outcomes)}:\n" + "\n".join(wrong[:10])
    assert max(o.seconds for o in outcomes) < LATENCY_BOUND
    assert backend.process.poll() is None and backend.health()["status"] == "UP"


def read_answer(sock: socket.socket) -> tuple[int, dict]:
    answer = http.client.HTTPResponse(sock)
    answer.begin()
    return answer.status, json.loads(answer.read())


def test_clients_that_stall_do_not_hold_up_the_others(backend, expected, one_epoch_model):
    """Three stalled connections stay open through a load of 20 clients: one sent its headers and half
    its body, one half its headers, one nothing. The others are answered, right and in time, and the
    half-sent request is still waiting at the end: answered right once the rest of its body comes."""
    address = ("127.0.0.1", int(backend.url.rsplit(":", 1)[1]))
    body = predict_body(PAYLOADS[1])
    half = len(body) // 2
    with socket.create_connection(address, timeout=STALL_TIMEOUT) as half_body, \
            socket.create_connection(address, timeout=STALL_TIMEOUT) as half_headers, \
            socket.create_connection(address, timeout=STALL_TIMEOUT):  # says nothing at all
        half_body.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n" % len(body) + body[:half])
        half_headers.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
        time.sleep(1)  # the backend has read what they sent and waits for more
        started = time.monotonic()
        outcomes = load(backend, per_client=5)
        took = time.monotonic() - started

        wrong = wrong_answers(outcomes, expected, model_version(one_epoch_model))
        assert not wrong, f"{len(wrong)} wrong answer(s) of {len(outcomes)}:\n" + "\n".join(wrong[:10])
        slowest = max(o.seconds for o in outcomes)
        assert slowest < LATENCY_BOUND, f"the slowest request took {slowest:.1f} s"
        assert took < LOAD_TIMEOUT < STALL_TIMEOUT
        readable, _, _ = select.select([half_body], [], [], 0)
        assert not readable, "the half-sent request was answered or dropped during the load"
        half_body.sendall(body[half:])
        assert read_answer(half_body) == (200, {"results": expected[1], "model_version": model_version(one_epoch_model)})
    assert backend.process.poll() is None and backend.health()["status"] == "UP"
