"""Viterbi speed, side by side: librosa.sequence.viterbi vs this package's banded kernels.

All decoders get the same HMM: the original CREPE model (360 states, transition
∝ max(12 − |i − j|, 0), argmax observation). The activations are the fixture
``activation-tiny.npy`` tiled to the requested length, so the paths can be compared too.

    python benchmarks/viterbi_speed.py [--frames 100000] [--torch-frames 10000]

The torch scan (the kernel used on CUDA) is timed on ``--torch-frames`` frames on the CPU and
reported per frame; it is a per-step loop of small tensor ops, so CPU time grows linearly.
Prints a markdown table and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import librosa
import numpy as np
import torch
from timing import best_time

from crepe_transforms.functional import viterbi
from crepe_transforms.functional import viterbi_path as banded_path
from crepe_transforms.functional._internal import (
    CREPE_HMM,
    DEFAULT_HMM,
    log_emission,
    log_jump,
    log_transition,
)

ROOT = Path(__file__).resolve().parents[1]
N = 360


def librosa_crepe_path(activation: np.ndarray) -> np.ndarray:
    i = np.arange(N)
    transition = np.maximum(12 - np.abs(i[:, None] - i[None, :]), 0).astype(np.float64)
    transition /= transition.sum(axis=1, keepdims=True)
    emission = np.full((N, N), 0.9 / N) + 0.1 * np.eye(N)
    prob = emission[:, activation.argmax(axis=1)]  # (states, frames)
    return np.asarray(librosa.sequence.viterbi(prob, transition, p_init=np.full(N, 1 / N)))


T = TypeVar("T")


def timed(fn: Callable[[], T], repeat: int = 1) -> tuple[float, T]:
    """Best wall time over ``repeat`` calls (the benchmarks' one rule) and the result."""
    if repeat == 1:  # one long call (librosa on 100 000 frames): time it, no warm-up
        start = time.perf_counter()
        out = fn()
        return time.perf_counter() - start, out
    out = fn()  # the warm-up (numba compiles on the first call)
    return best_time(fn, repeat - 1), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--torch-frames", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--fixtures", type=Path, default=ROOT / ".." / "shared" / "fixtures", help="fixture dir"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "viterbi.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    base = np.load(args.fixtures / "activation-tiny.npy")
    activation = np.tile(base, (args.frames // len(base) + 1, 1))[: args.frames]
    act = torch.from_numpy(activation)

    # Warm up: numba compiles (or loads its cache) on first use.
    viterbi(act[:50], hmm="crepe")
    viterbi(act[:50])

    rows = []
    t_librosa, ref = timed(lambda: librosa_crepe_path(activation))
    rows.append(("librosa.sequence.viterbi (dense 360×360)", args.frames, t_librosa, "reference"))

    emission = log_emission(act[None], CREPE_HMM)
    table = log_transition(N, CREPE_HMM)
    t_numba, path = timed(lambda: banded_path(emission, table, backend="numba")[0].numpy(), 3)
    same = "identical" if np.array_equal(path, ref) else f"{np.sum(path != ref)} frames differ"
    rows.append(("banded numba kernel, hmm='crepe'", args.frames, t_numba, same))

    t_decode, _ = timed(lambda: viterbi(act, hmm="crepe"), 3)
    rows.append(("functional.viterbi(hmm='crepe') end to end", args.frames, t_decode, "-"))
    t_default, _ = timed(lambda: viterbi(act), 3)
    rows.append(("functional.viterbi() default HMM end to end", args.frames, t_default, "-"))

    n = min(args.torch_frames, args.frames)
    # A sequential scan of tiny ops gains nothing from intra-op threads, and on a busy machine
    # their barriers cost milliseconds per op: time it single-threaded.
    torch.set_num_threads(1)
    t_torch, tpath = timed(lambda: banded_path(emission[:, :n], table, backend="torch")[0].numpy())
    torch.set_num_threads(args.threads)
    ref_n = librosa_crepe_path(activation[:n])
    same_t = "identical" if np.array_equal(tpath, ref_n) else f"{np.sum(tpath != ref_n)} differ"
    rows.append(("banded torch scan (the CUDA kernel) on CPU, 1 thread", n, t_torch, same_t))
    jump = log_jump(N, DEFAULT_HMM)
    default_emission = log_emission(act[None, :n], DEFAULT_HMM)
    default_table = log_transition(N, DEFAULT_HMM)
    numba_default = banded_path(default_emission, default_table, jump, backend="numba")
    torch_default = banded_path(default_emission, default_table, jump, backend="torch")
    torch_vs_numba = "identical" if torch.equal(numba_default, torch_default) else "DIFFERENT"

    lines = [
        f"Viterbi speed on {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch threads (shared 2-core machine: ±20 %).",
        "",
        "| decoder | frames | seconds | ms / 1000 frames | speed-up vs librosa | path vs librosa |",
        "|---|---:|---:|---:|---:|---|",
    ]
    per_k_librosa = t_librosa / args.frames * 1000
    for name, frames, seconds, same_path in rows:
        per_k = seconds / frames * 1000
        lines.append(
            f"| {name} | {frames} | {seconds:.2f} | {per_k * 1000:.1f} | "
            f"{per_k_librosa / per_k:.1f}× | {same_path} |"
        )
    lines += ["", f"Default HMM, torch scan vs numba kernel on {n} frames: {torch_vs_numba}."]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
