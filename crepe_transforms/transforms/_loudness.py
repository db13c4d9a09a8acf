"""``CrepeLoudness``: audio → A-weighted loudness, frame-aligned with CREPE pitch."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_hop_length, check_sample_rate
from .._settings import Configurable
from .._tables import LOUDNESS
from ..constants import DEFAULT_FLOOR_DB
from ..functional import a_weighted_loudness
from ..functional._internal import check_floor_db, loudness_tables

__all__ = ["CrepeLoudness"]


class CrepeLoudness(Configurable, nn.Module):
    """Audio → A-weighted loudness in absolute dB, one value per CREPE frame.

    Uses the same ``sample_rate``/``hop_length`` convention as :class:`CrepeFrames`, so
    ``CrepeLoudness(sr)(x)`` and ``CrepePitch(sr)(x).f0`` have the same shape and frame times.
    Differentiable with respect to the audio.

    Args:
        sample_rate: rate of the input audio in Hz.
        hop_length: hop in input samples; default ``sample_rate // 100`` (10 ms).
        floor_db: value of digital silence, dB re full scale.

    Shape:
        - waveform: ``(..., time)``; lengths (optional): ``(...)`` valid samples per item
        - output: ``(..., 1 + time // hop_length)``, float32 (float64 for float64 input);
          ``NaN`` past an item's length

    Example:
        >>> loudness = CrepeLoudness(22050)
        >>> loudness(torch.zeros(2, 22050)).shape
        torch.Size([2, 101])
        >>> float(loudness(torch.zeros(22050))[0])
        -120.0
    """

    SETTINGS = LOUDNESS

    weights: torch.Tensor
    window: torch.Tensor

    def __init__(
        self, sample_rate: int, hop_length: int | None = None, floor_db: float = DEFAULT_FLOOR_DB
    ) -> None:
        super().__init__()
        self.sample_rate = check_sample_rate(sample_rate)
        self.hop_length = check_hop_length(hop_length, self.sample_rate)
        self.floor_db = check_floor_db(floor_db)
        weights, window = loudness_tables(self.sample_rate)
        self.register_buffer("weights", weights, persistent=False)
        self.register_buffer("window", window, persistent=False)

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return a_weighted_loudness(
            waveform,
            self.sample_rate,
            self.hop_length,
            lengths,
            self.floor_db,
            self.weights,
            self.window,
        )
