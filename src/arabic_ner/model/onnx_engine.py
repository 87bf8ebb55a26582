"""The ONNX engines: a model's ONNX graphs (fp32 and dynamically quantised int8), kept in the
model's folder, checked against its weights, and run for the Tagger on ONNX Runtime or OpenVINO.

``arabic-ner export --model DIR`` (or the first ``--dtype int8`` run on a CPU) writes ``DIR/onnx/``:
``model.onnx`` (input_ids and attention_mask, any batch and length, to logits), ``model-int8.onnx``
(its Linear layers' weights in int8, activations quantised on the fly) and ``export.json`` (the sha256
of the weights it came from, the versions that made it, and how far it was from torch on a few
batches). Hugging Face and the pipeline ignore the subfolder, so the directory stays a standard
model directory. int8 on a CPU runs the int8 graph on onnxruntime (making the export on first use);
fp32 on a CPU runs the fp32 graph on onnxruntime, and bf16 on a CPU runs it on OpenVINO in bf16
(:mod:`arabic_ner.model.openvino_engine`), where a current export is there (neither makes one):
torch's spans, without importing transformers' modelling code or reading the torch weights, so
predict starts sooner. Every use checks that the graphs belong to the weights there now: an export
from other weights is rebuilt, with a note, or refused, never used. Tagging imports the engine's
runtime only; ``onnx`` (which onnxruntime's quantiser needs) only when a graph is made.
"""

from __future__ import annotations

import json
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..core.problems import UserError
from ..data.files import replace_whole, write_directory_whole
from .loading import WEIGHTS_RECORD, export_record, load_trained, weights_record, weights_sha256, weights_stats

log = logging.getLogger(__name__)

ENGINES = ("torch", "onnxruntime", "openvino")
EXPORT_DIR = WEIGHTS_RECORD.parent.name  # "onnx", inside the model's folder
FP32_GRAPH, INT8_GRAPH, RECORD = "model.onnx", "model-int8.onnx", WEIGHTS_RECORD.name
FORMAT = 2  # of export.json and the graphs (2: eager attention); an export of another number is rebuilt
OPSET = 17
# The fp32 graph must give torch's logits to within this, relative to the largest logit, at export.
FP32_TOLERANCE = 1e-3
GRAPHS = {"fp32": FP32_GRAPH, "int8": INT8_GRAPH}  # the export's graphs, which onnxruntime runs as they are
# What each engine that runs an export runs, and on which graph: OpenVINO computes bf16 from the fp32 graph.
RUNS = {"onnxruntime": GRAPHS, "openvino": {"fp32": FP32_GRAPH, "bf16": FP32_GRAPH}}
# The engine each precision runs on by default, on a CPU, from an export.
EXPORT_ENGINE = {"int8": "onnxruntime", "fp32": "onnxruntime", "bf16": "openvino"}
# what runs where the export's engine cannot
FALLBACKS = {"int8": "int8 runs on torch's quantize_dynamic", "fp32": "fp32 runs on torch", "bf16": "bf16 runs on torch"}


def choose_engine(requested: str | None, precision, device, exported=lambda: False) -> str:
    """``torch``, ``onnxruntime`` or ``openvino``, for ``precision`` on ``device``. ``None`` (auto):
    onnxruntime for int8 on a CPU; where ``exported()`` (the model's folder holds a current export),
    onnxruntime for fp32 and OpenVINO for bf16 on a CPU (the export's graph gives torch's spans at
    about torch's speed, and starts seconds sooner, without transformers' modelling code); torch for
    everything else. GPUs always keep torch (bf16/fp16 autocast)."""
    if requested not in (None, *ENGINES):
        raise UserError(f"--engine {requested}: choose one of {', '.join(ENGINES)}")
    if requested == "torch":
        return "torch"
    if device.type != "cpu":
        if requested is not None:
            raise UserError(f"--engine {requested} runs on the CPU; on a GPU torch runs (bf16 or fp16 autocast): leave --engine out")
        return "torch"
    if requested is not None:
        if precision.name not in RUNS[requested]:
            raise UserError(f"--engine {requested} runs {' or '.join(RUNS[requested])}, and this would run {precision.name}; "
                            f"give --dtype {' or --dtype '.join(RUNS[requested])}")
        return requested
    if precision.name == "int8" or (precision.name in EXPORT_ENGINE and exported()):
        return EXPORT_ENGINE[precision.name]
    return "torch"


