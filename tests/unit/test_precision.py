"""The precision policy: bf16 only where the CPU computes it natively, one line saying why."""

import pytest
import torch

from arabic_ner.model import precision
from arabic_ner.model.precision import choose_precision

CPU = torch.device("cpu")


@pytest.mark.parametrize("native", [True, False])
def test_auto_picks_bf16_only_on_a_cpu_that_has_it(monkeypatch, native):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native)
    chosen = choose_precision("auto", CPU)
    assert chosen.name == ("bf16" if native else "fp32")
    assert chosen.line().startswith(f"precision: {chosen.name} (") and "native bf16" in chosen.line()


def test_bf16_asked_for_on_a_cpu_without_it_runs_fp32_and_says_why(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    chosen = choose_precision("bf16", CPU)
    assert chosen.name == "fp32" and "slower than fp32" in chosen.why


@pytest.mark.parametrize("requested", ["fp32", "int8"])
def test_fp32_and_int8_run_as_asked_on_a_cpu(requested):
    assert choose_precision(requested, CPU).name == requested


def test_the_detection_reads_the_cpus_own_flags():
    flags = open("/proc/cpuinfo").read().split() if __import__("os").path.exists("/proc/cpuinfo") else None
    if flags is None:
        pytest.skip("no /proc/cpuinfo here")
    assert precision.cpu_has_native_bf16() == ("avx512_bf16" in flags or "amx_bf16" in flags)


def test_bf16_leaves_the_callers_model_in_fp32_and_converts_in_place_only_a_model_it_owns(tmp_path):
    from arabic_ner.model.loading import load_trained

    from helpers import random_model

    _, model = load_trained(str(random_model(tmp_path / "m", ["قصف التحالف مواقع لداعش"])))
    bf16 = precision.Precision("bf16", "asked for")
    copied, _ = precision.prepare(model, bf16, CPU)
    assert copied is not model and copied.dtype == torch.bfloat16 and model.dtype == torch.float32  # the Trainer's stays fp32
    owned, _ = precision.prepare(model, bf16, CPU, owned=True)
    assert owned is model and model.dtype == torch.bfloat16  # loaded for the Tagger alone: no 440 MB copy
