"""The Label Studio model backend (``arabic-ner serve``) under load: throughput, latency with concurrent clients, memory.

    .venv/bin/python -m bench.serve_load                                   # the full run: about 6 minutes on 2 cores
    .venv/bin/python -m bench.serve_load --tasks 50 --requests-per-client 2 --models tiny

Two models are served, each by the installed command in its own process (``python -m arabic_ner
serve``, on 127.0.0.1 and a free port, stopped by its process group at the end even on error):

- *tiny*: ``configs/tiny.yaml`` trained here in full (about 20 s), the demo's model;
- *base*: a BERT-base-size token classifier (12 layers, hidden 768) with random weights and a
  WordPiece vocabulary learnt from data/raw, built as ``bench.predict_throughput`` builds it.
  Random weights tag as fast as trained ones.

The tasks are the paragraphs of the five articles in data/raw, cycled. For each model:

1. one ``/predict`` of ``--tasks`` tasks (1,000), timed, as tasks, words and sub-word tokens per
   second. The baseline, in this process and the same run: the same engine (``Tagger.load`` with
   serve's batch size, 32) on the same tasks, with ``prediction_record`` as the backend makes them.
   The two alternate, ``--rounds`` times each (2), and the best of each counts; their ratio is what
   HTTP, JSON and the backend cost;
2. latency of single-task ``/predict`` requests from 1, 5 and 20 concurrent clients (threads, a
   new connection per request as Label Studio's ``requests`` calls make, ``--requests-per-client``
   each, no client starting a request after ``--level-seconds``): p50, p95, max and requests/s.
   The 1-client row is the baseline of the others. Then the same 5 clients, and one client
   asking ``/health``, while a ``--tasks``-task ``/predict`` runs: what a big import does to the
   annotators who open tasks at the same time;
3. the backend's memory (VmRSS from /proc/PID/status): when it first answers /health (the
   safetensors weights are mapped, not yet all read), after the big ``/predict`` rounds, at the
   end; and its peak (VmHWM).

Every answer is checked (status 200, one result per task). With BASIC_AUTH_USER and
BASIC_AUTH_PASS in the environment, the backend is started with them and every request sends
them (``Authorization: Basic``).
"""

from __future__ import annotations

import argparse
import base64
import gc
import http.client
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.predict_throughput import base_model, bench_tokenizer, paragraphs

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
START_SECONDS = 300  # loading a BERT-base model on a busy 2-core machine takes well under a minute


# ---------------------------------------------------------------- the served models


def tiny_model(work: Path) -> Path:
    """The demo's model: configs/tiny.yaml, trained in full on the bundled annotations."""
    out = work / "tiny"
    subprocess.run([sys.executable, "-m", "arabic_ner", "train", "--config", "configs/tiny.yaml", "--output-dir", str(out)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


def bert_base_model(work: Path) -> Path:
    """A BERT-base-size token classifier with random weights, saved as a model directory."""
    from arabic_ner.model.building import save_model

    tokenizer = bench_tokenizer()
    out = work / "base"
    save_model(base_model(tokenizer), tokenizer, out)
    return out


MODELS = {"tiny": tiny_model, "base": bert_base_model}


# ---------------------------------------------------------------- the backend, in its own process


def auth_headers() -> dict[str, str]:
    """Basic-auth credentials when the backend is started with BASIC_AUTH_USER and BASIC_AUTH_PASS."""
    user, password = os.environ.get("BASIC_AUTH_USER"), os.environ.get("BASIC_AUTH_PASS")
    if not (user and password):
        return {}
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")}


@dataclass
class Backend:
    port: int
    process: subprocess.Popen
    log: Path

    def call(self, method: str, path: str, body: bytes | None = None, timeout: float = 600) -> tuple[int, bytes, float]:
        """Status, body and seconds of one request, on a new connection."""
        headers = {**auth_headers(), **({"Content-Type": "application/json"} if body is not None else {})}
        start = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
        finally:
            connection.close()
        return answer.status, data, time.perf_counter() - start

    def memory(self) -> dict[str, float]:
        """VmRSS and VmHWM of the backend process, in MiB."""
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines() if ":" in line)
        return {key: int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")}

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(model: Path, work: Path):
    """``arabic-ner serve --model MODEL`` on 127.0.0.1, its own process group, up until the block ends."""
    port = free_port()
    log = work / f"serve-{model.name}.log"
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "arabic_ner", "serve", "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
             "--models-dir", str(work / "trained")],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
        )
    backend = Backend(port, process, log)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the backend exited with status {process.returncode}:\n{backend.log_tail()}")
            try:
                if backend.call("GET", "/health", timeout=10)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the backend did not answer /health within {START_SECONDS} s:\n{backend.log_tail()}")
            time.sleep(0.5)
        yield backend
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


