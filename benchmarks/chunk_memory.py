"""Peak extra memory of CrepeActivation per chunk size (the number behind DEFAULT_CHUNK_SIZE).

Each measurement runs in a fresh subprocess: weights and input are allocated first, then the
peak resident set size (ru_maxrss) is read before and after one forward pass.

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
torch.set_num_threads(2)
capacity, chunk = sys.argv[1], int(sys.argv[2])
act = CrepeActivation(capacity, chunk_size=chunk, pretrained=False)
frames = torch.randn(4 * chunk, 1024)
with torch.inference_mode():
    act(frames[:8])  # warm up allocator and kernels on a small batch
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    act(frames)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"capacity": capacity, "chunk": chunk, "extra_mb": (after - before) / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--capacities", nargs="+", default=["tiny", "full"])
    parser.add_argument("--chunks", nargs="+", type=int, default=[32, 128, 512])
    args = parser.parse_args()
    print("| capacity | chunk_size | peak extra MB | MB per frame |")
    print("|---|---:|---:|---:|")
    for capacity in args.capacities:
        for chunk in args.chunks:
            out = subprocess.run(
                [sys.executable, "-c", CHILD, capacity, str(chunk)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            row = json.loads(out.strip().splitlines()[-1])
            mb = row["extra_mb"]
            print(f"| {capacity} | {chunk} | {mb:.0f} | {mb / chunk:.2f} |")


if __name__ == "__main__":
    main()
