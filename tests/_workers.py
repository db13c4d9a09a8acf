"""Picklable, importable helpers for the registry concurrency tests.

Spawned DataLoader workers and ``multiprocessing`` children unpickle these by module name, so
they live at the top level of a small module rather than inside a test function.
"""

from __future__ import annotations

import os

import torch
from torch.utils.data import Dataset

from crepe_transforms import weights
from crepe_transforms.transforms import CrepeActivation

N_FRAMES = 3


def item_frames(index: int) -> torch.Tensor:
    """Deterministic input frames for item ``index``."""
    return torch.randn(N_FRAMES, 1024, generator=torch.Generator().manual_seed(1000 + index))


class ActivationDataset(Dataset):
    """Builds a fresh ``CrepeActivation("tiny")`` in every ``__getitem__``.

    Each item reports the activation plus the worker's pid and registry load count, so a test
    can check that every worker read the weight file at most once however many transforms it
    built.
    """

    def __init__(self, n_items: int) -> None:
        self.n_items = n_items

    def __len__(self) -> int:
        return self.n_items

    def __getitem__(self, index: int) -> dict[str, object]:
        activation = CrepeActivation("tiny")(item_frames(index))
        return {
            "index": index,
            "activation": activation,
            "pid": os.getpid(),
            "loads": weights.load_counts().get("tiny", 0),
        }


def load_tiny_in_child() -> None:
    """Target of a forked child: load tiny through the registry; raise if anything is off.

    A non-zero exit code (an exception) or a hang (a lock inherited in the held state) fails
    the calling test.
    """
    # As DataLoader workers do: GNU OpenMP is not fork-safe, so a forked child whose parent
    # already ran parallel kernels hangs in its first parallel tensor op (a torch limitation,
    # unrelated to the registry lock this child is here to test).
    torch.set_num_threads(1)
    CrepeActivation("tiny")
    counts = weights.load_counts()
    if counts != {"tiny": 1}:
        raise RuntimeError(f"expected one load of tiny in the child, got {counts}")
