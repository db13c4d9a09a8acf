"""Fixed-lag Viterbi: the offline decoder's recursion, fed frames as they arrive.

Frame ``t`` is decided once frame ``t + lag`` has arrived: the best state of frame
``t + lag`` is traced back ``lag`` frames. The forward recursion is
:func:`~crepe_transforms.functional.viterbi_path`'s, addition for addition and with the same
tie-breaking (towards the lowest state), so deciding nothing early and tracing back from the
last frame (:meth:`FixedLagViterbi.finish`) gives the offline path exactly. How often an early
decision agrees with the offline one, by ``lag``, is measured in ``docs/streaming.md``.

Two kernels compute the same numbers: a numba kernel for CPU tensors (a stream's step is a
few frames, where torch's per-operator cost would dominate) and torch operators for other
devices.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import check_choice
from ..exceptions import ParameterError
from ..functional._viterbi import BACKENDS, HMM, log_emission, log_jump

__all__ = ["DEFAULT_LAG", "FixedLagViterbi", "check_lag"]

#: Frames a streamed Viterbi waits before deciding a frame (0.16 s at a 10 ms hop): from 16
#: on, every decided f0 was within 50 cents of the offline Viterbi's on the accuracy corpus,
#: tiny and full, default HMM (docs/streaming.md).
DEFAULT_LAG = 16


def check_lag(value: object) -> int:
    """A Viterbi lag: a non-negative whole number of frames (text from the command line too).

    Example:
        >>> check_lag("8"), check_lag(0)
        (8, 0)
    """
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParameterError(
            f"lag must be a non-negative integer number of frames, got {value!r}: frame t is "
            f"decided once frame t + lag has arrived, e.g. lag={DEFAULT_LAG} (0 decides at once)."
        )
    return value


class FixedLagViterbi:
    """Viterbi over frames that arrive in pieces; frame ``t`` is decided at frame ``t + lag``.

    The state (the scores after the last frame and the back-pointers of undecided frames) is
    tensors on the emissions' device. :meth:`step` and :meth:`finish` rebind them and never
    modify them in place, so a ``copy.copy`` of the object is a snapshot. Nothing here checks
    its input (the stream does).

    Args:
        n_states: decoded states (the admitted bins).
        hmm: the configuration.
        transition: :func:`~crepe_transforms.functional.log_transition`'s table.
        lag: frames to wait before deciding a frame.
        backend: ``"auto"`` (numba for CPU tensors when installed), ``"numba"`` or ``"torch"``;
            the same path.

    Example:
        >>> from crepe_transforms.functional import log_emission, log_transition, viterbi_path
        >>> hmm, act = HMM(), torch.rand(1, 50, 360, generator=torch.Generator().manual_seed(0))
        >>> table = log_transition(360, hmm)
        >>> lagged = FixedLagViterbi(360, hmm, table, lag=100)
        >>> early = [lagged.step(part) for part in act.split([7, 30, 13], dim=1)]
        >>> path = torch.cat([*early, lagged.finish()], dim=1)
        >>> offline = viterbi_path(log_emission(act, hmm), table, log_jump(360, hmm))
        >>> bool(torch.equal(path, offline)), [e.shape[1] for e in early]
        (True, [0, 0, 0])
    """

    def __init__(
        self,
        n_states: int,
        hmm: HMM,
        transition: torch.Tensor,
        lag: int,
        backend: str = "auto",
    ) -> None:
        self.n_states = n_states
        self.hmm = hmm
        self.lag = check_lag(lag)
        self.backend = check_choice(backend, "backend", BACKENDS)
        self.transition = transition.to(torch.float64)  # (width, states)
        self.jump = log_jump(n_states, hmm)
        self.score: torch.Tensor | None = None  # (rows, states) float64, after the last frame
        self.pointers: torch.Tensor | None = None  # (rows, seen − decided, states) int16
        self.decided = 0  # frames decided so far
        self.seen = 0  # frames received so far

    def to(self, device: torch.device) -> None:
        """Move the state to ``device``."""
        self.transition = self.transition.to(device)
        if self.score is not None and self.pointers is not None:
            self.score, self.pointers = self.score.to(device), self.pointers.to(device)

    def _kernels(self, device: torch.device) -> _Kernels | None:
        if self.backend == "torch" or (self.backend == "auto" and device.type != "cpu"):
            return None
        kernels = _compiled()
        if self.backend == "numba" and (kernels is None or device.type != "cpu"):
            raise ParameterError(
                f"backend='numba' needs numba and CPU tensors (got {device}); use "
                f"backend='torch' or 'auto' (the same path)."
            )
        return kernels

    def step(self, activation: torch.Tensor) -> torch.Tensor:
        """Take the next frames' activations over the states; return the newly decided states.

        Shape:
            ``(rows, frames, states)`` → ``(rows, decided)`` int64
        """
        emission = log_emission(activation, self.hmm)
        rows, count, n_states = emission.shape
        if count == 0:
            return torch.zeros((rows, 0), dtype=torch.int64, device=emission.device)
        kernels = self._kernels(emission.device)
        if kernels is None:
            score, pointers, ends = self._forward_torch(emission)
        else:
            score = torch.zeros((rows, n_states), dtype=torch.float64)
            if self.score is not None:
                score.copy_(self.score)
            pointers = torch.zeros((rows, count, n_states), dtype=torch.int16)
            ends = torch.empty((rows, count), dtype=torch.int64)
            kernels[0](
                emission.contiguous().numpy(),
                self.transition.contiguous().numpy(),
                self.jump,
                math.log(1.0 / n_states),
                score.numpy(),
                self.score is not None,
                pointers.numpy(),
                ends.numpy(),
            )
        seen_before = self.seen
        self.score = score
        self.pointers = (
            pointers if self.pointers is None else torch.cat([self.pointers, pointers], 1)
        )
        self.seen += count
        # frames whose end frame (t + lag) arrived in this call
        first, stop = self.decided, max(self.decided, self.seen - self.lag)
        ends = ends[:, first + self.lag - seen_before : stop + self.lag - seen_before]
        states = self._back(ends, first + self.lag, self.lag, kernels)
        self._drop(stop)
        return states

    def finish(self) -> torch.Tensor:
        """Decide every remaining frame from the best final state (the offline decision).

        Shape:
            ``(rows, remaining)`` int64
        """
        score, pointers = self.score, self.pointers
        if score is None or pointers is None or self.seen == self.decided:
            rows = 0 if score is None else score.shape[0]
            return torch.zeros((rows, 0), dtype=torch.int64, device=self.transition.device)
        base = self.seen - pointers.shape[1]
        kernels = self._kernels(score.device)
        if kernels is not None:
            path = torch.empty((score.shape[0], self.seen - self.decided), dtype=torch.int64)
            kernels[2](pointers.numpy(), base, score.numpy(), self.decided, self.seen, path.numpy())
        else:
            state = score.argmax(dim=-1)
            states = [state]
            for t in range(self.seen - 1, self.decided, -1):
                state = pointers[:, t - base].gather(1, state[:, None]).squeeze(1).long()
                states.append(state)
            path = torch.stack(states[::-1], dim=1)
        self._drop(self.seen)
        return path

    def _forward_torch(
        self, emission: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # as functional._viterbi._scan_torch: the same sums in the same order, same ties
        rows, count, n_states = emission.shape
        device = emission.device
        table = self.transition.T.contiguous()  # (states, width)
        band = table.shape[1] // 2
        width = 2 * band + 1
        offset = torch.arange(n_states, device=device) - band
        pointers = torch.zeros((rows, count, n_states), dtype=torch.int16, device=device)
        ends = torch.empty((rows, count), dtype=torch.int64, device=device)
        score = self.score
        for t in range(count):
            frame = emission[:, t].to(torch.float64)
            if score is None:
                score = frame + math.log(1.0 / n_states)
            else:
                window = F.pad(score, (band, band), value=-math.inf).unfold(1, width, 1)
                best, arg = (window + table).max(dim=-1)
                arg = arg + offset
                if self.jump > -math.inf:
                    top, top_arg = score.max(dim=-1, keepdim=True)
                    leap = top + self.jump
                    take = (leap > best) | ((leap == best) & (top_arg < arg))
                    best = torch.where(take, leap, best)
                    arg = torch.where(take, top_arg, arg)
                score = best + frame
                pointers[:, t] = arg.to(torch.int16)
            ends[:, t] = score.argmax(dim=-1)
        return cast(torch.Tensor, score), pointers, ends

    def _back(
        self, states: torch.Tensor, first_end: int, steps: int, kernels: _Kernels | None
    ) -> torch.Tensor:
        """Trace ``steps`` frames back from ``states`` of frames ``first_end …`` at once."""
        if states.shape[1] == 0 or steps == 0 or self.pointers is None:
            return states
        base = self.seen - self.pointers.shape[1]
        if kernels is not None:
            out = torch.empty_like(states)
            kernels[1](self.pointers.numpy(), base, states.numpy(), first_end, steps, out.numpy())
            return out
        rows, n_states = states.shape[0], self.n_states
        flat = self.pointers.reshape(rows, -1)
        frames = torch.arange(states.shape[1], device=states.device) + (first_end - base)
        for _ in range(steps):
            states = flat.gather(1, frames * n_states + states).long()
            frames = frames - 1
        return states

    def _drop(self, decided: int) -> None:
        """Forget the pointers of decided frames (frame ``decided``'s is never read)."""
        if self.pointers is not None:
            base = self.seen - self.pointers.shape[1]
            self.pointers = self.pointers[:, decided - base :]
        self.decided = decided


# -- numba kernels: plain Python compiled on first use ---------------------------------------


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
    # Mirrors functional._viterbi._scan_numba_py operation for operation, from a carried score.
    rows, count, n_states = emission.shape
    width = transition.shape[0]
    band = width // 2
    use_jump = jump > -np.inf
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
                    top_arg = 0
                    top = padded[band]
                    for i in range(1, n_states):
                        if padded[band + i] > top:
                            top = padded[band + i]
                            top_arg = i
                    leap = top + jump
                    for j in range(n_states):
                        if leap > best[j] or (leap == best[j] and top_arg < arg[j]):
                            best[j] = leap
                            arg[j] = top_arg
                for j in range(n_states):
                    padded[band + j] = best[j] + emission[b, t, j]
                    pointers[b, t, j] = arg[j]
            state = 0  # the first maximum, as torch's argmax
            for i in range(1, n_states):
                if padded[band + i] > padded[band + state]:
                    state = i
            ends[b, t] = state
        for j in range(n_states):
            score[b, j] = padded[band + j]


def _back_py(pointers: Any, base: int, ends: Any, first_end: int, steps: int, out: Any) -> None:
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
    rows, n_states = score.shape
    for b in range(rows):
        state = 0
        for i in range(1, n_states):
            if score[b, i] > score[b, state]:
                state = i
        out[b, seen - 1 - decided] = state
        for t in range(seen - 1, decided, -1):
            state = pointers[b, t - base, state]
            out[b, t - 1 - decided] = state


_Kernels = tuple[Callable[..., None], Callable[..., None], Callable[..., None]]


@functools.cache
def _compiled() -> _Kernels | None:
    try:
        import numba
    except ImportError:
        return None
    jit = numba.njit(cache=True, nogil=True)
    return jit(_forward_py), jit(_back_py), jit(_finish_py)
