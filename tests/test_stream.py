"""CrepeStream: pushed audio gives the offline CrepePitch answer, row by row, whatever the chunks.

Parity bars: frames (the network input) equal the offline frames to float32 rounding (the
carried resampler computes the same sums; normalisation may round differently in another
batch); activations then differ by float rounding only, so f0 agrees within 1e-3 relative and
periodicity within 1e-5 (issue 15's bars). Fixed-lag Viterbi with a lag of at least the number
of frames is the offline path exactly.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch
from conftest import make_tone

from crepe_transforms import (
    CrepeActivation,
    CrepeDecode,
    CrepeFrames,
    CrepePitch,
    CrepeStream,
    ParameterError,
)
from crepe_transforms.functional import FixedLagViterbi, viterbi_path
from crepe_transforms.functional._internal import (
    CREPE_HMM,
    DEFAULT_HMM,
    log_emission,
    log_transition,
)
from crepe_transforms.functional._viterbi import log_jump

RATES = (8000, 16000, 22050, 44100, 48000)
SECONDS = 0.6


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread: None) -> None:
    """Chunks run in order on one thread: the hooks below see frames in pipeline order."""


@pytest.fixture(scope="module")
def tiny() -> CrepeActivation:
    return CrepeActivation("tiny")


def two_rows(sr: int, seconds: float = SECONDS) -> torch.Tensor:
    """Two streams with different content: a tone, and a quieter tone in noise."""
    noise = torch.randn(round(seconds * sr), generator=torch.Generator().manual_seed(sr))
    return torch.stack(
        [make_tone(220.0, seconds, sr), 0.3 * make_tone(345.0, seconds, sr, seed=1) + 0.01 * noise]
    )


def chunk_sizes(total: int, seed: int, sr: int) -> Iterator[int]:
    """Random sizes from 1 sample to a second, with runs of single samples."""
    rng = np.random.default_rng(seed)
    pos = 0
    while pos < total:
        kind = rng.integers(4)
        if kind == 0:  # a run of one-sample pushes
            sizes = [1] * int(rng.integers(1, 40))
        elif kind == 1:
            sizes = [int(rng.integers(2, 200))]
        elif kind == 2:
            sizes = [sr // 100]  # 10 ms, a microphone's block
        else:
            sizes = [int(rng.integers(200, sr))]
        for n in sizes:
            n = min(n, total - pos)
            if n > 0:
                yield n
                pos += n


def stream_all(stream: CrepeStream, audio: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Push ``audio`` in random chunks, flush, and join the outputs along frames."""
    parts, pos = [], 0
    for n in chunk_sizes(audio.shape[-1], seed, stream.frames.sample_rate):
        parts.append(stream.push(audio[..., pos : pos + n]))
        pos += n
    parts.append(stream.flush())
    return tuple(torch.cat([p[i] for p in parts], dim=-1) for i in range(2))


def record(module: torch.nn.Module, what: str) -> list[torch.Tensor]:
    """Every input (``what="in"``) or output of ``module``'s forward calls, in order."""
    seen: list[torch.Tensor] = []
    if what == "in":
        module.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    else:
        module.register_forward_hook(lambda m, args, out: seen.append(out.detach().clone()))
    return seen


def record_activations(stream: CrepeStream) -> list[torch.Tensor]:
    """The activations ``(rows, frames, 360)`` each push computes, in order."""
    seen: list[torch.Tensor] = []
    compute = stream._activations

    def recorded(*args: object) -> torch.Tensor:
        out = compute(*args)  # type: ignore[arg-type]
        seen.append(out.clone())
        return out

    stream._activations = recorded  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize("sr", RATES)
