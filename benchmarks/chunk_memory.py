"""Peak extra memory of CrepeActivation per chunk size (the number behind DEFAULT_CHUNK_SIZE).

Each measurement runs in a fresh subprocess: weights and input are allocated first, then the
peak resident set size (ru_maxrss) is read before and after one forward pass of four chunks.
On the CPU, ``torch.get_num_threads()`` worker threads each run one chunk at a time
(model/_parallel.py), so that many chunks are in flight: the per-frame figure divides by them.

    python benchmarks/chunk_memory.py [--capacities tiny full] [--chunks 32 128 512]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, torch
from crepe_transforms import CrepeActivation
from crepe_transforms.model._parallel import worker_count
torch.set_num_threads(int(sys.argv[3]))
capacity, chunk = sys.argv[1], int(sys.argv[2])
act = CrepeActivation(capacity, chunk_size=chunk, pretrained=False)
frames = torch.randn(4 * chunk, 1024)
with torch.inference_mode():
    act(frames[:8])  # warm up allocator and kernels on a small batch
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    act(frames)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
in_flight = max(1, worker_count(4, torch.device("cpu")))
print(json.dumps({"extra_mb": (after - before) / 1024, "in_flight": in_flight}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--capacities", nargs="+", default=["tiny", "full"])
    parser.add_argument("--chunks", nargs="+", type=int, default=[32, 128, 512])
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    args = parser.parse_args()
    print("| capacity | chunk_size | chunks in flight | peak extra MB | MB per frame |")
    print("|---|---:|---:|---:|---:|")
    for capacity in args.capacities:
        for chunk in args.chunks:
            out = subprocess.run(
                [sys.executable, "-c", CHILD, capacity, str(chunk), str(args.threads)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            row = json.loads(out.strip().splitlines()[-1])
            mb, in_flight = row["extra_mb"], row["in_flight"]
            per_frame = mb / (chunk * in_flight)
            print(f"| {capacity} | {chunk} | {in_flight} | {mb:.0f} | {per_frame:.2f} |")


if __name__ == "__main__":
    main()
