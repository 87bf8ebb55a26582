"""int8 on a CPU: torch.ao's quantize_dynamic (what --dtype int8 uses) against torchao, its replacement.

    .venv/bin/pip install torchao==0.18.0     # not a project dependency: only this bench needs it
    .venv/bin/python bench/int8_backends.py   # ~3 minutes on 2 cores

``torch.ao.quantization.quantize_dynamic`` is deprecated in torch 2.x; torchao's
``Int8DynamicActivationInt8WeightConfig`` is the maintained way to the same scheme (int8 weights,
activations quantised per token on the fly). Both are applied to the same randomly initialised
BERT-base-size token classifier and timed, in eager mode as the engine runs, on batch shapes the
engine uses for paragraphs and for whole articles, against fp32 in the same run. Agreement with
fp32 is measured on a trained model (the tiny config on the bundled annotations): the share of
spans that both give.
"""

from __future__ import annotations

import copy
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def torchao_int8(model):
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    model = copy.deepcopy(model)
    quantize_(model, Int8DynamicActivationInt8WeightConfig())
    return model


def forward_seconds(model, batch: int, length: int, repeats: int = 3) -> float:
    import torch

    ids = torch.randint(5, 1000, (batch, length))
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        model(input_ids=ids, attention_mask=mask)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            model(input_ids=ids, attention_mask=mask)
            best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    try:
        import torchao
    except ImportError:
        sys.exit("torchao is not installed: .venv/bin/pip install torchao==0.18.0")
    import torch

    from arabic_ner.core.document import Document
    from arabic_ner.data.inputs import iter_input
    from arabic_ner.model.inference import Tagger
    from arabic_ner.model.precision import quantized
    from bench.predict_throughput import base_model, bench_tokenizer, span_agreement, trained_tiny_model

    print(f"torch {torch.__version__}, torchao {torchao.__version__}, {torch.get_num_threads()} threads")
    model = base_model(bench_tokenizer())
    contenders = {"fp32": model, "quantize_dynamic": quantized(copy.deepcopy(model)), "torchao": torchao_int8(model)}
    for batch, length in ((16, 128), (4, 512)):
        seconds = {name: forward_seconds(m, batch, length) for name, m in contenders.items()}
        tokens = batch * length
        print(f"{batch} x {length}: " + ", ".join(
            f"{name} {tokens / s:.0f} tokens/s (x{seconds['fp32'] / s:.2f})" for name, s in seconds.items()))
    with tempfile.TemporaryDirectory() as tmp:
        tiny = trained_tiny_model(Path(tmp))
        texts = [d.text for d in iter_input(ROOT / "data" / "raw")]
        documents = [Document(str(i), t) for i, t in enumerate(texts)]
        fp32 = Tagger.load(str(tiny), dtype="fp32")
        tagged = {"fp32": [t.document for t in fp32.tag(documents)]}
        tagged["quantize_dynamic"] = [t.document for t in Tagger.load(str(tiny), dtype="int8").tag(documents)]
        fp32.model = torchao_int8(fp32.model)
        tagged["torchao"] = [t.document for t in fp32.tag(documents)]
    for name in ("quantize_dynamic", "torchao"):
        print(f"{name} against fp32 on a trained model (tiny config, {len(texts)} articles): "
              f"{100 * span_agreement(tagged['fp32'], tagged[name]):.2f}% of spans agree")


if __name__ == "__main__":
    main()
