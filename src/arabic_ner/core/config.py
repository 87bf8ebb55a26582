"""Typed training configuration: a YAML file maps onto :class:`Config`, a pydantic model that checks itself.

An unknown key is an error that names the key (and the nearest known one). Keys follow
transformers' ``TrainingArguments`` wherever one exists, so ``--set learning_rate=3e-5``
means what a transformers user expects. The resolved config is saved next to every model.
"""

from __future__ import annotations

import difflib
import math
import typing
from pathlib import Path
from typing import Annotated, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from .labels import label_names
from .problems import UserError, cut, quoted

SCRATCH = "scratch"
MAX_SIZE = 10_000_000  # above any layer count, width or vocabulary a model from scratch here could have
# transformers' schedulers that need no arguments beyond the warmup and the number of steps
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt")


def _number(value):
    """YAML reads 5e-5 as a string (it wants 5.0e-5): take any string that Python reads as a float."""
    try:
        return float(value) if isinstance(value, str) else value
    except ValueError:
        return value


T = TypeVar("T")
Number = Annotated[float, BeforeValidator(_number)]
OneOrMore = Annotated[list[T], BeforeValidator(lambda value: [value] if isinstance(value, str) else value)]


def help_of(cls: type[BaseModel], name: str) -> str:
    """The help text of field ``name`` of config class ``cls``: the field's description, which each
    ``configs/*.yaml`` gives as the key's comment (a test checks that they agree)."""
    return cls.model_fields[name].description


