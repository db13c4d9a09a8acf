"""Decoders: CREPE activations ``(..., frames, 360)`` → f0 in Hz and periodicity.

The functional twins of :class:`~crepe_transforms.CrepeDecode`. Every decoder

- accepts any leading dims and any floating dtype, and runs on the input's device;
- restricts the search to the *admitted* bins: those whose centre frequency lies in
  ``[fmin, fmax]`` (:func:`admitted_bins`). Non-admitted bins are ignored everywhere, by the
  argmax, the Viterbi states and the local average, so every returned f0 lies in
  ``[fmin, fmax]``;
- returns :class:`Pitch`: f0 in Hz and periodicity, the activation at the decoded bin;
- takes optional ``lengths``: valid steps of the input's own time axis, here frames. Valid
  frames of a padded batch equal the item decoded alone, Viterbi included; frames past an
  item's length get f0 ``NaN`` and periodicity ``0``;
- is a discrete choice, so its outputs carry no gradient (for a differentiable pitch use
  :func:`soft_decode`).
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import NamedTuple

import torch

from .._checks import check_choice, check_last_dim, check_lengths
from ..constants import BACKENDS, DECODERS, FMAX_HZ, FMIN_HZ, N_BINS
from ..exceptions import ParameterError
from . import _viterbi as kernel
from ._framing import length_mask
from ._units import bins_to_hz
from ._viterbi import DEFAULT_HMM, HMM, resolve_hmm

__all__ = [
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


#: Half-width of the local average window (original CREPE: argmax − 4 … argmax + 4).
LOCAL_AVERAGE_RADIUS = 4

# Documented bounds of fmin/fmax: bin 0 (31.70 Hz) and bin 359 (2005.497 Hz, printed 2005.5).
_FMIN_LIMIT = FMIN_HZ
_FMAX_LIMIT = math.ceil(FMAX_HZ * 10.0) / 10.0


class Pitch(NamedTuple):
    """Decoded pitch: ``f0`` in Hz (NaN where unvoiced or padded) and ``periodicity``.

    Shape:
        - f0: ``(..., frames)``
        - periodicity: ``(..., frames)``
    """

    f0: torch.Tensor
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
    offsets, weight_offsets = _offsets(activation.device, dtype)
    index = center.long()[..., None] + offsets
    inside = (index >= 0) & (index < n_states)
    weights = activation.gather(-1, index.clamp(0, n_states - 1)).to(dtype) * inside
    total = weights.sum(dim=-1)
    # Averaging offsets, not absolute cents, keeps float32 exact to ~1e-5 bin.
    shift = (weights * weight_offsets).sum(dim=-1) / total.clamp_min(torch.finfo(dtype).tiny)
    return center.to(dtype) + torch.where(total > 0, shift, 0.0)


@functools.cache
def _offsets(device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The local average's window offsets (int64) and their weights in ``dtype`` (made once:
    a stream decodes a frame or two per call)."""
    with torch.inference_mode(False), torch.no_grad():  # usable outside inference mode
        offsets = torch.arange(-LOCAL_AVERAGE_RADIUS, LOCAL_AVERAGE_RADIUS + 1, device=device)
        return offsets, offsets.to(dtype)


class DecoderInput(NamedTuple):
    """Activations checked and packed for a decoder: see :func:`prepare_activation`."""

    activation: torch.Tensor  # (batch, frames, admitted states)
    low: int  # first admitted bin
    shape: tuple[int, ...]  # leading dims of the input
    lengths: torch.Tensor | None  # (batch,) int64 on the input's device


def check_activation(activation: object, name: str = "activation") -> torch.Tensor:
    """Check ``(..., frames, 360)`` activations: real floating point, finite."""
    activation = check_last_dim(activation, N_BINS, name, "frames, 360")
    if activation.dim() < 2:
        raise ParameterError(
            f"{name} must have shape (..., frames, 360), got {tuple(activation.shape)}. "
            f"For a single frame use {name}[None]."
        )
    # min and max propagate NaN and expose ±Inf: one reduction, no boolean copy of the input.
    if activation.numel() and not bool(torch.isfinite(torch.stack(activation.aminmax())).all()):
        raise ParameterError(
            f"{name} contains NaN or Inf values; CREPE activations are sigmoid outputs in "
            "[0, 1]. Check the network input (NaN audio?) before decoding."
        )
    return activation


