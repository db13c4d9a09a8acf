"""Machine description, FLOP counts and the markdown/plot writer of ``benchmarks/speed.py``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crepe_transforms import CrepeActivation
from crepe_transforms.constants import CLASSIFIER_POSITIONS, KERNEL_SIZES, N_BINS, channels


@dataclass(frozen=True)
class Row:
    section: str  # "network", "end to end" or "decoder"
    capacity: str
    name: str
    fps: float  # frames per second
    device: str


def network_flops(capacity: str) -> dict[str, float]:
    """FLOPs per frame (2 per multiply-add): direct convolution, and the matrix products the fft
    path executes (its FFTs add about 10 % more, memory-bound, not counted)."""
    chans = channels(capacity)
    length, c_in, direct = 256, 1, 0.0
    for c_out, k in zip(chans, KERNEL_SIZES, strict=True):
        direct += 2 * c_out * c_in * k * length
        c_in, length = c_out, length // 2
    classifier = 2 * CLASSIFIER_POSITIONS * chans[-1] * N_BINS
    spectral = CrepeActivation(capacity, pretrained=False).network.spectral_weights()
    executed = float(classifier)
    for block in spectral.blocks:
        executed += 8 * block.spectrum.numel()  # one complex multiply-add per element a frame
    return {"direct": direct + classifier, "fft": executed}


def _ratio_base(row: Row, rows: list[Row]) -> float | None:
    """Frames/s of the torchcrepe row this row is compared with (same decoder end to end)."""
    same = [
        r
        for r in rows
        if (r.section, r.capacity, r.device) == (row.section, row.capacity, row.device)
    ]
    if row.section in ("end to end", "decoder"):
        decoder = "weighted_argmax" if "weighted_argmax" in row.name else "viterbi"
        same = [r for r in same if decoder in r.name]
    base = [r.fps for r in same if r.name.startswith("torchcrepe")]
    return base[0] if base else None


def _network_table(
    rows: list[Row], flops: dict[str, dict[str, float]], peaks: dict[str, float]
) -> list[str]:
    out = [
        "| capacity | configuration | frames/s | s / 1000 frames | × torchcrepe | "
        "effective GFLOP/s | executed GFLOP/s | executed / peak of its type |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        base = _ratio_base(r, rows) or r.fps
        f = flops[r.capacity]
        executed = f["fft"] if " fft " in f" {r.name} " else f["direct"]
        reduced = "bf16" in r.name or "fp16" in r.name
        peak = peaks["bf16" if reduced else "fp32"]
        out.append(
            f"| {r.capacity} | {r.name} | {r.fps:.1f} | {1000 / r.fps:.2f} | {r.fps / base:.2f}× | "
            f"{f['direct'] * r.fps / 1e9:.0f} | {executed * r.fps / 1e9:.0f} | "
            f"{executed * r.fps / 1e9 / peak:.0%} |"
        )
    return out


def _simple_table(rows: list[Row], label: str, unit: str = "s") -> list[str]:
    scale = 1000.0 if unit == "s" else 1e6
    out = [
        f"| capacity | {label} | frames/s | {unit} / 1000 frames | × torchcrepe |",
        "|---|---|---:|---:|---:|",
    ]
    for r in rows:
        base = _ratio_base(r, rows) or r.fps
        out.append(
            f"| {r.capacity} | {r.name} | {r.fps:.1f} | {scale / r.fps:.3f} | {r.fps / base:.2f}× |"
        )
    return out


def _find(rows: list[Row], section: str, capacity: str, name: str) -> Row | None:
    hits = [r for r in rows if (r.section, r.capacity, r.name) == (section, capacity, name)]
    return hits[0] if hits else None


DECODERS = (("weighted_argmax", "torchcrepe weighted_argmax"), ("viterbi", "torchcrepe viterbi"))


def _e2e_ratios(
    rows: list[Row], capacity: str, precision: str, base_capacity: str
) -> list[tuple[str, float]]:
    """Our end-to-end frames/s over torchcrepe's (fp32, ``base_capacity``), decoder by decoder."""
    out = []
    for decoder, base_name in DECODERS:
        base = [r for r in rows if r.section == "end to end" and r.capacity == base_capacity]
        base = [r for r in base if r.name.startswith(base_name)]
        ours = _find(rows, "end to end", capacity, f"crepe_transforms {decoder} {precision}")
        if base and ours:
            out.append((decoder, ours.fps / base[0].fps))
    return out


