"""Picklable, importable helpers for the registry concurrency and map_chunks tests.

Spawned DataLoader workers and ``multiprocessing`` children unpickle these by module name, so
they live at the top level of a small module rather than inside a test function.
"""

from __future__ import annotations

import os

import torch
from torch.utils.data import Dataset

from crepe_transforms import CrepeActivation, weights
from crepe_transforms.model import Crepe, map_chunks
from crepe_transforms.model._parallel import worker_count

N_FRAMES = 3


def item_frames(index: int) -> torch.Tensor:
    """Deterministic input frames for item ``index``."""
    return torch.randn(N_FRAMES, 1024, generator=torch.Generator().manual_seed(1000 + index))


class ActivationDataset(Dataset[dict[str, object]]):
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


# ------------------------------------------------------------------ model.map_chunks

#: Chunk sizes of the map_chunks tests: uneven, so order and placement matter.
CHUNK_SIZES = (5, 1, 7, 3, 6, 2)


def chunk_inputs(seed: int = 0) -> list[torch.Tensor]:
    """Deterministic normalised frames in chunks of :data:`CHUNK_SIZES`."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, 1024, generator=g) for n in CHUNK_SIZES]


def _seeded_tiny() -> Crepe:
    # Built with one intra-op thread: a forked child must not start an OpenMP team (GNU
    # OpenMP is not fork-safe, see load_tiny_in_child).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        return Crepe("tiny")
    finally:
        torch.set_num_threads(threads)


def map_chunks_in_child() -> None:
    """Target of a forked child: map_chunks on two workers must finish and equal a loop."""
    torch.set_num_threads(1)
    net = _seeded_tiny()
    chunks = chunk_inputs()
    expected = [net(c) for c in chunks]
    torch.set_num_threads(2)
    if worker_count(len(chunks), torch.device("cpu")) != 2:
        raise RuntimeError("the child did not use the pool")
    got = map_chunks(net, chunks)
    torch.set_num_threads(1)
    if not all(torch.equal(a, b) for a, b in zip(got, expected, strict=True)):
        raise RuntimeError("map_chunks in the child differs from a one-thread loop")


class ChunkDataset(Dataset[dict[str, object]]):
    """Each item runs a seeded tiny network over :func:`chunk_inputs` with map_chunks on two
    threads (DataLoader workers start with one: the item raises it, then restores it)."""

    def __init__(self, n_items: int) -> None:
        self.n_items = n_items

    def __len__(self) -> int:
        return self.n_items

    def __getitem__(self, index: int) -> dict[str, object]:
        net = _seeded_tiny()
        chunks = chunk_inputs(seed=index)
        threads = torch.get_num_threads()
        torch.set_num_threads(2)
        try:
            workers = worker_count(len(chunks), torch.device("cpu"))
            with torch.no_grad():
                outputs = map_chunks(net, chunks)
        finally:
            torch.set_num_threads(threads)
        return {"index": index, "outputs": outputs, "workers": workers}
