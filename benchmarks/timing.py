"""The one timing rule of the benchmarks (interleaved calls, best repeat kept) and the one
description of the machine a number was measured on."""

from __future__ import annotations

import datetime
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def best_time(fn: Callable[[], object], repeats: int, device: str = "cpu") -> float:
    """Best wall time of one function over ``repeats`` calls, after one warm-up call."""
    return best_of({"fn": fn}, repeats, device)["fn"]


def machine(threads: int) -> dict[str, Any]:
    """The machine a measurement ran on: CPU model and flags, cores, torch threads and
    version, load average before, date."""
    cpu = platform.processor() or platform.machine()
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and cpu in ("", platform.machine(), "x86_64"):
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "avx512_bf16": "avx512_bf16" in flags,
        "threads": threads,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load before": os.getloadavg(),
        "date": datetime.datetime.now().isoformat(timespec="minutes"),
    }


def machine_text(threads: int | None = None) -> str:
    """:func:`machine` as one phrase for a results file, with the load average *now* (after
    the measurement when called at its end)."""
    info = machine(threads or 0)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    used = f", {threads} torch thread(s)" if threads else ""
    return (
        f"{info['cpu']}, {info['cores']} cores{used}, torch {info['torch']}, {info['date']}; "
        f"load average after: {load}"
    )


def push_stream(stream: Any, audio: torch.Tensor, chunk: int) -> tuple[float, float, list[float]]:
    """Push ``audio`` into a reset stream ``chunk`` samples at a time, then flush: wall
    seconds, process CPU seconds and each push's wall seconds (the streams' one timing rule)."""
    pushes = []
    stream.reset()
    wall, cpu = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        for part in audio.split(chunk, dim=-1):
            start = time.perf_counter()
            stream.push(part)
            pushes.append(time.perf_counter() - start)
        stream.flush()
    return time.perf_counter() - wall, time.process_time() - cpu, pushes
