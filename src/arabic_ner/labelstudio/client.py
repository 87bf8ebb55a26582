"""Talking to a Label Studio server: projects, tasks with predictions, exports of the reviewed
annotations, and UTF-16 offsets from older frontends. The commands ``arabic-ner push``, ``pull``
and ``score`` (:mod:`arabic_ner.cli`) are built on it.

The server and the key come from the environment only, never from a file or an argument:
LABEL_STUDIO_URL (e.g. http://localhost:8080) and LABEL_STUDIO_API_KEY (Label Studio's
Account & Settings page: a personal access token, or a legacy token where the organisation
allows them). The key is never printed.

Offsets are code points into data.text, as everywhere in arabic_ner. Label Studio 1.23's Text tag
counts code points too (its frontend converts from the browser's UTF-16 units), so spans are sent
as they are. Older frontends stored UTF-16 units: pull converts a span whose value.text only matches
when its offsets are read as UTF-16 units.
"""

from __future__ import annotations

import copy
import json
import os
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence
from urllib.parse import urlparse
from xml.sax.saxutils import quoteattr

from ..core.colours import type_colours
from ..core.document import Span
from ..core.problems import Problems, UserError
from ..data.files import write_whole
from ..data.labelstudio_json import FROM_NAME, TO_NAME, choose_annotation, prediction_record, result_spans

URL_VARIABLE, KEY_VARIABLE = "LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"
IMPORT_BATCH = 100


# ---------------------------------------------------------------- offsets

def code_point_to_utf16(text: str, offset: int) -> int:
    """The UTF-16 unit offset of code point ``offset``: every character above U+FFFF counts two.

    >>> code_point_to_utf16("🇮🇶 كركوك", 3)   # a flag is two code points, four UTF-16 units
    5
    """
    return offset + sum(1 for c in text[:offset] if ord(c) > 0xFFFF)


def utf16_to_code_point(text: str, offset: int) -> int | None:
    """The code point offset of UTF-16 unit ``offset``; ``None`` if it falls inside a surrogate pair
    or beyond the text.

    >>> utf16_to_code_point("🇮🇶 كركوك", 5)
    3
    """
    units = 0
    for index, c in enumerate(text):
        if units == offset:
            return index
        units += 2 if ord(c) > 0xFFFF else 1
        if units > offset:
            return None
    return len(text) if units == offset else None


def fix_utf16_offsets(task: dict) -> int:
    """Convert, in place, the ``labels`` spans of ``task``'s annotations whose ``value.text`` matches
    ``data.text`` only when their offsets are read as UTF-16 units. Returns how many were converted."""
    text = (task.get("data") or {}).get("text")
    if not isinstance(text, str):
        return 0
    converted = 0
    for annotation in task.get("annotations") or []:
        for item in annotation.get("result") or []:
            value = item.get("value") if isinstance(item, dict) and item.get("type") == "labels" else None
            if not value:
                continue
            start, end, expected = value.get("start"), value.get("end"), value.get("text")
            if not (isinstance(start, int) and isinstance(end, int) and isinstance(expected, str)):
                continue
            if text[start:end] == expected:
                continue
            new_start, new_end = utf16_to_code_point(text, start), utf16_to_code_point(text, end)
            if new_start is not None and new_end is not None and text[new_start:new_end] == expected:
                value["start"], value["end"] = new_start, new_end
                converted += 1
    return converted


# ---------------------------------------------------------------- labeling config

def labeling_config(labels: Sequence[str]) -> str:
    """The labeling config for ``labels``, shaped like annotations/labeling-config.xml."""
    lines = [
        "<View>",
        "  <!-- Built by arabic_ner.labelstudio from the model's id2label. Character granularity (no",
        '       granularity="word"): spans must be able to start after a proclitic, e.g. لداعش -> داعش. -->',
        f"  <Labels name={quoteattr(FROM_NAME)} toName={quoteattr(TO_NAME)}>",
        *(
            f"    <Label value={quoteattr(label)} background={quoteattr(colour)}/>"
            for label, colour in type_colours(labels).items()
        ),
        "  </Labels>",
        f'  <Text name={quoteattr(TO_NAME)} value="$text"/>',
        "</View>",
    ]
    return "\n".join(lines) + "\n"


