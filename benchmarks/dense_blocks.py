"""Blocks 3-6 as one dense product against their frequency-domain form, per capacity.

Each block runs alone on the same input, both forms interleaved (``timing.best_of``): the
FFT form is its forward FFT, per-bin product, inverse FFT and pooling; the dense form one
``(C_in · L, C_out · L)`` matrix product and the same pooling. The ratio decides
``_spectral.DENSE_BYTES`` (which blocks of which capacity run dense).

    python benchmarks/dense_blocks.py [--capacity tiny small medium] [--frames 1 8 64 400]
        [--threads 1] [--repeats 50]

Prints a markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses

import torch
from timing import best_of, machine_text

from crepe_transforms.constants import KERNEL_SIZES
from crepe_transforms.model import Crepe
from crepe_transforms.model import _spectral as spectral


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capacity", nargs="+", default=["tiny", "small", "medium"])
    parser.add_argument("--frames", nargs="+", type=int, default=[1, 8, 64, 400])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = [
        "| capacity | block | matrix | frames | FFT form | dense | dense speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for capacity in args.capacity:
        net = Crepe(capacity)  # random weights: the timing does not depend on their values
        weights = net.spectral_weights()
        for i in range(2, len(KERNEL_SIZES)):
            block = weights.blocks[i]
            scaled = getattr(net, f"conv{i + 1}").weight
            dense = dataclasses.replace(
                block, dense=spectral.dense_matrix(scaled, block.left, block.n_in)
            )
            size = dense.dense.numel() * 4 / 2**20 if dense.dense is not None else 0.0
            for n in args.frames:
                x = torch.randn(n, scaled.shape[1], block.n_in)
                padded = torch.nn.functional.pad(x, (0, block.n_fft - block.n_in))

                def fft(padded: torch.Tensor = padded, block: spectral.Block = block) -> None:
                    spec = spectral._spectra(padded, block).contiguous()
                    spectral._conv_from_spectra(spec, block, torch.float32, 0)

                def matrix(x: torch.Tensor = x, block: spectral.Block = dense) -> None:
                    spectral._dense_conv(x, block, 0)

                with torch.inference_mode():
                    best = best_of({"fft": fft, "dense": matrix}, args.repeats)
                rows.append(
                    f"| {capacity} | {i + 1} | {size:.2f} MB | {n} | {best['fft'] * 1e6:.0f} µs "
                    f"| {best['dense'] * 1e6:.0f} µs | {best['fft'] / best['dense']:.2f}× |"
                )
                print(rows[-1], flush=True)
    print(f"\n{args.threads} thread(s); {machine_text(args.threads)}\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
