"""Throughput of ``CrepeCollate`` vs ``torchcrepe.predict`` per clip (tiny, CPU).

The material is 16 seeded synthetic harmonic tones of 1 to 4 s (mixed lengths) at 16 kHz. Each
side does the following work per pass over the 16 clips:

- ``CrepeCollate, 1 batch of 16``: ``CrepeCollate(16000, capacity="tiny")`` on all 16 clips:
  pad to the longest, CREPE tiny on every valid frame (10 ms hop), Viterbi f0 + periodicity
  over all 360 bins, A-weighted loudness, frame lengths and mask.
- ``CrepeCollate, 4 batches of 4``: the same collate called on 4 batches of 4 clips.
- ``torchcrepe.predict per clip``: ``torchcrepe.predict(clip, 16000, hop_length=160,
  model="tiny", return_periodicity=True)`` for each clip, torchcrepe's other defaults
  (Viterbi decoder, fmin 50 Hz, fmax 2006 Hz, ``batch_size=None``, ``pad=True``): f0 and
  periodicity, no loudness, no padding.
- ``torchcrepe.predict + a_weighted per clip``: the above plus
  ``torchcrepe.loudness.a_weighted(clip, 16000, hop_length=160)``, the same outputs as the
  collate (torchcrepe's loudness is relative dB, ours absolute dB).

Every configuration runs once to warm up (weight loading, numba compilation), then the
configurations run interleaved repeat by repeat and the best time of each is kept, so both sides
see the same machine load. Both run in this process with the same ``torch.set_num_threads``.

    python benchmarks/collate_speed.py [--repeats 5] [--threads 2]

Prints a table and writes ``benchmarks/results/collate_speed.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import math
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from timing import best_of

from crepe_transforms._fileio import atomic_write
from crepe_transforms.train import CrepeCollate

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 16000
HOP = 160
N_CLIPS = 16


def clips(seed: int = 0) -> list[torch.Tensor]:
    """16 harmonic tones, 1–4 s, f0 80–600 Hz with a slow vibrato, a little noise."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(N_CLIPS):
        seconds = 1.0 + 3.0 * float(torch.rand((), generator=gen))
        f0 = 80.0 + 520.0 * float(torch.rand((), generator=gen))
        t = torch.arange(round(seconds * SAMPLE_RATE), dtype=torch.float64) / SAMPLE_RATE
        phase = 2 * math.pi * torch.cumsum(f0 * (1 + 0.02 * torch.sin(2 * math.pi * 5 * t)), 0)
        phase = phase / SAMPLE_RATE
        tone = sum(torch.sin(k * phase) / k for k in range(1, 6) if k * f0 < SAMPLE_RATE / 2)
        noise = 0.01 * torch.randn(t.shape, generator=gen, dtype=torch.float64)
        out.append((0.4 * torch.as_tensor(tone) + noise).float())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import torchcrepe  # benchmark only: the package never imports it

    audio = clips()
    batched = [a[None] for a in audio]  # torchcrepe wants (1, time)
    collate = CrepeCollate(SAMPLE_RATE, capacity="tiny")

    def torchcrepe_pitch(clip: torch.Tensor) -> object:
        return torchcrepe.predict(
            clip, SAMPLE_RATE, hop_length=HOP, model="tiny", return_periodicity=True
        )

    fns: dict[str, Callable[[], object]] = {
        "CrepeCollate, 1 batch of 16": lambda: collate(audio),
        "CrepeCollate, 4 batches of 4": lambda: [
            collate(audio[i : i + 4]) for i in range(0, 16, 4)
        ],
        "torchcrepe.predict per clip": lambda: [torchcrepe_pitch(c) for c in batched],
        "torchcrepe.predict + a_weighted per clip": lambda: [
            (torchcrepe_pitch(c), torchcrepe.loudness.a_weighted(c, SAMPLE_RATE, HOP))
            for c in batched
        ],
    }
    load_before = os.getloadavg()
    with torch.no_grad():
        best = best_of(fns, args.repeats)
    load_after = os.getloadavg()

    seconds = sum(len(a) for a in audio) / SAMPLE_RATE
    frames = sum(1 + len(a) // HOP for a in audio)
    reference = best["torchcrepe.predict + a_weighted per clip"]
    pitch_only = best["torchcrepe.predict per clip"]
    rows = [
        {
            "configuration": name,
            "seconds": t,
            "clips_per_s": N_CLIPS / t,
            "frames_per_s": frames / t,
            "vs_predict_plus_loudness": reference / t,
            "vs_predict": pitch_only / t,
        }
        for name, t in best.items()
    ]
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]),
        "torch": torch.__version__,
        "torchcrepe": importlib.metadata.version("torchcrepe"),
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "repeats": args.repeats,
        "clips": N_CLIPS,
        "audio_seconds": seconds,
        "frames": frames,
        "rows": rows,
    }
    lines = [
        "# CrepeCollate vs torchcrepe.predict: throughput (tiny, CPU)",
        "",
        f"{N_CLIPS} synthetic harmonic clips of 1–4 s at 16 kHz ({seconds:.1f} s of audio, "
        f"{frames} frames at a 10 ms hop); best of {args.repeats} interleaved repeats after a "
        f"warm-up. torch {result['torch']}, torchcrepe {result['torchcrepe']}, "
        f"{result['threads']} torch threads on {result['cpu_count']} CPUs "
        f"({result['machine']}), {result['date']}.",
        f"Load average (1, 5, 15 min) before {tuple(round(x, 2) for x in load_before)}, after "
        f"{tuple(round(x, 2) for x in load_after)}: the machine is shared, so expect ±20 %.",
        "",
        "| configuration | seconds | clips/s | frames/s | speed vs predict+loudness | "
        "speed vs predict |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {r['configuration']} | {r['seconds']:.3f} | {r['clips_per_s']:.2f} | "
            f"{r['frames_per_s']:.0f} | {r['vs_predict_plus_loudness']:.2f}× | "
            f"{r['vs_predict']:.2f}× |"
            for r in rows
        ),
        "",
        "Work per pass: the collate pads, runs CREPE tiny on every valid frame, decodes f0 and "
        "periodicity with Viterbi over all 360 bins and computes A-weighted loudness (absolute "
        "dB), frame lengths and mask; torchcrepe.predict computes f0 and periodicity (Viterbi, "
        "fmin 50 Hz) per clip, and a_weighted adds its (relative dB) loudness.",
        "",
        f"Rerun: `{result['command']}` (from the repository root, dev environment active).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    atomic_write(args.out / "collate_speed.md", lambda fh: fh.write(text.encode()))
    blob = json.dumps(result, indent=2) + "\n"
    atomic_write(args.out / "collate_speed.json", lambda fh: fh.write(blob.encode()))


if __name__ == "__main__":
    main()