def prepare_activation(
    activation: torch.Tensor,
    fmin: float | None,
    fmax: float | None,
    lengths: torch.Tensor | None,
) -> DecoderInput:
    """Check ``(..., frames, 360)`` activations and pack them for a decoder.

    The building block every decoder here starts with (write your own the same way): leading
    dims are flattened to one batch axis, only the bins admitted by ``fmin``/``fmax`` are
    kept (``low`` is the first), and ``lengths`` (valid frames per item) is checked.
    :func:`finish_pitch` turns the decoder's per-frame bins back into a :class:`Pitch` of the
    input's shape.
    """
    activation = check_activation(activation)
    low, high = admitted_bins(fmin, fmax)
    if lengths is not None:
        lengths = check_lengths(
            lengths, tuple(activation.shape[:-2]), activation.shape[-2], unit="frames"
        )
    return pack(activation, low, high, lengths)


def pack(
    activation: torch.Tensor, low: int, high: int, lengths: torch.Tensor | None
) -> DecoderInput:
    """:func:`prepare_activation` without the checks (for callers that checked already)."""
    shape = tuple(activation.shape[:-2])
    frames = activation.shape[-2]
    if lengths is not None:
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
    f0 = bins_to_hz(bins.double() + batch.low).to(dtype)
    periodicity = periodicity.to(dtype)
    if batch.lengths is not None:
        valid = length_mask(batch.lengths.to(f0.device), f0.shape[-1])
        f0 = f0.masked_fill(~valid, math.nan)
        periodicity = periodicity.masked_fill(~valid, 0.0)
    frames = f0.shape[-1]
    return Pitch(f0.reshape(*batch.shape, frames), periodicity.reshape(*batch.shape, frames))


def _argmax(batch: DecoderInput) -> Pitch:
    periodicity, index = batch.activation.max(dim=-1)
    bins = index.to(torch.promote_types(periodicity.dtype, torch.float32))
    return finish_pitch(batch, bins, periodicity)


def _weighted_argmax(batch: DecoderInput) -> Pitch:
    periodicity, index = batch.activation.max(dim=-1)
    return finish_pitch(batch, local_average(batch.activation, index), periodicity)


def _viterbi(batch: DecoderInput, hmm: HMM, backend: str, transition: torch.Tensor | None) -> Pitch:
    n_states = batch.activation.shape[-1]
    if transition is None:
        transition = kernel.log_transition(n_states, hmm, batch.activation.device)
    path = kernel.viterbi_path(
        kernel.log_emission(batch.activation, hmm),
        transition,
        kernel.log_jump(n_states, hmm),
        batch.lengths,
        backend,
    ).to(batch.activation.device)
    return finish_path(batch, path)


def finish_path(batch: DecoderInput, path: torch.Tensor) -> Pitch:
    """The end of every Viterbi decode (offline, file blocks, stream): the decoded states
    ``path`` (``(items, frames)``, relative to ``batch.low``) to a :class:`Pitch` — the local
    average around each state, periodicity the activation at it (:func:`finish_pitch`)."""
    periodicity = batch.activation.gather(-1, path[..., None]).squeeze(-1)
    return finish_pitch(batch, local_average(batch.activation, path), periodicity)


def run_decoder(
    decoder: str,
    batch: DecoderInput,
    hmm: HMM = DEFAULT_HMM,
    backend: str = "auto",
    transition: torch.Tensor | None = None,
) -> Pitch:
    """Decode checked, packed activations (the inside of every decoder; no checks, no grad)."""
    with torch.no_grad():
        batch = batch._replace(activation=batch.activation.detach())
        if decoder == "argmax":
            return _argmax(batch)
        if decoder == "weighted_argmax":
            return _weighted_argmax(batch)
        return _viterbi(batch, hmm, backend, transition)


