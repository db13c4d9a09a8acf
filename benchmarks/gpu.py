"""GPU measurements in one run (≤ 5 minutes on a CUDA device): writes the GPU section of
``docs/performance.md`` (between ``<!-- gpu:begin -->`` and ``<!-- gpu:end -->``).

What it measures, per capacity (tiny, full):

- network frames/s of ``CrepeActivation`` for every algorithm (fft, direct) × precision (fp32,
  bf16, fp16) at several chunk sizes, with peak GPU memory;
- the direct path compiled with ``torch.compile`` (``mode="max-autotune-no-cudagraphs"`` and
  ``"reduce-overhead"``, which captures CUDA graphs), where it compiles;
- end to end frames/s of ``CrepePitch`` on the GPU (16 kHz audio already on the device,
  ``weighted_argmax`` and ``viterbi``) and its real-time factor;
- Viterbi alone: the banded torch scan on the GPU against the numba kernel on the CPU;
- accuracy of each reduced precision against fp32 on the fixture frames (max |Δ|, confident
  argmax moves).

Run it on a CUDA machine::

    python benchmarks/gpu.py                  # writes docs/performance.md's GPU section
    python benchmarks/gpu.py --device cpu --quick --out /tmp/gpu.md   # smoke run anywhere

Times are the best of ``--repeats`` after a warm-up, with ``torch.cuda.synchronize()`` around
each call. The run stops adding configurations once ``--budget`` seconds have passed, so it
always finishes and reports what it measured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from signals import melody
from timing import best_time

from crepe_transforms import CrepeActivation, CrepePitch
from crepe_transforms.functional import viterbi_path
from crepe_transforms.functional._internal import (
    DEFAULT_HMM,
    log_emission,
    log_jump,
    log_transition,
)

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- gpu:begin -->", "<!-- gpu:end -->"
HOP = 160  # 10 ms at 16 kHz


class Clock:
    """Best-of timing with device synchronisation, inside a global time budget."""

    def __init__(self, device: torch.device, repeats: int, budget: float) -> None:
        self.device, self.repeats = device, repeats
        self.deadline = time.perf_counter() + budget

    @property
    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def best(self, fn: Callable[[], object]) -> float:
        """Best of ``repeats`` synchronised calls after a warm-up (kernels, autotuning)."""
        return best_time(fn, self.repeats, self.device.type)


@contextlib.contextmanager
def peak_memory(device: torch.device) -> Iterator[dict[str, float]]:
    out = {"MB": math.nan}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    yield out
    if device.type == "cuda":
        out["MB"] = torch.cuda.max_memory_allocated(device) / 2**20


def fixture_frames(fixtures: Path, count: int) -> torch.Tensor:
    frames = torch.from_numpy(np.load(fixtures / "frames-crepe.npy"))
    return frames.repeat(count // len(frames) + 1, 1)[:count].contiguous()


def network_rows(
    capacity: str, frames: torch.Tensor, clock: Clock, chunks: list[int], quick: bool
) -> list[dict[str, Any]]:
    rows = []
    device = frames.device
    precisions = ["fp32", "bf16"] + (["fp16"] if device.type == "cuda" else [])
    reference = CrepeActivation(capacity).to(device)(frames[:1001]).float()
    for algorithm in ("fft", "direct"):
        for precision in precisions:
            for chunk in chunks:
                if clock.left < 0:
                    return rows
                model = CrepeActivation(
                    capacity, chunk_size=chunk, algorithm=algorithm, precision=precision
                ).to(device)
                with torch.no_grad(), peak_memory(device) as memory:
                    seconds = clock.best(lambda m=model: m(frames))
                    out = model(frames[:1001]).float()
                error = float((out - reference).abs().max())
                confident = reference.max(-1).values >= 0.5
                moved = (out.argmax(-1) - reference.argmax(-1)).abs()[confident]
                rows.append(
                    {
                        "capacity": capacity,
                        "path": f"{algorithm} {precision}",
                        "chunk": chunk,
                        "frames/s": len(frames) / seconds,
                        "peak MB": memory["MB"],
                        "max |Δ| vs fp32": error,
                        "confident argmax moved (bins)": int(moved.max()) if moved.numel() else 0,
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
                if quick:
                    break
    return rows


def compiled_rows(
    capacity: str, frames: torch.Tensor, clock: Clock, chunk: int
) -> list[dict[str, Any]]:
    """The direct path under torch.compile (CUDA graphs with reduce-overhead)."""
    rows = []
    device = frames.device
    for precision in ("fp32", "bf16"):
        for mode in ("max-autotune-no-cudagraphs", "reduce-overhead"):
            if clock.left < 60:
                return rows
            model = CrepeActivation(capacity, algorithm="direct", precision=precision).to(device)
            network = model.network
            compiled = torch.compile(lambda x, n=network: n(x), mode=mode, dynamic=False)
            parts = list(torch.split(frames, chunk))
            if parts[-1].shape[0] != chunk:
                parts = parts[:-1]

            def run(parts: list[torch.Tensor] = parts, fn: Any = compiled) -> None:
                for part in parts:
                    fn(part)

            try:
                with torch.no_grad():
                    seconds = clock.best(run)
            except Exception as exc:  # a backend that fails on this device: report, go on
                rows.append(
                    {
                        "capacity": capacity,
                        "path": f"direct {precision} {mode}",
                        "error": f"{type(exc).__name__}: {str(exc)[:120]}",
                    }
                )
                continue
            rows.append(
                {
                    "capacity": capacity,
                    "path": f"direct {precision} compiled ({mode})",
                    "chunk": chunk,
                    "frames/s": chunk * len(parts) / seconds,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def end_to_end_rows(
    capacity: str, audio: torch.Tensor, clock: Clock, chunk: int, precision: str
) -> list[dict[str, Any]]:
    rows = []
    seconds_audio = audio.shape[-1] / 16000
    for decoder in ("weighted_argmax", "viterbi"):
        if clock.left < 0:
            return rows
        pitch = CrepePitch(
            16000,
            capacity,
            decoder=decoder,
            chunk_size=chunk,
            precision=precision,
            algorithm="direct" if audio.device.type == "cuda" else "fft",
        ).to(audio.device)
        with peak_memory(audio.device) as memory:
            seconds = clock.best(lambda p=pitch: p(audio))
        frames = 1 + audio.shape[-1] // HOP
        rows.append(
            {
                "capacity": capacity,
                "decoder": decoder,
                "precision": precision,
                "chunk": chunk,
                "frames/s": frames / seconds,
                "× real time": seconds_audio / seconds,
                "peak MB": memory["MB"],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def viterbi_rows(device: torch.device, clock: Clock, frames: int) -> list[dict[str, Any]]:
    generator = torch.Generator().manual_seed(0)
    activation = torch.rand(8, frames, 360, generator=generator) ** 4
    emission = log_emission(activation, DEFAULT_HMM)
    table = log_transition(360, DEFAULT_HMM)
    jump = log_jump(360, DEFAULT_HMM)
    cpu = clock.best(lambda: viterbi_path(emission, table, jump, backend="numba"))
    on_device = emission.to(device)
    table_device = table.to(device)
    gpu = clock.best(lambda: viterbi_path(on_device, table_device, jump, backend="torch"))
    same = torch.equal(
        viterbi_path(emission, table, jump, backend="numba"),
        viterbi_path(on_device, table_device, jump, backend="torch").cpu(),
    )
    return [
        {
            "items × frames": f"8 × {frames}",
            "numba (CPU) frames/s": 8 * frames / cpu,
            f"torch scan ({device.type}) frames/s": 8 * frames / gpu,
            "same path": same,
        }
    ]


def table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(none measured)\n"
    keys = list(dict.fromkeys(k for row in rows for k in row))

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return (
                "n/a" if math.isnan(value) else (f"{value:.3g}" if value < 100 else f"{value:,.0f}")
            )
        return str(value)

    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(row.get(k, "")) for k in keys) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render(results: dict[str, Any]) -> str:
    info = results["info"]
    parts = [
        f"Measured by `{results['command']}` on {info['device']} ({info['torch']}, "
        f"{info['date']}). Best of {info['repeats']} after a warm-up, synchronised.",
        "",
        "### Network (fixture frames)",
        "",
        table(results["network"]),
        "### Network, direct path under torch.compile",
        "",
        table(results["compiled"]),
        "### End to end (`CrepePitch`, 16 kHz audio on the device)",
        "",
        table(results["end_to_end"]),
        "### Viterbi",
        "",
        table(results["viterbi"]),
    ]
    return "\n".join(parts)


def write_section(path: Path, text: str) -> None:
    doc = path.read_text() if path.exists() else f"# Performance\n\n## GPU\n\n{BEGIN}\n{END}\n"
    if BEGIN not in doc:
        doc = doc.rstrip() + f"\n\n## GPU\n\n{BEGIN}\n{END}\n"
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--capacities", nargs="+", default=["tiny", "full"])
    parser.add_argument("--frames", type=int, default=16384, help="network-only frames")
    parser.add_argument("--seconds", type=float, default=60.0, help="end-to-end audio")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=float, default=270.0, help="seconds for everything")
    parser.add_argument("--quick", action="store_true", help="smoke run: few frames, one chunk")
    parser.add_argument("--fixtures", type=Path, default=ROOT.parent / "shared" / "fixtures")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --device cpu --quick for a smoke run")
    if args.quick:
        args.frames, args.seconds, args.repeats = 256, 2.0, 1
    clock = Clock(device, args.repeats, args.budget)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    info = {
        "device": name,
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "repeats": args.repeats,
    }
    chunks = [128] if args.quick else [256, 1024, 4096]
    frames = fixture_frames(args.fixtures, args.frames).to(device)
    audio = melody(args.seconds).to(device)
    results: dict[str, Any] = {"command": "python benchmarks/gpu.py", "info": info}
    results.update(network=[], compiled=[], end_to_end=[], viterbi=[])
    for capacity in args.capacities:
        results["network"] += network_rows(capacity, frames, clock, chunks, args.quick)
    best_chunk = chunks[-1]
    for capacity in args.capacities:
        for precision in ("fp32", "bf16"):
            results["end_to_end"] += end_to_end_rows(capacity, audio, clock, best_chunk, precision)
    results["viterbi"] = viterbi_rows(device, clock, 500 if args.quick else 6000)
    if device.type == "cuda" and not args.quick:
        for capacity in args.capacities:
            results["compiled"] += compiled_rows(capacity, frames, clock, best_chunk)
    args.out.with_name("performance_gpu.json").write_text(json.dumps(results, indent=1) + "\n")
    write_section(args.out, render(results))
    print(render(results))


if __name__ == "__main__":
    main()
