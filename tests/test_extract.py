"""Library behind the CLI: Extractor equals the transforms on whole files, block decoding equals
CrepeDecode, output files, discovery and sharding."""

from __future__ import annotations

import math
import os
from pathlib import Path, PurePath

import numpy as np
import pytest
import torch
from _cli_audio import make_tree, write_noise, write_tone
from hypothesis import given
from hypothesis import strategies as st

from crepe_transforms import CrepeEmbedding, ParameterError
from crepe_transforms.audio import load
from crepe_transforms.corpus import Job, discover, env_rank, parse_shard, shard
from crepe_transforms.extract import Extractor, hop_length_for, predict_file, predict_files
from crepe_transforms.outputs import Features, atomic_write, read_csv, write_features
from crepe_transforms.pitch import CrepeDecode, CrepePitch
from crepe_transforms.stream import BlockDecoder

SMALL = {"chunk_size": 8, "block_frames": 24, "pretrained": False}


def same_network(module: torch.nn.Module, extractor: Extractor) -> torch.nn.Module:
    """Give ``module``'s CREPE network the extractor's (random-init) weights."""
    module.activation.load_state_dict(extractor.network.state_dict())  # type: ignore[operator]
    return module


@pytest.fixture(scope="module")
def tiny() -> Extractor:
    return Extractor("tiny", **SMALL)  # type: ignore[arg-type]


# ------------------------------------------------------------------ equal to the transforms


@pytest.mark.parametrize(("sr", "hop"), [(8000, None), (16000, 137), (44100, None)])
@pytest.mark.parametrize("decoder", ["viterbi", "weighted_argmax"])
def test_pitch_of_a_file_equals_crepe_pitch_on_the_whole_signal(
    tmp_path: Path, sr: int, hop: int | None, decoder: str
) -> None:
    path = write_noise(tmp_path / "n.wav", 0.6, sr, seed=sr)
    extractor = Extractor("tiny", hop=hop, decoder=decoder, threshold=0.1, **SMALL)  # type: ignore[arg-type]
    result = extractor.pitch(path)
    audio, _ = load(path)
    model = CrepePitch(
        sr,
        "tiny",
        extractor.framer(sr).hop_length,
        decoder,
        threshold=0.1,
        chunk_size=8,
        pretrained=False,
    )
    with torch.no_grad():
        expected = same_network(model, extractor)(audio)
    # equal_nan: both mark the same frames unvoiced
    assert torch.equal(result["periodicity"], expected.periodicity)
    assert torch.allclose(result["frequency"], expected.frequency, rtol=0, atol=0, equal_nan=True)
    assert torch.equal(result["voiced"], expected.periodicity >= 0.1)
    assert torch.equal(result.time, model.frames.frame_times(expected.frequency.shape[-1]))


def test_channels_kept_equal_each_channel_alone(tmp_path: Path) -> None:
    path = write_noise(tmp_path / "st.wav", 0.25, 22050, channels=2)
    extractor = Extractor("tiny", mono=False, **SMALL)  # type: ignore[arg-type]
    result = extractor.activation(path)
    audio, _ = load(path, mono=False)
    model = same_network(CrepePitch(22050, "tiny", chunk_size=8, pretrained=False), extractor)
    with torch.no_grad():
        expected = torch.stack([model.activations(channel) for channel in audio])
    assert result["activation"].shape == (2, 26, 360)
    assert torch.equal(result["activation"], expected)


@pytest.mark.parametrize("layout", ["torchcrepe", "channels"])
def test_embedding_of_a_file_equals_crepe_embedding(tmp_path: Path, layout: str) -> None:
    path = write_noise(tmp_path / "n.wav", 0.5, 44100)
    extractor = Extractor("tiny", layout=layout, **SMALL)  # type: ignore[arg-type]
    result = extractor.embedding(path)
    audio, _ = load(path)
    model = CrepeEmbedding(44100, "tiny", layout=layout, chunk_size=8, pretrained=False)
    with torch.no_grad():
        expected = same_network(model, extractor)(audio)
    assert torch.equal(result["embedding"], expected)
    assert result.attributes["layout"] == layout


