"""Every pure tensor function of crepe_transforms: this package's ``torchaudio.functional``.

Each transform's ``forward`` is a thin call into these, with its settings checked and its
tables made once in ``__init__``. Grouped by what they do:

- framing: :func:`frame`, :func:`num_frames`, :func:`frame_times`, :func:`frame_centers`,
  :func:`extract_frames`, :func:`normalize_frames`, :func:`length_mask`,
  :func:`default_hop_length`;
- resampling: :func:`resample`, :func:`resample_to`, :func:`resampled_length`,
  :class:`BlockResampler`;
- decoding: :func:`decode`, :func:`argmax`, :func:`weighted_argmax`, :func:`viterbi`,
  :func:`local_average`, :func:`admitted_bins`, :class:`Pitch`, and the building blocks of a
  decoder of your own, :func:`prepare_activation`, :func:`finish_pitch` and :func:`finish_path`;
- the Viterbi kernel: :class:`HMM`, :data:`DEFAULT_HMM`, :data:`CREPE_HMM`,
  :func:`viterbi_path`, :func:`log_transition`, :func:`log_emission`, :func:`log_jump`,
  :func:`resolve_hmm`, and :class:`FixedLagViterbi` (the same recursion fed frames as they
  arrive, as :class:`~crepe_transforms.CrepeStream` decodes);
- a differentiable readout for training: :func:`soft_decode`;
- training targets: :func:`pitch_target` (CREPE's Gaussian target), :func:`check_track` and
  :func:`track_labels` (f0 tracks read at frame centres);
- voicing and smoothing: :func:`auto_voicing` (the ``voicing="auto"`` decision) with
  :func:`voicing_features`, :func:`voicing_probability`, :class:`VoicingHead`,
  :func:`frame_levels`, :func:`audio_levels` and :func:`noise_floor`, :func:`voiced_mask`,
  :func:`check_voicing_rule`, :func:`threshold`, :func:`hysteresis`, :func:`silence`,
  :func:`nan_median_filter`, :func:`nan_mean_filter`;
- loudness: :func:`a_weighted_loudness`, :func:`a_weighting_db`;
- units: :func:`bins_to_hz`, :func:`hz_to_bins`, :func:`bins_to_cents`, :func:`cents_to_bins`,
  :func:`cents_to_hz`, :func:`hz_to_cents`, :func:`hz_to_midi`, :func:`midi_to_hz`.

Example:
    >>> import torch
    >>> import crepe_transforms.functional as CF
    >>> frames = CF.frame(torch.randn(22050), 22050)
    >>> frames.shape
    torch.Size([101, 1024])
    >>> CF.weighted_argmax(torch.rand(101, 360)).f0.shape
    torch.Size([101])
"""

from ._decode import (
    DECODERS,
    DecoderInput,
    Pitch,
    admitted_bins,
    argmax,
    decode,
    finish_path,
    finish_pitch,
    local_average,
    prepare_activation,
    viterbi,
    weighted_argmax,
)
from ._framing import (
    NORMALIZATIONS,
    default_hop_length,
    extract_frames,
    frame,
    frame_centers,
    frame_times,
    length_mask,
    normalize_frames,
    num_frames,
)
from ._loudness import DEFAULT_FLOOR_DB, a_weighted_loudness, a_weighting_db
from ._readout import DEFAULT_TEMPERATURE, soft_decode
from ._resample import RESAMPLERS, BlockResampler, resample, resample_to, resampled_length
from ._targets import (
    TARGET_SIGMA_CENTS,
    TrackLabels,
    check_track,
    pitch_target,
    track_labels,
)
from ._units import (
    bins_to_cents,
    bins_to_hz,
    cents_to_bins,
    cents_to_hz,
    hz_to_bins,
    hz_to_cents,
    hz_to_midi,
    midi_to_hz,
)
from ._viterbi import (
    BACKENDS,
    CREPE_HMM,
    DEFAULT_HMM,
    HMM,
    log_emission,
    log_jump,
    log_transition,
    resolve_hmm,
    viterbi_path,
)
from ._viterbi_lag import FixedLagViterbi
from ._voicing import (
    HYSTERESIS_LOWER,
    HYSTERESIS_UPPER,
    SILENCE_DB,
    Voicing,
    check_voicing_rule,
    hysteresis,
    nan_mean_filter,
    nan_median_filter,
    silence,
    threshold,
    voiced_mask,
)
from ._voicing_model import (
    VoicingHead,
    audio_levels,
    auto_voicing,
    frame_levels,
    noise_floor,
    voicing_features,
    voicing_probability,
)

__all__ = [
    "BACKENDS",
    "CREPE_HMM",
    "DECODERS",
    "DEFAULT_FLOOR_DB",
    "DEFAULT_HMM",
    "DEFAULT_TEMPERATURE",
    "HMM",
    "HYSTERESIS_LOWER",
    "HYSTERESIS_UPPER",
    "NORMALIZATIONS",
    "RESAMPLERS",
    "SILENCE_DB",
    "TARGET_SIGMA_CENTS",
    "BlockResampler",
    "DecoderInput",
    "FixedLagViterbi",
    "Pitch",
    "TrackLabels",
    "Voicing",
    "VoicingHead",
    "a_weighted_loudness",
    "a_weighting_db",
    "admitted_bins",
    "argmax",
    "audio_levels",
    "auto_voicing",
    "bins_to_cents",
    "bins_to_hz",
    "cents_to_bins",
    "cents_to_hz",
    "check_track",
    "check_voicing_rule",
    "decode",
    "default_hop_length",
    "extract_frames",
    "finish_path",
    "finish_pitch",
    "frame",
    "frame_centers",
    "frame_levels",
    "frame_times",
    "hysteresis",
    "hz_to_bins",
    "hz_to_cents",
    "hz_to_midi",
    "length_mask",
    "local_average",
    "log_emission",
    "log_jump",
    "log_transition",
    "midi_to_hz",
    "nan_mean_filter",
    "nan_median_filter",
    "noise_floor",
    "normalize_frames",
    "num_frames",
    "pitch_target",
    "prepare_activation",
    "resample",
    "resample_to",
    "resampled_length",
    "resolve_hmm",
    "silence",
    "soft_decode",
    "threshold",
    "track_labels",
    "viterbi",
    "viterbi_path",
    "voiced_mask",
    "voicing_features",
    "voicing_probability",
    "weighted_argmax",
]
