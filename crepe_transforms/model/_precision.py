"""Compute precision: one vocabulary, and reduced precision checked on the hardware it runs on.

``precision`` is the precision of the network's matrix products: ``"fp32"`` (exact, the
default), ``"bf16"`` or ``"fp16"``. It is not the module's dtype, which is set the torch way,
``module.to(torch.float64)``. The words ``"float32"``/``"bfloat16"``/``"float16"`` and the
torch dtypes are accepted as synonyms everywhere (Python and command line).

Reduced-precision kernels are not equally good everywhere: on Intel CPUs with AMX, oneDNN's
bf16 convolution returns wrong results for CREPE's block 2 (1024 input channels; relative
error ~60, measured in 0.1), while the same call with oneDNN disabled, or the FFT path's bf16
matrix products, are correct. So nothing reduced is trusted blindly: the first time a network
runs a reduced precision on a device, :func:`verify_reduced` runs a fixed probe (harmonic tones
and noise) through both precisions and compares them. If the reduced result is off, a warning
names the cause and that network runs fp32 on that device from then on. The probe costs one
16-frame forward pass in each precision, once per process, capacity, algorithm and device.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import warnings
from collections.abc import Callable

import torch

from .._checks import check_choice
from .._tables import PRECISIONS
from ..constants import SAMPLE_RATE, WINDOW_SIZE
from ..exceptions import ParameterError

__all__ = [
    "PRECISIONS",
    "REDUCED_DTYPES",
    "check_precision",
    "cpu_has_bf16",
    "forget_verdicts",
    "probe_frames",
    "verify_reduced",
    "warn_fallback",
]

#: The operand dtype of each reduced precision.
REDUCED_DTYPES: dict[str, torch.dtype] = {"bf16": torch.bfloat16, "fp16": torch.float16}

_SYNONYMS: dict[object, str] = {
    "fp32": "fp32",
    "float32": "fp32",
    torch.float32: "fp32",
    "bf16": "bf16",
    "bfloat16": "bf16",
    torch.bfloat16: "bf16",
    "fp16": "fp16",
    "float16": "fp16",
    "half": "fp16",
    torch.float16: "fp16",
}

#: A reduced result is accepted when no activation moves by more than this against fp32 ...
PROBE_MAX_ERROR = 0.1
#: ... and the argmax of every confident frame (fp32 activation >= 0.5) stays within a bin.
PROBE_MAX_BINS = 1

_lock = threading.Lock()  # held while probing: worker threads wait for the one verdict
_verdicts: dict[tuple[object, ...], tuple[bool, str]] = {}


def _reset_after_fork() -> None:
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def check_precision(value: object) -> str:
    """Return the canonical precision word (``"fp32"``, ``"bf16"`` or ``"fp16"``).

    Example:
        >>> check_precision("bfloat16"), check_precision(torch.float16)
        ('bf16', 'fp16')
    """
    word = _SYNONYMS.get(value) if isinstance(value, str | torch.dtype) else None
    if word is None:
        if isinstance(value, torch.dtype):
            raise ParameterError(
                f"precision={value} is not a compute precision. Choose 'fp32', 'bf16' or "
                f"'fp16'; to change the module's dtype use module.to({value})."
            )
        check_choice(value, "precision", PRECISIONS)  # raises with the list of choices
        raise AssertionError("unreachable")  # pragma: no cover
    return word


def probe_frames(count: int = 16) -> torch.Tensor:
    """Fixed, normalised probe frames: harmonic tones from 60 Hz to 1.6 kHz, and noise.

    Shape:
        ``(count, 1024)`` float32 on the CPU
    """
    generator = torch.Generator().manual_seed(20180415)
    t = torch.arange(WINDOW_SIZE, dtype=torch.float64) / SAMPLE_RATE
    rows = []
    for k in range(count):
        if k % 4 == 3:
            x = torch.randn(WINDOW_SIZE, generator=generator, dtype=torch.float64)
        else:
            f0 = 60.0 * (1600.0 / 60.0) ** (k / max(1, count - 1))
            harmonics = torch.arange(1, 9, dtype=torch.float64)[:, None]
            x = (torch.sin(2 * math.pi * f0 * harmonics * t) / harmonics).sum(0)
            x = x + 0.01 * torch.randn(WINDOW_SIZE, generator=generator, dtype=torch.float64)
        x = (x - x.mean()) / x.std(correction=0)
        rows.append(x)
    return torch.stack(rows).float()


def _compare(reference: torch.Tensor, reduced: torch.Tensor) -> tuple[bool, float, int]:
    error = float((reference - reduced).abs().max())
    confident = reference.max(dim=-1).values >= 0.5
    moved = (reference.argmax(-1) - reduced.argmax(-1)).abs()[confident]
    worst = int(moved.max()) if moved.numel() else 0
    return error <= PROBE_MAX_ERROR and worst <= PROBE_MAX_BINS, error, worst


def verify_reduced(
    key: tuple[object, ...],
    run: Callable[[torch.Tensor], torch.Tensor],
    reference: Callable[[torch.Tensor], torch.Tensor],
    device: torch.device,
    dtype: torch.dtype,
) -> tuple[bool, str]:
    """Whether a reduced-precision path gives correct results on ``device`` (probed once).

    Args:
        key: what the verdict depends on (capacity, algorithm, precision, …); the device and
            dtype are added.
        run: the reduced path, probe frames → activations.
        reference: the fp32 path, probe frames → activations.
        device, dtype: where and in which dtype the probe runs.

    Returns:
        ``(ok, finding)``: ``finding`` says how far off the reduced path was when it is not ok.
    """
    full_key = (*key, str(device), dtype)
    verdict = _verdicts.get(full_key)
    if verdict is not None:
        return verdict
    with _lock:
        verdict = _verdicts.get(full_key)
        if verdict is None:
            frames = probe_frames().to(device=device, dtype=dtype)
            with torch.no_grad(), torch.inference_mode(False):
                ok, error, worst = _compare(reference(frames).float(), run(frames).float())
            finding = (
                f"its results are wrong (against fp32 on a fixed probe its activations move by "
                f"up to {error:.3g} and confident pitches by up to {worst} bins: a reduced-"
                f"precision kernel of this device is broken, e.g. oneDNN's bf16 convolution on "
                f"some Intel AMX CPUs)"
            )
            verdict = _verdicts[full_key] = (ok, "" if ok else finding)
    return verdict


_warned: set[tuple[str, str, str]] = set()


def warn_fallback(path: str, device: torch.device, finding: str, instead: str) -> None:
    """Warn, once per process and path, that a reduced-precision path was replaced, and why."""
    key = (path, str(device), instead)
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(
        f"{path} is not used on this machine's {device}: {finding}. Using {instead} instead; "
        f"choose it explicitly to silence this warning.",
        RuntimeWarning,
        stacklevel=5,
    )


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX-512 BF16 or AMX); True if unknown.

    Without such units a bf16 convolution is emulated, ~70x slower than fp32.
    """
    try:
        text = open("/proc/cpuinfo", encoding="utf-8").read()  # noqa: SIM115
    except OSError:
        return True
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return not flags or any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


def forget_verdicts() -> None:
    """Forget every probe result (tests; after changing torch backend flags)."""
    with _lock:
        _verdicts.clear()
        _warned.clear()
