"""Block-wise framing of audio files: CREPE frames of a long file without loading it whole.

:func:`frame_blocks` reads a file sequentially and yields its normalised 16 kHz frames a
block at a time. Each block reads only the input samples its frames need, plus the context of
the resampling filter, so memory does not grow with the file. The frames are **bit-identical**
to :class:`~crepe_transforms.CrepeFrames` applied to the whole signal:

- resampling reproduces ``resampy.resample(x, sr, 16000, filter="kaiser_best")`` sample for
  sample: the same numba kernel runs on a slice of the input, at output times shifted by the
  slice start (subtracting an integer from those float64 times is exact), with at least the
  filter's half-length of context on each side, so every output sample sums the same products
  in the same order;
- frames are cut at the same exact 16 kHz centres and normalised by the same functions.

Only ``resample="resampy"`` (the default of the transforms) is supported here.
"""

from __future__ import annotations

import functools
import math
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from . import decode as D
from . import functional as CF
from .audio import AudioReader, downmix
from .constants import N_BINS, SAMPLE_RATE, WINDOW_SIZE
from .decode import Pitch, admitted_bins, local_average
from .exceptions import AudioError, ParameterError
from .pitch import CrepeDecode
from .transforms import CrepeFrames
from .viterbi import log_emission, log_jump, log_transition, viterbi_path

__all__ = ["BlockDecoder", "BlockResampler", "frame_blocks"]

#: Activations kept in memory by :class:`BlockDecoder` before it spills them to disk (64 MB,
#: about 12 minutes of one channel at 10 ms).
SPILL_BYTES = 64 << 20
#: Frames read back from the spill file at a time.
SPILL_BLOCK = 8192

_HALF = WINDOW_SIZE // 2


@functools.lru_cache(maxsize=16)
def _filter(sample_rate: int) -> tuple[np.ndarray, np.ndarray, Any, float, float]:
    """resampy's kaiser_best tables for ``sample_rate`` → 16 kHz, as resampy.resample makes
    them: window, its differences, precision, scale and time increment."""
    from resampy.filters import get_filter

    ratio = float(SAMPLE_RATE) / sample_rate
    window, precision, _ = get_filter("kaiser_best")
    if ratio < 1:
        window = ratio * window
    delta = np.diff(window, append=window[-1])
    return window, delta, precision, min(1.0, ratio), 1.0 / ratio


