"""Running predict.py and train.py in several processes: ``accelerate launch`` (or ``torchrun``).

Prediction is sharded by chunks of documents: process ``r`` of ``n`` tags chunks ``r``, ``r + n``,
... exactly as a single process would batch them, and writes them to a part file; the first
process then merges the parts back into input order and writes the one output. Training is
left to the Trainer, which runs DDP (gloo on CPUs, NCCL on GPUs) when launched this way.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator

from ..core.document import Document, Span


def launched() -> bool:
    """True inside ``accelerate launch`` / ``torchrun`` with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def process_state():
    """accelerate's view of this process. On a machine without GPUs it must be told to use the
    CPU, or it would not join the other processes (then gloo is the backend)."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def shard(documents: Iterable[Document], rank: int, world: int, chunk: int) -> Iterator[Document]:
    """The documents of chunks ``rank``, ``rank + world``, ... (each chunk ``chunk`` documents long)."""
    documents = iter(documents)
    index = 0
    while block := list(islice(documents, chunk)):
        if index % world == rank:
            yield from block
        index += 1


def part_path(output: Path, rank: int, world: int) -> Path:
    return output.with_name(f".{output.name}.part{rank}of{world}")


def write_part(path: Path, tagged: Iterable) -> int:
    """Write this process's tagged documents, text included, as JSON lines; return how many."""
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for t in tagged:
            doc = t.document
            record = {"id": doc.id, "text": doc.text, "source": doc.source, "error": doc.error, "score": t.score,
                      "spans": [[s.start, s.end, s.label, s.score] for s in doc.spans]}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return n


def merged(parts: list[Path], chunk: int) -> Iterator[tuple[Document, float | None]]:
    """The records of all parts back in input order: chunk ``c`` is in part ``c % len(parts)``."""
    files = [open(p, encoding="utf-8") for p in parts]
    try:
        c = 0
        while True:
            lines = list(islice(files[c % len(files)], chunk))
            if not lines:
                return
            for line in lines:
                r = json.loads(line)
                spans = [Span(s, e, label, score) for s, e, label, score in r["spans"]]
                yield Document(r["id"], r["text"], spans, r["source"], r["error"]), r["score"]
            c += 1
    finally:
        for f in files:
            f.close()


def predict_in_processes(state, tagger, documents: Iterable[Document], output: Path, make_writer) -> tuple[Counter, object] | None:
    """Tag this process's chunks of ``documents`` into a part file; the first process then merges
    every part, in input order, through ``make_writer()``. Returns the counts and the writer on
    the first process, ``None`` on the others (as ``train_model`` does)."""
    from tqdm import tqdm

    from ..data.writers import write_tagged

    writer = make_writer() if state.is_main_process else None
    rank, world = state.process_index, state.num_processes
    mine = shard(documents, rank, world, tagger.chunk_documents)
    write_part(part_path(output, rank, world), tqdm(tagger.tag(mine), desc=f"tagging [{rank}/{world}]", unit="doc"))
    state.wait_for_everyone()
    result = None
    if writer is not None:
        parts = [part_path(output, r, world) for r in range(world)]
        with writer:
            result = write_tagged(writer, merged(parts, tagger.chunk_documents)), writer
        for part in parts:
            part.unlink()
    state.wait_for_everyone()
    return result
