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

from crepe_transforms.constants import N_BINS
from crepe_transforms.convert import hz_to_cents
from crepe_transforms.decode import DECODERS, Pitch, decode, weighted_argmax
from crepe_transforms.exceptions import ParameterError
from crepe_transforms.pitch import CrepeDecode, CrepePitch
from crepe_transforms.transforms import CrepeActivation, CrepeFrames
from crepe_transforms.viterbi import HMM


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
    assert CrepeDecode("argmax").extra_repr() == "method='argmax'"
    assert (
        "hmm=HMM(emission='salience', band=11, jump=0.01"
        in CrepeDecode(hmm=HMM(jump=0.01)).extra_repr()
    )
    assert module.transition.shape == (23, 259)  # bins 40..298 admitted
    assert module.state_dict() == {}
    assert CrepeDecode("weighted_argmax").transition is None


@pytest.mark.parametrize("method", DECODERS)
def test_decode_module_equals_functional(method: str) -> None:
    g = torch.Generator().manual_seed(0)
    act = torch.rand(2, 3, 40, N_BINS, generator=g) ** 6
    lengths = torch.tensor([[40, 2, 17], [1, 40, 33]])
    out = CrepeDecode(method, fmin=40.0)(act, lengths)
    ref = decode(act, method, fmin=40.0, lengths=lengths)
    assert isinstance(out, Pitch)
    torch.testing.assert_close(out.frequency, ref.frequency, rtol=0, atol=0, equal_nan=True)
    torch.testing.assert_close(out.periodicity, ref.periodicity, rtol=0, atol=0)


@pytest.mark.parametrize("cast", [nn.Module.half, nn.Module.double, nn.Module.float])
def test_decode_module_survives_dtype_casts(cast: Callable[[nn.Module], nn.Module]) -> None:
    act = torch.rand(60, N_BINS, generator=torch.Generator().manual_seed(1)) ** 6
    module = cast(CrepeDecode())
    torch.testing.assert_close(module(act).frequency, decode(act).frequency, rtol=0, atol=0)


def test_decode_module_in_sequential() -> None:
    pipeline = nn.Sequential(
        CrepeFrames(16000), CrepeActivation("tiny", pretrained=False), CrepeDecode("viterbi")
    )
    pitch = pipeline(torch.randn(2, 3, 1600, generator=torch.Generator().manual_seed(2)))
    assert pitch.frequency.shape == pitch.periodicity.shape == (2, 3, 11)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "crepe"}, "method='crepe' is not supported"),
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


def test_blocks_are_bit_identical_to_sequential(random_pitch: CrepePitch) -> None:
    g = torch.Generator().manual_seed(3)
    audio = torch.randn(3, 3000, generator=g) * 0.1
    lengths = torch.tensor([3000, 1200, 2571])
    m = random_pitch
    with torch.inference_mode():
        activation = m.activation(m.frames(audio, lengths))
        reference = m.decode(activation, m.frames.num_frames(lengths))
        for block_frames in (1, 48, 1000):
            m.block_frames = block_frames
            out = m(audio, lengths)
            torch.testing.assert_close(
                out.frequency, reference.frequency, rtol=0, atol=0, equal_nan=True
            )
            torch.testing.assert_close(out.periodicity, reference.periodicity, rtol=0, atol=0)


def test_padded_batch_matches_items_alone(
    tiny_pitch: CrepePitch, tone: Callable[..., torch.Tensor]
) -> None:
    items = [tone(220.0, 0.5, 16000), tone(587.0, 0.23, 16000, seed=1)]
    batch = torch.zeros(2, 8000)
    for k, x in enumerate(items):
        batch[k, : len(x)] = x
    lengths = torch.tensor([len(x) for x in items])
    with torch.inference_mode():
        out = tiny_pitch(batch, lengths)
        listed = tiny_pitch(batch, lengths.tolist())  # a plain list of lengths works too
        torch.testing.assert_close(listed.frequency, out.frequency, equal_nan=True)
        for k, x in enumerate(items):
            alone = tiny_pitch(x)
            n = alone.frequency.shape[-1]
            # The network's float32 result depends on its batch composition by ~1e-7.
            torch.testing.assert_close(out.frequency[k, :n], alone.frequency, rtol=1e-5, atol=0)
            assert out.frequency[k, n:].isnan().all()
            assert out.periodicity[k, n:].eq(0).all()


