"""A Label Studio model backend: predictions when tasks open or are imported, training from Label Studio.

    export LABEL_STUDIO_URL=http://localhost:8080 LABEL_STUDIO_API_KEY=...   # only needed for training
    arabic-ner serve --model models/tiny                                    # http://127.0.0.1:9090

Then in Label Studio: the project's Settings > Model > Connect Model, URL http://127.0.0.1:9090
(Label Studio refuses local addresses unless it runs with ML_BLOCK_LOCAL_IP=false).

It speaks Label Studio 1.23's model-backend protocol (label_studio/ml/api_connector.py):

GET  /health, /    {"status": "UP", "model_version", "training"}
POST /setup        checks the project's labeling config; answers {"model_version"}
POST /predict      {"tasks": [...], "label_config"} -> {"results": [one prediction per task]}, each
                   exactly what `arabic-ner push` sends: the same Tagger, spans
                   exact to the character, a score per span and per task, the model version
GET  /versions     the model versions this backend has served
POST /webhook      {"action": "START_TRAINING", "project": {"id", ...}} (the project's Model >
                   Start Training button): the project's completed annotations are exported as `pull`
                   does and read with train's reader (a span it cannot read makes the answer a 422
                   naming it); arabic-ner train then runs in the background with the served model's recipe
                   (its training_config.yaml, or --train-config) and writes a new model directory
                   whole under --models-dir. Predictions switch to it when it is done, and /setup
                   reports its model version, which Label Studio shows as the model's version under
                   Settings > Model. A failed training leaves the running model serving; /health says
                   why it failed.
                   With --train-every N, ANNOTATION_CREATED, ANNOTATIONS_CREATED and
                   ANNOTATION_UPDATED events (the webhook Label Studio makes for a connected model
                   sends them) count the project's submitted annotations; the Nth starts the same
                   training. At most one training runs and at most one waits: events during a
                   training count towards the next one, and N of them queue it. Other events are
                   acknowledged and ignored.

With BASIC_AUTH_USER and BASIC_AUTH_PASS in its environment, every request must carry them (HTTP
basic authentication, as Label Studio's Connect Model dialog sends them); a request without them
gets a 401 and nothing runs, except that GET /health and / answer {"status": "UP"} alone, for
a load balancer's probe. The Label Studio URL and key, and the credentials, come from the
environment only and are never printed. The backend binds to 127.0.0.1 unless --host says
otherwise. A malformed request gets a 4xx answer whose "error" is one line saying what was wrong.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..core.problems import Problems, UserError

log = logging.getLogger("arabic_ner.serve")
TRAIN_EVENTS = ("START_TRAINING",)
ANNOTATION_EVENTS = ("ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED")  # counted by --train-every
IGNORED_EVENTS = ("ANNOTATION_DELETED", "ANNOTATIONS_DELETED")
SERVE_CHUNK_DOCUMENTS = 16  # documents tagged per turn: a large /predict and small ones take turns at this grain
MAX_REQUEST_MB = 32
DRAIN_SECONDS = 10  # how long an announced oversized body is read (and dropped) before the 413


class BadRequest(Exception):
    """What the client sent is wrong: answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Training:
    """The latest training started from Label Studio (what /health reports)."""

    state: str = "none"  # none, running, done, failed
    project: int | None = None
    trigger: str | None = None  # "Start Training", or "N annotations" (--train-every)
    started: str | None = None
    finished: str | None = None
    model_dir: str | None = None
    model_version: str | None = None
    tasks: int = 0
    spans: int = 0
    error: str | None = None


@dataclass
class Options:
    model: str
    models_dir: Path
    train_config: Path | None
    overrides: list[str] = field(default_factory=list)
    device: str | None = None
    batch_size: int = 32
    train_every: int | None = None  # completed annotations of a project that start a training


