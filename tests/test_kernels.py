"""The CPU fast path of the network: numba kernels, call sizes, framing.

The numba kernels (``model/_kernels.py``) replace chains of torch element-wise operators on
the CPU; each is checked against the torch formula it replaces, and the whole network with
them against the network without them (mixed-sign BatchNorm scales, so both clamp bounds are
exercised). The framing shortcuts (strided windows, the standard deviation from a sum of
squares) are checked against the general code.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from _random_weights import random_state

from crepe_transforms import CrepeActivation
from crepe_transforms.constants import BN_EPS, CREPE_STD_FLOOR, TORCHCREPE_STD_FLOOR
from crepe_transforms.functional._framing import _normalize, extract_frames
from crepe_transforms.model import Crepe
from crepe_transforms.model import _kernels as kernels
from crepe_transforms.model import _spectral as spectral

DTYPES = [torch.float32, torch.float64]
COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}


def _network(capacity: str, seed: int = 0) -> Crepe:
    net = Crepe(capacity)
    net.load_torchcrepe_state_dict(random_state(capacity, seed))
    return net


def _frames(n: int, seed: int = 1) -> torch.Tensor:
    x = torch.randn(n, 1024, generator=torch.Generator().manual_seed(seed))
    return (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_polyphase_product_is_the_broadcast_multiply_add(dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(3, 4, 33, dtype=COMPLEX[dtype], generator=gen)
    w = torch.randn(4, 7, 33, dtype=COMPLEX[dtype], generator=gen)
    want = s[:, 0, None, :] * w[0]
    for p in range(1, 4):
        want = want + s[:, p, None, :] * w[p]
    got = torch.empty_like(want)
    kernels.polyphase_product(
        s.real.contiguous().numpy(),
        s.imag.contiguous().numpy(),
        w.real.contiguous().numpy(),
        w.imag.contiguous().numpy(),
        torch.view_as_real(got).flatten(-2).numpy(),
    )
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pool_activate_is_pool_clamp_shift_and_zero_padding(dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(0)
    y = torch.randn(2, 5, 20, dtype=dtype, generator=gen)
    inf = torch.tensor(float("inf"), dtype=dtype)
    bound = torch.randn(5, dtype=dtype, generator=gen)
    negative = torch.tensor([True, False, True, False, False])
    lower = torch.where(negative, -inf, bound)  # g < 0: only an upper bound, g >= 0: a lower one
    upper = torch.where(negative, bound, inf)
    shift = torch.randn(5, dtype=dtype, generator=gen)
    out = torch.full((2, 5, 12), float("nan"), dtype=dtype)
    kernels.pool_activate(y.numpy(), lower.numpy(), upper.numpy(), shift.numpy(), out.numpy(), 8)
    pooled = F.max_pool1d(y[..., :16], 2, 2)
    want = torch.clamp(pooled, lower[:, None], upper[:, None]) + shift[:, None]
    assert torch.equal(out[..., :8], want)
    assert torch.equal(out[..., 8:], torch.zeros(2, 5, 4, dtype=dtype))


def _without_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spectral, "_cpu_kernels", lambda x: None)


@pytest.mark.parametrize("capacity", ["tiny", "full"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_network_with_kernels_matches_the_torch_operators(
    capacity: str, dtype: torch.dtype, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = _network(capacity).to(dtype)
    frames = _frames(9).to(dtype)
    bn = net.conv6_BN
    assert isinstance(bn, torch.nn.BatchNorm1d)
    assert isinstance(bn.running_var, torch.Tensor)
    scales = bn.weight / torch.sqrt(bn.running_var + BN_EPS)
    assert bool((scales < 0).any())
    assert bool((scales > 0).any())
    with torch.no_grad():
        fast, fast_embed = net(frames), net.embed(frames)
        with monkeypatch.context() as m:
            _without_kernels(m)
            slow, slow_embed = net(frames), net.embed(frames)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(fast, slow, rtol=tol, atol=tol)
    torch.testing.assert_close(fast_embed, slow_embed, rtol=tol, atol=tol)


def test_kernels_run_without_autograd_and_stay_out_of_its_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    net = _network("tiny")
    calls: list[str] = []
    real_pool, real_product = kernels.pool_activate, kernels.polyphase_product

    def pool(*args: Any) -> None:
        calls.append("pool")
        real_pool(*args)

    def product(*args: Any) -> None:
        calls.append("product")
        real_product(*args)

    monkeypatch.setattr(kernels, "pool_activate", pool)
    monkeypatch.setattr(kernels, "polyphase_product", product)
    frames = _frames(3)
    with torch.no_grad():
        net(frames)
    assert calls.count("product") == 1
    assert calls.count("pool") == 6
    calls.clear()
    leaf = frames.clone().requires_grad_(True)
    out = net(leaf)
    out.sum().backward()
    assert calls == []  # the autograd path is the torch operators
    assert leaf.grad is not None
    assert bool(leaf.grad.abs().sum() > 0)
    with torch.no_grad():
        torch.testing.assert_close(out.detach(), net(frames), rtol=1e-5, atol=1e-6)


def test_frames_per_call_caps_large_capacities_on_the_cpu() -> None:
    full = CrepeActivation("full", pretrained=False)
    assert full.network.cpu_frames_per_call() == 48
    assert full.frames_per_call() == 48
    assert CrepeActivation("full", pretrained=False, chunk_size=20).frames_per_call() == 20
    assert CrepeActivation("tiny", pretrained=False).frames_per_call() == 128
    assert CrepeActivation("large", pretrained=False).frames_per_call() == 64
    meta = CrepeActivation("full", pretrained=False).to("meta")
    assert meta.frames_per_call() == 128  # other devices: chunk_size as given


def test_full_does_not_depend_on_the_cpu_call_size(monkeypatch: pytest.MonkeyPatch) -> None:
    # 100 frames: calls of 48 (the cap) against one call of 100. Frames are computed
    # independently, so only float32 rounding of the matrix products may differ.
    activation = CrepeActivation("full", pretrained=False)
    activation.network.load_torchcrepe_state_dict(random_state("full"))
    frames = _frames(100)
    calls: list[int] = []
    forward = Crepe.forward

    def counted(self: Crepe, x: torch.Tensor) -> torch.Tensor:
        calls.append(x.shape[0])
        return forward(self, x)

    monkeypatch.setattr(Crepe, "forward", counted)
    with torch.no_grad():
        capped = activation(frames)
        assert sorted(calls) == [4, 48, 48]
        monkeypatch.setattr(Crepe, "cpu_frames_per_call", lambda self: 4096)
        whole = activation(frames)
    assert sorted(calls) == [4, 48, 48, 100]
    torch.testing.assert_close(capped, whole, rtol=1e-5, atol=1e-6)


def test_evenly_spaced_frames_are_cut_as_the_gather_cuts_them() -> None:
    audio = torch.randn(2, 5000, generator=torch.Generator().manual_seed(3))
    for centers in (torch.arange(7) * 160, torch.arange(3, 40, 11), torch.tensor([0, 1, 5, 9])):
        got = extract_frames(audio, centers)
        padded = F.pad(audio, (512, 512))
        index = centers[:, None] + torch.arange(1024)
        assert torch.equal(got, padded[..., index]), centers


@pytest.mark.parametrize("method", ["crepe", "torchcrepe"])
def test_normalisation_matches_the_standard_deviation(method: str) -> None:
    gen = torch.Generator().manual_seed(4)
    frames = torch.randn(50, 1024, generator=gen) * torch.rand(50, 1, generator=gen) + 3.0
    frames[0] = 0.25  # a constant frame: the floor keeps it finite
    got = _normalize(frames, method)
    centred = frames - frames.mean(-1, keepdim=True)
    std = centred.std(dim=-1, keepdim=True, correction=0 if method == "crepe" else 1)
    floor = CREPE_STD_FLOOR if method == "crepe" else TORCHCREPE_STD_FLOOR
    want = centred / std.clamp_min(floor)
    torch.testing.assert_close(got[1:], want[1:], rtol=1e-5, atol=1e-6)
    assert torch.equal(got[0], torch.zeros(1024))