class Keys(BaseModel):
    """A block of config keys: no unknown keys, no type conversions beyond YAML's own (but 5e-5 is a float)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ScratchModel(Keys):
    """A small BERT initialised from random weights, with a WordPiece vocabulary trained on the training texts."""

    VOCABULARIES: ClassVar[tuple[str, ...]] = ("words", "subwords")

    num_hidden_layers: int = Field(4, description="transformer layers (int >= 1)")
    hidden_size: int = Field(256, description="width; must be divisible by num_attention_heads")
    num_attention_heads: int = Field(4, description="attention heads")
    intermediate_size: int = Field(1024, description="feed-forward width, usually 4 x hidden_size")
    vocab_size: int = Field(8000, description="most WordPiece pieces: all characters seen, then the most frequent training words (or pieces)")
    min_frequency: int = Field(1, description="a piece must occur this often in the training texts to be learnt (int >= 1)")
    vocabulary: str = Field("words", description='"words": characters + whole words; "subwords": byte-pair word pieces, as pretrained BERTs')
    dropout: Number = Field(0.1, description="dropout on hidden states and attention weights, 0 <= p < 1 (BERT's 0.1)")

    def check(self) -> list[str]:
        sizes = [name for name, info in type(self).model_fields.items() if info.annotation is int]
        problems = [f"scratch.{name}: {getattr(self, name)} must be 1 or more" for name in sizes if getattr(self, name) < 1]
        problems += [f"scratch.{name}: {cut(str(getattr(self, name)))} is more than a model from scratch can have "
                     f"(at most {MAX_SIZE:,})" for name in sizes if getattr(self, name) > MAX_SIZE]
        if not 0 <= self.dropout < 1:
            problems.append(f"scratch.dropout: {self.dropout} must be at least 0 and below 1")
        if self.vocabulary not in self.VOCABULARIES:
            problems.append(f"scratch.vocabulary: {quoted(self.vocabulary)} must be one of {', '.join(self.VOCABULARIES)}")
        if self.num_attention_heads >= 1 and self.hidden_size % self.num_attention_heads:
            problems.append(f"scratch.hidden_size: {self.hidden_size} is not a multiple of num_attention_heads "
                            f"({self.num_attention_heads}); each head gets hidden_size / num_attention_heads dimensions")
        return problems


class Source(Keys):
    """One annotation file to learn from (or score on), with how to read it. In YAML (and as the one
    positional argument), a plain path stands for ``{path: PATH}``."""

    path: str = Field("", description="a Label Studio JSON export or a CoNLL-style file")
    label_map: dict[str, str | None] = Field(default_factory=dict, description="the file's label -> a declared label, or null to drop it")
    weight: Number = Field(1.0, description="how often each training window is seen per epoch (0.1: a tenth of them, drawn anew each epoch)")
    holdout: bool = Field(True, description="dev split and CV folds draw on its documents; false: always trained on")
    skip_bad_lines: bool = Field(False, description="CoNLL: skip lines that cannot be read, with a warning, instead of stopping")
    spans_include_proclitics: bool = Field(False, description="its entities include attached و ف ب ل ك (ANERcorp): move them out, "
                                                              "see annotations.move_proclitics_out")

    def __init__(self, path: str | None = None, /, **keys) -> None:
        super().__init__(**keys if path is None else {"path": path, **keys})

    @model_validator(mode="before")
    @classmethod
    def _a_path_alone(cls, value):
        return {"path": value} if isinstance(value, str) else value

    def check(self, labels: list[str], where: str) -> list[str]:
        problems = []
        if not self.path:
            problems.append(f"{where}: path is empty")
        for source_label, target in self.label_map.items():
            if target is not None and target not in labels:
                problems.append(f"{where}: label_map maps {quoted(source_label)} to {quoted(target)}, which is not in labels ({', '.join(labels)})")
        if not math.isfinite(self.weight) or self.weight < 0:
            problems.append(f"{where}: weight {self.weight} must be a finite number >= 0")
        return problems


class TrainerKeys(Keys):
    """The keys a config passes to the Hugging Face Trainer, named as in ``TrainingArguments``; shared
    by :class:`Config` and :class:`PretrainConfig`, written after a config's own keys."""

    LAST: ClassVar[tuple[str, ...]] = ()  # a subclass's own keys that go after these in YAML

    num_train_epochs: Number = Field(10.0, description="passes over the training windows (float)")
    learning_rate: Number = Field(5e-5, description="peak AdamW learning rate")
    per_device_train_batch_size: int = Field(8, description="windows per training step and device")
    per_device_eval_batch_size: int = Field(32, description="windows per evaluation step")
    gradient_accumulation_steps: int = Field(1, description="steps to accumulate before an update")
    weight_decay: Number = Field(0.01, description="AdamW weight decay")
    warmup_steps: Number = Field(0.1, description="warm-up: a fraction (< 1) of all steps, or a number of steps")
    lr_scheduler_type: str = Field("linear", description="transformers scheduler name: linear, cosine, constant, ...")
    seed: int = Field(42, description="random seed: model init, shuffling, the dev split (pretraining: the masks)")
    bf16: bool = Field(False, description="bfloat16 mixed precision on a GPU, or on a CPU with native bf16 (AVX512-BF16/AMX); else fp32, with a note")
    fp16: bool = Field(False, description="float16 mixed precision, GPUs only (choose one of bf16/fp16)")
    logging_steps: int = Field(10, description="log the training loss every N steps")

    @model_validator(mode="after")
    def _check(self):
        """Check values that types alone cannot; raise a UserError that says what to change."""
        if problems := self.problems():
            raise UserError(*(f"config error: {p}" for p in problems))
        return self

    def problems(self) -> list[str]:
        """Problems with the values passed to the Trainer (a subclass adds its own)."""
        problems = [f"{name}: {getattr(self, name)} is not a finite number"
                    for name in ("num_train_epochs", "learning_rate", "weight_decay", "warmup_steps") if not math.isfinite(getattr(self, name))]
        for name in ("num_train_epochs", "learning_rate", "per_device_train_batch_size", "per_device_eval_batch_size",
                     "gradient_accumulation_steps", "logging_steps"):
            value = getattr(self, name)
            if math.isfinite(value) and not value > 0:
                problems.append(f"{name}: {value} must be positive")
        problems += [f"{name}: {getattr(self, name)} must be 0 or more" for name in ("weight_decay", "warmup_steps") if getattr(self, name) < 0]
        if self.lr_scheduler_type not in SCHEDULERS:
            close = difflib.get_close_matches(self.lr_scheduler_type, SCHEDULERS, n=1)
            problems.append(f"lr_scheduler_type: {quoted(self.lr_scheduler_type)} is not one of {', '.join(SCHEDULERS)}"
                            + (f"; did you mean {close[0]!r}?" if close else ""))
        if not 0 <= self.seed < 2**32:
            problems.append(f"seed: {self.seed} must be between 0 and 2**32 - 1")
        if self.bf16 and self.fp16:
            problems.append("bf16 and fp16: choose one")
        return problems

    def advice(self) -> list[str]:
        """Values that are allowed but probably a mistake: printed as warnings."""
        advice = []
        if self.learning_rate > 0.01:
            advice.append(f"learning_rate {self.learning_rate:g} is very high (fine-tuning uses about 1e-5 to 1e-4, "
                          "a small model from scratch about 1e-3); training will likely diverge")
        if self.warmup_steps >= 1 and self.warmup_steps > 10_000:
            advice.append(f"warmup_steps {self.warmup_steps:g}: the learning rate rises for that many steps; "
                          "a value below 1 is a fraction of all steps (0.1 is usual)")
        scratch = getattr(self, "scratch", None)
        if scratch is not None and scratch.vocab_size < 1000:
            advice.append(f"scratch.vocab_size {scratch.vocab_size} is small: the vocabulary holds every character "
                          "first, so few or no whole words fit and most words are spelt letter by letter")
        return advice

    def to_dict(self) -> dict:
        """The config as its YAML file has it: the class's own keys, then the Trainer's, then ``LAST``."""
        plain = self.model_dump()
        trainer = list(TrainerKeys.model_fields)
        own = [k for k in plain if k not in trainer and k not in self.LAST]
        return {k: plain[k] for k in own + trainer + list(self.LAST)}

    def save(self, path: str | Path) -> None:
        """Write the config as YAML, in :meth:`to_dict`'s order, under a one-line comment."""
        text = yaml.dump(self.to_dict(), Dumper=_NoAliases, allow_unicode=True, sort_keys=False)
        Path(path).write_text(f"# {self.HEADER}\n{text}", encoding="utf-8")