def argmax(
    activation: torch.Tensor,
    fmin: float | None = None,
    fmax: float | None = None,
    lengths: torch.Tensor | None = None,
) -> Pitch:
    """Centre frequency of the most salient admitted bin (ties: the lowest bin).

    Arguments and shapes as :func:`decode`.

    Example:
        >>> act = torch.zeros(2, 3, 360)
        >>> act[..., 100] = 0.9
        >>> argmax(act).f0
        tensor([[100.6412, 100.6412, 100.6412],
                [100.6412, 100.6412, 100.6412]])
    """
    return decode(activation, "argmax", fmin, fmax, lengths)


def weighted_argmax(
    activation: torch.Tensor,
    fmin: float | None = None,
    fmax: float | None = None,
    lengths: torch.Tensor | None = None,
) -> Pitch:
    """Original CREPE local average around the argmax (:func:`local_average`).

    Periodicity is the activation at the argmax bin (CREPE's confidence). Arguments and shapes
    as :func:`decode`.

    Example:
        >>> act = torch.zeros(1, 360)
        >>> act[0, 100], act[0, 101] = 0.6, 0.6
        >>> weighted_argmax(act)
        Pitch(f0=tensor([101.2242]), periodicity=tensor([0.6000]))
    """
    return decode(activation, "weighted_argmax", fmin, fmax, lengths)


def viterbi(
    activation: torch.Tensor,
    fmin: float | None = None,
    fmax: float | None = None,
    lengths: torch.Tensor | None = None,
    hmm: HMM | str = "default",
    backend: str = "auto",
) -> Pitch:
    """Viterbi path over the admitted bins, then the local average around each path bin.

    The HMM's states are the admitted bins only (its transition rows are normalised over
    them). ``hmm="crepe"`` is the original CREPE decoder (:data:`CREPE_HMM`); ``"default"``
    (:data:`DEFAULT_HMM`) never collapses on silence (see ``docs/decoding.md``). Periodicity is
    the activation at the path bin; each item's path ends at its own last valid frame.
    Arguments and shapes as :func:`decode`.

    Example:
        >>> act = torch.full((5, 360), 0.01)
        >>> act[:, 120] = 0.9  # bin 120 is 126.8 Hz
        >>> act[2, 180] = 0.95  # a one-frame octave error (253.6 Hz)
        >>> viterbi(act).f0
        tensor([126.8000, 126.8000, 126.8000, 126.8000, 126.8000])
    """
    return decode(activation, "viterbi", fmin, fmax, lengths, hmm, backend)


def decode(
    activation: torch.Tensor,
    decoder: str = "viterbi",
    fmin: float | None = None,
    fmax: float | None = None,
    lengths: torch.Tensor | None = None,
    hmm: HMM | str = "default",
    backend: str = "auto",
) -> Pitch:
    """Decode activations with the decoder named ``decoder`` (one of :data:`DECODERS`).

    Args:
        activation: raw CREPE activations.
        decoder: ``"argmax"`` (:func:`argmax`), ``"weighted_argmax"``
            (:func:`weighted_argmax`) or ``"viterbi"`` (:func:`viterbi`).
        fmin, fmax: admitted range in Hz (see :func:`admitted_bins`).
        lengths: valid frames per item (shape = leading dims); frames past an item's length
            decode to ``NaN`` f0 and zero periodicity.
        hmm: ``"default"``, ``"crepe"`` or an :class:`HMM` (``decoder="viterbi"`` only).
        backend: ``"auto"``, ``"numba"`` (CPU) or ``"torch"`` (any device); the same path
            either way (``decoder="viterbi"`` only).

    Shape:
        - activation: ``(..., frames, 360)``; lengths: ``(...)``
        - Output: two tensors ``(..., frames)``

    Example:
        >>> act = torch.rand(2, 4, 10, 360, generator=torch.Generator().manual_seed(0))
        >>> pitch = decode(act, "weighted_argmax", fmin=50.0, fmax=1000.0)
        >>> pitch.f0.shape, bool(pitch.f0.min() >= 50.0)
        (torch.Size([2, 4, 10]), True)
    """
    decoder = check_choice(decoder, "decoder", DECODERS)
    config = resolve_hmm(hmm)
    check_choice(backend, "backend", BACKENDS)
    return run_decoder(
        decoder, prepare_activation(activation, fmin, fmax, lengths), config, backend
    )
