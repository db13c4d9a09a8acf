"""The path of one ``CrepePitch(44100, "tiny")(audio)`` call: the package functions it enters.

Prints each function of ``crepe_transforms`` the second call enters (the first warms up weights
and caches), once, indented by call depth, with how often it ran; then the total number of
calls. One torch thread, so the network's chunks run in the caller's thread and are traced too.
``PYTHONPATH=<0.1 checkout>`` traces 0.1 (``docs/architecture.md`` shows both).

    python benchmarks/call_path.py [--seconds 2] [--rows 2] [--depth 7]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from types import FrameType
from typing import Any

import torch


def trace(seconds: float, rows: int) -> list[tuple[int, str]]:
    import crepe_transforms

    torch.set_num_threads(1)
    model = crepe_transforms.CrepePitch(44100, "tiny")
    audio = torch.randn(rows, int(44100 * seconds), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model(audio)  # warm-up: weights, precision verdicts, numba
    seen: list[tuple[int, str]] = []
    depth = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal depth
        path = frame.f_code.co_filename
        if "crepe_transforms" not in path or "site-packages" in path:
            return
        if event == "call":
            where = path.split("crepe_transforms/")[-1]
            seen.append((depth, f"{where}:{frame.f_code.co_qualname}"))
            depth += 1
        elif event == "return":
            depth -= 1

    sys.setprofile(profile)
    try:
        with torch.no_grad():
            model(audio)
    finally:
        sys.setprofile(None)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rows", type=int, default=2)
    parser.add_argument("--depth", type=int, default=7, help="deepest call level shown")
    args = parser.parse_args()
    seen = trace(args.seconds, args.rows)
    counts = Counter(name for _, name in seen)
    shown: set[str] = set()
    for level, name in seen:
        if name in shown or level > args.depth:
            continue
        shown.add(name)
        times = f"  ×{counts[name]}" if counts[name] > 1 else ""
        print("  " * level + name + times)
    print(f"calls: {len(seen)}, distinct functions: {len(counts)}")


if __name__ == "__main__":
    main()