def _row(target: str, measured: str, ok: bool) -> str:
    return f"| {target} | {measured} | {'yes' if ok else '**no**'} |"


def _summary(rows: list[Row], accuracy: dict, parity: dict, bf16_units: bool) -> list[str]:
    out = ["| target (issue 11) | measured | met |", "|---|---|---|"]
    # bf16 speed is a target only where the CPU multiplies bf16 (elsewhere it is emulated).
    targets = [("full", "fp32", 20.0), ("tiny", "fp32", 12.0)]
    for capacity, precision, bar in targets + ([("full", "bf16", 20.0)] if bf16_units else []):
        ratios = _e2e_ratios(rows, capacity, precision, "tiny" if capacity == "tiny" else "full")
        if ratios:
            text = ", ".join(f"{x:.1f}× ({d})" for d, x in ratios)
            against = "torchcrepe full fp32" if capacity == "full" else "torchcrepe tiny"
            target = f"{capacity} {precision} end to end ≥ {bar:.0f}× {against} (idle)"
            out.append(_row(target, text, min(x for _, x in ratios) >= bar))
    for capacity, scores in accuracy.items():
        if "bf16" in scores:
            delta = scores["bf16"] - scores["fp32"]
            measured = f"{scores['fp32']:.2f} → {scores['bf16']:.2f} ({delta:+.2f})"
            target = f"{capacity} bf16 raw pitch accuracy within 0.2 points of fp32"
            out.append(_row(target, measured, abs(delta) <= 0.2))
    for capacity, paths in parity.items():
        mx, mean = paths["fft fp32"]
        target = f"{capacity} fp32 (default fft path) parity max < 1e-5, mean < 1e-7"
        out.append(_row(target, f"{mx:.1e} / {mean:.1e}", mx < 1e-5 and mean < 1e-7))
        worst = max(v[0] for k, v in paths.items() if "bf16" in k)
        target = f"{capacity} bf16 (every path) max abs Δ < 3e-2 on the fixture frames"
        out.append(_row(target, f"{worst:.1e}", worst < 3e-2))
    return out


