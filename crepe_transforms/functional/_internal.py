"""The internal surface of ``crepe_transforms.functional``: what other subpackages of
this package may use besides the public names (unchecked twins of public functions,
tables, checks). Users import the public names; other subpackages import these from
here and never from a private module (``tests/test_internal_surface.py`` guards it).
"""

from ._decode import DecoderInput, check_activation, finish_path, pack, run_decoder
from ._framing import _centers as centers_unchecked
from ._framing import _normalize as normalize_unchecked
from ._framing import center_sample, default_hop_length, hop_length_for, length_mask, parse_hop
from ._loudness import a_weighting_db, check_floor_db, loudness_tables
from ._readout import check_temperature
from ._resample import _resample as resample_unchecked
from ._resample import compute_dtype, resampled_length
from ._targets import TrackLabels, check_track
from ._units import cents_to_bins
from ._viterbi import CREPE_HMM, DEFAULT_HMM, log_emission, log_jump, log_transition, resolve_hmm
from ._viterbi import _compiled as compiled_kernel
from ._viterbi_lag import DEFAULT_LAG, ViterbiForward, check_lag
from ._voicing import Voicing, apply_voicing, check_voicing, check_voicing_rule
from ._voicing_model import (
    AHEAD_FRAMES,
    HEAD_SHA256,
    PAST_FRAMES,
    VoicingHead,
    audio_levels,
    decide_voicing,
    noise_floor,
    voicing_features,
    voicing_probability,
)
from ._voicing_model import _levels as levels_unchecked

__all__ = [
    "AHEAD_FRAMES",
    "CREPE_HMM",
    "DEFAULT_HMM",
    "DEFAULT_LAG",
    "HEAD_SHA256",
    "PAST_FRAMES",
    "DecoderInput",
    "TrackLabels",
    "ViterbiForward",
    "Voicing",
    "VoicingHead",
    "a_weighting_db",
    "apply_voicing",
    "audio_levels",
    "center_sample",
    "centers_unchecked",
    "cents_to_bins",
    "check_activation",
    "check_floor_db",
    "check_lag",
    "check_temperature",
    "check_track",
    "check_voicing",
    "check_voicing_rule",
    "compiled_kernel",
    "compute_dtype",
    "decide_voicing",
    "default_hop_length",
    "finish_path",
    "hop_length_for",
    "length_mask",
    "levels_unchecked",
    "log_emission",
    "log_jump",
    "log_transition",
    "loudness_tables",
    "noise_floor",
    "normalize_unchecked",
    "pack",
    "parse_hop",
    "resample_unchecked",
    "resampled_length",
    "resolve_hmm",
    "run_decoder",
    "voicing_features",
    "voicing_probability",
]