def test_threshold_gives_nan_and_train_mode_changes_nothing(
    random_pitch: CrepePitch, tone: Callable[..., torch.Tensor]
) -> None:
    audio = tone(300.0, 0.2, 22050)
    parent = nn.Sequential(random_pitch).train()
    with torch.inference_mode():
        plain = random_pitch(audio)
        thresholded = CrepePitch(22050, "tiny", threshold=0.5, pretrained=False)
        thresholded.load_state_dict(random_pitch.state_dict())
        gated = thresholded(audio)
        again = parent(audio)
    unvoiced = plain.periodicity < 0.5
    assert torch.equal(gated.frequency.isnan(), unvoiced)
    assert torch.equal(gated.frequency[~unvoiced], plain.frequency[~unvoiced])
    assert torch.equal(again.frequency, plain.frequency)
    random_pitch.eval()


def test_gradient_reaches_the_audio() -> None:
    m = CrepePitch(16000, "tiny", decoder="weighted_argmax", resample="resampy", pretrained=False)
    audio = torch.randn(1600, generator=torch.Generator().manual_seed(4)).requires_grad_(True)
    m(audio).frequency.sum().backward()
    assert torch.isfinite(audio.grad).all()
    assert audio.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": 1.5}, r"threshold must be a periodicity in \[0, 1\] or None"),
        ({"decoder": "yin"}, "decoder='yin' is not supported"),
        ({"block_frames": 0}, "block_frames must be a positive integer"),
        ({"capacity": "huge"}, "capacity='huge' is not a CREPE model"),
        ({"fmin": 10.0}, "fmin=10.0 Hz is outside"),
    ],
)
def test_pitch_errors(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"sample_rate": 16000, "capacity": "tiny", "pretrained": False}
    with pytest.raises(ParameterError, match=match):
        CrepePitch(**{**args, **kwargs})  # type: ignore[arg-type]


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
    centres = torch.arange(pitch.frequency.shape[-1]) * 160
    voiced = torch.zeros_like(centres, dtype=torch.bool)
    for start in (len(silence), 2 * len(silence) + sr // 2):
        # Frames whose whole 1024-sample window lies inside a tone.
        voiced |= (centres >= start + 512) & (centres <= start + sr // 2 - 512)
    assert int(voiced.sum()) > 80
    assert cents_off(pitch.frequency[voiced], 220.0).max() <= 50


def test_test_wav_is_right_on_every_clearly_voiced_frame(fixtures_dir: Path) -> None:
    audio, sr = sf.read(fixtures_dir / "test.wav", dtype="float64")
    yin = librosa.yin(audio, fmin=50, fmax=1000, sr=sr, frame_length=2048, hop_length=441)
    full = weighted_argmax(torch.from_numpy(np.load(fixtures_dir / "activation-full.npy")))
    # Clearly voiced: full CREPE confident and agreeing with YIN (an independent method) on
    # the frame and both neighbours, i.e. not at a voicing boundary.
    clear = (cents_off(full.frequency, yin) <= 50) & (full.periodicity.numpy() >= 0.5)
    stable = clear.copy()
    stable[1:-1] &= clear[:-2] & clear[2:]
    assert stable.sum() > 300
    for capacity in ("tiny", "full"):
        activation = torch.from_numpy(np.load(fixtures_dir / f"activation-{capacity}.npy"))
        pitch = CrepeDecode()(activation)
        wrong = cents_off(pitch.frequency, yin)[stable] > 50
        assert wrong.sum() == 0, (capacity, np.nonzero(wrong))
        assert not math.isnan(float(pitch.frequency.mean()))