def makes_export(precision: str, forced: bool) -> bool:
    """Whether a run at ``precision`` makes a missing or stale export: int8 does (its speed is
    onnxruntime's), and so does a forced engine (``--engine onnxruntime`` or ``openvino``); fp32 and
    bf16 only use an export that is there."""
    return forced or precision == "int8"


@dataclass(frozen=True)
class Verification:
    """How the graphs compare with torch's fp32 logits on a few batches of random ids, over the
    positions the attention mask keeps: the share of argmax labels they agree on and the largest
    absolute logit difference."""

    batches: int
    tokens: int
    fp32_agreement: float
    fp32_max_abs_diff: float
    int8_agreement: float
    int8_max_abs_diff: float

    def line(self) -> str:
        return (f"checked against torch on {self.batches} batches ({self.tokens} tokens): fp32 agrees on "
                f"{self.fp32_agreement:.2%} of labels (largest logit difference {self.fp32_max_abs_diff:.1e}), "
                f"int8 on {self.int8_agreement:.2%} ({self.int8_max_abs_diff:.2f})")


def export_folder(model_dir: str | Path) -> Path:
    return Path(model_dir) / EXPORT_DIR


def read_record(model_dir: str | Path) -> dict | None:
    """``export.json`` of ``model_dir``'s export, if it is there and complete (graphs included)."""
    record = export_record(model_dir)
    return record if _complete(model_dir, record) else None


def _complete(model_dir: str | Path, record: dict | None) -> bool:
    """Whether ``record`` is an export of this format, with its graphs beside it."""
    folder = export_folder(model_dir)
    return (record is not None and record.get("format") == FORMAT and isinstance(record.get("weights"), dict)
            and all((folder / name).is_file() for name in GRAPHS.values()))


def export_state(model_dir: str | Path) -> tuple[str | None, dict | None]:
    """``(why it cannot be used, record)``: why is ``None`` for an export of the weights and config
    now in ``model_dir``. The weights are hashed again only when their files changed on disk
    (:func:`~arabic_ner.model.loading.weights_sha256`); when only that changed, the record is
    brought up to date so that the next run is cheap again."""
    folder = export_folder(model_dir)
    record = export_record(model_dir)
    if not _complete(model_dir, record):
        if not folder.exists():
            return "there is no ONNX export yet", None
        made = record.get("format") if record else None
        if made not in (None, FORMAT):
            return f"{folder} was made by another version of arabic-ner (export format {made}; this one makes {FORMAT})", None
        return f"{folder} holds no complete export", None
    recorded = record["weights"]
    files = weights_stats(model_dir)
    sha256 = weights_sha256(model_dir, recorded)  # the recorded one while ``files`` are as recorded
    if sha256 != recorded.get("sha256"):
        return (f"{folder} was exported from other weights (sha256 {str(recorded.get('sha256'))[:8]}; "
                f"the weights there now are {sha256[:8]})"), record
    if record.get("config_sha256") != _config_sha256(model_dir):
        return f"{folder} was exported with another config.json", record
    if recorded.get("files") != files and weights_stats(model_dir) == files:  # the same bytes in other files
        _refresh(model_dir, {**record, "weights": {"sha256": sha256, "files": files}})
    return None, record


