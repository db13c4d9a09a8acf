"""Picklable, importable helpers for tests/test_concurrency.py.

Spawned DataLoader workers unpickle these by module name, so they live at the top level of a
small module (as tests/_workers.py does for the registry tests).
"""

from __future__ import annotations

import math
import os

import torch
from torch.utils.data import Dataset

from crepe_transforms import CrepePitch, weights

SAMPLE_RATE = 16000


def item_audio(index: int) -> torch.Tensor:
    """Deterministic audio for item ``index``: a seeded tone plus noise, lengths that differ."""
    n = SAMPLE_RATE // 4 + 397 * index
    g = torch.Generator().manual_seed(500 + index)
    t = torch.arange(n, dtype=torch.float64) / SAMPLE_RATE
    f0 = 130.0 * 2 ** (index / 4)
    tone = sum(torch.sin(2 * math.pi * k * f0 * t) / k for k in (1, 2, 3))
    return (0.3 * torch.as_tensor(tone) + 0.01 * torch.randn(n, generator=g)).float()


class PitchDataset(Dataset[dict[str, object]]):
    """Pitch of each item through a fresh ``CrepePitch(16000, "tiny")`` per item.

    Items carry the worker's pid and registry load count so a test can check where each item
    was computed and that every process read the weight file once however many transforms it
    built.
    """

    def __init__(self, n_items: int) -> None:
        self.n_items = n_items

    def __len__(self) -> int:
        return self.n_items

    def __getitem__(self, index: int) -> dict[str, object]:
        with torch.inference_mode():
            pitch = CrepePitch(SAMPLE_RATE, "tiny")(item_audio(index))
        return {
            "index": index,
            "f0": pitch.f0,
            "periodicity": pitch.periodicity,
            "pid": os.getpid(),
            "loads": weights.load_counts().get("tiny", 0),
        }