def config_labels(config: str, where: str) -> list[str]:
    """The label values of the ``<Labels name="label" toName="text">`` tag of a labeling config."""
    try:
        root = ET.fromstring(config)
    except ET.ParseError as exc:
        raise UserError(f"{where}: its labeling config is not valid XML ({exc})") from None
    texts = [e for e in root.iter("Text") if e.get("name") == TO_NAME]
    tags = [e for e in root.iter("Labels") if e.get("name") == FROM_NAME and e.get("toName") == TO_NAME]
    if not texts or not tags:
        raise UserError(
            f'{where}: its labeling config has no <Labels name="{FROM_NAME}" toName="{TO_NAME}"> over a '
            f'<Text name="{TO_NAME}">; arabic_ner reads and writes spans under these names '
            "(see annotations/labeling-config.xml): fix the config or use another project"
        )
    return [label.get("value") for label in tags[0].iter("Label") if label.get("value")]


# ---------------------------------------------------------------- connection

@dataclass
class Server:
    """A connected Label Studio client and the URL it talks to (never the key)."""

    client: object
    url: str

    def link(self, project_id: int) -> str:
        return f"{self.url}/projects/{project_id}/data"


def connect() -> Server:
    """A client for the server in LABEL_STUDIO_URL with the key in LABEL_STUDIO_API_KEY, checked
    with one request so that a wrong URL or key fails here, with one line that says what to fix.

    The SDK tells the two kinds of key apart: a personal access token is a JWT refresh token, which
    it exchanges at /api/token/refresh/ for short-lived access tokens sent as ``Bearer``; any other
    key is a legacy token, sent as ``Token``.
    """
    url, key = os.environ.get(URL_VARIABLE, "").strip(), os.environ.get(KEY_VARIABLE, "").strip()
    if not url or not key:
        missing = " and ".join(name for name, value in ((URL_VARIABLE, url), (KEY_VARIABLE, key)) if not value)
        raise UserError(
            f"{missing} not set: export {URL_VARIABLE}=http://localhost:8080 (where Label Studio runs) and "
            f"{KEY_VARIABLE}=<your token> (Label Studio: Account & Settings > Personal Access Token)"
        )
    parsed = urlparse(url)
    shown = redacted(url)  # what messages and links show: never a password in the URL
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UserError(f"{URL_VARIABLE}={shown!r} is not an http(s) URL; set it to e.g. http://localhost:8080")
    url, shown = url.rstrip("/"), shown.rstrip("/")
    from label_studio_sdk import LabelStudio

    with server_errors(shown, "checking the API key"):
        # The trailing slash keeps a path prefix (http://host/ls/) when the SDK joins
        # api/token/refresh/ onto the URL with urljoin.
        client = LabelStudio(base_url=url + "/", api_key=key)
        client.users.whoami()
    return Server(client, shown)


