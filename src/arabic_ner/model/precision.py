"""Which number format a model runs in (fp32, bf16 or int8), chosen from what the hardware has.

On a CPU, bf16 pays only where the CPU computes it natively (AVX512-BF16 or AMX): there a
BERT forward pass runs about twice as fast as in fp32 (bench/predict_throughput.py). Elsewhere
bf16 is emulated and runs slower than fp32, so it is never chosen there. int8 (dynamically
quantised Linear layers) is a CPU path. On a GPU, bf16 (fp16 where bf16 is missing) runs under
autocast. :func:`choose_precision` says in one line what was chosen and why.
"""

from __future__ import annotations

import copy
from contextlib import nullcontext
from dataclasses import dataclass

from ..core.problems import UserError

DTYPES = ("auto", "fp32", "bf16", "int8")


@dataclass(frozen=True)
class Precision:
    """``name`` is what runs (``fp32``, ``bf16``, ``fp16`` or ``int8``); ``why`` says why, in a few words."""

    name: str
    why: str

    def line(self) -> str:
        return f"precision: {self.name} ({self.why})"


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX-BF16)."""
    import torch

    capabilities = getattr(torch.cpu, "get_capabilities", lambda: {})()
    return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))


def check_device(device: str | None) -> None:
    """Refuse ``--device cuda`` where torch sees no GPU, before any work."""
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
            raise UserError(f"--device cuda: torch ({build}) sees no CUDA GPU on this machine; "
                            "use --device cpu, or leave --device out")


def choose_precision(requested: str, device) -> Precision:
    """The precision to run ``requested`` (one of :data:`DTYPES`) in on ``device`` (a torch.device).

    ``auto`` is the fastest that keeps the spans: bf16 on a GPU or on a CPU with native bf16,
    else fp32. bf16 asked for on a CPU without native bf16 runs in fp32 instead, and says so.
    """
    import torch

    if requested not in DTYPES:
        raise UserError(f"--dtype {requested}: choose one of {', '.join(DTYPES)}")
    if device.type == "cuda":
        if requested == "int8":
            raise UserError("--dtype int8 runs on the CPU; on a GPU use --dtype auto (bf16/fp16 autocast) or fp32")
        if requested == "fp32":
            return Precision("fp32", "asked for")
        if torch.cuda.is_bf16_supported():
            return Precision("bf16", "autocast on a GPU that has bf16")
        return Precision("fp16", "autocast; this GPU has no bf16")
    if requested in ("fp32", "int8"):
        return Precision(requested, "asked for")
    if cpu_has_native_bf16():
        return Precision("bf16", "this CPU has native bf16" + ("" if requested == "bf16" else "; --dtype fp32 for full precision"))
    if requested == "bf16":
        return Precision("fp32", "bf16 asked for, but this CPU has no native bf16 and would run it slower than fp32")
    return Precision("fp32", "this CPU has no native bf16")


def prepare(model, precision: Precision, device, owned: bool = False):
    """``model`` on ``device``, in eval mode, in ``precision``, and the context to run it in.
    ``owned``: nobody else holds ``model`` (it was loaded for this), so bf16 converts it in place."""
    import torch

    model = model.to(device).eval()
    if precision.name in ("fp32", "int8") and model.dtype != torch.float32:
        model = model.float()  # a model saved in bf16 or fp16: fp32 is what was asked for, and what int8 quantises
    if device.type == "cuda":
        if precision.name == "fp32":
            return model, nullcontext
        dtype = torch.bfloat16 if precision.name == "bf16" else torch.float16
        return model, lambda: torch.autocast("cuda", dtype=dtype)
    if precision.name == "bf16":
        # bf16 weights rather than autocast: no cast of the weights at every step (faster, see bench/).
        # A copy unless owned: Module.to() converts in place, and the caller's model (the Trainer's,
        # say) stays fp32.
        return (model if owned else copy.deepcopy(model)).to(torch.bfloat16), nullcontext
    if precision.name == "int8":
        return quantized(model), nullcontext
    return model, nullcontext


def quantized(model):
    """``model`` with its Linear layers dynamically quantised to int8 (weights stored in int8,
    activations quantised on the fly), for a CPU; bench/predict_throughput.py measures its speed and
    how often its spans agree with fp32's."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated but still the CPU int8 path in torch 2.x
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
