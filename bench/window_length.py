"""Window length for long documents: are shorter windows (same stride ratio) faster at the same spans?

    .venv/bin/python -m bench.window_length      # ~6 minutes on 2 cores

Attention costs grow with the square of the window, so a long article cut into 256-token
windows might tag faster than in 512-token ones, at the price of less context per word and more
overlap. Measured in one run:

- speed: the 30 articles of bench/predict_throughput.py (a third longer than 512 tokens), a
  randomly initialised BERT-base-size model, windows of 512, 256 and 128 tokens with a stride of
  a quarter of the window, in fp32 and in bf16 (where the CPU has it), best of two rounds;
- spans: the tiny config trained here on the bundled annotations with 512-token windows, tagging
  the five articles and the 30 long ones with each window length; the share of the 512-token
  windows' spans that each gives.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
WINDOWS = (512, 256, 128)


def with_window(tokenizer, window: int):
    shorter = copy.deepcopy(tokenizer)
    shorter.model_max_length = window
    return shorter


def main() -> None:
    from arabic_ner.core.document import Document
    from arabic_ner.data.inputs import iter_input
    from arabic_ner.model.inference import Tagger
    from arabic_ner.model.precision import cpu_has_native_bf16
    from bench.predict_throughput import base_model, bench_tokenizer, make_documents, span_agreement

    tokenizer = bench_tokenizer()
    model = base_model(tokenizer)
    articles = make_documents(30, tokenizer)
    tokens = sum(len(tokenizer(d, add_special_tokens=False)["input_ids"]) for d in articles)
    documents = [Document(str(i), d) for i, d in enumerate(articles)]
    print(f"30 articles, {tokens} tokens; BERT-base size, random weights")
    for dtype in ["fp32"] + (["bf16"] if cpu_has_native_bf16() else []):
        taggers = {w: Tagger(model, with_window(tokenizer, w), device="cpu", dtype=dtype, stride=w // 4) for w in WINDOWS}
        best = {w: float("inf") for w in WINDOWS}
        for _ in range(2):  # alternate, keep each one's best
            for w, tagger in taggers.items():
                start = time.perf_counter()
                list(tagger.tag(documents))
                best[w] = min(best[w], time.perf_counter() - start)
        print(f"{dtype}: " + ", ".join(f"window {w} {tokens / best[w]:.0f} tokens/s (x{best[512] / best[w]:.2f})" for w in WINDOWS))
    with tempfile.TemporaryDirectory() as tmp:
        tiny = Path(tmp) / "tiny512"
        subprocess.run(
            [sys.executable, "train.py", "--config", "configs/tiny.yaml", "--output-dir", str(tiny),
             "--set", "max_length=512", "--set", "stride=128"],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        texts = [d.text for d in iter_input(ROOT / "data" / "raw")] + articles
        docs = [Document(str(i), t) for i, t in enumerate(texts)]
        reference = Tagger.load(str(tiny), dtype="fp32")
        tagged = {}
        for w in WINDOWS:
            tagger = Tagger(reference.model, with_window(reference.encoder.tokenizer, w), device="cpu", dtype="fp32", stride=w // 4)
            tagged[w] = [t.document for t in tagger.tag(docs)]
        print(f"tiny config trained with 512-token windows, {len(texts)} articles: " + ", ".join(
            f"window {w} gives {100 * span_agreement(tagged[512], tagged[w]):.2f}% of the 512 windows' spans" for w in WINDOWS[1:]))


if __name__ == "__main__":
    main()
