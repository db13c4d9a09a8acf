"""From dataset items to one padded batch: item formats, rate and channel policies, padding.

The pieces behind :class:`~crepe_transforms.CrepeCollate` and
:class:`~crepe_transforms.FeatureCache`, which must prepare an item in exactly the same way so
that cached features equal computed ones.

Item formats (one batch may mix them as long as their fields agree):

- a tensor (or numpy array) ``(time)`` or ``(channels, time)``, taken to be at the target rate;
- a tuple ``(waveform, sample_rate, *fields)`` as torchaudio datasets return (YESNO,
  LIBRISPEECH, …), or ``(waveform, *fields)`` such as ``(audio, label)``. Whether element 1 is a
  rate follows ``tuple_rate`` (:data:`TUPLE_RATES`): by default it is one only when it is an
  integer in :data:`PLAUSIBLE_RATES`. The fields become ``extra_0``, ``extra_1``, … counted from
  the first element after the waveform and the rate;
- a mapping with the audio under ``audio_key`` and, optionally, its rate under
  ``sample_rate_key``; every other key is a field of the same name.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import default_collate

from .._checks import check_choice, check_sample_rate
from .._settings import Setting, route
from ..constants import AUDIO_RATES, RESAMPLERS
from ..exceptions import ParameterError
from ..functional import resample_to
from ..functional._internal import length_mask

__all__ = [
    "CHANNEL_POLICIES",
    "FEATURE_KEYS",
    "ITEM_OPTIONS",
    "PLAUSIBLE_RATES",
    "RESAMPLE_POLICIES",
    "TUPLE_RATES",
    "ItemPolicy",
    "PreparedItem",
    "collate_fields",
    "frame_mask",
    "pad_audio",
    "pad_frames",
    "split_cached",
]

RESAMPLE_POLICIES = ("error", "resample")
CHANNEL_POLICIES = ("error", "mean", "first")
#: ``tuple_rate=`` choices: decide per item (``"auto"``), always a rate, never a rate.
TUPLE_RATES: tuple[str | bool, ...] = ("auto", True, False)
#: Sample rates (Hz, inclusive) an item may carry (:data:`~crepe_transforms.constants.AUDIO_RATES`).
#: A value outside it is never resampled from: issue 13 read a class label 3 as a rate and
#: tried to resample 0.5 s of audio from 3 Hz.
PLAUSIBLE_RATES = AUDIO_RATES
#: Per-frame features of a batch, in output order (``voiced`` follows them when the
#: conditioner has a voicing rule).
FEATURE_KEYS = ("f0", "periodicity", "loudness")


class PreparedItem(NamedTuple):
    """One item ready to batch: mono float32 audio at the target rate and its other fields."""

    audio: torch.Tensor
    fields: dict[str, Any]


def _number(value: object) -> float | None:
    """``value`` as a float if it is one real number (Python, numpy, a one-element tensor of
    any real dtype); None for anything else (strings, bools, vectors)."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1 or value.is_complex() or value.dtype == torch.bool:
            return None
        return float(value.item())
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def _plausible(rate: int) -> bool:
    return PLAUSIBLE_RATES[0] <= rate <= PLAUSIBLE_RATES[1]


def check_tuple_rate(value: object) -> str | bool:
    """A ``tuple_rate`` setting: ``"auto"``, ``True`` or ``False``."""
    if isinstance(value, bool):
        return value
    if value == "auto":
        return "auto"
    raise ParameterError(
        f"tuple_rate={value!r} is not supported. Pass 'auto' (element 1 of a tuple item is a "
        f"sample rate when it is an integer in {PLAUSIBLE_RATES[0]}..{PLAUSIBLE_RATES[1]} Hz), "
        f"True (it always is) or False (tuples are (waveform, *fields))."
    )


def _mapping_rate(value: object, index: int, key: str) -> int:
    number = _number(value)
    if number is None or not number.is_integer() or number <= 0:
        raise ParameterError(
            f"item {index}: expected a sample rate (a positive integer) under key {key!r}, got "
            f"{value!r}. Store the rate as an int, or pass sample_rate_key=... naming another "
            f"key."
        )
    return int(number)


