"""Every pure tensor function of crepe_transforms: this package's ``torchaudio.functional``.

Each transform's ``forward`` is a thin call into these, with its settings checked and its
tables made once in ``__init__``. Forty names, grouped by what they do:

- framing: :func:`frame`, :func:`num_frames`, :func:`frame_times`, :func:`frame_centers`,
  :func:`extract_frames`, :func:`normalize_frames`;
- resampling: :func:`resample`, :func:`resample_to`, :class:`BlockResampler`;
- decoding: :func:`decode`, :func:`argmax`, :func:`weighted_argmax`, :func:`viterbi`,
  :func:`local_average`, :func:`admitted_bins`, :class:`Pitch`, and the building blocks of a
  decoder of your own, :func:`prepare_activation` and :func:`finish_pitch`;
- the Viterbi kernel: :class:`HMM`, :func:`viterbi_path`, and :class:`FixedLagViterbi` (the
  same recursion fed frames as they arrive, as :class:`~crepe_transforms.CrepeStream` decodes);
- a differentiable readout for training: :func:`soft_decode`;
- training targets: :func:`pitch_target` (CREPE's Gaussian target) and :func:`track_labels`
  (f0 tracks read at frame centres);
- voicing and smoothing: :func:`auto_voicing` (the ``voicing="auto"`` decision) with
  :func:`frame_levels`, :func:`voiced_mask`, :func:`threshold`, :func:`hysteresis`,
  :func:`silence`, :func:`nan_median_filter`, :func:`nan_mean_filter`;
- loudness: :func:`a_weighted_loudness`;
- units: :func:`bins_to_hz`, :func:`hz_to_bins`, :func:`bins_to_cents`, :func:`cents_to_hz`,
  :func:`hz_to_cents`, :func:`hz_to_midi`, :func:`midi_to_hz`.

The choices and defaults (``DECODERS``, ``RESAMPLERS``, ``SILENCE_DB``, ...) live in
:mod:`crepe_transforms.constants`. The 32 other names 0.2 exported here (the Viterbi model's
tables, the voicing head's parts, checks) still resolve, with a ``DeprecationWarning`` that
names their new place; they go in 0.4 (``docs/migration.md``).

Example:
    >>> import torch
    >>> import crepe_transforms.functional as CF
    >>> frames = CF.frame(torch.randn(22050), 22050)
    >>> frames.shape
    torch.Size([101, 1024])
    >>> CF.weighted_argmax(torch.rand(101, 360)).f0.shape
    torch.Size([101])
"""

from __future__ import annotations

import importlib
import warnings

from ._decode import (
    Pitch,
    admitted_bins,
    argmax,
    decode,
    finish_pitch,
    local_average,
    prepare_activation,
    viterbi,
    weighted_argmax,
)
from ._framing import (
    extract_frames,
    frame,
    frame_centers,
    frame_times,
    normalize_frames,
    num_frames,
)
from ._loudness import a_weighted_loudness
from ._readout import soft_decode
from ._resample import BlockResampler, resample, resample_to
from ._targets import pitch_target, track_labels
from ._units import (
    bins_to_cents,
    bins_to_hz,
    cents_to_hz,
    hz_to_bins,
    hz_to_cents,
    hz_to_midi,
    midi_to_hz,
)
from ._viterbi import HMM, viterbi_path
from ._viterbi_lag import FixedLagViterbi
from ._voicing import (
    hysteresis,
    nan_mean_filter,
    nan_median_filter,
    silence,
    threshold,
    voiced_mask,
)
from ._voicing_model import auto_voicing, frame_levels

__all__ = [
    "HMM",
    "BlockResampler",
    "FixedLagViterbi",
    "Pitch",
    "a_weighted_loudness",
    "admitted_bins",
    "argmax",
    "auto_voicing",
    "bins_to_cents",
    "bins_to_hz",
    "cents_to_hz",
    "decode",
    "extract_frames",
    "finish_pitch",
    "frame",
    "frame_centers",
    "frame_levels",
    "frame_times",
    "hysteresis",
    "hz_to_bins",
    "hz_to_cents",
    "hz_to_midi",
    "local_average",
    "midi_to_hz",
    "nan_mean_filter",
    "nan_median_filter",
    "normalize_frames",
    "num_frames",
    "pitch_target",
    "prepare_activation",
    "resample",
    "resample_to",
    "silence",
    "soft_decode",
    "threshold",
    "track_labels",
    "viterbi",
    "viterbi_path",
    "voiced_mask",
    "weighted_argmax",
]

#: Names 0.2 exported here and where they live now (module, attribute). Still resolved, with a
#: DeprecationWarning, until 0.4.
MOVED: dict[str, tuple[str, str]] = {
    **{
        name: ("crepe_transforms.constants", name)
        for name in (
            "BACKENDS",
            "DECODERS",
            "DEFAULT_FLOOR_DB",
            "DEFAULT_TEMPERATURE",
            "HYSTERESIS_LOWER",
            "HYSTERESIS_UPPER",
            "NORMALIZATIONS",
            "RESAMPLERS",
            "SILENCE_DB",
            "TARGET_SIGMA_CENTS",
        )
    },
    **{
        name: ("crepe_transforms.functional._internal", name)
        for name in (
            "CREPE_HMM",
            "DEFAULT_HMM",
            "DecoderInput",
            "TrackLabels",
            "Voicing",
            "VoicingHead",
            "a_weighting_db",
            "audio_levels",
            "cents_to_bins",
            "check_track",
            "check_voicing_rule",
            "default_hop_length",
            "finish_path",
            "length_mask",
            "log_emission",
            "log_jump",
            "log_transition",
            "noise_floor",
            "resampled_length",
            "resolve_hmm",
            "voicing_features",
            "voicing_probability",
        )
    },
}

_ADVICE = {
    "crepe_transforms.constants": "import it from crepe_transforms.constants",
    "crepe_transforms.functional._internal": (
        "it is internal since 0.3 (the transforms' options reach it: e.g. hmm='crepe', "
        "voicing='auto'); docs/migration.md lists what to use instead"
    ),
}


def __getattr__(name: str) -> object:
    if name in MOVED:
        module, attribute = MOVED[name]
        warnings.warn(
            f"crepe_transforms.functional.{name} moved in 0.3 and goes in 0.4: {_ADVICE[module]}.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
