"""The numba kernels of the banded Viterbi: offline (:func:`viterbi_path`) and fixed-lag.

Imported on first use (numba takes a while to import) and compiled on first call. One forward
recursion and one traceback serve both decoders: the offline scan is a stream of one item
that decides nothing early. They mirror the torch kernels operation for operation (the same
float64 additions in the same order, ties towards the lowest state), so every backend gives
the same path. All kernels live in this one file so that numba's cache, which checks only the
file of each function, is refreshed whenever any of them changes.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)


def _first_max_py(values: Any, start: int, count: int) -> int:
    # The lowest index of the maximum of values[start : start + count], as torch's argmax.
    best = 0
    for i in range(1, count):
        if values[start + i] > values[start + best]:
            best = i
    return best


def _forward_py(
    emission: Any,
    transition: Any,
    jump: float,
    init: float,
    score: Any,
    started: bool,
    pointers: Any,
    ends: Any,
) -> None:
    # Frames of emission (rows, count, states) continue from score (rows, states) when
    # started, else start from init; writes every frame's back-pointers (none for a first
    # frame), the final scores and, when ends has columns, each frame's best state.
    rows, count, n_states = emission.shape
    width = transition.shape[0]
    band = width // 2
    use_jump = jump > -np.inf
    keep_ends = ends.shape[1] > 0
    padded = np.full(n_states + 2 * band, -np.inf)
    best = np.empty(n_states)
    arg = np.empty(n_states, dtype=np.int64)
    for b in range(rows):
        if started:
            for j in range(n_states):
                padded[band + j] = score[b, j]
        for t in range(count):
            if t == 0 and not started:
                for j in range(n_states):
                    padded[band + j] = emission[b, 0, j] + init
            else:
                for j in range(n_states):
                    best[j] = -np.inf
                    arg[j] = 0
                for k in range(width):
                    row = transition[k]
                    for j in range(n_states):
                        cand = padded[j + k] + row[j]
                        better = cand > best[j]
                        best[j] = cand if better else best[j]
                        arg[j] = j + k - band if better else arg[j]
                if use_jump:
                    top_arg = first_max(padded, band, n_states)
                    leap = padded[band + top_arg] + jump
                    for j in range(n_states):
                        if leap > best[j] or (leap == best[j] and top_arg < arg[j]):
                            best[j] = leap
                            arg[j] = top_arg
                for j in range(n_states):
                    padded[band + j] = best[j] + emission[b, t, j]
                    pointers[b, t, j] = arg[j]
            if keep_ends:
                ends[b, t] = first_max(padded, band, n_states)
        for j in range(n_states):
            score[b, j] = padded[band + j]


def _back_py(pointers: Any, base: int, ends: Any, first_end: int, steps: int, out: Any) -> None:
    # Trace each state of ends (frames first_end …) steps frames back; pointers start at base.
    rows, count = ends.shape
    for b in range(rows):
        for i in range(count):
            state = ends[b, i]
            frame = first_end + i - base
            for _ in range(steps):
                state = pointers[b, frame, state]
                frame -= 1
            out[b, i] = state


def _finish_py(pointers: Any, base: int, score: Any, decided: int, seen: int, out: Any) -> None:
    # The path of frames decided … seen - 1, traced back from the best final score.
    rows, n_states = score.shape
    for b in range(rows):
        state = first_max(score[b], 0, n_states)
        out[b, seen - 1 - decided] = state
        for t in range(seen - 1, decided, -1):
            state = pointers[b, t - base, state]
            out[b, t - 1 - decided] = state


def _scan_py(
    log_emission: Any, transition: Any, jump: float, init: float, lengths: Any, path: Any
) -> None:
    # Offline: each item is a stream of its valid frames, traced back from its last one;
    # the path repeats the last state past the item's length.
    batch, frames, n_states = log_emission.shape
    no_ends = np.empty((1, 0), dtype=np.int64)
    score = np.empty((1, n_states))
    for b in range(batch):
        length = lengths[b]
        pointers = np.empty((1, length, n_states), dtype=np.int16)
        forward(
            log_emission[b : b + 1, :length],
            transition,
            jump,
            init,
            score,
            False,
            pointers,
            no_ends,
        )
        finish(pointers, 0, score, 0, length, path[b : b + 1])
        for t in range(length, frames):
            path[b, t] = path[b, length - 1]


first_max = _jit(_first_max_py)
#: Fixed-lag Viterbi (:class:`~crepe_transforms.functional.FixedLagViterbi`): forward, trace
#: back, finish.
forward = _jit(_forward_py)
back = _jit(_back_py)
finish = _jit(_finish_py)
#: :func:`~crepe_transforms.functional.viterbi_path`'s kernel.
scan = _jit(_scan_py)
