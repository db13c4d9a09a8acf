"""Decoders: CREPE activations ``(..., frames, 360)`` → f0 in Hz and periodicity.

Pure functions behind :class:`~crepe_transforms.pitch.CrepeDecode`. Every decoder

- accepts any leading dims and any floating dtype, and runs on the input's device;
- restricts the search to the *admitted* bins: those whose centre frequency lies in
  ``[fmin, fmax]`` (:func:`admitted_bins`). Non-admitted bins are ignored everywhere, by the
  argmax, the Viterbi states and the local average, so every returned frequency lies in
  ``[fmin, fmax]``;
- returns :class:`Pitch`: frequency in Hz and periodicity, the activation at the decoded bin;
- takes optional ``lengths`` (valid frames per item). Valid frames of a padded batch equal the
  item decoded alone, Viterbi included; frames past an item's length get frequency ``NaN`` and
  periodicity ``0``.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import torch

from .checks import check_choice, check_last_dim, check_lengths
from .constants import FMAX_HZ, FMIN_HZ, N_BINS
from .convert import bins_to_hz
from .exceptions import ParameterError
from .functional import length_mask
from .viterbi import HMM, log_emission, log_jump, log_transition, resolve_hmm, viterbi_path

__all__ = [
    "DECODERS",
    "DecoderInput",
    "Pitch",
    "admitted_bins",
    "argmax",
    "decode",
    "finish_pitch",
    "local_average",
    "prepare_activation",
    "viterbi",
    "weighted_argmax",
]

#: Names accepted by :func:`decode` and ``CrepeDecode(method=...)``.
DECODERS = ("argmax", "weighted_argmax", "viterbi")

#: Half-width of the local average window (original CREPE: argmax − 4 … argmax + 4).
LOCAL_AVERAGE_RADIUS = 4

# Documented bounds of fmin/fmax: bin 0 (31.70 Hz) and bin 359 (2005.497 Hz, printed 2005.5).
_FMIN_LIMIT = FMIN_HZ
_FMAX_LIMIT = math.ceil(FMAX_HZ * 10.0) / 10.0


class Pitch(NamedTuple):
    """Decoded pitch: ``frequency`` in Hz (NaN where unvoiced or padded) and ``periodicity``.

    Shape:
        - frequency: ``(..., frames)``
        - periodicity: ``(..., frames)``
    """

    frequency: torch.Tensor
    periodicity: torch.Tensor


def _check_hz(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(
            f"{name} must be a frequency in Hz or None, got {value!r}; pass a number, "
            f"e.g. {name}={50.0 if name == 'fmin' else 1000.0}."
        )
    hz = float(value)
    if not _FMIN_LIMIT <= hz <= _FMAX_LIMIT:
        raise ParameterError(
            f"{name}={hz!r} Hz is outside CREPE's bin range [{_FMIN_LIMIT:.2f}, "
            f"{_FMAX_LIMIT:.1f}] Hz. Pass a value in that range, or None for no limit."
        )
    return hz


def admitted_bins(fmin: float | None = None, fmax: float | None = None) -> tuple[int, int]:
    """First and last bin (inclusive) whose centre frequency lies in ``[fmin, fmax]``.

    Args:
        fmin: lowest admitted frequency in Hz, at least 31.70 (bin 0); None for no limit.
        fmax: highest admitted frequency in Hz, at most 2005.5 (bin 359); None for no limit.

    Raises:
        ParameterError: a bound outside the bin range, ``fmin >= fmax``, or no bin centre
            between them.

    Example:
        >>> admitted_bins()
        (0, 359)
        >>> admitted_bins(50.0, 1000.0)
        (40, 298)
    """
    lo_hz = _FMIN_LIMIT if fmin is None else _check_hz(fmin, "fmin")
    hi_hz = _FMAX_LIMIT if fmax is None else _check_hz(fmax, "fmax")
    if lo_hz >= hi_hz:
        raise ParameterError(
            f"fmin={lo_hz!r} Hz must be lower than fmax={hi_hz!r} Hz; swap them or widen the range."
        )
    centres = bins_to_hz(torch.arange(N_BINS, dtype=torch.float64))
    inside = ((centres >= lo_hz) & (centres <= hi_hz)).nonzero().flatten()
    if inside.numel() == 0:
        raise ParameterError(
            f"No CREPE bin centre lies in [fmin={lo_hz!r}, fmax={hi_hz!r}] Hz (bins are 20 cents "
            f"apart, about 1.2 %). Widen the range to contain at least one bin."
        )
    return int(inside[0]), int(inside[-1])


def local_average(activation: torch.Tensor, center: torch.Tensor) -> torch.Tensor:
    """Salience-weighted mean bin over ``center − 4 … center + 4`` (clipped at the edges).

    The original CREPE local average, on the raw activations (no second sigmoid, no dither).
    If every weight in the window is zero, the result is ``center`` itself.

    Args:
        activation: raw activations over the states considered (e.g. the admitted bins).
        center: integer bin index per frame, relative to ``activation``'s last axis.

    Returns:
        Fractional bin index in float32 (or the input dtype if wider).

    Shape:
        - activation: ``(..., frames, states)``
        - center: ``(..., frames)``
        - Output: ``(..., frames)``

    Example:
        >>> act = torch.zeros(1, 360)
        >>> act[0, 100], act[0, 101] = 0.6, 0.2
        >>> local_average(act, torch.tensor([100]))
        tensor([100.2500])
    """
    n_states = activation.shape[-1]
    dtype = torch.promote_types(activation.dtype, torch.float32)
    offsets = torch.arange(
        -LOCAL_AVERAGE_RADIUS, LOCAL_AVERAGE_RADIUS + 1, device=activation.device
    )
    index = center.long()[..., None] + offsets
    inside = (index >= 0) & (index < n_states)
    weights = activation.gather(-1, index.clamp(0, n_states - 1)).to(dtype) * inside
    total = weights.sum(dim=-1)
    # Averaging offsets, not absolute cents, keeps float32 exact to ~1e-5 bin.
    shift = (weights * offsets.to(dtype)).sum(dim=-1) / total.clamp_min(torch.finfo(dtype).tiny)
    return center.to(dtype) + torch.where(total > 0, shift, torch.zeros_like(shift))


class DecoderInput(NamedTuple):
    """Activations checked and packed for a decoder: see :func:`prepare_activation`."""

    activation: torch.Tensor  # (batch, frames, admitted states)
    low: int  # first admitted bin
    shape: tuple[int, ...]  # leading dims of the input
    lengths: torch.Tensor | None  # (batch,) int64 on the input's device


def prepare_activation(
    activation: torch.Tensor,
    fmin: float | None,
    fmax: float | None,
    lengths: torch.Tensor | None,
) -> DecoderInput:
    """Check ``(..., frames, 360)`` activations and pack them for a decoder.

    The building block every decoder here starts with (write your own the same way): leading
    dims are flattened to one batch axis, only the bins admitted by ``fmin``/``fmax`` are
    kept (``low`` is the first), and ``lengths`` is checked. :func:`finish_pitch` turns the
    decoder's per-frame bins back into a :class:`Pitch` of the input's shape.
    """
    activation = check_last_dim(activation, N_BINS, "activation", "frames, 360")
    if activation.dim() < 2:
        raise ParameterError(
            f"activation must have shape (..., frames, 360), got {tuple(activation.shape)}. "
            f"For a single frame use activation[None]."
        )
    # min and max propagate NaN and expose ±Inf: one reduction, no boolean copy of the input.
    if activation.numel() and not bool(torch.isfinite(torch.stack(activation.aminmax())).all()):
        raise ParameterError(
            "activation contains NaN or Inf values; CREPE activations are sigmoid outputs in "
            "[0, 1]. Check the network input (NaN audio?) before decoding."
        )
    low, high = admitted_bins(fmin, fmax)
    shape = tuple(activation.shape[:-2])
    frames = activation.shape[-2]
    if lengths is not None:
        lengths = check_lengths(lengths, shape, frames, unit="frames")
        lengths = lengths.reshape(-1).to(activation.device)
    packed = activation.reshape(math.prod(shape), frames, N_BINS)[..., low : high + 1]
    return DecoderInput(packed, low, shape, lengths)


def finish_pitch(batch: DecoderInput, bins: torch.Tensor, periodicity: torch.Tensor) -> Pitch:
    """Per-frame (fractional) bins, relative to ``batch.low``, to a :class:`Pitch`.

    Converts to Hz in float64, masks frames past ``batch.lengths`` (f0 NaN, periodicity 0)
    and restores the input's leading dims.
    """
    dtype = batch.activation.dtype
    # Cents near 9000 have a float32 resolution of 1e-3 cents: convert in float64.
    frequency = bins_to_hz(bins.double() + batch.low).to(dtype)
    periodicity = periodicity.to(dtype)
    if batch.lengths is not None:
        frames = frequency.shape[-1]
        valid = length_mask(batch.lengths.to(frequency.device), frames)
        frequency = frequency.masked_fill(~valid, math.nan)
        periodicity = periodicity.masked_fill(~valid, 0.0)
    frames = frequency.shape[-1]
    return Pitch(frequency.reshape(*batch.shape, frames), periodicity.reshape(*batch.shape, frames))


def argmax(
    activation: torch.Tensor,
    fmin: float | None = None,
    fmax: float | None = None,
    lengths: torch.Tensor | None = None,
) -> Pitch:
    """Centre frequency of the most salient admitted bin (ties: the lowest bin).

    Args:
        activation: raw CREPE activations.
        fmin, fmax: admitted range in Hz (see :func:`admitted_bins`).
        lengths: valid frames per item (shape = leading dims).

    Shape:
        - activation: ``(..., frames, 360)``; lengths: ``(...)``
        - Output: two tensors ``(..., frames)``

    Example:
        >>> act = torch.zeros(2, 3, 360)
        >>> act[..., 100] = 0.9
        >>> argmax(act).frequency
        tensor([[100.6412, 100.6412, 100.6412],
                [100.6412, 100.6412, 100.6412]])
    """
    batch = prepare_activation(activation, fmin, fmax, lengths)
    periodicity, index = batch.activation.max(dim=-1)
    return finish_pitch(
        batch, index.to(torch.promote_types(periodicity.dtype, torch.float32)), periodicity
    )


def weighted_argmax(
    activation: torch.Tensor,
    fmin: float | None = None,
    fmax: float | None = None,
    lengths: torch.Tensor | None = None,
) -> Pitch:
    """Original CREPE local average around the argmax (:func:`local_average`).

    Periodicity is the activation at the argmax bin (CREPE's confidence).

    Args:
        activation: raw CREPE activations.
        fmin, fmax: admitted range in Hz (see :func:`admitted_bins`).
        lengths: valid frames per item (shape = leading dims).

    Shape:
        - activation: ``(..., frames, 360)``; lengths: ``(...)``
        - Output: two tensors ``(..., frames)``

    Example:
        >>> act = torch.zeros(1, 360)
        >>> act[0, 100], act[0, 101] = 0.6, 0.6
        >>> weighted_argmax(act)
        Pitch(frequency=tensor([101.2242]), periodicity=tensor([0.6000]))
    """
    batch = prepare_activation(activation, fmin, fmax, lengths)
    periodicity, index = batch.activation.max(dim=-1)
    return finish_pitch(batch, local_average(batch.activation, index), periodicity)


def viterbi(
    activation: torch.Tensor,
    fmin: float | None = None,
    fmax: float | None = None,
    lengths: torch.Tensor | None = None,
    hmm: HMM | str = "default",
    backend: str = "auto",
    transition: torch.Tensor | None = None,
) -> Pitch:
    """Viterbi path over the admitted bins, then the local average around each path bin.

    The HMM's states are the admitted bins only (its transition rows are normalised over
    them). ``hmm="crepe"`` is the original CREPE decoder (:data:`~crepe_transforms.viterbi.
    CREPE_HMM`); ``"default"`` (:data:`~crepe_transforms.viterbi.DEFAULT_HMM`) never collapses
    on silence (see ``docs/decoding.md``). Periodicity is the activation at the path bin.

    Args:
        activation: raw CREPE activations.
        fmin, fmax: admitted range in Hz (see :func:`admitted_bins`).
        lengths: valid frames per item; each item's path ends at its own last valid frame.
        hmm: ``"default"``, ``"crepe"`` or an :class:`~crepe_transforms.viterbi.HMM`.
        backend: ``"auto"``, ``"numba"`` (CPU) or ``"torch"`` (any device); same path.
        transition: precomputed :func:`~crepe_transforms.viterbi.log_transition` table for
            this ``hmm`` and range (``CrepeDecode`` passes its buffer); computed if None.

    Shape:
        - activation: ``(..., frames, 360)``; lengths: ``(...)``
        - Output: two tensors ``(..., frames)``

    Example:
        >>> act = torch.full((5, 360), 0.01)
        >>> act[:, 120] = 0.9  # bin 120 is 126.8 Hz
        >>> act[2, 180] = 0.95  # a one-frame octave error (253.6 Hz)
        >>> viterbi(act).frequency
        tensor([126.8000, 126.8000, 126.8000, 126.8000, 126.8000])
    """
    config = resolve_hmm(hmm)
    batch = prepare_activation(activation, fmin, fmax, lengths)
    n_states = batch.activation.shape[-1]
    if transition is None:
        transition = log_transition(n_states, config, batch.activation.device)
    elif tuple(transition.shape) != (2 * config.band + 1, n_states):
        raise ParameterError(
            f"transition has shape {tuple(transition.shape)}, expected "
            f"{(2 * config.band + 1, n_states)} for this hmm and fmin/fmax; build it with "
            f"log_transition({n_states}, hmm) or pass transition=None."
        )
    with torch.no_grad():
        path = viterbi_path(
            log_emission(batch.activation.detach(), config),
            transition,
            log_jump(n_states, config),
            batch.lengths,
            backend,
        ).to(batch.activation.device)
    periodicity = batch.activation.gather(-1, path[..., None]).squeeze(-1)
    return finish_pitch(batch, local_average(batch.activation, path), periodicity)


def decode(
    activation: torch.Tensor,
    method: str = "viterbi",
    fmin: float | None = None,
    fmax: float | None = None,
    lengths: torch.Tensor | None = None,
    hmm: HMM | str = "default",
    backend: str = "auto",
) -> Pitch:
    """Decode activations with the decoder named ``method`` (one of :data:`DECODERS`).

    ``hmm`` and ``backend`` apply to ``method="viterbi"`` only.

    Shape:
        - activation: ``(..., frames, 360)``; lengths: ``(...)``
        - Output: two tensors ``(..., frames)``

    Example:
        >>> act = torch.rand(2, 4, 10, 360, generator=torch.Generator().manual_seed(0))
        >>> pitch = decode(act, "weighted_argmax", fmin=50.0, fmax=1000.0)
        >>> pitch.frequency.shape, bool(pitch.frequency.min() >= 50.0)
        (torch.Size([2, 4, 10]), True)
    """
    method = check_choice(method, "method", DECODERS)
    if method == "argmax":
        return argmax(activation, fmin, fmax, lengths)
    if method == "weighted_argmax":
        return weighted_argmax(activation, fmin, fmax, lengths)
    return viterbi(activation, fmin, fmax, lengths, hmm, backend)
