"""Output files: CSV, NPZ and ``.pt``, written atomically, each with its record.

- NPZ / PT hold the record inside: ``time``, the arrays, ``sample_rate``, ``hop_length``,
  ``kind``, ``source``, ``version`` and ``settings`` (a JSON string in NPZ, a dict in PT).
- A CSV holds columns only, so its record is a JSON *sidecar*, ``<name>.f0.csv.json``. The
  sidecar is written (atomically) **before** the CSV, so an existing CSV always has one, and
  it carries the CSV's sha256: a CSV that does not match its sidecar (an ``--overwrite`` run
  killed between the two writes, or an edited file) is recognised as such.

Every file is written with :func:`crepe_transforms._fileio.atomic_write` (``sweep_stale``:
each output file has one writer, so temporaries a killed run left behind are removed first):
a run killed at any moment leaves the complete old file, the complete new one or none.
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
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from .._fileio import atomic_write
from ..exceptions import ParameterError
from ._features import HEADER, Features, check_format, format_of, sidecar_path
from ._records import read_record

__all__ = ["check_output_dir", "read_csv", "read_features", "write_features"]

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
    record.update({k: np.asarray(header[k]) for k in HEADER})
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
    fmt = check_format(features.kind, format_of(path, fmt))
    try:
        if fmt == "csv":
            data = _csv_bytes(features)
            sidecar = {**features.header(), "sha256": hashlib.sha256(data).hexdigest()}
            payload = (json.dumps(sidecar, indent=1, sort_keys=True) + "\n").encode("utf-8")
            # the record first: a CSV that exists always has one
            atomic_write(sidecar_path(path), lambda fh: fh.write(payload), sweep_stale=True)
            atomic_write(path, lambda fh: fh.write(data), sweep_stale=True)
        else:
            writer = _write_npz if fmt == "npz" else _write_pt
            atomic_write(path, lambda fh: writer(features, fh), sweep_stale=True)
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
    fmt = format_of(target, fmt)
    record = read_record(target, fmt)
    if fmt == "csv":
        time, arrays = _csv_features(target)
    elif fmt == "npz":
        with np.load(target, allow_pickle=False) as npz:
            names = [k for k in npz.files if k not in (*HEADER, "settings", "time")]
            time = torch.from_numpy(npz["time"])
            arrays = {k: torch.from_numpy(npz[k]) for k in names}
    else:
        data = torch.load(target, map_location="cpu", weights_only=True)
        time = data["time"]
        arrays = {k: v for k, v in data.items() if k not in (*HEADER, "settings", "time")}
    return Features(
        Path(record.source),
        record.kind,
        record.sample_rate,
        record.hop_length,
        time,
        arrays,
        record.settings,
    )
