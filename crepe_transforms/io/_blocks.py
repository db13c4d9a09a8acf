"""Long files through the block engine: a file-backed 16 kHz signal and block-wise decoding.

- :class:`FileSignal` is the block engine's :class:`~crepe_transforms.transforms._engine.Signal`
  for a file: it reads the file forward and resamples only the part a block of frames needs
  (plus the resampling filter's context), so memory does not grow with the file. Its samples
  are **bit-identical** to resampling the whole file: the block resampler runs resampy's own
  ``kaiser_best`` kernel on a slice of the input, at output times shifted by the slice start
  (an exact float64 subtraction), with at least the filter's half-length of context on each
  side, so every output sample sums the same products in the same order
  (:class:`~crepe_transforms.functional.BlockResampler`). Frames are then cut and normalised
  by the block engine itself (:func:`~crepe_transforms.transforms._engine.run_blocks`), the
  same loop :class:`~crepe_transforms.CrepePitch` runs in memory.
- :class:`BlockDecoder` decodes activations that arrive block by block exactly as
  :class:`~crepe_transforms.CrepeDecode` decodes them whole, keeping what Viterbi needs and
  spilling the rest to a temporary file.

Only ``resample="resampy"`` (the transforms' default) is offered for files.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from typing import IO, cast

import numpy as np
import torch

from ..constants import N_BINS, SAMPLE_RATE
from ..exceptions import AudioError, ParameterError
from ..functional import BlockResampler, Pitch
from ..functional._internal import (
    DecoderInput,
    ViterbiForward,
    finish_path,
    log_emission,
    log_transition,
)
from ..transforms import CrepeDecode
from ._audio import AudioReader, downmix

__all__ = ["SPILL_BYTES", "BlockDecoder", "FileSignal"]

#: Activations kept in memory by :class:`BlockDecoder` before it spills them to disk (64 MB,
#: about 12 minutes of one channel at 10 ms).
SPILL_BYTES = 64 << 20


class FileSignal:
    """A file's 16 kHz signal for the block engine, read forward (one row per channel kept).

    Args:
        reader: the open file; blocks must move forward (the engine's do).
        mono: downmix the channels to one row (default) or keep one row per channel.
        device: where :meth:`segment` puts its samples (default: the CPU), so frames are cut
            and normalised where the network runs.

    Example:
        >>> import soundfile, tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.wav"
        >>> soundfile.write(path, np.ones((22050, 2), np.float32) * 0.25, 22050)
        >>> with AudioReader(path) as reader:
        ...     signal = FileSignal(reader, mono=False)
        ...     part = signal.segment(-2, 3)
        >>> signal.rows, signal.length, tuple(part.shape), part[0, :2].tolist()
        (2, 16000, (2, 5), [0.0, 0.0])
    """

    def __init__(
        self, reader: AudioReader, mono: bool = True, device: torch.device | str | None = None
    ) -> None:
        meta = reader.info
        self.reader = reader
        self.mono = bool(mono)
        self.device = None if device is None else torch.device(device)
        self.resampler = (
            None
            if meta.sample_rate == SAMPLE_RATE
            else BlockResampler(meta.sample_rate, meta.samples)
        )
        self.length = meta.samples if self.resampler is None else self.resampler.length_out or 0
        if self.length < 1:
            raise AudioError(
                f"{reader.path}: {meta.samples} sample(s) at {meta.sample_rate} Hz is too short "
                f"to resample to 16 kHz; CREPE needs at least "
                f"{-(-meta.sample_rate // SAMPLE_RATE)} samples"
            )
        self.rows = 1 if self.mono else meta.channels

    def _input(self, lo: int, hi: int) -> np.ndarray:
        block = self.reader.read(lo, hi)
        if self.mono:
            return downmix(block)[None]
        return np.ascontiguousarray(block.T)

    def segment(self, start: int, stop: int) -> torch.Tensor:
        """16 kHz samples ``[start, stop)`` of every row, zero outside the signal:
        ``(rows, stop − start)`` float32."""
        out = np.zeros((self.rows, stop - start), dtype=np.float32)
        lo, hi = max(start, 0), min(stop, self.length)
        if lo < hi:
            if self.resampler is None:
                out[:, lo - start : hi - start] = self._input(lo, hi)
            else:
                in_lo, in_hi = self.resampler.input_range(lo, hi)
                source = self._input(in_lo, in_hi)
                for row in range(self.rows):
                    out[row, lo - start : hi - start] = self.resampler(source[row], in_lo, lo, hi)
        samples = torch.from_numpy(out)
        return samples if self.device is None else samples.to(self.device)


class BlockDecoder:
    """Decode activations that arrive block by block exactly as ``decode`` decodes them whole.

    ``argmax`` and ``weighted_argmax`` work frame by frame, so each block is decoded when it
    arrives and only f0 and periodicity are kept. Viterbi needs every frame before its path is
    known: each block's log-emission goes through the forward recursion as it arrives
    (:class:`~crepe_transforms.functional._viterbi_lag.ViterbiForward`, the stream's too: the
    same kernels and float64 additions in the same order as the whole-signal scan), and only
    the int16 back-pointers are kept (259 MB for one hour at 10 ms, where 0.2 also kept 518 MB
    of float32 emissions). The raw activations, needed again only after the path is known
    (periodicity and the local average around each path bin), are spilled to a temporary file
    when they exceed ``spill_bytes``.

    Args:
        decode: the decoding configuration (its buffers may live anywhere; decoding runs on
            the CPU).
        shape: leading shape of the activations (e.g. ``(channels,)`` or ``()``).
        frames: total frames that will be added.
        spill_dir: folder for the temporary file (default: the system's temp folder).
        spill_bytes: keep activations in memory up to this size.

    Shape:
        - each block: ``(*shape, n, 360)``; output: ``Pitch`` of ``(*shape, frames)`` each,
          in the activations' dtype

    Example:
        >>> decode = CrepeDecode()
        >>> act = torch.rand(2, 50, 360, generator=torch.Generator().manual_seed(0))
        >>> blocks = BlockDecoder(decode, (2,), 50, spill_bytes=0)  # spill everything
        >>> for start in range(0, 50, 16):
        ...     blocks.add(start, act[:, start : start + 16])
        >>> whole, parts = decode(act), blocks.finish()
        >>> [torch.equal(a, b) for a, b in zip(whole, parts)]
        [True, True]
    """

    def __init__(
        self,
        decode: CrepeDecode,
        shape: tuple[int, ...],
        frames: int,
        spill_dir: str | os.PathLike[str] | None = None,
        spill_bytes: int = SPILL_BYTES,
    ) -> None:
        if not isinstance(decode, CrepeDecode):
            raise ParameterError(f"decode must be a CrepeDecode, got {type(decode).__name__}.")
        self.decode = decode
        self.shape = tuple(shape)
        self.frames = frames
        self.low = decode.low
        self.n_states = decode.high - decode.low + 1
        self.viterbi = decode.decoder == "viterbi"
        self.spill_dir = spill_dir
        self.spill_bytes = spill_bytes
        self.f0: torch.Tensor | None = None
        self.periodicity: torch.Tensor | None = None
        # the forward recursion run block by block: its scores and back-pointers
        self.forward: ViterbiForward | None = None
        self._dtype: torch.dtype | None = None
        self._kept: list[torch.Tensor] = []
        self._sizes: list[int] = []
        # closed by finish() or close(); unlinked at creation, so nothing is left on disk
        self._spill: IO[bytes] | None = None
        self._added = 0

    def _open(self, activation: torch.Tensor) -> None:
        """Size the buffers on the first block (its dtype is the outputs')."""
        self._dtype = activation.dtype
        pitch_shape = (*self.shape, self.frames)
        self.f0 = torch.full(pitch_shape, math.nan, dtype=activation.dtype)
        self.periodicity = torch.zeros(pitch_shape, dtype=activation.dtype)
        size = math.prod(self.shape) * self.frames * N_BINS * activation.element_size()
        if self.viterbi and size > self.spill_bytes:
            self._spill = tempfile.TemporaryFile(dir=self.spill_dir)  # noqa: SIM115

    def _store(self, start: int, pitch: Pitch) -> None:
        if self.f0 is None or self.periodicity is None:  # _open ran first; for mypy
            raise ParameterError("internal: BlockDecoder buffers were not allocated")
        count = pitch.f0.shape[-1]
        self.f0[..., start : start + count] = pitch.f0
        self.periodicity[..., start : start + count] = pitch.periodicity

    def _states(self, activation: torch.Tensor) -> torch.Tensor:
        count = activation.shape[-2]
        return activation[..., self.low : self.low + self.n_states].reshape(
            -1, count, self.n_states
        )

    def add(self, start: int, activation: torch.Tensor) -> None:
        """Activations of frames ``start … start + n − 1``, ``(*shape, n, 360)``, in order."""
        if start != self._added:
            raise ParameterError(
                f"blocks must arrive in order: expected frame {self._added}, got {start}"
            )
        count = activation.shape[-2]
        if self._added + count > self.frames:
            raise ParameterError(
                f"frames {start}..{start + count} go past the {self.frames} frames announced"
            )
        activation = activation.detach().cpu()
        if self._dtype is None:
            self._open(activation)
        self._added += count
        if not self.viterbi:
            self._store(start, self.decode.decode(activation, None))
            return
        if self.forward is None:
            self.forward = ViterbiForward(
                self.n_states, self.decode.model, self._table(), self.decode.backend, self.frames
            )
        self.forward.advance(log_emission(self._states(activation), self.decode.model))
        self._sizes.append(count)
        if self._spill is None:
            self._kept.append(activation.clone())
        else:
            self._spill.write(activation.contiguous().view(torch.uint8).numpy().tobytes())

    def _table(self) -> torch.Tensor:
        table = self.decode.transition
        if table is None or table.dtype != torch.float64:
            table = log_transition(self.n_states, self.decode.model)
        return table.cpu()

    def _blocks(self) -> Iterator[torch.Tensor]:
        if self._spill is None:
            yield from self._kept
            return
        self._spill.seek(0)
        dtype = self._dtype or torch.float32
        itemsize = torch.empty((), dtype=dtype).element_size()
        for count in self._sizes:  # read back exactly the blocks that were written
            data = bytearray(self._spill.read(math.prod(self.shape) * count * N_BINS * itemsize))
            raw = torch.frombuffer(data, dtype=torch.uint8)
            yield raw.view(dtype).reshape(*self.shape, count, N_BINS)

    def finish(self) -> Pitch:
        """The decoded pitch of all frames: each ``(*shape, frames)``."""
        if self._added != self.frames:
            raise ParameterError(f"{self._added} of {self.frames} frames were added")
        try:
            if self.f0 is None or self.periodicity is None:  # no frames at all
                empty = torch.empty((*self.shape, 0))
                return Pitch(empty, empty.clone())
            if self.forward is not None:
                self._decode_path()
            return Pitch(self.f0, self.periodicity)
        finally:
            self.close()

    def _decode_path(self) -> None:
        path = cast(ViterbiForward, self.forward).path(0)
        self.forward = None  # the largest buffer; the rest needs only the path
        start = 0
        for block in self._blocks():
            count = block.shape[-2]
            states = self._states(block)
            where = path[:, start : start + count]
            # the decoders' own last step (bins → Hz, dtypes), so the numbers cannot drift
            batch = DecoderInput(states, self.low, self.shape, None)
            self._store(start, finish_path(batch, where))
            start += count

    def close(self) -> None:
        """Drop the buffers and the spill file (after :meth:`finish` or on an error)."""
        self.forward = None
        self._kept = []
        if self._spill is not None:
            self._spill.close()
            self._spill = None
