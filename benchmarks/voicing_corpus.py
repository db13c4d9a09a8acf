"""A corpus whose voicing is known by construction, for ``benchmarks/voicing.py``.

Every clip is synthesised here from a seed (numpy + scipy only, no recordings, no text-to-speech
engine), so the truth is the *source*: a frame is voiced when a glottal pulse train (speech) or a
tone (music) is sounding at its centre, whatever the pitch tracker thinks.

Speech-like clips: words of 1-3 syllables, each syllable an optional unvoiced consonant (a
fricative: band-passed noise; or a plosive: a closure then a 10-25 ms burst) before a voiced
nucleus. The nucleus is a Rosenberg glottal pulse train (jitter 0.5-2 %, shimmer 3-10 %, a little
aspiration noise) with a speech f0 contour (speaker base 75-300 Hz, phrase declination, accents,
so 70-400 Hz overall), through 4 formant resonators that glide from vowel to vowel, sometimes
ending in a nasal murmur 10-20 dB weaker. Syllables vary over 20 dB; onsets take 10-30 ms, and
word endings fade by 15-35 dB over 40-150 ms while still voiced. Pauses between words hold
room tone (pink noise with low rumble, and in two clips of three 50/60 Hz mains hum, 40-70 dB
below the clip's peak), sometimes a breath (band-passed noise, 20-35 dB below the speech), or,
in gated clips, digital silence. The clips cycle through four floors (room tone, gated, steady
white noise at 40 or 25 dB SNR re the voiced speech); half of the non-gated ones are
reverberated (late reverberation only, RT60 0.2-0.6 s, 25-40 dB below the dry signal), some
are quantised to 16 bits with TPDF dither, and each is scaled to a peak of 0, -6, -20 or
-40 dBFS, at 8, 16, 22.05, 44.1 or 48 kHz.

Music-like clips: notes of 150-600 ms (80-1000 Hz, harmonic or odd-harmonic timbres, vibrato,
sustained or plucked envelopes, sometimes legato) separated by digital silence, room tone (with
hum in half the clips) or percussive noise bursts, with the same gains, rates and noise levels.

Frame labels at a 10 ms hop (``sample_rate // 100``, the package's default, centres
``i * hop / sample_rate``): 1 voiced, 0 unvoiced, -1 "don't care" when a voicing boundary lies
within one hop of the frame centre, or when the voice within +-1 hop of the centre is weaker
than everything else there (noise, room tone, reverberation: masked, no tracker could hear
it). Each unvoiced frame also carries *what* it is (digital silence, room tone, reverberant
tail, breath, consonant, noise burst) for the breakdown. ``Clip.truth`` gives the same labels
at any other frame centres (torchcrepe's, whose hop drifts at 22.05/44.1 kHz).

Two splits from disjoint seeds: ``dev`` (for choosing the method) and ``test`` (for reporting).

    python benchmarks/voicing_corpus.py --split test   # summary of the corpus
"""

from __future__ import annotations

import argparse
import dataclasses
import math

import numpy as np
from scipy import signal

RATES = (8000, 16000, 22050, 44100, 48000)
GAINS_DB = (0.0, -6.0, -20.0, -40.0)
SNRS_DB = (math.inf, 40.0, 25.0)
#: What lies under the speech's pauses: room tone, digital silence, or steady noise at an SNR.
FLOORS = ("room", "gated", "noise40", "noise25")
SPLITS = {"dev": 1000, "test": 2000}
SECONDS = 3.5

VOICED, UNVOICED, DONT_CARE = 1, 0, -1
#: A voiced frame whose voice is below the rest of the mix by more than this (dB, over the
#: centre +-1 hop) is "don't care": masked, no tracker could hear it.
MASKED_DB = 0.0
#: What an unvoiced sample is; 0 marks voiced samples.
WHAT = (
    "voiced",
    "digital silence",
    "room tone",
    "reverberant tail",
    "breath",
    "consonant",
    "noise burst",
)
_SILENCE, _ROOM, _TAIL, _BREATH, _CONSONANT, _BURST = 1, 2, 3, 4, 5, 6

# Vowel formants (F1-F4, Hz) of an adult male voice; shorter vocal tracts scale them up.
VOWELS = np.array(
    [
        [730, 1090, 2440, 3400],  # a
        [530, 1840, 2480, 3500],  # e
        [270, 2290, 3010, 3700],  # i
        [570, 840, 2410, 3400],  # o
        [300, 870, 2240, 3300],  # u
        [660, 1720, 2410, 3400],  # ae
        [250, 1000, 2200, 3300],  # nasal murmur (m, n): only as a weak coda
    ],
    dtype=float,
)
BANDWIDTHS = np.array([80.0, 100.0, 140.0, 200.0])
_NASAL = len(VOWELS) - 1


