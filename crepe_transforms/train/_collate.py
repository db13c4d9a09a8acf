"""``CrepeCollate``: a DataLoader ``collate_fn`` that pads items and attaches CREPE features."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .._checks import check_choice
from .._deprecated import renamed
from .._settings import Configurable, Setting, describe, route
from ..exceptions import ParameterError
from ..functional import num_frames
from ..functional._internal import Voicing, check_voicing_rule
from ..transforms import CrepeActivation, CrepeDecode, CrepeFrames, CrepeLoudness, CrepePitch
from ..transforms._internal import PITCH_PARTS, check_block_frames
from ._conditioner import CrepeConditioner, LazyConditioner, feature_keys, padding_values
from ._forward import Forward
from ._items import (
    ITEM_OPTIONS,
    ItemPolicy,
    collate_fields,
    frame_mask,
    pad_audio,
    pad_frames,
    split_cached,
)

__all__ = ["BATCH_KEYS", "FEATURE_MODES", "CrepeCollate"]

#: ``CrepeCollate(features=...)``: run CREPE, read a FeatureCache's features, or pad only.
FEATURE_MODES = ("compute", "cached", "none")
#: Keys a batch may hold before the items' own fields (which must not reuse them).
BATCH_KEYS = ("audio", "lengths", *feature_keys(0.0), "frame_lengths", "mask")

_FEATURES = Setting(
    "features",
    "compute",
    "compute (run CREPE), cached (FeatureCache items) or none (pad only)",
    choices=FEATURE_MODES,
)
#: Every option of the conditioner a collate builds, by the part that declares it.
_CONDITIONER_PARTS: tuple[tuple[str, tuple[Setting, ...]], ...] = (
    ("conditioner", CrepeConditioner.SETTINGS),
    ("pitch", CrepePitch.SETTINGS),
    *((name, part.SETTINGS) for name, part in PITCH_PARTS),
)
#: What a collate's keyword options route to: the item policy, then the conditioner's parts.
_PARTS = (("items", ITEM_OPTIONS), *_CONDITIONER_PARTS)
# For the repr: the rate and the capacity first, as the conditioner's signature has them.
_FIRST = ("sample_rate", "capacity")
_CONDITIONER_SETTINGS = tuple(
    sorted(
        (s for _, part in _CONDITIONER_PARTS for s in part),
        key=lambda s: _FIRST.index(s.name) if s.name in _FIRST else len(_FIRST),
    )
)


class CrepeCollate(Configurable):
    """``DataLoader(collate_fn=...)``: pad a list of items and attach CREPE features.

    Items are tensors ``(time)``/``(channels, time)``, tuples ``(waveform, sample_rate,
    *fields)`` as torchaudio datasets return them or ``(waveform, *fields)`` such as
    ``(audio, label)``, or mappings (see :class:`~crepe_transforms.train.ItemPolicy`). Each
    becomes mono float32 audio at ``sample_rate`` under the rate and channel policies, the batch
    is zero-padded on the right to its longest item, and a :class:`CrepeConditioner` computes
    the features on the padded batch on the CPU. Its block engine never runs the network on
    padding, so valid frames equal the item computed alone, bit for bit. Item fields are
    collated field by field as ``default_collate`` collates dict fields.

    The collate keeps only the conditioner's settings: the conditioner is built on the first
    call in the process that makes it, so every DataLoader worker reads the weights once (a
    forked worker whose parent already used this collate inherits its network), and pickling
    it for spawned workers carries only the settings. :meth:`from_parts` instead uses a
    conditioner you built.

    ``mask`` and ``frame_lengths`` always count frames of the conditioner's ``hop_length``, with
    ``features="none"`` too: build a pad-only collate from the conditioner you run in the
    training step (``CrepeCollate.from_parts(conditioner, features="none")``) and the two
    agree.

    Args:
        sample_rate: the batch's rate in Hz; items without a rate are taken to be at it.
        features: ``"compute"`` (default) runs CREPE; ``"none"`` only pads (run a
            :class:`CrepeConditioner` in the training step, e.g. on the GPU: batches then hold
            ``audio``, ``lengths``, ``frame_lengths`` and ``mask``); ``"cached"`` pads the
            features that :class:`~crepe_transforms.FeatureCache` items carry.
        **options: the item options below, which make the collate's
            :class:`~crepe_transforms.train.ItemPolicy`, and the :class:`CrepeConditioner`'s
            options: ``capacity``, ``floor_db`` and every :class:`~crepe_transforms.CrepePitch`
            option (``hop_length``, ``decoder``, ``voicing``, …). ``pretrained=False`` gives
            every process its own random network: doctests only. Names and values are checked
            here, without reading weights; an unknown name raises ``ParameterError`` naming the
            closest options.

    Keyword Args:
        resample_policy (str): ``"error"`` (default) or ``"resample"`` items at other rates.
        channels (str): ``"error"`` (default), ``"mean"`` or ``"first"`` for multi-channel items.
        audio_key (str): key of the audio in mapping items (default ``"audio"``).
        sample_rate_key (str): key of the rate in mapping items (default ``"sample_rate"``).
        tuple_rate (str | bool): whether element 1 of a tuple item is its sample rate:
            ``"auto"`` (default: when it is a whole number in 1000..768000 Hz, int or float),
            ``True`` or ``False``.

    Returns (per call):
        dict with ``audio`` ``(B, T)``, ``lengths`` ``(B,)``, ``f0``, ``periodicity``,
        ``loudness`` (and ``voiced`` with a voicing rule) ``(B, F)`` (not with
        ``features="none"``), ``frame_lengths`` ``(B,)`` and ``mask`` ``(B, F)``, then each item
        field collated by ``default_collate``.

    Example:
        >>> collate = CrepeCollate(16000, capacity="tiny", pretrained=False)
        >>> batch = collate([{"audio": torch.randn(8000) * 0.1, "id": 3},
        ...                  {"audio": torch.randn(4000) * 0.1, "id": 4}])
        >>> batch["audio"].shape, batch["f0"].shape, batch["frame_lengths"], batch["id"]
        (torch.Size([2, 8000]), torch.Size([2, 51]), tensor([51, 26]), tensor([3, 4]))
        >>> labelled = CrepeCollate(16000, features="none")
        >>> labelled([(torch.zeros(800), 3), (torch.zeros(400), 1)])["extra_0"]
        tensor([3, 1])
        >>> collate
        CrepeCollate(sample_rate=16000, capacity='tiny', pretrained=False)
    """

    SETTINGS = (_FEATURES, *ITEM_OPTIONS)

    def __init__(self, sample_rate: int, *, features: str = "compute", **options: Any) -> None:
        # Every check here is cheap: a bad option fails now, not in the first worker.
        parts = route(type(self).__name__, options, _PARTS, (_FEATURES,))
        frames = CrepeFrames(sample_rate, **parts["frames"])
        CrepeDecode(**parts["decode"])
        CrepeActivation.check_options(**parts["activation"])
        voicing = check_voicing_rule(parts["pitch"].get("voicing"))
        if "block_frames" in parts["pitch"]:
            check_block_frames(parts["pitch"]["block_frames"])
        loudness = CrepeLoudness(frames.sample_rate, frames.hop_length, **parts["conditioner"])
        items = parts["items"]
        #: Keyword arguments of the :class:`CrepeConditioner` this collate builds.
        self.conditioner_options: dict[str, Any] = {
            "sample_rate": frames.sample_rate,
            **{k: v for k, v in options.items() if k not in items},
        }
        self._setup(
            features,
            ItemPolicy.from_options(frames.sample_rate, frames.resample, **items),
            frames.hop_length,
            loudness.floor_db,
            voicing,
        )
        self._lazy = LazyConditioner(self.conditioner_options)

    @classmethod
    def from_parts(
        cls,
        conditioner: CrepeConditioner,
        *,
        features: str = "compute",
        **item_options: Any,
    ) -> CrepeCollate:
        """A collate for ``conditioner``: its rate, hop, floor and voicing rule.

        With ``features="compute"`` the collate runs this very conditioner (it must be on the
        CPU), in this process and in forked workers; a spawned worker receives it pickled,
        weights included. With ``"none"`` or ``"cached"`` only its settings are kept, so the
        batches' ``mask`` matches what the conditioner returns in the training step.

        Args:
            conditioner: a :class:`CrepeConditioner` (on the CPU for ``features="compute"``).
            features: ``"compute"`` (default), ``"none"`` or ``"cached"``, as in the
                constructor.
            **item_options: the constructor's item options (``resample_policy``, ``channels``,
                ``audio_key``, ``sample_rate_key``, ``tuple_rate``); the conditioner's own
                options come from ``conditioner``.

        Raises:
            ParameterError: ``conditioner`` is not a ``CrepeConditioner``, an option is unknown
                or has a bad value, or ``features="compute"`` with a conditioner off the CPU.

        Example:
            >>> conditioner = CrepeConditioner(16000, "tiny", hop_length=64, pretrained=False)
            >>> collate = CrepeCollate.from_parts(conditioner, features="none")
            >>> batch = collate([torch.zeros(640), torch.zeros(100)])
            >>> batch["mask"].shape, batch["frame_lengths"].tolist()
            (torch.Size([2, 11]), [11, 2])
        """
        if not isinstance(conditioner, CrepeConditioner):
            raise ParameterError(
                f"conditioner must be a CrepeConditioner, got {type(conditioner).__name__}; "
                f"or pass its options to CrepeCollate(sample_rate, ...)."
            )
        self = cls.__new__(cls)
        settings = conditioner.settings()
        self.conditioner_options = settings
        self._setup(
            features,
            ItemPolicy.from_options(
                conditioner.sample_rate,
                settings["resample"],
                owner=f"{cls.__name__}.from_parts",
                **item_options,
            ),
            conditioner.hop_length,
            conditioner.floor_db,
            conditioner.voicing,
        )
        self._lazy = LazyConditioner(settings)
        if self.features == "compute":
            device = next(conditioner.buffers()).device
            if device.type != "cpu":
                raise ParameterError(
                    f"CrepeCollate computes on the CPU (in DataLoader workers) but the "
                    f"conditioner is on {device}. Either pass features='none' and call the "
                    f"conditioner in the training step, or pass conditioner.cpu()."
                )
            # Kept as given, pickled with its weights: the settings may not rebuild it.
            self._lazy = LazyConditioner(settings, built=conditioner, keep=True)
        return self

    @classmethod
    def from_conditioner(
        cls,
        conditioner: CrepeConditioner,
        *,
        features: str = "compute",
        **item_options: Any,
    ) -> CrepeCollate:
        """Deprecated since 0.3: :meth:`from_parts`, the one name of every composite."""
        renamed(f"{cls.__name__}.from_conditioner", f"{cls.__name__}.from_parts")
        return cls.from_parts(conditioner, features=features, **item_options)

    def _setup(
        self,
        features: str,
        policy: ItemPolicy,
        hop_length: int,
        floor_db: float,
        voicing: Voicing,
    ) -> None:
        self.features = check_choice(features, "features", FEATURE_MODES)
        self.policy = policy
        self.sample_rate = policy.sample_rate
        #: The conditioner's hop: ``mask`` and ``frame_lengths`` count its frames.
        self.hop_length = hop_length
        self.floor_db = floor_db
        self.voicing = voicing
        self.feature_keys = feature_keys(voicing)

    # The item options, read from the policy where Configurable looks for them.
    resample_policy = Forward[str]("policy.resample_policy")
    """Items at another rate: ``"error"`` or ``"resample"``."""
    channels = Forward[str]("policy.channels")
    """Multi-channel items: ``"error"``, ``"mean"`` or ``"first"``."""
    audio_key = Forward[str]("policy.audio_key")
    """Key of the audio in mapping items."""
    sample_rate_key = Forward[str]("policy.sample_rate_key")
    """Key of the rate in mapping items."""
    tuple_rate = Forward[str | bool]("policy.tuple_rate")
    """Whether element 1 of a tuple item is its rate: ``"auto"``, ``True`` or ``False``."""

    def settings(self) -> dict[str, Any]:
        """The conditioner's options and this collate's: ``CrepeCollate(**settings)`` rebuilds
        it (one built by :meth:`from_parts` is rebuilt from the conditioner's settings).
        """
        return {**self.conditioner_options, **super().settings()}

    def __repr__(self) -> str:
        own = describe(self.SETTINGS, super().settings())
        conditioner = describe(_CONDITIONER_SETTINGS, self.conditioner_options)
        return f"{type(self).__name__}({', '.join(p for p in (conditioner, own) if p)})"

    @property
    def conditioner(self) -> CrepeConditioner:
        """The CPU :class:`CrepeConditioner`: the one given to :meth:`from_parts`, or
        built (and its weights loaded) on first use."""
        return self._lazy.get()

    def __call__(self, batch: Sequence[object]) -> dict[str, Any]:
        if isinstance(batch, (str, bytes, torch.Tensor)) or not isinstance(batch, Sequence):
            raise ParameterError(
                f"{type(self).__name__} expects a list of dataset items, got "
                f"{type(batch).__name__}. Pass it as DataLoader(..., collate_fn=collate) with a "
                f"batch_size (not batch_size=None)."
            )
        if len(batch) == 0:
            raise ParameterError(
                f"{type(self).__name__} got an empty batch; a DataLoader never makes one, so "
                f"check a custom batch sampler for empty index lists."
            )
        prepared = [self.policy.prepare(item, index) for index, item in enumerate(batch)]
        fields = [p.fields for p in prepared]
        if self.features == "cached":
            fields = [
                split_cached(p.fields, p.audio.shape[-1], self.hop_length, i, self.feature_keys)
                for i, p in enumerate(prepared)
            ]
        audio, lengths = pad_audio([p.audio for p in prepared])
        out: dict[str, Any] = {"audio": audio, "lengths": lengths}
        if self.features == "compute":
            with torch.no_grad():
                out.update(self.conditioner(audio, lengths))
        else:
            frame_lengths = num_frames(lengths, self.hop_length)
            n_frames = int(num_frames(audio.shape[-1], self.hop_length))
            if self.features == "cached":
                fills = padding_values(self.floor_db)
                for key in self.feature_keys:
                    out[key] = pad_frames([p.fields[key] for p in prepared], n_frames, fills[key])
            out["frame_lengths"] = frame_lengths
            out["mask"] = frame_mask(frame_lengths, n_frames)
        out.update(collate_fields(fields, BATCH_KEYS))
        return out
