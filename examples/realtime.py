"""Real-time pitch: feed a file to CrepeStream in 10 ms chunks, as a microphone would.

    python examples/realtime.py [FILE] [--capacity tiny] [--decoder viterbi] [--lag 8] [--pace]
                                [--threads 1] [--step-frames 1]

Each chunk is pushed the moment it "arrives"; the frames whose 64 ms window it completed come
back at once and are printed (time, f0, periodicity; ``-`` where the periodicity is below the
voicing threshold). With ``--pace`` the chunks arrive at the speed of the audio, as from a
sound card; without it, as fast as the stream takes them. At the end: the stream's latency
and its real-time factor on this machine.

A live microphone is the same loop over the sound card's callback blocks, e.g. with the
``sounddevice`` package: ``stream.push(torch.from_numpy(block[:, 0]))`` in the callback.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import soundfile as sf
import torch

from crepe_transforms import CrepeStream

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=HERE / "example.wav")
    parser.add_argument("--capacity", default="tiny")
    parser.add_argument("--decoder", default="viterbi")
    parser.add_argument("--lag", type=int, default=8, help="Viterbi look-ahead in frames")
    parser.add_argument("--voicing", type=float, default=0.5)
    parser.add_argument(
        "--step-frames",
        type=int,
        default=1,
        help="frames collected per network call: more is faster, (N - 1) x 10 ms later",
    )
    parser.add_argument("--pace", action="store_true", help="deliver chunks in real time")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (one frame a push: 1 is best)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    info = sf.info(str(args.file))
    rate = info.samplerate
    stream = CrepeStream(
        rate,
        args.capacity,
        decoder=args.decoder,
        lag=args.lag,
        voicing=args.voicing,
        step_frames=args.step_frames,
    )
    hop_s = stream.frames.hop_length / rate
    chunk = rate // 100  # 10 ms, a typical sound-card block
    latency = stream.latency * 1e3
    print(f"{args.file.name}: {info.duration:.2f} s at {rate} Hz; latency {latency:.0f} ms")

    with torch.inference_mode():  # warm-up: the first pushes compile numba kernels
        stream.push(torch.zeros(rate))
        stream.reset()
    busy = 0.0
    started = time.perf_counter()

    def show(pitch: torch.Tensor, periodicity: torch.Tensor, first: int) -> None:
        for i, (f0, p) in enumerate(zip(pitch.tolist(), periodicity.tolist(), strict=True)):
            hz = "      -" if f0 != f0 else f"{f0:7.1f}"  # NaN: unvoiced
            print(f"{(first + i) * hop_s:7.2f} s  {hz} Hz  periodicity {p:.2f}")

    with torch.inference_mode():
        for n, block in enumerate(sf.blocks(str(args.file), blocksize=chunk, dtype="float32")):
            if args.pace:  # wait until this chunk would have been recorded
                time.sleep(max(0.0, started + (n + 1) * chunk / rate - time.perf_counter()))
            audio = torch.from_numpy(block if block.ndim == 1 else block.mean(axis=1))
            first = stream.emitted
            tick = time.perf_counter()
            pitch = stream.push(audio)
            busy += time.perf_counter() - tick
            show(pitch.f0, pitch.periodicity, first)
        first = stream.emitted
        tick = time.perf_counter()
        pitch = stream.flush()
        busy += time.perf_counter() - tick
        show(pitch.f0, pitch.periodicity, first)
    print(
        f"{stream.emitted} frames; computing took {busy:.2f} s for {info.duration:.2f} s of "
        f"audio ({info.duration / busy:.1f}x real time)"
    )


if __name__ == "__main__":
    main()
