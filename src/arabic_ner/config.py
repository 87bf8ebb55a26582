"""Typed training configuration: a YAML file maps onto :class:`Config`, which checks itself.

An unknown key is an error that names the key (and the nearest known one). Keys follow
transformers' ``TrainingArguments`` wherever one exists, so ``--set learning_rate=3e-5``
means what a transformers user expects. The resolved config is saved next to every model.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .labels import label_names
from .problems import UserError

SCRATCH = "scratch"
# transformers' schedulers that need no arguments beyond the warmup and the number of steps
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt")


@dataclass
class ScratchModel:
    """A small BERT initialised from random weights, with a WordPiece vocabulary trained on the training texts."""

    num_hidden_layers: int = 4
    hidden_size: int = 256
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    vocab_size: int = 8000  # upper bound: characters seen, then the most frequent training words (or pieces)
    min_frequency: int = 1  # a piece must occur this often in the training texts to enter the vocabulary
    vocabulary: str = "words"  # "words": characters + whole words; "subwords": byte-pair word pieces

    VOCABULARIES: typing.ClassVar[tuple[str, ...]] = ("words", "subwords")

    def check(self) -> list[str]:
        problems = [f"scratch.{f.name}: {getattr(self, f.name)} must be 1 or more"
                    for f in dataclasses.fields(self) if f.type in (int, "int") and getattr(self, f.name) < 1]
        if self.vocabulary not in self.VOCABULARIES:
            problems.append(f"scratch.vocabulary: {self.vocabulary!r} must be one of {', '.join(self.VOCABULARIES)}")
        if self.num_attention_heads >= 1 and self.hidden_size % self.num_attention_heads:
            problems.append(f"scratch.hidden_size: {self.hidden_size} is not a multiple of num_attention_heads "
                            f"({self.num_attention_heads}); each head gets hidden_size / num_attention_heads dimensions")
        return problems


@dataclass
class Source:
    """One annotation file to learn from (or score on), with how to read it. In YAML, a plain path
    stands for ``{path: PATH}``."""

    SHORTHAND = "path"  # the field a plain string fills

    path: str = ""
    label_map: dict[str, str | None] = field(default_factory=dict)  # the file's label -> a declared label, or null to drop it
    weight: float = 1.0  # how often each training window is seen per epoch (0.1: a tenth of them, drawn anew each epoch)
    holdout: bool = True  # dev split and CV folds draw on its documents; false: always trained on
    skip_bad_lines: bool = False  # CoNLL: skip lines that cannot be read, with a warning, instead of stopping
    spans_include_proclitics: bool = False  # its entities include attached و ف ب ل ك (ANERcorp): move them out, see annotations.move_proclitics_out

    def check(self, labels: list[str], where: str) -> list[str]:
        problems = []
        if not self.path:
            problems.append(f"{where}: path is empty")
        for source_label, target in self.label_map.items():
            if target is not None and target not in labels:
                problems.append(f"{where}: label_map maps {source_label!r} to {target!r}, which is not in labels ({', '.join(labels)})")
        if not math.isfinite(self.weight) or self.weight < 0:
            problems.append(f"{where}: weight {self.weight} must be a finite number >= 0")
        return problems


@dataclass
class Config:
    FILE: typing.ClassVar[str] = "training_config.yaml"  # saved beside the model and its checkpoints

    model: str = "CAMeL-Lab/bert-base-arabic-camelbert-msa"
    revision: str = "main"
    scratch: ScratchModel | None = None
    labels: list[str] = field(default_factory=lambda: ["LOC", "ORG", "WEAPON", "COUNT", "DATE"])
    train: list[Source] = field(default_factory=lambda: [Source("annotations/corpus.json")])
    dev: Source | None = None
    init_from: str | None = None
    dev_fraction: float = 0.2
    max_length: int = 512
    stride: int = 128
    output_dir: str = "models/camelbert-msa"
    num_train_epochs: float = 10.0
    learning_rate: float = 5e-5
    per_device_train_batch_size: int = 8
    per_device_eval_batch_size: int = 32
    gradient_accumulation_steps: int = 1
    weight_decay: float = 0.01
    warmup_steps: float = 0.1
    lr_scheduler_type: str = "linear"
    seed: int = 42
    bf16: bool = False
    fp16: bool = False
    logging_steps: int = 10
    max_train_documents: int | None = None

    def __post_init__(self) -> None:
        self.train = [Source(s) if isinstance(s, str) else s for s in self.train]
        if isinstance(self.dev, str):
            self.dev = Source(self.dev)
        self.validate()

    def validate(self) -> None:
        """Check values that types alone cannot; raise a UserError that says what to change."""
        problems = []
        if not self.labels:
            problems.append("labels: must list at least one entity type, e.g. [LOC, ORG]")
        for label in self.labels:
            if not label or label == "O" or "-" in label or label != label.strip():
                problems.append(f"labels: {label!r} is not a usable entity type (no '-', not 'O', not empty)")
        if len(set(self.labels)) != len(self.labels):
            problems.append(f"labels: {self.labels} lists a type twice")
        if not self.train:
            problems.append("train: list at least one annotation file (Label Studio export or CoNLL)")
        if not self.output_dir.strip():
            problems.append("output_dir: must name a folder for the model, e.g. models/tiny")
        for n, source in enumerate(self.train):
            problems += source.check(self.labels, f"train[{n}] ({source.path})")
        if self.dev is not None:
            problems += self.dev.check(self.labels, f"dev ({self.dev.path})")
        if self.train and not any(s.holdout for s in self.train) and self.dev is None and self.dev_fraction > 0:
            problems.append("train: no source has holdout: true, so there is nothing to split dev documents from; "
                            "set holdout: true on one, give a `dev:` file, or set dev_fraction: 0")
        if self.model == SCRATCH and self.scratch is None and self.init_from is None:
            problems.append("model: 'scratch' needs a `scratch:` block (see configs/tiny.yaml)")
        if not 16 <= self.max_length <= 8192:
            problems.append(f"max_length: {self.max_length} must be between 16 and 8192 (BERT models use 512)")
        if not 0 <= self.stride <= (self.max_length - 2) // 2:
            problems.append(
                f"stride: {self.stride} must be between 0 and (max_length - 2) / 2 = {(self.max_length - 2) // 2}"
            )
        if not 0 <= self.dev_fraction < 1:
            problems.append(f"dev_fraction: {self.dev_fraction} must be in [0, 1)")
        if self.bf16 and self.fp16:
            problems.append("bf16 and fp16: choose one")
        problems += self._check_numbers()
        if self.scratch is not None:
            problems += self.scratch.check()
        if problems:
            raise UserError(*(f"config error: {p}" for p in problems))

    def _check_numbers(self) -> list[str]:
        problems = check_trainer_numbers(self)
        if self.max_train_documents is not None and self.max_train_documents < 1:
            problems.append(f"max_train_documents: {self.max_train_documents} must be 1 or more (or null for all)")
        return problems

    def advice(self) -> list[str]:
        """Values that are allowed but probably a mistake: printed as warnings."""
        advice = trainer_advice(self)
        if self.dev_fraction > 0.5:
            advice.append(f"dev_fraction {self.dev_fraction:g} keeps more documents for dev than for training")
        return advice

    @property
    def model_labels(self) -> list[str]:
        """The label list a new model gets, in id order (see :mod:`arabic_ner.labels`); a trained
        model's own list is its ``id2label``."""
        return label_names(self.labels)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        save_config(self, path, "The resolved configuration this model was trained with (arabic_ner).")


