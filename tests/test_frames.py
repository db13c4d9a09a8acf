"""Framing: parity with the original CREPE preprocessing, exact counts and centres, no drift."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import resampy
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crepe_transforms import CrepeFrames
from crepe_transforms.functional import (
    extract_frames,
    frame,
    frame_centers,
    frame_times,
    normalize_frames,
    num_frames,
)
from crepe_transforms.transforms._engine import TensorSignal, cut_frames

RATES = [8000, 16000, 22050, 44100, 48000]


def crepe_reference(audio: np.ndarray, sr: int, hop: int) -> np.ndarray:
    """Independent numpy version of the original CREPE preprocessing (``get_activation``),
    generalised to any hop: resampy kaiser_best → zero-pad 512 → window at each centre rounded
    to the nearest 16 kHz sample → subtract mean, divide by population std floored at 1e-8."""
    audio = audio.astype(np.float32)
    if sr != 16000:
        audio = resampy.resample(audio, sr, 16000, filter="kaiser_best")
    n = 1 + (round(len(audio) * sr / 16000) // hop)
    padded = np.pad(audio, (512, 512 + 2048))
    centres = np.floor(np.arange(n) * hop * 16000 / sr + 0.5).astype(np.int64)
    frames = np.stack([padded[c : c + 1024] for c in centres]).astype(np.float64)
    frames -= frames.mean(axis=1, keepdims=True)
    frames /= np.clip(frames.std(axis=1, keepdims=True), 1e-8, None)
    return frames


def crepe_strided_reference(audio16k: np.ndarray) -> np.ndarray:
    """The original CREPE framing literally: as_strided over the padded signal, hop 160."""
    padded = np.pad(audio16k.astype(np.float32), 512)
    n = 1 + (len(padded) - 1024) // 160
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(1024, n), strides=(padded.itemsize, 160 * padded.itemsize)
    ).T.copy()
    frames -= np.mean(frames, axis=1)[:, np.newaxis]
    frames /= np.clip(np.std(frames, axis=1)[:, np.newaxis], 1e-8, None)
    return frames


def test_matches_original_crepe_framing_at_16k() -> None:
    rng = np.random.default_rng(0)
    audio = rng.standard_normal(16000 + 77).astype(np.float32)
    ours = frame(torch.from_numpy(audio), 16000).numpy()
    ref = crepe_strided_reference(audio)
    assert ours.shape == ref.shape
    # float32 mean/std in a different summation order: ~1e-6 at most.
    np.testing.assert_allclose(ours, ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("hop_ms", [10.0, None])
def test_matches_numpy_reference(sr: int, hop_ms: float | None, tone: Callable) -> None:
    hop = int(sr * hop_ms / 1000) if hop_ms else 7 * (sr // 1000) + 3  # odd, non-aligned hop
    noise = torch.randn(round(0.4 * sr), generator=torch.Generator().manual_seed(1))
    audio = tone(187.0, 0.4, sr) + 0.01 * noise
    ours = frame(audio, sr, hop).numpy()
    ref = crepe_reference(audio.numpy(), sr, hop)
    assert ours.shape[0] == 1 + audio.shape[-1] // hop
    common = min(len(ref), len(ours))
    # Same resampler and float32 input; differences come from summation order only.
    np.testing.assert_allclose(ours[:common], ref[:common], atol=1e-5, rtol=0)


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("hop", ["10ms", 1, 7, 127, 441, 1001])
@pytest.mark.parametrize("length", [1, 999, 12345])
def test_count_and_centres_exact(sr: int, hop: str | int, length: int) -> None:
    hop_length = sr // 100 if hop == "10ms" else int(hop)
    n = num_frames(length, hop_length)
    assert n == 1 + length // hop_length
    times = frame_times(n, hop_length, sr)
    assert torch.equal(times, torch.arange(n, dtype=torch.float64) * hop_length / sr)
    centres = frame_centers(n, hop_length, sr).double() / 16000
    # Nearest 16 kHz sample: at most half a sample (31.25 µs) from the exact centre.
    assert float((centres - times).abs().max()) <= 0.5 / 16000 + 1e-12


@pytest.mark.parametrize("sr", [8000, 22050, 44100])
@pytest.mark.parametrize("hop", [None, 97])
def test_count_equals_torchaudio_spectrogram(sr: int, hop: int | None) -> None:
    torchaudio = pytest.importorskip("torchaudio")
    length = int(1.37 * sr)
    audio = torch.randn(length)
    frames = CrepeFrames(sr, hop)
    spec = torchaudio.transforms.Spectrogram(
        n_fft=512, hop_length=frames.hop_length, center=True, pad_mode="constant"
    )(audio)
    assert frames(audio).shape[-2] == spec.shape[-1]


@pytest.mark.parametrize(("sr", "hop"), [(22050, 220), (48000, 481)])
def test_no_drift_after_ten_minutes(sr: int, hop: int) -> None:
    # Clicks placed exactly at the centres of late frames must sit at the centre sample (512)
    # of their frames. torchcrepe truncates 220 * 16000 / 22050 = 159.64 to 159 samples, which
    # puts frame 60000 2.4 s away from where it belongs.
    seconds = 600
    audio = torch.zeros(seconds * sr)
    n = num_frames(audio.shape[-1], hop)
    picks = [n - 1 - 10 * k for k in range(6)] + [n // 2]  # > one window apart
    for i in picks:
        audio[i * hop] = 1.0
    frames = CrepeFrames(sr, hop, normalization="none")
    # Resampled once, then single frames cut where the block engine cuts them.
    signal = TensorSignal(frames.prepare(audio).audio_16k)
    for i in picks:
        window = cut_frames(signal, frames.plan, i, 1)[0, 0]
        assert int(window.abs().argmax()) == 512, i


@pytest.mark.parametrize(("sr", "hop"), [(16000, 160), (8000, 80), (44100, 441), (22050, 256)])
def test_cut_frames_equal_the_frames_cut_at_their_centres(sr: int, hop: int) -> None:
    # the engine works out evenly spaced centres (and single frames) in integers: the same
    # windows as extract_frames at frame_centers, the same normalised bits
    audio = torch.randn(2, 9000, generator=torch.Generator().manual_seed(5))
    signal, plan = TensorSignal(audio), CrepeFrames(sr, hop).plan
    for start, count in [(0, 1), (3, 1), (0, 40), (7, 13), (50, 1), (60, 30)]:
        centres = frame_centers(count, hop, sr, start_frame=start)
        expected = normalize_frames(extract_frames(audio, centres))
        assert torch.equal(cut_frames(signal, plan, start, count), expected), (start, count)


@pytest.mark.parametrize("normalization", ["crepe", "torchcrepe"])
def test_normalisation(normalization: str) -> None:
    audio = torch.randn(3, 8000, dtype=torch.float64) * 5 + 2
    out = frame(audio, 16000, normalization=normalization)
    correction = 0 if normalization == "crepe" else 1
    assert torch.allclose(out.mean(-1), torch.zeros(()).double(), atol=1e-12)
    assert torch.allclose(out.std(-1, correction=correction), torch.ones(()).double(), atol=1e-12)


def test_silence_gives_zero_frames_not_nan() -> None:
    out = frame(torch.zeros(4000), 16000)
    assert torch.equal(out, torch.zeros_like(out))


def test_normalization_none_keeps_samples() -> None:
    audio = torch.randn(3200)
    out = frame(audio, 16000, normalization="none")
    assert torch.equal(out[5], audio[5 * 160 - 512 : 5 * 160 + 512])


@pytest.mark.parametrize("sr", [16000, 22050, 44100])
@pytest.mark.parametrize("resample", ["resampy", "torchaudio"])
def test_padded_batch_equals_items_alone(sr: int, resample: str, tone: Callable) -> None:
    if resample == "torchaudio":
        pytest.importorskip("torchaudio")
    items = [tone(110.0 * (k + 1), s, sr, seed=k) for k, s in enumerate([0.31, 0.5, 0.123])]
    lengths = torch.tensor([len(x) for x in items])
    batch = torch.zeros(len(items), int(lengths.max()))
    batch[1, :] = 0.7  # garbage in the padding of other items must not matter
    for k, x in enumerate(items):
        batch[k, : len(x)] = x
    frames = CrepeFrames(sr, resample=resample)
    out = frames(batch, lengths)
    counts = frames.num_frames(lengths)
    for k, x in enumerate(items):
        alone = frames(x)
        assert alone.shape[0] == int(counts[k])
        # Batched resampling sums in another order than a 1-D call: float32 noise, ~3e-6.
        torch.testing.assert_close(out[k, : int(counts[k])], alone, atol=1e-5, rtol=0)


def test_torchaudio_resampler_close_to_resampy(tone: Callable) -> None:
    pytest.importorskip("torchaudio")
    audio = tone(220.0, 0.5, 44100, harmonics=20)  # content up to 4.4 kHz, below the transition
    a = frame(audio, 44100)
    b = frame(audio, 44100, resample="torchaudio")
    # Both are kaiser-window sinc resamplers; in-band they agree to ~1.5e-5. Windows touching
    # the abrupt start/end of the clip (4 frames each side) see broadband edges, where the two
    # filters differ by ~1 %, so compare interior frames only.
    assert float((a[4:-4] - b[4:-4]).abs().max()) < 1e-4


def test_leading_dims_and_batch_consistency() -> None:
    audio = torch.randn(3, 2, 5000)
    frames = CrepeFrames(22050)
    out = frames(audio)
    assert out.shape == (3, 2, 1 + 5000 // 220, 1024)
    for i in range(3):
        for j in range(2):
            torch.testing.assert_close(out[i, j], frames(audio[i, j]), atol=1e-6, rtol=0)


def test_gradient_flows_to_audio_at_16k() -> None:
    # The analytic gradient through framing and normalisation equals finite differences (a
    # loss like frames.pow(2).sum() would not do: normalised frames have a constant energy, so
    # its gradient is zero and any round-off passes a "> 0" check).
    audio = torch.randn(1500, dtype=torch.float64, requires_grad=True)
    frames = CrepeFrames(16000)
    assert frames(audio).dtype == torch.float64
    assert torch.autograd.gradcheck(frames, (audio,), fast_mode=True)


def test_gradient_flows_through_torchaudio_resampler() -> None:
    pytest.importorskip("torchaudio")
    audio = torch.randn(4410, requires_grad=True)
    CrepeFrames(44100, resample="torchaudio")(audio)[:, 100].sum().backward()
    assert audio.grad is not None
    assert float(audio.grad.abs().sum()) > 0


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(1, 40000),
    sr=st.integers(4000, 96000),
    hop=st.integers(1, 2000),
    start=st.integers(0, 50),
)
def test_centres_property(length: int, sr: int, hop: int, start: int) -> None:
    n = num_frames(length, hop)
    assert n == 1 + length // hop
    start = min(start, n - 1)
    c = frame_centers(n - start, hop, sr, start)
    exact = (torch.arange(start, n, dtype=torch.float64) * hop * 16000) / sr
    assert c.shape == (n - start,)
    assert float((c.double() - exact).abs().max()) <= 0.5
