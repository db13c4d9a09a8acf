"""Streaming: real-time factor and latency of CrepeStream, and fixed-lag Viterbi agreement.

Four parts (``--part speed``, ``pushes``, ``agreement``, ``streams``; default all):

- **speed**: a synthetic melody is pushed in 10 ms chunks, as a microphone delivers it, per
  capacity, thread count, input rate, decoder and ``step_frames``. Real-time factor = seconds
  of audio per second of wall time (and per second of process CPU time, which a busy shared
  machine inflates less); per-push compute time (median, 95th percentile); the algorithmic
  latency (``CrepeStream.latency``) and the total (algorithmic + p95 compute + the 10 ms of a
  chunk). The offline ``CrepePitch`` on the same audio is measured side by side.
- **pushes**: the same at 16 kHz with ``weighted_argmax`` for pushes of 10, 40 and 100 ms
  (bigger pushes share network calls: throughput for latency).
- **agreement**: how often the fixed-lag Viterbi decision equals the offline Viterbi as the
  lag ``L`` grows, on the synthetic accuracy corpus (``benchmarks/accuracy_corpus.py``), frame
  by frame as a stream decides it: the same state, and an f0 within 50 cents of the offline
  f0, over all frames and over voiced frames; and the raw pitch accuracy of the lagged
  decisions against the known f0.

- **streams**: a batch of B independent streams (one ``(B, 160)`` chunk a push, each row a
  stream), B = 1, 8, 32, 128, tiny and full, 1 and 2 threads: real-time factor per stream,
  stream-seconds computed per second, push latency; and the most 10 ms streams that stay in
  real time (p95 push below 10 ms for tiny, 40 ms for full). ``--streams`` runs this part
  alone and writes its table into ``docs/performance.md``.

    python benchmarks/stream_speed.py [--part speed|pushes|agreement|streams|all] [--seconds 10]
    python benchmarks/stream_speed.py --streams

Prints markdown tables and writes them to ``benchmarks/results/stream_*.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch
from signals import melody
from timing import machine_text, push_stream

from crepe_transforms import CrepeDecode, CrepePitch, CrepeStream, Pitch
from crepe_transforms.functional import bins_to_hz, viterbi_path
from crepe_transforms.functional._internal import log_emission, log_jump

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
LAGS = (0, 1, 2, 4, 8, 16, 32, 64, 128)


def stream_run(
    stream: CrepeStream, audio: torch.Tensor, chunk: int
) -> tuple[float, float, list[float]]:
    """Wall seconds, CPU seconds and per-push wall seconds of pushing ``audio``."""
    return push_stream(stream, audio, chunk)


def speed(seconds: float) -> str:
    rows = [
        "| capacity | threads | input rate | decoder | step_frames | RTF wall | RTF CPU | "
        "push median | push p95 | algorithmic latency | total latency | offline RTF wall |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    configs = [
        (capacity, threads, sr, decoder, step)
        for capacity in ("tiny", "full")
        for threads in (1, 2)
        for sr, decoder, step in (
            (16000, "weighted_argmax", 1),
            (16000, "weighted_argmax", 4),
            (16000, "weighted_argmax", 10),
            (16000, "viterbi", 1),
            (16000, "viterbi", 4),
            (44100, "viterbi", 1),
        )
    ]
    for capacity, threads, sr, decoder, step in configs:
        torch.set_num_threads(threads)
        length = seconds if capacity == "tiny" else seconds / 2
        audio = melody(length, sr)
        stream = CrepeStream(sr, capacity, decoder=decoder, step_frames=step)
        chunk = sr // 100
        stream_run(stream, melody(0.5, sr), chunk)  # warm-up: weights, kernels, numba
        wall, cpu, pushes = stream_run(stream, audio, chunk)
        offline = CrepePitch(sr, capacity, decoder=decoder)
        with torch.inference_mode():
            offline(audio[: sr // 2])
            start = time.perf_counter()
            offline(audio)
            offline_wall = time.perf_counter() - start
        p95 = float(np.percentile(pushes, 95))
        total = stream.latency + p95 + chunk / sr
        rows.append(
            f"| {capacity} | {threads} | {sr} | {decoder} | {step} | {length / wall:.1f}× | "
            f"{length / cpu:.1f}× | {statistics.median(pushes) * 1e3:.2f} ms | "
            f"{p95 * 1e3:.2f} ms | {stream.latency * 1e3:.1f} ms | {total * 1e3:.1f} ms | "
            f"{length / offline_wall:.1f}× |"
        )
        print(rows[-1], flush=True)
    head = (
        f"CrepeStream, 10 ms pushes of a {seconds:g} s melody (full: {seconds / 2:g} s), "
        f"`torch.set_num_threads(threads)`, inference mode; {machine_text()}. "
        f"Viterbi with the default lag (16 frames); step_frames N runs the network once N "
        f"frames are complete ((N - 1) hops more latency). RTF CPU counts process CPU time "
        f"(with 2 threads it adds both threads' time, so it is below RTF wall).\n\n"
    )
    return head + "\n".join(rows) + "\n"


#: p95 push latency under which a batch of 10 ms streams counts as real time, by capacity.
REAL_TIME_P95 = {"tiny": 0.010, "full": 0.040}
#: Batch sizes of the streams table, and the ladder searched for the most real-time streams.
STREAM_COUNTS = {"tiny": (1, 8, 32, 128), "full": (1, 4, 8, 32)}
LADDER = {"tiny": (1, 8, 16, 32, 48, 64, 80, 96, 128, 160), "full": (1, 2, 4, 6, 8, 12, 16)}


def batch_run(capacity: str, streams: int, seconds: float) -> tuple[float, float, float]:
    """Wall seconds, p50 and p95 push seconds of ``streams`` 16 kHz streams pushed 10 ms at
    a time (the same melody in every row; rows are computed as independent streams)."""
    stream = CrepeStream(16000, capacity, decoder="weighted_argmax")
    audio = melody(seconds, 16000).expand(streams, -1)
    stream_run(stream, melody(0.3, 16000).expand(streams, -1), 160)  # warm-up
    wall, _, pushes = stream_run(stream, audio, 160)
    return wall, float(np.percentile(pushes, 50)), float(np.percentile(pushes, 95))


def package_commit() -> str:
    """The commit of the crepe_transforms checkout being timed (it may be another checkout's,
    through PYTHONPATH, for a before/after table)."""
    import subprocess

    import crepe_transforms

    where = Path(crepe_transforms.__file__).resolve().parent
    done = subprocess.run(
        ["git", "-C", str(where), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def streams_table(seconds: float) -> str:
    """The batch-of-streams table and the most streams that stay real time."""
    rows = [
        "| capacity | threads | streams | × real time per stream | stream-seconds per second "
        "| push p50 / p95 | real time |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    most = []
    for capacity in ("tiny", "full"):
        length = seconds if capacity == "tiny" else seconds / 2
        bound = REAL_TIME_P95[capacity]
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for n in STREAM_COUNTS[capacity]:
                wall, p50, p95 = batch_run(capacity, n, length)
                ok = p95 < bound and wall < length
                rows.append(
                    f"| {capacity} | {threads} | {n} | {length / wall:.2f}× | "
                    f"{n * length / wall:.1f} | {p50 * 1e3:.1f} / {p95 * 1e3:.1f} ms | "
                    f"{'yes' if ok else 'no'} |"
                )
                print(rows[-1], flush=True)
            best = 0
            for n in LADDER[capacity]:
                wall, _, p95 = batch_run(capacity, n, min(length, 2.0))
                if not (p95 < bound and wall < min(length, 2.0)):
                    break
                best = n
            most.append(
                f"- {capacity}, {threads} thread{'s' if threads > 1 else ''}: **{best}** streams "
                f"in real time (p95 push < {bound * 1e3:.0f} ms; ladder {LADDER[capacity]})"
            )
            print(most[-1], flush=True)
    head = (
        f'A batch of independent `CrepeStream(16000, capacity, decoder="weighted_argmax")` '
        f"streams, one `(streams, 160)` chunk pushed every 10 ms of audio ({seconds:g} s, full "
        f"{seconds / 2:g} s), `torch.set_num_threads(threads)`, inference mode; crepe_transforms "
        f"at commit {package_commit()}; {machine_text()}. Real time: the batch keeps up "
        f"(wall < audio) with p95 push latency under "
        f"{REAL_TIME_P95['tiny'] * 1e3:.0f} ms (tiny) / {REAL_TIME_P95['full'] * 1e3:.0f} ms "
        f"(full).\n\n"
    )
    return head + "\n".join(rows) + "\n\n" + "\n".join(most) + "\n"


def write_docs(table: str) -> None:
    """Put the streams table between its markers in docs/performance.md."""
    page = ROOT / "docs" / "performance.md"
    text = page.read_text()
    begin, end = "<!-- streams:begin -->", "<!-- streams:end -->"
    if begin not in text or end not in text:
        raise SystemExit(f"{page} has no {begin} ... {end} markers")
    command = "Written by `python benchmarks/stream_speed.py --streams`."
    head, rest = text.split(begin, 1)
    page.write_text(f"{head}{begin}\n{table}\n{command}\n{end}{rest.split(end, 1)[1]}")


def push_sizes(seconds: float) -> str:
    """Throughput against push size: bigger pushes share network calls, at a latency cost."""
    rows = [
        "| capacity | threads | push | RTF wall | RTF CPU | push median | total latency |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    sr = 16000
    for capacity in ("tiny", "full"):
        stream = CrepeStream(sr, capacity, decoder="weighted_argmax")
        length = seconds if capacity == "tiny" else seconds / 2
        audio = melody(length, sr)
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for ms in (10, 40, 100):
                chunk = sr * ms // 1000
                stream_run(stream, melody(0.5, sr), chunk)
                wall, cpu, pushes = stream_run(stream, audio, chunk)
                total = stream.latency + float(np.percentile(pushes, 95)) + chunk / sr
                rows.append(
                    f"| {capacity} | {threads} | {ms} ms | {length / wall:.1f}× | "
                    f"{length / cpu:.1f}× | {statistics.median(pushes) * 1e3:.2f} ms | "
                    f"{total * 1e3:.0f} ms |"
                )
                print(rows[-1], flush=True)
    head = (
        f"CrepeStream at 16 kHz, weighted_argmax, pushes of 10, 40 and 100 ms; "
        f"{machine_text()}.\n\n"
    )
    return head + "\n".join(rows) + "\n"


def _corpus() -> list[object]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import accuracy_corpus
    except ImportError:  # the corpus module still imports the 0.1 name crepe_transforms.decode
        sys.modules["crepe_transforms.decode"] = types.SimpleNamespace(Pitch=Pitch)  # type: ignore[assignment]
        import accuracy_corpus
    return list(accuracy_corpus.make_corpus(small=False)), accuracy_corpus  # type: ignore[return-value]


def agreement() -> str:
    clips, corpus = _corpus()  # type: ignore[misc]
    torch.set_num_threads(2)
    out = []
    for capacity in ("tiny", "full"):
        activations = []
        for clip in clips:
            model = CrepePitch(clip.sample_rate, capacity)
            with torch.inference_mode():
                act = model.activations(torch.from_numpy(clip.audio))[None]
            times = model.frames.frame_times(act.shape[1]).numpy()
            activations.append((act, corpus.frame_truth(clip, times)[:2]))
        # imported here: the other parts also time older checkouts (PYTHONPATH), where the
        # class lived elsewhere
        from crepe_transforms.functional import FixedLagViterbi

        for hmm in ("default", "crepe"):
            decode = CrepeDecode(hmm=hmm)
            # per lag: same state, within 50 c, voiced same, voiced within 50 c, RPA vs truth
            stats = {lag: np.zeros(5) for lag in LAGS}
            counts = np.zeros(2)
            offline_rpa = 0.0
            for act, (truth, voiced) in activations:
                states = act[..., decode.low : decode.high + 1]
                n_states = states.shape[-1]
                emission = log_emission(states, decode.model)
                jump = log_jump(n_states, decode.model)
                offline = viterbi_path(emission, decode.transition, jump)[0]
                counts += (len(offline), int(voiced.sum()))
                offline_f0 = bins_to_hz(offline.double() + decode.low).numpy()
                error = corpus.cents_error(offline_f0[voiced], truth[voiced])
                offline_rpa += float((np.abs(error) <= 50).sum())
                for lag in LAGS:
                    lagged = FixedLagViterbi(n_states, decode.model, decode.transition, lag)
                    parts = [lagged.step(states[:, t : t + 1]) for t in range(states.shape[1])]
                    path = torch.cat([*parts, lagged.finish()], dim=1)[0]
                    f0 = bins_to_hz(path.double() + decode.low).numpy()
                    same = (path == offline).numpy()
                    close = np.abs(1200 * np.log2(f0 / offline_f0)) <= 50
                    rpa = np.abs(corpus.cents_error(f0[voiced], truth[voiced])) <= 50
                    stats[lag] += (
                        same.sum(),
                        close.sum(),
                        same[voiced].sum(),
                        close[voiced].sum(),
                        rpa.sum(),
                    )
            out.append(
                f"\n**{capacity}, hmm='{hmm}'** ({int(counts[0])} frames, {int(counts[1])} "
                f"voiced; offline RPA {100 * offline_rpa / counts[1]:.2f} %)\n"
            )
            out.append(
                "| lag L (frames) | look-ahead | same state | f0 within 50 c of offline | "
                "voiced: same state | voiced: within 50 c | RPA vs truth |"
            )
            out.append("|---:|---:|---:|---:|---:|---:|---:|")
            for lag in LAGS:
                s = 100 * stats[lag] / counts[[0, 0, 1, 1, 1]]
                out.append(
                    f"| {lag} | {lag * 10} ms | {s[0]:.2f} % | {s[1]:.2f} % | {s[2]:.2f} % | "
                    f"{s[3]:.2f} % | {s[4]:.2f} % |"
                )
            print("\n".join(out[-(len(LAGS) + 3) :]), flush=True)
    head = (
        f"Fixed-lag Viterbi against the offline Viterbi on the synthetic accuracy corpus "
        f"(benchmarks/accuracy_corpus.py, {len(clips)} clips, 7 rates, clean to 10 dB SNR), "
        f"10 ms hop, one frame per step as a 10 ms-push stream decides them.\n"
    )
    return head + "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part", choices=("speed", "pushes", "agreement", "streams", "all"), default="all"
    )
    parser.add_argument(
        "--seconds", type=float, default=None, help="audio per run (default 10; streams: 4)"
    )
    parser.add_argument(
        "--streams",
        action="store_true",
        help="only the batch-of-streams part, its table written into docs/performance.md",
    )
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.streams or args.part == "streams":
        table = streams_table(args.seconds or 4.0)
        (RESULTS / "stream_batches.md").write_text(table)
        if args.streams:
            write_docs(table)
        return
    if args.part in ("speed", "all"):
        (RESULTS / "stream_speed.md").write_text(speed(args.seconds or 10.0))
    if args.part in ("pushes", "all"):
        (RESULTS / "stream_pushes.md").write_text(push_sizes(args.seconds or 10.0))
    if args.part in ("agreement", "all"):
        (RESULTS / "stream_agreement.md").write_text(agreement())
    if args.part == "all":
        (RESULTS / "stream_batches.md").write_text(streams_table(args.seconds or 4.0))


if __name__ == "__main__":
    main()
