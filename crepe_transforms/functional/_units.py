"""Units: conversions between CREPE bins, cents, Hz and MIDI note numbers.

All functions accept tensors (any shape, floating point, any device) and return tensors of
the same shape. Cents are relative to 10 Hz, as in the original CREPE. Bins are fractional
where the input is: ``bins_to_cents(cents_to_bins(c)) == c``.
"""

from __future__ import annotations

import math

import torch

from ..constants import CENTS_OFFSET, CENTS_PER_BIN, CENTS_REFERENCE_HZ
from ..exceptions import ParameterError

__all__ = [
    "bins_to_cents",
    "bins_to_hz",
    "cents_to_bins",
    "cents_to_hz",
    "hz_to_bins",
    "hz_to_cents",
    "hz_to_midi",
    "midi_to_hz",
]

_MIDI_A4 = 69.0
_HZ_A4 = 440.0


def _float(x: torch.Tensor | float, name: str) -> torch.Tensor:
    try:
        t = torch.as_tensor(x)
    except (TypeError, ValueError, RuntimeError):
        t = None
    if t is None or t.is_complex() or t.dtype == torch.bool:
        found = t.dtype if t is not None else type(x).__name__
        raise ParameterError(
            f"{name} must be a real number or a real tensor, got {found}. Pass e.g. "
            f"torch.tensor([...], dtype=torch.float32)"
            + (f" or {name}.real." if t is not None and t.is_complex() else ".")
        )
    return t if t.is_floating_point() else t.to(torch.get_default_dtype())


def bins_to_cents(bins: torch.Tensor | float) -> torch.Tensor:
    """Bin index (fractional allowed) to cents relative to 10 Hz: ``20 * bin + 1997.38``."""
    return CENTS_PER_BIN * _float(bins, "bins") + CENTS_OFFSET


def cents_to_bins(cents: torch.Tensor | float) -> torch.Tensor:
    """Cents relative to 10 Hz to fractional bin index (inverse of :func:`bins_to_cents`)."""
    return (_float(cents, "cents") - CENTS_OFFSET) / CENTS_PER_BIN


def cents_to_hz(cents: torch.Tensor | float) -> torch.Tensor:
    """Cents relative to 10 Hz to Hz. NaN stays NaN."""
    return CENTS_REFERENCE_HZ * torch.exp2(_float(cents, "cents") / 1200.0)


def hz_to_cents(hz: torch.Tensor | float) -> torch.Tensor:
    """Hz to cents relative to 10 Hz. Non-positive frequencies give NaN (never -inf)."""
    f = _float(hz, "hz")
    out = 1200.0 * torch.log2(f / CENTS_REFERENCE_HZ)
    return torch.where(f > 0, out, torch.full_like(out, math.nan))


def bins_to_hz(bins: torch.Tensor | float) -> torch.Tensor:
    """Bin index (fractional allowed) to Hz."""
    return cents_to_hz(bins_to_cents(bins))


def hz_to_bins(hz: torch.Tensor | float) -> torch.Tensor:
    """Hz to fractional bin index (NaN for non-positive input)."""
    return cents_to_bins(hz_to_cents(hz))


def hz_to_midi(hz: torch.Tensor | float) -> torch.Tensor:
    """Hz to fractional MIDI note number (A4 = 440 Hz = 69). Non-positive input gives NaN."""
    f = _float(hz, "hz")
    out = _MIDI_A4 + 12.0 * torch.log2(f / _HZ_A4)
    return torch.where(f > 0, out, torch.full_like(out, math.nan))


def midi_to_hz(midi: torch.Tensor | float) -> torch.Tensor:
    """Fractional MIDI note number to Hz."""
    return _HZ_A4 * torch.exp2((_float(midi, "midi") - _MIDI_A4) / 12.0)