@pytest.mark.parametrize(
    ("method", "hmm", "fmin", "fmax"),
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
    method: str,
    hmm: str,
    fmin: float | None,
    fmax: float | None,
    spill_bytes: int,
    shape: tuple[int, ...],
) -> None:
    decoder = CrepeDecode(method, fmin, fmax, hmm)
    gen = torch.Generator().manual_seed(1)
    activation = torch.rand(*shape, 150, 360, generator=gen) ** 4
    blocks = BlockDecoder(decoder, shape, 150, spill_bytes=spill_bytes)
    for start in range(0, 150, 32):
        blocks.add(start, activation[..., start : start + 32, :])
    expected, got = decoder(activation), blocks.finish()
    assert torch.equal(got.frequency, expected.frequency)
    assert torch.equal(got.periodicity, expected.periodicity)


def test_block_decoder_checks_order_and_count() -> None:
    blocks = BlockDecoder(CrepeDecode(), (), 10)
    with pytest.raises(ParameterError, match=r"blocks must arrive in order: expected 0, got 5"):
        blocks.add(5, torch.rand(5, 360))
    blocks.add(0, torch.rand(5, 360))
    with pytest.raises(ParameterError, match=r"5 of 10 frames were added"):
        blocks.finish()


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


@pytest.mark.parametrize(
    ("hop", "message"),
    [
        ("ten", r"hop='ten' is not a hop: give milliseconds like '10ms'"),
        ("0.001ms", r"hop='0\.001ms' is less than one sample at 16000 Hz"),
        ("0", r"hop must be a positive integer number of samples or a duration, got '0'"),
        ("2.5", r"hop must be a positive integer"),
    ],
)
def test_bad_hops(hop: str, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        hop_length_for(hop, 16000)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threshold": 1.5}, r"threshold must be a periodicity in \[0, 1\] or None, got 1\.5"),
        ({"device": "gpu0"}, r"device='gpu0' is not a torch device"),
        ({"precision": "int8"}, r"precision='int8' is not supported"),
        ({"layout": "flat"}, r"layout='flat' is not supported"),
        ({"decoder": "mean"}, r"decoder='mean' is not supported"),
        ({"block_frames": 0}, r"block_frames must be a positive integer"),
        ({"hop": "x"}, r"hop='x' is not a hop"),
    ],
)
def test_bad_extractor_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        Extractor("tiny", pretrained=False, **options)  # type: ignore[arg-type]


def test_bfloat16_network_gives_float32_outputs_close_to_float32(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "t.wav", 220.0, 0.3, 16000)
    full = Extractor("tiny", **SMALL)  # type: ignore[arg-type]
    half = Extractor("tiny", precision="bfloat16", **SMALL)  # type: ignore[arg-type]
    half.network.load_state_dict(full.network.state_dict())  # copies, casting to bfloat16
    full_act, half_act = full.activation(path)["activation"], half.activation(path)["activation"]
    assert half_act.dtype == torch.float32
    # bfloat16 keeps 8 bits of mantissa: activations move by a few 1e-2 at most
    assert float((half_act - full_act).abs().max()) < 0.1


def test_predict_file_returns_features_with_settings(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "t.wav", 220.0, 0.2, 8000)
    result = predict_file(path, capacity="tiny", threshold=0.3, fmin=50.0, pretrained=False)
    assert result.kind == "pitch"
    assert (result.sample_rate, result.hop_length, result.num_frames) == (8000, 80, 21)
    record = result.record()
    assert sorted(record) == sorted(
        [
            "time",
            "frequency",
            "periodicity",
            "voiced",
            "sample_rate",
            "hop_length",
            "kind",
            "source",
            "capacity",
            "precision",
            "normalization",
            "channels",
            "decoder",
            "fmin",
            "threshold",
        ]
    )
    assert record["threshold"] == 0.3


# ------------------------------------------------------------------ output files


