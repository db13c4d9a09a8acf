"""Pitch from an exported ONNX graph and its ``.json`` sidecar alone: no crepe_transforms, no torch.

Everything this script does it reads from the sidecar: the rate the graph takes and how to
resample to it, the framing and normalisation that make the network's input, the rule that
turns salience into f0 and periodicity, and the voicing threshold (the graphs decide no
voicing). It runs both graphs (``crepe-transforms export --graph network`` or ``pitch``)::

    crepe-transforms export --capacity tiny --graph pitch -o tiny-pitch.onnx
    python examples/onnx_from_sidecar.py tiny-pitch.onnx take.wav -o take.csv

Needs numpy, onnxruntime, soundfile and (for rates other than 16 kHz) resampy. The output
matches ``CrepePitch(rate, capacity, decoder="weighted_argmax", voicing=threshold)`` to float
rounding (tests/test_export.py checks 1e-3).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np


def to_graph_rate(audio: np.ndarray, rate: int, sidecar: dict[str, Any]) -> np.ndarray:
    """Mono float32 audio at the graph's rate, resampled as the sidecar says."""
    target = sidecar["resampling"]["graph_rate"]
    if rate == target:
        return audio.astype(np.float32)
    if sidecar["resampling"]["filter"] != "kaiser_best":
        raise SystemExit(f"unknown resampling filter {sidecar['resampling']['filter']!r}")
    import resampy

    return resampy.resample(audio.astype(np.float32), rate, target, filter="kaiser_best", axis=-1)


def frames_of(x: np.ndarray, length: int, rate: int, hop: int, framing: dict[str, Any]) -> Any:
    """Normalised frames ``(1 + length // hop, window)`` of ``x`` (the 16 kHz audio made
    from ``length`` samples at ``rate``), centred as the sidecar's ``other_rates`` says."""
    window = framing["window"]
    count = 1 + length // hop
    i = np.arange(count, dtype=np.int64)
    centre = (2 * i * hop * framing["sample_rate"] + rate) // (2 * rate)
    padded = np.pad(x, (window // 2, window // 2 + window))  # zeros outside the audio
    frames = padded[centre[:, None] + np.arange(window)[None]].astype(np.float32)
    if framing["normalization_divisor"] is None:
        return frames
    centred = frames - frames.mean(axis=-1, keepdims=True)
    std = np.sqrt((centred**2).sum(axis=-1, keepdims=True) / framing["normalization_divisor"])
    return centred / np.maximum(std, np.float32(framing["normalization_floor"]))


def decode(salience: np.ndarray, rule: dict[str, Any], bins: dict[str, Any]) -> tuple[Any, Any]:
    """f0 (Hz) and periodicity of each row, by the sidecar's local-average rule."""
    low, high, radius = rule["low_bin"], rule["high_bin"], rule["radius"]
    s = salience[:, low : high + 1].astype(np.float64)
    index = s.argmax(axis=-1)
    periodicity = s.max(axis=-1)
    offsets = np.arange(-radius, radius + 1)
    window = index[:, None] + offsets[None]
    inside = (window >= 0) & (window < s.shape[1])
    weights = np.take_along_axis(s, window.clip(0, s.shape[1] - 1), axis=-1) * inside
    total = weights.sum(axis=-1)
    shift = (weights * offsets).sum(axis=-1)
    position = index + np.divide(shift, total, out=np.zeros_like(shift), where=total > 0)
    cents = bins["cents_per_bin"] * (position + low) + bins["cents_offset"]
    return bins["reference_hz"] * 2.0 ** (cents / 1200.0), periodicity


def track(model: Path, audio: np.ndarray, rate: int, hop: int | None = None) -> tuple[Any, ...]:
    """``(time, f0, periodicity)`` of mono ``audio`` at ``rate``; f0 NaN where unvoiced.

    ``hop``: samples of ``rate`` between frames (default 10 ms, ``rate // 100``)."""
    import onnxruntime

    sidecar = json.loads(model.with_name(model.name + ".json").read_text())
    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    framing = sidecar["framing"]
    graph_rate = framing["sample_rate"]
    x = to_graph_rate(audio, rate, sidecar)
    name = sidecar["inputs"][0]["name"]
    if sidecar["graph"] == "pitch":
        # the graph frames every framing.hop_length samples at 16 kHz: a whole hop at `rate`
        step = framing["hop_length"] * rate
        if step % graph_rate or (hop is not None and hop * graph_rate != step):
            raise SystemExit(f"{model}: {framing['note']}")
        hop = step // graph_rate
        f0, periodicity = session.run(None, {name: x[None]})
        count = 1 + len(audio) // hop
        f0, periodicity = f0[0, :count].astype(np.float64), periodicity[0, :count]
    else:
        hop = hop or max(1, rate // 100)
        (salience,) = session.run(None, {name: frames_of(x, len(audio), rate, hop, framing)})
        f0, periodicity = decode(salience, sidecar["decoding"], sidecar["bins"])
    f0 = np.where(periodicity >= sidecar["voicing"]["threshold"], f0, np.nan)
    time = np.arange(len(f0)) * hop / rate  # frame i is centred at i * hop / rate seconds
    return time, f0, periodicity.astype(np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="the .onnx file (its .json beside it)")
    parser.add_argument("audio", type=Path, help="an audio file (mono or downmixed)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="CSV to write")
    args = parser.parse_args()
    import soundfile

    audio, rate = soundfile.read(args.audio, dtype="float32", always_2d=True)
    time, f0, periodicity = track(args.model, audio.mean(axis=1), rate)
    rows = np.stack([time, f0, periodicity], axis=1)
    np.savetxt(args.output, rows, delimiter=",", header="time,f0,periodicity", comments="")


if __name__ == "__main__":
    main()
