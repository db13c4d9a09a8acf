"""Real text-to-speech material for the voicing benchmark (``voicing.py``), with rooms, quiet
gains and noise, and a reference from Praat on the dry utterance.

Utterances come from two independent synthesisers (Debian packages, ``apt-get install -y
espeak-ng flite``):

- **espeak-ng**: several voice variants (male and female), languages, pitches and speeds;
- **flite**: its four built-in voices, never used for choosing anything (a held-out source).

Split (by voice *and* sentence, nothing shared between dev and test):

- ``dev``: espeak-ng voices :data:`DEV_VOICES`, sentences :data:`DEV_SENTENCES`: the only
  material any constant or weight of ``voicing="auto"`` was chosen or trained on;
- ``test``: espeak-ng voices :data:`TEST_VOICES`, sentences :data:`TEST_SENTENCES`;
- ``flite``: flite's voices on the test sentences (another synthesiser altogether).

Each utterance is scored in several conditions (:data:`CONDITIONS`), all against the voicing
of the *dry* utterance from Praat's pitch (``parselmouth``, autocorrelation, floor 60 Hz,
ceiling 600 Hz, 5 ms step): a reverberant tail or the noise in a pause is unvoiced.

- ``dry``: the synthesiser's 16-bit output as is (its pauses are a few LSBs, not silence);
- ``room``: a simulated room (exponentially decaying noise impulse response, RT60 0.2-0.8 s,
  early reflections, a direct path 0 to +9 dB over the reverberant energy), the speech peak
  at -1 to -12 dBFS, plus a steady pink noise floor at -70 to -45 dBFS (RMS), quantised to 16 bits;
- ``quiet``: the dry utterance x0.03 (-30 dB), quantised to 16 bits again;
- ``snr20`` / ``snr10``: pink noise added at 20 / 10 dB below the speech's active RMS;
- ``room2``, ``room3``, ...: further independent room draws of the same utterance (used only to
  train the voicing head on more rooms, dev split only; never scored).

A frame (10 ms hop, centred) is scored only when Praat gives one state over its whole 64 ms
window; the others are "don't care".

    python benchmarks/voicing_speech.py corpus        # synthesise the corpus (cached), print sizes
    python benchmarks/voicing_speech.py               # docs/voicing.md's tables (tiny, full,
                                                      # PESTO on test); outputs cached in /tmp
    python benchmarks/voicing_speech.py --capacities tiny --no-write --invariance test
    python benchmarks/voicing_speech.py tails         # where the rooms' false alarms lie
    python benchmarks/voicing_speech.py cost          # the decision's CPU share, side by side
                                                      # (benchmarks/results/voicing_cost.md)
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

CACHE = Path(tempfile.gettempdir()) / "crepe_voicing_speech"
HOP_S = 0.01
HALF_WINDOW_S = 0.032
CONDITIONS = ("dry", "room", "quiet", "snr20", "snr10")

# (espeak-ng voice, gender) — variants disjoint between the splits.
DEV_VOICES = (
    ("en-us+m1", "male"),
    ("en+m3", "male"),
    ("de+m5", "male"),
    ("en+f1", "female"),
    ("en-us+f3", "female"),
    ("en+belinda", "female"),
    ("de+f5", "female"),
)
TEST_VOICES = (
    ("en+m2", "male"),
    ("en-us+m6", "male"),
    ("fr+m4", "male"),
    ("en+f2", "female"),
    ("en-us+f4", "female"),
    ("en+Annie", "female"),
    ("es+Alicia", "female"),
)
FLITE_VOICES = (("kal", "male"), ("awb", "male"), ("rms", "male"), ("slt", "female"))

DEV_SENTENCES = {
    "en": (
        "The birch canoe slid on the smooth planks.",
        "Glue the sheet to the dark blue background.",
        "It's easy to tell the depth of a well.",
        "These days a chicken leg is a rare dish.",
        "Rice is often served in round bowls.",
        "The juice of lemons makes fine punch.",
        "The box was thrown beside the parked truck.",
        "Four hours of steady work faced us.",
        "A large size in stockings is hard to sell.",
        "The boy was there when the sun rose.",
    ),
    "de": (
        "Der Hund lief schnell über die nasse Wiese.",
        "Am Abend saßen wir lange vor dem Haus.",
        "Die Kinder singen ein Lied im Garten.",
        "Morgen fahren wir mit dem Zug nach Berlin.",
    ),
}
TEST_SENTENCES = {
    "en": (
        "A rod is used to catch pink salmon.",
        "The source of the huge river is the clear spring.",
        "Kick the ball straight and follow through.",
        "Help the woman get back to her feet.",
        "A pot of tea helps to pass the evening.",
        "Smoky fires lack flame and heat.",
        "The soft cushion broke the man's fall.",
        "The salt breeze came across from the sea.",
        "The girl at the booth sold fifty bonds.",
        "The small pup gnawed a hole in the sock.",
    ),
    "fr": (
        "Le chat dort tranquillement sur le canapé.",
        "Nous irons au marché demain matin.",
        "Il pleut souvent au mois de novembre.",
    ),
    "es": (
        "El perro corre por la playa al amanecer.",
        "Mañana vamos a visitar a mi abuela.",
        "La música suena muy bien esta noche.",
    ),
}


@dataclass
class Utterance:
    """One synthesised sentence: dry audio (float in [-1, 1]) and its Praat reference."""

    name: str
    split: str
    source: str
    voice: str
    gender: str
    sentence: str
    sample_rate: int
    audio: np.ndarray
    truth: np.ndarray = field(repr=False)  # per frame: 1 voiced, 0 unvoiced, -1 don't care
    f0: np.ndarray = field(repr=False)  # Praat f0 at the frame centres (Hz, NaN unvoiced)


@dataclass
class Clip:
    """An utterance in one condition."""

    utterance: Utterance
    condition: str
    audio: np.ndarray

    @property
    def name(self) -> str:
        return f"{self.utterance.name}-{self.condition}"

    @property
    def sample_rate(self) -> int:
        return self.utterance.sample_rate

    @property
    def truth(self) -> np.ndarray:
        return self.utterance.truth


def _seed(*parts: object) -> int:
    return int(hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:8], 16)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(
            f"{name} is not installed: the speech benchmark needs it "
            f"(apt-get install -y espeak-ng flite)."
        )
    return path


def _synth(source: str, voice: str, text: str, pitch: int, speed: int) -> tuple[np.ndarray, int]:
    key = hashlib.sha1(f"{source}|{voice}|{text}|{pitch}|{speed}".encode()).hexdigest()[:16]
    path = CACHE / "tts" / f"{key}.wav"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.wav")
        if source == "espeak-ng":
            cmd = [_tool("espeak-ng"), "-v", voice, "-p", str(pitch), "-s", str(speed)]
            subprocess.run([*cmd, "-w", str(tmp), text], check=True, capture_output=True)
        else:
            cmd = [_tool("flite"), "-voice", voice, "-t", text, "-o", str(tmp)]
            subprocess.run(cmd, check=True, capture_output=True)
        tmp.replace(path)
    audio, sr = sf.read(path, dtype="float64")
    return audio, int(sr)


def _reference(audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Praat voicing of the dry utterance at the 10 ms frame centres: (truth, f0)."""
    import parselmouth

    pitch = parselmouth.Sound(audio, sampling_frequency=sr).to_pitch_ac(
        time_step=0.005, pitch_floor=60.0, pitch_ceiling=600.0
    )
    times = np.asarray(pitch.xs())
    values = np.asarray(pitch.selected_array["frequency"])
    voiced = values > 0
    n = int(len(audio) / sr / HOP_S) + 1
    centres = np.arange(n) * HOP_S
    truth = np.full(n, -1, dtype=np.int8)
    f0 = np.full(n, np.nan)
    for k, t in enumerate(centres):
        inside = (times >= t - HALF_WINDOW_S) & (times <= t + HALF_WINDOW_S)
        states = voiced[inside]
        # Outside Praat's analysed range the signal is the synthesiser's silence: unvoiced.
        covered = t - HALF_WINDOW_S >= times[0] and t + HALF_WINDOW_S <= times[-1]
        if states.size and states.all() and covered:
            truth[k] = 1
            f0[k] = float(np.interp(t, times, values))
        elif not states.any():
            truth[k] = 0
    return truth, f0


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    x = np.fft.irfft(spectrum, n)
    return x / np.sqrt(np.mean(x**2))


