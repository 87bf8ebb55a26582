import json

import pytest

from arabic_ner.core.config import Config, ScratchModel, load_config
from arabic_ner.core.labels import entity_types
from arabic_ner.core.problems import UserError
from arabic_ner.core.words import split_words
from arabic_ner.model.building import build_for_training, save_model
from arabic_ner.model.loading import load_tokenizer, load_trained
from arabic_ner.model.vocabulary import train_wordpiece

from helpers import ROOT, run_command, run_script, tiny_overrides


def test_wordpiece_tokenizer_survives_save_and_reload_without_lowercasing(tmp_path):
    config = Config(model="scratch", scratch=ScratchModel(vocab_size=200))
    tokenizer = train_wordpiece([[w.form for w in split_words("طائرة F-16 فوق الموصل")]], config)
    before = tokenizer("F-16 الموصل", add_special_tokens=False).tokens()
    tokenizer.save_pretrained(tmp_path)
    reloaded = load_tokenizer(str(tmp_path), None)
    assert reloaded("F-16 الموصل", add_special_tokens=False).tokens() == before
    assert "[UNK]" not in before


def test_byte_pair_pieces_merge_the_most_frequent_pair_first_ties_by_text():
    from collections import Counter

    from arabic_ner.model.vocabulary import byte_pair_pieces

    # a ##b occurs 5 times; then ##a ##b and ab ##a 3 times each: the tie goes to the smaller text
    assert byte_pair_pieces(Counter({"abab": 3, "ab": 2}), 100) == ["##a", "##b", "a", "ab", "##ab", "abab"]
    assert byte_pair_pieces(Counter({"abab": 3, "ab": 2}), 4) == ["##a", "##b", "a", "ab"]
    assert byte_pair_pieces(Counter({"abab": 3, "ab": 2}), 100, min_frequency=4) == ["##a", "##b", "a", "ab"]


def test_a_subword_vocabulary_is_the_same_in_every_process_and_cuts_rare_words_into_shared_pieces():
    """The tokenizers library's trainer gives a different vocabulary in each process; this one does not."""
    from helpers import anercorp_sentences

    code = ("import sys, hashlib; sys.path.insert(0, 'src'); sys.path.insert(0, 'tests');"
            "from helpers import anercorp_sentences; from arabic_ner.core.config import Config, ScratchModel;"
            "from arabic_ner.model.vocabulary import train_wordpiece;"
            "t = train_wordpiece([s.split() for s in anercorp_sentences()[:800]], "
            "Config(model='scratch', scratch=ScratchModel(vocab_size=3000, vocabulary='subwords')));"
            "v = t.get_vocab(); print(hashlib.sha256(repr(sorted(v.items())).encode()).hexdigest())")
    runs = {run_script("-c", code).stdout for _ in range(2)}
    assert len(runs) == 1 and len(runs.pop().strip()) == 64
    config = Config(model="scratch", scratch=ScratchModel(vocab_size=3000, vocabulary="subwords"))
    tokenizer = train_wordpiece([s.split() for s in anercorp_sentences()[:800]], config)
    assert len(tokenizer) == 3000
    from collections import Counter

    frequent = Counter(w for s in anercorp_sentences()[:800] for w in s.split() if len(w) > 3).most_common(5)
    assert all(tokenizer.tokenize(w) == [w] for w, _ in frequent), frequent  # frequent words: whole
    pieces = tokenizer.tokenize("والموصلية")  # unseen: in pieces, the first one a word start
    assert len(pieces) > 1 and all(p.startswith("##") for p in pieces[1:]) and "[UNK]" not in pieces


