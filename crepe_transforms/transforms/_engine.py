"""The block engine: audio → 16 kHz → frame blocks → network → per-frame outputs.

One loop serves every long-input path: :class:`~crepe_transforms.CrepePitch`,
:class:`~crepe_transforms.CrepeEmbedding`, the conditioner, the file extractor (whose signal is
read from disk block by block) and the stream (whose signal arrives in pieces). Only the
*signal* differs:

- :class:`TensorSignal`: a batch already in memory, resampled once;
- ``io``'s file signal: a file read forward and resampled block by block;
- the stream's ring buffer.

The loop (:func:`run_blocks`) walks the frames in time-major blocks of at most
``block_frames`` frames over all rows, cuts each block's windows from the signal in one gather,
normalises them, and runs the network on each row's *valid* frames only, in chunks of
``chunk_size`` frames counted from the row's frame 0. Frames past a row's valid length are
never computed (their outputs are zeros). Because chunks never straddle rows or blocks, a row's
outputs are the same bits whatever the block size and whatever the other rows, and they equal
``CrepeActivation`` on that row's frames.

Settings are checked once, at the public door; nothing here re-scans the audio.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple, Protocol

import torch
import torch.nn.functional as F

from .._checks import check_positive_int
from .._tables import DEFAULT_BLOCK_FRAMES
from ..constants import SAMPLE_RATE, WINDOW_SIZE
from ..functional import extract_frames
from ..functional._internal import center_sample
from ..functional._internal import centers_unchecked as _centers
from ..functional._internal import levels_unchecked as frame_levels
from ..functional._internal import normalize_unchecked as _normalize
from ..model import map_chunks

__all__ = [
    "DEFAULT_BLOCK_FRAMES",
    "FramePlan",
    "Signal",
    "TensorSignal",
    "block_rows",
    "check_block_frames",
    "chunk_rows",
    "run_blocks",
]


def check_block_frames(value: object) -> int:
    """``block_frames`` of a module that runs this engine: a positive int."""
    return check_positive_int(
        value,
        "block_frames",
        f" Frames per block of a long input (memory bound), e.g. {DEFAULT_BLOCK_FRAMES}.",
    )


_HALF = WINDOW_SIZE // 2


class FramePlan(NamedTuple):
    """Where frames sit and how they are normalised (from a ``CrepeFrames``)."""

    sample_rate: int
    hop_length: int
    normalization: str


class Signal(Protocol):
    """A 16 kHz signal of ``rows`` aligned rows that can be read in forward order."""

    rows: int

    def segment(self, start: int, stop: int) -> torch.Tensor:
        """Samples ``[start, stop)`` of every row, zero outside the signal: ``(rows, n)``."""
        ...


class TensorSignal:
    """The 16 kHz signal of a batch in memory, ``(rows, time16k)``."""

    def __init__(self, audio_16k: torch.Tensor) -> None:
        self.audio = audio_16k
        self.rows = audio_16k.shape[0]

    def segment(self, start: int, stop: int) -> torch.Tensor:
        n = self.audio.shape[-1]
        lo, hi = max(start, 0), min(stop, n)
        if lo >= hi:
            return self.audio.new_zeros((self.rows, stop - start))
        part = self.audio[:, lo:hi]
        if lo > start or hi < stop:
            part = F.pad(part, (lo - start, stop - hi))
        return part


def cut_frames(
    signal: Signal,
    plan: FramePlan,
    start: int,
    count: int,
    on_raw: Callable[[torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """Normalised frames ``start … start + count − 1`` of every row: ``(rows, count, 1024)``.

    ``on_raw`` sees the frames as cut, before normalisation (for their levels).
    """
    hop, rate = plan.hop_length, plan.sample_rate
    first = center_sample(start, hop, rate) - _HALF
    audio = signal.segment(first, center_sample(start + count - 1, hop, rate) + _HALF)
    step, uneven = divmod(hop * SAMPLE_RATE, rate)
    if count == 1 or not uneven:
        # Evenly spaced centres (f * step: a hop of whole 16 kHz samples; extract_frames'
        # strided copy), worked out in integers: no tensor of centres for a few frames.
        raw = audio.unfold(-1, WINDOW_SIZE, max(step, 1)).contiguous()
    else:
        raw = extract_frames(audio, _centers(start, count, hop, rate) - first)
    if on_raw is not None:
        on_raw(raw)
    return _normalize(raw, plan.normalization)


def block_rows(rows: int, block_frames: int, chunk_size: int) -> int:
    """Frames per row in one block: ``block_frames`` shared by the rows, whole chunks, ≥ 1."""
    per_row = max(1, block_frames // max(1, rows))
    return max(1, per_row // chunk_size) * chunk_size


def chunk_rows(
    valid: Sequence[int], start: int, count: int, chunk_size: int
) -> list[tuple[int, int, int]]:
    """``(row, first, stop)`` of each network chunk in the block ``[start, start + count)``.

    Chunks count from each row's frame 0 and stop at its valid length, so they never straddle
    rows, blocks (whose starts are multiples of ``chunk_size``) or padding.
    """
    out = []
    for row, length in enumerate(valid):
        stop = min(start + count, length)
        for first in range(start, stop, chunk_size):
            out.append((row, first - start, min(first + chunk_size, stop) - start))
    return out


def run_blocks(
    signal: Signal,
    plan: FramePlan,
    valid: Sequence[int],
    total: int,
    fn: Callable[[torch.Tensor], torch.Tensor],
    chunk_size: int,
    block_frames: int = DEFAULT_BLOCK_FRAMES,
    on_frames: Callable[[int], None] | None = None,
    dtype: torch.dtype | None = None,
    on_levels: Callable[[int, torch.Tensor], None] | None = None,
) -> Iterator[tuple[int, torch.Tensor]]:
    """``fn`` over every valid frame of ``signal``, one time-major block at a time.

    Args:
        signal: the 16 kHz signal, ``signal.rows`` rows.
        plan: frame placement and normalisation.
        valid: valid frames per row (frames past them are not computed).
        total: frames of the longest row (the output's frame axis).
        fn: the network (``(n, 1024)`` → ``(n, ...)``), e.g. ``CrepeActivation``'s.
        chunk_size: frames per network call.
        block_frames: frames per block over all rows (memory bound).
        on_frames: called with the number of frames computed after each block.
        dtype: the dtype frames are given to ``fn`` in (default: the signal's).
        on_levels: called with ``(start, levels)`` for each block: every row's frame levels in
            dB before normalisation, ``(rows, count)`` (what ``voicing="auto"`` decides from).

    Yields:
        ``(start, outputs)``: outputs ``(rows, count, ...)`` of frames ``start …`` (zeros on
        frames past a row's valid length).
    """
    step = block_rows(signal.rows, block_frames, chunk_size)
    for start in range(0, total, step):
        count = min(step, total - start)
        on_raw = None
        if on_levels is not None:

            def on_raw(raw: torch.Tensor, start: int = start) -> None:
                on_levels(start, frame_levels(raw))

        frames = cut_frames(signal, plan, start, count, on_raw)
        if dtype is not None:
            frames = frames.to(dtype)
        pieces = chunk_rows(valid, start, count, chunk_size)
        results = map_chunks(fn, [frames[row, a:b] for row, a, b in pieces])
        yield start, assemble(frames, pieces, results, count)
        if on_frames is not None:
            on_frames(sum(b - a for _, a, b in pieces))


def assemble(
    frames: torch.Tensor,
    pieces: Sequence[tuple[int, int, int]],
    results: Sequence[torch.Tensor],
    count: int,
) -> torch.Tensor:
    """Place each chunk's outputs at its rows and frames of a zero ``(rows, count, ...)``."""
    rows = frames.shape[0]
    if not results:
        return frames.new_zeros((rows, count, 0))
    sample = results[0]
    by_row: list[list[torch.Tensor]] = [[] for _ in range(rows)]
    covered = [0] * rows
    for (row, a, b), value in zip(pieces, results, strict=True):
        by_row[row].append(value)
        covered[row] += b - a
    if all(c == count for c in covered):  # no padding in this block: concatenate, no zeros
        return torch.stack([torch.cat(parts) if len(parts) > 1 else parts[0] for parts in by_row])
    out = sample.new_zeros((rows, count, *sample.shape[1:]))
    if any(r.requires_grad for r in results):  # autograd-friendly assembly
        device = out.device
        rows_index = torch.cat([torch.full((b - a,), row, device=device) for row, a, b in pieces])
        frames_index = torch.cat([torch.arange(a, b, device=device) for _, a, b in pieces])
        return out.index_put((rows_index, frames_index), torch.cat(list(results)))
    for (row, a, b), value in zip(pieces, results, strict=True):
        out[row, a:b] = value
    return out
