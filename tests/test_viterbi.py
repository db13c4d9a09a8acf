"""Viterbi kernels: exactness against a dense numpy reference, backend identity, batching."""

from __future__ import annotations

import math
from pathlib import Path

import librosa
import numpy as np
import pytest
import torch

import crepe_transforms.functional._viterbi as V
from crepe_transforms.exceptions import MissingDependencyError, ParameterError
from crepe_transforms.functional import HMM, viterbi, viterbi_path
from crepe_transforms.functional._internal import (
    CREPE_HMM,
    DEFAULT_HMM,
    log_emission,
    log_jump,
    log_transition,
)
from crepe_transforms.functional._viterbi import resolve_hmm

N = 360
BACKENDS = ["numba", "torch"]


@pytest.fixture(autouse=True)
def _one_torch_thread():  # type: ignore[no-untyped-def]
    """The torch scan is a loop of tiny ops: intra-op threads only add barrier waits, which
    take milliseconds per op when the CI cores are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def dense_transition(n_states: int, band: int, jump: float) -> np.ndarray:
    """Independent dense matrix: P(j | i) ∝ max(band + 1 − |i − j|, 0), plus uniform jumps."""
    i = np.arange(n_states)
    weights = np.maximum(band + 1 - np.abs(i[:, None] - i[None, :]), 0).astype(np.float64)
    return (1 - jump) * weights / weights.sum(axis=1, keepdims=True) + jump / n_states


def crepe_reference_path(activation: np.ndarray) -> np.ndarray:
    """The original CREPE HMM, written out densely and decoded by librosa."""
    observations = activation.argmax(axis=1)
    emission = np.full((N, N), 0.9 / N) + 0.1 * np.eye(N)  # P(obs = column | state = row)
    path = librosa.sequence.viterbi(
        emission[:, observations], dense_transition(N, 11, 0.0), p_init=np.full(N, 1 / N)
    )
    return np.asarray(path, dtype=np.int64)


def crepe_reference_cents(activation: np.ndarray, path: np.ndarray) -> np.ndarray:
    """Original CREPE ``to_local_average_cents`` around each path bin, in float64."""
    mapping = np.linspace(0, 7180, N) + 1997.3794084376191
    out = np.empty(len(path))
    for t, centre in enumerate(path):
        lo, hi = max(0, centre - 4), min(N, centre + 5)
        weights = activation[t, lo:hi].astype(np.float64)
        out[t] = (weights * mapping[lo:hi]).sum() / weights.sum()
    return out


def decode_path(activation: torch.Tensor, hmm: HMM, backend: str, lengths=None) -> torch.Tensor:
    n_states = activation.shape[-1]
    return viterbi_path(
        log_emission(activation, hmm),
        log_transition(n_states, hmm),
        log_jump(n_states, hmm),
        lengths,
        backend,
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("capacity", ["tiny", "full"])
def test_crepe_hmm_path_identical_to_reference(
    capacity: str, backend: str, fixtures_dir: Path
) -> None:
    activation = np.load(fixtures_dir / f"activation-{capacity}.npy")
    reference = crepe_reference_path(activation)
    path = decode_path(torch.from_numpy(activation)[None], CREPE_HMM, backend)[0].numpy()
    np.testing.assert_array_equal(path, reference)


@pytest.mark.parametrize("capacity", ["tiny", "full"])
def test_crepe_hmm_frequency_matches_original_decoder(capacity: str, fixtures_dir: Path) -> None:
    activation = np.load(fixtures_dir / f"activation-{capacity}.npy")
    cents = crepe_reference_cents(activation, crepe_reference_path(activation))
    hz = viterbi(torch.from_numpy(activation), hmm="crepe").f0.double().numpy()
    ours = 1200 * np.log2(hz / 10.0)
    # float32 weighted mean vs the float64 reference: well under a thousandth of a cent.
    np.testing.assert_allclose(ours, cents, rtol=0, atol=1e-3)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("jump", [1e-6, 1e-3, 0.1])
def test_jump_hmm_matches_dense_reference(jump: float, backend: str, fixtures_dir: Path) -> None:
    activation = np.load(fixtures_dir / "activation-tiny.npy")[300:450]
    hmm = HMM(emission="salience", jump=jump, floor=1e-3)
    emission = np.maximum(activation.astype(np.float64), 1e-3)
    reference = librosa.sequence.viterbi(
        emission.T, dense_transition(N, 11, jump), p_init=np.full(N, 1 / N)
    )
    path = decode_path(torch.from_numpy(activation)[None], hmm, backend)[0].numpy()
    np.testing.assert_array_equal(path, reference)


@pytest.mark.parametrize("hmm", [CREPE_HMM, DEFAULT_HMM, HMM(band=3, jump=0.5)])
def test_torch_backend_equals_numba_with_ties_and_lengths(hmm: HMM) -> None:
    g = torch.Generator().manual_seed(0)
    # Activations on a coarse grid create many exact ties: both kernels must break them alike.
    activation = torch.randint(0, 4, (3, 120, 40), generator=g).float() / 4
    lengths = torch.tensor([120, 1, 57])
    numba_path = decode_path(activation, hmm, "numba", lengths)
    torch_path = decode_path(activation, hmm, "torch", lengths)
    for item, length in enumerate(lengths.tolist()):
        torch.testing.assert_close(numba_path[item, :length], torch_path[item, :length])


@pytest.mark.parametrize("backend", BACKENDS)
def test_padded_batch_decodes_each_item_as_alone(backend: str) -> None:
    g = torch.Generator().manual_seed(1)
    items = [torch.rand(n, 50, generator=g) for n in (80, 13, 47)]
    batch = torch.rand(3, 80, 50, generator=g)  # garbage beyond each length
    for k, item in enumerate(items):
        batch[k, : len(item)] = item
    lengths = torch.tensor([len(x) for x in items])
    paths = decode_path(batch, DEFAULT_HMM, backend, lengths)
    for k, item in enumerate(items):
        alone = decode_path(item[None], DEFAULT_HMM, backend)[0]
        torch.testing.assert_close(paths[k, : len(item)], alone)


def test_strict_band_never_moves_more_than_band() -> None:
    g = torch.Generator().manual_seed(2)
    path = decode_path(torch.rand(1, 400, N, generator=g), HMM(band=5), "numba")[0]
    assert int(path.diff().abs().max()) <= 5


def test_jump_lets_the_path_follow_a_note_change() -> None:
    activation = torch.full((1, 40, N), 0.01)
    activation[0, :20, 50] = 0.9
    activation[0, 20:, 250] = 0.9  # 200 bins away: impossible within a ±11 band in one frame
    path = decode_path(activation, DEFAULT_HMM, "numba")[0]
    assert path[:20].eq(50).all()
    assert path[20:].eq(250).all()


def test_log_transition_rows_are_normalised() -> None:
    for hmm in (CREPE_HMM, DEFAULT_HMM, HMM(band=2, jump=0.2)):
        n = 30
        table = log_transition(n, hmm).exp()  # [k, j] = P(j | i = j + k - band)
        dense = torch.full((n, n), math.exp(log_jump(n, hmm)), dtype=torch.float64)
        for k in range(table.shape[0]):
            for j in range(n):
                i = j + k - hmm.band
                if 0 <= i < n:
                    dense[i, j] = table[k, j]
        torch.testing.assert_close(dense.sum(dim=1), torch.ones(n, dtype=torch.float64))


def test_empty_and_single_frame_inputs() -> None:
    table = log_transition(N, DEFAULT_HMM)
    assert viterbi_path(torch.zeros(2, 0, N), table).shape == (2, 0)
    one = torch.zeros(1, 1, N)
    one[0, 0, 123] = 1.0
    assert viterbi_path(one, table).tolist() == [[123]]


def test_presets_resolve() -> None:
    assert resolve_hmm("crepe") is CREPE_HMM
    assert resolve_hmm("default") is DEFAULT_HMM
    custom = HMM(jump=0.01)
    assert resolve_hmm(custom) is custom


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"emission": "softmax"}, "emission='softmax' is not supported"),
        ({"band": 0}, "band=0 is out of range"),
        ({"band": 2.5}, "band must be an integer"),
        ({"jump": 1.0}, r"jump must be a probability in \[0, 1\)"),
        ({"jump": -0.1}, "jump must be a probability"),
        ({"floor": 0.0}, r"floor must be a probability in \(0, 1\)"),
        ({"hit": "high"}, "hit must be a probability"),
    ],
)
def test_hmm_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        HMM(**kwargs)  # type: ignore[arg-type]


def test_bad_preset_and_backend() -> None:
    with pytest.raises(ParameterError, match="hmm='pyin' is not a Viterbi configuration"):
        resolve_hmm("pyin")
    table = log_transition(N, DEFAULT_HMM)
    with pytest.raises(ParameterError, match="backend='cuda' is not supported"):
        viterbi_path(torch.zeros(1, 3, N), table, backend="cuda")


def test_numba_backend_without_numba_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(V, "_compiled", lambda: None)
    table = log_transition(N, DEFAULT_HMM)
    with pytest.raises(
        MissingDependencyError, match=r"backend='numba' needs numba.*pass backend='torch'"
    ):
        viterbi_path(torch.zeros(1, 3, N), table, backend="numba")
    # "auto" falls back to the torch scan, which gives the same path.
    emission = log_emission(
        torch.rand(1, 20, N, generator=torch.Generator().manual_seed(3)), DEFAULT_HMM
    )
    fallback = viterbi_path(emission, table, log_jump(N, DEFAULT_HMM))
    monkeypatch.undo()
    torch.testing.assert_close(fallback, viterbi_path(emission, table, log_jump(N, DEFAULT_HMM)))


def test_viterbi_path_input_errors() -> None:
    table = log_transition(N, DEFAULT_HMM)
    with pytest.raises(ParameterError, match=r"log_emission must be a tensor of shape \(batch"):
        viterbi_path(torch.zeros(3, N), table)
    with pytest.raises(ParameterError, match=r"transition must have shape \(2 \* band \+ 1, 40\)"):
        viterbi_path(torch.zeros(1, 3, 40), table)
    with pytest.raises(ParameterError, match="exceeds the time axis"):
        viterbi_path(torch.zeros(2, 3, N), table, lengths=torch.tensor([3, 4]))


def test_numba_backend_refuses_non_cpu_tensors() -> None:
    table = log_transition(N, DEFAULT_HMM)
    with pytest.raises(ParameterError, match="backend='numba' runs on CPU tensors only"):
        viterbi_path(torch.zeros(1, 3, N, device="meta"), table, backend="numba")
