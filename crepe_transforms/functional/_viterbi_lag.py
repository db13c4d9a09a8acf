"""Viterbi over frames that arrive in pieces: the carried forward recursion and fixed lag.

:class:`ViterbiForward` is the one carried-state forward recursion: the scores after the last
frame and the back-pointers of the frames not yet decided, kept in a buffer that grows
amortised (never concatenated per step). The file block decoder (``io``) feeds it every frame
and traces the path back once at the end; :class:`FixedLagViterbi` (the stream's) decides
frame ``t`` once frame ``t + lag`` has arrived by tracing the best state of frame ``t + lag``
back ``lag`` frames. The recursion is :func:`~crepe_transforms.functional.viterbi_path`'s,
addition for addition and with the same tie-breaking (towards the lowest state), so deciding
nothing early and tracing back from the last frame gives the offline path exactly. How often
an early decision agrees with the offline one, by ``lag``, is measured in
``docs/streaming.md``.

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

__all__ = ["DEFAULT_LAG", "FixedLagViterbi", "ViterbiForward", "check_lag"]

#: Frames a streamed Viterbi waits before deciding a frame (0.16 s at a 10 ms hop), chosen by
#: how often lagged decisions agree with the offline Viterbi: the agreement by lag is measured
#: by ``benchmarks/stream_speed.py --part agreement`` and shown in ``docs/streaming.md``.
DEFAULT_LAG = 16

#: Frames of back-pointers a growing buffer starts with.
_MIN_CAPACITY = 64


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


class ViterbiForward:
    """The forward recursion of :func:`viterbi_path` carried across pieces of frames.

    Keeps the scores after the last frame and the int16 back-pointers of the frames still
    needed (from :meth:`forget`'s frame on) in a buffer that grows amortised: when a step runs
    out of room, the needed columns move to a new buffer twice their size. A step writes only
    columns past every earlier step's and binds a new score tensor, so a ``copy.copy`` of the
    object is a snapshot. Nothing here checks its input.

    Args:
        n_states: decoded states.
        hmm: the configuration.
        transition: :func:`~crepe_transforms.functional.log_transition`'s table.
        backend: ``"auto"`` (numba for CPU tensors when installed), ``"numba"`` or ``"torch"``;
            the same path.
        capacity: frames of back-pointers to allocate at once (e.g. all the frames of a file,
            then the buffer never grows).

    Example:
        >>> from crepe_transforms.functional import viterbi_path
        >>> from crepe_transforms.functional._internal import log_transition
        >>> hmm = HMM()
        >>> emission = torch.rand(2, 30, 360, generator=torch.Generator().manual_seed(0)).log()
        >>> table = log_transition(360, hmm)
        >>> forward = ViterbiForward(360, hmm, table)
        >>> for part in emission.split([7, 20, 3], dim=1):
        ...     forward.advance(part)
        >>> bool(torch.equal(forward.path(0), viterbi_path(emission, table, log_jump(360, hmm))))
        True
    """

    def __init__(
        self,
        n_states: int,
        hmm: HMM,
        transition: torch.Tensor,
        backend: str = "auto",
        capacity: int = 0,
    ) -> None:
        self.n_states = n_states
        self.hmm = hmm
        self.backend = check_choice(backend, "backend", BACKENDS)
        self.transition = transition.to(torch.float64).contiguous()  # (width, states)
        self.jump = log_jump(n_states, hmm)
        self.capacity = capacity
        self.score: torch.Tensor | None = None  # (rows, states) float64, after the last frame
        self.buffer: torch.Tensor | None = None  # (rows, size, states) int16 back-pointers
        self.base = 0  # the frame of the buffer's column 0
        self.kept = 0  # the first frame whose back-pointers are still needed
        self.seen = 0  # frames received so far

    def to(self, device: torch.device) -> None:
        """Move the state to ``device``."""
        self.transition = self.transition.to(device)
        if self.score is not None and self.buffer is not None:
            self.score, self.buffer = self.score.to(device), self.buffer.to(device)

    def kernels(self, device: torch.device) -> ModuleType | None:
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

    def _room(self, rows: int, count: int, device: torch.device) -> torch.Tensor:
        """Buffer columns for ``count`` new frames."""
        buffer, used = self.buffer, self.seen - self.base
        if buffer is not None and used + count <= buffer.shape[1]:
            return buffer[:, used : used + count]
        need = self.seen - self.kept + count
        size = self.capacity if self.capacity >= need else max(_MIN_CAPACITY, 2 * need)
        grown = torch.empty((rows, size, self.n_states), dtype=torch.int16, device=device)
        live = self.seen - self.kept
        if buffer is not None and live:
            grown[:, :live] = buffer[:, self.kept - self.base : used]
        self.buffer, self.base = grown, self.kept
        return grown[:, live : live + count]

    def advance(self, emission: torch.Tensor, ends: torch.Tensor | None = None) -> None:
        """Run the recursion over the next frames' log-emissions ``(rows, count, states)``;
        ``ends`` (``(rows, count)`` int64), when given, receives each frame's best state."""
        rows, count, n_states = emission.shape
        if count == 0:
            return
        kernels = self.kernels(emission.device)
        pointers = self._room(rows, count, emission.device)
        if kernels is None:
            score = self._forward_torch(emission, pointers, ends)
        else:
            # a new tensor: the kernel writes the scores in place, a snapshot keeps the old
            score = (
                torch.empty((rows, n_states), dtype=torch.float64)
                if self.score is None
                else self.score.clone()
            )
            kernels.forward(
                emission.contiguous().numpy(),
                self.transition.numpy(),
                self.jump,
                math.log(1.0 / n_states),  # the uniform start of viterbi_path
                score.numpy(),
                self.score is not None,
                pointers.numpy(),
                (_NO_ENDS if ends is None else ends).numpy(),
            )
        self.score = score
        self.seen += count

    def _forward_torch(
        self, emission: torch.Tensor, pointers: torch.Tensor, ends: torch.Tensor | None
    ) -> torch.Tensor:
        # the offline torch scan's step (functional._viterbi), from the carried score
        n_states = emission.shape[2]
        table = self.transition.T.contiguous()  # (states, width)
        offset = torch.arange(n_states, device=emission.device) - table.shape[1] // 2
        score = self.score
        for t in range(emission.shape[1]):
            frame = emission[:, t].to(torch.float64)
            if score is None:
                score = frame + math.log(1.0 / n_states)
            else:
                best, arg = _max_plus_step(score, table, offset, self.jump)
                score = best + frame
                pointers[:, t] = arg.to(torch.int16)
            if ends is not None:
                ends[:, t] = score.argmax(dim=-1)
        return cast(torch.Tensor, score)  # at least one frame

    def back(self, states: torch.Tensor, first_end: int, steps: int) -> torch.Tensor:
        """Trace the states of frames ``first_end …`` (``(rows, n)`` int64) ``steps`` frames
        back (the back-pointers of frames ``first_end − steps + 1`` on must be kept)."""
        buffer = self.buffer
        if states.shape[1] == 0 or steps == 0 or buffer is None:
            return states
        pointers = buffer[:, : self.seen - self.base]
        kernels = self.kernels(states.device)
        if kernels is not None:
            out = torch.empty_like(states)
            kernels.back(pointers.numpy(), self.base, states.numpy(), first_end, steps, out.numpy())
            return out
        rows, n_states = states.shape[0], self.n_states
        flat = pointers.reshape(rows, -1)
        frames = torch.arange(states.shape[1], device=states.device) + (first_end - self.base)
        for _ in range(steps):
            states = flat.gather(1, frames * n_states + states).long()
            frames = frames - 1
        return states

    def path(self, first: int) -> torch.Tensor:
        """The path of frames ``first … seen − 1`` traced back from the best final score (the
        offline decision): ``(rows, seen − first)`` int64."""
        score, buffer = self.score, self.buffer
        if score is None or buffer is None or first >= self.seen:
            rows = 0 if score is None else score.shape[0]
            return torch.zeros((rows, 0), dtype=torch.int64, device=self.transition.device)
        pointers = buffer[:, : self.seen - self.base]
        kernels = self.kernels(score.device)
        if kernels is not None:
            path = torch.empty((score.shape[0], self.seen - first), dtype=torch.int64)
            out = path.numpy()
            kernels.finish(pointers.numpy(), self.base, score.numpy(), first, self.seen, out)
            return path
        state = score.argmax(dim=-1)
        states = [state]
        for t in range(self.seen - 1, first, -1):
            state = pointers[:, t - self.base].gather(1, state[:, None]).squeeze(1).long()
            states.append(state)
        return torch.stack(states[::-1], dim=1)

    def forget(self, frame: int) -> None:
        """Forget the back-pointers of frames before ``frame`` (their columns are reused when
        the buffer next runs out of room)."""
        self.kept = max(self.kept, frame)


_NO_ENDS = torch.empty((1, 0), dtype=torch.int64)


class FixedLagViterbi(ViterbiForward):
    """Viterbi over frames that arrive in pieces; frame ``t`` is decided at frame ``t + lag``.

    The carried recursion (:class:`ViterbiForward`) plus the lagged decision: a ``copy.copy``
    is a snapshot. Nothing here checks its input (the stream does).

    Args:
        n_states: decoded states (the admitted bins).
        hmm: the configuration.
        transition: :func:`~crepe_transforms.functional.log_transition`'s table.
        lag: frames to wait before deciding a frame.
        backend: ``"auto"`` (numba for CPU tensors when installed), ``"numba"`` or ``"torch"``;
            the same path.

    Example:
        >>> from crepe_transforms.functional import viterbi_path
        >>> from crepe_transforms.functional._internal import log_emission, log_transition
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
        super().__init__(n_states, hmm, transition, backend)
        self.lag = check_lag(lag)
        self.decided = 0  # frames decided so far

    def step(self, activation: torch.Tensor) -> torch.Tensor:
        """Take the next frames' activations over the states; return the newly decided states.

        Shape:
            ``(rows, frames, states)`` → ``(rows, decided)`` int64
        """
        emission = log_emission(activation, self.hmm)
        rows, count, _ = emission.shape
        seen_before = self.seen
        # frames whose end frame (t + lag) arrives in this call
        first, stop = self.decided, max(self.decided, seen_before + count - self.lag)
        if stop == first:  # none: no frame's best state is needed
            self.advance(emission)
            return torch.zeros((rows, 0), dtype=torch.int64, device=emission.device)
        ends = torch.empty((rows, count), dtype=torch.int64, device=emission.device)
        self.advance(emission, ends)
        ends = ends[:, first + self.lag - seen_before : stop + self.lag - seen_before]
        states = self.back(ends, first + self.lag, self.lag)
        self.decided = stop
        self.forget(stop)
        return states

    def finish(self) -> torch.Tensor:
        """Decide every remaining frame from the best final state (the offline decision).

        Shape:
            ``(rows, remaining)`` int64
        """
        path = self.path(self.decided)
        self.decided = self.seen
        self.forget(self.seen)
        return path
