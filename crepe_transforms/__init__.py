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
weight file. Weights load on the first construction of a weighted transform.
"""

from typing import TYPE_CHECKING, Any

from . import functional, weights
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
from .functional import HMM, Pitch
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

# Training and file tools are imported on first use: they bring in soundfile, tqdm and the
# DataLoader machinery, which the transforms alone do not need.
_LAZY = {
    "CrepeCollate": "train",
    "CrepeConditioner": "train",
    "FeatureCache": "train",
    "Extractor": "io",
    "load_audio": "io",
    "predict_file": "io",
    "predict_files": "io",
}

if TYPE_CHECKING:
    from .io import Extractor, load_audio, predict_file, predict_files
    from .train import CrepeCollate, CrepeConditioner, FeatureCache

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
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'crepe_transforms' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
