"""Feature containers and output files: CSV, NPZ and ``.pt``, written atomically.

Every writer writes to a temporary file next to the target (``.<name>.<random>.tmp``), flushes
and fsyncs it, then renames it over the target with :func:`os.replace`. A run killed at any
moment therefore leaves either the complete old file, the complete new one, or none, never half
a file; a leftover temporary file is removed the next time the same target is written.
"""

from __future__ import annotations

import csv
import errno
import io
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import IO, Any

import numpy as np
import torch

from . import fileio
from .exceptions import ParameterError

__all__ = [
    "FORMATS",
    "KINDS",
    "Features",
    "atomic_write",
    "check_output_dir",
    "output_name",
    "read_csv",
    "write_features",
]

#: What each command computes, and the file name tag of its outputs.
KINDS = {"pitch": "f0", "activation": "activation", "embedding": "embedding"}
#: Output formats accepted per kind (first = default).
FORMATS = {"pitch": ("csv", "npz", "pt"), "activation": ("npz", "pt"), "embedding": ("npz", "pt")}

Scalar = str | int | float


@dataclass(frozen=True)
class Features:
    """What one file gives: frame times, named arrays and the settings that produced them.

    Attributes:
        path: the audio file.
        kind: ``"pitch"``, ``"activation"`` or ``"embedding"``.
        sample_rate, hop_length: the file's rate and the hop in its samples.
        time: centre of each frame in seconds, ``i * hop_length / sample_rate`` (float64).
        arrays: ``frequency``, ``periodicity`` (and ``voiced`` with a threshold) for pitch;
            ``activation``; or ``embedding``. Frames are the last axis but one for activation
            and embedding, the last for pitch; a leading channel axis when channels are kept.
        attributes: the settings (capacity, decoder, …) stored with the arrays.

    Shape:
        - time: ``(frames,)``
        - pitch arrays: ``(..., frames)``; activation ``(..., frames, 360)``;
          embedding ``(..., frames, 32, E)`` or ``(..., frames, C5, 8)``
    """

    path: Path
    kind: str
    sample_rate: int
    hop_length: int
    time: torch.Tensor
    arrays: dict[str, torch.Tensor]
    attributes: dict[str, Scalar] = field(default_factory=dict)

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.arrays[name]

    @property
    def num_frames(self) -> int:
        return int(self.time.shape[0])

    def record(self) -> dict[str, Any]:
        """Everything as one flat mapping: ``time``, the arrays, rate, hop and settings."""
        out: dict[str, Any] = {"time": self.time, **self.arrays}
        out.update(sample_rate=self.sample_rate, hop_length=self.hop_length, kind=self.kind)
        out.update(source=str(self.path), **self.attributes)
        return out


def output_name(relative: PurePath, kind: str, fmt: str) -> PurePath:
    """``dir/name.wav`` → ``dir/name.f0.csv`` (pitch), ``dir/name.activation.npz`` …

    Example:
        >>> output_name(PurePath("speaker1/take 2.flac"), "pitch", "csv").as_posix()
        'speaker1/take 2.f0.csv'
    """
    check_format(kind, fmt)
    stem = relative.name.rsplit(".", 1)[0] if "." in relative.name[1:] else relative.name
    return relative.with_name(f"{stem}.{KINDS[kind]}.{fmt}")


def check_format(kind: str, fmt: str) -> str:
    if kind not in KINDS:
        raise ParameterError(f"kind={kind!r} is not one of {', '.join(map(repr, KINDS))}.")
    if fmt not in FORMATS[kind]:
        raise ParameterError(
            f"format {fmt!r} is not available for {kind}; choose one of "
            f"{', '.join(FORMATS[kind])}" + (" (CSV holds pitch only)." if fmt == "csv" else ".")
        )
    return fmt


