"""``algorithm=`` and ``precision=`` reach the network from every composite entry point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from crepe_transforms import (
    CrepeCollate,
    CrepeConditioner,
    CrepeEmbedding,
    CrepeError,
    CrepePitch,
    Extractor,
    ParameterError,
)
from crepe_transforms.cli import main


def _tone(seconds: float = 0.3, sr: int = 16000, f0: float = 220.0) -> torch.Tensor:
    t = torch.arange(round(seconds * sr), dtype=torch.float64) / sr
    return (0.4 * torch.sin(2 * torch.pi * f0 * t)).float()


@pytest.mark.parametrize("algorithm", ["fft", "direct"])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_composites_pass_the_options_to_their_network(algorithm: str, precision: str) -> None:
    modules = [
        CrepePitch(16000, "tiny", pretrained=False, algorithm=algorithm, precision=precision),
        CrepeEmbedding(16000, "tiny", pretrained=False, algorithm=algorithm, precision=precision),
        CrepeConditioner(16000, "tiny", pretrained=False, algorithm=algorithm, precision=precision),
    ]
    for module in modules:
        network = next(m for m in module.modules() if hasattr(m, "precision"))
        assert (network.algorithm, network.precision) == (algorithm, precision)
    collate = CrepeCollate(
        16000, capacity="tiny", pretrained=False, algorithm=algorithm, precision=precision
    )
    assert (collate.settings()["algorithm"], collate.settings()["precision"]) == (
        algorithm,
        precision,
    )
    network = collate.conditioner.pitch.activation.network  # built on first use
    assert (network.algorithm, network.precision) == (algorithm, precision)


def test_direct_and_fft_pitch_agree_and_bf16_is_in_the_cache_key() -> None:
    audio = _tone()
    fft = CrepePitch(16000, "tiny")(audio)
    direct = CrepePitch(16000, "tiny", algorithm="direct")(audio)
    # The two algorithms differ by float32 rounding only (≤ 1e-6 on activations).
    torch.testing.assert_close(direct.f0, fft.f0, rtol=1e-5, atol=0)
    fp32 = CrepeConditioner(16000, "tiny", pretrained=False).config()
    bf16 = CrepeConditioner(16000, "tiny", pretrained=False, precision="bf16").config()
    assert (fp32["precision"], bf16["precision"]) == ("fp32", "bf16")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"algorithm": "winograd"}, r"algorithm.*'fft'.*'direct'"),
        ({"precision": "int8"}, r"precision.*'fp32'"),
    ],
)
def test_bad_option_names_the_parameter(kwargs: dict[str, str], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        CrepePitch(16000, "tiny", pretrained=False, **kwargs)
    with pytest.raises(ParameterError, match=match):
        CrepeEmbedding(16000, "tiny", pretrained=False, **kwargs)


def test_extractor_and_cli_take_the_algorithm(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    soundfile.write(path, _tone().numpy(), 16000)
    assert Extractor("tiny", algorithm="direct").activation.algorithm == "direct"
    with pytest.raises(CrepeError, match="algorithm"):
        Extractor("tiny", pretrained=False, algorithm="slow")
    outputs = {}
    for algorithm in ("fft", "direct"):
        out = tmp_path / algorithm
        code = main(
            [
                "pitch",
                str(path),
                "-o",
                str(out),
                "--capacity",
                "tiny",
                "--format",
                "npz",
                "--algorithm",
                algorithm,
                "--quiet",
            ]
        )
        assert code == 0
        outputs[algorithm] = np.load(out / "tone.f0.npz")["f0"]
    np.testing.assert_allclose(outputs["direct"], outputs["fft"], rtol=1e-5)