class Config(TrainerKeys):
    FILE: ClassVar[str] = "training_config.yaml"  # saved beside the model and its checkpoints
    HEADER: ClassVar[str] = "The resolved configuration this model was trained with (arabic_ner)."
    LAST: ClassVar[tuple[str, ...]] = ("max_train_documents",)

    model: str = Field("CAMeL-Lab/bert-base-arabic-camelbert-msa",
                       description='"scratch" (random init, the scratch block), a Hub id, or a local model directory')
    revision: str = Field("main", description="Hub revision (branch, tag or commit); ignored for scratch and local directories")
    scratch: ScratchModel | None = Field(None, description="only read when model is scratch")
    labels: OneOrMore[str] = Field(default_factory=lambda: ["LOC", "ORG", "WEAPON", "COUNT", "DATE"],
                                   description="entity types; saved as the model's id2label (O, B-X, I-X)")
    train: OneOrMore[Source] = Field(default_factory=lambda: [Source("annotations/corpus.json")],
                                     description="Label Studio JSON exports and/or CoNLL-style files, any name (--train overrides)")
    dev: Source | None = Field(None, description="dev annotations (a path or a source mapping); null = split dev_fraction of the "
                                                 "training documents off, by document")
    init_from: str | None = Field(None, description="a token classifier (directory or Hub id) to start from: its encoder, tokenizer "
                                                    "and the classifier rows of labels with the same name")
    dev_fraction: Number = Field(0.2, description="share of documents held out for dev when dev is null (0 = no dev, keep the last epoch)")
    max_length: int = Field(512, description="tokens per window, special tokens included; longer documents are windowed")
    stride: int = Field(128, description="overlap between windows, in tokens (0 .. (max_length-2)/2)")
    output_dir: str = Field("models/camelbert-msa", description="the saved model directory (--output-dir overrides)")
    max_train_documents: int | None = Field(None, description="debug: train on the first N documents only")

    def problems(self) -> list[str]:
        problems = []
        if not self.labels:
            problems.append("labels: must list at least one entity type, e.g. [LOC, ORG]")
        problems += [f"labels: {quoted(label)} is not a usable entity type (no '-', not 'O', not empty)"
                     for label in self.labels if not label or label == "O" or "-" in label or label != label.strip()]
        if len(set(self.labels)) != len(self.labels):
            problems.append(f"labels: {quoted(self.labels)} lists a type twice")
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
        if not 0 <= self.stride <= (self.max_length - 2) // 2:
            problems.append(f"stride: {self.stride} must be between 0 and (max_length - 2) / 2 = {(self.max_length - 2) // 2}")
        if self.max_train_documents is not None and self.max_train_documents < 1:
            problems.append(f"max_train_documents: {self.max_train_documents} must be 1 or more (or null for all)")
        return problems + super().problems() + _model_problems(self)

    def advice(self) -> list[str]:
        advice = super().advice()
        if self.dev_fraction > 0.5:
            advice.append(f"dev_fraction {self.dev_fraction:g} keeps more documents for dev than for training")
        return advice

    @property
    def model_labels(self) -> list[str]:
        """The label list a new model gets, in id order (see :mod:`arabic_ner.core.labels`); a trained
        model's own list is its ``id2label``."""
        return label_names(self.labels)


