"""numba kernels for the element-wise steps of the frequency-domain network on the CPU.

Imported on first use (numba takes a while to import) and compiled on first call (cached on
disk). They replace chains of PyTorch element-wise operators that each make a pass over
memory with one pass each, in the operators' own arithmetic (results are the same bits):

- :func:`polyphase_product`: block 1's product of the 4 phase spectra with their kernels
  (``torch``: one multiply and three ``addcmul_`` over the ``(N, C, bins)`` complex result);
- :func:`pool_activate`: max-pool(2), the folded ReLU + BatchNorm clamp and shift, and the
  zero padding the next block's FFT reads (``torch``: ``maximum`` over strided views,
  ``clamp_``, ``add_``, ``zero_``).

Measured on this project's 2-core AMD EPYC CPU (``benchmarks/performance_notes.md``): block 1
of ``tiny`` went from 58 to 30 µs a frame (product) and from 44 to 7 µs (pooling).
All kernels live in this one file so that numba's cache, which checks only the file of each
function, is refreshed whenever any of them changes.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)


@_jit
def polyphase_product(s_re: Any, s_im: Any, w_re: Any, w_im: Any, out: Any) -> None:
    """``out[n, c, k] = Σ_p s[n, p, k] · w[p, c, k]`` (complex), ``p`` in order.

    ``s_*``: ``(N, P, K)`` and ``w_*``: ``(P, C, K)`` real and imaginary parts; ``out``:
    ``(N, C, 2K)``, the interleaved float view of the complex result.
    """
    n_frames, n_phases, n_bins = s_re.shape
    n_channels = w_re.shape[1]
    acc_re = np.empty(n_bins, s_re.dtype)
    acc_im = np.empty(n_bins, s_re.dtype)
    for n in range(n_frames):
        for c in range(n_channels):
            for k in range(n_bins):
                acc_re[k] = s_re[n, 0, k] * w_re[0, c, k] - s_im[n, 0, k] * w_im[0, c, k]
                acc_im[k] = s_re[n, 0, k] * w_im[0, c, k] + s_im[n, 0, k] * w_re[0, c, k]
            for p in range(1, n_phases):
                for k in range(n_bins):
                    a, b = s_re[n, p, k], s_im[n, p, k]
                    x, y = w_re[p, c, k], w_im[p, c, k]
                    acc_re[k] += a * x - b * y
                    acc_im[k] += a * y + b * x
            row = out[n, c]
            for k in range(n_bins):
                row[2 * k] = acc_re[k]
                row[2 * k + 1] = acc_im[k]


@_jit
def pool_activate(y: Any, lower: Any, upper: Any, shift: Any, out: Any, n_pool: int) -> None:
    """``out[n, c, t] = clamp(max(y[n, c, 2t], y[n, c, 2t + 1]), lower[c], upper[c]) + shift[c]``
    for ``t < n_pool``, zero for the rest of ``out``'s last axis."""
    n_frames, n_channels = y.shape[0], y.shape[1]
    length = out.shape[2]
    for n in range(n_frames):
        for c in range(n_channels):
            lo, hi, add = lower[c], upper[c], shift[c]
            src = y[n, c]
            dst = out[n, c]
            for t in range(n_pool):
                a, b = src[2 * t], src[2 * t + 1]
                v = a if a >= b else b
                if v < lo:
                    v = lo
                if v > hi:
                    v = hi
                dst[t] = v + add
            for t in range(n_pool, length):
                dst[t] = 0.0
