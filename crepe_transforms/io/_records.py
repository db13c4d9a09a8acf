"""The records of existing outputs: how each was made, and what differs from this run.

:func:`read_record` reads an output's record without its arrays (a CSV's from its sidecar,
checked against the CSV's sha256); :func:`differences` lists the settings that differ,
leaving out those that do not change the numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._features import HEADER, OutputRecord, UnknownRecord, format_of, jsonable, sidecar_path

__all__ = ["differences", "read_record"]


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
    fmt = format_of(target, fmt)
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
                values = {k: npz[k].item() for k in (*HEADER, "settings")}
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
    a, b = jsonable(dict(old)), jsonable(dict(new))
    names = [*a, *(k for k in b if k not in a)]
    return [
        (name, a.get(name, absent), b.get(name, absent))
        for name in names
        if name not in ignore and a.get(name, absent) != b.get(name, absent)
    ]
