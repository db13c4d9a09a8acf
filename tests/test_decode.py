"""Functional decoders: original-CREPE parity, fmin/fmax, batching, lengths, dtypes, errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from crepe_transforms.constants import DECODERS, FMAX_HZ, FMIN_HZ, N_BINS
from crepe_transforms.exceptions import ParameterError
from crepe_transforms.functional import (
    Pitch,
    admitted_bins,
    argmax,
    bins_to_hz,
    decode,
    hz_to_bins,
    local_average,
    viterbi,
    weighted_argmax,
)

# Decoding runs many tiny ops (the torch Viterbi scan): intra-op threads only add barrier waits,
# which take milliseconds per op when the CI cores are busy.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


DECODE_CASES = [
    ("argmax", "default"),
    ("weighted_argmax", "default"),
    ("viterbi", "default"),
    ("viterbi", "crepe"),
]


def random_activation(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    act = torch.rand(*shape, N_BINS, generator=g) ** 8  # mostly small, a few peaks
    return act


def crepe_local_average_cents(activation: np.ndarray) -> np.ndarray:
    """Original CREPE ``to_local_average_cents`` (argmax ± 4 bins), float64."""
    mapping = np.linspace(0, 7180, N_BINS) + 1997.3794084376191
    out = []
    for row in activation:
        c = int(row.argmax())
        lo, hi = max(0, c - 4), min(N_BINS, c + 5)
        w = row[lo:hi].astype(np.float64)
        out.append((w * mapping[lo:hi]).sum() / w.sum())
    return np.array(out)


@pytest.mark.parametrize("capacity", ["tiny", "full"])
def test_weighted_argmax_matches_original_crepe(capacity: str, fixtures_dir: Path) -> None:
    activation = np.load(fixtures_dir / f"activation-{capacity}.npy")
    pitch = weighted_argmax(torch.from_numpy(activation))
    cents = 1200 * np.log2(pitch.f0.double().numpy() / 10.0)
    # float32 weighted mean of offsets vs float64 absolute cents: < 1e-3 cents apart.
    np.testing.assert_allclose(cents, crepe_local_average_cents(activation), rtol=0, atol=1e-3)
    np.testing.assert_array_equal(pitch.periodicity.numpy(), activation.max(axis=1))


def test_argmax_is_the_centre_of_the_best_bin() -> None:
    act = random_activation(50)
    pitch = argmax(act)
    torch.testing.assert_close(pitch.f0, bins_to_hz(act.argmax(-1)).float())
    torch.testing.assert_close(pitch.periodicity, act.max(-1).values)


def test_local_average_clips_at_the_edges_and_handles_zero_weights() -> None:
    act = torch.zeros(3, N_BINS)
    act[0, 0], act[0, 2] = 1.0, 1.0  # window 0..4 clipped at bin 0
    act[1, 359], act[1, 355] = 3.0, 1.0
    centre = torch.tensor([0, 359, 200])  # row 2: all-zero window stays at its centre
    torch.testing.assert_close(local_average(act, centre), torch.tensor([1.0, 358.0, 200.0]))


@pytest.mark.parametrize(("decoder", "hmm"), DECODE_CASES)
def test_periodicity_is_the_activation_at_the_decoded_bin(decoder: str, hmm: str) -> None:
    act = random_activation(2, 60, seed=1)
    pitch = decode(act, decoder, hmm=hmm)
    bins = hz_to_bins(pitch.f0.double()).round().long()
    # The local average moves the frequency at most 4 bins from the decoded bin.
    window = (bins[..., None] + torch.arange(-4, 5)).clamp(0, N_BINS - 1)
    candidates = act.gather(-1, window)
    assert (candidates == pitch.periodicity[..., None]).any(-1).all()


@pytest.mark.parametrize(("decoder", "hmm"), DECODE_CASES)
def test_leading_dims_are_batch_consistent(decoder: str, hmm: str) -> None:
    act = random_activation(2, 3, 40, seed=2)
    out = decode(act, decoder, hmm=hmm)
    assert isinstance(out, Pitch)
    assert out.f0.shape == out.periodicity.shape == (2, 3, 40)
    for i in range(2):
        for j in range(3):
            alone = decode(act[i, j], decoder, hmm=hmm)
            torch.testing.assert_close(out.f0[i, j], alone.f0, rtol=0, atol=0)
            torch.testing.assert_close(out.periodicity[i, j], alone.periodicity, rtol=0, atol=0)


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize(("decoder", "hmm"), DECODE_CASES)
def test_padded_batch_equals_items_alone(decoder: str, hmm: str, backend: str) -> None:
    items = [random_activation(n, seed=n) for n in (70, 9, 33)]
    batch = random_activation(3, 70, seed=99)  # garbage past each length
    for k, item in enumerate(items):
        batch[k, : len(item)] = item
    lengths = torch.tensor([len(x) for x in items])
    out = decode(batch, decoder, lengths=lengths, hmm=hmm, backend=backend)
    for k, item in enumerate(items):
        alone = decode(item, decoder, hmm=hmm, backend=backend)
        n = len(item)
        torch.testing.assert_close(out.f0[k, :n], alone.f0, rtol=0, atol=0)
        torch.testing.assert_close(out.periodicity[k, :n], alone.periodicity, rtol=0, atol=0)
        assert out.f0[k, n:].isnan().all()
        assert out.periodicity[k, n:].eq(0).all()


@pytest.mark.parametrize(("decoder", "hmm"), DECODE_CASES)
@pytest.mark.parametrize(("fmin", "fmax"), [(50.0, 500.0), (100.0, 101.0), (FMIN_HZ, 40.0)])
def test_output_stays_within_fmin_fmax(decoder: str, hmm: str, fmin: float, fmax: float) -> None:
    pitch = decode(random_activation(4, 30, seed=3), decoder, fmin, fmax, hmm=hmm)
    assert pitch.f0.min() >= fmin * (1 - 1e-6)  # float32 rounding of the Hz value
    assert pitch.f0.max() <= fmax * (1 + 1e-6)


def test_admitted_bins_are_those_with_centre_in_range() -> None:
    centres = bins_to_hz(torch.arange(N_BINS, dtype=torch.float64))
    assert admitted_bins() == (0, N_BINS - 1)
    assert admitted_bins(FMIN_HZ, 2005.5) == (0, N_BINS - 1)
    # A bound exactly on a bin centre admits that bin.
    assert admitted_bins(float(centres[40]), float(centres[300])) == (40, 300)
    lo, hi = admitted_bins(float(centres[40]) + 1e-9, float(centres[300]) - 1e-9)
    assert (lo, hi) == (41, 299)


def test_viterbi_fmin_fmax_decodes_only_admitted_states() -> None:
    act = torch.full((20, N_BINS), 0.01)
    act[:, 300] = 0.9  # strongest peak outside [fmin, fmax]
    act[:, 100] = 0.5
    pitch = viterbi(act, fmin=50.0, fmax=500.0)
    torch.testing.assert_close(pitch.f0, bins_to_hz(torch.full((20,), 100)).float())


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize(("decoder", "hmm"), DECODE_CASES)
def test_float_dtypes(dtype: torch.dtype, decoder: str, hmm: str) -> None:
    act = random_activation(2, 25, seed=4)
    reference = decode(act.to(dtype).float(), decoder, hmm=hmm)
    out = decode(act.to(dtype), decoder, hmm=hmm)
    assert out.f0.dtype == out.periodicity.dtype == dtype
    # The decode itself runs in float32 or wider; only the final cast rounds (bf16: 8 bits).
    torch.testing.assert_close(out.f0.float(), reference.f0, rtol=4e-3, atol=0)


@pytest.mark.parametrize("decoder", DECODERS)
def test_determinism_and_no_gradient(decoder: str) -> None:
    # Decoding picks bins: the outputs never carry a gradient, and activations that require
    # grad are accepted and detached (0.1 let a gradient through the local average).
    act = random_activation(30, seed=5).requires_grad_(True)
    first, second = decode(act, decoder), decode(act, decoder)
    assert torch.equal(first.f0, second.f0)
    assert not first.f0.requires_grad
    assert not first.periodicity.requires_grad
    assert torch.equal(first.f0, decode(act.detach(), decoder).f0)
    assert act.grad is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fmin": 500.0, "fmax": 100.0}, "fmin=500.0 Hz must be lower than fmax=100.0 Hz"),
        ({"fmin": 30.0}, r"fmin=30.0 Hz is outside CREPE's bin range \[31.70, 2005.5\]"),
        ({"fmax": 2100.0}, "fmax=2100.0 Hz is outside CREPE's bin range"),
        ({"fmin": 100.0, "fmax": 100.5}, r"No CREPE bin centre lies in \[fmin=100.0"),
        ({"fmin": "50"}, "fmin must be a frequency in Hz or None"),
        ({"fmax": math.nan}, "fmax=nan Hz is outside"),
        ({"decoder": "pyin"}, "decoder='pyin' is not supported. Choose one of 'argmax'"),
        ({"hmm": "default2"}, "hmm='default2' is not a Viterbi configuration"),
    ],
)
def test_parameter_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        decode(random_activation(5), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("decoder", DECODERS)
def test_bad_activation_inputs(decoder: str) -> None:
    with pytest.raises(ParameterError, match=r"last dimension 360, got \(5, 1024\)"):
        decode(torch.rand(5, 1024), decoder)
    with pytest.raises(ParameterError, match=r"shape \(\.\.\., frames, 360\), got \(360,\)"):
        decode(torch.rand(N_BINS), decoder)
    with pytest.raises(ParameterError, match=r"must be floating point, got torch\.int64"):
        decode(torch.ones(5, N_BINS, dtype=torch.int64), decoder)
    bad = random_activation(5)
    bad[2, 7] = math.nan
    with pytest.raises(ParameterError, match="activation contains NaN or Inf"):
        decode(bad, decoder)


@pytest.mark.parametrize("decoder", DECODERS)
def test_bad_lengths(decoder: str) -> None:
    act = random_activation(2, 10)
    with pytest.raises(ParameterError, match=r"maximum of 11, which exceeds the time axis \(10\)"):
        decode(act, decoder, lengths=torch.tensor([11, 3]))
    with pytest.raises(ParameterError, match=r"lengths has shape \(3,\) but the input's leading"):
        decode(act, decoder, lengths=torch.tensor([1, 2, 3]))
    with pytest.raises(ParameterError, match="at least 1 for every item"):
        decode(act, decoder, lengths=torch.tensor([0, 3]))


def test_range_constants() -> None:
    assert admitted_bins(FMIN_HZ, FMAX_HZ) == (0, N_BINS - 1)


@pytest.mark.parametrize("decoder", DECODERS)
def test_empty_inputs_give_empty_outputs(decoder: str) -> None:
    assert decode(torch.zeros(2, 0, N_BINS), decoder).f0.shape == (2, 0)
    assert decode(torch.zeros(0, 5, N_BINS), decoder).periodicity.shape == (0, 5)
