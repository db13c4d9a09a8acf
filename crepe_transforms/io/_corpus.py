"""Finding the files of a corpus and splitting them between processes.

- :func:`discover`: files, directories (searched recursively), glob patterns and file lists →
  a sorted list of :class:`Job` (input file + the relative path its outputs mirror).
- :func:`shard`: the part of that list one process handles. Shards are taken round-robin from
  the sorted list, so every process that sees the same inputs computes the same split: no
  file is processed twice or missed.
- :func:`env_rank`: rank and world size from the environment ``torchrun`` sets (``RANK``,
  ``WORLD_SIZE``); no process group is needed to shard.
- :func:`gather`: collects one small record per rank on every rank (a gloo process group,
  created and destroyed here) so rank 0 can print the total.
- :class:`Reporter` (progress hooks) and :class:`Summary` (what one process did).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePath
from typing import Any, Protocol

from .._text import display
from ..exceptions import ParameterError
from ._audio import AUDIO_EXTENSIONS

__all__ = [
    "Job",
    "NullReporter",
    "Reporter",
    "Summary",
    "describe",
    "discover",
    "display",
    "env_rank",
    "gather",
    "parse_shard",
    "shard",
    "total",
]

#: How long a finished rank waits for the others before giving up on the total.
GATHER_TIMEOUT = timedelta(hours=24)

_MAGIC = re.compile(r"[*?[]")


@dataclass(frozen=True)
class Job:
    """One input file and the path, relative to the output directory, its outputs mirror."""

    source: Path
    relative: PurePath


def _is_audio(path: Path, extensions: Sequence[str]) -> bool:
    return path.suffix.lower() in extensions and not path.name.startswith(".")


def _walk(root: Path, extensions: Sequence[str]) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # hidden: .git, .cache …
        found += [Path(folder, f) for f in sorted(files) if _is_audio(Path(f), extensions)]
    return found


def _glob_root(pattern: str) -> Path:
    parts = PurePath(pattern).parts
    plain = parts[: next(i for i, p in enumerate(parts) if _MAGIC.search(p))]
    return Path(*plain) if plain else Path()


def _from_argument(arg: str, extensions: Sequence[str]) -> list[Job]:
    path = Path(arg)
    if path.is_dir():
        return [Job(f, f.relative_to(path)) for f in _walk(path, extensions)]
    if path.exists():
        return [Job(path, PurePath(path.name))]
    if _MAGIC.search(arg):
        root = _glob_root(arg)
        jobs = []
        for match in sorted(glob.glob(arg, recursive=True)):
            hit = Path(match)
            if hit.is_dir():
                jobs += [Job(f, f.relative_to(root)) for f in _walk(hit, extensions)]
            elif _is_audio(hit, extensions):
                jobs.append(Job(hit, hit.relative_to(root)))
        if not jobs:
            raise ParameterError(f"{arg}: the pattern matches no audio files")
        return jobs
    raise ParameterError(f"{arg}: no such file or directory")


def _read_file_list(file_list: Path) -> list[Job]:
    try:
        lines = file_list.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError as exc:
        raise ParameterError(
            f"--file-list {file_list}: cannot read ({exc.strerror or exc})"
        ) from None
    entries = [line.strip() for line in lines]
    entries = [e for e in entries if e and not e.startswith("#")]
    base = file_list.parent.resolve()
    paths = [(base / e).resolve() for e in entries]  # missing files fail later, one by one
    outside = [p.parent for p in paths if not p.is_relative_to(base)]
    root = Path(os.path.commonpath(outside)) if outside else base
    # each file as the list names it, from the folder the list was given in: messages show
    # `lists/a.wav` as they show a path given on the command line, not /abs/…/lists/a.wav
    shown = [Path(os.path.normpath(file_list.parent / e)) for e in entries]
    return [
        Job(given, p.relative_to(base if p.is_relative_to(base) else root))
        for given, p in zip(shown, paths, strict=True)
    ]


def discover(
    paths: Iterable[str | os.PathLike[str]] = (),
    file_list: str | os.PathLike[str] | None = None,
    extensions: Sequence[str] = AUDIO_EXTENSIONS,
) -> list[Job]:
    """The input files, sorted by path, each once.

    Args:
        paths: audio files (taken whatever their extension), directories (searched
            recursively for ``extensions``; hidden files and folders are skipped) or glob
            patterns (``**`` recurses; matches are filtered by ``extensions``).
        file_list: a text file with one audio path per line (relative to the list's
            folder; blank lines and ``#`` comments ignored).
        extensions: file name suffixes that count as audio in directories and globs.

    Outputs mirror the input tree: a file found in directory ``D`` maps to its path relative
    to ``D``; a glob match to its path relative to the pattern's fixed leading folders; a file
    named directly to its name; a file-list entry to its path relative to the list.

    Raises:
        ParameterError: a path that does not exist, a pattern that matches nothing, an
            unreadable file list, or no inputs at all.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> for name in ("b/2.wav", "a/1.flac", "a/notes.txt"):
        ...     (root / name).parent.mkdir(exist_ok=True); (root / name).touch()
        >>> [job.relative.as_posix() for job in discover([root])]
        ['a/1.flac', 'b/2.wav']
    """
    exts = tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)
    jobs: list[Job] = []
    for arg in paths:
        jobs += _from_argument(os.fspath(arg), exts)
    if file_list is not None:
        jobs += _read_file_list(Path(file_list))
    if not jobs:
        raise ParameterError(
            "no input files: give audio files, directories, glob patterns or --file-list FILE"
        )
    unique: dict[Path, Job] = {}
    for job in jobs:
        unique.setdefault(job.source.resolve(), job)  # the first mention decides the mirror
    return [unique[key] for key in sorted(unique, key=str)]


def check_collisions(jobs: Sequence[Job], names: Sequence[PurePath]) -> None:
    """Raise if two inputs would write the same output (e.g. ``x.wav`` and ``x.flac``)."""
    seen: dict[PurePath, Job] = {}
    for job, name in zip(jobs, names, strict=True):
        other = seen.setdefault(name, job)
        if other is not job:
            raise ParameterError(
                f"{other.source} and {job.source} would both write {name.as_posix()}; "
                f"rename one of them or process them in separate runs"
            )


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` → ``(I, N)`` with ``0 <= I < N``.

    Example:
        >>> parse_shard("2/8")
        (2, 8)
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if match is None or not 0 <= int(match[1]) < int(match[2]):
        raise ParameterError(
            f"--shard must be I/N with 0 <= I < N (shards are numbered from 0, e.g. 0/4 … 3/4),"
            f" got {text!r}"
        )
    return int(match[1]), int(match[2])


def shard(items: Sequence[Job], index: int, count: int) -> list[Job]:
    """Items ``index, index + count, …`` of the sorted list (round-robin).

    Example:
        >>> [j.relative.name for j in shard([Job(Path(c), PurePath(c)) for c in "abcde"], 1, 2)]
        ['b', 'd']
    """
    if not 0 <= index < count:
        raise ParameterError(f"shard index {index} must lie in 0..{count - 1}")
    return list(items[index::count])


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise ParameterError(f"environment variable {name}={value!r} is not a non-negative integer")
    return int(value)


def env_rank() -> tuple[int, int]:
    """``(rank, world_size)`` from ``RANK``/``WORLD_SIZE`` (set by torchrun), else ``(0, 1)``."""
    rank, world = _env_int("RANK"), _env_int("WORLD_SIZE")
    if world is None:
        return 0, 1
    if rank is None or world < 1 or rank >= world:
        raise ParameterError(
            f"RANK={os.environ.get('RANK')!r} and WORLD_SIZE={world} do not describe a "
            f"process of the group: need 0 <= RANK < WORLD_SIZE (torchrun sets both)"
        )
    return rank, world


def gather(record: dict[str, Any], rank: int, world: int) -> list[dict[str, Any]] | None:
    """Every rank's ``record``, on every rank; None if there is no way to exchange them.

    With ``world == 1`` this is ``[record]``. Otherwise it needs ``MASTER_ADDR`` and
    ``MASTER_PORT`` (torchrun sets them) and creates a gloo (CPU) process group for one
    ``all_gather_object``, destroying it before returning. Ranks wait for each other here, up
    to :data:`GATHER_TIMEOUT`.
    """
    if world == 1:
        return [record]
    if not (os.environ.get("MASTER_ADDR") and os.environ.get("MASTER_PORT")):
        return None
    import torch.distributed as dist

    if not dist.is_available():
        return None
    owned = not dist.is_initialized()
    try:
        if owned:
            dist.init_process_group("gloo", rank=rank, world_size=world, timeout=GATHER_TIMEOUT)
        out: list[Any] = [None] * world
        dist.all_gather_object(out, record)
        return [dict(item) for item in out]
    except (RuntimeError, ValueError, OSError):
        return None
    finally:
        if owned and dist.is_initialized():
            dist.destroy_process_group()


class Reporter(Protocol):
    """Hooks :func:`predict_files` calls as it goes (see :class:`NullReporter`)."""

    def start(self, jobs: Sequence[Job]) -> None:
        """Before the first file, with this process's share of the inputs."""

    def frames(self, count: int) -> None:
        """``count`` more frames went through the network."""

    def done(self, job: Job, target: Path, written: bool) -> None:
        """A file's output was written, or (``written=False``) existed and was skipped."""

    def failed(self, job: Job, message: str) -> None:
        """A file could not be processed; ``message`` is one line."""

    def close(self) -> None:
        """After the last file."""


class NullReporter:
    """A :class:`Reporter` that ignores everything (the default)."""

    def start(self, jobs: Sequence[Job]) -> None:
        pass

    def frames(self, count: int) -> None:
        pass

    def done(self, job: Job, target: Path, written: bool) -> None:
        pass

    def failed(self, job: Job, message: str) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class Summary:
    """What one process did. ``record()``/``from_records`` combine ranks."""

    files: int = 0
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0
    rank: int = 0
    world: int = 1

    @property
    def ok(self) -> bool:
        return not self.failed

    def record(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "written": len(self.written),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "frames": self.frames,
            "seconds": self.seconds,
        }

    def line(self) -> str:
        return describe(self.record())


def describe(record: dict[str, Any]) -> str:
    """One line: ``200 files: 197 written, 0 skipped (done before), 3 failed; …``."""
    rate = record["frames"] / record["seconds"] if record["seconds"] > 0 else 0.0
    files = f"{record['files']} file" + ("" if record["files"] == 1 else "s")
    return (
        f"{files}: {record['written']} written, {record['skipped']} skipped "
        f"(done before), {record['failed']} failed; {record['frames']} frames in "
        f"{record['seconds']:.1f} s ({rate:.0f} frames/s)"
    )


def total(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Sum of per-rank records (time: the slowest rank)."""
    items = list(records)
    out = {key: sum(r[key] for r in items) for key in ("files", "written", "skipped", "failed")}
    out["frames"] = sum(r["frames"] for r in items)
    out["seconds"] = max((r["seconds"] for r in items), default=0.0)
    return out