def test_streamed_frames_equal_offline_frames(sr: int) -> None:
    activation = CrepeActivation("tiny", pretrained=False)
    stream = CrepeStream.from_parts(CrepeFrames(sr), activation, CrepeDecode("argmax"))
    seen = record(activation.network, "in")
    audio = two_rows(sr)[1]
    stream_all(stream, audio, seed=sr)
    streamed = torch.cat(seen)
    offline = CrepeFrames(sr)(audio)
    assert streamed.shape == offline.shape
    # the same sums give the same 16 kHz samples (measured: identical bits); the bar allows
    # float32 rounding of the normalisation in another batch shape
    assert float((streamed - offline).abs().max()) < 1e-6


@pytest.mark.parametrize("decoder", ["weighted_argmax", "argmax"])
@pytest.mark.parametrize("sr", RATES)
def test_streamed_pitch_equals_offline(sr: int, decoder: str, tiny: CrepeActivation) -> None:
    offline = CrepePitch.from_parts(CrepeFrames(sr), tiny, CrepeDecode(decoder))
    stream = CrepeStream.from_parts(offline.frames, tiny, offline.decode)
    audio = two_rows(sr)
    f0, periodicity = stream_all(stream, audio, seed=sr + 1)
    reference = offline(audio)
    assert f0.shape == reference.f0.shape == (2, 1 + audio.shape[-1] // (sr // 100))
    assert float(((f0 - reference.f0).abs() / reference.f0).max()) < 1e-3
    assert float((periodicity - reference.periodicity).abs().max()) < 1e-5
    assert stream.emitted == f0.shape[-1]
    assert stream.received == audio.shape[-1]


def test_rows_are_independent_streams(tiny: CrepeActivation) -> None:
    sr = 22050
    audio = torch.cat([two_rows(sr), two_rows(sr).flip(-1) * 0.5]).reshape(2, 2, -1)
    decode = CrepeDecode("weighted_argmax")
    batch = stream_all(CrepeStream.from_parts(CrepeFrames(sr), tiny, decode), audio, seed=3)
    for index in np.ndindex(2, 2):
        alone = stream_all(
            CrepeStream.from_parts(CrepeFrames(sr), tiny, decode), audio[index], seed=3
        )
        # the rows share network calls (one per push for the whole batch), so a row's frames sit
        # at other positions of a call than alone: float rounding apart (~1e-7), no more
        torch.testing.assert_close(batch[0][index], alone[0], rtol=1e-5, atol=0.0)
        torch.testing.assert_close(batch[1][index], alone[1], rtol=0.0, atol=1e-6)


@pytest.mark.parametrize(("sr", "samples"), [(16000, 1), (16000, 159), (16000, 160), (44100, 7)])
def test_flush_ends_like_offline_framing(sr: int, samples: int, tiny: CrepeActivation) -> None:
    stream = CrepeStream.from_parts(CrepeFrames(sr), tiny, CrepeDecode("argmax"))
    audio = two_rows(sr)[:, :samples]
    first = stream.push(audio)
    rest = stream.flush()
    assert first.f0.shape[-1] == 0  # no window is complete before the end
    assert rest.f0.shape[-1] == 1 + samples // (sr // 100)


def test_reset_starts_over(tiny: CrepeActivation) -> None:
    stream = CrepeStream.from_parts(CrepeFrames(16000), tiny, CrepeDecode("weighted_argmax"))
    audio = two_rows(16000)
    first = stream_all(stream, audio, seed=5)
    stream.reset()
    assert (stream.received, stream.emitted) == (0, 0)
    again = stream_all(stream, audio[0], seed=5)  # a new stream may have another shape
    assert torch.equal(again[0], first[0][0])


def test_viterbi_with_a_long_lag_is_the_offline_viterbi() -> None:
    sr = 44100
    stream = CrepeStream.from_parts(
        CrepeFrames(sr), CrepeActivation("tiny"), CrepeDecode(), lag=10**6
    )
    seen = record_activations(stream)
    audio = two_rows(sr)
    f0, periodicity = stream_all(stream, audio, seed=7)
    offline = CrepeDecode()(torch.cat(seen, dim=1))
    assert f0.shape == offline.f0.shape == (2, 1 + audio.shape[-1] // 441)
    assert torch.equal(f0, offline.f0)
    assert torch.equal(periodicity, offline.periodicity)


@pytest.mark.parametrize("hmm", [DEFAULT_HMM, CREPE_HMM], ids=["default", "crepe"])
@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_fixed_lag_viterbi_decides_like_offline(hmm: object, backend: str) -> None:
    rng = np.random.default_rng(11)
    act = torch.rand(3, 150, 300, generator=torch.Generator().manual_seed(0)) ** 6
    act[1, 40:70] *= 1e-4  # an unvoiced stretch: flat emissions, where early decisions differ
    table = log_transition(300, hmm)  # type: ignore[arg-type]
    offline = viterbi_path(log_emission(act, hmm), table, log_jump(300, hmm))  # type: ignore[arg-type]
    sizes = [int(n) for n in rng.integers(1, 25, size=40)]
    paths = {}
    for lag in (0, 3, 150, 1000):
        lagged = FixedLagViterbi(300, hmm, table, lag, backend)  # type: ignore[arg-type]
        parts, pos = [], 0
        for n in sizes:
            parts.append(lagged.step(act[:, pos : pos + n]))
            pos = min(pos + n, 150)
            # a frame is decided exactly when the frame ``lag`` later has arrived
            assert lagged.decided == max(0, pos - lag)
            if pos == 150:
                break
        parts.append(lagged.finish())
        paths[lag] = torch.cat(parts, dim=1)
        assert paths[lag].shape == offline.shape
    assert torch.equal(paths[150], offline)
    assert torch.equal(paths[1000], offline)
    assert not torch.equal(paths[0], offline)  # the random salience makes lag 0 disagree


def test_fixed_lag_backends_agree() -> None:
    act = torch.rand(2, 80, 360, generator=torch.Generator().manual_seed(1)) ** 4
    table = log_transition(360, DEFAULT_HMM)
    out = {}
    for backend in ("numba", "torch"):
        lagged = FixedLagViterbi(360, DEFAULT_HMM, table, 5, backend)
        parts = [lagged.step(part) for part in act.split([1, 9, 30, 40], dim=1)]
        out[backend] = torch.cat([*parts, lagged.finish()], dim=1)
    assert torch.equal(out["numba"], out["torch"])


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_fixed_lag_pointers_grow_amortised_and_copies_are_snapshots(backend: str) -> None:
    # issue 20: one carried forward recursion whose back-pointer buffer is reused, not
    # concatenated per step; a copy taken before a step still decides as before it
    act = torch.rand(1, 400, 360, generator=torch.Generator().manual_seed(4)) ** 4
    table = log_transition(360, DEFAULT_HMM)
    lagged = FixedLagViterbi(360, DEFAULT_HMM, table, 8, backend)
    buffers, parts = set(), []
    for t in range(400):
        if t == 200:
            snapshot = copy.copy(lagged)
        parts.append(lagged.step(act[:, t : t + 1]))
        buffers.add(lagged.buffer.data_ptr())  # type: ignore[union-attr]
        assert lagged.buffer.shape[1] <= 64  # type: ignore[union-attr]  # lag + 1 frames live
    whole = torch.cat([*parts, lagged.finish()], dim=1)
    assert len(buffers) <= 400 // 32  # a new buffer at most every ~32 frames, not every step
    again = [snapshot.step(act[:, t : t + 1]) for t in range(200, 400)]
    resumed = torch.cat([*parts[:200], *again, snapshot.finish()], dim=1)
    assert torch.equal(resumed, whole)
    offline = viterbi_path(log_emission(act, DEFAULT_HMM), table, log_jump(360, DEFAULT_HMM))
    full = FixedLagViterbi(360, DEFAULT_HMM, table, 1000, backend)
    for t in range(0, 400, 7):  # nothing decided early: the buffer grows to every frame
        assert full.step(act[:, t : t + 7]).shape[1] == 0
    assert torch.equal(full.finish(), offline)


@pytest.mark.parametrize("lag", [0, 4])
def test_viterbi_lag_holds_frames_back(lag: int, tiny: CrepeActivation) -> None:
    stream = CrepeStream.from_parts(CrepeFrames(16000), tiny, CrepeDecode(), lag=lag)
    audio = two_rows(16000)
    pushed = stream.push(audio[:, :4000])  # frames 0 … 21 complete (centre + 512 ≤ 4000)
    assert pushed.f0.shape[-1] == max(0, 22 - lag)
    assert stream.flush().f0.shape[-1] == 1 + 4000 // 160 - pushed.f0.shape[-1]


@pytest.mark.parametrize("decoder", ["weighted_argmax", "viterbi"])
def test_step_frames_trades_latency_not_values(decoder: str, tiny: CrepeActivation) -> None:
    sr = 22050
    audio = two_rows(sr)
    decode = CrepeDecode(decoder)

    def ten_ms_pushes(stream: CrepeStream) -> tuple[tuple[torch.Tensor, ...], int]:
        calls = record(stream.activation.network, "in")
        parts = [stream.push(chunk) for chunk in audio.split(sr // 100, dim=-1)]
        parts.append(stream.flush())
        joined = tuple(torch.cat([p[i] for p in parts], dim=-1) for i in range(2))
        return joined, len(calls)

    every, calls_every = ten_ms_pushes(
        CrepeStream.from_parts(CrepeFrames(sr), copy.deepcopy(tiny), decode, lag=3)
    )
    stepped = CrepeStream.from_parts(
        CrepeFrames(sr), copy.deepcopy(tiny), decode, lag=3, step_frames=5
    )
    grouped, calls_stepped = ten_ms_pushes(stepped)
    # the same frames; the network met them in other groups, so values agree to rounding
    assert grouped[0].shape == every[0].shape
    torch.testing.assert_close(grouped[0], every[0], rtol=1e-5, atol=0.0, equal_nan=True)
    torch.testing.assert_close(grouped[1], every[1], rtol=0.0, atol=1e-5)
    # a 10 ms push completes one frame: five network calls become one (per row)
    assert calls_stepped <= calls_every / 5 + 2
    assert stepped.latency == pytest.approx(
        CrepeStream.from_parts(CrepeFrames(sr), tiny, decode, lag=3).latency + 4 * 220 / sr
    )


def test_step_frames_holds_frames_back(tiny: CrepeActivation) -> None:
    stream = CrepeStream.from_parts(CrepeFrames(16000), tiny, CrepeDecode("argmax"), step_frames=8)
    audio = two_rows(16000)
    assert stream.push(audio[:, :1600]).f0.shape[-1] == 0  # frames 0 … 6 complete: 7 < 8
    assert stream.push(audio[:, 1600:1700]).f0.shape[-1] == 8  # frame 7 completes the step
    assert stream.flush().f0.shape[-1] == 1 + 1700 // 160 - 8


@pytest.mark.parametrize(
    ("sr", "decoder", "step"), [(16000, "argmax", 1), (44100, "viterbi", 1), (16000, "argmax", 4)]
)
def test_latency_is_when_frames_come_out(sr: int, decoder: str, step: int) -> None:
    stream = CrepeStream(sr, "tiny", decoder=decoder, lag=3, step_frames=step, pretrained=False)
    hop = sr // 100
    audio = two_rows(sr, 0.1)[0]
    delays = []
    for n in range(audio.shape[-1]):
        out = stream.push(audio[n : n + 1])
        for i in range(stream.emitted - out.f0.shape[-1], stream.emitted):
            delays.append((n + 1) / sr - i * hop / sr)
    assert len(delays) > 3
    # the documented delay is a bound, reached up to the rounding of the centre to 16 kHz
    # (half a 16 kHz sample), the resampler's reach (one input sample) and the window's end
    assert max(delays) <= stream.latency + 1e-9
    slack = (0 if sr == 16000 else 1.5 / 16000 + 1 / sr) + 1e-9
    # the last frame of a step waits least: (step_frames - 1) hops less than the first
    assert min(delays) >= stream.latency - (step - 1) * hop / sr - slack


def test_options_route_to_the_parts_and_settings_rebuild() -> None:
    stream = CrepeStream(
        22050,
        "tiny",
        hop_length=441,
        decoder="argmax",
        fmin=60.0,
        voicing=0.4,
        lag=5,
        pretrained=False,
    )
    assert (stream.frames.hop_length, stream.decode.decoder, stream.decode.fmin) == (
        441,
        "argmax",
        60.0,
    )
    again = CrepeStream(**stream.settings())
    assert again.settings() == stream.settings()
    assert repr(again) == repr(stream)
    assert "lag=5" in stream.extra_repr()
    assert "voicing=0.4" in stream.extra_repr()
    assert list(stream.state_dict()) == [f"activation.{k}" for k in stream.activation.state_dict()]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"hop": 10}, "no option 'hop'"),
        ({"lag": -1}, "lag must be a non-negative integer"),
        ({"lag": 2.5}, "lag must be a non-negative integer"),
        ({"step_frames": 0}, "step_frames must be a positive integer"),
        ({"resample": "torchaudio"}, "resample='torchaudio' cannot stream"),
        ({"voicing": 2.0}, "voicing must be None or a periodicity"),
    ],
)
def test_bad_settings(options: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        CrepeStream(22050, "tiny", pretrained=False, **options)


BAD_CHUNKS: list[tuple[Callable[[torch.Tensor], object], str]] = [
    (lambda good: good.clone().index_fill_(-1, torch.tensor([3]), math.nan), "NaN or Inf"),
    (lambda good: good.double(), "dtype torch.float64 but this stream started with"),
    (lambda good: good[:1], r"leading shape \(1,\) but this stream has \(2,\)"),
    (lambda good: (good * 32767).short(), "integer dtype"),
    (lambda good: good.numpy(), "must be a torch.Tensor"),
]


@pytest.mark.parametrize(("bad", "match"), BAD_CHUNKS)
def test_bad_chunks_leave_the_state_unchanged(
    bad: Callable[[torch.Tensor], object], match: str, tiny: CrepeActivation
) -> None:
    sr = 44100
    audio = two_rows(sr, 0.3)
    decode = CrepeDecode("viterbi")
    reference = stream_all(CrepeStream.from_parts(CrepeFrames(sr), tiny, decode, lag=2), audio)
    stream = CrepeStream.from_parts(CrepeFrames(sr), tiny, decode, lag=2)
    first = stream.push(audio[:, :5000])
    before = (stream.received, stream.emitted)
    with pytest.raises(ParameterError, match=match):
        stream.push(bad(audio[:, 5000:5441]))  # type: ignore[arg-type]
    assert (stream.received, stream.emitted) == before
    rest = stream.push(audio[:, 5000:])
    last = stream.flush()
    f0 = torch.cat([first.f0, rest.f0, last.f0], dim=-1)
    assert torch.allclose(f0, reference[0], rtol=1e-5)  # as if the bad chunk never came


def test_a_loud_finite_chunk_is_audio(tiny: CrepeActivation) -> None:
    # the usual push is checked with one sum, which finite samples near float32's largest
    # value overflow: the full check then decides (finite, so accepted)
    stream = CrepeStream.from_parts(CrepeFrames(16000), tiny, CrepeDecode("argmax"))
    stream.push(torch.zeros(2, 1600))
    loud = torch.full((2, 160), 3e38)
    assert torch.isinf(loud.sum())
    assert stream.push(loud).f0.shape == (2, 1)
    with pytest.raises(ParameterError, match="NaN or Inf"):
        stream.push(torch.full((2, 160), math.inf))


def test_push_after_flush_needs_reset() -> None:
    stream = CrepeStream(16000, "tiny", pretrained=False)
    with pytest.raises(ParameterError, match="push\\(\\) at least one chunk"):
        stream.flush()
    stream.push(torch.zeros(3, 800))
    stream.flush()
    with pytest.raises(ParameterError, match=r"push\(\) after flush\(\)"):
        stream.push(torch.zeros(3, 10))
    with pytest.raises(ParameterError, match="flushed already"):
        stream.flush()
    stream.reset()
    assert stream.push(torch.zeros(10)).f0.shape == (0,)


def test_voicing_and_output_dtype(tiny: CrepeActivation) -> None:
    stream = CrepeStream.from_parts(
        CrepeFrames(16000), tiny, CrepeDecode("weighted_argmax"), voicing=0.5
    )
    audio = torch.cat([make_tone(220.0, 0.3, 16000), torch.zeros(4800)])
    audio.requires_grad_(True)  # accepted and detached: decoded pitch carries no gradient
    f0, periodicity = stream_all(stream, audio)
    assert f0.dtype == periodicity.dtype == torch.float32
    assert not f0.requires_grad
    assert bool(torch.isnan(f0[periodicity < 0.5]).all())
    assert bool(torch.isfinite(f0[periodicity >= 0.5]).all())
    assert int((periodicity >= 0.5).sum()) > 10


def test_state_moves_with_to(tiny: CrepeActivation) -> None:
    sr = 22050
    stream = CrepeStream.from_parts(CrepeFrames(sr), copy.deepcopy(tiny), CrepeDecode(), lag=3)
    audio = two_rows(sr)
    first = stream.push(audio[:, :6000])
    stream.double()  # network, undecided activations and outputs go to float64
    rest = stream.push(audio[:, 6000:])
    last = stream.flush()
    assert rest.f0.dtype == last.f0.dtype == torch.float64
    f0 = torch.cat([first.f0.double(), rest.f0, last.f0], dim=-1)
    offline = CrepePitch.from_parts(CrepeFrames(sr), tiny, CrepeDecode())(audio)
    assert float(((f0 - offline.f0).abs() / offline.f0).max()) < 1e-3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_state_moves_to_cuda(tiny: CrepeActivation) -> None:
    sr = 44100
    stream = CrepeStream.from_parts(CrepeFrames(sr), copy.deepcopy(tiny), CrepeDecode(), lag=3)
    audio = two_rows(sr)
    first = stream.push(audio[:, :6000])
    stream.cuda()
    rest = stream.push(audio[:, 6000:].cuda())
    last = stream.flush()
    assert rest.f0.device.type == last.f0.device.type == "cuda"
    f0 = torch.cat([first.f0, rest.f0.cpu(), last.f0.cpu()], dim=-1)
    offline = CrepePitch.from_parts(CrepeFrames(sr), tiny, CrepeDecode())(audio)
    assert float(((f0 - offline.f0).abs() / offline.f0).max()) < 1e-3


@pytest.mark.parametrize("rows", [1, 8, 32])
def test_a_batch_of_streams_costs_one_network_call_a_push(
    rows: int, tiny: CrepeActivation, one_torch_thread: None
) -> None:
    # What makes many streams scale: the rows' new frames go through the network together, so
    # the per-call cost (reading the weights, Python) is paid once a push, not once a row.
    stream = CrepeStream.from_parts(CrepeFrames(16000), tiny, CrepeDecode("weighted_argmax"))
    calls = record(stream.activation.network, "in")
    audio = make_tone(220.0, 0.3, 16000).expand(rows, -1)
    pushes = [stream.push(chunk) for chunk in audio.split(160, dim=-1)]
    computing = sum(p.f0.shape[-1] > 0 for p in pushes)
    assert len(calls) == computing
    assert sorted({c.shape[0] for c in calls}) == [rows]  # each call: one new frame of each row