@dataclasses.dataclass
class Clip:
    """One clip and its truth: per sample, and per frame at the 10 ms ``hop_length``."""

    name: str
    kind: str  # "speech" or "music"
    sample_rate: int
    gain_db: float
    snr_db: float
    audio: np.ndarray  # float32 (time,)
    voiced_samples: np.ndarray  # bool per sample: the voiced source is sounding
    masked_samples: np.ndarray  # bool per sample: the voice is below the rest around it
    f0_samples: np.ndarray  # Hz per sample (0 where unvoiced)
    what_samples: np.ndarray  # int8 per sample: index into WHAT
    hop_length: int = 0
    labels: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int8))
    f0: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    what: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int8))

    def __post_init__(self) -> None:
        self.hop_length = self.sample_rate // 100
        centres = np.arange(1 + len(self.audio) // self.hop_length) * self.hop_length
        self.labels, self.f0, self.what = self.truth(centres, self.hop_length)

    def truth(self, centres: np.ndarray, hop: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Labels (1 voiced, 0 unvoiced, -1 don't care), f0 and what, of frames centred at
        ``centres`` (input samples) with a hop of ``hop`` samples."""
        voiced = self.voiced_samples
        here = np.clip(np.round(centres).astype(int), 0, len(voiced) - 1)
        labels = voiced[here].astype(np.int8)
        # Don't care: a boundary within one hop of the centre (the sample mask changes there),
        # or a voice masked by the rest of the mix.
        changes = np.flatnonzero(np.diff(voiced.astype(np.int8)) != 0) + 0.5
        if len(changes):
            nearest = np.searchsorted(changes, centres)
            before = np.abs(centres - changes[np.clip(nearest - 1, 0, len(changes) - 1)])
            after = np.abs(centres - changes[np.clip(nearest, 0, len(changes) - 1)])
            labels[np.minimum(before, after) <= hop] = DONT_CARE
        labels[(labels == VOICED) & self.masked_samples[here]] = DONT_CARE
        f0 = np.where(labels == VOICED, self.f0_samples[here], 0.0)
        return labels, f0, self.what_samples[here].astype(np.int8)


def _smooth_noise(rng: np.random.Generator, n: int, sr: int, cutoff: float) -> np.ndarray:
    """Unit-variance low-pass noise (slow random contours)."""
    b, a = signal.butter(2, min(cutoff / (sr / 2), 0.99))
    x = signal.lfilter(b, a, rng.standard_normal(n + sr))[sr:]
    return x / (x.std() + 1e-12)


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    spectrum[0] = 0
    x = np.fft.irfft(spectrum, n)
    return x / (x.std() + 1e-12)


def _bandpass(x: np.ndarray, sr: int, lo: float, hi: float, order: int = 4) -> np.ndarray:
    nyq = sr / 2
    hi = min(hi, 0.9 * nyq)
    lo = min(lo, 0.5 * hi)
    sos = signal.butter(order, [lo / nyq, hi / nyq], btype="band", output="sos")
    return signal.sosfilt(sos, x)


def _voiced_envelope(n: int, attack: int, release: int, depth_db: float) -> np.ndarray:
    """Raised-sine onset, then an exponential decay by ``depth_db`` over the last ``release``
    samples (a word ending fading while still voiced), and a 5 ms fade to close."""
    env = _ramp(n, attack, 0)
    release = min(release, n // 2)
    env[n - release :] *= 10 ** (-depth_db / 20 * np.arange(release) / release)
    close = min(release, 80)
    env[n - close :] *= np.linspace(1, 0, close)
    return env


def _ramp(n: int, attack: int, release: int) -> np.ndarray:
    env = np.ones(n)
    attack, release = min(attack, n // 2), min(release, n // 2)
    if attack:
        env[:attack] = np.sin(0.5 * np.pi * np.arange(attack) / attack) ** 2
    if release:
        env[n - release :] = np.cos(0.5 * np.pi * np.arange(1, release + 1) / release) ** 2
    return env


def _glottal(
    rng: np.random.Generator, f0: np.ndarray, sr: int, jitter: float, shimmer: float
) -> np.ndarray:
    """Rosenberg glottal flow derivative following ``f0`` (Hz per sample), with jitter/shimmer."""
    n = len(f0)
    closures = [0.0]
    while closures[-1] < n:
        here = f0[min(int(closures[-1]), n - 1)]
        closures.append(closures[-1] + sr / here * (1 + jitter * rng.standard_normal()))
    edges = np.asarray(closures)
    amplitude = 1 + shimmer * rng.standard_normal(len(edges))
    t = np.arange(n, dtype=float)
    k = np.searchsorted(edges, t, side="right") - 1
    phase = (t - edges[k]) / (edges[k + 1] - edges[k])
    rise, fall = 0.4, 0.16  # open phase: 40 % rising, 16 % falling (Rosenberg)
    flow = np.where(
        phase < rise,
        0.5 * (1 - np.cos(np.pi * phase / rise)),
        np.where(phase < rise + fall, np.cos(0.5 * np.pi * (phase - rise) / fall), 0.0),
    )
    flow *= amplitude[k]
    # Lip radiation: the mouth differentiates the flow.
    return np.diff(flow, prepend=0.0) * sr / f0.mean()


def _formants(x: np.ndarray, sr: int, formants: np.ndarray) -> np.ndarray:
    """Cascade of 2-pole resonators (formants above 0.45 sr are left out)."""
    out = x
    for f, bw in zip(formants, BANDWIDTHS, strict=True):
        if f >= 0.45 * sr:
            continue
        r = math.exp(-math.pi * bw / sr)
        a = [1.0, -2 * r * math.cos(2 * math.pi * f / sr), r * r]
        out = signal.lfilter([sum(a)], a, out)
    return out


def _voiced_run(
    rng: np.random.Generator,
    sr: int,
    f0: np.ndarray,
    vowels: list[int],
    scale: float,
    jitter: float,
    shimmer: float,
) -> np.ndarray:
    """A voiced stretch: glottal source through formants gliding between ``vowels``."""
    n = len(f0)
    source = _glottal(rng, f0, sr, jitter, shimmer)
    aspiration = _bandpass(rng.standard_normal(n), sr, 500, 6000) * 0.02 * source.std()
    source = source + aspiration
    filtered = np.stack([_formants(source, sr, VOWELS[v] * scale) for v in vowels])
    # Cross-fade from one vowel's filter to the next: formant transitions.
    weights = np.zeros((len(vowels), n))
    edges = np.linspace(0, n, len(vowels) + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    t = np.arange(n)
    for i in range(len(vowels)):
        weights[i] = np.interp(t, centres, np.eye(len(vowels))[i]) if len(vowels) > 1 else 1.0
    return (filtered * weights).sum(axis=0)


def _consonant(rng: np.random.Generator, sr: int, kind: str) -> tuple[np.ndarray, int]:
    """An unvoiced consonant and the silent closure before it (plosives), in samples."""
    if kind == "plosive":
        burst = round(rng.uniform(0.01, 0.025) * sr)
        x = _bandpass(rng.standard_normal(burst), sr, 1500, 6000, 2)
        x *= np.exp(-np.arange(burst) / (0.006 * sr))
        return x * rng.uniform(0.5, 1.5), round(rng.uniform(0.03, 0.08) * sr)
    n = round(rng.uniform(0.06, 0.15) * sr)
    lo, hi = {"s": (4000, 7500), "sh": (2000, 6000), "f": (1000, 7000), "h": (400, 3000)}[kind]
    x = _bandpass(rng.standard_normal(n), sr, lo, hi)
    return x * _ramp(n, round(0.015 * sr), round(0.015 * sr)), 0


def _room_tone(rng: np.random.Generator, n: int, sr: int, hum: bool) -> np.ndarray:
    """Pink noise with a low-frequency rumble and, if ``hum``, mains hum: unit RMS.

    Hum (50 or 60 Hz and its harmonics, -5 to +5 dB re the noise) is periodic: a pitch tracker
    may rightly hear a pitch in it, but it is not a voice.
    """
    x = _pink(rng, n) + 1.5 * _bandpass(rng.standard_normal(n), sr, 20, 200, 2)
    x /= x.std()
    if hum:
        mains = 50.0 if rng.random() < 0.5 else 60.0
        t = np.arange(n) / sr
        buzz = sum(
            np.sin(2 * np.pi * k * mains * t + rng.uniform(0, 6.3)) / k for k in range(1, 12)
        )
        x += buzz / buzz.std() * 10 ** (rng.uniform(-5, 5) / 20)
    return x / x.std()


def _reverb(rng: np.random.Generator, x: np.ndarray, sr: int, rt60: float) -> np.ndarray:
    """Late reverberation only (no direct path): unit-energy exponentially decaying noise."""
    n = round(1.2 * rt60 * sr)
    t = np.arange(n) / sr
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    ir[: round(0.005 * sr)] = 0.0  # 5 ms pre-delay
    ir /= np.sqrt((ir**2).sum())
    return signal.fftconvolve(x, ir)[: len(x)]


def _quantise(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """16-bit PCM with TPDF dither, read back as float."""
    lsb = 1 / 32768
    dither = (rng.uniform(-0.5, 0.5, len(x)) + rng.uniform(-0.5, 0.5, len(x))) * lsb
    return np.clip(np.round((x + dither) / lsb) * lsb, -1, 1 - lsb)


def _finish(
    rng: np.random.Generator,
    name: str,
    kind: str,
    sr: int,
    dry: np.ndarray,
    voice: np.ndarray,
    voiced: np.ndarray,
    f0: np.ndarray,
    what: np.ndarray,
    gain_db: float,
    snr_db: float,
    quantise: bool,
) -> Clip:
    """Background noise, peak gain, optional 16-bit quantisation, frame labels."""
    n = len(dry)
    audio = dry.copy()
    if math.isfinite(snr_db):
        power = np.mean(dry[voiced] ** 2)
        audio += rng.standard_normal(n) * math.sqrt(power / 10 ** (snr_db / 10))
        # A steady noise floor turns digital silence into noise.
        what = np.where(what == _SILENCE, _ROOM, what)
    gain = 10 ** (gain_db / 20) / np.abs(audio).max()
    audio *= gain
    voice = voice * gain
    if quantise:
        audio = _quantise(rng, audio)
        what = np.where(what == _SILENCE, _ROOM, what)  # dither is a noise floor
    # A voiced source buried under the rest (noise, room tone, reverberation, another sound)
    # within +-10 ms cannot be heard: don't care, not a miss.
    kernel = np.ones(2 * (sr // 100) + 1)
    voice_energy = signal.fftconvolve(voice**2, kernel, "same")
    rest_energy = signal.fftconvolve((audio - voice) ** 2, kernel, "same")
    masked = voice_energy < rest_energy * 10 ** (MASKED_DB / 10)
    return Clip(
        name,
        kind,
        sr,
        gain_db,
        snr_db,
        audio.astype(np.float32),
        voiced,
        masked,
        f0,
        what.astype(np.int8),
    )


def speech_clip(seed: int, index: int) -> Clip:
    """A speech-like clip; the grid position (rate, gain, noise, ...) follows ``index``."""
    rng = np.random.default_rng(seed)
    sr = RATES[index % len(RATES)]
    gain_db = GAINS_DB[(index // len(RATES)) % len(GAINS_DB)]
    floor = FLOORS[index % len(FLOORS)]
    gated = floor == "gated"  # a noise gate: pauses are digital silence
    snr_db = {"noise40": 40.0, "noise25": 25.0}.get(floor, math.inf)
    reverb = not gated and (index // len(FLOORS)) % 2 == 0
    quantise = floor == "room" and (index // len(FLOORS)) % 2 == 1
    n = round(SECONDS * sr)
    base = float(np.exp(rng.uniform(np.log(75), np.log(300))))
    scale = float(np.clip((base / 110) ** 0.3, 1.0, 1.35))  # higher voices: shorter tracts
    jitter, shimmer = rng.uniform(0.005, 0.02), rng.uniform(0.03, 0.1)
    dry = np.zeros(n)
    voice = np.zeros(n)  # the voiced component alone (dry), for the masking rule
    voiced = np.zeros(n, dtype=bool)
    f0 = np.zeros(n)
    what = np.full(n, _SILENCE if gated else _ROOM, dtype=np.int8)
    t = round(rng.uniform(0.15, 0.4) * sr)
    phrase = np.arange(n) / sr
    # f0 contour: declination (about -2 semitones per second) and slow wander.
    contour = base * 2 ** ((-2 * phrase / SECONDS * 1.5 + 0.8 * _smooth_noise(rng, n, sr, 3)) / 12)
    while True:
        syllables = int(rng.integers(1, 4))
        word_start = t
        for s in range(syllables):
            if rng.random() < 0.55:
                ckind = str(rng.choice(["plosive", "s", "sh", "f", "h"]))
                burst, closure = _consonant(rng, sr, ckind)
                if t + closure + len(burst) + round(0.3 * sr) >= n:
                    break
                t += closure
                gain = 10 ** (rng.uniform(-25, -10) / 20)
                dry[t : t + len(burst)] += burst * gain / (burst.std() + 1e-12) * 0.3
                what[t : t + len(burst)] = _CONSONANT
                t += len(burst)
            nucleus = round(rng.uniform(0.08, 0.28) * sr * (1.5 if s == syllables - 1 else 1))
            coda = round(rng.uniform(0.05, 0.1) * sr) if rng.random() < 0.3 else 0
            length = nucleus + coda
            if t + length + round(0.1 * sr) >= n:
                break
            accent = 2 ** (rng.uniform(-1, 4) / 12 * np.hanning(length))
            run_f0 = np.clip(contour[t : t + length] * accent, 70, 400)
            vowels = [int(v) for v in rng.integers(0, _NASAL, int(rng.integers(1, 3)))]
            x = _voiced_run(rng, sr, run_f0, vowels + [_NASAL] * bool(coda), scale, jitter, shimmer)
            x /= np.sqrt(np.mean(x[:nucleus] ** 2)) + 1e-12
            if coda:  # a nasal murmur 10-20 dB below its vowel
                weak = 10 ** (-rng.uniform(10, 20) / 20)
                x[nucleus:] *= weak
                x[nucleus - round(0.02 * sr) : nucleus] *= np.linspace(1, weak, round(0.02 * sr))
            # Word endings fade by 15-35 dB over 40-150 ms while still voiced.
            final = s == syllables - 1
            env = _voiced_envelope(
                length,
                round(rng.uniform(0.01, 0.03) * sr),
                round(rng.uniform(0.04, 0.15 if final else 0.06) * sr),
                rng.uniform(15, 35) if final else rng.uniform(6, 15),
            )
            # Syllable loudness varies over 20 dB; the last of a word is weaker.
            level = 10 ** (rng.uniform(-20, 0) / 20) * (0.5 if final else 1)
            voice[t : t + length] = x * env * level * 0.3
            dry[t : t + length] += voice[t : t + length]
            voiced[t : t + length] = True
            f0[t : t + length] = run_f0
            what[t : t + length] = 0
            t += length
        if t == word_start or t >= n - round(0.3 * sr):
            break
        pause = min(round(rng.uniform(0.12, 0.6) * sr), n - t)
        if rng.random() < 0.3 and pause > 0.3 * sr:  # a breath in the pause
            b = round(rng.uniform(0.2, 0.8) * pause)
            x = _bandpass(_pink(rng, b), sr, 300, 3000) * _ramp(b, b // 3, b // 3)
            gain = 10 ** (rng.uniform(-35, -20) / 20) * 0.3
            start = t + (pause - b) // 2
            dry[start : start + b] += x / (x.std() + 1e-12) * gain
            what[start : start + b] = _BREATH
        t += pause
        if t >= n - round(0.3 * sr):
            break
    peak = np.abs(dry).max()
    if reverb:
        rt60 = rng.uniform(0.2, 0.6)
        wet = _reverb(rng, dry, sr, rt60)
        wet_db = rng.uniform(-40, -25)
        dry = dry + wet * math.sqrt(np.mean(dry**2) / np.mean(wet**2)) * 10 ** (wet_db / 20)
        ends = np.flatnonzero(np.diff(voiced.astype(np.int8)) == -1)
        for e in ends:  # the tail after each voiced offset, where nothing else sounds
            span = slice(e + 1, min(n, e + 1 + round(rt60 * sr)))
            what[span] = np.where(what[span] == _ROOM, _TAIL, what[span])
    if not gated:
        room_db = rng.uniform(-70, -40)
        dry = dry + _room_tone(rng, n, sr, index % 3 != 2) * peak * 10 ** (room_db / 20)
    name = (
        f"speech-{index:02d}-{sr}Hz-{gain_db:+.0f}dBFS-snr{snr_db:g}"
        + ("-gated" if gated else "")
        + ("-reverb" if reverb else "")
        + ("-16bit" if quantise else "")
    )
    return _finish(rng, name, "speech", sr, dry, voice, voiced, f0, what, gain_db, snr_db, quantise)


def music_clip(seed: int, index: int) -> Clip:
    """A music-like clip: notes with gaps of digital silence, room tone or noise bursts."""
    rng = np.random.default_rng(seed)
    sr = RATES[(index + 2) % len(RATES)]
    gain_db = GAINS_DB[index % len(GAINS_DB)]
    snr_db = SNRS_DB[(index // 2) % len(SNRS_DB)]
    quantise = index % 3 == 2
    n = round(SECONDS * sr)
    dry = np.zeros(n)
    voice = np.zeros(n)  # the voiced component alone (dry), for the masking rule
    voiced = np.zeros(n, dtype=bool)
    f0 = np.zeros(n)
    what = np.full(n, _SILENCE, dtype=np.int8)
    gap_kind = ("silence", "room", "burst")[index % 3]
    tilt = rng.uniform(0.7, 2.0)
    odd = index % 4 == 1
    plucked = index % 2 == 1
    t = round(rng.uniform(0.1, 0.3) * sr)
    while True:
        length = round(rng.uniform(0.15, 0.6) * sr)
        if t + length >= n - round(0.05 * sr):
            break
        note = float(np.exp(rng.uniform(np.log(80), np.log(1000))))
        tt = np.arange(length) / sr
        vibrato = rng.uniform(0, 40) * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * tt)
        nf0 = note * 2 ** (vibrato / 1200)
        phase = 2 * np.pi * np.cumsum(nf0) / sr
        x = np.zeros(length)
        for k in range(1, int(0.45 * min(sr, 16000) / nf0.max()) + 1, 2 if odd else 1):
            x += np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k**tilt
        env = _ramp(length, round(0.01 * sr), round(0.03 * sr))
        if plucked:  # decays by 20-35 dB over the note: still a tone
            env *= 10 ** (-rng.uniform(20, 35) / 20 * tt / tt[-1])
        voice[t : t + length] = x / x.std() * env * 10 ** (rng.uniform(-10, 0) / 20) * 0.3
        dry[t : t + length] += voice[t : t + length]
        voiced[t : t + length] = True
        f0[t : t + length] = nf0
        what[t : t + length] = 0
        t += length
        if rng.random() < 0.2:
            continue  # legato: the next note starts at once
        gap = round(rng.uniform(0.1, 0.4) * sr)
        if gap_kind == "burst":
            b = min(gap, round(rng.uniform(0.05, 0.15) * sr))
            x = _bandpass(rng.standard_normal(b), sr, 2000, 9000) * np.exp(
                -np.arange(b) / (0.03 * sr)
            )
            start = t + (gap - b) // 2
            if start + b < n:
                dry[start : start + b] += x / x.std() * 0.3 * 10 ** (rng.uniform(-20, -5) / 20)
                what[start : start + b] = _BURST
        t += gap
    if gap_kind != "silence":
        room_db = rng.uniform(-70, -40)
        dry = dry + _room_tone(rng, n, sr, index % 2 == 0) * np.abs(dry).max() * 10 ** (
            room_db / 20
        )
        what = np.where(what == _SILENCE, _ROOM, what)
    name = f"music-{index:02d}-{sr}Hz-{gain_db:+.0f}dBFS-snr{snr_db:g}-{gap_kind}" + (
        "-16bit" if quantise else ""
    )
    return _finish(rng, name, "music", sr, dry, voice, voiced, f0, what, gain_db, snr_db, quantise)


def make_corpus(split: str = "test", speech: int = 20, music: int = 8) -> list[Clip]:
    """The deterministic corpus of a split: ``speech`` + ``music`` clips of 3.5 s."""
    base = SPLITS[split]
    clips = [speech_clip(base + i, i) for i in range(speech)]
    clips += [music_clip(base + 500 + i, i) for i in range(music)]
    return clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=tuple(SPLITS), default="test")
    args = parser.parse_args()
    clips = make_corpus(args.split)
    seconds = sum(len(c.audio) / c.sample_rate for c in clips)
    print(f"{len(clips)} clips, {seconds:.1f} s of audio")
    for c in clips:
        counts = {
            w: int(((c.what == i) & (c.labels == UNVOICED)).sum()) for i, w in enumerate(WHAT)
        }
        counts = {w: k for w, k in counts.items() if k}
        print(
            f"{c.name:55s} voiced {int((c.labels == VOICED).sum()):4d} "
            f"unvoiced {int((c.labels == UNVOICED).sum()):4d} "
            f"don't care {int((c.labels == DONT_CARE).sum()):3d} "
            f"peak {20 * np.log10(np.abs(c.audio).max()):6.1f} dBFS  {counts}"
        )


if __name__ == "__main__":
    main()
