"""Words -> sub-word token ids, cut into overlapping windows that fit the model.

A document is tokenised once, whole, with no truncation, and the tokenizer reads it as a
pretrained BERT's own tokenizer reads the text: words that touch (``2014على``, ``F-16``,
``iconمقاتلات``) go to it as one chunk, so a word glued to the one before it starts with a
``##`` piece, as in pretraining. Each piece is mapped back to the word it starts in by its
offsets. If a piece would cover parts of two words (a vocabulary piece across a change of
script, or an ``[UNK]`` for the whole chunk), that chunk is tokenised word by word instead,
so that every word has pieces of its own and keeps its own label.

If the document is longer than the model's window, it is cut into windows that overlap by
``stride`` tokens, each starting on a word's first piece where possible. Every word is *owned*
by the one window in which its first piece sits furthest from the window's edges; that
window's prediction is the one kept, so each word gets exactly one label and nothing is
truncated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from .alignment import IGNORE_INDEX, MASKED, token_label_ids
from .words import Word


@dataclass
class Encoding:
    """One document's tokens. ``word_ids[k]`` is the word of token ``k``; windows are token ranges."""

    words: list[Word]
    ids: list[int]
    word_ids: list[int]
    windows: list[tuple[int, int]] = field(default_factory=list)
    owned: list[list[int]] = field(default_factory=list)  # per window: first-piece token positions it owns
    unknown_words: int = 0  # words the tokenizer dropped entirely, fed to the model as the unknown token


class Encoder:
    """Tokenises word lists with a fast tokenizer and windows the result.

    ``max_length`` counts the special tokens, as in transformers; ``stride`` is the overlap.
    """

    def __init__(self, tokenizer, max_length: int, stride: int):
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("arabic_ner needs a fast (Rust) tokenizer: it relies on word ids")
        self.tokenizer = tokenizer
        with_special = tokenizer("a", add_special_tokens=True)["input_ids"]
        plain = tokenizer("a", add_special_tokens=False)["input_ids"]
        at = next(i for i in range(len(with_special)) if with_special[i : i + len(plain)] == plain)
        self.prefix = with_special[:at]  # [CLS] for BERT
        self.suffix = with_special[at + len(plain) :]  # [SEP] for BERT
        self.max_length = max_length
        self.window = max_length - len(self.prefix) - len(self.suffix)
        if not 0 <= stride <= self.window // 2:
            raise ValueError(f"stride {stride} must be between 0 and half the window ({self.window // 2})")
        self.stride = stride

    def encode(self, documents: Sequence[list[Word]]) -> list[Encoding]:
        """Encode many documents in one batched tokenizer call (the fast tokenizer runs it in parallel)."""
        nonempty = [i for i, words in enumerate(documents) if words]
        out = [Encoding(words=[], ids=[], word_ids=[]) for _ in documents]
        chunks = {i: glued_runs(documents[i]) for i in nonempty}
        todo = nonempty
        while todo:  # at most twice: a document with a bad chunk goes again with it word by word, which cannot be bad
            tokenized = self._tokenize([documents[i] for i in todo], [chunks[i] for i in todo])
            retry = []
            for i, (ids, word_ids, bad) in zip(todo, tokenized):
                if bad:
                    chunks[i] = [single for run in chunks[i] for single in (_singles(run) if run in bad else [run])]
                    retry.append(i)
                else:
                    out[i] = self._finish(documents[i], ids, word_ids)
            todo = retry
        return out

    def _tokenize(self, documents: list[list[Word]], chunks: list[list[range]]):
        """For each document: its token ids, the word of each token, and the chunks whose pieces
        do not fall within single words."""
        batch = self.tokenizer(
            [["".join(words[w].form for w in run) for run in runs] for words, runs in zip(documents, chunks)],
            is_split_into_words=True,
            add_special_tokens=False,
            return_attention_mask=False,
            return_token_type_ids=False,
            return_offsets_mapping=True,
            verbose=False,  # long documents are expected: they are windowed below, not truncated
        )
        results = []
        for b, (words, runs) in enumerate(zip(documents, chunks)):
            word_ids, bad = [], set()
            for c, (start, end) in zip(batch.word_ids(b), batch["offset_mapping"][b]):
                run = runs[c]
                w, word_end = run[0], len(words[run[0]].form)
                while start >= word_end and w < run[-1]:  # the word of the run this piece starts in
                    w += 1
                    word_end += len(words[w].form)
                if end > word_end and len(run) > 1:
                    bad.add(run)  # the piece runs on into the next word
                word_ids.append(w)
            with_pieces = set(word_ids)
            bad.update(run for run in runs if len(run) > 1 and not set(run) <= with_pieces)  # a word got no piece
            results.append((batch["input_ids"][b], word_ids, bad))
        return results

    def _finish(self, words: list[Word], ids: list[int], word_ids: list[int]) -> Encoding:
        # A word the tokenizer maps to nothing (e.g. U+FFFD, which BERT's normaliser deletes) would
        # vanish from the output; give it the unknown token so every word keeps a label.
        seen = set(word_ids)
        missing = len(words) - len(seen)
        if missing:
            unk = self.tokenizer.unk_token_id
            new_ids, new_word_ids, k = [], [], 0
            for w in range(len(words)):
                if w not in seen:
                    new_ids.append(unk)
                    new_word_ids.append(w)
                while k < len(ids) and word_ids[k] == w:
                    new_ids.append(ids[k])
                    new_word_ids.append(w)
                    k += 1
            ids, word_ids = new_ids, new_word_ids
        enc = Encoding(words=words, ids=list(ids), word_ids=list(word_ids), unknown_words=missing)
        enc.windows = make_windows(enc.word_ids, self.window, self.stride)
        enc.owned = assign_owners(enc.word_ids, enc.windows)
        return enc

    def inputs(self, enc: Encoding, k: int) -> list[int]:
        """Model input ids of window ``k``, special tokens included."""
        start, end = enc.windows[k]
        return self.prefix + enc.ids[start:end] + self.suffix

    def reads(self, enc: Encoding, k: int) -> list[tuple[int, int]]:
        """``(column, word)`` for each word window ``k`` owns: where in the window's model input
        (special tokens counted) that word's label is read, its first piece."""
        start = enc.windows[k][0]
        return [(p - start + len(self.prefix), enc.word_ids[p]) for p in enc.owned[k]]

    def training_examples(self, enc: Encoding, tags: list[str], label2id: dict[str, int]) -> list[dict]:
        """One example per window; every piece of every word is labelled (overlaps are learnt twice)."""
        labels = token_label_ids(enc.word_ids, tags, label2id)
        pad = [IGNORE_INDEX]
        return [
            {
                "input_ids": self.inputs(enc, k),
                "labels": pad * len(self.prefix) + labels[start:end] + pad * len(self.suffix),
            }
            for k, (start, end) in enumerate(enc.windows)
        ]

    def scoring_examples(self, enc: Encoding, tags: list[str], label2id: dict[str, int]) -> list[dict]:
        """One example per window, labelled only on the first piece of the words it owns, so that the
        labelled positions of a document's windows, read in order, are its words, each exactly once."""
        examples = []
        for k, (start, end) in enumerate(enc.windows):
            labels = [IGNORE_INDEX] * (end - start)
            for p in enc.owned[k]:
                tag = tags[enc.word_ids[p]]
                if tag != MASKED:
                    labels[p - start] = label2id[tag]
            pad = [IGNORE_INDEX]
            examples.append({"input_ids": self.inputs(enc, k), "labels": pad * len(self.prefix) + labels + pad * len(self.suffix)})
        return examples


