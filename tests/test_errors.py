"""Every bad input the foundation sees: a specific exception naming the parameter and the fix."""

from __future__ import annotations

import math

import pytest
import torch

from crepe_transforms import (
    CrepeActivation,
    CrepeCollate,
    CrepeEmbedding,
    CrepeFrames,
    CrepeLoudness,
    CrepePitch,
    MissingDependencyError,
    ParameterError,
)
from crepe_transforms.functional import frame, normalize_frames, num_frames, resample, resample_to


@pytest.fixture(scope="module")
def act() -> CrepeActivation:
    return CrepeActivation("tiny", pretrained=False)


@pytest.mark.parametrize(
    ("audio", "match"),
    [
        (torch.zeros(100, dtype=torch.int16), r"int16.*scale it to \[-1, 1\].*32768"),
        (torch.zeros(100, dtype=torch.int32), r"int32.*2147483648"),
        (torch.zeros(100, dtype=torch.uint8), r"uint8.*128"),
        (torch.zeros(100, dtype=torch.int64), r"int64.*\.float\(\)"),
        (torch.zeros(100, dtype=torch.bool), r"bool.*floating-point audio"),
        (torch.zeros(100, dtype=torch.complex64), r"complex.*\.real"),
        (torch.tensor([0.0, math.nan, 1.0]), r"1 NaN or Inf.*nan_to_num"),
        (torch.tensor([0.0, math.inf, -math.inf]), r"2 NaN or Inf"),
        pytest.param(torch.zeros(2, 0), r"empty or too short.*0 samples"),
        (torch.tensor(1.0), r"scalar.*\(\.\.\., time\)"),
    ],
)
def test_bad_audio(audio: torch.Tensor, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        CrepeFrames(16000)(audio)


def test_audio_not_a_tensor() -> None:
    with pytest.raises(ParameterError, match=r"waveform must be a torch.Tensor.*torch.as_tensor"):
        frame([0.0, 1.0], 16000)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sample_rate", "match"),
    [
        (0, r"sample_rate=0 must be positive"),
        (-16000, r"sample_rate=-16000 must be positive"),
        (44100.5, r"sample_rate=44100.5 is not an integer.*sample_rate=44100"),
        ("16000", r"sample_rate must be a positive integer.*got '16000' \(str\)"),
        (None, r"sample_rate must be a positive integer.*NoneType"),
        (True, r"sample_rate must be a positive integer"),
        (math.nan, r"sample_rate must be a positive integer"),
        # a rate in kHz ran silently in 0.2 (44 → 44,101 frames a second of audio): issue 22
        (
            44,
            r"sample_rate=44 is outside the audio rates 1000\.\.768000: sample_rate is in Hz, "
            r"not kHz: 44 kHz is sample_rate=44000",
        ),
        (
            22.05,
            r"sample_rate=22.05 .*sample_rate is in Hz, not kHz: 22.05 kHz is "
            r"sample_rate=22050",
        ),
        (999, r"sample_rate=999 is outside the audio rates .*sample_rate is in Hz"),
        (768_001, r"sample_rate=768001 is outside the audio rates .*sample_rate is in Hz\."),
    ],
)
def test_bad_sample_rate(sample_rate: object, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        CrepeFrames(sample_rate)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=match):
        CrepeEmbedding(sample_rate, "tiny", pretrained=False)  # type: ignore[arg-type]


def test_float_sample_rate_that_is_integral_is_accepted() -> None:
    assert CrepeFrames(16000.0).sample_rate == 16000  # type: ignore[arg-type]
    assert CrepeFrames(1000).sample_rate == 1000  # the ends of the range are rates
    assert CrepeFrames(768_000).sample_rate == 768_000


def test_a_rate_in_khz_is_refused_by_every_entry_point() -> None:
    match = r"sample_rate is in Hz"
    with pytest.raises(ParameterError, match=match):
        CrepePitch(44, "tiny", pretrained=False)
    with pytest.raises(ParameterError, match=match):
        CrepeLoudness(44)
    with pytest.raises(ParameterError, match=r"orig=44 .*orig is in Hz"):
        resample_to(torch.zeros(100), 44, 16000)
    with pytest.raises(ParameterError, match=match):
        CrepeCollate(44, features="none")


@pytest.mark.parametrize("hop", [0, -1, 2.5, "160"])
def test_bad_hop(hop: object) -> None:
    with pytest.raises(ParameterError, match=r"hop_length must be a positive integer.*hop_length="):
        CrepeFrames(16000, hop_length=hop)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"hop_length must be a positive integer"):
        num_frames(100, hop)  # type: ignore[arg-type]


