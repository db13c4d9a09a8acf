"""``CrepeConditioner``: audio → f0, periodicity, loudness and masks, as a batch dictionary.

The conditioner, :class:`~crepe_transforms.CrepeCollate` and
:class:`~crepe_transforms.FeatureCache` return the same dictionary with fixed keys, so features
computed in the data pipeline, on the GPU in the training step, or read from disk are
interchangeable:

========================  ==============  ====================================================
key                       shape           content
========================  ==============  ====================================================
``f0``                    ``(..., F)``    Hz, Viterbi (or chosen) decoder, never NaN
``periodicity``           ``(..., F)``    activation at the decoded bin, in [0, 1]
``loudness``              ``(..., F)``    A-weighted dB re full scale (:class:`CrepeLoudness`)
``voiced``                ``(..., F)``    bool, only with a ``voicing`` rule (a threshold or "auto")
``frame_lengths``         ``(...)``       int64, valid frames per item, ``1 + length // hop``
``mask``                  ``(..., F)``    bool, True on valid frames
========================  ==============  ====================================================

**Padded frames** (mask False) hold ``f0 = 0``, ``periodicity = 0``, ``loudness = floor_db``
and ``voiced = False``, always: finite values that are safe to multiply by the mask, and the
loudness of the silence that pads the audio. Valid frames equal each item computed alone.

Frame rule: ``F = 1 + time // hop_length`` and frame ``i`` is centred at
``i * hop_length / sample_rate`` s, the frame count of torchaudio's
``Spectrogram(n_fft, hop_length=hop_length, center=True)`` for any ``n_fft``. DDSP's 250 frames
a second is ``hop_length=64`` at 16 kHz.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .._deprecated import renamed
from .._eager import eager
from .._settings import plain
from .._tables import FLOOR_DB, NOT_IN_CONFIG
from .._version import __version__
from ..constants import DEFAULT_FLOOR_DB
from ..exceptions import ParameterError
from ..functional import num_frames
from ..functional._internal import Voicing, check_floor_db, length_mask
from ..transforms import CrepeLoudness, CrepePitch
from ..transforms._internal import Composite
from ..weights._internal import DIGEST_KEY, state_digest
from ._forward import Forward
from ._items import FEATURE_KEYS

__all__ = [
    "FEATURES_VERSION",
    "NOT_IN_CONFIG",
    "CrepeConditioner",
    "LazyConditioner",
    "feature_keys",
    "padding_values",
    "state_digest",
]

#: Version of the feature computation in :meth:`CrepeConditioner.config`; bump when a change
#: to this package alters the numbers, so caches keyed on the config are not reused.
#: 2: f0 and periodicity come from the 0.2 block engine.
FEATURES_VERSION = 2


def feature_keys(voicing: Voicing) -> tuple[str, ...]:
    """The per-frame feature keys of a batch: ``voiced`` joins them with a voicing rule."""
    return FEATURE_KEYS if voicing is None else (*FEATURE_KEYS, "voiced")


def padding_values(floor_db: float) -> dict[str, float | bool]:
    """What each feature holds on padded frames: f0 0, periodicity 0, loudness ``floor_db``,
    voiced False."""
    return {"f0": 0.0, "periodicity": 0.0, "loudness": floor_db, "voiced": False}


class CrepeConditioner(Composite):
    """Audio → frame-aligned f0, periodicity and loudness, as a batch dictionary.

    The conditioning features of DDSP-style models, computed on whatever device the module and
    its input are on. Built from a :class:`~crepe_transforms.CrepePitch` (``.pitch``), which
    owns every option but ``floor_db``, and a :class:`~crepe_transforms.CrepeLoudness`
    (``.loudness``) with the pitch's rate and hop; :meth:`from_parts` takes a pitch you built.

    f0 is a training target, so it is never NaN: with ``voicing=None`` (default) every frame
    keeps its decoded f0 and voicing is left to ``periodicity``. With a ``voicing`` threshold
    the batch gains a bool ``voiced`` (periodicity at or above it, False on padded frames) and
    f0 *still* keeps its decoded value on unvoiced frames, so interpolation and losses stay
    finite: mask with ``voiced`` where the rule matters. (``CrepePitch`` itself puts NaN
    there.)

    Gradients: f0, periodicity and ``voiced`` carry none (the decoder picks bins; audio that
    requires grad is detached for it); loudness is differentiable with respect to the audio.

    The pitch runs through CREPE's block engine: frames past each item's length are not
    computed, and each item's valid frames are bit-identical to the item computed alone, so a
    padded batch costs no more network time than its items.

    On a GPU use ``resample="torchaudio"`` when ``sample_rate`` is not 16 kHz: the default
    resampy resampler runs in numpy, so it copies the audio to the CPU and back on every call.

    Args:
        sample_rate: rate of the input audio in Hz.
        capacity: CREPE model size (``"tiny"`` … ``"full"``).
        floor_db: loudness of digital silence and of padded frames, dB re full scale.
        **options: any option of :class:`~crepe_transforms.CrepePitch`: ``voicing``,
            ``block_frames`` and its parts' (``hop_length``, ``resample``, ``normalization``;
            ``chunk_size``, ``weights``, ``sha256``, ``pretrained``, ``verify``, ``algorithm``,
            ``precision``; ``decoder``, ``fmin``, ``fmax``, ``hmm``, ``backend``). Unknown
            names raise :class:`~crepe_transforms.ParameterError`.

    Shape:
        - audio: ``(..., time)``; lengths (optional): ``(...)`` valid samples per item
        - output: dict with ``f0``, ``periodicity``, ``loudness``, (``voiced``), ``mask``
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
        >>> voiced = CrepeConditioner(16000, "tiny", voicing=0.5, pretrained=False)
        >>> list(voiced(torch.randn(4000) * 0.1))
        ['f0', 'periodicity', 'loudness', 'voiced', 'frame_lengths', 'mask']

        Around a ``CrepePitch`` you built (:meth:`from_parts`; used, not copied):

        >>> pitch = CrepePitch(22050, "tiny", hop_length=256, pretrained=False)
        >>> conditioner = CrepeConditioner.from_parts(pitch, floor_db=-90.0)
        >>> conditioner.pitch is pitch, conditioner.loudness
        (True, CrepeLoudness(sample_rate=22050, hop_length=256, floor_db=-90.0))
    """

    SETTINGS = (FLOOR_DB,)
    #: The pitch owns every option but ``floor_db``; the loudness follows the pitch's rate and
    #: hop (built by :meth:`_ready`).
    PARTS = (("pitch", CrepePitch),)

    pitch: CrepePitch
    loudness: CrepeLoudness

    def __init__(
        self,
        sample_rate: int,
        capacity: str = "full",
        *,
        floor_db: float = DEFAULT_FLOOR_DB,
        **options: Any,
    ) -> None:
        super().__init__()
        self._configure(floor_db)  # before CrepePitch reads any weights
        self._use_parts({"pitch": CrepePitch(sample_rate, capacity, **options)})
        self._ready()

    @classmethod
    def from_pitch(
        cls, pitch: CrepePitch, *, floor_db: float = DEFAULT_FLOOR_DB
    ) -> CrepeConditioner:
        """Deprecated since 0.3: :meth:`from_parts`, the one name of every composite."""
        renamed(f"{cls.__name__}.from_pitch", f"{cls.__name__}.from_parts")
        return cls.from_parts(pitch, floor_db=floor_db)

    def _configure(self, floor_db: float) -> None:
        self._floor_db = check_floor_db(floor_db)

    def _ready(self) -> None:
        frames = self.pitch.frames
        self.loudness = CrepeLoudness(frames.sample_rate, frames.hop_length, self._floor_db)

    sample_rate = Forward[int]("pitch.frames.sample_rate")
    """The input rate in Hz."""
    hop_length = Forward[int]("pitch.frames.hop_length")
    """Samples between frames: ``frame_lengths`` and ``mask`` count these frames."""
    floor_db = Forward[float]("loudness.floor_db")
    """Loudness of digital silence and of padded frames, dB re full scale."""
    voicing = Forward[Voicing]("pitch.voicing")
    """The voicing rule (None, a periodicity threshold or ``"auto"``): ``voiced`` with one."""

    @property
    def feature_keys(self) -> tuple[str, ...]:
        """Per-frame keys of the output: f0, periodicity, loudness (and voiced)."""
        return feature_keys(self.voicing)

    def num_frames(self, length: int | torch.Tensor) -> int | torch.Tensor:
        """Frames for ``length`` input samples: ``1 + length // hop_length``."""
        return num_frames(length, self.hop_length)

    def settings(self) -> dict[str, Any]:
        """The pitch's settings and ``floor_db``: ``CrepeConditioner(**settings)`` rebuilds it.

        Example:
            >>> conditioner = CrepeConditioner(16000, "tiny", pretrained=False, fmin=50.0)
            >>> again = CrepeConditioner(**conditioner.settings())
            >>> again.pitch.decode.fmin, again.settings() == conditioner.settings()
            (50.0, True)
        """
        return super().settings()

    def config(self) -> dict[str, Any]:
        """Everything that determines the output, as a JSON-able dict (a feature-cache key).

        The settings as plain data, the Viterbi model resolved (``hmm="crepe"`` and the
        equal :class:`~crepe_transforms.HMM` give one key), a sha256 of the network's state
        (random-init or retrained weights never share a key), the network's dtype,
        :data:`FEATURES_VERSION` and the package version. Leaves out what moves only memory,
        speed or float rounding, and where the weights were found (:data:`NOT_IN_CONFIG`).

        Example:
            >>> cfg = CrepeConditioner(16000, "tiny", pretrained=False).config()
            >>> cfg["hop_length"], cfg["capacity"], cfg["features_version"]
            (160, 'tiny', 2)
            >>> len(cfg["weights_sha256"]), cfg["dtype"]
            (64, 'torch.float32')
        """
        settings = {k: plain(v) for k, v in self.settings().items() if k not in NOT_IN_CONFIG}
        settings["hmm"] = self.pitch.decode.model.to_dict()
        return {
            "features_version": FEATURES_VERSION,
            "package_version": __version__,
            **settings,
            "dtype": str(self.pitch.activation.dtype),
            DIGEST_KEY: state_digest(self.pitch.activation.network),
        }

    @eager
    def forward(
        self, audio: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None = None
    ) -> dict[str, torch.Tensor]:
        pitch = self.pitch
        with torch.no_grad():  # f0 and periodicity come from a discrete decode
            prepared = pitch.frames.prepare(
                audio.detach() if isinstance(audio, torch.Tensor) else audio,
                lengths,  # type: ignore[arg-type]  # sequences are checked and converted
                "audio",
            )
            if prepared.lengths is not None:
                prepared = prepared._replace(lengths=prepared.lengths.to(audio.device))
            f0, periodicity, voiced, frame_lengths = pitch.decide(prepared)
        shape, frames = prepared.shape, f0.shape[-1]
        item_lengths = None if prepared.lengths is None else prepared.lengths.reshape(shape)
        loudness = self.loudness(audio, item_lengths)
        if frame_lengths is None:
            frame_lengths = torch.full(shape, frames, dtype=torch.int64, device=f0.device)
        else:
            frame_lengths = frame_lengths.reshape(shape)
        mask = length_mask(frame_lengths, frames)
        fills = padding_values(self.floor_db)
        values = {
            "f0": f0.reshape(*shape, frames),
            "periodicity": periodicity.reshape(*shape, frames),
            "loudness": loudness,
        }
        if voiced is not None:
            values["voiced"] = voiced.reshape(*shape, frames)
        out = {key: values[key].masked_fill(~mask, fills[key]) for key in self.feature_keys}
        return {**out, "frame_lengths": frame_lengths, "mask": mask}


