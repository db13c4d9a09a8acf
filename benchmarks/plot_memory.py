"""Peak memory of ``crepe-transforms plot`` from 2 seconds to 1 hour (the table in docs/cli.md).

0.2 drew a Gouraud mesh over every STFT cell and held the whole STFT: ~270 MB per second of
audio, a 10-minute file killed at 21 GB. The plot now reads the file block by block and pools
the spectrogram to the picture's pixels, so memory should not follow the file's length.

For each duration a 16 kHz 16-bit WAV holding a sine sweep 180 → 260 Hz at 0.3 (the issue's
``sox -n -r 16000 -b 16 x.wav synth D sine 180:260 vol 0.3``, generated block by block) is drawn
by the real command in a subprocess, and the child's peak resident set size is read from
``os.wait4`` (``ru_maxrss`` of that child alone). A child that only imports the package,
matplotlib and builds the model gives the baseline every run holds.

    python benchmarks/plot_memory.py                         # 2 s … 1 h, tiny, PNG
    python benchmarks/plot_memory.py --seconds 2 600 --format svg
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

BASELINE = (
    "import crepe_transforms, matplotlib.figure, matplotlib.backends.backend_agg; "
    "from crepe_transforms.io import Extractor; Extractor('tiny', voicing=None)"
)


def write_sweep(path: Path, seconds: float, rate: int = 16000) -> None:
    """A linear sine sweep 180 → 260 Hz at amplitude 0.3 (sox ``synth sine 180:260 vol 0.3``)."""
    total = round(seconds * rate)
    block = rate * 60
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_16") as out:
        for start in range(0, total, block):
            t = (start + np.arange(min(block, total - start))) / rate
            phase = 2 * np.pi * (180.0 * t + 0.5 * (80.0 / seconds) * t * t)
            out.write((0.3 * np.sin(phase)).astype(np.float32))


def peak(command: list[str]) -> tuple[float, float, int]:
    """Peak RSS (MB), wall time (s) and exit status of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, time.perf_counter() - started, child.returncode


def label(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds",
        nargs="+",
        type=float,
        default=[2, 5, 20, 60, 600, 3600],
        help="durations to draw (default 2 5 20 60 600 3600)",
    )
    parser.add_argument("--format", default="png", help="image suffix (default png)")
    parser.add_argument("--capacity", default="tiny")
    parser.add_argument("--workdir", type=Path, default=None, help="where the WAVs go")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="plot-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    base, _, _ = peak([sys.executable, "-c", BASELINE])
    print(
        f"`crepe-transforms plot` peak RSS, capacity {args.capacity}, .{args.format}, 16 kHz "
        f"sweep; {platform.node()} ({os.cpu_count()} CPUs), {time.strftime('%Y-%m-%d %H:%M')} "
        f"UTC; baseline (imports + model) {base:.0f} MB\n"
    )
    print("| audio | peak RSS | over baseline | wall time | image |")
    print("|---|---|---|---|---|")
    for seconds in args.seconds:
        wav = work / f"sweep{seconds:g}.wav"
        if not wav.exists():
            write_sweep(wav, seconds)
        image = work / f"sweep{seconds:g}.{args.format}"
        command = [sys.executable, "-m", "crepe_transforms", "plot", str(wav), "-o", str(image)]
        rss, wall, code = peak([*command, "--capacity", args.capacity])
        size = f"{image.stat().st_size / 1e6:.2f} MB" if code == 0 else f"exit {code}"
        print(
            f"| {label(seconds)} | {rss:.0f} MB | {rss - base:+.0f} MB | {wall:.1f} s | {size} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
