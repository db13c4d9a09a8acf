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
- ``snr20`` / ``snr10``: pink noise added at 20 / 10 dB below the speech's active RMS.

A frame (10 ms hop, centred) is scored only when Praat gives one state over its whole 64 ms
window; the others are "don't care".

    python benchmarks/voicing_speech.py corpus        # synthesise the corpus (cached), print sizes
    python benchmarks/voicing_speech.py               # docs/voicing.md's tables (tiny, full,
                                                      # PESTO on test); outputs cached in /tmp
    python benchmarks/voicing_speech.py --capacities tiny --no-write --invariance test
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
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
    elif name == "room":
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


def utterances(split: str, per_voice: int = 5) -> list[Utterance]:
    """The split's utterances: ``per_voice`` sentences for each voice (deterministic)."""
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
                for group in [*_groups(clip), "all"]:
                    tally(group, "–", "PESTO 2.0.1 confidence ≥ 0.5").add(truth, conf >= 0.5, conf)
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
        "--peers", default="test", help="splits to run PESTO on ('' : none; it is slow here)"
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
    else:
        main_report()
