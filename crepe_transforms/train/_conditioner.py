"""Training-data hooks: the on-device :class:`CrepeConditioner` and the DataLoader
:class:`CrepeCollate`.

Both return the same batch dictionary with fixed keys, so features computed in the data
pipeline, on the GPU in the training step, or read from a
:class:`~crepe_transforms.cache.FeatureCache` are interchangeable:

========================  ==============  ====================================================
key                       shape           content
========================  ==============  ====================================================
``f0``                    ``(..., F)``    Hz, Viterbi (or chosen) decoder, no threshold: no NaN
``periodicity``           ``(..., F)``    activation at the decoded bin, in [0, 1]
``loudness``              ``(..., F)``    A-weighted dB re full scale (:class:`CrepeLoudness`)
``frame_lengths``         ``(...)``       int64, valid frames per item, ``1 + length // hop``
``mask``                  ``(..., F)``    bool, True on valid frames
========================  ==============  ====================================================

The collate adds ``audio`` ``(B, T)`` float32 and ``lengths`` ``(B,)`` int64, plus the items'
other fields. **Padded frames** (mask False) hold ``f0 = 0``, ``periodicity = 0`` and
``loudness = floor_db``, always: finite values that are safe to multiply by the mask, and the
loudness of the silence that pads the audio. Valid frames equal each item computed alone.

Frame rule: ``F = 1 + time // hop_length`` and frame ``i`` is centred at
``i * hop_length / sample_rate`` s, the frame count of torchaudio's
``Spectrogram(n_fft, hop_length=hop_length, center=True)`` for any ``n_fft``. DDSP's 250 frames
a second is ``hop_length=64`` at 16 kHz.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import torch
from torch import nn

from .batching import (
    FEATURE_KEYS,
    ItemPolicy,
    collate_fields,
    frame_mask,
    pad_audio,
    pad_frames,
    split_cached,
)
from .checks import check_audio, check_choice, check_lengths
from .constants import N_BINS
from .decode import Pitch
from .exceptions import ParameterError
from .functional import num_frames as _num_frames
from .loudness import DEFAULT_FLOOR_DB, CrepeLoudness
from .pitch import CrepePitch
from .transforms import DEFAULT_CHUNK_SIZE
from .viterbi import HMM

__all__ = [
    "BATCH_KEYS",
    "FEATURE_MODES",
    "CrepeCollate",
    "CrepeConditioner",
    "padding_values",
    "state_digest",
]

#: Keys of every batch, in order (``CrepeCollate`` adds the items' own fields after them).
BATCH_KEYS = ("audio", "lengths", *FEATURE_KEYS, "frame_lengths", "mask")
#: ``CrepeCollate(features=...)``: run CREPE, read a FeatureCache's features, or pad only.
FEATURE_MODES = ("compute", "cached", "none")
#: Version of the feature computation in :meth:`CrepeConditioner.config`; bump when a change
#: to this package alters the numbers, so caches keyed on the config are not reused.
FEATURES_VERSION = 1


def padding_values(floor_db: float) -> dict[str, float]:
    """What each feature holds on padded frames: f0 0, periodicity 0, loudness ``floor_db``."""
    return {"f0": 0.0, "periodicity": 0.0, "loudness": floor_db}


def state_digest(module: nn.Module) -> str:
    """sha256 of a module's state dict: names, dtypes, shapes and bytes, in key order."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class CrepeConditioner(nn.Module):
    """Audio → frame-aligned f0, periodicity and loudness, as a batch dictionary.

    The conditioning features of DDSP-style models, computed on whatever device the module and
    its input are on. f0 is not thresholded: it is a training target, and voicing is left to
    ``periodicity``. f0 and periodicity carry no gradient (the decoder is discrete); loudness
    is differentiable with respect to the audio.

    On a GPU use ``resample="torchaudio"`` when ``sample_rate`` is not 16 kHz: the default
    resampy resampler runs in numpy, so it copies the audio to the CPU and back on every call.

    Args:
        sample_rate: rate of the input audio in Hz.
        capacity: CREPE model size (``"tiny"`` … ``"full"``).
        hop_length: hop in input samples; default ``sample_rate // 100`` (10 ms).
        decoder, fmin, fmax, hmm: as :class:`~crepe_transforms.CrepePitch`.
        resample, normalization: as :class:`~crepe_transforms.CrepeFrames`.
        chunk_size, weights, sha256, pretrained, algorithm, precision: as
            :class:`~crepe_transforms.CrepeActivation` (``precision="bf16"`` changes the
            numbers a little and is part of :meth:`config`).
        floor_db: loudness of digital silence and of padded frames.

    Shape:
        - audio: ``(..., time)``; lengths (optional): ``(...)`` valid samples per item
        - output: dict with ``f0``, ``periodicity``, ``loudness``, ``mask``
          ``(..., 1 + time // hop_length)`` and ``frame_lengths`` ``(...)``

    Example:
        >>> conditioner = CrepeConditioner(16000, "tiny", pretrained=False)
        >>> out = conditioner(torch.randn(2, 16000) * 0.1, lengths=torch.tensor([16000, 8000]))
        >>> list(out)
        ['f0', 'periodicity', 'loudness', 'frame_lengths', 'mask']
        >>> out["f0"].shape, out["mask"].dtype
        (torch.Size([2, 101]), torch.bool)
        >>> out["frame_lengths"].tolist(), float(out["f0"][1, 51]), float(out["loudness"][1, 51])
        ([101, 51], 0.0, -120.0)
    """

    def __init__(
        self,
        sample_rate: int,
        capacity: str = "full",
        hop_length: int | None = None,
        decoder: str = "viterbi",
        fmin: float | None = None,
        fmax: float | None = None,
        hmm: HMM | str = "default",
        resample: str = "resampy",
        normalization: str = "crepe",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        weights: str | os.PathLike[str] | None = None,
        sha256: str | None = None,
        pretrained: bool = True,
        floor_db: float = DEFAULT_FLOOR_DB,
        *,
        algorithm: str = "fft",
        precision: str = "fp32",
    ) -> None:
        super().__init__()
        loudness = CrepeLoudness(sample_rate, hop_length, floor_db)  # cheap checks first
        self.pitch = CrepePitch(
            sample_rate,
            capacity,
            hop_length,
            decoder,
            fmin,
            fmax,
            hmm=hmm,
            resample=resample,
            normalization=normalization,
            chunk_size=chunk_size,
            weights=weights,
            sha256=sha256,
            pretrained=pretrained,
            algorithm=algorithm,
            precision=precision,
        )
        self.loudness = loudness

    @property
    def sample_rate(self) -> int:
        return self.loudness.sample_rate

    @property
    def hop_length(self) -> int:
        return self.loudness.hop_length

    @property
    def floor_db(self) -> float:
        return self.loudness.floor_db

    def num_frames(self, length: int | torch.Tensor) -> int | torch.Tensor:
        """Frames for ``length`` input samples: ``1 + length // hop_length``."""
        return _num_frames(length, self.hop_length)

    def config(self) -> dict[str, Any]:
        """Everything that determines the output, as a JSON-able dict (a feature-cache key).

        Includes a sha256 of the network weights (so random-init or retrained weights never
        share a key) and the weights' dtype. Leaves out what only moves float rounding or
        memory: the device, ``chunk_size`` and ``block_frames``.

        Example:
            >>> cfg = CrepeConditioner(16000, "tiny", pretrained=False).config()
            >>> cfg["hop_length"], cfg["capacity"], len(cfg["weights_sha256"])
            (160, 'tiny', 64)
        """
        from . import __version__

        frames, activation, decode = self.pitch.frames, self.pitch.activation, self.pitch.decode
        return {
            "features_version": FEATURES_VERSION,
            "package_version": __version__,
            "sample_rate": self.sample_rate,
            "hop_length": self.hop_length,
            "capacity": activation.capacity,
            "decoder": decode.method,
            "fmin": decode.fmin,
            "fmax": decode.fmax,
            "hmm": asdict(decode.hmm),
            "resample": frames.resample,
            "normalization": frames.normalization,
            "algorithm": activation.algorithm,
            "precision": activation.precision,
            "dtype": str(activation.network.classifier.weight.dtype),
            "weights_sha256": state_digest(activation.network),
            "floor_db": self.floor_db,
        }

    def forward(
        self, audio: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None = None
    ) -> dict[str, torch.Tensor]:
        audio = check_audio(audio, "audio")
        batch_shape, time = tuple(audio.shape[:-1]), audio.shape[-1]
        if lengths is not None:
            lengths = check_lengths(lengths, batch_shape, time).to(audio.device)
        with torch.no_grad():  # f0 and periodicity come from a discrete decode
            pitch = self.pitch(audio.detach(), lengths)
        loudness = self.loudness(audio, lengths)
        n_frames = int(self.num_frames(time))
        if lengths is None:
            frame_lengths = torch.full(
                batch_shape, n_frames, dtype=torch.int64, device=audio.device
            )
        else:
            frame_lengths = _num_frames(lengths, self.hop_length)
        return self._assemble(pitch, loudness, frame_lengths, n_frames)

    def ragged(self, items: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        """Features of unpadded 1-D signals, without running the network on padding.

        Equals ``forward(padded, lengths)`` of the zero-padded batch (up to the float rounding
        that depends on how frames are grouped into network calls), and each item's valid
        frames equal the item computed alone, bit for bit: the network sees each item's own
        frames, and one batched decode stops at every item's last frame. The network runs item
        by item, which suits the CPU (:class:`CrepeCollate` uses it); on a GPU, the padded
        :meth:`forward` keeps the device busier.

        Shape:
            ``B × (time_i,)`` → as :meth:`forward` of ``(B, max time_i)``
        """
        if isinstance(items, torch.Tensor) or len(items) == 0:
            raise ParameterError(
                "ragged() takes a non-empty list of 1-D signals; for a padded (B, time) tensor "
                "call the conditioner itself with lengths."
            )
        for k, x in enumerate(items):
            if check_audio(x, f"items[{k}]").dim() != 1:
                raise ParameterError(f"items[{k}] must be 1-D (time,), got {tuple(x.shape)}.")
        audio, lengths = pad_audio(items)
        lengths = lengths.to(audio.device)
        frame_lengths = _num_frames(lengths, self.hop_length)
        n_frames = int(self.num_frames(audio.shape[-1]))
        with torch.no_grad():
            activation = audio.new_zeros((len(items), n_frames, N_BINS))
            for row, x in zip(activation, items, strict=True):
                act = self.pitch.activations(x.detach())
                row[: act.shape[0]] = act
            pitch = self.pitch.decode(activation, frame_lengths)
        loudness = self.loudness(audio, lengths)
        return self._assemble(pitch, loudness, frame_lengths, n_frames)

    def _assemble(
        self,
        pitch: Pitch,
        loudness: torch.Tensor,
        frame_lengths: torch.Tensor,
        n_frames: int,
    ) -> dict[str, torch.Tensor]:
        mask = frame_mask(frame_lengths, n_frames)
        fills = padding_values(self.floor_db)
        values = {"f0": pitch.frequency, "periodicity": pitch.periodicity, "loudness": loudness}
        out = {key: values[key].masked_fill(~mask, fills[key]) for key in FEATURE_KEYS}
        return {**out, "frame_lengths": frame_lengths, "mask": mask}


class CrepeCollate:
    """``DataLoader(collate_fn=...)``: pad a list of items and attach CREPE features.

    Items are tensors ``(time)``/``(channels, time)``, torchaudio-style tuples
    ``(waveform, sample_rate, *extras)`` or mappings (see :mod:`crepe_transforms.batching`).
    Each becomes mono float32 audio at ``sample_rate`` under the rate and channel policies, the
    batch is zero-padded on the right to its longest item, and the features are computed on the
    CPU by a :class:`CrepeConditioner` (:meth:`CrepeConditioner.ragged`: the network runs on
    each item's own frames, never on padding, so valid frames equal the item computed alone bit
    for bit). The conditioner is built on the first call in the process that makes it, so
    every DataLoader worker reads the weights once (a forked worker whose parent already used
    this collate inherits its network instead); pickling (spawn workers) carries only the
    configuration. Tuple extras are collated field by field as ``default_collate`` collates
    dict fields (a list of strings, a stacked tensor, …).

    Args:
        sample_rate: the batch's rate in Hz; items without a rate are taken to be at it.
        features: ``"compute"`` (default) runs CREPE; ``"none"`` only pads (run a
            :class:`CrepeConditioner` in the training step, e.g. on the GPU: batches then hold
            ``audio``, ``lengths``, ``frame_lengths`` and ``mask``); ``"cached"`` pads the
            features that :class:`~crepe_transforms.cache.FeatureCache` items carry.
        resample_policy: ``"error"`` (default) or ``"resample"`` items at other rates.
        channels: ``"error"`` (default), ``"mean"`` or ``"first"`` for multi-channel items.
        audio_key, sample_rate_key: keys of mapping items.
        capacity, hop_length, decoder, fmin, fmax, hmm, resample, normalization, chunk_size,
            weights, sha256, pretrained, floor_db, algorithm, precision: the
            :class:`CrepeConditioner`'s settings
            (``pretrained=False`` gives every process its own random network: doctests only).

    Returns (per call):
        dict with ``audio`` ``(B, T)``, ``lengths`` ``(B,)``, ``f0``, ``periodicity``,
        ``loudness`` ``(B, F)`` (not with ``features="none"``), ``frame_lengths`` ``(B,)`` and
        ``mask`` ``(B, F)``, then each item field collated by ``default_collate``.

    Example:
        >>> collate = CrepeCollate(16000, capacity="tiny", pretrained=False)
        >>> batch = collate([{"audio": torch.randn(8000) * 0.1, "id": 3},
        ...                  {"audio": torch.randn(4000) * 0.1, "id": 4}])
        >>> batch["audio"].shape, batch["f0"].shape, batch["frame_lengths"], batch["id"]
        (torch.Size([2, 8000]), torch.Size([2, 51]), tensor([51, 26]), tensor([3, 4]))
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        features: str = "compute",
        resample_policy: str = "error",
        channels: str = "error",
        audio_key: str = "audio",
        sample_rate_key: str = "sample_rate",
        capacity: str = "full",
        hop_length: int | None = None,
        decoder: str = "viterbi",
        fmin: float | None = None,
        fmax: float | None = None,
        hmm: HMM | str = "default",
        resample: str = "resampy",
        normalization: str = "crepe",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        weights: str | os.PathLike[str] | None = None,
        sha256: str | None = None,
        pretrained: bool = True,
        floor_db: float = DEFAULT_FLOOR_DB,
        algorithm: str = "fft",
        precision: str = "fp32",
    ) -> None:
        self.features = check_choice(features, "features", FEATURE_MODES)
        self.policy = ItemPolicy(
            sample_rate, resample_policy, channels, audio_key, sample_rate_key, resample
        )
        #: Keyword arguments of the :class:`CrepeConditioner` this collate builds.
        self.conditioner_options: dict[str, Any] = {
            "sample_rate": self.policy.sample_rate,
            "capacity": capacity,
            "hop_length": hop_length,
            "decoder": decoder,
            "fmin": fmin,
            "fmax": fmax,
            "hmm": hmm,
            "resample": resample,
            "normalization": normalization,
            "chunk_size": chunk_size,
            "weights": weights,
            "sha256": sha256,
            "pretrained": pretrained,
            "floor_db": floor_db,
            "algorithm": algorithm,
            "precision": precision,
        }
        # Validate now (cheaply, without weights) rather than in the first worker.
        probe = CrepeLoudness(self.policy.sample_rate, hop_length, floor_db)
        self.hop_length = probe.hop_length
        self.floor_db = probe.floor_db
        self._conditioner: CrepeConditioner | None = None

    def __repr__(self) -> str:
        defaults = {
            name: parameter.default
            for name, parameter in inspect.signature(type(self).__init__).parameters.items()
        }
        settings = {
            "features": self.features,
            "resample_policy": self.policy.resample_policy,
            "channels": self.policy.channels,
            "audio_key": self.policy.audio_key,
            "sample_rate_key": self.policy.sample_rate_key,
            **self.conditioner_options,
        }
        parts = [str(self.policy.sample_rate)]
        parts += [
            f"{name}={value!r}"
            for name, value in settings.items()
            if name != "sample_rate" and value != defaults.get(name, value)
        ]
        return f"{type(self).__name__}({', '.join(parts)})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_conditioner"] = None  # spawn workers build their own from the options
        return state

    @property
    def conditioner(self) -> CrepeConditioner:
        """The CPU :class:`CrepeConditioner`, built (and its weights loaded) on first use."""
        if self._conditioner is None:
            self._conditioner = CrepeConditioner(**self.conditioner_options).eval()
        return self._conditioner

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
                split_cached(p.fields, p.audio.shape[-1], self.hop_length, i)
                for i, p in enumerate(prepared)
            ]
        audio, lengths = pad_audio([p.audio for p in prepared])
        out: dict[str, Any] = {"audio": audio, "lengths": lengths}
        if self.features == "compute":
            with torch.no_grad():
                out.update(self.conditioner.ragged([p.audio for p in prepared]))
        else:
            frame_lengths = _num_frames(lengths, self.hop_length)
            n_frames = int(_num_frames(audio.shape[-1], self.hop_length))
            if self.features == "cached":
                fills = padding_values(self.floor_db)
                for key in FEATURE_KEYS:
                    out[key] = pad_frames([p.fields[key] for p in prepared], n_frames, fills[key])
            out["frame_lengths"] = frame_lengths
            out["mask"] = frame_mask(frame_lengths, n_frames)
        out.update(collate_fields(fields, BATCH_KEYS))
        return out
