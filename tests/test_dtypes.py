"""Any real floating input dtype works (issue 13 item 5), with documented output dtypes.

- audio is processed in float32 (float64 stays float64): CrepeFrames and CrepeLoudness give
  float32 for bfloat16/float16/float32 audio and float64 for float64 audio;
- networks compute in the module's dtype: CrepeActivation, CrepeEmbedding and the decoded
  pitch of CrepePitch come out in the network's dtype (float32 unless moved with ``.to``),
  whatever the audio's dtype; float64 frames into a float32 CrepeActivation are converted.

Low-precision audio is widened before anything is computed, so its outputs are exactly the
outputs of the widened audio; against the float32 original they differ by the input's own
rounding (bfloat16 keeps 8 significant bits, float16 11).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from crepe_transforms import (
    CrepeActivation,
    CrepeEmbedding,
    CrepeFrames,
    CrepeLoudness,
    CrepePitch,
    CrepeSoftDecode,
)
from crepe_transforms.functional import hz_to_cents

LOW = [torch.bfloat16, torch.float16]
ALL = [torch.bfloat16, torch.float16, torch.float32, torch.float64]
#: frames are normalised to unit std: an input rounding of 2**-9 (bf16) of a sample moves a
#: frame value by about 2**-9 times its magnitude (≤ ~4 here), so 2e-2 for bf16, 3e-3 for fp16
FRAME_ATOL = {torch.bfloat16: 2e-2, torch.float16: 3e-3, torch.float64: 1e-5}


def audio_dtype(dtype: torch.dtype) -> torch.dtype:
    """The documented processing dtype of audio of ``dtype``."""
    return torch.float64 if dtype == torch.float64 else torch.float32


@pytest.fixture(scope="module")
def voice() -> torch.Tensor:
    """0.5 s of a 196 Hz harmonic tone at 22.05 kHz (resampled: the resampler sees the dtype)."""
    t = torch.arange(11025, dtype=torch.float64) / 22050
    x = sum(torch.sin(2 * torch.pi * 196.0 * k * t) / k for k in (1, 2, 3, 4))
    return (0.3 * torch.as_tensor(x)).float()


@pytest.mark.parametrize("dtype", ALL)
@pytest.mark.parametrize("sr", [16000, 22050])
def test_frames(dtype: torch.dtype, sr: int, voice: torch.Tensor) -> None:
    frames = CrepeFrames(sr)
    x = voice.to(dtype)
    out = frames(x)
    assert out.dtype == audio_dtype(dtype)
    assert torch.equal(out, frames(x.to(audio_dtype(dtype))))  # widened first, nothing else
    if dtype != torch.float32:
        reference = frames(voice)
        torch.testing.assert_close(out.float(), reference, rtol=0, atol=FRAME_ATOL[dtype])


@pytest.mark.parametrize("dtype", ALL)
def test_loudness(dtype: torch.dtype, voice: torch.Tensor) -> None:
    loudness = CrepeLoudness(22050)
    x = voice.to(dtype)
    out = loudness(x)
    assert out.dtype == audio_dtype(dtype)
    assert torch.equal(out, loudness(x.to(audio_dtype(dtype))))
    # a level in dB: input rounding of 2**-9 relative moves it by < 0.05 dB
    torch.testing.assert_close(out.float(), loudness(voice), rtol=0, atol=0.05)


@pytest.mark.parametrize("dtype", ALL)
def test_pitch_comes_out_in_the_networks_dtype(dtype: torch.dtype, voice: torch.Tensor) -> None:
    model = CrepePitch(22050, "tiny")
    x = voice.to(dtype)
    with torch.inference_mode():
        out = model(x)
        widened = model(x.to(audio_dtype(dtype)))
        reference = model(voice)
    assert out.f0.dtype == out.periodicity.dtype == torch.float32
    assert torch.equal(out.f0, widened.f0)
    # Interior frames of a clean tone: the input's rounding moves f0 by well under a bin
    # (20 cents); measured < 3 cents for bfloat16.
    cents = (hz_to_cents(out.f0.double()) - hz_to_cents(reference.f0.double())).abs()
    assert float(cents[5:-5].max()) < 10.0
    assert float((hz_to_cents(out.f0[5:-5].double()) - hz_to_cents(196.0)).abs().max()) < 50


def test_pitch_of_a_float64_network_is_float64(voice: torch.Tensor) -> None:
    model = CrepePitch(22050, "tiny").double()
    reference = CrepePitch(22050, "tiny")
    for dtype in ALL:
        with torch.inference_mode():
            out = model(voice.to(dtype))
        assert out.f0.dtype == out.periodicity.dtype == torch.float64
    with torch.inference_mode():
        out64, out32 = model(voice), reference(voice)
    # float64 vs float32 arithmetic on the same weights: float32 noise in the activations
    torch.testing.assert_close(out64.periodicity.float(), out32.periodicity, rtol=0, atol=1e-4)


@pytest.mark.parametrize("dtype", ALL)
def test_embedding(dtype: torch.dtype, voice: torch.Tensor) -> None:
    model = CrepeEmbedding(22050, "tiny")
    x = voice.to(dtype)
    with torch.inference_mode():
        out = model(x)
        reference = model(voice)
    assert out.dtype == torch.float32  # the network's dtype
    assert out.shape == reference.shape
    if dtype == torch.float64:  # float64 frames rounded to the float32 network
        torch.testing.assert_close(out, reference, rtol=0, atol=1e-4)
    else:  # block-5 outputs up to ~10: the input's rounding, amplified by the network
        scale = float(reference.abs().max())
        error = float((out - reference).abs().max()) / scale
        assert error < (0.05 if dtype == torch.bfloat16 else 0.01)


def test_float64_frames_into_a_float32_activation_are_converted() -> None:
    act = CrepeActivation("tiny")
    frames = CrepeFrames(16000)(torch.randn(4000, generator=torch.Generator().manual_seed(0)))
    frames64 = frames.double()
    out = act(frames64)
    assert out.dtype == torch.float32
    assert torch.equal(out, act(frames64.float()))
    assert act.embedding(frames64).dtype == torch.float32
    # bfloat16 frames too: converted to the module's dtype before the network
    assert torch.equal(act(frames.bfloat16()), act(frames.bfloat16().float()))


@pytest.mark.parametrize("dtype", LOW)
def test_reduced_precision_module_takes_float32_frames(dtype: torch.dtype) -> None:
    act = CrepeActivation("tiny", pretrained=False).to(dtype)
    out = act(torch.randn(3, 1024))
    assert out.dtype == dtype


def test_soft_decode_pipeline_keeps_its_dtype_rule(voice: torch.Tensor) -> None:
    frames, act, soft = CrepeFrames(22050), CrepeActivation("tiny"), CrepeSoftDecode()
    pitch: Callable[[torch.Tensor], torch.Tensor] = lambda x: soft(act(frames(x))).f0  # noqa: E731
    assert pitch(voice.to(torch.bfloat16)).dtype == torch.float32
    assert pitch(voice.double()).dtype == torch.float32  # frames float64, network float32