def _option(default: Any, help: str, choices: tuple[str, ...] | None = None) -> Any:
    """A field of :class:`ItemPolicy` that callers set by keyword: its one declaration."""
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass(frozen=True)
class ItemPolicy:
    """How items are read, checked and converted to mono audio at ``sample_rate``.

    Args:
        sample_rate: the batch's rate in Hz; items without a rate are taken to be at it.
        resample_policy: an item at another rate raises (``"error"``, default) or is resampled
            (``"resample"``, with ``resample``). A rate outside :data:`PLAUSIBLE_RATES` is
            never resampled from.
        channels: an item with more than one channel raises (``"error"``, default: a silent
            downmix can hide a wrong axis order), is averaged (``"mean"``) or keeps its first
            channel (``"first"``). One-channel ``(1, time)`` items are always accepted.
        audio_key, sample_rate_key: keys of mapping items.
        resample: ``"resampy"`` or ``"torchaudio"``.
        tuple_rate: whether element 1 of a tuple item is its sample rate. ``"auto"``
            (default): when it is a number (Python, numpy or a one-element tensor, integer or
            float) in :data:`PLAUSIBLE_RATES`: a whole number there is a rate (``22050`` or
            ``22050.0``, as in mapping items) and a fractional one raises, so
            ``(waveform, 16000, label)`` and ``(waveform, label)`` with a small number or a
            string label both work and a float rate is never taken for a label; ``True``:
            always (anything else raises); ``False``: never, tuples are
            ``(waveform, *fields)`` (for labels that could pass for a rate, such as a speaker
            id 8000).

    Every field but ``sample_rate`` and ``resample`` is an *item option* (:data:`ITEM_OPTIONS`):
    :class:`~crepe_transforms.CrepeCollate` and :class:`~crepe_transforms.FeatureCache` take
    them by keyword and build their policy with :meth:`from_options`.

    Example:
        >>> policy = ItemPolicy(16000, channels="mean")
        >>> item = policy.prepare((torch.ones(2, 800), 16000, "yes"), index=0)
        >>> item.audio.shape, item.fields
        (torch.Size([800]), {'extra_0': 'yes'})
        >>> policy.prepare((torch.ones(800), 3), index=0).fields  # a label, not 3 Hz
        {'extra_0': 3}
    """

    sample_rate: int
    resample_policy: str = _option(
        "error", "items at another rate: error or resample", RESAMPLE_POLICIES
    )
    channels: str = _option("error", "multi-channel items: error, mean or first", CHANNEL_POLICIES)
    audio_key: str = _option("audio", "key of the audio in mapping items")
    sample_rate_key: str = _option("sample_rate", "key of the rate in mapping items")
    resample: str = "resampy"
    tuple_rate: str | bool = _option(
        "auto",
        "element 1 of tuple items is a rate: auto (a whole number in 1000..768000), True, False",
    )

    @classmethod
    def from_options(
        cls,
        sample_rate: int,
        resample: str = "resampy",
        *,
        owner: str = "ItemPolicy",
        **options: Any,
    ) -> ItemPolicy:
        """The policy that keyword options describe, as ``CrepeCollate`` and ``FeatureCache``
        build theirs: every item option is declared once, here (:data:`ITEM_OPTIONS`).

        Args:
            sample_rate: the batch's rate in Hz.
            resample: the resampler (a conditioner's ``resample`` setting).
            owner: the class or method named in the message about an unknown option.
            **options: any of the item options ``resample_policy``, ``channels``,
                ``audio_key``, ``sample_rate_key`` and ``tuple_rate``; the others keep their
                defaults.

        Raises:
            ParameterError: an option that is not an item option (the message names the
                closest ones and lists them all), or a value the option does not accept.

        Example:
            >>> ItemPolicy.from_options(16000, channels="mean").channels
            'mean'
        """
        return cls(sample_rate, resample=resample, **route(owner, options, _ITEM_PART)["items"])

    def __post_init__(self) -> None:
        object.__setattr__(self, "sample_rate", check_sample_rate(self.sample_rate))
        check_choice(self.resample_policy, "resample_policy", RESAMPLE_POLICIES)
        check_choice(self.channels, "channels", CHANNEL_POLICIES)
        check_choice(self.resample, "resample", RESAMPLERS)
        check_tuple_rate(self.tuple_rate)
        for name in ("audio_key", "sample_rate_key"):
            if not isinstance(getattr(self, name), str):
                raise ParameterError(f"{name} must be a string key, got {getattr(self, name)!r}.")

    def _tuple_rate(self, item: tuple[Any, ...], index: int) -> int | None:
        """The rate element 1 of a tuple item holds, or None when it is a field."""
        if len(item) < 2 or self.tuple_rate is False:
            if self.tuple_rate is True:
                raise ParameterError(
                    f"item {index} is a 1-tuple but tuple_rate=True expects (waveform, "
                    f"sample_rate, ...); add the rate or pass tuple_rate='auto'."
                )
            return None
        number = _number(item[1])
        low, high = PLAUSIBLE_RATES
        if number is not None and low <= number <= high:
            if number.is_integer():  # 22050, 22050.0, np.int64(22050), torch.tensor(22050.)
                return int(number)
            # a fractional number in the rate range: neither a rate nor safely a label
            raise ParameterError(
                f"item {index}: element 1 is {item[1]!r}, in the sample-rate range {low}..{high} "
                f"Hz but not a whole number of Hz. Pass the rate as an integer (e.g. "
                f"{round(number)}), or tuple_rate=False if element 1 is a label, not a rate."
            )
        if self.tuple_rate == "auto":
            return None
        raise ParameterError(
            f"item {index}: tuple_rate=True expects a sample rate (an integer in {low}..{high} "
            f"Hz) at element 1, got {item[1]!r}. If element 1 is a label rather than a rate, "
            f"pass tuple_rate=False (tuples are then (waveform, *fields)) or 'auto'."
        )

    def split(self, item: object, index: int) -> tuple[object, int | None, dict[str, Any]]:
        """``(waveform, rate or None, fields)`` of one item of any supported format."""
        if isinstance(item, (torch.Tensor, np.ndarray)):
            return item, None, {}
        if isinstance(item, tuple) and item:
            rate = self._tuple_rate(item, index)
            rest = item[1:] if rate is None else item[2:]
            return item[0], rate, {f"extra_{k}": v for k, v in enumerate(rest)}
        if isinstance(item, Mapping):
            if self.audio_key not in item:
                raise ParameterError(
                    f"item {index} is a mapping without the audio key {self.audio_key!r} (keys: "
                    f"{sorted(map(str, item))}). Pass audio_key=... naming its audio field."
                )
            fields = {str(k): v for k, v in item.items()}
            audio = fields.pop(self.audio_key)
            raw = fields.pop(self.sample_rate_key, None)
            rate = None if raw is None else _mapping_rate(raw, index, self.sample_rate_key)
            return audio, rate, fields
        raise ParameterError(
            f"item {index} has type {type(item).__name__}; expected a tensor (time) or "
            f"(channels, time), a (waveform, sample_rate, ...) or (waveform, *fields) tuple, "
            f"or a mapping with the audio under {self.audio_key!r}."
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
            audio = self._resample(audio, rate, index, isinstance(item, tuple))
        return PreparedItem(audio.contiguous(), fields)

    def _resample(
        self, audio: torch.Tensor, rate: int, index: int, from_tuple: bool
    ) -> torch.Tensor:
        label_hint = (
            " If element 1 of the tuple is a label rather than a rate, pass tuple_rate=False."
            if from_tuple
            else ""
        )
        if not _plausible(rate):
            low, high = PLAUSIBLE_RATES
            raise ParameterError(
                f"item {index} claims a sample rate of {rate} Hz, outside the audio rates "
                f"{low}..{high} Hz; it is not resampled from. Check the item's "
                f"{self.sample_rate_key!r} value."
            )
        if self.resample_policy == "error":
            raise ParameterError(
                f"item {index} has sample rate {rate} Hz but the batch is collated at "
                f"sample_rate={self.sample_rate} Hz. Pass resample_policy='resample' to "
                f"resample such items (with {self.resample!r}), or resample the dataset to "
                f"{self.sample_rate} Hz first.{label_hint}"
            )
        return resample_to(audio, rate, self.sample_rate, self.resample)

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


#: The item options (:class:`ItemPolicy`'s fields set by keyword) as settings: what
#: ``CrepeCollate``, ``CrepeCollate.from_parts`` and ``FeatureCache`` accept besides the
#: conditioner's options, and what ``CrepeCollate.settings()`` and its repr list.
ITEM_OPTIONS: tuple[Setting, ...] = tuple(
    Setting(f.name, f.default, f.metadata["help"], choices=f.metadata["choices"])
    for f in fields(ItemPolicy)
    if "help" in f.metadata
)
_ITEM_PART = (("items", ITEM_OPTIONS),)


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


def pad_frames(items: Sequence[torch.Tensor], n_frames: int, fill: float | bool) -> torch.Tensor:
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
            hint = ""
            if any(k.startswith("extra_") for k in (*item, *names)):
                hint = (
                    " Tuple items read element 1 as a sample rate only when it is an integer "
                    f"in {PLAUSIBLE_RATES[0]}..{PLAUSIBLE_RATES[1]} Hz (tuple_rate='auto'); pass "
                    "tuple_rate=True or False so every item is read the same way."
                )
            raise ParameterError(
                f"item {index} has fields {sorted(item)} but item 0 has {sorted(names)}; every "
                f"item of a batch must carry the same fields.{hint}"
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
    fields: dict[str, Any],
    n_samples: int,
    hop_length: int,
    index: int,
    feature_keys: Sequence[str] = FEATURE_KEYS,
) -> dict[str, Any]:
    """Check the cached features an item carries; return its other fields."""
    wanted = (*feature_keys, "frame_lengths")
    missing = [k for k in wanted if k not in fields]
    if missing:
        raise ParameterError(
            f"item {index} has no cached {missing}; features='cached' needs items from a "
            f"crepe_transforms.FeatureCache (use its collate_fn()), or use features='compute'."
        )
    expected = 1 + n_samples // hop_length
    for key in feature_keys:
        value = fields[key]
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != (expected,):
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value)
            raise ParameterError(
                f"item {index}: cached {key!r} has shape {shape} but its {n_samples} samples "
                f"give {expected} frames at hop_length={hop_length}. Build the collate with "
                f"FeatureCache.collate_fn() so rate and hop match the cache."
            )
    return {k: v for k, v in fields.items() if k not in wanted}
