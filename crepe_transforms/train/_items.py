"""From dataset items to one padded batch: item formats, rate and channel policies, padding.

The pieces behind :class:`~crepe_transforms.data.CrepeCollate` and
:class:`~crepe_transforms.cache.FeatureCache`, which must prepare an item in exactly the same
way so that cached features equal computed ones.

Item formats (one batch may mix them as long as their extra fields agree):

- a tensor (or numpy array) ``(time)`` or ``(channels, time)``, taken to be at the target rate;
- a tuple ``(waveform, sample_rate, *extras)``, as torchaudio datasets return (YESNO,
  LIBRISPEECH, …); the extras become fields ``extra_0``, ``extra_1``, … (``extra_0`` is the
  tuple's element 2);
- a mapping with the audio under ``audio_key`` and, optionally, its rate under
  ``sample_rate_key``; every other key is a field of the same name.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import default_collate

from .checks import check_choice, check_sample_rate
from .exceptions import ParameterError
from .functional import RESAMPLERS, length_mask, resample_to

__all__ = [
    "CHANNEL_POLICIES",
    "FEATURE_KEYS",
    "RESAMPLE_POLICIES",
    "ItemPolicy",
    "PreparedItem",
    "collate_fields",
    "frame_mask",
    "pad_audio",
    "pad_frames",
    "resample_to",
    "split_cached",
]

RESAMPLE_POLICIES = ("error", "resample")
CHANNEL_POLICIES = ("error", "mean", "first")
#: Per-frame features of a batch, in output order.
FEATURE_KEYS = ("f0", "periodicity", "loudness")


class PreparedItem(NamedTuple):
    """One item ready to batch: mono float32 audio at the target rate and its other fields."""

    audio: torch.Tensor
    fields: dict[str, Any]


def _rate(value: object, index: int, where: str, audio_key: str) -> int:
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
        value = int(value.item())
    number = None
    if not isinstance(value, bool) and isinstance(value, numbers.Real):
        number = float(value)
    if number is None or not number.is_integer():
        raise ParameterError(
            f"item {index}: expected a sample rate (a positive integer) at {where}, got "
            f"{value!r}. Tuple items must be (waveform, sample_rate, ...) as torchaudio datasets "
            f"return them; if element 1 is not a rate, return a dict "
            f"{{{audio_key!r}: waveform, ...}} instead."
        )
    if number <= 0:
        raise ParameterError(
            f"item {index}: sample rate at {where} must be positive, got {value!r}."
        )
    return int(number)


@dataclass(frozen=True)
class ItemPolicy:
    """How items are read, checked and converted to mono audio at ``sample_rate``.

    Args:
        sample_rate: the batch's rate in Hz; items without a rate are taken to be at it.
        resample_policy: an item at another rate raises (``"error"``, default) or is resampled
            (``"resample"``, with ``resample``).
        channels: an item with more than one channel raises (``"error"``, default: a silent
            downmix can hide a wrong axis order), is averaged (``"mean"``) or keeps its first
            channel (``"first"``). One-channel ``(1, time)`` items are always accepted.
        audio_key, sample_rate_key: keys of mapping items.
        resample: ``"resampy"`` or ``"torchaudio"``.

    Example:
        >>> policy = ItemPolicy(16000, channels="mean")
        >>> item = policy.prepare((torch.ones(2, 800), 16000, "yes"), index=0)
        >>> item.audio.shape, item.fields
        (torch.Size([800]), {'extra_0': 'yes'})
    """

    sample_rate: int
    resample_policy: str = "error"
    channels: str = "error"
    audio_key: str = "audio"
    sample_rate_key: str = "sample_rate"
    resample: str = "resampy"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sample_rate", check_sample_rate(self.sample_rate))
        check_choice(self.resample_policy, "resample_policy", RESAMPLE_POLICIES)
        check_choice(self.channels, "channels", CHANNEL_POLICIES)
        check_choice(self.resample, "resample", RESAMPLERS)
        for name in ("audio_key", "sample_rate_key"):
            if not isinstance(getattr(self, name), str):
                raise ParameterError(f"{name} must be a string key, got {getattr(self, name)!r}.")

    def split(self, item: object, index: int) -> tuple[object, int | None, dict[str, Any]]:
        """``(waveform, rate or None, fields)`` of one item of any supported format."""
        if isinstance(item, (torch.Tensor, np.ndarray)):
            return item, None, {}
        if isinstance(item, tuple) and item:
            rate = None if len(item) < 2 else _rate(item[1], index, "element 1", self.audio_key)
            extras = {f"extra_{k}": v for k, v in enumerate(item[2:])}
            return item[0], rate, extras
        if isinstance(item, Mapping):
            if self.audio_key not in item:
                raise ParameterError(
                    f"item {index} is a mapping without the audio key {self.audio_key!r} (keys: "
                    f"{sorted(map(str, item))}). Pass audio_key=... naming its audio field."
                )
            fields = {str(k): v for k, v in item.items()}
            audio = fields.pop(self.audio_key)
            raw = fields.pop(self.sample_rate_key, None)
            where = f"key {self.sample_rate_key!r}"
            rate = None if raw is None else _rate(raw, index, where, self.audio_key)
            return audio, rate, fields
        raise ParameterError(
            f"item {index} has type {type(item).__name__}; expected a tensor (time) or "
            f"(channels, time), a (waveform, sample_rate, ...) tuple, or a mapping with the "
            f"audio under {self.audio_key!r}."
        )

    def prepare(self, item: object, index: int) -> PreparedItem:
        """Check one item and return its mono float32 audio at ``sample_rate``."""
        waveform, rate, fields = self.split(item, index)
        if isinstance(waveform, np.ndarray):
            waveform = torch.from_numpy(waveform)
        if not isinstance(waveform, torch.Tensor):
            raise ParameterError(
                f"item {index}: audio must be a tensor (time) or (channels, time), got "
                f"{type(waveform).__name__}. Convert with torch.as_tensor(x, dtype=torch.float32)."
            )
        audio = self._mono(self._float(waveform, index), index)
        if audio.shape[-1] == 0:
            raise ParameterError(
                f"item {index} has no samples (shape {tuple(waveform.shape)}); drop empty items "
                f"from the dataset or filter them in a sampler."
            )
        if not bool(torch.isfinite(audio).all()):
            raise ParameterError(
                f"item {index} contains NaN or Inf samples. Clean it first, e.g. "
                f"torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)."
            )
        if rate is not None and rate != self.sample_rate:
            if self.resample_policy == "error":
                raise ParameterError(
                    f"item {index} has sample rate {rate} Hz but the batch is collated at "
                    f"sample_rate={self.sample_rate} Hz. Pass resample_policy='resample' to "
                    f"resample such items (with {self.resample!r}), or resample the dataset to "
                    f"{self.sample_rate} Hz first."
                )
            audio = resample_to(audio, rate, self.sample_rate, self.resample)
        return PreparedItem(audio.contiguous(), fields)

    @staticmethod
    def _float(waveform: torch.Tensor, index: int) -> torch.Tensor:
        if waveform.is_complex() or not waveform.is_floating_point():
            scale = {torch.int16: " / 32768.0", torch.int32: " / 2147483648.0"}
            hint = scale.get(waveform.dtype, "")
            raise ParameterError(
                f"item {index} has {waveform.dtype} audio; expected real floating point in "
                f"[-1, 1]. Convert it in the dataset, e.g. x.float(){hint}."
            )
        return waveform.to(torch.float32)

    def _mono(self, audio: torch.Tensor, index: int) -> torch.Tensor:
        if audio.dim() == 1:
            return audio
        if audio.dim() != 2:
            raise ParameterError(
                f"item {index} has shape {tuple(audio.shape)}; expected (time) or (channels, time)."
            )
        if audio.shape[0] == 1 or self.channels == "first":
            return audio[0]
        if self.channels == "mean":
            return audio.mean(dim=0)
        raise ParameterError(
            f"item {index} has {audio.shape[0]} channels (shape {tuple(audio.shape)}); expected "
            f"mono. Pass channels='mean' to downmix or channels='first' to keep the first "
            f"channel (audio is read as (channels, time): transpose (time, channels) arrays)."
        )


def pad_audio(items: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad 1-D signals with zeros to the longest.

    Shape:
        ``B × (time_i,)`` → audio ``(B, max time_i)``, lengths ``(B,)`` int64

    Example:
        >>> audio, lengths = pad_audio([torch.ones(3), torch.ones(1)])
        >>> audio, lengths
        (tensor([[1., 1., 1.],
                [1., 0., 0.]]), tensor([3, 1]))
    """
    lengths = torch.tensor([x.shape[-1] for x in items], dtype=torch.int64)
    audio = items[0].new_zeros((len(items), int(lengths.max())))
    for row, x in zip(audio, items, strict=True):
        row[: x.shape[-1]] = x
    return audio, lengths


