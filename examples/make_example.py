"""Write ``examples/example.wav``: the bundled 4-second clip the quick start runs on.

A synthetic voice-like melody with known f0 (so the quick start's output can be checked by eye):
A3 → C#4 → E4 → A4 with 5.5 Hz vibrato, a 0.3 s gap of digital silence, a glide from 330 Hz down
to 165 Hz, and a little breath noise, at 22.05 kHz (so resampling and the 10 ms hop of 220.5
samples → 220 are exercised). Deterministic: rerunning rewrites the same file.

    python examples/make_example.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22050
OUT = Path(__file__).with_name("example.wav")


def f0_track() -> np.ndarray:
    """Ground-truth f0 in Hz per sample (0 where unvoiced)."""
    notes = [(220.0, 0.6), (277.18, 0.6), (329.63, 0.6), (440.0, 0.8)]
    parts = []
    for hz, seconds in notes:
        t = np.arange(int(seconds * SR)) / SR
        parts.append(hz * 2 ** (0.3 * np.sin(2 * np.pi * 5.5 * t) / 12))  # ±30 cents vibrato
    parts.append(np.zeros(int(0.3 * SR)))  # digital silence
    glide = np.arange(int(1.1 * SR)) / SR
    parts.append(330.0 * 2 ** (-glide / 1.1))
    return np.concatenate(parts)


def synthesize(f0: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voiced = f0 > 0
    audio = np.zeros_like(f0)
    for k in range(1, 12):
        audio += np.where(voiced & (k * f0 < SR / 2), np.sin(k * phase) / k**1.3, 0.0)
    # Short fades so note edges do not click; breath noise only where voiced.
    env = np.convolve(voiced.astype(float), np.hanning(441) / np.hanning(441).sum(), "same")
    audio = 0.3 * audio * env + 0.003 * rng.standard_normal(len(f0)) * env
    return audio.astype(np.float32)


def main() -> None:
    sf.write(OUT, synthesize(f0_track()), SR, subtype="PCM_16")
    print(f"wrote {OUT} ({len(f0_track()) / SR:.2f} s at {SR} Hz)")


if __name__ == "__main__":
    main()
