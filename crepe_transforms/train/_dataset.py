"""Fine-tuning data: (audio, f0 track) pairs, drawn as labelled frames at random positions.

A :class:`PitchTrack` is one recording resampled to 16 kHz (as inference resamples it) with its
checked f0 track. A :class:`PitchDataset` holds several and draws batches of frames: a frame
centre is chosen at random (a labelled track, then a position in it), its f0 label is the track
interpolated at the centre and its mask is False where the 64 ms window straddles a voicing
change or the pitch lies outside the 360 bins. Draws are reproducible from a
``torch.Generator``: :func:`~crepe_transforms.train.finetune` seeds one from
``(seed, epoch, step)``, so the data of any step can be recomputed after a resume.

Files are read by :func:`crepe_transforms.io.read_tracks` (the ``io`` layer reads files; this
one only holds tensors).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

from .._checks import check_sample_rate
from ..constants import FMAX_HZ, FMIN_HZ, SAMPLE_RATE, WINDOW_SIZE
from ..exceptions import ParameterError
from ..functional import resample, track_labels
from ..functional._internal import check_track

__all__ = ["FrameBatch", "PitchDataset", "PitchTrack"]

#: Labels more than this far outside the 360 bins (31.7 Hz … 2005.5 Hz) are not trained on:
#: their Gaussian target would be all but zero, which teaches "unvoiced".
_OUTSIDE_CENTS = 50.0
_LOW_HZ = FMIN_HZ * 2 ** (-_OUTSIDE_CENTS / 1200)
_HIGH_HZ = FMAX_HZ * 2 ** (_OUTSIDE_CENTS / 1200)
#: Grid of candidate frame centres, in 16 kHz samples (5 ms); draws add a jitter within it.
_GRID = 80


@dataclass(frozen=True)
class PitchTrack:
    """One recording at 16 kHz with its f0 track (NaN where unvoiced)."""

    name: str
    audio: torch.Tensor  # (time16k,) float32
    times: torch.Tensor  # (points,) float64 seconds, strictly increasing
    f0: torch.Tensor  # (points,) float64 Hz, NaN where unvoiced

    @classmethod
    def from_arrays(
        cls,
        audio: torch.Tensor | np.ndarray,
        sample_rate: int,
        times: torch.Tensor | np.ndarray,
        f0: torch.Tensor | np.ndarray,
        voiced: torch.Tensor | np.ndarray | None = None,
        name: str = "track",
        resample_method: str = "resampy",
    ) -> PitchTrack:
        """Check a track against its audio and resample the audio to 16 kHz.

        Args:
            audio: mono ``(time,)`` audio at ``sample_rate``.
            sample_rate: its rate (any; resampled to 16 kHz as inference does).
            times, f0: the track: seconds and Hz (0 or NaN where unvoiced).
            voiced: optional flags; False marks a point unvoiced whatever its f0.
            name: used in error messages (pass the file name).
            resample_method: ``"resampy"`` (inference's default) or ``"torchaudio"``.

        Example:
            >>> t = torch.arange(16000) / 16000
            >>> track = PitchTrack.from_arrays(torch.sin(2 * math.pi * 220 * t), 16000,
            ...                                torch.arange(101) * 0.01, torch.full((101,), 220.0))
            >>> track.audio.shape, track.duration
            (torch.Size([16000]), 1.0)
        """
        sr = check_sample_rate(sample_rate)
        wave = torch.as_tensor(audio)
        if wave.dim() != 1 or wave.numel() == 0 or not wave.is_floating_point():
            raise ParameterError(
                f"{name}: audio must be a non-empty 1-D floating-point array (mono), got shape "
                f"{tuple(wave.shape)} and dtype {wave.dtype}. Downmix or convert it first."
            )
        f0_t = torch.as_tensor(f0, dtype=torch.float64)
        if voiced is not None:
            flags = torch.as_tensor(voiced).to(torch.bool)
            if flags.shape != f0_t.shape:
                raise ParameterError(
                    f"{name}: voiced has shape {tuple(flags.shape)}, f0 {tuple(f0_t.shape)}; "
                    f"give one flag per f0 point."
                )
            f0_t = torch.where(flags, f0_t, torch.full_like(f0_t, math.nan))
        times_c, f0_c = check_track(torch.as_tensor(times), f0_t, wave.numel() / sr, name)
        audio16 = resample(wave.float()[None], sr, resample_method)[0]
        return cls(name, audio16.float().contiguous(), times_c, f0_c)

    @property
    def duration(self) -> float:
        return self.audio.numel() / SAMPLE_RATE


class FrameBatch(NamedTuple):
    """Audio segments centred on frame centres, their f0 labels (NaN unvoiced) and masks."""

    segments: torch.Tensor  # (B, segment) float32; the frame is the middle 1024 samples
    f0: torch.Tensor  # (B,) float32
    mask: torch.Tensor  # (B,) bool


class PitchDataset:
    """Labelled frames drawn from (audio, f0 track) pairs.

    Args:
        tracks: the recordings (see :meth:`PitchTrack.from_arrays` and
            :func:`crepe_transforms.io.read_tracks`).

    Example:
        >>> t = torch.arange(32000) / 16000
        >>> track = PitchTrack.from_arrays(torch.sin(2 * math.pi * 110 * t), 16000,
        ...                                torch.arange(201) * 0.01, torch.full((201,), 110.0))
        >>> data = PitchDataset([track])
        >>> batch = data.draw(torch.Generator().manual_seed(0), 4)
        >>> batch.segments.shape, batch.f0.tolist(), batch.mask.all().item()
        (torch.Size([4, 1024]), [110.0, 110.0, 110.0, 110.0], True)
    """

    def __init__(self, tracks: Sequence[PitchTrack]) -> None:
        self.tracks = list(tracks)
        if not self.tracks:
            raise ParameterError("the dataset holds no tracks: pass at least one (audio, f0) pair.")
        names = [t.name for t in self.tracks]
        centres: list[torch.Tensor] = []
        owners: list[torch.Tensor] = []
        for i, track in enumerate(self.tracks):
            grid = torch.arange(0, track.audio.numel(), _GRID)
            labels = self._labels(track, grid)
            keep = grid[labels.mask]
            centres.append(keep)
            owners.append(torch.full_like(keep, i))
        self._centres = torch.cat(centres)
        self._owners = torch.cat(owners)
        if self._centres.numel() == 0:
            raise ParameterError(
                f"no frame of {', '.join(names[:5])} can be trained on: every window straddles "
                f"a voicing change or its f0 lies outside CREPE's {FMIN_HZ:.1f}–{FMAX_HZ:.0f} Hz. "
                f"Check the f0 files belong to these recordings."
            )

    def __len__(self) -> int:
        """Candidate frame positions (a 5 ms grid of labelled centres)."""
        return int(self._centres.numel())

    @staticmethod
    def _labels(track: PitchTrack, centres: torch.Tensor) -> Any:
        labels = track_labels(track.times, track.f0, centres.double() / SAMPLE_RATE)
        f0 = labels.f0
        outside = torch.isfinite(f0) & ((f0 < _LOW_HZ) | (f0 > _HIGH_HZ))
        return labels._replace(mask=labels.mask & ~outside)

    def split(self, fraction: float, seed: int = 0) -> tuple[PitchDataset, PitchDataset]:
        """Split by track (never frames of one recording on both sides): ``(train, held)``.

        ``round(fraction × tracks)`` tracks, at least one, chosen at random with ``seed``.
        """
        if not (isinstance(fraction, int | float) and 0 < fraction < 1):
            raise ParameterError(
                f"the validation fraction must be between 0 and 1, got {fraction!r}; e.g. 0.2."
            )
        n = len(self.tracks)
        held = max(1, round(fraction * n))
        if n - held < 1:
            raise ParameterError(
                f"cannot split {n} recording(s) into a training and a validation set by "
                f"recording: both need at least one. Add recordings, or pass a validation set "
                f"of its own (finetune(..., validation=...), --val-audio/--val-f0)."
            )
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
        chosen = set(order[:held])
        return (
            PitchDataset([t for i, t in enumerate(self.tracks) if i not in chosen]),
            PitchDataset([t for i, t in enumerate(self.tracks) if i in chosen]),
        )

    def summary(self) -> dict[str, Any]:
        """Counts for the training record: recordings, seconds, voiced share, f0 range."""
        voiced = torch.cat([t.f0[torch.isfinite(t.f0)] for t in self.tracks])
        points = sum(t.f0.numel() for t in self.tracks)
        return {
            "recordings": len(self.tracks),
            "seconds": round(sum(t.duration for t in self.tracks), 3),
            "voiced_share": round(voiced.numel() / max(points, 1), 4),
            "f0_min_hz": round(float(voiced.min()), 3) if voiced.numel() else None,
            "f0_max_hz": round(float(voiced.max()), 3) if voiced.numel() else None,
            "frame_positions": len(self),
        }

    def _segments(self, owners: torch.Tensor, centres: torch.Tensor, length: int) -> torch.Tensor:
        out = torch.zeros(len(centres), length)
        half = length // 2
        for row, (i, c) in enumerate(zip(owners.tolist(), centres.tolist(), strict=True)):
            audio = self.tracks[i].audio
            lo, hi = c - half, c - half + length
            a, b = max(lo, 0), min(hi, audio.numel())
            out[row, a - lo : b - lo] = audio[a:b]
        return out

    def _batch(self, owners: torch.Tensor, centres: torch.Tensor, length: int) -> FrameBatch:
        f0 = torch.empty(len(centres), dtype=torch.float64)
        mask = torch.empty(len(centres), dtype=torch.bool)
        for i in sorted(set(owners.tolist())):
            rows = owners == i
            labels = self._labels(self.tracks[i], centres[rows])
            f0[rows], mask[rows] = labels.f0, labels.mask
        return FrameBatch(self._segments(owners, centres, length), f0.float(), mask)

    def draw(
        self, generator: torch.Generator, count: int, segment: int = WINDOW_SIZE
    ) -> FrameBatch:
        """``count`` frames at random positions: a labelled grid point plus a jitter.

        ``segment`` ≥ 1024 samples are cut around each centre (pitch shifting by resampling
        reads more than 1024 samples); the frame is the middle 1024.
        """
        pick = torch.randint(len(self), (count,), generator=generator)
        jitter = torch.randint(-_GRID // 2, _GRID // 2, (count,), generator=generator)
        owners = self._owners[pick]
        limits = torch.tensor([t.audio.numel() - 1 for t in self.tracks])[owners]
        centres = (self._centres[pick] + jitter).clamp(min=torch.zeros_like(limits), max=limits)
        return self._batch(owners, centres, segment)

    def grid(self, limit: int | None = None, seed: int = 0) -> FrameBatch:
        """Frames on the labelled 5 ms grid (validation: no jitter, no augmentation); at most
        ``limit`` of them, chosen at random with ``seed``."""
        index = torch.arange(len(self))
        if limit is not None and limit < len(self):
            chosen = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
            index = chosen[:limit].sort().values
        return self._batch(self._owners[index], self._centres[index], WINDOW_SIZE)
