"""The picture to look at first: a spectrogram with the pitch contour, and the periodicity.

Needs matplotlib, the ``plot`` extra: ``pip install "crepe-transforms[plot]"``. It is imported
on use only; without it :func:`plot_pitch` and :func:`plot_file` raise
:class:`~crepe_transforms.exceptions.MissingDependencyError`. Figures are drawn with the Agg
canvas directly, never through ``pyplot``'s global state. The spectrogram is a raster image in
every format (vector formats embed it), the contour and the axes stay vectors: a 2-second
clip gives an SVG or PDF of a few hundred kilobytes, not gigabytes of mesh polygons.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch

from ..exceptions import MissingDependencyError, ParameterError
from ..functional._voicing import check_voicing
from ..transforms import CrepePitch
from ._audio import audio_info, load_audio
from ._corpus import display
from ._extract import hop_length_for

__all__ = ["DISPLAY_LEVEL", "IMAGE_SUFFIXES", "check_image_path", "plot_file", "plot_pitch"]

#: Periodicity that splits the contour into solid (above) and faint (below) when no voicing
#: threshold is given.
DISPLAY_LEVEL = 0.5

#: Image formats written, by file suffix (matplotlib's Agg, PDF, SVG and PS backends; the
#: raster ones through Pillow, a matplotlib dependency).
IMAGE_SUFFIXES = (
    ".png",
    ".pdf",
    ".svg",
    ".svgz",
    ".eps",
    ".ps",
    ".jpg",
    ".jpeg",
    ".tif",
    ".tiff",
    ".webp",
)


def check_image_path(path: str | os.PathLike[str]) -> Path:
    """``path`` if its suffix names an image format :func:`plot_file` writes, else raise.

    Example:
        >>> check_image_path("take1.svg").suffix
        '.svg'
    """
    target = Path(path)
    if target.suffix.lower() not in IMAGE_SUFFIXES:
        found = f"the suffix {target.suffix!r}" if target.suffix else "no suffix"
        raise ParameterError(
            f"{target}: has {found}, which names no image format; end the name with one of "
            f"{', '.join(IMAGE_SUFFIXES)} (e.g. {target.stem or 'pitch'}.png)."
        )
    return target


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
    f0: torch.Tensor,
    periodicity: torch.Tensor,
    voicing: float | None = None,
    title: str | None = None,
    offset: float = 0.0,
) -> Any:
    """Draw a :class:`matplotlib.figure.Figure`: spectrogram + f0 on top, periodicity below.

    Frames whose periodicity reaches ``voicing`` (0.5 when None) make the solid contour; the
    others are faint dots. Nothing is removed: ``voicing`` only splits the two. Times are
    shifted by ``offset`` seconds.

    Shape:
        - audio: ``(time,)``; time, f0, periodicity: ``(frames,)``

    Example:
        >>> t = torch.arange(4000) / 8000
        >>> fig = plot_pitch(torch.sin(2 * math.pi * 220 * t), 8000, torch.arange(3) * 0.1,
        ...                  torch.full((3,), 220.0), torch.tensor([0.9, 0.2, 0.8]))
        >>> [ax.get_ylabel() for ax in fig.axes]
        ['frequency (Hz)', 'periodicity', 'dB re max']
    """
    if audio.dim() != 1 or f0.dim() != 1:
        raise ParameterError(
            f"plot_pitch takes one channel: audio (time,) and f0 (frames,), got "
            f"{tuple(audio.shape)} and {tuple(f0.shape)}"
        )
    level = DISPLAY_LEVEL if voicing is None else check_voicing(voicing)
    if level is None:  # check_voicing("none")
        level = DISPLAY_LEVEL
    figure_cls, canvas_cls = _matplotlib()
    fig = figure_cls(figsize=(10, 6), layout="constrained")
    canvas_cls(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    db, n_fft, hop = _spectrogram(audio.detach().cpu(), sample_rate)
    freqs = torch.arange(db.shape[0]) * sample_rate / n_fft
    times = offset + torch.arange(db.shape[1]) * hop / sample_rate
    # Rasterised: vector formats would otherwise hold one shaded polygon per cell (a 2 s clip
    # made a 2.66 GB SVG); the contour and the axes stay vectors.
    mesh = top.pcolormesh(
        times.numpy(),
        freqs[1:].numpy(),
        db[1:].numpy(),
        shading="gouraud",
        cmap="magma",
        rasterized=True,
    )
    fig.colorbar(mesh, ax=top, label="dB re max", pad=0.01)
    t = (time.detach().cpu().double() + offset).numpy()
    f = f0.detach().cpu().double().numpy()
    p = periodicity.detach().cpu().double().numpy()
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
        label="voicing threshold" if voicing is not None else "display level",
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
    hop_length: str | int | None = None,
    voicing: float | None = None,
    dpi: int = 120,
    **options: Any,
) -> Path:
    """Track the pitch of (part of) a file and save the picture (PNG, PDF, SVG … by suffix).

    The channels are downmixed; ``start`` and ``duration`` (seconds) choose the part that is
    read, tracked and drawn. Every frame is decoded: ``voicing`` only splits the solid
    contour (periodicity at least ``voicing``, default 0.5) from the faint dots.

    Args:
        path: the audio file.
        output: the image; its suffix picks the format (:data:`IMAGE_SUFFIXES`).
        capacity: CREPE model size.
        start, duration: the part drawn, in seconds (default: all of it).
        hop_length: as :class:`~crepe_transforms.io.Extractor` (a duration or samples).
        voicing: the periodicity that splits the contour (display only).
        dpi: resolution of raster formats (and of the spectrogram in vector formats).
        **options: any option of :class:`~crepe_transforms.CrepePitch` and its parts
            (``decoder``, ``fmin``, ``weights``, ``precision``, ``block_frames`` …).

    Returns:
        The path written.
    """
    target = check_image_path(output)
    figure_cls, _ = _matplotlib()  # fail before the work when matplotlib is missing
    del figure_cls
    level = check_voicing(voicing)
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi < 1:
        raise ParameterError(f"dpi must be a positive integer, got {dpi!r}; e.g. dpi=120.")
    meta = audio_info(path)
    if not start >= 0 or (duration is not None and not duration > 0):
        raise ParameterError(
            f"start={start} must be >= 0 and duration={duration} > 0 seconds (or None)"
        )
    first = round(start * meta.sample_rate)
    last = None if duration is None else first + max(1, round(duration * meta.sample_rate))
    audio, rate = load_audio(path, mono=True, start=first, stop=last)
    model = CrepePitch(rate, capacity, hop_length=hop_length_for(hop_length, rate), **options)
    with torch.no_grad():
        f0, periodicity = model(audio)
    times = model.frames.frame_times(f0.shape[-1])
    title = f"{display(Path(path).name)} — CREPE {capacity}, {model.decode.decoder}"
    fig = plot_pitch(audio, rate, times, f0, periodicity, level, title, first / rate)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=dpi)
    return target
