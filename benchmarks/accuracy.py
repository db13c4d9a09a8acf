"""Accuracy benchmark on a synthetic corpus with known f0 (writes docs/accuracy.md + plot).

The corpus is generated here, deterministically: harmonic tones with vibrato, exponential
glides, note steps with large intervals, notes separated by digital silence or noise bursts,
pink noise at several SNRs, input rates 8-48 kHz, f0 50 Hz-1.9 kHz. Two groups:

- main: natural 1/k harmonic spectra (the project's ``tone`` convention);
- hard: varied timbres, amplitudes k**-0.5 ... k**-2 and odd-harmonic-only (clarinet-like)
  tones, reported separately: tiny mistakes low bright tones for a harmonic there.

Scoring: a frame is *voiced* when its whole 64 ms window (1024 samples at 16 kHz) lies in one
note (no voicing boundary or note step inside), *unvoiced* when the whole window is unvoiced;
other frames are ambiguous and only enter RPA_all. RPA / RCA: raw pitch / chroma accuracy
(50 cents) on voiced frames; voicing recall / false alarm at periodicity >= 0.5 for every method.

Methods: this package's decoders on the same activations, ``CrepePitch(sr, capacity)`` end to
end, and torchcrepe 0.0.24 ``predict`` with its defaults (Viterbi, fmin 50 Hz) and with
``decoder=weighted_argmax`` (one network pass serves both: a wrapper records weighted_argmax on
the very probabilities predict decodes). torchcrepe frames are scored at their actual centres
(its hop is truncated to whole 16 kHz samples and drifts at 11.025/22.05/44.1 kHz), which
favours it.

    python benchmarks/accuracy.py --sweep    # 75 s of audio + the Viterbi sweep: 16 min on the
                                             # shared 2-core dev machine (torchcrepe full: 10)
    python benchmarks/accuracy.py --small --capacities tiny   # 20 s of audio: under a minute
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from accuracy_corpus import (
    GROUPS,
    KINDS,
    SNRS,
    VOICING_THRESHOLD,
    Clip,
    Scores,
    cents_error,
    frame_truth,
    make_corpus,
    silence_tone_clip,
    snr_name,
)

from crepe_transforms import HMM, CrepePitch, Pitch
from crepe_transforms.functional import decode, weighted_argmax
from crepe_transforms.functional._internal import CREPE_HMM

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- methods


def our_activation(clip: Clip, capacity: str) -> tuple[torch.Tensor, np.ndarray]:
    """Activations from CrepePitch's own submodules, and the frame centres in seconds."""
    model = _pitch_model(clip.sample_rate, capacity)
    audio = torch.from_numpy(clip.audio)
    with torch.inference_mode():
        activation = model.activation(model.frames(audio))
    hop = model.frames.hop_length
    centres = np.arange(activation.shape[-2]) * hop / clip.sample_rate
    return activation, centres


_MODELS: dict[tuple[int, str], CrepePitch] = {}


def _pitch_model(sample_rate: int, capacity: str) -> CrepePitch:
    key = (sample_rate, capacity)
    if key not in _MODELS:
        _MODELS[key] = CrepePitch(sample_rate, capacity)
    return _MODELS[key]


