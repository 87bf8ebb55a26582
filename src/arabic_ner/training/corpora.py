"""Training data: reading the annotation sources, checking them (``train.py --check``), and splitting
documents into training, dev and cross-validation folds, always by whole document."""

from __future__ import annotations

import logging
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..core.alignment import spans_to_tags
from ..core.config import SCRATCH, Config, Source
from ..core.document import Document
from ..core.encoding import Encoder
from ..core.problems import Problems, UserError
from ..core.words import split_words
from ..data.labelstudio_json import ReadStats, move_proclitics_out, read_annotations
from ..model.building import training_window
from ..model.loading import load_tokenizer
from ..model.vocabulary import train_wordpiece

log = logging.getLogger(__name__)


def load_documents(sources: Sequence[Source | str], labels: Sequence[str], problems: Problems) -> list[Document]:
    """Read every annotation source with its label map, printing what was skipped; errors stay in
    ``problems``. A document's ``source`` is its file's path as :func:`source_key` writes it."""
    documents, files = [], []
    for source in sources:
        source = Source(source) if isinstance(source, str) else source
        same = next((path for path in files if _same_file(path, source.path)), None)
        if same is not None:
            raise UserError(f"{source.path}: is the same file as {same}, listed before it; list each file once "
                            "(to see a file's documents more often, give it a weight, e.g. weight: 2)")
        files.append(source.path)
        stats = ReadStats()
        read = read_annotations(source.path, labels, problems, stats, source.label_map, source.skip_bad_lines)
        for line in stats.lines(source.path):
            log.info(line)
        if source.label_map and not any(doc.spans for doc in read):
            _check_something_is_left(source, labels, problems)
        if source.spans_include_proclitics:
            moved, total = move_proclitics_out(read)
            problems.note(source.path, f"spans_include_proclitics: {moved} of {total} span starts moved past attached "
                                       "proclitics, where the rest of the word starts an entity of the same type in the file")
        documents.extend(read)
    seen = Counter((d.source, d.id) for d in documents)
    for (source, doc_id), n in seen.items():
        if n > 1:
            problems.error(f"{source}: document {doc_id}", f"appears {n} times; give each task a unique data.doc_id")
    first: dict[str, Document] = {}
    for doc in documents:
        same = first.setdefault(doc.fingerprint(), doc)
        if same is not doc and doc.text.strip():
            problems.warning(f"{doc.source}: document {doc.id}", f"has the same text as document {same.id} of {same.source}; "
                             "it is trained on twice, and a dev split or CV fold can hold one copy while training on the other")
    return documents


def _check_something_is_left(source: Source, labels: Sequence[str], problems: Problems) -> None:
    """An error when ``source``'s label map drops (maps to null) every span the file has: training
    on it would teach that none of its entities is one. Read only when no span was left, so the
    file is read a second time, keeping the dropped labels, to count what was dropped."""
    dropped = [label for label, target in source.label_map.items() if target is None]
    if not dropped:
        return
    kept = {label: target for label, target in source.label_map.items() if target is not None}
    documents = read_annotations(source.path, [*labels, *dropped], Problems(), ReadStats(), kept, source.skip_bad_lines)
    counts = Counter(span.label for doc in documents for span in doc.spans if span.label in dropped)
    if counts:
        dropped_counts = ", ".join(f"{label} {n}" for label, n in counts.most_common())
        problems.error(source.path, f"its label map drops all {sum(counts.values())} spans ({dropped_counts}: mapped to null), "
                                    "so none is left to learn from; map a label to one of `labels` instead of null "
                                    "(e.g. label_map: {GPE: LOC}, or --map GPE=LOC), or leave the file out")


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def warn_dev_overlap(train_docs: list[Document], dev_docs: list[Document], dev_path: str) -> None:
    """Warn when dev documents are also training documents: their scores then say how well the model
    learnt them, not how well it does on new text."""
    trained = {d.fingerprint() for d in train_docs}
    seen = sum(d.fingerprint() in trained for d in dev_docs)
    if seen:
        log.warning(f"warning: {seen} of the {len(dev_docs)} dev documents in {dev_path} are also training documents; "
                    "their dev scores are not held-out scores (give a --dev file with other documents, or leave --dev out "
                    "to split one off)")


def source_key(path: str | Path) -> str:
    """How a document names its file (``Document.source``), so that it finds its :class:`Source`."""
    return str(Path(path))


def held_out(config: Config, documents: list[Document]) -> tuple[list[Document], list[Document]]:
    """The documents that a dev split or a CV fold may take (from sources with ``holdout: true``),
    and the ones that are always trained on."""
    fixed = {source_key(s.path) for s in config.train if not s.holdout}
    return [d for d in documents if d.source not in fixed], [d for d in documents if d.source in fixed]


