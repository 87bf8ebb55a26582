"""Loading and building models and tokenizers: from the Hub, from a local directory, or from scratch.

Weights are loaded only from safetensors files and never with ``trust_remote_code``: a
model directory is data, not code. When the Hub cannot be reached, loading fails with one
message that names the ways out. A saved model is a standard Hugging Face token
classification directory; its ``id2label`` is the one source of truth for the label set.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .config import SCRATCH, Config
from .labels import OLD_SCHEMES, SCHEME, check_label_set
from .problems import UserError

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def window_length(max_length: int, model_config) -> int:
    """Tokens per window, special tokens included: the length asked for (the config's ``max_length``
    in training, the trained tokenizer's ``model_max_length`` in prediction), capped by the model's
    position embeddings. The one formula that training, ``train.py --check``, pretraining and
    prediction use."""
    return min(max_length, model_config.max_position_embeddings)


def training_window(config: Config, tokenizer) -> int:
    """The window length training will use, without building the model: ``train.py --check``'s.
    It reads only the base model's ``config.json`` (a scratch model's is made from the config)."""
    from transformers import AutoConfig

    if config.init_from:
        model_config = _from_pretrained(AutoConfig, config.init_from, None)
    elif config.model == SCRATCH:
        model_config = scratch_bert_config(config, tokenizer)
    else:
        model_config = _from_pretrained(AutoConfig, config.model, config.revision)
    return window_length(config.max_length, model_config)


META_KEY = "arabic_ner"  # our entry in config.json: how the model's input was made


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
        model = _from_pretrained(
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
    model = _from_pretrained(AutoModelForTokenClassification, name, None)
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


def train_wordpiece(word_forms, config: Config):
    """A BERT WordPiece tokenizer whose vocabulary is learnt from the given word lists, as
    ``config.scratch.vocabulary`` says:

    - ``words``: the special tokens, then every character seen (as a word start and as a ``##``
      continuation, so any word made of known characters can be spelt), then the most frequent
      whole words (at least ``min_frequency`` occurrences; ties broken alphabetically), up to
      ``vocab_size``;
    - ``subwords``: the special tokens and the characters, then the pieces that byte-pair merges
      of the most frequent neighbouring pieces give (``ال`` + ``##موصل``), as the vocabularies of
      pretrained Arabic BERTs were learnt: frequent words end up whole, rare ones in pieces that
      other words share.

    Unlike the ``tokenizers`` library's WordPiece trainer, whose hash-map order changes from one
    process to the next, both give the same vocabulary for the same texts, so the same seed and
    data give the same model.
    """
    from collections import Counter

    from tokenizers import models, pre_tokenizers

    normalizer, pre_tokenizer = _normalizer(), pre_tokenizers.BertPreTokenizer()
    counts: Counter = Counter()
    for forms in word_forms:
        for form in forms:
            counts.update(piece for piece, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(form)))
    scratch = config.scratch
    if scratch.vocabulary == "subwords":
        vocab = list(SPECIAL_TOKENS) + byte_pair_pieces(counts, scratch.vocab_size - len(SPECIAL_TOKENS), scratch.min_frequency)
    else:
        chars = sorted({ch for piece in counts for ch in piece})
        vocab = list(SPECIAL_TOKENS) + chars + [f"##{ch}" for ch in chars]
        room = max(0, scratch.vocab_size - len(vocab))
        frequent = sorted((w for w, n in counts.items() if n >= scratch.min_frequency and len(w) > 1), key=lambda w: (-counts[w], w))
        vocab += frequent[:room]
    wordpiece = models.WordPiece({token: i for i, token in enumerate(vocab)}, unk_token="[UNK]", max_input_chars_per_word=100)
    return _bert_tokenizer(_bert_backend(wordpiece))


def byte_pair_pieces(counts, size: int, min_frequency: int = 1) -> list[str]:
    """WordPiece pieces learnt by byte-pair merges from word counts: every character (as a word
    start and as a ``##`` continuation), then, until there are ``size`` pieces, the merge of the
    most frequent pair of neighbouring pieces (ties broken by the pieces' text), while a pair
    occurs at least ``min_frequency`` times. Deterministic, and each merge only revisits the
    words that hold the pair."""
    import heapq
    from collections import Counter, defaultdict

    words = [[w[0], *(f"##{ch}" for ch in w[1:])] for w in sorted(counts)]
    freq = [counts[w] for w in sorted(counts)]
    pieces = sorted({p for word in words for p in word})
    known = set(pieces)
    pairs: Counter = Counter()
    holders = defaultdict(set)
    for i, word in enumerate(words):
        for pair in zip(word, word[1:]):
            pairs[pair] += freq[i]
            holders[pair].add(i)
    heap = [(-n, a, b) for (a, b), n in pairs.items()]
    heapq.heapify(heap)
    while len(pieces) < size and heap:
        n, a, b = heapq.heappop(heap)
        if pairs.get((a, b), 0) != -n:
            continue  # a count that has changed since: its current entry is in the heap too
        if -n < min_frequency:
            break
        merged = a + b[2:]
        if merged not in known:
            known.add(merged)
            pieces.append(merged)
        changed = set()
        for i in sorted(holders.pop((a, b))):
            word, out, k = words[i], [], 0
            for pair in zip(word, word[1:]):
                pairs[pair] -= freq[i]
                changed.add(pair)
            while k < len(word):
                if k + 1 < len(word) and word[k] == a and word[k + 1] == b:
                    out.append(merged)
                    k += 2
                else:
                    out.append(word[k])
                    k += 1
            words[i] = out
            for pair in zip(out, out[1:]):
                pairs[pair] += freq[i]
                holders[pair].add(i)
                changed.add(pair)
        pairs.pop((a, b), None)
        for pair in changed:
            if pairs.get(pair, 0) > 0:
                heapq.heappush(heap, (-pairs[pair], *pair))
            else:
                pairs.pop(pair, None)
    return pieces


def learn_wordpiece(texts, vocab_size: int):
    """A BERT WordPiece tokenizer learnt by the ``tokenizers`` library's trainer from unsegmented
    text, as the vocabularies of pretrained Arabic BERTs were: whole words where they are frequent,
    sub-word pieces (``لد ##اع ##ش``) elsewhere. Unlike :func:`train_wordpiece`, the result can
    vary from process to process in the ids of tied pieces.
    """
    from tokenizers import models, trainers

    backend = _bert_backend(models.WordPiece(unk_token="[UNK]"))
    backend.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS))
    tokenizer = _bert_tokenizer(backend)
    tokenizer.model_max_length = 512
    return tokenizer


def _normalizer():
    # No lowercasing and no accent stripping: split_words has already normalised what matters,
    # and lowercasing would turn F-16 into f-16.
    from tokenizers import normalizers

    return normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)


def _bert_backend(wordpiece):
    """A ``tokenizers`` backend around ``wordpiece`` that reads text as BERT does, without lowercasing."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers

    backend = Tokenizer(wordpiece)
    backend.normalizer = _normalizer()
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    return backend


def _bert_tokenizer(backend):
    """``backend`` (with its vocabulary) as a transformers BERT tokenizer: ``[CLS] text [SEP]``."""
    from tokenizers import processors
    from transformers import BertTokenizer

    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    # do_lower_case/strip_accents are written to tokenizer_config.json and rebuild the normaliser
    # on load, so they must say what the backend does.
    return BertTokenizer(
        tokenizer_object=backend,
        do_lower_case=False,
        strip_accents=False,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


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
        model = _from_pretrained(AutoModelForMaskedLM, config.model, config.revision)
    tokenizer.model_max_length = window_length(config.max_length, model.config)
    return tokenizer, model


def load_trained(path: str, allow_pickle: bool = False):
    """A trained token classifier and its tokenizer, for prediction and evaluation.

    Returns ``(tokenizer, model)``; the label set is ``model.config.id2label``. Pickle (``.bin``)
    weights are refused unless ``allow_pickle``: unpickling can run code.
    """
    from transformers import AutoConfig, AutoModelForTokenClassification

    if Path(path).is_dir() and not (Path(path) / "config.json").is_file():
        raise UserError(f"{path}: no config.json, so this is not a model directory; give the directory train.py wrote "
                        "(it holds config.json, model.safetensors and tokenizer.json)")
    config = _from_pretrained(AutoConfig, path, None)
    check_scheme(config, path, note=False)  # before any weights are read; the Tagger notes the rest
    if Path(path).is_dir():
        if not allow_pickle:
            _require_safetensors(Path(path))
        check_model_files(Path(path), config)
    model = _from_pretrained(AutoModelForTokenClassification, path, None, allow_pickle=allow_pickle, config=config)
    tokenizer = load_tokenizer(path, None)
    embeddings = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > embeddings:
        raise UserError(f"{path}: the tokenizer has {len(tokenizer)} tokens but the model's embeddings only {embeddings}; "
                        "the tokenizer files come from another model. Copy the ones the model was trained with.")
    return tokenizer, model


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
    tokenizer = _from_pretrained(AutoTokenizer, name, revision)
    if not tokenizer.is_fast:
        raise UserError(f"{name}: its tokenizer has no fast (Rust) version, which arabic_ner needs for word offsets")
    return tokenizer


def _from_pretrained(cls, name: str, revision: str | None, allow_pickle: bool = False, **kwargs):
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


def save_model(model, tokenizer, directory: str | Path) -> None:
    """Write a standard Hugging Face model directory (safetensors weights)."""
    os.makedirs(directory, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)


def model_version(directory: str | Path) -> str:
    """``<dir name>-<first 8 hex of the weights' sha256>``: tells Label Studio which model predicted what."""
    import hashlib

    directory = Path(directory)
    digest = hashlib.sha256()
    for weights in sorted(directory.glob("*.safetensors")):
        with open(weights, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return f"{directory.resolve().name}-{digest.hexdigest()[:8]}"