class TurnLock:
    """A lock granted in the order it is asked for. ``threading.Lock`` is not fair: a thread that
    releases it and asks again at once usually gets it back, so a large /predict would starve the
    small ones that wait between its turns."""

    def __init__(self):
        self._turns = threading.Condition()
        self._next = self._serving = 0

    def __enter__(self):
        with self._turns:
            ticket, self._next = self._next, self._next + 1
            self._turns.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *exc):
        with self._turns:
            self._serving += 1
            self._turns.notify_all()


class Backend:
    """The served model and the training that may replace it; safe to call from several threads."""

    def __init__(self, options: Options):
        self.options = options
        self._lock = TurnLock()  # one tagging turn at a time, and the model swap between two
        self._jobs = threading.Lock()  # guards the training state below
        self._running = False  # a training is being prepared or runs
        self._waiting: tuple[int, str] | None = None  # (project, trigger) of the one training that waits
        self.annotations: dict[int, int] = {}  # per project: completed annotations since its last training
        self.training = Training()
        self.versions: list[str] = []
        self._serve(options.model)

    @property
    def waiting(self) -> int | None:
        """The project whose training waits for the one running."""
        waiting = self._waiting
        return waiting[0] if waiting else None

    def _serve(self, model_dir: str) -> None:
        from ..core.labels import entity_types
        from ..model.inference import Tagger
        from ..model.loading import model_version

        tagger = Tagger.load(model_dir, device=self.options.device, batch_size=self.options.batch_size,
                             chunk_documents=SERVE_CHUNK_DOCUMENTS)
        version = model_version(model_dir)
        with self._lock:
            self.tagger, self.model_dir, self.version = tagger, model_dir, version
            self.labels = entity_types(tagger.id2label)
            self.versions.append(version)
        log.info("serving %s (model version %s, labels %s)", model_dir, version, ", ".join(self.labels))

    # ------------------------------------------------------------ protocol

    def check_config(self, label_config, where: str) -> None:
        """The labeling config must have our Labels/Text pair and declare every label the model predicts."""
        from .client import config_labels

        if not isinstance(label_config, str) or not label_config.strip():
            raise BadRequest(400, f"{where}: no labeling config (a string of XML) in the request")
        try:
            declared = config_labels(label_config, where)
        except UserError as exc:
            raise BadRequest(422, " ".join(exc.lines)) from None
        missing = [label for label in self.labels if label not in declared]
        if missing:
            raise BadRequest(
                422,
                f"{where}: the labeling config lacks the label(s) {', '.join(missing)} that model {self.version} predicts; "
                "add them in the project's Settings > Labeling Interface",
            )

    def predict(self, tasks: list) -> list[dict]:
        """One prediction per task, in order, as push sends them.

        The tasks go through the Tagger as one stream, in turns of a few documents: between two
        turns, the other requests that wait get theirs, in the order they came. A training that
        ends meanwhile does not change the model of a request already started."""
        from ..data.labelstudio_json import prediction_record

        documents = [task_document(task, i) for i, task in enumerate(tasks)]  # every task checked before any is tagged
        with self._lock:
            stream, version = self.tagger.tag(documents), self.version
        results = []
        while True:
            with self._lock:
                tagged = next(stream, None)
            if tagged is None:
                return results
            results.append(prediction_record(tagged.document, tagged.score, version))

    # ------------------------------------------------------------ training

    def start_training(self, project: dict) -> dict:
        """The Start Training button: export and check the project's annotations now (so the answer
        can name a bad span), then train in the background; refused while a training runs."""
        project_id = project.get("id")
        if not isinstance(project_id, int) or isinstance(project_id, bool):
            raise BadRequest(400, 'the START_TRAINING event has no "project": {"id": <int>}')
        self._check_can_train()
        with self._jobs:
            if self._running:
                raise BadRequest(409, f"a training for project {self.training.project} is already running (started {self.training.started}); wait for it")
            self._running = True
        try:
            job, annotations = self._prepare_training(project_id, "Start Training")
        except BaseException:
            self._next_training()
            raise
        self._launch(job, annotations)
        return {"status": "ok", "training": Path(job.model_dir).name, "tasks": job.tasks, "spans": job.spans}

    def count_annotations(self, action: str, payload: dict) -> dict:
        """An annotation event: with --train-every N, the project's Nth completed annotation since
        its last training starts one (or queues it behind the one running). Answered at once:
        Label Studio waits only a second for a webhook."""
        if not self.options.train_every:
            return {"status": "ignored", "detail": f"{action}: this backend trains only from Start Training (serve --train-every N trains as annotators work)"}
        project_id = _event_project(payload)
        if project_id is None:
            raise BadRequest(400, f'the {action} event has no "project": {{"id": <int>}}')
        self._check_can_train()
        completed = _completed_annotations(payload.get("annotation"))
        every = self.options.train_every
        with self._jobs:
            count = self.annotations[project_id] = self.annotations.get(project_id, 0) + completed
            if count < every:
                return {"status": "counted", "project": project_id, "annotations": count, "train_every": every}
            self.annotations[project_id] = 0
            trigger = f"{count} annotations"
            if self._running:
                if self._waiting is None:
                    self._waiting = (project_id, trigger)
                    log.info("project %d: %s; a training waits for the one running", project_id, trigger)
                return {"status": "queued", "project": project_id, "annotations": count, "train_every": every}
            self._running = True
        log.info("project %d: %s since its last training; training", project_id, trigger)
        self._launch_in_background(project_id, trigger)
        return {"status": "training", "project": project_id, "annotations": count, "train_every": every}

    def _check_can_train(self) -> None:
        if self.options.train_config is None:
            raise BadRequest(409, f"{self.model_dir} has no training_config.yaml; start the backend with --train-config CONFIG to train from Label Studio")

    def _launch(self, job: Training, annotations: Path) -> None:
        self.training = job
        threading.Thread(target=self._train, args=(job, annotations), name=f"train-{Path(job.model_dir).name}", daemon=True).start()
        log.info("training %s on %d task(s), %d span(s) of project %d (%s)", job.model_dir, job.tasks, job.spans, job.project, job.trigger)

    def _launch_in_background(self, project_id: int, trigger: str) -> None:
        """Export, check and train without a client waiting: what goes wrong is the training's error."""
        self.training = Training("running", project_id, trigger, _now())  # exporting; /health says so at once

        def prepare_and_train():
            try:
                job, annotations = self._prepare_training(project_id, trigger)
            except BadRequest as exc:
                self.training = Training("failed", project_id, trigger, _now(), _now(), error=exc.message)
                log.error("training for project %d (%s) not started: %s", project_id, trigger, exc.message)
                self._next_training()
                return
            except BaseException:
                log.exception("training for project %d (%s) not started", project_id, trigger)
                self._next_training()
                return
            self._launch(job, annotations)
        threading.Thread(target=prepare_and_train, name=f"prepare-p{project_id}", daemon=True).start()

    def _next_training(self) -> None:
        """A training ended (or never started): start the one that waits, if any."""
        with self._jobs:
            waiting, self._waiting = self._waiting, None
            self._running = waiting is not None
        if waiting is not None:
            log.info("project %d: starting the training that waited (%s)", *waiting)
            self._launch_in_background(*waiting)

    def _prepare_training(self, project_id: int, trigger: str) -> tuple[Training, Path]:
        """The project's completed annotations, exported beside the models and read as train reads them."""
        from ..data.labelstudio_json import read_annotations
        from .client import connect, export_annotated

        where = f"project {project_id}"
        try:
            export = export_annotated(connect(), project_id, where)
        except UserError as exc:
            raise BadRequest(503, " ".join(exc.lines)) from None
        stem = f"{Path(self.options.model).resolve().name}-p{project_id}-{time.strftime('%Y%m%d-%H%M%S')}"
        name = next(n for n in (stem, *(f"{stem}-{k}" for k in range(2, 1000))) if not (self.options.models_dir / n).exists())
        path = self.options.models_dir / "label-studio-exports" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        export.write(path)
        problems = Problems()
        documents = read_annotations(path, self.labels, problems)
        for _, line in problems.lines():  # the first of each kind, then a count: a bad export cannot flood the log
            log.warning("%s", line)
        if problems.errors:
            lines = [str(p) for p in problems.errors]
            raise BadRequest(422, f"{len(lines)} annotation(s) of {where} cannot be read, so nothing was trained: "
                                  f"{'; '.join(lines[:3])}{'; ...' if len(lines) > 3 else ''}; fix them in Label Studio and train again")
        if not documents:
            raise BadRequest(422, f"{where} has no completed annotations to train on; annotate some tasks first")
        job = Training("running", project_id, trigger, _now(), model_dir=str(self.options.models_dir / name),
                       tasks=len(documents), spans=sum(len(d.spans) for d in documents))
        return job, path

    def _train(self, job: Training, annotations: Path) -> None:
        output = Path(job.model_dir)
        # the installed package's own command, never a path into a source tree
        command = [sys.executable, "-m", "arabic_ner", "train", "--config", str(self.options.train_config), "--train", str(annotations),
                   "--output-dir", str(output), *(arg for o in self.options.overrides for arg in ("--set", o))]
        env = {k: v for k, v in os.environ.items() if k != "LABEL_STUDIO_API_KEY"}  # training needs no key
        log_path = output.with_name(output.name + ".log")
        try:
            with open(log_path, "w", encoding="utf-8") as out:
                status = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env).returncode
            if status != 0:
                raise RuntimeError(f"arabic-ner train exited with status {status}: {_last_lines(log_path)} (full log: {log_path})")
            self._serve(str(output))
            job.model_version = self.version
            job.state, job.finished = "done", _now()
        except Exception as exc:  # a failed training must never stop the served model
            job.state, job.finished, job.error = "failed", _now(), " ".join(str(exc).split())
            log.error("training for project %s failed; still serving %s: %s", job.project, self.version, job.error)
        finally:
            self._next_training()


