"""``CrepeFrames``: audio → normalised 16 kHz CREPE frames."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .._checks import check_audio, check_choice, check_hop_length, check_lengths, check_sample_rate
from .._settings import Configurable
from .._tables import FRAMES
from ..constants import NORMALIZATIONS, RESAMPLERS
from ..functional import extract_frames, num_frames
from ..functional import frame_times as _frame_times
from ..functional._internal import centers_unchecked as _centers
from ..functional._internal import compute_dtype
from ..functional._internal import normalize_unchecked as _normalize
from ..functional._internal import resample_unchecked as _resample
from ._engine import FramePlan

__all__ = ["CrepeFrames", "PreparedAudio"]


class PreparedAudio(NamedTuple):
    """A checked batch at 16 kHz, flattened to rows (what the block engine reads)."""

    audio_16k: torch.Tensor  # (rows, time16k) in the compute dtype
    shape: tuple[int, ...]  # the input's leading dims
    time: int  # input samples (the padded length)
    lengths: torch.Tensor | None  # (rows,) valid input samples, int64


class CrepeFrames(Configurable, nn.Module):
    """Audio → normalised 16 kHz CREPE frames.

    Resamples to 16 kHz, places frame ``i`` at ``i * hop_length / sample_rate`` seconds (no
    drift at any rate), cuts 1024-sample windows from the zero-padded signal and normalises each
    to zero mean and unit std. Any real floating dtype is accepted; frames come out in float32
    (float64 for float64 input). Differentiable with respect to the audio, except through the
    numpy resampler (``resample="resampy"`` at rates other than 16 kHz), which raises if the
    audio requires grad.

    Args:
        sample_rate: rate of the input audio in Hz (integer).
        hop_length: hop in input samples; default ``sample_rate // 100`` (10 ms).
        resample: ``"resampy"`` (default, the original CREPE's ``kaiser_best``, CPU/numpy) or
            ``"torchaudio"`` (on device, differentiable; needs torchaudio).
        normalization: ``"crepe"`` (population std, floor 1e-8; default), ``"torchcrepe"``
            (unbiased std, floor 1e-10) or ``"none"``.

    Shape:
        - waveform: ``(..., time)``; lengths (optional): ``(...)`` valid samples per item
        - output: ``(..., 1 + time // hop_length, 1024)``

    Example:
        >>> frames = CrepeFrames(44100)
        >>> frames(torch.randn(2, 44100)).shape
        torch.Size([2, 101, 1024])
        >>> frames.num_frames(44100)
        101
        >>> CrepeFrames(22050, hop_length=256)
        CrepeFrames(sample_rate=22050, hop_length=256)
    """

    SETTINGS = FRAMES

    def __init__(
        self,
        sample_rate: int,
        hop_length: int | None = None,
        resample: str = "resampy",
        normalization: str = "crepe",
    ) -> None:
        super().__init__()
        self.sample_rate = check_sample_rate(sample_rate)
        self.hop_length = check_hop_length(hop_length, self.sample_rate)
        self.resample = check_choice(resample, "resample", RESAMPLERS)
        self.normalization = check_choice(normalization, "normalization", NORMALIZATIONS)

    @property
    def plan(self) -> FramePlan:
        """Frame placement and normalisation, for the block engine."""
        return FramePlan(self.sample_rate, self.hop_length, self.normalization)

    def num_frames(self, length: int | torch.Tensor) -> int | torch.Tensor:
        """Frames for ``length`` input samples (int or integer tensor)."""
        return num_frames(length, self.hop_length)

    def frame_times(self, n_frames: int) -> torch.Tensor:
        """Centre time in seconds of each of ``n_frames`` frames (float64)."""
        return _frame_times(n_frames, self.hop_length, self.sample_rate)

    def prepare(
        self,
        waveform: torch.Tensor,
        lengths: torch.Tensor | None = None,
        name: str = "waveform",
    ) -> PreparedAudio:
        """Check a batch once and resample it to 16 kHz as rows (the public door of every
        transform that starts from audio)."""
        waveform = check_audio(waveform, name)
        shape, time = tuple(waveform.shape[:-1]), waveform.shape[-1]
        if lengths is not None:
            lengths = check_lengths(lengths, shape, time).reshape(-1)
        work = waveform.to(compute_dtype(waveform.dtype)).reshape(-1, time)
        audio = _resample(work, self.sample_rate, self.resample, lengths)
        return PreparedAudio(audio, shape, time, lengths)

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        prepared = self.prepare(waveform, lengths)
        count = num_frames(prepared.time, self.hop_length)
        centers = _centers(0, count, self.hop_length, self.sample_rate)
        frames = _normalize(extract_frames(prepared.audio_16k, centers), self.normalization)
        return frames.reshape(*prepared.shape, count, frames.shape[-1])
