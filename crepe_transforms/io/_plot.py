"""The picture to look at first: a spectrogram with the pitch contour, and the periodicity.

Needs matplotlib, the ``plot`` extra: ``pip install "crepe-transforms[plot]"``. It is imported
on use only; without it :func:`plot_pitch` and :func:`plot_file` raise
:class:`~crepe_transforms.exceptions.MissingDependencyError`. Figures are drawn with the Agg
canvas directly, never through ``pyplot``'s global state. The spectrogram is computed chunk by
chunk and pooled to at most one cell per pixel, so memory is bounded by the picture, not by
the file (``benchmarks/plot_memory.py`` measures it from 2 s to 1 h); it is a raster image in
every format (vector formats embed it), the contour and the axes stay vectors.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from .._text import display
from ..exceptions import MissingDependencyError, ParameterError
from ..functional._internal import check_voicing
from ._audio import AudioReader, audio_info, downmix
from ._extract import Extractor

__all__ = [
    "DISPLAY_LEVEL",
    "IMAGE_SUFFIXES",
    "Spectrogram",
    "check_image_path",
    "display_spectrogram",
    "plot_file",
    "plot_pitch",
]

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


#: Figure size in inches (width, height); the spectrogram is computed at most at the
#: resolution the picture shows (:func:`_grid`), whatever the length of the audio.
FIGSIZE = (10.0, 6.0)
#: Frequencies drawn (Hz): the spectrogram's log axis, from below CREPE's lowest bin.
LOWEST_HZ, HIGHEST_HZ = 30.0, 5000.0
#: STFT frames computed at a time (bounds the working memory of the spectrogram, ~30 MB).
_STFT_CHUNK = 2048


def _grid(dpi: int) -> tuple[int, int]:
    """At most (columns, rows) of spectrogram cells: one per pixel of the top panel."""
    return math.ceil(FIGSIZE[0] * dpi), math.ceil(FIGSIZE[1] * dpi * 0.75)


class Spectrogram(NamedTuple):
    """A display spectrogram: ``db`` ``(rows, columns)`` (dB re its maximum, floored at −80)
    and the cell edges in seconds ``(columns + 1,)`` and Hz ``(rows + 1,)``."""

    db: torch.Tensor
    time_edges: torch.Tensor
    freq_edges: torch.Tensor


def display_spectrogram(
    read: Callable[[int, int], torch.Tensor],
    length: int,
    sample_rate: int,
    columns: int,
    rows: int,
) -> Spectrogram:
    """The spectrogram of ``length`` samples pooled to at most ``columns`` × ``rows`` cells.

    Memory is bounded by the picture, not by the audio: STFT frames (~80–130 ms window, 5 ms
    hop) are computed :data:`_STFT_CHUNK` at a time from ``read(lo, hi)`` (mono samples
    ``lo … hi − 1``, called with increasing ``lo``), and each chunk is reduced at once to the
    display grid: the maximum magnitude over the frames of a column and over the FFT bins of a
    log-spaced row (rows narrower than a bin take the bin nearest their centre). The long
    window resolves the low harmonics on the log axis; the contour carries the time detail.

    Example:
        >>> x = torch.sin(2 * math.pi * 440 * torch.arange(16000) / 16000)
        >>> spec = display_spectrogram(lambda lo, hi: x[lo:hi], 16000, 16000, 50, 40)
        >>> tuple(spec.db.shape), spec.db.max().item()  # 201 STFT frames, 5 a column
        ((40, 41), 0.0)
        >>> row = int(spec.db[:, 20].argmax())   # the loudest row holds 440 Hz
        >>> bool(spec.freq_edges[row] <= 440 <= spec.freq_edges[row + 1])
        True
    """
    n_fft = 1 << max(8, math.ceil(math.log2(0.08 * sample_rate)))
    hop = max(1, sample_rate // 200)
    frames = 1 + length // hop  # centred frames, as torch.stft(center=True)
    per = math.ceil(frames / max(1, columns))  # STFT frames pooled into one column
    n_columns = math.ceil(frames / per)
    top = min(sample_rate / 2, HIGHEST_HZ)
    freq_edges = torch.logspace(math.log10(LOWEST_HZ), math.log10(top), rows + 1)
    bin_hz = sample_rate / n_fft
    n_bins = min(n_fft // 2, math.floor(top / bin_hz)) + 1
    centres = torch.arange(n_bins) * bin_hz
    inside = (centres >= LOWEST_HZ) & (centres <= top)
    bin_rows = (torch.searchsorted(freq_edges, centres[inside], right=True) - 1).clamp(0, rows - 1)
    nearest = ((freq_edges[:-1] * freq_edges[1:]).sqrt() / bin_hz).round().long()
    nearest = nearest.clamp(0, n_bins - 1)
    window = torch.hann_window(n_fft)
    pooled = torch.zeros(rows, n_columns)
    chunk = per * max(1, _STFT_CHUNK // per)  # whole columns per chunk
    for first in range(0, frames, chunk):
        count = min(chunk, frames - first)
        lo = first * hop - n_fft // 2
        hi = (first + count - 1) * hop - n_fft // 2 + n_fft
        segment = torch.zeros(hi - lo)
        a, b = max(lo, 0), min(hi, length)
        if a < b:
            segment[a - lo : b - lo] = read(a, b).float()
        spec = torch.stft(
            segment, n_fft, hop, window=window, center=False, return_complex=True
        ).abs()[:n_bins]  # (bins, count)
        index = bin_rows[:, None].expand(-1, count)
        banded = torch.zeros(rows, count).scatter_reduce_(0, index, spec[inside], "amax")
        banded = torch.maximum(banded, spec[nearest])
        # pool whole columns (the last chunk may end inside one): pad with zeros, take the max
        spare = -count % per
        padded = torch.nn.functional.pad(banded, (0, spare))
        pooled_part = padded.reshape(rows, -1, per).amax(-1)
        column = first // per
        pooled[:, column : column + pooled_part.shape[1]] = torch.maximum(
            pooled[:, column : column + pooled_part.shape[1]], pooled_part
        )
    db = 20 * torch.log10(pooled.clamp_min(1e-10))
    db = (db - db.max()).clamp_min(-80.0)
    time_edges = ((torch.arange(n_columns + 1) * per - 0.5) * hop / sample_rate).clamp_min(0.0)
    time_edges[-1] = min(float(time_edges[-1]), (frames - 0.5) * hop / sample_rate)
    return Spectrogram(db, time_edges.double(), freq_edges.double())


def plot_pitch(
    audio: torch.Tensor,
    sample_rate: int,
    time: torch.Tensor,
    f0: torch.Tensor,
    periodicity: torch.Tensor,
    voicing: float | None = None,
    title: str | None = None,
    offset: float = 0.0,
    dpi: int = 120,
) -> Any:
    """Draw a :class:`matplotlib.figure.Figure`: spectrogram + f0 on top, periodicity below.

    Frames whose periodicity reaches ``voicing`` (0.5 when None) make the solid contour; the
    others are faint dots. Nothing is removed: ``voicing`` only splits the two. Times are
    shifted by ``offset`` seconds. The spectrogram has at most one cell per pixel at ``dpi``
    (:func:`display_spectrogram`), so memory does not grow with the audio's length.

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
    samples = audio.detach().cpu()
    spec = display_spectrogram(
        lambda lo, hi: samples[lo:hi], samples.shape[-1], sample_rate, *_grid(_check_dpi(dpi))
    )
    return _figure(spec, sample_rate, time, f0, periodicity, voicing, title, offset)


