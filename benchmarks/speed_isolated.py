"""Measurements of ``benchmarks/speed.py`` that need a fresh process each: peak memory and
``benchmarks/viterbi_speed.py``."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


MEMORY_CHILD = r"""
import gc, json, resource, sys, torch
sys.path.insert(0, sys.argv[4])
from signals import melody
torch.set_num_threads(int(sys.argv[3]))
who, capacity = sys.argv[1], sys.argv[2]
audio = melody(float(sys.argv[5]))
if who == "torchcrepe":
    import torchcrepe
    run = lambda a: torchcrepe.predict(a[None], 16000, 160, model=capacity, batch_size=128)
else:
    from crepe_transforms import CrepePitch
    _, algorithm, precision = who.split()
    run = CrepePitch(16000, capacity, algorithm=algorithm, precision=precision)
run(audio[:16000])  # weights, derived weights, kernels and allocator pools in place
gc.collect()

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
try:  # reset the peak (VmHWM) to the current resident size (Linux)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status("VmRSS:")
    run(audio)
    extra = status("VmHWM:") - before
except OSError:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    run(audio)
    extra = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
print(json.dumps({"mb": extra}))
"""
MEMORY_ROWS = ("torchcrepe", "crepe_transforms fft fp32", "crepe_transforms direct fp32")
MEMORY_ROWS += ("crepe_transforms fft bf16",)


def peak_memory(capacity: str, threads: int, seconds: float) -> dict[str, float]:
    out = {}
    for who in MEMORY_ROWS:
        args = [MEMORY_CHILD, who, capacity, str(threads), str(ROOT / "benchmarks"), str(seconds)]
        res = subprocess.run([sys.executable, "-c", *args], capture_output=True, text=True)
        if res.returncode == 0:
            out[who] = json.loads(res.stdout.strip().splitlines()[-1])["mb"]
        else:
            print(f"memory measurement for {who} failed:\n{res.stderr[-2000:]}", file=sys.stderr)
    return out


WAIT_CHILD = r"""
import json, sys, numpy as np, torch
sys.path.insert(0, sys.argv[1])
from speed import best_of, in_batches, torchcrepe_model
from crepe_transforms import CrepeActivation
torch.set_num_threads(int(sys.argv[2]))
frames = torch.from_numpy(np.load(sys.argv[3]))[:256].contiguous()
out = {}
for capacity in sys.argv[4:]:
    tc, act = torchcrepe_model(capacity), CrepeActivation(capacity)
    fns = {"torchcrepe": in_batches(tc, frames), "crepe_transforms": lambda: act(frames)}
    warm = {"torchcrepe": in_batches(tc, frames[:32]), "crepe_transforms": lambda: act(frames[:32])}
    out[capacity] = {k: len(frames) / v for k, v in best_of(fns, 2, "cpu", warm).items()}
print(json.dumps(out))
"""


def viterbi_table(threads: int) -> str:
    """The table of ``benchmarks/viterbi_speed.py``, run in a fresh process."""
    script = ROOT / "benchmarks" / "viterbi_speed.py"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "viterbi.md"
        res = subprocess.run(
            [sys.executable, str(script), "--threads", str(threads), "--out", str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode != 0:
            return f"benchmarks/viterbi_speed.py failed:\n\n```\n{res.stderr[-1500:]}\n```"
        return out.read_text()
