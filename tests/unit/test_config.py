import re

import pytest

from arabic_ner.core.config import Config, PretrainConfig, ScratchModel, Source, help_of, load_config
from arabic_ner.core.problems import UserError

from helpers import ROOT

CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def config_type(path):
    """pretrain.py's configs are named *-mlm.yaml; the others are train.py's."""
    return PretrainConfig if path.stem.endswith("-mlm") else Config


@pytest.mark.parametrize("path", [p for p in CONFIGS if config_type(p) is Config], ids=lambda p: p.name)
def test_every_bundled_config_loads(path):
    config = load_config(path)
    assert config.labels == ["LOC", "ORG", "WEAPON", "COUNT", "DATE"]
    assert all((ROOT / s.path).is_file() for s in config.train)


@pytest.mark.parametrize("path", [p for p in CONFIGS if config_type(p) is PretrainConfig], ids=lambda p: p.name)
def test_every_bundled_pretraining_config_loads(path):
    config = load_config(path, cls=PretrainConfig)
    assert all((ROOT / t).exists() for t in config.texts)
    with pytest.raises(UserError, match="unknown config key 'labels'"):
        load_config(path, ["labels=[LOC]"], cls=PretrainConfig)


def test_every_bundled_config_sets_every_key():
    import yaml

    for path in CONFIGS:
        keys = set(config_type(path).model_fields)
        assert set(yaml.safe_load(path.read_text(encoding="utf-8"))) == keys, path.name


KEY_LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[a-z_0-9]+):(?P<value>.*?)(?:\s+# (?P<comment>.*))?$")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_each_keys_comment_in_a_bundled_config_is_its_help_text_in_code(path):
    """The help text lives in code (config.key); a YAML file gives it as the key's comment, with
    anything particular to the file on a comment line above."""
    seen = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = KEY_LINE.match(line)
        if not match or line.startswith("#"):
            continue
        cls = ScratchModel if match["indent"] else config_type(path)
        seen.append((cls.__name__, match["key"]))
        assert match["comment"] == help_of(cls, match["key"]), f"{path.name}: {match['key']}"
    top = [key for cls, key in seen if cls != "ScratchModel"]
    assert top == list(config_type(path)().to_dict() if config_type(path) is Config else
                       config_type(path)(scratch=ScratchModel()).to_dict()), "keys in the order configs are saved"
    nested = [key for cls, key in seen if cls == "ScratchModel"]
    assert nested in ([], list(ScratchModel.model_fields))


def test_every_config_field_has_help_text():
    for cls in (Config, PretrainConfig, ScratchModel, Source):
        assert cls.model_fields and all(help_of(cls, name) for name in cls.model_fields), cls.__name__


def test_unknown_key_is_an_error_naming_it(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: scratch\nscratch: {}\nlearning_rat: 0.1\n")
    with pytest.raises(UserError, match=r"c.yaml: unknown config key 'learning_rat'; did you mean 'learning_rate'\?"):
        load_config(path)


def test_unknown_nested_key_is_an_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: scratch\nscratch: {layers: 2}\n")
    with pytest.raises(UserError, match=r"unknown config key 'scratch.layers'"):
        load_config(path)


def test_wrong_type_is_an_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("num_train_epochs: many\n")
    with pytest.raises(UserError, match=r"c.yaml: num_train_epochs: expected float, got 'many'"):
        load_config(path)


def test_set_overrides_keys_and_nested_keys(tmp_path):
    config = load_config(ROOT / "configs" / "tiny.yaml", ["learning_rate=3e-5", "scratch.hidden_size=128", "labels=[LOC]"])
    assert config.learning_rate == 3e-5 and config.scratch.hidden_size == 128 and config.labels == ["LOC"]


def test_set_with_an_unknown_key_is_an_error():
    with pytest.raises(UserError, match=r"unknown config key 'epochs'"):
        load_config(ROOT / "configs" / "tiny.yaml", ["epochs=3"])


def test_set_without_equals_is_an_error():
    with pytest.raises(UserError, match=r"--set 'epochs': expected key=value"):
        load_config(ROOT / "configs" / "tiny.yaml", ["epochs"])


@pytest.mark.parametrize(
    "override, message",
    [
        ("labels=[LOC, LOC]", "lists a type twice"),
        ("labels=[O]", "not a usable entity type"),
        ("stride=200", "stride: 200 must be between 0 and"),
        ("dev_fraction=1.5", "dev_fraction: 1.5 must be in"),
        ("scratch=null", "model: 'scratch' needs a `scratch:` block"),
        ("scratch.dropout=1", "scratch.dropout: 1.0 must be at least 0 and below 1"),
    ],
)
def test_invalid_values_are_errors(override, message):
    with pytest.raises(UserError, match=message):
        load_config(ROOT / "configs" / "tiny.yaml", [override])


def test_missing_config_file_says_where_to_look(tmp_path):
    with pytest.raises(UserError, match="config file not found; pick one from configs/"):
        load_config(tmp_path / "nope.yaml")


def test_malformed_yaml_names_the_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: scratch\nlabels: [LOC\n")
    with pytest.raises(UserError, match=r"c.yaml: line \d+, column \d+: malformed YAML"):
        load_config(path)


def test_model_labels_follow_the_declared_order():
    assert Config(labels=["LOC", "ORG"]).model_labels == [
        "O", "B-LOC", "I-LOC", "B1-LOC", "B2-LOC", "B-ORG", "I-ORG", "B1-ORG", "B2-ORG"]


def test_saved_config_loads_back_identically(tmp_path):
    config = load_config(ROOT / "configs" / "tiny.yaml", ["seed=7"])
    config.save(tmp_path / "training_config.yaml")
    assert load_config(tmp_path / "training_config.yaml") == config
