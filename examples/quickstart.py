"""Quick start: track the pitch of an audio file and write it as CSV.

    python examples/quickstart.py examples/example.wav -o out/example.f0.csv

Writes one row per 10 ms frame (``time,f0,periodicity``; f0 is empty where the frame is
unvoiced) and prints a summary. For the bundled clip, whose f0 is known (see
``make_example.py``), it also prints the raw pitch accuracy against that ground truth and exits
non-zero if it is below 95 %.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import numpy as np
import torch

from crepe_transforms import CrepePitch, load_audio

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("audio", type=Path, nargs="?", default=HERE / "example.wav")
    parser.add_argument("-o", "--output", type=Path, default=Path("out/example.f0.csv"))
    parser.add_argument("--capacity", default="full", help="tiny, small, medium, large, full")
    parser.add_argument("--decoder", default="viterbi", help="viterbi, weighted_argmax, argmax")
    parser.add_argument(
        "--voicing", "--threshold", type=float, default=0.5, help="voicing threshold"
    )
    args = parser.parse_args(argv)

    waveform, sr = load_audio(args.audio)  # any format soundfile reads, downmixed to mono
    model = CrepePitch(sr, args.capacity, decoder=args.decoder, voicing=args.voicing)
    with torch.inference_mode():
        f0, periodicity = model(waveform)
    times = model.frames.frame_times(f0.shape[-1])

    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["time", "f0", "periodicity"])
        for t, f, p in zip(times.tolist(), f0.tolist(), periodicity.tolist(), strict=True):
            writer.writerow([f"{t:.3f}", "" if math.isnan(f) else f"{f:.2f}", f"{p:.4f}"])

    voiced = ~torch.isnan(f0)
    print(
        f"{args.audio}: {waveform.shape[-1] / sr:.2f} s at {sr} Hz, {f0.shape[-1]} frames "
        f"({model.frames.hop_length} samples = {1000 * model.frames.hop_length / sr:.2f} ms hop)"
    )
    print(
        f"model: {model.activation.capacity}, decoder: {args.decoder}, "
        f"voiced frames: {int(voiced.sum())} ({float(voiced.float().mean()):.0%})"
    )
    if bool(voiced.any()):
        print(
            f"f0: median {float(f0[voiced].median()):.1f} Hz, "
            f"range {float(f0[voiced].min()):.1f}-{float(f0[voiced].max()):.1f} Hz"
        )
    print(f"wrote {args.output}")

    if args.audio.resolve() == (HERE / "example.wav").resolve():
        return check_against_truth(f0, model.frames.hop_length)
    return 0


def check_against_truth(f0: torch.Tensor, hop: int) -> int:
    """Raw pitch accuracy (within 50 cents) on frames whose ±30 ms are voiced in the truth."""
    sys.path.insert(0, str(HERE))
    from make_example import SR, f0_track

    truth = f0_track()
    centres = np.arange(f0.shape[-1]) * hop
    margin = int(0.03 * SR)
    steady = np.array(
        [
            c + margin < len(truth)
            and c >= margin
            and bool((truth[c - margin : c + margin] > 0).all())
            for c in centres
        ]
    )
    ref = truth[np.minimum(centres, len(truth) - 1)][steady]
    est = f0.numpy()[steady]
    cents = 1200 * np.abs(np.log2(np.where(np.isnan(est), 1.0, est) / ref))
    rpa = float(np.mean(~np.isnan(est) & (cents < 50)))
    print(
        f"raw pitch accuracy vs the known f0: {rpa:.1%} of {int(steady.sum())} voiced frames "
        f"within 50 cents"
    )
    return 0 if rpa >= 0.95 else 1


if __name__ == "__main__":
    raise SystemExit(main())
