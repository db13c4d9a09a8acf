"""``crepe-transforms pitch | activation | embedding | plot``: real subprocesses for the key
paths (a file, bad files, a kill and a resume, torchrun with 2 processes, file names that are
not UTF-8), ``main([...])`` in-process for the rest. These use the published tiny weights (the
``weights`` extra)."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from _cli_audio import (
    cli,
    make_tree,
    no_samples,
    not_audio,
    outputs,
    truncated_wav,
    write_tone,
    zero_bytes,
)

from crepe_transforms.cli import main
from crepe_transforms.cli._options import emit_line
from crepe_transforms.io import read_features
from crepe_transforms.io._formats import read_csv

TINY = ("--capacity", "tiny")


def check_pitch_csv(path: Path, f0: float, sr: int, samples: int) -> None:
    """One row per frame at the right times, and the tone's pitch (real tiny weights)."""
    table = read_csv(path)
    hop = sr // 100
    frames = 1 + samples // hop
    # voicing="auto" is the command line's default: every output carries the decision
    assert list(table) == ["time", "f0", "periodicity", "voiced"]
    np.testing.assert_allclose(table["time"], np.arange(frames) * hop / sr, atol=5e-7)
    voiced = table["voiced"] == 1
    # A steady tone is voiced (edges may not be). Items under 0.2 s are all edges to the voicing
    # head, which reads how the level moves over 100 ms around a frame (docs/voicing.md, limits).
    assert voiced.mean() > (0.9 if frames >= 20 else 0.5)
    np.testing.assert_array_equal(np.isnan(table["f0"]), ~voiced)
    cents = 1200 * np.abs(np.log2(table["f0"][voiced] / f0))
    assert float(np.median(cents)) < 50  # half a semitone; measured medians are below 7


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # exited meanwhile
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for(condition, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the run to make progress")
        time.sleep(0.01)


# ------------------------------------------------------------------ real subprocesses


def test_pitch_of_one_file_in_a_subprocess(tmp_path: Path) -> None:
    write_tone(tmp_path / "in" / "tone.wav", 196.0, 0.5, 22050)
    done = cli("pitch", "in/tone.wav", "-o", "out", *TINY, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(
        "1 file: 1 written, 0 skipped (done before), 0 failed; 51 frames in "
        + done.stdout.split("51 frames in ")[1].strip()
    )
    assert done.stderr == ""
    check_pitch_csv(tmp_path / "out" / "tone.f0.csv", 196.0, 22050, 11025)


def test_bad_files_are_one_line_each_and_the_run_goes_on(tmp_path: Path) -> None:
    write_tone(tmp_path / "in" / "good.wav", 220.0, 0.2, 16000)
    zero_bytes(tmp_path / "in" / "empty.wav")
    no_samples(tmp_path / "in" / "silent.wav")
    truncated_wav(tmp_path / "in" / "cut.wav")
    not_audio(tmp_path / "in" / "text.flac")
    done = cli("pitch", "in", "-o", "out", *TINY, cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert sorted(lines) == [
        "crepe-transforms: error: in/cut.wav: truncated WAV: the header announces 16000 bytes of "
        "audio but only 7978 are present (50 %); re-copy or re-export the file",
        "crepe-transforms: error: in/empty.wav: the file is empty (0 bytes); it holds no audio: "
        "re-copy or re-export it",
        "crepe-transforms: error: in/silent.wav: holds no audio (a valid WAV header with 0 "
        "samples); re-export it or leave it out",
        "crepe-transforms: error: in/text.flac: not a readable audio file (format not "
        f"recognised); convert it to a format libsndfile {lines[-1].split('libsndfile ')[1]}",
    ]
    assert "5 files: 1 written, 0 skipped (done before), 4 failed" in done.stdout
    assert outputs(tmp_path / "out").keys() == {"good.f0.csv"}


def test_kill_mid_run_then_resume(tmp_path: Path) -> None:
    for i in range(24):
        write_tone(tmp_path / "in" / f"part{i // 8}" / f"{i:02d}.wav", 150.0 + 5 * i, 0.3, 16000)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "crepe_transforms", "pitch", "in", "-o", "out", *TINY]
    run = subprocess.Popen(
        command,
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: len(outputs(out)) >= 3)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    first = outputs(out)
    assert 3 <= len(first) < 24  # killed mid-run
    for name in first:  # what exists is complete: atomic writes
        i = int(Path(name).stem.split(".")[0])
        check_pitch_csv(out / name, 150.0 + 5 * i, 16000, 4800)
    resumed = cli("pitch", "in", "-o", "out", *TINY, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"24 files: {24 - len(first)} written, {len(first)} skipped" in resumed.stdout
    final = outputs(out)
    assert len(final) == 24
    assert {name: final[name] for name in first} == first  # not rewritten
    assert sorted(p.name for p in out.rglob("*.tmp")) == []  # leftovers of the kill removed
    assert len(list(out.rglob("*.f0.csv.json"))) == 24  # every output records its settings
    # No corrupt output: every file parses, and the killed-then-resumed tree is byte for byte
    # the tree of one clean, uninterrupted run.
    clean = cli("pitch", "in", "-o", "clean", *TINY, cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr
    assert outputs(tmp_path / "clean").keys() == final.keys()
    for name in final:
        assert len(read_csv(out / name)["time"]) == 1 + 4800 // 160, name
        assert (out / name).read_bytes() == (tmp_path / "clean" / name).read_bytes(), name
        sidecar = f"{name}.json"
        assert (out / sidecar).read_bytes() == (tmp_path / "clean" / sidecar).read_bytes()


def test_torchrun_two_processes_killed_and_resumed(tmp_path: Path) -> None:
    # Enough work that the kill always lands mid-run, even on an idle machine.
    n = 40
    for i in range(n):
        write_tone(tmp_path / "in" / f"{i:02d}.wav", 150.0 + 5 * i, 0.5, 16000)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "crepe_transforms",
        "pitch",
        "in",
        "-o",
        "out",
        *TINY,
        "--verbose",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: len(outputs(out)) >= 4)
    # torchrun starts each worker in its own session: kill -9 the workers, then the agent
    workers = children(run.pid)
    assert len(workers) == 2, f"torchrun workers found: {workers}"
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    wait_for(lambda: not any(alive(pid) for pid in workers))
    first = outputs(out)
    assert 4 <= len(first) < n, f"{len(first)} outputs before the kill"
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    written: dict[int, set[str]] = {0: set(), 1: set()}
    for rank, name in re.findall(r"\[rank (\d)/2\]: wrote out/(\S+)", done.stdout):
        written[int(rank)].add(name)
    assert written[0].isdisjoint(written[1])  # no file twice
    assert written[0] | written[1] | set(first) == set(outputs(out))  # none missed
    assert len(outputs(out)) == n
    reports = re.findall(r"\[rank (\d)/2\]: (\d+) files: (\d+) written, (\d+) skipped", done.stdout)
    assert sorted(int(r[0]) for r in reports) == [0, 1]
    assert sum(int(r[1]) for r in reports) == n
    assert sum(int(r[2]) for r in reports) == n - len(first)
    assert (
        f"crepe-transforms: total over 2 ranks: {n} files: {n - len(first)} written, "
        f"{len(first)} skipped (done before), 0 failed" in done.stdout
    )


# ------------------------------------------------------------------ in-process


def test_two_hundred_files_three_broken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, out = tmp_path / "corpus", tmp_path / "out"
    files = make_tree(src, 197)
    broken = [
        zero_bytes(src / "speaker2" / "empty.wav"),
        truncated_wav(src / "speaker4" / "session1" / "cut.wav"),
        not_audio(src / "notes.flac"),
    ]
    assert main(["pitch", str(src), "-o", str(out), *TINY]) == 1
    first = capsys.readouterr()
    errors = first.err.splitlines()
    assert len(errors) == 3
    assert sorted(line.split(": ")[2] for line in errors) == sorted(str(p) for p in broken)
    assert "Traceback" not in first.err
    assert "200 files: 197 written, 0 skipped (done before), 3 failed" in first.out
    made = outputs(out)
    assert len(made) == 197
    for item in files:
        relative = item.path.relative_to(src).with_suffix("").as_posix() + ".f0.csv"
        check_pitch_csv(out / relative, item.f0, item.sr, item.samples)
    # a second run writes nothing new
    assert main(["pitch", str(src), "-o", str(out), *TINY]) == 1
    second = capsys.readouterr()
    assert "200 files: 0 written, 197 skipped (done before), 3 failed" in second.out
    assert len(second.err.splitlines()) == 3
    assert outputs(out) == made
    others = [p for p in out.rglob("*") if p.is_file() and p.suffix != ".csv"]
    assert sorted(p.name for p in others) == sorted(f"{p.name}.json" for p in out.rglob("*.csv"))


def test_overwrite_shard_quiet_and_verbose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_tree(tmp_path / "in", 6)
    seen: list[str] = []
    for index in range(3):
        assert (
            main(
                [
                    "pitch",
                    str(tmp_path / "in"),
                    "-o",
                    str(tmp_path / "out"),
                    *TINY,
                    "--shard",
                    f"{index}/3",
                    "-v",
                ]
            )
            == 0
        )
        seen += re.findall(r"wrote (\S+)", capsys.readouterr().out)
    assert len(seen) == len(set(seen)) == 6
    before = outputs(tmp_path / "out")
    assert main(["pitch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *TINY, "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert (
        main(["pitch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *TINY, "--overwrite"])
        == 0
    )
    assert "6 files: 6 written, 0 skipped" in capsys.readouterr().out
    after = outputs(tmp_path / "out")
    assert after.keys() == before.keys()
    assert all(after[k] > before[k] for k in before)


def test_formats_channels_activation_and_embed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tone(tmp_path / "in" / "st.wav", 220.0, 0.3, 16000, channels=2)
    base = [str(tmp_path / "in"), *TINY]
    assert (
        main(["pitch", *base, "-o", str(tmp_path / "p"), "--format", "npz", "--threshold", "0.3"])
        == 0
    )
    assert main(["pitch", *base, "-o", str(tmp_path / "c"), "--keep-channels"]) == 0
    assert main(["activation", *base, "-o", str(tmp_path / "a"), "--format", "pt"]) == 0
    assert main(["embedding", *base, "-o", str(tmp_path / "e")]) == 0
    assert main(["embed", *base, "-o", str(tmp_path / "e2"), "--layout", "channels"]) == 0
    capsys.readouterr()
    npz = np.load(tmp_path / "p" / "st.f0.npz")
    assert npz["f0"].shape == npz["voiced"].shape == (31,)
    assert json.loads(str(npz["settings"]))["voicing"] == 0.3  # --threshold is --voicing
    header = (tmp_path / "c" / "st.f0.csv").read_text().splitlines()[0]
    assert header == "time,channel,f0,periodicity,voiced"
    assert read_features(tmp_path / "c" / "st.f0.csv")["f0"].shape == (2, 31)
    act = torch.load(tmp_path / "a" / "st.activation.pt", weights_only=True)
    assert act["activation"].shape == (31, 360)
    assert "decoder" not in act["settings"]  # an activation does not depend on decoding
    assert np.load(tmp_path / "e" / "st.embedding.npz")["embedding"].shape == (31, 32, 8)
    assert read_features(tmp_path / "e2" / "st.embedding.npz")["embedding"].shape == (31, 32, 8)
    assert read_features(tmp_path / "e2" / "st.embedding.npz").settings["layout"] == "channels"


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["pitch", "-o", "out"], 2, r"give audio files, directories or --file-list"),
        (["pitch", "in", "-o", "out", "--shard", "2/2"], 2, r"--shard must be I/N with 0 <= I < N"),
        (
            ["pitch", "in", "-o", "out", "--hop", "ten"],
            2,
            r"--hop-length/--hop: hop_length='ten' is not",
        ),
        (["pitch", "nowhere", "-o", "out"], 1, r"nowhere: no such file or directory"),
        (["activation", "in", "-o", "out", "--format", "csv"], 2, r"invalid choice: 'csv'"),
        (["pitch", "in", "-o", "out", "--capacity", "huge"], 2, r"invalid choice: 'huge'"),
        (
            ["pitch", "in", "-o", "out", "--threshold", "2"],
            2,
            r"voicing must be None or a periodicity",
        ),
        (
            ["pitch", "in", "-o", "out", "--voicing", "x"],
            2,
            r"voicing must be None or a periodicity",
        ),
        # issue 13 item 7: a typo in --device was a runtime error (exit 1)
        (
            ["pitch", "in", "-o", "out", "--device", "cdua"],
            2,
            r"argument --device: device='cdua' is not a torch device\. Did you mean 'cuda'\?",
        ),
        (["pitch", "in", "-o", "out", "--batch-size", "0"], 2, r"--chunk-size must be a positive"),
        (["pitch", "in", "-o", "out", "--block-frames", "x"], 2, r"--block-frames must be a posit"),
        (["pitch", "in", "-o", "out", "--precision", "int8"], 2, r"precision='int8' is not supp"),
        (
            ["pitch", "in", "-o", "out", "--fmin", "900", "--fmax", "100"],
            2,
            r"--fmin/--fmax: fmin=",
        ),
        (["embedding", "in", "-o", "out", "--decoder", "argmax"], 2, r"unrecognized arguments"),
        # issue 13 item 7: plot -o x.txt printed a traceback, -o noext reported the wrong file
        (
            ["plot", "in/a.wav", "-o", "x.txt"],
            2,
            r"argument -o/--output: x\.txt: has the suffix '\.txt', which names no image "
            r"format; end the name with one of \.png, \.pdf, \.svg",
        ),
        (["plot", "in/a.wav", "-o", "noext"], 2, r"noext: has no suffix, which names no image"),
        (["plot", "in/a.wav", "-o", "a.png", "--duration", "0"], 2, r"--duration must be a num"),
    ],
)
def test_usage_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    status: int,
    message: str,
) -> None:
    write_tone(tmp_path / "in" / "a.wav", 220.0, 0.1, 16000)
    monkeypatch.chdir(tmp_path)
    assert main(args) == status
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_plot_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    wav = write_tone(tmp_path / "tone.wav", 220.0, 1.0, 22050)
    assert (
        main(
            [
                "plot",
                str(wav),
                "-o",
                str(tmp_path / "pic.png"),
                *TINY,
                "--start",
                "0.2",
                "--duration",
                "0.5",
                "--threshold",
                "0.5",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'pic.png'}"
    data = (tmp_path / "pic.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000  # a spectrogram, not an empty canvas


def test_plot_without_matplotlib_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wav = write_tone(tmp_path / "tone.wav", 220.0, 0.2, 16000)
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    assert main(["plot", str(wav), "-o", str(tmp_path / "pic.png"), *TINY]) == 1
    err = capsys.readouterr().err
    assert re.search(r'plotting needs matplotlib.*pip install "crepe-transforms\[plot\]"', err)
    assert not (tmp_path / "pic.png").exists()


def test_report_lines_are_one_write_each() -> None:
    # Ranks share one stdout pipe; under PYTHONUNBUFFERED, print() writes text and newline
    # separately and another rank's line can land in between (seen as "x.f0.csvcrepe-...").
    class Recorder(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[str] = []

        def write(self, s: str) -> int:
            self.calls.append(s)
            return super().write(s)

    stream = Recorder()
    emit_line("crepe-transforms [rank 1/2]: wrote out/26.f0.csv", stream)
    assert stream.calls == ["crepe-transforms [rank 1/2]: wrote out/26.f0.csv\n"]


# ------------------------------------------------------------------ issue 13


def test_resume_with_other_settings_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # item 3: 0.1 said "skipped (done before)" and exited 0 for outputs of another model
    write_tone(tmp_path / "d" / "a.wav", 220.0, 0.2, 16000)
    first = ["pitch", str(tmp_path / "d"), "-o", str(tmp_path / "o"), "--format", "npz"]
    assert main([*first, *TINY]) == 0
    made = outputs(tmp_path / "o", "*.npz")
    capsys.readouterr()
    assert main([*first, "--capacity", "full", "--decoder", "argmax"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"crepe-transforms: error: {tmp_path / 'o' / 'a.f0.npz'}: made ")
    assert "capacity 'tiny' → 'full', decoder 'viterbi' → 'argmax'" in lines[0]
    assert lines[0].endswith(
        "recompute with --overwrite (overwrite=True) or write to another output directory (-o)."
    )
    assert outputs(tmp_path / "o", "*.npz") == made  # nothing computed
    # settings that do not change the numbers do not count; --overwrite recomputes
    assert main([*first, *TINY, "--batch-size", "16", "--block-frames", "64"]) == 0
    assert "0 written, 1 skipped (done before)" in capsys.readouterr().out
    assert main([*first, *TINY, "--decoder", "argmax", "--overwrite"]) == 0
    assert "1 written, 0 skipped" in capsys.readouterr().out
    assert read_features(tmp_path / "o" / "a.f0.npz").settings["decoder"] == "argmax"


def test_file_names_that_are_not_utf8_are_processed_and_reported(tmp_path: Path) -> None:
    # item 7: such a name failed with "UnicodeEncodeError ... surrogates not allowed"
    folder = tmp_path / "in"
    write_tone(folder / os.fsdecode(b"caf\xe9.wav"), 220.0, 0.2, 16000)
    not_audio(folder / os.fsdecode(b"\xff.wav"))
    done = cli("pitch", "in", "-o", "out", *TINY, "-v", cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # the broken file, reported by name
    assert "Traceback" not in done.stderr
    assert "wrote out/caf\\xe9.f0.csv" in done.stdout
    assert done.stderr.startswith("crepe-transforms: error: in/\\xff.wav: not a readable audio")
    assert "2 files: 1 written, 0 skipped (done before), 1 failed" in done.stdout
    assert sorted(os.listdir(os.fsencode(tmp_path / "out"))) == [
        b"caf\xe9.f0.csv",
        b"caf\xe9.f0.csv.json",
    ]
    named = cli("pitch", os.fsdecode(b"in/caf\xe9.wav"), "-o", "out", *TINY, "-v", cwd=tmp_path)
    assert named.returncode == 0, named.stderr
    assert "exists out/caf\\xe9.f0.csv" in named.stdout


@pytest.mark.parametrize("suffix", [".svg", ".pdf"])
def test_plot_to_a_vector_format_stays_small(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    # item 2: a 2 s file gave a 2.66 GB SVG after 4 minutes; the spectrogram is a raster now
    pytest.importorskip("matplotlib")
    wav = write_tone(tmp_path / "tone.wav", 220.0, 2.0, 44100)
    target = tmp_path / f"pic{suffix}"
    assert main(["plot", str(wav), "-o", str(target), *TINY]) == 0
    assert capsys.readouterr().out == f"wrote {target}\n"
    size = target.stat().st_size
    assert 10_000 < size < 2_000_000, size
    head = target.read_bytes()[:200]
    assert (b"<svg" in head or b"<?xml" in head) if suffix == ".svg" else head[:5] == b"%PDF-"


def test_each_command_describes_its_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    # item 9: plot's --threshold described what pitch does with it
    helps = {}
    for command in ("pitch", "activation", "embedding", "embed", "plot"):
        assert main([command, "--help"]) == 0
        helps[command] = " ".join(capsys.readouterr().out.split())
    assert "auto (default: pauses, breath, room tone and reverberant tails" in helps["pitch"]
    assert "splits the solid contour (at or above it) from the faint dots" in helps["plot"]
    assert "voiced column" not in helps["plot"]
    assert "--voicing" not in helps["activation"]
    assert "--decoder" not in helps["activation"]
    assert "--layout" in helps["embedding"]
    assert helps["embed"] == helps["embedding"]
    for command in ("pitch", "activation", "embedding"):
        assert "--file-list FILE, --manifest FILE" in helps[command]
        assert "--chunk-size N, --batch-size N" in helps[command]
        assert "--hop-length HOP, --hop HOP" in helps[command]
    assert "--precision {fp32,bf16,fp16}" in helps["pitch"]
    assert "--spill-dir DIR" in helps["pitch"]
    assert "--spill-dir" not in helps["embedding"]
    # issue 22 item 15: activation and embedding decode nothing; plot draws one file
    assert "(decoding runs on the CPU)" in helps["pitch"]
    assert "decoding" not in helps["activation"].split("--device")[1].split("--")[0]
    assert "decoding" not in helps["embedding"].split("--device")[1].split("--")[0]
    assert "samples of the file's rate" in helps["plot"]
    assert "each file's rate" not in helps["plot"]


def test_precision_words_and_synonyms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tone(tmp_path / "in" / "a.wav", 220.0, 0.1, 16000)
    args = ["activation", str(tmp_path / "in"), *TINY, "--format", "pt", "-q"]
    assert main([*args, "-o", str(tmp_path / "a"), "--precision", "bfloat16"]) == 0
    record = torch.load(tmp_path / "a" / "a.activation.pt", weights_only=True)
    assert record["settings"]["precision"] == "bf16"
    assert record["activation"].dtype == torch.float32  # the network stays float32


def test_silence_says_unvoiced_and_voicing_none_leaves_the_column_out(tmp_path: Path) -> None:
    # issue 14: 0.1 wrote f0 ≈ 1965 Hz on every frame of a silent file, with no hint
    source = tmp_path / "in"
    source.mkdir()
    sf.write(source / "quiet.wav", np.zeros(16000, np.float32), 16000)
    assert main(["pitch", str(source), "-o", str(tmp_path / "a"), *TINY, "-q"]) == 0
    table = read_csv(tmp_path / "a" / "quiet.f0.csv")
    assert not table["voiced"].any()
    assert np.isnan(table["f0"]).all()
    assert (
        main(["pitch", str(source), "-o", str(tmp_path / "b"), *TINY, "-q", "--voicing", "none"])
        == 0
    )
    table = read_csv(tmp_path / "b" / "quiet.f0.csv")
    assert list(table) == ["time", "f0", "periodicity"]
    assert np.isfinite(table["f0"]).all()


def test_python_and_the_command_line_share_one_voicing_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # issue 22 item 4: predict_file(s) defaulted to voicing=None (f0 ≈ 1965 Hz on silence, no
    # voiced column) while `pitch` defaulted to auto, so a CLI rerun into a folder made from
    # Python stopped on "made with other settings".
    from crepe_transforms import Extractor, predict_file, predict_files

    source = tmp_path / "in"
    source.mkdir()
    sf.write(source / "quiet.wav", np.zeros(4000, np.float32), 16000)
    assert Extractor.__init__.__kwdefaults__["voicing"] == "auto"
    one = predict_file(source / "quiet.wav", capacity="tiny")
    assert one.settings["voicing"] == "auto"
    assert not one.arrays["voiced"].any()
    assert one.arrays["f0"].isnan().all()
    summary = predict_files([source], tmp_path / "o", capacity="tiny")
    assert len(summary.written) == 1
    assert list(read_csv(tmp_path / "o" / "quiet.f0.csv")) == [
        "time",
        "f0",
        "periodicity",
        "voiced",
    ]
    capsys.readouterr()
    assert main(["pitch", str(source), "-o", str(tmp_path / "o"), *TINY]) == 0
    assert "0 written, 1 skipped (done before)" in capsys.readouterr().out


def _peak_rss_mb(command: list[str], ceiling_mb: float) -> float:
    """Peak RSS of a child (``os.wait4``), killed as soon as it passes ``ceiling_mb`` (so a
    regression fails this test instead of exhausting the machine)."""
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    status_file = Path(f"/proc/{child.pid}/status")
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        lines = status_file.read_text().splitlines()
        rss = next((int(x.split()[1]) / 1024 for x in lines if x.startswith("VmRSS:")), 0.0)
        if rss > ceiling_mb:
            child.kill()
            os.wait4(child.pid, 0)
            pytest.fail(f"{' '.join(command[1:5])} passed {ceiling_mb:.0f} MB ({rss:.0f} MB)")
        time.sleep(0.05)
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.returncode == 0, child.stderr.read().decode()[-2000:] if child.stderr else ""
    return usage.ru_maxrss / 1024


@pytest.mark.slow
def test_plot_of_a_ten_minute_file_is_bounded_by_the_picture(tmp_path: Path) -> None:
    # issue 22 item 1: 0.2's plot grew ~270 MB per second of audio (a Gouraud mesh over every
    # STFT cell, the whole STFT in memory); a 10-minute file was killed at 21.4 GB.
    pytest.importorskip("matplotlib")
    wav = tmp_path / "ten.wav"
    rate, seconds = 16000, 600  # 16 kHz: no resampling to pay for
    with sf.SoundFile(wav, "w", rate, 1, subtype="PCM_16") as out:
        for start in range(0, rate * seconds, rate * 60):
            t = (start + np.arange(rate * 60)) / rate
            out.write((0.3 * np.sin(2 * np.pi * (180 + 0.06 * t) * t)).astype(np.float32))
    python = [sys.executable, "-c"]
    base = _peak_rss_mb(
        [
            *python,
            "import crepe_transforms, matplotlib.figure, matplotlib.backends.backend_agg; "
            "from crepe_transforms.io import Extractor; Extractor('tiny', voicing=None)",
        ],
        4000,
    )
    # a 100 ms hop keeps the network's share small; the spectrogram covers every sample
    command = [sys.executable, "-m", "crepe_transforms", "plot", str(wav), "-o"]
    peak = _peak_rss_mb(
        [*command, str(tmp_path / "ten.png"), *TINY, "--hop-length", "100ms"], base + 600
    )
    # measured: ~130 MB above the imports (0.2: killed after 21 GB)
    assert peak - base < 400, (base, peak)
    assert (tmp_path / "ten.png").stat().st_size > 20_000


def test_torchrun_with_a_broken_file_reads_as_what_happened(tmp_path: Path) -> None:
    # issue 22 item 8: one bad file made every rank exit 1, and torchrun's elastic agent
    # printed a ChildFailedError traceback and a FAILED banner although the run completed.
    for i in range(3):
        write_tone(tmp_path / "in" / f"{i}.wav", 200.0 + 10 * i, 0.2, 16000)
    not_audio(tmp_path / "in" / "broken.wav")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node", "2", "-m", "crepe_transforms", "pitch", "in", "-o", "out"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [*command, *TINY], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ChildFailedError" not in done.stderr
    assert "FAILED" not in done.stderr
    assert re.search(r"error: in/broken\.wav: .*not a", done.stderr), done.stderr[-3000:]
    assert (
        "total over 2 ranks: 4 files: 3 written, 0 skipped (done before), 1 failed" in done.stdout
    )
    assert "1 file failed (the error lines above); under torchrun the ranks still exit 0" in (
        done.stdout
    )
    assert len(outputs(tmp_path / "out")) == 3


def test_strict_gives_failed_files_their_own_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tone(tmp_path / "in" / "a.wav", 220.0, 0.2, 16000)
    not_audio(tmp_path / "in" / "broken.wav")
    run = ["pitch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *TINY, "-q"]
    assert main(run) == 1  # one process: 1, as before
    assert main([*run, "--strict"]) == 3
    assert "broken.wav" in capsys.readouterr().err


def test_a_garbage_flac_is_not_a_pipe_and_libmpg123_stays_quiet(tmp_path: Path) -> None:
    # issue 22 item 9: libsndfile's MP3 probe called these bytes "File does not exist or is
    # not a regular file (possibly a pipe?)" and libmpg123 printed its own warning on stderr
    data = np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "noise.flac").write_bytes(data)
    done = cli("pitch", "in", "-o", "out", *TINY, "-q", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "crepe-transforms: error: in/noise.flac: not a readable audio file (format not "
        f"recognised); convert it to a format libsndfile {sf.__libsndfile_version__} reads: "
        + done.stderr.split(" reads: ", 1)[1].strip()
    ]
    assert "mpg123" not in done.stderr
    assert "pipe" not in done.stderr


def test_plot_start_past_the_end_speaks_in_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # issue 22 item 11: "no samples between 40000 and 12000" for a flag given in seconds
    pytest.importorskip("matplotlib")
    sf.write(tmp_path / "short.wav", np.zeros(12000, np.float32), 8000)
    target = tmp_path / "s.png"
    assert main(["plot", str(tmp_path / "short.wav"), "-o", str(target), "--start", "5"]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"crepe-transforms: error: {tmp_path / 'short.wav'}: start=5 s is at or past the end of "
        f"the file (1.500 s); pass a start below 1.500 s.\n"
    )
    assert not target.exists()


def test_plot_of_a_non_latin_file_name_prints_no_glyph_warnings(tmp_path: Path) -> None:
    # issue 22 item 17: matplotlib warned "Glyph … missing from font(s) DejaVu Sans" for each
    # character of the title that its font lacks
    pytest.importorskip("matplotlib")
    wav = write_tone(tmp_path / "録音テイク१.wav", 220.0, 0.3, 16000)
    done = cli("plot", str(wav), "-o", str(tmp_path / "p.png"), *TINY, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Glyph" not in done.stderr
    assert "Warning" not in done.stderr
    assert (tmp_path / "p.png").stat().st_size > 20_000


def test_file_list_errors_show_paths_as_the_list_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # issue 22 item 15: --file-list errors showed absolute paths, other inputs relative ones
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "a.txt").write_text("gone.wav\nsub/lost.wav\n")
    monkeypatch.chdir(tmp_path)
    assert main(["pitch", "--file-list", "lists/a.txt", "-o", "out", *TINY, "-q"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "crepe-transforms: error: lists/gone.wav: no such file; check the path",
        "crepe-transforms: error: lists/sub/lost.wav: no such file; check the path",
    ]
