"""Voicing benchmark on a corpus whose voicing is known by construction (writes docs/voicing.md
between its markers, and docs/voicing_roc.png).

The corpus comes from ``voicing_corpus.py`` (speech-like and music-like clips, see its
docstring); frames are scored against the truth at their own centres, ``don't care`` frames
left out. For each capacity (tiny, full) and material (speech, music):

- ``voicing="auto"``: this package's decision (``functional.auto_voicing`` on the decoder's
  periodicity and ``functional.frame_levels`` of the raw frames);
- ours, periodicity >= 0.21 and >= 0.5: a plain threshold on the same periodicity;
- torchcrepe 0.0.24, periodicity >= 0.21: its recommended threshold (``threshold.At(.21)``)
  on ``torchcrepe.predict(..., return_periodicity=True, batch_size=512)`` (defaults otherwise:
  Viterbi decoder, fmin 50 Hz);
- torchcrepe 0.0.24 recipe: its README's median filter (3 frames) on periodicity, then
  ``threshold.Silence(-60)`` and ``At(.21)``.

Reported: recall (voiced frames kept), false alarm (unvoiced frames called voiced), false
alarm at 98 % recall (each method's own score swept: the threshold for the threshold rules,
the head's probability threshold for auto), ROC curves, the level-invariance figure (% of all
frames whose decision
changes when the input is scaled by 0.1 or 10), and raw pitch accuracy (50 cents) on voiced
frames. torchcrepe frames are scored at their actual centres (its hop is truncated to whole
16 kHz samples at 22.05/44.1 kHz).

Network outputs are cached per clip (``--cache``), so a second run only re-scores.

    python benchmarks/voicing.py                       # test split, tiny + full, torchcrepe:
                                                       # about 15 min on the shared 2-core box
    python benchmarks/voicing.py --capacities tiny --no-write   # a few minutes
    python benchmarks/voicing.py --split dev --no-write         # the split the method was tuned on
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from voicing_corpus import UNVOICED, VOICED, WHAT, Clip, make_corpus

import crepe_transforms.functional as CF
from crepe_transforms import CrepeFrames, CrepePitch
from crepe_transforms.exceptions import CrepeError
from crepe_transforms.functional._voicing_model import auto_voicing, frame_levels

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "voicing.md"
PLOT = ROOT / "docs" / "voicing_roc.png"
START, END = "<!-- voicing-benchmark:start -->", "<!-- voicing-benchmark:end -->"
GAINS = (1.0, 0.1, 10.0)
TORCHCREPE_THRESHOLD = 0.21
RECALL = 0.98
SWEEP = np.round(np.arange(0.0, 1.0001, 0.005), 3)
AUTO_SWEEP = np.round(np.arange(0.02, 0.99, 0.02), 2)

Outputs = dict[str, np.ndarray]


# ----------------------------------------------------------------------------- running


def _key(clip: Clip, capacity: str, gain: float, method: str) -> str:
    digest = hashlib.sha1(clip.audio.tobytes()).hexdigest()[:12]
    return f"{clip.name}-{digest}-{capacity}-x{gain:g}-{method}.npz"


def _cached(path: Path, compute: Callable[[], Outputs]) -> Outputs:
    if path.exists():
        with np.load(path) as data:
            return dict(data)
    out = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


_MODELS: dict[tuple[int, str], CrepePitch] = {}


def _model(sample_rate: int, capacity: str) -> CrepePitch:
    if (sample_rate, capacity) not in _MODELS:
        _MODELS[sample_rate, capacity] = CrepePitch(sample_rate, capacity)
    return _MODELS[sample_rate, capacity]


_LEVELS: dict[tuple[str, float], np.ndarray] = {}


def levels(clip: Clip, gain: float) -> np.ndarray:
    """``frame_levels`` of every frame (not cached on disk: no network, and the method's)."""
    if (clip.name, gain) not in _LEVELS:
        frames = CrepeFrames(clip.sample_rate)
        audio = torch.from_numpy(clip.audio) * gain
        with torch.inference_mode():
            audio_16k = frames.prepare(audio).audio_16k
            count = 1 + len(clip.audio) // frames.hop_length
            centres = CF.frame_centers(count, frames.hop_length, clip.sample_rate)
            _LEVELS[clip.name, gain] = frame_levels(CF.extract_frames(audio_16k, centres))[
                0
            ].numpy()
    return _LEVELS[clip.name, gain]


def ours(clip: Clip, capacity: str, gain: float, cache: Path) -> Outputs:
    """f0 and periodicity of ``CrepePitch`` (voicing none), and the level of every frame."""

    def compute() -> Outputs:
        model = _model(clip.sample_rate, capacity)
        with torch.inference_mode():
            pitch = model(torch.from_numpy(clip.audio) * gain)
        return {"f0": pitch.f0.numpy(), "periodicity": pitch.periodicity.numpy()}

    out = _cached(cache / _key(clip, capacity, gain, "ours"), compute)
    return {**out, "level": levels(clip, gain)}


def torchcrepe_run(clip: Clip, capacity: str, gain: float, cache: Path) -> Outputs:
    """torchcrepe.predict (batch 512) with its default Viterbi decoder and, from the same
    network pass, decoder=weighted_argmax; the README recipe on the latter; frame centres."""

    def compute() -> Outputs:
        import torchcrepe

        recorded: dict[str, list[torch.Tensor]] = {"f0": [], "periodicity": []}

        def viterbi_recording_weighted(probabilities: torch.Tensor) -> object:
            # weighted_argmax writes into its input: give it a copy.
            bins, f0 = torchcrepe.decode.weighted_argmax(probabilities.clone())
            recorded["f0"].append(f0)
            recorded["periodicity"].append(torchcrepe.core.periodicity(probabilities, bins))
            return torchcrepe.decode.viterbi(probabilities)

        audio = torch.from_numpy(clip.audio)[None] * gain
        hop = clip.sample_rate // 100
        with torch.inference_mode():
            f0, periodicity = torchcrepe.predict(
                audio,
                clip.sample_rate,
                hop,
                model=capacity,
                decoder=viterbi_recording_weighted,
                return_periodicity=True,
                batch_size=512,
                device="cpu",
            )
            weighted = torch.cat(recorded["periodicity"], dim=1)
            recipe = torchcrepe.filter.median(weighted, 3)
            recipe = torchcrepe.threshold.Silence(-60.0)(recipe, audio, clip.sample_rate, hop)
        hop16 = int(hop * 16000 / clip.sample_rate)  # torchcrepe truncates its hop
        centres = np.arange(f0.shape[-1]) * hop16 / 16000 * clip.sample_rate
        return {
            "f0": f0[0].numpy(),
            "periodicity": periodicity[0].numpy(),
            "f0_weighted": torch.cat(recorded["f0"], dim=1)[0].numpy(),
            "periodicity_weighted": weighted[0].numpy(),
            "recipe": recipe[0].numpy(),
            "centres": centres,
        }

    return _cached(cache / _key(clip, capacity, gain, "torchcrepe2"), compute)


# ----------------------------------------------------------------------------- scoring


class Material:
    """Every clip of one material for one capacity: truth and per-method scores."""

    def __init__(self) -> None:
        self.labels: list[np.ndarray] = []
        self.what: list[np.ndarray] = []
        self.truth_f0: list[np.ndarray] = []
        self.f0: list[np.ndarray] = []
        self.f0_weighted: list[np.ndarray] = []  # torchcrepe's weighted_argmax
        self.decisions: dict[str, list[np.ndarray]] = {}
        # method -> list over sweep points -> per clip decisions
        self.sweeps: dict[str, tuple[np.ndarray, list[list[np.ndarray]]]] = {}

    def add_truth(self, labels: np.ndarray, what: np.ndarray, f0: np.ndarray) -> None:
        self.labels.append(labels)
        self.what.append(what)
        self.truth_f0.append(f0)

    def add(self, method: str, decision: np.ndarray) -> None:
        self.decisions.setdefault(method, []).append(decision)

    def add_sweep(self, method: str, points: np.ndarray, decisions: list[np.ndarray]) -> None:
        entry = self.sweeps.setdefault(method, (points, [[] for _ in points]))
        for slot, decision in zip(entry[1], decisions, strict=True):
            slot.append(decision)

    def rates(
        self, decisions: list[np.ndarray], labels: list[np.ndarray] | None = None
    ) -> tuple[float, float]:
        lab = np.concatenate(labels if labels is not None else self.labels)
        dec = np.concatenate(decisions)
        return float(dec[lab == VOICED].mean()), float(dec[lab == UNVOICED].mean())

    def roc(self, method: str, labels: list[np.ndarray] | None = None) -> np.ndarray:
        _, per_point = self.sweeps[method]
        return np.array([self.rates(d, labels) for d in per_point])  # (points, [recall, fa])

    def fa_at(self, method: str, labels: list[np.ndarray] | None = None) -> float:
        curve = self.roc(method, labels)
        ok = curve[:, 0] >= RECALL
        return float(curve[ok, 1].min()) if ok.any() else float("nan")


def _cents(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        err = 1200 * np.log2(estimate / np.where(truth > 0, truth, 1.0))
    return np.where(np.isfinite(err), np.abs(err), np.inf)


def _sweep_threshold(score: np.ndarray) -> list[np.ndarray]:
    return [score >= t for t in SWEEP]


def _auto(outputs: Outputs, threshold: float | None = None) -> np.ndarray:
    voiced = auto_voicing(
        torch.from_numpy(outputs["periodicity"]),
        torch.from_numpy(outputs["level"]),
        threshold=threshold,
    )
    return voiced.numpy()


def score(
    clips: list[Clip], capacities: list[str], cache: Path, with_torchcrepe: bool
) -> tuple[dict[tuple[str, str], Material], dict[tuple[str, str], Material], dict[str, object]]:
    """Run every method; materials for ours (at our centres) and torchcrepe (at its centres)."""
    ours_m: dict[tuple[str, str], Material] = {}
    tc_m: dict[tuple[str, str], Material] = {}
    extra: dict[str, object] = {"timings": {}, "invariance": {}, "rpa": {}}
    timings: dict[str, float] = extra["timings"]  # type: ignore[assignment]
    invariance: dict[tuple[str, str], list[float]] = extra["invariance"]  # type: ignore[assignment]
    for capacity in capacities:
        changed: dict[str, list[list[np.ndarray]]] = {}
        start = time.perf_counter()
        for clip in clips:
            base = ours(clip, capacity, 1.0, cache)
            mat = ours_m.setdefault((capacity, clip.kind), Material())
            n = len(base["f0"])
            mat.add_truth(clip.labels[:n], clip.what[:n], clip.f0[:n])
            mat.f0.append(base["f0"])
            auto = _auto(base)
            mat.add("auto", auto)
            mat.add("p21", base["periodicity"] >= TORCHCREPE_THRESHOLD)
            mat.add("p50", base["periodicity"] >= 0.5)
            mat.add_sweep("p", SWEEP, _sweep_threshold(base["periodicity"]))
            mat.add_sweep("auto", AUTO_SWEEP, [_auto(base, lo) for lo in AUTO_SWEEP])
            for gain in GAINS[1:]:
                scaled = ours(clip, capacity, gain, cache)
                for method, decide in (
                    ("auto", _auto),
                    ("p21", lambda o: o["periodicity"] >= TORCHCREPE_THRESHOLD),
                ):
                    slot = changed.setdefault(method, [[] for _ in GAINS[1:]])
                    slot[GAINS.index(gain) - 1].append(decide(scaled) != decide(base))
        timings[f"ours {capacity} (x{len(GAINS)} gains)"] = time.perf_counter() - start
        for method, per_gain in changed.items():
            invariance[capacity, method] = [float(np.concatenate(c).mean()) for c in per_gain]
        if not with_torchcrepe:
            continue
        start = time.perf_counter()
        tc_changed: list[list[np.ndarray]] = [[] for _ in GAINS[1:]]
        for clip in clips:
            run = torchcrepe_run(clip, capacity, 1.0, cache)
            mat = tc_m.setdefault((capacity, clip.kind), Material())
            labels, truth, what = clip.truth(run["centres"], clip.sample_rate // 100)
            mat.add_truth(labels, what, truth)
            mat.f0.append(run["f0"])
            mat.f0_weighted.append(run["f0_weighted"])
            mat.add("tc21", run["periodicity"] >= TORCHCREPE_THRESHOLD)
            mat.add("tcw21", run["periodicity_weighted"] >= TORCHCREPE_THRESHOLD)
            mat.add("recipe", run["recipe"] >= TORCHCREPE_THRESHOLD)
            mat.add_sweep("tc", SWEEP, _sweep_threshold(run["periodicity"]))
            mat.add_sweep("tcw", SWEEP, _sweep_threshold(run["periodicity_weighted"]))
            mat.add_sweep("recipe", SWEEP, _sweep_threshold(run["recipe"]))
            if capacity == "tiny":  # torchcrepe full at three gains would double the run
                for i, gain in enumerate(GAINS[1:]):
                    scaled = torchcrepe_run(clip, capacity, gain, cache)
                    tc_changed[i].append(
                        (scaled["recipe"] >= TORCHCREPE_THRESHOLD)
                        != (run["recipe"] >= TORCHCREPE_THRESHOLD)
                    )
        timings[f"torchcrepe {capacity}"] = time.perf_counter() - start
        if capacity == "tiny":
            invariance[capacity, "recipe"] = [float(np.concatenate(c).mean()) for c in tc_changed]
    return ours_m, tc_m, extra


def end_to_end_check(clips: list[Clip], capacity: str, cache: Path) -> str:
    """Does ``CrepePitch(voicing="auto")`` mask exactly the frames scored here?"""
    try:
        CrepePitch(16000, capacity, voicing="auto", pretrained=False)
    except (CrepeError, TypeError, ValueError):
        return 'CrepePitch(voicing="auto") is not wired yet: decisions computed from the parts.'
    same = total = 0
    for clip in clips[:: max(1, len(clips) // 6)]:
        model = CrepePitch(clip.sample_rate, capacity, voicing="auto")
        with torch.inference_mode():
            f0 = model(torch.from_numpy(clip.audio)).f0.numpy()
        expected = _auto(ours(clip, capacity, 1.0, cache))
        same += int(((~np.isnan(f0)) == expected).sum())
        total += len(expected)
    return f'CrepePitch(voicing="auto") end to end: {same}/{total} frames decided as scored here.'


# ----------------------------------------------------------------------------- report


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f} %"


def _rpa(mat: Material, decisions: list[np.ndarray] | None = None, weighted: bool = False) -> float:
    hits = []
    estimates = mat.f0_weighted if weighted else mat.f0
    for i, (lab, f0, truth) in enumerate(zip(mat.labels, estimates, mat.truth_f0, strict=True)):
        n = min(len(lab), len(f0))
        voiced = lab[:n] == VOICED
        if decisions is not None:
            voiced &= decisions[i][:n]
        hits.append(_cents(f0[:n][voiced], truth[:n][voiced]) <= 50)
    return float(np.concatenate(hits).mean())


METHODS = (
    ("ours", "auto", '`voicing="auto"` (this package)', "auto"),
    ("ours", "p21", "this package, periodicity ≥ 0.21", "p"),
    ("ours", "p50", "this package, periodicity ≥ 0.5", "p"),
    ("tc", "tc21", "torchcrepe 0.0.24 `predict()` defaults (Viterbi), periodicity ≥ 0.21", "tc"),
    ("tc", "tcw21", "torchcrepe 0.0.24 weighted_argmax, periodicity ≥ 0.21", "tcw"),
    (
        "tc",
        "recipe",
        "torchcrepe 0.0.24 weighted_argmax + README recipe: median 3, Silence(−60), At(0.21)",
        "recipe",
    ),
)


def report(
    clips: list[Clip],
    capacities: list[str],
    ours_m: dict[tuple[str, str], Material],
    tc_m: dict[tuple[str, str], Material],
    extra: dict[str, object],
    split: str,
    e2e: str,
) -> str:
    seconds = sum(len(c.audio) / c.sample_rate for c in clips)
    lines = [
        f"Corpus: `{split}` split of `benchmarks/voicing_corpus.py`, {len(clips)} clips, "
        f"{seconds:.0f} s of audio ({sum(c.kind == 'speech' for c in clips)} speech-like, "
        f"{sum(c.kind == 'music' for c in clips)} music-like), 8-48 kHz, peaks 0 to −40 dBFS. "
        f"Frames (10 ms hop) scored against the truth by construction, don't-care frames "
        f"(a voicing boundary within ±1 hop, or a voice masked by the rest of the mix) left out.",
        "",
        "| material | capacity | method | voiced frames | unvoiced frames | recall | false alarm "
        "| false alarm at 98 % recall |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for kind in ("speech", "music"):
        for capacity in capacities:
            for source, method, label, sweep in METHODS:
                table = ours_m if source == "ours" else tc_m
                mat = table.get((capacity, kind))
                if mat is None:
                    continue
                lab = np.concatenate(mat.labels)
                recall, fa = mat.rates(mat.decisions[method])
                bold = "**" if method == "auto" else ""
                lines.append(
                    f"| {kind} | {capacity} | {bold}{label}{bold} | {int((lab == VOICED).sum())} | "
                    f"{int((lab == UNVOICED).sum())} | {bold}{_pct(recall)}{bold} | "
                    f"{bold}{_pct(fa)}{bold} | {_pct(mat.fa_at(sweep))} |"
                )
    invariance: dict[tuple[str, str], list[float]] = extra["invariance"]  # type: ignore[assignment]
    lines += [
        "",
        "Level invariance: share of all frames (speech and music, don't-care included) whose "
        "decision changes when the input is scaled.",
        "",
        "| capacity | method | changed at ×0.1 | changed at ×10 |",
        "|---|---|---:|---:|",
    ]
    names = {
        "auto": '`voicing="auto"`',
        "p21": "this package, periodicity ≥ 0.21",
        "recipe": "torchcrepe recipe (absolute −60 dB Silence gate)",
    }
    for (capacity, method), values in invariance.items():
        lines.append(
            f"| {capacity} | {names[method]} | {100 * values[0]:.2f} % | {100 * values[1]:.2f} % |"
        )
    lines += [
        "",
        "Raw pitch accuracy (within 50 cents) on voiced frames: `voicing` only masks frames, "
        "so the f0 of every frame it keeps is the f0 of `voicing=None`.",
        "",
        "| material | capacity | this package, all voiced frames | this package, frames auto "
        "keeps | torchcrepe 0.0.24 Viterbi (default) | torchcrepe 0.0.24 weighted_argmax |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for kind in ("speech", "music"):
        for capacity in capacities:
            mat = ours_m[capacity, kind]
            tc = tc_m.get((capacity, kind))
            lines.append(
                f"| {kind} | {capacity} | {_pct(_rpa(mat))} | "
                f"{_pct(_rpa(mat, mat.decisions['auto']))} | "
                f"{_pct(_rpa(tc)) if tc else 'n/a'} | "
                f"{_pct(_rpa(tc, weighted=True)) if tc else 'n/a'} |"
            )
    lines += [
        "",
        "False alarms on speech-like material by what the unvoiced frame holds:",
        "",
        "| unvoiced frames | count | "
        + " | ".join(f"auto, {c} | p ≥ 0.21, {c}" for c in capacities)
        + " |",
        "|---|---:|" + "---:|" * (2 * len(capacities)),
    ]
    for i, name in enumerate(WHAT):
        if i == 0:
            continue
        first = ours_m[capacities[0], "speech"]
        what = np.concatenate(first.what)
        lab = np.concatenate(first.labels)
        sel = (lab == UNVOICED) & (what == i)
        if not sel.any():
            continue
        cells = []
        for capacity in capacities:
            mat = ours_m[capacity, "speech"]
            for method in ("auto", "p21"):
                cells.append(_pct(float(np.concatenate(mat.decisions[method])[sel].mean())))
        lines.append(f"| {name} | {int(sel.sum())} | " + " | ".join(cells) + " |")
    timings: dict[str, float] = extra["timings"]  # type: ignore[assignment]
    lines += [
        "",
        e2e,
        "",
        "Run times of this run on the shared 2-core development machine (network outputs "
        "cached by an earlier run are read, not computed): "
        + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
        + ".",
    ]
    return "\n".join(lines)


def plot(
    capacities: list[str],
    ours_m: dict[tuple[str, str], Material],
    tc_m: dict[tuple[str, str], Material],
    path: Path,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(capacities), figsize=(5.5 * len(capacities), 9), squeeze=False)
    styles = {
        "auto": ("C3", '"auto" (sweeping the head\'s threshold)'),
        "p": ("C0", "this package, periodicity threshold"),
        "tcw": ("C1", "torchcrepe weighted_argmax, periodicity threshold"),
        "recipe": ("C2", "torchcrepe weighted_argmax + recipe (median, Silence −60 dB)"),
    }
    for row, kind in enumerate(("speech", "music")):
        for col, capacity in enumerate(capacities):
            ax = axes[row][col]
            for table in (ours_m, tc_m):
                mat = table.get((capacity, kind))
                if mat is None:
                    continue
                for method in mat.sweeps:
                    if method == "tc":  # predict()'s Viterbi collapses: no curve to speak of
                        continue
                    curve = mat.roc(method)
                    color, label = styles[method]
                    best = float(curve[1:, 0].max()) if len(curve) > 1 else 1.0
                    if best < 0.9:  # every threshold above 0 loses most voiced frames
                        label += f" (recall ≤ {100 * best:.0f} %: off the chart)"
                    ax.plot(100 * curve[:, 1], 100 * curve[:, 0], color=color, label=label)
                for method, marker, style in (
                    ("auto", "o", "auto"),
                    ("p21", "s", "p"),
                    ("tcw21", "^", "tcw"),
                    ("recipe", "v", "recipe"),
                ):
                    if method in mat.decisions:
                        recall, fa = mat.rates(mat.decisions[method])
                        color = styles[style][0]
                        ax.plot(100 * fa, 100 * recall, marker, color=color, ms=8, mfc="none")
            ax.axhline(100 * RECALL, color="0.6", lw=0.8, ls="--")
            ax.set_xlim(0, 40 if kind == "speech" else 15)
            ax.set_ylim(90, 100.2)
            ax.set_xlabel("false alarm (% of unvoiced frames)")
            ax.set_ylabel("recall (% of voiced frames)")
            ax.set_title(f"{kind}-like, {capacity}")
            ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8)
    fig.suptitle("Voicing ROC (markers: default operating points; dashed: 98 % recall)")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=90)


def write_doc(table: str) -> None:
    text = DOC.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{DOC} has no {START} … {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{table}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("dev", "test"), default="test")
    parser.add_argument("--capacities", nargs="+", default=["tiny", "full"])
    parser.add_argument("--no-torchcrepe", action="store_true", help="skip torchcrepe rows")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/crepe_transforms_voicing"))
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs alone")
    args = parser.parse_args()
    torch.manual_seed(0)
    clips = make_corpus(args.split)
    ours_m, tc_m, extra = score(clips, args.capacities, args.cache, not args.no_torchcrepe)
    e2e = end_to_end_check(clips, args.capacities[0], args.cache)
    table = report(clips, args.capacities, ours_m, tc_m, extra, args.split, e2e)
    print(table)
    if not args.no_write:
        write_doc(table)
        plot(args.capacities, ours_m, tc_m, PLOT)
        print(f"wrote {DOC} and {PLOT}")


if __name__ == "__main__":
    main()