def torchcrepe_predict(clip: Clip, capacity: str) -> tuple[Pitch, Pitch, np.ndarray]:
    """torchcrepe.predict with its defaults, plus weighted_argmax on the same probabilities."""
    import torchcrepe

    recorded: dict[str, torch.Tensor] = {}

    def viterbi_recording_weighted(probabilities: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # weighted_argmax writes into its input: give it a copy.
        bins, hz = torchcrepe.decode.weighted_argmax(probabilities.clone())
        recorded["hz"] = hz
        recorded["periodicity"] = torchcrepe.core.periodicity(probabilities, bins)
        return torchcrepe.decode.viterbi(probabilities)  # type: ignore[no-any-return]

    audio = torch.from_numpy(clip.audio)[None]
    hop = clip.sample_rate // 100
    with torch.inference_mode():
        hz, periodicity = torchcrepe.predict(
            audio,
            clip.sample_rate,
            hop,
            model=capacity,
            decoder=viterbi_recording_weighted,
            return_periodicity=True,
            batch_size=None,  # one batch: its Viterbi then runs over the whole clip
        )
    hop16 = int(hop * 16000 / clip.sample_rate)  # torchcrepe's truncated hop
    centres = np.arange(hz.shape[-1]) * hop16 / 16000
    default = Pitch(hz[0], periodicity[0])
    weighted = Pitch(recorded["hz"][0], recorded["periodicity"][0])
    return default, weighted, centres


def our_decoders() -> dict[str, Callable[[torch.Tensor], Pitch]]:
    return {
        "argmax": lambda a: decode(a, "argmax"),
        "weighted_argmax": lambda a: decode(a, "weighted_argmax"),
        "viterbi (default)": lambda a: decode(a, "viterbi"),
        "viterbi (hmm='crepe')": lambda a: decode(a, "viterbi", hmm="crepe"),
    }


def sweep_configs() -> dict[str, HMM]:
    configs = {"hmm='crepe' (argmax obs, strict band)": CREPE_HMM}
    configs["argmax obs, jump=1e-3"] = dataclasses.replace(CREPE_HMM, jump=1e-3)
    for jump in (0.0, 1e-9, 1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 0.5):
        configs[f"salience floor=1e-3 jump={jump:g}"] = HMM(jump=jump, floor=1e-3)
    for floor in (1e-5, 1e-2):
        configs[f"salience floor={floor:g} jump=1e-3"] = HMM(jump=1e-3, floor=floor)
    return configs


# ----------------------------------------------------------------------------- checks


def test_wav_reference(fixtures: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference f0 of test.wav on frames that are clearly voiced.

    Clearly voiced: full-CREPE confidence >= 0.5 and librosa's YIN (an independent method)
    within 50 cents of full CREPE's local average. Stable: clearly voiced and so are both
    neighbours (not at a voicing boundary). Returns YIN's f0 and the two masks.
    """
    import librosa

    audio, sr = sf.read(fixtures / "test.wav", dtype="float64")
    yin = librosa.yin(audio, fmin=50, fmax=1000, sr=sr, frame_length=2048, hop_length=441)
    full = weighted_argmax(torch.from_numpy(np.load(fixtures / "activation-full.npy")))
    clear = (np.abs(cents_error(full.f0.numpy(), yin)) <= 50) & (full.periodicity.numpy() >= 0.5)
    stable = clear.copy()
    stable[1:-1] &= clear[:-2] & clear[2:]
    return yin, clear, stable


def collapse_checks(
    configs: dict[str, HMM], fixtures: Path, capacities: Iterable[str]
) -> dict[str, dict[str, int]]:
    """Wrong frames (> 50 cents) on test.wav and the 220 Hz tone in digital silence."""
    yin, clear, stable = test_wav_reference(fixtures)
    tone = silence_tone_clip()
    out: dict[str, dict[str, int]] = {name: {} for name in configs}
    for capacity in capacities:
        fixture = torch.from_numpy(np.load(fixtures / f"activation-{capacity}.npy"))
        tone_act, centres = our_activation(tone, capacity)
        truth, voiced, _ = frame_truth(tone, centres)
        for name, hmm in configs.items():
            wav = decode(fixture, "viterbi", hmm=hmm).f0.numpy()
            wrong_wav = np.abs(cents_error(wav, yin)) > 50
            out[name][f"test.wav {capacity}"] = int(wrong_wav[stable].sum())
            out[name][f"test.wav clear {capacity}"] = int(wrong_wav[clear].sum())
            hz = decode(tone_act, "viterbi", hmm=hmm).f0.numpy()
            wrong = np.abs(cents_error(hz[voiced], truth[voiced])) > 50
            out[name][f"tone {capacity}"] = int(wrong.sum())
    out["(frames checked)"] = {
        **{f"test.wav {c}": int(stable.sum()) for c in capacities},
        **{f"test.wav clear {c}": int(clear.sum()) for c in capacities},
        **{f"tone {c}": int(frame_truth(tone, centres)[1].sum()) for c in capacities},
    }
    return out


# ----------------------------------------------------------------------------- report


def _table(rows: dict[str, dict[str, float]], columns: list[str], digits: int = 4) -> str:
    lines = ["| method | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for name, row in rows.items():
        cells = [
            f"{row[c]:.{digits}f}" if isinstance(row.get(c), float) else str(row.get(c, ""))
            for c in columns
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _plot(rows: dict[str, dict[str, float]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    names = list(rows)
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(names) + 1.2))
    y = np.arange(len(names))
    ax.barh(y + 0.2, [rows[n]["RPA"] for n in names], 0.4, label="RPA")
    ax.barh(y - 0.2, [rows[n]["RCA"] for n in names], 0.4, label="RCA")
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    low = min(min(rows[n]["RPA"] for n in names), 0.9)
    ax.set_xlim(max(0.0, low - 0.02), 1.0)
    ax.axvline(0.99, color="k", lw=0.6, ls="--")
    ax.set_xlabel("accuracy on voiced frames (50 cents)")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def evaluate(corpus: list[Clip], args: argparse.Namespace) -> tuple[dict, dict, dict]:
    """Scores per (group, method), the activations (for the sweep) and timings."""
    rows: dict[tuple[str, str], Scores] = {}
    acts: dict[tuple[str, str], tuple[torch.Tensor, np.ndarray]] = {}
    timings: dict[str, float] = {}

    def add(method: str, clip: Clip, pitch: Pitch, centres: np.ndarray) -> None:
        rows.setdefault((clip.group, method), Scores()).add(clip, pitch, centres)

    for capacity in args.capacities:
        start = time.perf_counter()
        for clip in corpus:
            acts[(capacity, clip.name)] = our_activation(clip, capacity)
        timings[f"crepe_transforms {capacity}: network"] = time.perf_counter() - start
        for name, fn in our_decoders().items():
            for clip in corpus:
                activation, centres = acts[(capacity, clip.name)]
                add(f"{name} · {capacity}", clip, fn(activation), centres)
        if capacity == "tiny":  # the must-show row, end to end with nothing pre-computed
            start = time.perf_counter()
            for clip in corpus:
                with torch.inference_mode():
                    pitch = _pitch_model(clip.sample_rate, "tiny")(torch.from_numpy(clip.audio))
                add("CrepePitch(sr, 'tiny') default", clip, pitch, acts[("tiny", clip.name)][1])
            timings["CrepePitch(sr, 'tiny') end to end"] = time.perf_counter() - start
        if not args.no_torchcrepe:
            start = time.perf_counter()
            for clip in corpus:
                default, weighted, centres = torchcrepe_predict(clip, capacity)
                add(f"torchcrepe predict() defaults · {capacity}", clip, default, centres)
                add(f"torchcrepe weighted_argmax · {capacity}", clip, weighted, centres)
            timings[f"torchcrepe {capacity}: network + both decoders"] = time.perf_counter() - start
    return rows, acts, timings


def run(args: argparse.Namespace) -> str:
    corpus = make_corpus(args.small)
    seconds = {
        g: round(sum(len(c.audio) / c.sample_rate for c in corpus if c.group == g), 1)
        for g in GROUPS
    }
    print(f"corpus: {len(corpus)} clips, seconds of audio per group: {seconds}")
    rows, acts, timings = evaluate(corpus, args)
    main = {m: s for (g, m), s in rows.items() if g == "main"}
    summary = {m: s.summary() for m, s in main.items()}
    hard = {m: s.summary() for (g, m), s in rows.items() if g == "hard"}
    columns = ["RPA", "RCA", "recall", "false_alarm", "RPA_all"]
    main_table = _table(summary, columns)
    print(main_table)
    main_clips = [c for c in corpus if c.group == "main"]
    report = [
        "# Accuracy on a synthetic corpus with known f0",
        "",
        f"Generated by `python benchmarks/accuracy.py{' --small' if args.small else ''}"
        f"{' --sweep' if args.sweep else ''}`; corpus and scoring rules are in the script's "
        "docstring. Main corpus: "
        f"{len(main_clips)} clips, {seconds['main']:.1f} s, rates "
        f"{sorted({c.sample_rate for c in main_clips})} Hz, pink-noise SNRs "
        f"{sorted({snr_name(c.snr_db) for c in main_clips})}, "
        f"{int(summary[next(iter(summary))]['frames'])} scored voiced frames.",
        "",
        "RPA / RCA: raw pitch / chroma accuracy (50 cents) on voiced frames. Recall / false "
        f"alarm: periodicity >= {VOICING_THRESHOLD} on voiced / unvoiced frames. RPA_all: RPA on "
        "every frame whose centre is voiced, including windows that straddle a note change or "
        "a voicing boundary (how fast a decoder follows a change).",
        "",
        main_table,
        "",
        "## Main corpus: RPA by signal kind",
        "",
        _table({m: s.by_kind() for m, s in main.items()}, list(KINDS)),
        "",
        "## Main corpus: RPA by pink-noise SNR (gaps_silence clips are always clean)",
        "",
        _table({m: s.by_snr() for m, s in main.items()}, [snr_name(v) for v in SNRS]),
        "",
        f"## Hard timbres ({seconds['hard']:.1f} s: spectral tilt k^-0.5 to k^-2, odd harmonics)",
        "",
        _table(hard, columns),
        "",
        "## Timings (this machine: 2 shared CPU cores)",
        "",
        "\n".join(f"- {k}: {v:.1f} s" for k, v in timings.items()),
    ]
    plot = args.out.with_suffix(".png")
    if _plot(summary, plot):
        report[2:2] = [f"![RPA and RCA per method, main corpus]({plot.name})", ""]
    if args.sweep:
        report += ["", sweep_report(main_clips, acts, args)]
    return "\n".join(report) + "\n"


def sweep_report(
    corpus: list[Clip],
    acts: dict[tuple[str, str], tuple[torch.Tensor, np.ndarray]],
    args: argparse.Namespace,
) -> str:
    configs = sweep_configs()
    results: dict[str, dict[str, float]] = {name: {} for name in configs}
    for capacity in args.capacities:
        for name, hmm in configs.items():
            scores = Scores()
            for clip in corpus:
                activation, centres = acts[(capacity, clip.name)]
                scores.add(clip, decode(activation, "viterbi", hmm=hmm), centres)
            summary = scores.summary()
            results[name][f"RPA {capacity}"] = summary["RPA"]
            results[name][f"RPA_all {capacity}"] = summary["RPA_all"]
    for name, row in collapse_checks(configs, args.fixtures, args.capacities).items():
        results.setdefault(name, {}).update(row)
    columns = [f"{k} {c}" for k in ("RPA", "RPA_all") for c in args.capacities]
    columns += [f"{k} {c}" for k in ("tone", "test.wav", "test.wav clear") for c in args.capacities]
    text = _table(results, columns)
    print(text)
    legend = (
        "RPA / RPA_all on the main corpus. tone: wrong frames (> 50 cents) of a 220 Hz tone "
        "between stretches of digital silence. test.wav: wrong frames against YIN on the "
        "stable clearly voiced frames; test.wav clear: including frames next to a voicing "
        "boundary. Last row: frames checked."
    )
    return "## Viterbi configurations (sweep)\n\n" + legend + "\n\n" + text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="20 s corpus instead of 75 s")
    parser.add_argument("--capacities", nargs="+", default=["tiny", "full"])
    parser.add_argument("--no-torchcrepe", action="store_true", help="skip torchcrepe rows")
    parser.add_argument("--sweep", action="store_true", help="compare Viterbi configurations")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "accuracy.md")
    parser.add_argument("--fixtures", type=Path, default=ROOT / ".." / "shared" / "fixtures")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    text = run(args)
    args.out.write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
