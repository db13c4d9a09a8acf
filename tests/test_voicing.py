"""Voicing decisions (threshold, hysteresis, silence gate) and NaN-aware filters."""

from __future__ import annotations

import math

import pytest
import torch

from crepe_transforms.exceptions import ParameterError
from crepe_transforms.functional import (
    hysteresis,
    nan_mean_filter,
    nan_median_filter,
    silence,
    threshold,
)

NAN = math.nan


def test_threshold_marks_unvoiced_with_nan() -> None:
    f = torch.tensor([[100.0, 200.0, 300.0], [400.0, 500.0, 600.0]])
    p = torch.tensor([[0.9, 0.2, 0.5], [0.0, 1.0, 0.49]])
    out = threshold(f, p, 0.5)
    expected = torch.tensor([[100.0, NAN, 300.0], [NAN, 500.0, NAN]])
    torch.testing.assert_close(out, expected, equal_nan=True)
    assert not (out == 0).any()
    assert not (out == -1).any()
    assert torch.equal(f, torch.tensor([[100.0, 200.0, 300.0], [400.0, 500.0, 600.0]]))


def test_hysteresis_keeps_runs_that_reach_upper() -> None:
    p = torch.tensor([0.5, 0.2, 0.1, 0.25, 0.28, 0.2, 0.05, 0.2, 0.35, 0.2])
    out = hysteresis(torch.full((10,), 100.0), p, lower=0.19, upper=0.31)
    voiced = ~out.isnan()
    expected = [True, True, False, False, False, False, False, True, True, True]
    assert voiced.tolist() == expected


def test_hysteresis_runs_do_not_cross_batch_items() -> None:
    # Item 0 ends in a weak run; item 1 starts with a strong one. Joined, they would merge.
    p = torch.tensor([[0.1, 0.1, 0.25], [0.9, 0.25, 0.1]])
    out = hysteresis(torch.full((2, 3), 100.0), p)
    assert (~out.isnan()).tolist() == [[False, False, False], [True, True, False]]
    for k in range(2):
        torch.testing.assert_close(
            out[k], hysteresis(torch.full((3,), 100.0), p[k]), equal_nan=True
        )


def test_hysteresis_with_equal_levels_is_a_threshold() -> None:
    g = torch.Generator().manual_seed(0)
    f, p = torch.rand(4, 50, generator=g) * 500, torch.rand(4, 50, generator=g)
    torch.testing.assert_close(hysteresis(f, p, 0.3, 0.3), threshold(f, p, 0.3), equal_nan=True)


def test_silence_gate_is_absolute() -> None:
    f = torch.tensor([100.0, 200.0, 300.0, 400.0])
    loud = torch.tensor([-30.0, -61.0, -60.0, NAN])
    torch.testing.assert_close(
        silence(f, loud), torch.tensor([100.0, NAN, 300.0, NAN]), equal_nan=True
    )
    # Independent of the rest of the call: a louder neighbour changes nothing.
    louder = torch.tensor([0.0, -61.0, -60.0, NAN])
    assert torch.equal(silence(f, louder).isnan(), silence(f, loud).isnan())


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
@pytest.mark.parametrize("filt", [nan_median_filter, nan_mean_filter])
def test_filters_keep_dtype_length_and_nan(filt, dtype: torch.dtype) -> None:  # type: ignore[no-untyped-def]
    x = torch.tensor([[100.0, 110.0, NAN, 120.0, 130.0, NAN, NAN, 140.0]], dtype=dtype)
    out = filt(x, 3)
    assert out.dtype == dtype
    assert out.shape == x.shape
    assert torch.equal(out.isnan(), x.isnan())


def test_median_filter_values() -> None:
    x = torch.tensor([100.0, 400.0, 101.0, NAN, 102.0, 103.0, 900.0, 104.0])
    expected = torch.tensor([100.0, 101.0, 101.0, NAN, 102.0, 103.0, 104.0, 104.0])
    torch.testing.assert_close(nan_median_filter(x, 3), expected, equal_nan=True)


def test_mean_filter_values() -> None:
    x = torch.tensor([[1.0, 2.0, 3.0, NAN, 5.0], [NAN, 4.0, NAN, NAN, 8.0]])
    expected = torch.tensor([[1.5, 2.0, 2.5, NAN, 5.0], [NAN, 4.0, NAN, NAN, 8.0]])
    torch.testing.assert_close(nan_mean_filter(x, 3), expected, equal_nan=True)


@pytest.mark.parametrize("filt", [nan_median_filter, nan_mean_filter])
def test_filters_are_batch_consistent_and_window_one_is_identity(filt) -> None:  # type: ignore[no-untyped-def]
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 40, generator=g) * 300
    x[x < 60] = NAN
    out = filt(x, 5)
    for i in range(2):
        for j in range(3):
            torch.testing.assert_close(out[i, j], filt(x[i, j], 5), equal_nan=True)
    torch.testing.assert_close(filt(x, 1), x, equal_nan=True)


@pytest.mark.parametrize("filt", [nan_median_filter, nan_mean_filter])
def test_filter_errors(filt) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParameterError, match="window must be a positive odd number of frames"):
        filt(torch.zeros(5), 4)
    with pytest.raises(ParameterError, match="window must be a positive odd number"):
        filt(torch.zeros(5), 0)
    with pytest.raises(ParameterError, match=r"x must be a floating-point torch\.Tensor"):
        filt(torch.zeros(5, dtype=torch.int64), 3)


def test_voicing_errors() -> None:
    f, p = torch.zeros(5), torch.zeros(5)
    with pytest.raises(ParameterError, match=r"threshold must be a number in \[0.0, 1.0\]"):
        threshold(f, p, 1.5)
    with pytest.raises(ParameterError, match=r"upper must be a number in \[0.5, 1.0\]"):
        hysteresis(f, p, lower=0.5, upper=0.3)
    with pytest.raises(ParameterError, match=r"f0 has shape \(5,\) but periodicity has"):
        threshold(f, torch.zeros(6), 0.5)
    with pytest.raises(ParameterError, match="same sample_rate and hop_length"):
        silence(f, torch.zeros(4))
    with pytest.raises(ParameterError, match=r"loudness must be a floating-point torch\.Tensor"):
        silence(f, [0.0] * 5)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="min_db must be a number"):
        silence(f, p, min_db="quiet")  # type: ignore[arg-type]