@pytest.mark.parametrize("capacity", ["huge", "Full", "", None, 32])
def test_unknown_capacity(capacity: object) -> None:
    with pytest.raises(ParameterError, match=r"capacity=.* is not a CREPE model.*'tiny'.*'full'"):
        CrepeActivation(capacity, pretrained=False)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"resample": "sinc"}, r"resample='sinc' is not supported.*'resampy', 'torchaudio'"),
        ({"normalization": "zscore"}, r"normalization='zscore' is not supported.*'crepe'"),
    ],
)
def test_bad_frames_options(kwargs: dict[str, str], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        CrepeFrames(16000, **kwargs)  # type: ignore[arg-type]


def test_bad_normalization_in_functional() -> None:
    with pytest.raises(ParameterError, match=r"normalization='l2' is not supported"):
        normalize_frames(torch.zeros(1, 1024), "l2")


def test_bad_embedding_layout() -> None:
    with pytest.raises(ParameterError, match=r"layout='flat' is not supported.*'torchcrepe'"):
        CrepeEmbedding(16000, "tiny", layout="flat", pretrained=False)


@pytest.mark.parametrize("chunk", [0, -4, 1.5])
def test_bad_chunk_size(chunk: object) -> None:
    with pytest.raises(ParameterError, match=r"chunk_size must be a positive integer"):
        CrepeActivation("tiny", chunk_size=chunk, pretrained=False)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("shape", "match"),
    [
        ((10, 1000), r"last dimension 1024, got \(10, 1000\).*CrepeFrames"),
        ((16000,), r"last dimension 1024, got \(16000,\).*raw audio"),
        ((2, 5, 360), r"last dimension 1024.*CrepeFrames"),
    ],
)
def test_wrong_last_dimension(act: CrepeActivation, shape: tuple[int, ...], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        act(torch.randn(shape))


def test_integer_frames(act: CrepeActivation) -> None:
    with pytest.raises(ParameterError, match=r"frames must be floating point.*\.float\(\)"):
        act(torch.zeros(3, 1024, dtype=torch.int16))


def test_other_float_dtypes_are_converted_not_refused(act: CrepeActivation) -> None:
    # 0.1 refused frames whose dtype differed from the module's; 0.2 converts them
    # (tests/test_dtypes.py checks the values).
    for dtype in (torch.float64, torch.bfloat16, torch.float16):
        assert act(torch.zeros(3, 1024, dtype=dtype)).dtype == torch.float32


def test_weights_with_pretrained_false() -> None:
    with pytest.raises(ParameterError, match=r"weights= was given with pretrained=False"):
        CrepeActivation("tiny", weights="tiny.pth", pretrained=False)


@pytest.mark.parametrize(
    ("lengths", "match"),
    [
        (torch.tensor([100, 5000]), r"maximum of 5000, which exceeds the time axis \(4000\)"),
        (torch.tensor([100, -1]), r"at least 1 for every item, got a minimum of -1"),
        (torch.tensor([100, 0]), r"at least 1 for every item"),
        (torch.tensor([100.0, 200.0]), r"integer tensor.*float32.*\.long\(\)"),
        (torch.tensor([100, 200, 300]), r"shape \(3,\) but the input's leading .* \(2,\)"),
        ("abc", r"lengths must be an integer tensor"),
    ],
)
def test_bad_lengths(lengths: object, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        CrepeFrames(16000)(torch.zeros(2, 4000), lengths)  # type: ignore[arg-type]


def test_lengths_as_list_is_accepted() -> None:
    out = CrepeFrames(16000)(torch.ones(2, 4000), [4000, 1000])  # type: ignore[arg-type]
    assert out.shape == (2, 26, 1024)


def test_resampy_refuses_gradients() -> None:
    audio = torch.randn(4410, requires_grad=True)
    with pytest.raises(ParameterError, match=r"cannot pass gradients.*resample='torchaudio'"):
        CrepeFrames(44100)(audio)


def test_resampy_without_grad_request_is_fine() -> None:
    audio = torch.randn(4410, requires_grad=True)
    with torch.no_grad():
        assert CrepeFrames(44100)(audio).shape == (11, 1024)


def test_torchaudio_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    # None in sys.modules makes "import torchaudio" raise ImportError, as a broken build would.
    monkeypatch.setitem(sys.modules, "torchaudio", None)
    monkeypatch.setitem(sys.modules, "torchaudio.functional", None)
    with pytest.raises(MissingDependencyError, match=r"crepe-transforms\[torchaudio\]"):
        resample(torch.zeros(441), 44100, "torchaudio")
    # Everything else still works without it.
    assert CrepeFrames(44100)(torch.randn(4410)).shape == (11, 1024)


# ------------------------------------------------------------------ (time, channels) audio


TRANSPOSED = r"looks like \(time, channels\) audio as soundfile\.read returns it.*pass waveform\.T"


@pytest.mark.parametrize(
    "build",
    [
        lambda: CrepeFrames(44100),
        lambda: CrepePitch(44100, "tiny", pretrained=False),
        lambda: CrepeEmbedding(44100, "tiny", pretrained=False),
        lambda: CrepeLoudness(44100),
    ],
    ids=["frames", "pitch", "embedding", "loudness"],
)
def test_time_by_channels_audio_says_to_transpose(build: object) -> None:
    module = build()  # type: ignore[operator]
    stereo = 0.1 * torch.randn(44100, 2, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ParameterError, match=TRANSPOSED):
        module(stereo)
    out = module(stereo.T)  # (channels, time) is two items
    frames = out.f0 if isinstance(out, tuple) else out
    assert frames.shape[:2] == (2, 101)


@pytest.mark.parametrize("shape", [(3, 5), (2, 8), (1, 150), (99, 1), (10, 4)])
def test_short_items_are_not_read_as_channels(shape: tuple[int, int]) -> None:
    x = torch.rand(shape, generator=torch.Generator().manual_seed(1)) - 0.5
    assert CrepeFrames(16000)(x).shape == (shape[0], 1, 1024)  # fewer than 160 samples: 1 frame
    assert CrepePitch(16000, "tiny", pretrained=False)(x).f0.shape == (shape[0], 1)
    assert CrepeLoudness(16000)(x).shape == (shape[0], 1)


@pytest.mark.parametrize("shape", [(800, 8), (44100, 1), (4800, 6)])
def test_long_axis_of_a_few_channels_is_refused(shape: tuple[int, int]) -> None:
    with pytest.raises(ParameterError, match=TRANSPOSED):
        CrepeFrames(16000)(torch.zeros(shape))
