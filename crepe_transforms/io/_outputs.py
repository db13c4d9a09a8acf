"""Results of files and their output files (CSV, NPZ, ``.pt``), each recording its settings.

Every output says how it was made: the kind, the source file, its rate, the hop and every
setting of the run (``Features.settings``), so that a resumed run can tell an output of the
same settings (done) from one of other settings (not done; see
:func:`~crepe_transforms.io.predict_files`).

- NPZ / PT hold the record inside: ``time``, the arrays, ``sample_rate``, ``hop_length``,
  ``kind``, ``source``, ``version`` and ``settings`` (a JSON string in NPZ, a dict in PT).
- A CSV holds columns only, so its record is a JSON *sidecar*, ``<name>.f0.csv.json``. The
  sidecar is written (atomically) **before** the CSV, so an existing CSV always has one, and
  it carries the CSV's sha256: a CSV that does not match its sidecar (an ``--overwrite`` run
  killed between the two writes, or an edited file) is recognised as such.

Every file is written to a temporary file next to the target (``.<name>.<random>.tmp``),
flushed, fsynced and renamed over the target with :func:`os.replace`: a run killed at any
moment leaves the complete old file, the complete new one or none, never half a file; a
leftover temporary file is removed the next time the same target is written.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import IO, Any

import numpy as np
import torch

from .. import _fileio
from .._settings import plain
from ..exceptions import CrepeError, ParameterError

__all__ = [
    "FORMATS",
    "KINDS",
    "Features",
    "OutputRecord",
    "UnknownRecord",
    "atomic_write",
    "check_output_dir",
    "differences",
    "output_name",
    "read_csv",
    "read_features",
    "read_record",
    "sidecar_path",
    "write_features",
]

#: What each command computes, and the file name tag of its outputs.
KINDS = {"pitch": "f0", "activation": "activation", "embedding": "embedding"}
#: Output formats accepted per kind (first = default).
FORMATS = {"pitch": ("csv", "npz", "pt"), "activation": ("npz", "pt"), "embedding": ("npz", "pt")}

_HEADER = ("kind", "source", "sample_rate", "hop_length", "version")


def _version() -> str:
    from .._version import VERSION as __version__

    return __version__


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
            "version": _version(),
            "settings": _jsonable(self.settings),
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


def _jsonable(value: Any) -> Any:
    """``value`` as JSON data (tuples → lists, paths → str, HMMs → dicts), checked."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    value = plain(value)
    if isinstance(value, Mapping):
        return _jsonable(value)
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


