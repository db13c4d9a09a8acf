"""Resampling to CREPE's 16 kHz: resampy (the original CREPE's filter) or torchaudio.

- ``"resampy"`` (default): ``kaiser_best``, bit-faithful to the original CREPE. It runs on the
  CPU in numpy; tensors on other devices go there and back, and it passes no gradient.
- ``"torchaudio"``: ``torchaudio.functional.resample`` with kaiser-window settings close to
  ``kaiser_best``; runs on the input's device and is differentiable. Needs torchaudio, imported
  on use only.

:class:`BlockResampler` computes any range of resampy's output from the input samples it
needs, so files and streams are resampled piece by piece with the very same numbers as the
whole signal, for one row or many rows in one call (a batch of streams). Its kernel
(``_resample_numba``) does resampy's arithmetic step for step on resampy's own filter tables
(``resampy.filters.get_filter``; the ``resampy>=0.4.2,<0.5`` bound in ``pyproject.toml`` keeps
them), and ``tests/test_resample.py`` checks that the bits equal ``resampy.resample``'s.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import torch

from .._checks import check_audio, check_choice, check_lengths, check_sample_rate
from ..constants import RESAMPLERS, SAMPLE_RATE
from ..exceptions import MissingDependencyError, ParameterError

__all__ = [
    "BlockResampler",
    "resample",
    "resample_to",
    "resampled_length",
]


# torchaudio settings that approximate resampy's kaiser_best (torchaudio's resampling tutorial).
_TORCHAUDIO_KAISER_BEST = {
    "lowpass_filter_width": 64,
    "rolloff": 0.9475937167399596,
    "resampling_method": "sinc_interp_kaiser",
    "beta": 14.769656459379492,
}


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype audio is processed in: float64 stays float64, every other float is float32.

    bfloat16 and float16 audio has too few mantissa bits for framing and normalisation
    (and numpy has no bfloat16), so it is widened first.
    """
    return torch.float64 if dtype == torch.float64 else torch.float32


