"""Atomic file writes shared by the weight cache, output files and the feature cache.

A reader sees either the old file or the complete new one, never a partial write: data goes
to a temporary file in the target's directory, is fsynced, then ``os.replace``-d over the
target (atomic on POSIX and Windows within one file system).
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["FILE_MODE", "atomic_write", "remove_stale_temporaries", "temporary_pattern"]

# mkstemp creates files 0600; give finished files the mode open() would (0666 minus umask).
# The umask can only be read by setting it, so read it once, at import, before any threads.
_UMASK = os.umask(0)
os.umask(_UMASK)
#: The mode of finished files: what ``open()`` would give (0666 minus the umask).
FILE_MODE = 0o666 & ~_UMASK


def temporary_pattern(target: Path) -> str:
    """Glob pattern of the temporary files :func:`atomic_write` creates for ``target``."""
    return f".{glob.escape(target.name)}.*.tmp"


def remove_stale_temporaries(target: Path) -> int:
    """Delete temporaries a killed writer left beside ``target``; returns how many.

    Only safe when no other process is writing ``target`` at the same time (its temporary
    file would be deleted under it), which is why :func:`atomic_write` does not do it unless
    asked.
    """
    removed = 0
    for stale in target.parent.glob(temporary_pattern(target)):
        stale.unlink(missing_ok=True)
        removed += 1
    return removed


def atomic_write(
    target: Path, write: Callable[[IO[bytes]], object], *, sweep_stale: bool = False
) -> None:
    """Write ``target`` through a temporary file in its directory and ``os.replace``.

    Args:
        target: file to create or replace; missing parent directories are created.
        write: called with the open binary temporary file.
        sweep_stale: first delete temporaries that an earlier, killed writer of ``target``
            left behind. Only for targets that one process writes at a time.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "sub" / "x.txt"
        >>> atomic_write(target, lambda fh: fh.write(b"done"))
        >>> target.read_bytes(), sorted(p.name for p in target.parent.iterdir())
        (b'done', ['x.txt'])
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if sweep_stale:
        remove_stale_temporaries(target)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), FILE_MODE)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, target)
    except BaseException:  # also KeyboardInterrupt: never leave the temporary file behind
        Path(temp).unlink(missing_ok=True)
        raise
