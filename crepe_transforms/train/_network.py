"""A trainable CREPE network and CREPE's loss, for fine-tuning.

:class:`~crepe_transforms.model.Crepe` is frozen by design (parameters without gradients,
always in eval mode), which is what feature layers need. :class:`TrainableCrepe` holds one and
unlocks what fine-tuning needs: gradients for its parameters, the direct convolution path,
logits instead of probabilities (binary cross-entropy is computed stably from logits), and a
choice for the BatchNorm statistics: ``"frozen"`` keeps the published running statistics (the
affine BatchNorm parameters still train), ``"update"`` normalises with batch statistics and
updates the running ones (Keras's momentum, 0.99).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_capacity, check_choice
from ..exceptions import ParameterError
from ..model import Crepe

__all__ = ["BN_MODES", "CrepeLoss", "TrainableCrepe", "torchcrepe_layout"]

#: BatchNorm statistics during training: kept as published, or updated from the batches.
BN_MODES = ("frozen", "update")
#: Keras BatchNormalization momentum 0.99 (original CREPE) in PyTorch's convention.
_BN_MOMENTUM = 0.01


def torchcrepe_layout(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """This package's network state dict → torchcrepe's layout (conv kernels ``(o, i, k, 1)``),
    the layout of published files and of the files :func:`finetune` writes."""
    # Copies, never views: a snapshot of the weights must not follow later training steps.
    return {
        k: (
            v.detach().unsqueeze(-1)
            if k.startswith("conv") and k.endswith(".weight") and v.dim() == 3
            else v.detach()
        )
        .to("cpu", copy=True)
        .contiguous()
        for k, v in state_dict.items()
    }


class TrainableCrepe(nn.Module):
    """CREPE with trainable parameters: ``(N, 1024)`` normalised frames → ``(N, 360)`` logits.

    Args:
        capacity: CREPE model size.
        state_dict: torchcrepe-layout weights to start from (e.g.
            ``weights.load_state_dict("tiny")``); ``None`` keeps the random initialisation.
        bn: ``"frozen"`` (default) or ``"update"``; see the module docstring.

    ``.network`` is a plain :class:`~crepe_transforms.model.Crepe`; after training its weights
    are the model (:meth:`torchcrepe_state_dict`).

    Shape:
        ``(N, 1024)`` → ``(N, 360)``

    Example:
        >>> model = TrainableCrepe("tiny")
        >>> logits = model(torch.randn(4, 1024))
        >>> logits.shape, logits.requires_grad
        (torch.Size([4, 360]), True)
    """

    def __init__(
        self,
        capacity: str = "tiny",
        state_dict: Mapping[str, torch.Tensor] | None = None,
        bn: str = "frozen",
    ) -> None:
        super().__init__()
        self.capacity = check_capacity(capacity)
        self.bn = check_choice(bn, "bn", BN_MODES)
        self.network = Crepe(capacity, algorithm="direct")
        if state_dict is not None:
            self.network.load_torchcrepe_state_dict(state_dict)
        for parameter in self.network.parameters():
            parameter.requires_grad_(True)

    def extra_repr(self) -> str:
        return f"capacity={self.capacity!r}, bn={self.bn!r}"

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        net = self.network
        update = self.bn == "update" and self.training
        x = frames.unsqueeze(1)
        for i in range(1, 7):
            conv: nn.Conv1d = getattr(net, f"conv{i}")
            norm: nn.BatchNorm1d = getattr(net, f"conv{i}_BN")
            x = F.relu(conv(F.pad(x, net._paddings[i - 1])))
            x = F.batch_norm(
                x,
                norm.running_mean,
                norm.running_var,
                norm.weight,
                norm.bias,
                training=update,
                momentum=_BN_MOMENTUM,
                eps=norm.eps,
            )
            x = F.max_pool1d(x, 2, 2)
        # Keras flattens channels-last: every channel of position 0 first (as Crepe does).
        x = x.transpose(1, 2).reshape(x.shape[0], -1)
        logits: torch.Tensor = net.classifier(x)
        return logits

    def torchcrepe_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights in torchcrepe's layout, loadable by every transform (CPU copies)."""
        return torchcrepe_layout(self.network.state_dict())


class CrepeLoss(nn.Module):
    """Binary cross-entropy between the network's output and CREPE targets (the paper's loss).

    Averaged over bins and over the frames where ``mask`` is True (every frame without one).
    Targets may be soft, e.g. :func:`~crepe_transforms.functional.pitch_target` or another
    model's salience (distillation).

    Args:
        logits: ``True`` (default) when the input is logits (stable); ``False`` for
            probabilities, e.g. the output of a :class:`~crepe_transforms.CrepeActivation`.

    Shape:
        ``(..., 360)``, ``(..., 360)``, optional ``(...)`` bool → scalar

    Example:
        >>> from crepe_transforms.functional import pitch_target
        >>> loss = CrepeLoss()
        >>> target = pitch_target(torch.tensor([220.0, 0.0]))
        >>> float(loss(torch.full((2, 360), -20.0), target, torch.tensor([False, True]))) < 1e-6
        True
    """

    def __init__(self, logits: bool = True) -> None:
        super().__init__()
        if not isinstance(logits, bool):
            raise ParameterError(f"logits must be True or False, got {logits!r}.")
        self.logits = logits

    def extra_repr(self) -> str:
        return "" if self.logits else "logits=False"

    def forward(
        self, output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        if output.shape != target.shape:
            raise ParameterError(
                f"output and target must have the same shape, got {tuple(output.shape)} and "
                f"{tuple(target.shape)}; build targets with pitch_target(f0) for f0 of shape "
                f"{tuple(output.shape[:-1])}."
            )
        if self.logits:
            per_bin = F.binary_cross_entropy_with_logits(output, target, reduction="none")
        else:
            per_bin = F.binary_cross_entropy(output, target, reduction="none")
        per_frame = per_bin.mean(-1)
        if mask is None:
            return per_frame.mean()
        if mask.shape != per_frame.shape:
            raise ParameterError(
                f"mask must have shape {tuple(per_frame.shape)} (one flag per frame), got "
                f"{tuple(mask.shape)}."
            )
        weights = mask.to(per_frame.dtype)
        return (per_frame * weights).sum() / weights.sum().clamp_min(1.0)
