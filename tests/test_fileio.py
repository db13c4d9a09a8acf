"""The shared atomic writer: file mode, and the opt-in sweep of stale temporaries."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from crepe_transforms import _fileio as fileio


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX file modes only")
def test_finished_file_gets_the_mode_open_would_give(tmp_path: Path) -> None:
    # mkstemp alone would leave 0600, unreadable to the other users of a shared cache.
    target = tmp_path / "entry.pt"
    fileio.atomic_write(target, lambda fh: fh.write(b"x"))
    reference = tmp_path / "plain"
    reference.write_bytes(b"x")
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(reference.stat().st_mode)


def test_other_writers_temporaries_survive_unless_a_sweep_is_asked(tmp_path: Path) -> None:
    target = tmp_path / "entry.pt"
    other = tmp_path / ".entry.pt.abc123.tmp"  # a concurrent writer's file in flight
    other.write_bytes(b"partial")
    fileio.atomic_write(target, lambda fh: fh.write(b"one"))
    assert other.exists()
    fileio.atomic_write(target, lambda fh: fh.write(b"two"), sweep_stale=True)
    assert not other.exists()
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry.pt"]


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "entry.pt"
    fileio.atomic_write(target, lambda fh: fh.write(b"old"))

    def fail(fh: object) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        fileio.atomic_write(target, fail)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry.pt"]
