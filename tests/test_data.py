"""CrepeConditioner and CrepeCollate: padded batches equal items alone, item formats and the
tuple-rate rule, policies, settings and construction from parts, errors, DataLoader workers
(fork and spawn), and the frame-count rule against torchaudio."""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Callable

import numpy as np
import pytest
import torch
from _data_workers import ReportingCollate, ToneItems, harmonic
from torch.utils.data import DataLoader, default_collate

from crepe_transforms import CrepeLoudness, CrepePitch, ParameterError, weights
from crepe_transforms.constants import DEFAULT_FLOOR_DB
from crepe_transforms.exceptions import WeightsNotFoundError
from crepe_transforms.functional import num_frames, resample_to
from crepe_transforms.functional._internal import DEFAULT_HMM
from crepe_transforms.train import CrepeCollate, CrepeConditioner, ItemPolicy, _items

FEATURES = ("f0", "periodicity", "loudness")
EXACT = {"rtol": 0.0, "atol": 0.0}


@pytest.fixture(scope="module")
def clips16() -> list[torch.Tensor]:
    """The "must show" set: 16 seeded harmonic clips of 1–4 s at 16 kHz, mixed lengths."""
    gen = torch.Generator().manual_seed(2024)
    seconds = 1.0 + 3.0 * torch.rand(16, generator=gen, dtype=torch.float64)
    f0 = 80.0 + 520.0 * torch.rand(16, generator=gen, dtype=torch.float64)
    return [
        harmonic(float(f), round(float(s) * 16000), 16000, seed=k)
        for k, (f, s) in enumerate(zip(f0, seconds, strict=True))
    ]


@pytest.fixture(scope="module")
def short_clips() -> list[torch.Tensor]:
    return [harmonic(150.0 + 90 * k, 2400 + 1317 * k, 16000, seed=50 + k) for k in range(4)]


@pytest.fixture(scope="module")
def tiny_collate() -> CrepeCollate:
    return CrepeCollate(16000, capacity="tiny")


def check_padding(batch: dict[str, torch.Tensor], floor_db: float = DEFAULT_FLOOR_DB) -> None:
    """The documented convention: mask = frame < frame_lengths; padded frames hold
    f0 0, periodicity 0, loudness floor_db; padded audio is zero."""
    n_frames = batch["f0"].shape[-1]
    expected_mask = torch.arange(n_frames) < batch["frame_lengths"][:, None]
    assert torch.equal(batch["mask"], expected_mask)
    padded = ~batch["mask"]
    assert padded.any()  # the check below must have frames to look at
    assert batch["f0"][padded].eq(0).all()
    assert batch["periodicity"][padded].eq(0).all()
    assert batch["loudness"][padded].eq(floor_db).all()
    audio_pad = torch.arange(batch["audio"].shape[-1]) >= batch["lengths"][:, None]
    assert batch["audio"][audio_pad].eq(0).all()
    for key in FEATURES:
        assert batch[key][batch["mask"]].isfinite().all()


