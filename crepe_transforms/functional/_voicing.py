"""Voicing decisions and smoothing for decoded f0.

Unvoiced frames are marked by ``NaN`` in f0 (never 0 or -1), so every function here
takes and returns f0 tensors of shape ``(..., frames)`` and keeps their dtype, device
and length. Nothing is random: there is no dithering. The rule a transform applies
(``voicing=``: none, a threshold or ``"auto"``) is read by :func:`check_voicing` and turned
into a mask by :func:`voiced_mask`; ``"auto"`` lives in ``_voicing_model``.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from typing import Literal, TypeAlias, cast

import torch
import torch.nn.functional as F

from .._checks import check_lengths
from ..constants import HYSTERESIS_LOWER, HYSTERESIS_UPPER, SILENCE_DB
from ..exceptions import ParameterError
from ._framing import length_mask
from ._voicing_model import auto_voicing, decide_voicing

__all__ = [
    "Voicing",
    "apply_voicing",
    "check_voicing_rule",
    "hysteresis",
    "nan_mean_filter",
    "nan_median_filter",
    "silence",
    "threshold",
    "voiced_mask",
]

#: The name of the automatic rule (:func:`auto_voicing`).
AUTO: Literal["auto"] = "auto"
#: A voicing rule: none, a periodicity threshold, or ``"auto"``.
Voicing: TypeAlias = float | Literal["auto"] | None


def _describe(value: object) -> str:
    return str(value.dtype) if isinstance(value, torch.Tensor) else type(value).__name__


def _check_pair(f0: torch.Tensor, other: torch.Tensor, name: str) -> None:
    for value, label in ((f0, "f0"), (other, name)):
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            raise ParameterError(
                f"{label} must be a floating-point torch.Tensor of shape (..., frames), "
                f"got {_describe(value)}. Convert with torch.as_tensor({label}, "
                f"dtype=torch.float32)."
            )
    if f0.shape != other.shape:
        raise ParameterError(
            f"f0 has shape {tuple(f0.shape)} but {name} has "
            f"{tuple(other.shape)}; they must be frame-aligned (same sample_rate and hop_length)."
        )


def _check_level(value: object, name: str, low: float, high: float) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not low <= float(value) <= high:  # type: ignore[arg-type]
        raise ParameterError(
            f"{name} must be a number in [{low}, {high}], got {value!r}; pass a value in that "
            f"range" + (" (upper must not be below lower)." if name == "upper" else ".")
        )
    return float(value)  # type: ignore[arg-type]


def threshold(f0: torch.Tensor, periodicity: torch.Tensor, value: float) -> torch.Tensor:
    """Mark frames whose periodicity is below ``value`` as unvoiced (``NaN``).

    Args:
        f0: f0 in Hz.
        periodicity: periodicity of the same frames, in [0, 1].
        value: voicing threshold in [0, 1].

    Shape:
        - f0, periodicity: ``(..., frames)``
        - Output: ``(..., frames)``

    Example:
        >>> threshold(torch.tensor([110.0, 220.0]), torch.tensor([0.9, 0.1]), 0.5)
        tensor([110., nan])
    """
    _check_pair(f0, periodicity, "periodicity")
    level = _check_level(value, "threshold", 0.0, 1.0)
    return f0.masked_fill(~(periodicity >= level), math.nan)


def hysteresis(
    f0: torch.Tensor,
    periodicity: torch.Tensor,
    lower: float = HYSTERESIS_LOWER,
    upper: float = HYSTERESIS_UPPER,
) -> torch.Tensor:
    """Two-level voicing: a run of frames with periodicity >= ``lower`` is voiced if it
    contains at least one frame >= ``upper``; every other frame becomes ``NaN``.

    Brief dips stay voiced inside a confident note, and weak blips without a confident frame
    are dropped. Runs never cross from one batch item to the next.

    Args:
        f0: f0 in Hz.
        periodicity: periodicity of the same frames.
        lower: level that keeps a run going.
        upper: level a run must reach somewhere to count as voiced (``>= lower``).

    Shape:
        - f0, periodicity: ``(..., frames)``
        - Output: ``(..., frames)``

    Example:
        >>> p = torch.tensor([0.1, 0.25, 0.4, 0.25, 0.1, 0.25, 0.1])
        >>> hysteresis(torch.full((7,), 100.0), p)
        tensor([ nan, 100., 100., 100.,  nan,  nan,  nan])
    """
    _check_pair(f0, periodicity, "periodicity")
    low = _check_level(lower, "lower", 0.0, 1.0)
    high = _check_level(upper, "upper", low, 1.0)
    if periodicity.numel() == 0:
        return f0.clone()
    above = (periodicity >= low).reshape(-1, periodicity.shape[-1])
    strong = (periodicity >= high).reshape(above.shape) & above
    starts = above & ~F.pad(above[:, :-1], (1, 0), value=False)
    run = starts.reshape(-1).cumsum(0)  # run index per frame, unique across items
    # One slot per possible run (no read of run[-1] back to the host: a GPU need not wait).
    hits = torch.zeros(run.numel() + 1, dtype=torch.int64, device=run.device)
    hits.index_add_(0, run, strong.reshape(-1).long())
    voiced = above.reshape(-1) & (hits[run] > 0)
    return f0.masked_fill(~voiced.reshape(f0.shape), math.nan)


def silence(f0: torch.Tensor, loudness: torch.Tensor, min_db: float = SILENCE_DB) -> torch.Tensor:
    """Mark frames quieter than ``min_db`` (absolute A-weighted dB) as unvoiced (``NaN``).

    The gate is absolute: a frame's decision does not depend on the rest of the signal (unlike
    torchcrepe's, which is relative to each call's loudest bin). ``NaN`` loudness (padding)
    counts as silent.

    Args:
        f0: f0 in Hz.
        loudness: frame-aligned loudness from :class:`~crepe_transforms.CrepeLoudness`.
        min_db: gate level in dB re full scale (a full-scale 1 kHz sine is 0 dB).

    Shape:
        - f0, loudness: ``(..., frames)``
        - Output: ``(..., frames)``

    Example:
        >>> silence(torch.tensor([110.0, 220.0]), torch.tensor([-20.0, -80.0]))
        tensor([110.,  nan])
    """
    _check_pair(f0, loudness, "loudness")
    level = _check_level(min_db, "min_db", -math.inf, math.inf)
    return f0.masked_fill(~(loudness >= level), math.nan)


def _windows(x: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ParameterError(
            f"x must be a floating-point torch.Tensor of shape (..., frames), got {_describe(x)}. "
            f"Convert with x.float()."
        )
    if isinstance(window, bool) or not isinstance(window, int) or window < 1 or window % 2 == 0:
        raise ParameterError(
            f"window must be a positive odd number of frames (centred), got {window!r}; "
            f"e.g. window=3 or window=5."
        )
    work = x.to(torch.promote_types(x.dtype, torch.float32))
    flat = work.reshape(-1, x.shape[-1]) if x.dim() else work.reshape(1, 1)
    half = window // 2
    # NaN padding: edge windows simply have fewer valid frames.
    padded = F.pad(flat, (half, half), value=math.nan)
    return work, padded.unfold(-1, window, 1)


def nan_median_filter(x: torch.Tensor, window: int) -> torch.Tensor:
    """Centred running median that ignores ``NaN`` frames; ``NaN`` frames stay ``NaN``.

    With an even number of valid frames in a window the lower median is taken (as
    :func:`torch.nanmedian`). Edges use the frames that exist.

    Args:
        x: e.g. f0 in Hz with ``NaN`` for unvoiced frames.
        window: odd number of frames.

    Shape:
        - x: ``(..., frames)``
        - Output: ``(..., frames)``, same dtype

    Example:
        >>> nan_median_filter(torch.tensor([100.0, 300.0, 101.0, float("nan"), 102.0]), 3)
        tensor([100., 101., 101.,  nan, 102.])
    """
    work, windows = _windows(x, window)
    out = windows.nanmedian(dim=-1).values.reshape(work.shape)
    return out.masked_fill(work.isnan(), math.nan).to(x.dtype)


def nan_mean_filter(x: torch.Tensor, window: int) -> torch.Tensor:
    """Centred running mean that ignores ``NaN`` frames; ``NaN`` frames stay ``NaN``.

    Arguments and shapes as :func:`nan_median_filter`.

    Example:
        >>> nan_mean_filter(torch.tensor([100.0, 200.0, float("nan"), 300.0]), 3)
        tensor([150., 150.,  nan, 300.])
    """
    work, windows = _windows(x, window)
    valid = ~windows.isnan()
    total = windows.nan_to_num(0.0).sum(dim=-1)
    out = (total / valid.sum(dim=-1).clamp_min(1)).reshape(work.shape)
    return out.masked_fill(work.isnan(), math.nan).to(x.dtype)


def check_voicing_rule(value: object) -> Voicing:
    """A voicing rule: ``None`` (every frame keeps its f0), ``"auto"`` (the level-invariant
    decision of :func:`auto_voicing`) or a periodicity threshold in ``[0, 1]`` (frames below
    it get f0 ``NaN``). ``"none"`` reads as ``None``, names are case-insensitive and numbers
    given as text are parsed (the command line's words).

    Example:
        >>> check_voicing_rule(None), check_voicing_rule("0.5"), check_voicing_rule("Auto")
        (None, 0.5, 'auto')
    """
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "none":
            return None
        if text == AUTO:
            return AUTO
        with contextlib.suppress(ValueError):
            value = float(text)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= float(value) <= 1:
        raise ParameterError(
            f'voicing must be None or a periodicity threshold in [0, 1], or "auto", got '
            f'{value!r}. "auto" decides from periodicity and relative level with the shipped '
            f"voicing head (recommended for speech); with a threshold, frames whose periodicity "
            f"is below it get f0 NaN (0.21 to 0.5 are usual values)."
        )
    return float(value)


def check_voicing(value: object) -> float | None:
    """A voicing rule without ``"auto"``: ``None`` or a periodicity threshold in ``[0, 1]``
    (for callers that have no frame levels; :func:`check_voicing_rule` accepts ``"auto"``).

    Example:
        >>> check_voicing(None), check_voicing("0.5"), check_voicing("none")
        (None, 0.5, None)
    """
    rule = check_voicing_rule(value)
    if rule == AUTO:
        raise ParameterError(
            'voicing must be None or a periodicity threshold in [0, 1] here, got "auto": '
            "this caller has no frame levels to decide from. Pass a threshold such as 0.5."
        )
    return rule


def voiced_mask(
    periodicity: torch.Tensor,
    voicing: float | str,
    level_db: torch.Tensor | None = None,
    lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """Voiced frames under a voicing rule (see :func:`check_voicing_rule`; ``None`` has no
    mask).

    A threshold keeps frames with ``periodicity >= voicing``; ``"auto"`` is
    :func:`auto_voicing` and needs ``level_db`` from :func:`frame_levels`. Frames past
    ``lengths`` (valid frames per item) are unvoiced either way.

    Shape:
        - periodicity, level_db: ``(..., frames)``; lengths: ``(...)``
        - Output: ``(..., frames)`` bool

    Example:
        >>> voiced_mask(torch.tensor([0.9, 0.1]), 0.5)
        tensor([ True, False])
    """
    rule = check_voicing_rule(voicing)
    if rule is None:
        raise ParameterError(
            'voiced_mask needs a voicing rule (a threshold in [0, 1] or "auto"), got None; '
            "with voicing=None every frame keeps its f0 and there is no mask."
        )
    if rule == AUTO:
        if level_db is None:
            raise ParameterError(
                'voicing="auto" needs level_db, the level of every frame in dB: compute it '
                "with frame_levels(raw_frames) on the frames before normalisation."
            )
        return auto_voicing(periodicity, level_db, lengths)
    if not isinstance(periodicity, torch.Tensor) or not periodicity.is_floating_point():
        raise ParameterError(
            f"periodicity must be a floating-point torch.Tensor of shape (..., frames), got "
            f"{_describe(periodicity)}. Pass Pitch.periodicity."
        )
    checked = None
    if lengths is not None:
        checked = check_lengths(
            lengths, tuple(periodicity.shape[:-1]), periodicity.shape[-1], unit="frames"
        )
    return cast(torch.Tensor, apply_voicing(rule, periodicity, None, checked))  # a threshold


def apply_voicing(
    rule: Voicing,
    periodicity: torch.Tensor,
    level_db: torch.Tensor | None,
    frame_lengths: torch.Tensor | None = None,
) -> torch.Tensor | None:
    """The voicing rule turned into a mask, unchecked: the one dispatch every path calls
    (:class:`~crepe_transforms.CrepePitch`, the file extractor, the collate, the stream and
    :func:`voiced_mask`, which checks its arguments first).

    ``rule`` comes from :func:`check_voicing_rule`; ``None`` gives ``None`` (no mask). A
    threshold keeps ``periodicity >= rule``; ``"auto"`` is ``decide_voicing`` and needs
    ``level_db``. Frames past ``frame_lengths`` are unvoiced.
    """
    if rule is None:
        return None
    if rule == AUTO:
        if level_db is None and periodicity.numel() == 0:
            return torch.zeros(periodicity.shape, dtype=torch.bool, device=periodicity.device)
        if level_db is None:
            raise ParameterError(
                'voicing="auto" needs the level of every frame (level_db); this path computed '
                "none. Compute it with frame_levels(raw_frames)."
            )
        return decide_voicing(periodicity, level_db, frame_lengths)
    voiced = periodicity >= rule
    if frame_lengths is not None:
        voiced &= length_mask(frame_lengths.to(voiced.device), voiced.shape[-1])
    return voiced
