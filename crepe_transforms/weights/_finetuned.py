"""Fine-tuned weight files: their sidecars (``<file>.sha256``, ``<file>.json``) and listing.

``crepe_transforms.train.finetune`` writes ``model.pt`` with ``model.pt.sha256``
(``<hex>  model.pt``, the format ``sha256sum`` writes and ``sha256sum -c`` reads) and
``model.pt.json`` (the training record: base capacity, data summary, steps, validation
figures, package version). When a transform loads ``weights="model.pt"`` the registry
trusts the sidecar's hash for that file (so a corrupt or replaced file fails with
:class:`~crepe_transforms.exceptions.ChecksumError`), and the record's capacity is checked
before the file is read. The sidecar protects against corruption and mix-ups, not against
someone who can write both files: that is the same trust as naming the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import ChecksumError, WeightsFormatError

__all__ = [
    "FINETUNED_DIR",
    "FinetunedFile",
    "finetuned_record",
    "list_finetuned",
    "sidecar_sha256",
]

#: Sub-folder of the user cache's weights folder searched by :func:`list_finetuned`.
FINETUNED_DIR = "finetuned"
_KIND = "crepe-transforms finetuned weights"


def sidecar_sha256(path: str | os.PathLike[str]) -> str | None:
    """The hash in ``<path>.sha256``, or ``None`` when there is no such file.

    Raises:
        ChecksumError: the sidecar exists but holds no sha256 for this file.
    """
    sidecar = Path(f"{os.fspath(path)}.sha256")
    try:
        text = sidecar.read_text("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ChecksumError(f"{sidecar} cannot be read ({exc}); delete or rewrite it.") from exc
    fields = text.split()
    digest = fields[0].lower() if fields else ""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ChecksumError(
            f"{sidecar} holds no sha256 (expected '<64 hex digits>  {Path(path).name}'). "
            f"Rewrite it with `sha256sum {Path(path).name} > {sidecar.name}`, or delete it and "
            f"pass sha256=... yourself."
        )
    return digest


def finetuned_record(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The training record ``<path>.json`` of a fine-tuned file, or ``None`` when absent (or
    when the JSON there is not such a record)."""
    sidecar = Path(f"{os.fspath(path)}.json")
    try:
        data = json.loads(sidecar.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise WeightsFormatError(
            f"the record {sidecar} of weights file {path} cannot be read ({exc}). Restore it "
            f"from the training run, or delete it."
        ) from exc
    if not isinstance(data, dict) or data.get("kind") != _KIND:
        return None
    return data


def check_record_capacity(path: Path, capacity: str) -> None:
    """Refuse, before reading it, a fine-tuned file whose record names another capacity."""
    record = finetuned_record(path)
    if record is not None and record.get("capacity") != capacity:
        raise WeightsFormatError(
            f"weights file {path} was fine-tuned from capacity={record.get('capacity')!r} "
            f"(see {path}.json), not {capacity!r}. Pass capacity={record.get('capacity')!r} "
            f"(--capacity {record.get('capacity')}) with this file."
        )


@dataclass(frozen=True)
class FinetunedFile:
    """A fine-tuned weights file found on disk, with its record."""

    path: Path
    capacity: str
    sha256: str | None  # from the sidecar
    record: dict[str, Any]


def list_finetuned(*folders: str | os.PathLike[str]) -> list[FinetunedFile]:
    """Fine-tuned weight files (a weights file with its ``.json`` record) in ``folders``,
    sorted by path. Folders that do not exist are skipped."""
    found: list[FinetunedFile] = []
    for folder in folders:
        root = Path(folder).expanduser()
        if not root.is_dir():
            continue
        for record_file in sorted(root.glob("*.json")):
            weights = record_file.with_suffix("")
            if not weights.is_file():
                continue
            try:
                record = finetuned_record(weights)
            except WeightsFormatError:
                continue
            if record is None:
                continue
            try:
                digest = sidecar_sha256(weights)
            except ChecksumError:
                digest = None
            found.append(FinetunedFile(weights, str(record.get("capacity")), digest, record))
    return sorted(found, key=lambda f: str(f.path))
