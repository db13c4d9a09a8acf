"""Audio files: formats, PCM scaling, channels, every kind of broken file, block-wise reading,
and the file-backed signal that, framed by the block engine, equals the transforms on the whole
signal bit for bit."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import resampy
import soundfile as sf
import torch
from _cli_audio import (
    no_samples,
    not_audio,
    tone_array,
    truncate,
    truncated_wav,
    write_noise,
    write_tone,
    zero_bytes,
)

from crepe_transforms import AudioError, CrepeFrames, ParameterError
from crepe_transforms.functional import BlockResampler
from crepe_transforms.io import AudioReader, audio_info, load_audio, predict_file
from crepe_transforms.io._blocks import FileSignal
from crepe_transforms.transforms._engine import run_blocks

MP3 = "MP3" in sf.available_formats()


# ------------------------------------------------------------------ formats and scaling


@pytest.mark.parametrize(
    ("subtype", "raw", "scale"),
    [
        ("PCM_16", np.int16, 2.0**15),
        ("PCM_32", np.int32, 2.0**31),
    ],
)
def test_integer_pcm_is_scaled_to_unit_range(
    tmp_path: Path, subtype: str, raw: type, scale: float
) -> None:
    values = np.array([0, 1, -1, 1000, -(2**14)], dtype=np.int64) * int(scale // 2**15)
    path = tmp_path / "pcm.wav"
    sf.write(path, values.astype(raw), 16000, subtype=subtype)
    audio, rate = load_audio(path)
    assert rate == 16000
    assert audio.dtype == torch.float32
    np.testing.assert_array_equal(audio.numpy(), (values / scale).astype(np.float32))


def test_pcm24_and_unsigned_8_bit_are_scaled(tmp_path: Path) -> None:
    sf.write(tmp_path / "a.wav", np.array([0.5, -0.25]), 8000, subtype="PCM_24")
    sf.write(tmp_path / "b.wav", np.array([0.5, -0.25]), 8000, subtype="PCM_U8")
    for name in ("a.wav", "b.wav"):
        np.testing.assert_array_equal(load_audio(tmp_path / name)[0].numpy(), [0.5, -0.25])


@pytest.mark.parametrize(
    ("suffix", "tolerance"),
    [
        (".wav", 0.0),
        (".flac", 0.0),
        # lossy codecs: the decoded tone stays close, not equal (reason for the tolerance)
        (".ogg", 0.05),
        pytest.param(
            ".mp3", 0.1, marks=pytest.mark.skipif(not MP3, reason="libsndfile without MP3")
        ),
    ],
)
def test_formats_read_with_their_length_and_rate(
    tmp_path: Path, suffix: str, tolerance: float
) -> None:
    path = write_tone(tmp_path / f"tone{suffix}", 220.0, 0.5, 22050)
    reference = tone_array(220.0, 0.5, 22050)[:, 0]
    audio, rate = load_audio(path)
    assert rate == 22050
    assert audio.shape == (11025,)
    pcm16 = np.round(reference * 32767) / 32768  # the WAV/FLAC files are 16-bit
    error = float(np.abs(audio.numpy() - pcm16).max())
    assert error <= tolerance + 1e-4


def test_channels_are_downmixed_by_default_and_kept_on_request(tmp_path: Path) -> None:
    data = np.array([[0.5, 0.0, -0.25], [0.25, 0.25, 0.25]], dtype=np.float32)
    sf.write(tmp_path / "3ch.wav", data, 16000, subtype="FLOAT")
    mono, _ = load_audio(tmp_path / "3ch.wav")
    kept, _ = load_audio(tmp_path / "3ch.wav", mono=False)
    np.testing.assert_allclose(mono.numpy(), [0.25 / 3, 0.25], rtol=1e-6)
    assert kept.shape == (3, 2)
    np.testing.assert_array_equal(kept.numpy(), data.T)


def test_info_reports_the_header(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "a.flac", 100.0, 0.25, 44100, channels=2)
    meta = audio_info(path)
    assert (meta.sample_rate, meta.samples, meta.channels, meta.format) == (44100, 11025, 2, "FLAC")
    assert meta.duration == pytest.approx(0.25)
    # issue 20: it counts samples; the old name still answers, with a DeprecationWarning
    with pytest.warns(DeprecationWarning, match=r"AudioInfo\.frames is deprecated.*\.samples"):
        assert meta.frames == 11025


def test_load_reads_a_range(tmp_path: Path) -> None:
    path = write_noise(tmp_path / "n.wav", 1.0, 8000)
    whole, _ = load_audio(path)
    part, _ = load_audio(path, start=1000, stop=1500)
    assert torch.equal(part, whole[1000:1500])
    with pytest.raises(AudioError, match=r"no samples between 9000 and 8000"):
        load_audio(path, start=9000)


# ------------------------------------------------------------------ broken files


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (zero_bytes, r"bad\.wav: the file is empty \(0 bytes\)"),
        (
            not_audio,
            r"bad\.wav: not a readable audio file \(format not recognised\); convert it to a "
            r"format libsndfile",
        ),
        (no_samples, r"bad\.wav: holds no audio \(a valid WAV header with 0 samples\)"),
        (
            truncated_wav,
            r"bad\.wav: truncated WAV: the header announces 16000 bytes of audio but "
            r"only \d+ are present \(\d+ %\); re-copy",
        ),
    ],
)
def test_broken_files_raise_one_clear_line(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path / "bad.wav")
    with pytest.raises(AudioError, match=message) as caught:
        load_audio(path)
    assert "\n" not in str(caught.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match=r"nope\.wav: no such file"):
        audio_info(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match=r"is a directory, not an audio file"):
        audio_info(tmp_path)


def test_header_without_data_chunk(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "h.wav", 220.0, 0.1, 16000)
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(AudioError, match=r"h\.wav: not a readable audio file \(.*data"):
        audio_info(path)


def test_truncated_flac_fails_while_decoding(tmp_path: Path) -> None:
    path = truncate(write_tone(tmp_path / "t.flac", 220.0, 1.0, 16000))
    with pytest.raises(AudioError, match=r"t\.flac: decoding failed after sample \d+ of 16000"):
        load_audio(path)


def test_truncated_ogg_is_reported(tmp_path: Path) -> None:
    path = truncate(write_tone(tmp_path / "t.ogg", 220.0, 1.0, 16000))
    with pytest.raises(AudioError, match=r"t\.ogg: (not a readable audio file|truncated|decoding)"):
        load_audio(path)


@pytest.mark.skipif(not MP3, reason="libsndfile without MP3")
def test_truncated_mp3_is_reported(tmp_path: Path) -> None:
    path = truncate(write_tone(tmp_path / "t.mp3", 220.0, 1.0, 16000))
    with pytest.raises(
        AudioError, match=r"t\.mp3: truncated: the header announces 16000 samples \(1\.00 s\)"
    ):
        load_audio(path)


def test_nan_samples_are_reported(tmp_path: Path) -> None:
    data = np.zeros(100, np.float32)
    data[50] = np.nan
    sf.write(tmp_path / "nan.wav", data, 16000, subtype="FLOAT")
    # issue 22 item 10: 0.2 said "after sample 0" (the start of the block read)
    with pytest.raises(
        AudioError, match=r"nan\.wav: the first NaN or Inf is at sample 50 \(0\.003 s\); CREPE"
    ):
        load_audio(tmp_path / "nan.wav")


def test_a_nan_far_into_a_file_is_reported_where_it_is(tmp_path: Path) -> None:
    data = np.zeros((8000, 2), np.float32)
    data[6001, 1] = np.inf  # in the second channel, inside the last block read
    sf.write(tmp_path / "late.wav", data, 8000, subtype="FLOAT")
    with AudioReader(tmp_path / "late.wav") as reader:
        reader.read(0, 4096)
        with pytest.raises(AudioError, match=r"at sample 6001 \(0\.750 s\)"):
            reader.read(4096, 8000)
    with pytest.raises(AudioError, match=r"at sample 6001 \(0\.750 s\)"):
        predict_file(tmp_path / "late.wav", capacity="tiny", pretrained=False, block_frames=16)


# ------------------------------------------------------------------ block-wise reading


def test_reader_blocks_cover_the_file_and_never_go_back(tmp_path: Path) -> None:
    path = write_noise(tmp_path / "n.wav", 0.5, 8000, channels=2)
    whole, _ = load_audio(path, mono=False)
    with AudioReader(path) as reader:
        blocks = list(reader.blocks(1500))
        assert [len(b) for b in blocks] == [1500, 1500, 1000]
    np.testing.assert_array_equal(np.concatenate(blocks).T, whole.numpy())
    with AudioReader(path) as reader:
        reader.read(100, 200)
        reader.read(150, 300)  # overlap with what it holds: fine
        with pytest.raises(AudioError, match=r"cannot read samples 50\.\.60 .*reader is at 150"):
            reader.read(50, 60)


@pytest.mark.parametrize("sr", [8000, 11025, 22050, 44100, 48000, 96000])
@pytest.mark.parametrize("block", [1, 97, 1000])
def test_block_resampler_equals_resampy_bit_for_bit(sr: int, block: int) -> None:
    x = np.random.default_rng(sr).standard_normal(sr // 4).astype(np.float32)
    whole = resampy.resample(x, sr, 16000, filter="kaiser_best", axis=-1)
    resampler = BlockResampler(sr, len(x))
    assert resampler.length_out == len(whole)
    parts = []
    for start in range(0, resampler.length_out, block):
        stop = min(start + block, resampler.length_out)
        lo, hi = resampler.input_range(start, stop)
        parts.append(resampler(x[lo:hi], lo, start, stop))
    np.testing.assert_array_equal(np.concatenate(parts), whole)


@pytest.mark.parametrize("sr", [8000, 22050, 44100])
def test_block_resampler_rows_equal_resampy_row_by_row(sr: int) -> None:
    # One kernel call for a batch of rows (a batch of streams): each row's bits are resampy's.
    x = np.random.default_rng(sr).standard_normal((5, sr // 8)).astype(np.float32)
    whole = resampy.resample(x, sr, 16000, filter="kaiser_best", axis=-1)
    resampler = BlockResampler(sr, None)
    lo, _ = resampler.input_range(200, 700)
    part = resampler.rows(x[:, lo:], lo, 200, 700)
    assert part.shape == (5, 500)
    np.testing.assert_array_equal(part, whole[:, 200:700])


def test_block_resampler_needs_its_context() -> None:
    resampler = BlockResampler(44100, 44100)
    lo, hi = resampler.input_range(1000, 2000)
    with pytest.raises(ParameterError, match=r"do not cover .* pass x = input\[lo:hi\]"):
        resampler(np.zeros(hi - lo - 10, np.float32), lo + 10, 1000, 2000)


def identity(frames: torch.Tensor) -> torch.Tensor:
    return frames


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100])
@pytest.mark.parametrize("hop", [None, 137])
@pytest.mark.parametrize("mono", [True, False])
def test_file_signal_frames_equal_frames_of_the_whole_signal(
    tmp_path: Path, sr: int, hop: int | None, mono: bool
) -> None:
    # The block engine over the file, block by block (13 frames, chunks of 5), must cut the
    # very frames CrepeFrames cuts from the whole signal: resampling, centres, normalisation.
    path = write_noise(tmp_path / "n.wav", 0.7, sr, channels=2, seed=sr)
    audio, _ = load_audio(path, mono=mono)
    framer = CrepeFrames(sr, hop)
    expected = framer(audio if not mono else audio[None])
    total = expected.shape[1]
    with AudioReader(path) as reader:
        signal = FileSignal(reader, mono=mono)
        blocks = list(
            run_blocks(signal, framer.plan, [total] * signal.rows, total, identity, 5, 13)
        )
    assert signal.rows == expected.shape[0]
    # 13 frames a block over all rows, in whole chunks of 5 per row
    step = 10 if mono else 5
    assert [start for start, _ in blocks] == list(range(0, total, step))
    assert torch.equal(torch.cat([b for _, b in blocks], dim=1), expected)


def test_file_signal_pads_zeros_outside_the_file(tmp_path: Path) -> None:
    path = write_noise(tmp_path / "n.wav", 0.1, 16000)
    audio, _ = load_audio(path)
    with AudioReader(path) as reader:
        part = FileSignal(reader).segment(-5, 1605)
    assert part.shape == (1, 1610)
    assert torch.equal(part[0, 5:1605], audio)
    assert not part[0, :5].any()
    assert not part[0, 1605:].any()


def test_one_sample_is_too_short_to_resample(tmp_path: Path) -> None:
    sf.write(tmp_path / "one.wav", np.zeros(1, np.float32), 44100, subtype="FLOAT")
    with (
        AudioReader(tmp_path / "one.wav") as reader,
        pytest.raises(AudioError, match=r"1 sample\(s\) at 44100 Hz is too short to resample"),
    ):
        FileSignal(reader)


def test_a_file_name_that_is_not_utf8_is_read(tmp_path: Path) -> None:
    # Python holds such names with surrogate escapes; libsndfile gets the name's own bytes.
    name = os.fsdecode(b"caf\xe9-\xff.wav")
    path = write_tone(tmp_path / name, 220.0, 0.1, 8000)
    assert os.fsencode(path.name) == b"caf\xe9-\xff.wav"
    audio, rate = load_audio(path)
    assert (rate, audio.shape) == (8000, (800,))
    with pytest.raises(AudioError, match="truncated WAV"):
        load_audio(truncate(path))
