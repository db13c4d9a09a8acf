"""Fixed-lag Viterbi: the offline decoder's recursion, fed frames as they arrive.

Frame ``t`` is decided once frame ``t + lag`` has arrived: the best state of frame
``t + lag`` is traced back ``lag`` frames. The forward recursion is
:func:`~crepe_transforms.functional.viterbi_path`'s, addition for addition and with the same
tie-breaking (towards the lowest state), so deciding nothing early and tracing back from the
last frame (:meth:`FixedLagViterbi.finish`) gives the offline path exactly. How often an early
decision agrees with the offline one, by ``lag``, is measured in ``docs/streaming.md``.

The kernels are the offline decoder's: its numba forward recursion and traceback for CPU
tensors (``functional._viterbi_numba``; a stream's step is a few frames, where torch's
per-operator cost would dominate) and its torch step for other devices.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import cast

import torch

from .._checks import check_choice
from ..constants import BACKENDS
from ..exceptions import ParameterError
from ._viterbi import HMM, _compiled, _max_plus_step, log_emission, log_jump

__all__ = ["DEFAULT_LAG", "FixedLagViterbi", "check_lag"]

#: Frames a streamed Viterbi waits before deciding a frame (0.16 s at a 10 ms hop), chosen by
#: how often lagged decisions agree with the offline Viterbi: the agreement by lag is measured
#: by ``benchmarks/stream_speed.py --part agreement`` and shown in ``docs/streaming.md``.
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

    def _kernels(self, device: torch.device) -> ModuleType | None:
        """The numba kernels (``functional._viterbi_numba``) for ``device``, or None: torch."""
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
            kernels.forward(
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
            kernels.finish(
                pointers.numpy(), base, score.numpy(), self.decided, self.seen, path.numpy()
            )
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
        # the offline torch scan's step (functional._viterbi), from the carried score
        rows, count, n_states = emission.shape
        device = emission.device
        table = self.transition.T.contiguous()  # (states, width)
        offset = torch.arange(n_states, device=device) - table.shape[1] // 2
        pointers = torch.zeros((rows, count, n_states), dtype=torch.int16, device=device)
        ends = torch.empty((rows, count), dtype=torch.int64, device=device)
        score = self.score
        for t in range(count):
            frame = emission[:, t].to(torch.float64)
            if score is None:
                score = frame + math.log(1.0 / n_states)
            else:
                best, arg = _max_plus_step(score, table, offset, self.jump)
                score = best + frame
                pointers[:, t] = arg.to(torch.int16)
            ends[:, t] = score.argmax(dim=-1)
        return cast(torch.Tensor, score), pointers, ends

    def _back(
        self, states: torch.Tensor, first_end: int, steps: int, kernels: ModuleType | None
    ) -> torch.Tensor:
        """Trace ``steps`` frames back from ``states`` of frames ``first_end …`` at once."""
        if states.shape[1] == 0 or steps == 0 or self.pointers is None:
            return states
        base = self.seen - self.pointers.shape[1]
        if kernels is not None:
            out = torch.empty_like(states)
            kernels.back(self.pointers.numpy(), base, states.numpy(), first_end, steps, out.numpy())
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
