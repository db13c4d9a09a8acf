"""Generic material for the forgetting guard: random harmonic and noise frames with known f0.

Fine-tuning on one domain moves the whole network; what it knew elsewhere fades unless
something holds it. :func:`generic_frames` makes frames unlike any one domain, over CREPE's
whole range: harmonic tones with a random number of partials and random spectral envelopes
(tilt, odd-only, a missing fundamental now and then), a slight glide, noise at 0–40 dB SNR,
and pure-noise frames. The fine-tuning loop uses them twice: as inputs whose targets are the
published model's own outputs (distillation), and, with a fixed seed, as a general
validation set scored by raw pitch accuracy.
"""

from __future__ import annotations

import math

import torch

from ..constants import SAMPLE_RATE, WINDOW_SIZE

__all__ = ["GENERIC_F0_RANGE", "generic_frames"]

#: f0 range of generic tones (Hz): inside CREPE's 31.7–2005 Hz bins with a margin.
GENERIC_F0_RANGE = (40.0, 1800.0)
_MAX_PARTIALS = 40
_NOISE_SHARE = 0.1


def generic_frames(generator: torch.Generator, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` random 1024-sample frames at 16 kHz and their f0 (NaN for noise frames).

    Shape:
        → ``(count, 1024)`` float32, ``(count,)`` float32

    Example:
        >>> frames, f0 = generic_frames(torch.Generator().manual_seed(0), 6)
        >>> frames.shape, f0.shape
        (torch.Size([6, 1024]), torch.Size([6]))
    """
    lo, hi = GENERIC_F0_RANGE
    g = generator
    f0 = torch.exp(
        math.log(lo) + (math.log(hi) - math.log(lo)) * torch.rand(count, 1, generator=g)
    ).double()
    glide = (torch.rand(count, 1, generator=g) * 2 - 1).double() * 0.03  # ± 50 cents per frame
    t = torch.arange(WINDOW_SIZE, dtype=torch.float64)[None] / SAMPLE_RATE
    inst = f0 * torch.exp2(glide * (t / t[:, -1:] - 0.5))
    phase = 2 * math.pi * torch.cumsum(inst, -1) / SAMPLE_RATE
    k = torch.arange(1, _MAX_PARTIALS + 1, dtype=torch.float64)[None, :, None]
    tilt = 0.5 + 1.5 * torch.rand(count, 1, 1, generator=g).double()
    amplitude = k ** (-tilt) * (0.3 + 0.7 * torch.rand(count, _MAX_PARTIALS, 1, generator=g))
    odd = torch.rand(count, 1, 1, generator=g) < 0.15
    amplitude = torch.where(odd & (k % 2 == 0), torch.zeros_like(amplitude), amplitude)
    missing = torch.rand(count, 1, 1, generator=g) < 0.1
    amplitude = torch.where(missing & (k == 1), amplitude * 0.1, amplitude)
    alias = (k * f0[:, :, None]) < 0.45 * SAMPLE_RATE
    offsets = 2 * math.pi * torch.rand(count, _MAX_PARTIALS, 1, generator=g).double()
    tones = (amplitude * alias * torch.sin(k * phase[:, None] + offsets)).sum(1)
    tones = tones / tones.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(1e-12)
    snr = 40 * torch.rand(count, 1, generator=g).double()
    noise = torch.randn(count, WINDOW_SIZE, generator=g).double()
    frames = tones + noise * 10 ** (-snr / 20)
    is_noise = torch.rand(count, generator=g) < _NOISE_SHARE
    frames = torch.where(is_noise[:, None], noise, frames)
    labels = torch.where(is_noise, torch.full_like(f0[:, 0], math.nan), f0[:, 0] * 1.0)
    return frames.float(), labels.float()