def redacted(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part replaced by ``***``."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    return parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)).geturl()


class NotFound(UserError):
    """A 404 from Label Studio: the caller knows what was missing and says so."""


@contextmanager
def server_errors(url: str, doing: str) -> Iterator[None]:
    """Turn what the SDK raises into one-line UserErrors (never showing headers or the key)."""
    import httpx
    from label_studio_sdk.core.api_error import ApiError

    try:
        yield
    except httpx.RequestError as exc:
        raise UserError(
            f"cannot reach Label Studio at {url} ({type(exc).__name__}: {str(exc) or 'no answer'}); "
            f"start it (label-studio start) or fix {URL_VARIABLE}"
        ) from None
    except json.JSONDecodeError:  # the SDK's token refresh reads any answer as JSON
        raise UserError(f"{url} did not answer like Label Studio (not JSON); is {URL_VARIABLE} the address of Label Studio?") from None
    except ApiError as exc:
        detail = _detail(exc.body)
        if isinstance(exc.body, str) and exc.body.lstrip().startswith("<"):
            detail = f"an HTML page, not Label Studio's API; is {URL_VARIABLE} the address of Label Studio?"
        if exc.status_code == 401:
            raise UserError(
                f"Label Studio at {url} refused {KEY_VARIABLE} (401: {detail}); copy a valid token from "
                "Account & Settings > Personal Access Token (a legacy token works only where the "
                "organisation enables legacy tokens)"
            ) from None
        if exc.status_code == 404:
            raise NotFound(f"Label Studio at {url} answered 404 while {doing}: {detail}") from None
        if exc.status_code == 403:
            raise UserError(f"Label Studio at {url} refused {doing} to this user (403: {detail}); ask an administrator") from None
        raise UserError(f"Label Studio at {url} answered {exc.status_code} while {doing}: {detail}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # the SDK could not read the answer into its models
        raise UserError(f"Label Studio at {url} answered {doing} with something that is not Label Studio's API "
                        f"({type(exc).__name__}); is {URL_VARIABLE} the address of Label Studio, of a version the SDK knows?") from None


def _detail(body) -> str:
    """What Label Studio said: ``detail``, and which field was wrong for a validation error."""
    if isinstance(body, dict) and (body.get("detail") or body.get("validation_errors")):
        errors = body.get("validation_errors")
        parts = [str(body.get("detail") or "")] + ([json.dumps(errors, ensure_ascii=False)] if errors else [])
        body = " ".join(p for p in parts if p)
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    text = " ".join(text.split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _as_dict(item) -> dict:
    """SDK models and plain dicts alike, as plain JSON dicts."""
    return item if isinstance(item, dict) else item.model_dump(mode="json")


# ---------------------------------------------------------------- projects

def find_project(server: Server, ref: str):
    """The project with id ``ref`` (all digits) or with exactly the title ``ref``; ``None`` for a
    title that no project has. An unknown id is an error that lists the projects there are."""
    client = server.client
    if ref.strip().isdigit():
        try:
            with server_errors(server.url, f"reading project {ref}"):
                return client.projects.get(id=int(ref))
        except NotFound:
            raise UserError(f"no project {ref.strip()} in Label Studio at {server.url}; {_project_list(server)}") from None
    with server_errors(server.url, "listing projects"):
        matches = [p for p in client.projects.list(title=ref) if p.title == ref]
        if len(matches) > 1:
            raise UserError(
                f"{len(matches)} projects in Label Studio at {server.url} are titled {ref!r} "
                f"(ids {', '.join(str(i) for i in sorted(p.id for p in matches))}); give --project the id"
            )
        return client.projects.get(id=matches[0].id) if matches else None


def _project_list(server: Server) -> str:
    with server_errors(server.url, "listing projects"):
        projects = list(server.client.projects.list())
    if not projects:
        return "there are no projects there yet (push creates one)"
    shown = ", ".join(f"{p.id} {p.title!r}" for p in projects[:10])
    return f"the projects are: {shown}{', ...' if len(projects) > 10 else ''}"


def require_project(server: Server, ref: str):
    project = find_project(server, ref)
    if project is None:
        raise UserError(f"no project titled {ref!r} in Label Studio at {server.url}; {_project_list(server)}")
    return project


def project_tasks(server: Server, project_id: int) -> Iterator[dict]:
    """Every task of a project, with its annotations and predictions, page by page."""
    with server_errors(server.url, f"listing the tasks of project {project_id}"):
        for task in server.client.tasks.list(project=project_id, fields="all", page_size=100):
            yield _as_dict(task)


# ---------------------------------------------------------------- push

@dataclass
class Known:
    task_id: int | None  # None: queued in this run, not imported yet
    text: str
    versions: set = field(default_factory=set)


@dataclass
class PushReport:
    """What push did with each document, by outcome (lists of document ids)."""

    new: list = field(default_factory=list)
    prediction_added: list = field(default_factory=list)
    already_there: list = field(default_factory=list)
    text_changed: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)  # their errors, not their ids


def project_for(server: Server, ref: str, labels: Sequence[str], version: str) -> tuple[object, bool]:
    """The project ``ref`` (id or title), and whether it was created now: with a labeling config for
    ``labels`` when no project has that title. An existing project must already declare every label."""
    project = find_project(server, ref)
    if project is None:
        with server_errors(server.url, "creating the project"):
            project = server.client.projects.create(title=ref, label_config=labeling_config(labels), model_version=version)
        return project, True
    where = f"project {project.id} {project.title!r}"
    missing = [label for label in labels if label not in config_labels(project.label_config, where)]
    if missing:
        raise UserError(
            f"{where}: its labeling config lacks the label(s) {', '.join(missing)} that the model predicts; "
            "add them in the project's Settings > Labeling Interface, or push to a new project"
        )
    return project, False


def known_documents(server: Server, project_id: int) -> dict[str, Known]:
    """The project's tasks by ``data.doc_id``: their ids, texts and prediction model versions."""
    known: dict[str, Known] = {}
    for task in project_tasks(server, project_id):
        doc_id = (task.get("data") or {}).get("doc_id")
        if doc_id is not None:
            versions = {p.get("model_version") for p in task.get("predictions") or [] if isinstance(p, dict)}
            known.setdefault(str(doc_id), Known(task["id"], task["data"].get("text"), versions))
    return known


def import_predictions(server: Server, project, tagged: Iterable, version: str, batch: int = IMPORT_BATCH,
                       known: dict[str, Known] | None = None) -> PushReport:
    """Import ``tagged`` (documents whose ``spans`` are predictions, with a document score) into
    ``project``, ``batch`` tasks or predictions per request, matching tasks on ``data.doc_id``
    (``known``: the project's :func:`known_documents`, listed here when not given):

    * a new document becomes a task holding this prediction;
    * a known document with the same text gets this prediction added, unless its task already
      has one from ``version``;
    * a known document whose text changed is left alone (its offsets would not fit the task).
    """
    client, report = server.client, PushReport()
    known = known_documents(server, project.id) if known is None else known

    new_tasks, new_predictions = [], []

    def flush() -> None:
        with server_errors(server.url, f"importing into project {project.id}"):
            if new_tasks:
                client.projects.import_tasks(id=project.id, request=new_tasks)
            if new_predictions:
                client.projects.import_predictions(id=project.id, request=new_predictions)
        new_tasks.clear()
        new_predictions.clear()

    for item in tagged:
        doc, doc_score = item.document, item.score
        if getattr(doc, "error", None):  # an input that could not be read
            report.unreadable.append(doc.error)  # it names the file and the place
            continue
        prediction = prediction_record(doc, doc_score, version)
        seen = known.get(doc.id)
        if seen is None:
            new_tasks.append({"data": {"text": doc.text, "doc_id": doc.id}, "predictions": [prediction]})
            known[doc.id] = Known(None, doc.text, {version})
            report.new.append(doc.id)
        elif seen.text != doc.text:
            report.text_changed.append(doc.id)
        elif version in seen.versions:
            report.already_there.append(doc.id)
        else:
            new_predictions.append({"task": seen.task_id, **prediction})
            seen.versions.add(version)
            report.prediction_added.append(doc.id)
        if len(new_tasks) + len(new_predictions) >= batch:
            flush()
    flush()
    return report


# ---------------------------------------------------------------- pull

@dataclass
class Export:
    """A project's completed annotations, as a Label Studio JSON export that train.py reads."""

    tasks: list = field(default_factory=list)  # tasks with their non-cancelled annotations
    unlabeled: list = field(default_factory=list)  # ids of tasks with no annotation
    skipped: list = field(default_factory=list)  # ids of tasks whose annotations were all cancelled
    converted: int = 0  # spans whose UTF-16 offsets were turned into code points

    def write(self, path: Path) -> None:
        write_whole(path, json.dumps(self.tasks, ensure_ascii=False, indent=1) + "\n")


def export_annotated(server: Server, project_id: int, where: str) -> Export:
    """Every task of the project that has a completed, non-cancelled annotation, offsets in code points."""
    with server_errors(server.url, f"exporting {where}"):
        tasks = server.client.projects.exports.as_json(project_id)
    export = Export()
    for task in tasks:
        annotations = task.get("annotations") or []
        usable = [a for a in annotations if not a.get("was_cancelled")]
        if not usable:
            (export.skipped if annotations else export.unlabeled).append(str(task.get("id")))
            continue
        task["annotations"] = usable
        export.converted += fix_utf16_offsets(task)
        export.tasks.append(task)
    return export


def reviewed_project(server: Server, ref: str):
    """The project ``ref`` (which must exist), how messages name it, and its labels."""
    project = require_project(server, ref)
    where = f"project {project.id} {project.title!r}"
    return project, where, config_labels(project.label_config, where)


# ---------------------------------------------------------------- score

@dataclass
class ScoredTasks:
    """The tasks ``score`` compares: for each, the reviewed spans and the predicted ones."""

    gold: list[list[Span]] = field(default_factory=list)
    pred: list[list[Span]] = field(default_factory=list)
    unreviewed: int = 0  # tasks without a completed annotation
    unpredicted: int = 0  # tasks without a prediction from the scored model version


def scored_tasks(tasks: Iterable[dict], version: str, labels: Sequence[str], where: str, problems: Problems) -> ScoredTasks:
    """Pair each task's chosen annotation with its newest prediction from ``version``. Both are read
    as train.py reads annotations: a span that cannot be read is logged in ``problems``, naming
    the task and the span, and left out of the scores."""
    out = ScoredTasks()
    for task in tasks:
        annotation = choose_annotation(task.get("annotations") or [])
        predictions = [p for p in task.get("predictions") or [] if p.get("model_version") == version]
        if annotation is None:
            out.unreviewed += 1
            continue
        if not predictions:
            out.unpredicted += 1
            continue
        newest = max(predictions, key=lambda p: (str(p.get("created_at") or ""), p.get("id") or 0))
        data = task.get("data") or {}
        # both results through the UTF-16 check, on copies: the caller's tasks stay as they were
        both = {"data": data, "annotations": [{"result": copy.deepcopy(r.get("result") or [])} for r in (annotation, newest)]}
        fix_utf16_offsets(both)
        text = data.get("text") if isinstance(data.get("text"), str) else ""
        here = f"{where}: task {task.get('id')}"
        gold, pred = (a["result"] for a in both["annotations"])
        out.gold.append(result_spans(gold, text, labels, f"{here}: annotation {annotation.get('id')}", problems))
        out.pred.append(result_spans(pred, text, labels, f"{here}: prediction {newest.get('id')} of {version}", problems))
    return out
