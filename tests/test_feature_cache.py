"""FeatureCache: hits and misses, invalidation, concurrent writers, crash recovery, paths."""

from __future__ import annotations

import multiprocessing
import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from _data_workers import ToneItems, fill_cache
from torch.utils.data import DataLoader

from crepe_transforms import ParameterError
from crepe_transforms.train import CrepeCollate, CrepeConditioner, FeatureCache
from crepe_transforms.train._feature_cache import audio_digest

OPTIONS: dict[str, Any] = {"sample_rate": 16000, "capacity": "tiny"}
FEATURES = ("f0", "periodicity", "loudness", "frame_lengths")
ENTRY = re.compile(r"\d+-[0-9a-f]{64}\.pt")


@pytest.fixture(scope="module")
def conditioner() -> CrepeConditioner:
    return CrepeConditioner(**OPTIONS).eval()


def entries(cache: FeatureCache) -> list[str]:
    return sorted(p.name for p in cache.directory.iterdir() if p.name != "config.json")


def assert_same_item(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert list(a) == list(b)
    for key, value in a.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, b[key]), key
        else:
            assert value == b[key], key


def test_first_epoch_misses_second_epoch_hits(
    tmp_path: Path, conditioner: CrepeConditioner
) -> None:
    dataset = ToneItems(4)
    cache = FeatureCache(dataset, tmp_path, conditioner)
    first = [cache[i] for i in range(len(cache))]
    assert (cache.misses, cache.hits, cache.repaired) == (4, 0, 0)
    second = [cache[i] for i in range(len(cache))]
    assert (cache.misses, cache.hits) == (4, 4)
    for a, b in zip(first, second, strict=True):
        assert_same_item(a, b)
    assert len(entries(cache)) == 4
    assert all(ENTRY.fullmatch(name) for name in entries(cache))
    # An item carries its fields and the features the collate computes for it alone.
    item = first[2]
    assert list(item) == ["audio", "id", "name", *FEATURES]
    assert item["id"] == 2
    assert item["name"] == "t2"
    alone = CrepeCollate(16000, capacity="tiny")([dataset[2]])
    for key in FEATURES:
        assert torch.equal(item[key], alone[key][0]), key
    assert item["f0"].shape == (1 + len(item["audio"]) // 160,)


def test_cached_collate_equals_computing_collate(
    tmp_path: Path, conditioner: CrepeConditioner
) -> None:
    dataset = ToneItems(5)
    cache = FeatureCache(dataset, tmp_path, conditioner)
    collate = cache.collate_fn()
    computing = CrepeCollate(16000, capacity="tiny")
    for epoch in range(2):  # computed then read back: the batches are the same both times
        cached = list(DataLoader(cache, batch_size=3, collate_fn=collate))
        direct = list(DataLoader(dataset, batch_size=3, collate_fn=computing))
        for a, b in zip(cached, direct, strict=True):
            # Bit-identical: the engine runs each item's own frames alone (see test_data).
            assert_same_item(a, b)
        assert cache.hits == 5 * epoch
    assert cache.misses == 5


def test_config_change_selects_a_new_key_and_prune_removes_the_old(
    tmp_path: Path, conditioner: CrepeConditioner
) -> None:
    dataset = ToneItems(2)
    cache = FeatureCache(dataset, tmp_path, conditioner)
    base = [cache[i] for i in range(2)]
    changed = FeatureCache(dataset, tmp_path, {**OPTIONS, "hop_length": 80})
    assert changed.key != cache.key
    items = [changed[i] for i in range(2)]
    assert (changed.misses, changed.hits) == (2, 0)
    assert items[0]["f0"].shape[0] == 1 + len(items[0]["audio"]) // 80
    assert base[0]["f0"].shape[0] == 1 + len(base[0]["audio"]) // 160
    louder_floor = FeatureCache(dataset, tmp_path, {**OPTIONS, "floor_db": -100.0})
    assert len({cache.key, changed.key, louder_floor.key}) == 3
    # The same settings find the same key again: a later run reuses the entries.
    again = FeatureCache(dataset, tmp_path, OPTIONS)
    assert again.key == cache.key
    again[0]
    assert (again.hits, again.misses) == (1, 0)
    stray = tmp_path / "notes.txt"  # prune touches nothing but digest-named folders
    stray.write_text("keep me")
    # Deleted: the hop-80 folder (2 entries + config.json) and the floor folder's config.json.
    assert again.prune() == 3 + 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([again.key, "notes.txt"])


def test_content_change_at_the_same_index_is_recomputed(
    tmp_path: Path, conditioner: CrepeConditioner
) -> None:
    cache = FeatureCache(ToneItems(3), tmp_path, conditioner)
    old = [cache[i] for i in range(3)]
    changed = FeatureCache(ToneItems(3, version=1), tmp_path, conditioner)
    assert changed.key == cache.key  # same settings, so same folder: only the entry names differ
    new = changed[1]
    assert (changed.misses, changed.hits) == (1, 0)
    assert not torch.equal(new["audio"], old[1]["audio"])
    assert not torch.equal(new["f0"], old[1]["f0"])
    assert len(entries(cache)) == 4  # the old entry is ignored, not overwritten
    assert changed.prune(stale_entries=True) == 3  # old 0, 1, 2 map to no current item
    assert entries(changed) == [changed.entry_path(1, new["audio"]).name]


def test_two_processes_filling_one_cache(tmp_path: Path, conditioner: CrepeConditioner) -> None:
    n_items = 4
    cache = FeatureCache(ToneItems(n_items), tmp_path, OPTIONS)
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    children = [ctx.Process(target=fill_cache, args=(cache, start)) for _ in range(2)]
    for child in children:
        child.start()
    start.set()  # both begin together and miss the same entries at the same time
    for child in children:
        child.join(timeout=120)
    assert [child.exitcode for child in children] == [0, 0]
    assert len(entries(cache)) == n_items  # one file per key, no temporaries left
    reader = FeatureCache(ToneItems(n_items), tmp_path, conditioner)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unreadable entry would warn
        items = [reader[i] for i in range(n_items)]
    assert (reader.hits, reader.misses, reader.repaired) == (n_items, 0, 0)
    for i, item in enumerate(items):
        entry = torch.load(reader.entry_path(i, item["audio"]), weights_only=True)
        assert entry["index"] == i


def test_spawned_dataloader_workers_fill_the_cache(tmp_path: Path) -> None:
    cache = FeatureCache(ToneItems(4), tmp_path, OPTIONS)
    assert len(pickle.dumps(cache)) < 20_000  # spawn workers get the options, not the weights
    loader = DataLoader(
        cache,
        batch_size=2,
        num_workers=2,
        multiprocessing_context="spawn",
        collate_fn=cache.collate_fn(),
        timeout=180,
    )
    from_workers = list(loader)
    assert cache.misses == 0  # the counters are per process: the workers did the work
    assert len(entries(cache)) == 4
    again = list(DataLoader(cache, batch_size=2, collate_fn=cache.collate_fn()))
    assert (cache.hits, cache.misses) == (4, 0)
    for a, b in zip(from_workers, again, strict=True):
        # Workers compute with one thread; reading their entries gives their exact numbers.
        for key in ("f0", "periodicity", "loudness", "mask", "audio"):
            assert torch.equal(a[key], b[key])


def test_killed_run_resumes_and_corrupt_entries_are_replaced(
    tmp_path: Path, conditioner: CrepeConditioner
) -> None:
    dataset = ToneItems(4)
    cache = FeatureCache(dataset, tmp_path, conditioner)
    reference = [cache[i] for i in range(4)]
    paths = [cache.entry_path(i, item["audio"]) for i, item in enumerate(reference)]
    # A writer killed mid-write leaves its temporary file; the entry itself never appeared.
    paths[0].unlink()
    partial = paths[0].parent / f".{paths[0].name}.k1ll3d.tmp"
    partial.write_bytes(paths[1].read_bytes()[:100])
    # A truncated entry (a file system that lost the tail) and one holding another item.
    paths[1].write_bytes(paths[1].read_bytes()[:-200])
    torch.save(torch.load(paths[3], weights_only=True), paths[2])

    resumed = FeatureCache(dataset, tmp_path, OPTIONS)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        items = [resumed[i] for i in range(4)]
    messages = sorted(str(w.message) for w in record if w.category is RuntimeWarning)
    assert len(messages) == 2
    assert re.search(r"1-[0-9a-f]{64}\.pt cannot be read \(.*\); recomputing", messages[0])
    assert re.search(r"2-[0-9a-f]{64}\.pt belongs to another item; recomputing", messages[1])
    assert (resumed.hits, resumed.misses, resumed.repaired) == (1, 3, 2)
    for got, want in zip(items, reference, strict=True):
        assert_same_item(got, want)
    assert partial.exists()  # never read as an entry, never deleted by a reader
    assert resumed.prune() == 1
    assert not partial.exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same_item(resumed[1], reference[1])  # the replaced entry reads cleanly


def test_entry_names_stay_inside_root(tmp_path: Path, conditioner: CrepeConditioner) -> None:
    root = tmp_path / "root"
    hostile = [{"audio": torch.zeros(400), "id": "../../../etc/passwd", "name": "/abs"}] * 2
    cache = FeatureCache(hostile, root, conditioner)
    cache[1]
    cache[-1]  # negative indices map to the same entry
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p.resolve().is_relative_to(root.resolve()) for p in files)
    assert re.fullmatch(r"[0-9a-f]{64}", cache.directory.name)
    assert sorted(p.name for p in files) == sorted(
        ["config.json", f"1-{audio_digest(torch.zeros(400), 16000)}.pt"]
    )
    assert (cache.misses, cache.hits) == (1, 1)


