"""A real Label Studio server for the tests: started once per session, stopped at the end.

It runs from its own virtualenv, ``.venv-labelstudio`` (``make test`` creates it: Label Studio
pins its own Django stack), on 127.0.0.1 and a free port, with a fresh data directory. A new
data directory matters: ``--enable-legacy-api-token`` only takes effect when the organisation is
created, and the database migrations run on the first start, which is most of the minute it takes.
The server is stopped by its process group, never by name. A server that does not start is a
failure, not a skip: these tests are the only check of the Label Studio commands.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import ROOT, run_command, sets, tiny_overrides

LABEL_STUDIO = ROOT / ".venv-labelstudio" / "bin" / "label-studio"
USERNAME, PASSWORD = "reviewer@example.com", "arabic-ner-tests"
LEGACY_TOKEN = "arabic-ner-test-token-0123456789"
START_TIMEOUT = 300  # seconds; about 45-75 s on 2 cores, most of it database migrations
# Environment variables the server reads; everything else it inherits could change its behaviour
# (it also reads unprefixed HOST, PORT, USERNAME, PASSWORD, DEBUG...), so it gets a minimal env.
KEPT_VARIABLES = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE", "SSL_CERT_FILE")


@dataclass
class LabelStudioServer:
    url: str
    token: str  # the admin's legacy token
    log: Path
    process: subprocess.Popen

    def client(self, key: str | None = None):
        from label_studio_sdk import LabelStudio

        return LabelStudio(base_url=self.url, api_key=key or self.token)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def label_studio_booting(tmp_path_factory):
    """The server process, just started: it boots while other fixtures (the tiny model) work."""
    if not LABEL_STUDIO.exists():
        pytest.fail(f"{LABEL_STUDIO} not found: run `make test` (or `make .venv-labelstudio/.installed`) to install Label Studio")
    data_dir = tmp_path_factory.mktemp("label-studio")
    port = free_port()
    env = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
    env.update(
        LABEL_STUDIO_BASE_DATA_DIR=str(data_dir),
        LATEST_VERSION_CHECK="false",  # no call to PyPI at start
        COLLECT_ANALYTICS="false",
        SENTRY_DSN="",
        FRONTEND_SENTRY_DSN="",
        # The model backend of tests/integration/test_serve.py runs on 127.0.0.1: Label Studio refuses a local
        # backend URL (ML_BLOCK_LOCAL_IP) and the webhook it creates for it (SSRF_PROTECTION_ENABLED).
        ML_BLOCK_LOCAL_IP="false",
        SSRF_PROTECTION_ENABLED="false",
    )
    log = data_dir / "server.log"
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [
                str(LABEL_STUDIO), "start", "--no-browser",
                "--internal-host", "127.0.0.1", "--port", str(port),  # --host is the public URL, not the bind address
                "--data-dir", str(data_dir),
                "--username", USERNAME, "--password", PASSWORD, "--user-token", LEGACY_TOKEN,
                "--enable-legacy-api-token",
            ],
            cwd=data_dir, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so that it can be stopped with all its children
        )
    server = LabelStudioServer(f"http://127.0.0.1:{port}", LEGACY_TOKEN, log, process)
    yield server
    _stop(process)


@pytest.fixture(scope="session")
def label_studio(label_studio_booting) -> LabelStudioServer:
    """The server, answering ``/health``."""
    server = label_studio_booting
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"Label Studio exited with status {server.process.returncode} while starting:\n{server.log_tail()}")
        # Label Studio moves to another port when the one asked for was taken meanwhile; it says where.
        started = re.search(r"Starting development server at (http://[\d.]+:\d+)/", server.log.read_text(errors="replace"))
        if started:
            server.url = started.group(1)
        try:
            with urllib.request.urlopen(server.url + "/health", timeout=5) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(1)
    pytest.fail(f"Label Studio did not answer {server.url}/health within {START_TIMEOUT} s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)


@pytest.fixture(scope="session")
def personal_access_token(label_studio) -> str:
    """The admin's personal access token (Label Studio allows one per user), made through the API."""
    return label_studio.client().tokens.create().token


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, label_studio_booting) -> Path:
    """A 1-layer model trained for one epoch: its predictions are poor but real. (It asks for the
    server only so that Label Studio boots while the model trains.)"""
    model_dir = tmp_path_factory.mktemp("ls-model") / "tiny"
    overrides = tiny_overrides(**{"num_train_epochs": 1, "scratch.num_hidden_layers": 1})
    result = run_command(
        "train", "--config", "configs/tiny.yaml", "--train", "annotations/corpus.json",
        "--output-dir", str(model_dir), *sets(*overrides),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return model_dir
