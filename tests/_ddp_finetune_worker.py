"""``finetune`` under torchrun (gloo, CPU): run by ``tests/test_finetune_ddp.py`` as::

    python -m torch.distributed.run --standalone --nproc_per_node=2 \
        tests/_ddp_finetune_worker.py OUT

Every rank fine-tunes tiny for a few steps on the same tracks; DistributedDataParallel averages
the gradients of each rank's slice of the global batch. Each rank saves its final network
state as ``OUT/rank{r}.pt``; rank 0 alone writes ``OUT/model.pt`` and its sidecars.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from crepe_transforms.train import FinetuneConfig, PitchTrack, checkpoint_path, finetune

CONFIG = FinetuneConfig(
    steps=2, steps_per_epoch=2, batch_size=4, distill_batch=2, val_frames=8, warmup_steps=1
)


def tracks() -> list[PitchTrack]:
    t = torch.arange(16000, dtype=torch.float64) / 16000
    times = torch.arange(0, 1.0001, 0.01)
    return [
        PitchTrack.from_arrays(
            (0.3 * torch.sin(2 * math.pi * f * t)).float(), 16000, times,
            torch.full_like(times, f), name=f"{f:g}",
        )
        for f in (110.0, 220.0, 330.0)
    ]  # fmt: skip


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    try:
        data = tracks()
        result = finetune(data, out / "model.pt", CONFIG, validation=data[:1])
        rank = dist.get_rank()
        if rank == 0:  # the checkpoint holds the final network (rank 0 writes it)
            final = torch.load(checkpoint_path(out / "model.pt"), weights_only=True)["model"]
        else:
            final = {}
        torch.save(
            {"best": result.state_dict, "final": final, "steps": result.record["steps"],
             "processes": result.record["processes"], "path": str(result.path)},
            out / f"rank{rank}.pt",
        )  # fmt: skip
        dist.barrier()
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
