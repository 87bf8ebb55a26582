"""The tests' fixtures; what they share besides fixtures is in helpers.py, and the real Label Studio
server's fixtures in labelstudio_server.py (a plugin, so no test imports a fixture)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # never touch the Hub from a test
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from arabic_ner.cli.common import print_library_log  # noqa: E402
from arabic_ner.core.document import Document  # noqa: E402

from helpers import HARD_CASES, build_pretrained, long_document, marked, run_command, sets, tiny_overrides  # noqa: E402

pytest_plugins = ["labelstudio_server"]

# Library functions called in a test print their notes and warnings as the commands print them, so
# a test reads the same lines in process as a user sees (the library alone adds only a NullHandler:
# tests/commands/test_cli.py checks that in a fresh interpreter).
print_library_log()


@pytest.fixture
def hard_documents() -> list[Document]:
    return [marked(text, f"case-{i}") for i, text in enumerate(HARD_CASES)] + [marked(long_document(), "long")]


@pytest.fixture(scope="session")
def pretrained_dir(tmp_path_factory) -> Path:
    return build_pretrained(tmp_path_factory.mktemp("pretrained") / "bert")


@pytest.fixture(scope="session")
def one_epoch_model(tmp_path_factory) -> Path:
    """A 1-layer model trained for one epoch on the bundled annotations: poor predictions, but real ones."""
    model_dir = tmp_path_factory.mktemp("one-epoch") / "tiny"
    overrides = tiny_overrides(**{"num_train_epochs": 1, "scratch.num_hidden_layers": 1})
    result = run_command("train", "--config", "configs/tiny.yaml", "--output-dir", str(model_dir), *sets(*overrides))
    assert result.returncode == 0, result.stderr[-3000:]
    return model_dir

