"""Every settings table, and the choices the command line offers, without torch.

Each transform's ``SETTINGS`` is one of these tuples (``CrepeFrames.SETTINGS is FRAMES``), so an
option is still declared once; keeping them here, away from the modules that need torch, lets
the command line build its parsers, and print ``--help``, without importing torch (a check
whose code needs torch imports it when a value is checked, :func:`_later`).

What a setting means for results is declared here too (``affects_output``): the settings a
resumed file run ignores (:data:`NEUTRAL_SETTINGS`) and those the feature cache leaves out of
its key (:data:`NOT_IN_CONFIG`) are both read from these tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

from ._checks import check_device, check_sha256, parse_hz
from ._settings import REQUIRED, Setting, neutral
from .constants import (
    CAPACITIES,
    DECODERS,
    DEFAULT_FLOOR_DB,
    DEFAULT_TEMPERATURE,
    NORMALIZATIONS,
    RESAMPLERS,
)

__all__ = [
    "ACTIVATION",
    "ALGORITHMS",
    "AUDIO_EXTENSIONS",
    "BLOCK_FRAMES",
    "DECODE",
    "DECODERS",
    "DEFAULT_BLOCK_FRAMES",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_FLOOR_DB",
    "DEFAULT_TEMPERATURE",
    "EMBEDDING",
    "EMBEDDING_LAYOUTS",
    "EXPORT_DECODERS",
    "EXPORT_FORMATS",
    "EXPORT_GRAPHS",
    "EXTRACTOR",
    "EXTRACTOR_PARTS",
    "FILE_VOICING",
    "FLOOR_DB",
    "FORMATS",
    "FRAMES",
    "KINDS",
    "LOUDNESS",
    "NEUTRAL_SETTINGS",
    "NORMALIZATIONS",
    "NOT_IN_CONFIG",
    "PITCH",
    "PRECISIONS",
    "RANGE",
    "RESAMPLERS",
    "SOFT_DECODE",
    "VOICING",
    "WEIGHT_SOURCE",
    "later",
]


def later(module: str, name: str) -> Callable[[Any], Any]:
    """The check ``module.name`` (relative to the package), imported when a value is first
    checked: its module needs torch, which ``--help`` must not import.

    Example:
        >>> later(".functional._framing", "parse_hop")("10ms")
        '10ms'
    """

    def check(value: Any) -> Any:
        return getattr(import_module(module, "crepe_transforms"), name)(value)

    check.__name__ = name
    check.__qualname__ = name
    check.__doc__ = f"``{module.lstrip('.')}.{name}``, imported on first use."
    return check


def _ten_ms(values: Mapping[str, Any]) -> int:
    """The hop ``hop_length=None`` stands for: 10 ms of ``values["sample_rate"]``."""
    return max(1, int(values["sample_rate"]) // 100)


# --------------------------------------------------------------------------- choices, defaults
# (the functional API's choices and defaults are in constants: DECODERS, RESAMPLERS, ...)

#: ``"fft"``: frequency-domain convolutions (default); ``"direct"``: the layers as written.
ALGORITHMS = ("fft", "direct")
#: ``precision=`` words (synonyms such as ``"bfloat16"`` are accepted by the check).
PRECISIONS = ("fp32", "bf16", "fp16")
#: ``layout=`` choices of embeddings: ``(frames, 32, E)`` or ``(frames, C5, 8)``.
EMBEDDING_LAYOUTS = ("torchcrepe", "channels")
#: Frames per network call: the peak extra memory of a call grows with it (per-frame figures
#: for each capacity and path: ``python benchmarks/chunk_memory.py``). On a GPU, larger chunks
#: (1024 and up) keep the device busy. On the CPU calls are smaller still for the larger
#: capacities (``CrepeActivation.frames_per_call()``: ``full`` 48).
DEFAULT_CHUNK_SIZE = 128
#: Frames cut from the signal per block, over all rows (16 MB of float32 frames): bounds the
#: memory of long inputs. Rounded down to a whole number of network chunks per row.
DEFAULT_BLOCK_FRAMES = 4096

#: What each file command computes, and the file name tag of its outputs.
KINDS = {"pitch": "f0", "activation": "activation", "embedding": "embedding"}
#: Output formats accepted per kind (first = default).
FORMATS = {"pitch": ("csv", "npz", "pt"), "activation": ("npz", "pt"), "embedding": ("npz", "pt")}
#: File name suffixes treated as audio when a directory is searched (case-insensitive).
AUDIO_EXTENSIONS = (
    ".aif",
    ".aifc",
    ".aiff",
    ".au",
    ".caf",
    ".flac",
    ".mp3",
    ".oga",
    ".ogg",
    ".opus",
    ".rf64",
    ".w64",
    ".wav",
)
#: Decoders the whole-path graph offers. Viterbi is a loop over a data-dependent number of
#: frames with a backtrace: decode exported activations with ``CrepeDecode`` instead.
EXPORT_DECODERS = ("weighted_argmax", "argmax")
#: Export ``format=`` choices: an ONNX file, or a ``torch.export`` program (``.pt2``).
EXPORT_FORMATS = ("onnx", "pt2")
#: What to export: the network alone, or 16 kHz audio → pitch.
EXPORT_GRAPHS = ("network", "pitch")

# --------------------------------------------------------------------------- the transforms

#: ``CrepeFrames``.
FRAMES = (
    Setting("sample_rate", REQUIRED, "rate of the input audio in Hz", cli=False),
    Setting(
        "hop_length",
        None,
        "hop between frames in samples of the input rate (default: 10 ms)",
        cli=False,
        derive=_ten_ms,
    ),
    Setting(
        "resample",
        "resampy",
        "resampler to 16 kHz: resampy (the original CREPE's) or torchaudio (on device)",
        choices=RESAMPLERS,
        cli=False,
    ),
    Setting(
        "normalization",
        "crepe",
        "frame normalisation: crepe (population std), torchcrepe (unbiased std) or none",
        choices=NORMALIZATIONS,
    ),
)

#: ``CrepeActivation``.
ACTIVATION = (
    Setting(
        "capacity",
        "full",
        "CREPE model size (tiny is ~40x faster than full)",
        choices=tuple(CAPACITIES),
    ),
    Setting(
        "chunk_size",
        DEFAULT_CHUNK_SIZE,
        "frames per network call (memory bound; larger on a GPU)",
        metavar="N",
        affects_output=False,
    ),
    Setting(
        "weights",
        None,
        "weight file (default: the registry, see `crepe-transforms weights list`)",
        metavar="FILE",
        affects_output=False,  # the digest of the loaded state stands for the weights
    ),
    Setting(
        "sha256",
        None,
        "trust the --weights file with this hash (files no manifest knows)",
        parse=check_sha256,
        metavar="HEX",
        affects_output=False,
    ),
    Setting(
        "pretrained",
        True,
        "load weights (False: random init, for tests)",
        cli=False,
        affects_output=False,
    ),
    Setting("verify", True, "check the weight file's sha256", cli=False, affects_output=False),
    Setting(
        "algorithm",
        "fft",
        "convolutions in the frequency domain (fft, default, faster) or as written (direct)",
        choices=ALGORITHMS,
    ),
    Setting(
        "precision",
        "fp32",
        "precision of the network's products: fp32 (exact), bf16 or fp16 (faster, "
        "checked against fp32 on first use)",
        choices=PRECISIONS,
        parse=later(".model._precision", "check_precision"),
    ),
)

#: ``fmin`` and ``fmax`` of both decoders.
RANGE = (
    Setting(
        "fmin",
        None,
        "lowest admitted pitch in Hz (default: 31.7, bin 0)",
        parse=parse_hz,
        metavar="HZ",
    ),
    Setting(
        "fmax",
        None,
        "highest admitted pitch in Hz (default: 2005.5, bin 359)",
        parse=parse_hz,
        metavar="HZ",
    ),
)

#: ``CrepeDecode``.
DECODE = (
    Setting(
        "decoder",
        "viterbi",
        "viterbi (smooth path), weighted_argmax (original CREPE local average) or argmax",
        choices=DECODERS,
    ),
    *RANGE,
    Setting(
        "hmm",
        "default",
        "Viterbi model: default, or crepe (the original CREPE decoder)",
        choices=("default", "crepe"),
    ),
    Setting(
        "backend",
        "auto",
        "Viterbi kernel: auto, numba (CPU) or torch",
        cli=False,
        affects_output=False,  # the numba and torch kernels give the same path
    ),
)

#: ``CrepeSoftDecode``.
SOFT_DECODE = (
    *RANGE,
    Setting("temperature", DEFAULT_TEMPERATURE, "softmax temperature over the logits"),
)

#: ``CrepeLoudness``.
LOUDNESS = (
    Setting("sample_rate", REQUIRED, "rate of the input audio in Hz", cli=False),
    Setting("hop_length", None, "hop in samples of the input rate", cli=False, derive=_ten_ms),
    Setting("floor_db", DEFAULT_FLOOR_DB, "loudness of digital silence, dB re full scale"),
)

BLOCK_FRAMES = Setting(
    "block_frames",
    DEFAULT_BLOCK_FRAMES,
    "frames computed per block of a long input (memory bound)",
    metavar="N",
    affects_output=False,
)
VOICING = Setting(
    "voicing",
    None,
    "voicing rule: none (f0 on every frame), auto (the voicing head on periodicity and "
    "relative level; recommended for speech) or a periodicity threshold in [0, 1]",
    parse=later(".functional._voicing", "check_voicing_rule"),
    metavar="RULE",
)

#: ``CrepePitch``'s own (its parts declare the rest).
PITCH = (VOICING, BLOCK_FRAMES)

#: ``CrepeEmbedding``'s own.
EMBEDDING = (
    Setting(
        "layout",
        "torchcrepe",
        "torchcrepe: (frames, 32, E); channels: (frames, C5, 8)",
        choices=EMBEDDING_LAYOUTS,
    ),
    BLOCK_FRAMES,
)

#: ``CrepeConditioner``'s own (its ``CrepePitch`` declares the rest).
FLOOR_DB = Setting(
    "floor_db",
    DEFAULT_FLOOR_DB,
    "loudness of digital silence and of padded frames, dB re full scale",
)

# --------------------------------------------------------------------------- files

#: The voicing rule of every file entry point: ``Extractor``, ``predict_file``,
#: ``predict_files`` and the ``pitch`` command (which takes its flag from this one setting), so
#: an output made from Python and a rerun from the shell agree (issue 22). ``"auto"``: a file is
#: a recording with pauses, and ``f0`` ≈ 1965 Hz on silence is not a pitch. The transforms keep
#: ``None`` (f0 on every frame, as the original CREPE), as tensors in a model need a value.
FILE_VOICING = VOICING.with_help(
    "voicing rule: auto (default: pauses, breath, room tone and reverberant tails come out "
    "unvoiced, decided by the voicing head on periodicity and level relative to the file), a "
    "periodicity threshold in [0, 1], or "
    "none (f0 on every frame, no voiced column). Unvoiced frames have an empty f0 in CSV "
    "(NaN in NPZ/PT) and voiced 0",
    default="auto",
)

#: ``Extractor``'s own settings (its parts declare the rest).
EXTRACTOR = (
    Setting(
        "hop_length",
        None,
        "hop between frames: a duration ('10ms', '0.005s'; floored to whole samples of "
        "each file's rate) or samples of each file's rate ('160'); default 10 ms",
        parse=later(".functional._framing", "parse_hop"),
        metavar="HOP",
    ),
    Setting(
        "mono",
        True,
        "downmix the channels to their mean (False: one result per channel)",
        cli=False,
    ),
    Setting(
        "device",
        "cpu",
        "torch device for the network, e.g. cuda or cuda:1",
        parse=check_device,
        metavar="DEVICE",
        affects_output=False,
    ),
    Setting(
        "spill_dir",
        None,
        "folder where Viterbi decoding of a long file parks the activations until the "
        "path is known (default: the temporary folder, $TMPDIR)",
        metavar="DIR",
        affects_output=False,
    ),
    FILE_VOICING,
    BLOCK_FRAMES,
    EMBEDDING[0],
)

#: Options of the extractor's parts, routed by name: the frames' (the rate comes from each
#: file, the hop is the extractor's, files are resampled with resampy), the activation's but
#: its capacity (the first argument), the decoder's.
EXTRACTOR_PARTS: tuple[tuple[str, tuple[Setting, ...]], ...] = (
    ("frames", tuple(s for s in FRAMES if s.name == "normalization")),
    ("activation", tuple(s for s in ACTIVATION if s.name != "capacity")),
    ("decode", DECODE),
)

# --------------------------------------------------------------------------- what results hold

#: Settings that do not change the numbers a file output holds: a resumed run ignores them
#: when it compares its settings with an output's. Where the weights were found is among
#: them: the recorded weights digest (``weights_sha256``) covers what they hold.
NEUTRAL_SETTINGS = neutral((*EXTRACTOR, *(s for _, part in EXTRACTOR_PARTS for s in part)))
#: Settings left out of ``CrepeConditioner.config()`` (the feature cache's key), for the same
#: reason: the conditioner's settings (its pitch's parts, the pitch's own, its own) that do
#: not change the numbers.
NOT_IN_CONFIG = neutral((*FRAMES, *ACTIVATION, *DECODE, *PITCH, FLOOR_DB))
#: The settings that located the weights: compared instead of the digest with file outputs
#: that record none (made by 0.2).
WEIGHT_SOURCE = ("weights", "sha256", "pretrained")