class BlockResampler:
    """resampy ``kaiser_best`` to 16 kHz, computed for any range of output samples.

    Args:
        sample_rate: input rate in Hz.
        length: input length in samples (fixes the output length, as resampy does).

    Example:
        >>> import resampy
        >>> x = np.random.default_rng(0).standard_normal(4410).astype(np.float32)
        >>> block = BlockResampler(44100, len(x))
        >>> lo, hi = block.input_range(500, 900)
        >>> part = block(x[lo:hi], lo, 500, 900)
        >>> whole = resampy.resample(x, 44100, 16000, filter="kaiser_best")
        >>> block.length_out, bool(np.array_equal(part, whole[500:900]))
        (1600, True)
    """

    def __init__(self, sample_rate: int, length: int) -> None:
        self.sample_rate = sample_rate
        self.length_in = length
        # the same float expression as resampy.core.resample, so the same length
        self.length_out = int(length * float(SAMPLE_RATE) / float(sample_rate))
        self._window, self._delta, self._precision, self._scale, self._increment = _filter(
            sample_rate
        )
        # furthest input sample a filter wing reaches from its centre, plus one for safety
        self.context = int(self._window.shape[0] // int(self._scale * self._precision)) + 1

    def input_range(self, start: int, stop: int) -> tuple[int, int]:
        """Input samples ``[lo, hi)`` that output samples ``[start, stop)`` depend on."""
        first = int(start * self._increment)
        last = int((stop - 1) * self._increment)
        return max(0, first - self.context), min(self.length_in, last + self.context + 2)

    def __call__(self, x: np.ndarray, offset: int, start: int, stop: int) -> np.ndarray:
        """Output samples ``[start, stop)`` from ``x`` = input samples from ``offset`` on."""
        from resampy.interpn import resample_f_s

        lo, hi = self.input_range(start, stop)
        if offset > lo or offset + len(x) < hi:
            raise ParameterError(
                f"input samples {offset}..{offset + len(x)} do not cover {lo}..{hi}, needed "
                f"for output samples {start}..{stop}; pass x = input[lo:hi] from input_range()."
            )
        times = np.arange(start, stop) * self._increment - offset
        out = np.zeros(stop - start, dtype=np.float32)
        resample_f_s(
            np.ascontiguousarray(x, dtype=np.float32),
            times,
            self._window,
            self._delta,
            self._precision,
            self._scale,
            out,
        )
        return out


def _check_rate(reader: AudioReader, frames: CrepeFrames) -> None:
    if frames.sample_rate != reader.info.sample_rate:
        raise ParameterError(
            f"frames.sample_rate={frames.sample_rate} but {reader.path} is at "
            f"{reader.info.sample_rate} Hz; build CrepeFrames({reader.info.sample_rate}, ...)."
        )
    if frames.resample != "resampy":
        raise ParameterError(
            f"block-wise framing supports resample='resampy' only, got {frames.resample!r}."
        )


class _Signal16k:
    """The file's 16 kHz signal (one row per output channel), read in forward order."""

    def __init__(self, reader: AudioReader, mono: bool) -> None:
        self.reader = reader
        self.mono = mono
        meta = reader.info
        self.resampler = (
            None
            if meta.sample_rate == SAMPLE_RATE
            else BlockResampler(meta.sample_rate, meta.frames)
        )
        self.length = meta.frames if self.resampler is None else self.resampler.length_out
        if self.length < 1:
            raise AudioError(
                f"{reader.path}: {meta.frames} sample(s) at {meta.sample_rate} Hz is too short "
                f"to resample to 16 kHz; CREPE needs at least "
                f"{-(-meta.sample_rate // SAMPLE_RATE)} samples"
            )
        self.channels = 1 if mono else meta.channels

    def _input(self, lo: int, hi: int) -> np.ndarray:
        block = self.reader.read(lo, hi)
        if self.mono:
            return downmix(block)[None]
        return np.ascontiguousarray(block.T)

    def segment(self, a: int, b: int) -> np.ndarray:
        """16 kHz samples ``[a, b)``, zero outside the signal: ``(channels, b − a)``."""
        out = np.zeros((self.channels, b - a), dtype=np.float32)
        lo, hi = max(a, 0), min(b, self.length)
        if lo >= hi:
            return out
        if self.resampler is None:
            out[:, lo - a : hi - a] = self._input(lo, hi)
            return out
        in_lo, in_hi = self.resampler.input_range(lo, hi)
        source = self._input(in_lo, in_hi)
        for row in range(self.channels):
            out[row, lo - a : hi - a] = self.resampler(source[row], in_lo, lo, hi)
        return out


def num_file_frames(reader: AudioReader, frames: CrepeFrames) -> int:
    """Frames of the whole file (``1 + samples // hop_length``)."""
    return int(frames.num_frames(reader.info.frames))


def frame_blocks(
    reader: AudioReader, frames: CrepeFrames, block_frames: int, mono: bool = True
) -> Iterator[tuple[int, torch.Tensor]]:
    """Normalised CREPE frames of a file, ``block_frames`` at a time.

    Args:
        reader: the open file; it is read forward once.
        frames: the framing configuration; its ``sample_rate`` must be the file's.
        block_frames: frames per block (the last block may be shorter).
        mono: downmix the channels (default) or frame each channel.

    Yields:
        ``(start_frame, frames)`` with frames shaped ``(channels, n, 1024)`` (one channel when
        ``mono``), equal bit for bit to ``frames(whole_signal)[..., start:start + n, :]``.

    Example:
        >>> import soundfile, tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.wav"
        >>> audio = np.random.default_rng(0).uniform(-0.5, 0.5, 22050).astype(np.float32)
        >>> soundfile.write(path, audio, 22050, subtype="FLOAT")
        >>> framer = CrepeFrames(22050)
        >>> with AudioReader(path) as reader:
        ...     parts = [block for _, block in frame_blocks(reader, framer, 40)]
        >>> [tuple(p.shape) for p in parts]
        [(1, 40, 1024), (1, 40, 1024), (1, 21, 1024)]
        >>> bool(torch.equal(torch.cat(parts, 1)[0], framer(torch.from_numpy(audio))))
        True
    """
    _check_rate(reader, frames)
    signal = _Signal16k(reader, mono)
    total = num_file_frames(reader, frames)
    for start in range(0, total, block_frames):
        count = min(block_frames, total - start)
        centers = CF.frame_centers(count, frames.hop_length, frames.sample_rate, start)
        a = int(centers[0]) - _HALF
        audio = torch.from_numpy(signal.segment(a, int(centers[-1]) + _HALF))
        cut = CF.extract_frames(audio, centers - a)
        yield start, CF.normalize_frames(cut, frames.normalization)


class BlockDecoder:
    """Decode activations that arrive block by block exactly as ``decoder`` decodes them whole.

    ``argmax`` and ``weighted_argmax`` work frame by frame, so each block is decoded when it
    arrives and only f0 and periodicity are kept. Viterbi needs every frame first: each block's
    log-emission goes into one buffer (what the Viterbi kernel reads), while the raw
    activations, needed again only after the path is known (periodicity and the local average
    around each path bin), are spilled to a temporary file when they exceed ``spill_bytes``.
    For one hour at 10 ms that keeps 518 MB of float32 emissions in memory instead of the
    activations *and* their emissions; the ``"crepe"`` HMM's argmax emission is float64.

    Args:
        decoder: the decoding configuration.
        shape: leading shape of the activations (e.g. ``(channels,)`` or ``()``).
        frames: total frames that will be added.
        spill_dir: folder for the temporary file (default: the system's temp folder).
        spill_bytes: keep activations in memory up to this size.

    Example:
        >>> decoder = CrepeDecode()
        >>> act = torch.rand(2, 50, 360, generator=torch.Generator().manual_seed(0))
        >>> blocks = BlockDecoder(decoder, (2,), 50, spill_bytes=0)  # spill everything
        >>> for start in range(0, 50, 16):
        ...     blocks.add(start, act[:, start : start + 16])
        >>> whole, parts = decoder(act), blocks.finish()
        >>> [torch.equal(a, b) for a, b in zip(whole, parts)]
        [True, True]
    """

    def __init__(
        self,
        decoder: CrepeDecode,
        shape: tuple[int, ...],
        frames: int,
        spill_dir: str | os.PathLike[str] | None = None,
        spill_bytes: int = SPILL_BYTES,
    ) -> None:
        self.decoder = decoder
        self.shape = shape
        self.frames = frames
        self.low, high = admitted_bins(decoder.fmin, decoder.fmax)
        self.n_states = high - self.low + 1
        self.frequency = torch.full((*shape, frames), math.nan)
        self.periodicity = torch.zeros((*shape, frames))
        self.emission: torch.Tensor | None = None
        self._kept: list[torch.Tensor] = []
        self._sizes: list[int] = []
        size = math.prod(shape) * frames * N_BINS * 4
        # closed by finish() or close(); unlinked at creation, so nothing is left on disk
        self._spill = (
            tempfile.TemporaryFile(dir=spill_dir)  # noqa: SIM115
            if size > spill_bytes
            else None
        )
        self._added = 0

    def add(self, start: int, activation: torch.Tensor) -> None:
        """Activations of frames ``start … start + n − 1``, ``(*shape, n, 360)``, in order."""
        if start != self._added:
            raise ParameterError(
                f"blocks must arrive in order: expected {self._added}, got {start}"
            )
        count = activation.shape[-2]
        self._added += count
        if self.decoder.method != "viterbi":
            pitch = D.decode(activation, self.decoder.method, self.decoder.fmin, self.decoder.fmax)
            self.frequency[..., start : start + count] = pitch.frequency
            self.periodicity[..., start : start + count] = pitch.periodicity
            return
        states = activation[..., self.low : self.low + self.n_states].reshape(
            -1, count, self.n_states
        )
        emission = log_emission(states, self.decoder.hmm)
        if self.emission is None:
            shape = (states.shape[0], self.frames, states.shape[-1])
            self.emission = torch.empty(shape, dtype=emission.dtype)
        self.emission[:, start : start + count] = emission
        self._sizes.append(count)
        if self._spill is None:
            self._kept.append(activation.clone())
        else:
            self._spill.write(activation.contiguous().numpy().tobytes())

    def _blocks(self) -> Iterator[torch.Tensor]:
        if self._spill is None:
            yield from self._kept
            return
        self._spill.seek(0)
        for count in self._sizes:  # read back exactly the blocks that were written
            data = self._spill.read(math.prod(self.shape) * count * N_BINS * 4)
            array = np.frombuffer(data, np.float32).copy()
            yield torch.from_numpy(array).reshape(*self.shape, count, N_BINS)

    def finish(self) -> Pitch:
        """The decoded pitch of all frames: each ``(*shape, frames)``."""
        if self._added != self.frames:
            raise ParameterError(f"{self._added} of {self.frames} frames were added")
        if self.decoder.method == "viterbi" and self.emission is not None:
            hmm = self.decoder.hmm
            table = self.decoder.transition
            if table is None or table.dtype != torch.float64:
                table = log_transition(self.n_states, hmm)
            path = viterbi_path(
                self.emission, table, log_jump(self.n_states, hmm), None, self.decoder.backend
            )
            self.emission = None  # the largest buffer; the rest needs only the path
            start = 0
            for block in self._blocks():
                count = block.shape[-2]
                states = block[..., self.low : self.low + self.n_states].reshape(
                    -1, count, self.n_states
                )
                where = path[:, start : start + count]
                periodicity = states.gather(-1, where[..., None]).squeeze(-1)
                # decode's own final step (bins → Hz, dtypes), so the numbers cannot drift
                pitch = D.finish_pitch(
                    D.DecoderInput(states, self.low, self.shape, None),
                    local_average(states, where),
                    periodicity,
                )
                self.frequency[..., start : start + count] = pitch.frequency
                self.periodicity[..., start : start + count] = pitch.periodicity
                start += count
        self.close()
        return Pitch(self.frequency, self.periodicity)

    def close(self) -> None:
        """Drop the buffers and the spill file (after :meth:`finish` or on an error)."""
        self.emission = None
        self._kept = []
        if self._spill is not None:
            self._spill.close()
