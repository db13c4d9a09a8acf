"""What one file gives (:class:`Features`), what an output file says of it (its record), and
the names of output files.

Every output says how it was made: the kind, the source file, its rate, the hop and every
setting of the run (``Features.settings``, the weights' digest among them), so that a resumed
run can tell an output of the same settings (done) from one of other settings (not done; see
:func:`~crepe_transforms.io.predict_files`). :mod:`._formats` writes and reads the files,
:mod:`._records` compares records.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import torch

from .._settings import plain
from .._tables import FORMATS, KINDS
from .._version import __version__
from ..exceptions import CrepeError, ParameterError

__all__ = [
    "FORMATS",
    "HEADER",
    "KINDS",
    "Features",
    "OutputRecord",
    "UnknownRecord",
    "check_format",
    "format_of",
    "jsonable",
    "output_name",
    "sidecar_path",
]


#: What every output records besides its arrays and settings.
HEADER = ("kind", "source", "sample_rate", "hop_length", "version")


@dataclass(frozen=True)
class Features:
    """What one file gives: frame times, named arrays and the settings that produced them.

    Attributes:
        path: the audio file.
        kind: ``"pitch"``, ``"activation"`` or ``"embedding"``.
        sample_rate, hop_length: the file's rate and the hop in its samples.
        time: centre of each frame in seconds, ``i * hop_length / sample_rate`` (float64).
        arrays: ``f0`` (Hz, NaN where unvoiced), ``periodicity`` (and ``voiced`` with a
            voicing threshold) for pitch; ``activation``; or ``embedding``. Frames are the
            last axis for pitch and the axis before the features otherwise; a leading channel
            axis when channels are kept.
        settings: every setting of the run that made it (plain JSON data; see
            :meth:`Extractor.recorded_settings <crepe_transforms.io.Extractor.recorded_settings>`).

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
    settings: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.arrays[name]

    @property
    def num_frames(self) -> int:
        return int(self.time.shape[0])

    def header(self) -> dict[str, Any]:
        """What the output files record besides the arrays (plain JSON data)."""
        return {
            "kind": self.kind,
            "source": os.fspath(self.path),
            "sample_rate": int(self.sample_rate),
            "hop_length": int(self.hop_length),
            "version": __version__,
            "settings": jsonable(self.settings),
        }


@dataclass(frozen=True)
class OutputRecord:
    """The record of an existing output: how it was made (see :func:`read_record`)."""

    kind: str
    source: str
    sample_rate: int
    hop_length: int
    version: str
    settings: dict[str, Any]


class UnknownRecord(CrepeError):
    """An output whose settings are unknown: made by 0.1 or another program, unreadable, or
    changed since its record was written. The message says which (one line)."""


def jsonable(value: Any) -> Any:
    """``value`` as JSON data (tuples → lists, paths → str, HMMs → dicts), checked."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    value = plain(value)
    if isinstance(value, Mapping):
        return jsonable(value)
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, torch.dtype):
        return str(value).removeprefix("torch.")
    raise ParameterError(f"setting value {value!r} ({type(value).__name__}) is not JSON data")


def output_name(relative: PurePath, kind: str, fmt: str) -> PurePath:
    """``dir/name.wav`` → ``dir/name.f0.csv`` (pitch), ``dir/name.activation.npz`` …

    Example:
        >>> output_name(PurePath("speaker1/take 2.flac"), "pitch", "csv").as_posix()
        'speaker1/take 2.f0.csv'
    """
    check_format(kind, fmt)
    stem = relative.name.rsplit(".", 1)[0] if "." in relative.name[1:] else relative.name
    return relative.with_name(f"{stem}.{KINDS[kind]}.{fmt}")


def sidecar_path(target: str | os.PathLike[str]) -> Path:
    """The settings record of a CSV output: ``x.f0.csv`` → ``x.f0.csv.json``."""
    path = Path(target)
    return path.with_name(path.name + ".json")


def check_format(kind: str, fmt: str) -> str:
    if kind not in KINDS:
        raise ParameterError(f"kind={kind!r} is not one of {', '.join(map(repr, KINDS))}.")
    if fmt not in FORMATS[kind]:
        raise ParameterError(
            f"format {fmt!r} is not available for {kind}; choose one of "
            f"{', '.join(FORMATS[kind])}" + (" (CSV holds pitch only)." if fmt == "csv" else ".")
        )
    return fmt


def format_of(target: Path, fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    suffix = target.suffix.lower().lstrip(".")
    if suffix not in ("csv", "npz", "pt"):
        raise ParameterError(
            f"{target}: cannot tell the format from the suffix {target.suffix!r}; name the "
            f"file .csv, .npz or .pt, or pass fmt='csv' | 'npz' | 'pt'."
        )
    return suffix
