"""The picture to look at first: a spectrogram with the pitch contour, and the periodicity.

Needs matplotlib, the ``plot`` extra: ``pip install "crepe-transforms[plot]"``. It is imported
on use only; without it :func:`plot_pitch` and :func:`plot_file` raise
:class:`~crepe_transforms.exceptions.MissingDependencyError`. Figures are drawn with the Agg
canvas directly, never through ``pyplot``'s global state.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch

from .audio import info, load
from .exceptions import MissingDependencyError, ParameterError
from .extract import hop_length_for
from .pitch import CrepePitch

__all__ = ["plot_file", "plot_pitch"]

#: Periodicity that splits the contour into solid (above) and faint (below) when no voicing
#: threshold is given.
DISPLAY_LEVEL = 0.5


def _matplotlib() -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingDependencyError(
            f"plotting needs matplotlib, which is not installed ({exc}). Install it with "
            f'`pip install "crepe-transforms[plot]"`.'
        ) from exc
    return Figure, FigureCanvasAgg


def _spectrogram(audio: torch.Tensor, sample_rate: int) -> tuple[torch.Tensor, int, int]:
    """Magnitude in dB re the maximum, ``(bins, frames)``; ~80–130 ms window, 5 ms hop.

    The long window resolves the low harmonics on the log frequency axis (11 Hz bins at
    44.1 kHz); the contour carries the time detail."""
    n_fft = 1 << max(8, math.ceil(math.log2(0.08 * sample_rate)))
    hop = max(1, sample_rate // 200)
    window = torch.hann_window(n_fft, dtype=torch.float64)
    x = audio.double()
    if x.shape[-1] < n_fft:
        x = torch.nn.functional.pad(x, (0, n_fft - x.shape[-1]))
    spec = torch.stft(x, n_fft, hop, window=window, center=True, return_complex=True).abs()
    db = 20 * torch.log10(spec.clamp_min(1e-10))
    return (db - db.max()).clamp_min(-80.0), n_fft, hop


def plot_pitch(
    audio: torch.Tensor,
    sample_rate: int,
    time: torch.Tensor,
    frequency: torch.Tensor,
    periodicity: torch.Tensor,
    threshold: float | None = None,
    title: str | None = None,
    offset: float = 0.0,
) -> Any:
    """Draw a :class:`matplotlib.figure.Figure`: spectrogram + f0 on top, periodicity below.

    Frames with periodicity at least ``threshold`` (or 0.5 when None) make the solid
    contour; the others are faint dots. Times are shifted by ``offset`` seconds.

    Shape:
        - audio: ``(time,)``; time, frequency, periodicity: ``(frames,)``
    """
    if audio.dim() != 1 or frequency.dim() != 1:
        raise ParameterError(
            f"plot_pitch takes one channel: audio (time,) and frequency (frames,), got "
            f"{tuple(audio.shape)} and {tuple(frequency.shape)}"
        )
    figure_cls, canvas_cls = _matplotlib()
    fig = figure_cls(figsize=(10, 6), layout="constrained")
    canvas_cls(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    db, n_fft, hop = _spectrogram(audio, sample_rate)
    freqs = torch.arange(db.shape[0]) * sample_rate / n_fft
    times = offset + torch.arange(db.shape[1]) * hop / sample_rate
    mesh = top.pcolormesh(
        times.numpy(), freqs[1:].numpy(), db[1:].numpy(), shading="gouraud", cmap="magma"
    )
    fig.colorbar(mesh, ax=top, label="dB re max", pad=0.01)
    level = DISPLAY_LEVEL if threshold is None else threshold
    t = (time + offset).numpy()
    f = frequency.double().numpy()
    p = periodicity.double().numpy()
    strong = p >= level
    top.plot(
        t,
        [fv if s else math.nan for fv, s in zip(f, strong, strict=True)],
        color="#00e5ff",
        lw=1.8,
        label=f"f0, periodicity ≥ {level:g}",
    )
    top.scatter(
        t[~strong],
        f[~strong],
        s=3,
        color="#b8eef5",
        alpha=0.45,
        label=f"f0, periodicity < {level:g}",
    )
    top.set_yscale("log")
    top.set_ylim(30.0, min(sample_rate / 2, 5000.0))
    top.set_ylabel("frequency (Hz)")
    top.legend(loc="upper right", fontsize="small", framealpha=0.7)
    if title:
        top.set_title(title, fontsize="medium")
    bottom.plot(t, p, color="#333333", lw=1.0)
    bottom.fill_between(t, 0, p, where=strong, color="#00a5b8", alpha=0.35, step=None)
    bottom.axhline(
        level,
        color="#c0392b",
        lw=0.8,
        ls="--",
        label="threshold" if threshold is not None else "display level",
    )
    bottom.set_ylim(0, 1)
    bottom.set_ylabel("periodicity")
    bottom.set_xlabel("time (s)")
    bottom.set_xlim(float(times[0]), float(max(times[-1], t[-1])))
    bottom.legend(loc="upper right", fontsize="small")
    return fig


def plot_file(
    path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    capacity: str = "full",
    start: float = 0.0,
    duration: float | None = None,
    hop: str | int | None = None,
    decoder: str = "viterbi",
    fmin: float | None = None,
    fmax: float | None = None,
    threshold: float | None = None,
    weights: str | os.PathLike[str] | None = None,
    sha256: str | None = None,
    pretrained: bool = True,
    dpi: int = 120,
) -> Path:
    """Track the pitch of (part of) a file and save the picture (PNG, PDF, SVG … by suffix).

    The channels are downmixed; ``start`` and ``duration`` (seconds) choose the part that is
    read, tracked and drawn.
    """
    figure_cls, _ = _matplotlib()  # fail before the work when matplotlib is missing
    del figure_cls
    meta = info(path)
    if start < 0 or (duration is not None and duration <= 0):
        raise ParameterError(f"start={start} and duration={duration} must be >= 0 and > 0 seconds")
    first = round(start * meta.sample_rate)
    last = None if duration is None else first + max(1, round(duration * meta.sample_rate))
    audio, rate = load(path, mono=True, start=first, stop=last)
    model = CrepePitch(
        rate,
        capacity,
        hop_length_for(hop, rate),
        decoder,
        fmin,
        fmax,
        None,  # decode every frame; the threshold only splits solid and faint contour
        weights=weights,
        sha256=sha256,
        pretrained=pretrained,
    )
    with torch.no_grad():
        frequency, periodicity = model(audio)
    times = model.frames.frame_times(frequency.shape[-1])
    title = f"{Path(path).name} — CREPE {capacity}, {decoder}"
    fig = plot_pitch(audio, rate, times, frequency, periodicity, threshold, title, first / rate)
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=dpi)
    return target
