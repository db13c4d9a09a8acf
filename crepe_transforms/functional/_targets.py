"""Training targets: CREPE's Gaussian-blurred one-hot over the 360 bins, and f0 tracks.

The original CREPE (Kim et al. 2018, §2.2) trains against a target that is not a one-hot
vector but a Gaussian around the true pitch, 25 cents wide, evaluated at every bin's centre;
the loss is binary cross-entropy between it and the sigmoid output. Unvoiced frames have the
all-zero target.

An f0 track is a list of ``(time, f0)`` points. :func:`check_track` validates one against its
audio's duration, :func:`track_labels` reads it at arbitrary frame centres: f0 interpolated in
log frequency, and a mask that is False on frames whose 64 ms window straddles a change of
voicing (neither the voiced nor the unvoiced target is right there).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from ..constants import N_BINS, SAMPLE_RATE, TARGET_SIGMA_CENTS, WINDOW_SIZE
from ..exceptions import ParameterError
from ._units import bins_to_cents, hz_to_cents

__all__ = [
    "TrackLabels",
    "check_track",
    "pitch_target",
    "track_labels",
]

#: Half the network's window in seconds: a frame sees ``centre ± 32 ms``.
_HALF_WINDOW_S = WINDOW_SIZE / 2 / SAMPLE_RATE
#: Centres this close to a track point (as a share of the step, or in seconds at the ends)
#: count as on it: float32 times round by ~1e-7 relative.
_ON_POINT = 1e-5
_SLACK_S = 1e-5


def pitch_target(f0: torch.Tensor, sigma_cents: float = TARGET_SIGMA_CENTS) -> torch.Tensor:
    """CREPE's training target: a Gaussian over the 360 bins centred on ``f0``.

    ``exp(-(c_bin - c_f0)² / (2 σ²))`` with cents relative to 10 Hz, so the bin nearest the
    pitch holds up to 1. Unvoiced frames (f0 NaN, 0 or negative) get the all-zero vector.

    Args:
        f0: frequencies in Hz, any shape, floating point.
        sigma_cents: standard deviation of the Gaussian (CREPE: 25 cents).

    Shape:
        ``(...)`` → ``(..., 360)``

    Example:
        >>> t = pitch_target(torch.tensor([440.0, float("nan")]))
        >>> t.shape, int(t[0].argmax()), round(float(t[0].max()), 3), float(t[1].sum())
        (torch.Size([2, 360]), 228, 0.971, 0.0)
    """
    if not (isinstance(sigma_cents, int | float) and math.isfinite(sigma_cents)) or not (
        sigma_cents > 0
    ):
        raise ParameterError(
            f"sigma_cents must be a positive number of cents, got {sigma_cents!r}; CREPE "
            f"uses {TARGET_SIGMA_CENTS}."
        )
    cents = hz_to_cents(f0)
    if not cents.is_floating_point():
        cents = cents.float()
    centres = bins_to_cents(torch.arange(N_BINS, device=cents.device, dtype=cents.dtype))
    distance = centres - cents.unsqueeze(-1)
    target = torch.exp(-(distance * distance) / (2.0 * sigma_cents**2))
    voiced = torch.isfinite(cents).unsqueeze(-1)
    return torch.where(voiced, target, torch.zeros_like(target))


class TrackLabels(NamedTuple):
    """f0 at frame centres (NaN where unvoiced) and which frames may be trained on."""

    f0: torch.Tensor
    mask: torch.Tensor


def check_track(
    times: torch.Tensor,
    f0: torch.Tensor,
    duration: float | None = None,
    name: str = "f0 track",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate an f0 track and return it as float64 ``(times, f0)`` with NaN where unvoiced.

    Checks: one-dimensional, equal lengths, at least two points, times finite and strictly
    increasing, f0 never negative or infinite (0 and NaN mean unvoiced), and, given the
    audio's ``duration`` in seconds, that the track covers it: it must start within one step
    (at least 32 ms, half a CREPE window) of 0 and end within one step of the end.

    Raises:
        ParameterError: naming ``name`` (use the file name), what is wrong and the fix.

    Example:
        >>> times, f0 = check_track(torch.tensor([0.0, 0.01, 0.02]), torch.tensor([0.0, 220, 220]))
        >>> f0.tolist()
        [nan, 220.0, 220.0]
    """
    times = torch.as_tensor(times).detach().to("cpu", torch.float64)
    f0 = torch.as_tensor(f0).detach().to("cpu", torch.float64)
    if times.dim() != 1 or f0.dim() != 1 or times.shape != f0.shape:
        raise ParameterError(
            f"{name}: times and f0 must be 1-D arrays of the same length, got shapes "
            f"{tuple(times.shape)} and {tuple(f0.shape)}. Pass one (time, f0) point per row."
        )
    if len(times) < 2:
        raise ParameterError(
            f"{name}: needs at least 2 (time, f0) points, got {len(times)}. A track of one "
            f"point cannot be interpolated; write one point per frame (e.g. every 10 ms)."
        )
    if not bool(torch.isfinite(times).all()):
        raise ParameterError(f"{name}: times must be finite; found NaN or infinity.")
    steps = times.diff()
    if not bool((steps > 0).all()):
        at = int(torch.nonzero(steps <= 0)[0])
        raise ParameterError(
            f"{name}: times must be strictly increasing, but row {at + 1} "
            f"(t={float(times[at + 1]):.6g} s) does not come after row {at} "
            f"(t={float(times[at]):.6g} s). Sort the rows by time and remove duplicates."
        )
    bad = torch.isinf(f0) | (f0 < 0)
    if bool(bad.any()):
        at = int(torch.nonzero(bad)[0])
        raise ParameterError(
            f"{name}: f0 must be a frequency in Hz, ≥ 0 and finite; row {at} "
            f"(t={float(times[at]):.6g} s) holds {float(f0[at])}. Write 0 or NaN (or "
            f"voiced=0) for unvoiced frames."
        )
    if duration is not None:
        slack = max(float(steps.max()), _HALF_WINDOW_S)
        start, end = float(times[0]), float(times[-1])
        if start > slack or end < duration - slack:
            raise ParameterError(
                f"{name}: the f0 track covers {start:.3f}–{end:.3f} s but its audio lasts "
                f"{duration:.3f} s (allowed gap at either end: {slack:.3f} s). Was it computed "
                f"from another file, or at another sample rate? Recompute it from this audio "
                f"(e.g. `crepe-transforms pitch AUDIO`) or trim the audio to the labelled part."
            )
    return times, torch.where(f0 > 0, f0, torch.full_like(f0, math.nan))


