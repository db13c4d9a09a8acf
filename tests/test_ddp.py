"""Frozen CREPE layers inside DistributedDataParallel: torchrun with 2 CPU processes (gloo).

The worker (``tests/_ddp_worker.py``) trains a head on frozen ``CrepeEmbedding`` and
``CrepeActivation`` features with a ``DistributedSampler``. Two ranks that each take half of
every global batch and average gradients (DDP) must end where one process taking the whole
batch ends: the mean loss over a batch has the same gradient as the mean of its halves' means.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from _ddp_worker import STEPS, train

WORKER = Path(__file__).resolve().parent / "_ddp_worker.py"


@pytest.fixture(scope="module")
def single_process() -> Iterator[dict[str, Any]]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the workers: same kernels, same rounding
    try:
        yield train(distributed=False)
    finally:
        torch.set_num_threads(threads)


def torchrun(outdir: Path, *extra: str) -> list[dict[str, Any]]:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",  # rendezvous on a free localhost port; no network needed
        "--nproc_per_node=2",
        str(WORKER),
        str(outdir),
        *extra,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-4000:]
    return [torch.load(outdir / f"rank{r}.pt", weights_only=True) for r in range(2)]


@pytest.mark.parametrize("broadcast_buffers", [False, True], ids=["recipe", "ddp-defaults"])
def test_ddp_two_ranks_equal_one_process_with_the_global_batch(
    tmp_path: Path, single_process: dict[str, Any], broadcast_buffers: bool
) -> None:
    ranks = torchrun(tmp_path, *(["--broadcast-buffers"] if broadcast_buffers else []))
    for result in ranks:
        assert len(result["losses"]) == STEPS
        assert result["crepe_unchanged"]  # parameters and BatchNorm buffers, bit for bit
        assert result["network_training"] == [False, False]  # DDP's .train() cannot unlock
        assert result["n_trainable"] == 4  # the head's two Linear layers only
        # No find_unused_parameters needed: DDP ignores parameters that do not require grad.
        assert result["warnings"] == []
    # DDP keeps replicas bit-identical: gradients are all-reduced before every step.
    for key, value in ranks[0]["head"].items():
        assert torch.equal(value, ranks[1]["head"][key]), key
    # One process with the whole batch. Only float32 summation order differs (the batch mean
    # vs the all-reduced mean of two half-batch means): measured max |Δ| 3e-8 on weights of
    # size ~0.2 after 4 SGD steps; 1e-5 is 300 times that and far below one step (lr 0.05 ×
    # gradients of order 0.1).
    for key, value in single_process["head"].items():
        torch.testing.assert_close(ranks[0]["head"][key], value, rtol=0, atol=1e-5)
    # Each step's global loss is the mean of the ranks' half-batch losses.
    mean_losses = [(a + b) / 2 for a, b in zip(ranks[0]["losses"], ranks[1]["losses"], strict=True)]
    assert mean_losses == pytest.approx(single_process["losses"], abs=1e-6)
    # Frequency-domain weights built once per network (embedding + salience), never rebuilt:
    # DDP's default broadcast rewrites the BatchNorm buffers in place with equal values, which
    # the network recognises by value.
    assert [r["spectral_builds"] for r in ranks] == [2, 2]
