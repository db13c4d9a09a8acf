"""The one test signal of the speed benchmarks: a melody with known content, any rate.

Harmonic notes (90-900 Hz, four a second, 5 harmonics) with a 1 % vibrato and light noise,
peak 0.5. Speed does not depend on what the audio holds, but one signal everywhere keeps the
scripts' numbers comparable (``speed.py``, ``speed_side.py``, ``stream_speed.py``, ``gpu.py``).
"""

from __future__ import annotations

import numpy as np
import torch


def melody(seconds: float, rate: int = 16000) -> torch.Tensor:
    """``seconds`` of the melody at ``rate`` Hz, float32 ``(samples,)``, the same every call."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    notes = 90 * 2 ** (rng.integers(0, 40, size=int(seconds * 4) + 1) / 12)
    f0 = notes[(t * 4).astype(int)] * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    audio = sum(np.sin(k * phase) / k for k in range(1, 6))
    audio = audio + 0.01 * rng.standard_normal(len(t))
    return torch.from_numpy((0.5 * audio / np.abs(audio).max()).astype(np.float32))