def export_ready(model_dir: str | Path) -> bool:
    """Whether onnxruntime can run the export in ``model_dir`` as it is, with nothing to make."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return export_state(model_dir)[0] is None


def check_exportable(model_dir: str | Path) -> None:
    """Refuse, in one line, a folder the export cannot go into or cannot be checked against."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise UserError(f"{model_dir}: no such folder; give the folder of a trained model (train's --output-dir)")
    if not (model_dir / "config.json").is_file():
        raise UserError(f"{model_dir}: no config.json, so this is not a model directory; give the directory train wrote "
                        "(it holds config.json, model.safetensors and tokenizer.json)")
    if not any(model_dir.glob("*.safetensors")):
        raise UserError(f"{model_dir}: has no safetensors weights, which the export is checked against; convert them once "
                        "with AutoModelForTokenClassification.from_pretrained(DIR).save_pretrained(DIR)")


def export(model_dir: str | Path, model=None, per_channel: bool = False) -> dict:
    """Write ``model_dir/onnx`` whole (a staging folder, then renames), replacing any export there,
    and return its record. ``model`` is the model loaded from ``model_dir`` if the caller has it.
    The fp32 graph is checked against torch before anything is written; a graph that disagrees is
    an error, and the folder stays as it was."""
    model_dir = Path(model_dir)
    check_exportable(model_dir)
    start = time.perf_counter()
    weights = weights_record(model_dir)
    if model is None:
        _, model = load_trained(str(model_dir))

    def fill(staging: Path) -> None:
        staging.mkdir(parents=True)
        _export_fp32(model, staging / FP32_GRAPH)
        _quantize(staging / FP32_GRAPH, staging / INT8_GRAPH, per_channel)
        verification = verify(model, staging)
        record = _record(weights, _config_sha256(model_dir), per_channel, verification, time.perf_counter() - start)
        (staging / RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")

    write_directory_whole(export_folder(model_dir), fill)
    return read_record(model_dir) or {}


def verify(model, folder: Path, seed: int = 0) -> Verification:
    """Both graphs in ``folder`` against ``model`` in torch fp32, on a few batches of random ids of
    several shapes (padding included); raises :class:`UserError` if the fp32 graph disagrees."""
    import numpy as np
    import torch

    model = _fp32_eval(model)
    generator = torch.Generator().manual_seed(seed)
    longest = min(model.config.max_position_embeddings, 128)
    vocab = model.get_input_embeddings().num_embeddings
    shapes = [(1, min(7, longest)), (3, min(23, longest)), (4, longest)]
    sessions = {name: OnnxSession(folder / graph) for name, graph in GRAPHS.items()}
    agree = {name: 0 for name in GRAPHS}
    worst = {name: 0.0 for name in GRAPHS}
    tokens = 0
    for rows, width in shapes:
        ids = torch.randint(0, vocab, (rows, width), generator=generator)
        mask = torch.ones_like(ids)
        mask[-1, max(1, width // 2):] = 0  # a padded row, as batches of windows have
        with torch.inference_mode():
            expected = model(input_ids=ids, attention_mask=mask).logits.numpy()
        kept = mask.numpy().astype(bool)
        tokens += int(kept.sum())
        for name, session in sessions.items():
            got = session.logits(ids, mask).numpy()
            agree[name] += int((got.argmax(-1) == expected.argmax(-1))[kept].sum())
            worst[name] = max(worst[name], float(np.abs(got - expected)[kept].max()))
            if name == "fp32" and worst[name] > FP32_TOLERANCE * max(1.0, float(np.abs(expected).max())):
                raise UserError(f"the fp32 ONNX graph of this model disagrees with torch (largest logit difference "
                                f"{worst[name]:.2e} on a batch of {rows}x{width}), so no export was written; "
                                "please report this with the model's config.json, and use --engine torch")
    return Verification(len(shapes), tokens, agree["fp32"] / tokens, worst["fp32"], agree["int8"] / tokens, worst["int8"])


class OnnxSession:
    """One ONNX Runtime session over a graph of :func:`export`: ``logits(ids, mask)`` as the torch
    model's ``.logits`` (a CPU float tensor), from int64 ``input_ids`` and ``attention_mask``.

    It runs on as many threads as torch does (``torch.get_num_threads()``, which follows
    ``OMP_NUM_THREADS``), one operator at a time. The session's extended graph optimisations
    (fusions of LayerNorm, GELU and MatMul with its bias) are applied when it opens: ORT_ENABLE_ALL
    (layout changes on top) was no faster on a BERT-base int8 graph. Neither was onnxruntime's
    offline BERT optimiser (one fused Attention operator a layer, quantised to QAttention): on the
    bench's batches it ran 512-token windows as fast as this graph but paragraphs at 0.77 its speed."""

    def __init__(self, path: str | Path, threads: int | None = None):
        import onnxruntime
        import torch

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.log_severity_level = 3  # errors only: no warnings about the graph's initialisers on every start
        self.path = Path(path)
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def logits(self, input_ids, attention_mask):
        import torch

        feed = {"input_ids": input_ids.to(torch.int64).numpy(), "attention_mask": attention_mask.to(torch.int64).numpy()}
        return torch.from_numpy(self.session.run(["logits"], feed)[0])


def open_session(model_dir: str | Path | None, precision: str, forced: bool, model=None,
                 make: bool = True, engine: str = "onnxruntime"):
    """The session (an :class:`OnnxSession`, or an OpenVINO one for ``engine="openvino"``) that runs
    ``precision`` for the model in ``model_dir``, making or remaking the export there when it is
    missing or belongs to other weights (unless ``make`` is false: evaluate writes nothing into the
    model it scores). When the engine cannot run it: ``None``, and one line saying why; an error
    instead when ``forced`` (``--engine onnxruntime`` or ``openvino``). ``model`` is the torch model
    loaded from ``model_dir``, if the caller has it (it spares loading it again to export)."""
    def fallback(why: str, fix: str) -> None:
        if forced:
            raise UserError(f"--engine {engine}: {why}; {fix}, or use --engine torch")
        log.info(f"note: {why}, so {FALLBACKS[precision]}; {fix}")
        return None

    try:
        __import__(engine)  # the engine's runtime: the package of the same name
    except ImportError:
        return fallback(f"{engine} is not installed", f"pip install {engine} to run it there")
    if model_dir is None:
        return fallback("the model has no folder to keep its ONNX export in", "load it from the folder save_pretrained wrote")
    model_dir = Path(model_dir)
    try:
        check_exportable(model_dir)
    except UserError as exc:
        return fallback(str(exc).split("; ")[0], "export it with `arabic-ner export` to see what it needs")
    why, old = export_state(model_dir)
    if why is not None and not make:
        return fallback(f"{why}, and this command writes nothing into the model", f"`arabic-ner export --model {model_dir}` makes it")
    if why is not None:
        try:
            import onnx  # noqa: F401
        except ImportError:
            return fallback(f"{why}, and onnx, which making one needs, is not installed", "pip install onnx to make it")
        if not writable(model_dir):
            return fallback(f"{why}, and {model_dir} cannot be written", f"run `arabic-ner export --model {model_dir}` as a user who can write there")
        log.info(f"note: {why}: {'re-exporting' if old else 'exporting'} it to {export_folder(model_dir)}, once (later runs reuse it)")
        start = time.perf_counter()
        try:
            export(model_dir, model)
        except Exception as exc:  # an exporter or quantiser that fails on this model: torch can still run it
            if forced:
                raise
            if export_state(model_dir)[0] is not None:  # (unless another process wrote it meanwhile)
                return fallback(f"the ONNX export of {model_dir} failed ({type(exc).__name__}: {_first_line(exc)})",
                                f"`arabic-ner export --model {model_dir}` shows the whole error")
        log.info(f"note: wrote {export_folder(model_dir)} in {time.perf_counter() - start:.1f} s")
    graph = export_folder(model_dir) / RUNS[engine][precision]
    try:
        if engine == "openvino":
            from .openvino_engine import OpenVinoSession

            return OpenVinoSession(graph, precision)
        return OnnxSession(graph)
    except Exception as exc:  # a graph damaged after it was written (a cut copy, a bad disk): torch still runs the model
        return fallback(f"{graph} cannot be opened ({type(exc).__name__}: {_first_line(exc)})",
                        f"`arabic-ner export --model {model_dir} --overwrite` makes it again")


def writable(folder: Path) -> bool:
    """Whether a folder can be created in ``folder`` (the export is staged beside its place)."""
    return os.access(folder, os.W_OK | os.X_OK)


def _export_fp32(model, path: Path) -> None:
    """The legacy (TorchScript) exporter: torch 2.13's dynamo exporter needs onnxscript, one more
    dependency, for the same graph. It traces one call, so the sample has a padded row (the mask
    must stay an input of the graph, not a constant) and both axes are declared dynamic. The model
    is traced with its eager attention (MatMul, Softmax, MatMul), then put back as it was: torch's
    SDPA exports as a graph whose int8 version ran 512-token windows at 0.63 the speed of the eager
    one's (bench/predict_throughput.py's batches, 2 threads; docs/benchmarks.md)."""
    import warnings

    import torch

    class Logits(torch.nn.Module):
        """The token classifier as the graph's function: (input_ids, attention_mask) -> logits."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    # eval() on the wrapper too: the exporter puts the module back in the mode it found it in, and a
    # wrapper left in training mode would switch the model's dropout on after the export.
    wrapper = Logits(_fp32_eval(model)).eval()
    ids = torch.full((2, 16), max(model.config.pad_token_id or 0, 0) + 1, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    axes = {0: "batch", 1: "sequence"}
    attention = getattr(model.config, "_attn_implementation", None)
    switch = getattr(model, "set_attn_implementation", None)  # transformers' public way to choose it
    try:
        if switch is not None and attention not in (None, "eager"):
            switch("eager")
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer warnings, about code we do not own
            torch.onnx.export(wrapper, (ids, mask), str(path), input_names=["input_ids", "attention_mask"],
                              output_names=["logits"], opset_version=OPSET, dynamo=False,
                              dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": axes})
    finally:
        if switch is not None and attention not in (None, "eager"):
            switch(attention)


def _quantize(source: Path, target: Path, per_channel: bool) -> None:
    """onnxruntime's dynamic quantisation: the MatMul weights to int8 (QInt8), activations quantised
    on the fly, as torch's quantize_dynamic does."""
    with _quiet_root_logger():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=per_channel)


@contextmanager
def _quiet_root_logger():
    """onnxruntime's quantiser logs a hint through ``logging.warning``, which would configure the root
    logger (basicConfig) for the rest of the program; a NullHandler and a raised level, meanwhile."""
    root = logging.getLogger()
    handler, level = logging.NullHandler(), root.level
    root.addHandler(handler)
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _record(weights: dict, config_sha256: str, per_channel: bool, verification: Verification, seconds: float) -> dict:
    from dataclasses import asdict
    from importlib.metadata import version

    import onnxruntime
    import torch

    return {
        "format": FORMAT,
        "weights": weights,
        "config_sha256": config_sha256,
        "graphs": {"fp32": FP32_GRAPH, "int8": INT8_GRAPH},
        "exporter": f"torch.onnx.export (TorchScript, dynamo=False, eager attention), opset {OPSET}",
        "quantization": {"method": "onnxruntime.quantization.quantize_dynamic", "weight_type": "QInt8", "per_channel": per_channel},
        "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__, "onnx": version("onnx")},
        "verification": asdict(verification),
        "seconds": round(seconds, 1),
    }


def _refresh(model_dir: Path, record: dict) -> None:
    """Write ``record``, which names the weights' files as they are now, if the folder can be written."""
    if writable(export_folder(model_dir)):
        try:
            replace_whole(export_folder(model_dir) / RECORD, (json.dumps(record, indent=1) + "\n").encode("utf-8"))
        except OSError:
            pass  # only a cache: the next run hashes again


def _config_sha256(model_dir: str | Path) -> str:
    import hashlib

    return hashlib.sha256((Path(model_dir) / "config.json").read_bytes()).hexdigest()


def _fp32_eval(model):
    """``model`` in fp32 and eval mode (a model saved in bf16 is exported in fp32, as int8 quantises)."""
    import torch

    model = model.to("cpu")
    if model.dtype != torch.float32:
        model = model.float()
    return model.eval()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
