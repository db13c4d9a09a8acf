"""Pure tensor functions behind :class:`~crepe_transforms.CrepeFrames`.

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
from typing import overload

import numpy as np
import torch
import torch.nn.functional as F

from .checks import (
    check_audio,
    check_choice,
    check_hop_length,
    check_lengths,
    check_positive_int,
    check_sample_rate,
)
from .constants import (
    CREPE_STD_FLOOR,
    SAMPLE_RATE,
    TORCHCREPE_STD_FLOOR,
    WINDOW_SIZE,
)
from .exceptions import MissingDependencyError, ParameterError

__all__ = [
    "NORMALIZATIONS",
    "RESAMPLERS",
    "default_hop_length",
    "extract_frames",
    "frame",
    "frame_centers",
    "frame_times",
    "length_mask",
    "normalize_frames",
    "num_frames",
    "resample",
    "resample_to",
    "resampled_length",
]

RESAMPLERS = ("resampy", "torchaudio")
NORMALIZATIONS = ("crepe", "torchcrepe", "none")

# torchaudio settings that approximate resampy's kaiser_best (torchaudio's resampling tutorial).
_TORCHAUDIO_KAISER_BEST = {
    "lowpass_filter_width": 64,
    "rolloff": 0.9475937167399596,
    "resampling_method": "sinc_interp_kaiser",
    "beta": 14.769656459379492,
}


def default_hop_length(sample_rate: int) -> int:
    """10 ms at ``sample_rate`` (``sample_rate // 100``, at least 1)."""
    return check_hop_length(None, sample_rate)


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


def frame_times(n_frames: int, hop_length: int, sample_rate: int) -> torch.Tensor:
    """Centre time in seconds of each frame, ``i * hop_length / sample_rate`` (float64)."""
    _check_count(n_frames, "n_frames")
    sr = check_sample_rate(sample_rate)
    hop = check_positive_int(hop_length, "hop_length")
    return torch.arange(n_frames, dtype=torch.float64) * hop / sr


def frame_centers(
    n_frames: int, hop_length: int, sample_rate: int, start_frame: int = 0
) -> torch.Tensor:
    """16 kHz sample index of each frame centre, rounded half up, exact integer arithmetic."""
    sr = check_sample_rate(sample_rate)
    hop = check_positive_int(hop_length, "hop_length")
    i = torch.arange(start_frame, start_frame + n_frames, dtype=torch.int64)
    return torch.div(2 * i * hop * SAMPLE_RATE + sr, 2 * sr, rounding_mode="floor")


def _check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ParameterError(
            f"{name} must be a non-negative integer number of frames, got {value!r}."
        )
    return int(value)


def resampled_length(
    length: int | torch.Tensor, sample_rate: int, method: str = "resampy"
) -> int | torch.Tensor:
    """Samples at 16 kHz that ``method`` produces from ``length`` samples at ``sample_rate``.

    resampy truncates, ``int(length * 16000 / rate)`` (computed in float64 exactly as resampy
    does); torchaudio rounds up, ``ceil(length * 16000 / rate)``.
    """
    sr = check_sample_rate(sample_rate)
    check_choice(method, "resample", RESAMPLERS)
    if sr == SAMPLE_RATE:
        return length
    if isinstance(length, torch.Tensor):
        exact = length.double() * float(SAMPLE_RATE) / float(sr)
        return (exact.floor() if method == "resampy" else exact.ceil()).long()
    exact_f = int(length) * float(SAMPLE_RATE) / float(sr)
    return int(exact_f) if method == "resampy" else math.ceil(exact_f)


def _torchaudio_resample(waveform: torch.Tensor, orig: int, target: int) -> torch.Tensor:
    try:
        import torchaudio.functional as taf
    except Exception as exc:  # a torchaudio built for another torch fails with OSError etc.
        raise MissingDependencyError(
            f"resample='torchaudio' needs a working torchaudio matching torch {torch.__version__} "
            f"(import failed: {type(exc).__name__}: {exc}). Install it with "
            f'`pip install "crepe-transforms[torchaudio]"`, or use resample="resampy".'
        ) from exc
    out: torch.Tensor = taf.resample(waveform, orig, target, **_TORCHAUDIO_KAISER_BEST)
    return out


def _resampy_resample(waveform: torch.Tensor, orig: int, target: int) -> torch.Tensor:
    if waveform.requires_grad and torch.is_grad_enabled():
        raise ParameterError(
            "resample='resampy' runs in numpy and cannot pass gradients to the waveform. "
            "Use resample='torchaudio' (differentiable, on device) or feed 16 kHz audio."
        )
    if int(waveform.shape[-1]) * target // orig < 1:
        # resampy itself would raise a bare ValueError
        raise ParameterError(
            f"waveform is too short: {waveform.shape[-1]} sample(s) at {orig} Hz give no "
            f"{target / 1000:g} kHz sample with resample='resampy'. Pass at least "
            f"{-(-orig // target)} samples per item, or use resample='torchaudio'."
        )
    import resampy

    np_dtype = np.float64 if waveform.dtype == torch.float64 else np.float32
    x = waveform.detach().cpu().numpy().astype(np_dtype, copy=False)
    y = resampy.resample(x, orig, target, filter="kaiser_best", axis=-1)
    return torch.from_numpy(np.ascontiguousarray(y)).to(waveform.device, waveform.dtype)


def resample_to(
    waveform: torch.Tensor, orig: int, target: int, method: str = "resampy"
) -> torch.Tensor:
    """Resample ``(..., time)`` audio from ``orig`` to ``target`` Hz (any two rates).

    The same two resamplers as :func:`resample`, which goes to 16 kHz and masks ``lengths``.

    Shape:
        ``(..., time)`` → ``(..., about time * target / orig)``

    Example:
        >>> resample_to(torch.zeros(2, 22050), 22050, 16000).shape
        torch.Size([2, 16000])
    """
    orig, target = check_sample_rate(orig, "orig"), check_sample_rate(target, "target")
    check_choice(method, "resample", RESAMPLERS)
    if orig == target:
        return waveform
    if method == "torchaudio":
        return _torchaudio_resample(waveform, orig, target)
    return _resampy_resample(waveform, orig, target)


def resample(
    waveform: torch.Tensor,
    sample_rate: int,
    method: str = "resampy",
    lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """Resample ``(..., time)`` audio to 16 kHz.

    ``"resampy"`` (default) is the original CREPE's ``kaiser_best`` resampler; it runs on the
    CPU in numpy and returns to the input's device. ``"torchaudio"`` runs on the input's device,
    is differentiable, and uses kaiser-window settings close to ``kaiser_best``.

    With ``lengths`` (samples per item), each item is zeroed past its own end before and after
    resampling so a padded batch gives exactly what each item gives alone.

    Shape:
        ``(..., time)`` → ``(..., ceil(time * 16000 / sample_rate))``
    """
    sr = check_sample_rate(sample_rate)
    check_choice(method, "resample", RESAMPLERS)
    waveform = check_audio(waveform)
    if lengths is not None:
        lengths = check_lengths(lengths, tuple(waveform.shape[:-1]), waveform.shape[-1])
    return _resample(waveform, sr, method, lengths)


def _resample(
    waveform: torch.Tensor, sr: int, method: str, lengths: torch.Tensor | None
) -> torch.Tensor:
    """:func:`resample` on checked arguments."""
    if lengths is not None:
        waveform = _mask_time(waveform, lengths)
    if sr == SAMPLE_RATE:
        return waveform
    out = (
        _resampy_resample(waveform, sr, SAMPLE_RATE)
        if method == "resampy"
        else _torchaudio_resample(waveform, sr, SAMPLE_RATE)
    )
    out = out[..., : resampled_length(waveform.shape[-1], sr, method)]
    if lengths is not None:
        out = _mask_time(out, resampled_length(lengths, sr, method))  # type: ignore[arg-type]
    return out


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


def _mask_time(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    return x * length_mask(lengths.to(x.device), x.shape[-1]).to(x.dtype)


def extract_frames(audio_16k: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Gather 1024-sample windows ``[c - 512, c + 512)`` of zero-padded 16 kHz audio.

    Shape:
        ``(..., time16k)``, ``(frames,)`` → ``(..., frames, 1024)``
    """
    half = WINDOW_SIZE // 2
    n = audio_16k.shape[-1]
    last = int(centers.max()) if centers.numel() else 0
    right = max(0, last + half - n)
    padded = F.pad(audio_16k, (half, right))
    index = centers.to(audio_16k.device).unsqueeze(-1) + torch.arange(
        WINDOW_SIZE, device=audio_16k.device
    )
    return padded[..., index]


def normalize_frames(frames: torch.Tensor, method: str = "crepe") -> torch.Tensor:
    """Zero-mean, unit-std frames.

    ``"crepe"``: population std (divide by N), floor 1e-8 (original CREPE).
    ``"torchcrepe"``: unbiased std (N − 1), floor 1e-10. ``"none"``: frames unchanged.
    """
    check_choice(method, "normalization", NORMALIZATIONS)
    if method == "none":
        return frames
    centred = frames - frames.mean(dim=-1, keepdim=True)
    if method == "crepe":
        std = centred.std(dim=-1, keepdim=True, correction=0).clamp_min(CREPE_STD_FLOOR)
    else:
        std = centred.std(dim=-1, keepdim=True, correction=1).clamp_min(TORCHCREPE_STD_FLOOR)
    return centred / std


def frame(
    waveform: torch.Tensor,
    sample_rate: int,
    hop_length: int | None = None,
    resample_method: str = "resampy",
    normalization: str = "crepe",
    lengths: torch.Tensor | None = None,
    start_frame: int = 0,
    n_frames: int | None = None,
    audio_16k: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cut ``(..., time)`` audio into normalised CREPE frames.

    Args:
        waveform: real floating-point audio at ``sample_rate``.
        sample_rate: input rate in Hz (integer).
        hop_length: hop in input samples; default ``sample_rate // 100`` (10 ms).
        resample_method: ``"resampy"`` or ``"torchaudio"``.
        normalization: ``"crepe"``, ``"torchcrepe"`` or ``"none"``.
        lengths: valid samples per item of a zero-padded batch (shape = leading dims).
        start_frame, n_frames: compute only frames ``start_frame … start_frame + n_frames − 1``
            (for block-wise processing of long audio); default all frames.
        audio_16k: the already resampled signal (from :func:`resample`), to avoid resampling
            again for every block.

    Shape:
        ``(..., time)`` → ``(..., frames, 1024)`` with ``frames = 1 + time // hop_length``.

    Example:
        >>> frame(torch.randn(2, 22050), 22050).shape
        torch.Size([2, 101, 1024])
    """
    sr = check_sample_rate(sample_rate)
    waveform = check_audio(waveform)
    hop = check_hop_length(hop_length, sr)
    check_choice(resample_method, "resample", RESAMPLERS)
    if lengths is not None:
        lengths = check_lengths(lengths, tuple(waveform.shape[:-1]), waveform.shape[-1])
    start_frame = _check_count(start_frame, "start_frame")
    n_frames = None if n_frames is None else _check_count(n_frames, "n_frames")
    total = num_frames(waveform.shape[-1], hop)
    count = total - start_frame if n_frames is None else n_frames
    if start_frame < 0 or count < 0 or start_frame + count > total:
        raise ParameterError(
            f"start_frame={start_frame}, n_frames={n_frames} select frames outside 0..{total - 1}."
        )
    if audio_16k is None:
        audio_16k = _resample(waveform, sr, resample_method, lengths)
    centers = frame_centers(count, hop, sr, start_frame)
    return normalize_frames(extract_frames(audio_16k, centers), normalization)