def _check_dpi(dpi: object) -> int:
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi < 1:
        raise ParameterError(f"dpi must be a positive integer, got {dpi!r}; e.g. dpi=120.")
    return dpi


def _figure(
    spec: Spectrogram,
    sample_rate: int,
    time: torch.Tensor,
    f0: torch.Tensor,
    periodicity: torch.Tensor,
    voicing: float | None,
    title: str | None,
    offset: float,
) -> Any:
    level = DISPLAY_LEVEL if voicing is None else check_voicing(voicing)
    if level is None:  # check_voicing("none")
        level = DISPLAY_LEVEL
    figure_cls, canvas_cls = _matplotlib()
    fig = figure_cls(figsize=FIGSIZE, layout="constrained")
    canvas_cls(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    # One flat cell per pixel at most, rasterised in vector formats: 0.2 drew a Gouraud mesh
    # over every STFT cell (~270 MB of memory per second of audio; a 10-minute file was killed).
    mesh = top.pcolormesh(
        (spec.time_edges + offset).numpy(),
        spec.freq_edges.numpy(),
        spec.db.numpy(),
        shading="flat",
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
        np.where(strong, f, np.nan),
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
        rasterized=True,  # one marker per frame: a raster in vector formats, not 360,000 nodes
    )
    top.set_yscale("log")
    top.set_ylim(LOWEST_HZ, min(sample_rate / 2, HIGHEST_HZ))
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
    end = float(spec.time_edges[-1]) + offset
    bottom.set_xlim(offset, max(end, float(t[-1])) if len(t) else end)
    bottom.legend(loc="upper right", fontsize="small")
    return fig


def _save(fig: Any, target: Path, dpi: int) -> None:
    """Save, without matplotlib's missing-glyph warnings: a file name in a script the font
    lacks (CJK, Devanagari …) is drawn with boxes, which is no reason for a warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"Glyph \d+ .*missing from", UserWarning)
        warnings.filterwarnings("ignore", r"Matplotlib currently does not support", UserWarning)
        fig.savefig(target, dpi=dpi)


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
        **options: any option of :class:`~crepe_transforms.io.Extractor` (``decoder``,
            ``fmin``, ``weights``, ``precision``, ``block_frames``, ``device`` …). The file is
            read block by block, as by the ``pitch`` command, so memory is bounded by the
            picture and the pitch track, not by the audio (a 1-hour file fits in < 1.5 GB).

    Returns:
        The path written.
    """
    target = check_image_path(output)
    figure_cls, _ = _matplotlib()  # fail before the work when matplotlib is missing
    del figure_cls
    level = check_voicing(voicing)
    dpi = _check_dpi(dpi)
    meta = audio_info(path)
    if not start >= 0 or (duration is not None and not duration > 0):
        raise ParameterError(
            f"start={start} must be >= 0 and duration={duration} > 0 seconds (or None)"
        )
    rate = meta.sample_rate
    first = round(start * rate)
    if first >= meta.samples:
        raise ParameterError(
            f"{path}: start={start:g} s is at or past the end of the file ({meta.duration:.3f} "
            f"s); pass a start below {meta.duration:.3f} s."
        )
    last = (
        meta.samples
        if duration is None
        else min(meta.samples, first + max(1, round(duration * rate)))
    )
    # The pitch block by block (the extractor's engine, Viterbi spilled to disk), the
    # spectrogram chunk by chunk from a second pass over the file: nothing holds the audio.
    extractor = Extractor(capacity, hop_length=hop_length, voicing=None, **options)
    result = extractor.pitch(path, start=first, stop=last)
    with AudioReader(path, first, last) as reader:
        spec = display_spectrogram(
            lambda lo, hi: torch.from_numpy(downmix(reader.read(lo, hi))),
            last - first,
            rate,
            *_grid(dpi),
        )
    decoder = extractor.decode.decoder
    title = f"{display(Path(path).name)} — CREPE {capacity}, {decoder}"
    fig = _figure(
        spec, rate, result.time, result["f0"], result["periodicity"], level, title, first / rate
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    _save(fig, target, dpi)
    return target