def _format_of(target: Path, fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    suffix = target.suffix.lower().lstrip(".")
    if suffix not in ("csv", "npz", "pt"):
        raise ParameterError(
            f"{target}: cannot tell the format from the suffix {target.suffix!r}; name the "
            f"file .csv, .npz or .pt, or pass fmt='csv' | 'npz' | 'pt'."
        )
    return suffix


def atomic_write(target: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write an output file atomically, first removing temporaries a killed run left behind.

    Each output file has one writer (shards never share a file), so the sweep is safe here.
    See :func:`crepe_transforms._fileio.atomic_write`.
    """
    _fileio.atomic_write(target, write, sweep_stale=True)


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


# --------------------------------------------------------------------------- writing


def _number(value: float, digits: int) -> str:
    return "" if math.isnan(value) else f"{value:.{digits}f}"


def _csv_bytes(features: Features) -> bytes:
    if features.kind != "pitch":
        raise ParameterError("CSV output holds pitch only; use npz or pt for " + features.kind)
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    f0 = features["f0"].double()
    channels = f0.dim() > 1
    voiced = features.arrays.get("voiced")
    writer.writerow(
        ["time", *(["channel"] if channels else []), "f0", "periodicity"]
        + (["voiced"] if voiced is not None else [])
    )
    values = f0.reshape(-1, f0.shape[-1]).tolist()
    per = features["periodicity"].double().reshape(len(values), -1).tolist()
    flags = None if voiced is None else voiced.reshape(len(values), -1).int().tolist()
    times = [f"{t:.6f}" for t in features.time.tolist()]
    for ch in range(len(values)):
        lead = [str(ch)] if channels else []
        for i, t in enumerate(times):
            row = [t, *lead, _number(values[ch][i], 4), _number(per[ch][i], 6)]
            if flags is not None:
                row.append(str(flags[ch][i]))
            writer.writerow(row)
    return text.getvalue().encode("utf-8")


def _write_npz(features: Features, fh: IO[bytes]) -> None:
    header = features.header()
    record: dict[str, Any] = {"time": features.time.cpu().numpy()}
    record.update({k: v.detach().cpu().numpy() for k, v in features.arrays.items()})
    record.update({k: np.asarray(header[k]) for k in _HEADER})
    record["settings"] = np.asarray(json.dumps(header["settings"], sort_keys=True))
    savez: Any = np.savez  # numpy's stubs type **kwds as the allow_pickle flag
    savez(fh, **record)


def _write_pt(features: Features, fh: IO[bytes]) -> None:
    record: dict[str, Any] = {"time": features.time.cpu()}
    record.update({k: v.detach().cpu() for k, v in features.arrays.items()})
    record.update(features.header())
    torch.save(record, fh)


def write_features(
    features: Features, target: str | os.PathLike[str], fmt: str | None = None
) -> Path:
    """Write ``features`` to ``target`` in ``fmt`` (``csv``, ``npz`` or ``pt``; default: by
    the suffix), atomically, with the settings that made them.

    - CSV (pitch only): header ``time,f0,periodicity`` (+ ``voiced`` with a voicing
      threshold; + ``channel`` after ``time`` when channels are kept, rows channel by
      channel); one row a frame; time in seconds (6 decimals), f0 in Hz (4 decimals, empty
      where unvoiced), periodicity (6 decimals), voiced 1/0. The record goes to the sidecar
      ``<target>.json``, written first.
    - NPZ / PT: ``time``, the arrays, ``sample_rate``, ``hop_length``, ``kind``, ``source``,
      ``version`` and ``settings``, loadable with ``numpy.load`` /
      ``torch.load(weights_only=True)``.

    Example:
        >>> import tempfile
        >>> f0, periodicity = torch.tensor([220.0, math.nan]), torch.tensor([0.9, 0.1])
        >>> arrays = {"f0": f0, "periodicity": periodicity}
        >>> times = torch.tensor([0.0, 0.01])
        >>> features = Features(Path("a.wav"), "pitch", 16000, 160, times, arrays, {"capacity": 1})
        >>> target = write_features(features, Path(tempfile.mkdtemp()) / "a.f0.csv")
        >>> target.read_text().splitlines()
        ['time,f0,periodicity', '0.000000,220.0000,0.900000', '0.010000,,0.100000']
        >>> read_features(target).settings
        {'capacity': 1}
    """
    path = Path(target)
    fmt = check_format(features.kind, _format_of(path, fmt))
    try:
        if fmt == "csv":
            data = _csv_bytes(features)
            sidecar = {**features.header(), "sha256": hashlib.sha256(data).hexdigest()}
            payload = (json.dumps(sidecar, indent=1, sort_keys=True) + "\n").encode("utf-8")
            # the record first: a CSV that exists always has one
            atomic_write(sidecar_path(path), lambda fh: fh.write(payload))
            atomic_write(path, lambda fh: fh.write(data))
        else:
            writer = _write_npz if fmt == "npz" else _write_pt
            atomic_write(path, lambda fh: writer(features, fh))
    except OSError as exc:
        if exc.errno not in _UNWRITABLE:
            raise
        raise _unwritable(path.parent, exc, "output directory") from None
    return path


# --------------------------------------------------------------------------- reading


def read_csv(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Columns of a pitch CSV as float64 arrays (empty cells → NaN)."""
    with Path(path).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise ParameterError(f"{path}: empty file, not a pitch CSV")
    header, body = rows[0], rows[1:]
    return {
        name: np.array([float(row[i]) if row[i] else math.nan for row in body], dtype=np.float64)
        for i, name in enumerate(header)
    }


def _record_of(header: Mapping[str, Any], settings: Any) -> OutputRecord:
    if isinstance(settings, str):
        settings = json.loads(settings)
    if not isinstance(settings, dict):
        raise TypeError("settings is not a mapping")
    return OutputRecord(
        kind=str(header["kind"]),
        source=str(header["source"]),
        sample_rate=int(header["sample_rate"]),
        hop_length=int(header["hop_length"]),
        version=str(header["version"]),
        settings=settings,
    )


_NO_RECORD = "made by crepe-transforms 0.1 or another program (no settings recorded)"


def read_record(path: str | os.PathLike[str], fmt: str | None = None) -> OutputRecord:
    """How an existing output was made, without reading its arrays.

    Raises:
        UnknownRecord: the file records no settings (made by 0.1 or another program), is not
            readable as an output, or (CSV) no longer matches its sidecar.
    """
    target = Path(path)
    fmt = _format_of(target, fmt)
    try:
        if fmt == "csv":
            sidecar = sidecar_path(target)
            if not sidecar.exists():
                raise UnknownRecord(f"{target}: {_NO_RECORD}; no {sidecar.name} beside it")
            header = json.loads(sidecar.read_text("utf-8"))
            if hashlib.sha256(target.read_bytes()).hexdigest() != header.get("sha256"):
                raise UnknownRecord(
                    f"{target}: does not match its settings record {sidecar.name} (an "
                    f"--overwrite run was stopped between the two writes, or the file was edited)"
                )
            return _record_of(header, header.get("settings"))
        if fmt == "npz":
            with np.load(target, allow_pickle=False) as npz:
                if "settings" not in npz.files:
                    raise UnknownRecord(f"{target}: {_NO_RECORD}")
                values = {k: npz[k].item() for k in (*_HEADER, "settings")}
            return _record_of(values, values["settings"])
        data = torch.load(target, map_location="cpu", weights_only=True, mmap=True)
        if not isinstance(data, dict) or "settings" not in data:
            raise UnknownRecord(f"{target}: {_NO_RECORD}")
        return _record_of(data, data["settings"])
    except UnknownRecord:
        raise
    except Exception as exc:  # a damaged or foreign file: its settings are unknown
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise UnknownRecord(
            f"{target}: not readable as a crepe-transforms output ({reason})"
        ) from None


def _csv_features(target: Path) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    columns = read_csv(target)
    channel = columns.pop("channel", None)
    rows = 1 if channel is None else len(np.unique(channel))
    time = torch.from_numpy(columns.pop("time"))
    frames = len(time) // rows
    arrays = {}
    for name, values in columns.items():
        tensor = torch.from_numpy(values)
        if channel is not None:
            tensor = tensor.reshape(rows, frames)
        arrays[name] = tensor.bool() if name == "voiced" else tensor
    return time[:frames], arrays


def read_features(path: str | os.PathLike[str], fmt: str | None = None) -> Features:
    """Read back an output of any format (default: by the suffix), with its settings.

    CSV values come back as float64 at the CSV's precision (f0 4 decimals, periodicity 6);
    NPZ and PT give the arrays as written.

    Raises:
        UnknownRecord: the output records no settings (e.g. a 0.1 file) or, for a CSV, does
            not match its sidecar.

    Example:
        >>> import tempfile
        >>> features = Features(Path("a.wav"), "activation", 8000, 80, torch.zeros(3),
        ...     {"activation": torch.rand(3, 360)}, {"capacity": "tiny", "fmin": None})
        >>> target = write_features(features, Path(tempfile.mkdtemp()) / "a.activation.npz")
        >>> again = read_features(target)
        >>> again.kind, again.sample_rate, again.settings, again["activation"].shape
        ('activation', 8000, {'capacity': 'tiny', 'fmin': None}, torch.Size([3, 360]))
    """
    target = Path(path)
    fmt = _format_of(target, fmt)
    record = read_record(target, fmt)
    if fmt == "csv":
        time, arrays = _csv_features(target)
    elif fmt == "npz":
        with np.load(target, allow_pickle=False) as npz:
            names = [k for k in npz.files if k not in (*_HEADER, "settings", "time")]
            time = torch.from_numpy(npz["time"])
            arrays = {k: torch.from_numpy(npz[k]) for k in names}
    else:
        data = torch.load(target, map_location="cpu", weights_only=True)
        time = data["time"]
        arrays = {k: v for k, v in data.items() if k not in (*_HEADER, "settings", "time")}
    return Features(
        Path(record.source),
        record.kind,
        record.sample_rate,
        record.hop_length,
        time,
        arrays,
        record.settings,
    )


def differences(
    old: Mapping[str, Any], new: Mapping[str, Any], ignore: tuple[str, ...] = ()
) -> list[tuple[str, Any, Any]]:
    """``(name, old value, new value)`` of each setting that differs, as JSON data.

    Settings in ``ignore`` (those that do not change the numbers) are left out; a setting
    one side lacks reads as ``"<absent>"``.

    Example:
        >>> differences({"capacity": "tiny", "device": "cpu"},
        ...             {"capacity": "full", "device": "cuda"}, ignore=("device",))
        [('capacity', 'tiny', 'full')]
    """
    absent = "<absent>"
    a, b = _jsonable(dict(old)), _jsonable(dict(new))
    names = [*a, *(k for k in b if k not in a)]
    return [
        (name, a.get(name, absent), b.get(name, absent))
        for name in names
        if name not in ignore and a.get(name, absent) != b.get(name, absent)
    ]