def _quantise(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767), -32768, 32767) / 32767


def _room(rng: np.random.Generator, x: np.ndarray, sr: int) -> np.ndarray:
    rt60 = rng.uniform(0.2, 0.8)
    n = int(rt60 * sr * 1.2)
    t = np.arange(n) / sr
    rir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    rir[: int(0.002 * sr)] *= np.linspace(0, 1, int(0.002 * sr))
    for _ in range(4):  # early reflections
        rir[rng.integers(int(0.003 * sr), int(0.03 * sr))] += rng.uniform(0.5, 1.5)
    # Direct path at 0 to +9 dB over the reverberant energy (a talker 0.5-2 m away).
    rir[0] = np.sqrt(np.sum(rir**2) * 10 ** (rng.uniform(0.0, 9.0) / 10))
    from scipy.signal import fftconvolve

    wet = fftconvolve(x, rir)[: len(x) + n // 2]
    wet *= 10 ** (rng.uniform(-12, -1) / 20) / np.abs(wet).max()
    floor = _pink(rng, len(wet)) * 10 ** (rng.uniform(-70, -45) / 20)
    return _quantise(wet + floor)


def _noisy(rng: np.random.Generator, x: np.ndarray, snr_db: float) -> np.ndarray:
    frame = 256
    power = np.array([np.mean(x[i : i + frame] ** 2) for i in range(0, len(x) - frame, frame)])
    active = power[power > power.max() * 1e-3]
    noise = _pink(rng, len(x)) * np.sqrt(active.mean()) * 10 ** (-snr_db / 20)
    y = x + noise
    return _quantise(y / max(1.0, np.abs(y).max() / 0.99))


def condition(utterance: Utterance, name: str) -> Clip:
    rng = np.random.default_rng(_seed(utterance.name, name))
    x, sr = utterance.audio, utterance.sample_rate
    if name == "dry":
        audio = x
    elif name == "room" or (name.startswith("room") and name[4:].isdigit()):
        # "room2", "room3", ...: further room draws (training augmentation, dev only).
        audio = _room(rng, x, sr)
        # Keep the utterance's frame count: the tail past its end is cut (scored frames are
        # the dry utterance's frames).
        audio = audio[: len(x)]
    elif name == "quiet":
        audio = _quantise(0.03 * x)
    elif name.startswith("snr"):
        audio = _noisy(rng, x, float(name[3:]))
    else:
        raise ValueError(f"unknown condition {name!r}; one of {CONDITIONS}")
    return Clip(utterance, name, np.ascontiguousarray(audio, dtype=np.float32))


@functools.lru_cache(maxsize=8)
def utterances(split: str, per_voice: int = 5) -> list[Utterance]:
    """The split's utterances: ``per_voice`` sentences for each voice (deterministic; kept for
    the process, the Praat reference is not free)."""
    if split == "dev":
        voices, sentences, source = DEV_VOICES, DEV_SENTENCES, "espeak-ng"
    elif split == "test":
        voices, sentences, source = TEST_VOICES, TEST_SENTENCES, "espeak-ng"
    elif split == "flite":
        voices, sentences, source = FLITE_VOICES, TEST_SENTENCES, "flite"
    else:
        raise ValueError(f"split must be dev, test or flite, got {split!r}")
    out = []
    for voice, gender in voices:
        language = voice.split("+")[0].split("-")[0] if source == "espeak-ng" else "en"
        pool = sentences[language]
        rng = np.random.default_rng(_seed(split, voice))
        chosen = rng.choice(len(pool), size=min(per_voice, len(pool)), replace=False)
        for k in chosen:
            pitch = int(rng.choice([35, 50, 65]))
            speed = int(rng.choice([140, 170, 200]))
            audio, sr = _synth(source, voice, pool[k], pitch, speed)
            truth, f0 = _reference(audio, sr)
            name = f"{split}-{voice.replace('+', '_')}-s{k}-p{pitch}-r{speed}"
            out.append(Utterance(name, split, source, voice, gender, pool[k], sr, audio, truth, f0))
    return out


def make_corpus(split: str, conditions: tuple[str, ...] = CONDITIONS) -> list[Clip]:
    return [condition(u, c) for u in utterances(split) for c in conditions]


def main() -> None:
    for split in ("dev", "test", "flite"):
        utts = utterances(split)
        voiced = sum(int((u.truth == 1).sum()) for u in utts)
        unvoiced = sum(int((u.truth == 0).sum()) for u in utts)
        seconds = sum(len(u.audio) / u.sample_rate for u in utts)
        print(
            f"{split}: {len(utts)} utterances, {seconds:.0f} s, {voiced} voiced / "
            f"{unvoiced} unvoiced scored frames per condition"
        )


# ----------------------------------------------------------------------------- network outputs

_MODELS: dict[tuple[int, str], object] = {}


def network_outputs(clip: Clip, capacity: str, gain: float = 1.0) -> dict[str, np.ndarray]:
    """This package's network outputs for a clip, cached on disk: activations (float16),
    decoded f0 and periodicity (voicing=None) and frame levels (dB)."""
    import torch

    import crepe_transforms.functional as CF
    from crepe_transforms import CrepePitch
    from crepe_transforms.functional._voicing_model import frame_levels

    audio = clip.audio * np.float32(gain)
    digest = hashlib.sha1(audio.tobytes()).hexdigest()[:12]
    path = CACHE / "outputs" / f"{clip.name}-{digest}-{capacity}.npz"
    if path.exists():
        with np.load(path) as data:
            return dict(data)
    key = (clip.sample_rate, capacity)
    if key not in _MODELS:
        _MODELS[key] = CrepePitch(clip.sample_rate, capacity)
    model = _MODELS[key]
    assert isinstance(model, CrepePitch)
    x = torch.from_numpy(audio)[None]
    with torch.no_grad():
        activation = model.activations(x)
        f0, periodicity = model.decode.decode(activation, None)
        audio_16k = model.frames.prepare(x).audio_16k
        centres = CF.frame_centers(f0.shape[-1], model.frames.hop_length, clip.sample_rate)
        level = frame_levels(CF.extract_frames(audio_16k, centres))
    out = {
        "activation": activation[0].numpy().astype(np.float16),
        "f0": f0[0].numpy(),
        "periodicity": periodicity[0].numpy(),
        "level": level[0].numpy(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path.with_suffix(".tmp.npz"), **out)
    path.with_suffix(".tmp.npz").replace(path)
    return out


def _precompute(splits: tuple[str, ...], capacities: tuple[str, ...]) -> None:
    import time

    for capacity in capacities:
        for split in splits:
            start = time.time()
            clips = make_corpus(split)
            for clip in clips:
                network_outputs(clip, capacity)
            print(
                f"{capacity} {split}: {len(clips)} clips in {time.time() - start:.0f} s", flush=True
            )


def frame_truth(clip: Clip, frames: int) -> np.ndarray:
    """The clip's reference for ``frames`` network frames (extra frames: don't care)."""
    truth = np.full(frames, -1, dtype=np.int8)
    n = min(frames, len(clip.truth))
    truth[:n] = clip.truth[:n]
    return truth


# ----------------------------------------------------------------------------- report

DOC = Path(__file__).resolve().parents[1] / "docs" / "voicing.md"
START, END = "<!-- voicing-speech:start -->", "<!-- voicing-speech:end -->"
RECALL = 0.97
#: Stream agreement is measured on every STREAM_EVERY-th clip of the split (one push per
#: frame is slow: a decision per push).
STREAM_EVERY = 5
BASELINE_COMMIT = "4db0739"  # 0.2's voicing="auto", loaded from git for its row


def _baseline_rule():  # type: ignore[no-untyped-def]
    """0.2's ``decide_voicing``, read from git (``BASELINE_COMMIT``) for comparison."""
    import importlib.util

    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "show", f"{BASELINE_COMMIT}:crepe_transforms/functional/_voicing_model.py"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    source = source.replace("from .._checks", "from crepe_transforms._checks")
    source = source.replace("from ..constants", "from crepe_transforms.constants")
    source = source.replace("from ..exceptions", "from crepe_transforms.exceptions")
    source = source.replace("from ._framing", "from crepe_transforms.functional._framing")
    path = CACHE / "voicing_0_2.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("voicing_0_2", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.decide_voicing


def pesto_outputs(clip: Clip) -> np.ndarray:
    """PESTO's confidence at this package's frame centres (10 ms), cached."""
    digest = hashlib.sha1(clip.audio.tobytes()).hexdigest()[:12]
    path = CACHE / "pesto" / f"{clip.name}-{digest}.npy"
    if path.exists():
        return np.load(path)
    import pesto
    import torch

    x = torch.from_numpy(clip.audio)
    with torch.no_grad():
        times, _, confidence, _ = pesto.predict(x, clip.sample_rate, step_size=10.0)
    times_ms = np.asarray(times, dtype=np.float64).reshape(-1)
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    n = len(clip.truth)
    centres = np.arange(n) * 10.0
    out = np.interp(centres, times_ms, conf)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def swift_outputs(clip: Clip) -> tuple[np.ndarray, np.ndarray]:
    """swift-f0's confidence and its own decision (confidence >= 0.5, its documented rule)
    at this package's frame centres (nearest of its 16 ms frames), cached."""
    digest = hashlib.sha1(clip.audio.tobytes()).hexdigest()[:12]
    path = CACHE / "swift" / f"{clip.name}-{digest}.npy"
    if not path.exists():
        from swift_f0 import SwiftF0

        if "swift" not in _PEERS:
            _PEERS["swift"] = SwiftF0(threads=1, spin=False)
        result = _PEERS["swift"].detect(clip.audio, clip.sample_rate)  # type: ignore[attr-defined]
        confidence = _at_centres(np.asarray(result.timestamps), result.confidence, len(clip.truth))
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, confidence)
    confidence = np.load(path)
    return confidence, confidence >= 0.5


def fcpe_outputs(clip: Clip) -> tuple[np.ndarray, np.ndarray]:
    """torchfcpe's confidence (the peak of its latent) and its own decision (what
    ``infer()`` with its defaults leaves voiced: confidence > 0.006 and f0 >= 80 Hz), at this
    package's frame centres (its hop is 10 ms at 16 kHz), cached."""
    digest = hashlib.sha1(clip.audio.tobytes()).hexdigest()[:12]
    path = CACHE / "fcpe" / f"{clip.name}-{digest}.npz"
    if not path.exists():
        import torch
        from torchfcpe import spawn_bundled_infer_model

        if "fcpe" not in _PEERS:
            _PEERS["fcpe"] = spawn_bundled_infer_model(device="cpu")
        bundle = _PEERS["fcpe"]
        wav = torch.from_numpy(clip.audio)[None, :, None]
        with torch.no_grad():
            mel = bundle.wav2mel(wav, clip.sample_rate)  # type: ignore[attr-defined]
            latent = bundle.model.forward(mel)  # type: ignore[attr-defined]
            cents = bundle.model.latent2cents_local_decoder(latent, threshold=0.006)  # type: ignore[attr-defined]
            f0 = bundle.model.cent_to_f0(cents)  # type: ignore[attr-defined]
        hop_s = bundle.get_hop_size_ms() / 1000  # type: ignore[attr-defined]
        conf = latent.max(dim=-1).values[0].numpy().astype(np.float64)
        times = np.arange(len(conf)) * hop_s
        n = len(clip.truth)
        voiced = _at_centres(times, (f0[0, :, 0].numpy() >= 80.0).astype(np.float64), n) > 0.5
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, confidence=_at_centres(times, conf, n), voiced=voiced)
    with np.load(path) as data:
        return data["confidence"], data["voiced"]


