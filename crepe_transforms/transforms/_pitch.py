"""``CrepePitch``: audio → pitch, from ``CrepeFrames``, ``CrepeActivation``, ``CrepeDecode``."""

from __future__ import annotations

import math
from typing import Any

import torch

from .._eager import eager
from .._settings import Configurable
from .._tables import BLOCK_FRAMES, PITCH, VOICING
from ..constants import N_BINS
from ..functional import Pitch, num_frames
from ..functional._internal import Voicing, apply_voicing, check_voicing_rule
from ._activation import CrepeActivation
from ._composite import Composite
from ._decode import CrepeDecode
from ._engine import DEFAULT_BLOCK_FRAMES, TensorSignal, check_block_frames, run_blocks
from ._frames import CrepeFrames, PreparedAudio

__all__ = ["BLOCK_FRAMES", "VOICING", "CrepePitch", "PitchComposite", "check_block_frames"]

#: The parts of a ``CrepePitch``, in pipeline order: every option belongs to one of them.
PITCH_PARTS: tuple[tuple[str, type[Configurable]], ...] = (
    ("frames", CrepeFrames),
    ("activation", CrepeActivation),
    ("decode", CrepeDecode),
)


class PitchComposite(Composite):
    """A composite of :class:`CrepeFrames` → :class:`CrepeActivation` → :class:`CrepeDecode`
    (``CrepePitch``, ``CrepeStream``)."""

    PARTS = PITCH_PARTS
    frames: CrepeFrames
    activation: CrepeActivation
    decode: CrepeDecode
    OPTIONAL_PARTS = ("decode",)


