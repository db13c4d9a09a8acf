"""Determinism: which axes give the same bits, and how far apart the others are.

Real ``tiny`` weights, 2 s of audio at 16 and 44.1 kHz (tests/_determinism.py), every transform:
CrepeFrames, CrepeActivation (fft and direct), CrepePitch (viterbi, weighted_argmax, argmax),
CrepeLoudness, CrepeEmbedding.

Bit-identical (``torch.equal``), everywhere:
- repeated runs in one process, and two fresh processes (sha256 of every output's bytes);
- any ``block_frames`` of CrepePitch (by construction: same network chunks);
- ``torch.set_num_threads``: every CPU chunk of frames is computed by one thread
  (model/_parallel.py), so the thread count only decides how many chunks run at once (0.1
  split each operator over the threads, whose FFT and oneDNN kernels round by thread count);
- batch composition: a stacked batch, and each item's valid frames in a padded batch, for
  every output of the block engine (CrepePitch, CrepeEmbedding) and every network-free one
  (CrepeFrames, CrepeLoudness, CrepeDecode).

Equal up to float32 rounding (measured maxima in docs/reliability.md), because the CPU kernels
that run the network pick their code path from the problem's shape:
- ``chunk_size``: a matrix product's rows can be summed in another order depending on how many
  rows it has and where a row sits (e.g. a one-row product is a matrix-vector kernel);
- CrepeActivation on a padded batch: it runs the padding too, so the last chunk of a shorter
  item holds other frames than the item alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from _determinism import ALGORITHMS, RATES, digests, outputs, pitch_tensor, signal

from crepe_transforms import CrepeActivation, CrepeDecode, CrepeFrames, CrepePitch
from crepe_transforms.constants import DECODERS

TESTS = Path(__file__).resolve().parent

# Outputs whose bits never depend on batch shape or threads: no network inside.
NETWORK_FREE = ("frames", "loudness")
# Tolerances for the network's float32 rounding, each about 4x the largest difference measured
# over both rates (docs/reliability.md lists the measured values).
ACTIVATION_ATOL = 2e-6  # sigmoid outputs in [0, 1]; measured ≤ 4.8e-7
EMBEDDING_ATOL = 2e-5  # block-5 outputs up to ~7; measured ≤ 2.9e-6
FREQUENCY_RTOL = 1e-6  # measured ≤ 2.4e-7 relative (a few float32 ulps of the Hz value)
PERIODICITY_ATOL = 2e-6  # the activation at the decoded bin


@pytest.fixture
def threads() -> Iterator[None]:
    """Restore the intra-op thread count a test changes."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def assert_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name].isnan(), b[name].isnan()), name
        assert torch.equal(a[name].nan_to_num(), b[name].nan_to_num()), name


def max_delta(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).abs().max())


def assert_rounding_only(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    """Bit-identical where no network runs, float32 rounding where it does."""
    for name in NETWORK_FREE:
        assert torch.equal(a[name].nan_to_num(), b[name].nan_to_num()), name
    for algorithm in ALGORITHMS:
        name = f"activation-{algorithm}"
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=ACTIVATION_ATOL, msg=name)
    for decoder in DECODERS:
        (fa, pa), (fb, pb) = a[f"pitch-{decoder}"], b[f"pitch-{decoder}"]
        torch.testing.assert_close(fa, fb, rtol=FREQUENCY_RTOL, atol=0, equal_nan=True)
        torch.testing.assert_close(pa, pb, rtol=0, atol=PERIODICITY_ATOL)
    torch.testing.assert_close(a["embedding"], b["embedding"], rtol=0, atol=EMBEDDING_ATOL)


# ------------------------------------------------------------------ bit-identical axes


@pytest.mark.parametrize("sr", RATES)
def test_repeated_runs_in_one_process_are_bit_identical(sr: int) -> None:
    x = signal(sr)
    first = outputs(sr, x)
    assert_identical(first, outputs(sr, x))
    with torch.inference_mode():
        for decoder in DECODERS:  # the shared-activation shortcut of outputs() is the forward
            pitch = CrepePitch(sr, "tiny", decoder=decoder)(x)
            assert torch.equal(pitch_tensor(pitch), first[f"pitch-{decoder}"]), decoder


