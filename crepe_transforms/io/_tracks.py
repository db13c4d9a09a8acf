"""Reading (audio, f0) pairs for fine-tuning: f0 files and folders paired by name.

f0 files: the pitch CSV and NPZ this package writes (``crepe-transforms pitch``: columns or
arrays ``time``, ``f0`` and optionally ``voiced``; f0 NaN where unvoiced), or any CSV with a
``time`` and an ``f0`` column, or a headerless CSV of ``time,f0`` rows, or an NPZ with ``time``
and ``f0`` arrays. Unvoiced: f0 0 or NaN, or voiced 0.

Folders pair by relative path: ``a/take1.wav`` with ``a/take1.f0.csv``, ``a/take1.f0.npz``,
``a/take1.csv`` or ``a/take1.npz``.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from ..exceptions import ParameterError
from ._audio import AUDIO_EXTENSIONS, load_audio

__all__ = ["F0_SUFFIXES", "LabelledAudio", "pair_files", "read_f0", "read_pairs"]

#: f0 file names tried for ``name.wav``, in order.
F0_SUFFIXES = (".f0.csv", ".f0.npz", ".csv", ".npz")


def _csv_columns(path: Path) -> dict[str, np.ndarray]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [row for row in csv.reader(fh) if row and not row[0].startswith("#")]
    if not rows:
        raise ParameterError(f"{path}: empty f0 file; expected rows of time,f0.")

    def number(cell: str) -> float:
        return float(cell) if cell.strip() else math.nan

    try:
        [number(c) for c in rows[0]]
        header, body = ["time", "f0"], rows  # no header: time,f0 rows
    except ValueError:
        header, body = [c.strip().lower() for c in rows[0]], rows[1:]
    try:
        return {
            name: np.array([number(row[i]) for row in body], dtype=np.float64)
            for i, name in enumerate(header)
        }
    except (ValueError, IndexError) as exc:
        raise ParameterError(
            f"{path}: cannot read the f0 file as CSV numbers ({exc}); expected a header "
            f"'time,f0[,voiced]' (or none) and one number per cell."
        ) from exc


def read_f0(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(times, f0, voiced or None)`` from an f0 file (CSV or NPZ), unchecked.

    Raises:
        ParameterError: not CSV/NPZ, no ``time``/``f0`` column, several channels.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        columns = _csv_columns(target)
    elif suffix == ".npz":
        with np.load(target, allow_pickle=False) as npz:
            columns = {k: np.asarray(npz[k]) for k in npz.files if k in ("time", "f0", "voiced")}
    else:
        raise ParameterError(
            f"{target}: f0 files must be .csv or .npz (time, f0[, voiced]), got {suffix!r}."
        )
    if "channel" in columns and len(np.unique(columns["channel"])) > 1:
        raise ParameterError(
            f"{target}: holds several channels; fine-tuning reads mono f0 tracks. Extract "
            f"pitch from a mono downmix (the default of `crepe-transforms pitch`)."
        )
    missing = [k for k in ("time", "f0") if k not in columns]
    if missing:
        raise ParameterError(
            f"{target}: no {' and no '.join(missing)} column; found "
            f"{', '.join(sorted(columns)) or 'nothing'}. Name the columns time and f0."
        )
    f0 = np.asarray(columns["f0"], dtype=np.float64).reshape(-1)
    times = np.asarray(columns["time"], dtype=np.float64).reshape(-1)
    voiced = columns.get("voiced")
    return times, f0, None if voiced is None else np.asarray(voiced).reshape(-1) > 0.5


def _audio_files(root: Path) -> dict[str, Path]:
    return {
        p.relative_to(root).with_suffix("").as_posix(): p
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS
    }


def _f0_key(relative: str) -> str | None:
    for suffix in F0_SUFFIXES:
        if relative.lower().endswith(suffix):
            return relative[: -len(suffix)]
    return None


def pair_files(
    audio: str | os.PathLike[str], f0: str | os.PathLike[str]
) -> list[tuple[Path, Path]]:
    """``(audio file, f0 file)`` pairs: two files, or two folders paired by relative name.

    Raises:
        ParameterError: a path does not exist, one is a file and the other a folder, or
            folders whose files do not pair up (the unpaired ones are named).
    """
    a, f = Path(audio), Path(f0)
    for path, what in ((a, "audio"), (f, "f0")):
        if not path.exists():
            raise ParameterError(f"{what} path {path} does not exist.")
    if a.is_file() and f.is_file():
        return [(a, f)]
    if not (a.is_dir() and f.is_dir()):
        raise ParameterError(
            f"pass two files or two folders: {a} is a {'folder' if a.is_dir() else 'file'} "
            f"and {f} a {'folder' if f.is_dir() else 'file'}."
        )
    audios = _audio_files(a)
    tracks: dict[str, Path] = {}
    for p in sorted(f.rglob("*")):
        key = _f0_key(p.relative_to(f).as_posix()) if p.is_file() else None
        if key is not None and key not in tracks:
            tracks[key] = p
    lonely_audio = sorted(set(audios) - set(tracks))
    lonely_f0 = sorted(set(tracks) - set(audios))
    if lonely_audio or lonely_f0 or not audios:
        parts = []
        if lonely_audio:
            parts.append(
                "audio without an f0 file: "
                + ", ".join(audios[k].relative_to(a).as_posix() for k in lonely_audio[:10])
                + (" …" if len(lonely_audio) > 10 else "")
            )
        if lonely_f0:
            parts.append(
                "f0 files without audio: "
                + ", ".join(tracks[k].relative_to(f).as_posix() for k in lonely_f0[:10])
                + (" …" if len(lonely_f0) > 10 else "")
            )
        if not audios:
            parts.append(f"no audio files in {a}")
        raise ParameterError(
            f"the folders {a} and {f} do not pair up: {'; '.join(parts)}. Each NAME.wav needs "
            f"NAME{' or NAME'.join(F0_SUFFIXES)} at the same relative path; rename or remove "
            f"the unpaired files."
        )
    return [(audios[k], tracks[k]) for k in sorted(audios)]


class LabelledAudio(NamedTuple):
    """One (audio, f0 track) pair as read from files, in the order of
    :meth:`PitchTrack.from_arrays <crepe_transforms.train.PitchTrack.from_arrays>`'s
    arguments: ``PitchTrack.from_arrays(*pair)`` checks and resamples it."""

    audio: torch.Tensor
    sample_rate: int
    times: torch.Tensor
    f0: torch.Tensor
    voiced: torch.Tensor | None
    name: str


def read_pairs(audio: str | os.PathLike[str], f0: str | os.PathLike[str]) -> list[LabelledAudio]:
    """Read (audio, f0) pairs for fine-tuning (:func:`crepe_transforms.train.finetune`).

    Args:
        audio, f0: an audio file and its f0 file, or two folders paired by name.

    Returns:
        One :class:`LabelledAudio` per pair, mono audio at its own rate; its ``name`` is the
        f0 file's path, for error messages. Check each with ``PitchTrack.from_arrays(*pair)``,
        which raises, naming the file, when the track does not cover its audio, its times do
        not increase or its f0 is negative or infinite.

    Raises:
        ParameterError: unpaired files (named), unreadable f0 files.

    Example:
        >>> import tempfile, soundfile
        >>> root = Path(tempfile.mkdtemp())
        >>> soundfile.write(root / "a.wav", np.zeros(8000, np.float32), 16000)
        >>> _ = (root / "a.csv").write_text("time,f0\\n0.0,0\\n0.25,0\\n0.5,0\\n")
        >>> pair = read_pairs(root / "a.wav", root / "a.csv")[0]
        >>> pair.sample_rate, pair.times.tolist(), pair.name.startswith(str(root / "a.csv"))
        (16000, [0.0, 0.25, 0.5], True)
    """
    out = []
    for audio_path, f0_path in pair_files(audio, f0):
        times, values, voiced = read_f0(f0_path)
        wave, rate = load_audio(audio_path)
        out.append(
            LabelledAudio(
                wave,
                rate,
                torch.from_numpy(times),
                torch.from_numpy(values),
                None if voiced is None else torch.from_numpy(voiced),
                f"{f0_path} (f0 of {audio_path})",
            )
        )
    return out