# ---------------------------------------------------------------- the measurements


def make_tasks(n: int, offset: int = 0) -> list[dict]:
    """``n`` Label Studio tasks, the paragraphs of data/raw cycled."""
    paras = paragraphs()
    return [{"id": offset + i, "data": {"text": paras[(offset + i) % len(paras)]}} for i in range(n)]


def predict_body(tasks: list[dict], config: str) -> bytes:
    return json.dumps({"tasks": tasks, "label_config": config}, ensure_ascii=False).encode()


def check_predict(status: int, data: bytes, tasks: int) -> None:
    if status != 200:
        raise AssertionError(f"/predict answered {status}: {data[:300]!r}")
    results = json.loads(data)["results"]
    if len(results) != tasks:
        raise AssertionError(f"/predict answered {len(results)} results for {tasks} tasks")


class Engine:
    """The baseline: the backend's engine in this process (``Tagger.load`` with serve's batch size,
    ``prediction_record``) on the same tasks, without HTTP or JSON."""

    def __init__(self, model: Path, tasks: list[dict]):
        from transformers.utils import logging as transformers_logging

        from arabic_ner.core.document import Document
        from arabic_ner.core.words import split_words
        from arabic_ner.model.inference import Tagger
        from arabic_ner.model.loading import model_version

        transformers_logging.disable_progress_bar()  # "Loading weights" bars between the bench's lines
        self.tagger = Tagger.load(str(model), batch_size=32)  # arabic-ner serve's default --batch-size
        self.version = model_version(str(model))
        self.documents = [Document(str(t["id"]), t["data"]["text"]) for t in tasks]
        # the sub-word tokens the model is fed, window overlaps not counted
        self.tokens = sum(len(e.word_ids) for e in self.tagger.encoder.encode([split_words(d.text) for d in self.documents]))
        list(self.tagger.tag(self.documents[:1]))  # warm-up

    def seconds(self) -> float:
        from arabic_ner.data.labelstudio_json import prediction_record

        start = time.perf_counter()
        records = [prediction_record(t.document, t.score, self.version) for t in self.tagger.tag(self.documents)]
        seconds = time.perf_counter() - start
        assert len(records) == len(self.documents)
        return seconds


@dataclass
class Level:
    name: str
    latencies: list[float]
    wall: float
    planned: int
    errors: int
    paced: bool = False  # the client waits between requests: its rate says nothing

    def row(self, model: str) -> list[str]:
        lat = sorted(self.latencies)
        done = f"{len(lat)}" + (f" of {self.planned}" if len(lat) < self.planned else "")
        if not lat:
            return [model, self.name, done, "–", "–", "–", "–", str(self.errors)]

        p95 = lat[math.ceil(0.95 * len(lat)) - 1]  # nearest rank
        return [model, self.name, done, f"{1000 * statistics.median(lat):,.0f}", f"{1000 * p95:,.0f}", f"{1000 * lat[-1]:,.0f}",
                "–" if self.paced else f"{len(lat) / self.wall:.1f}", str(self.errors)]


