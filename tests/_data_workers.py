"""Picklable, importable helpers for the DataLoader and feature-cache tests.

Spawned workers and ``multiprocessing`` children unpickle these by module name, so they live
at the top level of a small module rather than inside a test function.
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch
from torch.utils.data import Dataset

from crepe_transforms import weights
from crepe_transforms.train import CrepeCollate, FeatureCache


def harmonic(f0: float, n_samples: int, sample_rate: int, seed: int) -> torch.Tensor:
    """Seeded three-harmonic tone with a little noise, float32 ``(n_samples,)``."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(n_samples, dtype=torch.float64) / sample_rate
    phases = 2 * math.pi * torch.rand(3, generator=gen, dtype=torch.float64)
    out = sum(
        torch.sin(2 * math.pi * k * f0 * t + phases[k - 1]) / k
        for k in (1, 2, 3)
        if k * f0 < sample_rate / 2
    )
    out = 0.4 * torch.as_tensor(out) + 0.01 * torch.randn(n_samples, generator=gen)
    return out.float()


class ToneItems(Dataset[dict[str, Any]]):
    """``n`` dict items ``{"audio", "sample_rate", "id", "name"}`` of different lengths.

    ``version`` changes every item's audio (for the content-change test).
    """

    def __init__(self, n: int, sample_rate: int = 16000, version: int = 0) -> None:
        self.n, self.sample_rate, self.version = n, sample_rate, version

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, Any]:
        n_samples = self.sample_rate // 5 + 731 * index  # 0.2 s and up, no hop multiple
        f0 = 110.0 * 2 ** (index / 5)
        audio = harmonic(f0, n_samples, self.sample_rate, seed=100 * self.version + index)
        return {"audio": audio, "sample_rate": self.sample_rate, "id": index, "name": f"t{index}"}


class ReportingCollate(CrepeCollate):
    """A ``CrepeCollate`` whose batches say which process made them and how often that
    process read the tiny weights from disk."""

    def __call__(self, batch: Any) -> dict[str, Any]:
        out = super().__call__(batch)
        out["pid"] = os.getpid()
        out["loads"] = weights.load_counts().get("tiny", 0)
        return out


def fill_cache(cache: FeatureCache, start: Any) -> None:
    """Target of a child process: read every item of ``cache`` once, in order.

    ``start`` is a multiprocessing event that releases all children together, so they miss
    (and write) the same entries at the same time.
    """
    torch.set_num_threads(1)  # as DataLoader workers do (GNU OpenMP is not fork-safe)
    start.wait(60)
    for index in range(len(cache)):
        cache[index]
