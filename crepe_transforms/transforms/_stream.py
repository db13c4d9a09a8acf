"""``CrepeStream``: push audio as it arrives, get the offline ``CrepePitch`` answer.

The stream is the block engine with its state carried between calls. Three cursors advance
over every row at once:

- *received* input samples, kept from the first one the resampler still needs;
- *produced* 16 kHz samples: resampy's ``kaiser_best`` output sample ``j`` depends on a fixed
  range of input samples (:class:`~crepe_transforms.functional.BlockResampler`), so it is
  computed once that range has arrived, with the very numbers of the offline resampling;
- *computed* frames: frame ``i`` (centred on 16 kHz sample ``c_i``) goes through the network
  once samples up to ``c_i + 511`` exist; its window is cut by the engine's ``cut_frames``.

``flush`` then does what the end of an offline signal does: the resampler's output stops at
``int(time * 16000 / sample_rate)``, frames run to ``1 + time // hop_length`` and windows past
the end read zeros. Decoders that look at one frame answer at once; Viterbi answers a frame
``lag`` frames later (:class:`FixedLagViterbi`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, cast

import torch
import torch.nn.functional as F

from .._checks import check_audio, check_positive_int
from .._settings import Setting
from ..constants import SAMPLE_RATE, WINDOW_SIZE
from ..exceptions import ParameterError
from ..functional import BlockResampler, FixedLagViterbi, Pitch
from ..functional._internal import (
    DEFAULT_LAG,
    DecoderInput,
    apply_voicing,
    center_sample,
    check_lag,
    check_voicing_rule,
    compute_dtype,
    finish_path,
    pack,
    run_decoder,
)
from ..functional._internal import levels_unchecked as frame_levels
from ..model import share_frames
from ._engine import DEFAULT_BLOCK_FRAMES, FramePlan, block_rows, cut_frames
from ._frames import CrepeFrames
from ._pitch import BLOCK_FRAMES, PitchComposite, check_block_frames
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

_HALF = WINDOW_SIZE // 2


@dataclass(frozen=True)
class _State:
    """Everything a stream carries between pushes. Tensors are replaced, never modified, so
    a failed push leaves the previous state whole."""

    shape: tuple[int, ...]  # leading dims of the chunks
    dtype: torch.dtype  # dtype of the first chunk
    received: int  # input samples so far
    inp: torch.Tensor  # (rows, ·) input samples [inp_start, received) (resampled rates only)
    inp_start: int
    produced: int  # 16 kHz samples so far
    a16: torch.Tensor  # (rows, ·) 16 kHz samples [a16_start, produced)
    a16_start: int
    computed: int  # frames through the network
    emitted: int  # frames returned
    pending: torch.Tensor | None  # (rows, computed − emitted, states): Viterbi's undecided frames
    viterbi: FixedLagViterbi | None
    flushed: bool = False
    levels: torch.Tensor | None = None  # (rows, computed − decoded): levels (voicing="auto")
    auto: AutoState | None = None  # voicing="auto": history and frames held back


class _Buffer:
    """The 16 kHz samples held by a stream as an engine ``Signal`` (zeros outside them)."""

    def __init__(self, audio: torch.Tensor, start: int, end: int) -> None:
        self.audio, self.start, self.end = audio, start, end
        self.rows = audio.shape[0]

    def segment(self, start: int, stop: int) -> torch.Tensor:
        lo, hi = max(start, 0), min(stop, self.end)
        if lo >= hi:
            return self.audio.new_zeros((self.rows, stop - start))
        part = self.audio[:, lo - self.start : hi - self.start]
        return F.pad(part, (lo - start, stop - hi)) if lo > start or hi < stop else part


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
        if lookahead is not None and self.voicing != "auto":
            raise ParameterError(
                f'lookahead={lookahead!r} is for voicing="auto" only (frames a frame is held '
                f"back before it is decided); this stream has voicing={self.voicing!r}. Pass "
                f'voicing="auto", or leave lookahead out.'
            )
        self._lookahead = check_lookahead(lookahead)
        # The option as given (None: the default), so that rebuilding settings round-trips.
        self.lookahead = None if lookahead is None else self._lookahead
        self.lag = check_lag(lag)
        self.step_frames = check_step_frames(step_frames)
        self.block_frames = check_block_frames(block_frames)

    def _start_over(self) -> None:
        """No state yet; the resampler of the input rate (none at 16 kHz)."""
        rate = self.frames.sample_rate
        self._resampler = None if rate == SAMPLE_RATE else BlockResampler(rate, None)
        self._state: _State | None = None

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
        rate = self.frames.sample_rate
        reach = 0 if self._resampler is None else self._resampler.context + 2
        lag = self.lag if self.decode.decoder == "viterbi" else 0
        wait = lag + self.step_frames - 1 + (self._lookahead if self.voicing == "auto" else 0)
        return _HALF / SAMPLE_RATE + reach / rate + wait * self.frames.hop_length / rate

    def _apply(self, fn: Any, recurse: bool = True) -> CrepeStream:
        super()._apply(fn, recurse)  # type: ignore[no-untyped-call]
        state = getattr(self, "_state", None)
        if state is not None:  # audio keeps its dtype; undecided activations follow the network
            device, dtype = self._device(), self.activation.dtype
            viterbi = copy.copy(state.viterbi)
            if viterbi is not None:
                viterbi.to(device)
            pending = None if state.pending is None else state.pending.to(device, dtype)
            auto = state.auto
            if auto is not None:
                auto = AutoState(
                    auto.periodicity.to(device),
                    auto.level.to(device),
                    auto.f0.to(device),
                    auto.history,
                )
            self._state = replace(
                state,
                inp=state.inp.to(device),
                a16=state.a16.to(device),
                pending=pending,
                viterbi=viterbi,
                levels=None if state.levels is None else state.levels.to(device),
                auto=auto,
            )
        return self

    def reset(self) -> None:
        """Forget every row's state: the next push starts a new stream (any shape and dtype)."""
        self._state = None

    # -- the door ----------------------------------------------------------------------------

    def _check(self, chunk: object) -> torch.Tensor:
        state = self._state
        if state is not None and state.flushed:
            raise ParameterError(
                "push() after flush(): this stream has ended. Call reset() to start a new one."
            )
        if not isinstance(chunk, torch.Tensor) or chunk.dim() == 0:
            check_audio(chunk, "chunk")  # raises with the right message
            raise ParameterError("chunk must have shape (..., samples).")
        if chunk.shape[-1]:  # one row view keeps check_audio's (time, channels) guess quiet
            check_audio(chunk.reshape(1, -1), "chunk")
        elif not chunk.is_floating_point():
            check_audio(chunk, "chunk")
        if state is None:
            return chunk
        if chunk.dtype != state.dtype:
            raise ParameterError(
                f"chunk has dtype {chunk.dtype} but this stream started with {state.dtype}. "
                f"Push chunk.to({state.dtype}), or call reset() to start a new stream."
            )
        if tuple(chunk.shape[:-1]) != state.shape:
            raise ParameterError(
                f"chunk has leading shape {tuple(chunk.shape[:-1])} but this stream has "
                f"{state.shape} (one stream per row). Push the same batch shape every time, "
                f"or call reset() to start a new stream."
            )
        return chunk

    def _device(self) -> torch.device:
        return self.activation.network.classifier.weight.device

    def _start(self, chunk: torch.Tensor) -> _State:
        shape = tuple(chunk.shape[:-1])
        rows = math.prod(shape)
        empty = torch.zeros((rows, 0), dtype=compute_dtype(chunk.dtype), device=self._device())
        return _State(
            shape=shape,
            dtype=chunk.dtype,
            received=0,
            inp=empty,
            inp_start=0,
            produced=0,
            a16=empty,
            a16_start=0,
            computed=0,
            emitted=0,
            pending=None,
            viterbi=None,
        )

    def push(self, chunk: torch.Tensor) -> Pitch:
        """Take the next samples of every row; return the frames that became complete.

        Raises:
            ParameterError: a chunk with NaN or Inf, of another dtype or leading shape than
                the first push, or a push after :meth:`flush`; the state is unchanged.

        Shape:
            ``(..., n)`` → ``Pitch``, each ``(..., new_frames)``
        """
        chunk = self._check(chunk)
        state = self._start(chunk) if self._state is None else self._state
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

    def _advance(self, state: _State, x: torch.Tensor, final: bool) -> tuple[_State, Pitch]:
        """The state after ``x`` (``(rows, n)``, checked) and the frames it completes."""
        received = state.received + x.shape[-1]
        inp, inp_start = state.inp, state.inp_start
        if self._resampler is None:
            new16 = x
            produced = received
        else:
            inp = torch.cat([inp, x], dim=-1) if x.shape[-1] else inp
            produced, new16 = self._resample(inp, inp_start, state.produced, received, final)
            keep = self._resampler.input_range(produced, produced + 1)[0]
            inp, inp_start = inp[:, keep - inp_start :], keep
        a16 = torch.cat([state.a16, new16], dim=-1) if new16.shape[-1] else state.a16
        hop = self.frames.hop_length
        if final:
            ready = 1 + received // hop
        else:
            ready = self._complete(produced, state.computed)
            if ready - state.computed < self.step_frames:
                ready = state.computed  # wait for a full step
        signal = _Buffer(a16, state.a16_start, produced)
        auto = self.voicing == "auto"
        level_parts: list[torch.Tensor] = [] if state.levels is None else [state.levels]
        activation = self._activations(
            signal, state.computed, ready, level_parts.append if auto else None
        )
        pitch, pending, viterbi = self._decode(state, activation, final)
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
        keep16 = min(produced, max(state.a16_start, self._center(ready) - _HALF))
        a16 = a16[:, keep16 - state.a16_start :]
        new = replace(
            state,
            received=received,
            inp=inp,
            inp_start=inp_start,
            produced=produced,
            a16=a16,
            a16_start=keep16,
            computed=ready,
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

    def _resample(
        self, inp: torch.Tensor, inp_start: int, produced: int, received: int, final: bool
    ) -> tuple[int, torch.Tensor]:
        """16 kHz samples ``[produced, stop)`` that the input so far fixes, and ``stop``."""
        resampler = cast(BlockResampler, self._resampler)
        if final:  # the end is known: resampy's output length, input past it is absent
            stop = max(produced, int(received * float(SAMPLE_RATE) / float(resampler.sample_rate)))
        else:
            stop = max(
                produced, int((received - resampler.context) * SAMPLE_RATE // resampler.sample_rate)
            )
            while resampler.input_range(stop, stop + 1)[1] <= received:
                stop += 1
            while stop > produced and resampler.input_range(stop - 1, stop)[1] > received:
                stop -= 1
        if stop == produced:
            return produced, inp[:, :0]
        source = inp.detach().cpu().float().numpy()
        new = torch.from_numpy(resampler.rows(source, inp_start, produced, stop))
        return stop, new.to(inp.device, inp.dtype)

    def _center(self, frame: int) -> int:
        """16 kHz sample at the centre of ``frame``."""
        return center_sample(frame, self.frames.hop_length, self.frames.sample_rate)

    def _complete(self, produced: int, computed: int) -> int:
        """Frames whose window ``[c − 512, c + 512)`` lies in the first ``produced`` samples."""
        hop, rate = self.frames.hop_length, self.frames.sample_rate
        n = max(computed, (produced - _HALF) * rate // (hop * SAMPLE_RATE))
        while self._center(n) + _HALF <= produced:
            n += 1
        while n > computed and self._center(n - 1) + _HALF > produced:
            n -= 1
        return n

    def _activations(
        self,
        signal: _Buffer,
        start: int,
        stop: int,
        on_levels: Callable[[torch.Tensor], None] | None = None,
    ) -> torch.Tensor:
        """Network activations of frames ``[start, stop)`` of every row, block by block;
        ``on_levels`` gets their levels in dB (``(rows, count)``, in order).

        The rows' frames go through the network together (:func:`share_frames`): a batch of
        streams costs one call per push, not one per row, and threads share its frames.
        """
        on_raw = None if on_levels is None else (lambda raw: on_levels(frame_levels(raw)))
        activation = self.activation
        rows, dtype = signal.rows, activation.dtype
        plan: FramePlan = self.frames.plan
        if stop <= start:
            return signal.audio.new_zeros((rows, 0, 360), dtype=dtype)
        per_call = activation.frames_per_call()
        step = block_rows(rows, self.block_frames, per_call)
        out = []
        for first in range(start, stop, step):
            count = min(step, stop - first)
            frames = cut_frames(signal, plan, first, count, on_raw).to(dtype)
            flat = frames.reshape(rows * count, WINDOW_SIZE)
            results = share_frames(activation.network, flat, per_call)
            out.append(torch.cat(results).reshape(rows, count, -1))
        return out[0] if len(out) == 1 else torch.cat(out, dim=1)

    def _decode(
        self, state: _State, activation: torch.Tensor, final: bool
    ) -> tuple[Pitch, torch.Tensor | None, FixedLagViterbi | None]:
        """Pitch of the frames decided now, Viterbi's undecided frames and its new state."""
        decode = self.decode
        batch = pack(activation, decode.low, decode.high, None)
        if decode.decoder != "viterbi":
            pitch = run_decoder(decode.decoder, batch, decode.model, decode.backend)
            return pitch, None, None
        if state.viterbi is None:
            transition = cast(torch.Tensor, decode.transition)
            n_states = decode.high - decode.low + 1
            lagged = FixedLagViterbi(n_states, decode.model, transition, self.lag, decode.backend)
        else:  # a copy: the step rebinds its tensors, so the previous state stays whole
            lagged = copy.copy(state.viterbi)
        undecided = batch.activation
        if state.pending is not None:
            undecided = torch.cat([state.pending, undecided], dim=1)
        path = lagged.step(batch.activation)
        if final:
            path = torch.cat([path, lagged.finish()], dim=1)
        count = path.shape[1]
        decided = DecoderInput(undecided[:, :count], decode.low, batch.shape, None)
        return finish_path(decided, path), undecided[:, count:], lagged