def run_clients(backend: Backend, name: str, clients: int, per_client: int, send, stop_at: float) -> Level:
    """``clients`` threads, started together, each making ``per_client`` calls of ``send(backend, client, k)``
    (which raises on a wrong answer); none starts a call after ``stop_at`` (time.monotonic)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start_line = threading.Barrier(clients)

    def client(c: int) -> None:
        start_line.wait(timeout=60)
        for k in range(per_client):
            if time.monotonic() > stop_at:
                return
            try:
                seconds = send(backend, c, k)
            except Exception as exc:  # counted and shown, never hidden
                with lock:
                    errors[0] += 1
                    if errors[0] <= 3:
                        print(f"  {name}: client {c}, request {k}: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            with lock:
                latencies.append(seconds)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, range(clients)))
    return Level(name, latencies, time.perf_counter() - start, clients * per_client, errors[0])


def one_task_sender(config: str):
    paras = len(paragraphs())

    def send(backend: Backend, client: int, k: int) -> float:
        tasks = make_tasks(1, offset=(client * 7 + k) % paras)
        status, data, seconds = backend.call("POST", "/predict", predict_body(tasks, config), timeout=600)
        check_predict(status, data, 1)
        return seconds
    return send


def probe_health(backend: Backend, name: str, busy: threading.Thread) -> Level:
    """/health every 0.2 s while ``busy`` runs."""
    latencies, errors = [], 0
    start = time.perf_counter()
    while busy.is_alive():
        status, data, seconds = backend.call("GET", "/health", timeout=600)
        if status == 200 and json.loads(data)["status"] == "UP":
            latencies.append(seconds)
        else:
            errors += 1
        time.sleep(0.2)
    return Level(name, latencies, time.perf_counter() - start, len(latencies), errors, paced=True)


@dataclass
class Result:
    model: str
    parameters: float
    tasks: int
    words: int
    tokens: int
    http_seconds: float
    engine_seconds: float
    levels: list[Level]
    memory: dict[str, float]


def measure(name: str, model: Path, work: Path, args) -> Result:
    from arabic_ner.core.labels import entity_types
    from arabic_ner.labelstudio.client import labeling_config

    id2label = json.loads((model / "config.json").read_text(encoding="utf-8"))["id2label"]
    config = labeling_config(entity_types(id2label))
    weights = sum(p.stat().st_size for p in model.glob("*.safetensors")) / 4 / 1e6  # fp32
    tasks = make_tasks(args.tasks)
    big = predict_body(tasks, config)
    words = sum(len(t["data"]["text"].split()) for t in tasks)
    print(f"\n{name}: {weights:.0f}M parameters", flush=True)
    memory = {}
    with served(model, work) as backend:
        memory["started"] = backend.memory()["VmRSS"]
        check_predict(*backend.call("POST", "/predict", predict_body(make_tasks(1), config))[:2], 1)  # warm-up
        engine = Engine(model, tasks)
        http_seconds = engine_seconds = math.inf
        for r in range(args.rounds):  # alternating, the best of each: a shared machine is noisy
            print(f"{name}: one /predict of {len(tasks):,} tasks, and the engine in process on them (round {r + 1}) ...", flush=True)
            status, data, seconds = backend.call("POST", "/predict", big)
            check_predict(status, data, len(tasks))
            http_seconds = min(http_seconds, seconds)
            engine_seconds = min(engine_seconds, engine.seconds())
        tokens = engine.tokens
        del engine
        gc.collect()
        memory["after the big /predict"] = backend.memory()["VmRSS"]
        levels = []
        send = one_task_sender(config)
        for clients in (1, 5, 20):
            print(f"{name}: {clients} concurrent client(s) ...", flush=True)
            levels.append(run_clients(backend, f"{clients} client{'s' * (clients > 1)}, one task each", clients, args.requests_per_client, send,
                                      time.monotonic() + args.level_seconds))
        print(f"{name}: 5 clients and a /health probe during a {len(tasks):,}-task /predict ...", flush=True)
        done: dict = {}

        def big_predict() -> None:
            done["answer"] = backend.call("POST", "/predict", big)

        runner = threading.Thread(target=big_predict)
        runner.start()
        time.sleep(0.5)  # the big request is read and being tagged
        stop_at = time.monotonic() + args.level_seconds
        with ThreadPoolExecutor(max_workers=2) as pool:
            during = pool.submit(run_clients, backend, f"5 clients during a {len(tasks):,}-task /predict", 5, args.requests_per_client,
                                 send, stop_at)
            probe = pool.submit(probe_health, backend, f"/health every 0.2 s during a {len(tasks):,}-task /predict", runner)
            runner.join(timeout=600)
            levels += [during.result(), probe.result()]
        check_predict(*done["answer"][:2], len(tasks))
        end = backend.memory()
        memory["at the end"], memory["peak (VmHWM)"] = end["VmRSS"], end["VmHWM"]
        if backend.process.poll() is not None:
            raise SystemExit(f"the backend died under load:\n{backend.log_tail()}")
    return Result(name, weights, len(tasks), words, tokens, http_seconds, engine_seconds, levels, memory)


# ---------------------------------------------------------------- the report


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def report(results: list[Result]) -> None:
    print("\n" + table(
        ["model", "tasks (words, tokens)", "one /predict", "tasks/s", "words/s", "tokens/s", "engine in process: tasks/s", "backend / engine"],
        [[f"{r.model} ({r.parameters:.0f}M)", f"{r.tasks:,} ({r.words:,}, {r.tokens:,})", f"{r.http_seconds:.1f} s",
          f"{r.tasks / r.http_seconds:,.0f}", f"{r.words / r.http_seconds:,.0f}", f"{r.tokens / r.http_seconds:,.0f}",
          f"{r.tasks / r.engine_seconds:,.0f}", f"{100 * r.engine_seconds / r.http_seconds:.0f}%"] for r in results]))
    print("\n" + table(["model", "requests from", "requests", "p50 ms", "p95 ms", "max ms", "requests/s", "errors"],
                       [level.row(r.model) for r in results for level in r.levels]))
    keys = list(results[0].memory)
    print("\n" + table(["model", *(f"RSS {k}" if k[0].islower() else k for k in keys)],
                       [[r.model, *(f"{r.memory[k]:,.0f} MiB" for k in keys)] for r in results]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="tiny,base", help="which models, comma-separated: tiny, base (default both)")
    parser.add_argument("--tasks", type=int, default=1000, help="tasks in the big /predict (default 1,000)")
    parser.add_argument("--requests-per-client", type=int, default=10, help="single-task requests each client makes (default 10)")
    parser.add_argument("--level-seconds", type=float, default=180, help="no client starts a request later than this into a level (default 180)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of the big /predict and the engine; the best counts (default 2)")
    parser.add_argument("--tiny", metavar="DIR", help="serve this model as tiny instead of training configs/tiny.yaml")
    args = parser.parse_args()
    # a SIGTERM (timeout, a closed terminal) unwinds like Ctrl-C, so the backend is stopped and the work folder removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    if unknown := [n for n in names if n not in MODELS]:
        parser.error(f"--models: unknown {', '.join(unknown)}; choose from {', '.join(MODELS)}")

    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.machine())
    print(f"machine: {cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"auth {'on' if auth_headers() else 'off'}, load average {os.getloadavg()[0]:.2f} (1 min)")
    paras = paragraphs()
    lengths = [len(p.split()) for p in paras]
    print(f"tasks: the {len(paras)} paragraphs of data/raw cycled, {min(lengths)} to {max(lengths)} words "
          f"(median {statistics.median(lengths):.0f}, mean {statistics.mean(lengths):.0f})")
    results = []
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        work = Path(tmp)
        for name in names:
            model = Path(args.tiny) if name == "tiny" and args.tiny else MODELS[name](work)
            results.append(measure(name, model, work, args))
    report(results)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (1 min); other processes' use of the 2 cores skews every number")


if __name__ == "__main__":
    main()
