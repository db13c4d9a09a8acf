"""The decoding transforms: :class:`CrepeDecode` and the end-to-end :class:`CrepePitch`."""

from __future__ import annotations

import os

import torch
from torch import nn

from . import decode as D
from .checks import (
    check_audio,
    check_choice,
    check_lengths,
    check_positive_int,
    check_threshold,
)
from .constants import N_BINS
from .decode import DECODERS, Pitch, admitted_bins
from .transforms import DEFAULT_CHUNK_SIZE, CrepeActivation, CrepeFrames
from .viterbi import CREPE_HMM, DEFAULT_HMM, HMM, log_transition, resolve_hmm
from .voicing import threshold as apply_threshold

__all__ = ["DEFAULT_BLOCK_FRAMES", "CrepeDecode", "CrepePitch"]

#: Frames cut from the audio at a time by :class:`CrepePitch` (4 MB of float32 frames).
DEFAULT_BLOCK_FRAMES = 1024

_BACKENDS = ("auto", "numba", "torch")


class CrepeDecode(nn.Module):
    """Activations → :class:`~crepe_transforms.decode.Pitch` (f0 in Hz, periodicity).

    Args:
        method: ``"viterbi"`` (default), ``"weighted_argmax"`` (original CREPE local average)
            or ``"argmax"``.
        fmin, fmax: admitted range in Hz: only bins whose centre lies in ``[fmin, fmax]`` are
            considered (:func:`~crepe_transforms.decode.admitted_bins`); None for no limit.
        hmm: Viterbi configuration: ``"default"``, ``"crepe"`` (the original CREPE HMM) or a
            :class:`~crepe_transforms.viterbi.HMM`.
        backend: Viterbi kernel: ``"auto"``, ``"numba"`` (CPU) or ``"torch"``; same path.

    Shape:
        - activation: ``(..., frames, 360)``; lengths (optional): ``(...)`` valid frames
        - output: ``Pitch(frequency, periodicity)``, each ``(..., frames)``; frames past an
          item's length hold ``NaN`` and ``0``

    Example:
        >>> from crepe_transforms import CrepeActivation, CrepeFrames
        >>> pipeline = nn.Sequential(
        ...     CrepeFrames(16000), CrepeActivation("tiny", pretrained=False), CrepeDecode()
        ... )
        >>> pitch = pipeline(torch.randn(2, 8000))
        >>> pitch.frequency.shape, pitch.periodicity.shape
        (torch.Size([2, 51]), torch.Size([2, 51]))
        >>> CrepeDecode("weighted_argmax", fmin=50.0)
        CrepeDecode(method='weighted_argmax', fmin=50.0)
    """

    transition: torch.Tensor | None

    def __init__(
        self,
        method: str = "viterbi",
        fmin: float | None = None,
        fmax: float | None = None,
        hmm: HMM | str = "default",
        backend: str = "auto",
    ) -> None:
        super().__init__()
        self.method = check_choice(method, "method", DECODERS)
        low, high = admitted_bins(fmin, fmax)
        self.fmin = None if fmin is None else float(fmin)
        self.fmax = None if fmax is None else float(fmax)
        self.hmm = resolve_hmm(hmm)
        self.backend = check_choice(backend, "backend", _BACKENDS)
        table = log_transition(high - low + 1, self.hmm) if self.method == "viterbi" else None
        self.register_buffer("transition", table, persistent=False)

    def extra_repr(self) -> str:
        parts = [] if self.method == "viterbi" else [f"method={self.method!r}"]
        parts += [f"{k}={v!r}" for k, v in (("fmin", self.fmin), ("fmax", self.fmax)) if v]
        if self.method == "viterbi" and self.hmm != DEFAULT_HMM:
            parts.append("hmm='crepe'" if self.hmm == CREPE_HMM else f"hmm={self.hmm!r}")
        if self.backend != "auto":
            parts.append(f"backend={self.backend!r}")
        return ", ".join(parts)

    def forward(self, activation: torch.Tensor, lengths: torch.Tensor | None = None) -> Pitch:
        if self.method != "viterbi":
            return D.decode(activation, self.method, self.fmin, self.fmax, lengths)
        table = self.transition
        # module.to(dtype) may have rounded the float64 table: rebuild it rather than decode
        # a slightly different HMM.
        if table is not None and table.dtype != torch.float64:
            table = None
        return D.viterbi(activation, self.fmin, self.fmax, lengths, self.hmm, self.backend, table)


