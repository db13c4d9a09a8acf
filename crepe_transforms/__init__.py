"""CREPE pitch tracking as composable, torchaudio-style PyTorch transforms.

Importing this package is cheap: it never imports torchaudio or torchcrepe and never reads a
weight file. Weights load on the first construction of a weighted transform.
"""

from __future__ import annotations

from . import convert, functional, weights
from .constants import FMAX_HZ, FMIN_HZ, N_BINS, SAMPLE_RATE, WINDOW_SIZE
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
from .functional import num_frames
from .network import Crepe
from .transforms import CrepeActivation, CrepeEmbedding, CrepeFrames

__version__ = "0.1.0"

__all__ = [
    "FMAX_HZ",
    "FMIN_HZ",
    "N_BINS",
    "SAMPLE_RATE",
    "WINDOW_SIZE",
    "AudioError",
    "ChecksumError",
    "Crepe",
    "CrepeActivation",
    "CrepeEmbedding",
    "CrepeError",
    "CrepeFrames",
    "MissingDependencyError",
    "ParameterError",
    "WeightsError",
    "WeightsFormatError",
    "WeightsNotFoundError",
    "__version__",
    "convert",
    "functional",
    "num_frames",
    "weights",
]
