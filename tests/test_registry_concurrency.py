"""The weight registry under threads, forked and spawned DataLoader workers, and fork-with-lock.

Weights are a random-init tiny state dict installed into a private user cache; the environment
variables are set with monkeypatch, so forked and spawned children inherit the same places.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from _workers import ActivationDataset, item_frames, load_tiny_in_child
from torch.utils.data import DataLoader

import crepe_transforms.weights._registry as registry
from crepe_transforms import CrepeActivation, weights
from crepe_transforms.model import expected_shapes

N_THREADS = 8
N_ITEMS = 6


def random_tiny_state(seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in expected_shapes("tiny").items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0, dtype=torch.long)
        elif key.endswith("running_var"):
            state[key] = 0.5 + torch.rand(shape, generator=gen)  # positive variances
        else:
            fan_in = max(1, torch.Size(shape[1:]).numel())
            state[key] = torch.randn(shape, generator=gen) / fan_in**0.5
    return state


@pytest.fixture(autouse=True)
def cached_tiny(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Random tiny weights installed in a private cache; in-process cache cleared around."""
    monkeypatch.setenv("CREPE_TRANSFORMS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CREPE_TRANSFORMS_WEIGHTS", raising=False)
    weights.clear_cache()
    path = weights.install_state_dict("tiny", random_tiny_state(seed=21), source="unit test")
    yield path
    weights.clear_cache()


def test_threads_share_one_load_and_agree():
    barrier = threading.Barrier(N_THREADS, timeout=30)
    x = item_frames(0)

    def work(_: int) -> torch.Tensor:
        barrier.wait()  # all threads construct at once
        return CrepeActivation("tiny")(x)

    with ThreadPoolExecutor(N_THREADS) as pool:
        outputs = [f.result(timeout=60) for f in [pool.submit(work, i) for i in range(N_THREADS)]]
    assert weights.load_counts() == {"tiny": 1}
    for out in outputs[1:]:
        # Same weights, same input, same kernels: bit-identical.
        torch.testing.assert_close(out, outputs[0], rtol=0, atol=0)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_dataloader_workers_load_once_and_match_the_main_process(context: str):
    dataset = ActivationDataset(N_ITEMS)
    expected = [dataset[i]["activation"] for i in range(N_ITEMS)]
    assert weights.load_counts() == {"tiny": 1}
    # Empty the parent's cache so forked workers cannot inherit it: each must load by itself.
    weights.clear_cache()

    loader = DataLoader(
        dataset,
        batch_size=None,
        num_workers=2,
        multiprocessing_context=context,
        timeout=120,
    )
    items = list(loader)

    assert [item["index"] for item in items] == list(range(N_ITEMS))
    for item in items:
        # Workers run with one intra-op thread; the CPU kernels may split the work
        # differently from the main process, so allow float32 rounding (outputs are in [0, 1]).
        torch.testing.assert_close(item["activation"], expected[item["index"]], rtol=0, atol=1e-6)
    assert len({item["pid"] for item in items}) == 2  # both workers did work
    # Every worker built one transform per item but read the file exactly once.
    assert [item["loads"] for item in items] == [1] * N_ITEMS
    assert weights.load_counts() == {}  # the parent did not load again


def test_fork_while_another_thread_holds_the_lock_does_not_deadlock():
    weights.clear_cache()
    held, release = threading.Event(), threading.Event()
    lock = registry._lock

    def hold() -> None:
        with lock:
            held.set()
            release.wait(timeout=60)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        assert held.wait(timeout=10)
        child = multiprocessing.get_context("fork").Process(target=load_tiny_in_child)
        child.start()
        child.join(timeout=30)
        hung = child.is_alive()
        if hung:
            child.kill()
            child.join(timeout=10)
    finally:
        release.set()
        holder.join(timeout=10)
    assert not hung, "the forked child deadlocked on the registry lock"
    assert child.exitcode == 0
    # The parent's registry still works once the holder let go.
    CrepeActivation("tiny")
    assert weights.load_counts() == {"tiny": 1}
