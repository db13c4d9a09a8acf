"""The bad-input matrix (SPEC §6, issue #7): every public entry point, every kind of bad input.

One row per case, grouped in tables by area: transforms, functional helpers, the weight
registry, audio files and output directories, and the command line. Each row names the
exception type and a pattern that pins the parameter's name AND the fix the message gives.
The tables complement ``test_errors.py`` (bad audio dtypes on ``CrepeFrames``, sample rates,
hop and capacity on the frame and activation transforms, lengths on ``CrepeFrames``): they do
not repeat its cases. ``test_case_count`` keeps the count of distinct cases visible.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from _cli_audio import no_samples, not_audio, truncated_wav, write_tone, zero_bytes
from _random_weights import random_state, save_state, sha256_of, truncate_file

from crepe_transforms import (
    AudioError,
    ChecksumError,
    CrepeActivation,
    CrepeDecode,
    CrepeEmbedding,
    CrepeFrames,
    CrepeLoudness,
    CrepePitch,
    Extractor,
    ParameterError,
    WeightsFormatError,
    WeightsNotFoundError,
    predict_file,
    predict_files,
    weights,
)
from crepe_transforms import functional as F
from crepe_transforms.cli import main
from crepe_transforms.functional import a_weighted_loudness
from crepe_transforms.io import Features, audio_info, load_audio, write_features
from crepe_transforms.weights import convert_keras

ACT = torch.rand(2, 10, 360, generator=torch.Generator().manual_seed(0))
NAN = math.nan
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@dataclass
class Env:
    """What a case may need: a private folder and a private, empty weight registry."""

    tmp: Path
    cache: Path

    def tiny_file(self, name: str = "mine/tiny.pth") -> tuple[Path, str]:
        path = self.tmp / name
        return path, save_state(path, "tiny", seed=1)

    def write(self, name: str, data: bytes) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def wav(self, name: str = "tone.wav") -> Path:
        return write_tone(self.tmp / name, 220.0, 0.1, 16000)


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[Env], object]
    error: type[Exception]
    match: str  # re.search pattern: the parameter's name and the fix
    xfail: str = ""  # a known bug: the place to fix it (strict: fixing it fails the test)


def cases(table: list[Case]) -> list[object]:
    """``table`` as pytest parameters, known bugs marked ``xfail(strict=True)``."""
    return [
        pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.xfail)])
        if c.xfail
        else pytest.param(c, id=c.id)
        for c in table
    ]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Env]:
    monkeypatch.setenv("CREPE_TRANSFORMS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CREPE_TRANSFORMS_WEIGHTS", raising=False)
    weights.clear_cache()
    yield Env(tmp_path, tmp_path / "cache")
    weights.clear_cache()


def _pitch(**kwargs: object) -> CrepePitch:
    options: dict[str, object] = {"capacity": "tiny", "pretrained": False}
    return CrepePitch(16000, **{**options, **kwargs})  # type: ignore[arg-type]


def _features() -> Features:
    f0 = torch.full((3,), 220.0)
    arrays = {"f0": f0, "periodicity": torch.ones(3)}
    return Features(Path("a.wav"), "pitch", 16000, 160, F.frame_times(3, 160, 16000), arrays)


# ------------------------------------------------------------------ transforms

TRANSFORM_CASES = [
    # audio into CrepePitch / CrepeLoudness / CrepeEmbedding
    Case(
        "pitch-int16-audio",
        lambda e: _pitch()(torch.zeros(800, dtype=torch.int16)),
        ParameterError,
        r"waveform has integer dtype torch\.int16.*waveform\.float\(\) / 32768",
    ),
    Case(
        "pitch-nan-audio",
        lambda e: _pitch()(torch.tensor([0.0, NAN, 0.1])),
        ParameterError,
        r"waveform contains 1 NaN or Inf samples.*torch\.nan_to_num\(waveform",
    ),
    Case(
        "pitch-empty-batch-item",
        lambda e: _pitch()(torch.zeros(3, 0)),
        ParameterError,
        r"waveform is empty or too short.*Pass at least one sample per item",
    ),
    Case(
        "pitch-lengths-exceed-time",
        lambda e: _pitch()(torch.zeros(2, 400), torch.tensor([400, 500])),
        ParameterError,
        r"lengths has a maximum of 500, which exceeds the time axis \(400\)\. "
        r"Each length counts samples and must be at most",
    ),
    Case(
        "loudness-int32-audio",
        lambda e: CrepeLoudness(16000)(torch.zeros(100, dtype=torch.int32)),
        ParameterError,
        r"waveform has integer dtype torch\.int32.*/ 2147483648",
    ),
    Case(
        "loudness-complex-audio",
        lambda e: CrepeLoudness(16000)(torch.zeros(100, dtype=torch.complex64)),
        ParameterError,
        r"waveform is complex.*Pass waveform\.real",
    ),
    Case(
        "loudness-inf-audio",
        lambda e: CrepeLoudness(16000)(torch.tensor([0.0, math.inf])),
        ParameterError,
        r"waveform contains 1 NaN or Inf.*nan_to_num",
    ),
    Case(
        "loudness-lengths-float",
        lambda e: CrepeLoudness(16000)(torch.zeros(2, 100), torch.tensor([10.0, 20.0])),
        ParameterError,
        r"lengths must be an integer tensor \(samples per item\).*lengths\.long\(\)",
    ),
    Case(
        "embedding-int16-audio",
        lambda e: CrepeEmbedding(16000, "tiny", pretrained=False)(
            torch.zeros(100, dtype=torch.int16)
        ),
        ParameterError,
        r"int16.*scale it to \[-1, 1\].*32768",
    ),
    Case(
        "embedding-lengths-wrong-shape",
        lambda e: CrepeEmbedding(16000, "tiny", pretrained=False)(
            torch.zeros(2, 400), torch.tensor([[400, 400]])
        ),
        ParameterError,
        r"lengths has shape \(1, 2\) but the input's leading .* \(2,\); give one length",
    ),
    # sample rates and hops on the transforms test_errors.py does not cover
    Case(
        "pitch-sample-rate-16k-string",
        lambda e: CrepePitch("16k", "tiny", pretrained=False),  # type: ignore[arg-type]
        ParameterError,
        r"sample_rate must be a positive integer.*got '16k' \(str\)\. Pass e\.g\. "
        r"sample_rate=16000",
    ),
    Case(
        "loudness-sample-rate-fractional",
        lambda e: CrepeLoudness(16000.5),  # type: ignore[arg-type]
        ParameterError,
        r"sample_rate=16000\.5 is not an integer.*e\.g\. sample_rate=16000",
    ),
    Case(
        "loudness-sample-rate-bool",
        lambda e: CrepeLoudness(True),  # type: ignore[arg-type]
        ParameterError,
        r"sample_rate must be a positive integer.*\(bool\)\. Pass e\.g\. sample_rate=16000",
    ),
    Case(
        "pitch-hop-zero",
        lambda e: _pitch(hop_length=0),
        ParameterError,
        r"hop_length must be a positive integer, got 0\. .*e\.g\. hop_length=160 for 10 ms",
    ),
    Case(
        "loudness-hop-negative",
        lambda e: CrepeLoudness(22050, hop_length=-5),
        ParameterError,
        r"hop_length must be a positive integer, got -5\. .*hop_length=220 for 10 ms",
    ),
    Case(
        "embedding-hop-string",
        lambda e: CrepeEmbedding(16000, "tiny", hop_length="160", pretrained=False),  # type: ignore[arg-type]
        ParameterError,
        r"hop_length must be a positive integer, got '160'.*hop_length=160",
    ),
    Case(
        "loudness-floor-db-nan",
        lambda e: CrepeLoudness(16000, floor_db=NAN),
        ParameterError,
        r"floor_db must be a number of dB.*finite.*floor_db=-120",
    ),
    # CrepePitch options
    Case(
        "pitch-voicing-above-one",
        lambda e: _pitch(voicing=1.5),
        ParameterError,
        r"voicing must be None or a periodicity threshold in \[0, 1\].*got 1\.5.*0\.21 to 0\.5 "
        r"are usual",
    ),
    Case(
        "pitch-voicing-nan",
        lambda e: _pitch(voicing=NAN),
        ParameterError,
        r"voicing must be None or a periodicity threshold in \[0, 1\].*got nan",
    ),
    Case(
        "pitch-option-nobody-declares",
        lambda e: _pitch(threshold=0.5),
        ParameterError,
        r"CrepePitch has no option 'threshold'\..* Its options are: .*decoder.*hop_length",
    ),
    Case(
        "pitch-time-by-channels-audio",
        lambda e: _pitch()(torch.zeros(16000, 2)),
        ParameterError,
        r"waveform has shape \(16000, 2\).*looks like \(time, channels\) audio.*pass waveform\.T",
    ),
    Case(
        "pitch-block-frames-zero",
        lambda e: _pitch(block_frames=0),
        ParameterError,
        r"block_frames must be a positive integer, got 0\. .*e\.g\. 4096",
    ),
    Case(
        "pitch-unknown-decoder",
        lambda e: _pitch(decoder="pyin"),
        ParameterError,
        r"decoder='pyin' is not supported\. Choose one of 'argmax', 'weighted_argmax'",
    ),
    # CrepeDecode: config
    Case(
        "decode-unknown-hmm",
        lambda e: CrepeDecode(hmm="hmmm"),
        ParameterError,
        r"hmm='hmmm' is not a Viterbi configuration\. Pass 'default', 'crepe'",
    ),
    Case(
        "decode-unknown-backend",
        lambda e: CrepeDecode(backend="cuda"),
        ParameterError,
        r"backend='cuda' is not supported\. Choose one of 'auto', 'numba', 'torch'",
    ),
    Case(
        "decode-fmin-above-fmax",
        lambda e: CrepeDecode(fmin=500.0, fmax=100.0),
        ParameterError,
        r"fmin=500\.0 Hz must be lower than fmax=100\.0 Hz; swap them or widen the range",
    ),
    Case(
        "decode-fmin-below-bin-range",
        lambda e: CrepeDecode(fmin=10.0),
        ParameterError,
        r"fmin=10\.0 Hz is outside CREPE's bin range \[31\.70, 2005\.5\] Hz\. Pass a value",
    ),
    Case(
        "pitch-fmax-above-bin-range",
        lambda e: _pitch(fmax=4000.0),
        ParameterError,
        r"fmax=4000\.0 Hz is outside CREPE's bin range.*Pass a value in that range",
    ),
    Case(
        "decode-fmin-string",
        lambda e: CrepeDecode(fmin="50"),  # type: ignore[arg-type]
        ParameterError,
        r"fmin must be a frequency in Hz or None, got '50'; pass a number, e\.g\. fmin=50\.0",
    ),
    Case(
        "decode-range-without-a-bin",
        lambda e: CrepeDecode(fmin=100.0, fmax=100.5),
        ParameterError,
        r"No CREPE bin centre lies in \[fmin=100\.0, fmax=100\.5\].*Widen the range",
    ),
    # CrepeDecode: inputs
    Case(
        "decode-frames-instead-of-activation",
        lambda e: CrepeDecode()(torch.rand(3, 10, 1024)),
        ParameterError,
        r"activation must have shape \(\.\.\., frames, 360\).*got \(3, 10, 1024\).*"
        r"Put CrepeActivation\(\.\.\.\) in front",
    ),
    Case(
        "decode-single-frame-1d",
        lambda e: CrepeDecode()(torch.rand(360)),
        ParameterError,
        r"activation must have shape \(\.\.\., frames, 360\), got \(360,\)\. .*activation\[None\]",
    ),
    Case(
        "decode-integer-activation",
        lambda e: CrepeDecode()(torch.zeros(3, 360, dtype=torch.int64)),
        ParameterError,
        r"activation must be floating point, got torch\.int64\. Convert with activation\.float",
    ),
    Case(
        "decode-list-activation",
        lambda e: CrepeDecode()([[0.0] * 360]),  # type: ignore[arg-type]
        ParameterError,
        r"activation must be a torch\.Tensor.*got list\. Convert with torch\.as_tensor",
    ),
    Case(
        "decode-nan-activation",
        lambda e: CrepeDecode()(torch.full((3, 360), NAN)),
        ParameterError,
        r"activation contains NaN or Inf.*Check the network input",
    ),
    Case(
        "decode-lengths-exceed-frames",
        lambda e: CrepeDecode()(ACT, torch.tensor([5, 11])),
        ParameterError,
        r"lengths has a maximum of 11, which exceeds the time axis \(10\)\. Each length counts "
        r"frames and must be at most the padded size of the frames dimension",
    ),
    Case(
        "decode-lengths-negative",
        lambda e: CrepeDecode("argmax")(ACT, torch.tensor([5, -1])),
        ParameterError,
        r"lengths must be at least 1 for every item, got a minimum of -1\. Drop empty items",
    ),
    Case(
        "decode-lengths-float",
        lambda e: CrepeDecode("weighted_argmax")(ACT, torch.tensor([5.0, 3.0])),
        ParameterError,
        r"lengths must be an integer tensor \(frames per item\), got torch\.float32\. "
        r"Convert with lengths\.long\(\)",
    ),
    Case(
        "decode-lengths-one-for-two-items",
        lambda e: CrepeDecode()(ACT, torch.tensor([5])),
        ParameterError,
        r"lengths has shape \(1,\) .* \(2,\); give one length \(frames\) per item",
    ),
    # CrepeActivation / CrepeEmbedding
    Case(
        "activation-nan-frames",
        lambda e: CrepeActivation("tiny", pretrained=False)(torch.full((2, 1024), NAN)),
        ParameterError,
        r"frames contain NaN or Inf values.*torch\.nan_to_num\(waveform",
    ),
    Case(
        "activation-complex-frames",
        lambda e: CrepeActivation("tiny", pretrained=False)(
            torch.zeros(2, 1024, dtype=torch.complex64)
        ),
        ParameterError,
        r"frames is complex \(torch\.complex64\); pass real values, e\.g\. frames\.real",
    ),
    Case(
        "activation-list-frames",
        lambda e: CrepeActivation("tiny", pretrained=False)([[0.0] * 1024]),  # type: ignore[arg-type]
        ParameterError,
        r"frames must be a torch\.Tensor of shape \(\.\.\., frames, 1024\), got list\. "
        r"Convert with torch\.as_tensor",
    ),
    Case(
        "activation-unknown-algorithm",
        lambda e: CrepeActivation("tiny", pretrained=False, algorithm="winograd"),
        ParameterError,
        r"algorithm='winograd' is not supported\. Choose one of 'fft', 'direct'",
    ),
    Case(
        "activation-unknown-precision",
        lambda e: CrepeActivation("tiny", pretrained=False, precision="int8"),
        ParameterError,
        r"precision='int8' is not supported\. Choose one of 'fp32', 'bf16', 'fp16'",
    ),
    Case(
        "activation-precision-a-dtype",
        lambda e: CrepeActivation("tiny", pretrained=False, precision=torch.float64),  # type: ignore[arg-type]
        ParameterError,
        r"precision=torch\.float64 is not a compute precision\. Choose 'fp32', 'bf16' or 'fp16'; "
        r"to change the module's dtype use module\.to\(torch\.float64\)",
    ),
    Case(
        "activation-chunk-size-string",
        lambda e: CrepeActivation("tiny", chunk_size="64", pretrained=False),  # type: ignore[arg-type]
        ParameterError,
        r"chunk_size must be a positive integer, got '64'\. .*e\.g\. chunk_size=128",
    ),
    Case(
        "activation-sha256-without-pretrained",
        lambda e: CrepeActivation("tiny", sha256="0" * 64, pretrained=False),
        ParameterError,
        r"sha256= was given with pretrained=False; drop sha256= .* or set pretrained=True",
    ),
    Case(
        "embedding-unknown-capacity",
        lambda e: CrepeEmbedding(16000, "xl", pretrained=False),
        ParameterError,
        r"capacity='xl' is not a CREPE model\. Choose one of 'tiny'.*'full'",
    ),
]

# ------------------------------------------------------------------ functional helpers

FUNCTIONAL_CASES = [
    Case(
        "frame-centers-n-frames-fractional",
        lambda e: F.frame_centers(1.5, 160, 16000),  # type: ignore[arg-type]
        ParameterError,
        r"n_frames must be a non-negative integer number of frames, got 1\.5",
    ),
    Case(
        "frame-centers-start-frame-negative",
        lambda e: F.frame_centers(3, 160, 16000, start_frame=-1),
        ParameterError,
        r"start_frame must be a non-negative integer number of frames, got -1",
    ),
    Case(
        "frame-unknown-resampler",
        lambda e: F.frame(torch.zeros(1000), 44100, resample="sox"),
        ParameterError,
        r"resample='sox' is not supported\. Choose one of 'resampy', 'torchaudio'",
    ),
    Case(
        "frame-times-negative-count",
        lambda e: F.frame_times(-1, 160, 16000),
        ParameterError,
        r"n_frames must be a non-negative integer number of frames, got -1",
    ),
    Case(
        "num-frames-float-tensor",
        lambda e: F.num_frames(torch.tensor([1.5]), 160),
        ParameterError,
        r"length must be an integer tensor \(samples\), got torch\.float32\. .*length\.long\(\)",
    ),
    Case(
        "num-frames-negative-length",
        lambda e: F.num_frames(-5, 160),
        ParameterError,
        r"length must be a non-negative integer number of samples, got -5; "
        r"e\.g\. waveform\.shape\[-1\]",
    ),
    Case(
        "resample-int16-audio",
        lambda e: F.resample(torch.zeros(441, dtype=torch.int16), 44100),
        ParameterError,
        r"waveform has integer dtype torch\.int16.*waveform\.float\(\) / 32768",
    ),
    Case(
        "resample-list-audio",
        lambda e: F.resample([0.0] * 441, 44100),  # type: ignore[arg-type]
        ParameterError,
        r"waveform must be a torch\.Tensor.*Convert with torch\.as_tensor\(waveform",
    ),
    Case(
        "resample-nan-audio",
        lambda e: F.resample(torch.full((441,), NAN), 44100),
        ParameterError,
        r"waveform contains 441 NaN or Inf samples.*nan_to_num",
    ),
    Case(
        "resample-lengths-exceed",
        lambda e: F.resample(torch.zeros(2, 441), 44100, lengths=torch.tensor([441, 442])),
        ParameterError,
        r"lengths has a maximum of 442, which exceeds the time axis \(441\)",
    ),
    Case(
        "resample-sample-rate-zero",
        lambda e: F.resample(torch.zeros(441), 0),
        ParameterError,
        r"sample_rate=0 must be positive \(samples per second\), e\.g\. sample_rate=16000",
    ),
    Case(
        "loudness-functional-hop-fractional",
        lambda e: a_weighted_loudness(torch.zeros(100), 16000, hop_length=80.5),  # type: ignore[arg-type]
        ParameterError,
        r"hop_length must be a positive integer, got 80\.5\. .*hop_length=160 for 10 ms",
    ),
    Case(
        "argmax-activation-359-bins",
        lambda e: F.argmax(torch.rand(4, 359)),
        ParameterError,
        r"activation must have shape \(\.\.\., frames, 360\) with last dimension 360, "
        r"got \(4, 359\)",
    ),
    Case(
        "weighted-argmax-activation-tuple",
        lambda e: F.weighted_argmax((0.5,) * 360),  # type: ignore[arg-type]
        ParameterError,
        r"activation must be a torch\.Tensor.*got tuple\. Convert with torch\.as_tensor",
    ),
    Case(
        "viterbi-hmm-wrong-type",
        lambda e: F.viterbi(ACT, hmm=3),  # type: ignore[arg-type]
        ParameterError,
        r"hmm=3 is not a Viterbi configuration\. Pass 'default', 'crepe' or .*HMM\(\.\.\.\)",
    ),
    Case(
        "viterbi-path-transition-wrong-shape",
        lambda e: F.viterbi_path(torch.zeros(1, 3, 360), torch.zeros(3, 3)),
        ParameterError,
        r"transition must have shape \(2 \* band \+ 1, 360\) to match log_emission, got "
        r"\(3, 3\); build it with log_transition\(360, hmm\)",
    ),
    Case(
        "decode-unknown-decoder",
        lambda e: F.decode(ACT, "mean"),
        ParameterError,
        r"decoder='mean' is not supported\. Choose one of 'argmax', 'weighted_argmax', 'viterbi'",
    ),
    Case(
        "admitted-bins-fmax-none-string",
        lambda e: F.admitted_bins(fmax="max"),  # type: ignore[arg-type]
        ParameterError,
        r"fmax must be a frequency in Hz or None, got 'max'; pass a number, e\.g\. fmax=1000",
    ),
    Case(
        "threshold-above-one",
        lambda e: F.threshold(torch.zeros(3), torch.zeros(3), 1.5),
        ParameterError,
        r"threshold must be a number in \[0\.0, 1\.0\], got 1\.5; pass a value in that range",
    ),
    Case(
        "threshold-nan",
        lambda e: F.threshold(torch.zeros(3), torch.zeros(3), NAN),
        ParameterError,
        r"threshold must be a number in \[0\.0, 1\.0\], got nan; pass a value",
    ),
    Case(
        "threshold-misaligned-frames",
        lambda e: F.threshold(torch.zeros(3), torch.zeros(4), 0.5),
        ParameterError,
        r"f0 has shape \(3,\) but periodicity has \(4,\); they must be frame-aligned "
        r"\(same sample_rate and hop_length\)",
    ),
    Case(
        "threshold-list-f0",
        lambda e: F.threshold([110.0], torch.zeros(1), 0.5),  # type: ignore[arg-type]
        ParameterError,
        r"f0 must be a floating-point torch\.Tensor .*got list\. "
        r"Convert with torch\.as_tensor\(f0",
    ),
    Case(
        "hysteresis-upper-below-lower",
        lambda e: F.hysteresis(torch.zeros(3), torch.zeros(3), 0.5, 0.2),
        ParameterError,
        r"upper must be a number in \[0\.5, 1\.0\], got 0\.2; .*upper must not be below lower",
    ),
    Case(
        "silence-min-db-string",
        lambda e: F.silence(torch.zeros(3), torch.zeros(3), "-60"),  # type: ignore[arg-type]
        ParameterError,
        r"min_db must be a number in \[-inf, inf\], got '-60'; pass a value",
    ),
    Case(
        "median-filter-even-window",
        lambda e: F.nan_median_filter(torch.zeros(5), 4),
        ParameterError,
        r"window must be a positive odd number of frames \(centred\), got 4; e\.g\. window=3",
    ),
    Case(
        "mean-filter-integer-input",
        lambda e: F.nan_mean_filter(torch.zeros(5, dtype=torch.long), 3),
        ParameterError,
        r"x must be a floating-point torch\.Tensor .*got torch\.int64\. Convert with x\.float",
    ),
    Case(
        "bins-to-hz-string",
        lambda e: F.bins_to_hz("100"),  # type: ignore[arg-type]
        ParameterError,
        r"bins must be a real number or a real tensor, got str\. Pass e\.g\. torch\.tensor",
    ),
    Case(
        "hz-to-midi-complex",
        lambda e: F.hz_to_midi(torch.ones(3, dtype=torch.complex64)),
        ParameterError,
        r"hz must be a real number or a real tensor, got torch\.complex64.* or hz\.real",
    ),
    Case(
        "cents-to-hz-none",
        lambda e: F.cents_to_hz(None),  # type: ignore[arg-type]
        ParameterError,
        r"cents must be a real number or a real tensor, got NoneType\. Pass e\.g\.",
    ),
]

# ------------------------------------------------------------------ weight registry


def _truncated_cache_file(e: Env) -> object:
    truncate_file(weights.install_state_dict("tiny", random_state("tiny", 2), "unit test"))
    return weights.load_state_dict("tiny")


def _wrong_shapes(e: Env) -> object:
    path, digest = e.tiny_file()
    return CrepeActivation("full", weights=path, sha256=digest)


def _record_not_a_mapping(e: Env) -> object:
    e.write("cache/weights/record.json", b'["tiny.pth"]')
    e.tiny_file("cache/weights/tiny.pth")
    return weights.load_state_dict("tiny")


def _symlink_out_of_cache(e: Env) -> object:
    outside, _ = e.tiny_file("elsewhere/tiny.pth")
    (e.cache / "weights").mkdir(parents=True)
    (e.cache / "weights" / "tiny.pth").symlink_to(outside)
    return weights.load_state_dict("tiny")


WEIGHTS_CASES = [
    Case(
        "weights-capacity-path-traversal",
        lambda e: weights.load_state_dict("../evil"),
        ParameterError,
        r"capacity='\.\./evil' is not a CREPE model\. Choose one of 'tiny'",
    ),
    Case(
        "install-capacity-path-traversal",
        lambda e: weights.install_state_dict("../evil", random_state(), "unit test"),
        ParameterError,
        r"capacity='\.\./evil' is not a CREPE model\. Choose one of 'tiny'",
    ),
    Case(
        "keras-convert-capacity-traversal",
        lambda e: convert_keras(e.tmp / "model-tiny.h5", "../evil"),
        ParameterError,
        r"capacity='\.\./evil' is not a CREPE model\. Choose one of 'tiny'",
    ),
    Case(
        "weights-verify-false-without-path",
        lambda e: weights.load_state_dict("tiny", verify=False),
        ParameterError,
        r"verify=False only applies to an explicit weights path; pass weights=.*"
        r"keep verify=True and pass sha256=",
    ),
    Case(
        "activation-verify-false-without-weights",
        lambda e: CrepeActivation("tiny", verify=False),
        ParameterError,
        r"verify=False only applies to an explicit weights path; pass weights=",
    ),
    Case(
        "weights-verify-not-a-bool",
        lambda e: weights.load_state_dict("tiny", e.tiny_file()[0], verify="no"),  # type: ignore[arg-type]
        ParameterError,
        r"verify must be True or False, got 'no'",
    ),
    Case(
        "weights-sha256-malformed",
        lambda e: CrepeEmbedding(16000, "tiny", weights=e.tiny_file()[0], sha256="abc123"),
        ParameterError,
        r"sha256='abc123' is not a sha256 digest \(64 hexadecimal characters\)\. Compute it "
        r"with `sha256sum FILE`",
    ),
    Case(
        "weights-path-wrong-type",
        lambda e: weights.load_state_dict("tiny", 123),  # type: ignore[arg-type]
        ParameterError,
        r"weights path must be a file path \(str or os\.PathLike\), got int\. Pass e\.g\. "
        r"weights='tiny\.pth'",
    ),
    Case(
        "weights-untrusted-hash",
        lambda e: weights.load_state_dict("tiny", e.tiny_file()[0]),
        ChecksumError,
        r"capacity='tiny' .* have sha256 [0-9a-f]{64}, expected [0-9a-f]{64}\..*to trust a "
        r"file you made yourself pass sha256='[0-9a-f]{64}'",
    ),
    Case(
        "weights-wrong-shapes",
        _wrong_shapes,
        WeightsFormatError,
        r"weights for capacity='full' have conv1\.weight shaped \(128, 1, 512, 1\), expected "
        r"\(1024, 1, 512, 1\)\. .*pass the matching capacity",
    ),
    Case(
        "weights-zero-byte-file",
        lambda e: weights.load_state_dict("tiny", e.write("empty.pth", b""), EMPTY_SHA256),
        WeightsFormatError,
        r"capacity='tiny' is empty \(0 bytes\).*Delete it and reinstall",
    ),
    Case(
        "weights-truncated-explicit-file",
        lambda e: weights.load_state_dict(
            "tiny",
            truncate_file(e.tiny_file()[0]),
            sha256_of(e.tmp / "mine" / "tiny.pth"),
        ),
        WeightsFormatError,
        r"capacity='tiny' cannot be read as a PyTorch state dict.*Delete it and reinstall",
    ),
    Case(
        "weights-truncated-cache-file",
        _truncated_cache_file,
        ChecksumError,
        r"capacity='tiny' at .*tiny\.pth \(cache\) have sha256 .*delete it and reinstall",
    ),
    Case(
        "weights-missing-explicit-file",
        lambda e: CrepePitch(16000, "tiny", weights=e.tmp / "nowhere.pth"),
        WeightsNotFoundError,
        r"(?s)capacity='tiny'.*1\. explicit path: .*nowhere\.pth \(missing\)\n"
        r"Fix: pass an existing file as the weights path",
    ),
    Case(
        "weights-capacity-found-nowhere",
        lambda e: weights.locate("medium"),
        WeightsNotFoundError,
        r"(?s)no weights found for capacity='medium'.*Fix: crepe-transforms weights convert "
        r"model-medium\.h5",
    ),
    Case(
        "weights-cache-record-not-a-mapping",
        _record_not_a_mapping,
        WeightsFormatError,
        r"user cache record .*record\.json cannot be read.*Delete it and re-run",
    ),
    Case(
        "weights-cache-symlink-outside",
        _symlink_out_of_cache,
        ChecksumError,
        r"user cache file .*tiny\.pth is a symlink to .*elsewhere.*outside the cache directory"
        r".*point \$CREPE_TRANSFORMS_WEIGHTS at",
    ),
]

# ------------------------------------------------------------------ audio files and outputs


def _output_dir_is_a_file(e: Env) -> object:
    blocker = e.write("out", b"a regular file where a directory should be")
    return predict_files([e.wav()], blocker, capacity="tiny", pretrained=False)


def _writer_under_a_file(e: Env) -> object:
    blocker = e.write("out", b"a regular file where a directory should be")
    return write_features(_features(), blocker / "a.f0.csv", "csv")


AUDIO_CASES = [
    Case(
        "file-zero-bytes",
        lambda e: predict_file(zero_bytes(e.tmp / "empty.wav"), capacity="tiny", pretrained=False),
        AudioError,
        r"empty\.wav: the file is empty \(0 bytes\).*re-copy or re-export it",
    ),
    Case(
        "file-truncated-wav",
        lambda e: predict_file(truncated_wav(e.tmp / "cut.wav"), capacity="tiny", pretrained=False),
        AudioError,
        r"cut\.wav: truncated WAV: the header announces 16000 bytes.*re-copy or re-export",
    ),
    Case(
        "file-text-named-wav",
        lambda e: Extractor("tiny", pretrained=False).activations(not_audio(e.tmp / "t.wav")),
        AudioError,
        r"t\.wav: not a readable audio file \(format not recognised\); convert it to a format "
        r"libsndfile .* reads: WAV, FLAC",
    ),
    Case(
        "file-no-samples",
        lambda e: load_audio(no_samples(e.tmp / "silent.wav")),
        AudioError,
        r"silent\.wav: holds no audio \(a valid WAV header with 0 samples\); re-export it",
    ),
    Case(
        "file-missing",
        lambda e: predict_file(e.tmp / "nope.wav", capacity="tiny", pretrained=False),
        AudioError,
        r"nope\.wav: no such file; check the path",
    ),
    Case(
        "file-is-a-directory",
        lambda e: audio_info(e.tmp),
        AudioError,
        r"is a directory, not an audio file; pass a file",
    ),
    Case(
        "file-path-none",
        lambda e: load_audio(None),  # type: ignore[arg-type]
        ParameterError,
        r"path must be an audio file path \(str or os\.PathLike\), got NoneType\. Pass e\.g\.",
    ),
    Case(
        "file-range-past-the-end",
        lambda e: load_audio(e.wav(), start=5000),
        AudioError,
        r"tone\.wav: no samples between 5000 and 1600 \(the file has 1600\); pass 0 <= start",
    ),
    Case(
        "output-dir-is-a-file",
        _output_dir_is_a_file,
        ParameterError,
        r"output_dir .*out is not writable \(a file, not a directory, is in the way\); choose "
        r"another output directory",
    ),
    Case(
        "writer-target-under-a-file",
        _writer_under_a_file,
        ParameterError,
        r"output directory .*out is not writable \(a file, not a directory, is in the way\); "
        r"choose another output directory",
    ),
    Case(
        "extract-hop-negative-duration",
        lambda e: Extractor("tiny", hop_length="-10ms", pretrained=False),
        ParameterError,
        r"hop_length='-10ms' must be positive; use e\.g\. '10ms'",
    ),
    Case(
        "extract-hop-zero-samples",
        lambda e: predict_file(e.wav(), hop_length=0, capacity="tiny", pretrained=False),
        ParameterError,
        r"hop_length must be a positive integer number of samples or a duration, got 0\. Use "
        r"e\.g\. '10ms'",
    ),
    Case(
        "extract-unknown-decoder",
        lambda e: Extractor("tiny", decoder="yin", pretrained=False),
        ParameterError,
        r"decoder='yin' is not supported\. Choose one of 'argmax'",
    ),
    Case(
        "extract-unknown-kind",
        lambda e: predict_file(e.wav(), "f0", capacity="tiny", pretrained=False),
        ParameterError,
        r"kind='f0' is not supported\. Choose one of 'pitch', 'activation', 'embedding'",
    ),
]

# ------------------------------------------------------------------ command line

#: ``(id, argv, exit status, stderr pattern)``; ``IN`` is a folder with one good file.
CLI_CASES = [
    ("cli-hop-zero", ["pitch", "in", "-o", "out", "--hop", "0"], 2, r"argument --hop-length/--hop: "
     r"hop_length must be a positive integer number of samples or a duration, got '0'\. Use "
     r"e\.g\. '10ms'"),
    ("cli-hop-negative-duration", ["pitch", "in", "-o", "out", "--hop=-5ms"], 2,
     r"argument --hop-length/--hop: hop_length='-5ms' must be positive; use e\.g\. '10ms'"),
    ("cli-capacity-traversal", ["pitch", "in", "-o", "out", "--capacity", "../evil"], 2,
     r"argument --capacity: invalid choice: '\.\./evil' \(choose from 'tiny'"),
    ("cli-fmin-above-fmax", ["pitch", "in", "-o", "out", "--fmin", "500", "--fmax", "100"], 2,
     r"argument --fmin/--fmax: fmin=500\.0 Hz must be lower than fmax=100\.0 Hz; swap them"),
    ("cli-fmax-out-of-range", ["pitch", "in", "-o", "out", "--fmax", "5000"], 2,
     r"argument --fmin/--fmax: fmax=5000\.0 Hz is outside CREPE's bin range.*Pass a value"),
    ("cli-fmin-not-a-number", ["pitch", "in", "-o", "out", "--fmin", "low"], 2,
     r"argument --fmin: 'low' is not a frequency in Hz; give a number, e\.g\. 50"),
    ("cli-shard-out-of-range", ["pitch", "in", "-o", "out", "--shard", "3/2"], 2,
     r"argument --shard: --shard must be I/N with 0 <= I < N .*e\.g\. 0/4"),
    ("cli-batch-size-zero", ["activation", "in", "-o", "out", "--batch-size", "0"], 2,
     r"argument --chunk-size/--batch-size: --chunk-size must be a positive integer, got '?0'?"
     r"[.;] .*e\.g\. --chunk-size 128"),
    ("cli-block-frames-negative", ["embed", "in", "-o", "out", "--block-frames=-1"], 2,
     r"argument --block-frames: --block-frames must be a positive integer, got '?-1'?[.;] "
     r".*e\.g\. --block-frames"),
    ("cli-threshold-nan", ["pitch", "in", "-o", "out", "--threshold", "nan"], 2,
     r"argument --voicing/--threshold: voicing must be None or a periodicity threshold in "
     r"\[0, 1\].*got nan.*0\.21 to 0\.5"),
    ("cli-sha256-malformed", ["pitch", "in", "-o", "out", "--sha256", "xyz"], 2,
     r"argument --sha256: sha256='xyz' is not a sha256 digest.*sha256sum FILE"),
    ("cli-decoder-unknown", ["pitch", "in", "-o", "out", "--decoder", "pyin"], 2,
     r"argument --decoder: invalid choice: 'pyin' \(choose from 'argmax', 'weighted_argmax', "
     r"'viterbi'\)"),
    ("cli-plot-dpi-zero", ["plot", "in/good.wav", "-o", "p.png", "--dpi", "0"], 2,
     r"argument --dpi: --dpi must be a positive integer, got '?0'?[.;] .*e\.g\. --dpi 120"),
    ("cli-convert-capacity-traversal", ["weights", "convert", "x.h5", "--capacity", "../evil"],
     2, r"argument --capacity: '\.\./evil' is not a CREPE capacity; choose from tiny"),
    ("cli-weights-path-traversal", ["weights", "path", "../evil"], 2,
     r"argument CAPACITY: '\.\./evil' is not a CREPE capacity; choose from tiny"),
    ("cli-weights-file-missing",
     ["pitch", "in", "-o", "out", "--capacity", "tiny", "--weights", "nowhere.pth"], 1,
     r"error: no weights found for capacity='tiny'\. Searched, in order:\n  1\. explicit path: "
     r"nowhere\.pth \(missing\)"
     r"\s+Fix: pass an existing file as the weights path"),
    ("cli-weights-untrusted-file",
     ["pitch", "in", "-o", "out", "--capacity", "tiny", "--weights", "mine.pth"], 1,
     r"error: weights for capacity='tiny' at mine\.pth \(explicit\) have sha256 .*"
     r"pass sha256='[0-9a-f]{64}'"),
    ("cli-output-dir-is-a-file", ["pitch", "in", "-o", "blocker", "--capacity", "tiny"], 1,
     r"error: --output-dir blocker is not writable \(a file, not a directory, is in the way\); "
     r"choose another output directory"),
]  # fmt: skip

#: Broken files the corpus commands meet: (file name, writer, pattern of its one error line).
BAD_FILES = [
    ("empty.wav", zero_bytes, r"empty\.wav: the file is empty \(0 bytes\).*re-copy"),
    ("cut.wav", truncated_wav, r"cut\.wav: truncated WAV: .*re-copy or re-export"),
    ("notes.wav", not_audio, r"notes\.wav: not a readable audio file .*convert it to a format"),
]

#: Scenarios with their own test below (they count as cases of the matrix).
CLI_SCENARIOS = ["cli-bad-files-one-line-each", "cli-output-dir-read-only"]

ALL_IDS = (
    [c.id for c in TRANSFORM_CASES + FUNCTIONAL_CASES + WEIGHTS_CASES + AUDIO_CASES]
    + [row[0] for row in CLI_CASES]
    + CLI_SCENARIOS
)


def test_case_count() -> None:
    counts = {
        "transforms": len(TRANSFORM_CASES),
        "functional": len(FUNCTIONAL_CASES),
        "weights": len(WEIGHTS_CASES),
        "audio files and outputs": len(AUDIO_CASES),
        "command line": len(CLI_CASES) + len(CLI_SCENARIOS),
    }
    print(f"bad-input cases: {sum(counts.values())} {counts}")
    assert len(ALL_IDS) == len(set(ALL_IDS))  # every case distinct
    assert sum(counts.values()) == len(ALL_IDS) >= 45


def _check(case: Case, env: Env) -> None:
    with pytest.raises(case.error, match=case.match) as info:
        case.call(env)
    # The builtin it also is, so `except ValueError` / `except RuntimeError` keep working.
    assert isinstance(info.value, ValueError | RuntimeError | FileNotFoundError)


@pytest.mark.parametrize("case", cases(TRANSFORM_CASES))
def test_transforms(case: Case, env: Env) -> None:
    _check(case, env)


@pytest.mark.parametrize("case", cases(FUNCTIONAL_CASES))
def test_functional(case: Case, env: Env) -> None:
    _check(case, env)


@pytest.mark.parametrize("case", cases(WEIGHTS_CASES))
def test_weights(case: Case, env: Env) -> None:
    _check(case, env)
    # A refused file never enters the per-process cache.
    assert weights.load_counts() == {}


@pytest.mark.parametrize("case", cases(AUDIO_CASES))
def test_audio_files_and_outputs(case: Case, env: Env) -> None:
    _check(case, env)


# ------------------------------------------------------------------ command line


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err
    assert not re.search(r'File ".*", line \d+', err)


@pytest.mark.parametrize(
    ("argv", "status", "match"),
    [pytest.param(*row[1:], id=row[0]) for row in CLI_CASES],
)
def test_command_line(
    env: Env,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    status: int,
    match: str,
) -> None:
    write_tone(env.tmp / "in" / "good.wav", 220.0, 0.1, 16000)
    save_state(env.tmp / "mine.pth", "tiny", seed=3)
    env.write("blocker", b"a regular file where the output directory should be")
    monkeypatch.chdir(env.tmp)
    assert main(argv) == status
    captured = capsys.readouterr()
    assert re.search(match, captured.err), captured.err
    _no_traceback(captured.err)
    if status == 2:  # a usage error: argparse's usage line, nothing computed
        assert captured.err.startswith("usage: crepe-transforms")
    assert not (env.tmp / "out").exists()


def test_cli_bad_files_one_line_each(
    env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder with broken files and one good file (real tiny weights): exit 1, one error
    line per broken file naming it and the problem, the good file's output written."""
    write_tone(env.tmp / "in" / "good.wav", 220.0, 0.2, 16000)
    for name, make, _ in BAD_FILES:
        make(env.tmp / "in" / name)
    monkeypatch.chdir(env.tmp)
    assert main(["pitch", "in", "-o", "out", "--capacity", "tiny", "-q"]) == 1
    captured = capsys.readouterr()
    _no_traceback(captured.err)
    lines = captured.err.splitlines()
    assert len(lines) == len(BAD_FILES)
    for name, _, pattern in BAD_FILES:
        ours = [line for line in lines if f"in/{name}:" in line]
        assert len(ours) == 1, lines
        assert ours[0].startswith("crepe-transforms: error: in/")
        assert re.search(pattern, ours[0])
    # the CSV and its settings sidecar
    assert sorted(p.name for p in (env.tmp / "out").iterdir()) == [
        "good.f0.csv",
        "good.f0.csv.json",
    ]
    assert len((env.tmp / "out" / "good.f0.csv").read_text().splitlines()) == 1 + 21


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root writes into read-only folders; cli-output-dir-is-a-file covers the check",
)
def test_cli_output_dir_read_only(
    env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tone(env.tmp / "in" / "good.wav", 220.0, 0.1, 16000)
    locked = env.tmp / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    monkeypatch.chdir(env.tmp)
    try:
        assert main(["pitch", "in", "-o", "locked/out", "--capacity", "tiny"]) == 1
    finally:
        locked.chmod(0o700)
    captured = capsys.readouterr()
    _no_traceback(captured.err)
    assert captured.err.splitlines() == [
        "crepe-transforms: error: --output-dir locked/out is not writable (Permission denied); "
        "choose another output directory or fix its permissions."
    ]


def test_python_output_dir_read_only_or_blocked(env: Env) -> None:
    """predict_files refuses an unusable output_dir once, before computing anything."""
    good = env.wav()
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # root ignores permissions
        target = env.write("blocked", b"file")
        reason = r"a file, not a directory, is in the way"
    else:
        target = env.tmp / "ro"
        target.mkdir(mode=0o500)
        reason = r"Permission denied"
    with pytest.raises(ParameterError, match=rf"output_dir .* is not writable \({reason}\)"):
        predict_files([good], target, capacity="tiny", pretrained=False)


def test_good_inputs_next_to_the_bad_still_work(env: Env) -> None:
    """The checks reject only the bad: the neighbouring good inputs pass (tests can fail)."""
    assert CrepeLoudness(16000, hop_length=80)(torch.zeros(2, 400)).shape == (2, 6)
    decoded = CrepeDecode(fmin=50.0, fmax=1000.0)(ACT, torch.tensor([5, 10]))
    assert decoded.f0.shape == (2, 10)
    assert F.num_frames(torch.tensor([320]), 160).tolist() == [3]
    assert float(F.bins_to_hz(0)) == pytest.approx(31.70, abs=0.01)
    assert F.frame_centers(2, 160, 16000, start_frame=1).tolist() == [160, 320]
    assert CrepePitch(16000, "tiny", pretrained=False)(torch.zeros(2, 1600)).f0.shape == (2, 11)
    path, digest = env.tiny_file()
    assert set(weights.load_state_dict("tiny", path, digest)) == set(random_state())
    other, _ = env.tiny_file("other/tiny.pth")
    assert set(weights.load_state_dict("tiny", other, verify=False)) == set(random_state())
    assert write_features(_features(), env.tmp / "ok" / "a.f0.csv", "csv").is_file()
    assert audio_info(env.wav()).samples == sf.info(str(env.tmp / "tone.wav")).frames == 1600
    assert np.isfinite(CrepeFrames(16000)(torch.ones(100)).numpy()).all()
