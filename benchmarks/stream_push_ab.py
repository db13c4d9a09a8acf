"""Streams of 10 ms pushes, checkouts side by side in one process (before/after a change).

Each checkout's ``crepe_transforms`` is copied under its own name into a temporary folder
(the package imports itself relatively only), so every version runs in the same process on
the same audio, one after the other in each round: the machine's load drifts alike for all.
Per checkout: seconds of audio per second of process CPU time and of wall time (best round),
the median push, and the per-push cost of the stream alone, with the network's forward
replaced by a constant (what the stream spends around the network: checks, cursors, frame
cutting, decoding).

    python benchmarks/stream_push_ab.py --checkout ../crepe-0.2 [--checkout DIR ...]
        [--decoder weighted_argmax] [--streams 1] [--threads 1] [--rounds 9]

The working tree's package is always included (as ``this``); ratios are to the first
``--checkout``. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from signals import melody
from timing import push_stream

ROOT = Path(__file__).resolve().parents[1]


def load(checkouts: list[str], folder: Path) -> dict[str, Any]:
    """``{label: package}``: each checkout's package under a name of its own, then this one."""
    sys.path.insert(0, str(folder))
    packages = {}
    for i, checkout in enumerate(checkouts):
        name = f"crepe_transforms_ab{i}"
        shutil.copytree(
            Path(checkout) / "crepe_transforms",
            folder / name,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        packages[Path(checkout).resolve().name] = importlib.import_module(name)
    sys.path.insert(0, str(ROOT))
    packages["this"] = importlib.import_module("crepe_transforms")
    return packages


def push_all(stream: Any, audio: torch.Tensor, chunk: int) -> tuple[float, float, float]:
    """CPU seconds, wall seconds and the median push of pushing ``audio`` and flushing."""
    wall, cpu, pushes = push_stream(stream, audio, chunk)
    return cpu, wall, statistics.median(pushes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", action="append", default=[], help="another checkout")
    parser.add_argument("--decoder", default="weighted_argmax")
    parser.add_argument("--capacity", default="tiny")
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sr, chunk = args.sample_rate, args.sample_rate // 100
    audio = melody(args.seconds, sr).expand(args.streams, -1).contiguous()
    constant = torch.rand(1, 360)
    with tempfile.TemporaryDirectory() as folder:
        packages = load(args.checkout, Path(folder))
        streams, bare = {}, {}
        for label, package in packages.items():
            options = {"decoder": args.decoder}
            streams[label] = package.CrepeStream(sr, args.capacity, **options)
            bare[label] = package.CrepeStream(sr, args.capacity, pretrained=False, **options)
            bare[label].activation.network.forward = lambda f: constant.expand(f.shape[0], 360)
        for group in (streams, bare):  # warm-up: weights, kernels, numba
            for stream in group.values():
                push_all(stream, audio[..., : sr // 2], chunk)
        runs: dict[str, list[tuple[float, float, float]]] = {k: [] for k in packages}
        alone: dict[str, list[float]] = {k: [] for k in packages}
        for _ in range(args.rounds):
            for label in packages:
                runs[label].append(push_all(streams[label], audio, chunk))
                alone[label].append(push_all(bare[label], audio, chunk)[0])
    pushes = audio.shape[-1] // chunk
    first = next(iter(packages))
    rows = [
        "| checkout | RTF CPU | RTF wall | push p50 | stream alone per push | CPU vs "
        f"{first} | stream alone vs {first} |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label in packages:
        cpu = min(r[0] for r in runs[label])
        wall = min(r[1] for r in runs[label])
        p50 = statistics.median(r[2] for r in runs[label])
        own = min(alone[label])
        rows.append(
            f"| {label} | {args.seconds / cpu:.2f}× | {args.seconds / wall:.2f}× | "
            f"{p50 * 1e3:.2f} ms | {own / pushes * 1e6:.0f} µs | "
            f"{min(r[0] for r in runs[first]) / cpu:.2f}× | {min(alone[first]) / own:.2f}× |"
        )
    print(
        f"{args.capacity}, {args.decoder}, {args.streams} stream(s) at {sr} Hz, 10 ms pushes, "
        f"{args.threads} thread(s), {args.seconds:g} s of audio, best of {args.rounds} rounds\n"
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