def test_an_unknown_vocabulary_kind_is_a_config_error():
    with pytest.raises(UserError, match="scratch.vocabulary: 'bpe' must be one of words, subwords"):
        load_config(ROOT / "configs" / "tiny.yaml", ["scratch.vocabulary=bpe"])


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
    result = run_command("predict", "--model", str(old), "--input", "data/raw", "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert line in result.stderr.splitlines()  # the one line, as it is
    assert not (tmp_path / "o.jsonl").exists()


def test_a_model_of_an_unknown_scheme_is_refused(tmp_path):
    newer = _saved_tiny_model(tmp_path / "newer", {"scheme": "arabic-ner-words/9"})
    with pytest.raises(UserError, match="does not know; upgrade arabic_ner"):
        load_trained(str(newer))


def test_a_model_trained_elsewhere_is_read_with_whole_words_and_a_note(tmp_path, capsys):
    from arabic_ner.model.inference import Tagger

    plain = _saved_tiny_model(tmp_path / "plain", None)
    tagger = Tagger.load(str(plain))
    assert "does not say it was trained by arabic_ner" in capsys.readouterr().err
    assert isinstance(tagger.tag_text("قصف لداعش"), list)


def test_a_new_model_records_the_scheme_in_its_config():
    config = load_config(ROOT / "configs" / "tiny.yaml", tiny_overrides())
    _, model = build_for_training(config, [["قصف", "داعش"]])
    assert model.config.arabic_ner == {"scheme": "arabic-ner-words/2", "stride": config.stride}


class _Recorder:
    """A local HTTP server that answers every request with 200 and keeps each request line: it
    stands for a proxy (requests come to it with absolute URLs) or for a Hub mirror."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self):
                seen.append(self.requestline)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def hub_offline_in(env_overrides: dict) -> bool:
    """``_hub_offline()`` in a fresh process with HF_HUB_OFFLINE unset and ``env_overrides``."""
    import os
    import subprocess
    import sys

    drop = ("HF_HUB_OFFLINE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy")
    env = {k: v for k, v in os.environ.items() if k not in drop} | {"PYTHONPATH": str(ROOT / "src")} | env_overrides
    code = "from arabic_ner.model.loading import _hub_offline; print(_hub_offline())"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip() == "True"


def test_the_hub_probe_goes_through_the_proxy_and_to_the_endpoints_own_port():
    proxy = _Recorder()
    assert not hub_offline_in({"HF_ENDPOINT": "http://hub.invalid", "HTTP_PROXY": proxy.url})
    assert proxy.seen == ["HEAD http://hub.invalid/ HTTP/1.1"]  # the name was resolved by the proxy, not here
    mirror = _Recorder()
    assert not hub_offline_in({"HF_ENDPOINT": mirror.url})  # a mirror on a port of its own, not 443
    assert mirror.seen == ["HEAD / HTTP/1.1"]
    mirror.server.shutdown()
    mirror.server.server_close()
    assert hub_offline_in({"HF_ENDPOINT": mirror.url})  # nothing answers there now


def test_the_window_is_the_configs_max_length_capped_by_the_models_positions(pretrained_dir, tmp_path):
    """A model directory whose tokenizer was saved with a shorter model_max_length (as a model fine-tuned
    at 64 tokens saves it) trains, and is checked by train.py --check, at the config's max_length
    when its position embeddings allow it; beyond them, at its positions."""
    import shutil

    from arabic_ner.model.building import training_window

    model_dir = tmp_path / "bert"
    shutil.copytree(pretrained_dir, model_dir)
    saved = model_dir / "tokenizer_config.json"
    saved.write_text(json.dumps({**json.loads(saved.read_text(encoding="utf-8")), "model_max_length": 64}), encoding="utf-8")
    for asked, window in ((128, 128), (1024, 512)):  # the directory's BERT has 512 positions
        config = load_config(ROOT / "configs" / "camelbert-msa.yaml", [f"model={model_dir}", f"max_length={asked}", "stride=16"])
        assert training_window(config, load_tokenizer(str(model_dir), None)) == window
        tokenizer, _ = build_for_training(config, [])
        assert tokenizer.model_max_length == window
