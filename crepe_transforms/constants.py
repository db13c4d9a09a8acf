"""Numbers that define the CREPE model. Each carries its source."""

from __future__ import annotations

from typing import Final

__all__ = [
    "BACKENDS",
    "BASE_CHANNELS",
    "BN_EPS",
    "CAPACITIES",
    "CENTS_OFFSET",
    "CENTS_PER_BIN",
    "CENTS_REFERENCE_HZ",
    "CLASSIFIER_POSITIONS",
    "CREPE_STD_FLOOR",
    "DECODERS",
    "DEFAULT_FLOOR_DB",
    "DEFAULT_TEMPERATURE",
    "EMBEDDING_POSITIONS",
    "EMBEDDING_ROWS",
    "FMAX_HZ",
    "FMIN_HZ",
    "HYSTERESIS_LOWER",
    "HYSTERESIS_UPPER",
    "KERNEL_SIZES",
    "NORMALIZATIONS",
    "N_BINS",
    "RESAMPLERS",
    "SAMPLE_RATE",
    "SILENCE_DB",
    "STRIDES",
    "TARGET_SIGMA_CENTS",
    "TORCHCREPE_STD_FLOOR",
    "WINDOW_SIZE",
    "channels",
]

#: Sample rate the network was trained on (CREPE paper, Kim et al. 2018).
SAMPLE_RATE: Final[int] = 16000
#: Samples per network input frame (original CREPE ``model_srate`` window).
WINDOW_SIZE: Final[int] = 1024
#: Number of pitch bins in the salience output (original CREPE).
N_BINS: Final[int] = 360
#: Resolution of one bin in cents (original CREPE).
CENTS_PER_BIN: Final[float] = 20.0
#: Cents (relative to 10 Hz) of bin 0; original CREPE ``to_local_average_cents`` mapping.
CENTS_OFFSET: Final[float] = 1997.3794084376191
#: Reference frequency of the cents scale (original CREPE).
CENTS_REFERENCE_HZ: Final[float] = 10.0
#: Lowest representable pitch: bin 0 (about 31.70 Hz).
FMIN_HZ: Final[float] = CENTS_REFERENCE_HZ * 2.0 ** (CENTS_OFFSET / 1200.0)
#: Highest representable pitch: bin 359 (about 2005.5 Hz).
FMAX_HZ: Final[float] = CENTS_REFERENCE_HZ * 2.0 ** (
    (CENTS_OFFSET + CENTS_PER_BIN * (N_BINS - 1)) / 1200.0
)
#: Keras BatchNormalization epsilon as stored in float32 in the original models.
BN_EPS: Final[float] = 0.0010000000474974513
#: Capacity multipliers of the five published models (original CREPE ``build_and_load_model``).
CAPACITIES: Final[dict[str, int]] = {"tiny": 4, "small": 8, "medium": 16, "large": 24, "full": 32}
#: Per-block channel counts before the capacity multiplier (original CREPE).
BASE_CHANNELS: Final[tuple[int, ...]] = (32, 4, 4, 4, 8, 16)
#: Kernel sizes and strides of the six convolution blocks (original CREPE).
KERNEL_SIZES: Final[tuple[int, ...]] = (512, 64, 64, 64, 64, 64)
STRIDES: Final[tuple[int, ...]] = (4, 1, 1, 1, 1, 1)
#: Positions left after block 5 and block 6 (1024 / 4 / 2**5 and / 2**6).
EMBEDDING_POSITIONS: Final[int] = 8
CLASSIFIER_POSITIONS: Final[int] = 4
#: Rows of the torchcrepe-compatible embedding layout (torchcrepe ``embed``).
EMBEDDING_ROWS: Final[int] = 32
#: Sample rates (Hz, inclusive) accepted anywhere: 1 kHz (below any audio rate in use) to
#: 768 kHz (the highest rate common DACs offer). Outside it a number is not a rate in Hz: a
#: rate in kHz (44), or a class label read as a rate (issue 13 of 0.1).
AUDIO_RATES: Final[tuple[int, int]] = (1000, 768_000)
#: Normalisation floors: original CREPE (population std) and torchcrepe (unbiased std).
CREPE_STD_FLOOR: Final[float] = 1e-8
TORCHCREPE_STD_FLOOR: Final[float] = 1e-10


def channels(capacity: str) -> tuple[int, ...]:
    """Channel count of each of the six blocks for ``capacity`` (no validation)."""
    return tuple(CAPACITIES[capacity] * c for c in BASE_CHANNELS)


# Choices and defaults of the functional API (the transforms' options take these names).
#: Names accepted by :func:`~crepe_transforms.functional.decode` and ``CrepeDecode(decoder=...)``.
DECODERS: Final[tuple[str, ...]] = ("argmax", "weighted_argmax", "viterbi")
#: ``normalization=`` choices: the original CREPE's rule, torchcrepe's, or none.
NORMALIZATIONS: Final[tuple[str, ...]] = ("crepe", "torchcrepe", "none")
#: ``resample=`` choices.
RESAMPLERS: Final[tuple[str, ...]] = ("resampy", "torchaudio")
#: ``backend=`` choices of the Viterbi kernel.
BACKENDS: Final[tuple[str, ...]] = ("auto", "numba", "torch")
#: Loudness of digital silence (and the lowest value ever returned), dB re full scale.
DEFAULT_FLOOR_DB: Final[float] = -120.0
#: Softmax temperature over the activations' logits
#: (:func:`~crepe_transforms.functional.soft_decode`).
DEFAULT_TEMPERATURE: Final[float] = 0.2
#: Width (standard deviation) of the Gaussian target in cents (CREPE paper, §2.2).
TARGET_SIGMA_CENTS: Final[float] = 25.0
#: Default hysteresis bounds on periodicity (torchcrepe's ``threshold.Hysteresis`` values).
#: (``lower``, then ``upper``.)
HYSTERESIS_LOWER: Final[float] = 0.19
HYSTERESIS_UPPER: Final[float] = 0.31
#: Default silence gate: A-weighted loudness in dB re full scale
#: (:func:`~crepe_transforms.functional.a_weighted_loudness`).
SILENCE_DB: Final[float] = -60.0