class PretrainConfig(TrainerKeys):
    """Masked-language-model pretraining (``pretrain.py``): a BERT, from scratch or pretrained,
    learns to fill in masked words of unlabeled texts; the result is a ``model:`` for train.py."""

    FILE: ClassVar[str] = "pretraining_config.yaml"  # saved beside the model and its checkpoints
    HEADER: ClassVar[str] = "The resolved configuration this masked language model was pretrained with (arabic_ner)."

    model: str = Field(SCRATCH, description='"scratch" (random init, the scratch block, vocabulary learnt from the texts), a Hub id, or a local BERT directory')
    revision: str = Field("main", description=help_of(Config, "revision"))
    scratch: ScratchModel | None = Field(None, description=help_of(Config, "scratch"))
    texts: OneOrMore[str] = Field(default_factory=lambda: ["data/raw"],
                                  description="unlabeled texts: folders of .txt articles, .txt, .jsonl or Label Studio .json files")
    output_dir: str = Field("models/pretrained", description="the pretrained model directory, a model: for train.py (--output-dir overrides)")
    max_length: int = Field(128, description="tokens per window, special tokens included; longer documents are windowed, never truncated")
    mlm_probability: Number = Field(0.15, description="share of words masked, whole words (80% [MASK], 10% a random piece, 10% kept)")
    dev_fraction: Number = Field(0.05, description="share of windows held out, masked once, to measure the masked-word loss before and after")
    # The Trainer's keys, with defaults for pretraining (the help text is TrainerKeys')
    learning_rate: Number = Field(5e-4, description=help_of(TrainerKeys, "learning_rate"))
    per_device_train_batch_size: int = Field(16, description=help_of(TrainerKeys, "per_device_train_batch_size"))
    logging_steps: int = Field(50, description=help_of(TrainerKeys, "logging_steps"))

    def problems(self) -> list[str]:
        problems = []
        if not self.texts:
            problems.append("texts: list at least one folder of .txt articles, .txt, .jsonl or Label Studio .json file")
        if not self.output_dir.strip():
            problems.append("output_dir: must name a folder for the model, e.g. models/tiny-mlm")
        if self.model == SCRATCH and self.scratch is None:
            problems.append("model: 'scratch' needs a `scratch:` block (see configs/tiny-mlm.yaml)")
        if not 0 < self.mlm_probability < 1:
            problems.append(f"mlm_probability: {self.mlm_probability} must be between 0 and 1 (BERT masks 0.15 of the words)")
        return problems + super().problems() + _model_problems(self)


def _model_problems(config: Config | PretrainConfig) -> list[str]:
    """Problems with the keys both configs have besides the Trainer's: the model's revision, its
    window length, the held-out share and the scratch block."""
    problems = []
    if not config.revision:
        problems.append("revision: must name a branch, tag or commit (default: main)")
    if not 16 <= config.max_length <= 8192:
        problems.append(f"max_length: {config.max_length} must be between 16 and 8192 (BERT models use 512)")
    if not 0 <= config.dev_fraction < 1:
        problems.append(f"dev_fraction: {config.dev_fraction} must be in [0, 1)")
    return problems + (config.scratch.check() if config.scratch is not None else [])


