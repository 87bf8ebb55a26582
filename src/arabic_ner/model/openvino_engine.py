"""The OpenVINO engine: the export's fp32 ONNX graph (``onnx/model.onnx``, see
:mod:`arabic_ner.model.onnx_engine`), compiled by OpenVINO for this CPU and run for the Tagger.

It is how bf16 runs on a CPU where the model has a current export. OpenVINO reads the fp32 graph
and, asked for bf16 (its inference precision), computes the matmuls in bf16 on CPUs that have it
natively (AVX512-BF16, AMX), as torch's bf16 does. Where it pays is the start: OpenVINO imports in
about 0.2 s and compiles a BERT-base graph in about 1.2 s, where torch's bf16 path first imports
transformers' modelling code (2-3 s, the pipeline's cost too). onnxruntime cannot do this: its CPU
provider has no bf16 MatMul or Gemm.

OpenVINO's cache of per-shape executors is left at its default (5,000 entries): predict's memory
grows over the first thousands of documents and then stays flat, and bounded at 16 entries the
bench's paragraphs ran 12-26% slower (docs/benchmarks.md, Memory). A BERT-base compiled in bf16
holds more memory than torch's bf16 model (a peak of about 1,160 against 900 MiB): ``--engine
torch`` keeps the smaller one.
"""

from __future__ import annotations

from pathlib import Path

# OpenVINO's name for each precision this engine runs
INFERENCE_PRECISION = {"fp32": "f32", "bf16": "bf16"}


class OpenVinoSession:
    """One compiled OpenVINO model over a graph of :func:`arabic_ner.model.onnx_engine.export`:
    ``logits(ids, mask)`` as the torch model's ``.logits`` (a CPU float32 tensor), from int64
    ``input_ids`` and ``attention_mask`` of any batch size and length. ``precision``: ``fp32`` or
    ``bf16``. It runs on as many threads as torch does (``torch.get_num_threads()``, which follows
    ``OMP_NUM_THREADS``), tuned for latency: one request at a time, as the Tagger sends them."""

    def __init__(self, path: str | Path, precision: str, threads: int | None = None):
        import openvino
        import torch

        self.path = Path(path)
        core = openvino.Core()
        config = {"INFERENCE_PRECISION_HINT": INFERENCE_PRECISION[precision], "INFERENCE_NUM_THREADS": threads or torch.get_num_threads(),
                  "PERFORMANCE_HINT": "LATENCY"}
        self.compiled = core.compile_model(core.read_model(str(self.path)), "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.output = self.compiled.output("logits")

    def logits(self, input_ids, attention_mask):
        import torch

        feed = {"input_ids": input_ids.to(torch.int64).numpy(), "attention_mask": attention_mask.to(torch.int64).numpy()}
        # the inputs are read in place; the logits come back as a copy of their own (share_outputs is off)
        return torch.from_numpy(self.request.infer(feed, share_inputs=True)[self.output].astype("float32", copy=False))
