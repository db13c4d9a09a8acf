"""Library behind the CLI: Extractor equals the transforms on whole files, block decoding equals
CrepeDecode, options route to the part that owns them, outputs record their settings and a
resumed run respects them, discovery and sharding."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from pathlib import Path, PurePath

import numpy as np
import pytest
import torch
from _cli_audio import make_tree, write_noise, write_tone
from hypothesis import given
from hypothesis import strategies as st

from crepe_transforms import (
    CrepeActivation,
    CrepeDecode,
    CrepeEmbedding,
    CrepePitch,
    ParameterError,
)
from crepe_transforms._fileio import atomic_write
from crepe_transforms._settings import plain
from crepe_transforms.functional._framing import hop_length_for, parse_hop
from crepe_transforms.io import (
    Extractor,
    Features,
    load_audio,
    predict_file,
    predict_files,
    read_features,
    write_features,
)
from crepe_transforms.io._blocks import BlockDecoder
from crepe_transforms.io._corpus import Job, discover, env_rank, parse_shard, shard
from crepe_transforms.io._extract import NEUTRAL_SETTINGS
from crepe_transforms.io._features import UnknownRecord, sidecar_path
from crepe_transforms.io._formats import read_csv
from crepe_transforms.io._records import read_record
from crepe_transforms.weights._digest import DIGEST_KEY

SMALL = {"chunk_size": 8, "block_frames": 24, "pretrained": False}
#: The transforms the extractor is compared with: same chunks, their own (default) blocks.
IN_MEMORY = {"chunk_size": 8, "pretrained": False}


def same_network(module: torch.nn.Module, extractor: Extractor) -> torch.nn.Module:
    """Give ``module``'s CREPE network the extractor's (random-init) weights."""
    module.activation.load_state_dict(extractor.activation.state_dict())  # type: ignore[operator]
    return module


@pytest.fixture(scope="module")
def tiny() -> Extractor:
    return Extractor("tiny", **SMALL)  # type: ignore[arg-type]


# ------------------------------------------------------------------ equal to the transforms


@pytest.mark.parametrize(("sr", "hop"), [(8000, None), (16000, 137), (44100, "5ms")])
@pytest.mark.parametrize("decoder", ["viterbi", "weighted_argmax"])
def test_pitch_of_a_file_equals_crepe_pitch_on_the_whole_signal(
    tmp_path: Path, sr: int, hop: int | str | None, decoder: str
) -> None:
    path = write_noise(tmp_path / "n.wav", 0.6, sr, seed=sr)
    extractor = Extractor("tiny", hop_length=hop, decoder=decoder, voicing=0.1, **SMALL)  # type: ignore[arg-type]
    result = extractor.pitch(path)
    audio, _ = load_audio(path)
    hop_length = extractor.framer(sr).hop_length
    model = CrepePitch(sr, "tiny", hop_length=hop_length, decoder=decoder, voicing=0.1, **IN_MEMORY)
    with torch.no_grad():
        expected = same_network(model, extractor)(audio)
    assert sorted(result.arrays) == ["f0", "periodicity", "voiced"]
    assert torch.equal(result["periodicity"], expected.periodicity)
    # equal_nan: both mark the same frames unvoiced
    assert torch.allclose(result["f0"], expected.f0, rtol=0, atol=0, equal_nan=True)
    assert torch.equal(result["voiced"], expected.periodicity >= 0.1)
    assert torch.equal(result.time, model.frames.frame_times(expected.f0.shape[-1]))
    assert (result.sample_rate, result.hop_length) == (sr, hop_length)


def test_channels_kept_equal_each_channel_alone(tmp_path: Path) -> None:
    path = write_noise(tmp_path / "st.wav", 0.25, 22050, channels=2)
    extractor = Extractor("tiny", mono=False, voicing=None, **SMALL)  # type: ignore[arg-type]
    result = extractor.activations(path)
    audio, _ = load_audio(path, mono=False)
    model = same_network(CrepePitch(22050, "tiny", **IN_MEMORY), extractor)
    expected = torch.stack([model.activations(channel) for channel in audio])
    assert result["activation"].shape == (2, 26, 360)
    assert torch.equal(result["activation"], expected)
    pitch = extractor.pitch(path)
    with torch.no_grad():
        alone = torch.stack([model(channel).f0 for channel in audio])
    assert torch.equal(pitch["f0"], alone)


@pytest.mark.parametrize("layout", ["torchcrepe", "channels"])
def test_embedding_of_a_file_equals_crepe_embedding(tmp_path: Path, layout: str) -> None:
    path = write_noise(tmp_path / "n.wav", 0.5, 44100)
    extractor = Extractor("tiny", layout=layout, **SMALL)  # type: ignore[arg-type]
    result = extractor.embedding(path)
    audio, _ = load_audio(path)
    model = CrepeEmbedding(44100, "tiny", layout=layout, **IN_MEMORY)
    with torch.no_grad():
        expected = same_network(model, extractor)(audio)
    assert torch.equal(result["embedding"], expected)
    assert result.settings["layout"] == layout


@pytest.mark.parametrize(
    ("decoder", "hmm", "fmin", "fmax"),
    [
        ("viterbi", "default", None, None),
        ("viterbi", "crepe", 60.0, 900.0),
        ("weighted_argmax", "default", 50.0, None),
        ("argmax", "default", None, 1000.0),
    ],
)
@pytest.mark.parametrize("spill_bytes", [0, 1 << 30])
@pytest.mark.parametrize("shape", [(), (3,)])
def test_block_decoder_equals_crepe_decode(
    decoder: str,
    hmm: str,
    fmin: float | None,
    fmax: float | None,
    spill_bytes: int,
    shape: tuple[int, ...],
) -> None:
    decode = CrepeDecode(decoder, fmin, fmax, hmm)
    gen = torch.Generator().manual_seed(1)
    activation = torch.rand(*shape, 150, 360, generator=gen) ** 4
    blocks = BlockDecoder(decode, shape, 150, spill_bytes=spill_bytes)
    for start in range(0, 150, 32):
        blocks.add(start, activation[..., start : start + 32, :])
    expected, got = decode(activation), blocks.finish()
    assert torch.equal(got.f0, expected.f0)
    assert torch.equal(got.periodicity, expected.periodicity)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_block_viterbi_keeps_only_back_pointers(backend: str) -> None:
    # issue 22 item 1: the forward recursion runs block by block (the stream's carried
    # recursion, either backend), so an hour of frames keeps int16 back-pointers, not float32
    # emissions as well (518 MB at 10 ms), in one buffer allocated once for every frame
    decode = CrepeDecode(backend=backend)
    activation = torch.rand(2, 70, 360, generator=torch.Generator().manual_seed(3)) ** 4
    blocks = BlockDecoder(decode, (2,), 70, spill_bytes=0)
    buffers = set()
    for start in range(0, 70, 16):
        blocks.add(start, activation[:, start : start + 16])
        assert blocks.forward is not None
        assert blocks.forward.buffer is not None
        buffers.add(blocks.forward.buffer.data_ptr())
    assert blocks.forward.buffer.shape == (2, 70, 360)
    assert blocks.forward.buffer.dtype == torch.int16
    assert len(buffers) == 1
    assert not any(  # nothing frame-sized but the pointers
        isinstance(v, torch.Tensor) and v.is_floating_point() and v.numel() >= 70 * 360
        for v in vars(blocks).values()
    )
    got, expected = blocks.finish(), decode(activation)
    assert torch.equal(got.f0, expected.f0)
    assert torch.equal(got.periodicity, expected.periodicity)


def test_block_decoder_keeps_float64_through_the_spill_file() -> None:
    decode = CrepeDecode()
    activation = torch.rand(2, 40, 360, generator=torch.Generator().manual_seed(2)).double()
    blocks = BlockDecoder(decode, (2,), 40, spill_bytes=0)
    for start in range(0, 40, 16):
        blocks.add(start, activation[:, start : start + 16])
    got, expected = blocks.finish(), decode(activation)
    assert got.f0.dtype == torch.float64
    assert torch.equal(got.f0, expected.f0)
    assert torch.equal(got.periodicity, expected.periodicity)


def test_block_decoder_checks_order_and_count() -> None:
    blocks = BlockDecoder(CrepeDecode(), (), 10)
    with pytest.raises(
        ParameterError, match=r"blocks must arrive in order: expected frame 0, got 5"
    ):
        blocks.add(5, torch.rand(5, 360))
    blocks.add(0, torch.rand(5, 360))
    with pytest.raises(ParameterError, match=r"5 of 10 frames were added"):
        blocks.finish()
    with pytest.raises(ParameterError, match=r"frames 5\.\.13 go past the 10 frames announced"):
        blocks.add(5, torch.rand(8, 360))


# ------------------------------------------------------------------ options


@pytest.mark.parametrize(
    ("hop", "sr", "samples"),
    [
        (None, 22050, 220),
        ("10ms", 44100, 441),
        ("12.5 ms", 16000, 200),
        ("0.01s", 8000, 80),
        ("160", 16000, 160),
        (256, 48000, 256),
        ("10ms", 22050, 220),
    ],
)
def test_hop_in_ms_seconds_or_samples(hop: str | int | None, sr: int, samples: int) -> None:
    assert hop_length_for(hop, sr) == samples


def test_parse_hop_keeps_durations_and_reads_samples_as_int() -> None:
    assert (parse_hop("10ms"), parse_hop("160"), parse_hop(160), parse_hop(None)) == (
        "10ms",
        160,
        160,
        None,
    )


@pytest.mark.parametrize(
    ("hop", "message"),
    [
        ("ten", r"hop_length='ten' is not a hop: give milliseconds like '10ms'"),
        ("0.001ms", r"hop_length='0\.001ms' is less than one sample at 16000 Hz"),
        ("0", r"hop_length must be a positive integer number of samples or a duration, got '0'"),
        ("2.5", r"hop_length must be a positive integer"),
    ],
)
def test_bad_hops(hop: str, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        hop_length_for(hop, 16000)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"voicing": 1.5}, r"voicing must be None or a periodicity threshold in \[0, 1\]"),
        ({"device": "gpu0"}, r"device='gpu0' is not a torch device"),
        ({"device": "cdua"}, r"device='cdua' is not a torch device\. Did you mean 'cuda'\?"),
        ({"precision": "int8"}, r"precision='int8' is not supported"),
        ({"layout": "flat"}, r"layout='flat' is not supported"),
        ({"decoder": "mean"}, r"decoder='mean' is not supported"),
        ({"block_frames": 0}, r"block_frames must be a positive integer"),
        ({"hop_length": "x"}, r"hop_length='x' is not a hop"),
        ({"threshold": 0.5}, r"Extractor has no option 'threshold'"),
        ({"resample": "torchaudio"}, r"resample='torchaudio' is not available for files"),
        ({"sample_rate": 16000}, r"Extractor takes no sample_rate"),
        ({"mono": "yes"}, r"mono must be True or False"),
    ],
)
def test_bad_extractor_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        Extractor("tiny", pretrained=False, **options)  # type: ignore[arg-type]


def test_options_reach_the_part_that_owns_them() -> None:
    extractor = Extractor(
        "tiny",
        pretrained=False,
        fmin=60,
        hmm="crepe",
        chunk_size=16,
        normalization="torchcrepe",
        precision="bfloat16",
        hop_length="5ms",
    )
    assert (extractor.decode.fmin, extractor.decode.hmm) == (60.0, "crepe")
    assert (extractor.activation.chunk_size, extractor.activation.precision) == (16, "bf16")
    framer = extractor.framer(22050)
    assert (framer.hop_length, framer.normalization, framer.resample) == (
        110,
        "torchcrepe",
        "resampy",
    )
    assert extractor.framer(22050) is framer  # one per rate


def test_settings_rebuild_the_extractor_and_are_json() -> None:
    extractor = Extractor(
        "tiny", pretrained=False, decoder="argmax", fmax=900.0, voicing=0.4, hop_length="5ms"
    )
    settings = extractor.settings()
    again = Extractor(**settings)
    assert again.settings() == settings
    json.dumps({k: plain(v) for k, v in settings.items()})
    # the parts' settings are theirs, not copies
    assert {k: settings[k] for k in extractor.decode.settings()} == extractor.decode.settings()


def test_recorded_settings_hold_what_each_kind_depends_on() -> None:
    extractor = Extractor("tiny", pretrained=False, hop_length="10ms", layout="channels")
    pitch = extractor.recorded_settings("pitch", 22050)
    activation = extractor.recorded_settings("activation", 22050)
    embedding = extractor.recorded_settings("embedding", 22050)
    assert pitch["hop_length"] == activation["hop_length"] == 220  # in samples of that rate
    assert {"decoder", "fmin", "fmax", "hmm", "voicing"} <= set(pitch)
    assert not {"decoder", "voicing", "layout"} & set(activation)
    assert embedding["layout"] == "channels"
    assert set(NEUTRAL_SETTINGS) - {"spill_dir", "backend"} <= set(activation)


def test_from_parts_uses_the_transforms_given() -> None:
    activation = CrepeActivation("tiny", pretrained=False, chunk_size=4)
    decode = CrepeDecode("weighted_argmax", fmin=80.0)
    extractor = Extractor.from_parts(
        activation, decode, hop_length=64, normalization="none", voicing=0.3
    )
    assert extractor.activation is activation
    assert extractor.decode is decode
    assert extractor.device == torch.device("cpu")
    settings = extractor.settings()
    assert (settings["decoder"], settings["chunk_size"], settings["normalization"]) == (
        "weighted_argmax",
        4,
        "none",
    )
    assert Extractor.from_parts(activation).decode.settings() == CrepeDecode().settings()
    with pytest.raises(ParameterError, match="activation must be a CrepeActivation"):
        Extractor.from_parts(decode)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="decode must be a CrepeDecode"):
        Extractor.from_parts(activation, activation)  # type: ignore[arg-type]


def test_bf16_precision_keeps_a_float32_network_on_the_fft_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 0.1's precision= set the module dtype, which silently turned the FFT path off.
    import crepe_transforms.model._network as network

    calls: list[torch.dtype] = []
    original = network.spectral_trunk

    def counting(frames: torch.Tensor, *args: object) -> torch.Tensor:
        calls.append(frames.dtype)
        return original(frames, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(network, "spectral_trunk", counting)
    path = write_tone(tmp_path / "t.wav", 220.0, 0.3, 16000)
    full = Extractor("tiny", **SMALL)  # type: ignore[arg-type]
    half = Extractor("tiny", precision="bf16", **SMALL)  # type: ignore[arg-type]
    half.activation.load_state_dict(full.activation.state_dict())
    assert half.activation.dtype == torch.float32
    assert half.activation.precision == "bf16"
    calls.clear()
    half_act = half.activations(path)["activation"]
    assert calls
    assert set(calls) == {torch.float32}
    full_act = full.activations(path)["activation"]
    assert half_act.dtype == torch.float32
    # bf16 products keep 8 bits of mantissa: activations move by a few 1e-2 at most
    assert float((half_act - full_act).abs().max()) < 0.1
    assert half.recorded_settings("activation", 16000)["precision"] == "bf16"


def test_predict_file_returns_features_with_settings(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "t.wav", 220.0, 0.2, 8000)
    result = predict_file(path, capacity="tiny", voicing=0.3, fmin=50.0, pretrained=False)
    assert result.kind == "pitch"
    assert (result.sample_rate, result.hop_length, result.num_frames) == (8000, 80, 21)
    assert sorted(result.arrays) == ["f0", "periodicity", "voiced"]
    assert (result.settings["voicing"], result.settings["fmin"]) == (0.3, 50.0)
    assert result.settings["capacity"] == "tiny"
    with pytest.raises(ParameterError, match=r"kind='f0' is not supported"):
        predict_file(path, "f0", capacity="tiny", pretrained=False)


# ------------------------------------------------------------------ output files


def _features(
    f0: list[float] | list[list[float]], periodicity: object, **arrays: torch.Tensor
) -> Features:
    f = torch.tensor(f0)
    return Features(
        Path("a.wav"),
        "pitch",
        100,
        1,
        torch.arange(f.shape[-1]) / 100.0,
        {"f0": f, "periodicity": torch.tensor(periodicity), **arrays},
        {"capacity": "tiny", "fmin": None},
    )


def test_csv_rows_header_and_unvoiced_cells(tmp_path: Path) -> None:
    voiced = torch.tensor([True, False])
    target = write_features(
        _features([220.0, math.nan], [0.9, 0.1], voiced=voiced), tmp_path / "a.f0.csv"
    )
    assert target.read_text().splitlines() == [
        "time,f0,periodicity,voiced",
        "0.000000,220.0000,0.900000,1",
        "0.010000,,0.100000,0",
    ]
    columns = read_csv(target)
    np.testing.assert_array_equal(columns["f0"], [220.0, math.nan])
    again = read_features(target)
    assert torch.equal(again["voiced"], voiced)
    assert again.settings == {"capacity": "tiny", "fmin": None}
    assert (again.sample_rate, again.hop_length, again.kind) == (100, 1, "pitch")


def test_csv_with_channels_has_a_channel_column(tmp_path: Path) -> None:
    features = _features([[100.0, 110.0], [200.0, 210.0]], [[0.5, 0.6], [0.7, 0.8]])
    target = write_features(features, tmp_path / "c.f0.csv")
    assert target.read_text().splitlines() == [
        "time,channel,f0,periodicity",
        "0.000000,0,100.0000,0.500000",
        "0.010000,0,110.0000,0.600000",
        "0.000000,1,200.0000,0.700000",
        "0.010000,1,210.0000,0.800000",
    ]
    again = read_features(target)
    assert torch.equal(again["f0"], features["f0"].double())
    assert torch.equal(again.time, torch.tensor([0.0, 0.01], dtype=torch.float64))


def test_csv_sidecar_records_the_settings_and_the_csv(tmp_path: Path) -> None:
    target = write_features(_features([220.0], [0.9]), tmp_path / "a.f0.csv")
    sidecar = json.loads(sidecar_path(target).read_text())
    assert sidecar_path(target).name == "a.f0.csv.json"
    assert (sidecar["kind"], sidecar["sample_rate"], sidecar["hop_length"]) == ("pitch", 100, 1)
    assert sidecar["settings"] == {"capacity": "tiny", "fmin": None}
    assert read_record(target).settings == sidecar["settings"]
    # an edited CSV (or an --overwrite run killed between the two writes) no longer matches
    target.write_text(target.read_text().replace("220.0000", "221.0000"))
    with pytest.raises(UnknownRecord, match=r"a\.f0\.csv: does not match its settings record"):
        read_record(target)


def test_csv_sidecar_is_written_before_the_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crepe_transforms.io._formats as formats

    written: list[str] = []
    original = formats.atomic_write

    def record_then_fail_csv(target: Path, write: object, sweep_stale: bool) -> None:
        written.append(target.name)
        if target.suffix == ".csv":
            raise OSError("killed")
        original(target, write, sweep_stale=sweep_stale)  # type: ignore[arg-type]

    monkeypatch.setattr(formats, "atomic_write", record_then_fail_csv)
    with pytest.raises(OSError, match="killed"):
        write_features(_features([220.0], [0.9]), tmp_path / "a.f0.csv")
    assert written == ["a.f0.csv.json", "a.f0.csv"]
    # a CSV never exists without its record; a record without its CSV is not an output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.f0.csv.json"]


@pytest.mark.parametrize("fmt", ["npz", "pt"])
def test_npz_and_pt_hold_arrays_and_settings(tmp_path: Path, fmt: str) -> None:
    features = _features([220.0, 221.0], [0.9, 0.8])
    target = write_features(features, tmp_path / f"a.f0.{fmt}")
    raw = dict(np.load(target)) if fmt == "npz" else torch.load(target, weights_only=True)
    assert sorted(raw) == [
        "f0",
        "hop_length",
        "kind",
        "periodicity",
        "sample_rate",
        "settings",
        "source",
        "time",
        "version",
    ]
    settings = json.loads(str(raw["settings"])) if fmt == "npz" else raw["settings"]
    assert settings == {"capacity": "tiny", "fmin": None}
    again = read_features(target)
    assert torch.equal(again["f0"], features["f0"])
    assert torch.equal(again["periodicity"], features["periodicity"])
    assert (again.sample_rate, again.kind, again.path) == (100, "pitch", Path("a.wav"))


@pytest.mark.parametrize("fmt", ["csv", "npz", "pt"])
def test_outputs_without_settings_are_unknown(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"old.f0.{fmt}"
    if fmt == "csv":  # 0.1 wrote no sidecar
        target.write_text("time,frequency,periodicity\n0.000000,220.0000,0.900000\n")
    elif fmt == "npz":  # 0.1 kept its attributes as keys
        np.savez(target, time=np.zeros(1), frequency=np.ones(1), capacity="tiny")
    else:
        torch.save({"time": torch.zeros(1), "frequency": torch.ones(1)}, target)
    with pytest.raises(UnknownRecord, match=r"made by crepe-transforms 0\.1 or another program"):
        read_record(target)
    with pytest.raises(UnknownRecord):
        read_features(target)


def test_csv_only_for_pitch(tmp_path: Path) -> None:
    activation = Features(
        Path("a"), "activation", 1, 1, torch.zeros(1), {"activation": torch.zeros(1, 360)}
    )
    with pytest.raises(ParameterError, match=r"format 'csv' is not available for activation"):
        write_features(activation, tmp_path / "a.csv", "csv")
    with pytest.raises(ParameterError, match=r"cannot tell the format from the suffix '\.txt'"):
        write_features(activation, tmp_path / "a.txt")


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "out.npz"

    def fail(fh: object) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, fail)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_and_removes_stale_temporaries(tmp_path: Path) -> None:
    target = tmp_path / "x[1].csv"  # glob characters in the name
    (tmp_path / ".x[1].csv.abcd.tmp").write_bytes(b"half")  # left by a killed run
    # output files have one writer each, so their writes sweep what a killed run left
    atomic_write(target, lambda fh: fh.write(b"old"), sweep_stale=True)
    atomic_write(target, lambda fh: fh.write(b"new"), sweep_stale=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x[1].csv"]
    assert target.read_bytes() == b"new"


# ------------------------------------------------------------------ resume respects settings


def mtimes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*")}


@pytest.mark.parametrize("fmt", ["csv", "npz", "pt"])
def test_resume_with_other_settings_stops_before_computing(
    tmp_path: Path, fmt: str, tiny: Extractor
) -> None:
    # issue 13 item 3: 0.1 said "skipped (done before)" for outputs of another model
    make_tree(tmp_path / "in", 3)
    out = tmp_path / "out"
    first = predict_files([tmp_path / "in"], out, fmt=fmt, extractor=tiny)
    assert len(first.written) == 3
    before = mtimes(out)
    other = Extractor.from_parts(tiny.activation, CrepeDecode("argmax", fmin=60.0))
    with pytest.raises(ParameterError) as caught:
        predict_files([tmp_path / "in"], out, fmt=fmt, extractor=other)
    message = str(caught.value)
    assert "\n" not in message
    assert re.search(rf"utt000\.f0\.{fmt}: made with other settings than this run: ", message)
    assert "decoder 'viterbi' → 'argmax'" in message
    assert "fmin None → 60.0" in message
    assert "(2 more outputs like it)" in message
    assert "--overwrite (overwrite=True) or write to another output directory (-o)" in message
    assert mtimes(out) == before  # nothing computed, nothing written


def test_resume_ignores_settings_that_do_not_change_the_numbers(
    tmp_path: Path, tiny: Extractor
) -> None:
    make_tree(tmp_path / "in", 2)
    out = tmp_path / "out"
    predict_files([tmp_path / "in"], out, "activation", extractor=tiny)
    # other chunk and block sizes, spill folder, decoder (activations do not decode)
    other = Extractor.from_parts(
        tiny.activation, CrepeDecode("argmax"), block_frames=64, spill_dir=tmp_path
    )
    other.activation.chunk_size = 3
    try:
        summary = predict_files([tmp_path / "in"], out, "activation", extractor=other)
    finally:
        other.activation.chunk_size = 8
    assert (len(summary.skipped), len(summary.written)) == (2, 0)
    # a hop given as a duration equal to the default is the same hop
    again = Extractor.from_parts(tiny.activation, hop_length="10ms", block_frames=24)
    assert len(predict_files([tmp_path / "in"], out, "activation", extractor=again).skipped) == 2


def test_resume_sees_that_another_weight_file_is_resolved(
    tmp_path: Path, tiny: Extractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # issue 20: weights=None both times, but the registry now resolves another file (other
    # weights): the outputs record the network's digest, as the feature cache keys on it
    make_tree(tmp_path / "in", 2)
    out = tmp_path / "out"
    predict_files([tmp_path / "in"], out, "activation", extractor=tiny)
    retrained = Extractor("tiny", **SMALL)  # type: ignore[arg-type]
    assert retrained.settings() == tiny.settings()  # same settings, other weights
    assert read_record(out / "speaker0/session0/utt000.activation.npz").settings[DIGEST_KEY] == (
        tiny.weights_digest()
    )
    before = mtimes(out)
    with pytest.raises(ParameterError, match=r"made with other settings than this run: weights_"):
        predict_files([tmp_path / "in"], out, "activation", extractor=retrained)
    assert mtimes(out) == before
    # the same weights found elsewhere (another weights= path) are the same weights
    monkeypatch.setattr(tiny.activation, "weights", str(tmp_path / "copy.pth"))
    summary = predict_files([tmp_path / "in"], out, "activation", extractor=tiny)
    assert (len(summary.skipped), len(summary.written)) == (2, 0)


def test_the_weights_digest_is_kept_until_the_weights_change() -> None:
    extractor = Extractor("tiny", **SMALL)  # type: ignore[arg-type]
    first = extractor.weights_digest()
    assert extractor.weights_digest() == first
    assert extractor._digest is not None
    kept = extractor._digest
    extractor.weights_digest()
    assert extractor._digest is kept  # not recomputed
    with torch.no_grad():
        next(extractor.activation.network.parameters()).add_(1.0)
    assert extractor.weights_digest() != first


def test_resume_of_outputs_without_a_digest_compares_where_the_weights_came_from(
    tmp_path: Path, tiny: Extractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # outputs of 0.2 record no digest: the settings that located the weights stand in for it
    write_tone(tmp_path / "in" / "a.wav", 220.0, 0.1, 16000)
    out = tmp_path / "out"
    features = tiny.compute("pitch", tmp_path / "in" / "a.wav")
    old = {k: v for k, v in features.settings.items() if k != DIGEST_KEY}
    write_features(dataclasses.replace(features, settings=old), out / "a.f0.csv")
    assert len(predict_files([tmp_path / "in"], out, extractor=tiny).skipped) == 1
    monkeypatch.setattr(tiny.activation, "weights", str(tmp_path / "other.pth"))
    with pytest.raises(ParameterError, match=r"weights None → '.*other\.pth'"):
        predict_files([tmp_path / "in"], out, extractor=tiny)


def test_resume_sees_that_another_voicing_head_decided_auto(
    tmp_path: Path, tiny: Extractor
) -> None:
    # voicing="auto" is the head's decision: an output another head (release) decided is not
    # done; a threshold does not read the head, so its outputs do not record it
    from crepe_transforms.functional._voicing_model import HEAD_SHA256
    from crepe_transforms.io._extract import HEAD_KEY

    write_tone(tmp_path / "in" / "a.wav", 220.0, 0.1, 16000)
    out = tmp_path / "out"
    features = tiny.compute("pitch", tmp_path / "in" / "a.wav")
    assert features.settings[HEAD_KEY] == HEAD_SHA256
    older = {**features.settings, HEAD_KEY: "0" * 64}
    write_features(dataclasses.replace(features, settings=older), out / "a.f0.csv")
    with pytest.raises(ParameterError, match=r"voicing_head_sha256 '0000.*' → '" + HEAD_SHA256):
        predict_files([tmp_path / "in"], out, extractor=tiny)
    write_features(features, out / "a.f0.csv")
    assert len(predict_files([tmp_path / "in"], out, extractor=tiny).skipped) == 1
    threshold = Extractor("tiny", voicing=0.5, **SMALL)  # type: ignore[arg-type]
    assert HEAD_KEY not in threshold.recorded_settings("pitch", 16000)


def test_resume_refuses_outputs_of_unknown_settings_and_overwrite_recomputes(
    tmp_path: Path, tiny: Extractor
) -> None:
    write_tone(tmp_path / "in" / "a.wav", 220.0, 0.1, 16000)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.f0.csv").write_text("time,frequency,periodicity\n")  # a 0.1 output
    with pytest.raises(
        ParameterError,
        match=r"a\.f0\.csv: made by crepe-transforms 0\.1 or another program \(no settings "
        r"recorded\); no a\.f0\.csv\.json beside it; its settings are unknown, so it is not "
        r"done; recompute with --overwrite",
    ):
        predict_files([tmp_path / "in"], out, extractor=tiny)
    summary = predict_files([tmp_path / "in"], out, extractor=tiny, overwrite=True)
    assert len(summary.written) == 1
    assert read_features(out / "a.f0.csv").settings == tiny.recorded_settings("pitch", 16000)
    assert len(predict_files([tmp_path / "in"], out, extractor=tiny).skipped) == 1


def test_extractor_and_options_are_exclusive(tmp_path: Path, tiny: Extractor) -> None:
    with pytest.raises(ParameterError, match=r"pass either extractor= or the options"):
        predict_files([tmp_path], tmp_path / "out", extractor=tiny, capacity="tiny")


# ------------------------------------------------------------------ discovery and sharding


def _rel(jobs: list[Job]) -> list[str]:
    return [job.relative.as_posix() for job in jobs]


def test_discover_directories_globs_files_and_file_list(tmp_path: Path) -> None:
    for name in [
        "d/a.wav",
        "d/sub/b.FLAC",
        "d/.hidden.wav",
        "d/.cache/c.wav",
        "d/notes.txt",
        "e/x.ogg",
        "e/y.wav",
        "far/z.wav",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    (tmp_path / "e" / "list.txt").write_text("# corpus\ny.wav\n\n../far/z.wav\n")
    assert _rel(discover([tmp_path / "d"])) == ["a.wav", "sub/b.FLAC"]
    assert _rel(discover([f"{tmp_path}/e/*.ogg"])) == ["x.ogg"]
    assert _rel(discover([f"{tmp_path}/**/*.wav"])) == ["d/a.wav", "e/y.wav", "far/z.wav"]
    assert _rel(discover([tmp_path / "d" / "notes.txt"])) == ["notes.txt"]  # named: taken
    assert _rel(discover(file_list=tmp_path / "e" / "list.txt")) == ["y.wav", "z.wav"]
    assert _rel(discover([tmp_path / "d"], extensions=["wav"])) == ["a.wav"]
    # the same file twice is processed once
    assert len(discover([tmp_path / "d", tmp_path / "d" / "a.wav"])) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing"], r"missing: no such file or directory"),
        (["*.nothing"], r"\*\.nothing: the pattern matches no audio files"),
        ([], r"no input files: give audio files, directories, glob patterns or --file-list"),
    ],
)
def test_discover_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError, match=message):
        discover(args)


def test_unreadable_file_list(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"--file-list .*none\.txt: cannot read"):
        discover(file_list=tmp_path / "none.txt")


def test_outputs_that_would_collide_are_refused(tmp_path: Path) -> None:
    write_tone(tmp_path / "in" / "a.wav", 220.0, 0.1, 8000)
    write_tone(tmp_path / "in" / "a.flac", 220.0, 0.1, 8000)
    with pytest.raises(ParameterError, match=r"a\.flac and .*a\.wav would both write a\.f0\.csv"):
        predict_files([tmp_path / "in"], tmp_path / "out", capacity="tiny", pretrained=False)


@given(st.integers(0, 60), st.integers(1, 7))
def test_shards_cover_every_item_once(n: int, count: int) -> None:
    items = [Job(Path(str(i)), PurePath(str(i))) for i in range(n)]
    parts = [shard(items, i, count) for i in range(count)]
    flat = [job for part in parts for job in part]
    assert sorted(flat, key=lambda j: int(j.source.name)) == items
    assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1


@pytest.mark.parametrize("text", ["3/3", "1", "a/b", "-1/2", "0/0"])
def test_bad_shards(text: str) -> None:
    with pytest.raises(ParameterError, match=r"--shard must be I/N with 0 <= I < N"):
        parse_shard(text)


def test_rank_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert env_rank() == (0, 1)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert env_rank() == (1, 3)
    monkeypatch.setenv("RANK", "3")
    with pytest.raises(ParameterError, match=r"RANK='3' and WORLD_SIZE=3 do not describe"):
        env_rank()
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ParameterError, match=r"WORLD_SIZE='two' is not a non-negative integer"):
        env_rank()


def test_shard_and_ranks_combine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny: Extractor
) -> None:
    make_tree(tmp_path / "in", 12)
    monkeypatch.setenv("WORLD_SIZE", "2")
    done: list[str] = []
    for index in range(3):
        for rank in range(2):
            monkeypatch.setenv("RANK", str(rank))
            summary = predict_files(
                [tmp_path / "in"], tmp_path / "out", shard_index=(index, 3), extractor=tiny
            )
            assert (summary.rank, summary.world) == (rank, 2)
            done += [os.fspath(p) for p in summary.written]
    assert len(done) == len(set(done)) == 12