def atomic_write(target: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write an output file atomically, first removing temporaries a killed run left behind.

    Each output file has one writer (shards never share a file), so the sweep is safe here.
    See :func:`crepe_transforms.fileio.atomic_write`.
    """
    fileio.atomic_write(target, write, sweep_stale=True)


#: OSError numbers that mean "this place cannot hold outputs", a problem with the path given
#: rather than with the machine (a full disk or an I/O error stays an OSError).
_UNWRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST, errno.ENOENT)


def _unwritable(where: Path, exc: OSError, name: str) -> ParameterError:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        blocker = "" if exc.filename in (None, str(where)) else f": {exc.filename}"
        reason = f"a file, not a directory, is in the way{blocker}"
    return ParameterError(
        f"{name} {where} is not writable ({reason}); choose another output directory or fix "
        f"its permissions."
    )


def check_output_dir(output_dir: str | os.PathLike[str], name: str = "output_dir") -> Path:
    """Check that ``output_dir`` can hold new files, creating nothing.

    The nearest existing folder on the way to it must be a writable directory (then the rest
    can be created when the first file is written).

    Raises:
        ParameterError: it cannot be created (a file is in the way, no permission) or is not
            writable; the message names the directory and the fix.
    """
    if not isinstance(output_dir, str | os.PathLike):
        raise ParameterError(
            f"{name} must be a directory path (str or os.PathLike), got "
            f"{type(output_dir).__name__}."
        )
    path = Path(output_dir)
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(existing))
        # A real probe: os.access is wrong for root, ACLs and read-only mounts.
        fd, probe = tempfile.mkstemp(prefix=".write-test.", suffix=".tmp", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        if exc.errno not in _UNWRITABLE:
            raise
        raise _unwritable(path, exc, name) from None
    return path


def _number(value: float, digits: int) -> str:
    return "" if math.isnan(value) else f"{value:.{digits}f}"


def _write_csv(features: Features, fh: IO[bytes]) -> None:
    if features.kind != "pitch":
        raise ParameterError("CSV output holds pitch only; use npz or pt for " + features.kind)
    text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    frequency = features["frequency"].double()
    channels = frequency.dim() > 1
    voiced = features.arrays.get("voiced")
    writer.writerow(
        ["time", *(["channel"] if channels else []), "frequency", "periodicity"]
        + (["voiced"] if voiced is not None else [])
    )
    freq = frequency.reshape(-1, frequency.shape[-1]).tolist()
    per = features["periodicity"].double().reshape(len(freq), -1).tolist()
    flags = None if voiced is None else voiced.reshape(len(freq), -1).int().tolist()
    times = [f"{t:.6f}" for t in features.time.tolist()]
    for ch in range(len(freq)):
        lead = [str(ch)] if channels else []
        for i, t in enumerate(times):
            row = [t, *lead, _number(freq[ch][i], 4), _number(per[ch][i], 6)]
            if flags is not None:
                row.append(str(flags[ch][i]))
            writer.writerow(row)
    text.flush()
    text.detach()


def _write_npz(features: Features, fh: IO[bytes]) -> None:
    record = {
        key: value.cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        for key, value in features.record().items()
    }
    savez: Any = np.savez  # numpy's stubs type **kwds as the allow_pickle flag
    savez(fh, **record)


def _write_pt(features: Features, fh: IO[bytes]) -> None:
    record = {
        key: value.cpu() if isinstance(value, torch.Tensor) else value
        for key, value in features.record().items()
    }
    torch.save(record, fh)


_WRITERS: Mapping[str, Callable[[Features, IO[bytes]], None]] = {
    "csv": _write_csv,
    "npz": _write_npz,
    "pt": _write_pt,
}


def write_features(features: Features, target: str | os.PathLike[str], fmt: str) -> Path:
    """Write ``features`` to ``target`` in ``fmt`` (``csv``, ``npz`` or ``pt``), atomically.

    - CSV (pitch only): header ``time,frequency,periodicity`` (+ ``voiced`` with a threshold;
      + ``channel`` after ``time`` when channels are kept, rows channel by channel); one row a
      frame; time in seconds (6 decimals), frequency in Hz (4 decimals, empty where unvoiced),
      periodicity (6 decimals), voiced 1/0.
    - NPZ / PT: ``time``, the arrays, ``sample_rate``, ``hop_length``, ``kind``, ``source``
      and the settings, loadable with ``numpy.load`` / ``torch.load(weights_only=True)``.
    """
    check_format(features.kind, fmt)
    path = Path(target)
    try:
        atomic_write(path, lambda fh: _WRITERS[fmt](features, fh))
    except OSError as exc:
        if exc.errno not in _UNWRITABLE:
            raise
        raise _unwritable(path.parent, exc, "output directory") from None
    return path


def read_csv(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Columns of a pitch CSV as float64 arrays (empty cells → NaN)."""
    with Path(path).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    return {
        name: np.array([float(row[i]) if row[i] else math.nan for row in body], dtype=np.float64)
        for i, name in enumerate(header)
    }