def _event_project(payload: dict) -> int | None:
    """The project of an annotation event: its "project" object's id, else the (first) annotation's project."""
    project, annotation = payload.get("project"), payload.get("annotation")
    if isinstance(annotation, list):
        annotation = annotation[0] if annotation else None
    for value in ((project or {}).get("id") if isinstance(project, dict) else None,
                  annotation.get("project") if isinstance(annotation, dict) else None):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _completed_annotations(annotation) -> int:
    """How many submitted (not skipped) annotations an event carries: one, or a list of them."""
    items = annotation if isinstance(annotation, list) else [annotation]
    return sum(1 for a in items if isinstance(a, dict) and not a.get("was_cancelled"))


def _last_lines(path: Path, n: int = 3) -> str:
    lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    return " | ".join(line.strip()[-300:] for line in lines[-n:])


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def task_document(task, index: int):
    """The document of a Label Studio task: its text, its id (data.doc_id as push sets it, else the task id)."""
    from ..core.document import Document
    from ..data.labelstudio_json import SURROGATE

    if not isinstance(task, dict):
        raise BadRequest(400, f"task {index} is not a JSON object")
    data = task.get("data")
    name = task.get("id", index)
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise BadRequest(400, f'task {name} has no text: a task needs "data": {{"text": "..."}}, as the labeling config\'s $text')
    doc_id = data.get("doc_id", task.get("id", index))
    for what, value in (("text", data["text"]), ("doc_id", str(doc_id))):
        if bad := SURROGATE.search(value):
            raise BadRequest(422, f"task {name}: its {what} holds a lone UTF-16 surrogate ({ascii(bad.group())} at character "
                                  f"{bad.start()}), which is not a character; fix the escape in the task's data")
    return Document(str(doc_id), data["text"])