def glued_runs(words: Sequence[Word]) -> list[range]:
    """Runs of consecutive words with nothing between them: what a BERT pre-tokenizer reads as one
    word before it splits off punctuation.

    >>> from arabic_ner.core.words import split_words
    >>> [list(run) for run in glued_runs(split_words("في 2014على F-16"))]
    [[0], [1, 2], [3, 4, 5]]
    """
    runs: list[range] = []
    first = 0
    for i in range(1, len(words) + 1):
        if i == len(words) or words[i].start != words[i - 1].end:
            runs.append(range(first, i))
            first = i
    return runs


def _singles(run: range) -> list[range]:
    return [range(w, w + 1) for w in run]


def make_windows(word_ids: Sequence[int], size: int, stride: int) -> list[tuple[int, int]]:
    """Token ranges of at most ``size`` tokens covering ``0..len(word_ids)``, consecutive ranges
    overlapping by about ``stride`` tokens; a range starts on a word's first piece when it can."""
    n = len(word_ids)
    if n <= size:
        return [(0, n)]
    windows = []
    start = 0
    while True:
        end = min(start + size, n)
        windows.append((start, end))
        if end == n:
            return windows
        target = end - stride
        nxt = target
        while nxt > start and nxt > 0 and word_ids[nxt] == word_ids[nxt - 1]:
            nxt -= 1  # back to the first piece of the word
        if nxt <= start:  # one word longer than the whole overlap: cut inside it
            nxt = target
        start = nxt


def assign_owners(word_ids: Sequence[int], windows: Sequence[tuple[int, int]]) -> list[list[int]]:
    """For each window, the first-piece positions of the words whose best-centred window it is."""
    best: dict[int, tuple[int, int]] = {}  # first-piece position -> (margin, window)
    for k, (start, end) in enumerate(windows):
        for p in range(start, end):
            if p > 0 and word_ids[p] == word_ids[p - 1]:
                continue  # not a first piece
            margin = min(p - start, end - 1 - p)
            if p not in best or margin > best[p][0]:
                best[p] = (margin, k)
    owned: list[list[int]] = [[] for _ in windows]
    for p in sorted(best):
        owned[best[p][1]].append(p)
    return owned
