"""Property tests (hypothesis) for the contracts every transform keeps at any rate and length.

Extends the fixed grids of test_frames.py, test_transforms.py, test_decode.py, test_pitch.py and
test_loudness.py with random lengths (down to one sample, less than one hop), integer rates from
7999 to 96000 Hz including the odd ones, hops from 1 sample to 20 ms and 0-2 leading dims:

- frame count = ``1 + time // hop`` = torchaudio ``Spectrogram(center=True)``'s count;
- centres = ``floor(i * hop * 16000 / sr + 1/2)`` exactly (a ``Fraction`` reference), and the
  1024-sample window really is cut around that 16 kHz sample;
- every decoder returns finite f0 before voicing, on any activation, on silence and noise;
- a stacked batch equals its items one by one, and the valid frames of a garbage-padded batch
  equal the item alone, **bit for bit**. The network runs with ``chunk_size=1`` here: every
  network call then has the same shape whatever the batch, so the comparison isolates the
  framing, masking and decoding logic from float32 kernel choice (batch-size dependent matrix
  kernels differ in the last bits; tests/test_determinism.py measures that separately).

Every test is derandomized (the same examples on every run) and sized to stay within a few
seconds on two cores.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crepe_transforms import (
    CrepeActivation,
    CrepeDecode,
    CrepeEmbedding,
    CrepeFrames,
    CrepeLoudness,
    CrepePitch,
)
from crepe_transforms.constants import DECODERS, FMAX_HZ, FMIN_HZ, N_BINS, SAMPLE_RATE
from crepe_transforms.exceptions import ParameterError
from crepe_transforms.functional import frame_centers, frame_times, num_frames
from crepe_transforms.functional._internal import resampled_length
from crepe_transforms.transforms._engine import FramePlan, TensorSignal, cut_frames

# Rates that real files have, odd ones that expose rounding (7999, 11025, 22050, 44100), and any
# integer rate between.
ODD_RATES = [7999, 8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000]
rates = st.one_of(st.sampled_from(ODD_RATES), st.integers(7999, 96000))
leading_dims = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)

FAST = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
NETWORK = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# One random-init tiny network shared by every example; chunk_size=1 (see the module docstring).
NETWORK_1 = CrepeActivation("tiny", chunk_size=1, pretrained=False)


@st.composite
def rate_and_hop(draw: st.DrawFn) -> tuple[int, int]:
    """A rate and a hop from 1 sample to 20 ms (twice the default)."""
    sr = draw(rates)
    return sr, draw(st.integers(1, max(1, 2 * sr // 100)))


def audio(shape: tuple[int, ...], seed: int, kind: str = "noise") -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if kind == "silence":
        return torch.zeros(shape)
    if kind == "tiny":  # std far below the normalisation floor (1e-8): frames stay ~0
        return 1e-30 * torch.randn(shape, generator=g)
    if kind == "dc":
        return torch.full(shape, 0.25)
    return 0.3 * torch.randn(shape, generator=g)


def min_length(sr: int) -> int:
    """Fewest input samples that resampy turns into at least one 16 kHz sample."""
    return -(-sr // SAMPLE_RATE)


def exact_centre(i: int, hop: int, sr: int) -> int:
    """Nearest 16 kHz sample to ``i * hop / sr`` seconds, halves rounded up, in exact rationals."""
    return math.floor(Fraction(i * hop * SAMPLE_RATE, sr) + Fraction(1, 2))


# ------------------------------------------------------------------ count and centres


@FAST
@given(rate_hop=rate_and_hop(), length=st.integers(0, 100_000))
def test_count_is_one_plus_time_over_hop_and_torchaudio_agrees(
    rate_hop: tuple[int, int], length: int
) -> None:
    torchaudio = pytest.importorskip("torchaudio")
    sr, hop = rate_hop
    n = num_frames(length, hop)
    assert n == 1 + length // hop
    assert int(num_frames(torch.tensor([length]), hop)[0]) == n  # the tensor form agrees
    if length:  # torchaudio cannot reshape an empty signal; zero samples is a ParameterError here
        spec = torchaudio.transforms.Spectrogram(
            n_fft=16, hop_length=hop, center=True, pad_mode="constant"
        )(torch.zeros(length))
        assert spec.shape[-1] == n
    else:
        with pytest.raises(ParameterError, match="empty or too short"):
            CrepeFrames(sr, hop)(torch.zeros(0))


@FAST
@given(
    rate_hop=rate_and_hop(),
    lead=leading_dims,
    data=st.data(),
)
def test_output_shapes_follow_the_count_on_any_leading_dims(
    rate_hop: tuple[int, int], lead: tuple[int, ...], data: st.DataObject
) -> None:
    sr, hop = rate_hop
    # at most ~150 frames an item so the frames tensor stays small even for a 1-sample hop
    length = data.draw(st.integers(1, max(min(3000, 150 * hop), min_length(sr))), label="length")
    x = audio((*lead, length), seed=length)
    n = 1 + length // hop
    assert CrepeLoudness(sr, hop)(x).shape == (*lead, n)
    if length < min_length(sr):  # less than one 16 kHz sample: a clear error, not resampy's
        with pytest.raises(ParameterError, match=r"too short.*give no 16 kHz sample"):
            CrepeFrames(sr, hop)(x)
    else:
        assert CrepeFrames(sr, hop)(x).shape == (*lead, n, 1024)


@pytest.mark.parametrize(("sr", "samples"), [(22050, 1), (44100, 2), (96000, 5), (16001, 1)])
def test_audio_shorter_than_one_16k_sample_is_a_parameter_error(sr: int, samples: int) -> None:
    # resampy gives no output sample and raised its own bare ValueError before
    with pytest.raises(ParameterError, match=rf"{samples} sample\(s\) at {sr} Hz give no 16 kHz"):
        CrepeFrames(sr)(torch.zeros(samples))
    assert CrepeFrames(sr)(torch.zeros(min_length(sr))).shape == (1, 1024)


@FAST
@given(
    rate_hop=rate_and_hop(),
    start=st.integers(0, 10**7),
    count=st.integers(1, 300),
)
def test_centres_are_the_exactly_rounded_16k_sample(
    rate_hop: tuple[int, int], start: int, count: int
) -> None:
    # test_frames.test_centres_property bounds the error by half a sample; this pins the exact
    # sample (ties up), including frame indices far into a long file.
    sr, hop = rate_hop
    centres = frame_centers(count, hop, sr, start)
    assert centres.tolist() == [exact_centre(i, hop, sr) for i in range(start, start + count)]
    times = frame_times(start + count, hop, sr)[start:]
    exact = [Fraction(i * hop, sr) for i in range(start, start + count)]
    # float64 of an exact rational: within one rounding of the product (relative 2**-52)
    assert all(
        abs(Fraction(t) - e) <= e * Fraction(1, 2**52)
        for t, e in zip(times.tolist(), exact, strict=True)
    )


@FAST
@given(rate_hop=rate_and_hop(), data=st.data())
def test_each_window_is_cut_around_its_centre(
    rate_hop: tuple[int, int], data: st.DataObject
) -> None:
    sr, hop = rate_hop
    length = data.draw(st.integers(1, min(4000, 200 * hop)), label="length")
    n16 = int(resampled_length(length, sr))
    # A ramp 1, 2, 3, … as the 16 kHz signal: each frame sample then names its source sample
    # (0 = the zero padding), independently of the resampler. Cut as the block engine cuts.
    ramp = torch.arange(1, n16 + 1, dtype=torch.float64)
    n = 1 + length // hop
    frames = cut_frames(TensorSignal(ramp[None]), FramePlan(sr, hop, "none"), 0, n)[0]
    assert frames.shape == (n, 1024)
    expected = torch.tensor(
        [[exact_centre(i, hop, sr) + k for k in (-512, 0, 511)] for i in range(n)]
    )
    inside = (expected >= 0) & (expected < n16)
    assert torch.equal(
        frames[:, [0, 512, 1023]], torch.where(inside, expected + 1, 0).to(torch.float64)
    )


# ------------------------------------------------------------------ finite f0


@st.composite
def activations(draw: st.DrawFn) -> torch.Tensor:
    """Adversarial salience: all zero, all one, a constant, uniform, tiny, or sparse spikes."""
    lead = draw(leading_dims)
    frames = draw(st.integers(1, 40))
    kind = draw(st.sampled_from(["zeros", "ones", "constant", "uniform", "tiny", "spikes"]))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    shape = (*lead, frames, N_BINS)
    if kind == "zeros":
        return torch.zeros(shape)
    if kind == "ones":
        return torch.ones(shape)
    if kind == "constant":
        return torch.full(shape, draw(st.floats(0.0, 1.0)))
    if kind == "uniform":
        return torch.rand(shape, generator=g)
    if kind == "tiny":
        return 1e-38 * torch.rand(shape, generator=g)  # float32 subnormals
    return (torch.rand(shape, generator=g) > 0.995).float()


@FAST
@given(
    act=activations(),
    decoder=st.sampled_from(DECODERS),
    hmm=st.sampled_from(["default", "crepe"]),
    # (fmin, fmax / fmin): a ratio of at least 1.03 (51 cents) always holds a bin centre
    limits=st.one_of(st.none(), st.tuples(st.floats(FMIN_HZ, 1000.0), st.floats(1.03, 2.0))),
)
def test_every_decoder_gives_finite_f0_in_range_on_any_activation(
    act: torch.Tensor, decoder: str, hmm: str, limits: tuple[float, float] | None
) -> None:
    fmin, fmax = (None, None) if limits is None else (limits[0], min(limits[0] * limits[1], 2000.0))
    pitch = CrepeDecode(decoder, fmin, fmax, hmm)(act)
    assert pitch.f0.shape == pitch.periodicity.shape == act.shape[:-1]
    assert torch.isfinite(pitch.f0).all()
    low = FMIN_HZ if fmin is None else fmin
    high = FMAX_HZ if fmax is None else fmax
    # float32 rounding of the Hz value (as test_decode.test_output_stays_within_fmin_fmax)
    assert float(pitch.f0.min()) >= low * (1 - 1e-6)
    assert float(pitch.f0.max()) <= high * (1 + 1e-6)
    assert float(pitch.periodicity.min()) >= 0
    assert float(pitch.periodicity.max()) <= 1


@NETWORK
@given(
    rate_hop=rate_and_hop(),
    kind=st.sampled_from(["silence", "tiny", "dc", "noise"]),
    decoder=st.sampled_from(DECODERS),
    data=st.data(),
)
def test_pitch_of_silence_and_noise_is_finite_before_thresholding(
    rate_hop: tuple[int, int],
    kind: str,
    decoder: str,
    data: st.DataObject,
) -> None:
    sr, hop = rate_hop
    length = data.draw(st.integers(min_length(sr), max(min_length(sr), 60 * hop)), label="length")
    # real tiny weights (read once by the registry): silence is where a trained network meets
    # the collapse problem of SPEC §5
    model = CrepePitch(sr, "tiny", hop_length=hop, decoder=decoder)
    with torch.inference_mode():
        pitch = model(audio((2, length), seed=length, kind=kind))
    assert pitch.f0.shape == (2, 1 + length // hop)
    assert torch.isfinite(pitch.f0).all()
    assert torch.isfinite(pitch.periodicity).all()


# ------------------------------------------------------------------ batch = items


@NETWORK
@given(
    rate_hop=rate_and_hop(),
    lead=leading_dims.filter(lambda s: len(s) > 0),
    decoder=st.sampled_from(DECODERS),
    data=st.data(),
)
def test_stacked_batch_equals_items_bit_for_bit(
    rate_hop: tuple[int, int], lead: tuple[int, ...], decoder: str, data: st.DataObject
) -> None:
    sr, hop = rate_hop
    items = math.prod(lead)
    length = data.draw(
        st.integers(min_length(sr), max(min_length(sr), hop * (120 // items))), label="length"
    )
    x = audio((*lead, length), seed=length)
    frames_mod, act = CrepeFrames(sr, hop), NETWORK_1
    decode, loudness = CrepeDecode(decoder), CrepeLoudness(sr, hop)
    embedding = CrepeEmbedding(sr, "tiny", hop_length=hop, chunk_size=1, pretrained=False)
    embedding.activation = act
    with torch.inference_mode():
        frames = frames_mod(x)
        activation = act(frames)
        pitch = decode(activation)
        loud = loudness(x)
        emb = embedding(x)
        flat = x.reshape(items, length)
        for k in range(items):
            index = tuple(int(i) for i in torch.unravel_index(torch.tensor(k), lead))
            alone_frames = frames_mod(flat[k])
            alone_act = act(alone_frames)
            alone_pitch = decode(alone_act)
            assert torch.equal(frames[index], alone_frames)
            assert torch.equal(activation[index], alone_act)
            assert torch.equal(pitch.f0[index], alone_pitch.f0)
            assert torch.equal(pitch.periodicity[index], alone_pitch.periodicity)
            assert torch.equal(loud[index], loudness(flat[k]))
            assert torch.equal(emb[index], embedding(flat[k]))


@NETWORK
@given(
    rate_hop=rate_and_hop(),
    decoder=st.sampled_from(DECODERS),
    data=st.data(),
)
def test_garbage_padded_batch_equals_items_alone_bit_for_bit(
    rate_hop: tuple[int, int], decoder: str, data: st.DataObject
) -> None:
    sr, hop = rate_hop
    shortest = min_length(sr)
    longest = max(shortest, 40 * hop)
    lengths = data.draw(
        st.lists(st.integers(shortest, longest), min_size=1, max_size=3), label="lengths"
    )
    g = torch.Generator().manual_seed(sum(lengths))
    items = [0.3 * torch.randn(n, generator=g) for n in lengths]
    # loud garbage everywhere past each length: it must not leak into any valid frame
    batch = 50.0 * torch.randn(len(items), max(lengths), generator=g)
    for k, x in enumerate(items):
        batch[k, : len(x)] = x
    n_samples = torch.tensor(lengths)
    frames_mod, act = CrepeFrames(sr, hop), NETWORK_1
    decode, loudness = CrepeDecode(decoder), CrepeLoudness(sr, hop)
    pitch_mod = CrepePitch(
        sr, "tiny", hop_length=hop, decoder=decoder, chunk_size=1, pretrained=False
    )
    pitch_mod.activation = act
    with torch.inference_mode():
        frames = frames_mod(batch, n_samples)
        counts = num_frames(n_samples, hop)
        activation = act(frames)
        decoded = decode(activation, counts)
        pitch = pitch_mod(batch, n_samples)
        loud = loudness(batch, n_samples)
        for k, x in enumerate(items):
            n = int(counts[k])
            alone_frames = frames_mod(x)
            alone_act = act(alone_frames)
            alone = decode(alone_act)
            assert alone_frames.shape[0] == n
            assert torch.equal(frames[k, :n], alone_frames)
            assert torch.equal(activation[k, :n], alone_act)
            for out in (decoded, pitch):
                assert torch.equal(out.f0[k, :n], alone.f0)
                assert torch.equal(out.periodicity[k, :n], alone.periodicity)
                assert out.f0[k, n:].isnan().all()
                assert out.periodicity[k, n:].eq(0).all()
            assert torch.equal(loud[k, :n], loudness(x))
            assert loud[k, n:].isnan().all()
