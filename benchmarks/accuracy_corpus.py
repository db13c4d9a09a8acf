"""Synthetic corpus with known f0 and its scoring, for ``benchmarks/accuracy.py``.

See that script's docstring for the design of the corpus and the scoring rules.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from crepe_transforms import Pitch

RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000)
KINDS = ("vibrato", "glide", "steps", "gaps_silence", "gaps_noise")
SNRS = (math.inf, 30.0, 20.0, 10.0)
F0_RANGE = (50.0, 1900.0)
GROUPS = ("main", "hard")
VOICING_THRESHOLD = 0.5
HALF_WINDOW_S = 512 / 16000  # half the 1024-sample CREPE window


@dataclasses.dataclass
class Clip:
    name: str
    group: str
    kind: str
    sample_rate: int
    snr_db: float
    audio: np.ndarray  # float32 (time,)
    f0: np.ndarray  # Hz per sample, 0 where unvoiced
    voiced: np.ndarray  # bool per sample: window fully inside one note
    unvoiced: np.ndarray  # bool per sample: window fully unvoiced


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _harmonic(
    f0: np.ndarray, sr: int, rng: np.random.Generator, tilt: float = 1.0, odd: bool = False
) -> np.ndarray:
    """Harmonics k (odd only if ``odd``) with amplitude k**-tilt below 0.45 * min(sr, 16 kHz),
    phase-continuous through f0 changes."""
    limit = 0.45 * min(sr, 16000)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    positive = f0[f0 > 0]
    out = np.zeros(len(f0))
    for k in range(1, int(limit / positive.min()) + 1, 2 if odd else 1):
        out += (k * f0 < limit) * np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k**tilt
    return out


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    spectrum[0] = 0
    noise = np.fft.irfft(spectrum, n)
    return noise / noise.std()


def _notes_f0(
    rng: np.random.Generator, count: int, min_interval: float, lo: float, hi: float
) -> list[float]:
    """Random notes with at least ``min_interval`` semitones between neighbours."""
    notes = [_log_uniform(rng, lo, hi)]
    while len(notes) < count:
        f = _log_uniform(rng, lo, hi)
        if abs(12 * np.log2(f / notes[-1])) >= min_interval:
            notes.append(f)
    return notes


def make_clip(
    kind: str, sr: int, snr_db: float, seed: int, seconds: float, group: str = "main"
) -> Clip:
    rng = np.random.default_rng(seed)
    n = round(seconds * sr)
    t = np.arange(n) / sr
    f0 = np.zeros(n)
    events = np.zeros(n, dtype=bool)  # voicing boundaries and f0 steps
    lo, hi = F0_RANGE
    if kind == "vibrato":
        centre = _log_uniform(rng, lo, hi)
        depth = rng.uniform(20, 100)  # cents
        centre = min(max(centre, lo * 2 ** (depth / 1200)), hi * 2 ** (-depth / 1200))
        rate = rng.uniform(4.0, 7.0)
        f0[:] = centre * 2 ** (depth / 1200 * np.sin(2 * np.pi * rate * t + rng.uniform(0, 6.3)))
    elif kind == "glide":
        a, b = _notes_f0(rng, 2, 12.0, lo, hi)
        ramp = np.clip((t - 0.2 * seconds) / (0.6 * seconds), 0, 1)
        f0[:] = a * (b / a) ** ramp
    else:
        count = 6 if kind == "steps" else 4
        notes = _notes_f0(rng, count, 7.0, lo, hi)
        if seed % 3 == 0:  # make sure both ends of the range are visited
            notes[rng.integers(count)] = lo if seed % 2 else hi
        gap = 0.0 if kind == "steps" else 0.3 * seconds / count
        note = (seconds - gap * (count - 1)) / count
        for i, f in enumerate(notes):
            start = round(i * (note + gap) * sr)
            stop = min(n, round((i * (note + gap) + note) * sr))
            f0[start:stop] = f
            events[[start, stop - 1]] = True
    tilt, odd = (1.0, False) if group == "main" else (rng.uniform(0.5, 2.0), seed % 2 == 1)
    audio = _harmonic(f0, sr, rng, tilt, odd) * (f0 > 0)
    fade = np.convolve((f0 > 0).astype(float), np.hanning(round(0.01 * sr) + 2), "same")
    audio *= np.clip(fade / fade.max(), 0, 1)
    audio *= 10 ** (rng.uniform(-25, -3) / 20) / np.abs(audio).max()
    if kind == "gaps_noise":  # fricative-like bursts in the gaps
        gaps = f0 == 0
        audio[gaps] = rng.standard_normal(int(gaps.sum())) * 10 ** (-35 / 20)
    if math.isfinite(snr_db) and kind != "gaps_silence":
        power = np.mean(audio[f0 > 0] ** 2)
        audio += _pink(n, rng) * np.sqrt(power / 10 ** (snr_db / 10))
    half = round(HALF_WINDOW_S * sr)
    kernel = np.ones(2 * half + 1)
    near_event = np.convolve(events.astype(float), kernel, "same") > 0
    voiced_window = np.convolve((f0 > 0).astype(float), kernel, "same")
    voiced = (voiced_window > 2 * half + 0.5) & ~near_event
    unvoiced = voiced_window < 0.5
    name = f"{group}-{kind}-{sr}-{snr_name(snr_db)}-{seed}"
    return Clip(name, group, kind, sr, snr_db, audio.astype(np.float32), f0, voiced, unvoiced)


def make_corpus(small: bool) -> list[Clip]:
    """Deterministic corpus: every kind, cycling through rates and SNRs, in both groups."""
    seconds = 2.0 if small else 2.5
    clips = []
    for group, rounds in zip(GROUPS, (1, 1) if small else (4, 2), strict=True):
        for r in range(rounds):
            for i, kind in enumerate(KINDS):
                k = r * len(KINDS) + i
                sr = RATES[(3 * k + r) % len(RATES)]
                snr = math.inf if kind == "gaps_silence" else SNRS[(i + r) % len(SNRS)]
                seed = k + (0 if group == "main" else 500)
                clips.append(make_clip(kind, sr, snr, seed, seconds, group))
    return clips


def silence_tone_clip(sr: int = 16000) -> Clip:
    """220 Hz tone between stretches of digital silence (the Viterbi collapse case)."""
    pattern = [(0.0, 0.6), (220.0, 0.5), (0.0, 0.8), (220.0, 0.5), (0.0, 0.6)]
    f0 = np.concatenate([np.full(round(d * sr), f) for f, d in pattern])
    clip = make_clip("steps", sr, math.inf, 7, len(f0) / sr)
    rng = np.random.default_rng(7)
    audio = 0.3 * _harmonic(np.where(f0 > 0, f0, 220.0), sr, rng) * (f0 > 0)
    half = round(HALF_WINDOW_S * sr)
    voiced_window = np.convolve((f0 > 0).astype(float), np.ones(2 * half + 1), "same")
    return dataclasses.replace(
        clip,
        name="tone-220Hz-digital-silence",
        audio=(audio / np.abs(audio).max() * 0.5).astype(np.float32),
        f0=f0,
        voiced=voiced_window > 2 * half + 0.5,
        unvoiced=voiced_window < 0.5,
    )


def frame_truth(clip: Clip, centres_s: np.ndarray) -> tuple[np.ndarray, ...]:
    index = np.clip(np.round(centres_s * clip.sample_rate).astype(int), 0, len(clip.f0) - 1)
    return clip.f0[index], clip.voiced[index], clip.unvoiced[index]


def cents_error(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        err = 1200 * np.log2(estimate / np.where(truth > 0, truth, 1.0))
    return np.where(np.isfinite(err), err, np.inf)


@dataclasses.dataclass
class Scores:
    error: list[np.ndarray] = dataclasses.field(default_factory=list)  # cents, voiced frames
    error_all: list[np.ndarray] = dataclasses.field(default_factory=list)  # incl. boundaries
    voiced_ok: list[np.ndarray] = dataclasses.field(default_factory=list)
    false_alarm: list[np.ndarray] = dataclasses.field(default_factory=list)
    kind: list[np.ndarray] = dataclasses.field(default_factory=list)
    snr: list[np.ndarray] = dataclasses.field(default_factory=list)

    def add(self, clip: Clip, pitch: Pitch, centres_s: np.ndarray) -> None:
        frequency = pitch.f0.detach().double().numpy().reshape(-1)
        periodicity = pitch.periodicity.detach().double().numpy().reshape(-1)
        n = min(len(frequency), len(centres_s))
        truth, voiced, unvoiced = frame_truth(clip, centres_s[:n])
        frequency, periodicity = frequency[:n], periodicity[:n]
        self.error.append(cents_error(frequency[voiced], truth[voiced]))
        self.error_all.append(cents_error(frequency[truth > 0], truth[truth > 0]))
        self.voiced_ok.append(periodicity[voiced] >= VOICING_THRESHOLD)
        self.false_alarm.append(periodicity[unvoiced] >= VOICING_THRESHOLD)
        self.kind.append(np.full(int(voiced.sum()), clip.kind))
        self.snr.append(np.full(int(voiced.sum()), clip.snr_db))

    def summary(self) -> dict[str, float]:
        err = np.concatenate(self.error)
        chroma = np.abs((err + 600) % 1200 - 600)
        return {
            "RPA": float(np.mean(np.abs(err) <= 50)),
            "RPA_all": float(np.mean(np.abs(np.concatenate(self.error_all)) <= 50)),
            "RCA": float(np.mean(chroma <= 50)),
            "recall": float(np.mean(np.concatenate(self.voiced_ok))),
            "false_alarm": float(np.mean(np.concatenate(self.false_alarm))),
            "frames": float(len(err)),
        }

    def by_kind(self) -> dict[str, float]:
        err = np.abs(np.concatenate(self.error))
        kinds = np.concatenate(self.kind)
        return {k: float(np.mean(err[kinds == k] <= 50)) for k in KINDS if (kinds == k).any()}

    def by_snr(self) -> dict[str, float]:
        err = np.abs(np.concatenate(self.error))
        snr = np.concatenate(self.snr)
        return {snr_name(v): float(np.mean(err[snr == v] <= 50)) for v in SNRS if (snr == v).any()}


def snr_name(snr: float) -> str:
    return "clean" if not math.isfinite(snr) else f"{snr:g} dB"
