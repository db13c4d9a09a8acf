"""The side-by-side end-to-end comparison of ``benchmarks/speed.py``, idle and busy.

``CrepePitch(16000, capacity, decoder="weighted_argmax")`` against
``torchcrepe.predict(..., decoder=weighted_argmax, batch_size=512)`` on the same synthetic
16 kHz melody (10 s for tiny, 3 s for full), the same torch thread count, calls interleaved
repeat by repeat and the best kept. "Busy" runs the same comparison while another process keeps
one core busy (a plain spin loop, as data loading or a second rank would), with default settings
and no environment variables on either side.

The function only uses the API that 0.1 and 0.2 share, so ``PYTHONPATH=<0.1 checkout>`` runs
it against 0.1 for before/after comparisons.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections.abc import Iterator
from typing import Any

import torch
from signals import melody
from timing import best_of

SECONDS = {"tiny": 10.0, "full": 3.0}
HOP = 160


def _spin(stop: Any) -> None:
    while not stop.is_set():
        pass


@contextlib.contextmanager
def one_core_busy() -> Iterator[None]:
    """Another process spinning on one core for the duration."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    process = context.Process(target=_spin, args=(stop,), daemon=True)
    process.start()
    time.sleep(0.5)
    try:
        yield
    finally:
        stop.set()
        process.join(5)
        if process.is_alive():
            process.terminate()


def side_by_side(
    capacities: list[str], threads: int, repeats: int, busy: bool
) -> list[dict[str, Any]]:
    """One row per capacity: seconds for each side and the ratio."""
    import torchcrepe

    from crepe_transforms import CrepePitch

    torch.set_num_threads(threads)
    rows = []
    for capacity in capacities:
        audio = melody(SECONDS[capacity])
        ours = CrepePitch(16000, capacity, decoder="weighted_argmax")

        def crepe_transforms_call(model: Any = ours, x: torch.Tensor = audio) -> object:
            with torch.no_grad():
                return model(x)

        def torchcrepe_call(x: torch.Tensor = audio, model: str = capacity) -> object:
            return torchcrepe.predict(
                x[None],
                16000,
                HOP,
                model=model,
                decoder=torchcrepe.decode.weighted_argmax,
                batch_size=512,
                device="cpu",
            )

        fns = {"crepe_transforms": crepe_transforms_call, "torchcrepe": torchcrepe_call}
        with one_core_busy() if busy else contextlib.nullcontext():
            best = best_of(fns, repeats)
        frames = 1 + audio.shape[-1] // HOP
        rows.append(
            {
                "capacity": capacity,
                "machine": "one core busy" if busy else "idle",
                "seconds of audio": SECONDS[capacity],
                "frames": frames,
                "crepe_transforms s": best["crepe_transforms"],
                "torchcrepe s": best["torchcrepe"],
                "ratio": best["torchcrepe"] / best["crepe_transforms"],
                "crepe_transforms × real time": SECONDS[capacity] / best["crepe_transforms"],
            }
        )
        print(rows[-1], flush=True)
    return rows


def render(rows: list[dict[str, Any]], command: str, info: str) -> str:
    lines = [
        f"Measured by `{command}` ({info}). `CrepePitch(16000, capacity, "
        'decoder="weighted_argmax")` against `torchcrepe.predict(..., decoder=weighted_argmax, '
        "batch_size=512)`, same audio (synthetic 16 kHz melody: 10 s tiny, 3 s full), same torch "
        "threads, default settings and no environment variables; calls interleaved, best kept. "
        '"One core busy": another process spins on one of the cores during the measurement.',
        "",
        "| capacity | machine | crepe_transforms (s) | torchcrepe (s) | × torchcrepe "
        "| × real time |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['capacity']} | {r['machine']} | {r['crepe_transforms s']:.3f} | "
            f"{r['torchcrepe s']:.3f} | {r['ratio']:.1f}× | "
            f"{r['crepe_transforms × real time']:.1f}× |"
        )
    return "\n".join(lines) + "\n"
