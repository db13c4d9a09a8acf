"""CREPE pitch tracking as composable, torchaudio-style PyTorch transforms.

Where to start:

- the transforms: :class:`CrepeFrames` → :class:`CrepeActivation` → :class:`CrepeDecode`, or
  all three in :class:`CrepePitch`; :class:`CrepeEmbedding` as a frozen feature layer;
  :class:`CrepeLoudness`; :class:`CrepeSoftDecode` for training losses; :class:`CrepeStream`
  for audio that arrives in pieces;
- training: :class:`CrepeConditioner` (features in the training step), :class:`CrepeCollate`
  (features in the DataLoader), :class:`FeatureCache` (features kept on disk);
- files: :class:`Extractor`, :func:`predict_file`, :func:`predict_files` (the command line's
  engine), :func:`load_audio`;
- :mod:`crepe_transforms.functional`: every pure function behind them;
- :mod:`crepe_transforms.weights`: the weight registry.

Importing this package is cheap: it never imports torchaudio or torchcrepe and never reads a
weight file, and torch itself is imported when a transform, ``functional`` or ``weights`` is
first used (so ``crepe-transforms --help`` needs no torch). Weights load on the first
construction of a weighted transform.
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .exceptions import (
    AudioError,
    ChecksumError,
    CrepeError,
    MissingDependencyError,
    ParameterError,
    WeightsError,
    WeightsFormatError,
    WeightsNotFoundError,
)

# Every name that needs torch is imported on first use, so that the command line's --help
# (whose entry point imports this package first) does not import torch. Training and file
# tools also bring in soundfile, tqdm and the DataLoader machinery. ``None``: the submodule.
_LAZY = {
    "functional": None,
    "weights": None,
    "HMM": "functional",
    "Pitch": "functional",
    "CrepeActivation": "transforms",
    "CrepeDecode": "transforms",
    "CrepeEmbedding": "transforms",
    "CrepeFrames": "transforms",
    "CrepeLoudness": "transforms",
    "CrepePitch": "transforms",
    "CrepeSoftDecode": "transforms",
    "CrepeStream": "transforms",
    "CrepeCollate": "train",
    "CrepeConditioner": "train",
    "FeatureCache": "train",
    "Extractor": "io",
    "load_audio": "io",
    "predict_file": "io",
    "predict_files": "io",
}

if TYPE_CHECKING:
    from . import functional, weights
    from .functional import HMM, Pitch
    from .io import Extractor, load_audio, predict_file, predict_files
    from .train import CrepeCollate, CrepeConditioner, FeatureCache
    from .transforms import (
        CrepeActivation,
        CrepeDecode,
        CrepeEmbedding,
        CrepeFrames,
        CrepeLoudness,
        CrepePitch,
        CrepeSoftDecode,
        CrepeStream,
    )

__all__ = [
    "HMM",
    "AudioError",
    "ChecksumError",
    "CrepeActivation",
    "CrepeCollate",
    "CrepeConditioner",
    "CrepeDecode",
    "CrepeEmbedding",
    "CrepeError",
    "CrepeFrames",
    "CrepeLoudness",
    "CrepePitch",
    "CrepeSoftDecode",
    "CrepeStream",
    "Extractor",
    "FeatureCache",
    "MissingDependencyError",
    "ParameterError",
    "Pitch",
    "WeightsError",
    "WeightsFormatError",
    "WeightsNotFoundError",
    "__version__",
    "functional",
    "load_audio",
    "predict_file",
    "predict_files",
    "weights",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'crepe_transforms' has no attribute {name!r}")
    from importlib import import_module

    module = _LAZY[name]
    value = import_module(f".{name if module is None else module}", __name__)
    if module is not None:
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