class LazyConditioner:
    """The CPU conditioner of a picklable owner (the collate, the feature cache): the one
    given, or built from its options on first use in each process.

    A spawned DataLoader worker receives the options only (unless ``keep`` says to pickle the
    conditioner itself, weights and all: one the options cannot rebuild, e.g. random or
    retrained weights). A conditioner rebuilt where a config is already known (the one the
    owner saw) must have that config: a weight file that changed in between raises.
    """

    def __init__(
        self,
        options: dict[str, Any],
        *,
        built: CrepeConditioner | None = None,
        keep: bool = False,
        config: dict[str, Any] | None = None,
    ) -> None:
        #: The conditioner's keyword arguments (what a worker rebuilds it from).
        self.options = options
        self._built = None if built is None else built.eval()
        self._keep = keep
        #: The config of the conditioner this owner runs (``None`` until one is built).
        self.config = config

    @property
    def built(self) -> CrepeConditioner | None:
        """The conditioner, if this process has it already (nothing is built here)."""
        return self._built

    def get(self) -> CrepeConditioner:
        """The conditioner, built (and its weights read) on first use in this process."""
        if self._built is None:
            built = CrepeConditioner(**self.options).eval()
            config = built.config()
            if self.config is not None and config != self.config:
                changed = sorted(k for k in config if config.get(k) != self.config.get(k))
                raise ParameterError(
                    f"the conditioner rebuilt in this process differs from the one its owner "
                    f"was made with (changed: {', '.join(changed)}): did a weight file change "
                    f"since? Recreate the collate or feature cache."
                )
            self.config = config
            self._built = built
        return self._built

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if not self._keep:
            state["_built"] = None  # rebuilt from the options where it is unpickled
        return state