class CrepePitch(PitchComposite):
    """Audio → pitch: :class:`CrepeFrames` → :class:`CrepeActivation` → :class:`CrepeDecode`.

    Built from its three parts, which own every option: ``CrepePitch(16000, "tiny", fmin=50,
    hop_length=64)`` hands ``fmin`` to the decoder and ``hop_length`` to the framing, and
    :meth:`from_parts` takes parts you built. The parts stay reachable as ``.frames``,
    ``.activation`` and ``.decode``.

    Memory stays bounded on long input: frames are cut and run through the network
    ``block_frames`` at a time (the block engine), only the activations (360 floats a frame)
    are kept, then one decode runs over all frames (Viterbi is never restarted). With
    ``lengths``, frames past each item's end are not computed at all. Each item's frames meet
    the network in the same chunks as ``nn.Sequential(frames, activation, decode)`` on that
    item, so the output is bit-identical to it and to any other ``block_frames``.

    Decoded pitch carries no gradient (the decoder picks bins): audio that requires grad is
    accepted and detached. For a differentiable pitch, use :class:`CrepeActivation` and
    :class:`CrepeSoftDecode`.

    Args:
        sample_rate: rate of the input audio in Hz (:class:`CrepeFrames`).
        capacity: CREPE model size, ``"tiny"`` … ``"full"`` (:class:`CrepeActivation`).
        voicing: ``None`` (default: f0 on every frame), ``"auto"`` (frames that are not
            judged unvoiced by the shipped voicing head on periodicity and relative level get f0
            ``NaN``: pauses, breath, room tone, reverberant tails; level-invariant; see
            ``docs/voicing.md``) or a periodicity
            threshold in ``[0, 1]`` below which f0 becomes ``NaN``.
        block_frames: frames computed per block (memory bound).
        **options: any option of :class:`CrepeFrames` (``hop_length``, ``resample``,
            ``normalization``), :class:`CrepeActivation` (``chunk_size``, ``weights``,
            ``sha256``, ``pretrained``, ``verify``, ``algorithm``, ``precision``) or
            :class:`CrepeDecode` (``decoder``, ``fmin``, ``fmax``, ``hmm``, ``backend``).

    Shape:
        - waveform: ``(..., time)``; lengths (optional): ``(...)`` valid samples per item
        - output: ``Pitch(f0, periodicity)``, each ``(..., 1 + time // hop_length)``, in the
          network's dtype (float32 unless moved)

    Example:
        >>> model = CrepePitch(16000, "tiny", voicing=0.5, pretrained=False)
        >>> model.extra_repr(), list(dict(model.named_children()))
        ('voicing=0.5', ['frames', 'activation', 'decode'])
        >>> model(torch.randn(3, 4000)).f0.shape
        torch.Size([3, 26])
    """

    SETTINGS = PITCH

    def __init__(
        self,
        sample_rate: int,
        capacity: str = "full",
        *,
        voicing: Voicing = None,
        block_frames: int = DEFAULT_BLOCK_FRAMES,
        **options: Any,
    ) -> None:
        super().__init__()
        self._configure(voicing=voicing, block_frames=block_frames)
        self._build_parts({"sample_rate": sample_rate, "capacity": capacity, **options})

    def _configure(self, *, voicing: object, block_frames: object) -> None:
        self.voicing = check_voicing_rule(voicing)
        self.block_frames = check_block_frames(block_frames)

    def _activations(
        self, prepared: PreparedAudio, levels: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Activations of every row, ``(rows, frames, 360)``, the rows' valid frames, and (with
        ``levels``) every frame's level in dB before normalisation, ``(rows, frames)``."""
        rows = prepared.audio_16k.shape[0]
        total = int(num_frames(prepared.time, self.frames.hop_length))
        if prepared.lengths is None:
            frame_lengths = None
            valid = [total] * rows
        else:
            frame_lengths = num_frames(prepared.lengths, self.frames.hop_length)
            valid = frame_lengths.tolist()
        dtype = self.activation.dtype
        level_parts: list[torch.Tensor] = []
        blocks = run_blocks(
            TensorSignal(prepared.audio_16k),
            self.frames.plan,
            valid,
            total,
            self.activation.network,
            self.activation.frames_per_call(),
            self.block_frames,
            dtype=dtype,
            on_levels=(lambda _, value: level_parts.append(value)) if levels else None,
        )
        out: torch.Tensor | None = None
        for start, value in blocks:
            if start == 0 and value.shape[1] == total:
                out = value  # one block: nothing to gather
                break
            if out is None:  # filled in place: no second copy of all activations
                out = value.new_zeros((rows, total, N_BINS))
            out[:, start : start + value.shape[1]] = value
        if out is None:  # a batch without rows
            out = prepared.audio_16k.new_zeros((rows, total, N_BINS), dtype=dtype)
        level = torch.cat(level_parts, dim=-1) if level_parts else None
        return out, frame_lengths, level

    def decide(
        self, prepared: PreparedAudio
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Decode a prepared batch: ``(f0, periodicity, voiced, frame_lengths)`` as rows.

        ``voiced`` is the voicing rule's decision (``None`` without a rule); f0 is not masked
        here. The inside of ``forward``, shared with the conditioner.
        """
        auto = self.voicing == "auto"
        activation, frame_lengths, level = self._activations(prepared, levels=auto)
        f0, periodicity = self.decode.decode(activation, frame_lengths)
        voiced = apply_voicing(self.voicing, periodicity, level, frame_lengths)
        return f0, periodicity, voiced, frame_lengths

    @eager
    def activations(
        self, waveform: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Network activations of every frame, computed block by block (no gradient).

        Frames past an item's length are zeros.

        Shape:
            ``(..., time)`` → ``(..., 1 + time // hop_length, 360)``
        """
        with torch.no_grad():
            prepared = self.frames.prepare(waveform.detach(), lengths)
            out, _, _ = self._activations(prepared)
        return out.reshape(*prepared.shape, *out.shape[1:])

    @eager
    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor | None = None) -> Pitch:
        with torch.no_grad():
            prepared = self.frames.prepare(
                waveform.detach() if isinstance(waveform, torch.Tensor) else waveform, lengths
            )
            f0, periodicity, voiced, _ = self.decide(prepared)
            if voiced is not None:
                f0 = f0.masked_fill(~voiced, math.nan)
        frames = f0.shape[-1]
        return Pitch(
            f0.reshape(*prepared.shape, frames), periodicity.reshape(*prepared.shape, frames)
        )
