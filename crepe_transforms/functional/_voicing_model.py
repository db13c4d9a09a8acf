"""The automatic voicing decision (``voicing="auto"``): periodicity *and* level, per item.

Periodicity alone cannot tell a quiet voice from a quiet room: every CREPE frame is normalised
to unit variance, so room tone, hum and reverberant tails 40-70 dB below the speech come out of
the network as loud as the speech itself, often with periodicity 0.3-0.8. A fixed dB gate fixes
that only at one recording level. This decision is relative instead, so it does not depend on how
loud the recording is:

1. **Level** of each frame (:func:`frame_levels`): mean square of the central 32 ms
   (:data:`LEVEL_WINDOW` samples at 16 kHz) of the raw frame, before normalisation, in dB re
   full scale. 32 ms rather than the whole 64 ms window: a frame centred in a pause just after
   a word then reads the pause, not the word's end.
2. **Noise floor** of each item (:func:`noise_floor`): the 5th percentile of its frame levels,
   leaving out digital silence (frames more than :data:`AUDIBLE_RANGE_DB` below the item's
   95th percentile), and never closer than :data:`MIN_RANGE_DB` to that 95th percentile (so
   an item without a pause keeps its quiet voiced frames).
3. **Decision** (:func:`auto_voicing`): a frame is voiced when its level is at least
   :data:`GATE_DB` above the floor (and above digital silence), and its periodicity,
   median-filtered over :data:`MEDIAN_FRAMES` frames, is at least :data:`LOWER` in a run of
   such frames that reaches :data:`UPPER` somewhere (hysteresis).

Scaling the input by any gain shifts every level and the floor by the same number of dB, and the
network sees the same normalised frames, so decisions do not change (measured: under 1 % at
x0.1 and x10, see ``docs/voicing.md``). The constants were chosen on the ``dev`` split of
``benchmarks/voicing_corpus.py`` (tiny and full) and are reported on its ``test`` split.

Everything is vectorised tensor code (sorts, gathers, a cumulative sum for the runs): no loop
over frames or items, any device, deterministic. Each item of a padded batch is decided alone:
frames past ``lengths`` take no part in its floor, median or runs, and come out unvoiced.
"""

from __future__ import annotations

import math

import torch

from .._checks import check_lengths
from ..constants import WINDOW_SIZE
from ..exceptions import ParameterError
from ._framing import extract_frames, length_mask

__all__ = [
    "audio_levels",
    "auto_voicing",
    "frame_levels",
    "noise_floor",
]

#: Samples (16 kHz) at the centre of each frame whose mean square is the frame's level (32 ms).
LEVEL_WINDOW = 512
#: Lowest level :func:`frame_levels` returns (digital silence), dB re full scale.
LEVEL_FLOOR_DB = -200.0
#: Highest level accepted (a float signal 10^10 times full scale); above it input is broken.
LEVEL_CEILING_DB = 200.0
#: Percentile of an item's frame levels taken as its noise floor.
FLOOR_PERCENTILE = 5.0
#: Percentile of an item's frame levels taken as its loud reference.
REFERENCE_PERCENTILE = 95.0
#: Frames this far below the reference are silence (left out of the floor estimate).
AUDIBLE_RANGE_DB = 90.0
#: The floor is never closer than this to the reference (an item without pauses).
MIN_RANGE_DB = 20.0
#: A voiced frame is at least this far above the floor.
GATE_DB = 3.0
#: Frames of the running median over periodicity (odd, centred).
MEDIAN_FRAMES = 5
#: Hysteresis on the median-filtered periodicity: runs >= LOWER that reach UPPER.
LOWER = 0.22
UPPER = 0.5