def parse_label_map(items: list[str]) -> dict[str, str | None]:
    """``["PERS=null", "GPE=LOC"]`` (the scripts' ``--map``) as a label map. A label given two
    different targets is an error naming both, not the last one silently winning."""
    label_map, given = {}, {}
    for item in items:
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise UserError(f"--map {quoted(item)}: expected LABEL=TARGET, e.g. --map GPE=LOC, or LABEL=null to drop a label")
        source, target = source.strip(), None if target.strip() in ("null", "None", "~") else target.strip()
        if source in label_map and label_map[source] != target:
            raise UserError(f"--map {cut(given[source])} and --map {cut(item)}: {cut(source)} is given two targets; "
                            "give each label one (LABEL=TARGET, or LABEL=null to drop it)")
        label_map[source], given[source] = target, item
    return label_map


def load_config(path: str | Path, overrides: list[str] = (), cls: type[TrainerKeys] = Config) -> Config:
    """Read a YAML config and apply ``key=value`` overrides (``scratch.hidden_size=128`` for nested
    keys). An error in a value names where the value came from: the file, or the ``--set``.
    ``cls`` is the config's type: :class:`Config` (train.py) or :class:`PretrainConfig` (pretrain.py)."""
    path = Path(path)
    example = "configs/tiny.yaml" if cls is Config else "configs/tiny-mlm.yaml"
    if not path.is_file():
        raise UserError(f"{path}: config file not found; pick one from configs/ (e.g. {example})")
    try:
        raw = _read_yaml(path.read_text(encoding="utf-8"), str(path))
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a UTF-8 text file (byte {exc.start}); a config is a YAML file like {example}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: {_yaml_problem(exc)}") from None
    if raw is None:  # every key would take its default, and the first error would be about a model never asked for
        raise UserError(f"{path}: the config is empty; copy {example} (every key, each with a comment saying what it does) and edit it")
    if not isinstance(raw, dict):
        raise UserError(f"{path}: a config must be a mapping of keys to values, not a {type(raw).__name__}")
    _check_command(raw, path, cls)
    origins = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {quoted(item)}: expected key=value, e.g. --set num_train_epochs=3")
        try:
            parsed = _read_yaml(value, f"--set {cut(item)}") if value.strip() else None
        except yaml.YAMLError as exc:
            raise UserError(f"--set {cut(item)}: the value is not valid YAML ({_yaml_problem(exc)}); "
                            "quote it, e.g. --set 'key=\"...\"'") from None
        _set_dotted(raw, key.strip(), parsed, f"--set {cut(item)}")
        origins[key.strip()] = f"--set {cut(item)}"
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        raise UserError(*(_error_line(cls, error, str(path), origins) for error in exc.errors(include_url=False))) from None


class _Refused(yaml.YAMLError):
    """YAML that parses but that a config must not hold (an alias, a key given twice)."""


class _NoAliases(yaml.SafeDumper):
    """Writes a value that appears twice out twice, never as &anchor / *alias (which configs refuse)."""

    def ignore_aliases(self, data) -> bool:
        return True


class ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader, stricter where a config can only mean a mistake: an anchor or alias
    (a few KB of ``*alias`` can expand to gigabytes, and no config needs one) and a key given twice
    (PyYAML would keep the last one without a word) are refused, with their line numbers."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(f"line {event.start_mark.line + 1}: YAML aliases (&anchor / *alias) are not allowed in a config; "
                           "write the value out")
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        first = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                earlier, earlier_value = first.setdefault(key, (key_node, value_node))
            except TypeError:
                continue  # an unhashable key: SafeLoader's own error says so
            if earlier is not key_node:
                given = [f"{_as_written(v)}on line {k.start_mark.line + 1}" for k, v in ((earlier, earlier_value), (key_node, value_node))]
                raise _Refused(f"key {quoted(key)} is given twice: {given[0]} and {given[1]}; keep one (YAML would silently use the last)")
        return super().construct_mapping(node, deep)


