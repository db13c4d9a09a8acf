"""Framing: where CREPE's 1024-sample windows sit, and cutting and normalising them.

Framing contract (SPEC §4): ``hop_length`` counts samples of the *input* rate; frame ``i`` is
centred at ``i * hop_length / sample_rate`` seconds and a signal of ``time`` samples has
``1 + time // hop_length`` frames — the count and centres of torchaudio's
``Spectrogram(center=True)``. The network needs 16 kHz, so each centre is placed on the nearest
16 kHz sample, ``round(i * hop_length * 16000 / sample_rate)``, computed exactly in integers:
the error is at most half a 16 kHz sample (31.25 µs) and never accumulates, unlike a hop that is
truncated to whole 16 kHz samples once and then repeated.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from typing import TypeVar, overload

import torch
import torch.nn.functional as F

from .._checks import (
    check_audio,
    check_choice,
    check_hop_length,
    check_lengths,
    check_positive_int,
    check_sample_rate,
)
from ..constants import (
    CREPE_STD_FLOOR,
    NORMALIZATIONS,
    RESAMPLERS,
    SAMPLE_RATE,
    TORCHCREPE_STD_FLOOR,
    WINDOW_SIZE,
)
from ..exceptions import ParameterError
from ._resample import _resample, compute_dtype

__all__ = [
    "default_hop_length",
    "extract_frames",
    "frame",
    "frame_centers",
    "frame_times",
    "hop_length_for",
    "length_mask",
    "normalize_frames",
    "num_frames",
    "parse_hop",
]


def default_hop_length(sample_rate: int) -> int:
    """10 ms at ``sample_rate`` (``sample_rate // 100``, at least 1).

    Example:
        >>> default_hop_length(44100)
        441
    """
    return check_hop_length(None, sample_rate)


def parse_hop(value: object) -> str | int | None:
    """Check a hop: ``None`` (10 ms), a duration (``"10ms"``, ``"0.005s"``) or samples.

    Returns the hop as given, whole numbers of samples as ``int``; each file's rate turns it
    into samples (:func:`hop_length_for`).

    Example:
        >>> parse_hop("10ms"), parse_hop("160"), parse_hop(None)
        ('10ms', 160, None)
    """
    if value is None:
        return None
    hop_length_for(value, 16000)  # the syntax; the value in samples depends on each rate
    text = str(value).strip()
    return int(text) if text.isdigit() else text


def hop_length_for(hop: object, sample_rate: int) -> int:
    """Hop in samples of ``sample_rate``: None → 10 ms; ``"12.5ms"``, ``"0.01s"`` or samples.

    Durations are floored to whole samples, as the 10 ms default (``sample_rate // 100``).

    Example:
        >>> hop_length_for("10ms", 22050), hop_length_for("5 ms", 16000), hop_length_for(256, 8000)
        (220, 80, 256)
    """
    if hop is None:
        return default_hop_length(sample_rate)
    text = str(hop).strip().lower().replace(" ", "")
    unit = next((u for u in ("ms", "s") if text.endswith(u)), "")
    number = text[: len(text) - len(unit)]
    try:
        value = Fraction(number)
    except (ValueError, ZeroDivisionError):
        raise ParameterError(
            f"hop_length={hop!r} is not a hop: give milliseconds like '10ms', seconds like "
            f"'0.01s' or samples of the input rate like 160"
        ) from None
    if isinstance(hop, bool) or (not unit and (value.denominator != 1 or value <= 0)):
        raise ParameterError(
            f"hop_length must be a positive integer number of samples or a duration, got "
            f"{hop!r}. Use e.g. '10ms' or a number of samples like 160."
        )
    if not unit:
        return int(value)
    if value <= 0:
        raise ParameterError(f"hop_length={hop!r} must be positive; use e.g. '10ms' or '0.01s'")
    samples = math.floor(value * sample_rate / (1000 if unit == "ms" else 1))
    if samples < 1:
        raise ParameterError(
            f"hop_length={hop!r} is less than one sample at {sample_rate} Hz; use a longer hop"
        )
    return samples


@overload
def num_frames(length: int, hop_length: int) -> int: ...
@overload
def num_frames(length: torch.Tensor, hop_length: int) -> torch.Tensor: ...
def num_frames(length: int | torch.Tensor, hop_length: int) -> int | torch.Tensor:
    """Frames produced for ``length`` input samples: ``1 + length // hop_length``.

    Works element-wise on integer tensors (e.g. a batch's ``lengths``).

    Example:
        >>> num_frames(44100, 441)
        101
        >>> num_frames(torch.tensor([16000, 8000]), 160)
        tensor([101,  51])
    """
    hop = check_positive_int(hop_length, "hop_length")
    if isinstance(length, torch.Tensor):
        if length.is_floating_point() or length.is_complex() or length.dtype == torch.bool:
            raise ParameterError(
                f"length must be an integer tensor (samples), got {length.dtype}. "
                f"Convert with length.long()."
            )
        return 1 + torch.div(length, hop, rounding_mode="floor")
    if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length < 0:
        raise ParameterError(
            f"length must be a non-negative integer number of samples, got {length!r}; "
            f"e.g. waveform.shape[-1]."
        )
    return 1 + int(length) // hop


def _check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ParameterError(
            f"{name} must be a non-negative integer number of frames, got {value!r}."
        )
    return int(value)


def frame_times(n_frames: int, hop_length: int, sample_rate: int) -> torch.Tensor:
    """Centre time in seconds of each frame, ``i * hop_length / sample_rate`` (float64).

    Example:
        >>> frame_times(3, 441, 44100)
        tensor([0.0000, 0.0100, 0.0200], dtype=torch.float64)
    """
    count = _check_count(n_frames, "n_frames")
    sr = check_sample_rate(sample_rate)
    hop = check_positive_int(hop_length, "hop_length")
    return torch.arange(count, dtype=torch.float64) * hop / sr


def frame_centers(
    n_frames: int, hop_length: int, sample_rate: int, start_frame: int = 0
) -> torch.Tensor:
    """16 kHz sample index of the centre of frames ``start_frame …``, rounded half up.

    Exact integer arithmetic, so frame 10⁶ is as well placed as frame 0.

    Example:
        >>> frame_centers(3, 441, 44100)
        tensor([  0, 160, 320])
        >>> frame_centers(2, 1, 48000, start_frame=1)  # 1/3 and 2/3 of a 16 kHz sample
        tensor([0, 1])
    """
    count = _check_count(n_frames, "n_frames")
    start = _check_count(start_frame, "start_frame")
    sr = check_sample_rate(sample_rate)
    hop = check_positive_int(hop_length, "hop_length")
    return _centers(start, count, hop, sr)


def _centers(start: int, count: int, hop: int, sr: int) -> torch.Tensor:
    return center_sample(torch.arange(start, start + count, dtype=torch.int64), hop, sr)


_Index = TypeVar("_Index", int, torch.Tensor)


def center_sample(frame: _Index, hop: int, sr: int) -> _Index:
    """The one frame-centre rule: the 16 kHz sample at the centre of ``frame`` (an int or an
    int64 tensor), ``frame * hop / sr`` seconds rounded half up, in exact integer arithmetic.
    Unchecked (:func:`frame_centers` is the checked door)."""
    return (2 * frame * hop * SAMPLE_RATE + sr) // (2 * sr)


def length_mask(lengths: torch.Tensor, size: int) -> torch.Tensor:
    """True on each item's first ``lengths`` positions of an axis of ``size``.

    Shape:
        ``(...)`` → ``(..., size)`` bool, on ``lengths``' device

    Example:
        >>> length_mask(torch.tensor([2, 0]), 3)
        tensor([[ True,  True, False],
                [False, False, False]])
    """
    return torch.arange(size, device=lengths.device) < lengths.unsqueeze(-1)


def extract_frames(audio_16k: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Gather 1024-sample windows ``[c - 512, c + 512)`` of zero-padded 16 kHz audio.

    Shape:
        ``(..., time16k)``, ``(frames,)`` → ``(..., frames, 1024)``

    Example:
        >>> extract_frames(torch.arange(2000.0), torch.tensor([512]))[0, :3]
        tensor([0., 1., 2.])
    """
    half = WINDOW_SIZE // 2
    n = audio_16k.shape[-1]
    first = int(centers.min()) if centers.numel() else 0
    last = int(centers.max()) if centers.numel() else 0
    left = max(0, half - first)
    right = max(0, last + half - n)
    padded = F.pad(audio_16k, (left, right)) if left or right else audio_16k
    if centers.numel() > 1:
        # Checked on the centres where they are (the CPU for the engine), not on the audio's
        # device, so a CUDA batch does not synchronise here.
        step = int(centers[1] - centers[0])
        if step > 0 and bool((centers.diff() == step).all()):
            # Evenly spaced (any hop that is a whole number of 16 kHz samples): a strided view
            # copied row by row, ~10x faster than the gather below, the same values.
            windows = padded[..., first + left - half :].unfold(-1, WINDOW_SIZE, step)
            return windows[..., : centers.numel(), :].contiguous()
    starts = centers.to(audio_16k.device) + (left - half)
    index = starts.unsqueeze(-1) + torch.arange(WINDOW_SIZE, device=audio_16k.device)
    return padded[..., index]


def normalize_frames(frames: torch.Tensor, method: str = "crepe") -> torch.Tensor:
    """Zero-mean, unit-std frames.

    ``"crepe"``: population std (divide by N), floor 1e-8 (original CREPE).
    ``"torchcrepe"``: unbiased std (N − 1), floor 1e-10. ``"none"``: frames unchanged.

    Example:
        >>> x = normalize_frames(torch.arange(1024.0)[None])
        >>> round(float(x.mean()), 6), round(float(x.std(correction=0)), 6)
        (0.0, 1.0)
    """
    check_choice(method, "normalization", NORMALIZATIONS)
    return _normalize(frames, method)


def _normalize(frames: torch.Tensor, method: str) -> torch.Tensor:
    if method == "none":
        return frames
    centred = frames - frames.mean(dim=-1, keepdim=True)
    # Without autograd the standard deviation of the centred frames comes from their sum of
    # squares: as accurate as Tensor.std (~1e-7 relative against float64) and 15-30x faster on
    # the CPU, where std's Welford reduction is not vectorised. With autograd Tensor.std keeps
    # its finite gradient on silent frames (sqrt's is infinite at 0).
    n = frames.shape[-1] if method == "crepe" else frames.shape[-1] - 1
    floor = CREPE_STD_FLOOR if method == "crepe" else TORCHCREPE_STD_FLOOR
    if centred.requires_grad:
        std = centred.std(dim=-1, keepdim=True, correction=frames.shape[-1] - n)
    else:
        std = ((centred * centred).sum(dim=-1, keepdim=True) / n).sqrt()
    std = std.clamp_min(floor)
    normalized: torch.Tensor = centred / std
    return normalized


def frame(
    waveform: torch.Tensor,
    sample_rate: int,
    hop_length: int | None = None,
    resample: str = "resampy",
    normalization: str = "crepe",
    lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cut ``(..., time)`` audio into normalised CREPE frames (the twin of ``CrepeFrames``).

    Args:
        waveform: real floating-point audio at ``sample_rate`` (any float dtype; computed in
            float32, or float64 for float64 input).
        sample_rate: input rate in Hz (integer).
        hop_length: hop in input samples; default ``sample_rate // 100`` (10 ms).
        resample: ``"resampy"`` or ``"torchaudio"`` (see :func:`resample`).
        normalization: ``"crepe"``, ``"torchcrepe"`` or ``"none"``.
        lengths: valid samples per item of a zero-padded batch (shape = leading dims).

    Shape:
        ``(..., time)`` → ``(..., frames, 1024)`` with ``frames = 1 + time // hop_length``.

    Example:
        >>> frame(torch.randn(2, 22050), 22050).shape
        torch.Size([2, 101, 1024])
    """
    sr = check_sample_rate(sample_rate)
    waveform = check_audio(waveform)
    hop = check_hop_length(hop_length, sr)
    check_choice(resample, "resample", RESAMPLERS)
    check_choice(normalization, "normalization", NORMALIZATIONS)
    if lengths is not None:
        lengths = check_lengths(lengths, tuple(waveform.shape[:-1]), waveform.shape[-1])
    audio = _resample(waveform.to(compute_dtype(waveform.dtype)), sr, resample, lengths)
    count = num_frames(waveform.shape[-1], hop)
    return _normalize(extract_frames(audio, _centers(0, count, hop, sr)), normalization)
