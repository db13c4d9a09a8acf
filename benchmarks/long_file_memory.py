"""Peak memory of ``crepe-transforms pitch`` on one long file (the 1-hour figure in docs/cli.md).

Writes a long 16-bit WAV (a melody of harmonic notes with silent gaps, generated block by
block so this script itself stays small), then runs the real command in a subprocess and
reads the child's peak resident set size (``ru_maxrss`` of the waited-for child). A second
child that only imports the package and builds the model gives the baseline.

    python benchmarks/long_file_memory.py                 # 60 minutes, 44.1 kHz, tiny
    python benchmarks/long_file_memory.py --minutes 5 --capacity full --rate 16000

The CSV written by the run is checked: one row per frame, ``1 + samples // hop`` rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

# imports, model and one short file: what every run holds before the long file's buffers
BASELINE = (
    "import resource, sys; from crepe_transforms.io import Extractor; "
    "Extractor(sys.argv[1]).pitch(sys.argv[2]); "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
)


def write_melody(path: Path, minutes: float, rate: int, channels: int) -> int:
    """A melody of 0.5 s notes (110–440 Hz, 5 harmonics) with a 0.25 s gap every 2 s."""
    total = round(minutes * 60 * rate)
    rng = np.random.default_rng(0)
    block = rate * 10
    phase = 0.0
    with sf.SoundFile(path, "w", rate, channels, subtype="PCM_16") as out:
        for start in range(0, total, block):
            n = min(block, total - start)
            t = (start + np.arange(n)) / rate
            note = (t // 0.5).astype(np.int64)
            f0 = 110.0 * 2.0 ** ((note * 7919 % 25) / 12.0)
            inst = phase + 2 * np.pi * np.cumsum(f0) / rate
            phase = float(inst[-1])
            x = sum(np.sin(k * inst) / k for k in range(1, 6))
            x *= 0.3 * (t % 2.0 >= 0.25)  # silent gaps
            x += 1e-3 * rng.standard_normal(n)
            out.write(np.repeat(x[:, None], channels, axis=1).astype(np.float32))
    return total


def run(command: list[str]) -> tuple[float, float]:
    """Peak RSS (MB) and wall time (s) of one child process."""
    started = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - started
    # the maximum over waited-for children; this script runs this child first
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=44100)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--capacity", default="tiny")
    parser.add_argument("--decoder", default="viterbi")
    parser.add_argument("--workdir", type=Path, default=None, help="keep files here")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="crepe-long-"))
    work.mkdir(parents=True, exist_ok=True)
    audio = work / f"long-{args.minutes:g}min-{args.rate}.wav"
    if not audio.exists():
        write_melody(audio, args.minutes, args.rate, args.channels)
    samples = sf.info(audio).frames

    peak, seconds = run(
        [
            sys.executable,
            "-m",
            "crepe_transforms",
            "pitch",
            str(audio),
            "-o",
            str(work / "out"),
            "--capacity",
            args.capacity,
            "--decoder",
            args.decoder,
            "--overwrite",
            "--quiet",
        ]
    )
    csv = work / "out" / f"{audio.stem}.f0.csv"
    rows = sum(1 for _ in csv.open()) - 1
    expected = 1 + samples // (args.rate // 100)
    tiny_file = work / "one-second.wav"
    sf.write(tiny_file, np.zeros(args.rate, np.float32), args.rate, subtype="PCM_16")
    base_cmd = [sys.executable, "-c", BASELINE, args.capacity, str(tiny_file)]
    base = float(subprocess.run(base_cmd, check=True, capture_output=True, text=True).stdout)
    result = {
        "minutes": args.minutes,
        "rate": args.rate,
        "channels": args.channels,
        "capacity": args.capacity,
        "decoder": args.decoder,
        "frames": rows,
        "frames_ok": rows == expected,
        "peak_rss_mb": round(peak),
        "seconds": round(seconds, 1),
        "frames_per_s": round(rows / seconds),
        "baseline_rss_mb": round(base),
    }
    print(json.dumps(result))
    print("| audio | capacity | decoder | frames | peak RSS | baseline | time |")
    print("|---|---|---|---:|---:|---:|---:|")
    print(
        f"| {args.minutes:g} min, {args.rate} Hz, {args.channels} ch | {args.capacity} | "
        f"{args.decoder} | {rows} | {peak:.0f} MB | {base:.0f} MB | {seconds:.0f} s |"
    )
    if rows != expected:
        sys.exit(f"CSV has {rows} rows, expected {expected}")


if __name__ == "__main__":
    main()
