"""Building the model to train: a token classifier from a pretrained encoder (its classifier
replaced for our labels), a masked-LM for pretraining, or a small BERT from scratch; saving it."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..core.config import SCRATCH, Config
from ..core.labels import SCHEME
from ..core.problems import UserError
from .loading import META_KEY, from_pretrained, load_tokenizer, window_length
from .vocabulary import train_wordpiece

log = logging.getLogger(__name__)



def build_for_training(config: Config, train_word_forms, tokenizer_dir: str | Path | None = None):
    """The tokenizer and token classifier that training starts from.

    ``train_word_forms`` (an iterable of lists of word forms) is only read for a scratch model,
    whose WordPiece vocabulary is trained on it, unless ``tokenizer_dir`` (a checkpoint being
    resumed) already holds that vocabulary.
    """
    labels = config.model_labels
    id2label = dict(enumerate(labels))
    label2id = {label: i for i, label in id2label.items()}
    if config.init_from:
        tokenizer, model = _from_token_classifier(config.init_from, labels)
    elif config.model == SCRATCH:
        tokenizer = load_tokenizer(str(tokenizer_dir), None) if tokenizer_dir else train_wordpiece(train_word_forms, config)
        model = _scratch_model(config, tokenizer, id2label, label2id)
    else:
        from transformers import AutoModelForTokenClassification

        tokenizer = load_tokenizer(config.model, config.revision)
        model = from_pretrained(
            AutoModelForTokenClassification,
            config.model,
            config.revision,
            num_labels=len(labels),
            id2label=id2label,
            label2id=label2id,
            ignore_mismatched_sizes=True,  # a model that already has a token-classification head for other labels
        )
    tokenizer.model_max_length = window_length(config.max_length, model.config)
    setattr(model.config, META_KEY, {"scheme": SCHEME, "stride": config.stride})
    return tokenizer, model


def _from_token_classifier(name: str, labels: list[str]):
    """The tokenizer and model of another token classifier (``init_from``), with a classifier for
    ``labels``: rows of labels it already has (same name: ``B-LOC``, ``I-ORG``, ``O``) are copied,
    the others initialised as the model initialises a new head."""
    from transformers import AutoModelForTokenClassification

    tokenizer = load_tokenizer(name, None)
    model = from_pretrained(AutoModelForTokenClassification, name, None)
    copied, new = replace_classifier(model, labels, name)
    log.info(f"init_from {name}: encoder and tokenizer reused; classifier rows copied for {', '.join(copied) or 'no label'}"
             + (f"; new rows for {', '.join(new)}" if new else ""))
    return tokenizer, model


def replace_classifier(model, labels: list[str], name: str) -> tuple[list[str], list[str]]:
    """Give ``model`` a new linear classifier over ``labels``, copying the rows of labels its old
    head had; returns (copied labels, new labels)."""
    import torch

    head = getattr(model, "classifier", None)
    if not isinstance(head, torch.nn.Linear):
        raise UserError(
            f"{name}: init_from needs a token classifier whose head is one linear layer named `classifier` "
            f"(BERT, RoBERTa, ELECTRA, ...); this one is {type(model).__name__}"
        )
    old = {label: int(i) for i, label in model.config.id2label.items()}
    fresh = torch.nn.Linear(head.in_features, len(labels), dtype=head.weight.dtype)
    fresh.weight.data.normal_(mean=0.0, std=getattr(model.config, "initializer_range", 0.02))
    fresh.bias.data.zero_()
    copied = [label for label in labels if label in old]
    with torch.no_grad():
        for label in copied:
            fresh.weight[labels.index(label)] = head.weight[old[label]]
            fresh.bias[labels.index(label)] = head.bias[old[label]]
    model.classifier = fresh
    model.num_labels = model.config.num_labels = len(labels)
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = {label: i for i, label in enumerate(labels)}
    return copied, [label for label in labels if label not in old]


def _scratch_model(config: Config, tokenizer, id2label, label2id):
    from transformers import BertForTokenClassification

    return BertForTokenClassification(scratch_bert_config(config, tokenizer, id2label=id2label, label2id=label2id))


def scratch_bert_config(config, tokenizer, **extra):
    """The ``BertConfig`` of a model from scratch: ``config.scratch``'s sizes, windows of ``config.max_length``."""
    from transformers import BertConfig

    s = config.scratch
    return BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=s.hidden_size,
        num_hidden_layers=s.num_hidden_layers,
        num_attention_heads=s.num_attention_heads,
        intermediate_size=s.intermediate_size,
        hidden_dropout_prob=s.dropout,
        attention_probs_dropout_prob=s.dropout,
        max_position_embeddings=config.max_length,
        pad_token_id=tokenizer.pad_token_id,
        **extra,
    )


def build_for_pretraining(config, word_lists, tokenizer_dir: str | Path | None = None):
    """The tokenizer and masked-LM model that pretraining (a :class:`PretrainConfig`) starts from. A
    scratch model's vocabulary is learnt from ``word_lists`` as for training (unless
    ``tokenizer_dir``, a checkpoint being resumed, holds it); a pretrained one keeps its own."""
    if config.model == SCRATCH:
        from transformers import BertForMaskedLM

        tokenizer = load_tokenizer(str(tokenizer_dir), None) if tokenizer_dir else train_wordpiece(word_lists, config)
        model = BertForMaskedLM(scratch_bert_config(config, tokenizer))
    else:
        from transformers import AutoModelForMaskedLM

        tokenizer = load_tokenizer(config.model, config.revision)
        model = from_pretrained(AutoModelForMaskedLM, config.model, config.revision)
    tokenizer.model_max_length = window_length(config.max_length, model.config)
    return tokenizer, model


def save_model(model, tokenizer, directory: str | Path) -> None:
    """Write a standard Hugging Face model directory (safetensors weights). Every file follows the
    umask, as any file a user writes: the weights come out of their writer as 0600, which would keep
    others on a shared workstation from reading the model."""
    os.makedirs(directory, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    mask = os.umask(0)
    os.umask(mask)
    for path in Path(directory).iterdir():
        if path.is_file():
            path.chmod(0o666 & ~mask)


def training_window(config: Config, tokenizer) -> int:
    """The window length training will use, without building the model: ``train.py --check``'s.
    It reads only the base model's ``config.json`` (a scratch model's is made from the config)."""
    from transformers import AutoConfig

    if config.init_from:
        model_config = from_pretrained(AutoConfig, config.init_from, None)
    elif config.model == SCRATCH:
        model_config = scratch_bert_config(config, tokenizer)
    else:
        model_config = from_pretrained(AutoConfig, config.model, config.revision)
    return window_length(config.max_length, model_config)
