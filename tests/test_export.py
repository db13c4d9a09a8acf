"""Exports: ONNX files run in onnxruntime and torch.export programs match the eager transforms.

Bars (issue 15): the exported network within the fixture bar of the original CREPE
activations (max |Δ| < 1e-5), for tiny and full; the exported whole path within 1e-3 relative
of the eager ``CrepePitch`` f0 (float rounding of the frames' normalisation and of the
convolutions only), for several batch sizes and lengths.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from crepe_transforms import CrepeFrames, CrepePitch, ParameterError
from crepe_transforms.cli._export import add_export_command
from crepe_transforms.export import (
    NetworkGraph,
    PitchGraph,
    export_network,
    export_pitch,
    frame_audio,
    normalize_rows,
)

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

SHAPES = [(1, 1), (1, 159), (2, 8000), (3, 16077)]


def _session(path: Path) -> Any:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _audio(batch: int, time: int) -> torch.Tensor:
    t = torch.arange(time) / 16000
    rows = [0.5 * torch.sin(2 * torch.pi * (110 + 90 * b) * t) for b in range(batch)]
    noise = 0.01 * torch.randn(batch, time, generator=torch.Generator().manual_seed(time))
    return torch.stack(rows) + noise


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("exports")


@pytest.fixture(scope="module")
def tiny_onnx(folder: Path) -> Path:
    return export_network(folder / "tiny.onnx", "tiny").path


@pytest.fixture(scope="module")
def pitch_onnx(folder: Path) -> Path:
    return export_pitch(folder / "tiny-pitch.onnx", "tiny").path


def _fixture_parity(path: Path, capacity: str, fixtures_dir: Path, step: int = 1) -> None:
    frames = np.load(fixtures_dir / "frames-crepe.npy")[::step]
    reference = np.load(fixtures_dir / f"activation-{capacity}.npy")[::step]
    (salience,) = _session(path).run(None, {"frames": frames})
    assert salience.shape == (len(range(0, 1001, step)), 360)
    # the fixture bar: float32 reordering of sums only
    assert float(np.abs(salience - reference).max()) < 1e-5


def test_tiny_network_onnx_matches_original_crepe(tiny_onnx: Path, fixtures_dir: Path) -> None:
    _fixture_parity(tiny_onnx, "tiny", fixtures_dir)


@pytest.mark.slow
def test_full_network_onnx_matches_original_crepe(folder: Path, fixtures_dir: Path) -> None:
    # every fourth fixture frame: full's direct convolutions cost ~3 GFLOP a frame in CI
    path = export_network(folder / "full.onnx", "full").path
    _fixture_parity(path, "full", fixtures_dir, step=4)


@pytest.mark.parametrize("count", [1, 2, 37])
def test_network_onnx_takes_any_number_of_frames(tiny_onnx: Path, count: int) -> None:
    frames = torch.randn(count, 1024, generator=torch.Generator().manual_seed(count))
    (salience,) = _session(tiny_onnx).run(None, {"frames": frames.numpy()})
    eager = NetworkGraph(_tiny()).network(frames)
    assert salience.shape == (count, 360)
    assert float(np.abs(salience - eager.numpy()).max()) < 1e-5


def _tiny() -> Any:
    from crepe_transforms import CrepeActivation

    return CrepeActivation("tiny")


def test_sidecar_and_checksum_describe_the_file(tiny_onnx: Path) -> None:
    digest = hashlib.sha256(tiny_onnx.read_bytes()).hexdigest()
    assert (tiny_onnx.parent / "tiny.onnx.sha256").read_text() == f"{digest}  tiny.onnx\n"
    sidecar = json.loads((tiny_onnx.parent / "tiny.onnx.json").read_text())
    assert sidecar["sha256"] == digest
    assert sidecar["graph"] == "network"
    assert sidecar["inputs"] == [
        {
            "name": "frames",
            "shape": ["N", 1024],
            "dtype": "float32",
            "description": "normalised 16 kHz frames, one per row (see framing)",
        }
    ]
    assert sidecar["outputs"][0]["shape"] == ["N", 360]
    assert sidecar["framing"]["frames"] == "1 + T // hop_length"
    assert sidecar["weights"]["capacity"] == "tiny"
    assert len(sidecar["weights"]["sha256"]) == 64
    session = _session(tiny_onnx)
    assert [i.name for i in session.get_inputs()] == ["frames"]
    assert [o.name for o in session.get_outputs()] == ["salience"]


@pytest.mark.parametrize(("batch", "time"), SHAPES)
def test_pitch_onnx_matches_eager(pitch_onnx: Path, batch: int, time: int) -> None:
    audio = _audio(batch, time)
    f0, periodicity = _session(pitch_onnx).run(None, {"audio": audio.numpy()})
    eager = CrepePitch(16000, "tiny", decoder="weighted_argmax")(audio)
    assert f0.shape == periodicity.shape == (batch, 1 + time // 160)
    assert float(np.abs(f0 / eager.f0.numpy() - 1).max()) < 1e-3
    assert float(np.abs(periodicity - eager.periodicity.numpy()).max()) < 1e-4


def test_pitch_program_matches_eager(folder: Path) -> None:
    record = export_pitch(
        folder / "argmax.pt2", "tiny", format="pt2", decoder="argmax", hop_length=256, fmin=60.0
    )
    program = torch.export.load(str(record.path)).module()
    eager = CrepePitch(16000, "tiny", decoder="argmax", hop_length=256, fmin=60.0)
    for batch, time in SHAPES:
        audio = _audio(batch, time)
        f0, periodicity = program(audio)
        reference = eager(audio)
        assert f0.shape == (batch, 1 + time // 256)
        assert float((f0 / reference.f0 - 1).abs().max()) < 1e-3
        assert float((periodicity - reference.periodicity).abs().max()) < 1e-4
    assert record.description["decoder"] == "argmax"
    assert record.description["outputs"][0]["shape"] == ["B", "1 + T // 256"]


def test_network_program_runs_any_count(folder: Path) -> None:
    record = export_network(folder / "tiny.pt2", "tiny", format="pt2")
    program = torch.export.load(str(record.path)).module()
    eager = NetworkGraph(_tiny())
    for count in (1, 5, 130):
        frames = torch.randn(count, 1024, generator=torch.Generator().manual_seed(count))
        assert float((program(frames) - eager(frames)).abs().max()) < 1e-5


def test_exportable_framing_equals_crepe_frames() -> None:
    audio = _audio(2, 5000)
    frames = normalize_rows(frame_audio(audio, 160))
    reference = CrepeFrames(16000)(audio)
    assert frames.shape == reference.shape
    assert float((frames - reference).abs().max()) < 1e-5


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"decoder": "viterbi"}, "does not export"),
        ({"sample_rate": 44100}, "takes 16000 Hz audio"),
        ({"hop": 10}, "no option 'hop'"),
        ({"format": "tflite"}, "format='tflite' is not supported"),
    ],
)
def test_bad_pitch_exports(folder: Path, options: dict[str, Any], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        export_pitch(folder / "bad.onnx", "tiny", **options)
    assert not (folder / "bad.onnx").exists()


def test_pitch_graph_refuses_other_rates() -> None:
    from crepe_transforms import CrepeActivation

    with pytest.raises(ParameterError, match="starts from 16000 Hz audio"):
        PitchGraph(CrepeFrames(22050), CrepeActivation("tiny", pretrained=False))


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="crepe-transforms")
    add_export_command(parser.add_subparsers(dest="command", required=True))
    try:
        args = parser.parse_args(argv)
        args.check(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    status: int = args.handler(args)
    return status


def test_cli_writes_the_files(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = folder / "cli" / "pitch.onnx"
    target.parent.mkdir()
    status = _cli(
        ["export", "--capacity", "tiny", "--graph", "pitch", "--hop", "320", "-o", str(target)]
    )
    assert status == 0
    assert sorted(p.name for p in target.parent.iterdir()) == [
        "pitch.onnx",
        "pitch.onnx.json",
        "pitch.onnx.sha256",
    ]
    assert (
        json.loads(target.with_name("pitch.onnx.json").read_text())["framing"]["hop_length"] == 320
    )
    out = capsys.readouterr().out
    assert f"wrote {target} (onnx, sha256 " in out


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--decoder", "viterbi"], "invalid choice: 'viterbi'"),
        (["--graph", "network", "--hop-length", "80"], "only for --graph pitch"),
        (["--graph", "pitch", "--fmin", "900", "--fmax", "100"], "must be lower than"),
        (["--format", "tflite"], "invalid choice: 'tflite'"),
        # issue 22 item 15: ONNX was written under a .pt2 name, and names without a suffix
        (
            ["--format", "pt2"],
            "argument -o/--output: {folder}/x.onnx: ends with '.onnx', but format='pt2' writes "
            ".pt2 files; use format='onnx' (--format onnx) for a .onnx file, or name it x.pt2.",
        ),
    ],
)
def test_cli_usage_errors(
    folder: Path, argv: list[str], match: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["export", "-o", str(folder / "x.onnx"), *argv]) == 2
    assert match.format(folder=folder) in capsys.readouterr().err


def test_cli_export_names_hop_and_folder_like_the_other_commands(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # issue 22 items 5 and 15: `--hop-length 10ms` was refused (pitch and plot take it), a
    # missing folder was refused (plot creates it), a name without a suffix was accepted
    assert _cli(["export", "-o", str(folder / "noext"), "--format", "pt2"]) == 2
    assert "noext: has no suffix, but format='pt2' writes .pt2 files; name it noext.pt2." in (
        capsys.readouterr().err
    )
    target = folder / "made" / "here" / "p.pt2"
    argv = ["export", "--capacity", "tiny", "--graph", "pitch", "--hop-length", "20ms"]
    assert _cli([*argv, "-o", str(target)]) == 0
    sidecar = json.loads(target.with_name("p.pt2.json").read_text())
    assert sidecar["framing"]["hop_length"] == 320
    assert sidecar["format"]["name"] == "pt2"


def _speech_like(rate: int, seconds: float) -> np.ndarray:
    """A gliding harmonic tone with silence in the middle (voiced and unvoiced frames)."""
    t = np.arange(round(rate * seconds)) / rate
    f0 = 150 + 60 * t
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 4)) * 0.3
    x[(t > 0.3) & (t < 0.45)] = 0.0
    return x.astype(np.float32)


@pytest.mark.parametrize(("graph", "rate"), [("network", 22050), ("pitch", 44100)])
def test_the_sidecar_alone_reproduces_crepe_pitch(
    tiny_onnx: Path, pitch_onnx: Path, tmp_path: Path, graph: str, rate: int
) -> None:
    # issue 22 item 7: the sidecar did not say that the graph decides no voicing, which
    # resampler other rates need, or the rule that turns salience into f0. A script that reads
    # only the .onnx and its .json (examples/onnx_from_sidecar.py: numpy, onnxruntime,
    # resampy, no crepe_transforms) must reproduce CrepePitch.
    import shutil
    import sys

    soundfile = pytest.importorskip("soundfile")
    pytest.importorskip("resampy")
    alone = tmp_path / "deploy"
    alone.mkdir()
    exported = tiny_onnx if graph == "network" else pitch_onnx
    model = alone / exported.name
    shutil.copy(exported, model)  # the graph and its sidecar only
    shutil.copy(exported.with_name(exported.name + ".json"), alone)
    audio = _speech_like(rate, 0.6)
    soundfile.write(tmp_path / "take.wav", audio, rate, subtype="FLOAT")
    script = Path(__file__).resolve().parents[1] / "examples" / "onnx_from_sidecar.py"
    out = tmp_path / "take.csv"
    done = subprocess.run(
        [sys.executable, "-I", str(script), str(model), str(tmp_path / "take.wav"), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # -I and another folder: the script cannot import the package
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    eager = CrepePitch(rate, "tiny", decoder="weighted_argmax", voicing=0.5)
    f0, periodicity = (x.numpy() for x in eager(torch.from_numpy(audio)))
    assert table.shape == (len(f0), 3)
    np.testing.assert_allclose(table[:, 0], np.arange(len(f0)) * (rate // 100) / rate, atol=1e-9)
    np.testing.assert_allclose(table[:, 2], periodicity, atol=1e-4)
    clear = np.abs(periodicity - 0.5) > 1e-3  # frames not on the threshold decide alike
    assert clear.mean() > 0.9
    np.testing.assert_array_equal(np.isnan(table[clear, 1]), np.isnan(f0[clear]))
    voiced = clear & ~np.isnan(f0)
    assert 0.3 < voiced.mean() < 0.95  # both voiced and unvoiced frames are compared
    assert float(np.abs(table[voiced, 1] / f0[voiced] - 1).max()) < 1e-3
    sidecar = json.loads(model.with_name(model.name + ".json").read_text())
    assert sidecar["voicing"]["in_graph"] is False
    assert 1900 < sidecar["voicing"]["silence"]["f0_hz"] < 2010  # what silence gives
    assert "resampy.resample" in sidecar["resampling"]["python"]


def test_exported_files_get_the_mode_of_every_other_output(tiny_onnx: Path) -> None:
    # issue 22 item 6: .onnx/.json/.sha256 were 0600 whatever the umask (mkstemp's mode), so a
    # model copied into a container for another user could not be read.
    import os

    umask = os.umask(0)
    os.umask(umask)
    for name in ("tiny.onnx", "tiny.onnx.json", "tiny.onnx.sha256"):
        mode = (tiny_onnx.parent / name).stat().st_mode & 0o777
        assert mode == 0o666 & ~umask, (name, oct(mode))