def resampled_length(
    length: int | torch.Tensor, sample_rate: int, method: str = "resampy"
) -> int | torch.Tensor:
    """Samples at 16 kHz that ``method`` produces from ``length`` samples at ``sample_rate``.

    resampy truncates, ``int(length * 16000 / rate)`` (computed in float64 exactly as resampy
    does); torchaudio rounds up, ``ceil(length * 16000 / rate)``.

    Example:
        >>> resampled_length(44100, 44100), resampled_length(10, 44100, "torchaudio")
        (16000, 4)
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
            f"resample='resampy' runs in numpy and cannot pass gradients to the waveform (at "
            f"{orig} Hz it must be resampled). Use resample='torchaudio' (differentiable, on "
            f"device), feed {target} Hz audio, or pass waveform.detach() if you need no gradient."
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
    x = waveform.detach().cpu().to(compute_dtype(waveform.dtype)).numpy()
    y = resampy.resample(
        x.astype(np_dtype, copy=False), orig, target, filter="kaiser_best", axis=-1
    )
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
    waveform = check_audio(waveform)
    if orig == target:
        return waveform
    if method == "torchaudio":
        return _torchaudio_resample(waveform.to(compute_dtype(waveform.dtype)), orig, target)
    return _resampy_resample(waveform, orig, target)


def resample(
    waveform: torch.Tensor,
    sample_rate: int,
    method: str = "resampy",
    lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """Resample ``(..., time)`` audio to 16 kHz.

    With ``lengths`` (samples per item), each item is zeroed past its own end before and after
    resampling, so a padded batch gives exactly what each item gives alone.

    Args:
        waveform: real floating-point audio (processed in float32, float64 kept).
        sample_rate: its rate in Hz.
        method: ``"resampy"`` (default; CPU, numpy, no gradient) or ``"torchaudio"``.
        lengths: valid samples per item (shape = leading dims).

    Shape:
        ``(..., time)`` → ``(..., time16k)``: ``int(time * 16000 / sample_rate)`` samples with
        resampy, ``ceil(...)`` with torchaudio.

    Example:
        >>> resample(torch.zeros(3, 44100), 44100).shape
        torch.Size([3, 16000])
    """
    sr = check_sample_rate(sample_rate)
    check_choice(method, "resample", RESAMPLERS)
    waveform = check_audio(waveform)
    if lengths is not None:
        lengths = check_lengths(lengths, tuple(waveform.shape[:-1]), waveform.shape[-1])
    return _resample(waveform.to(compute_dtype(waveform.dtype)), sr, method, lengths)


def _mask_time(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    valid = torch.arange(x.shape[-1], device=x.device) < lengths.to(x.device).unsqueeze(-1)
    return x * valid.to(x.dtype)


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


@functools.lru_cache(maxsize=16)
def _filter(sample_rate: int) -> tuple[np.ndarray, np.ndarray, Any, float, float]:
    """resampy's kaiser_best tables for ``sample_rate`` → 16 kHz, as resampy.resample makes
    them: window, its differences, precision, scale and time increment."""
    from resampy.filters import get_filter

    ratio = float(SAMPLE_RATE) / sample_rate
    window, precision, _ = get_filter("kaiser_best")
    if ratio < 1:
        window = ratio * window
    delta = np.diff(window, append=window[-1])
    return window, delta, precision, min(1.0, ratio), 1.0 / ratio


class BlockResampler:
    """resampy ``kaiser_best`` to 16 kHz, computed for any range of output samples.

    Output sample ``j`` depends on input samples ``input_range(j, j + 1)`` only, so a file or
    a stream is resampled piece by piece with the same numbers as the whole signal.

    Args:
        sample_rate: input rate in Hz.
        length: input length in samples (fixes the output length, as resampy does); ``None``
            for a stream whose end is not known yet (no clipping at the end).

    Example:
        >>> import resampy
        >>> x = np.random.default_rng(0).standard_normal(4410).astype(np.float32)
        >>> block = BlockResampler(44100, len(x))
        >>> lo, hi = block.input_range(500, 900)
        >>> part = block(x[lo:hi], lo, 500, 900)
        >>> whole = resampy.resample(x, 44100, 16000, filter="kaiser_best")
        >>> block.length_out, bool(np.array_equal(part, whole[500:900]))
        (1600, True)
    """

    def __init__(self, sample_rate: int, length: int | None) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        self.length_in = length
        # the same float expression as resampy.core.resample, so the same length
        self.length_out = (
            None if length is None else int(length * float(SAMPLE_RATE) / float(sample_rate))
        )
        self._window, self._delta, self._precision, self._scale, self._increment = _filter(
            self.sample_rate
        )
        # furthest input sample a filter wing reaches from its centre, plus one for safety
        self.context = int(self._window.shape[0] // int(self._scale * self._precision)) + 1

    def input_range(self, start: int, stop: int) -> tuple[int, int]:
        """Input samples ``[lo, hi)`` that output samples ``[start, stop)`` depend on."""
        first = int(start * self._increment)
        last = int((stop - 1) * self._increment)
        hi = last + self.context + 2
        return max(0, first - self.context), hi if self.length_in is None else min(
            self.length_in, hi
        )

    def __call__(self, x: np.ndarray, offset: int, start: int, stop: int) -> np.ndarray:
        """Output samples ``[start, stop)`` from ``x`` = input samples from ``offset`` on.

        Input samples past the end of ``x`` count as absent (as past the end of a signal).
        """
        lo, hi = self.input_range(start, stop)
        if offset > lo or (self.length_in is not None and offset + len(x) < hi):
            raise ParameterError(
                f"input samples {offset}..{offset + len(x)} do not cover {lo}..{hi}, needed "
                f"for output samples {start}..{stop}; pass x = input[lo:hi] from input_range()."
            )
        out: np.ndarray = self.rows(np.asarray(x)[None], offset, start, stop)[0]
        return out

    def rows(self, x: np.ndarray, offset: int, start: int, stop: int) -> np.ndarray:
        """:meth:`__call__` for every row of ``x`` (``(rows, n)``) in one kernel call,
        unchecked: ``x`` must start at or before ``input_range(start, stop)[0]``.

        Returns:
            ``(rows, stop - start)`` float32.
        """
        from ._resample_numba import interpolate_rows

        times = np.arange(start, stop) * self._increment - offset
        out = np.zeros((x.shape[0], stop - start), dtype=np.float32)
        interpolate_rows(
            np.ascontiguousarray(x, dtype=np.float32),
            times,
            self._window,
            self._delta,
            int(self._precision),
            float(self._scale),
            out,
        )
        return out
