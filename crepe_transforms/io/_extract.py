"""Pitch, activations and embeddings of audio files, one file or a whole corpus.

The library behind ``crepe-transforms pitch | activation | embed``:

- :class:`Extractor` holds one CREPE network and the decoding settings and computes
  :class:`~crepe_transforms.outputs.Features` for a file. Files are read and framed block by
  block (:mod:`crepe_transforms.stream`), so memory is bounded by the frames' outputs, not by
  the audio: a 1-hour file at any rate keeps 360,000 × 360 activations (518 MB) plus blocks.
  The frames are bit-identical to the transforms applied to the whole file.
- :func:`predict_file` is the one-call version; :func:`predict_files` runs a corpus: it
  discovers and shards the inputs, skips outputs that exist (unless ``overwrite``), writes
  atomically, reports a bad file and goes on, and returns a :class:`Summary`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import torch

from .audio import AUDIO_EXTENSIONS, AudioReader
from .checks import check_choice, check_positive_int, check_threshold
from .constants import EMBEDDING_ROWS
from .corpus import (
    Job,
    NullReporter,
    Reporter,
    Summary,
    check_collisions,
    discover,
    env_rank,
    shard,
)
from .decode import DECODERS
from .exceptions import CrepeError, ParameterError
from .functional import NORMALIZATIONS, default_hop_length
from .outputs import (
    FORMATS,
    KINDS,
    Features,
    check_format,
    check_output_dir,
    output_name,
    write_features,
)
from .pitch import CrepeDecode
from .stream import BlockDecoder, frame_blocks, num_file_frames
from .transforms import DEFAULT_CHUNK_SIZE, EMBEDDING_LAYOUTS, CrepeActivation, CrepeFrames
from .voicing import threshold as apply_threshold

__all__ = [
    "DEFAULT_BLOCK_FRAMES",
    "PRECISIONS",
    "Extractor",
    "hop_length_for",
    "predict_file",
    "predict_files",
]

#: Frames read, framed and run through the network per block (16 MB of frames).
DEFAULT_BLOCK_FRAMES = 4096
PRECISIONS = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def hop_length_for(hop: str | int | None, sample_rate: int) -> int:
    """Hop in samples of ``sample_rate``: None → 10 ms; ``"12.5ms"``, ``"0.01s"`` or samples.

    Durations are floored to whole samples, as the 10 ms default (``sample_rate // 100``).

    Example:
        >>> hop_length_for("10ms", 22050), hop_length_for("5 ms", 16000), hop_length_for(256, 8000)
        (220, 80, 256)
    """
    if hop is None:
        return default_hop_length(sample_rate)
    text = str(hop).strip().lower().replace(" ", "")
    unit = next((u for u in ("ms", "s") if text.endswith(u)), "")
    number = text[: len(text) - len(unit)]
    try:
        value = Fraction(number)
    except (ValueError, ZeroDivisionError):
        raise ParameterError(
            f"hop={hop!r} is not a hop: give milliseconds like '10ms', seconds like '0.01s' "
            f"or samples of the input rate like '160'"
        ) from None
    if not unit:
        if value.denominator != 1 or value <= 0:
            raise ParameterError(
                f"hop must be a positive integer number of samples or a duration, got {hop!r}. "
                f"Use e.g. '10ms' or a number of samples like 160."
            )
        return int(value)
    if value <= 0:
        raise ParameterError(f"hop={hop!r} must be positive; use e.g. '10ms' or '0.01s'")
    samples = math.floor(value * sample_rate / (1000 if unit == "ms" else 1))
    if samples < 1:
        raise ParameterError(
            f"hop={hop!r} is less than one sample at {sample_rate} Hz; use a longer hop"
        )
    return samples


def _device(name: str | torch.device) -> torch.device:
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ParameterError(
            f"device={name!r} is not a torch device, e.g. 'cpu' or 'cuda:0'"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(
            f"device={name!r} but torch.cuda.is_available() is False; use device='cpu'"
        )
    return device


class Extractor:
    """One CREPE network and its settings, applied to audio files.

    Args:
        capacity: CREPE model size (``"tiny"`` … ``"full"``).
        hop: hop between frames: None (10 ms), a duration (``"5ms"``, ``"0.01s"``) converted
            per file rate, or samples of the file's rate (``160``).
        decoder, hmm, fmin, fmax: as :class:`~crepe_transforms.pitch.CrepeDecode`.
        threshold: periodicity below which f0 is NaN; adds a ``voiced`` array. None: off.
        layout: embedding layout, as :class:`~crepe_transforms.CrepeEmbedding`.
        normalization: frame normalisation, as :class:`~crepe_transforms.CrepeFrames`.
        mono: downmix channels (default); False computes every channel (a leading axis).
        device: where the network runs; decoding runs on the CPU.
        precision: network dtype, ``"float32"``, ``"float16"`` or ``"bfloat16"``; outputs
            are float32 either way.
        algorithm: ``"fft"`` (default) or ``"direct"`` convolutions, as
            :class:`~crepe_transforms.CrepeActivation`.
        chunk_size, weights, sha256, pretrained: as :class:`~crepe_transforms.CrepeActivation`.
        block_frames: frames per block, rounded down to a multiple of ``chunk_size``.
        spill_dir: where Viterbi decoding of long files parks the activations while the
            path is computed (see :class:`~crepe_transforms.stream.BlockDecoder`); default
            the system's temporary folder (``$TMPDIR``).

    Example:
        >>> import numpy as np, soundfile, tempfile
        >>> path = Path(tempfile.mkdtemp()) / "tone.wav"
        >>> soundfile.write(path, np.sin(np.arange(8000) * 0.2) * 0.5, 8000)
        >>> result = Extractor("tiny", pretrained=False).pitch(path)
        >>> result.num_frames, result["frequency"].shape, float(result.time[1])
        (101, torch.Size([101]), 0.01)
    """

    def __init__(
        self,
        capacity: str = "full",
        *,
        hop: str | int | None = None,
        decoder: str = "viterbi",
        hmm: str = "default",
        fmin: float | None = None,
        fmax: float | None = None,
        threshold: float | None = None,
        layout: str = "torchcrepe",
        normalization: str = "crepe",
        mono: bool = True,
        device: str | torch.device = "cpu",
        precision: str = "float32",
        algorithm: str = "fft",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        block_frames: int = DEFAULT_BLOCK_FRAMES,
        weights: str | os.PathLike[str] | None = None,
        sha256: str | None = None,
        pretrained: bool = True,
        spill_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.spill_dir = spill_dir
        hop_length_for(hop, 16000)  # check the syntax now, not at the first file
        self.hop = hop
        self.threshold = check_threshold(threshold)
        self.layout = check_choice(layout, "layout", EMBEDDING_LAYOUTS)
        self.normalization = check_choice(normalization, "normalization", NORMALIZATIONS)
        self.mono = bool(mono)
        self.device = _device(device)
        self.dtype = PRECISIONS[check_choice(precision, "precision", tuple(PRECISIONS))]
        decoder = check_choice(decoder, "decoder", DECODERS)  # CrepeDecode says "method"
        self.decoder = CrepeDecode(decoder, fmin, fmax, hmm)  # checked before loading weights
        self.network = CrepeActivation(
            capacity, chunk_size, weights, sha256, pretrained, algorithm=algorithm
        )
        self.network.to(self.device, self.dtype)
        chunk = self.network.chunk_size
        frames = check_positive_int(block_frames, "block_frames", " e.g. block_frames=4096.")
        self.block_frames = max(1, frames // chunk)
        self.block_frames *= chunk
        self._framers: dict[int, CrepeFrames] = {}
        self.attributes: dict[str, str | int | float] = {
            "capacity": capacity,
            "precision": precision,
            "normalization": normalization,
            "channels": "mono" if self.mono else "kept",
        }

    def framer(self, sample_rate: int) -> CrepeFrames:
        """The (cached) :class:`~crepe_transforms.CrepeFrames` for files at ``sample_rate``."""
        if sample_rate not in self._framers:
            hop = hop_length_for(self.hop, sample_rate)
            self._framers[sample_rate] = CrepeFrames(
                sample_rate, hop, "resampy", self.normalization
            )
        return self._framers[sample_rate]

    def _open(self, path: str | os.PathLike[str]) -> tuple[AudioReader, CrepeFrames, int]:
        reader = AudioReader(path)
        framer = self.framer(reader.info.sample_rate)
        return reader, framer, num_file_frames(reader, framer)

    def _blocks(
        self,
        reader: AudioReader,
        framer: CrepeFrames,
        fn: Callable[[torch.Tensor], torch.Tensor],
        on_frames: Callable[[int], None] | None,
    ) -> Iterator[tuple[int, torch.Tensor]]:
        """``(first frame, fn output)`` per block, output ``(channels, n, ...)`` float32 on
        the CPU (one channel when downmixing)."""
        for start, block in frame_blocks(reader, framer, self.block_frames, self.mono):
            # channel by channel, so each channel meets the network in the same batches as
            # when it is computed alone
            rows = [fn(row.to(self.device, self.dtype)).float().cpu() for row in block]
            yield start, torch.stack(rows)
            if on_frames is not None:
                on_frames(block.shape[0] * block.shape[1])

    def _run(
        self,
        path: str | os.PathLike[str],
        fn: Callable[[torch.Tensor], torch.Tensor],
        on_frames: Callable[[int], None] | None,
    ) -> tuple[CrepeFrames, int, torch.Tensor]:
        """``fn`` over every frame, gathered: ``(channels, frames, ...)`` or ``(frames, ...)``."""
        reader, framer, total = self._open(path)
        out = torch.empty(0)
        with reader:
            for start, value in self._blocks(reader, framer, fn, on_frames):
                if start == 0:
                    out = torch.empty((value.shape[0], total, *value.shape[2:]))
                out[:, start : start + value.shape[1]] = value
        return framer, total, out[0] if self.mono else out

    def _features(
        self,
        path: str | os.PathLike[str],
        kind: str,
        framer: CrepeFrames,
        total: int,
        arrays: dict[str, torch.Tensor],
    ) -> Features:
        times = framer.frame_times(total)
        return Features(
            Path(path),
            kind,
            framer.sample_rate,
            framer.hop_length,
            times,
            arrays,
            dict(self.attributes),
        )

    def activation(
        self, path: str | os.PathLike[str], on_frames: Callable[[int], None] | None = None
    ) -> Features:
        """CREPE salience of every frame: ``activation`` ``(..., frames, 360)``."""
        with torch.no_grad():
            framer, total, act = self._run(path, self.network, on_frames)
        return self._features(path, "activation", framer, total, {"activation": act})

    def embedding(
        self, path: str | os.PathLike[str], on_frames: Callable[[int], None] | None = None
    ) -> Features:
        """Block-5 embeddings: ``embedding`` ``(..., frames, 32, E)`` or ``(..., C5, 8)``."""

        def embed(frames: torch.Tensor) -> torch.Tensor:
            emb = self.network.embed(frames)
            return emb if self.layout == "channels" else emb.reshape(len(emb), EMBEDDING_ROWS, -1)

        with torch.no_grad():
            framer, total, emb = self._run(path, embed, on_frames)
        features = self._features(path, "embedding", framer, total, {"embedding": emb})
        features.attributes["layout"] = self.layout
        return features

    def pitch(
        self, path: str | os.PathLike[str], on_frames: Callable[[int], None] | None = None
    ) -> Features:
        """Decoded pitch: ``frequency`` (Hz), ``periodicity`` (+ ``voiced``), ``(..., frames)``."""
        reader, framer, total = self._open(path)
        shape = () if self.mono else (reader.info.channels,)
        decoder = BlockDecoder(self.decoder, shape, total, self.spill_dir)
        try:
            with reader, torch.no_grad():
                for start, value in self._blocks(reader, framer, self.network, on_frames):
                    decoder.add(start, value[0] if self.mono else value)
                pitch = decoder.finish()
        finally:
            decoder.close()
        arrays = {"frequency": pitch.frequency, "periodicity": pitch.periodicity}
        if self.threshold is not None:
            arrays["frequency"] = apply_threshold(
                pitch.frequency, pitch.periodicity, self.threshold
            )
            arrays["voiced"] = pitch.periodicity >= self.threshold
        features = self._features(path, "pitch", framer, total, arrays)
        features.attributes["decoder"] = self.decoder.method
        settings = {
            "fmin": self.decoder.fmin,
            "fmax": self.decoder.fmax,
            "threshold": self.threshold,
        }
        features.attributes.update({k: v for k, v in settings.items() if v is not None})
        return features

    def compute(
        self,
        kind: str,
        path: str | os.PathLike[str],
        on_frames: Callable[[int], None] | None = None,
    ) -> Features:
        """``pitch``, ``activation`` or ``embedding`` of one file."""
        check_choice(kind, "kind", tuple(KINDS))
        method: Callable[..., Features] = getattr(self, kind)
        return method(path, on_frames)


def predict_file(path: str | os.PathLike[str], kind: str = "pitch", **options: Any) -> Features:
    """Pitch (or ``kind="activation"`` / ``"embedding"``) of one file; ``options`` as
    :class:`Extractor`. Build an :class:`Extractor` once to process many files."""
    return Extractor(**options).compute(kind, path)


def _one_line(job: Job, exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename is not None:
        text = f"{exc.filename}: {exc.strerror or text}"
    elif not isinstance(exc, CrepeError):
        text = f"{type(exc).__name__}: {text}"
    return text if text.startswith(str(job.source)) else f"{job.source}: {text}"


def predict_files(
    inputs: Iterable[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str],
    kind: str = "pitch",
    fmt: str | None = None,
    *,
    manifest: str | os.PathLike[str] | None = None,
    extensions: Sequence[str] = AUDIO_EXTENSIONS,
    overwrite: bool = False,
    shard_index: tuple[int, int] | None = None,
    distributed: bool = True,
    extractor: Extractor | None = None,
    reporter: Reporter | None = None,
    **options: Any,
) -> Summary:
    """Process a corpus: one output file per input, mirroring the input tree.

    Args:
        inputs, manifest, extensions: files, directories, glob patterns and a manifest, and
            the suffixes searched for (see :func:`~crepe_transforms.corpus.discover`).
        output_dir: where outputs go (``<relative path>.f0.csv`` …).
        kind: ``"pitch"``, ``"activation"`` or ``"embedding"``.
        fmt: ``"csv"`` (pitch only), ``"npz"`` or ``"pt"``; default csv for pitch, else npz.
        overwrite: recompute outputs that exist (default: skip them; outputs are written
            atomically, so an existing one is complete).
        shard_index: ``(I, N)``: process only shard I of N of the sorted inputs.
        distributed: also shard by ``RANK``/``WORLD_SIZE`` from the environment (torchrun);
            with both, shard I of N is split again between the ranks.
        extractor: a ready :class:`Extractor`; otherwise one is built from ``options``.
        reporter: progress hooks (:class:`Reporter`).

    Returns:
        This process's :class:`Summary`. A file that fails is reported and skipped.

    Raises:
        ParameterError: bad options, or an ``output_dir`` that cannot be created or written
            (checked once, before any file is computed).
    """
    fmt = check_format(kind, fmt or FORMATS[kind][0])
    jobs = discover(inputs, manifest, extensions)
    check_output_dir(output_dir)
    names = [output_name(job.relative, kind, fmt) for job in jobs]
    check_collisions(jobs, names)
    index, count = shard_index or (0, 1)
    rank, world = env_rank() if distributed else (0, 1)
    targets = dict(zip(jobs, names, strict=True))
    mine = shard(jobs, index * world + rank, count * world)
    extractor = extractor or Extractor(**options)
    reporter = reporter or NullReporter()
    summary = Summary(files=len(mine), rank=rank, world=world)
    started = time.perf_counter()

    def count_frames(n: int) -> None:
        summary.frames += n
        reporter.frames(n)

    reporter.start(mine)
    try:
        for job in mine:
            target = Path(output_dir) / targets[job]
            if target.exists() and not overwrite:
                summary.skipped.append(target)
                reporter.done(job, target, False)
                continue
            try:
                write_features(extractor.compute(kind, job.source, count_frames), target, fmt)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # one bad file must not stop a corpus run
                message = _one_line(job, exc)
                summary.failed.append((job.source, message))
                reporter.failed(job, message)
                continue
            summary.written.append(target)
            reporter.done(job, target, True)
    finally:
        summary.seconds = time.perf_counter() - started
        reporter.close()
    return summary
