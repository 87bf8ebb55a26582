"""The ``arabic-ner`` command, the old ways in (top-level scripts, ``python -m arabic_ner.X``), what the
library's logging adds to an application, and the library's layers."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from arabic_ner.cli import COMMANDS

from helpers import ROOT, run_command, run_script

PACKAGE = ROOT / "src" / "arabic_ner"
LAYERS = ["core", "data", "reports", "model", "evaluation", "training", "labelstudio", "cli"]  # each imports only those before it
OLD_ENTRY_POINTS = {"serve.py", "selection.py", "__main__.py", "labelstudio/__main__.py"}  # they only run cli


def test_the_command_lists_its_subcommands():
    result = run_command("--help")
    assert result.returncode == 0
    assert [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")] == list(COMMANDS)
    assert run_command("--version").stdout.startswith("arabic-ner 0.")


def test_no_subcommand_or_an_unknown_one_is_one_line_and_status_2():
    assert run_command().returncode == 2
    result = run_command("tag", "--model", "m")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == ("arabic-ner: 'tag' is not a subcommand; choose one of " + ", ".join(COMMANDS) + " (arabic-ner --help)")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_subcommand_has_its_help_under_its_own_name(name):
    result = run_command(name, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: arabic-ner {name} ")


def test_python_m_arabic_ner_is_the_same_command():
    result = run_script("-m", "arabic_ner", "predict", "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: arabic-ner predict ")


@pytest.mark.parametrize("script", ["train", "evaluate", "predict", "pretrain"])
def test_the_top_level_scripts_are_the_subcommands(script):
    result = run_script(f"{script}.py", "--help")
    assert result.returncode == 0 and result.stdout.startswith(f"usage: arabic-ner {script} ")


@pytest.mark.parametrize("old, new", [("arabic_ner.serve", "serve"), ("arabic_ner.selection", "select")])
def test_the_old_module_entry_points_run_the_new_subcommands(old, new):
    result = run_script("-m", old, "--help")
    assert result.returncode == 0 and result.stdout.startswith(f"usage: arabic-ner {new} ")


def test_the_old_label_studio_entry_point_runs_push_pull_and_score(tmp_path):
    for name in ("push", "pull", "score"):
        result = run_script("-m", "arabic_ner.labelstudio", name, "--help")
        assert result.returncode == 0 and result.stdout.startswith(f"usage: arabic-ner {name} ")
    result = run_script("-m", "arabic_ner.labelstudio", "train")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and "arabic-ner push|pull|score" in result.stderr


def test_a_script_and_the_command_print_the_same_lines(tmp_path):
    """The library's notes and warnings reach the user through the command's own handler: ``--check``
    on the bundled annotations prints the same through ``train.py`` and ``arabic-ner train``."""
    args = ["--config", "configs/tiny.yaml", "--check", "--map", "LOC=ORG", "--train", "annotations/corpus.json"]
    by_command, by_script = run_command("train", *args), run_script("train.py", *args)
    assert by_command.returncode == by_script.returncode == 0, by_command.stderr
    assert (by_command.stdout, by_command.stderr) == (by_script.stdout, by_script.stderr)
    assert "check: 0 error(s)" in by_command.stdout


# ---------------------------------------------------------------- start-up

def test_predict_imports_nothing_that_tagging_does_not_need():
    """predict's start-up is mostly torch's and transformers' imports, as the pipeline's is; what it
    adds is kept out: the config validation (pydantic), training, evaluation, plots, the exporter."""
    code = """
import sys
from arabic_ner.cli import predict
from arabic_ner.data import inputs, writers
from arabic_ner.model import inference, loading
print(sorted(m for m in ("pydantic", "yaml", "onnx", "onnxruntime", "torch", "transformers", "accelerate", "datasets",
                         "seqeval", "matplotlib", "arabic_ner.core.config", "arabic_ner.training") if m in sys.modules))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "[]"  # torch and transformers come with the model, as in the pipeline


# ---------------------------------------------------------------- logging as a library does it

def test_importing_the_library_adds_only_a_null_handler():
    """An application that imports arabic_ner (every module of it) keeps control of its own logs."""
    code = """
import importlib, logging, pkgutil
import arabic_ner
names = [m.name for m in pkgutil.walk_packages(arabic_ner.__path__, "arabic_ner.") if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
logger = logging.getLogger("arabic_ner")
handlers = [type(h).__name__ for name in ["arabic_ner", *names] for h in logging.getLogger(name).handlers]
print(len(names), handlers, logger.propagate, logger.level, logging.getLogger().handlers)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    count, rest = result.stdout.split(" ", 1)
    assert int(count) > 30  # every module was imported
    assert rest.strip() == "['NullHandler'] True 0 []"


def test_an_application_sees_the_library_notes_through_its_own_logging(tmp_path):
    code = """
import logging
logging.basicConfig(level=logging.INFO, format="app: %(levelname)s %(name)s %(message)s")
from arabic_ner.core.problems import Problems
problems = Problems()
problems.warning("a.json", "something odd")
problems.print()
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("app: WARNING arabic_ner.core.problems warning: a.json") and "something odd" in result.stderr


def test_no_library_module_prints():
    """Library functions log; only the commands (cli/) print."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "cli" or path.relative_to(PACKAGE).as_posix() in OLD_ENTRY_POINTS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


# ---------------------------------------------------------------- layers



def imports_of(path: Path) -> set[str]:
    """The arabic_ner modules that ``path`` imports (at its top or inside a function), as dotted names."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("arabic_ner"):
                out.add(target)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("arabic_ner")}
    return out


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def library_modules() -> dict[str, Path]:
    return {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts): p for p in PACKAGE.rglob("*.py")
            if p.relative_to(PACKAGE).as_posix() not in OLD_ENTRY_POINTS and p.parent != PACKAGE}


def test_every_module_is_in_a_layer_and_imports_only_its_own_layer_or_those_below():
    assert {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.glob("*.py")} == {"__init__.py", *(e for e in OLD_ENTRY_POINTS if "/" not in e)}
    upward = []
    for module, path in library_modules().items():
        for target in imports_of(path):
            if layer_of(target) is not None and layer_of(target) > layer_of(module):
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_there_is_no_import_circle():
    modules = library_modules()
    graph = {m: {t.removesuffix(".__init__") for t in imports_of(p) if t in modules} for m, p in modules.items()}
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(nxt):] + [nxt]) if nxt in path else nxt)
            if not state.get(nxt):
                visit(nxt, path + [nxt])
        state[node] = 2

    for module in graph:
        if not state.get(module):
            visit(module, [module])
