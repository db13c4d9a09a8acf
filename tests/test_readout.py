"""The differentiable readout: agreement with weighted_argmax, gradients, range, lengths, errors."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from _fixtures import fixture_path
from torch import nn

import crepe_transforms
from crepe_transforms import CrepeActivation, CrepeFrames, CrepeSoftDecode
from crepe_transforms.constants import DEFAULT_TEMPERATURE, N_BINS
from crepe_transforms.exceptions import ParameterError
from crepe_transforms.functional import (
    admitted_bins,
    bins_to_cents,
    bins_to_hz,
    hz_to_cents,
    soft_decode,
    weighted_argmax,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def random_activation(
    *shape: int, seed: int = 0, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Activations in (0.02, 0.98): away from the logit clamp, so every bin has a gradient."""
    g = torch.Generator().manual_seed(seed)
    return 0.02 + 0.96 * torch.rand(*shape, N_BINS, generator=g, dtype=dtype)


def cents(hz: torch.Tensor) -> torch.Tensor:
    return hz_to_cents(hz.double())


@pytest.mark.parametrize("capacity", ["tiny", "full"])
def test_close_to_weighted_argmax_on_confident_frames(capacity: str) -> None:
    # Original Keras CREPE activations of a real 10 s recording (shared fixture).
    act = torch.from_numpy(np.load(fixture_path(f"activation-{capacity}.npy")))
    soft, reference = soft_decode(act), weighted_argmax(act)
    confident = reference.periodicity > 0.8
    assert int(confident.sum()) > 100  # tiny 141 frames, full 252
    gap = (cents(soft.f0) - cents(reference.f0)).abs()[confident]
    # Measured at the default temperature: max 5.9 (tiny) / 7.7 (full), median < 2.2 cents.
    # 10 cents is half a bin: a readout on the wrong side of the peak would fail it.
    assert float(gap.max()) < 10.0
    assert float(gap.median()) < 3.0
    # Periodicity is CREPE's confidence, the same number weighted_argmax returns.
    assert torch.equal(soft.periodicity, reference.periodicity)


def test_close_to_true_f0_of_tones(tone: Callable[..., torch.Tensor]) -> None:
    # Real tiny weights: 12 harmonic tones over 90-900 Hz, interior frames only.
    f0s = torch.logspace(math.log10(90.0), math.log10(900.0), 12, dtype=torch.float64)
    audio = torch.stack([tone(float(f), 0.25, 16000, seed=i) for i, f in enumerate(f0s)])
    act = nn.Sequential(CrepeFrames(16000), CrepeActivation("tiny"))(audio)[:, 4:-4]
    soft, reference = soft_decode(act), weighted_argmax(act)
    truth = hz_to_cents(f0s)[:, None]
    # Measured: soft readout within 9.6 cents of the true f0 (weighted_argmax 6.3) and within
    # 7.6 of weighted_argmax. 30 cents is well under a quarter tone (50) and far from an
    # octave error; 10 is half a bin.
    assert float((cents(soft.f0) - truth).abs().max()) < 30.0
    gap = cents(soft.f0) - cents(reference.f0)
    assert float(gap.abs().max()) < 10.0


def test_gradient_is_finite_and_nonzero() -> None:
    act = random_activation(2, 7, seed=1).requires_grad_()
    pitch = soft_decode(act, fmin=60.0, fmax=900.0)
    (pitch.f0.log().sum() + pitch.periodicity.sum()).backward()
    assert act.grad is not None
    assert bool(torch.isfinite(act.grad).all())
    low, high = admitted_bins(60.0, 900.0)
    inside = act.grad[..., low : high + 1]
    assert int((inside != 0).sum()) == inside.numel()  # every admitted bin has a say
    assert int((act.grad[..., :low] != 0).sum()) == 0  # excluded bins have none
    assert int((act.grad[..., high + 1 :] != 0).sum()) == 0


