"""``CrepeStream``: push audio as it arrives, get the offline ``CrepePitch`` answer.

The stream is the block engine with its state carried between calls: the class checks what
is pushed and wires its parts to the engine's steps (:mod:`._stream_engine`: the carried
state, the resampling and frame cursors, the network's blocks and the lagged decoding).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, cast

import torch

from .._checks import check_positive_int
from .._settings import Setting
from ..constants import SAMPLE_RATE
from ..exceptions import ParameterError
from ..functional import BlockResampler, Pitch
from ..functional._internal import DEFAULT_LAG, apply_voicing, check_lag, check_voicing_rule
from ..model import frame_threads
from ._engine import DEFAULT_BLOCK_FRAMES
from ._frames import CrepeFrames
from ._pitch import BLOCK_FRAMES, PitchComposite, check_block_frames
from ._stream_engine import (
    Audio,
    Buffer,
    StreamState,
    check_chunk,
    decode_frames,
    latency,
    network_frames,
    take_audio,
)
from ._stream_voicing import LOOKAHEAD, STREAM_VOICING, AutoState, advance, check_lookahead


def check_step_frames(value: object) -> int:
    return check_positive_int(
        value,
        "step_frames",
        " Frames a stream collects before it runs the network: 1 (each frame as soon as its "
        "window is complete) or more (e.g. 4: faster per frame, 3 hops later).",
    )


LAG = Setting(
    "lag",
    DEFAULT_LAG,
    "frames a streamed Viterbi waits before deciding a frame (latency: lag x hop)",
    parse=check_lag,
    metavar="FRAMES",
)

STEP_FRAMES = Setting(
    "step_frames",
    1,
    "frames a stream collects before it runs the network (throughput for latency: "
    "(N - 1) x hop later, far less compute per frame)",
    metavar="N",
)

__all__ = ["CrepeStream"]


def _check_streamable(frames: CrepeFrames) -> None:
    if frames.resample != "resampy" and frames.sample_rate != SAMPLE_RATE:
        raise ParameterError(
            f"CrepeStream carries resampy's filter state between pushes; "
            f"resample={frames.resample!r} cannot stream. Use resample='resampy' "
            f"(the default) or push {SAMPLE_RATE} Hz audio."
        )


class CrepeStream(PitchComposite):
    """Streaming :class:`CrepePitch`: :meth:`push` audio as it arrives, get the pitch of every
    frame whose 64 ms window became complete; :meth:`flush` at the end.

    Built like :class:`CrepePitch` from :class:`CrepeFrames`, :class:`CrepeActivation` and
    :class:`CrepeDecode` (options are routed to them; :meth:`from_parts` takes built parts).
    The frames, their times and their count equal the offline ``CrepePitch`` on the whole
    signal whatever the chunk sizes: resampling state is carried (resampy's ``kaiser_best``,
    the same numbers as offline), and ``flush`` pads the end as offline framing does. The
    network sees the same frames in other chunks, so activations agree to float rounding.

    Each row of a batch is an independent stream with its own state (no state is shared
    between rows); all rows advance together. The state is tensors on the module's device and
    moves with ``.to()``; it is not part of the ``state_dict``.

    Latency (:attr:`latency`): a frame centred at ``t`` is returned by the push that brings
    the input up to ``t + 32 ms`` (half a window) ``+`` the resampler's reach (rates other than
    16 kHz: about 4 ms at 44.1 kHz, 8 ms at 8 kHz) ``+ lag · hop`` with ``decoder="viterbi"``
    ``+ (step_frames − 1) · hop`` at most (the first frame of a step waits for the last).

    Args:
        sample_rate: rate of the pushed audio in Hz.
        capacity: CREPE model size (:class:`CrepeActivation`).
        voicing: ``None``, a periodicity threshold in ``[0, 1]`` below which f0 is ``NaN``,
            or ``"auto"``: the offline ``voicing="auto"`` decision, which needs
            ``lookahead`` frames past a frame before it returns it.
        lookahead: frames ``voicing="auto"`` holds each frame back (default 13, i.e.
            130 ms at the 10 ms hop: decisions equal the offline ones; fewer answer sooner,
            ``docs/voicing.md`` measures the agreement). Only with ``voicing="auto"``.
        lag: frames Viterbi waits before deciding a frame (other decoders answer at once).
        step_frames: frames the stream collects before it runs the network (default 1: every
            frame as soon as its window is complete). The network's cost per call is mostly
            fixed on a CPU (reading the weights), so ``step_frames=4`` runs ~3x more frames a
            second at ``3 · hop`` more latency; the frames and their values are the same.
        block_frames: frames computed per block of a long push (memory bound).
        **options: any option of :class:`CrepeFrames` (``hop_length``, ``normalization``;
            ``resample`` must be ``"resampy"``), :class:`CrepeActivation` or
            :class:`CrepeDecode`.

    Shape:
        - chunk: ``(..., n)`` audio at ``sample_rate``, any ``n`` (the same leading dims and
          dtype every push)
        - output: ``Pitch(f0, periodicity)``, each ``(..., new_frames)``, in the network's
          dtype (float32 unless moved) on the module's device

    Example:
        >>> from crepe_transforms import CrepePitch
        >>> stream = CrepeStream(16000, "tiny", decoder="weighted_argmax", pretrained=False)
        >>> audio = torch.randn(2, 4000)
        >>> parts = [stream.push(chunk) for chunk in audio.split(160, dim=-1)]
        >>> parts.append(stream.flush())
        >>> sum(p.f0.shape[-1] for p in parts), CrepePitch(16000, "tiny", pretrained=False)(
        ...     audio).f0.shape[-1]
        (26, 26)
        >>> stream.emitted, stream.received
        (26, 4000)
    """

    SETTINGS = (STREAM_VOICING, LAG, STEP_FRAMES, BLOCK_FRAMES, LOOKAHEAD)

    def __init__(
        self,
        sample_rate: int,
        capacity: str = "full",
        *,
        voicing: float | str | None = None,
        lag: int = DEFAULT_LAG,
        step_frames: int = 1,
        block_frames: int = DEFAULT_BLOCK_FRAMES,
        lookahead: int | None = None,
        **options: Any,
    ) -> None:
        super().__init__()
        self._configure(
            voicing=voicing,
            lag=lag,
            step_frames=step_frames,
            block_frames=block_frames,
            lookahead=lookahead,
        )
        options = {"sample_rate": sample_rate, "capacity": capacity, **options}
        self._build_parts(options, lambda parts: _check_streamable(parts["frames"]))
        self._start_over()

    def _ready(self) -> None:
        _check_streamable(self.frames)
        self._start_over()

    def _configure(
        self,
        *,
        voicing: object,
        lag: object,
        step_frames: object,
        block_frames: object,
        lookahead: object = None,
    ) -> None:
        self.voicing = check_voicing_rule(voicing)
        self._lookahead = check_lookahead(lookahead, self.voicing)
        # The option as given (None: the default), so that rebuilding settings round-trips.
        self.lookahead = None if lookahead is None else self._lookahead
        self.lag = check_lag(lag)
        self.step_frames = check_step_frames(step_frames)
        self.block_frames = check_block_frames(block_frames)

    def _start_over(self) -> None:
        """No state yet; the resampler of the input rate (none at 16 kHz)."""
        rate = self.frames.sample_rate
        self._resampler = None if rate == SAMPLE_RATE else BlockResampler(rate, None)
        self._state: StreamState | None = None

    # -- public state ------------------------------------------------------------------------

    @property
    def received(self) -> int:
        """Input samples pushed per row since the start (or the last :meth:`reset`)."""
        return 0 if self._state is None else self._state.received

    @property
    def emitted(self) -> int:
        """Frames returned so far: the next push's first frame is centred at
        ``emitted * hop_length / sample_rate`` seconds."""
        return 0 if self._state is None else self._state.emitted

    @property
    def latency(self) -> float:
        """Seconds from a frame's centre to the input sample whose push returns it (the
        algorithm's delay; add the chunk duration and compute time for a device)."""
        lag = self.lag if self.decode.decoder == "viterbi" else 0
        wait = lag + self.step_frames - 1 + (self._lookahead if self.voicing == "auto" else 0)
        return latency(self.frames.plan, self._resampler, wait)

    def _apply(self, fn: Any, recurse: bool = True) -> CrepeStream:
        super()._apply(fn, recurse)  # type: ignore[no-untyped-call]
        state = getattr(self, "_state", None)
        if state is not None:  # audio keeps its dtype; undecided activations follow the network
            self._state = state.to(self._device(), self.activation.dtype)
        return self

    def reset(self) -> None:
        """Forget every row's state: the next push starts a new stream (any shape and dtype)."""
        self._state = None

    # -- the door ----------------------------------------------------------------------------

    def _device(self) -> torch.device:
        return self.activation.network.classifier.weight.device

    def push(self, chunk: torch.Tensor) -> Pitch:
        """Take the next samples of every row; return the frames that became complete.

        Raises:
            ParameterError: a chunk with NaN or Inf, of another dtype or leading shape than
                the first push, or a push after :meth:`flush`; the state is unchanged.

        Shape:
            ``(..., n)`` → ``Pitch``, each ``(..., new_frames)``
        """
        chunk = check_chunk(self._state, chunk)
        state = StreamState.start(chunk, self._device()) if self._state is None else self._state
        with torch.no_grad():
            rows = math.prod(state.shape)
            work = chunk.detach().to(self._device(), state.inp.dtype).reshape(rows, -1)
            state, pitch = self._advance(state, work, final=False)
        self._state = state
        return pitch

    def flush(self) -> Pitch:
        """End every row's stream: the remaining frames, with the end padded as offline.

        Raises:
            ParameterError: nothing was pushed, or the stream was flushed already.

        Shape:
            ``Pitch``, each ``(..., remaining_frames)``
        """
        state = self._state
        if state is None or state.flushed:
            raise ParameterError(
                "flush() needs audio: push() at least one chunk first"
                + (" (this stream was flushed already; call reset())." if state else ".")
            )
        with torch.no_grad():
            empty = state.inp[:, :0]
            state, pitch = self._advance(state, empty, final=True)
        self._state = replace(state, flushed=True)
        return pitch

    forward = push

    # -- the inside --------------------------------------------------------------------------

    def _advance(
        self, state: StreamState, x: torch.Tensor, final: bool
    ) -> tuple[StreamState, Pitch]:
        """The state after ``x`` (``(rows, n)``, checked) and the frames it completes."""
        plan = self.frames.plan
        audio, signal = take_audio(state, x, self._resampler, plan, self.step_frames, final)
        frames = math.prod(state.shape) * (audio.computed - state.computed)
        network = self.activation.network
        with frame_threads(frames, self._device(), network.cpu_pool_frames()):
            return self._complete(state, audio, signal, final)

    def _complete(
        self, state: StreamState, audio: Audio, signal: Buffer, final: bool
    ) -> tuple[StreamState, Pitch]:
        """The rest of :meth:`_advance` once the audio is in: network, decoding, voicing."""
        auto = self.voicing == "auto"
        level_parts: list[torch.Tensor] = [] if state.levels is None else [state.levels]
        activation = self._activations(
            signal, state.computed, audio.computed, level_parts.append if auto else None
        )
        pitch, pending, viterbi = decode_frames(self.decode, self.lag, state, activation, final)
        f0, periodicity = pitch
        levels, auto_state = None, state.auto
        if auto:  # hold frames back until `lookahead` frames past them are in
            rows = f0.shape[0]
            queue = torch.cat(level_parts, dim=-1) if level_parts else f0.new_zeros((rows, 0))
            count = f0.shape[-1]
            start = AutoState.empty(f0) if auto_state is None else auto_state
            auto_state, f0, periodicity = advance(
                start, f0, periodicity, queue[:, :count], self._lookahead, final
            )
            levels = queue[:, count:]
        new = replace(
            state,
            **audio._asdict(),
            emitted=state.emitted + f0.shape[-1],
            pending=pending,
            viterbi=viterbi,
            levels=levels,
            auto=auto_state,
        )
        if isinstance(self.voicing, float):  # "auto" was decided by `advance` above
            voiced = apply_voicing(self.voicing, periodicity, None)
            f0 = f0.masked_fill(~cast(torch.Tensor, voiced), math.nan)
        count = f0.shape[-1]
        return new, Pitch(f0.reshape(*state.shape, count), periodicity.reshape(*state.shape, count))

    def _activations(self, signal: Buffer, start: int, stop: int, on_levels: Any) -> torch.Tensor:
        """Network activations of frames ``[start, stop)`` of every row (``(rows, n, 360)``)."""
        plan, activation = self.frames.plan, self.activation
        return network_frames(signal, plan, start, stop, activation, self.block_frames, on_levels)
