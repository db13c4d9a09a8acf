"""The transforms inside ``torch.compile`` (issue 13 item 4).

The transforms run their block engine and thread pool outside the graph
(``torch.compiler.disable``), so a compiled user model breaks the graph around them and
compiles the rest: its outputs equal eager ones, and a training step through a head compiles
and backpropagates. ``eager``/``aot_eager`` backends check the tracing; one test runs the
default inductor backend (C++ code generation, the slowest) on a small head.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import torch
from torch import nn

from crepe_transforms import CrepeEmbedding, CrepeLoudness, CrepePitch

pytestmark = pytest.mark.usefixtures("reset_dynamo")


@pytest.fixture
def reset_dynamo() -> Iterator[None]:
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def audio(shape: tuple[int, ...] = (2, 8000), seed: int = 0) -> torch.Tensor:
    return 0.1 * torch.randn(shape, generator=torch.Generator().manual_seed(seed))


class Head(nn.Module):
    """A user model: CREPE embeddings (frozen) → mean over frames → a trainable linear."""

    def __init__(self, embedding: CrepeEmbedding, classes: int = 3) -> None:
        super().__init__()
        self.embedding = embedding
        torch.manual_seed(0)
        self.linear = nn.Linear(32 * 8, classes)  # tiny: (32, 8) per frame

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        features = self.embedding(waveform)  # (batch, frames, 32, 8)
        return self.linear(features.flatten(-2).mean(-2))


@pytest.mark.parametrize("backend", ["eager", "aot_eager"])
def test_compiled_sequential_embedding_equals_eager(backend: str) -> None:
    model = nn.Sequential(CrepeEmbedding(16000, "tiny"))
    x = audio()
    eager = model(x)
    compiled = torch.compile(model, backend=backend)(x)
    assert compiled.shape == (2, 51, 32, 8)
    assert torch.equal(compiled, eager)


@pytest.mark.parametrize("backend", ["eager", "aot_eager"])
def test_compiled_pitch_and_loudness_equal_eager(backend: str) -> None:
    pitch = CrepePitch(16000, "tiny", voicing=0.3)
    loudness = CrepeLoudness(16000)
    x = audio()
    expected = pitch(x)
    got = torch.compile(pitch, backend=backend)(x)
    assert torch.equal(got.f0.isnan(), expected.f0.isnan())
    assert torch.equal(got.f0.nan_to_num(), expected.f0.nan_to_num())
    assert torch.equal(got.periodicity, expected.periodicity)
    # loudness is plain tensor code: it is traced, not skipped (FFT sums may reorder)
    torch.testing.assert_close(
        torch.compile(loudness, backend=backend)(x), loudness(x), rtol=0, atol=1e-4
    )


def test_compiled_training_step_backpropagates_through_the_head() -> None:
    x = audio((4, 4000), seed=1)
    target = torch.tensor([0, 1, 2, 1])

    def step(model: Head) -> tuple[torch.Tensor, torch.Tensor]:
        model.linear.zero_grad()
        loss = nn.functional.cross_entropy(model(x), target)
        loss.backward()
        assert model.linear.weight.grad is not None
        return loss.detach(), model.linear.weight.grad.clone()

    eager_model = Head(CrepeEmbedding(16000, "tiny"))
    compiled_model = Head(CrepeEmbedding(16000, "tiny"))
    eager_loss, eager_grad = step(eager_model)
    compiled_loss, compiled_grad = step(torch.compile(compiled_model, backend="aot_eager"))
    assert float(compiled_grad.abs().sum()) > 0
    # CREPE stays frozen: only the head learns
    assert all(p.grad is None for p in compiled_model.embedding.parameters())
    # aot_eager runs the same ops in a traced order: float32 reordering at most
    torch.testing.assert_close(compiled_loss, eager_loss, rtol=1e-6, atol=0)
    torch.testing.assert_close(compiled_grad, eager_grad, rtol=1e-5, atol=1e-7)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler for inductor"
)
def test_default_inductor_backend_on_a_linear_head() -> None:
    model = Head(CrepeEmbedding(16000, "tiny", pretrained=False))
    x = audio((2, 3200), seed=2)
    with torch.no_grad():
        eager = model(x)
        compiled = torch.compile(model)(x)  # the default backend: inductor
    assert compiled.shape == (2, 3)
    # inductor fuses the head's mean and matmul: float32 reordering of sums only
    torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=1e-6)
