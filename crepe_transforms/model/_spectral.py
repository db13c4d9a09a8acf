"""Frequency-domain kernels for the CREPE network: the same six blocks with far fewer FLOPs.

A direct ``full`` network costs ≈ 2.8 GFLOP a frame, 76 % of it in block 2 (1024 → 128
channels, 64 taps). Convolution is a product in the frequency domain, so each stride-1 block
becomes: a real FFT of every input channel, one complex matrix product per frequency bin
(``(frames, C_in) @ (C_in, C_out)``), an inverse FFT of every output channel. The FFT is only as
long as circular wrap-around allows (input length + 32 for the 64-tap blocks: 160 points for
block 2, 81 bins), so block 2 needs 81 · 1024 · 128 complex multiply-adds per frame (≈ 85 MFLOP)
instead of 2.1 GFLOP. Block 1 (stride 4, 512 taps) is split into its 4 polyphase components:
4 input channels of 257 samples, 128 taps each, 320-point FFTs.

BatchNorm follows ReLU in CREPE, so it cannot be folded into the convolution as a whole; its
scale ``g`` can: ``g · relu(x)`` pooled over 2 positions equals ``relu(max(g · x))`` for
``g ≥ 0`` and ``min(max(g · x), 0)`` for ``g < 0``. The convolutions therefore use ``g``-scaled
kernels, pool first, and finish with one clamp and one add on half the data.

The short blocks at the end run as one matrix product instead: a block over ``L`` positions is
a linear map from ``C_in · L`` to ``C_out · L`` values, whose ``(C_in · L, C_out · L)``
matrix holds the kernel taps (shifted copies, zero where a tap reads the padding). Where that
matrix is small (:data:`DENSE_BYTES`: blocks 5 and 6 of ``tiny`` and ``small``) one product
replaces a forward FFT, a per-bin product and an inverse FFT, and is faster at every batch
size.

Everything here is plain differentiable torch on any device; the network decides when to use it.
On the CPU without autograd, block 1's product and every block's pooling run as numba kernels
(:mod:`._kernels`, one pass over memory instead of three or four operators, same results).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F

__all__ = [
    "SpectralWeights",
    "build_spectral_weights",
    "circular_spectrum",
    "fast_fft_size",
    "fold_batchnorm",
    "polyphase_spectrum",
    "spectral_trunk",
]


#: Frame-channels per block-1 pass (8 frames of ``tiny``, 1 of ``full``): its 320-point
#: spectra (1.3 kB per frame-channel) and outputs stay in cache. Measured on the 2-core AMD
#: EPYC CPU of the reports: 512-2048 within 10 % of each other, 4096 (32 ``tiny`` frames, the
#: 0.1 value) 1.5x slower for ``tiny``; ``full`` flat from 1 to 8 frames.
BLOCK1_FRAME_CHANNELS = 1024

#: Blocks of at most ``DENSE_POSITIONS`` positions (5 and 6) whose ``(C_in · L, C_out · L)``
#: matrix takes at most ``DENSE_BYTES`` (float32) run as one dense product, not in the
#: frequency domain. Measured on the 2-core AMD EPYC CPU of the reports, 1 thread
#: (``benchmarks/dense_blocks.py``): ``tiny``'s blocks 5 and 6 (0.5 MB) 1.5-8x faster than
#: their FFT form from 1 to 400 frames a call, ``small``'s (2 MB) 1.0-2.5x; ``tiny``'s block 4
#: (1 MB, 32 positions) 1.5x at 1 frame but 0.8x from 3 frames on; 4 MB and larger (block 3,
#: the larger capacities) 0.1-0.8x.
DENSE_POSITIONS = 16
DENSE_BYTES = 2 * 2**20


@functools.cache
def _kernels() -> ModuleType | None:
    """The numba kernels (:mod:`._kernels`), or None without numba."""
    try:
        import numba  # noqa: F401  (its absence is the one import error expected here)
    except ImportError:
        return None
    from . import _kernels as kernels

    return kernels


def _cpu_kernels(x: torch.Tensor) -> ModuleType | None:
    """The numba kernels where they can replace torch operators on ``x``, else None: CPU
    float32/float64 tensors without autograd, outside tracing and ``torch.compile``."""
    if (
        x.device.type != "cpu"
        or x.dtype not in (torch.float32, torch.float64, torch.complex64, torch.complex128)
        or x.requires_grad
        or torch._C._get_tracing_state() is not None
        or torch.compiler.is_compiling()
    ):
        return None
    return _kernels()


def fast_fft_size(n: int) -> int:
    """Smallest ``m >= n`` whose only prime factors are 2, 3 and 5 (fast on every FFT library)."""
    m = max(int(n), 1)
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


@dataclass(frozen=True)
class Block:
    """One convolution block in the frequency domain, BatchNorm already folded in.

    ``spectrum``: block 1 ``(stride, C_out, bins)`` complex; blocks 2-6 ``(bins, C_in, C_out)``
    complex, or ``(bins, 2 C_in, 2 C_out)`` real (``[[re, im], [-im, re]]``) in a reduced type.
    ``lower``/``upper``/``shift``: ``(C_out, 1)`` clamp bounds and offset applied after pooling.
    ``planar``: block 1 on the CPU, the real and imaginary parts of ``spectrum``, contiguous
    (what the numba product reads). ``cpu_bounds``: on the CPU, ``lower``, ``upper`` and
    ``shift`` as flat numpy views (what the numba pooling reads; made once, not per call).
    ``dense``: blocks 2-6 whose matrix form is small (:func:`dense_matrix`), that
    ``(C_in · n_in, C_out · n_out)`` matrix; the block then runs as one product.
    """

    spectrum: torch.Tensor
    n_fft: int
    left: int
    n_in: int
    n_out: int
    lower: torch.Tensor
    upper: torch.Tensor
    shift: torch.Tensor
    planar: tuple[torch.Tensor, torch.Tensor] | None = None
    cpu_bounds: tuple[Any, Any, Any] | None = None
    dense: torch.Tensor | None = None


@dataclass(frozen=True)
class SpectralWeights:
    """Everything :func:`spectral_trunk` needs, derived from one set of network weights."""

    stride: int
    pad: tuple[int, int]
    blocks: tuple[Block, ...]


def fold_batchnorm(
    bias: torch.Tensor,
    bn_weight: torch.Tensor,
    bn_bias: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    eps: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inference BatchNorm after ReLU as a kernel scale plus a clamp and shift after pooling.

    Returns ``(scale, scaled_bias, lower, upper, shift)``: convolve with ``scale``-scaled kernels
    (no bias), max-pool, then ``clamp(z, lower, upper) + shift`` equals
    ``maxpool(BN(relu(conv(x) + bias)))``; the bias enters through the bounds.
    """
    scale = bn_weight / torch.sqrt(running_var + eps)
    scaled_bias = bias * scale
    inf = torch.full_like(scale, float("inf"))
    zero = torch.zeros_like(scale)
    positive = scale >= 0
    lower = torch.where(positive, zero, -inf) - scaled_bias
    upper = torch.where(positive, inf, zero) - scaled_bias
    shift = scaled_bias + bn_bias - running_mean * scale
    return scale, scaled_bias, lower, upper, shift


