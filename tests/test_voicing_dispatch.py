"""One voicing dispatch (``apply_voicing``) behind every caller: the same rule gives the same
voiced frames in ``CrepePitch``, the file extractor, the conditioner, the stream and
``functional.voiced_mask``; and hysteresis equals a frame-by-frame reference."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import crepe_transforms.functional as CF
from crepe_transforms import CrepeConditioner, CrepePitch, CrepeStream, Extractor
from crepe_transforms.exceptions import ParameterError
from crepe_transforms.functional._voicing import apply_voicing
from crepe_transforms.functional._voicing_model import frame_levels

SR = 16000


def _words(seconds: float = 1.2, seed: int = 3) -> torch.Tensor:
    """Two harmonic words over quiet noise: both voiced and unvoiced frames to decide."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * SR)) / SR
    f0 = 150 * 2 ** (0.2 * np.sin(2 * np.pi * 2 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voice = sum(np.sin(k * phase) / k for k in range(1, 9))
    words = ((t > 0.15) & (t < 0.5)) | ((t > 0.75) & (t < 1.05))
    audio = 0.3 * voice * words + 10 ** (-60 / 20) * rng.standard_normal(len(t))
    return torch.from_numpy(audio.astype(np.float32))


@pytest.fixture(scope="module")
def audio() -> torch.Tensor:
    return _words()


@pytest.mark.parametrize("rule", [0.5, "auto"])
def test_every_caller_decides_like_voiced_mask(
    rule: float | str, audio: torch.Tensor, tmp_path: Path
) -> None:
    import soundfile

    plain = CrepePitch(SR, "tiny", decoder="weighted_argmax")
    pitch = plain(audio)
    centres = CF.frame_centers(pitch.f0.shape[-1], plain.frames.hop_length, SR)
    levels = frame_levels(CF.extract_frames(audio[None], centres))[0]
    expected = CF.voiced_mask(pitch.periodicity, rule, levels)
    assert 0.2 < expected.float().mean() < 0.9  # both states occur

    transform = CrepePitch(SR, "tiny", decoder="weighted_argmax", voicing=rule)
    assert torch.equal(~transform(audio).f0.isnan(), expected)

    conditioner = CrepeConditioner(SR, "tiny", decoder="weighted_argmax", voicing=rule)
    assert torch.equal(conditioner(audio)["voiced"], expected)

    path = tmp_path / "words.wav"
    soundfile.write(path, audio.numpy(), SR, subtype="FLOAT")
    extracted = Extractor("tiny", decoder="weighted_argmax", voicing=rule, block_frames=32)
    assert torch.equal(torch.as_tensor(extracted.pitch(path)["voiced"]), expected)

    stream = CrepeStream(SR, "tiny", decoder="weighted_argmax", voicing=rule)
    parts = [stream.push(chunk) for chunk in audio.split(480)] + [stream.flush()]
    assert torch.equal(~torch.cat([p.f0 for p in parts], dim=-1).isnan(), expected)


def test_apply_voicing_without_a_rule_is_no_mask_and_auto_needs_levels() -> None:
    p = torch.tensor([[0.9, 0.1, 0.6]])
    assert apply_voicing(None, p, None) is None
    lengths = torch.tensor([2])
    assert apply_voicing(0.5, p, None, lengths).tolist() == [[True, False, False]]
    with pytest.raises(ParameterError, match="level_db"):
        apply_voicing("auto", p, None)
    empty = apply_voicing("auto", p[:, :0], None)
    assert empty is not None
    assert empty.shape == (1, 0)


def _hysteresis_reference(p: list[float], lower: float, upper: float) -> list[bool]:
    voiced = [False] * len(p)
    start = 0
    while start < len(p):
        if p[start] < lower:
            start += 1
            continue
        stop = start
        while stop < len(p) and p[stop] >= lower:
            stop += 1
        keep = any(x >= upper for x in p[start:stop])
        for k in range(start, stop):
            voiced[k] = keep
        start = stop
    return voiced


@pytest.mark.parametrize("device", ["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
def test_hysteresis_equals_a_frame_by_frame_reference(device: str) -> None:
    generator = torch.Generator().manual_seed(0)
    p = torch.rand(5, 64, generator=generator) ** 1.5
    f0 = torch.full_like(p, 220.0)
    out = CF.hysteresis(f0.to(device), p.to(device), 0.2, 0.5).cpu()
    for row in range(p.shape[0]):
        reference = _hysteresis_reference(p[row].tolist(), 0.2, 0.5)
        assert (~out[row].isnan()).tolist() == reference
    assert 0 < (~out.isnan()).float().mean() < 1
    assert math.isnan(CF.hysteresis(torch.tensor([1.0]), torch.tensor([0.0])).item())
