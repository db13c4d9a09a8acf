"""Running the network over chunks of frames on the CPU: coarse threads, no spinning.

PyTorch parallelises each operator over its intra-op threads. For CREPE that means hundreds of
small parallel regions per chunk of frames, each ending in a barrier where OpenMP threads spin
while they wait. On an idle machine that costs little; on a busy one (data loading next door,
several ranks on one machine) a descheduled thread stalls every barrier and the network slows
down ninefold (measured in the performance report). So the CPU path parallelises over *chunks*
instead: each worker thread runs whole chunks with one intra-op thread, and chunks are handed
out as workers free up, so a worker that loses its core simply takes fewer chunks. There is no
barrier inside a chunk, nothing to spin on, and the numbers do not depend on how chunks are
distributed (every chunk is computed by one thread, the same way).

:func:`map_chunks` decides per call: CUDA and other devices run the chunks in order on the
caller's stream; a process with one intra-op thread (a DataLoader worker) runs them in the
caller's thread; otherwise up to ``torch.get_num_threads()`` workers share the chunks. A CPU
chunk is therefore always computed by one thread, and the results do not depend on the thread
count or on how many chunks a call has: an item alone and the same item in a batch give the
same bits. (The price: one chunk alone uses one core. Inputs shorter than two chunks are short.)
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import torch

__all__ = ["frame_threads", "map_chunks", "share_frames", "worker_count"]

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def _single_thread() -> None:
    # Per-thread setting: OpenMP's thread count is an ICV of the calling thread, so the
    # caller's own intra-op threads are untouched (tests/test_parallel.py checks this).
    torch.set_num_threads(1)


def _reset_after_fork() -> None:
    # A forked child (DataLoader worker) has none of the parent's threads.
    global _pool, _pool_size, _lock
    _pool, _pool_size, _lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _executor(size: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != size:
            old = _pool
            _pool = ThreadPoolExecutor(
                max_workers=size, thread_name_prefix="crepe", initializer=_single_thread
            )
            _pool_size = size
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def worker_count(n_chunks: int, device: torch.device) -> int:
    """How many pool threads :func:`map_chunks` uses for ``n_chunks`` chunks on ``device``
    (0: the caller's thread, with its own intra-op threads)."""
    if device.type != "cpu" or n_chunks < 1 or torch.compiler.is_compiling():
        return 0
    threads = torch.get_num_threads()
    return 0 if threads == 1 else min(threads, n_chunks)


def map_chunks(
    fn: Callable[[torch.Tensor], torch.Tensor], chunks: Sequence[torch.Tensor]
) -> list[torch.Tensor]:
    """``[fn(c) for c in chunks]``, spread over worker threads on the CPU (see the module).

    Gradient mode and inference mode of the caller hold inside the workers too.
    """
    if not chunks:
        return []
    workers = worker_count(len(chunks), chunks[0].device)
    if workers == 0:
        return [fn(c) for c in chunks]
    grad = torch.is_grad_enabled()
    inference = torch.is_inference_mode_enabled()

    def run(chunk: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(inference), torch.set_grad_enabled(grad):
            return fn(chunk)

    # One pool per process, sized by the thread count (not per call, so it is not rebuilt).
    return list(_executor(torch.get_num_threads()).map(run, chunks))


#: Fewest frames a pool thread is given by :func:`share_frames`: below ``threads x`` this, the
#: frames run as one call in the caller's thread (its intra-op threads share each operator).
MIN_SHARE = 2

#: Block-1 frame-channels (frames x C1) below which a batch of frames is not worth the pool
#: (:func:`share_frames`' ``pool_frames``, ``Crepe.cpu_pool_frames``: 64 ``tiny`` frames,
#: 8 ``full``). Such calls are mostly per-call work that holds the GIL, so shares on two
#: threads wait on each other: 8 and 32 ``tiny`` streams ran 0.9x and 0.8x as fast on 2
#: threads as on 1, 128 streams 1.5x (``docs/performance.md``, issue 21).
POOL_FRAME_CHANNELS = 8192


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """The calling thread with one intra-op thread inside, its own count restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _few_frames(frames: int, pool_frames: int) -> bool:
    # Enough frames for the pool's shares (threads x MIN_SHARE), too few for it to pay.
    threads = torch.get_num_threads()
    return threads > 1 and threads * MIN_SHARE <= frames < pool_frames


def frame_threads(
    frames: int, device: torch.device, pool_frames: int
) -> contextlib.AbstractContextManager[None]:
    """Where :func:`share_frames` would give ``frames`` frames to the pool in shares too small
    to pay (fewer than ``pool_frames``), :func:`one_thread` for the whole step around the
    network (a stream's push: framing, network, decoding), which then costs what it costs on
    one thread; otherwise a context that does nothing."""
    if device.type == "cpu" and _few_frames(frames, pool_frames):
        return one_thread()
    return contextlib.nullcontext()


def share_frames(
    fn: Callable[[torch.Tensor], torch.Tensor],
    frames: torch.Tensor,
    per_call: int,
    pool_frames: int = 0,
) -> list[torch.Tensor]:
    """``fn`` over ``frames`` (``(n, ...)``) in calls of at most ``per_call`` frames, the
    calls' outputs in order (concatenated they are ``fn(frames)`` to float rounding).

    For many small inputs computed together (the rows of a batch of streams, a few frames
    each): on the CPU with more than one thread and at least ``threads x MIN_SHARE`` frames,
    the frames are split into near-equal calls, at least one per thread, spread over the
    pool (:func:`map_chunks`); fewer frames run in the caller's thread. From ``threads x
    MIN_SHARE`` up to ``pool_frames`` frames (too few for the pool to pay), the calls run in
    the caller's thread with one intra-op thread (:func:`one_thread`). Other devices: calls
    of ``per_call`` in order.
    """
    n = frames.shape[0]
    threads = torch.get_num_threads()
    step = max(1, per_call)
    if frames.device.type != "cpu" or threads == 1 or n < threads * MIN_SHARE:
        return [fn(frames[a : a + step]) for a in range(0, n, step)]
    if _few_frames(n, pool_frames):
        with one_thread():
            return [fn(frames[a : a + step]) for a in range(0, n, step)]
    calls = max(threads, -(-n // step))
    size = -(-n // calls)
    return map_chunks(fn, [frames[a : a + size] for a in range(0, n, size)])