@pytest.mark.timeout(300)
def test_two_fresh_processes_and_this_one_give_the_same_bits(threads: None) -> None:
    child = [sys.executable, str(TESTS / "_determinism.py"), "1"]
    runs = [
        json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout)
        for _ in range(2)
    ]
    assert len(runs[0]) == len(RATES) * 8
    assert runs[0] == runs[1]
    assert digests(threads=1) == runs[0]  # and this process, at the same thread count


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("chunk_size", [7, 128])
def test_any_block_frames_gives_the_same_bits(sr: int, chunk_size: int) -> None:
    # Extends test_pitch.test_blocks_are_bit_identical_to_sequential (random weights, 22.05 kHz)
    # to real weights, both rates and both algorithms. Blocks only change how the activations
    # are computed; the decode then runs once over all of them.
    x = signal(sr)
    frames = CrepeFrames(sr)(x)
    with torch.inference_mode():
        for algorithm in ALGORITHMS:
            act = CrepeActivation("tiny", chunk_size, algorithm=algorithm)
            reference = act(frames)
            decoded = CrepeDecode("viterbi")(reference)
            for block_frames in (1, chunk_size + 1, 10**6):
                model = CrepePitch(sr, "tiny", chunk_size=chunk_size, block_frames=block_frames)
                model.activation = act
                assert torch.equal(model.activations(x), reference), (algorithm, block_frames)
            pitch = model(x)  # and the forward, through the blocks, to the decode
            assert torch.equal(pitch.f0, decoded.f0), algorithm
            assert torch.equal(pitch.periodicity, decoded.periodicity), algorithm


@pytest.mark.parametrize("decoder", DECODERS)
def test_decoders_are_bit_identical_across_batches_and_threads(decoder: str, threads: None) -> None:
    # test_decode covers leading dims and padding with random activations; this adds threads
    # and real activations.
    x = signal(16000)
    with torch.inference_mode():
        act = CrepeActivation("tiny")(CrepeFrames(16000)(x))
        decode = CrepeDecode(decoder)
        torch.set_num_threads(1)
        one = decode(act)
        torch.set_num_threads(2)
        two = decode(act)
        stacked = decode(torch.stack([act.flip(0), act, act[:50].repeat(5, 1)[: len(act)]]))
    for out in (two, type(two)(stacked.f0[1], stacked.periodicity[1])):
        assert torch.equal(out.f0, one.f0)
        assert torch.equal(out.periodicity, one.periodicity)


# ------------------------------------------------------------------ rounding-only axes


@pytest.mark.parametrize("sr", RATES)
def test_chunk_size_changes_only_float32_rounding(sr: int) -> None:
    x = signal(sr)
    reference = outputs(sr, x, chunk_size=128)
    for chunk_size in (1, 7):
        assert_rounding_only(outputs(sr, x, chunk_size=chunk_size), reference)


@pytest.mark.parametrize("sr", RATES)
def test_batch_composition_gives_the_same_bits(sr: int) -> None:
    x = signal(sr)
    alone = outputs(sr, x)
    others = [signal(sr, 2.0, seed=1), signal(sr, 2.0, seed=2)]
    stacked = outputs(sr, torch.stack([others[0], x, others[1]]))
    assert_identical(
        {k: v.select(-2 if k.startswith("pitch") else 0, 1) for k, v in stacked.items()}, alone
    )
    # padded: shorter and longer neighbours, garbage past their lengths
    short = signal(sr, 0.6, seed=3)
    batch = 5.0 * torch.randn(3, len(x) + sr // 20, generator=torch.Generator().manual_seed(4))
    batch[0, : len(short)] = short
    batch[1, : len(x)] = x
    lengths = torch.tensor([len(short), len(x), batch.shape[-1]])
    padded = outputs(sr, batch, lengths=lengths)
    n = alone["loudness"].shape[-1]
    item = {k: (v[:, 1, :n] if k.startswith("pitch") else v[1, :n]) for k, v in padded.items()}
    # CrepeActivation on padded frames runs the padding too: rounding only (measured ≤ 3e-11)
    for algorithm in ALGORITHMS:
        name = f"activation-{algorithm}"
        activation = item.pop(name)
        torch.testing.assert_close(activation, alone.pop(name), rtol=0, atol=ACTIVATION_ATOL)
    # the block engine skips the padding: CrepePitch and CrepeEmbedding give the same bits
    assert_identical(item, alone)


@pytest.mark.parametrize("sr", RATES)
def test_thread_count_gives_the_same_bits(sr: int, threads: None) -> None:
    x = signal(sr)
    torch.set_num_threads(1)
    one = outputs(sr, x)
    torch.set_num_threads(2)
    two = outputs(sr, x)
    torch.set_num_threads(3)  # more threads than this machine may have cores
    three = outputs(sr, x)
    assert_identical(two, one)
    assert_identical(three, one)
