"""Inputs and the set of outputs compared by tests/test_determinism.py.

Importable by a fresh ``python`` child (``sys.path`` gets this folder), which prints the
sha256 of every output so two processes can be compared bit for bit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import sys

import torch

from crepe_transforms import (
    CrepeActivation,
    CrepeDecode,
    CrepeEmbedding,
    CrepeFrames,
    CrepeLoudness,
    CrepePitch,
    Pitch,
)
from crepe_transforms.constants import DECODERS
from crepe_transforms.transforms import DEFAULT_BLOCK_FRAMES, DEFAULT_CHUNK_SIZE

RATES = (16000, 44100)
ALGORITHMS = ("fft", "direct")


def signal(sr: int, seconds: float = 2.0, seed: int = 0) -> torch.Tensor:
    """A glide 220 → 440 Hz (5 harmonics), steady, then 0.5 s of digital silence, plus noise."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(round(seconds * sr), dtype=torch.float64) / sr
    f0 = 220.0 * 2.0 ** t.clamp(max=1.0)
    phase = 2 * math.pi * torch.cumsum(f0, 0) / sr
    x = 0.3 * sum(torch.sin(k * phase) / k for k in range(1, 6))
    x = torch.as_tensor(x) + 0.01 * torch.randn(len(t), generator=g, dtype=torch.float64)
    x[(t > 1.2) & (t < 1.7)] = 0.0
    return x.float()


def pitch_tensor(pitch: Pitch) -> torch.Tensor:
    """``(2, ..., frames)``: f0 and periodicity stacked."""
    return torch.stack([pitch.f0, pitch.periodicity])


@functools.cache
def activation(chunk_size: int, algorithm: str) -> CrepeActivation:
    """One network per configuration, reused (its FFT weights are built once)."""
    return CrepeActivation("tiny", chunk_size, algorithm=algorithm)


@functools.cache
def pitch_model(sr: int, chunk_size: int, block_frames: int) -> CrepePitch:
    model = CrepePitch(sr, "tiny", chunk_size=chunk_size)
    model.block_frames = block_frames
    model.activation = activation(chunk_size, "fft")
    return model


@functools.cache
def decoder(method: str) -> CrepeDecode:
    return CrepeDecode(method)


@functools.cache
def embedding_model(sr: int, chunk_size: int) -> CrepeEmbedding:
    model = CrepeEmbedding(sr, "tiny", chunk_size=chunk_size)
    model.activation = activation(chunk_size, "fft")
    return model


def outputs(
    sr: int,
    x: torch.Tensor,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    block_frames: int = DEFAULT_BLOCK_FRAMES,
    lengths: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Every transform on ``x`` with real ``tiny`` weights: frames, activation (fft, direct),
    pitch (each decoder), loudness, embedding.

    ``CrepePitch(decoder=m)(x)`` is ``CrepeDecode(m)(pitch.activations(x), frame lengths)``
    (its forward, voicing off); the three decoders share that one block-wise network pass.
    test_determinism checks the shortcut against CrepePitch's forward bit for bit.
    """
    out: dict[str, torch.Tensor] = {}
    with torch.inference_mode():
        frames = CrepeFrames(sr)(x, lengths)
        out["frames"] = frames
        for algorithm in ALGORITHMS:
            out[f"activation-{algorithm}"] = activation(chunk_size, algorithm)(frames)
        model = pitch_model(sr, chunk_size, block_frames)
        act = model.activations(x, lengths)
        frame_lengths = None if lengths is None else model.frames.num_frames(lengths)
        for method in DECODERS:
            out[f"pitch-{method}"] = pitch_tensor(decoder(method)(act, frame_lengths))
        out["loudness"] = CrepeLoudness(sr)(x, lengths)
        out["embedding"] = embedding_model(sr, chunk_size)(x, lengths)
    return out


def digests(threads: int) -> dict[str, str]:
    """sha256 of the bytes of every output at both rates, with ``threads`` intra-op threads."""
    torch.set_num_threads(threads)
    found = {}
    for sr in RATES:
        for name, tensor in outputs(sr, signal(sr)).items():
            data = tensor.contiguous().numpy().tobytes()
            found[f"{sr}/{name}"] = hashlib.sha256(data).hexdigest()
    return found


if __name__ == "__main__":
    print(json.dumps(digests(int(sys.argv[1]))))