def split_by_document(documents: list[Document], fraction: float, seed: int) -> tuple[list[Document], list[Document]]:
    """A dev set of whole documents (never sentences), chosen by ``seed``; empty when ``fraction`` is 0
    or there is only one document."""
    if fraction <= 0 or len(documents) < 2:
        return list(documents), []
    order = list(range(len(documents)))
    random.Random(seed).shuffle(order)
    n_dev = min(len(documents) - 1, max(1, round(fraction * len(documents))))
    dev = set(order[:n_dev])
    return [d for i, d in enumerate(documents) if i not in dev], [d for i, d in enumerate(documents) if i in dev]


def dev_split(config: Config, documents: list[Document]) -> tuple[list[Document], list[Document]]:
    """Training and dev documents: ``dev_fraction`` of the held-out sources' documents, by document
    and seed; documents of sources with ``holdout: false`` always train."""
    pool, fixed = held_out(config, documents)
    train, dev = split_by_document(pool, config.dev_fraction, config.seed)
    return train + fixed, dev


def k_folds(documents: list[Document], k: int, seed: int) -> list[tuple[list[Document], list[Document]]]:
    """``k`` (train, test) splits by document; every document is tested exactly once."""
    if not 2 <= k <= len(documents):
        raise UserError(f"--cv {k}: needs 2 <= K <= the number of documents ({len(documents)})")
    order = list(range(len(documents)))
    random.Random(seed).shuffle(order)
    folds = [set(order[i::k]) for i in range(k)]
    return [
        ([d for i, d in enumerate(documents) if i not in fold], [d for i, d in enumerate(documents) if i in fold])
        for fold in folds
    ]


@dataclass
class DataCheck:
    """What ``train.py --check`` prints: counts, and every span the words cannot represent."""

    documents: int = 0
    labels: Counter = field(default_factory=Counter)
    per_document: dict = field(default_factory=dict)
    unaligned: list = field(default_factory=list)
    tokens: int = 0
    windows: int = 0
    unknown_words: int = 0

    def lines(self, labels: Sequence[str]) -> list[str]:
        out = [f"{self.documents} documents, {sum(self.labels.values())} spans, {self.tokens} tokens in {self.windows} windows"]
        out.append("spans per label: " + ", ".join(f"{label} {self.labels[label]}" for label in labels))
        width = max((len(d) for d in self.per_document), default=0)
        out.append(f"{'document':<{width}}  " + " ".join(f"{label:>6}" for label in labels) + "   total")
        for doc_id, counts in self.per_document.items():
            out.append(f"{doc_id:<{width}}  " + " ".join(f"{counts[label]:>6}" for label in labels) + f"  {sum(counts.values()):>6}")
        if self.unknown_words:
            out.append(f"{self.unknown_words} word(s) the tokenizer drops entirely are fed to the model as its unknown token")
        return out


def prepare_tags(documents: list[Document], problems: Problems) -> list[tuple[list, list[str]]]:
    """Words and IOB2 tags for each document; spans the words cannot represent are warned about
    (they are left out of the loss, never moved)."""
    prepared = []
    for doc in documents:
        words = split_words(doc.text)
        tags, unaligned = spans_to_tags(words, doc.spans, doc.text)
        for u in unaligned:
            problems.warning(f"{doc.source}: document {doc.id}: span {u.span.describe(doc.text)}", f"{u.reason}; it is left out of training")
        prepared.append((words, tags))
    return prepared


def check_data(config: Config, documents: list[Document], problems: Problems) -> DataCheck:
    """Validate alignment with the tokenizer and count everything, without training."""
    prepared = prepare_tags(documents, problems)
    tokenizer = _tokenizer_for(config, prepared)
    encoder = Encoder(tokenizer, training_window(config, tokenizer), config.stride)
    check = DataCheck(documents=len(documents))
    for doc, enc in zip(documents, encoder.encode([words for words, _ in prepared])):
        counts = Counter({label: 0 for label in config.labels})
        counts.update(s.label for s in doc.spans)
        check.per_document[doc.id] = counts
        check.labels.update(counts)
        check.tokens += len(enc.ids)
        check.windows += len(enc.windows)
        check.unknown_words += enc.unknown_words
    return check


def _tokenizer_for(config: Config, prepared):
    if config.init_from:
        return load_tokenizer(config.init_from, None)
    if config.model == SCRATCH:
        return train_wordpiece(([w.form for w in words] for words, _ in prepared), config)
    return load_tokenizer(config.model, config.revision)