def circular_spectrum(weight: torch.Tensor, left: int, n_fft: int) -> torch.Tensor:
    """Spectrum of a cross-correlation kernel ``(C_out, C_in, K)`` with ``left`` zero padding.

    Placing tap ``k`` at circular index ``(left - k) mod n_fft`` turns PyTorch's
    ``y[t] = Σ_k w[k] x[t + k - left]`` into a circular convolution.

    Shape:
        ``(C_out, C_in, K)`` → ``(n_fft // 2 + 1, C_in, C_out)`` complex
    """
    c_out, c_in, taps = weight.shape
    kernel = weight.new_zeros(n_fft, c_in, c_out)
    index = (left - torch.arange(taps, device=weight.device)) % n_fft
    kernel[index] = weight.permute(2, 1, 0)
    spectrum: torch.Tensor = torch.fft.rfft(kernel, dim=0)
    return spectrum.contiguous()


def polyphase_spectrum(weight: torch.Tensor, stride: int, left: int, n_fft: int) -> torch.Tensor:
    """Spectrum of a single-input-channel strided kernel split into ``stride`` phases.

    Tap ``stride · j + p`` belongs to phase ``p``; each phase is a stride-1 kernel of
    ``K / stride`` taps over every ``stride``-th input sample.

    Shape:
        ``(C_out, 1, K)`` → ``(stride, C_out, n_fft // 2 + 1)`` complex
    """
    c_out, _, taps = weight.shape
    phases = weight.reshape(c_out, taps // stride, stride).permute(0, 2, 1)  # (C, stride, K/s)
    kernel = weight.new_zeros(stride, c_out, n_fft)
    index = (left - torch.arange(taps // stride, device=weight.device)) % n_fft
    kernel[..., index] = phases.transpose(0, 1)
    spectrum: torch.Tensor = torch.fft.rfft(kernel, dim=-1)
    return spectrum.contiguous()


def dense_matrix(weight: torch.Tensor, left: int, length: int) -> torch.Tensor:
    """A stride-1 cross-correlation over ``length`` positions (``left`` zero padding, output
    as long as the input) as one matrix: ``y.flatten(1) = x.flatten(1) @ matrix``.

    Entry ``(c_in · length + s, c_out · length + t)`` is tap ``s − t + left`` of kernel
    ``(c_out, c_in)``, zero where that tap reads the padding (exact copies of the taps).

    Shape:
        ``(C_out, C_in, K)`` → ``(C_in · length, C_out · length)``
    """
    c_out, c_in, taps = weight.shape
    positions = torch.arange(length, device=weight.device)
    tap = positions[:, None] - positions[None, :] + left  # (s, t)
    inside = (tap >= 0) & (tap < taps)
    taps_st = weight.permute(1, 0, 2)[:, :, tap.clamp(0, taps - 1)]  # (C_in, C_out, s, t)
    taps_st = taps_st * inside
    return taps_st.permute(0, 2, 1, 3).reshape(c_in * length, c_out * length).contiguous()


def _dense_conv(x: torch.Tensor, block: Block, length: int) -> torch.Tensor:
    """A block in its matrix form: ``(N, C_in, n_in)`` → pooled ``(N, C_out, ·)`` (padded
    to ``length`` as :func:`_pool_activate` does)."""
    if block.dense is None:  # for mypy: callers check
        raise ValueError("internal: block has no dense matrix")
    n = x.shape[0]
    y = torch.mm(x.reshape(n, -1), block.dense).reshape(n, -1, block.n_out)
    return _pool_activate(y, block, length)


def real_block(spectrum: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``(bins, C_in, C_out)`` complex → ``(bins, 2 C_in, 2 C_out)`` real in ``dtype``.

    ``[x_re, x_im] @ [[w_re, w_im], [-w_im, w_re]] = [y_re, y_im]``: one real matrix product per
    bin, for types that have no complex matrix product (bf16, fp16).
    """
    re, im = spectrum.real, spectrum.imag
    top = torch.cat([re, im], dim=2)
    bottom = torch.cat([-im, re], dim=2)
    return torch.cat([top, bottom], dim=1).to(dtype).contiguous()


def _pool_activate(y: torch.Tensor, block: Block, length: int) -> torch.Tensor:
    """Max-pool(2) the scaled convolution ``y``, then clamp and shift (the folded ReLU + BN).

    Without autograd the result is written into a zero-padded ``(N, C, length)`` buffer, so the
    next block's FFT reads it without another padding copy.
    """
    n_pool = block.n_out // 2
    kernels = _cpu_kernels(y)
    if kernels is not None:
        out = y.new_empty(y.shape[0], y.shape[1], max(length, n_pool))
        if block.cpu_bounds is not None and block.lower.dtype == y.dtype:
            lower, upper, shift = block.cpu_bounds
        else:
            tensors = (block.lower, block.upper, block.shift)
            lower, upper, shift = (b.to(y.dtype).reshape(-1).numpy() for b in tensors)
        kernels.pool_activate(y.numpy(), lower, upper, shift, out.numpy(), n_pool)
        return out
    if y.requires_grad or length <= n_pool:
        z = F.max_pool1d(y[..., : block.n_out], 2, 2)
        if z.requires_grad:
            return torch.clamp(z, block.lower, block.upper) + block.shift
        return z.clamp_(block.lower, block.upper).add_(block.shift)
    out = y.new_empty(y.shape[0], y.shape[1], length)
    out[..., n_pool:].zero_()
    z = out[..., :n_pool]
    torch.maximum(y[..., 0 : 2 * n_pool : 2], y[..., 1 : 2 * n_pool : 2], out=z)
    z.clamp_(block.lower, block.upper).add_(block.shift)
    return out


def _block1(frames: torch.Tensor, weights: SpectralWeights, length: int) -> torch.Tensor:
    # Phase p holds samples stride·i + p of the padded frame; the rest of the left padding is
    # implicit in the circular kernel (its ``left``).
    block, stride = weights.blocks[0], weights.stride
    n = frames.shape[0]
    x = F.pad(frames, weights.pad).reshape(n, block.n_in, stride).transpose(1, 2)
    spec = torch.fft.rfft(x, n=block.n_fft)  # (N, stride, bins)
    # Only `stride` input channels: a broadcast multiply-add beats a batched matrix product and
    # writes the (N, C, bins) layout the inverse FFT wants directly.
    kernels = _cpu_kernels(spec)
    if kernels is not None and block.planar is not None:
        out = spec.new_empty(n, block.spectrum.shape[1], spec.shape[-1])
        w_re, w_im = block.planar
        kernels.polyphase_product(
            spec.real.contiguous().numpy(),
            spec.imag.contiguous().numpy(),
            w_re.numpy(),
            w_im.numpy(),
            torch.view_as_real(out).flatten(-2).numpy(),
        )
        return _pool_activate(torch.fft.irfft(out, n=block.n_fft), block, length)
    w = block.spectrum
    acc = spec[:, 0, None, :] * w[0]
    for p in range(1, stride):
        if acc.requires_grad:
            acc = acc + spec[:, p, None, :] * w[p]
        else:
            acc.addcmul_(spec[:, p, None, :], w[p])
    return _pool_activate(torch.fft.irfft(acc, n=block.n_fft), block, length)


def _spectra(x: torch.Tensor, block: Block) -> torch.Tensor:
    """``(N, C_in, L)`` → operand of the per-bin products, ``(bins, N, C_in[·2])``.

    Full precision: a complex view, made contiguous by the caller (or copied into a larger
    operand). Reduced types: the real block form ``[re | im]`` along the channel axis,
    converted and laid out in one copy.
    """
    spec: torch.Tensor = torch.fft.rfft(x, n=block.n_fft)  # (N, C_in, bins)
    if block.spectrum.is_complex():
        return spec.permute(2, 0, 1)
    parts = torch.view_as_real(spec).permute(2, 0, 3, 1)  # (bins, N, 2, C_in)
    return parts.to(block.spectrum.dtype, memory_format=torch.contiguous_format).flatten(2)


def _conv_from_spectra(
    spec: torch.Tensor, block: Block, dtype: torch.dtype, length: int
) -> torch.Tensor:
    out = torch.bmm(spec, block.spectrum)  # (bins, N, C_out[·2])
    if out.is_complex():
        freq = out.permute(1, 2, 0).contiguous()
    else:
        bins, n = out.shape[0], out.shape[1]
        parts = out.reshape(bins, n, 2, -1).permute(1, 3, 0, 2).to(dtype).contiguous()
        freq = torch.view_as_complex(parts)  # (N, C_out, bins)
    return _pool_activate(torch.fft.irfft(freq, n=block.n_fft), block, length)


def build_spectral_weights(
    layers: Sequence[Sequence[torch.Tensor]],
    eps: float,
    stride: int,
    paddings: Sequence[tuple[int, int]],
    window: int,
    reduced: torch.dtype | None = None,
) -> SpectralWeights:
    """Frequency-domain form of CREPE's conv + ReLU + BatchNorm + max-pool blocks.

    Args:
        layers: per block ``(conv weight (C_out, C_in, K), conv bias, bn weight, bn bias,
            running mean, running var)``; block 1 has one input channel and ``stride``.
        eps: BatchNorm epsilon.
        stride: block 1's stride (blocks 2-6 have stride 1).
        paddings: ``(left, right)`` zero padding of each block.
        window: samples per input frame.
        reduced: operand type of the per-bin products of blocks 2-6 (None: full precision).
    """
    built: list[Block] = []
    (left, right), taps = paddings[0], layers[0][0].shape[-1]
    extra = left % stride  # padding done explicitly so that phases start on the stride grid
    end = (-(extra + window)) % stride
    n_in = (extra + window + end) // stride
    n_out = (window + left + right - taps) // stride + 1
    phase_left = left // stride
    n_fft = fast_fft_size(max(n_in + phase_left, n_out + taps // stride - 1 - phase_left))
    pad = (extra, end)
    for i, (weight, bias, bn_w, bn_b, mean, var) in enumerate(layers):
        scale, _, lower, upper, shift = fold_batchnorm(bias, bn_w, bn_b, mean, var, eps)
        scaled = weight * scale[:, None, None]
        if i == 0:
            spectrum = polyphase_spectrum(scaled, stride, phase_left, n_fft)
        else:
            left, right = paddings[i]
            taps = weight.shape[-1]
            n_in = n_out = built[-1].n_out // 2
            n_fft = fast_fft_size(max(n_in + left, n_out + taps - 1 - left))
            spectrum = circular_spectrum(scaled, left, n_fft)
            if reduced is not None:
                spectrum = real_block(spectrum, reduced)
        dense = None
        size = scaled.numel() // taps * n_in * n_out * 4
        if i > 0 and reduced is None and n_in <= DENSE_POSITIONS and size <= DENSE_BYTES:
            dense = dense_matrix(scaled, left, n_in)
        planar = cpu_bounds = None
        if spectrum.device.type == "cpu":
            if i == 0:
                planar = (spectrum.real.contiguous(), spectrum.imag.contiguous())
            cpu_bounds = (lower.numpy(), upper.numpy(), shift.numpy())
        built.append(
            Block(
                spectrum,
                n_fft,
                phase_left if i == 0 else left,
                n_in,
                n_out,
                lower[:, None],
                upper[:, None],
                shift[:, None],
                planar,
                cpu_bounds,
                dense,
            )
        )
    return SpectralWeights(stride, pad, tuple(built))


def _block2_operand(
    frames: torch.Tensor, weights: SpectralWeights, block1_frames: int
) -> torch.Tensor:
    # Block 1 a few frames at a time; each part is transformed for block 2 while it is in
    # cache and copied straight into block 2's (bins, N, C) operand.
    second = weights.blocks[1]
    parts = torch.split(frames, block1_frames)
    views = (_spectra(_block1(p, weights, second.n_fft), second) for p in parts)
    if len(parts) == 1:
        return next(views).contiguous()
    if frames.requires_grad:
        return torch.cat(list(views), dim=1)
    head = next(views)
    out = torch.empty(
        (head.shape[0], frames.shape[0], head.shape[2]),
        dtype=second.spectrum.dtype,
        device=frames.device,
    )
    start = 0
    for view in (head, *views):
        out[:, start : start + view.shape[1]] = view
        start += view.shape[1]
    return out


def spectral_trunk(
    frames: torch.Tensor,
    weights: SpectralWeights,
    blocks: int,
    block1_frames: int | None = None,
) -> torch.Tensor:
    """The first ``blocks`` CREPE blocks of ``(N, window)`` frames through FFT convolutions.

    Block 1 runs ``block1_frames`` frames at a time (default: ``BLOCK1_FRAME_CHANNELS`` divided
    by its channels) and hands block 2 its input already transformed; blocks 2-6 then run on
    all ``N`` frames at once, so each per-bin weight matrix is read once per call. Blocks with
    a ``dense`` matrix run as one product (:func:`dense_matrix`).

    Shape:
        ``(N, 1024)`` → ``(N, C_blocks, 256 / 2**blocks)``
    """
    if blocks == 1:
        return _block1(frames, weights, 0)
    if block1_frames is None:
        block1_frames = max(1, BLOCK1_FRAME_CHANNELS // weights.blocks[0].spectrum.shape[1])
    spec: torch.Tensor | None = _block2_operand(frames, weights, block1_frames)
    x = frames
    for i in range(1, blocks):
        block = weights.blocks[i]
        following = weights.blocks[i + 1] if i + 1 < blocks else None
        # the output padded for the next block's FFT, or unpadded for its matrix or the end
        length = 0 if following is None or following.dense is not None else following.n_fft
        if block.dense is not None:
            x = _dense_conv(x, block, length)
        else:
            if spec is None:
                spec = _spectra(x, block).contiguous()
            x = _conv_from_spectra(spec, block, frames.dtype, length)
        spec = None
    return x
