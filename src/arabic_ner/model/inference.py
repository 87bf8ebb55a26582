"""Batch tagging: documents in, character spans out, streamed in input order.

Documents are read in chunks. Within a chunk, every window of every document (long
documents have several, see :mod:`arabic_ner.core.encoding`) is sorted by length and packed into
batches under a token budget, so little work is spent on padding. Each word takes the label
of its first piece in the window that owns it; words are decoded to spans over the original
text. Memory stays flat however many documents stream through.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..core.alignment import tags_to_spans
from ..core.document import Document
from ..core.encoding import Encoder
from ..core.problems import UserError
from ..core.words import split_words
from .loading import check_scheme, load_trained, load_trained_config, window_length
from .onnx_engine import choose_engine, export_ready, makes_export, open_session
from .precision import Precision, check_device, choose_precision, prepare

# oneDNN keeps compiled kernels for every tensor shape it meets (1,024 unless told), and batches of
# windows come in many shapes, so with its default cache predict's peak memory crept up over the
# first 10,000 documents (519 -> 599 MiB, a 2-layer model). Without any cache (0, until issue 30)
# memory was flat but every bf16 matmul compiled its kernel again: bf16 ran at half its speed. 16
# kernels hold one forward pass's shapes, so a batch reuses them from layer to layer: bf16 at full
# speed, memory flat (468, 475 and 480 MiB at 1,000, 10,000 and 100,000 documents; docs/benchmarks.md).
# Both caches are read at the first matmul of the process, so these apply where this module is
# imported before that.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16")
# torch's bf16 matmuls on a CPU go through ideep, which keeps a cache of its own per shape, of up to
# LRU_CACHE_CAPACITY entries (1,024 unless set). Filling it took predict's peak memory from 482 MiB
# at 1,000 documents to 549 MiB at 100,000 (pytorch/pytorch#27971). 16 entries hold every shape of
# one forward pass, so a batch still reuses its kernels from layer to layer, and the cache stays
# bounded (bench/predict_throughput.py --rss-only measures predict's memory over 1,000 to 100,000
# documents). It is read at the first bf16 matmul of the process, so it applies where this module
# is imported before that.
os.environ.setdefault("LRU_CACHE_CAPACITY", "16")


@dataclass(frozen=True)
class Uncertainty:
    """How unsure the model is of one document, from its words' label distributions.

    ``least_confidence`` is one minus the confidence of the document's least sure word;
    ``mean_entropy`` is the mean, over its words, of the entropy (in nats) of the word's labels."""

    words: int
    least_confidence: float
    mean_entropy: float


@dataclass
class Tagged:
    """A tagged document: ``document.spans`` holds the predictions; ``score`` is the mean confidence
    over its words; ``uncertainty`` says how unsure the model was (both ``None`` for a document
    with no words)."""

    document: Document
    score: float | None
    uncertainty: Uncertainty | None = None


