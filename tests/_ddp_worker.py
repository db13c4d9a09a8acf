"""Training a model with frozen CREPE layers under DistributedDataParallel (gloo, CPU).

Run by ``tests/test_ddp.py`` as::

    python -m torch.distributed.run --standalone --nproc_per_node=2 tests/_ddp_worker.py OUTDIR

Each rank writes ``OUTDIR/rank{r}.pt``: its final head parameters, its per-step losses, whether
the CREPE state (parameters and BatchNorm buffers) stayed bit-identical, the warnings raised
while wrapping and training, and how many frequency-domain weight sets the networks built.
:func:`train` with ``distributed=False`` is the single-process reference that takes the whole
global batch at every step (the test imports it).

The recipe: build the model (CREPE frozen by construction), wrap it in plain
``DistributedDataParallel(model)``. DDP only registers parameters that require grad, so the
frozen CREPE weights are neither reduced nor need ``find_unused_parameters``; the head is the
only thing synchronised. ``broadcast_buffers=False`` because CREPE's BatchNorm buffers are
constants: broadcasting them every forward costs a collective and rewrites them in place.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from crepe_transforms import CrepeActivation, CrepeEmbedding, CrepeFrames
from crepe_transforms.model import Crepe

SAMPLE_RATE = 16000
HOP = 400  # 25 ms: few frames per item keeps the test fast
SECONDS = 0.25
N_ITEMS = 32
GLOBAL_BATCH = 8
STEPS = 4  # one epoch of 32 items in batches of 8
LR = 0.05


def tone_item(index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Deterministic harmonic tone ``index`` and its target, log2(f0 / 283 Hz)."""
    g = torch.Generator().manual_seed(index)
    f0 = 100.0 * 8.0 ** float(torch.rand((), generator=g))  # 100-800 Hz, log-uniform
    amplitude = 0.1 + 0.8 * float(torch.rand((), generator=g))
    t = torch.arange(round(SECONDS * SAMPLE_RATE), dtype=torch.float64) / SAMPLE_RATE
    phases = 2 * math.pi * torch.rand(5, 1, generator=g, dtype=torch.float64)
    k = torch.arange(1, 6, dtype=torch.float64)[:, None]  # 5 harmonics, all below 4 kHz
    audio = (torch.sin(2 * math.pi * k * f0 * t + phases) / k).sum(0)
    audio = amplitude * audio / audio.abs().max()
    return audio.float(), torch.tensor(math.log2(f0 / 283.0), dtype=torch.float32)


class Tones(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    def __len__(self) -> int:
        return N_ITEMS

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return tone_item(index)


class PitchHead(nn.Module):
    """Frozen CREPE features (block-5 embedding and salience) → a trainable pitch regressor."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = CrepeEmbedding(SAMPLE_RATE, "tiny", hop_length=HOP)
        self.frames = CrepeFrames(SAMPLE_RATE, hop_length=HOP)
        self.salience = CrepeActivation("tiny")
        self.head = nn.Sequential(nn.Linear(256 + 360, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        features = torch.cat(
            [self.embedding(audio).flatten(-2), self.salience(self.frames(audio))], dim=-1
        )
        out: torch.Tensor = self.head(features).squeeze(-1).mean(-1)  # one per item
        return out


def crepe_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every CREPE parameter and buffer, cloned."""
    return {k: v.detach().clone() for k, v in model.state_dict().items() if "network." in k}


def train(distributed: bool, broadcast_buffers: bool = False) -> dict[str, object]:
    """Train for :data:`STEPS` steps; the single-process run takes the global batch per step."""
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    torch.manual_seed(0)  # same head init everywhere (DDP would also broadcast rank 0's)
    model = PitchHead()
    networks = [m for m in model.modules() if isinstance(m, Crepe)]
    before = crepe_state(model)
    spectral: list[object] = []  # every frequency-domain weight set used (held: ids stay unique)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrapped: nn.Module = (
            DistributedDataParallel(model, broadcast_buffers=broadcast_buffers)
            if distributed
            else model
        )
        sampler: DistributedSampler[int] = DistributedSampler(
            Tones(), num_replicas=world, rank=rank, shuffle=True, seed=0
        )
        loader = DataLoader(Tones(), batch_size=GLOBAL_BATCH // world, sampler=sampler)
        trainable = [p for p in wrapped.parameters() if p.requires_grad]
        optimizer = torch.optim.SGD(trainable, lr=LR, momentum=0.9)
        sampler.set_epoch(0)
        losses = []
        wrapped.train()
        for audio, target in loader:
            loss = nn.functional.mse_loss(wrapped(audio), target)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            losses.append(float(loss.detach()))
            for net in networks:
                built = net.spectral_weights()
                if not any(built is seen for seen in spectral):
                    spectral.append(built)
    after = crepe_state(model)
    return {
        "head": {k: v.detach().clone() for k, v in model.head.state_dict().items()},
        "losses": losses,
        "crepe_unchanged": sorted(before) == sorted(after)
        and all(torch.equal(before[k], after[k]) for k in before),
        "n_trainable": len(trainable),
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
        "spectral_builds": len(spectral),
        "network_training": [net.training for net in networks],
    }


def main(argv: list[str]) -> int:
    outdir = Path(argv[0])
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    try:
        result = train(distributed=True, broadcast_buffers="--broadcast-buffers" in argv)
        torch.save(result, outdir / f"rank{dist.get_rank()}.pt")
        dist.barrier()
    finally:
        dist.destroy_process_group()
    print(f"rank {os.environ.get('RANK')}: losses {result['losses']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
