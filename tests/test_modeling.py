import json

import pytest

from arabic_ner.config import Config, ScratchModel, load_config
from arabic_ner.labels import entity_types
from arabic_ner.modeling import build_for_training, load_tokenizer, load_trained, save_model, train_wordpiece
from arabic_ner.problems import UserError
from arabic_ner.text import split_words

from conftest import ROOT, run_script, tiny_overrides


def test_wordpiece_tokenizer_survives_save_and_reload_without_lowercasing(tmp_path):
    config = Config(model="scratch", scratch=ScratchModel(vocab_size=200))
    tokenizer = train_wordpiece([[w.form for w in split_words("طائرة F-16 فوق الموصل")]], config)
    before = tokenizer("F-16 الموصل", add_special_tokens=False).tokens()
    tokenizer.save_pretrained(tmp_path)
    reloaded = load_tokenizer(str(tmp_path), None)
    assert reloaded("F-16 الموصل", add_special_tokens=False).tokens() == before
    assert "[UNK]" not in before


def test_scratch_model_takes_its_labels_from_the_config():
    config = load_config(ROOT / "configs" / "tiny.yaml", tiny_overrides())
    tokenizer, model = build_for_training(config, [["قصف", "داعش"]])
    assert list(model.config.id2label.values()) == config.model_labels
    assert entity_types(model.config.id2label) == config.labels
    assert tokenizer.model_max_length == config.max_length


def test_hub_model_offline_fails_with_one_message_naming_the_ways_out():
    with pytest.raises(UserError) as info:
        load_tokenizer("CAMeL-Lab/bert-base-arabic-camelbert-msa", "refs/pr/1")
    (line,) = info.value.lines
    assert "cannot load 'CAMeL-Lab/bert-base-arabic-camelbert-msa'" in line
    assert "model: /path/to/dir" in line and "HF cache" in line and "configs/tiny.yaml" in line


def test_a_missing_local_directory_is_named(tmp_path):
    with pytest.raises(UserError, match="no such model directory"):
        load_trained(str(tmp_path / "models" / "nope" / "x"))


def test_pickle_only_weights_are_refused(tmp_path):
    labels = {"0": "O", "1": "B-LOC", "2": "I-LOC"}
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "id2label": labels}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(UserError, match=r"has only pickle weights \(\*\.bin\).*safetensors only"):
        load_trained(str(tmp_path))


def test_remote_code_is_never_run(tmp_path):
    config = load_config(ROOT / "configs" / "tiny.yaml", tiny_overrides())
    tokenizer, model = build_for_training(config, [["قصف", "داعش"]])
    save_model(model, tokenizer, tmp_path)
    settings = json.loads((tmp_path / "config.json").read_text())
    settings["auto_map"] = {"AutoModelForTokenClassification": "evil.EvilModel"}
    settings["model_type"] = "evil-model"
    (tmp_path / "config.json").write_text(json.dumps(settings))
    (tmp_path / "evil.py").write_text("raise SystemExit('remote code ran')\n")
    with pytest.raises(UserError, match="not a usable Hugging Face model directory"):
        load_trained(str(tmp_path))


def test_a_model_without_an_iob2_label_set_is_refused(tmp_path):
    config = load_config(ROOT / "configs" / "tiny.yaml", tiny_overrides())
    tokenizer, model = build_for_training(config, [["قصف", "داعش"]])
    model.config.id2label = {0: "NEG", 1: "POS"}
    model.config.label2id = {"NEG": 0, "POS": 1}
    save_model(model, tokenizer, tmp_path)
    with pytest.raises(UserError, match="is not an IOB2 label set"):
        load_trained(str(tmp_path))


def _saved_tiny_model(directory, meta):
    config = load_config(ROOT / "configs" / "tiny.yaml", tiny_overrides())
    tokenizer, model = build_for_training(config, [["قصف", "لداعش"]])
    if meta is None:
        delattr(model.config, "arabic_ner")
    else:
        model.config.arabic_ner = meta
    save_model(model, tokenizer, directory)
    return directory


def test_a_model_of_the_old_split_word_scheme_is_refused_with_one_line_saying_retrain(tmp_path):
    old = _saved_tiny_model(tmp_path / "old", {"pretokenizer": "arabic-ner-words/1", "stride": 32})
    with pytest.raises(UserError) as info:
        load_trained(str(old))
    (line,) = info.value.lines
    assert "split proclitics off words (arabic-ner-words/1)" in line and "Retrain it with train.py" in line
    result = run_script("predict.py", "--model", str(old), "--input", "data/raw", "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert line in result.stderr.splitlines()  # the one line, as it is
    assert not (tmp_path / "o.jsonl").exists()


def test_a_model_of_an_unknown_scheme_is_refused(tmp_path):
    newer = _saved_tiny_model(tmp_path / "newer", {"scheme": "arabic-ner-words/9"})
    with pytest.raises(UserError, match="does not know; upgrade arabic_ner"):
        load_trained(str(newer))


def test_a_model_trained_elsewhere_is_read_with_whole_words_and_a_note(tmp_path, capsys):
    from arabic_ner.inference import Tagger

    plain = _saved_tiny_model(tmp_path / "plain", None)
    tagger = Tagger.load(str(plain))
    assert "does not say it was trained by arabic_ner" in capsys.readouterr().err
    assert isinstance(tagger.tag_text("قصف لداعش"), list)


def test_a_new_model_records_the_scheme_in_its_config():
    config = load_config(ROOT / "configs" / "tiny.yaml", tiny_overrides())
    _, model = build_for_training(config, [["قصف", "داعش"]])
    assert model.config.arabic_ner == {"scheme": "arabic-ner-words/2", "stride": config.stride}
