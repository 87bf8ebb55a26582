"""``arabic-ner curve``: a learning curve on the user's own data, by document, against a dev set or by
CV; its refusal of data too small to split, its bad options, and the verdict on the last step."""

from __future__ import annotations

import json

import pytest

from arabic_ner.cli import command_main
from arabic_ner.cli.common import run
from arabic_ner.core.config import Config, ScratchModel, Source
from arabic_ner.core.document import Document
from arabic_ner.core.problems import UserError
from arabic_ner.core.results import CurvePoint, CurveRun, LearningCurve, Scores, read_json, write_json
from arabic_ner.data.labelstudio_json import labelstudio_task
from arabic_ner.training.curve import plan_curve, step_sizes

from helpers import marked, run_command, sets, tiny_overrides, write_ls

FAST = sets(*tiny_overrides(num_train_epochs=1))  # the curve's shape is under test here, not the model's learning


def call(capsys, *args) -> tuple[int, str, str]:
    """Run ``arabic-ner curve ARGS`` in this process as the command does; (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        run(command_main("curve"), [str(a) for a in args])
    captured = capsys.readouterr()
    return exited.value.code or 0, captured.out, captured.err


def gold_file(path, n: int):
    docs = [marked(f"قصف ل⟦ORG|داعش⟧ في ⟦LOC|الموصل⟧ رقم {i}", f"d{i}") for i in range(n)]
    return write_ls(path, [labelstudio_task(d) | {"id": i} for i, d in enumerate(docs)])


def assert_nested(points: list[dict]) -> None:
    """Each step trains on the documents of the step before it, and more."""
    for before, after in zip(points, points[1:]):
        for a, b in zip(before["runs"], after["runs"]):
            assert set(a["train_documents"]) < set(b["train_documents"]) and a.get("fold") == b.get("fold")


# ---------------------------------------------------------------- real runs


@pytest.mark.slow
def test_a_curve_on_the_bundled_articles_against_the_dev_split(tmp_path):
    out = tmp_path / "curve"
    result = run_command("curve", "--config", "configs/tiny.yaml", "--output-dir", str(out), *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve"]  # no staging folder, no step models left
    assert sorted(p.name for p in out.iterdir()) == ["curve.json", "curve.md", "curve.png"]
    plain = json.loads((out / "curve.json").read_text(encoding="utf-8"))
    points = plain["points"]
    assert [p["percent"] for p in points] == [25, 50, 75, 100] and [p["documents"] for p in points] == [1, 2, 3, 4]
    assert_nested(points)
    dev = plain["dev_documents"]
    assert len(dev) == 1 and not set(dev) & set(points[-1]["runs"][0]["train_documents"])  # 5 articles: 1 dev, 4 to train on
    assert all(p["f1"] == p["runs"][0]["scores"]["f1"] and p["f1_std"] == 0 for p in points)

    curve = read_json(LearningCurve, out / "curve.json")
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[:4]] == ["25%", "50%", "75%", "100%"]
    assert lines[0].startswith(" 25%  1 document  span F1 ") and "gain" in lines[3]
    assert lines[-2] == curve.verdict() and lines[-2].startswith("the last step (75% -> 100%, 3 -> 4 documents) ")
    assert lines[-1] == f"wrote {out / 'curve.json'}, {out / 'curve.md'}, {out / 'curve.png'}"
    assert "== step 4/4: training on 100% = 4 document(s), scoring on 1" in result.stderr  # progress goes to stderr
    markdown = (out / "curve.md").read_text(encoding="utf-8")
    assert f"**{curve.verdict()}**" in markdown and "![learning curve](curve.png)" in markdown
    assert (out / "curve.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_a_curve_by_cross_validation_averages_the_folds(tmp_path):
    gold = gold_file(tmp_path / "g.json", 5)
    out = tmp_path / "curve"
    result = run_command("curve", "--config", "configs/tiny.yaml", "--train", str(gold), "--cv", "2", "--steps", "50,100",
                         "--output-dir", str(out), *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    plain = json.loads((out / "curve.json").read_text(encoding="utf-8"))
    assert plain["k"] == 2 and "dev_documents" not in plain
    points = plain["points"]
    # 5 documents in 2 folds: 3 and 2 to train on, so 50% is 1 in each fold, 100% is 3 and 2
    assert [sorted(len(r["train_documents"]) for r in p["runs"]) for p in points] == [[1, 1], [2, 3]]
    assert [p["documents"] for p in points] == [1, 2.5]
    assert_nested(points)
    assert all(p["f1"] == pytest.approx(sum(r["scores"]["f1"] for r in p["runs"]) / 2) for p in points)
    assert "± " in result.stdout and "fold 2/2" in result.stderr


# ---------------------------------------------------------------- what the curve is drawn from, without training


def test_steps_take_a_share_rounded_down_and_nest():
    assert step_sizes(4, [25, 50, 75, 100]) == [1, 2, 3, 4] and step_sizes(7, [25, 50, 75, 100]) == [1, 3, 5, 7]


def _docs(source: str, n: int) -> list[Document]:
    return [Document(f"{source}-{i}", "نص", [], source) for i in range(n)]


def test_the_plan_keeps_dev_and_held_out_documents_and_always_trained_sources_apart():
    config = Config(model="scratch", scratch=ScratchModel(), train=[Source("a.json"), Source("b.txt", holdout=False)])
    documents = _docs("a.json", 9) + _docs("b.txt", 2)
    plan = plan_curve(config, documents, None, [25, 50, 75, 100], None, "a.json")
    (split,) = plan.splits
    assert [len(split.step(p)) for p in plan.percents] == [1, 3, 5, 7] and len(split.scored) == 2  # dev_fraction 0.2 of 9
    assert not {d.id for d in split.order} & {d.id for d in split.scored}
    assert [d.source for d in plan.fixed] == ["b.txt"] * 2 and all(d.source == "a.json" for d in split.order)
    assert plan_curve(config, documents, None, [25, 50, 75, 100], None, "a.json").splits[0].order == split.order  # seeded

    folds = plan_curve(config, documents, None, [50, 100], 3, "a.json").splits
    assert [s.fold for s in folds] == [1, 2, 3]
    assert sorted(d.id for s in folds for d in s.scored) == sorted(d.id for d in documents if d.source == "a.json")
    assert all(not {d.id for d in s.order} & {d.id for d in s.scored} for s in folds)


def test_a_given_dev_set_scores_every_step_and_all_the_documents_train():
    config = Config(model="scratch", scratch=ScratchModel(), train=[Source("a.json")], dev=Source("dev.json"))
    documents, dev = _docs("a.json", 4), _docs("dev.json", 2)
    (split,) = plan_curve(config, documents, dev, [25, 50, 75, 100], None, "a.json").splits
    assert split.scored == dev and sorted(d.id for d in split.order) == [d.id for d in documents]
    with pytest.raises(UserError, match=r"^dev.json: no annotated documents in the dev set to score the steps on; "):
        plan_curve(config, documents, [], [25, 50, 75, 100], None, "a.json")


# ---------------------------------------------------------------- refusals, each one line and status 2


@pytest.mark.parametrize("n, args, message", [
    (1, [], "{gold}: 1 document(s), and no dev set to score the steps on (dev_fraction 0.2 splits off none of a single "
            "document); give a dev file with --dev, or use --cv K, or annotate more documents"),
    (2, [], "{gold}: 1 training document(s) (besides the 1 of the dev set), too few for a learning curve with steps 25,50,75,100: "
            "the 25% step would train on no document; it needs at least 4 training documents. Annotate more documents, "
            "or give fewer, larger steps with --steps"),
    (2, ["--cv", "3"], "{gold}: 2 document(s) to cross-validate, fewer than the 3 folds of --cv 3, and each fold needs a "
                       "document to score; give --cv 2, or annotate more documents"),
    (5, ["--cv", "5", "--steps", "30,35,100"], "{gold}: 4 training document(s) in the smallest fold of --cv 5, too few for a "
                                               "learning curve with steps 30,35,100: the 35% step would train on 1, as many as "
                                               "the 30% step; it needs at least 6 training documents. Annotate more "
                                               "documents, or give fewer, larger steps with --steps"),
])
def test_data_too_small_to_split_is_refused_in_one_line(capsys, tmp_path, n, args, message):
    gold = gold_file(tmp_path / "gold.json", n)
    code, out, err = call(capsys, "--config", "configs/tiny.yaml", "--train", gold, "--output-dir", tmp_path / "curve", *args)
    assert code == 2 and out == ""
    assert err.splitlines() == [message.format(gold=gold)]
    assert not (tmp_path / "curve").exists()


@pytest.mark.parametrize("args, message", [
    (["--cv", "1"], "--cv 1: K-fold cross-validation needs K of 2 or more (5 is usual)"),
    (["--cv", "2", "--dev", "annotations/corpus.json"],
     "--dev annotations/corpus.json and --cv 2: score the steps on a fixed dev set or by cross-validation; give one"),
])
def test_contradictory_options_are_one_line(capsys, tmp_path, args, message):
    code, _, err = call(capsys, "--config", "configs/tiny.yaml", "--output-dir", tmp_path / "curve", *args)
    assert code == 2 and err.splitlines() == [message]
    assert not (tmp_path / "curve").exists()


@pytest.mark.parametrize("steps", ["50,25", "0,100", "100", "25,50,x", "50,150"])
def test_bad_steps_are_refused_by_the_option_parser(capsys, tmp_path, steps):
    code, _, err = call(capsys, "--config", "configs/tiny.yaml", "--steps", steps, "--output-dir", tmp_path / "curve")
    assert code == 2 and err.splitlines()[-1].startswith("arabic-ner curve: error: argument --steps: ")
    assert "e.g. 25,50,75,100" in err and not (tmp_path / "curve").exists()


def test_an_earlier_curve_is_replaced_only_with_overwrite(capsys, tmp_path):
    out = tmp_path / "curve"
    out.mkdir()
    (out / "curve.json").write_text("{}", encoding="utf-8")
    code, _, err = call(capsys, "--config", "configs/tiny.yaml", "--output-dir", out)
    assert code == 2 and err.splitlines() == [f"{out / 'curve.json'}: exists; pass --overwrite to replace it, or give another --output-dir"]
    assert (out / "curve.json").read_text(encoding="utf-8") == "{}"


def test_the_output_is_never_the_training_file(capsys, tmp_path):
    gold = gold_file(tmp_path / "gold.json", 5)
    before = gold.read_bytes()
    code, _, err = call(capsys, "--config", "configs/tiny.yaml", "--train", gold, "--output-dir", gold)
    assert code == 2 and len(err.splitlines()) == 1 and str(gold) in err
    assert gold.read_bytes() == before


# ---------------------------------------------------------------- the verdict and curve.json


def curve_of(*f1s: float, k: int | None = None) -> LearningCurve:
    points = [CurvePoint(p, p / 25, f1, f1, f1, 0.0, [CurveRun([f"d{i}" for i in range(p // 25)], Scores(f1, f1, f1, 10))])
              for p, f1 in zip((25, 50, 75, 100), f1s)]
    return LearningCurve("a dev set", points, k)


@pytest.mark.parametrize("last, gaining, says", [
    (0.52, True, "gained +2.0 F1: the curve is still rising, so more annotation will probably help"),
    (0.504, False, "gained +0.4 F1 (less than 1 point): the curve is flattening"),
    (0.496, False, "lost 0.4 F1 (less than 1 point): the curve is flattening"),
    (0.47, False, "lost 3.0 F1: at this size the scores are noise as much as signal"),
])
def test_the_verdict_reads_the_last_step(last, gaining, says):
    curve = curve_of(0.2, 0.4, 0.5, last)
    assert curve.still_gaining is gaining
    assert curve.verdict().startswith("the last step (75% -> 100%, 3 -> 4 documents) ") and says in curve.verdict()


def test_a_curve_reads_back_from_its_json(tmp_path):
    curve = curve_of(0.2, 0.4, 0.5, 0.52, k=5)
    assert read_json(LearningCurve, write_json(tmp_path / "curve.json", curve)) == curve
    (tmp_path / "bad.json").write_text(json.dumps({"scored_on": "x", "points": [{"percent": "half"}]}), encoding="utf-8")
    with pytest.raises(UserError, match=r"bad.json: not a LearningCurve .*first at points.0"):
        read_json(LearningCurve, tmp_path / "bad.json")