# ---------------------------------------------------------------- HTTP

def answers(handler):
    """A Starlette endpoint around ``handler(request) -> (status, body)``: a :class:`BadRequest` is its
    4xx with one ``{"error"}`` line; any other exception a 500, logged, and the server stays up."""
    from starlette.responses import JSONResponse

    async def endpoint(request):
        try:
            status, body = await handler(request)
        except BadRequest as exc:
            log.warning("%s %s: %d %s", request.method, request.url.path, exc.status, exc.message)
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        except Exception as exc:  # a bug: answered and logged, the server stays up
            log.exception("%s %s failed", request.method, request.url.path)
            return JSONResponse({"error": f"internal error ({type(exc).__name__}: {exc}); see the backend's log"}, status_code=500)
        return JSONResponse(body, status_code=status)
    return endpoint


async def read_json_body(request, max_request_mb: float) -> dict:
    """The request's JSON object; a body over ``max_request_mb`` is a 413, one that is not a JSON object a 400."""
    limit = int(max_request_mb * 1024 * 1024)
    declared = request.headers.get("content-length", "")
    body, size = bytearray(), 0
    too_big = declared.isdigit() and int(declared) > limit

    async def read() -> None:
        # A body over the limit is read to its end and dropped, never kept: a client that is still
        # sending when the answer comes would see a reset connection instead of the 413.
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size <= limit:
                body.extend(chunk)
            else:
                body.clear()

    try:  # a client that declares more than the limit and never sends it is not waited for forever
        await asyncio.wait_for(read(), timeout=DRAIN_SECONDS if too_big else None)
    except asyncio.TimeoutError:
        pass
    if too_big:
        raise BadRequest(413, f"the request is {int(declared) / 1048576:.1f} MB; this backend takes at most {max_request_mb:g} MB (--max-request-mb)")
    if size > limit:
        raise BadRequest(413, f"the request is over {max_request_mb:g} MB, the most this backend takes (--max-request-mb)")
    try:
        payload = json.loads(body)
    except RecursionError:
        raise BadRequest(400, "the request body is nested too deeply to be a Label Studio request") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise BadRequest(400, f"the request body is not JSON{where}") from None
    if not isinstance(payload, dict):
        raise BadRequest(400, "the request body must be a JSON object")
    return payload