@dataclass
class PretrainConfig:
    """Masked-language-model pretraining (``pretrain.py``): a BERT, from scratch or pretrained,
    learns to fill in masked words of unlabeled texts; the result is a ``model:`` for train.py."""

    FILE: typing.ClassVar[str] = "pretraining_config.yaml"  # saved beside the model and its checkpoints

    model: str = SCRATCH
    revision: str = "main"
    scratch: ScratchModel | None = None
    texts: list[str] = field(default_factory=lambda: ["data/raw"])
    output_dir: str = "models/pretrained"
    max_length: int = 128
    mlm_probability: float = 0.15
    dev_fraction: float = 0.05
    num_train_epochs: float = 10.0
    learning_rate: float = 5e-4
    per_device_train_batch_size: int = 16
    per_device_eval_batch_size: int = 32
    gradient_accumulation_steps: int = 1
    weight_decay: float = 0.01
    warmup_steps: float = 0.1
    lr_scheduler_type: str = "linear"
    seed: int = 42
    bf16: bool = False
    fp16: bool = False
    logging_steps: int = 50

    def __post_init__(self) -> None:
        problems = []
        if not self.texts:
            problems.append("texts: list at least one folder of .txt articles, .txt, .jsonl or Label Studio .json file")
        if not self.output_dir.strip():
            problems.append("output_dir: must name a folder for the model, e.g. models/tiny-mlm")
        if self.model == SCRATCH and self.scratch is None:
            problems.append("model: 'scratch' needs a `scratch:` block (see configs/tiny-mlm.yaml)")
        if not 16 <= self.max_length <= 8192:
            problems.append(f"max_length: {self.max_length} must be between 16 and 8192 (BERT models use 512)")
        if not 0 < self.mlm_probability < 1:
            problems.append(f"mlm_probability: {self.mlm_probability} must be between 0 and 1 (BERT masks 0.15 of the words)")
        if not 0 <= self.dev_fraction < 1:
            problems.append(f"dev_fraction: {self.dev_fraction} must be in [0, 1)")
        if self.bf16 and self.fp16:
            problems.append("bf16 and fp16: choose one")
        problems += check_trainer_numbers(self)
        if self.scratch is not None:
            problems += self.scratch.check()
        if problems:
            raise UserError(*(f"config error: {p}" for p in problems))

    def advice(self) -> list[str]:
        return trainer_advice(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        save_config(self, path, "The resolved configuration this masked language model was pretrained with (arabic_ner).")


def save_config(config, path: str | Path, header: str) -> None:
    Path(path).write_text(f"# {header}\n" + yaml.safe_dump(config.to_dict(), allow_unicode=True, sort_keys=False), encoding="utf-8")


def check_trainer_numbers(config) -> list[str]:
    """Problems with the values a config passes to the Trainer (shared by Config and PretrainConfig)."""
    problems = []
    for name in ("num_train_epochs", "learning_rate", "weight_decay", "warmup_steps"):
        value = getattr(config, name)
        if not math.isfinite(value):
            problems.append(f"{name}: {value} is not a finite number")
    for name in ("num_train_epochs", "learning_rate", "per_device_train_batch_size", "per_device_eval_batch_size",
                 "gradient_accumulation_steps", "logging_steps"):
        value = getattr(config, name)
        if math.isfinite(value) and not value > 0:
            problems.append(f"{name}: {value} must be positive")
    for name in ("weight_decay", "warmup_steps"):
        if getattr(config, name) < 0:
            problems.append(f"{name}: {getattr(config, name)} must be 0 or more")
    if config.lr_scheduler_type not in SCHEDULERS:
        close = difflib.get_close_matches(config.lr_scheduler_type, SCHEDULERS, n=1)
        problems.append(f"lr_scheduler_type: {config.lr_scheduler_type!r} is not one of {', '.join(SCHEDULERS)}"
                        + (f"; did you mean {close[0]!r}?" if close else ""))
    if not 0 <= config.seed < 2**32:
        problems.append(f"seed: {config.seed} must be between 0 and 2**32 - 1")
    if not config.revision:
        problems.append("revision: must name a branch, tag or commit (default: main)")
    return problems


def trainer_advice(config) -> list[str]:
    """Values of the Trainer's keys that are allowed but probably a mistake: printed as warnings."""
    advice = []
    if config.learning_rate > 0.01:
        advice.append(f"learning_rate {config.learning_rate:g} is very high (fine-tuning uses about 1e-5 to 1e-4, "
                      "a small model from scratch about 1e-3); training will likely diverge")
    if config.warmup_steps >= 1 and config.warmup_steps > 10_000:
        advice.append(f"warmup_steps {config.warmup_steps:g}: the learning rate rises for that many steps; "
                      "a value below 1 is a fraction of all steps (0.1 is usual)")
    if config.scratch is not None and config.scratch.vocab_size < 1000:
        advice.append(f"scratch.vocab_size {config.scratch.vocab_size} is small: the vocabulary holds every character "
                      "first, so few or no whole words fit and most words are spelt letter by letter")
    return advice


def parse_label_map(items: list[str]) -> dict[str, str | None]:
    """``["PERS=null", "GPE=LOC"]`` (the scripts' ``--map``) as a label map."""
    label_map = {}
    for item in items:
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise UserError(f"--map {item!r}: expected LABEL=TARGET, e.g. --map GPE=LOC, or LABEL=null to drop a label")
        label_map[source.strip()] = None if target.strip() in ("null", "None", "~") else target.strip()
    return label_map


def load_config(path: str | Path, overrides: list[str] = (), cls=None) -> Config:
    """Read a YAML config and apply ``key=value`` overrides (``scratch.hidden_size=128`` for nested
    keys). An error in a value names where the value came from: the file, or the ``--set``.
    ``cls`` is the config's type: :class:`Config` (train.py) or :class:`PretrainConfig` (pretrain.py)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: config file not found; pick one from configs/ (e.g. configs/tiny.yaml)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a UTF-8 text file (byte {exc.start}); a config is a YAML file like configs/tiny.yaml") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: {_yaml_problem(exc)}") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: a config must be a mapping of keys to values, not a {type(raw).__name__}")
    origins = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {item!r}: expected key=value, e.g. --set num_train_epochs=3")
        try:
            parsed = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError as exc:
            raise UserError(f"--set {item}: the value is not valid YAML ({_yaml_problem(exc)}); quote it, e.g. --set 'key=\"...\"'") from None
        _set_dotted(raw, key.strip(), parsed, f"--set {item}")
        origins[key.strip()] = f"--set {item}"
    return from_dict(cls or Config, raw, str(path), origins=origins)


def _yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"{where}malformed YAML ({getattr(exc, 'problem', None) or exc})"


def _set_dotted(tree: dict, dotted: str, value, where: str) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        child = tree.get(part)
        if child is None:
            child = tree[part] = {}
        if not isinstance(child, dict):
            raise UserError(f"{where}: {part!r} is not a section, so {dotted!r} cannot be set")
        tree = child
    tree[last] = value


def from_dict(cls, raw: dict, source: str, prefix: str = "", origins: dict[str, str] | None = None):
    """Build dataclass ``cls`` from ``raw``, checking every key and type. ``origins`` names where a
    dotted key's value came from when not from ``source`` (``--set lr=...``)."""
    if not isinstance(raw, dict):
        raise UserError(f"{_origin(origins, prefix.rstrip('.'), source)}: {prefix.rstrip('.') or 'config'} must be a mapping")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in raw.items():
        where = _origin(origins, f"{prefix}{key}", source)
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else f"; known keys: {', '.join(known)}"
            raise UserError(f"{where}: unknown config key '{prefix}{key}'{hint}")
        kwargs[key] = _coerce(value, hints[key], where, f"{prefix}{key}", origins)
    return cls(**kwargs)


def _origin(origins: dict[str, str] | None, dotted: str, source: str) -> str:
    """Where the value at ``dotted`` came from: the ``--set`` that set it or a section above it, else ``source``."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        if origins and ".".join(parts[:n]) in origins:
            return origins[".".join(parts[:n])]
    return source


def _coerce(value, hint, source: str, key: str, origins: dict[str, str] | None = None):
    where = f"{source}: {key}"
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (hint,) = [o for o in options if o is not type(None)]
        origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if isinstance(value, str) and hasattr(hint, "SHORTHAND"):
            value = {hint.SHORTHAND: value}
        return from_dict(hint, value, source, key + ".", origins)
    if origin is dict:
        key_hint, value_hint = typing.get_args(hint)
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a mapping like {{PERS: null, GPE: LOC}}, got {value!r}")
        return {_coerce(k, key_hint, source, key): _coerce(v, value_hint, source, f"{key}.{k}") for k, v in value.items()}
    if origin is list:
        (item,) = typing.get_args(hint)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise UserError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, item, source, key, origins) for v in value]
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML reads 5e-5 as a string (it wants 5.0e-5)
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is str:
        if isinstance(value, str):
            return value
    raise UserError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {value!r}")
