"""Input that used to slip through or flood the screen: a label or key given twice (the last one
silently won), a label map that drops every span, a YAML alias bomb, a value of hundreds of
kilobytes, and a file with thousands of bad lines. Each ends in short, exact lines and the right
exit status, and writes nothing."""

from __future__ import annotations

import json
import time

import pytest

from arabic_ner.core.config import Config, PretrainConfig, load_config, parse_label_map
from arabic_ner.core.problems import SHOWN_PER_KIND, Problems, UserError, quoted

from helpers import ROOT, ls_task, marked, run_command, write_ls

TINY = (ROOT / "configs" / "tiny.yaml").read_text(encoding="utf-8")
# under 1 KB that a YAML loader following aliases expands to 9**9 strings (the "billion laughs")
BOMB = "l0: &l0 [" + ", ".join(['"lol"'] * 9) + "]\n" + "".join(f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * 9)}]\n" for k in range(1, 9))


def refusal(call, *args, **keys) -> list[str]:
    """The lines of the UserError that ``call(*args, **keys)`` raises."""
    with pytest.raises(UserError) as error:
        call(*args, **keys)
    return error.value.lines


@pytest.fixture
def corpus(tmp_path):
    """A Label Studio export with 2 LOC spans and 1 ORG span."""
    docs = [marked("قصف ⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧", "a"), marked("في ⟦LOC|بغداد⟧ اليوم", "b")]
    return write_ls(tmp_path / "corpus.json", [ls_task(d, i + 1) for i, d in enumerate(docs)])


def config_file(tmp_path, text: str, name: str = "c.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- duplicates

def test_a_label_mapped_twice_on_the_command_line_names_both_maps():
    assert refusal(parse_label_map, ["LOC=ORG", "PERS=null", "LOC=null"]) == [
        "--map LOC=ORG and --map LOC=null: LOC is given two targets; "
        "give each label one (LABEL=TARGET, or LABEL=null to drop it)"]


def test_a_label_mapped_twice_to_the_same_target_is_one_map():
    assert parse_label_map(["LOC=ORG", "LOC=ORG"]) == {"LOC": "ORG"}


def test_a_label_mapped_twice_through_the_command_is_refused_before_anything_is_read(corpus, tmp_path):
    out = tmp_path / "model"
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(corpus), "--map", "LOC=ORG",
                         "--map", "LOC=null", "--output-dir", str(out))
    assert result.returncode == 2 and result.stderr.splitlines() == [
        "--map LOC=ORG and --map LOC=null: LOC is given two targets; give each label one (LABEL=TARGET, or LABEL=null to drop it)"]
    assert not out.exists()


def test_a_key_given_twice_is_one_line_with_both_values_and_lines(tmp_path):
    path = config_file(tmp_path, TINY + "learning_rate: 0.5\n")
    line = 1 + TINY.splitlines().index(next(x for x in TINY.splitlines() if x.startswith("learning_rate:")))
    assert refusal(load_config, path) == [
        f"{path}: key 'learning_rate' is given twice: 1.0e-3 on line {line} and 0.5 on line {len(TINY.splitlines()) + 1}; "
        "keep one (YAML would silently use the last)"]


@pytest.mark.parametrize("text, message", [
    ("model: scratch\nscratch:\n  hidden_size: 64\n  dropout: 0.1\n  hidden_size: 128\n",
     "key 'hidden_size' is given twice: 64 on line 3 and 128 on line 5"),
    ("train:\n  - path: a.json\n    label_map: {LOC: ORG, LOC: null}\n",
     "key 'LOC' is given twice: ORG on line 3 and null on line 3"),
    ("labels: [LOC]\nlabels:\n  - ORG\n", "key 'labels' is given twice: on line 1 and on line 2"),
])
def test_a_key_given_twice_at_any_depth_is_refused(tmp_path, text, message):
    path = config_file(tmp_path, text)
    assert refusal(load_config, path) == [
        f"{path}: {message}; keep one (YAML would silently use the last)"]


