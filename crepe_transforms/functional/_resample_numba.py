"""The numba kernel behind :class:`~crepe_transforms.functional.BlockResampler`.

resampy's ``kaiser_best`` band-limited interpolation, written out for several rows and any
range of output samples at once: output sample ``t`` of each row is the sum of the input
samples around ``times[t]`` weighted by the interpolated filter table, left wing then right
wing. The arithmetic is resampy's, step for step (float64 weights, each product added to the
float32 output in turn), so the numbers are the bits of ``resampy.resample``
(``tests/test_resample.py`` compares them). One call covers every row, so a batch of streams
pays the call once per push, not once per row.

Imported on first use (numba takes a while to import) and compiled on first call (cached on
disk).
"""

from __future__ import annotations

from typing import Any

import numba


@numba.njit(cache=True, nogil=True)
def interpolate_rows(
    x: Any, times: Any, window: Any, delta: Any, precision: int, scale: float, out: Any
) -> None:
    """``out[r, t]`` += the filtered interpolation of ``x[r]`` at ``times[t]``.

    ``x``: ``(rows, n)`` float32 input (samples past ``n`` absent); ``times``: ``(m,)`` float64
    positions in input samples; ``window``/``delta``: the filter table and its differences;
    ``precision``: table entries per zero crossing; ``scale``: ``min(1, out_rate / in_rate)``;
    ``out``: ``(rows, m)`` float32, zeroed by the caller.
    """
    step = int(scale * precision)
    taps = window.shape[0]
    n_in = x.shape[1]
    for r in range(x.shape[0]):
        row = x[r]
        for t in range(times.shape[0]):
            position = times[t]
            n = int(position)
            frac = scale * (position - n)
            # left wing: input samples n, n - 1, ...
            index = frac * precision
            start = int(index)
            eta = index - start
            for i in range(min(n + 1, (taps - start) // step)):
                weight = window[start + i * step] + eta * delta[start + i * step]
                out[r, t] += weight * row[n - i]
            # right wing: input samples n + 1, n + 2, ...
            index = (scale - frac) * precision
            start = int(index)
            eta = index - start
            for k in range(min(n_in - n - 1, (taps - start) // step)):
                weight = window[start + k * step] + eta * delta[start + k * step]
                out[r, t] += weight * row[n + k + 1]