def _as_written(node: yaml.Node) -> str:
    """A scalar value as the file writes it, and a space (``1.0e-3 ``); nothing for a list or mapping."""
    return f"{cut(node.value, 40)} " if isinstance(node, yaml.ScalarNode) else ""


def _read_yaml(text: str, where: str):
    """The value of YAML ``text`` (None when it holds nothing, or only comments), read with
    :class:`ConfigLoader`. What it refuses is one UserError line that starts with ``where``;
    malformed YAML is the caller's to report (a yaml.YAMLError)."""
    try:
        return yaml.load(text, Loader=ConfigLoader)  # a SafeLoader: no Python objects
    except _Refused as exc:
        raise UserError(f"{where}: {exc}") from None


def _check_command(raw: dict, path: Path, cls: type[TrainerKeys]) -> None:
    """A pretraining config given to train, or a training config to pretrain: say which command
    reads it, rather than only that its keys are unknown."""
    if cls is Config and "texts" in raw:
        raise UserError(f"{path}: this is a pretraining config (it has `texts`); use arabic-ner pretrain --config {path}")
    mine = [key for key in ("labels", "train") if key in raw]
    if cls is PretrainConfig and mine:
        raise UserError(f"{path}: this is a training config (it has `{mine[0]}`); use arabic-ner train --config {path}")


def _yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"{where}malformed YAML ({getattr(exc, 'problem', None) or exc})"


def _set_dotted(tree: dict, dotted: str, value, where: str) -> None:
    if "" in dotted.split("."):
        raise UserError(f"{where}: {quoted(dotted)} is not a key (an empty part between dots); write KEY=VALUE or SECTION.KEY=VALUE")
    *parents, last = dotted.split(".")
    for part in parents:
        child = tree.get(part)
        if child is None:
            child = tree[part] = {}
        if not isinstance(child, dict):
            raise UserError(f"{where}: {quoted(part)} is not a section, so {quoted(dotted)} cannot be set")
        tree = child
    tree[last] = value


EXPECTED = {"int": "int", "float": "float", "bool": "bool", "string": "str", "list": "a list",
            "dict": "a mapping like {PERS: null, GPE: LOC}", "model": "a mapping"}


def _error_line(cls: type[Keys], error: dict, source: str, origins: dict[str, str]) -> str:
    """One pydantic error as one line: where the value came from (the file or the ``--set``), the
    dotted key, the value and what is allowed."""
    loc, kind = error["loc"], error["type"]
    unknown = kind in ("extra_forbidden", "invalid_key")
    if loc[-1:] == ("[key]",):  # a label_map's key: the label_map is wrong
        loc = loc[:-2]
    elif isinstance(loc[-1], int) and not unknown:  # a list's item: the list is wrong
        loc = loc[:-1]
    prefix = "".join(f"{part}." for part in loc[:-1] if not isinstance(part, int))  # train[0].path is 'train.path'
    key = prefix + str(loc[-1])
    parts = key.split(".")
    where = next((origins[".".join(parts[:n])] for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in origins), source)
    if unknown:
        known = list(_model_at(cls, loc).model_fields)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        return (f"{where}: unknown config key '{cut(key)}'"
                + (f"; did you mean '{prefix}{close[0]}'?" if close else f"; known keys: {', '.join(known)}"))
    expected = EXPECTED.get(kind.partition("_")[0])
    if kind == "model_type" and error.get("ctx", {}).get("class_name") == "Source":
        expected = "a path or a mapping with a path"
    if expected is None:
        return f"{where}: {key}: {error['msg']}, got {quoted(error['input'])}"
    return f"{where}: {key}: expected {expected}, got {quoted(error['input'])}"


def _model_at(cls: type[Keys], loc: tuple) -> type[Keys]:
    """The config class (Config, ScratchModel, Source...) whose key is the last of ``loc``."""
    for part in loc[:-1]:
        if isinstance(part, str):
            hint = cls.model_fields[part].annotation
            while not (isinstance(hint, type) and issubclass(hint, Keys)):
                hint = typing.get_args(hint)[0]
            cls = hint
    return cls
