"""CREPE pitch tracking as composable, torchaudio-style PyTorch transforms.

Importing this package is cheap: it never imports torchaudio or torchcrepe and never reads a
weight file. Weights load on the first construction of a weighted transform.
"""

from __future__ import annotations

from . import (
    audio,
    batching,
    cache,
    convert,
    data,
    decode,
    extract,
    functional,
    loudness,
    pitch,
    readout,
    viterbi,
    voicing,
    weights,
)
from .cache import FeatureCache
from .constants import FMAX_HZ, FMIN_HZ, N_BINS, SAMPLE_RATE, WINDOW_SIZE
from .data import CrepeCollate, CrepeConditioner
from .decode import Pitch
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
from .extract import Extractor, predict_file, predict_files
from .functional import num_frames
from .loudness import CrepeLoudness
from .network import Crepe
from .outputs import Features
from .pitch import CrepeDecode, CrepePitch
from .readout import CrepeSoftDecode, soft_decode
from .transforms import CrepeActivation, CrepeEmbedding, CrepeFrames
from .viterbi import CREPE_HMM, DEFAULT_HMM, HMM

__version__ = "0.1.0"

__all__ = [
    "CREPE_HMM",
    "DEFAULT_HMM",
    "FMAX_HZ",
    "FMIN_HZ",
    "HMM",
    "N_BINS",
    "SAMPLE_RATE",
    "WINDOW_SIZE",
    "AudioError",
    "ChecksumError",
    "Crepe",
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
    "Extractor",
    "FeatureCache",
    "Features",
    "MissingDependencyError",
    "ParameterError",
    "Pitch",
    "WeightsError",
    "WeightsFormatError",
    "WeightsNotFoundError",
    "__version__",
    "audio",
    "batching",
    "cache",
    "convert",
    "data",
    "decode",
    "extract",
    "functional",
    "loudness",
    "num_frames",
    "pitch",
    "predict_file",
    "predict_files",
    "readout",
    "soft_decode",
    "viterbi",
    "voicing",
    "weights",
]