def test_a_key_given_twice_through_the_command_is_refused_and_nothing_is_written(tmp_path):
    path = config_file(tmp_path, TINY.replace("seed: 42", "seed: 42\nseed: 7"))
    out = tmp_path / "model"
    result = run_command("train", "--config", str(path), "--output-dir", str(out))
    line = 1 + TINY.splitlines().index(next(x for x in TINY.splitlines() if x.startswith("seed:")))
    assert result.returncode == 2 and result.stderr.splitlines() == [
        f"{path}: key 'seed' is given twice: 42 on line {line} and 7 on line {line + 1}; keep one (YAML would silently use the last)"]
    assert not out.exists()


DROPPED = ("error: {path}: its label map drops all 3 spans (LOC 2, ORG 1: mapped to null), so none is left to learn from; "
           "map a label to one of `labels` instead of null (e.g. label_map: {{GPE: LOC}}, or --map GPE=LOC), or leave the file out")


def test_a_map_that_drops_every_span_is_an_error_of_check(corpus):
    before = corpus.read_bytes()
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(corpus), "--map", "LOC=null", "--map", "ORG=null",
                         "--check")
    assert result.returncode == 1, result.stderr
    assert [x for x in result.stderr.splitlines() if x.startswith(("error", "warning"))] == [DROPPED.format(path=corpus)]
    assert result.stdout.splitlines()[-1] == "check: 1 error(s), 0 warning(s)"
    assert corpus.read_bytes() == before


def test_a_map_that_drops_every_span_stops_training_with_the_same_line(corpus, tmp_path):
    out = tmp_path / "model"
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(corpus), "--map", "LOC=null", "--map", "ORG=null",
                         "--output-dir", str(out))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-2:] == [
        DROPPED.format(path=corpus), f"1 error(s) in {corpus}; fix them and run again (arabic-ner train --check lists them without training)."]
    assert not out.exists()


def test_a_config_label_map_that_drops_every_span_is_an_error(corpus, tmp_path):
    from arabic_ner.training.corpora import load_documents

    config = load_config(config_file(tmp_path, TINY.replace(
        "train: [annotations/corpus.json]", f"train: [{{path: {corpus}, label_map: {{LOC: null, ORG: null}}}}]")))
    problems = Problems()
    documents = load_documents(config.train, config.labels, problems)
    assert len(documents) == 2 and [str(p) for p in problems.items] == [DROPPED.format(path=corpus)]


def test_a_map_that_drops_some_spans_is_no_error(corpus):
    from arabic_ner.core.config import Source
    from arabic_ner.training.corpora import load_documents

    problems = Problems()
    documents = load_documents([Source(str(corpus), label_map={"LOC": None})], ["LOC", "ORG"], problems)
    assert problems.items == [] and [len(d.spans) for d in documents] == [1, 0]


# ---------------------------------------------------------------- floods

def test_a_yaml_alias_is_refused(tmp_path):
    path = config_file(tmp_path, "labels: &types [LOC, ORG]\ntrain: [a.json]\n")
    assert refusal(load_config, path) == [
        f"{path}: line 1: YAML aliases (&anchor / *alias) are not allowed in a config; write the value out"]


def test_an_alias_bomb_is_refused_at_once_in_one_short_line(tmp_path):
    path = config_file(tmp_path, BOMB)
    assert len(BOMB) < 4096
    start = time.perf_counter()
    assert refusal(load_config, path) == [
        f"{path}: line 1: YAML aliases (&anchor / *alias) are not allowed in a config; write the value out"]
    assert time.perf_counter() - start < 1


def test_an_alias_bomb_through_the_command_is_one_short_line(tmp_path):
    result = run_command("train", "--config", str(config_file(tmp_path, BOMB)), "--output-dir", str(tmp_path / "model"), "--check")
    assert result.returncode == 2 and len(result.stderr) < 300 and len(result.stderr.splitlines()) == 1
    assert "YAML aliases (&anchor / *alias) are not allowed in a config" in result.stderr


def test_an_alias_in_a_set_value_is_refused():
    assert refusal(load_config, ROOT / "configs" / "tiny.yaml", ["labels=[&a LOC, *a]"]) == [
        "--set labels=[&a LOC, *a]: line 1: YAML aliases (&anchor / *alias) are not allowed in a config; write the value out"]


