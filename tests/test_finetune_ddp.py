"""``finetune`` under torchrun with 2 CPU processes (gloo): the ranks stay bit-identical, each
trains on its slice of the same global batch, and only rank 0 writes the files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

WORKER = Path(__file__).resolve().parent / "_ddp_finetune_worker.py"


def test_finetune_under_torchrun_keeps_ranks_identical(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(WORKER), str(tmp_path),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert [r["processes"] for r in ranks] == [2, 2]
    assert [r["steps"] for r in ranks] == [2, 2]
    # Gradients are all-reduced before every step, so the replicas never drift apart.
    for key, value in ranks[0]["best"].items():
        assert torch.equal(value, ranks[1]["best"][key]), key
    assert ranks[0]["path"].endswith("model.pt")
    assert ranks[1]["path"] == "None"  # rank 1 writes nothing
    assert (tmp_path / "model.pt.sha256").exists()
    assert (tmp_path / "model.pt.json").exists()
    # Training moved the weights away from the published ones.
    final = ranks[0]["final"]
    from crepe_transforms.weights import load_state_dict

    assert not torch.equal(
        final["conv1.weight"], load_state_dict("tiny")["conv1.weight"].squeeze(-1)
    )