def frame_levels(frames: torch.Tensor) -> torch.Tensor:
    """Level of raw 16 kHz frames in dB re full scale (a full-scale sine reads 0 dB).

    The mean square of the central :data:`LEVEL_WINDOW` samples after removing their mean,
    floored at :data:`LEVEL_FLOOR_DB` (digital silence). Give the frames as cut from the
    audio, *before* CREPE's normalisation (which would make every level 0 dB). Each frame is
    independent, so levels can be computed block by block as the frames are cut.

    Args:
        frames: raw frames, e.g. ``extract_frames(audio_16k, centers)``; any real float dtype
            (computed in float32, float64 stays float64).

    Shape:
        - frames: ``(..., frames, 1024)``
        - Output: ``(..., frames)``

    Example:
        >>> t = torch.arange(1024) / 16000
        >>> sine = torch.sin(2 * torch.pi * 440 * t)
        >>> frame_levels(torch.stack([0.5 * sine, 0.05 * sine, 0 * sine])).round()
        tensor([  -6.,  -26., -200.])
    """
    if not isinstance(frames, torch.Tensor) or not frames.is_floating_point():
        found = frames.dtype if isinstance(frames, torch.Tensor) else type(frames).__name__
        raise ParameterError(
            f"frames must be a floating-point torch.Tensor of raw frames (..., frames, "
            f"{WINDOW_SIZE}), got {found}. Cut them with extract_frames(audio_16k, centers)."
        )
    if frames.dim() < 1 or frames.shape[-1] != WINDOW_SIZE:
        raise ParameterError(
            f"frames must have {WINDOW_SIZE} samples in the last dimension (raw 16 kHz CREPE "
            f"frames before normalisation), got shape {tuple(frames.shape)}."
        )
    return _levels(frames)


def audio_levels(
    audio_16k: torch.Tensor, centers: torch.Tensor, block_frames: int = 4096
) -> torch.Tensor:
    """:func:`frame_levels` of the frames centred at ``centers`` of 16 kHz audio, cut
    ``block_frames`` at a time (memory bound: the whole item is never framed at once).

    Unchecked (the audio has passed ``CrepeFrames.prepare``); ``centers`` are 16 kHz sample
    indices, e.g. ``frame_centers(n_frames, hop_length, sample_rate)``.

    Shape:
        - audio_16k: ``(..., time16k)``; centers: ``(frames,)``
        - Output: ``(..., frames)``

    Example:
        >>> audio = 0.5 * torch.sin(torch.arange(16000) / 16000 * 2 * torch.pi * 440)
        >>> audio_levels(audio, torch.tensor([4000, 8000]), block_frames=1).round()
        tensor([-6., -6.])
    """
    parts = [
        _levels(extract_frames(audio_16k, centers[start : start + block_frames]))
        for start in range(0, centers.shape[0], max(1, block_frames))
    ]
    if not parts:
        return audio_16k.new_zeros((*audio_16k.shape[:-1], 0))
    return torch.cat(parts, dim=-1)


def _levels(frames: torch.Tensor) -> torch.Tensor:
    work = frames if frames.dtype == torch.float64 else frames.float()
    start = (WINDOW_SIZE - LEVEL_WINDOW) // 2
    centre = work[..., start : start + LEVEL_WINDOW]
    power = (centre - centre.mean(dim=-1, keepdim=True)).square().mean(dim=-1)
    # x2: a sine's mean square is half its squared peak; full-scale sine = 0 dB.
    return (10.0 * torch.log10(2.0 * power)).clamp_min(LEVEL_FLOOR_DB)


def _quantile(x: torch.Tensor, mask: torch.Tensor, q: float) -> torch.Tensor:
    """Per-row quantile of ``x`` over ``mask`` (linear interpolation, numpy's default).

    Rows without a masked value give ``LEVEL_FLOOR_DB``. ``x``: (rows, n) → (rows,).
    """
    ordered = x.masked_fill(~mask, math.inf).sort(dim=-1).values
    last = (mask.sum(dim=-1) - 1).clamp_min(0)
    position = q * last.to(x.dtype)
    below = position.floor().long()
    above = torch.minimum(below + 1, last)
    low = ordered.gather(-1, below.unsqueeze(-1)).squeeze(-1)
    high = ordered.gather(-1, above.unsqueeze(-1)).squeeze(-1)
    value = low + (high - low) * (position - below.to(x.dtype))
    return torch.where(mask.any(dim=-1), value, torch.full_like(value, LEVEL_FLOOR_DB))


