"""Learning a WordPiece vocabulary from whole words, for a model trained from scratch, and the
BERT tokenizer around it."""

from __future__ import annotations

from ..core.config import Config

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


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
