"""Numbers that define the CREPE model. Each carries its source."""

from __future__ import annotations

from typing import Final

__all__ = [
    "BASE_CHANNELS",
    "BN_EPS",
    "CAPACITIES",
    "CENTS_OFFSET",
    "CENTS_PER_BIN",
    "CENTS_REFERENCE_HZ",
    "CLASSIFIER_POSITIONS",
    "CREPE_STD_FLOOR",
    "EMBEDDING_POSITIONS",
    "EMBEDDING_ROWS",
    "FMAX_HZ",
    "FMIN_HZ",
    "KERNEL_SIZES",
    "N_BINS",
    "SAMPLE_RATE",
    "STRIDES",
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
