"""Random-init torchcrepe-layout weight files for the registry's bad-input and safety tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from crepe_transforms.model import expected_shapes


def random_state(capacity: str = "tiny", seed: int = 0) -> dict[str, torch.Tensor]:
    """A seeded random state dict with the shapes of ``capacity`` (positive variances)."""
    gen = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for key, shape in expected_shapes(capacity).items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0, dtype=torch.long)
        elif key.endswith("running_var"):
            state[key] = 0.5 + torch.rand(shape, generator=gen)
        else:
            state[key] = torch.randn(shape, generator=gen) * 0.01
    return state


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_state(path: Path, capacity: str = "tiny", seed: int = 0) -> str:
    """Write a random ``capacity`` state dict to ``path``; return its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(random_state(capacity, seed), path)
    return sha256_of(path)


def truncate_file(path: Path, keep: float = 0.5) -> Path:
    """Cut ``path`` to ``keep`` of its bytes (an interrupted copy)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path
