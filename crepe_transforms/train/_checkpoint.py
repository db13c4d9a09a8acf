"""Fine-tuning files: checkpoints, the weights with their sidecars, and Ctrl-C handling.

Every file is written atomically (a temporary file renamed into place), so a kill leaves the
previous file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from .._fileio import atomic_write
from ..exceptions import ChecksumError, ParameterError, WeightsFormatError
from ..weights._internal import infer_capacity, sha256_file

__all__ = [
    "CHECKPOINT_FORMAT",
    "RECORD_KIND",
    "Interrupt",
    "checkpoint_path",
    "fingerprint_of",
    "load_checkpoint",
    "save_checkpoint",
    "write_weights",
]

#: ``kind`` of the JSON record written beside a fine-tuned weights file.
RECORD_KIND = "crepe-transforms finetuned weights"
CHECKPOINT_FORMAT = 1


def checkpoint_path(output: str | os.PathLike[str]) -> Path:
    """Where a run writing ``output`` keeps its checkpoint: ``<output>.ckpt``."""
    return Path(f"{os.fspath(output)}.ckpt")


class Interrupt:
    """Ctrl-C during training: finish the current step, save a checkpoint, then stop.

    A second Ctrl-C interrupts at once (the previous handler runs).
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            signal.signal(signal.SIGINT, self._previous)
            raise KeyboardInterrupt
        self.requested = True

    @contextlib.contextmanager
    def installed(self) -> Iterator[Interrupt]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        self._previous = signal.signal(signal.SIGINT, self._handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, self._previous)


def fingerprint_of(
    settings: Mapping[str, Any], base: Mapping[str, Any], data: Mapping[str, Any]
) -> str:
    """sha256 of what a run depends on: settings, base weights and data summary."""
    text = json.dumps({"config": settings, "base": base, "data": data}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    atomic_write(path, lambda fh: torch.save(payload, fh))


def load_checkpoint(path: Path, capacity: str, fingerprint: str) -> dict[str, Any]:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsFormatError(
            f"checkpoint {path} cannot be read ({type(exc).__name__}: "
            f"{(str(exc).strip().splitlines() or [''])[0]}). Delete it to start over."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise WeightsFormatError(
            f"{path} is not a crepe-transforms fine-tuning checkpoint (format "
            f"{CHECKPOINT_FORMAT}). Delete it, or write the output elsewhere."
        )
    if payload.get("capacity") != capacity:
        raise ParameterError(
            f"checkpoint {path} was written by a capacity={payload.get('capacity')!r} run, "
            f"not capacity={capacity!r}. Resume with --capacity {payload.get('capacity')}, "
            f"or delete the checkpoint (or choose another output) to start a {capacity} run."
        )
    if payload.get("fingerprint") != fingerprint:
        raise ParameterError(
            f"checkpoint {path} belongs to a run with other settings or data (its "
            f"fingerprint differs). Resume with the same data and options, or delete the "
            f"checkpoint (restart=True, --restart) to start over."
        )
    return payload


def write_weights(
    output: str | os.PathLike[str],
    capacity: str,
    state_dict: Mapping[str, torch.Tensor],
    record: Mapping[str, Any],
) -> tuple[Path, str]:
    """Write ``output`` (torchcrepe-layout weights), ``output.sha256`` and ``output.json``.

    Each file is written atomically, the weights first and the record last, so a reader that
    finds the record finds the weights it describes.
    """
    if infer_capacity(state_dict) != capacity:
        raise ChecksumError(f"internal: the weights do not fit capacity {capacity!r}")
    target = Path(output)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    atomic_write(target, lambda fh: torch.save(tensors, fh))
    digest = sha256_file(target)
    line = f"{digest}  {target.name}\n".encode()
    atomic_write(Path(f"{target}.sha256"), lambda fh: fh.write(line))
    text = json.dumps({**record, "sha256": digest, "file": target.name}, indent=2).encode()
    atomic_write(Path(f"{target}.json"), lambda fh: fh.write(text))
    return target, digest