class CrepePitch(nn.Module):
    """Audio → pitch: :class:`CrepeFrames` → :class:`CrepeActivation` → :class:`CrepeDecode`.

    Memory stays bounded on long input: frames are cut and run through the network
    ``block_frames`` at a time, only the activations (360 floats a frame) are kept, then one
    decode runs over all frames (Viterbi is never restarted). The network always sees the same
    ``chunk_size`` groups of frames as the unchunked ``nn.Sequential(frames, activation,
    decode)``, so the output is bit-identical to it and to any other ``block_frames``.

    Args:
        sample_rate: rate of the input audio in Hz.
        capacity: CREPE model size (``"tiny"`` … ``"full"``).
        hop_length: hop in input samples; default ``sample_rate // 100`` (10 ms).
        decoder: ``"viterbi"``, ``"weighted_argmax"`` or ``"argmax"``.
        fmin, fmax: admitted pitch range in Hz (see :class:`CrepeDecode`).
        threshold: periodicity below which f0 becomes NaN; None keeps every frame.
        hmm, backend: Viterbi options (see :class:`CrepeDecode`).
        resample, normalization: as :class:`CrepeFrames`.
        chunk_size, weights, sha256, pretrained: as :class:`CrepeActivation`.
        block_frames: frames cut from the audio at a time, rounded down to a multiple of
            ``chunk_size`` (at least one chunk).
        algorithm, precision: the network's convolution algorithm (``"fft"``/``"direct"``) and
            matrix-product precision (``"fp32"``/``"bf16"``/``"fp16"``), as
            :class:`CrepeActivation`.

    Shape:
        - waveform: ``(..., time)``; lengths (optional): ``(...)`` valid samples per item
        - output: ``Pitch(frequency, periodicity)``, each ``(..., 1 + time // hop_length)``

    Example:
        >>> model = CrepePitch(16000, "tiny", threshold=0.5, pretrained=False)
        >>> model.extra_repr(), list(dict(model.named_children()))
        ('threshold=0.5', ['frames', 'activation', 'decode'])
        >>> model(torch.randn(3, 4000)).frequency.shape
        torch.Size([3, 26])
    """

    def __init__(
        self,
        sample_rate: int,
        capacity: str = "full",
        hop_length: int | None = None,
        decoder: str = "viterbi",
        fmin: float | None = None,
        fmax: float | None = None,
        threshold: float | None = None,
        hmm: HMM | str = "default",
        backend: str = "auto",
        resample: str = "resampy",
        normalization: str = "crepe",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        weights: str | os.PathLike[str] | None = None,
        sha256: str | None = None,
        pretrained: bool = True,
        block_frames: int = DEFAULT_BLOCK_FRAMES,
        *,
        algorithm: str = "fft",
        precision: str = "fp32",
    ) -> None:
        super().__init__()
        self.threshold = check_threshold(threshold)
        self.block_frames = check_positive_int(
            block_frames, "block_frames", f" e.g. block_frames={DEFAULT_BLOCK_FRAMES}."
        )
        # validate before loading weights; CrepeDecode calls this option "method"
        decoder = check_choice(decoder, "decoder", DECODERS)
        decode = CrepeDecode(decoder, fmin, fmax, hmm, backend)
        self.frames = CrepeFrames(sample_rate, hop_length, resample, normalization)
        self.activation = CrepeActivation(
            capacity,
            chunk_size,
            weights,
            sha256,
            pretrained,
            algorithm=algorithm,
            precision=precision,
        )
        self.decode = decode

    def extra_repr(self) -> str:
        parts = [] if self.threshold is None else [f"threshold={self.threshold}"]
        if self.block_frames != DEFAULT_BLOCK_FRAMES:
            parts.append(f"block_frames={self.block_frames}")
        return ", ".join(parts)

    def activations(
        self, waveform: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Network activations of every frame, computed block by block.

        Shape:
            ``(..., time)`` → ``(..., 1 + time // hop_length, 360)``
        """
        waveform = check_audio(waveform)
        audio_16k = self.frames.resample_audio(waveform, lengths)
        shape, time = tuple(waveform.shape[:-1]), waveform.shape[-1]
        flat_audio = waveform.reshape(-1, time)
        flat_16k = audio_16k.reshape(-1, audio_16k.shape[-1])
        total = int(self.frames.num_frames(time))
        count = flat_audio.shape[0] * total
        chunk = self.activation.chunk_size
        block = max(1, self.block_frames // chunk) * chunk
        out: torch.Tensor | None = None
        # Blocks tile the item-major flat frame index exactly as CrepeActivation's own chunks
        # tile nn.Sequential's flattened frames: same network batches, same bits.
        for start in range(0, count, block):
            stop = min(start + block, count)
            pieces = [
                self.frames(
                    flat_audio[item],
                    start_frame=max(start - item * total, 0),
                    n_frames=min(stop - item * total, total) - max(start - item * total, 0),
                    audio_16k=flat_16k[item],
                )
                for item in range(start // total, (stop - 1) // total + 1)
            ]
            activation = self.activation(torch.cat(pieces))
            if out is None:  # filled in place: no second copy of all activations
                out = activation.new_empty((count, N_BINS))
            out[start:stop] = activation
        if out is None:  # a batch without items
            out = flat_audio.new_empty((0, N_BINS))
        return out.reshape(*shape, total, N_BINS)

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor | None = None) -> Pitch:
        waveform = check_audio(waveform)
        if lengths is not None:
            lengths = check_lengths(lengths, tuple(waveform.shape[:-1]), waveform.shape[-1])
        activation = self.activations(waveform, lengths)
        frame_lengths = None if lengths is None else self.frames.num_frames(lengths)
        pitch: Pitch = self.decode(activation, frame_lengths)
        if self.threshold is None:
            return pitch
        frequency = apply_threshold(pitch.frequency, pitch.periodicity, self.threshold)
        return Pitch(frequency, pitch.periodicity)
