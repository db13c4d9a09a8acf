"""A-weighted loudness in absolute dB, frame-aligned with CREPE pitch.

Loudness of frame ``i`` is the A-weighted power of a Hann-windowed 64 ms excerpt centred at
``i * hop_length / sample_rate`` seconds (zero padding at the edges), in dB re full scale: a
full-scale 1 kHz sine reads 0 dB, every halving of the amplitude subtracts 6.02 dB, and digital
silence reads ``floor_db``. The scale is absolute: the value of a frame never depends on the
rest of the signal. Frame count and centres equal :class:`~crepe_transforms.CrepeFrames`'
(``1 + time // hop_length``), so loudness and pitch line up frame for frame.
"""

from __future__ import annotations

import math
import numbers

import torch

from .._checks import check_audio, check_hop_length, check_lengths, check_sample_rate
from ..constants import DEFAULT_FLOOR_DB
from ..exceptions import ParameterError
from ._framing import length_mask
from ._resample import compute_dtype

__all__ = [
    "a_weighted_loudness",
    "a_weighting_db",
]

#: Analysis window: 64 ms, the span of a CREPE frame (1024 samples at 16 kHz).
WINDOW_SECONDS = 0.064

# IEC 61672-1 A-weighting pole frequencies in Hz, and the gain that makes A(1 kHz) = 0 dB.
_F1, _F2, _F3, _F4 = 20.598997, 107.65265, 737.86223, 12194.217
_A1000_DB = 2.0


def a_weighting_db(frequency: torch.Tensor) -> torch.Tensor:
    """IEC 61672-1 A-weighting gain in dB (0 dB at 1 kHz, ``-inf`` at 0 Hz).

    Shape:
        - frequency: any shape, Hz
        - Output: same shape

    Example:
        >>> [round(g, 1) for g in a_weighting_db(torch.tensor([100.0, 1000.0, 4000.0])).tolist()]
        [-19.1, 0.0, 1.0]
    """
    f2 = frequency.double() ** 2
    gain = (_F4**2 * f2**2) / (
        (f2 + _F1**2) * torch.sqrt((f2 + _F2**2) * (f2 + _F3**2)) * (f2 + _F4**2)
    )
    return (20.0 * torch.log10(gain) + _A1000_DB).to(frequency.dtype)


def _window_length(sample_rate: int) -> int:
    # Even length: the Hann window's peak then sits exactly on the frame centre.
    return 2 * max(1, round(WINDOW_SECONDS * sample_rate / 2))


def _power_weights(sample_rate: int, n_fft: int) -> torch.Tensor:
    frequency = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * sample_rate / n_fft
    weights = 10.0 ** (a_weighting_db(frequency) / 10.0)
    # One-sided spectrum: every bin but DC and Nyquist stands for two.
    weights[1:-1] *= 2.0
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    # Parseval: this scaling turns the weighted power sum into the weighted mean square, and
    # the factor 2 puts a full-scale sine (mean square 1/2) at 0 dB.
    return weights * 2.0 / (n_fft * float((window**2).sum()))


def loudness_tables(sample_rate: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The A-weighted power weights and Hann window :func:`a_weighted_loudness` uses at
    ``sample_rate`` (float64), to compute once and pass in."""
    n_fft = _window_length(check_sample_rate(sample_rate))
    return _power_weights(sample_rate, n_fft), torch.hann_window(
        n_fft, periodic=True, dtype=torch.float64
    )


def check_floor_db(floor_db: object) -> float:
    value = float(floor_db) if isinstance(floor_db, numbers.Real) else math.nan
    if isinstance(floor_db, bool) or not math.isfinite(value):
        raise ParameterError(
            f"floor_db must be a number of dB re full scale (finite), got {floor_db!r}; "
            f"pass e.g. floor_db={DEFAULT_FLOOR_DB}."
        )
    return value


def a_weighted_loudness(
    waveform: torch.Tensor,
    sample_rate: int,
    hop_length: int | None = None,
    lengths: torch.Tensor | None = None,
    floor_db: float = DEFAULT_FLOOR_DB,
    weights: torch.Tensor | None = None,
    window: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-frame A-weighted loudness in dB re full scale.

    Args:
        waveform: real floating-point audio.
        sample_rate: its rate in Hz.
        hop_length: hop in input samples; default ``sample_rate // 100`` (10 ms).
        lengths: valid samples per item of a zero-padded batch; samples past an item's length
            are ignored and its frames past ``1 + length // hop_length`` are ``NaN``.
        floor_db: lowest value returned (digital silence).
        weights, window: precomputed power weights and Hann window (``CrepeLoudness``'s
            buffers); computed when None.

    Shape:
        - waveform: ``(..., time)``; lengths: ``(...)``
        - Output: ``(..., 1 + time // hop_length)``, float32 (float64 for float64 input)

    Example:
        >>> t = torch.arange(16000) / 16000
        >>> sine = torch.sin(2 * torch.pi * 1000 * t)
        >>> loud = a_weighted_loudness(torch.stack([sine, 0.5 * sine]), 16000)
        >>> loud.shape, loud[:, 50].round(decimals=2)
        (torch.Size([2, 101]), tensor([ 0.0000, -6.0200]))
    """
    sr = check_sample_rate(sample_rate)
    waveform = check_audio(waveform)
    hop = check_hop_length(hop_length, sr)
    floor_db = check_floor_db(floor_db)
    shape, time = tuple(waveform.shape[:-1]), waveform.shape[-1]
    work = waveform.to(compute_dtype(waveform.dtype)).reshape(-1, time)
    if lengths is not None:
        lengths = check_lengths(lengths, shape, time).reshape(-1, 1).to(work.device)
        work = work * length_mask(lengths.reshape(-1), time)
    n_fft = _window_length(sr)
    if weights is None:
        weights = _power_weights(sr, n_fft)
    if window is None:
        window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    spectrum = torch.stft(
        work,
        n_fft,
        hop,
        window=window.to(device=work.device, dtype=work.dtype),
        center=True,
        pad_mode="constant",
        return_complex=True,
    )
    power = spectrum.real**2 + spectrum.imag**2
    mean_square = (power * weights.to(device=work.device, dtype=work.dtype)[:, None]).sum(-2)
    db = 10.0 * torch.log10(mean_square.clamp_min(10.0 ** (float(floor_db) / 10.0)))
    if lengths is not None:
        valid = torch.arange(db.shape[-1], device=db.device) <= lengths // hop
        db = db.masked_fill(~valid, math.nan)
    return db.reshape(*shape, db.shape[-1])