def _accuracy_table(accuracy: dict[str, dict[str, float]]) -> list[str]:
    columns = next(iter(accuracy.values()), {})
    out = ["| capacity | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for capacity, scores in accuracy.items():
        out.append(f"| {capacity} | " + " | ".join(f"{v:.2f}" for v in scores.values()) + " |")
    return out


def _plot(rows: list[Row], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    shown = [r for r in rows if r.section in ("network", "end to end") and r.device == "cpu"]
    fig, ax = plt.subplots(figsize=(10, 0.3 * len(shown) + 1.2))
    short = {"network": "network", "end to end": "e2e"}
    labels = [f"{short[r.section]}: {r.capacity} {r.name}" for r in shown]
    colours = ["tab:grey" if r.name.startswith("torchcrepe") else "tab:blue" for r in shown]
    ax.barh(range(len(shown)), [r.fps for r in shown], color=colours)
    ax.set_yticks(range(len(shown)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("frames per second (log scale; grey: torchcrepe 0.0.24)")
    ax.set_title("CREPE on the CPU, same audio, same threads, one run")
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return True


#: Sections of docs/performance.md written by other scripts, kept when the report is rewritten:
#: name → (what fills it, the text until it is filled).
SECTIONS = {
    "side-by-side": "python benchmarks/speed.py --contention",
    "before-after": "python benchmarks/before_after.py --before <0.1 checkout>",
    "streaming": "python benchmarks/stream_speed.py",
    "gpu": "python benchmarks/gpu.py (on a CUDA machine)",
}


def kept_sections(path: Path) -> dict[str, str]:
    """The text between each ``<!-- name:begin -->`` / ``<!-- name:end -->`` pair of ``path``."""
    text = path.read_text() if path.is_file() else ""
    out = {}
    for name in SECTIONS:
        begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
        if begin in text and end in text.split(begin, 1)[1]:
            out[name] = text.split(begin, 1)[1].split(end, 1)[0].strip()
    return out


def section(name: str, kept: dict[str, str]) -> list[str]:
    """A marked section: what an earlier run wrote there, or a note naming the command."""
    body = kept.get(name) or f"Not measured yet: run `{SECTIONS[name]}`."
    return [f"<!-- {name}:begin -->", body, f"<!-- {name}:end -->"]


def replace_section(path: Path, name: str, body: str) -> None:
    """Put ``body`` between the markers of section ``name`` of ``path`` (which must exist)."""
    text = path.read_text()
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in text:
        raise SystemExit(f"{path} has no {begin} section: run benchmarks/speed.py once first")
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    path.write_text(f"{head}{begin}\n{body.strip()}\n{end}{tail}")


def write_report(
    out: Path,
    command: str,
    info: dict[str, Any],
    rows: list[Row],
    memory: dict[str, dict[str, float]],
    accuracy: dict[str, dict[str, float]],
    parity: dict[str, dict[str, tuple[float, float]]],
    flops: dict[str, dict[str, float]],
    gpu: dict[str, Any] | None,
    viterbi: str,
) -> None:
    cpu_rows = [r for r in rows if r.device == "cpu"]
    plotted = _plot(cpu_rows, out.with_suffix(".png"))
    kept = kept_sections(out)
    lines = [
        "# Performance",
        "",
        "Produced by `benchmarks/speed.py`; do not edit by hand. Reproduce with",
        "",
        "```bash",
        command.strip(),
        "```",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores (AVX-512 BF16: "
        f"{'yes' if info['avx512_bf16'] else 'no'}), torch {info['torch']}, Python "
        f"{info['python']}, {info['threads']} torch threads for both packages, "
        f"`OMP_WAIT_POLICY` {info['OMP_WAIT_POLICY']}, {info['date']}. "
        f"Load average before / after the run: {' '.join(f'{x:.2f}' for x in info['load before'])}"
        f" / {' '.join(f'{x:.2f}' for x in info['load after'])} (the machine is shared; "
        "configurations are interleaved repeat by repeat and the best repeat is kept, so both "
        "packages see the same load). Measured matrix-product peak (torch.matmul, best of "
        f"{info.get('peak sizes', '2048³-4096³')}, start and end of the run): "
        f"fp32 {info['peak fp32']:.0f} GFLOP/s, bf16 {info['peak bf16']:.0f} GFLOP/s, complex64 "
        f"{info['peak complex64']:.0f} GFLOP/s (real FLOPs).",
        "",
        "## Summary",
        "",
        *_summary(rows, accuracy, parity, bool(info["avx512_bf16"])),
        "",
    ]
    if plotted:
        lines += [f"![frames per second]({out.with_suffix('.png').name})", ""]
    lines += [
        "## Network only (CPU)",
        "",
        "The 1001 fixture frames (tiled to the requested count) through torchcrepe's model "
        "(batches of 128, `torch.no_grad`) and "
        "`CrepeActivation(capacity, algorithm=…, precision=…)` (default chunk of 128 frames). "
        "Effective GFLOP/s counts the direct convolution's FLOPs "
        f"(full {flops.get('full', {}).get('direct', 0) / 1e9:.2f} GFLOP a frame); executed "
        "GFLOP/s counts what the path really multiplies (fft: the per-bin complex products, "
        f"full {flops.get('full', {}).get('fft', 0) / 1e6:.0f} MFLOP a frame), against the fp32 "
        "peak above (oneDNN's AVX-512 JIT convolutions can outrun `torch.matmul`, i.e. MKL, on "
        "this AMD CPU: a fraction above 100 % means that).",
        "",
        *_network_table(
            [r for r in cpu_rows if r.section == "network"],
            flops,
            {"fp32": info["peak fp32"], "bf16": info["peak bf16"]},
        ),
        "",
        "## End to end (CPU)",
        "",
        "Synthetic 16 kHz melody (no resampling on either side), 10 ms hop: "
        "`torchcrepe.predict(audio, 16000, 160, model=…, decoder=…, batch_size=128)` against "
        "`CrepePitch(16000, capacity, decoder=…)` (frames, network, decoding). Each row is "
        "compared with torchcrepe using the same decoder.",
        "",
        *_simple_table([r for r in cpu_rows if r.section == "end to end"], "configuration"),
        "",
        "## Decoders alone (CPU)",
        "",
        "The tiny network's activations of the fixture frames, tiled ×10; each row is compared "
        "with torchcrepe's decoder of the same kind.",
        "",
        *_simple_table([r for r in cpu_rows if r.section == "decoder"], "decoder", "ms"),
        "",
        "### Viterbi against librosa (`benchmarks/viterbi_speed.py`)",
        "",
        viterbi.strip(),
        "",
        "## Side by side, idle and with one core busy",
        "",
        "Written by `python benchmarks/speed.py --contention` (kept when the rest of this page "
        "is rewritten). On the CPU, 0.2 spreads chunks of frames over worker threads with one "
        "intra-op thread each (`crepe_transforms/model/_parallel.py`) instead of running every "
        "operator on all threads: there is no barrier inside a chunk, so no thread spins while "
        "another has lost its core, and a busy machine costs a share of a core, not the whole "
        "run. (0.1 needed `OMP_WAIT_POLICY=PASSIVE` for that; 0.2 needs no environment "
        "variable.)",
        "",
        *section("side-by-side", kept),
        "",
        "### Before and after the 0.2 renovation",
        "",
        *section("before-after", kept),
        "",
        "## Peak memory (CPU, end to end)",
        "",
        "Extra peak resident memory of one end-to-end call after a warm-up call (fresh process "
        "per row; weights already loaded).",
        "",
        "| capacity | configuration | extra peak MB |",
        "|---|---|---:|",
    ]
    for capacity, by in memory.items():
        lines += [f"| {capacity} | {who} | {mb:.0f} |" for who, mb in by.items()]
    lines += [
        "",
        "## Accuracy cost of reduced precision",
        "",
        "Raw pitch accuracy (% of frames within 50 cents) of `CrepePitch(…, "
        "decoder='weighted_argmax')` on 96 synthetic harmonic tones (48 pitches 50-1500 Hz with "
        "vibrato, at 20 dB and at 0 dB SNR, 1 s each), and how far each reduced precision moves "
        "the pitch from fp32's on the same frames. `benchmarks/accuracy.py` is the full "
        "accuracy benchmark (fp32). On a CPU without bf16 units (bf16 products emulated, "
        "~40× slower) every 4th tone is scored (24 tones).",
        "",
        *_accuracy_table(accuracy),
    ]
    lines += [
        "",
        "## Parity with the original CREPE (fixtures)",
        "",
        "`frames-crepe.npy` through every path against `activation-{capacity}.npy` (Keras). "
        "The bar for exact paths is max < 1e-5, mean < 1e-7.",
        "",
        "| capacity | path | max abs diff | mean abs diff |",
        "|---|---|---:|---:|",
    ]
    for capacity, paths in parity.items():
        lines += [
            f"| {capacity} | {p} | {mx:.2e} | {mean:.2e} |" for p, (mx, mean) in paths.items()
        ]
    lines += ["", "## Streaming", "", *section("streaming", kept)]
    lines += ["", "## GPU", ""]
    if gpu is None:
        lines += section("gpu", kept)
    else:
        lines += [
            f"{gpu['name']}: peak fp32 {gpu['peak fp32']:.0f} GFLOP/s, bf16 "
            f"{gpu['peak bf16']:.0f} GFLOP/s (8192³). Network only, 8 × the CPU frame count.",
            "",
            *_network_table(
                gpu["rows"], flops, {"fp32": gpu["peak fp32"], "bf16": gpu["peak bf16"]}
            ),
            "",
            *_accuracy_table(gpu["accuracy"]),
            "",
            "| capacity | path | max abs diff | mean abs diff |",
            "|---|---|---:|---:|",
        ]
        for capacity, paths in gpu["parity"].items():
            lines += [
                f"| {capacity} | {p} | {mx:.2e} | {mean:.2e} |" for p, (mx, mean) in paths.items()
            ]
    here = Path(__file__).with_name("performance_notes.md")
    if here.is_file():
        lines += ["", here.read_text().strip()]
    out.write_text("\n".join(lines) + "\n")