def _valid(shape: torch.Size, lengths: torch.Tensor | None, device: torch.device) -> torch.Tensor:
    rows, frames = math.prod(shape[:-1]), shape[-1]
    if lengths is None:
        return torch.ones((rows, frames), dtype=torch.bool, device=device)
    return length_mask(lengths.reshape(rows).to(device), frames)


def _floor(level: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    reference = _quantile(level, valid, REFERENCE_PERCENTILE / 100)
    audible = valid & (level >= (reference - AUDIBLE_RANGE_DB).unsqueeze(-1))
    floor = _quantile(level, audible, FLOOR_PERCENTILE / 100)
    return torch.minimum(floor, reference - MIN_RANGE_DB)


def _check_levels(level_db: object, valid: torch.Tensor, shape: torch.Size, name: str) -> None:
    if not isinstance(level_db, torch.Tensor) or not level_db.is_floating_point():
        found = level_db.dtype if isinstance(level_db, torch.Tensor) else type(level_db).__name__
        raise ParameterError(
            f"{name} must be a floating-point torch.Tensor of frame levels in dB (..., frames), "
            f"got {found}. Compute it with frame_levels(raw_frames)."
        )
    if level_db.shape != shape:
        raise ParameterError(
            f"{name} has shape {tuple(level_db.shape)} but periodicity has {tuple(shape)}; "
            f"they must be frame-aligned (levels of the same frames the pitch comes from)."
        )
    values = level_db.reshape(valid.shape)[valid]
    if values.isnan().any():
        raise ParameterError(
            f'{name} holds NaN on valid frames: voicing="auto" needs the level of every frame. '
            f"Compute it with frame_levels(raw_frames) on the audio before normalisation, and "
            f"pass lengths for a padded batch (frames past them are ignored)."
        )
    if values.numel():
        lo, hi = float(values.min()), float(values.max())
        if lo < LEVEL_FLOOR_DB or hi > LEVEL_CEILING_DB:
            raise ParameterError(
                f"{name} must hold levels in dB re full scale within [{LEVEL_FLOOR_DB:g}, "
                f"{LEVEL_CEILING_DB:g}], got values in [{lo:g}, {hi:g}]. Compute it with "
                f"frame_levels(raw_frames) (dB, floored at {LEVEL_FLOOR_DB:g}), not linear "
                f"amplitudes or power."
            )


def _check_bounds(lower: object, upper: object) -> tuple[float, float]:
    low = _check_bound(lower, "lower", 0.0)
    return low, _check_bound(upper, "upper", low)


def _check_bound(value: object, name: str, low: float) -> float:
    number = float(value) if isinstance(value, (int, float)) else math.nan
    if isinstance(value, bool) or not low <= number <= 1:
        raise ParameterError(
            f"{name} must be a periodicity in [{low:g}, 1], got {value!r}; the defaults are "
            f"lower={LOWER} and upper={UPPER} (upper must not be below lower)."
        )
    return number


def _check_lengths(lengths: object, shape: torch.Size) -> torch.Tensor | None:
    if lengths is None:
        return None
    return check_lengths(lengths, tuple(shape[:-1]), shape[-1], unit="frames")


def noise_floor(level_db: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Noise floor of each item in dB, as :func:`auto_voicing` estimates it.

    The :data:`FLOOR_PERCENTILE`-th percentile of the item's frame levels (frames more than
    :data:`AUDIBLE_RANGE_DB` below its :data:`REFERENCE_PERCENTILE`-th percentile, digital
    silence, left out), capped at :data:`MIN_RANGE_DB` below that percentile. Needs the levels
    of the whole item; pass it to :func:`auto_voicing` as ``floor_db`` to decide pieces of an
    item (or a stream) against a floor estimated elsewhere.

    Args:
        level_db: frame levels from :func:`frame_levels`.
        lengths: valid frames per item of a padded batch (frames past them are ignored).

    Shape:
        - level_db: ``(..., frames)``; lengths: ``(...)``
        - Output: ``(...)``

    Example:
        >>> levels = torch.tensor([-60.0] * 10 + [-10.0] * 10)
        >>> noise_floor(levels)
        tensor(-60.)
    """
    if not isinstance(level_db, torch.Tensor) or level_db.dim() < 1:
        raise ParameterError(
            f"level_db must be a floating-point torch.Tensor of frame levels in dB (..., "
            f"frames), got {type(level_db).__name__}. Compute it with frame_levels(raw_frames)."
        )
    checked = _check_lengths(lengths, level_db.shape)
    valid = _valid(level_db.shape, checked, level_db.device)
    _check_levels(level_db, valid, level_db.shape, "level_db")
    work = level_db.reshape(valid.shape)
    work = work if work.dtype == torch.float64 else work.float()
    return _floor(work, valid).reshape(level_db.shape[:-1]).to(level_db.dtype)


def _median(x: torch.Tensor, valid_frames: torch.Tensor, window: int) -> torch.Tensor:
    """Centred running median per row, the row's own edge frames repeated past its ends."""
    frames = x.shape[-1]
    half = window // 2
    offsets = torch.arange(-half, half + 1, device=x.device)
    index = torch.arange(frames, device=x.device).unsqueeze(-1) + offsets  # (frames, window)
    last = (valid_frames - 1).clamp_min(0).view(-1, 1, 1)
    index = torch.minimum(index.clamp_min(0).unsqueeze(0), last)  # (rows, frames, window)
    gathered = x.gather(-1, index.reshape(x.shape[0], -1)).reshape(*index.shape)
    return gathered.median(dim=-1).values


def _runs(low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Frames of ``low`` runs (per row) that contain at least one ``high`` frame."""
    if low.numel() == 0:
        return low
    starts = low.clone()
    starts[:, 1:] &= ~low[:, :-1]
    run = starts.reshape(-1).cumsum(0)  # run index per frame; rows never share a run
    # Sized by the frame count (an upper bound on runs): no device-to-host read of run[-1].
    hits = torch.zeros(low.numel() + 1, dtype=torch.int64, device=low.device)
    hits.index_add_(0, run, (high & low).reshape(-1).long())
    return low & (hits[run] > 0).reshape(low.shape)


def auto_voicing(
    periodicity: torch.Tensor,
    level_db: torch.Tensor,
    lengths: torch.Tensor | None = None,
    floor_db: torch.Tensor | None = None,
    *,
    lower: float = LOWER,
    upper: float = UPPER,
) -> torch.Tensor:
    """Voiced frames by periodicity and level relative to each item's noise floor.

    The decision of ``voicing="auto"`` (see the module notes): level at least :data:`GATE_DB`
    above the item's :func:`noise_floor`, and median-filtered periodicity in a hysteresis run
    (>= :data:`LOWER`, reaching :data:`UPPER`). Level-invariant: scaling the audio changes no
    decision. Needs every frame of an item (the floor is a percentile of its levels and runs
    may be long): collect the levels, one float a frame, while the frames are computed, then
    decide once, like the Viterbi decode.

    Args:
        periodicity: periodicity of each frame, in ``[0, 1]`` (``Pitch.periodicity``).
        level_db: level of the same frames from :func:`frame_levels`.
        lengths: valid frames per item of a padded batch; frames past them come out unvoiced
            and take no part in the decision.
        floor_db: per-item noise floor in dB to use instead of estimating it from
            ``level_db`` (e.g. :func:`noise_floor` of the whole item, for a part of it).
        lower: periodicity a run of voiced frames stays above (lower: more recall, more
            false alarms; ``docs/voicing.md`` plots the trade-off).
        upper: periodicity a run must reach somewhere (``lower <= upper <= 1``).

    Returns:
        Boolean mask, ``True`` on voiced frames.

    Shape:
        - periodicity, level_db: ``(..., frames)``; lengths, floor_db: ``(...)``
        - Output: ``(..., frames)`` bool

    Example:
        >>> periodicity = torch.tensor([0.1, 0.8, 0.9, 0.7, 0.6, 0.1])
        >>> level = torch.tensor([-70.0, -20.0, -18.0, -20.0, -68.0, -70.0])
        >>> auto_voicing(periodicity, level)
        tensor([False,  True,  True,  True, False, False])
    """
    if not isinstance(periodicity, torch.Tensor) or not periodicity.is_floating_point():
        found = periodicity.dtype if isinstance(periodicity, torch.Tensor) else type(periodicity)
        raise ParameterError(
            f"periodicity must be a floating-point torch.Tensor (..., frames) in [0, 1], got "
            f"{found}. Pass Pitch.periodicity."
        )
    if periodicity.dim() < 1:
        raise ParameterError("periodicity must have a frames dimension, got a 0-d tensor.")
    low, high = _check_bounds(lower, upper)
    shape = periodicity.shape
    checked = _check_lengths(lengths, shape)
    if shape[-1] == 0:
        return torch.zeros(shape, dtype=torch.bool, device=periodicity.device)
    valid = _valid(shape, checked, periodicity.device)
    rows = valid.shape[0]
    _check_levels(level_db, valid, shape, "level_db")
    p = periodicity.reshape(valid.shape)
    on_valid = p[valid]
    if on_valid.isnan().any() or (on_valid.numel() and (on_valid.min() < 0 or on_valid.max() > 1)):
        raise ParameterError(
            "periodicity must be in [0, 1] on every valid frame (no NaN); pass the decoder's "
            "Pitch.periodicity, and lengths for a padded batch."
        )
    floor: torch.Tensor | None = None
    if floor_db is not None:
        if not isinstance(floor_db, torch.Tensor) or floor_db.numel() != rows:
            raise ParameterError(
                f"floor_db must be a torch.Tensor with one floor (dB) per item, shape "
                f"{tuple(shape[:-1])}; compute it with noise_floor(level_db, lengths)."
            )
        if floor_db.isnan().any():
            raise ParameterError("floor_db holds NaN; compute it with noise_floor(level_db).")
        floor = floor_db.reshape(rows)
    return _decide(p, level_db.reshape(valid.shape), valid, floor, low, high).reshape(shape)


def decide_voicing(
    periodicity: torch.Tensor,
    level_db: torch.Tensor,
    frame_lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """:func:`auto_voicing` with its defaults and no checks: the inside for callers whose
    inputs are right by construction (``CrepePitch``, the collate, the CLI).

    Nothing here reads a value back to the host, so on a GPU it queues without waiting.

    Shape:
        - periodicity, level_db: ``(..., frames)``; frame_lengths: ``(...)`` or ``None``
        - Output: ``(..., frames)`` bool

    Example:
        >>> decide_voicing(torch.tensor([0.9, 0.9]), torch.tensor([-20.0, -90.0]))
        tensor([ True, False])
    """
    shape = periodicity.shape
    if shape[-1] == 0:
        return torch.zeros(shape, dtype=torch.bool, device=periodicity.device)
    valid = _valid(shape, frame_lengths, periodicity.device)
    p = periodicity.reshape(valid.shape)
    out = _decide(p, level_db.reshape(valid.shape), valid, None, LOWER, UPPER)
    return out.reshape(shape)


def _decide(
    periodicity: torch.Tensor,
    level_db: torch.Tensor,
    valid: torch.Tensor,
    floor: torch.Tensor | None,
    lower: float,
    upper: float,
) -> torch.Tensor:
    """The decision on rows: ``(rows, frames)`` periodicity, levels, valid mask → voiced."""
    p = periodicity if periodicity.dtype == torch.float64 else periodicity.float()
    level = level_db if level_db.dtype == torch.float64 else level_db.float()
    floor = _floor(level, valid) if floor is None else floor.to(level)
    # Digital silence is never voiced, whatever the floor (an item of silence has no range).
    loud = (level >= (floor + GATE_DB).unsqueeze(-1)) & (level > LEVEL_FLOOR_DB)
    smooth = _median(p, valid.sum(dim=-1), MEDIAN_FRAMES)
    periodic = _runs((smooth >= lower) & valid, smooth >= upper)
    return loud & periodic & valid