def test_a_huge_value_is_quoted_with_its_length():
    assert quoted("a" * 723_000) == "'" + "a" * 200 + "…' (723,000 characters)"
    assert quoted("داعش") == "'داعش'"


def test_a_huge_config_value_gives_a_short_line(tmp_path):
    path = config_file(tmp_path, f"lr_scheduler_type: {'x' * 723_000}\n")
    with pytest.raises(UserError) as error:
        load_config(path)
    (line,) = error.value.lines
    assert line.startswith(f"config error: lr_scheduler_type: '{'x' * 200}…' (723,000 characters) is not one of linear")
    assert len(line) < 500


def test_a_huge_wrongly_typed_value_gives_a_short_line(tmp_path):
    path = config_file(tmp_path, f"seed: [{', '.join(['1'] * 100_000)}]\n")
    with pytest.raises(UserError) as error:
        load_config(path)
    (line,) = error.value.lines
    assert line.startswith(f"{path}: seed: expected int, got [1, 1,") and line.endswith("… (300,000 characters)")
    assert len(line) < 500


def test_a_huge_value_in_a_problem_is_cut_with_its_length():
    problems = Problems()
    problems.error("x.conll: line 3", f"a single field: {'و' * 723_000!r}; fix the line")
    assert str(problems.items[0]) == f"error: x.conll: line 3: a single field: '{'و' * 200}…' (723,000 characters); fix the line"


def bad_lines(n: int) -> Problems:
    problems = Problems()
    for number in range(1, n + 1):
        problems.error(f"x.conll: line {number}", f"a single field, so the tag is missing: 'كلمة{number}'; fix the line")
    return problems


def test_of_many_problems_of_one_kind_the_first_are_shown_and_the_rest_counted():
    problems = bad_lines(5000)
    lines = [line for _, line in problems.lines()]
    assert len(lines) == SHOWN_PER_KIND + 1 and lines[0] == "error: x.conll: line 1: a single field, so the tag is missing: 'كلمة1'; fix the line"
    assert lines[-1] == "error: x.conll: 4,980 more like the one above, not shown: lines 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, …"
    assert len(problems.errors) == 5000  # what callers count stays the true total


def test_problems_up_to_the_limit_are_all_shown():
    lines = [line for _, line in bad_lines(SHOWN_PER_KIND).lines()]
    assert len(lines) == SHOWN_PER_KIND and "more like" not in lines[-1]


def test_each_kind_gets_its_own_count_line_after_its_shown_problems():
    problems = Problems()
    for number in range(1, 61):
        problems.error(f"x.json: task {number}", f"offsets must satisfy 0 <= start < end <= {number} (the text length)")
        problems.warning(f"x.json: document {number}", "has the same text as document 0")
    lines = [line for _, line in problems.lines()]
    assert len(lines) == 2 * (SHOWN_PER_KIND + 1)
    assert lines[2 * SHOWN_PER_KIND - 2:] == [
        "error: x.json: task 20: offsets must satisfy 0 <= start < end <= 20 (the text length)",
        "error: x.json: 40 more like the one above, not shown: task 21; task 22; task 23; task 24; task 25; task 26; task 27; task 28; "
        "task 29; task 30, …",
        "warning: x.json: document 20: has the same text as document 0",
        "warning: x.json: 40 more like the one above, not shown: document 21; document 22; document 23; document 24; document 25; "
        "document 26; document 27; document 28; document 29; document 30, …",
    ]


def test_raise_if_errors_lists_the_shown_errors_and_the_true_count():
    with pytest.raises(UserError) as error:
        bad_lines(5000).raise_if_errors("x.conll", hint="")
    assert len(error.value.lines) == SHOWN_PER_KIND + 2
    assert error.value.lines[-1] == "5000 error(s) in x.conll; fix them and run again."


@pytest.fixture
def bad_conll(tmp_path):
    """Two good lines, then 5,000 lines with a token and no tag."""
    path = tmp_path / "bad.conll"
    path.write_text("قصف O\nداعش B-ORG\n\n" + "".join(f"كلمة{i}\n" for i in range(5000)), encoding="utf-8")
    return path