def test_collate_16_clips_equal_each_clip_alone(
    clips16: list[torch.Tensor], tiny_collate: CrepeCollate
) -> None:
    batch = tiny_collate(clips16)
    lengths = torch.tensor([len(x) for x in clips16])
    assert torch.equal(batch["lengths"], lengths)
    assert batch["audio"].shape == (16, int(lengths.max()))
    assert torch.equal(batch["frame_lengths"], 1 + lengths // 160)
    assert batch["f0"].shape == (16, 1 + int(lengths.max()) // 160)
    assert lengths.min() < 2 * 16000
    assert lengths.max() > 3 * 16000
    pitch, loudness = CrepePitch(16000, "tiny"), CrepeLoudness(16000)
    with torch.no_grad():
        for k, clip in enumerate(clips16):
            alone = pitch(clip)
            n = int(batch["frame_lengths"][k])
            assert alone.f0.shape == (n,)
            # Bit-identical: the block engine runs the network on each clip's own frames in the
            # same chunks as the clip alone (never on padding) and the batched Viterbi stops at
            # each clip's last frame; loudness zero-masks past the length, as the clip's own
            # edge padding.
            torch.testing.assert_close(batch["f0"][k, :n], alone.f0, **EXACT)
            torch.testing.assert_close(batch["periodicity"][k, :n], alone.periodicity, **EXACT)
            torch.testing.assert_close(batch["loudness"][k, :n], loudness(clip), **EXACT)
    check_padding(batch)
    # Harmonic tones: the tracker is really tracking (not a vacuous comparison of zeros).
    assert batch["periodicity"][batch["mask"]].median() > 0.5


def test_resampled_items_equal_alone_at_22050() -> None:
    sources = [(22050, 22050 + 901), (44100, 44100 + 1777), (22050, 30011), (16000, 17003)]
    items: list[object] = []
    alone_audio = []
    for k, (rate, n) in enumerate(sources):
        x = harmonic(130.0 + 70 * k, n, rate, seed=7 + k)
        items.append({"audio": x[None], "sample_rate": rate} if k % 2 else (x, rate))
        alone_audio.append(resample_to(x, rate, 22050))
    collate = CrepeCollate(22050, capacity="tiny", resample_policy="resample")
    batch = collate(items)
    assert torch.equal(batch["lengths"], torch.tensor([len(x) for x in alone_audio]))
    assert len(alone_audio[1]) == (44100 + 1777) // 2  # resampy truncates 44.1 → 22.05 kHz
    pitch, loudness = CrepePitch(22050, "tiny"), CrepeLoudness(22050)
    with torch.no_grad():
        for k, x in enumerate(alone_audio):
            alone = pitch(x)
            n = int(batch["frame_lengths"][k])
            assert n == 1 + len(x) // 220
            # Bit-identical, as in the 16 kHz case: each item's network input is its own.
            torch.testing.assert_close(batch["f0"][k, :n], alone.f0, **EXACT)
            torch.testing.assert_close(batch["periodicity"][k, :n], alone.periodicity, **EXACT)
            torch.testing.assert_close(batch["loudness"][k, :n], loudness(x), **EXACT)
    check_padding(batch)


def test_conditioner_on_padded_batch_matches_collate_and_items_alone(
    short_clips: list[torch.Tensor], tiny_collate: CrepeCollate
) -> None:
    batch = tiny_collate(short_clips)
    conditioner = tiny_collate.conditioner
    with torch.no_grad():
        out = conditioner(batch["audio"], batch["lengths"])
        listed = conditioner(batch["audio"], batch["lengths"].tolist())
        alone = [conditioner(clip) for clip in short_clips]
    assert list(out) == ["f0", "periodicity", "loudness", "frame_lengths", "mask"]
    # The collate is the conditioner on the padded batch; lengths as a list read the same.
    for key in ("f0", "periodicity", "loudness", "frame_lengths", "mask"):
        assert torch.equal(out[key], batch[key]), key
        assert torch.equal(listed[key], out[key]), key
    # 0.1 needed a separate item-by-item path for this: the block engine never runs the
    # network on padding, so each item's valid frames are its own, bit for bit.
    for k, item in enumerate(alone):
        n = int(out["frame_lengths"][k])
        assert item["frame_lengths"].shape == ()
        assert int(item["frame_lengths"]) == n == item["f0"].shape[-1]
        for key in ("f0", "periodicity", "loudness"):
            assert torch.equal(out[key][k, :n], item[key]), key
    # Without lengths every frame is valid.
    with torch.no_grad():
        whole = conditioner(batch["audio"][:2])
    assert whole["mask"].all()
    assert whole["frame_lengths"].tolist() == [whole["f0"].shape[-1]] * 2
    assert whole["f0"].gt(0).all()  # no voicing rule: a frequency on every frame, no NaN


def test_conditioner_leading_dims_loudness_gradient_and_config() -> None:
    conditioner = CrepeConditioner(16000, "tiny", hop_length=64, pretrained=False)
    audio = (
        0.1 * torch.randn(2, 3, 1000, generator=torch.Generator().manual_seed(0))
    ).requires_grad_()
    lengths = torch.tensor([[1000, 10, 640], [1, 999, 63]])
    out = conditioner(audio, lengths)
    assert out["f0"].shape == (2, 3, 1 + 1000 // 64)  # DDSP's 250 frames a second
    assert torch.equal(out["frame_lengths"], 1 + lengths // 64)
    assert not out["f0"].requires_grad
    out["loudness"][out["mask"]].sum().backward()
    assert audio.grad is not None
    assert audio.grad.abs().sum() > 0
    config = conditioner.config()
    assert config["hop_length"] == 64
    assert config["decoder"] == "viterbi"
    assert config["features_version"] == 2  # 0.1's entries (version 1) are never reused
    assert config["hmm"] == DEFAULT_HMM.to_dict()  # the resolved model, not its name
    # What moves only memory or rounding, or where weights were found, is not in the key.
    assert not {"chunk_size", "block_frames", "weights", "pretrained"} & set(config)
    assert json.loads(json.dumps(config)) == config
    assert pickle.loads(pickle.dumps(config)) == config
    other = CrepeConditioner(16000, "tiny", hop_length=64, pretrained=False)
    # Random-init networks differ, so their configs (cache keys) must too.
    assert other.config()["weights_sha256"] != config["weights_sha256"]
    assert {k: v for k, v in other.config().items() if k != "weights_sha256"} == {
        k: v for k, v in config.items() if k != "weights_sha256"
    }


def test_item_formats_and_extra_fields_collate_like_default_collate() -> None:
    collate = CrepeCollate(16000, features="none")
    gen = torch.Generator().manual_seed(1)
    a, b = torch.randn(300, generator=gen), torch.randn(1, 200, generator=gen)
    batch = collate([a, b, a.numpy()])  # 1-D, (1, time) and numpy items mix freely
    assert torch.equal(batch["audio"][0], a)
    assert torch.equal(batch["audio"][1, :200], b[0])
    assert torch.equal(batch["audio"][2], a)
    assert batch["lengths"].tolist() == [300, 200, 300]
    assert list(batch) == ["audio", "lengths", "frame_lengths", "mask"]

    tuples = [
        (a[None], 16000, "yes", 3, torch.tensor([1.0, 2.0])),
        (b, 16000, "no", 4, torch.zeros(2)),
    ]
    batch = collate(tuples)
    # Each extra is collated as default_collate collates one field of dict items.
    reference = [default_collate([t[k] for t in tuples]) for k in (2, 3, 4)]
    assert batch["extra_0"] == reference[0] == ["yes", "no"]
    assert torch.equal(batch["extra_1"], reference[1])
    assert batch["extra_1"].dtype == torch.int64
    assert torch.equal(batch["extra_2"], reference[2])
    assert batch["extra_2"].shape == (2, 2)

    dicts = [
        {
            "wav": a,
            "sr": 16000,
            "text": "a",
            "speaker": 7,
            "emb": torch.ones(4),
            "meta": {"x": 1.5},
        },
        {
            "wav": b,
            "sr": 16000,
            "text": "b",
            "speaker": 8,
            "emb": torch.zeros(4),
            "meta": {"x": 2.5},
        },
    ]
    batch = CrepeCollate(16000, features="none", audio_key="wav", sample_rate_key="sr")(dicts)
    fields = ["text", "speaker", "emb", "meta"]
    reference = default_collate([{k: d[k] for k in fields} for d in dicts])
    assert list(batch) == ["audio", "lengths", "frame_lengths", "mask", *fields]
    assert batch["text"] == reference["text"]
    for key in ("speaker", "emb"):
        assert torch.equal(batch[key], reference[key])
    assert torch.equal(batch["meta"]["x"], reference["meta"]["x"])


def test_compute_mode_keeps_fields_and_runs_crepe(tiny_collate: CrepeCollate) -> None:
    items = [ToneItems(3)[k] for k in range(3)]
    batch = tiny_collate(items)
    assert list(batch)[:7] == ["audio", "lengths", *FEATURES, "frame_lengths", "mask"]
    assert batch["id"].tolist() == [0, 1, 2]
    assert batch["name"] == ["t0", "t1", "t2"]
    check_padding(batch)


@pytest.mark.parametrize("policy", ["mean", "first"])
def test_channel_policies(policy: str) -> None:
    stereo = torch.stack([torch.full((100,), 0.5), torch.full((100,), -0.25)])
    batch = CrepeCollate(16000, features="none", channels=policy)([stereo, torch.ones(50)])
    expected = stereo.mean(0) if policy == "mean" else stereo[0]
    assert torch.equal(batch["audio"][0], expected)


def test_resample_policy_resamples_with_resampy() -> None:
    x = harmonic(200.0, 3200, 32000, seed=3)
    batch = CrepeCollate(16000, features="none", resample_policy="resample")([(x, 32000)])
    assert torch.equal(batch["audio"][0], resample_to(x, 32000, 16000))
    assert batch["lengths"].tolist() == [1600]
    assert batch["audio"].dtype == torch.float32


def test_features_none_pads_only_and_never_builds_a_network() -> None:
    collate = CrepeCollate(16000, features="none", hop_length=64)
    batch = collate([torch.zeros(640), torch.zeros(100)])
    assert batch["frame_lengths"].tolist() == [11, 2]
    assert batch["mask"].shape == (2, 11)
    assert collate._lazy.built is None


def test_collate_pickles_without_its_network(tiny_collate: CrepeCollate) -> None:
    tiny_collate([torch.zeros(1600)])
    assert tiny_collate._lazy.built is not None
    blob = pickle.dumps(tiny_collate)
    assert len(blob) < 10_000  # configuration only, not the 2 MB of weights
    clone = pickle.loads(blob)
    assert clone._lazy.built is None
    assert clone.conditioner_options == {"sample_rate": 16000, "capacity": "tiny"}
    assert repr(clone) == "CrepeCollate(sample_rate=16000, capacity='tiny')"
    assert clone.settings() == tiny_collate.settings()


def _stereo() -> torch.Tensor:
    return torch.zeros(2, 100)


@pytest.mark.parametrize(
    ("items", "match"),
    [
        (
            [torch.zeros(10), (torch.zeros(10), 22050)],
            r"item 1 has sample rate 22050 Hz but the batch is collated at "
            r"sample_rate=16000 Hz\. Pass resample_policy='resample'",
        ),
        ([_stereo()], r"item 0 has 2 channels \(shape \(2, 100\)\).*channels='mean'"),
        ([torch.zeros(100, 2)], r"item 0 has 100 channels.*transpose"),
        ([], r"empty batch"),
        (["a.wav"], r"item 0 has type str; expected a tensor"),
        ([42], r"item 0 has type int"),
        ([(["not", "audio"], 16000)], r"item 0: audio must be a tensor"),
        ([torch.zeros(10, dtype=torch.int16)], r"item 0 has torch.int16 audio.*/ 32768\.0"),
        ([torch.tensor([0.0, float("nan")])], r"item 0 contains NaN or Inf"),
        ([torch.zeros(0)], r"item 0 has no samples"),
        ([torch.zeros(1, 1, 10)], r"expected \(time\) or \(channels, time\)"),
        ([{"wave": torch.zeros(10)}], r"without the audio key 'audio'.*audio_key="),
        ([{"audio": torch.zeros(9), "sample_rate": 8000}], r"item 0 has sample rate 8000 Hz"),
        ([{"audio": torch.zeros(9), "sample_rate": "8k"}], r"expected a sample rate .* key"),
        ([{"audio": torch.zeros(9), "sample_rate": 0}], r"expected a sample rate"),
        ([{"audio": torch.zeros(9), "sample_rate": 3}], r"3 Hz, outside the audio rates"),
        (
            [(torch.zeros(10), 3), (torch.zeros(10), 16000)],
            r"item 1 has fields \[\] but item 0 has \['extra_0'\].*tuple_rate=True or False",
        ),
        ([torch.zeros(10), (torch.zeros(10), 16000, "x")], r"item 1 has fields \['extra_0'\]"),
        ([{"audio": torch.zeros(9), "mask": 1}], r"item fields \['mask'\] clash"),
        (
            [
                {"audio": torch.zeros(9), "v": torch.zeros(2)},
                {"audio": torch.zeros(9), "v": torch.zeros(3)},
            ],
            r"field 'v' cannot be collated",
        ),
    ],
)
def test_item_errors(items: list[object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        CrepeCollate(16000, features="none")(items)


@pytest.mark.parametrize("bad", [torch.zeros(2, 10), "batch", None])
def test_batch_that_is_not_a_list(bad: object) -> None:
    with pytest.raises(ParameterError, match=r"expects a list of dataset items.*batch_size"):
        CrepeCollate(16000, features="none")(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"features": "yes"}, r"features='yes' is not supported.*'compute', 'cached', 'none'"),
        ({"resample_policy": "auto"}, r"resample_policy='auto' is not supported"),
        ({"channels": "sum"}, r"channels='sum' is not supported.*'mean'"),
        ({"hop_length": 0}, r"hop_length must be a positive integer"),
        ({"resample": "sox"}, r"resample='sox' is not supported"),
        ({"audio_key": 3}, r"audio_key must be a string key"),
    ],
)
def test_config_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        CrepeCollate(16000, **kwargs)  # type: ignore[arg-type]


def test_cached_mode_errors() -> None:
    collate = CrepeCollate(16000, features="cached")
    with pytest.raises(ParameterError, match=r"item 0 has no cached \['f0'.*FeatureCache"):
        collate([torch.zeros(320)])
    item = {"audio": torch.zeros(320), "f0": torch.zeros(5), "periodicity": torch.zeros(3),
            "loudness": torch.zeros(3), "frame_lengths": torch.tensor(3)}  # fmt: skip
    with pytest.raises(ParameterError, match=r"cached 'f0' has shape \(5,\).*3 frames"):
        collate([item])


def test_conditioner_errors() -> None:
    conditioner = CrepeConditioner(16000, "tiny", pretrained=False)
    with pytest.raises(ParameterError, match=r"audio must be a torch.Tensor"):
        conditioner([0.0, 1.0])  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"lengths has a maximum of 101"):
        conditioner(torch.zeros(2, 100), torch.tensor([101, 5]))
    with pytest.raises(ParameterError, match=r"floor_db must be a number"):
        CrepeConditioner(16000, "tiny", pretrained=False, floor_db="-120")  # type: ignore[arg-type]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_dataloader_workers_match_main_process_and_load_weights_once(context: str) -> None:
    dataset = ToneItems(8)
    expected = list(
        DataLoader(dataset, batch_size=2, collate_fn=CrepeCollate(16000, capacity="tiny"))
    )
    # Forked workers would inherit the parent's loaded weights: empty the registry so each
    # worker has to read the file itself.
    weights.clear_cache()
    loader = DataLoader(
        dataset,
        batch_size=2,
        num_workers=2,
        multiprocessing_context=context,
        collate_fn=ReportingCollate(16000, capacity="tiny"),
        timeout=180,
    )
    batches = list(loader)
    assert len(batches) == len(expected) == 4
    for got, want in zip(batches, expected, strict=True):
        assert torch.equal(got["id"], want["id"])
        assert got["name"] == want["name"]
        for key in ("audio", "lengths", "frame_lengths", "mask"):
            assert torch.equal(got[key], want[key])
        # Workers run one intra-op thread; float32 kernels may split work differently from
        # the main process, so allow rounding (f0 is a weighted mean of bin cents in Hz).
        torch.testing.assert_close(got["f0"], want["f0"], rtol=1e-5, atol=0)
        torch.testing.assert_close(got["periodicity"], want["periodicity"], rtol=0, atol=1e-5)
        torch.testing.assert_close(got["loudness"], want["loudness"], rtol=0, atol=1e-4)
    assert len({b["pid"] for b in batches}) == 2  # both workers made batches
    # Two batches per worker, and each worker read the weight file exactly once.
    assert [b["loads"] for b in batches] == [1] * 4
    assert weights.load_counts() == {}  # the parent never built the reporting collate's network


@pytest.mark.parametrize(
    ("sample_rate", "hop_length"),
    [(16000, 160), (16000, 64), (16000, 1), (22050, 220), (22050, 256), (44100, 441),
     (44100, 512), (48000, 480), (48000, 240), (8000, 80)],
)  # fmt: skip
def test_frame_count_and_centres_match_torchaudio_spectrogram(
    sample_rate: int, hop_length: int
) -> None:
    torchaudio = pytest.importorskip("torchaudio")
    collate = CrepeCollate(sample_rate, features="none", hop_length=hop_length)
    lengths = sorted(
        {1, 2, hop_length - 1, hop_length, hop_length + 1, 1000, 4097, sample_rate + 7} - {0}
    )
    for n_fft in (2 * hop_length, 512, 2048):
        spec = torchaudio.transforms.Spectrogram(
            n_fft, hop_length=hop_length, center=True, pad_mode="constant"
        )
        for length in lengths:
            expected = spec(torch.zeros(length)).shape[-1]
            assert num_frames(length, hop_length) == expected, (n_fft, length)
            batch = collate([torch.zeros(length)])
            assert batch["mask"].shape[-1] == int(batch["frame_lengths"][0]) == expected
    # Centres: an impulse at sample i * hop lands in frame i, for torchaudio and for loudness.
    n = 20 * hop_length + 3
    spec = torchaudio.transforms.Spectrogram(4 * hop_length, hop_length=hop_length, center=True)
    loudness = CrepeLoudness(sample_rate, hop_length)
    for frame in (0, 7, 20):
        impulse = torch.zeros(n)
        impulse[frame * hop_length] = 1.0
        assert int(spec(impulse).sum(0).argmax()) == frame
        assert int(loudness(impulse).argmax()) == frame


def test_conditioner_output_length_for_ddsp_hop(tone: Callable[..., torch.Tensor]) -> None:
    conditioner = CrepeConditioner(16000, "tiny", hop_length=64, pretrained=False)
    out = conditioner(tone(220.0, 0.25, 16000))
    assert out["f0"].shape == (1 + 4000 // 64,) == (63,)
    assert out["frame_lengths"].shape == ()
    assert int(out["frame_lengths"]) == 63


def test_item_policy_is_shared_and_explicit() -> None:
    policy = ItemPolicy(16000)
    audio, fields = policy.prepare({"audio": np.zeros((1, 5), np.float64), "k": 1}, 0)
    assert audio.dtype == torch.float32
    assert audio.shape == (5,)
    assert fields == {"k": 1}
    with pytest.raises(ParameterError, match=re.escape("item 3 has 2 channels")):
        policy.prepare(torch.zeros(2, 5), 3)


# ----------------------------------------------------------------- tuple items (issue 13)


def test_label_tuples_are_not_resampled_from_their_label(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 13: 0.1 read the int label as a sample rate and resampled from 3 Hz (410 s,
    # 12.4 GB). A resampler that fails proves nothing is resampled at all.
    def no_resampling(*args: object, **kwargs: object) -> torch.Tensor:
        raise AssertionError("an (audio, label) item was resampled")

    monkeypatch.setattr(_items, "resample_to", no_resampling)
    gen = torch.Generator().manual_seed(13)
    items = [
        (torch.randn(8000, generator=gen) * 0.1, 3),
        (torch.randn(4000, generator=gen) * 0.1, 1),
    ]
    batch = CrepeCollate(16000, capacity="tiny", resample_policy="resample")(items)
    assert batch["lengths"].tolist() == [8000, 4000]
    assert torch.equal(batch["audio"][0], items[0][0])
    assert torch.equal(batch["extra_0"], torch.tensor([3, 1]))
    assert batch["f0"].shape == (2, 51)
    assert batch["frame_lengths"].tolist() == [51, 26]


@pytest.mark.parametrize(
    ("element", "rate"),
    [
        (16000, 16000),
        (np.int64(22050), 22050),
        (torch.tensor(44100), 44100),
        (1000, 1000),
        (768_000, 768_000),
        (3, None),  # a class label
        (999, None),
        (768_001, None),
        (16000.0, 16000),  # a whole float in the range is a rate, as in mapping items (#22)
        (torch.tensor(16000.0), 16000),
        (np.float32(22050.0), 22050),
        (0.5, None),  # a float outside the range is a regression target
        (torch.tensor(-3.0), None),
        (True, None),
        ("yes", None),
        (torch.zeros(3), None),
    ],
    ids=repr,
)
def test_tuple_rate_auto_reads_only_plausible_whole_rates(
    element: object, rate: int | None
) -> None:
    policy = ItemPolicy(16000, resample_policy="resample", tuple_rate="auto")
    _, got, fields = policy.split((torch.zeros(10), element, "tail"), 0)
    assert got == rate
    expected = ["tail"] if rate is not None else [element, "tail"]
    assert list(fields) == [f"extra_{k}" for k in range(len(expected))]
    assert all(a is b for a, b in zip(fields.values(), expected, strict=True))


def test_tuple_rate_true_and_false() -> None:
    audio = torch.zeros(320)
    strict = CrepeCollate(16000, features="none", tuple_rate=True)
    batch = strict([(audio, 16000, "a"), (audio, 16000, "b")])
    assert batch["extra_0"] == ["a", "b"]
    for label in (3, "label", 0.5, 0):
        with pytest.raises(
            ParameterError,
            match=r"tuple_rate=True expects a sample rate .* at element 1, got .*"
            r"pass tuple_rate=False",
        ):
            strict([(audio, label)])
    with pytest.raises(ParameterError, match=r"1-tuple but tuple_rate=True"):
        strict([(audio,)])
    # False: every element after the waveform is a field, even a plausible rate.
    fields_only = CrepeCollate(16000, features="none", tuple_rate=False)
    batch = fields_only([(audio, 8000, "x"), (audio, 1234, "y")])
    assert batch["lengths"].tolist() == [320, 320]  # not resampled from 8 kHz
    assert batch["extra_0"].tolist() == [8000, 1234]
    assert batch["extra_1"] == ["x", "y"]
    with pytest.raises(ParameterError, match=r"tuple_rate='maybe' is not supported"):
        CrepeCollate(16000, tuple_rate="maybe")


@pytest.mark.parametrize(
    "rate", [22050.0, np.float64(22050.0), torch.tensor(22050.0), torch.tensor([22050.0])], ids=repr
)
def test_a_float_rate_in_a_tuple_is_a_rate_never_a_label(rate: object) -> None:
    # issue 22 item 2: (a, 22050.0) was collated as 16 kHz audio with a label 22050.0, and a
    # 220 Hz tone came out at 159.4 Hz without a word.
    tone = harmonic(220.0, 2205, 22050, seed=3)
    with pytest.raises(ParameterError, match=r"item 0 has sample rate 22050 Hz but the batch"):
        CrepeCollate(16000, features="none")([(tone, rate)])
    batch = CrepeCollate(16000, features="none", resample_policy="resample")([(tone, rate)])
    assert batch["lengths"].tolist() == [1600]  # resampled from 22.05 kHz
    assert set(batch) == {"audio", "lengths", "frame_lengths", "mask"}  # no extra_0 label


@pytest.mark.parametrize("element", [22050.5, torch.tensor(16000.25)], ids=repr)
def test_a_fractional_number_in_the_rate_range_raises(element: object) -> None:
    for tuple_rate in ("auto", True):
        with pytest.raises(
            ParameterError,
            match=r"item 0: element 1 is .*in the sample-rate range 1000\.\.768000 Hz but not "
            r"a whole number of Hz.*tuple_rate=False",
        ):
            CrepeCollate(16000, features="none", tuple_rate=tuple_rate)(
                [(torch.zeros(320), element)]
            )
    kept = CrepeCollate(16000, features="none", tuple_rate=False)([(torch.zeros(320), element)])
    assert float(kept["extra_0"][0]) == float(element)  # type: ignore[arg-type]


def test_torchaudio_style_tuples_are_resampled_and_keep_their_fields() -> None:
    x = harmonic(220.0, 4410, 44100, seed=9)
    y = harmonic(330.0, 3200, 16000, seed=10)
    items = [(x[None], 44100, "spk1", 7), (y[None], 16000, "spk2", 8)]  # YESNO/LIBRISPEECH-like
    batch = CrepeCollate(16000, features="none", resample_policy="resample")(items)
    assert torch.equal(batch["audio"][0, :1600], resample_to(x, 44100, 16000))
    assert torch.equal(batch["audio"][1], y)
    assert batch["lengths"].tolist() == [1600, 3200]
    assert batch["extra_0"] == ["spk1", "spk2"]
    assert batch["extra_1"].tolist() == [7, 8]
    with pytest.raises(ParameterError, match=r"item 0 has sample rate 44100 Hz.*tuple_rate=False"):
        CrepeCollate(16000, features="none")(items)


# ----------------------------------------------------------------- settings and parts


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (
            lambda: CrepeCollate(16000, hop_lenght=64),
            r"CrepeCollate has no option 'hop_lenght'. Did you mean 'hop_length'",
        ),
        (lambda: CrepeCollate(16000, threshold=0.5), r"no option 'threshold'"),
        (lambda: CrepeCollate(16000, ragged=True), r"no option 'ragged'"),
        (lambda: CrepeCollate(16000, capacity="huge"), r"capacity='huge' is not a CREPE model"),
        (lambda: CrepeCollate(16000, decoder="mean"), r"decoder='mean' is not supported"),
        (lambda: CrepeCollate(16000, fmin=10.0), r"fmin=10.0 Hz is outside"),
        (lambda: CrepeCollate(16000, voicing=2), r"voicing must be None or a periodicity"),
        (lambda: CrepeCollate(16000, chunk_size=0), r"chunk_size must be a positive integer"),
        (lambda: CrepeCollate(16000, precision="fp8"), r"precision"),
        (lambda: CrepeCollate(16000, algorithm="fast"), r"algorithm='fast' is not supported"),
        (lambda: CrepeCollate(16000, block_frames=0), r"block_frames must be a positive"),
        (lambda: CrepeCollate(16000, floor_db="low"), r"floor_db must be a number"),
        (lambda: CrepeCollate(16000, pretrained="no"), r"pretrained must be True or False"),
        (
            lambda: CrepeConditioner(16000, "tiny", pretrained=False, fmim=50),
            r"CrepePitch has no option 'fmim'. Did you mean 'fmin'",
        ),
        (
            lambda: CrepeConditioner(16000, "tiny", pretrained=False, threshold=0.5),
            r"no option 'threshold'",
        ),
        (
            lambda: CrepeConditioner(16000, "tiny", pretrained=False, floor_db=float("nan")),
            r"floor_db must be a number",
        ),
    ],
)
def test_unknown_or_bad_options_raise_at_construction(
    build: Callable[[], object], match: str
) -> None:
    with pytest.raises(ParameterError, match=match):
        build()


def test_collate_checks_options_without_reading_weights(tmp_path: object) -> None:
    missing = f"{tmp_path}/nowhere/full.pth"
    collate = CrepeCollate(16000, hop_length=64, weights=missing, sha256="0" * 64)
    assert collate._lazy.built is None
    assert collate.hop_length == 64
    with pytest.raises(WeightsNotFoundError):
        collate([torch.zeros(640)])  # the weights are read on the first call, in the worker


def test_from_parts_uses_the_pitch_and_equals_the_options_form() -> None:
    pitch = CrepePitch(16000, "tiny", hop_length=80, decoder="weighted_argmax")
    conditioner = CrepeConditioner.from_parts(pitch, floor_db=-90.0)
    assert conditioner.pitch is pitch
    assert (conditioner.hop_length, conditioner.floor_db) == (80, -90.0)
    assert conditioner.loudness.hop_length == 80
    built = CrepeConditioner(
        16000, "tiny", floor_db=-90.0, hop_length=80, decoder="weighted_argmax"
    )
    assert built.settings() == conditioner.settings()
    assert built.config() == conditioner.config()  # the same real weights: the same key
    audio = harmonic(250.0, 5000, 16000, seed=4)
    a, b = conditioner(audio), built(audio)
    for key in ("f0", "periodicity", "loudness", "frame_lengths", "mask"):
        assert torch.equal(a[key], b[key]), key
    with pytest.raises(ParameterError, match=r"pitch must be a CrepePitch, got CrepeLoudness"):
        CrepeConditioner.from_parts(CrepeLoudness(16000))  # type: ignore[arg-type]


def test_from_parts_uses_the_conditioner_and_keeps_its_hop() -> None:
    conditioner = CrepeConditioner(16000, "tiny", hop_length=64, pretrained=False)
    collate = CrepeCollate.from_parts(conditioner)
    assert collate.conditioner is conditioner  # random weights: a rebuild would differ
    clips = [harmonic(200.0, 3000, 16000, seed=1), harmonic(300.0, 1000, 16000, seed=2)]
    batch = collate(clips)
    with torch.no_grad():
        direct = conditioner(batch["audio"], batch["lengths"])
    for key in ("f0", "periodicity", "loudness", "frame_lengths", "mask"):
        assert torch.equal(batch[key], direct[key]), key
    assert batch["f0"].shape == (2, 1 + 3000 // 64)
    # Pad-only and cached collates keep the settings, not the network.
    pad_only = CrepeCollate.from_parts(conditioner, features="none")
    assert pad_only._lazy.built is None
    assert len(pickle.dumps(pad_only)) < 10_000
    assert pad_only.settings()["hop_length"] == 64
    with pytest.raises(ParameterError, match=r"conditioner must be a CrepeConditioner"):
        CrepeCollate.from_parts(CrepePitch(16000, "tiny", pretrained=False))  # type: ignore[arg-type]


def test_pad_only_collate_mask_matches_the_conditioner_hop() -> None:
    # 0.1's pad-only collate framed at its own 10 ms hop while the conditioner used
    # hop_length=64: a batch then held masks of 51 and 126 frames for the same audio.
    conditioner = CrepeConditioner(16000, "tiny", hop_length=64, pretrained=False)
    items = [torch.randn(8000) * 0.1, torch.randn(3001) * 0.1]
    for collate in (
        CrepeCollate.from_parts(conditioner, features="none"),
        CrepeCollate(16000, features="none", capacity="tiny", hop_length=64),
    ):
        batch = collate(items)
        out = conditioner(batch["audio"], batch["lengths"])
        assert batch["mask"].shape == out["mask"].shape == (2, 126)
        assert torch.equal(batch["mask"], out["mask"])
        assert torch.equal(batch["frame_lengths"], out["frame_lengths"])
        assert collate.hop_length == conditioner.hop_length


def test_settings_rebuild_an_equal_config_and_collate() -> None:
    conditioner = CrepeConditioner(
        22050,
        "tiny",
        floor_db=-90.0,
        hop_length=256,
        fmin=60.0,
        voicing=0.4,
        precision="bfloat16",
        hmm="crepe",
        normalization="torchcrepe",
    )
    settings = conditioner.settings()
    assert settings["floor_db"] == -90.0
    assert settings["precision"] == "bf16"  # the one vocabulary
    again = CrepeConditioner(**settings)
    assert again.settings() == settings
    assert again.config() == conditioner.config()
    assert json.loads(json.dumps(conditioner.config())) == conditioner.config()
    # A change to any option that moves the numbers changes the key.
    for change in ({"fmin": 61.0}, {"voicing": None}, {"floor_db": -80.0}, {"hmm": "default"}):
        assert CrepeConditioner(**{**settings, **change}).config() != conditioner.config()
    collate = CrepeCollate(
        22050, capacity="tiny", hop_length=256, voicing=0.4, features="none", channels="mean"
    )
    rebuilt = CrepeCollate(**collate.settings())
    assert rebuilt.settings() == collate.settings()
    assert (
        repr(rebuilt)
        == repr(collate)
        == (
            "CrepeCollate(sample_rate=22050, capacity='tiny', voicing=0.4, hop_length=256, "
            "features='none', channels='mean')"
        )
    )
    given = CrepeCollate.from_parts(conditioner, features="none")
    assert CrepeCollate(**given.settings()).settings() == given.settings()


# ----------------------------------------------------------------- voicing


def test_voicing_adds_voiced_and_keeps_f0_finite() -> None:
    voicing = 0.5
    conditioner = CrepeConditioner(16000, "tiny", voicing=voicing)
    # seeded: with the global generator, whatever tests ran before decided the draw, and some
    # draws of quiet noise reach periodicity 0.5 on a frame or two
    noise = 0.01 * torch.randn(2500, generator=torch.Generator().manual_seed(0))
    clips = [harmonic(220.0, 6000, 16000, seed=3), noise]
    batch = CrepeCollate.from_parts(conditioner)(clips)
    assert list(batch)[:8] == [
        "audio", "lengths", "f0", "periodicity", "loudness", "voiced", "frame_lengths", "mask"
    ]  # fmt: skip
    assert batch["voiced"].dtype == torch.bool
    mask = batch["mask"]
    assert torch.equal(batch["voiced"], (batch["periodicity"] >= voicing) & mask)
    assert not batch["voiced"][~mask].any()
    assert batch["f0"].isfinite().all()  # the target stays finite; voiced carries the rule
    assert batch["voiced"][0].float().mean() > 0.5  # the tone is mostly voiced ...
    assert not batch["voiced"][1].any()  # ... the quiet noise is not
    pitch = CrepePitch(16000, "tiny", voicing=voicing)
    for k, clip in enumerate(clips):
        n = int(batch["frame_lengths"][k])
        alone = pitch(clip)
        assert torch.equal(alone.f0.isnan(), ~batch["voiced"][k, :n])  # CrepePitch's NaN
        voiced = batch["voiced"][k, :n]
        assert torch.equal(alone.f0[voiced], batch["f0"][k, :n][voiced])


def test_a_rebuilt_conditioner_must_match_the_config_its_owner_saw(
    tiny_collate: CrepeCollate,
) -> None:
    from crepe_transforms.train._conditioner import LazyConditioner

    tiny_collate([torch.zeros(1600)])
    seen = tiny_collate._lazy.config
    assert seen is not None
    assert len(seen["weights_sha256"]) == 64
    clone = pickle.loads(pickle.dumps(tiny_collate))
    assert clone._lazy.built is None
    assert clone._lazy.config == seen
    clone([torch.zeros(1600)])  # the same weights: rebuilt and accepted
    changed = {**seen, "weights_sha256": "0" * 64}
    lazy = LazyConditioner({"sample_rate": 16000, "capacity": "tiny"}, config=changed)
    with pytest.raises(ParameterError, match=r"changed: weights_sha256.*did a weight file"):
        lazy.get()
