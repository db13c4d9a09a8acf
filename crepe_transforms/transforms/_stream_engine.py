"""The stream's engine: the state it carries between pushes and the steps that advance it.

Three cursors advance over every row at once:

- *received* input samples, kept from the first one the resampler still needs;
- *produced* 16 kHz samples: resampy's ``kaiser_best`` output sample ``j`` depends on a fixed
  range of input samples (:class:`~crepe_transforms.functional.BlockResampler`), so it is
  computed once that range has arrived, with the very numbers of the offline resampling
  (:func:`take_input`);
- *computed* frames: frame ``i`` (centred on 16 kHz sample ``c_i``) goes through the network
  once samples up to ``c_i + 511`` exist (:func:`frames_ready`); its window is cut by the
  block engine's ``cut_frames`` (:func:`network_frames`).

At the end (``final``) they do what the end of an offline signal does: the resampler's output
stops at ``int(time * 16000 / sample_rate)``, frames run to ``1 + time // hop_length`` and
windows past the end read zeros. Decoders that look at one frame answer at once; Viterbi
answers a frame ``lag`` frames later (:func:`decode_frames`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
import torch.nn.functional as F

from .._checks import check_audio
from ..constants import SAMPLE_RATE, WINDOW_SIZE
from ..exceptions import ParameterError
from ..functional import BlockResampler, FixedLagViterbi, Pitch
from ..functional._internal import (
    DecoderInput,
    center_sample,
    compute_dtype,
    finish_path,
    pack,
    run_decoder,
)
from ..functional._internal import levels_unchecked as frame_levels
from ..model import share_frames
from ._activation import CrepeActivation
from ._decode import CrepeDecode
from ._engine import FramePlan, block_rows, cut_frames
from ._stream_voicing import AutoState

HALF = WINDOW_SIZE // 2


@dataclass(frozen=True)
class StreamState:
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

    @staticmethod
    def start(chunk: torch.Tensor, device: torch.device) -> StreamState:
        """The state before the first chunk (its leading shape and dtype are the stream's)."""
        shape = tuple(chunk.shape[:-1])
        rows = math.prod(shape)
        empty = torch.zeros((rows, 0), dtype=compute_dtype(chunk.dtype), device=device)
        return StreamState(shape, chunk.dtype, 0, empty, 0, 0, empty, 0, 0, 0, None, None)

    def to(self, device: torch.device, dtype: torch.dtype) -> StreamState:
        """The state on ``device``, undecided activations in ``dtype`` (the network's)."""
        viterbi = copy.copy(self.viterbi)
        if viterbi is not None:
            viterbi.to(device)
        auto = self.auto
        if auto is not None:
            auto = AutoState(
                auto.periodicity.to(device), auto.level.to(device), auto.f0.to(device), auto.history
            )
        return replace(
            self,
            inp=self.inp.to(device),
            a16=self.a16.to(device),
            pending=None if self.pending is None else self.pending.to(device, dtype),
            viterbi=viterbi,
            levels=None if self.levels is None else self.levels.to(device),
            auto=auto,
        )


def check_chunk(state: StreamState | None, chunk: object) -> torch.Tensor:
    """A pushed chunk: finite real audio ``(..., n)`` of the stream's dtype and leading shape
    (any, before the first push)."""
    if (
        state is not None
        and not state.flushed
        and isinstance(chunk, torch.Tensor)
        and chunk.dtype == state.dtype  # floating point: the first chunk was checked
        and chunk.shape[:-1] == state.shape
        and chunk.dim() > 0
        and math.isfinite(chunk.sum().item())  # NaN and ±Inf make the sum NaN or ±Inf
    ):
        return chunk  # the usual push, with one reduction; the rest (or an overflow) below
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


class Buffer:
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


class Audio(NamedTuple):
    """The audio cursors after a chunk: the new values of :class:`StreamState`'s fields."""

    received: int
    inp: torch.Tensor
    inp_start: int
    produced: int
    a16: torch.Tensor
    a16_start: int
    computed: int  # the frames ready for the network: [state.computed, computed)


def take_audio(
    state: StreamState,
    x: torch.Tensor,
    resampler: BlockResampler | None,
    plan: FramePlan,
    step: int,
    final: bool,
) -> tuple[Audio, Buffer]:
    """Input ``x`` (``(rows, n)``) taken in: the cursors after it (the samples the next
    frames need kept) and the 16 kHz signal the frames ready now are cut from."""
    received = state.received + x.shape[-1]
    inp, inp_start, produced, new16 = state.inp, state.inp_start, received, x
    if resampler is not None:
        inp = torch.cat([inp, x], dim=-1) if x.shape[-1] else inp
        produced, new16 = resample(resampler, inp, inp_start, state.produced, received, final)
        keep = resampler.input_range(produced, produced + 1)[0]
        inp, inp_start = inp[:, keep - inp_start :], keep
    a16 = torch.cat([state.a16, new16], dim=-1) if new16.shape[-1] else state.a16
    ready = frames_ready(plan, produced, state.computed, received, step, final)
    center = center_sample(ready, plan.hop_length, plan.sample_rate)
    keep16 = min(produced, max(state.a16_start, center - HALF))
    kept = a16[:, keep16 - state.a16_start :]
    audio = Audio(received, inp, inp_start, produced, kept, keep16, ready)
    return audio, Buffer(a16, state.a16_start, produced)


def resample(
    resampler: BlockResampler,
    inp: torch.Tensor,
    inp_start: int,
    produced: int,
    received: int,
    final: bool,
) -> tuple[int, torch.Tensor]:
    """16 kHz samples ``[produced, stop)`` that the input so far fixes, and ``stop``."""
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


def frames_ready(
    plan: FramePlan, produced: int, computed: int, received: int, step: int, final: bool
) -> int:
    """Frames that can go through the network: those whose window ``[c − 512, c + 512)``
    lies in the first ``produced`` samples, in whole steps of ``step`` frames (at the end:
    every frame of the signal)."""
    hop, rate = plan.hop_length, plan.sample_rate
    if final:
        return 1 + received // hop
    n = max(computed, (produced - HALF) * rate // (hop * SAMPLE_RATE))
    while center_sample(n, hop, rate) + HALF <= produced:
        n += 1
    while n > computed and center_sample(n - 1, hop, rate) + HALF > produced:
        n -= 1
    return n if n - computed >= step else computed  # wait for a full step


def latency(plan: FramePlan, resampler: BlockResampler | None, wait: int) -> float:
    """Seconds from a frame's centre to the input sample whose push returns it, for a stream
    that holds frames back ``wait`` frames: half a window, the resampler's reach, the wait."""
    reach = 0 if resampler is None else resampler.context + 2
    rate = plan.sample_rate
    return HALF / SAMPLE_RATE + reach / rate + wait * plan.hop_length / rate


def network_frames(
    signal: Buffer,
    plan: FramePlan,
    start: int,
    stop: int,
    activation: CrepeActivation,
    block_frames: int,
    on_levels: Callable[[torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """Network activations of frames ``[start, stop)`` of every row, block by block;
    ``on_levels`` gets their levels in dB (``(rows, count)``, in order).

    The rows' frames go through the network together (:func:`share_frames`): a batch of
    streams costs one call per push, not one per row, and threads share its frames once
    there are enough of them (``Crepe.cpu_pool_frames``).
    """
    rows, dtype = signal.rows, activation.dtype
    if stop <= start:
        return signal.audio.new_zeros((rows, 0, 360), dtype=dtype)
    on_raw = None if on_levels is None else (lambda raw: on_levels(frame_levels(raw)))
    per_call = activation.frames_per_call()
    pool_frames = activation.network.cpu_pool_frames()
    step = block_rows(rows, block_frames, per_call)
    out = []
    for first in range(start, stop, step):
        count = min(step, stop - first)
        frames = cut_frames(signal, plan, first, count, on_raw).to(dtype)
        flat = frames.reshape(rows * count, WINDOW_SIZE)
        results = share_frames(activation.network, flat, per_call, pool_frames)
        result = results[0] if len(results) == 1 else torch.cat(results)
        out.append(result.reshape(rows, count, -1))
    return out[0] if len(out) == 1 else torch.cat(out, dim=1)


def decode_frames(
    decode: CrepeDecode,
    lag: int,
    state: StreamState,
    activation: torch.Tensor,
    final: bool,
) -> tuple[Pitch, torch.Tensor | None, FixedLagViterbi | None]:
    """Pitch of the frames decided now, Viterbi's undecided frames and its new state."""
    batch = pack(activation, decode.low, decode.high, None)
    if decode.decoder != "viterbi":
        pitch = run_decoder(decode.decoder, batch, decode.model, decode.backend)
        return pitch, None, None
    if state.viterbi is None:
        transition = decode.transition
        if transition is None:  # for mypy: a viterbi CrepeDecode builds its table
            raise ValueError("internal: CrepeDecode('viterbi') has no transition table")
        n_states = decode.high - decode.low + 1
        lagged = FixedLagViterbi(n_states, decode.model, transition, lag, decode.backend)
    else:  # a copy: the step rebinds its state, so the previous state stays whole
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