def _features(frequency: list[float], periodicity: list[float], **arrays: torch.Tensor) -> Features:
    f = torch.tensor(frequency)
    return Features(
        Path("a.wav"),
        "pitch",
        100,
        1,
        torch.arange(f.shape[-1]) / 100.0,
        {"frequency": f, "periodicity": torch.tensor(periodicity), **arrays},
        {"capacity": "tiny"},
    )


def test_csv_rows_header_and_unvoiced_cells(tmp_path: Path) -> None:
    voiced = torch.tensor([True, False])
    target = write_features(
        _features([220.0, math.nan], [0.9, 0.1], voiced=voiced), tmp_path / "a.csv", "csv"
    )
    assert target.read_text().splitlines() == [
        "time,frequency,periodicity,voiced",
        "0.000000,220.0000,0.900000,1",
        "0.010000,,0.100000,0",
    ]
    columns = read_csv(target)
    np.testing.assert_array_equal(columns["frequency"], [220.0, math.nan])


def test_csv_with_channels_has_a_channel_column(tmp_path: Path) -> None:
    features = _features([[100.0, 110.0], [200.0, 210.0]], [[0.5, 0.6], [0.7, 0.8]])
    lines = write_features(features, tmp_path / "c.csv", "csv").read_text().splitlines()
    assert lines == [
        "time,channel,frequency,periodicity",
        "0.000000,0,100.0000,0.500000",
        "0.010000,0,110.0000,0.600000",
        "0.000000,1,200.0000,0.700000",
        "0.010000,1,210.0000,0.800000",
    ]


def test_npz_and_pt_hold_arrays_and_settings(tmp_path: Path) -> None:
    features = _features([220.0, 221.0], [0.9, 0.8])
    npz = np.load(write_features(features, tmp_path / "a.npz", "npz"))
    pt = torch.load(write_features(features, tmp_path / "a.pt", "pt"), weights_only=True)
    for record in (npz, pt):
        assert sorted(record) == [
            "capacity",
            "frequency",
            "hop_length",
            "kind",
            "periodicity",
            "sample_rate",
            "source",
            "time",
        ]
    np.testing.assert_array_equal(npz["frequency"], [220.0, 221.0])
    assert str(npz["capacity"]) == "tiny"
    assert torch.equal(pt["periodicity"], torch.tensor([0.9, 0.8]))
    assert (pt["sample_rate"], pt["kind"]) == (100, "pitch")


def test_csv_only_for_pitch(tmp_path: Path) -> None:
    activation = Features(
        Path("a"), "activation", 1, 1, torch.zeros(1), {"activation": torch.zeros(1, 360)}
    )
    with pytest.raises(ParameterError, match=r"format 'csv' is not available for activation"):
        write_features(activation, tmp_path / "a.csv", "csv")


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
    atomic_write(target, lambda fh: fh.write(b"old"))
    atomic_write(target, lambda fh: fh.write(b"new"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x[1].csv"]
    assert target.read_bytes() == b"new"


# ------------------------------------------------------------------ discovery and sharding


def _rel(jobs: list[Job]) -> list[str]:
    return [job.relative.as_posix() for job in jobs]


def test_discover_directories_globs_files_and_manifest(tmp_path: Path) -> None:
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
    assert _rel(discover(manifest=tmp_path / "e" / "list.txt")) == ["y.wav", "z.wav"]
    assert _rel(discover([tmp_path / "d"], extensions=["wav"])) == ["a.wav"]
    # the same file twice is processed once
    assert len(discover([tmp_path / "d", tmp_path / "d" / "a.wav"])) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing"], r"missing: no such file or directory"),
        (["*.nothing"], r"\*\.nothing: the pattern matches no audio files"),
        ([], r"no input files: give audio files, directories, glob patterns or --manifest"),
    ],
)
def test_discover_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError, match=message):
        discover(args)


def test_unreadable_manifest(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"--manifest .*none\.txt: cannot read"):
        discover(manifest=tmp_path / "none.txt")


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
