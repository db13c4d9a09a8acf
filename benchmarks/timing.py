"""The one timing rule of the benchmarks: interleaved calls, best repeat kept."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def sync(device: str) -> None:
    """Wait for queued CUDA work, so a timer reads what the device did."""
    if device == "cuda":
        torch.cuda.synchronize()


def best_of(
    fns: dict[str, Callable[[], object]],
    repeats: int,
    device: str = "cpu",
    warmup: dict[str, Callable[[], object]] | None = None,
) -> dict[str, float]:
    """Best wall time of each function, calls interleaved repeat by repeat, after one warm-up
    call each (``warmup[name]`` when given: a short input loads weights, JITs and caches)."""
    best = dict.fromkeys(fns, float("inf"))
    for name, fn in fns.items():
        (warmup or {}).get(name, fn)()
    for _ in range(repeats):
        for name, fn in fns.items():
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            best[name] = min(best[name], time.perf_counter() - start)
    return best
