"""Differentiable pitch readout for training: the expected pitch under the CREPE salience.

The decoders in :mod:`crepe_transforms.functional` pick a bin (argmax, Viterbi path) and average
9 bins around it. That is the right thing for evaluation, but the chosen bin jumps from frame to
frame and from step to step, so a loss on it sees a piecewise function of the network input.
:func:`soft_decode` instead reads out the *expected* pitch over every admitted bin, a smooth
function of the activations, for losses inside a training step (pitch-consistency losses of a
synthesiser, voice conversion, TTS).

Weights. CREPE's 360 outputs are independent sigmoids (trained with a binary cross-entropy
against a Gaussian-blurred target), not a distribution: on a clearly voiced frame the few bins
around the peak are near 1 but the ~300 others still hold ~0.001–0.01 each, and together they
outweigh the peak. Normalising the raw activations to sum 1 therefore pulls the estimate towards
the middle of the range by tens to hundreds of cents (measured on the shared fixture
``activation-full.npy``: median 12, 90th percentile 58 cents from ``weighted_argmax`` on frames
with confidence > 0.8). The readout uses a softmax over the activations' logits (log-odds)
divided by ``temperature``, i.e. weights proportional to ``odds ** (1 / temperature)``, which
keeps the peak and suppresses the floor. The expected value is taken over bins on the cents
scale (a weighted mean of log-frequency, not of Hz) and converted to Hz at the end.

Default ``temperature=0.2``, measured (``tests/test_readout.py``): on the fixture activations of a
real recording, frames with confidence > 0.8 read within 6 (tiny) and 8 (full) cents of
``weighted_argmax``, median 2 cents; on synthetic harmonic tones with real weights, within 7
(tiny) and 9 (full) cents of it. Lower temperatures approach the hard argmax (less smooth; they
snap towards bin centres, a few cents); higher ones let the floor and secondary peaks in.

Bias, by design: on frames with two peaks (octave ambiguity) the expectation lies between them,
and on unvoiced or silent frames, where the salience is flat, it drifts towards the middle of the
admitted range. Weight the loss by periodicity or a voicing mask, and evaluate with
a decoder (:func:`~crepe_transforms.functional.viterbi`,
:func:`~crepe_transforms.functional.weighted_argmax`).
"""

from __future__ import annotations

import math
import numbers

import torch

from ..constants import DEFAULT_TEMPERATURE
from ..exceptions import ParameterError
from ._decode import Pitch, finish_pitch, prepare_activation

__all__ = ["soft_decode"]


def check_temperature(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
        or float(value) <= 0
    ):
        raise ParameterError(
            f"temperature must be a positive finite number, got {value!r}. It divides the "
            f"activations' logits before the softmax: lower values approach argmax, higher ones "
            f"blur; the default is {DEFAULT_TEMPERATURE}."
        )
    return float(value)


def soft_decode(
    activation: torch.Tensor,
    fmin: float | None = None,
    fmax: float | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    lengths: torch.Tensor | None = None,
) -> Pitch:
    """Expected pitch under a tempered softmax of the salience: a differentiable readout.

    Per frame, over the admitted bins ``k`` (:func:`~crepe_transforms.functional.admitted_bins`),
    weights ``w_k = softmax(logit(a_k) / temperature)`` and frequency
    ``cents_to_hz(sum_k w_k * cents_k)``: the weighted mean on the log-frequency scale. Every
    returned frequency lies in ``[fmin, fmax]``. Periodicity is the largest admitted activation
    (CREPE's confidence; equal to ``weighted_argmax``'s), differentiable with its gradient on
    that bin. Both outputs are differentiable w.r.t. ``activation`` (activations within float
    epsilon of 0 or 1 are clamped and pass no gradient).

    A training readout: biased towards the middle on multimodal and unvoiced frames (see the
    module docs). Evaluate with ``viterbi`` or ``weighted_argmax``.

    Args:
        activation: raw CREPE activations (sigmoid outputs in ``[0, 1]``).
        fmin, fmax: admitted range in Hz; None for no limit.
        temperature: softmax temperature over the logits (positive); see
            :data:`DEFAULT_TEMPERATURE`.
        lengths: valid frames per item (shape = leading dims); frames past an item's length
            get frequency ``NaN`` and periodicity ``0`` (mask them out of a loss).

    Returns:
        :class:`~crepe_transforms.functional.Pitch` in the activation's dtype (computed in float32
        or wider).

    Raises:
        ParameterError: wrong shape or dtype, NaN/Inf activations, a bad range or temperature.

    Shape:
        - activation: ``(..., frames, 360)``; lengths: ``(...)``
        - Output: two tensors ``(..., frames)``

    Example:
        >>> act = torch.full((1, 360), 0.01)
        >>> act[0, 100], act[0, 101] = 0.9, 0.9  # equal peaks: half-way, 10 cents up
        >>> act = act.requires_grad_()
        >>> pitch = soft_decode(act)
        >>> pitch.f0.detach(), pitch.periodicity.detach()
        (tensor([101.2242]), tensor([0.9000]))
        >>> pitch.f0.sum().backward()
        >>> bool(act.grad[0, 101] > 0 > act.grad[0, 100])
        True
    """
    temperature = check_temperature(temperature)
    batch = prepare_activation(activation, fmin, fmax, lengths)
    acts = batch.activation
    dtype = torch.promote_types(acts.dtype, torch.float32)
    acts = acts.to(dtype)
    weights = torch.softmax(torch.logit(acts, eps=torch.finfo(dtype).eps) / temperature, dim=-1)
    periodicity, center = acts.max(dim=-1)
    # Averaging offsets from the (constant) argmax rather than absolute bins keeps float32
    # precise to ~1e-5 bin; the result does not depend on the reference point.
    offsets = torch.arange(acts.shape[-1], device=acts.device, dtype=dtype) - center[..., None]
    bins = center.to(dtype) + (weights * offsets).sum(dim=-1)
    return finish_pitch(batch, bins, periodicity)
