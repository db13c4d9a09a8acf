"""Helpers for the audio, extraction and CLI tests: audio files with known content, broken
files of every kind, trees of files, and the command line in a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]

#: Rates of the generated corpora (resampled down, up, and not at all).
RATES = (8000, 16000, 22050, 44100, 48000)


def tone_array(f0: float, seconds: float, sr: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Harmonic tone (5 harmonics, 1/k, seeded phases) at amplitude 0.5: ``(time, channels)``."""
    rng = np.random.default_rng(seed)
    t = np.arange(max(1, round(seconds * sr))) / sr
    x = np.zeros_like(t)
    for k in range(1, 6):
        if k * f0 < sr / 2:
            x += np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) / k
    x *= 0.5 / max(np.abs(x).max(), 1e-9)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def write_tone(
    path: Path,
    f0: float,
    seconds: float,
    sr: int,
    channels: int = 1,
    subtype: str = "PCM_16",
    seed: int = 0,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lossy = path.suffix in (".ogg", ".mp3")  # their codecs have no PCM subtypes
    # the name's bytes: soundfile cannot encode a name that is not valid UTF-8 itself
    data = tone_array(f0, seconds, sr, channels, seed)
    sf.write(os.fsencode(path), data, sr, None if lossy else subtype)
    return path


def write_noise(path: Path, seconds: float, sr: int, channels: int = 1, seed: int = 0) -> Path:
    """Uniform noise in [-0.5, 0.5) as float WAV: exact samples, no PCM rounding."""
    rng = np.random.default_rng(seed)
    data = rng.uniform(-0.5, 0.5, (round(seconds * sr), channels)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, sr, subtype="FLOAT")
    return path


def truncate(path: Path, keep: float = 0.5) -> Path:
    """Cut a file to ``keep`` of its bytes in place (a copy that failed half-way)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


# Broken files, one writer each: name → function(path) creating it.
def zero_bytes(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def not_audio(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is a text file with an audio name\n" * 20)
    return path


def truncated_wav(path: Path) -> Path:
    return truncate(write_tone(path, 220.0, 0.5, 16000))


def no_samples(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros((0, 1), np.float32), 16000, subtype="PCM_16")
    return path


@dataclass(frozen=True)
class TreeFile:
    path: Path
    f0: float
    sr: int
    samples: int


def make_tree(root: Path, count: int, seed: int = 0) -> list[TreeFile]:
    """``count`` short tones in nested folders: mixed rates, lengths 0.05–0.3 s, f0 known."""
    rng = np.random.default_rng(seed)
    files = []
    for i in range(count):
        sr = int(RATES[i % len(RATES)])
        seconds = float(rng.uniform(0.05, 0.3))
        f0 = float(110.0 * 2 ** rng.uniform(0, 2.5))  # 110–620 Hz
        folder = root / f"speaker{i % 7}" / f"session{i % 3}"
        suffix = ".flac" if i % 5 == 0 else ".wav"
        path = write_tone(folder / f"utt{i:03d}{suffix}", f0, seconds, sr, seed=i)
        files.append(TreeFile(path, f0, sr, max(1, round(seconds * sr))))
    return files


def cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m crepe_transforms ARGS`` in a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "crepe_transforms", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def outputs(root: Path, pattern: str = "*.f0.csv") -> dict[str, float]:
    """Relative path → modification time (ns) of every output under ``root``."""
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob(pattern)}