_PEERS: dict[str, object] = {}


def _at_centres(times_s: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """``values`` at times ``times_s`` taken at this package's 10 ms frame centres (nearest)."""
    centres = np.arange(n) * HOP_S
    index = np.clip(np.searchsorted(times_s, centres), 1, max(1, len(times_s) - 1))
    nearer_left = np.abs(centres - times_s[index - 1]) <= np.abs(times_s[index] - centres)
    chosen = np.where(nearer_left, index - 1, index) if len(times_s) > 1 else np.zeros(n, int)
    return np.asarray(values, dtype=np.float64)[chosen]


class Tally:
    def __init__(self) -> None:
        self.scores: list[np.ndarray] = []
        self.truths: list[np.ndarray] = []
        self.decisions: list[np.ndarray] = []

    def add(self, truth: np.ndarray, decision: np.ndarray | None, score: np.ndarray | None) -> None:
        keep = truth >= 0
        self.truths.append(truth[keep] == 1)
        if decision is not None:
            self.decisions.append(decision[keep])
        if score is not None:
            self.scores.append(score[keep])

    def row(self) -> tuple[int, int, str, str, str]:
        truth = np.concatenate(self.truths)
        voiced, unvoiced = int(truth.sum()), int((~truth).sum())
        recall = alarm = at = "–"
        if self.decisions:
            d = np.concatenate(self.decisions)
            recall = f"{100 * d[truth].mean():.1f} %"
            alarm = f"{100 * d[~truth].mean():.1f} %"
        if self.scores:
            s = np.concatenate(self.scores)
            bound = np.quantile(s[truth], 1 - RECALL)  # keeps RECALL of the voiced frames
            at = f"{100 * (s[~truth] >= bound).mean():.1f} %"
        return voiced, unvoiced, recall, alarm, at


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def _groups(clip: Clip) -> list[str]:
    if clip.condition in ("dry", "room"):
        return [f"{clip.condition}, {clip.utterance.gender}", clip.condition]
    return [clip.condition]


def report(splits: tuple[str, ...], capacities: tuple[str, ...], peers: tuple[str, ...]) -> str:
    import torch

    from crepe_transforms.functional._voicing_model import (
        decide_voicing,
        load_head,
        voicing_probability,
    )

    old_rule = _baseline_rule()
    order = [
        "dry, male",
        "dry, female",
        "room, male",
        "room, female",
        "room",
        "quiet",
        "snr20",
        "snr10",
        "all",
    ]
    lines = [
        "| split | condition | capacity | method | voiced | unvoiced | recall | false alarm "
        "| FA at 97 % recall |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    threshold = load_head().threshold
    for split in splits:
        clips = make_corpus(split)
        tallies: dict[tuple[str, str, str], Tally] = {}

        def tally(
            group: str,
            capacity: str,
            method: str,
            into: dict[tuple[str, str, str], Tally] = tallies,
        ) -> Tally:
            return into.setdefault((group, capacity, method), Tally())

        for clip in clips:
            for capacity in capacities:
                out = network_outputs(clip, capacity)
                truth = frame_truth(clip, len(out["level"]))
                p = torch.from_numpy(out["periodicity"])[None]
                level = torch.from_numpy(out["level"])[None]
                valid = torch.ones_like(p, dtype=torch.bool)
                new = decide_voicing(p, level)[0].numpy()
                prob = voicing_probability(p.double(), level.double(), valid)[0].numpy()
                old = old_rule(p, level)[0].numpy()
                per = out["periodicity"]
                for group in [*_groups(clip), "all"]:
                    tally(
                        group,
                        capacity,
                        f'**`voicing="auto"` (0.3, head, threshold {threshold:g})**',
                    ).add(truth, new, prob)
                    tally(group, capacity, '0.2 `voicing="auto"` (floor gate + hysteresis)').add(
                        truth, old, None
                    )
                    tally(group, capacity, "periodicity ≥ 0.21 (torchcrepe's threshold)").add(
                        truth, per >= 0.21, per
                    )
            if split in peers:
                conf = pesto_outputs(clip)
                truth = clip.truth
                swift, swift_voiced = swift_outputs(clip)
                fcpe, fcpe_voiced = fcpe_outputs(clip)
                for group in [*_groups(clip), "all"]:
                    tally(group, "–", f"PESTO {_version('pesto-pitch')} confidence ≥ 0.5").add(
                        truth, conf >= 0.5, conf
                    )
                    tally(group, "–", f"swift-f0 {_version('swift-f0')} confidence ≥ 0.5").add(
                        truth, swift_voiced, swift
                    )
                    tally(group, "–", f"torchfcpe {_version('torchfcpe')} `infer()` defaults").add(
                        truth, fcpe_voiced, fcpe
                    )
        methods: list[tuple[str, str]] = []
        for _, capacity, method in tallies:
            if (capacity, method) not in methods:
                methods.append((capacity, method))
        for group in order:
            for capacity, method in methods:
                if (group, capacity, method) not in tallies:
                    continue
                voiced, unvoiced, recall, alarm, at = tallies[group, capacity, method].row()
                lines.append(
                    f"| {split} | {group} | {capacity} | {method} | {voiced} | {unvoiced} | "
                    f"{recall} | {alarm} | {at} |"
                )
    return "\n".join(lines)


def invariance(split: str, capacity: str) -> str:
    """Share of decisions that change when the input is scaled by 0.1 and 10 (network re-run)."""
    import torch

    from crepe_transforms.functional._voicing_model import decide_voicing

    changed = {0.1: [0, 0], 10.0: [0, 0]}
    for clip in make_corpus(split, ("dry", "room")):
        base = network_outputs(clip, capacity)
        ref = decide_voicing(torch.from_numpy(base["periodicity"]), torch.from_numpy(base["level"]))
        for gain in changed:
            out = network_outputs(clip, capacity, gain)
            d = decide_voicing(torch.from_numpy(out["periodicity"]), torch.from_numpy(out["level"]))
            changed[gain][0] += int((d != ref).sum())
            changed[gain][1] += d.numel()
    return (
        f"| {capacity} | {split} (dry and room) | "
        + " | ".join(f"{100 * c / n:.2f} % of {n}" for c, n in changed.values())
        + " |"
    )


def room_tails(split: str = "test") -> str:
    """Where the rooms' false alarms of ``voicing="auto"`` lie: frames since the last frame
    the dry utterance's reference calls voiced (the 32 ms either side of a voicing boundary
    are not scored, so the first scored unvoiced frame is about 7 frames after it)."""
    import torch

    from crepe_transforms.functional._voicing_model import decide_voicing

    spans = ((0, 10), (10, 15), (15, 25), (25, 50), (50, None))
    rows = []
    for capacity in ("tiny", "full"):
        since_all: list[np.ndarray] = []
        unvoiced = 0
        for clip in make_corpus(split, ("room",)):
            out = network_outputs(clip, capacity)
            voiced = decide_voicing(
                torch.from_numpy(out["periodicity"]), torch.from_numpy(out["level"])
            ).numpy()
            truth = frame_truth(clip, len(voiced))
            index = np.arange(len(truth))
            last = np.maximum.accumulate(np.where(truth == 1, index, -(10**6)))
            alarm = (truth == 0) & voiced
            unvoiced += int((truth == 0).sum())
            since_all.append((index - last)[alarm])
        since = np.concatenate(since_all)
        cells = [f"{int(((since >= a) & (since < (b or 10**9))).sum())}" for a, b in spans]
        rows.append(
            f"| {capacity} | {len(since)} of {unvoiced} ({100 * len(since) / unvoiced:.1f} %) | "
            + " | ".join(cells)
            + " |"
        )
    head = " | ".join(f"{a}–{b - 1}" if b else f"≥ {a}" for a, b in spans)
    return (
        f"Rooms' false alarms ({split} split) by frames since the reference's last voiced "
        f"frame:\n\n| capacity | false alarms | {head} |\n|---|---:|"
        + "---:|" * len(spans)
        + "\n"
        + "\n".join(rows)
    )


def stream_agreement(split: str, capacity: str, lookaheads: tuple[int, ...]) -> str:
    """Agreement of ``CrepeStream(voicing="auto", lookahead=L)``'s decisions with the offline
    ones, per L: the stream's decision step (``transforms._stream_voicing.advance``, what the
    stream calls) fed the clip's frames one push per frame. The network part of a stream
    equals the offline activations to float rounding (``tests/test_stream.py``), so this
    isolates what the look-ahead changes."""
    import torch

    from crepe_transforms.functional._voicing_model import decide_voicing
    from crepe_transforms.transforms._stream_voicing import AutoState, advance

    cells = []
    for lookahead in lookaheads:
        same = total = 0
        for clip in make_corpus(split)[::STREAM_EVERY]:
            out = network_outputs(clip, capacity)
            p = torch.from_numpy(out["periodicity"])[None]
            level = torch.from_numpy(out["level"])[None]
            offline = decide_voicing(p, level)[0]
            state, parts = AutoState.empty(p), []
            for k in range(p.shape[-1]):
                sl = slice(k, k + 1)
                state, f0, _ = advance(state, p[:, sl], p[:, sl], level[:, sl], lookahead, False)
                parts.append(f0)
            state, f0, _ = advance(state, p[:, :0], p[:, :0], level[:, :0], lookahead, True)
            parts.append(f0)
            streamed = ~torch.cat(parts, dim=-1)[0].isnan()
            same += int((streamed == offline).sum())
            total += offline.numel()
        cells.append(f"{100 * same / total:.2f} %")
    head = " | ".join(f"L = {n} ({10 * n} ms)" for n in lookaheads)
    rule = "---:|" * len(lookaheads)
    return (
        f"| look-ahead | {head} |\n|---|{rule}\n"
        f"| {capacity}, {split} split, all conditions | {' | '.join(cells)} |"
    )


COST_RESULTS = Path(__file__).resolve().parent / "results" / "voicing_cost.md"


def cost(seconds: float = 30.0, repeats: int = 7) -> str:
    """CPU time of the ``voicing="auto"`` decision against tiny's end to end, side by side.

    One thread (``torch.set_num_threads(1)``), CPU time of this process
    (``time.process_time``), the three measurements interleaved ``repeats`` times, medians:

    - ``CrepePitch(rate, "tiny", voicing=None)`` on ``seconds`` of test-split speech (at the
      synthesiser's rate: resampling is part of end to end);
    - the same with ``voicing="auto"`` (levels kept block by block, then the head);
    - what ``voicing="auto"`` adds, in parts: ``frame_levels`` of the frames (cut already,
      as the blocks are) and ``decide_voicing`` (features, perceptron, threshold).
    """
    import time

    import torch

    import crepe_transforms.functional as CF
    from crepe_transforms import CrepePitch
    from crepe_transforms.functional._voicing_model import decide_voicing, frame_levels

    torch.set_num_threads(1)
    parts, total, rate = [], 0, 0
    for utterance in utterances("test"):
        clip = condition(utterance, "room")
        rate = rate or clip.sample_rate
        if clip.sample_rate == rate:
            parts.append(clip.audio)
            total += len(clip.audio)
        if total >= seconds * rate:
            break
    audio = torch.from_numpy(np.concatenate(parts)[: int(seconds * rate)])[None]
    plain = CrepePitch(rate, "tiny", voicing=None)
    auto = CrepePitch(rate, "tiny", voicing="auto")
    with torch.inference_mode():
        periodicity = plain(audio).periodicity
        centres = CF.frame_centers(periodicity.shape[-1], plain.frames.hop_length, rate)

        frames = CF.extract_frames(plain.frames.prepare(audio).audio_16k, centres)
        levels = frame_levels(frames)
        runs: dict[str, Callable[[], object]] = {
            "tiny end to end, voicing=None": lambda: plain(audio),
            'tiny end to end, voicing="auto"': lambda: auto(audio),
            "levels of the cut frames (frame_levels)": lambda: frame_levels(frames),
            "the head (decide_voicing: features, perceptron, threshold)": lambda: decide_voicing(
                periodicity, levels
            ),
        }
        for run in runs.values():  # warm-up
            run()
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(repeats):
            for name, run in runs.items():
                start = time.process_time()
                run()
                times[name].append(time.process_time() - start)
    median = {name: float(np.median(values)) for name, values in times.items()}
    base = median["tiny end to end, voicing=None"]
    lines = [
        f'CPU time of `voicing="auto"` against tiny end to end: {seconds:g} s of '
        f"{rate / 1000:g} kHz test-split speech (espeak-ng, room condition), one thread, "
        f"median of {repeats} interleaved runs "
        "(`python benchmarks/voicing_speech.py cost`).",
        "",
        "| what | CPU time (median) | fastest – slowest run | share of tiny end to end "
        "(voicing=None) |",
        "|---|---:|---:|---:|",
    ]
    for name, value in median.items():
        low, high = min(times[name]), max(times[name])
        lines.append(
            f"| {name} | {1000 * value:.1f} ms | {1000 * low:.1f} – {1000 * high:.1f} ms | "
            f"{100 * value / base:.1f} % |"
        )
    parts = sum(v for k, v in median.items() if not k.startswith("tiny end to end"))
    ends = [k for k in median if k.startswith("tiny end to end")]
    difference = median[ends[1]] - median[ends[0]]
    spread = max(max(times[k]) - min(times[k]) for k in ends)
    lines += [
        "",
        f'What `voicing="auto"` adds (levels + head): **{100 * parts / base:.1f} %** of tiny end '
        f"to end. The end-to-end rows differ by {100 * difference / base:+.1f} % "
        + (
            "(less than their run-to-run spread: noise)."
            if abs(difference) < spread
            else "(more than their run-to-run spread)."
        ),
    ]
    return "\n".join(lines)


def write_doc(text: str) -> None:
    doc = DOC.read_text()
    if START not in doc:
        raise SystemExit(f"{DOC} has no {START} marker")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{text}\n{END}{tail}")


def main_report() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Voicing on TTS speech (writes docs/voicing.md)")
    parser.add_argument("--splits", default="dev,test,flite")
    parser.add_argument("--capacities", default="tiny,full")
    parser.add_argument(
        "--peers",
        default="test",
        help="splits to run PESTO, swift-f0 and torchfcpe on ('' : none; slow here)",
    )
    parser.add_argument("--invariance", default="test", help="split for the gain check ('' : skip)")
    parser.add_argument("--stream", default="", help="split for stream agreement (slow) ('': skip)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    capacities = tuple(args.capacities.split(","))
    text = report(tuple(args.splits.split(",")), capacities, tuple(args.peers.split(",")))
    if args.invariance:
        rows = [invariance(args.invariance, "tiny")]
        text += (
            "\n\nLevel invariance: share of decisions that change when the input is scaled "
            "(the network re-run on the scaled audio).\n\n| capacity | material | changed at ×0.1 "
            "| changed at ×10 |\n|---|---|---:|---:|\n" + "\n".join(rows)
        )
    if args.stream:
        text += (
            '\n\nStream agreement: share of frames where `CrepeStream(voicing="auto", '
            'lookahead=L)` decides as the offline `voicing="auto"` (tiny, one push per '
            f"frame, every {STREAM_EVERY}th clip of the split, all conditions).\n\n"
            + stream_agreement(args.stream, "tiny", (1, 2, 4, 7, 10, 13))
        )
    print(text)
    if not args.no_write:
        write_doc(text)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["corpus"]:
        main()
    elif sys.argv[1:2] == ["tails"]:
        print(room_tails())
    elif sys.argv[1:2] == ["cost"]:
        result = cost()
        print(result)
        COST_RESULTS.write_text(result + "\n")
    else:
        main_report()
