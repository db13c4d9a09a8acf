"""The CREPE network: parity with the original Keras model, freezing, gradients, shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from crepe_transforms import CrepeActivation
from crepe_transforms.constants import CAPACITIES
from crepe_transforms.model import Crepe, expected_shapes

# SPEC §2 parameter counts.
PARAMETERS = {"tiny": 486_552, "full": 22_239_976}


@pytest.mark.parametrize("capacity", ["tiny", "full"])
def test_parity_with_original_crepe(capacity: str, fixtures_dir: Path) -> None:
    frames = torch.from_numpy(np.load(fixtures_dir / "frames-crepe.npy"))
    reference = np.load(fixtures_dir / f"activation-{capacity}.npy")
    with torch.inference_mode():
        out = CrepeActivation(capacity)(frames).numpy()
    diff = np.abs(out.astype(np.float64) - reference)
    # Bar from the fixtures README: float32 reordering of sums only, no systematic error.
    assert diff.max() < 1e-5
    assert diff.mean() < 1e-7


@pytest.mark.parametrize("capacity", ["tiny", "full"])
def test_parameter_count(capacity: str) -> None:
    net = Crepe(capacity)
    assert sum(p.numel() for p in net.parameters()) == PARAMETERS[capacity]


@pytest.mark.parametrize("capacity", list(CAPACITIES))
def test_shapes_every_capacity(capacity: str) -> None:
    net = Crepe(capacity)
    x = torch.randn(3, 1024)
    c5 = expected_shapes(capacity)["conv5.weight"][0]
    assert net(x).shape == (3, 360)
    assert net.embed(x).shape == (3, c5, 8)
    assert c5 == 8 * CAPACITIES[capacity]


def test_frozen_and_eval_even_when_parent_trains() -> None:
    torch.manual_seed(0)
    act = CrepeActivation("tiny", pretrained=False)
    parent = nn.Sequential(act, nn.Linear(360, 1))
    x = torch.randn(64, 1024) * 3 + 1  # statistics far from the stored BatchNorm ones
    before = act(x)
    state = {k: v.clone() for k, v in act.state_dict().items()}
    parent.train()
    during = act(x)
    assert not act.network.training
    assert all(not p.requires_grad for p in act.parameters())
    assert torch.equal(before, during)
    for key, value in act.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_gradient_reaches_input_frames() -> None:
    torch.manual_seed(0)
    act = CrepeActivation("tiny", pretrained=False)
    x = torch.randn(4, 1024, requires_grad=True)
    act(x).sum().backward()
    assert x.grad is not None
    assert float(x.grad.abs().sum()) > 0
    assert all(p.grad is None for p in act.parameters())


def test_embedding_matches_torchcrepe_layout(fixtures_dir: Path) -> None:
    # torchcrepe's embed reshapes block 5 (frames, C5, 8) to (frames, 32, C5 * 8 / 32).
    frames = torch.from_numpy(np.load(fixtures_dir / "frames-crepe.npy")[:50])
    act = CrepeActivation("tiny")
    emb = act.embedding(frames)
    assert emb.shape == (50, 32, 8)
    torchcrepe_layout = emb.reshape(50, 32, -1)
    assert torchcrepe_layout.shape == (50, 32, 8)
    # Block 5 feeds block 6; recomputing the classifier from it must give the activations.
    net = act.network
    x = net._block(emb, 6)
    x = x.transpose(1, 2).reshape(50, -1)
    assert torch.allclose(torch.sigmoid(net.classifier(x)), act(frames), atol=1e-6)