class Endpoints:
    """What each route of Label Studio's ML-backend protocol does with the :class:`Backend`."""

    def __init__(self, backend: Backend, max_request_mb: float):
        self.backend, self.max_request_mb = backend, max_request_mb

    async def health(self, request):
        backend = self.backend
        return 200, {"status": "UP", "model_class": "arabic_ner", "model_version": backend.version,
                     "model_dir": backend.model_dir, "training": asdict(backend.training),
                     "train_every": backend.options.train_every, "annotations": dict(backend.annotations),
                     "waiting": backend.waiting}

    async def setup(self, request):
        payload = await read_json_body(request, self.max_request_mb)
        self.backend.check_config(payload.get("schema"), _project(payload.get("project")))
        return 200, {"model_version": self.backend.version}

    async def predict(self, request):
        from starlette.concurrency import run_in_threadpool

        payload = await read_json_body(request, self.max_request_mb)
        tasks = payload.get("tasks")
        if not isinstance(tasks, list) or not tasks:
            raise BadRequest(400, 'no tasks: the request needs "tasks": [{"id": ..., "data": {"text": ...}}, ...]')
        if "label_config" in payload:
            self.backend.check_config(payload["label_config"], _project(payload.get("project")))
        results = await run_in_threadpool(self.backend.predict, tasks)
        return 200, {"results": results, "model_version": self.backend.version}

    async def versions(self, request):
        return 200, {"versions": list(self.backend.versions)}

    async def webhook(self, request):
        from starlette.concurrency import run_in_threadpool

        payload = await read_json_body(request, self.max_request_mb)
        action = payload.get("action")
        if not isinstance(action, str):
            raise BadRequest(400, 'no "action" in the webhook request')
        if action in ANNOTATION_EVENTS:
            return 200, self.backend.count_annotations(action, payload)
        if action not in TRAIN_EVENTS:
            known = action in IGNORED_EVENTS
            return 200, {"status": "ignored", "detail": f"{action}: {'not counted towards a training' if known else 'not an event this backend knows'}"}
        project = payload.get("project")
        if not isinstance(project, dict):
            raise BadRequest(400, 'the START_TRAINING event has no "project" object')
        return 201, {"status": "ok", "result": await run_in_threadpool(self.backend.start_training, project)}


