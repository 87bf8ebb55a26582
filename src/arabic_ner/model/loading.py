"""Loading and building models and tokenizers: from the Hub, from a local directory, or from scratch.

Weights are loaded only from safetensors files and never with ``trust_remote_code``: a
model directory is data, not code. When the Hub cannot be reached, loading fails with one
message that names the ways out. A saved model is a standard Hugging Face token
classification directory; its ``id2label`` is the one source of truth for the label set.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from ..core.labels import OLD_SCHEMES, SCHEME, check_label_set
from ..core.problems import UserError

log = logging.getLogger(__name__)
META_KEY = "arabic_ner"  # our entry in config.json: how the model's input was made



def window_length(max_length: int, model_config) -> int:
    """Tokens per window, special tokens included: the length asked for (the config's ``max_length``
    in training, the trained tokenizer's ``model_max_length`` in prediction), capped by the model's
    position embeddings. The one formula that training, ``train.py --check``, pretraining and
    prediction use."""
    return min(max_length, model_config.max_position_embeddings)










def check_scheme(model_config, where: str, note: bool = True) -> dict:
    """The ``arabic_ner`` entry of a model's config, after checking that this version reads the
    model as it was trained: a model of an older word scheme is refused with one line that says
    to retrain it, never misread. A model trained elsewhere (no entry) is read with whole words
    and IOB2 labels, which is what it was trained on, with a note."""
    check_label_set(model_config.id2label, where)
    meta = getattr(model_config, META_KEY, None) or {}
    scheme = meta.get("scheme", meta.get("pretokenizer"))
    if scheme in OLD_SCHEMES:
        raise UserError(
            f"{where}: this model was trained by an older arabic_ner that split proclitics off words "
            f"({scheme}); this version feeds the model whole words ({SCHEME}) and would misread it. "
            "Retrain it with train.py on the same config and data."
        )
    if scheme is None:
        if note:
            log.info(
                f"note: {where}: config.json does not say it was trained by arabic_ner; reading it with whole "
                "words and IOB2 labels, so its entities start at word starts",
            )
    elif scheme != SCHEME:
        raise UserError(f"{where}: trained with the word scheme {scheme!r}, which this arabic_ner ({SCHEME}) does not know; upgrade arabic_ner")
    return meta




















def load_trained(path: str, allow_pickle: bool = False):
    """A trained token classifier and its tokenizer, for prediction and evaluation.

    Returns ``(tokenizer, model)``; the label set is ``model.config.id2label``. Pickle (``.bin``)
    weights are refused unless ``allow_pickle``: unpickling can run code.
    """
    from transformers import AutoModelForTokenClassification

    config = _trained_config(path, allow_pickle)
    model = from_pretrained(AutoModelForTokenClassification, path, None, allow_pickle=allow_pickle, config=config)
    tokenizer = load_tokenizer(path, None)
    _check_vocabulary(path, tokenizer, model.get_input_embeddings().num_embeddings)
    return tokenizer, model


def load_trained_config(path: str):
    """``(tokenizer, config)`` of a trained model directory, checked as :func:`load_trained` checks
    them, without reading the weights: what tagging with its ONNX export needs."""
    config = _trained_config(path, allow_pickle=False)
    tokenizer = load_tokenizer(path, None)
    _check_vocabulary(path, tokenizer, config.vocab_size)
    return tokenizer, config


def _trained_config(path: str, allow_pickle: bool):
    from transformers import AutoConfig

    if Path(path).is_dir() and not (Path(path) / "config.json").is_file():
        raise UserError(f"{path}: no config.json, so this is not a model directory; give the directory train.py wrote "
                        "(it holds config.json, model.safetensors and tokenizer.json)")
    config = from_pretrained(AutoConfig, path, None)
    check_scheme(config, path, note=False)  # before any weights are read; the Tagger notes the rest
    if Path(path).is_dir():
        if not allow_pickle:
            _require_safetensors(Path(path))
        check_model_files(Path(path), config)
    return config


def _check_vocabulary(path: str, tokenizer, embeddings: int) -> None:
    if len(tokenizer) > embeddings:
        raise UserError(f"{path}: the tokenizer has {len(tokenizer)} tokens but the model's embeddings only {embeddings}; "
                        "the tokenizer files come from another model. Copy the ones the model was trained with.")


TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "tokenizer.model", "spiece.model", "sentencepiece.bpe.model")


def check_model_files(directory: Path, config) -> None:
    """Before loading: the directory has readable safetensors weights and a classifier with one
    row per label of ``config.id2label``. Each problem is one line."""
    from safetensors import safe_open

    for weights in sorted(directory.glob("*.safetensors")):
        try:
            with safe_open(str(weights), "pt") as f:
                shapes = {key: f.get_slice(key).get_shape() for key in f.keys() if key.endswith("classifier.weight")}
        except Exception as exc:  # safetensors raises its own error types for damaged files
            raise UserError(f"{weights}: unreadable weights ({_first_line(exc)}); the file is damaged or incomplete, "
                            "copy it again or retrain the model") from None
        for key, shape in shapes.items():
            if shape and shape[0] != len(config.id2label):
                raise UserError(f"{directory}: config.json's id2label has {len(config.id2label)} labels but the weights' "
                                f"{key} has {shape[0]} rows; config.json and {weights.name} come from different models")
    inverse = {label: int(i) for i, label in config.id2label.items()}
    if config.label2id and {k: int(v) for k, v in config.label2id.items()} != inverse:
        log.warning(f"warning: {directory}/config.json: label2id does not mirror id2label; predictions use id2label "
                    "(the classifier's rows in order), so check that it names them right")


def load_tokenizer(name: str, revision: str | None):
    from transformers import AutoTokenizer

    local = Path(name)
    if local.is_dir() and not any((local / file).is_file() for file in TOKENIZER_FILES):
        # transformers would build a tokenizer with an empty vocabulary, and every word would be [UNK]
        raise UserError(f"{name}: no tokenizer files ({' or '.join(TOKENIZER_FILES[:2])}); without them every word "
                        "would be [UNK]. Copy them from the directory the model came from (save_pretrained writes them).")
    tokenizer = from_pretrained(AutoTokenizer, name, revision)
    if not tokenizer.is_fast:
        raise UserError(f"{name}: its tokenizer has no fast (Rust) version, which arabic_ner needs for word offsets")
    return tokenizer


def from_pretrained(cls, name: str, revision: str | None, allow_pickle: bool = False, **kwargs):
    """``cls.from_pretrained`` with safetensors only (unless ``allow_pickle``), no remote code, and
    errors that say what to do."""
    kwargs.update(trust_remote_code=False)
    weights = cls.__name__.startswith("AutoModel")
    if weights:
        kwargs.update(use_safetensors=None if allow_pickle else True)
    local = Path(name)
    if local.is_dir():
        if weights and not allow_pickle:
            _require_safetensors(local)
        try:
            return cls.from_pretrained(str(local), **kwargs)
        except Exception as exc:  # a model directory is data: any file in it may be missing, damaged or from another model
            broken = _unreadable_json(local)
            if broken:
                raise UserError(f"{local}: not a usable Hugging Face model directory: its {broken} is not valid JSON; "
                                "copy the file again from where the model came from") from None
            raise UserError(f"{local}: not a usable Hugging Face model directory ({type(exc).__name__}: {_first_line(exc)})") from None
    if local.exists():
        raise UserError(f"{name}: is a file; give the model's directory")
    if local.suffix or name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise UserError(f"{name}: no such model directory; check the path (or give a Hub id like org/name)")
    revision = revision or "main"
    try:  # the local cache first: no network, no retries
        return cls.from_pretrained(name, revision=revision, local_files_only=True, **kwargs)
    except OSError:
        pass
    if _hub_offline():
        raise UserError(
            f"cannot load {name!r}: there is no such local directory, it is not in the Hugging Face cache, "
            "and the Hub cannot be reached from here. "
            f"Ways out: (1) on a machine with access run `hf download {name} --revision {revision}` and copy "
            "~/.cache/huggingface to this machine (the HF cache), or save the model to a directory and set "
            "`model: /path/to/dir` (or --set model=/path/to/dir); (2) use the small from-scratch config, "
            "configs/tiny.yaml, which needs no download."
        )
    try:
        return cls.from_pretrained(name, revision=revision, **kwargs)
    except OSError as exc:
        raise UserError(
            f"cannot load {name!r} (revision {revision}) from the Hub: {_first_line(exc)}. Check the name; "
            "the model must have safetensors weights (model.safetensors); or set `model:` to a local directory."
        ) from None


def _require_safetensors(directory: Path) -> None:
    if any(directory.glob("*.safetensors")) or any(directory.glob("*.safetensors.index.json")):
        return
    if any(directory.glob("*.bin")):
        raise UserError(
            f"{directory}: has only pickle weights (*.bin), which can run code when loaded; arabic_ner loads "
            "safetensors only. If you trust the model, pass --allow-pickle, or convert it once: "
            "AutoModelForTokenClassification.from_pretrained(DIR).save_pretrained(DIR) writes model.safetensors."
        )
    raise UserError(f"{directory}: no model weights (model.safetensors) found; is this a model directory?")


def _hub_offline() -> bool:
    """True when HF_HUB_OFFLINE is set or the Hub does not answer within 3 seconds (without this
    check huggingface_hub retries for about a minute before failing). The probe is a HEAD request
    through huggingface_hub's own HTTP session, so HF_ENDPOINT (a mirror, its port) and the proxy
    variables apply to it as they do to downloads."""
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    if constants.HF_HUB_OFFLINE:
        return True
    try:
        get_session().head(constants.ENDPOINT, timeout=3)
        return False
    except Exception:  # no answer of any kind: DNS, refused, timeout, proxy or TLS failure
        return True


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__




def model_version(directory: str | Path) -> str:
    """``<dir name>-<first 8 hex of the weights' sha256>``: tells Label Studio which model predicted what.

    The sha256 recorded by ``arabic-ner export`` is reused while the weights' files are the very
    ones it hashed (:func:`weights_sha256`), so a 440 MB model is not read again on every run."""
    directory = Path(directory)
    return f"{directory.resolve().name}-{weights_sha256(directory, recorded_weights(directory))[:8]}"


def model_version_later(directory: str | Path) -> Callable[[], str]:
    """:func:`model_version` of ``directory``, computed in a thread from now on; returns the function
    that waits for it (and raises what it raised). Reading and hashing the weights release the GIL,
    so on a second core the hash of a 440 MB model runs while torch and the model are imported and
    loaded, and start-up waits for it only if it is not done by then."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, thread_name_prefix="model-version")
    future = pool.submit(model_version, directory)
    pool.shutdown(wait=False)
    return future.result


# ``arabic-ner export`` (model/onnx_engine.py) writes this file, and records in it, under "weights",
# the sha256 of the weights it exported with what makes it cheap to check (weights_stats).
WEIGHTS_RECORD = Path("onnx", "export.json")


def weights_stats(directory: str | Path) -> list[list]:
    """``[name, size, mtime_ns, inode]`` of each safetensors file of ``directory``: a rewritten, replaced
    or copied file changes at least one of them, so while they hold, the recorded sha256 holds."""
    out = []
    for weights in sorted(Path(directory).glob("*.safetensors")):
        stat = weights.stat()
        out.append([weights.name, stat.st_size, stat.st_mtime_ns, stat.st_ino])
    return out


def weights_sha256(directory: str | Path, record: dict | None = None) -> str:
    """The sha256 of the safetensors files of ``directory``, read in name order as one stream.
    ``record`` (``{"sha256", "files"}``, as :func:`weights_record` returns) is trusted instead of
    reading the files when its ``files`` are :func:`weights_stats` now."""
    import hashlib

    files = weights_stats(directory)
    if record and record.get("files") == files and isinstance(record.get("sha256"), str):
        return record["sha256"]
    key = (str(Path(directory).resolve()), repr(files))
    if key in _HASHED:  # hashed already in this process, and the files are the very ones it read
        return _HASHED[key]
    digest = hashlib.sha256()
    for weights in sorted(Path(directory).glob("*.safetensors")):
        with open(weights, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    if weights_stats(directory) == files:  # else rewritten while it was read: the digest may be of neither version
        _HASHED[key] = digest.hexdigest()
    return digest.hexdigest()


# The weights' sha256 by folder and weights_stats, for the rest of the process: one start checks the
# same weights up to four times (model_version, the export's checks in Tagger.load, its constructor
# and open_session), and where the export's record cannot be brought up to date (a read-only copy,
# whose inodes differ) each check would read a 440 MB model again.
_HASHED: dict[tuple[str, str], str] = {}


def weights_record(directory: str | Path) -> dict:
    """``{"sha256", "files"}``: the weights' hash and what :func:`weights_sha256` checks to trust it."""
    for _ in range(3):
        files = weights_stats(directory)
        sha256 = weights_sha256(directory)
        if weights_stats(directory) == files:  # else rewritten while it was read: the hash may be of neither version
            return {"sha256": sha256, "files": files}
    raise UserError(f"{directory}: its weights kept changing while they were read; wait for the training or copy to end")


def export_record(directory: str | Path) -> dict | None:
    """``onnx/export.json`` of ``directory``, as ``arabic-ner export`` wrote it, if it is there and parses."""
    import json

    try:
        record = json.loads((Path(directory) / WEIGHTS_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def recorded_weights(directory: str | Path) -> dict | None:
    """The weights' record that ``arabic-ner export`` left in ``directory``, if it left a readable one."""
    record = (export_record(directory) or {}).get("weights")
    return record if isinstance(record, dict) else None


def quiet_transformers(verbose: bool) -> None:
    """Unless ``verbose``, no transformers progress bars ("Loading weights", "Writing model shards")."""
    if not verbose:
        from transformers.utils import logging

        logging.disable_progress_bar()


def _unreadable_json(directory: Path) -> str | None:
    """The first ``*.json`` file of a model directory that does not parse, if any."""
    import json

    for path in sorted(directory.glob("*.json")):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return path.name
    return None
