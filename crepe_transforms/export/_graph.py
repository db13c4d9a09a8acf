"""Exportable graphs: the network alone, and 16 kHz audio → pitch in one graph.

``torch.export`` and ONNX need a fixed sequence of tensor operations whose sizes may be
symbolic. The eager transforms are not that: they resample in numpy, run chunk loops on worker
threads and convolve in the frequency domain (complex FFT kernels that neither exporter takes).
So the graphs here are built from the same parts and settings, with exportable twins of the
few functions that differ:

- :func:`frame_audio`: centred framing by ``unfold`` on the zero-padded signal (the framing
  rule of ``CrepeFrames`` at 16 kHz: frame ``i`` is ``audio[i·hop − 512 : i·hop + 512]``,
  ``1 + T // hop`` frames);
- :func:`normalize_rows`: zero mean and unit std per frame, from a mean of squares;
- :func:`decode_bins`: argmax or the original CREPE local average, and bins → Hz;
- the network on its ``"direct"`` path in float32 (the layers as written).

The exported graphs agree with the eager transforms to float rounding; ``tests/test_export.py``
holds them to the bars of issue 15.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._tables import EXPORT_DECODERS
from ..constants import (
    CENTS_OFFSET,
    CENTS_PER_BIN,
    CENTS_REFERENCE_HZ,
    CREPE_STD_FLOOR,
    N_BINS,
    SAMPLE_RATE,
    TORCHCREPE_STD_FLOOR,
    WINDOW_SIZE,
)
from ..exceptions import ParameterError
from ..model import Crepe
from ..transforms import CrepeActivation, CrepeDecode, CrepeFrames

__all__ = [
    "EXPORT_DECODERS",
    "NORMALIZATION_RULES",
    "NetworkGraph",
    "PitchGraph",
    "bins_rule",
    "check_pitch_parts",
    "decode_bins",
    "decoding_rule",
    "frame_audio",
    "normalize_rows",
]


_RADIUS = 4  # the original CREPE local average: argmax − 4 … argmax + 4

#: What :func:`normalize_rows` does under each ``normalization``, in words (for sidecars).
NORMALIZATION_RULES: dict[str, str] = {
    "crepe": f"zero mean, population std (divide by 1024), floor {CREPE_STD_FLOOR:g}",
    "torchcrepe": f"zero mean, unbiased std (divide by 1023), floor {TORCHCREPE_STD_FLOOR:g}",
    "none": "none (frames as cut)",
}


def frame_audio(audio: torch.Tensor, hop_length: int) -> torch.Tensor:
    """Centred 1024-sample windows of zero-padded 16 kHz audio, every ``hop_length`` samples.

    Shape:
        ``(..., T)`` → ``(..., 1 + T // hop_length, 1024)``

    Example:
        >>> frame_audio(torch.arange(1.0, 321.0)[None], 160).shape
        torch.Size([1, 3, 1024])
    """
    half = WINDOW_SIZE // 2
    return F.pad(audio, (half, half)).unfold(-1, WINDOW_SIZE, hop_length)


def normalize_rows(frames: torch.Tensor, normalization: str = "crepe") -> torch.Tensor:
    """Zero mean, unit std per frame: ``"crepe"`` (population std, floor 1e-8),
    ``"torchcrepe"`` (unbiased std, floor 1e-10) or ``"none"``.

    Example:
        >>> x = normalize_rows(torch.arange(1024.0)[None])
        >>> round(float(x.mean()), 6), round(float(x.std(correction=0)), 5)
        (0.0, 1.0)
    """
    if normalization == "none":
        return frames
    centred = frames - frames.mean(dim=-1, keepdim=True)
    squares = centred.square().sum(dim=-1, keepdim=True)
    if normalization == "crepe":
        std = (squares / WINDOW_SIZE).sqrt().clamp_min(CREPE_STD_FLOOR)
    else:
        std = (squares / (WINDOW_SIZE - 1)).sqrt().clamp_min(TORCHCREPE_STD_FLOOR)
    return centred / std


def decode_bins(
    activation: torch.Tensor, low: int = 0, high: int = N_BINS - 1, weighted: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """f0 in Hz and periodicity from ``(..., 360)`` salience, over bins ``low … high``.

    ``weighted=True`` is the original CREPE local average around the argmax (the decoder
    ``"weighted_argmax"``), ``False`` the argmax bin's centre.

    Shape:
        ``(..., 360)`` → two ``(...)`` tensors

    Example:
        >>> act = torch.zeros(1, 360)
        >>> act[0, 100], act[0, 101] = 0.6, 0.6
        >>> decode_bins(act)
        (tensor([101.2242]), tensor([0.6000]))
    """
    admitted = activation[..., low : high + 1]
    states = high - low + 1
    periodicity, index = admitted.max(dim=-1)
    bins = index.to(admitted.dtype)
    if weighted:
        offsets = torch.arange(-_RADIUS, _RADIUS + 1, device=admitted.device)
        window = index.unsqueeze(-1) + offsets
        inside = (window >= 0) & (window < states)
        weights = admitted.gather(-1, window.clamp(0, states - 1)) * inside.to(admitted.dtype)
        total = weights.sum(dim=-1)
        shift = (weights * offsets.to(admitted.dtype)).sum(dim=-1)
        tiny = torch.finfo(admitted.dtype).tiny
        bins = bins + torch.where(total > 0, shift / total.clamp_min(tiny), torch.zeros_like(shift))
    cents = CENTS_PER_BIN * (bins + low) + CENTS_OFFSET
    return CENTS_REFERENCE_HZ * torch.exp2(cents / 1200.0), periodicity


def bins_rule() -> dict[str, Any]:
    """How :func:`decode_bins` turns a bin into Hz, in words and numbers (for sidecars)."""
    reference = f"{CENTS_REFERENCE_HZ:g}"
    return {
        "count": N_BINS,
        "cents": f"{CENTS_PER_BIN:g} * bin + {CENTS_OFFSET!r} (relative to {reference} Hz)",
        "hz": f"{reference} * 2 ** (cents / 1200)",
        "cents_per_bin": CENTS_PER_BIN,
        "cents_offset": CENTS_OFFSET,
        "reference_hz": CENTS_REFERENCE_HZ,
    }


def decoding_rule(decoder: str, low: int, high: int) -> dict[str, Any]:
    """How salience becomes f0 and periodicity (:func:`decode_bins`), for sidecars: enough to
    reproduce ``CrepeDecode(decoder)`` on the bins ``low … high`` without the package."""
    return {
        "decoder": decoder,
        "low_bin": low,
        "high_bin": high,
        "periodicity": "s = salience[low_bin : high_bin + 1]; periodicity = max(s)",
        "bin": (
            "i = argmax(s); bin = i + sum(k * s[i + k]) / sum(s[i + k]) over k = -radius … "
            "radius with 0 <= i + k < len(s) (the original CREPE local average; bin = i when "
            "the sum is 0)"
            if decoder == "weighted_argmax"
            else "i = argmax(s); bin = i"
        ),
        "radius": _RADIUS if decoder == "weighted_argmax" else 0,
        "hz": "10 * 2 ** ((cents_per_bin * (bin + low_bin) + cents_offset) / 1200), see bins",
    }


def check_pitch_parts(frames: object, decode: object) -> None:
    """Raise unless ``frames`` and ``decode`` make an exportable whole path."""
    if not isinstance(frames, CrepeFrames) or not isinstance(decode, CrepeDecode):
        raise ParameterError(
            "frames must be a CrepeFrames and decode a CrepeDecode, got "
            f"{type(frames).__name__} and {type(decode).__name__}."
        )
    if frames.sample_rate != SAMPLE_RATE:
        raise ParameterError(
            f"the exported pitch graph starts from {SAMPLE_RATE} Hz audio, got a CrepeFrames "
            f"at sample_rate={frames.sample_rate}. Resample before the graph (e.g. with "
            f"crepe_transforms.functional.resample) and use CrepeFrames({SAMPLE_RATE}, "
            f"hop_length=...) with the hop in 16 kHz samples."
        )
    if decode.decoder not in EXPORT_DECODERS:
        raise ParameterError(
            f"decoder={decode.decoder!r} does not export: Viterbi is a loop over a "
            f"data-dependent number of frames. Export decoder='weighted_argmax' or 'argmax', "
            f"or export the network and decode its activations with CrepeDecode('viterbi')."
        )


def _direct_network(activation: CrepeActivation) -> Crepe:
    """A float32 copy of the network that runs its layers as written (the exportable path)."""
    if not isinstance(activation, CrepeActivation):
        raise ParameterError(
            f"activation must be a CrepeActivation, got {type(activation).__name__}."
        )
    network = copy.deepcopy(activation.network).float().cpu()
    network.algorithm, network.precision = "direct", "fp32"
    return network


class NetworkGraph(nn.Module):
    """The CREPE network as an exportable graph: normalised frames → salience.

    Args:
        activation: the network to export (its weights; any capacity).

    Shape:
        ``(N, 1024)`` float32 → ``(N, 360)``

    Example:
        >>> graph = NetworkGraph(CrepeActivation("tiny", pretrained=False))
        >>> graph(torch.randn(3, 1024)).shape
        torch.Size([3, 360])
    """

    def __init__(self, activation: CrepeActivation) -> None:
        super().__init__()
        self.capacity = activation.capacity
        self.network = _direct_network(activation)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        salience: torch.Tensor = self.network(frames)
        return salience


class PitchGraph(nn.Module):
    """16 kHz audio → ``(f0, periodicity)`` as one exportable graph (CREPE's whole path).

    Built from the parts of a :class:`~crepe_transforms.CrepePitch` at 16 kHz: the framing
    (``hop_length``, ``normalization``), the network and the decoder (``weighted_argmax`` or
    ``argmax``, with ``fmin``/``fmax``). Rows of a batch are independent; pad them with
    zeros and drop the frames past each row's ``1 + length // hop_length``.

    Args:
        frames: a ``CrepeFrames`` at 16000 Hz (resample other rates before the graph).
        activation: the network.
        decode: a ``CrepeDecode`` with decoder ``"weighted_argmax"`` (default) or ``"argmax"``.

    Shape:
        ``(B, T)`` float32 → f0 ``(B, 1 + T // hop_length)`` in Hz and periodicity, same shape

    Example:
        >>> graph = PitchGraph(CrepeFrames(16000), CrepeActivation("tiny", pretrained=False))
        >>> [t.shape for t in graph(torch.randn(2, 1600))]
        [torch.Size([2, 11]), torch.Size([2, 11])]
    """

    def __init__(
        self,
        frames: CrepeFrames,
        activation: CrepeActivation,
        decode: CrepeDecode | None = None,
    ) -> None:
        super().__init__()
        decode = CrepeDecode("weighted_argmax") if decode is None else decode
        check_pitch_parts(frames, decode)
        self.capacity = activation.capacity
        self.hop_length = frames.hop_length
        self.normalization = frames.normalization
        self.decoder = decode.decoder
        self.fmin, self.fmax = decode.fmin, decode.fmax
        self.low, self.high = decode.low, decode.high
        self.network = _direct_network(activation)

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        frames = normalize_rows(frame_audio(audio, self.hop_length), self.normalization)
        batch, count = frames.shape[0], frames.shape[1]
        salience = self.network(frames.reshape(-1, WINDOW_SIZE)).reshape(batch, count, N_BINS)
        return decode_bins(salience, self.low, self.high, self.decoder == "weighted_argmax")
