"""``CrepeEmbedding``: audio → CREPE block-5 embeddings, a frozen feature layer."""

from __future__ import annotations

from typing import Any

import torch

from .._checks import check_choice
from .._eager import eager
from .._settings import Configurable
from .._tables import EMBEDDING, EMBEDDING_LAYOUTS
from ..constants import EMBEDDING_ROWS
from ..functional import num_frames
from ._activation import CrepeActivation
from ._composite import Composite
from ._engine import DEFAULT_BLOCK_FRAMES, TensorSignal, check_block_frames, run_blocks
from ._frames import CrepeFrames

__all__ = ["EMBEDDING_LAYOUTS", "CrepeEmbedding"]


EMBEDDING_PARTS: tuple[tuple[str, type[Configurable]], ...] = (
    ("frames", CrepeFrames),
    ("activation", CrepeActivation),
)


class CrepeEmbedding(Composite):
    """Audio → CREPE block-5 embeddings, a frozen feature layer.

    Built from a :class:`CrepeFrames` and a :class:`CrepeActivation` (``.frames``,
    ``.activation``), which own their options. Long inputs run through the block engine, so
    memory stays bounded; with ``lengths`` frames past each item's end are zeros and are not
    computed. Gradients flow to the audio when it requires grad (CREPE itself stays frozen),
    except through the numpy resampler (``resample="resampy"`` at rates other than 16 kHz),
    which raises: use ``resample="torchaudio"`` there.

    Args:
        sample_rate: input rate in Hz (:class:`CrepeFrames`).
        capacity: CREPE model size (:class:`CrepeActivation`).
        layout: ``"torchcrepe"`` (default): ``(..., frames, 32, E)`` with E = 64 (full) or 8
            (tiny), torchcrepe's ``embed`` layout, a plain reshape of the channel-major block-5
            output; ``"channels"``: ``(..., frames, C5, 8)``, channels by the 8 positions.
        block_frames: frames computed per block (memory bound).
        **options: any option of :class:`CrepeFrames` or :class:`CrepeActivation`.

    Shape:
        - waveform ``(..., time)``, lengths ``(...)`` optional
        - output ``(..., frames, 32, E)`` or ``(..., frames, C5, 8)``

    Example:
        >>> emb = CrepeEmbedding(16000, "tiny", pretrained=False)
        >>> emb(torch.randn(2, 16000)).shape
        torch.Size([2, 101, 32, 8])
    """

    SETTINGS = EMBEDDING

    PARTS = EMBEDDING_PARTS
    frames: CrepeFrames
    activation: CrepeActivation

    def __init__(
        self,
        sample_rate: int,
        capacity: str = "full",
        *,
        layout: str = "torchcrepe",
        block_frames: int = DEFAULT_BLOCK_FRAMES,
        **options: Any,
    ) -> None:
        super().__init__()
        self._configure(layout=layout, block_frames=block_frames)
        self._build_parts({"sample_rate": sample_rate, "capacity": capacity, **options})

    def _configure(self, *, layout: object, block_frames: object) -> None:
        self.layout = check_choice(layout, "layout", EMBEDDING_LAYOUTS)
        self.block_frames = check_block_frames(block_frames)

    @eager
    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        prepared = self.frames.prepare(waveform, lengths)
        rows = prepared.audio_16k.shape[0]
        total = int(num_frames(prepared.time, self.frames.hop_length))
        valid = (
            [total] * rows
            if prepared.lengths is None
            else num_frames(prepared.lengths, self.frames.hop_length).tolist()
        )
        needs_grad = self.activation.needs_grad(prepared.audio_16k)
        with torch.set_grad_enabled(needs_grad):
            blocks = [
                value
                for _, value in run_blocks(
                    TensorSignal(prepared.audio_16k),
                    self.frames.plan,
                    valid,
                    total,
                    self.activation.network.embed,
                    self.activation.frames_per_call(),
                    self.block_frames,
                    dtype=self.activation.dtype,
                )
            ]
        emb = torch.cat(blocks, dim=1) if len(blocks) > 1 else blocks[0]
        emb = emb.reshape(*prepared.shape, *emb.shape[1:])
        if self.layout == "channels":
            return emb
        return emb.reshape(*emb.shape[:-2], EMBEDDING_ROWS, -1)
