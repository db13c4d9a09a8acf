"""``CrepeDecode`` and ``CrepeSoftDecode``: activations → pitch."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._checks import check_choice, check_lengths, parse_hz
from .._settings import Configurable
from .._tables import DECODE, SOFT_DECODE
from ..constants import BACKENDS, DECODERS, DEFAULT_TEMPERATURE
from ..functional import HMM, Pitch, admitted_bins, soft_decode
from ..functional._internal import (
    check_activation,
    check_temperature,
    log_transition,
    pack,
    resolve_hmm,
    run_decoder,
)

__all__ = ["CrepeDecode", "CrepeSoftDecode", "parse_hz"]


class CrepeDecode(Configurable, nn.Module):
    """Activations → :class:`~crepe_transforms.Pitch` (``f0`` in Hz, ``periodicity``).

    Settings are checked and the Viterbi transition table is built once, here; ``forward``
    checks its input and decodes. Decoding is a discrete choice, so the outputs carry no
    gradient (for a differentiable pitch use :class:`CrepeSoftDecode`).

    Args:
        decoder: ``"viterbi"`` (default), ``"weighted_argmax"`` (original CREPE local average)
            or ``"argmax"``.
        fmin, fmax: admitted range in Hz: only bins whose centre lies in ``[fmin, fmax]`` are
            considered (:func:`~crepe_transforms.functional.admitted_bins`); None for no limit.
        hmm: Viterbi configuration: ``"default"``, ``"crepe"`` (the original CREPE HMM) or a
            :class:`~crepe_transforms.HMM`.
        backend: Viterbi kernel: ``"auto"``, ``"numba"`` (CPU) or ``"torch"``; same path.

    Shape:
        - activation: ``(..., frames, 360)``; lengths (optional): ``(...)`` valid frames
        - output: ``Pitch(f0, periodicity)``, each ``(..., frames)``; frames past an item's
          length hold ``NaN`` and ``0``

    Example:
        >>> from crepe_transforms import CrepeActivation, CrepeFrames
        >>> pipeline = nn.Sequential(
        ...     CrepeFrames(16000), CrepeActivation("tiny", pretrained=False), CrepeDecode()
        ... )
        >>> pitch = pipeline(torch.randn(2, 8000))
        >>> pitch.f0.shape, pitch.periodicity.shape
        (torch.Size([2, 51]), torch.Size([2, 51]))
        >>> CrepeDecode("weighted_argmax", fmin=50.0)
        CrepeDecode(decoder='weighted_argmax', fmin=50.0)
    """

    SETTINGS = DECODE

    transition: torch.Tensor | None

    def __init__(
        self,
        decoder: str = "viterbi",
        fmin: float | None = None,
        fmax: float | None = None,
        hmm: HMM | str = "default",
        backend: str = "auto",
    ) -> None:
        super().__init__()
        self.decoder = check_choice(decoder, "decoder", DECODERS)
        self.low, self.high = admitted_bins(fmin, fmax)
        self.fmin = None if fmin is None else float(fmin)
        self.fmax = None if fmax is None else float(fmax)
        self.model = resolve_hmm(hmm)  # the configuration itself; ``hmm`` keeps the name
        self.hmm = hmm
        self.backend = check_choice(backend, "backend", BACKENDS)
        self.register_buffer("transition", self._table(None), persistent=False)

    def _table(self, device: torch.device | None) -> torch.Tensor | None:
        if self.decoder != "viterbi":
            return None
        return log_transition(self.high - self.low + 1, self.model, device)

    def _apply(self, fn: Any, recurse: bool = True) -> CrepeDecode:
        super()._apply(fn, recurse)  # type: ignore[no-untyped-call]
        # .to(dtype) rounds floating buffers; the table stays the exact float64 one.
        if self.transition is not None and self.transition.dtype != torch.float64:
            self.transition = self._table(self.transition.device)
        return self

    def settings(self) -> dict[str, Any]:
        out = super().settings()
        out["hmm"] = self.hmm if isinstance(self.hmm, str) else self.model
        return out

    def forward(self, activation: torch.Tensor, lengths: torch.Tensor | None = None) -> Pitch:
        activation = check_activation(activation)
        if lengths is not None:
            shape, frames = tuple(activation.shape[:-2]), activation.shape[-2]
            lengths = check_lengths(lengths, shape, frames, unit="frames")
        return self.decode(activation, lengths)

    def decode(self, activation: torch.Tensor, lengths: torch.Tensor | None) -> Pitch:
        """Decode checked activations (the inside of ``forward``, for the composites)."""
        batch = pack(activation, self.low, self.high, lengths)
        return run_decoder(self.decoder, batch, self.model, self.backend, self.transition)


class CrepeSoftDecode(Configurable, nn.Module):
    """Activations → expected pitch (:func:`~crepe_transforms.functional.soft_decode`), a
    differentiable training readout.

    The ``CrepeDecode`` counterpart for losses: smooth in the activations, so gradients reach
    the network input (and the audio) through :class:`~crepe_transforms.CrepeActivation`.
    Biased on multimodal and unvoiced frames; evaluate with :class:`CrepeDecode`.

    Args:
        fmin, fmax: admitted range in Hz (see
            :func:`~crepe_transforms.functional.admitted_bins`).
        temperature: softmax temperature over the logits (default 0.2).

    Shape:
        - activation: ``(..., frames, 360)``; lengths (optional): ``(...)`` valid frames
        - output: ``Pitch(f0, periodicity)``, each ``(..., frames)``

    Example:
        >>> from crepe_transforms import CrepeActivation, CrepeFrames
        >>> model = nn.Sequential(
        ...     CrepeFrames(16000), CrepeActivation("tiny", pretrained=False), CrepeSoftDecode()
        ... )
        >>> audio = torch.randn(2, 1600, requires_grad=True)
        >>> pitch = model(audio)
        >>> pitch.f0.shape
        torch.Size([2, 11])
        >>> pitch.f0.log().mean().backward()
        >>> audio.grad.shape
        torch.Size([2, 1600])
        >>> CrepeSoftDecode(fmin=50.0, temperature=0.1)
        CrepeSoftDecode(fmin=50.0, temperature=0.1)
    """

    SETTINGS = SOFT_DECODE

    def __init__(
        self,
        fmin: float | None = None,
        fmax: float | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> None:
        super().__init__()
        admitted_bins(fmin, fmax)  # validate now, not at the first forward
        self.fmin = None if fmin is None else float(fmin)
        self.fmax = None if fmax is None else float(fmax)
        self.temperature = check_temperature(temperature)

    def forward(self, activation: torch.Tensor, lengths: torch.Tensor | None = None) -> Pitch:
        return soft_decode(activation, self.fmin, self.fmax, self.temperature, lengths)