class BasicAuth:
    """HTTP basic authentication in front of every route (an ASGI middleware: it answers before any
    route reads the body). Without credentials, GET /health and / answer {"status": "UP"} alone, so
    that a load balancer or a container's probe can ask whether the backend is up; everything
    else, and any request with wrong credentials, is a 401. Credentials are compared in constant
    time, as digests so that not even their length shows. (Starlette's AuthenticationMiddleware
    leaves the refusal to each route; here no route may forget it.)"""

    REALM = 'Basic realm="arabic-ner", charset="UTF-8"'

    def __init__(self, app, user: str, password: str):
        self.app = app
        self._user, self._password = _digest(user.encode()), _digest(password.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from starlette.responses import JSONResponse

        given = dict(scope["headers"]).get(b"authorization")
        if given is not None and self._accepts(given):
            return await self.app(scope, receive, send)
        method, path = scope["method"], scope["path"]
        if given is None and method in ("GET", "HEAD") and path in ("/", "/health"):
            return await JSONResponse({"status": "UP"})(scope, receive, send)
        if given is None:
            why = "no credentials"
            error = ("this backend takes requests with its user and password only (HTTP basic authentication): in Label Studio's "
                     "Connect Model dialog, turn on Use Basic Authentication and give BASIC_AUTH_USER and BASIC_AUTH_PASS")
            if path == "/webhook":
                error += ("; Label Studio's webhook to /webhook (the project's Settings > Webhooks) sends annotation events "
                          "without them unless it has the header Authorization: Basic base64(user:password)")
        else:
            why, error = "wrong credentials", "wrong user or password for this backend (HTTP basic authentication)"
        client = scope.get("client") or ("?", 0)
        log.warning("%s %s from %s: 401, %s", method, path, client[0], why)
        await JSONResponse({"error": error}, status_code=401, headers={"WWW-Authenticate": self.REALM})(scope, receive, send)

    def _accepts(self, header: bytes) -> bool:
        scheme, _, encoded = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        # both compared, always: how long the answer takes says nothing about which one was wrong
        return bool(sep) & hmac.compare_digest(_digest(user), self._user) & hmac.compare_digest(_digest(password), self._password)


def _digest(value: bytes) -> bytes:
    import hashlib

    return hashlib.sha256(value).digest()


def build_app(backend: Backend, max_request_mb: float = MAX_REQUEST_MB, credentials: tuple[str, str] | None = None):
    """The Starlette application around ``backend``; with ``credentials`` (user, password), every
    request must carry them (see :class:`BasicAuth`)."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def not_found(request, exc: HTTPException):
        return JSONResponse({"error": f"{request.method} {request.url.path}: {exc.detail}"}, status_code=exc.status_code)

    endpoints = Endpoints(backend, max_request_mb)
    routes = [
        Route("/", answers(endpoints.health), methods=["GET"]),
        Route("/health", answers(endpoints.health), methods=["GET"]),
        Route("/setup", answers(endpoints.setup), methods=["POST"]),
        Route("/predict", answers(endpoints.predict), methods=["POST"]),
        Route("/versions", answers(endpoints.versions), methods=["GET", "POST"]),
        Route("/webhook", answers(endpoints.webhook), methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found})
    return BasicAuth(app, *credentials) if credentials else app


def _project(project) -> str:
    """What a message calls the request's project: Label Studio names it ``"<id>.<created timestamp>"``."""
    return f"project {str(project).split('.', 1)[0]}" if project is not None else "the request"
