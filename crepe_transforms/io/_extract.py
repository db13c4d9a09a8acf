"""``Extractor``: pitch, activations and embeddings of audio files, block by block.

An :class:`Extractor` holds one :class:`~crepe_transforms.CrepeActivation` (on its device)
and one :class:`~crepe_transforms.CrepeDecode`, and builds a
:class:`~crepe_transforms.CrepeFrames` for each file rate it meets. A file is read, resampled
and framed block by block (:class:`~crepe_transforms.io._blocks.FileSignal` through the block
engine, the loop :class:`~crepe_transforms.CrepePitch` runs in memory), so memory is bounded by
the outputs, not by the audio: a 1-hour file at any rate keeps 360,000 × 360 activations
(518 MB) plus one block. The results are bit-identical to the transforms on the whole file.

Every option is declared once, by the part that owns it: ``Extractor("tiny", fmin=50,
precision="bf16")`` hands ``fmin`` to the ``CrepeDecode`` and ``precision`` to the
``CrepeActivation`` (:func:`~crepe_transforms._settings.route`); the extractor declares only
its own (:attr:`Extractor.SETTINGS`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from .._checks import check_choice, check_device
from .._deprecated import renamed
from .._settings import Setting, plain, route
from .._tables import EXTRACTOR, EXTRACTOR_PARTS, NEUTRAL_SETTINGS, WEIGHT_SOURCE
from ..constants import EMBEDDING_ROWS
from ..exceptions import ParameterError
from ..functional._internal import (
    HEAD_SHA256,
    Voicing,
    apply_voicing,
    check_voicing_rule,
    hop_length_for,
    parse_hop,
)
from ..transforms import (
    DEFAULT_BLOCK_FRAMES,
    CrepeActivation,
    CrepeDecode,
    CrepeFrames,
)
from ..transforms._internal import EMBEDDING_LAYOUTS, check_block_frames, run_blocks
from ..weights._internal import DIGEST_KEY, state_digest
from ._audio import AudioReader
from ._blocks import BlockDecoder, FileSignal
from ._features import KINDS, Features

__all__ = ["NEUTRAL_SETTINGS", "PARTS", "WEIGHT_SOURCE", "Extractor"]

#: Where a pitch output with ``voicing="auto"`` records the digest of the voicing head that
#: decided it (``functional._voicing_model.HEAD_SHA256``).
HEAD_KEY = "voicing_head_sha256"


#: Options of the parts, routed by name (:data:`crepe_transforms._tables.EXTRACTOR_PARTS`).
PARTS = EXTRACTOR_PARTS


class Extractor:
    """One CREPE network and its settings, applied to audio files.

    Args:
        capacity: CREPE model size, ``"tiny"`` … ``"full"`` (:class:`CrepeActivation`).
        hop_length: hop between frames: None (10 ms), a duration (``"5ms"``, ``"0.01s"``)
            converted per file rate, or samples of the file's rate (``160``).
        mono: downmix the channels (default); False computes every channel (a leading axis),
            each exactly as if it were a mono file.
        device: where the network runs; decoding runs on the CPU.
        spill_dir: where Viterbi decoding of a long file parks the activations while the
            path is computed (:class:`~crepe_transforms.io._blocks.BlockDecoder`); default
            the system's temporary folder (``$TMPDIR``).
        voicing: ``"auto"`` (default, as the ``pitch`` command: the level-invariant decision
            of ``CrepePitch``), a periodicity threshold in ``[0, 1]`` (f0 is ``NaN`` below it;
            with either, pitch results get a ``voiced`` array) or ``None`` / ``"none"`` (f0 on
            every frame, no ``voiced``).
        block_frames: frames read, framed and computed per block (memory bound).
        layout: embedding layout (:class:`~crepe_transforms.CrepeEmbedding`).
        **options: any option of :class:`~crepe_transforms.CrepeFrames` (``normalization``;
            the rate comes from each file and files are resampled with resampy),
            :class:`~crepe_transforms.CrepeActivation` (``chunk_size``, ``weights``,
            ``sha256``, ``pretrained``, ``verify``, ``algorithm``, ``precision``) or
            :class:`~crepe_transforms.CrepeDecode` (``decoder``, ``fmin``, ``fmax``, ``hmm``,
            ``backend``).

    ``precision`` is the network's compute precision (``"fp32"``, ``"bf16"``, ``"fp16"``);
    the network itself stays float32, so reduced precision runs the fast FFT path too.

    Example:
        >>> import numpy as np, soundfile, tempfile
        >>> path = Path(tempfile.mkdtemp()) / "tone.wav"
        >>> soundfile.write(path, np.sin(np.arange(8000) * 0.2) * 0.5, 8000)
        >>> extractor = Extractor("tiny", voicing=0.5, decoder="argmax", pretrained=False)
        >>> result = extractor.pitch(path)
        >>> result.num_frames, sorted(result.arrays), float(result.time[1])
        (101, ['f0', 'periodicity', 'voiced'], 0.01)
        >>> extractor.decode, extractor.activation.capacity
        (CrepeDecode(decoder='argmax'), 'tiny')
    """

    #: The extractor's own settings (its parts declare the rest).
    SETTINGS: tuple[Setting, ...] = EXTRACTOR

    activation: CrepeActivation
    decode: CrepeDecode
    _digest: tuple[tuple[tuple[int, int], ...], str] | None = None

    def __init__(
        self,
        capacity: str = "full",
        *,
        hop_length: str | int | None = None,
        mono: bool = True,
        device: str | torch.device = "cpu",
        spill_dir: str | os.PathLike[str] | None = None,
        voicing: Voicing = "auto",
        block_frames: int = DEFAULT_BLOCK_FRAMES,
        layout: str = "torchcrepe",
        **options: Any,
    ) -> None:
        resample = options.pop("resample", "resampy")
        if resample != "resampy":
            raise ParameterError(
                f"resample={resample!r} is not available for files: they are resampled block "
                f"by block with resampy (the transforms' default). Drop resample=, or load the "
                f"file and use the transforms for torchaudio resampling."
            )
        if "sample_rate" in options:
            raise ParameterError(
                "Extractor takes no sample_rate: each file brings its own (outputs record it)."
            )
        parts = route(type(self).__name__, options, PARTS, self.SETTINGS)
        # the cheap parts first: bad options fail before any weights are read
        decode = CrepeDecode(**parts["decode"])
        normalization = CrepeFrames(16000, **parts["frames"]).normalization
        self._configure(hop_length, mono, device, spill_dir, voicing, block_frames, layout)
        activation = CrepeActivation(capacity, **parts["activation"])
        self._assemble(activation.to(self.device), decode, normalization)

    @classmethod
    def from_parts(
        cls,
        activation: CrepeActivation,
        decode: CrepeDecode | None = None,
        *,
        normalization: str = "crepe",
        hop_length: str | int | None = None,
        mono: bool = True,
        device: str | torch.device | None = None,
        spill_dir: str | os.PathLike[str] | None = None,
        voicing: Voicing = "auto",
        block_frames: int = DEFAULT_BLOCK_FRAMES,
        layout: str = "torchcrepe",
    ) -> Extractor:
        """An extractor of transforms you built (they are used, not copied).

        ``device`` None keeps ``activation`` where it is; a device moves it there.

        Example:
            >>> from crepe_transforms import CrepeActivation, CrepeDecode
            >>> act = CrepeActivation("tiny", pretrained=False, precision="bf16")
            >>> extractor = Extractor.from_parts(act, CrepeDecode("argmax"), hop_length="5ms")
            >>> extractor.activation is act, extractor.framer(16000).hop_length
            (True, 80)
        """
        if not isinstance(activation, CrepeActivation):
            raise ParameterError(
                f"activation must be a CrepeActivation, got {type(activation).__name__}."
            )
        decode = CrepeDecode() if decode is None else decode
        if not isinstance(decode, CrepeDecode):
            raise ParameterError(f"decode must be a CrepeDecode, got {type(decode).__name__}.")
        normalization = CrepeFrames(16000, normalization=normalization).normalization
        self = cls.__new__(cls)
        where = activation.network.classifier.weight.device if device is None else device
        self._configure(hop_length, mono, where, spill_dir, voicing, block_frames, layout)
        self._assemble(activation.to(self.device), decode, normalization)
        return self

    @classmethod
    def from_transforms(
        cls,
        activation: CrepeActivation,
        decode: CrepeDecode | None = None,
        **settings: Any,
    ) -> Extractor:
        """Deprecated since 0.3: :meth:`from_parts`, the one name of every composite."""
        renamed(f"{cls.__name__}.from_transforms", f"{cls.__name__}.from_parts")
        return cls.from_parts(activation, decode, **settings)

    def _configure(
        self,
        hop_length: object,
        mono: object,
        device: str | torch.device,
        spill_dir: str | os.PathLike[str] | None,
        voicing: object,
        block_frames: object,
        layout: object,
    ) -> None:
        self.hop_length = parse_hop(hop_length)
        if not isinstance(mono, bool):
            raise ParameterError(f"mono must be True or False, got {mono!r}.")
        self.mono = mono
        self.device = torch.device(check_device(device))
        if spill_dir is not None and not isinstance(spill_dir, str | os.PathLike):
            raise ParameterError(
                f"spill_dir must be a folder path or None, got {type(spill_dir).__name__}."
            )
        self.spill_dir = spill_dir
        self.voicing = check_voicing_rule(voicing)
        self.block_frames = check_block_frames(block_frames)
        self.layout = check_choice(layout, "layout", EMBEDDING_LAYOUTS)

    def _assemble(
        self, activation: CrepeActivation, decode: CrepeDecode, normalization: str
    ) -> None:
        self.activation = activation
        self.decode = decode
        self.normalization = normalization
        self._framers: dict[int, CrepeFrames] = {}

    # ------------------------------------------------------------------ settings

    def settings(self) -> dict[str, Any]:
        """Every setting, of the parts and the extractor's own: ``Extractor(**settings)``
        builds the same extractor; ``plain`` values make it JSON data.

        Example:
            >>> settings = Extractor("tiny", fmin=50, pretrained=False).settings()
            >>> settings["capacity"], settings["fmin"], settings["hop_length"], settings["device"]
            ('tiny', 50.0, None, 'cpu')
        """
        own = {s.name: getattr(self, s.name) for s in self.SETTINGS}
        own["device"] = str(self.device)
        return {
            **self.activation.settings(),
            "normalization": self.normalization,
            **self.decode.settings(),
            **own,
        }

    def recorded_settings(self, kind: str, sample_rate: int) -> dict[str, Any]:
        """The settings an output of ``kind`` for a file at ``sample_rate`` records (JSON data).

        Only what concerns that kind (decoding options for pitch, the layout for
        embeddings), with the hop in samples of that rate.

        Example:
            >>> Extractor("tiny", pretrained=False).recorded_settings("pitch", 8000)["hop_length"]
            80
        """
        check_choice(kind, "kind", tuple(KINDS))
        names = {s.name for s in CrepeActivation.SETTINGS} | {"normalization", "mono", "device"}
        names |= {"block_frames", "hop_length"}
        if kind == "pitch":
            names |= {s.name for s in CrepeDecode.SETTINGS} | {"voicing", "spill_dir"}
        if kind == "embedding":
            names.add("layout")
        settings = self.settings()
        settings["hop_length"] = self.framer(sample_rate).hop_length
        recorded = {k: plain(v) for k, v in settings.items() if k in names}
        recorded[DIGEST_KEY] = self.weights_digest()
        if kind == "pitch" and self.voicing == "auto":
            # The voicing head decides "auto": another head (another release) decides otherwise.
            recorded[HEAD_KEY] = HEAD_SHA256
        return recorded

    def weights_digest(self) -> str:
        """sha256 of the network's state (:func:`~crepe_transforms.weights._digest.state_digest`),
        as the feature cache keys on it: every output records it, so a resumed run sees that
        another weight file is now resolved whatever ``weights`` says. Computed once, again
        only when a tensor of the network changed in place.

        Example:
            >>> extractor = Extractor("tiny", pretrained=False)
            >>> extractor.weights_digest() == state_digest(extractor.activation.network)
            True
        """
        network = self.activation.network
        # a tensor replaced or changed in place (load_state_dict, an optimiser step) changes
        # its identity or its version counter
        key = tuple((id(t), t._version) for t in (*network.parameters(), *network.buffers()))
        if self._digest is None or self._digest[0] != key:
            self._digest = (key, state_digest(self.activation.network))
        return self._digest[1]

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}={v!r}" for k, v in self.settings().items() if k in ("capacity", "decoder")
        )
        return f"Extractor({shown})"

    # ------------------------------------------------------------------ files

    def framer(self, sample_rate: int) -> CrepeFrames:
        """The (cached) :class:`~crepe_transforms.CrepeFrames` for files at ``sample_rate``."""
        if sample_rate not in self._framers:
            hop = hop_length_for(self.hop_length, sample_rate)
            self._framers[sample_rate] = CrepeFrames(
                sample_rate, hop, normalization=self.normalization
            )
        return self._framers[sample_rate]

    def _open(
        self, path: str | os.PathLike[str], start: int = 0, stop: int | None = None
    ) -> tuple[AudioReader, CrepeFrames, int]:
        reader = AudioReader(path, start, stop)
        try:
            framer = self.framer(reader.info.sample_rate)
        except BaseException:
            reader.close()
            raise
        return reader, framer, int(framer.num_frames(reader.info.samples))

    def _blocks(
        self,
        reader: AudioReader,
        framer: CrepeFrames,
        total: int,
        fn: Callable[[torch.Tensor], torch.Tensor],
        on_frames: Callable[[int], None] | None,
        on_levels: Callable[[int, torch.Tensor], None] | None = None,
    ) -> Iterator[tuple[int, torch.Tensor]]:
        """``(first frame, fn output)`` per block, output ``(rows, n, ...)`` on the CPU (one
        row when downmixing). Each row meets the network in the chunks it would alone."""
        signal = FileSignal(reader, self.mono, self.device)
        blocks = run_blocks(
            signal,
            framer.plan,
            [total] * signal.rows,
            total,
            fn,
            self.activation.frames_per_call(),
            self.block_frames,
            on_frames,
            dtype=self.activation.dtype,
            on_levels=on_levels,
        )
        for start, value in blocks:
            yield start, value.cpu()

    def _gather(
        self,
        path: str | os.PathLike[str],
        fn: Callable[[torch.Tensor], torch.Tensor],
        on_frames: Callable[[int], None] | None,
    ) -> tuple[CrepeFrames, int, torch.Tensor]:
        """``fn`` over every frame, gathered: ``(rows, frames, ...)``."""
        reader, framer, total = self._open(path)
        out = torch.empty(0)
        with reader, torch.no_grad():
            for start, value in self._blocks(reader, framer, total, fn, on_frames):
                if start == 0:
                    out = value.new_empty((value.shape[0], total, *value.shape[2:]))
                out[:, start : start + value.shape[1]] = value
        return framer, total, out

    def _features(
        self,
        path: str | os.PathLike[str],
        kind: str,
        framer: CrepeFrames,
        total: int,
        arrays: dict[str, torch.Tensor],
    ) -> Features:
        if self.mono:
            arrays = {name: value[0] for name, value in arrays.items()}
        return Features(
            Path(path),
            kind,
            framer.sample_rate,
            framer.hop_length,
            framer.frame_times(total),
            arrays,
            self.recorded_settings(kind, framer.sample_rate),
        )

    def activations(
        self, path: str | os.PathLike[str], on_frames: Callable[[int], None] | None = None
    ) -> Features:
        """CREPE salience of every frame of a file: ``activation`` ``(..., frames, 360)``."""
        framer, total, act = self._gather(path, self.activation.network, on_frames)
        return self._features(path, "activation", framer, total, {"activation": act})

    def embedding(
        self, path: str | os.PathLike[str], on_frames: Callable[[int], None] | None = None
    ) -> Features:
        """Block-5 embeddings: ``embedding`` ``(..., frames, 32, E)`` or ``(..., C5, 8)``."""
        framer, total, emb = self._gather(path, self.activation.network.embed, on_frames)
        if self.layout == "torchcrepe":
            emb = emb.reshape(*emb.shape[:-2], EMBEDDING_ROWS, -1)
        return self._features(path, "embedding", framer, total, {"embedding": emb})

    def pitch(
        self,
        path: str | os.PathLike[str],
        on_frames: Callable[[int], None] | None = None,
        *,
        start: int = 0,
        stop: int | None = None,
    ) -> Features:
        """Decoded pitch: ``f0`` (Hz), ``periodicity`` (+ ``voiced``), each ``(..., frames)``.

        ``start`` / ``stop`` (samples of the file's rate) track a part of the file as if it
        were the whole file; times count from ``start``."""
        reader, framer, total = self._open(path, start, stop)
        rows = 1 if self.mono else reader.info.channels
        decoder = BlockDecoder(self.decode, (rows,), total, self.spill_dir)
        # voicing="auto" reads each row's levels around every frame: keep every frame's level
        # (one float a frame) and decide once all blocks are in, as the Viterbi path is.
        levels: list[torch.Tensor] = []
        keep = (lambda _, value: levels.append(value.cpu())) if self.voicing == "auto" else None
        try:
            with reader, torch.no_grad():
                blocks = self._blocks(
                    reader, framer, total, self.activation.network, on_frames, keep
                )
                for start, value in blocks:
                    decoder.add(start, value)
                f0, periodicity = decoder.finish()
        finally:
            decoder.close()
        arrays = {"f0": f0, "periodicity": periodicity}
        level = torch.cat(levels, dim=-1) if levels else None
        voiced = apply_voicing(self.voicing, periodicity, level)
        if voiced is not None:
            arrays["f0"] = f0.masked_fill(~voiced, math.nan)
            arrays["voiced"] = voiced
        return self._features(path, "pitch", framer, total, arrays)

    def compute(
        self,
        kind: str,
        path: str | os.PathLike[str],
        on_frames: Callable[[int], None] | None = None,
    ) -> Features:
        """``pitch``, ``activation`` or ``embedding`` of one file."""
        check_choice(kind, "kind", tuple(KINDS))
        if kind == "pitch":
            return self.pitch(path, on_frames)
        if kind == "embedding":
            return self.embedding(path, on_frames)
        return self.activations(path, on_frames)