def frame_mask(frame_lengths: torch.Tensor, n_frames: int) -> torch.Tensor:
    """True on each item's valid frames.

    Shape:
        ``(...)`` → ``(..., n_frames)`` bool
    """
    return length_mask(frame_lengths, n_frames)


def pad_frames(items: Sequence[torch.Tensor], n_frames: int, fill: float) -> torch.Tensor:
    """Stack per-item ``(frames_i,)`` features right-padded with ``fill`` to ``n_frames``."""
    out = items[0].new_full((len(items), n_frames), fill)
    for row, x in zip(out, items, strict=True):
        row[: x.shape[-1]] = x
    return out


def collate_fields(fields: Sequence[dict[str, Any]], reserved: Sequence[str]) -> dict[str, Any]:
    """Collate each item's extra fields with ``torch.utils.data.default_collate``.

    Every item must carry the same field names, none of them in ``reserved`` (the batch's own
    keys).
    """
    names = list(fields[0])
    for index, item in enumerate(fields):
        if set(item) != set(names):
            raise ParameterError(
                f"item {index} has fields {sorted(item)} but item 0 has {sorted(names)}; every "
                f"item of a batch must carry the same fields."
            )
    clash = sorted(set(names) & set(reserved))
    if clash:
        raise ParameterError(
            f"item fields {clash} clash with the batch's own keys {list(reserved)}; rename "
            f"them in the dataset (or set audio_key/sample_rate_key if one is the audio or rate)."
        )
    out: dict[str, Any] = {}
    for name in names:
        try:
            out[name] = default_collate([item[name] for item in fields])
        except (RuntimeError, TypeError) as exc:
            raise ParameterError(
                f"field {name!r} cannot be collated ({type(exc).__name__}: {exc}). Give it the "
                f"same shape in every item, or drop it in the dataset."
            ) from exc
    return out


def split_cached(
    fields: dict[str, Any], n_samples: int, hop_length: int, index: int
) -> dict[str, Any]:
    """Check the cached features an item carries; return its other fields."""
    wanted = (*FEATURE_KEYS, "frame_lengths")
    missing = [k for k in wanted if k not in fields]
    if missing:
        raise ParameterError(
            f"item {index} has no cached {missing}; features='cached' needs items from a "
            f"crepe_transforms.FeatureCache (use its collate_fn()), or use features='compute'."
        )
    expected = 1 + n_samples // hop_length
    for key in FEATURE_KEYS:
        value = fields[key]
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != (expected,):
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value)
            raise ParameterError(
                f"item {index}: cached {key!r} has shape {shape} but its {n_samples} samples "
                f"give {expected} frames at hop_length={hop_length}. Build the collate with "
                f"FeatureCache.collate_fn() so rate and hop match the cache."
            )
    return {k: v for k, v in fields.items() if k not in wanted}