def test_errors(tmp_path: Path, conditioner: CrepeConditioner) -> None:
    with pytest.raises(ParameterError, match=r"map-style dataset.*Iterable datasets"):
        FeatureCache(iter([torch.zeros(10)]), tmp_path, conditioner)
    with pytest.raises(ParameterError, match=r"CrepeConditioner or a dict of its options"):
        FeatureCache([torch.zeros(10)], tmp_path, "tiny")  # type: ignore[arg-type]
    cache = FeatureCache([torch.zeros(10)], tmp_path, conditioner)
    with pytest.raises(IndexError, match=r"index 1 is out of range for a dataset of 1 items"):
        cache[1]
    clash = FeatureCache([{"audio": torch.zeros(10), "f0": 1.0}], tmp_path, conditioner)
    with pytest.raises(ParameterError, match=r"item 0 has fields \['f0'\]"):
        clash[0]
    rated = FeatureCache([(torch.zeros(10), 8000)], tmp_path, conditioner)
    with pytest.raises(ParameterError, match=r"item 0 has sample rate 8000 Hz"):
        rated[0]


def test_collate_fn_keeps_the_conditioner_hop_and_voicing(tmp_path: Path) -> None:
    conditioner = CrepeConditioner(16000, "tiny", hop_length=64, voicing=0.3).eval()
    dataset = ToneItems(3)
    cache = FeatureCache(dataset, tmp_path, conditioner)
    collate = cache.collate_fn()
    assert collate.features == "cached"
    assert collate.hop_length == 64
    assert (
        collate.settings() == CrepeCollate(features="cached", **conditioner.settings()).settings()
    )
    item = cache[0]
    assert list(item)[-5:] == ["f0", "periodicity", "loudness", "voiced", "frame_lengths"]
    assert item["voiced"].dtype == torch.bool
    cached = collate([cache[i] for i in range(3)])
    computed = CrepeCollate.from_parts(conditioner)([dataset[i] for i in range(3)])
    assert list(cached) == list(computed)
    assert cached["mask"].shape == (3, 1 + len(dataset[2]["audio"]) // 64)
    for key in ("f0", "periodicity", "loudness", "voiced", "frame_lengths", "mask"):
        assert torch.equal(cached[key], computed[key]), key
    assert not cached["voiced"][~cached["mask"]].any()
    # Without a voicing rule the entries have no `voiced`, so the key differs too.
    plain = FeatureCache(dataset, tmp_path, {**OPTIONS, "hop_length": 64})
    assert plain.key != cache.key
    assert "voiced" not in plain[0]


def test_label_tuples_are_cached_without_resampling(
    tmp_path: Path, conditioner: CrepeConditioner
) -> None:
    # Issue 13: (audio, label) items keep their label as a field, in the cache too.
    items = [(torch.zeros(800), 3), (torch.zeros(400), 7)]
    cache = FeatureCache(items, tmp_path, conditioner, resample_policy="resample")
    first = cache[0]
    assert first["extra_0"] == 3
    assert first["audio"].shape == (800,)
    with pytest.raises(ParameterError, match=r"tuple_rate=True expects a sample rate"):
        FeatureCache(items, tmp_path, conditioner, tuple_rate=True)[0]
