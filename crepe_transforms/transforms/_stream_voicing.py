"""``voicing="auto"`` in a stream: the offline decision with a bounded look-ahead.

The decision of frame ``t`` (``functional._voicing_model``) reads frames ``t - REACH_PAST …
t + REACH_AHEAD`` only. A stream therefore keeps the periodicity and level of the last
``REACH_PAST`` decided frames, holds each new frame back until ``lookahead`` frames past it
have arrived, and decides it with the same function the offline paths call. With
``lookahead >= REACH_AHEAD`` (the default) it sees exactly what the offline decision sees; a
smaller look-ahead answers sooner and decides a frame as if the item ended ``lookahead`` frames
later (``docs/voicing.md`` measures the agreement). ``flush`` decides the rest as offline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .._checks import check_positive_int
from .._settings import Setting
from ..exceptions import ParameterError
from ..functional._internal import AHEAD_FRAMES, PAST_FRAMES, decide_voicing
from ._pitch import VOICING

#: Frames before and after a frame that its decision reads (the window plus 3-frame shifts).
REACH_PAST = PAST_FRAMES + 3
REACH_AHEAD = AHEAD_FRAMES + 3

LOOKAHEAD = Setting(
    "lookahead",
    None,
    f'frames a stream with voicing="auto" holds a frame back before deciding it (default '
    f"{REACH_AHEAD}: the offline decision exactly; fewer answer sooner)",
    metavar="L",
)
#: The stream's voicing: the one rule of ``CrepePitch`` (same name, check and default), with
#: the help of a stream, where "auto" costs latency and a threshold does not.
STREAM_VOICING = VOICING.with_help(
    "voicing rule: none (f0 on every frame), a periodicity threshold in [0, 1] (decided as "
    f"each frame is decoded, no added delay) or auto (the offline decision of the voicing head; "
    f"each frame is held back `lookahead` frames, {REACH_AHEAD} by default, before it is "
    f"decided, so a stream answers that much later)"
)


def check_lookahead(value: object, voicing: object = "auto") -> int:
    """``lookahead`` of a stream with ``voicing``: ``None`` (the default,
    :data:`REACH_AHEAD`) or an int >= 1, the latter with ``voicing="auto"`` only."""
    if value is not None and voicing != "auto":
        raise ParameterError(
            f'lookahead={value!r} is for voicing="auto" only (frames a frame is held '
            f"back before it is decided); this stream has voicing={voicing!r}. Pass "
            f'voicing="auto", or leave lookahead out.'
        )
    if value is None:
        return REACH_AHEAD
    return check_positive_int(
        value,
        "lookahead",
        f' Frames CrepeStream(voicing="auto") waits past a frame before deciding it: a whole '
        f"number >= 1 (default {REACH_AHEAD}, which decides exactly as offline; fewer frames "
        f"answer sooner and agree less).",
    )


@dataclass(frozen=True)
class AutoState:
    """Per-row history and held frames (tensors replaced, never modified)."""

    periodicity: torch.Tensor  # (rows, kept): decided history, then held frames
    level: torch.Tensor  # (rows, kept) dB, the same frames
    f0: torch.Tensor  # (rows, held): f0 of the held frames
    history: int  # frames of periodicity/level before the held ones

    @staticmethod
    def empty(like: torch.Tensor) -> AutoState:
        rows = like.shape[0]
        zero = like.new_zeros((rows, 0))
        return AutoState(zero, zero, zero, 0)


def advance(
    state: AutoState,
    f0: torch.Tensor,
    periodicity: torch.Tensor,
    level: torch.Tensor,
    lookahead: int,
    final: bool,
) -> tuple[AutoState, torch.Tensor, torch.Tensor]:
    """Take new frames (``(rows, n)`` each); return the new state and ``(f0, periodicity)`` of
    the frames decided now (f0 ``NaN`` where unvoiced)."""
    p = torch.cat([state.periodicity, periodicity.to(state.periodicity)], dim=-1)
    lv = torch.cat([state.level, level.to(state.level)], dim=-1)
    held_f0 = torch.cat([state.f0, f0.to(state.f0)], dim=-1)
    held = held_f0.shape[-1]
    count = held if final else max(0, held - lookahead)
    if count == 0:
        return AutoState(p, lv, held_f0, state.history), held_f0[:, :0], p[:, :0]
    voiced = decide_voicing(p, lv)[:, state.history : state.history + count]
    decided_f0 = held_f0[:, :count].masked_fill(~voiced, math.nan)
    decided_p = p[:, state.history : state.history + count]
    # Keep REACH_PAST decided frames of history for the frames still held.
    drop = max(0, state.history + count - REACH_PAST)
    new = AutoState(p[:, drop:], lv[:, drop:], held_f0[:, count:], state.history + count - drop)
    return new, decided_f0, decided_p
