"""Resident memory of a long-running service calling ``CrepePitch`` once a minute of audio.

One hour of synthetic audio (the melody of ``long_file_memory.py``, written block by block to
a temporary 16-bit WAV so that neither the generator nor this process holds the hour) is read
back one piece at a time and each piece goes through one ``CrepePitch(rate, capacity)`` call,
as a service handling consecutive requests would. The resident set size (RSS) is sampled after
every call. The claim checked: memory is flat, no growth between the first and the last
10 minutes once the first calls have sized the allocator.

    OMP_NUM_THREADS=1 python benchmarks/long_run_memory.py              # 60 x 1 min, 44.1 kHz
    python benchmarks/long_run_memory.py --minutes 5 --no-report        # a quick look

Writes ``benchmarks/results/long_run_memory.md`` (and ``.png`` when matplotlib is installed).
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from long_file_memory import write_melody

from crepe_transforms import CrepePitch

RESULTS = Path(__file__).resolve().parent / "results"


def rss_mb() -> float:
    """Current resident set size in MB (psutil when installed, else /proc/self/statm)."""
    try:
        import psutil
    except ImportError:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    return float(psutil.Process().memory_info().rss) / 2**20


def malloc_trim() -> None:
    """Hand freed heap memory back to the system (glibc), to tell allocator caching from a leak."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def slope(x: list[float], y: list[float]) -> float:
    """Least-squares slope of y over x."""
    return float(np.polyfit(np.asarray(x), np.asarray(y), 1)[0])


def plot(rows: list[dict[str, float]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot([r["minute"] for r in rows], [r["rss_mb"] for r in rows], marker=".")
    ax.set_xlabel("audio processed (minutes)")
    ax.set_ylabel("RSS after the call (MB)")
    ax.set_title("CrepePitch, one call per minute of audio")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--piece-seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=44100)
    parser.add_argument("--capacity", default="tiny")
    parser.add_argument("--decoder", default="viterbi")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the WAV here")
    parser.add_argument(
        "--trim",
        action="store_true",
        help="call glibc malloc_trim(0) after every call (diagnostic: memory the allocator "
        "caches is returned, so what remains is what the process really holds)",
    )
    parser.add_argument("--no-report", action="store_true", help="print only, write no files")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="crepe-long-run-"))
    work.mkdir(parents=True, exist_ok=True)
    audio = work / f"long-{args.minutes}min-{args.rate}.wav"
    if not audio.exists():
        write_melody(audio, args.minutes, args.rate, 1)

    model = CrepePitch(args.rate, args.capacity, decoder=args.decoder)
    piece = round(args.piece_seconds * args.rate)
    rows: list[dict[str, float]] = []
    start_rss = rss_mb()
    started = time.perf_counter()
    with sf.SoundFile(audio) as reader, torch.inference_mode():
        done = 0
        while True:
            block = reader.read(piece, dtype="float32")
            if len(block) == 0:
                break
            t0 = time.perf_counter()
            pitch = model(torch.from_numpy(block))
            seconds = time.perf_counter() - t0
            done += len(block)
            # use the result the way a service would (and so that nothing is optimised away)
            voiced = int((pitch.periodicity >= 0.5).sum())
            del pitch, block
            if args.trim:
                malloc_trim()
            rows.append(
                {
                    "minute": done / args.rate / 60,
                    "rss_mb": rss_mb(),
                    "call_s": seconds,
                    "frames": voiced,
                }
            )
            print(json.dumps({k: round(v, 2) for k, v in rows[-1].items()}), flush=True)
    total_s = time.perf_counter() - started

    minutes = [r["minute"] for r in rows]
    rss = [r["rss_mb"] for r in rows]
    first, last = rss[: min(10, len(rss))], rss[-min(10, len(rss)) :]
    at10 = rss[min(10, len(rss)) - 1]
    tail = [(m, r) for m, r in zip(minutes, rss, strict=True) if m >= 10 - 1e-9]
    result = {
        "rss_start_mb": round(start_rss, 1),
        "rss_min10_mb": round(at10, 1),
        "rss_end_mb": round(rss[-1], 1),
        "rss_max_mb": round(max(rss), 1),
        "mean_first10_mb": round(float(np.mean(first)), 1),
        "mean_last10_mb": round(float(np.mean(last)), 1),
        "max_first10_mb": round(max(first), 1),
        "max_last10_mb": round(max(last), 1),
        "slope_mb_per_min_from_10": round(slope(*map(list, zip(*tail, strict=True))), 4)
        if len(tail) > 1
        else None,
        "seconds": round(total_s),
    }
    print(json.dumps(result))
    if args.no_report:
        return

    RESULTS.mkdir(exist_ok=True)
    name = "long_run_memory_trim" if args.trim else "long_run_memory"
    png = RESULTS / f"{name}.png"
    has_plot = plot(rows, png)
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    lines = [
        "# Long-run memory: CrepePitch called once per minute of audio"
        + (" (with malloc_trim)" if args.trim else ""),
        "",
        f"Date: {datetime.date.today().isoformat()}. torch {torch.__version__}, "
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"torch threads {torch.get_num_threads()} (OMP_NUM_THREADS={threads}), on a shared "
        "2-core machine.",
        "",
        f"{args.minutes} minutes of a synthetic melody at {args.rate} Hz (harmonic notes with "
        f"silent gaps, `long_file_memory.write_melody`), read from a WAV "
        f"{args.piece_seconds:g} s at a time; each piece is one call of "
        f"`CrepePitch({args.rate}, {args.capacity!r}, decoder={args.decoder!r})` under "
        "`torch.inference_mode()`, as a service would handle consecutive requests. "
        "RSS (resident set size) is read after every call"
        + (
            ", after glibc `malloc_trim(0)` has returned cached free heap memory."
            if args.trim
            else "."
        ),
        "",
        "Rerun (writes a 300 MB WAV to a temporary folder first; about 5 minutes on 2 cores):",
        "",
        "```bash",
        "OMP_NUM_THREADS=1 python benchmarks/long_run_memory.py" + (" --trim" if args.trim else ""),
        "```",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| RSS before the first call (model loaded) | {result['rss_start_mb']} MB |",
        f"| RSS after minute 10 | {result['rss_min10_mb']} MB |",
        f"| RSS after minute {args.minutes} | {result['rss_end_mb']} MB |",
        f"| highest RSS after any call | {result['rss_max_mb']} MB |",
        f"| mean RSS, first 10 calls | {result['mean_first10_mb']} MB |",
        f"| mean RSS, last 10 calls | {result['mean_last10_mb']} MB |",
        f"| highest RSS, first 10 calls | {result['max_first10_mb']} MB |",
        f"| highest RSS, last 10 calls | {result['max_last10_mb']} MB |",
        f"| slope of RSS from minute 10 on (least squares) | "
        f"{result['slope_mb_per_min_from_10']} MB per minute of audio |",
        f"| total time | {result['seconds']} s |",
        "",
        "Every call:",
        "",
        "| minute | RSS (MB) | call (s) | frames with periodicity ≥ 0.5 |",
        "|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['minute']:g} | {r['rss_mb']:.1f} | {r['call_s']:.1f} | {int(r['frames'])} |"
        for r in rows
    ]
    if has_plot:
        lines += ["", f"![RSS per minute]({png.name})"]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
