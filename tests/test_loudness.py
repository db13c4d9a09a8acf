"""A-weighted loudness: absolute level, frame alignment with pitch, batching, errors."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch

from crepe_transforms import CrepeFrames, CrepeLoudness
from crepe_transforms.constants import DEFAULT_FLOOR_DB
from crepe_transforms.exceptions import ParameterError
from crepe_transforms.functional import a_weighted_loudness, num_frames
from crepe_transforms.functional._internal import a_weighting_db


def sine(f: float, seconds: float, sr: int, amplitude: float = 1.0) -> torch.Tensor:
    t = torch.arange(round(seconds * sr), dtype=torch.float64) / sr
    return (amplitude * torch.sin(2 * math.pi * f * t)).float()


def test_a_weighting_reference_values() -> None:
    # IEC 61672-1 table values, rounded to 0.1 dB at nominal (not exact base-10) frequencies.
    f = torch.tensor([50.0, 100.0, 1000.0, 4000.0, 10000.0], dtype=torch.float64)
    expected = torch.tensor([-30.2, -19.1, 0.0, 1.0, -2.5], dtype=torch.float64)
    torch.testing.assert_close(a_weighting_db(f), expected, rtol=0, atol=0.1)
    assert a_weighting_db(torch.tensor([0.0])).isneginf().all()


@pytest.mark.parametrize("sr", [8000, 16000, 44100])
def test_full_scale_1khz_sine_is_zero_db_and_level_is_absolute(sr: int) -> None:
    loud = a_weighted_loudness(torch.stack([sine(1000, 1, sr), sine(1000, 1, sr, 0.5)]), sr)
    middle = loud[:, 20:-20]  # away from the zero-padded edges
    # Hann-window leakage into neighbouring bins weighted by A(f) ≈ 0 dB: < 0.01 dB.
    torch.testing.assert_close(middle[0], torch.zeros_like(middle[0]), rtol=0, atol=0.01)
    torch.testing.assert_close(middle[1], torch.full_like(middle[1], -6.0206), rtol=0, atol=0.01)


def test_a_weighting_is_applied() -> None:
    loud = a_weighted_loudness(sine(100, 1, 16000), 16000)
    # A(100 Hz) = -19.1 dB; window leakage at 100 Hz: ±0.1 dB.
    assert abs(float(loud[50]) + 19.1) < 0.1


def test_digital_silence_is_the_floor() -> None:
    assert a_weighted_loudness(torch.zeros(3200), 16000).eq(DEFAULT_FLOOR_DB).all()
    assert a_weighted_loudness(torch.zeros(3200), 16000, floor_db=-90.0).eq(-90.0).all()


def test_value_does_not_depend_on_the_rest_of_the_signal() -> None:
    quiet = sine(440, 1.0, 16000, 0.01)
    louder = torch.cat([quiet, sine(440, 1.0, 16000, 1.0)])
    a = a_weighted_loudness(quiet, 16000)
    b = a_weighted_loudness(louder, 16000)
    # Frames whose 64 ms window ends before the loud part are unchanged (float32 FFT noise).
    torch.testing.assert_close(b[:90], a[:90], rtol=0, atol=1e-4)


@pytest.mark.parametrize(("sr", "hop"), [(16000, None), (22050, None), (44100, 512), (8000, 1)])
def test_frames_align_with_crepe_frames(sr: int, hop: int | None) -> None:
    frames = CrepeFrames(sr, hop)
    for n in (1, 999, sr):
        loud = CrepeLoudness(sr, hop)(torch.zeros(2, n))
        assert loud.shape == (2, num_frames(n, frames.hop_length))


def test_frame_centres_follow_the_hop(tone: Callable[..., torch.Tensor]) -> None:
    sr, hop = 16000, 160
    x = torch.zeros(sr)
    x[8000:] = tone(440.0, 0.5, sr)
    loud = a_weighted_loudness(x, sr, hop)
    # Frame 50 is centred on the onset (sample 8000): half its window's energy is sound, so
    # -3 dB from the steady state (±0.5 dB: leakage of the abrupt onset).
    assert float(loud[45]) < -100 < float(loud[55])
    assert abs(float(loud[50]) - float(loud[70]) + 3.0) < 0.5


def test_padded_batch_equals_items_alone() -> None:
    g = torch.Generator().manual_seed(0)
    items = [torch.randn(n, generator=g) * 0.1 for n in (16000, 7000, 12345)]
    batch = torch.randn(3, 16000, generator=g)  # garbage past each length
    for k, x in enumerate(items):
        batch[k, : len(x)] = x
    lengths = torch.tensor([len(x) for x in items])
    out = CrepeLoudness(16000)(batch, lengths)
    for k, x in enumerate(items):
        alone = CrepeLoudness(16000)(x)
        torch.testing.assert_close(out[k, : len(alone)], alone, rtol=0, atol=0)
        assert out[k, len(alone) :].isnan().all()


def test_module_config_buffers_and_gradient() -> None:
    module = CrepeLoudness(44100, hop_length=441, floor_db=-100.0)
    assert module.extra_repr() == "sample_rate=44100, floor_db=-100.0"
    assert CrepeLoudness(16000, hop_length=256).extra_repr() == "sample_rate=16000, hop_length=256"
    assert module.state_dict() == {}
    x = (sine(300, 0.2, 44100) * 0.3).requires_grad_(True)
    module(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0
    assert module.double()(x.double().detach()).dtype == torch.float64


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: CrepeLoudness(0), "sample_rate=0 must be positive"),
        (lambda: CrepeLoudness(16000, hop_length=0), "hop_length must be a positive integer"),
        (lambda: CrepeLoudness(16000, floor_db="low"), "floor_db must be a number of dB"),
        (
            lambda: a_weighted_loudness(torch.zeros(9), 16000, floor_db=None),
            "floor_db must be a number of dB",
        ),
        (
            lambda: a_weighted_loudness(torch.zeros(9), 16000, hop_length=-1),
            "hop_length must be a positive integer, got -1",
        ),
        (
            lambda: a_weighted_loudness(torch.zeros(10, dtype=torch.int16), 16000),
            r"integer dtype torch\.int16.*32768",
        ),
        (lambda: a_weighted_loudness(torch.zeros(0), 16000), "empty or too short"),
        (
            lambda: a_weighted_loudness(torch.tensor([0.0, math.nan]), 16000),
            "contains 1 NaN or Inf samples",
        ),
        (
            lambda: a_weighted_loudness(torch.zeros(2, 100), 16000, lengths=torch.tensor([5, 101])),
            "exceeds the time axis",
        ),
    ],
)
def test_errors(call: Callable[[], object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        call()