class Tagger:
    """A trained model ready to tag text.

    >>> tagger = Tagger.load("models/tiny")                       # doctest: +SKIP
    >>> [s.label for s in tagger.tag_text("قصف التحالف مواقع لداعش")]  # doctest: +SKIP
    ['ORG', 'ORG']
    """

    def __init__(self, model, tokenizer, device: str | None = None, batch_size: int = 256,
                 max_batch_tokens: int = 16384, stride: int | None = None, chunk_documents: int = 512,
                 dtype: str = "fp32", engine: str | None = None, model_dir: str | None = None, config=None,
                 owned: bool = False, export: bool = True):
        """``engine``: ``torch``, ``onnxruntime``, ``openvino`` or ``None`` (onnxruntime for int8 on a CPU,
        where it can run; where ``model_dir`` holds a current export, onnxruntime for fp32 and OpenVINO
        for bf16 on a CPU; see :mod:`arabic_ner.model.onnx_engine`). ``model_dir`` is the folder ``model`` was loaded
        from, unchanged since: the ONNX export is kept there. ``model`` may be ``None``, with its
        ``config`` given, when ``model_dir`` holds a current export (:meth:`load` then skips the weights).
        ``owned``: nobody else holds ``model``, so it may be converted in place (:meth:`load`'s).
        ``export``: whether a missing or stale ONNX export may be made in ``model_dir`` (if not, only
        a current one is used)."""
        config = model.config if model is not None else config
        meta = check_scheme(config, getattr(config, "_name_or_path", "") or "the model")
        self.device = _device(device)
        # chosen before the model moves, so a request the device cannot honour fails with its own message
        self.precision = choose_precision(dtype, self.device)
        check_device(device)
        self.id2label = {int(k): v for k, v in config.id2label.items()}
        self.engine = choose_engine(engine, self.precision, self.device, lambda: model_dir is not None and export_ready(model_dir))
        forced = engine is not None and engine != "torch"
        self.session = (open_session(model_dir, self.precision.name, forced, model, export and makes_export(self.precision.name, forced), self.engine)
                        if self.engine != "torch" else None)
        if self.session is not None:  # the graph does the work: the torch model is not kept
            self.model, self._autocast = None, nullcontext
            self.precision = Precision(self.precision.name, f"{self.precision.why}; {self.engine}, {self.session.path}")
        else:
            if model is None:  # the export went stale since load() looked: torch runs, and needs the weights
                (_, model), owned = load_trained(str(model_dir)), True
            self.engine = "torch"
            self.model, self._autocast = prepare(model, self.precision, self.device, owned)
        max_length = window_length(tokenizer.model_max_length, config)
        if stride is None:
            stride = min(meta.get("stride", max_length // 4), (max_length - 2) // 2)
        self.encoder = Encoder(tokenizer, max_length, stride)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.batch_size = batch_size
        self.max_batch_tokens = max(max_batch_tokens, max_length)
        self.chunk_documents = chunk_documents

    @classmethod
    def load(cls, path: str, allow_pickle: bool = False, **kwargs) -> Tagger:
        """The model in ``path`` (a folder, or a Hub id) ready to tag; ``kwargs`` as for the constructor.
        Where it will run on a current ONNX export, its torch weights are not read."""
        model_dir = path if Path(path).is_dir() else None
        if model_dir is not None and _runs_on_export(model_dir, **kwargs):
            tokenizer, config = load_trained_config(path)
            return cls(None, tokenizer, model_dir=model_dir, config=config, **kwargs)
        tokenizer, model = load_trained(path, allow_pickle=allow_pickle)
        return cls(model, tokenizer, model_dir=model_dir, owned=True, **kwargs)

    def tag_text(self, text: str) -> list:
        """The spans of one text."""
        return next(self.tag([Document("text", text)])).document.spans

    def tag(self, documents: Iterable[Document], stop: Callable[[], bool] | None = None) -> Iterator[Tagged]:
        """Tag documents lazily, yielding them in input order with ``spans`` replaced by predictions.

        A document is yielded as soon as it and every document before it are done. If ``stop()``
        turns true, tagging ends after the current batch, having yielded every finished document
        that continues the input order (so a later run can resume right after them).
        Documents with ``error`` set are passed through untouched.
        """
        documents = iter(documents)
        while chunk := list(islice(documents, self.chunk_documents)):
            stopped = yield from self._tag_chunk(chunk, stop or (lambda: False))
            if stopped:
                return

    def _tag_chunk(self, chunk: list[Document], stop: Callable[[], bool]):
        import torch

        encodings = self._encode(chunk)
        labels = [[0] * len(enc.words) for enc in encodings]
        scores = [[1.0] * len(enc.words) for enc in encodings]
        entropies = [[0.0] * len(enc.words) for enc in encodings]
        pending = [len(enc.windows) for enc in encodings]
        emitted = 0

        def finished():
            nonlocal emitted
            while emitted < len(chunk) and pending[emitted] == 0:
                yield self._result(chunk[emitted], encodings[emitted], labels[emitted], scores[emitted], entropies[emitted])
                emitted += 1

        yield from finished()
        windows = [(d, k) for d, enc in enumerate(encodings) for k in range(len(enc.windows))]
        windows.sort(key=lambda dk: -_length(encodings[dk[0]].windows[dk[1]]))
        for batch in self._batches(windows, encodings):
            inputs = [self.encoder.inputs(encodings[d], k) for d, k in batch]
            width = len(inputs[0])  # sorted longest first
            ids = torch.full((len(inputs), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(inputs), width), dtype=torch.long)
            for row, seq in enumerate(inputs):
                ids[row, : len(seq)] = torch.tensor(seq)
                mask[row, : len(seq)] = 1
            # Only the first piece of each owned word is read, so gather those rows before the softmax.
            rows, cols, targets = [], [], []
            for row, (d, k) in enumerate(batch):
                for col, word in self.encoder.reads(encodings[d], k):
                    rows.append(row)
                    cols.append(col)
                    targets.append((d, word))
            with torch.inference_mode(), self._autocast():
                logits = self._logits(ids, mask)
                picked = logits[torch.tensor(rows, device=self.device), torch.tensor(cols, device=self.device)]
                probs = picked.float().softmax(-1)
                best, best_ids = probs.max(-1)
                entropy = -(probs * probs.clamp_min(1e-12).log()).sum(-1)
            for (d, w), label_id, prob, ent in zip(targets, best_ids.tolist(), best.tolist(), entropy.tolist()):
                labels[d][w] = label_id
                scores[d][w] = prob
                entropies[d][w] = ent
            for d, _ in batch:
                pending[d] -= 1
            yield from finished()
            if stop():
                return True
        return False

    def _logits(self, ids, mask):
        """The forward pass, on the engine chosen: the one step that differs between engines."""
        if self.session is not None:
            return self.session.logits(ids, mask)
        return self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits

    def _encode(self, chunk: list[Document]) -> list:
        """The chunk's encodings. A document that cannot be split or encoded becomes an error record
        in ``chunk`` (encoded as no words), so one bad document never stops the batch."""
        try:
            return self.encoder.encode([split_words(doc.text) if not doc.error else [] for doc in chunk])
        except Exception:  # find the culprit: encode each document alone
            pass
        encodings = []
        for i, doc in enumerate(chunk):
            try:
                (encoding,) = self.encoder.encode([split_words(doc.text) if not doc.error else []])
            except Exception as exc:
                chunk[i] = Document(doc.id, doc.text, [], doc.source, error=f"{doc.source or doc.id}: document {doc.id!r} "
                                    f"could not be tokenised ({type(exc).__name__}: {str(exc)[:200]}); please report this with the text")
                (encoding,) = self.encoder.encode([[]])
            encodings.append(encoding)
        return encodings

    def _result(self, doc: Document, enc, doc_labels: list[int], doc_scores: list[float], doc_entropies: list[float]) -> Tagged:
        if doc.error:
            return Tagged(doc, None)
        tags = [self.id2label[i] for i in doc_labels]
        spans = tags_to_spans(enc.words, tags, doc_scores)
        if not doc_scores:
            return Tagged(Document(doc.id, doc.text, spans, doc.source), None)
        n = len(doc_scores)
        uncertainty = Uncertainty(n, 1.0 - min(doc_scores), sum(doc_entropies) / n)
        return Tagged(Document(doc.id, doc.text, spans, doc.source), sum(doc_scores) / n, uncertainty)

    def _batches(self, windows, encodings) -> Iterator[list]:
        """Pack length-sorted windows (longest first) into batches of at most ``batch_size`` rows and
        ``max_batch_tokens`` padded tokens, starting a new batch rather than padding a window by more
        than a twentieth of the batch's width (2 tokens for short ones): padding is work the model does
        for nothing, and on a CPU an extra, smaller batch costs less than a few padded tokens per row."""
        batch: list = []
        width = 0
        extra = len(self.encoder.prefix) + len(self.encoder.suffix)
        for d, k in windows:
            length = _length(encodings[d].windows[k]) + extra
            if batch and (
                len(batch) >= self.batch_size
                or width * (len(batch) + 1) > self.max_batch_tokens
                or width - length > max(2, width // 20)
            ):
                yield batch
                batch = []
            if not batch:
                width = length
            batch.append((d, k))
        if batch:
            yield batch


def _device(device: str | None):
    import torch

    return torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))


def _runs_on_export(model_dir: str, device: str | None = None, dtype: str = "fp32", engine: str | None = None, **_) -> bool:
    """Whether a Tagger of ``model_dir`` with these options runs on a current ONNX export there. A
    request the device cannot honour is refused by the constructor, as without an export."""
    try:
        on, exported = _device(device), cache(lambda: export_ready(model_dir))  # checked once, and only where it matters
        return choose_engine(engine, choose_precision(dtype, on), on, exported) != "torch" and exported()
    except UserError:
        return False


def _length(window: tuple[int, int]) -> int:
    return window[1] - window[0]
