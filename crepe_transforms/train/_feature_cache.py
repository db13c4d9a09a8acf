"""An on-disk cache of CREPE features for any map-style dataset: :class:`FeatureCache`.

Layout under ``root`` (every name is made of hex digests and integers only, so nothing a
dataset returns can place a file outside ``root``)::

    root/<config sha256>/config.json            the conditioner config, for people and pruning
    root/<config sha256>/<index>-<audio sha256>.pt   one entry per item

The directory is the sha256 of :meth:`CrepeConditioner.config` (settings, weights hash,
package version): any change to them selects a new, empty directory and old entries are
ignored (:meth:`FeatureCache.prune` deletes them). The entry name adds the item's index and the
sha256 of its prepared audio (mono float32 at the target rate, with that rate), so an item
whose audio changed is recomputed too.

Concurrency and crashes: entries are written to a temporary file in the same directory and
renamed over the entry name (``crepe_transforms._fileio.atomic_write``), so a reader sees a
complete entry or none. Workers that miss the same item at the same time each compute it and
each rename a complete file over the same name; the last rename wins and there is still one
file per key (their contents agree up to float rounding between thread counts). Temporary
files left by a killed run are never read (they do not have entry names) and are deleted by
:meth:`FeatureCache.prune`. An entry that cannot be read or does not match its key (a truncated
file, say) is recomputed and replaced with a warning.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import torch
from torch.utils.data import Dataset

from .._fileio import atomic_write
from ..exceptions import ParameterError
from ..functional import num_frames
from ._collate import BATCH_KEYS, CrepeCollate
from ._conditioner import CrepeConditioner, LazyConditioner
from ._items import ItemPolicy

__all__ = ["ENTRY_FORMAT", "FeatureCache", "audio_digest"]

#: Version of the entry file layout.
ENTRY_FORMAT = 1
_DIGEST = re.compile(r"[0-9a-f]{64}")


def audio_digest(audio: torch.Tensor, sample_rate: int) -> str:
    """sha256 of a signal's dtype, shape, rate and sample bytes."""
    t = audio.detach().cpu().contiguous()
    digest = hashlib.sha256(f"{t.dtype}:{tuple(t.shape)}:{int(sample_rate)};".encode())
    digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class FeatureCache(Dataset[dict[str, Any]]):
    """Wraps a map-style dataset; each item comes back with its CREPE features, cached on disk.

    An item is prepared as :class:`~crepe_transforms.CrepeCollate` prepares it (mono float32 at
    the conditioner's rate, under the same policies), its features are computed once on the
    CPU by a :class:`~crepe_transforms.CrepeConditioner` on that item alone, and stored under
    ``root``; later epochs, other DataLoader workers and later runs read them back.
    :meth:`collate_fn` pads them into the same batch dictionary as ``CrepeCollate``.

    Args:
        dataset: a map-style dataset (``__len__`` and ``__getitem__``) of items in any format
            ``CrepeCollate`` accepts.
        root: cache folder (created on demand).
        conditioner: the options of a :class:`~crepe_transforms.CrepeConditioner` as a dict
            (e.g. ``{"sample_rate": 16000, "capacity": "tiny"}``): built now to compute the
            key, and rebuilt lazily in each spawned worker, which then reads the weights once.
            Or a CPU ``CrepeConditioner`` instance, used as is and pickled along with the
            dataset (for random-init or custom weights).
        **item_options: the item options, as ``CrepeCollate`` takes them
            (:class:`~crepe_transforms.train.ItemPolicy`): ``resample_policy``, ``channels``,
            ``audio_key``, ``sample_rate_key`` and ``tuple_rate``. An unknown name raises
            ``ParameterError``.

    ``__getitem__`` returns a dict: ``audio`` (prepared, ``(time,)``), the item's own fields
    (tuple fields as ``extra_0``, …), ``f0``, ``periodicity``, ``loudness`` (and ``voiced``
    when the conditioner has a voicing rule), each ``(1 + time // hop_length,)``, and
    ``frame_lengths`` (0-d int64). ``hits``, ``misses`` and ``repaired`` count this process's
    lookups.

    Example:
        >>> import tempfile
        >>> items = [torch.randn(8000) * 0.1, torch.randn(4000) * 0.1]
        >>> conditioner = CrepeConditioner(16000, "tiny", pretrained=False)
        >>> cache = FeatureCache(items, tempfile.mkdtemp(), conditioner)
        >>> first, again = cache[1], cache[1]
        >>> first["f0"].shape, bool(first["f0"].equal(again["f0"])), (cache.misses, cache.hits)
        (torch.Size([26]), True, (1, 1))
        >>> batch = cache.collate_fn()([cache[0], cache[1]])
        >>> batch["f0"].shape, batch["frame_lengths"]
        (torch.Size([2, 51]), tensor([51, 26]))
    """

    def __init__(
        self,
        dataset: Any,
        root: str | Path,
        conditioner: CrepeConditioner | Mapping[str, Any],
        **item_options: Any,
    ) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise ParameterError(
                f"FeatureCache needs a map-style dataset (with __len__ and __getitem__), got "
                f"{type(dataset).__name__}. Iterable datasets have no stable index to key "
                f"entries on: use CrepeCollate(features='compute') for them."
            )
        self.dataset = dataset
        self.root = Path(root)
        options: dict[str, Any] | None = None
        if isinstance(conditioner, CrepeConditioner):
            built = conditioner
        elif isinstance(conditioner, Mapping):
            options = dict(conditioner)
            built = CrepeConditioner(**options)
        else:
            raise ParameterError(
                f"conditioner must be a CrepeConditioner or a dict of its options, got "
                f"{type(conditioner).__name__}; e.g. {{'sample_rate': 16000, "
                f"'capacity': 'tiny'}}."
            )
        device = next(built.buffers()).device
        if device.type != "cpu":
            raise ParameterError(
                f"FeatureCache computes on the CPU (in DataLoader workers) but the conditioner "
                f"is on {device}; pass conditioner.cpu() or its options instead."
            )
        #: The conditioner's settings (what :meth:`collate_fn` is built from).
        self.conditioner_settings: dict[str, Any] = built.settings()
        #: Per-frame features each entry holds.
        self.feature_keys: tuple[str, ...] = built.feature_keys
        #: The conditioner config every entry was computed with (the key's source).
        self.config: dict[str, Any] = built.config()
        text = json.dumps(self.config, sort_keys=True)
        #: sha256 of :attr:`config`: the name of this configuration's entry folder.
        self.key = hashlib.sha256(text.encode()).hexdigest()
        # Given a conditioner: pickled with it (its settings may not rebuild it). Given
        # options: a worker rebuilds from them and must reach the same config (the key).
        self._lazy = LazyConditioner(
            options or self.conditioner_settings,
            built=built,
            keep=options is None,
            config=self.config,
        )
        self.directory = self.root / self.key
        self.policy = ItemPolicy.from_options(
            built.sample_rate, built.pitch.frames.resample, owner="FeatureCache", **item_options
        )
        self.hop_length = built.hop_length
        if not (self.directory / "config.json").is_file():
            atomic_write(self.directory / "config.json", lambda fh: fh.write(text.encode()))
        self.hits = self.misses = self.repaired = 0

    def __len__(self) -> int:
        return len(self.dataset)

    @property
    def conditioner(self) -> CrepeConditioner:
        """The CPU conditioner; in a spawned worker, built on first use and checked against
        the key (a weight file that changed since the cache was opened raises)."""
        return self._lazy.get()

    def entry_path(self, index: int, audio: torch.Tensor) -> Path:
        """File of item ``index`` whose prepared audio is ``audio``."""
        digest = audio_digest(audio, self.policy.sample_rate)
        return self.directory / f"{operator.index(index):d}-{digest}.pt"

    def collate_fn(self) -> CrepeCollate:
        """A ``CrepeCollate(features="cached")`` with this cache's settings: the same rate,
        hop, floor and voicing rule, so its ``mask`` matches the cached features."""
        return CrepeCollate(features="cached", **self.conditioner_settings)

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = self._index(index)
        item = self.policy.prepare(self.dataset[index], index)
        clash = sorted(set(item.fields) & {*BATCH_KEYS})
        if clash:
            raise ParameterError(
                f"item {index} has fields {clash}, which FeatureCache items use for audio and "
                f"features; rename them in the dataset."
            )
        path = self.entry_path(index, item.audio)
        features = self._read(path, index, item.audio)
        if features is None:
            features = self._compute(item.audio)
            entry: dict[str, Any] = {
                "format": ENTRY_FORMAT,
                "index": index,
                "n_samples": item.audio.shape[-1],
            }
            entry.update(features)

            def write(fh: IO[bytes]) -> None:
                torch.save(entry, fh)

            atomic_write(path, write)
            self.misses += 1
        else:
            self.hits += 1
        return {"audio": item.audio, **item.fields, **features}

    def _index(self, index: int) -> int:
        size = len(self)
        position = operator.index(index)
        if position < 0:
            position += size
        if not 0 <= position < size:
            raise IndexError(f"index {index} is out of range for a dataset of {size} items")
        return position

    def _compute(self, audio: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            out = self.conditioner(audio.unsqueeze(0))
        return {k: out[k][0].clone() for k in (*self.feature_keys, "frame_lengths")}

    def _read(self, path: Path, index: int, audio: torch.Tensor) -> dict[str, torch.Tensor] | None:
        try:
            entry = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            return None
        except Exception as exc:  # truncated or corrupt archives raise several types
            problem = f"cannot be read ({type(exc).__name__}: {exc})"
        else:
            problem = self._check_entry(entry, index, audio)
            if not problem:
                return {k: entry[k] for k in (*self.feature_keys, "frame_lengths")}
        warnings.warn(
            f"feature cache entry {path} {problem}; recomputing and replacing it.",
            RuntimeWarning,
            stacklevel=3,
        )
        self.repaired += 1
        return None

    def _check_entry(self, entry: object, index: int, audio: torch.Tensor) -> str:
        """Why ``entry`` is not a valid entry for this item ('' if it is)."""
        if not isinstance(entry, dict) or entry.get("format") != ENTRY_FORMAT:
            return f"is not a format-{ENTRY_FORMAT} entry"
        frames = int(num_frames(audio.shape[-1], self.hop_length))
        if entry.get("index") != index or entry.get("n_samples") != audio.shape[-1]:
            return "belongs to another item"
        for key in self.feature_keys:
            value = entry.get(key)
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != (frames,):
                return f"has no {key!r} of {frames} frames"
        lengths = entry.get("frame_lengths")
        if not isinstance(lengths, torch.Tensor) or lengths.numel() != 1 or int(lengths) != frames:
            return "has a wrong frame_lengths"
        return ""

    def prune(self, *, stale_entries: bool = False) -> int:
        """Delete other configurations' folders and temporary files a killed run left here.

        With ``stale_entries=True`` also delete this configuration's entries that no current
        item maps to (this prepares every item). Run it only while no other process writes to
        the cache: a writer's temporary file would be deleted under it.

        Returns:
            the number of files deleted.
        """
        removed = 0
        if self.root.is_dir():
            for child in self.root.iterdir():
                if child.is_dir() and _DIGEST.fullmatch(child.name) and child != self.directory:
                    removed += sum(1 for p in child.rglob("*") if p.is_file())
                    shutil.rmtree(child)
        if not self.directory.is_dir():
            return removed
        for temporary in self.directory.glob(".*.tmp"):
            temporary.unlink(missing_ok=True)
            removed += 1
        if stale_entries:
            live = {
                self.entry_path(i, self.policy.prepare(self.dataset[i], i).audio).name
                for i in range(len(self))
            }
            for entry in self.directory.glob("*.pt"):
                if entry.name not in live:
                    entry.unlink(missing_ok=True)
                    removed += 1
        return removed
