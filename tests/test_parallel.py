"""``model.map_chunks``: chunks of frames spread over CPU worker threads (model/_parallel.py).

Each worker computes whole chunks with one intra-op thread, so the results are the bits a
one-thread loop gives, in order; the caller's own thread count is untouched; and a forked
child (a DataLoader worker) builds its own workers instead of waiting on the parent's.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from typing import Any

import pytest
import torch
from _workers import CHUNK_SIZES, ChunkDataset, chunk_inputs, map_chunks_in_child
from torch.utils.data import DataLoader

from crepe_transforms import CrepeStream
from crepe_transforms.model import Crepe, map_chunks, share_frames
from crepe_transforms.model._parallel import worker_count
from crepe_transforms.transforms import _stream_engine as stream_engine

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # restores the thread count


def network() -> Callable[[torch.Tensor], torch.Tensor]:
    torch.manual_seed(0)
    return Crepe("tiny")


def test_results_equal_a_one_thread_loop_bit_for_bit() -> None:
    fn = network()
    chunks = chunk_inputs()
    torch.set_num_threads(1)
    assert worker_count(len(chunks), torch.device("cpu")) == 0  # the caller's thread
    sequential = [fn(c) for c in chunks]
    torch.set_num_threads(2)
    assert worker_count(len(chunks), torch.device("cpu")) == 2  # the pool really runs
    parallel = map_chunks(fn, chunks)
    assert [tuple(r.shape) for r in parallel] == [(n, 360) for n in CHUNK_SIZES]  # in order
    for got, want in zip(parallel, sequential, strict=True):
        assert torch.equal(got, want)


@pytest.mark.parametrize("n_chunks", [1, 8])
def test_workers_run_with_one_thread_and_the_callers_count_is_kept(n_chunks: int) -> None:
    torch.set_num_threads(2)
    seen: dict[str, int] = {}
    lock = threading.Lock()

    def record(x: torch.Tensor) -> torch.Tensor:
        with lock:
            seen[threading.current_thread().name] = torch.get_num_threads()
        return x * 2

    out = map_chunks(record, [torch.ones(3)] * n_chunks)
    assert torch.get_num_threads() == 2
    assert len(out) == n_chunks
    assert all(torch.equal(o, torch.full((3,), 2.0)) for o in out)
    # even a single chunk runs on a pool thread, with one intra-op thread: its bits do not
    # depend on how many chunks the call has
    assert seen
    assert all(name.startswith("crepe") for name in seen)
    assert set(seen.values()) == {1}
    seen.clear()
    torch.set_num_threads(1)
    map_chunks(record, [torch.ones(3)] * 4)  # one thread: the caller runs everything
    assert list(seen) == [threading.current_thread().name]
    assert torch.get_num_threads() == 1


def test_gradient_mode_holds_inside_the_workers() -> None:
    torch.set_num_threads(2)
    x = [torch.randn(2, 3, requires_grad=True) for _ in range(4)]
    with torch.no_grad():
        assert not any(r.requires_grad for r in map_chunks(lambda c: c * 2, x))
    out = map_chunks(lambda c: c * 2, x)
    assert all(r.requires_grad for r in out)
    torch.stack(out).sum().backward()
    assert all(torch.equal(c.grad, torch.full((2, 3), 2.0)) for c in x)
    with torch.inference_mode():
        assert all(r.is_inference() for r in map_chunks(lambda c: c * 2, [torch.ones(2)] * 3))


def test_exceptions_reach_the_caller() -> None:
    torch.set_num_threads(2)

    def fail(x: torch.Tensor) -> torch.Tensor:
        raise ValueError(f"chunk of {len(x)}")

    with pytest.raises(ValueError, match="chunk of"):
        map_chunks(fail, [torch.ones(2)] * 3)
    assert map_chunks(fail, []) == []


@pytest.mark.timeout(120)
def test_works_in_a_forked_child_after_the_parent_used_its_pool() -> None:
    torch.set_num_threads(2)
    chunks = chunk_inputs()
    map_chunks(network(), chunks)  # the parent's pool threads exist now; a child has none
    child = multiprocessing.get_context("fork").Process(target=map_chunks_in_child)
    child.start()
    child.join(timeout=60)
    hung = child.is_alive()
    if hung:
        child.kill()
        child.join(timeout=10)
    assert not hung, "map_chunks in a forked child waited on the parent's threads"
    assert child.exitcode == 0


@pytest.mark.timeout(180)
def test_dataloader_workers_get_the_same_bits() -> None:
    torch.set_num_threads(1)
    net = network()
    expected = [[net(c) for c in chunk_inputs(seed=i)] for i in range(3)]  # a one-thread loop
    dataset = ChunkDataset(3)
    torch.set_num_threads(2)
    map_chunks(network(), chunk_inputs())  # the parent's pool exists before the fork
    loader = DataLoader(
        dataset, batch_size=None, num_workers=2, multiprocessing_context="fork", timeout=120
    )
    items = list(loader)
    assert [item["index"] for item in items] == [0, 1, 2]
    for item, want in zip(items, expected, strict=True):
        assert item["workers"] == 2  # each DataLoader worker ran the chunks on its own pool
        for got, ref in zip(item["outputs"], want, strict=True):
            assert torch.equal(got, ref)


@pytest.mark.parametrize(
    ("threads", "n", "per_call", "pool_frames", "sizes", "inner"),
    [
        (1, 40, 16, 0, [16, 16, 8], 1),  # one thread: calls of per_call in the caller's thread
        (2, 3, 16, 0, [3], 2),  # fewer than threads x MIN_SHARE: the caller's intra-op threads
        (2, 9, 16, 0, [5, 4], 1),  # a share for each thread
        (2, 40, 16, 0, [14, 14, 12], 1),  # per_call bounds every call, shares stay near-equal
        (2, 9, 16, 64, [9], 1),  # too few for the pool: the caller's thread, one intra-op thread
        (2, 40, 16, 64, [16, 16, 8], 1),
        (2, 64, 32, 64, [32, 32], 1),  # from pool_frames on: the pool's shares again
    ],
)
def test_share_frames_splits_a_batch_by_threads_and_call_size(
    threads: int, n: int, per_call: int, pool_frames: int, sizes: list[int], inner: int
) -> None:
    seen: list[int] = []
    callers: set[bool] = set()
    counts: set[int] = set()

    def fn(x: torch.Tensor) -> torch.Tensor:
        seen.append(x.shape[0])
        callers.add(threading.current_thread() is threading.main_thread())
        counts.add(torch.get_num_threads())
        return x * 2

    frames = torch.arange(n * 3, dtype=torch.float32).reshape(n, 3)
    torch.set_num_threads(threads)
    out = share_frames(fn, frames, per_call, pool_frames)
    assert torch.get_num_threads() == threads  # the caller's count is back
    assert sorted(seen, reverse=True) == sizes
    assert torch.equal(torch.cat(out), frames * 2)  # in order
    pooled = threads > 1 and n >= max(2 * threads, pool_frames)
    assert callers == {not pooled}  # the pool only when there are shares worth it
    # (the pool workers' own count: test_workers_run_with_one_thread_and_the_callers_count_is_kept)
    if not pooled:
        assert counts == {inner}


@pytest.mark.parametrize(("rows", "inner", "pooled"), [(1, 2, False), (8, 1, False), (64, 1, True)])
def test_a_stream_push_of_few_frames_runs_on_one_thread(
    rows: int, inner: int, pooled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2 threads: 1 frame a push keeps the caller's intra-op threads, 8 (too few for the pool's
    # shares to pay, tiny: below 64) run the push on one thread, 64 go to the pool.
    torch.manual_seed(0)
    stream = CrepeStream(16000, "tiny", pretrained=False, decoder="argmax")
    network = stream.activation.network
    assert network.cpu_pool_frames() == 64
    seen: list[tuple[int, bool]] = []
    forward = network.forward

    def counting(frames: torch.Tensor) -> torch.Tensor:
        main = threading.current_thread() is threading.main_thread()
        seen.append((torch.get_num_threads(), main))
        return forward(frames)

    network.forward = counting  # type: ignore[method-assign]
    decoding: list[int] = []  # the whole push, decoding included, not only the network
    run_decoder = stream_engine.run_decoder

    def decoder(*args: Any) -> Any:
        if args[1].activation.shape[-2]:  # pushes that completed frames
            decoding.append(torch.get_num_threads())
        return run_decoder(*args)

    monkeypatch.setattr(stream_engine, "run_decoder", decoder)
    torch.set_num_threads(2)
    audio = torch.randn(rows, 1600, generator=torch.Generator().manual_seed(1))
    for part in audio.split(160, dim=-1):
        stream.push(part)
        assert torch.get_num_threads() == 2  # restored after every push
    assert seen  # frames were computed
    assert {count for count, main in seen if main} <= {inner}
    assert all(not main for _, main in seen) == pooled
    assert set(decoding) == {1 if inner == 1 and not pooled else 2}