def test_a_conll_flood_gives_a_bounded_check(bad_conll):
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(bad_conll), "--check")
    assert result.returncode == 1 and len(result.stderr.encode()) < 10_000
    errors = [x for x in result.stderr.splitlines() if x.startswith("error: ")]
    assert len(errors) == SHOWN_PER_KIND + 1
    assert errors[-1] == f"error: {bad_conll}: 4,980 more like the one above, not shown: lines 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, …"
    assert result.stdout.splitlines()[-1] == "check: 5000 error(s), 0 warning(s)"


def test_a_conll_flood_stops_training_in_a_bounded_message(bad_conll, tmp_path):
    out = tmp_path / "model"
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(bad_conll), "--output-dir", str(out))
    assert result.returncode == 2 and len(result.stderr.encode()) < 10_000
    assert result.stderr.splitlines()[-2:] == [
        f"error: {bad_conll}: 4,980 more like the one above, not shown: lines 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, …",
        f"5000 error(s) in {bad_conll}; fix them and run again (arabic-ner train --check lists them without training)."]
    assert not out.exists()


def test_a_label_studio_flood_gives_a_bounded_check(tmp_path):
    path = tmp_path / "bad.json"
    tasks = [{"id": i, "data": {"text": f"قصف داعش {i}"}, "annotations": [{"id": i, "result": [
        {"type": "labels", "value": {"start": 4, "end": 99, "labels": ["ORG"]}}]}]} for i in range(1, 5001)]
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    result = run_command("train", "--config", "configs/tiny.yaml", "--train", str(path), "--check")
    assert result.returncode == 1 and len(result.stderr.encode()) < 10_000
    errors = [x for x in result.stderr.splitlines() if x.startswith("error: ")]
    assert len(errors) == SHOWN_PER_KIND + 1
    assert errors[-1].startswith(f"error: {path}: 4,980 more like the one above, not shown: task 21: span [4,99) ")
    assert result.stdout.splitlines()[-1] == "check: 5000 error(s), 0 warning(s)"


# ---------------------------------------------------------------- messages that sent the user the wrong way

@pytest.mark.parametrize("text", ["", "# nothing yet\n", "---\n"])
def test_an_empty_config_says_what_to_put_in_it(tmp_path, text):
    path = config_file(tmp_path, text)
    assert refusal(load_config, path) == [
        f"{path}: the config is empty; copy configs/tiny.yaml (every key, each with a comment saying what it does) and edit it"]
    assert refusal(load_config, path, cls=PretrainConfig) == [
        f"{path}: the config is empty; copy configs/tiny-mlm.yaml (every key, each with a comment saying what it does) "
        "and edit it"]


def test_an_empty_config_through_the_command(tmp_path):
    path = config_file(tmp_path, "# nothing yet\n")
    result = run_command("train", "--config", str(path), "--check")
    assert result.returncode == 2 and result.stderr.splitlines() == [
        f"{path}: the config is empty; copy configs/tiny.yaml (every key, each with a comment saying what it does) and edit it"]


def test_a_pretraining_config_given_to_train_names_the_command():
    path = ROOT / "configs" / "tiny-mlm.yaml"
    assert refusal(load_config, path, cls=Config) == [
        f"{path}: this is a pretraining config (it has `texts`); use arabic-ner pretrain --config {path}"]


def test_a_training_config_given_to_pretrain_names_the_command():
    path = ROOT / "configs" / "tiny.yaml"
    assert refusal(load_config, path, cls=PretrainConfig) == [
        f"{path}: this is a training config (it has `labels`); use arabic-ner train --config {path}"]


def test_the_wrong_config_through_the_commands_writes_nothing(tmp_path):
    out = tmp_path / "model"
    result = run_command("train", "--config", "configs/tiny-mlm.yaml", "--output-dir", str(out))
    assert result.returncode == 2 and result.stderr.splitlines() == [
        "configs/tiny-mlm.yaml: this is a pretraining config (it has `texts`); use arabic-ner pretrain --config configs/tiny-mlm.yaml"]
    result = run_command("pretrain", "--config", "configs/tiny.yaml", "--output-dir", str(out))
    assert result.returncode == 2 and result.stderr.splitlines() == [
        "configs/tiny.yaml: this is a training config (it has `labels`); use arabic-ner train --config configs/tiny.yaml"]
    assert not out.exists()
