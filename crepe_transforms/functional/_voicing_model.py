"""The automatic voicing decision (``voicing="auto"``): a small learned head on periodicity and
relative level, per item.

Periodicity alone cannot tell a quiet voice from a quiet room: every CREPE frame is normalised
to unit variance, so room tone, hum, reverberant tails and the resonant tails of a synthetic or
breathy voice 30-90 dB below the speech come out of the network as loud as the speech itself,
often with periodicity 0.5-0.9. A fixed dB gate fixes that only at one recording level, a gate
relative to the item's floor fails where the pauses have no floor (a tail decays into a few
LSBs), and a gate relative to its loudest frames fails in rooms (measured, ``docs/voicing.md``).
The decision here reads how the level *moves* as well: a tail decays steadily in dB per frame,
speech does not.

1. **Level** of each frame (:func:`frame_levels`): mean square of the central 32 ms
   (:data:`LEVEL_WINDOW` samples at 16 kHz) of the raw frame, before normalisation, in dB re
   full scale.
2. **Features** (:func:`voicing_features`, :data:`FEATURES`): periodicity and its neighbours,
   the level relative to the loudest and quietest frames of the window ``t - PAST_FRAMES …
   t + AHEAD_FRAMES`` (1 s back, 100 ms ahead at a 10 ms hop), the level's changes over 1 to
   20 frames and how steady they are, least-squares lines through the next 10 frames' levels
   (a reverberant tail is a straight line in dB that does not come back up), and periodicity
   over the last and next 10 frames. Only differences of levels: gain-invariant.
3. **Head** (:func:`load_head`): a one-hidden-layer perceptron whose few hundred weights ship in
   ``voicing_head.json`` (SHA-256 :data:`HEAD_SHA256`, checked at load), trained by
   ``benchmarks/train_voicing_head.py`` on the ``dev`` split of the benchmark corpora only
   (espeak-ng voices and sentences in rooms, quiet and in noise, and 0.2's synthetic
   speech-like and music-like clips). A frame is voiced where its probability of voice is at
   least the head's threshold (chosen on the same dev split).

Everything is vectorised tensor code (pooling, gathers, two small matrix products): no loop over
frames or items, any device, deterministic. Each item of a padded batch is decided alone: frames
past ``lengths`` are never read and come out unvoiced. The decision of a frame reads frames
``t - PAST_FRAMES … t + AHEAD_FRAMES`` only, so a stream decides it exactly once it has seen
:data:`AHEAD_FRAMES` frames past it (``CrepeStream(..., voicing="auto")``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from pathlib import Path

import torch

from .._checks import check_lengths
from ..constants import WINDOW_SIZE
from ..exceptions import ChecksumError, ParameterError, WeightsError, WeightsFormatError
from ._framing import extract_frames, length_mask

__all__ = [
    "VoicingHead",
    "audio_levels",
    "auto_voicing",
    "frame_levels",
    "noise_floor",
    "voicing_features",
    "voicing_probability",
]

#: Samples (16 kHz) at the centre of each frame whose mean square is the frame's level (32 ms).
LEVEL_WINDOW = 512
#: Lowest level :func:`frame_levels` returns (digital silence), dB re full scale.
LEVEL_FLOOR_DB = -200.0
#: Highest level accepted (a float signal 10^10 times full scale); above it input is broken.
LEVEL_CEILING_DB = 200.0
#: Percentile of an item's frame levels taken as its noise floor.
FLOOR_PERCENTILE = 5.0
#: Percentile of an item's frame levels taken as its loud reference.
REFERENCE_PERCENTILE = 95.0
#: Frames this far below the reference are silence (left out of the floor estimate).
AUDIBLE_RANGE_DB = 90.0
#: The floor is never closer than this to the reference (an item without pauses).
MIN_RANGE_DB = 20.0


def frame_levels(frames: torch.Tensor) -> torch.Tensor:
    """Level of raw 16 kHz frames in dB re full scale (a full-scale sine reads 0 dB).

    The mean square of the central :data:`LEVEL_WINDOW` samples after removing their mean,
    floored at :data:`LEVEL_FLOOR_DB` (digital silence). Give the frames as cut from the
    audio, *before* CREPE's normalisation (which would make every level 0 dB). Each frame is
    independent, so levels can be computed block by block as the frames are cut.

    Args:
        frames: raw frames, e.g. ``extract_frames(audio_16k, centers)``; any real float dtype
            (computed in float32, float64 stays float64).

    Shape:
        - frames: ``(..., frames, 1024)``
        - Output: ``(..., frames)``

    Example:
        >>> t = torch.arange(1024) / 16000
        >>> sine = torch.sin(2 * torch.pi * 440 * t)
        >>> frame_levels(torch.stack([0.5 * sine, 0.05 * sine, 0 * sine])).round()
        tensor([  -6.,  -26., -200.])
    """
    if not isinstance(frames, torch.Tensor) or not frames.is_floating_point():
        found = frames.dtype if isinstance(frames, torch.Tensor) else type(frames).__name__
        raise ParameterError(
            f"frames must be a floating-point torch.Tensor of raw frames (..., frames, "
            f"{WINDOW_SIZE}), got {found}. Cut them with extract_frames(audio_16k, centers)."
        )
    if frames.dim() < 1 or frames.shape[-1] != WINDOW_SIZE:
        raise ParameterError(
            f"frames must have {WINDOW_SIZE} samples in the last dimension (raw 16 kHz CREPE "
            f"frames before normalisation), got shape {tuple(frames.shape)}."
        )
    return _levels(frames)


def audio_levels(
    audio_16k: torch.Tensor, centers: torch.Tensor, block_frames: int = 4096
) -> torch.Tensor:
    """:func:`frame_levels` of the frames centred at ``centers`` of 16 kHz audio, cut
    ``block_frames`` at a time (memory bound: the whole item is never framed at once).

    Unchecked (the audio has passed ``CrepeFrames.prepare``); ``centers`` are 16 kHz sample
    indices, e.g. ``frame_centers(n_frames, hop_length, sample_rate)``.

    Shape:
        - audio_16k: ``(..., time16k)``; centers: ``(frames,)``
        - Output: ``(..., frames)``

    Example:
        >>> audio = 0.5 * torch.sin(torch.arange(16000) / 16000 * 2 * torch.pi * 440)
        >>> audio_levels(audio, torch.tensor([4000, 8000]), block_frames=1).round()
        tensor([-6., -6.])
    """
    parts = [
        _levels(extract_frames(audio_16k, centers[start : start + block_frames]))
        for start in range(0, centers.shape[0], max(1, block_frames))
    ]
    if not parts:
        return audio_16k.new_zeros((*audio_16k.shape[:-1], 0))
    return torch.cat(parts, dim=-1)


def _levels(frames: torch.Tensor) -> torch.Tensor:
    work = frames if frames.dtype == torch.float64 else frames.float()
    start = (WINDOW_SIZE - LEVEL_WINDOW) // 2
    centre = work[..., start : start + LEVEL_WINDOW]
    power = (centre - centre.mean(dim=-1, keepdim=True)).square().mean(dim=-1)
    # x2: a sine's mean square is half its squared peak; full-scale sine = 0 dB.
    return (10.0 * torch.log10(2.0 * power)).clamp_min(LEVEL_FLOOR_DB)


def _quantile(x: torch.Tensor, mask: torch.Tensor, q: float) -> torch.Tensor:
    """Per-row quantile of ``x`` over ``mask`` (linear interpolation, numpy's default).

    Rows without a masked value give ``LEVEL_FLOOR_DB``. ``x``: (rows, n) → (rows,).
    """
    ordered = x.masked_fill(~mask, math.inf).sort(dim=-1).values
    last = (mask.sum(dim=-1) - 1).clamp_min(0)
    position = q * last.to(x.dtype)
    below = position.floor().long()
    above = torch.minimum(below + 1, last)
    low = ordered.gather(-1, below.unsqueeze(-1)).squeeze(-1)
    high = ordered.gather(-1, above.unsqueeze(-1)).squeeze(-1)
    value = low + (high - low) * (position - below.to(x.dtype))
    return torch.where(mask.any(dim=-1), value, torch.full_like(value, LEVEL_FLOOR_DB))


def _valid(shape: torch.Size, lengths: torch.Tensor | None, device: torch.device) -> torch.Tensor:
    rows, frames = math.prod(shape[:-1]), shape[-1]
    if lengths is None:
        return torch.ones((rows, frames), dtype=torch.bool, device=device)
    return length_mask(lengths.reshape(rows).to(device), frames)


def _floor(level: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    reference = _quantile(level, valid, REFERENCE_PERCENTILE / 100)
    audible = valid & (level >= (reference - AUDIBLE_RANGE_DB).unsqueeze(-1))
    floor = _quantile(level, audible, FLOOR_PERCENTILE / 100)
    return torch.minimum(floor, reference - MIN_RANGE_DB)


def _check_levels(level_db: object, valid: torch.Tensor, shape: torch.Size, name: str) -> None:
    if not isinstance(level_db, torch.Tensor) or not level_db.is_floating_point():
        found = level_db.dtype if isinstance(level_db, torch.Tensor) else type(level_db).__name__
        raise ParameterError(
            f"{name} must be a floating-point torch.Tensor of frame levels in dB (..., frames), "
            f"got {found}. Compute it with frame_levels(raw_frames)."
        )
    if level_db.shape != shape:
        raise ParameterError(
            f"{name} has shape {tuple(level_db.shape)} but periodicity has {tuple(shape)}; "
            f"they must be frame-aligned (levels of the same frames the pitch comes from)."
        )
    values = level_db.reshape(valid.shape)[valid]
    if values.isnan().any():
        raise ParameterError(
            f'{name} holds NaN on valid frames: voicing="auto" needs the level of every frame. '
            f"Compute it with frame_levels(raw_frames) on the audio before normalisation, and "
            f"pass lengths for a padded batch (frames past them are ignored)."
        )
    if values.numel():
        lo, hi = float(values.min()), float(values.max())
        if lo < LEVEL_FLOOR_DB or hi > LEVEL_CEILING_DB:
            raise ParameterError(
                f"{name} must hold levels in dB re full scale within [{LEVEL_FLOOR_DB:g}, "
                f"{LEVEL_CEILING_DB:g}], got values in [{lo:g}, {hi:g}]. Compute it with "
                f"frame_levels(raw_frames) (dB, floored at {LEVEL_FLOOR_DB:g}), not linear "
                f"amplitudes or power."
            )


def _check_bound(value: object, name: str, low: float) -> float:
    number = float(value) if isinstance(value, (int, float)) else math.nan
    if isinstance(value, bool) or not low <= number <= 1:
        raise ParameterError(
            f"{name} must be a probability of voice in [{low:g}, 1], got {value!r}; leave it "
            f"out for the head's own threshold (chosen on the benchmark's dev split)."
        )
    return number


def _check_lengths(lengths: object, shape: torch.Size) -> torch.Tensor | None:
    if lengths is None:
        return None
    return check_lengths(lengths, tuple(shape[:-1]), shape[-1], unit="frames")


def noise_floor(level_db: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Noise floor of each item in dB (the floor 0.2's ``voicing="auto"`` gated against; the
    decision no longer uses it, it stays as a helper, e.g. for a gate of your own).

    The :data:`FLOOR_PERCENTILE`-th percentile of the item's frame levels (frames more than
    :data:`AUDIBLE_RANGE_DB` below its :data:`REFERENCE_PERCENTILE`-th percentile, digital
    silence, left out), capped at :data:`MIN_RANGE_DB` below that percentile. Needs the levels
    of the whole item.

    Args:
        level_db: frame levels from :func:`frame_levels`.
        lengths: valid frames per item of a padded batch (frames past them are ignored).

    Shape:
        - level_db: ``(..., frames)``; lengths: ``(...)``
        - Output: ``(...)``

    Example:
        >>> levels = torch.tensor([-60.0] * 10 + [-10.0] * 10)
        >>> noise_floor(levels)
        tensor(-60.)
    """
    if not isinstance(level_db, torch.Tensor) or level_db.dim() < 1:
        raise ParameterError(
            f"level_db must be a floating-point torch.Tensor of frame levels in dB (..., "
            f"frames), got {type(level_db).__name__}. Compute it with frame_levels(raw_frames)."
        )
    checked = _check_lengths(lengths, level_db.shape)
    valid = _valid(level_db.shape, checked, level_db.device)
    _check_levels(level_db, valid, level_db.shape, "level_db")
    work = level_db.reshape(valid.shape)
    work = work if work.dtype == torch.float64 else work.float()
    return _floor(work, valid).reshape(level_db.shape[:-1]).to(level_db.dtype)


# ----------------------------------------------------------------------------- the learned head

#: The voicing head's weights (a JSON file in the package) and their SHA-256, checked at load.
HEAD_FILE = Path(__file__).with_name("voicing_head.json")
HEAD_SHA256 = "3042c035f1474bb79063131107836939393c2d89f4bc6ef919adab2a0ba3641b"
#: Frames of context the features read: before and after the frame (10 ms hop: 1 s and 100 ms).
PAST_FRAMES = 100
AHEAD_FRAMES = 10
#: Levels are clamped here before differences are taken (digital silence reads -200 dB).
_LEVEL_CLAMP_DB = -140.0
#: Names of the features, in the head's input order (see :func:`voicing_features`).
FEATURES = (
    "periodicity",
    "periodicity median of 5",
    "periodicity min of 5",
    "periodicity max of 5",
    "level re loudest frame of the window / 20 dB",
    "level re quietest frame of the window / 20 dB",
    "level change from frame -1 / 5 dB",
    "level change to frame +1 / 5 dB",
    "level change from frame -3 / 10 dB",
    "level change to frame +3 / 10 dB",
    "|change of the level change|, backward / 5 dB",
    "|change of the level change|, forward / 5 dB",
    "periodicity at frame -3",
    "periodicity at frame +3",
    "level re loudest at frame -3 / 20 dB",
    "level re loudest at frame +3 / 20 dB",
    # Longer reach (a reverberant tail decays steadily for 100-300 ms after the voice stops):
    "level change from frame -10 / 20 dB",
    "level change to frame +10 / 20 dB",
    "level re loudest of frames -10..0 / 20 dB",
    "level re loudest of frames -30..0 / 20 dB",
    "slope of the level over frames -2..+8 / 3 dB per frame",
    "rms misfit of that line / 3 dB",
    "slope of the level over frames 0..+10 / 3 dB per frame",
    "rms misfit of that line / 3 dB",
    "loudest of frames +1..+10 re the level / 20 dB",
    "level re loudest of frames -50..0 / 20 dB",
    "level change from frame -20 / 20 dB",
    "periodicity mean of frames 0..+10",
    "periodicity min of frames 0..+10",
    "periodicity mean of frames -10..0",
    "periodicity min of frames -10..0",
)


def _shift(x: torch.Tensor, k: int, last: torch.Tensor) -> torch.Tensor:
    """``x`` at frame ``t + k`` of each row, the row's own edge frames repeated past its ends."""
    index = torch.arange(x.shape[-1], device=x.device) + k
    index = torch.minimum(index.clamp_min(0).unsqueeze(0), last.unsqueeze(-1))
    return x.gather(-1, index.expand(x.shape[0], -1))


def _window(x: torch.Tensor, valid: torch.Tensor, largest: bool) -> torch.Tensor:
    """Max (or min) of each row over frames ``[t - PAST_FRAMES, t + AHEAD_FRAMES]``."""
    sign = 1.0 if largest else -1.0
    work = (sign * x).masked_fill(~valid, -math.inf)
    padded = torch.nn.functional.pad(work, (PAST_FRAMES, AHEAD_FRAMES), value=-math.inf)
    pooled = torch.nn.functional.max_pool1d(padded.unsqueeze(1), PAST_FRAMES + AHEAD_FRAMES + 1, 1)
    return sign * pooled.squeeze(1)


def _past_max(x: torch.Tensor, frames: int) -> torch.Tensor:
    """Max of each row over frames ``[t - frames, t]`` (frames before 0 are frame 0's own
    window: clamping them to frame 0 gives the same max)."""
    padded = torch.nn.functional.pad(x, (frames, 0), value=-math.inf)
    return torch.nn.functional.max_pool1d(padded.unsqueeze(1), frames + 1, 1).squeeze(1)


def _line(level: torch.Tensor, first: int, last_k: int, last: torch.Tensor) -> torch.Tensor:
    """Least-squares line through the level over frames ``t + first … t + last_k`` (edges
    repeated): its slope (dB per frame) and rms misfit (dB), stacked ``(2, rows, frames)``."""
    ks = range(first, last_k + 1)
    centre = (first + last_k) / 2
    norm = sum((k - centre) ** 2 for k in ks)
    shifted = [_shift(level, k, last) for k in ks]
    mean = torch.stack(shifted).mean(dim=0)
    weighted = [(k - centre) * (y - mean) for k, y in zip(ks, shifted, strict=True)]
    total = weighted[0]
    for term in weighted[1:]:
        total = total + term
    slope = total / norm
    misfit = torch.stack(
        [(y - mean - slope * (k - centre)).square() for k, y in zip(ks, shifted, strict=True)]
    ).mean(dim=0)
    return torch.stack([slope, misfit.sqrt()])


def _long_features(
    p: torch.Tensor, level: torch.Tensor, valid: torch.Tensor, last: torch.Tensor
) -> list[torch.Tensor]:
    """Features of the longer reach (see :data:`FEATURES`, from "level change from frame
    -10" on): how the level moves over 100-500 ms and how steady periodicity stays."""
    masked = level.masked_fill(~valid, -math.inf)
    ahead_max = torch.nn.functional.pad(masked[:, 1:], (0, AHEAD_FRAMES), value=-math.inf)
    ahead_max = torch.nn.functional.max_pool1d(ahead_max.unsqueeze(1), AHEAD_FRAMES, 1).squeeze(1)[
        :, : level.shape[-1]
    ]
    # The last frame has no frame after it: its own level stands in (as shifts repeat it).
    ahead_max = torch.where(ahead_max.isinf(), level, ahead_max)
    near, settle = _line(level, -2, 8, last), _line(level, 0, 10, last)
    ahead_p = torch.stack([_shift(p, k, last) for k in range(0, 11)])
    back_p = torch.stack([_shift(p, -k, last) for k in range(0, 11)])

    def change(k: int) -> torch.Tensor:
        return (level - _shift(level, k, last)).clamp(-60.0, 60.0) / 20

    def below(frames: int) -> torch.Tensor:
        return (level - _past_max(masked, frames)).clamp_min(-100.0) / 20

    return [
        change(-10),
        -change(10),
        below(10),
        below(30),
        near[0].clamp(-10.0, 10.0) / 3,
        near[1].clamp_max(20.0) / 3,
        settle[0].clamp(-10.0, 10.0) / 3,
        settle[1].clamp_max(20.0) / 3,
        (ahead_max - level).clamp(-60.0, 60.0) / 20,
        below(50),
        change(-20),
        ahead_p.mean(dim=0),
        ahead_p.min(dim=0).values,
        back_p.mean(dim=0),
        back_p.min(dim=0).values,
    ]


def voicing_features(
    periodicity: torch.Tensor, level_db: torch.Tensor, valid: torch.Tensor
) -> torch.Tensor:
    """The head's input features (:data:`FEATURES`) of each frame: ``(rows, frames, features)``.

    Every level feature is a *difference* of levels, so a gain changes none of them; each reads
    frames ``t - PAST_FRAMES … t + AHEAD_FRAMES`` of its own row only (frames past a row's
    length are never read), which is what lets a stream decide with a bounded look-ahead.
    """
    p = periodicity
    level = level_db.clamp_min(_LEVEL_CLAMP_DB)
    last = (valid.sum(dim=-1) - 1).clamp_min(0)
    loud = (level - _window(level, valid, True)).clamp_min(-100.0)
    quiet = (level - _window(level, valid, False)).clamp_max(100.0)
    near = torch.stack([_shift(p, k, last) for k in range(-2, 3)])

    def change(a: int, b: int) -> torch.Tensor:
        return (_shift(level, a, last) - _shift(level, b, last)).clamp(-30.0, 30.0)

    back, ahead = change(0, -1), change(1, 0)
    columns = [
        p,
        near.median(dim=0).values,
        near.min(dim=0).values,
        near.max(dim=0).values,
        loud / 20,
        quiet / 20,
        back / 5,
        ahead / 5,
        change(0, -3) / 10,
        change(3, 0) / 10,
        (back - change(-1, -2)).abs() / 5,
        (ahead - back).abs() / 5,
        _shift(p, -3, last),
        _shift(p, 3, last),
        _shift(loud, -3, last) / 20,
        _shift(loud, 3, last) / 20,
        *_long_features(p, level, valid, last),
    ]
    return torch.stack(columns, dim=-1)


class VoicingHead:
    """The shipped voicing head: a one-hidden-layer perceptron on :func:`voicing_features`."""

    def __init__(self, data: dict[str, object], features: int = len(FEATURES)) -> None:
        """``features``: inputs the weights must take (the first ``features`` of
        :data:`FEATURES`; fewer only for measuring a head on part of them)."""

        def tensor(name: str) -> torch.Tensor:
            return torch.tensor(data[name], dtype=torch.float64)

        self.w1, self.b1, self.w2, self.b2 = tensor("w1"), tensor("b1"), tensor("w2"), tensor("b2")
        self.mean, self.scale = tensor("mean"), tensor("scale")
        if self.w1.shape[0] != features or self.mean.shape[0] != features:
            raise WeightsFormatError(
                f"{HEAD_FILE.name} holds a head for {self.w1.shape[0]} features, the code "
                f"computes {features}: reinstall crepe_transforms."
            )
        self.threshold = float(data["threshold"])  # type: ignore[arg-type]
        self._cast: dict[tuple[torch.device, torch.dtype], tuple[torch.Tensor, ...]] = {}

    def probability(self, features: torch.Tensor) -> torch.Tensor:
        """Probability that each frame is voiced: ``(..., features)`` → ``(...)``."""
        key = (features.device, features.dtype)
        if key not in self._cast:
            self._cast[key] = tuple(
                t.to(device=features.device, dtype=features.dtype)
                for t in (self.mean, self.scale, self.w1, self.b1, self.w2, self.b2)
            )
        mean, scale, w1, b1, w2, b2 = self._cast[key]
        hidden = torch.tanh(((features - mean) / scale) @ w1 + b1)
        return torch.sigmoid(hidden @ w2 + b2).squeeze(-1)


@functools.lru_cache(maxsize=4)
def load_head(path: Path = HEAD_FILE, sha256: str | None = None) -> VoicingHead:
    """Read and check the voicing head (cached). A file whose SHA-256 is not the expected one
    raises :class:`~crepe_transforms.exceptions.ChecksumError`: nothing is decided with it."""
    expected = HEAD_SHA256 if sha256 is None else sha256
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise WeightsError(
            f'The voicing head of voicing="auto" is missing ({path}: {error}). Reinstall '
            f"crepe_transforms, or use a periodicity threshold (voicing=0.5) instead."
        ) from error
    digest = hashlib.sha256(raw).hexdigest()
    if digest != expected:
        raise ChecksumError(
            f'The voicing head of voicing="auto" ({path}) fails its checksum: sha256 {digest}, '
            f"expected {expected}. The file is damaged or was changed: reinstall "
            f"crepe_transforms (or regenerate it with benchmarks/train_voicing_head.py and "
            f"update HEAD_SHA256), or use a periodicity threshold (voicing=0.5) meanwhile."
        )
    try:
        return VoicingHead(json.loads(raw))
    except (KeyError, TypeError, ValueError) as error:
        raise WeightsFormatError(f"{path} is not a voicing head: {error}.") from error


def voicing_probability(
    periodicity: torch.Tensor, level_db: torch.Tensor, valid: torch.Tensor
) -> torch.Tensor:
    """The head's probability of voice per frame, on rows (unchecked): ``(rows, frames)``."""
    dtype = torch.float64 if periodicity.dtype == torch.float64 else torch.float32
    features = voicing_features(periodicity.to(dtype), level_db.to(dtype), valid)
    return load_head().probability(features).masked_fill(~valid, 0.0)


def _decide(
    periodicity: torch.Tensor,
    level_db: torch.Tensor,
    valid: torch.Tensor,
    threshold: float | None = None,
) -> torch.Tensor:
    """THE decision of ``voicing="auto"`` on rows, called by every path (offline, blocks,
    collate, stream): the head's probability of voice at least ``threshold``."""
    head = load_head()
    prob = voicing_probability(periodicity, level_db, valid)
    bound = head.threshold if threshold is None else threshold
    # Digital silence is never voiced.
    return (prob >= bound) & valid & (level_db > LEVEL_FLOOR_DB)


def auto_voicing(
    periodicity: torch.Tensor,
    level_db: torch.Tensor,
    lengths: torch.Tensor | None = None,
    *,
    threshold: float | None = None,
) -> torch.Tensor:
    """Voiced frames by the voicing head on periodicity and relative level (``voicing="auto"``).

    A small perceptron shipped with the package (``voicing_head.json``, checksummed) reads
    :func:`voicing_features` (periodicity around the frame, its level relative to the loudest
    and quietest frames of the last second and next 100 ms, and how the level moves: a
    reverberant tail or a resonance decays steadily in dB per frame, speech does not) and gives
    a probability of voice; a frame is voiced where it is at least ``threshold``.
    Level-invariant: every level feature is a
    difference of levels. Each row reads only its own frames ``t - 100 … t + 10``.

    Args:
        periodicity: periodicity of each frame, in ``[0, 1]`` (``Pitch.periodicity``).
        level_db: level of the same frames from :func:`frame_levels`.
        lengths: valid frames per item of a padded batch; frames past them come out unvoiced
            and take no part in the decision.
        threshold: probability of voice above which a frame is voiced (default: the head's
            own, chosen on the dev split; lower: more recall, more false alarms).

    Returns:
        Boolean mask, ``True`` on voiced frames.

    Shape:
        - periodicity, level_db: ``(..., frames)``; lengths: ``(...)``
        - Output: ``(..., frames)`` bool

    Example:
        >>> periodicity = torch.tensor([0.1] * 20 + [0.9] * 30 + [0.1] * 20)
        >>> level = torch.tensor([-70.0] * 20 + [-20.0] * 30 + [-70.0] * 20)
        >>> voiced = auto_voicing(periodicity, level)
        >>> # The tone's frames after its first (a 50 dB step) are voiced, the pauses not.
        >>> voiced[21:50].all().item(), voiced[:20].any().item(), voiced[50:].any().item()
        (True, False, False)
    """
    if not isinstance(periodicity, torch.Tensor) or not periodicity.is_floating_point():
        found = periodicity.dtype if isinstance(periodicity, torch.Tensor) else type(periodicity)
        raise ParameterError(
            f"periodicity must be a floating-point torch.Tensor (..., frames) in [0, 1], got "
            f"{found}. Pass Pitch.periodicity."
        )
    if periodicity.dim() < 1:
        raise ParameterError("periodicity must have a frames dimension, got a 0-d tensor.")
    bound = None if threshold is None else _check_bound(threshold, "threshold", 0.0)
    shape = periodicity.shape
    checked = _check_lengths(lengths, shape)
    if shape[-1] == 0:
        return torch.zeros(shape, dtype=torch.bool, device=periodicity.device)
    valid = _valid(shape, checked, periodicity.device)
    _check_levels(level_db, valid, shape, "level_db")
    p = periodicity.reshape(valid.shape)
    on_valid = p[valid]
    if on_valid.isnan().any() or (on_valid.numel() and (on_valid.min() < 0 or on_valid.max() > 1)):
        raise ParameterError(
            "periodicity must be in [0, 1] on every valid frame (no NaN); pass the decoder's "
            "Pitch.periodicity, and lengths for a padded batch."
        )
    level = level_db.reshape(valid.shape).to(p.device)
    return _decide(p, level, valid, bound).reshape(shape)


def decide_voicing(
    periodicity: torch.Tensor,
    level_db: torch.Tensor,
    frame_lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """:func:`auto_voicing` with its defaults and no checks: the inside for callers whose
    inputs are right by construction (``CrepePitch``, the extractor, the collate, the stream).

    Nothing here reads a value back to the host, so on a GPU it queues without waiting.

    Shape:
        - periodicity, level_db: ``(..., frames)``; frame_lengths: ``(...)`` or ``None``
        - Output: ``(..., frames)`` bool
    """
    shape = periodicity.shape
    if shape[-1] == 0:
        return torch.zeros(shape, dtype=torch.bool, device=periodicity.device)
    valid = _valid(shape, frame_lengths, periodicity.device)
    p = periodicity.reshape(valid.shape)
    level = level_db.reshape(valid.shape).to(p.device)
    return _decide(p, level, valid).reshape(shape)
