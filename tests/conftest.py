"""Shared test fixtures: reference data location and synthetic signals with known f0."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from _fixtures import ENV_FIXTURES, fixtures_root


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    path = fixtures_root()
    # A missing fixture is a failure, not a skip: parity must never pass vacuously.
    if not (path / "frames-crepe.npy").is_file():
        pytest.fail(
            f"reference fixtures not found at {path}; set {ENV_FIXTURES} to the fixtures folder"
        )
    return path


def make_tone(
    f0: float,
    seconds: float,
    sr: int,
    harmonics: int = 5,
    amplitude: float = 0.5,
    seed: int = 0,
) -> torch.Tensor:
    """Harmonic tone with 1/k amplitudes, random (seeded) phases, float32, shape (time,)."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sr)) / sr
    out = np.zeros_like(t)
    for k in range(1, harmonics + 1):
        if k * f0 < sr / 2:
            out += np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) / k
    out *= amplitude / np.abs(out).max()
    return torch.from_numpy(out.astype(np.float32))


@pytest.fixture
def tone() -> Callable[..., torch.Tensor]:
    return make_tone


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Run with one intra-op thread: on a shared 2-core machine small ops only wait on barriers."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