@pytest.mark.parametrize("temperature", [0.1, DEFAULT_TEMPERATURE, 1.0])
def test_gradcheck_float64(temperature: float) -> None:
    act = random_activation(2, 1, seed=2, dtype=torch.float64).requires_grad_()

    def frequency(a: torch.Tensor) -> torch.Tensor:
        return soft_decode(a, fmin=100.0, fmax=400.0, temperature=temperature).f0

    def periodicity(a: torch.Tensor) -> torch.Tensor:
        return soft_decode(a, temperature=temperature).periodicity

    assert torch.autograd.gradcheck(frequency, (act,), eps=1e-6, atol=1e-5, rtol=1e-4)
    assert torch.autograd.gradcheck(periodicity, (act,), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_fmin_fmax_respected() -> None:
    act = torch.full((4, N_BINS), 0.01)
    act[:, 300] = 0.99  # strongest peak above fmax
    act[:, 100] = 0.6
    pitch = soft_decode(act, fmin=50.0, fmax=500.0)
    torch.testing.assert_close(pitch.f0, bins_to_hz(torch.full((4,), 100.0)))
    assert torch.equal(pitch.periodicity, torch.full((4,), 0.6))
    noise = soft_decode(random_activation(3, 50, seed=3), fmin=80.0, fmax=300.0).f0
    # Bin centres bound every expectation over them: within float32 rounding of the limits.
    assert float(noise.min()) >= 80.0
    assert float(noise.max()) <= 300.0


def test_flat_salience_reads_the_middle_of_the_range() -> None:
    # The documented bias: with nothing to choose, the expectation is the mean bin of the
    # admitted range on the cents scale, whatever the temperature.
    low, high = admitted_bins(100.0, 1000.0)
    middle = bins_to_hz(torch.tensor((low + high) / 2, dtype=torch.float64)).float()
    for temperature in (0.05, 1.0):
        pitch = soft_decode(torch.full((1, N_BINS), 0.3), 100.0, 1000.0, temperature)
        torch.testing.assert_close(pitch.f0, middle.reshape(1), rtol=1e-5, atol=0)


def test_two_equal_peaks_read_between_them() -> None:
    act = torch.full((1, N_BINS), 0.001)
    act[0, 120], act[0, 180] = 0.9, 0.9  # an octave apart
    pitch = soft_decode(act)
    expected = bins_to_hz(torch.tensor([150.0], dtype=torch.float64)).float()
    torch.testing.assert_close(pitch.f0, expected, rtol=1e-5, atol=0)
    # ... where weighted_argmax commits to one of them.
    assert float(weighted_argmax(act).f0) == pytest.approx(float(bins_to_hz(120.0)))


def test_expected_value_is_on_the_cents_scale() -> None:
    act = torch.full((1, N_BINS), 1e-9, dtype=torch.float64)
    act[0, 100], act[0, 160] = 0.9, 0.9
    pitch = soft_decode(act, temperature=1.0)
    peaks = torch.tensor([100.0, 160.0], dtype=torch.float64)
    # The floor's total weight is ~4e-8: it moves the mean by < 1e-4 cents.
    assert float(cents(pitch.f0)) == pytest.approx(float(bins_to_cents(peaks).mean()), abs=1e-3)
    # Not the mean in Hz, which lies 1.3 semitones higher for a pair 60 bins (an octave) apart.
    assert float(cents(bins_to_hz(peaks).mean()) - cents(pitch.f0)) > 100.0


def test_lower_temperature_approaches_the_peak() -> None:
    act = torch.full((1, N_BINS), 1e-5, dtype=torch.float64)
    act[0, 200], act[0, 201] = 0.9, 0.5  # odds 9 and 1
    peak = float(bins_to_cents(torch.tensor(200.0, dtype=torch.float64)))
    offsets = [
        float(cents(soft_decode(act, temperature=t).f0)) - peak for t in (1.0, 0.3, 0.1, 0.03)
    ]
    assert offsets == sorted(offsets, reverse=True)
    # T=1: the weaker neighbour holds 1/10 of the weight, 2 cents; T=0.03: (1/9)**33 of it.
    assert offsets[0] == pytest.approx(2.0, abs=0.2)
    assert abs(offsets[-1]) < 1e-6


def test_leading_dims_batch_consistency_and_lengths() -> None:
    act = random_activation(2, 3, 9, seed=4)
    lengths = torch.tensor([[9, 4, 1], [2, 9, 7]])
    batched = soft_decode(act, lengths=lengths)
    assert batched.f0.shape == batched.periodicity.shape == (2, 3, 9)
    for i in range(2):
        for j in range(3):
            n = int(lengths[i, j])
            alone = soft_decode(act[i, j, :n])
            torch.testing.assert_close(batched.f0[i, j, :n], alone.f0)
            assert bool(batched.f0[i, j, n:].isnan().all())
            assert bool((batched.periodicity[i, j, n:] == 0).all())


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_float_dtypes(dtype: torch.dtype) -> None:
    act = random_activation(2, 6, seed=5)
    out = soft_decode(act.to(dtype))
    assert out.f0.dtype == out.periodicity.dtype == dtype
    reference = soft_decode(act.to(dtype).float())
    # Computed in float32 or wider; only the final cast rounds (bf16: 8 significant bits).
    torch.testing.assert_close(out.f0.float(), reference.f0, rtol=4e-3, atol=0)


def test_saturated_activations_stay_finite() -> None:
    act = torch.zeros(3, N_BINS)
    act[:, 150] = 1.0  # sigmoid outputs that rounded to exactly 0 and 1 in float32
    act.requires_grad_()
    pitch = soft_decode(act)
    torch.testing.assert_close(pitch.f0, bins_to_hz(torch.full((3,), 150.0)))
    pitch.f0.sum().backward()
    assert act.grad is not None
    assert bool(torch.isfinite(act.grad).all())


def test_module_matches_function_and_composes() -> None:
    module = CrepeSoftDecode(fmin=60.0, fmax=1200.0, temperature=0.3)
    assert repr(module) == "CrepeSoftDecode(fmin=60.0, fmax=1200.0, temperature=0.3)"
    assert repr(CrepeSoftDecode()) == "CrepeSoftDecode()"
    assert module.state_dict() == {}
    act = random_activation(2, 5, seed=6)
    lengths = torch.tensor([5, 3])
    out = module(act, lengths)
    expected = soft_decode(act, 60.0, 1200.0, 0.3, lengths)
    assert torch.equal(out.f0.nan_to_num(), expected.f0.nan_to_num())
    torch.manual_seed(0)
    pipeline = nn.Sequential(
        CrepeFrames(16000), CrepeActivation("tiny", pretrained=False), CrepeSoftDecode()
    )
    audio = torch.randn(3, 2000, requires_grad=True)
    pitch = pipeline(audio)
    assert pitch.f0.shape == (3, 13)
    pitch.f0.log().mean().backward()
    assert audio.grad is not None
    assert bool(torch.isfinite(audio.grad).all())
    assert float(audio.grad.abs().sum()) > 0
    assert "CrepeSoftDecode" in crepe_transforms.__all__
    assert "soft_decode" in crepe_transforms.functional.__all__


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"temperature": 0.0}, r"temperature must be a positive finite number, got 0.0"),
        ({"temperature": -1}, r"got -1\. It divides the activations' logits"),
        ({"temperature": math.inf}, r"got inf.*the default is 0.2"),
        ({"temperature": math.nan}, r"got nan"),
        ({"temperature": True}, r"got True"),
        ({"temperature": "0.2"}, r"got '0.2'"),
        ({"fmin": 500.0, "fmax": 100.0}, r"fmin=500.0 Hz must be lower than fmax=100.0 Hz"),
        ({"fmax": 3000.0}, r"fmax=3000.0 Hz is outside CREPE's bin range"),
    ],
)
def test_parameter_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        soft_decode(random_activation(4), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=match):
        CrepeSoftDecode(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("activation", "match"),
    [
        (torch.rand(5, 1024), r"activation must have shape \(\.\.\., frames, 360\)"),
        (torch.rand(360), r"For a single frame use activation\[None\]"),
        (torch.ones(2, 360, dtype=torch.int64), r"activation must be floating point"),
        (torch.full((2, 360), math.nan), r"activation contains NaN or Inf"),
    ],
)
def test_bad_activations(activation: torch.Tensor, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        soft_decode(activation)


def test_bad_lengths() -> None:
    with pytest.raises(ParameterError, match=r"lengths has a maximum of 9, which exceeds"):
        soft_decode(random_activation(2, 5), lengths=torch.tensor([9, 2]))