def track_labels(times: torch.Tensor, f0: torch.Tensor, centres_s: torch.Tensor) -> TrackLabels:
    """The f0 of a checked track at frame centres, and the frames safe to train on.

    f0 is interpolated linearly in log frequency between the two neighbouring points when
    both are voiced. A frame is masked out (False) when its window ``centre ± 32 ms`` holds
    both voiced and unvoiced points, or a centre outside the track.

    Args:
        times, f0: a track from :func:`check_track` (NaN where unvoiced).
        centres_s: frame centres in seconds, any shape.

    Shape:
        ``(points,)``, ``(points,)``, ``(...)`` → ``(...)``, ``(...)``

    Example:
        >>> times = torch.arange(0, 1, 0.01, dtype=torch.float64)
        >>> f0 = torch.where(times < 0.5, 100.0, float("nan")).double()
        >>> labels = track_labels(times, f0, torch.tensor([0.1, 0.5, 0.9]))
        >>> round(float(labels.f0[0]), 9), labels.mask.tolist()
        (100.0, [True, False, True])
    """
    shape = centres_s.shape
    centres = centres_s.detach().to("cpu", torch.float64).reshape(-1)
    voiced = torch.isfinite(f0)
    right = torch.searchsorted(times, centres).clamp(1, len(times) - 1)
    left = right - 1
    span = times[right] - times[left]
    w = ((centres - times[left]) / span).clamp(0, 1)
    log_f0 = torch.log2(torch.where(voiced, f0, torch.ones_like(f0)))
    value = torch.exp2(log_f0[left] * (1 - w) + log_f0[right] * w)
    # A centre on a point (within float32 rounding of times) takes that point's voicing alone.
    on_left, on_right = w <= _ON_POINT, w >= 1 - _ON_POINT
    left_v = torch.where(on_right, voiced[right], voiced[left])
    right_v = torch.where(on_left, voiced[left], voiced[right])
    both = left_v & right_v
    neither = ~left_v & ~right_v
    label = torch.where(both, value, torch.full_like(value, math.nan))
    # Points inside each window, counted through a cumulative sum of the voiced flags.
    cum = torch.cat([torch.zeros(1, dtype=torch.int64), voiced.long().cumsum(0)])
    lo = torch.searchsorted(times, centres - _HALF_WINDOW_S)
    hi = torch.searchsorted(times, centres + _HALF_WINDOW_S, right=True)
    n_voiced = cum[hi] - cum[lo]
    n_points = hi - lo
    mixed = (n_voiced > 0) & (n_voiced < n_points)
    consistent = (both & (n_voiced == n_points)) | (neither & (n_voiced == 0))
    inside = (centres >= times[0] - _SLACK_S) & (centres <= times[-1] + _SLACK_S)
    mask = consistent & ~mixed & inside
    return TrackLabels(label.reshape(shape), mask.reshape(shape))
