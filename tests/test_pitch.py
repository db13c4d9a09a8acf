"""CrepeDecode and CrepePitch: composition, block-wise exactness, batching, collapse checks."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

import crepe_transforms.functional._decode as decode_impl
import crepe_transforms.transforms._decode as decode_module
from crepe_transforms import (
    HMM,
    CrepeActivation,
    CrepeDecode,
    CrepeEmbedding,
    CrepeFrames,
    CrepePitch,
    ParameterError,
    Pitch,
)
from crepe_transforms.constants import DECODERS, N_BINS
from crepe_transforms.functional import admitted_bins, decode, hz_to_cents, weighted_argmax
from crepe_transforms.functional._internal import log_transition


def cents_off(hz: torch.Tensor | np.ndarray, reference: float | np.ndarray) -> np.ndarray:
    hz = torch.as_tensor(hz, dtype=torch.float64)
    ref = torch.as_tensor(reference, dtype=torch.float64)
    return (hz_to_cents(hz) - hz_to_cents(ref)).abs().numpy()


@pytest.fixture(scope="module")
def tiny_pitch() -> CrepePitch:
    """Real tiny weights: the collapse checks need a trained network."""
    return CrepePitch(16000, "tiny", chunk_size=64)


@pytest.fixture(scope="module")
def random_pitch() -> CrepePitch:
    return CrepePitch(22050, "tiny", chunk_size=16, pretrained=False)


# ----------------------------------------------------------------------------- CrepeDecode


def test_decode_module_config_and_buffers() -> None:
    assert CrepeDecode().extra_repr() == ""
    module = CrepeDecode("viterbi", fmin=50.0, fmax=1000.0, hmm="crepe", backend="torch")
    assert module.extra_repr() == "fmin=50.0, fmax=1000.0, hmm='crepe', backend='torch'"
    assert CrepeDecode("argmax").extra_repr() == "decoder='argmax'"
    assert (
        "hmm=HMM(emission='salience', band=11, jump=0.01"
        in CrepeDecode(hmm=HMM(jump=0.01)).extra_repr()
    )
    assert module.transition.shape == (23, 259)  # bins 40..298 admitted
    assert module.state_dict() == {}
    assert CrepeDecode("weighted_argmax").transition is None


@pytest.mark.parametrize("decoder", DECODERS)
def test_decode_module_equals_functional(decoder: str) -> None:
    g = torch.Generator().manual_seed(0)
    act = torch.rand(2, 3, 40, N_BINS, generator=g) ** 6
    lengths = torch.tensor([[40, 2, 17], [1, 40, 33]])
    out = CrepeDecode(decoder, fmin=40.0)(act, lengths)
    ref = decode(act, decoder, fmin=40.0, lengths=lengths)
    assert isinstance(out, Pitch)
    torch.testing.assert_close(out.f0, ref.f0, rtol=0, atol=0, equal_nan=True)
    torch.testing.assert_close(out.periodicity, ref.periodicity, rtol=0, atol=0)


CASTS = {
    "half": nn.Module.half,
    "double": nn.Module.double,
    "float": nn.Module.float,
    "to-float32": lambda m: m.to(torch.float32),
    "to-bfloat16": lambda m: m.to(torch.bfloat16),
}


@pytest.mark.parametrize("cast", CASTS.values(), ids=CASTS.keys())
def test_decode_module_survives_dtype_casts(cast: Callable[[nn.Module], nn.Module]) -> None:
    act = torch.rand(60, N_BINS, generator=torch.Generator().manual_seed(1)) ** 6
    module = cast(CrepeDecode(fmin=50.0, fmax=1000.0))
    # The table stays the exact float64 one (0.1 rebuilt it on every call instead).
    assert module.transition is not None
    assert module.transition.dtype == torch.float64
    low, high = admitted_bins(50.0, 1000.0)
    assert torch.equal(module.transition, log_transition(high - low + 1, "default"))
    reference = decode(act, fmin=50.0, fmax=1000.0)
    torch.testing.assert_close(module(act).f0, reference.f0, rtol=0, atol=0)


def test_decode_module_derives_nothing_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    # Bins and table are derived once in __init__; forward and the composites' decode() only
    # decode. A spy that fails on use proves they are not derived again per call.
    module = CrepeDecode(fmin=60.0, fmax=900.0)
    pitch = CrepePitch(16000, "tiny", fmin=60.0, fmax=900.0, pretrained=False)
    act = torch.rand(2, 30, N_BINS, generator=torch.Generator().manual_seed(2)) ** 6
    expected = module(act)
    calls: list[str] = []

    def spy(name: str) -> Callable[..., object]:
        def fail(*args: object, **kwargs: object) -> object:
            calls.append(name)
            raise AssertionError(f"{name} called per decode")

        return fail

    for target in (decode_impl, decode_module):
        monkeypatch.setattr(target, "admitted_bins", spy("admitted_bins"))
    for target in (decode_impl.kernel, decode_module):  # the Viterbi kernel module, as used
        monkeypatch.setattr(target, "log_transition", spy("log_transition"))
    again = module(act)
    inside = module.decode(act, torch.tensor([30, 12]))
    out = pitch(torch.randn(2, 1600, generator=torch.Generator().manual_seed(3)))
    assert calls == []
    assert torch.equal(again.f0, expected.f0)
    assert torch.equal(inside.f0[0], expected.f0[0])
    assert out.f0.shape == (2, 11)
    monkeypatch.undo()
    # The control: the spy does fire where the bins are derived (so the test can fail).
    monkeypatch.setattr(decode_module, "admitted_bins", spy("admitted_bins"))
    with pytest.raises(AssertionError, match="admitted_bins called"):
        CrepeDecode(fmin=60.0)


def test_decode_module_in_sequential() -> None:
    pipeline = nn.Sequential(
        CrepeFrames(16000), CrepeActivation("tiny", pretrained=False), CrepeDecode("viterbi")
    )
    pitch = pipeline(torch.randn(2, 3, 1600, generator=torch.Generator().manual_seed(2)))
    assert pitch.f0.shape == pitch.periodicity.shape == (2, 3, 11)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"decoder": "crepe"}, "decoder='crepe' is not supported"),
        ({"fmin": 300.0, "fmax": 200.0}, "fmin=300.0 Hz must be lower than fmax=200.0 Hz"),
        ({"fmax": 3000.0}, "fmax=3000.0 Hz is outside CREPE's bin range"),
        ({"hmm": "fast"}, "hmm='fast' is not a Viterbi configuration"),
        ({"backend": "gpu"}, "backend='gpu' is not supported"),
    ],
)
def test_decode_module_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        CrepeDecode(**kwargs)  # type: ignore[arg-type]


def test_decode_module_input_errors() -> None:
    with pytest.raises(ParameterError, match="Did you pass frames or audio"):
        CrepeDecode()(torch.zeros(4, 1024))


# ----------------------------------------------------------------------------- CrepePitch


def test_pitch_submodules_and_state_dict(random_pitch: CrepePitch) -> None:
    assert isinstance(random_pitch.frames, CrepeFrames)
    assert isinstance(random_pitch.activation, CrepeActivation)
    assert isinstance(random_pitch.decode, CrepeDecode)
    assert all(k.startswith("activation.network.") for k in random_pitch.state_dict())


def test_blocks_are_bit_identical_and_padding_is_skipped(random_pitch: CrepePitch) -> None:
    g = torch.Generator().manual_seed(3)
    audio = torch.randn(3, 3000, generator=g) * 0.1
    lengths = torch.tensor([3000, 1200, 2571])
    m = random_pitch
    counts = m.frames.num_frames(lengths)
    seen: list[int] = []
    hook = m.activation.network.register_forward_hook(
        lambda module, args, out: seen.append(args[0].shape[0])
    )
    outputs = []
    try:
        with torch.inference_mode():
            for block_frames in (1, 48, 1000):
                m.block_frames = block_frames
                seen.clear()
                outputs.append(m(audio, lengths))
                # Frames past an item's length never reach the network.
                assert sum(seen) == int(counts.sum()), block_frames
            alone = [m(audio[k, :n]) for k, n in enumerate(lengths.tolist())]
            sequential = m.decode(m.activation(m.frames(audio, lengths)), counts)
    finally:
        hook.remove()
        m.block_frames = 4096
    reference = outputs[0]
    for out in outputs[1:]:  # any block size: the same network calls, the same bits
        assert torch.equal(out.f0.nan_to_num(), reference.f0.nan_to_num())
        assert torch.equal(out.periodicity, reference.periodicity)
    for k, item in enumerate(alone):  # each item's valid frames: the item alone, bit for bit
        n = int(counts[k])
        assert torch.equal(reference.f0[k, :n], item.f0)
        assert torch.equal(reference.periodicity[k, :n], item.periodicity)
        assert reference.f0[k, n:].isnan().all()
    # 0.2 changed this on purpose: nn.Sequential computes the padded frames too, so its chunks
    # of the shorter items hold other frames than CrepePitch's: float32 kernel rounding only.
    torch.testing.assert_close(reference.f0, sequential.f0, rtol=1e-5, atol=0, equal_nan=True)
    torch.testing.assert_close(reference.periodicity, sequential.periodicity, rtol=0, atol=1e-6)


def padded_batch_against_items(pitch: CrepePitch, tone: Callable[..., torch.Tensor]) -> None:
    items = [tone(220.0, 0.5, 16000), tone(587.0, 0.23, 16000, seed=1)]
    batch = torch.zeros(2, 8000)
    for k, x in enumerate(items):
        batch[k, : len(x)] = x
    lengths = torch.tensor([len(x) for x in items])
    with torch.inference_mode():
        out = pitch(batch, lengths)
        listed = pitch(batch, lengths.tolist())  # a plain list of lengths works too
        torch.testing.assert_close(listed.f0, out.f0, equal_nan=True)
        for k, x in enumerate(items):
            alone = pitch(x)
            n = alone.f0.shape[-1]
            # The same frames in the same network chunks as the item alone: the same bits.
            assert torch.equal(out.f0[k, :n], alone.f0)
            assert torch.equal(out.periodicity[k, :n], alone.periodicity)
            assert out.f0[k, n:].isnan().all()
            assert out.periodicity[k, n:].eq(0).all()


@pytest.mark.parametrize("threads", [1, 2])
def test_padded_batch_matches_items_alone(
    tiny_pitch: CrepePitch, tone: Callable[..., torch.Tensor], one_torch_thread: None, threads: int
) -> None:
    # Every CPU chunk runs on one thread (model/_parallel.py), whatever the caller's thread
    # count: an item alone (one chunk) equals the item in a batch (two chunks) bit for bit.
    torch.set_num_threads(threads)  # restored by the fixture
    padded_batch_against_items(tiny_pitch, tone)


def test_voicing_gives_nan_and_train_mode_changes_nothing(
    random_pitch: CrepePitch, tone: Callable[..., torch.Tensor]
) -> None:
    audio = tone(300.0, 0.2, 22050)
    parent = nn.Sequential(random_pitch).train()
    with torch.inference_mode():
        plain = random_pitch(audio)
        level = float(plain.periodicity.median())  # random weights: their own typical level
        voiced_only = CrepePitch(22050, "tiny", voicing=level, pretrained=False)
        voiced_only.load_state_dict(random_pitch.state_dict())
        gated = voiced_only(audio)
        again = parent(audio)
    unvoiced = plain.periodicity < level
    assert 0 < int(unvoiced.sum()) < unvoiced.numel()  # both kinds of frame occur
    assert torch.equal(gated.f0.isnan(), unvoiced)
    assert torch.equal(gated.f0[~unvoiced], plain.f0[~unvoiced])
    assert torch.equal(again.f0, plain.f0)
    random_pitch.eval()


def test_decoded_pitch_never_carries_a_gradient() -> None:
    # 0.2's one gradient rule: audio that requires grad is accepted and detached (0.1 passed
    # a gradient through weighted_argmax's local average instead).
    m = CrepePitch(16000, "tiny", decoder="weighted_argmax", pretrained=False)
    audio = torch.randn(1600, generator=torch.Generator().manual_seed(4)).requires_grad_(True)
    pitch = m(audio)
    assert pitch.f0.shape == (11,)
    assert not pitch.f0.requires_grad
    assert not pitch.periodicity.requires_grad
    with torch.no_grad():
        assert torch.equal(pitch.f0, m(audio.detach()).f0)
    with pytest.raises(RuntimeError, match="does not require grad"):
        pitch.f0.sum().backward()
    assert audio.grad is None


def test_options_beyond_rate_and_capacity_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        CrepePitch(16000, "tiny", 160)  # type: ignore[misc]
    assert CrepePitch(16000, "tiny", hop_length=160, pretrained=False).frames.hop_length == 160


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"voicing": 1.5}, r"voicing must be None or a periodicity threshold in \[0, 1\]"),
        # issue 22 item 12: 0.1's names get the new one, device= says how modules move
        (
            {"threshold": 0.5},
            r"CrepePitch has no option 'threshold'\. It was renamed to 'voicing' in 0\.2: pass "
            r"voicing=\.\.\. instead",
        ),
        (
            {"device": "cuda"},
            r"no option 'device'\. Transforms are torch modules: .*\.to\('cuda'\)",
        ),
        ({"hop": 160}, r"It was renamed to 'hop_length' in 0\.2"),
        ({"decoder": "yin"}, "decoder='yin' is not supported"),
        ({"method": "argmax"}, r"CrepePitch has no option 'method'\. It was renamed to 'decoder'"),
        ({"block_frames": 0}, "block_frames must be a positive integer"),
        ({"capacity": "huge"}, "capacity='huge' is not a CREPE model"),
        ({"fmin": 10.0}, "fmin=10.0 Hz is outside"),
    ],
)
def test_pitch_errors(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"sample_rate": 16000, "capacity": "tiny", "pretrained": False}
    with pytest.raises(ParameterError, match=match):
        CrepePitch(**{**args, **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "typo", "meant"),
    [
        (CrepePitch, "voicng", "voicing"),
        (CrepePitch, "block_frame", "block_frames"),
        (CrepeEmbedding, "layot", "layout"),
    ],
)
def test_a_misspelt_own_option_gets_its_name_suggested(
    build: type[CrepePitch] | type[CrepeEmbedding], typo: str, meant: str
) -> None:
    with pytest.raises(ParameterError, match=rf"has no option '{typo}'\. Did you mean '{meant}'"):
        build(16000, "tiny", pretrained=False, **{typo: 1})


def test_pitch_input_errors(random_pitch: CrepePitch) -> None:
    with pytest.raises(ParameterError, match=r"integer dtype torch\.int16"):
        random_pitch(torch.zeros(100, dtype=torch.int16))
    with pytest.raises(ParameterError, match="exceeds the time axis"):
        random_pitch(torch.zeros(2, 100), torch.tensor([100, 101]))


# ----------------------------------------------------------------------------- no collapse


def test_tone_between_digital_silence_is_right_on_every_voiced_frame(
    tiny_pitch: CrepePitch, tone: Callable[..., torch.Tensor]
) -> None:
    sr = 16000
    silence = torch.zeros(round(0.7 * sr))
    audio = torch.cat([silence, tone(220.0, 0.5, sr), silence, tone(220.0, 0.5, sr), silence])
    with torch.inference_mode():
        pitch = tiny_pitch(audio)
    centres = torch.arange(pitch.f0.shape[-1]) * 160
    voiced = torch.zeros_like(centres, dtype=torch.bool)
    for start in (len(silence), 2 * len(silence) + sr // 2):
        # Frames whose whole 1024-sample window lies inside a tone.
        voiced |= (centres >= start + 512) & (centres <= start + sr // 2 - 512)
    assert int(voiced.sum()) > 80
    assert cents_off(pitch.f0[voiced], 220.0).max() <= 50


def test_test_wav_is_right_on_every_clearly_voiced_frame(fixtures_dir: Path) -> None:
    audio, sr = sf.read(fixtures_dir / "test.wav", dtype="float64")
    yin = librosa.yin(audio, fmin=50, fmax=1000, sr=sr, frame_length=2048, hop_length=441)
    full = weighted_argmax(torch.from_numpy(np.load(fixtures_dir / "activation-full.npy")))
    # Clearly voiced: full CREPE confident and agreeing with YIN (an independent method) on
    # the frame and both neighbours, i.e. not at a voicing boundary.
    clear = (cents_off(full.f0, yin) <= 50) & (full.periodicity.numpy() >= 0.5)
    stable = clear.copy()
    stable[1:-1] &= clear[:-2] & clear[2:]
    assert stable.sum() > 300
    for capacity in ("tiny", "full"):
        activation = torch.from_numpy(np.load(fixtures_dir / f"activation-{capacity}.npy"))
        pitch = CrepeDecode()(activation)
        wrong = cents_off(pitch.f0, yin)[stable] > 50
        assert wrong.sum() == 0, (capacity, np.nonzero(wrong))
        assert not math.isnan(float(pitch.f0.mean()))
