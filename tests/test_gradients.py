"""One gradient rule for every transform (issue 13 item 6).

- Decoded pitch (CrepeDecode, CrepePitch, functional decoders) never carries a gradient:
  inputs that require grad are accepted and detached.
- Feature transforms (CrepeFrames, CrepeActivation, CrepeEmbedding, CrepeLoudness,
  CrepeSoftDecode) pass gradients to the audio. The numpy resampler (resample="resampy" at a
  rate other than 16 kHz) cannot, and says so with a ParameterError naming
  resample='torchaudio'; with resample="torchaudio" the gradient reaches the audio.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from crepe_transforms import (
    CrepeActivation,
    CrepeDecode,
    CrepeEmbedding,
    CrepeFrames,
    CrepeLoudness,
    CrepePitch,
    CrepeSoftDecode,
    ParameterError,
)

RESAMPY_REFUSES = (
    r"resample='resampy' runs in numpy and cannot pass gradients.*resample='torchaudio'"
)


def audio(n: int = 44100, seed: int = 0) -> torch.Tensor:
    """Audio that requires grad through a product (a non-leaf), as in a training step."""
    leaf = torch.randn(n, generator=torch.Generator().manual_seed(seed), requires_grad=True)
    return leaf * 0.1


def needs_torchaudio() -> None:
    try:
        import torchaudio.functional  # noqa: F401
    except Exception as exc:  # a build for another torch fails with OSError and others
        pytest.skip(f"torchaudio does not import: {exc}")


# ------------------------------------------------------------------ decoded pitch: no gradient


@pytest.mark.parametrize("decoder", ["viterbi", "weighted_argmax", "argmax"])
def test_pitch_at_44k_accepts_audio_that_requires_grad(decoder: str) -> None:
    model = CrepePitch(44100, "tiny", decoder=decoder)
    x = audio()
    pitch = model(x)
    assert pitch.f0.shape == pitch.periodicity.shape == (101,)
    assert not pitch.f0.requires_grad
    assert not pitch.periodicity.requires_grad
    assert pitch.f0.grad_fn is None
    with torch.no_grad():
        expected = model(x)
    assert torch.equal(pitch.f0, expected.f0)
    # the activations entry point follows the same rule
    assert not model.activations(x).requires_grad


def test_decode_detaches_activations_that_require_grad() -> None:
    act = torch.rand(2, 20, 360, generator=torch.Generator().manual_seed(1)).requires_grad_()
    for decoder in ("viterbi", "weighted_argmax", "argmax"):
        pitch = CrepeDecode(decoder)(act)
        assert not pitch.f0.requires_grad
        assert not pitch.periodicity.requires_grad
    assert act.grad is None


# ------------------------------------------------------------------ features: the audio's gradient


@pytest.mark.parametrize(
    "build",
    [
        lambda: CrepeFrames(44100),
        lambda: CrepeEmbedding(44100, "tiny", pretrained=False),
        lambda: nn.Sequential(CrepeFrames(44100), CrepeActivation("tiny", pretrained=False)),
    ],
    ids=["frames", "embedding", "frames+activation"],
)
def test_resampy_refuses_a_gradient_it_cannot_pass(build: object) -> None:
    module = build()  # type: ignore[operator]
    with pytest.raises(ParameterError, match=RESAMPY_REFUSES):
        module(audio())
    with torch.no_grad():  # nothing asks for a gradient: fine
        out = module(audio())
    assert out.shape[0] == 101
    assert not out.requires_grad


@pytest.mark.parametrize("kind", ["frames", "embedding", "activation", "soft"])
def test_torchaudio_resampler_passes_the_gradient_to_the_audio(kind: str) -> None:
    needs_torchaudio()
    frames = CrepeFrames(44100, resample="torchaudio")
    act = CrepeActivation("tiny", pretrained=False)
    model: nn.Module
    if kind == "frames":
        model = frames
    elif kind == "embedding":
        model = CrepeEmbedding.from_parts(frames, act)
    elif kind == "activation":
        model = nn.Sequential(frames, act)
    else:
        model = nn.Sequential(frames, act, CrepeSoftDecode())
    leaf = torch.randn(8820, generator=torch.Generator().manual_seed(2), requires_grad=True)
    out = model(leaf * 0.1)
    value = out.f0.log() if kind == "soft" else out
    value.pow(2).mean().backward()
    assert leaf.grad is not None
    assert bool(torch.isfinite(leaf.grad).all())
    assert float(leaf.grad.abs().sum()) > 0


@pytest.mark.parametrize("sr", [16000, 44100])
def test_loudness_passes_the_gradient_at_any_rate(sr: int) -> None:
    leaf = torch.randn(sr // 5, generator=torch.Generator().manual_seed(3), requires_grad=True)
    CrepeLoudness(sr)(leaf * 0.1).mean().backward()
    assert leaf.grad is not None
    assert float(leaf.grad.abs().sum()) > 0


def test_embedding_at_16k_passes_the_gradient_and_stays_frozen() -> None:
    model = CrepeEmbedding(16000, "tiny", pretrained=False, block_frames=8, chunk_size=4)
    leaf = torch.randn(2, 1600, generator=torch.Generator().manual_seed(4), requires_grad=True)
    out = model(leaf, torch.tensor([1600, 900]))  # blocks, chunks and padding on the way
    out.sum().backward()
    assert leaf.grad is not None
    assert float(leaf.grad[0].abs().sum()) > 0
    # the second item's padding is masked before framing: it gets no gradient
    assert float(leaf.grad[1, :900].abs().sum()) > 0
    assert float(leaf.grad[1, 900:].abs().sum()) == 0
    assert all(p.grad is None for p in model.parameters())
