"""Conversions between bins, cents, Hz and MIDI (crepe_transforms.functional)."""

from __future__ import annotations

import math

import pytest
import torch

import crepe_transforms.functional as CF
from crepe_transforms.constants import CENTS_OFFSET, FMAX_HZ, FMIN_HZ, N_BINS
from crepe_transforms.functional._internal import cents_to_bins


def test_known_values() -> None:
    hz = CF.bins_to_hz(torch.tensor([0.0, 359.0], dtype=torch.float64))
    torch.testing.assert_close(hz, torch.tensor([FMIN_HZ, FMAX_HZ], dtype=torch.float64))
    assert round(float(hz[0]), 2) == 31.70
    assert round(float(hz[1]), 1) == 2005.5
    assert float(CF.bins_to_cents(torch.tensor(0.0))) == pytest.approx(CENTS_OFFSET)
    assert float(CF.bins_to_cents(torch.tensor(1.0))) == pytest.approx(CENTS_OFFSET + 20)
    assert float(CF.cents_to_hz(torch.tensor(1200.0))) == pytest.approx(20.0)
    assert float(CF.hz_to_midi(torch.tensor(440.0))) == 69.0
    middle_c = CF.midi_to_hz(torch.tensor(60.0, dtype=torch.float64))
    assert float(middle_c) == pytest.approx(261.6255653, abs=1e-6)


# float32 carries ~7 digits and cents reach ~1e4: bins come back within 2e-3 after two
# conversions; float64 within 1e-9.
@pytest.mark.parametrize(("dtype", "atol"), [(torch.float32, 2e-3), (torch.float64, 1e-9)])
def test_round_trips(dtype: torch.dtype, atol: float) -> None:
    bins = torch.linspace(0, N_BINS - 1, 997, dtype=dtype)
    back = cents_to_bins(CF.bins_to_cents(bins))
    torch.testing.assert_close(back, bins, rtol=0, atol=atol)
    torch.testing.assert_close(CF.hz_to_bins(CF.bins_to_hz(bins)), bins, rtol=0, atol=atol)
    hz = CF.bins_to_hz(bins)
    torch.testing.assert_close(CF.midi_to_hz(CF.hz_to_midi(hz)), hz, rtol=1e-5, atol=0)
    torch.testing.assert_close(CF.cents_to_hz(CF.hz_to_cents(hz)), hz, rtol=1e-5, atol=0)


def test_one_bin_is_twenty_cents_and_an_octave_is_sixty_bins() -> None:
    hz = CF.bins_to_hz(torch.tensor([100.0, 160.0], dtype=torch.float64))
    assert float(hz[1] / hz[0]) == pytest.approx(2.0, rel=1e-12)
    midi = CF.hz_to_midi(hz)
    assert float(midi[1] - midi[0]) == pytest.approx(12.0, abs=1e-9)


@pytest.mark.parametrize("fn", [CF.hz_to_cents, CF.hz_to_bins, CF.hz_to_midi])
def test_non_positive_and_nan_hz_give_nan(fn) -> None:  # type: ignore[no-untyped-def]
    out = fn(torch.tensor([0.0, -5.0, math.nan, 440.0]))
    assert out[:3].isnan().all()
    assert torch.isfinite(out[3])


def test_nan_propagates_forward() -> None:
    assert CF.bins_to_hz(torch.tensor([math.nan])).isnan().all()
    assert CF.midi_to_hz(torch.tensor([math.nan])).isnan().all()


@pytest.mark.parametrize(
    "fn",
    [
        CF.bins_to_cents,
        cents_to_bins,
        CF.cents_to_hz,
        CF.hz_to_cents,
        CF.bins_to_hz,
        CF.hz_to_bins,
        CF.hz_to_midi,
        CF.midi_to_hz,
    ],
)
def test_shapes_dtypes_and_scalars(fn) -> None:  # type: ignore[no-untyped-def]
    x = torch.full((2, 3, 4), 100.0, dtype=torch.float64)
    out = fn(x)
    assert out.shape == (2, 3, 4)
    assert out.dtype == torch.float64
    assert fn(100.0).shape == ()  # python scalars are accepted
    assert fn(torch.tensor([7, 8])).is_floating_point()  # integer bins become floats
