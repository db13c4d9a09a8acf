"""One precision vocabulary, and reduced precision checked on the machine before it is trusted.

``precision`` is the precision of the network's products (``"fp32"``, ``"bf16"``, ``"fp16"``,
synonyms accepted everywhere); the module's dtype is set with ``.to(dtype)``. The probe of
``model/_precision.py`` runs a reduced precision against fp32 once per network configuration
and device and falls back to fp32, with one warning, where the reduced kernels are wrong.
Accuracy of the working reduced paths: tests/test_performance_paths.py
(``test_bf16_costs_little_accuracy``, every algorithm × capacity).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from crepe_transforms import CrepeActivation, CrepeEmbedding, CrepePitch, ParameterError
from crepe_transforms.cli import main
from crepe_transforms.model import PRECISIONS, Crepe, _network, _precision, check_precision

SYNONYMS = [
    ("fp32", "fp32"),
    ("float32", "fp32"),
    (torch.float32, "fp32"),
    ("bf16", "bf16"),
    ("bfloat16", "bf16"),
    (torch.bfloat16, "bf16"),
    ("fp16", "fp16"),
    ("float16", "fp16"),
    ("half", "fp16"),
    (torch.float16, "fp16"),
]


@pytest.fixture
def fresh_verdicts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Probe verdicts are per process: start and end each test without any. The probe of the
    direct path is tested on every CPU: pretend this one has bf16 units (on one without, direct
    bf16 is routed to fft before any probe; see test_cpus_without_bf16_units_skip_direct_bf16)."""
    monkeypatch.setattr(_network, "cpu_has_bf16", lambda: True)
    _precision.forget_verdicts()
    yield
    _precision.forget_verdicts()


def frames(n: int, seed: int = 0) -> torch.Tensor:
    x = torch.randn(n, 1024, generator=torch.Generator().manual_seed(seed))
    return (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True, correction=0)


# ------------------------------------------------------------------ vocabulary


@pytest.mark.parametrize(("given", "word"), SYNONYMS, ids=[str(g) for g, _ in SYNONYMS])
def test_every_synonym_gives_the_canonical_word(given: object, word: str) -> None:
    assert check_precision(given) == word
    act = CrepeActivation("tiny", pretrained=False, precision=given)  # type: ignore[arg-type]
    assert act.precision == act.network.precision == word
    assert act.settings()["precision"] == word
    # the composites route it to their activation part
    pitch = CrepePitch(16000, "tiny", pretrained=False, precision=given)
    embedding = CrepeEmbedding(16000, "tiny", pretrained=False, precision=given)
    assert pitch.activation.precision == embedding.activation.precision == word
    # the word, not the dtype: the module itself stays float32
    assert act.dtype == torch.float32


def test_vocabulary_is_the_three_words() -> None:
    assert PRECISIONS == ("fp32", "bf16", "fp16")


@pytest.mark.parametrize("bad", ["int8", "fp8", "BF16", "", "double", 16, None])
def test_bad_words_name_the_choices(bad: object) -> None:
    pattern = rf"precision={bad!r} is not supported\. Choose one of 'fp32', 'bf16', 'fp16'"
    with pytest.raises(ParameterError, match=pattern):
        check_precision(bad)
    with pytest.raises(ParameterError, match=pattern):
        CrepeActivation("tiny", pretrained=False, precision=bad)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=pattern):
        CrepePitch(16000, "tiny", pretrained=False, precision=bad)


def test_a_dtype_that_is_no_precision_says_to_use_to() -> None:
    dtype = torch.float64
    pattern = rf"precision={dtype} is not a compute precision.*use module\.to\({dtype}\)"
    with pytest.raises(ParameterError, match=pattern):
        check_precision(dtype)
    with pytest.raises(ParameterError, match=pattern):
        CrepeActivation("tiny", pretrained=False, precision=dtype)  # type: ignore[arg-type]
    act = CrepeActivation("tiny", pretrained=False)
    with pytest.raises(ParameterError, match=pattern):
        act.precision = dtype  # type: ignore[assignment]
    assert act.precision == "fp32"  # a refused value changes nothing


def test_command_line_takes_the_same_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    t = torch.arange(4800, dtype=torch.float64) / 16000
    soundfile.write(tmp_path / "tone.wav", (0.3 * torch.sin(2 * torch.pi * 220 * t)).numpy(), 16000)
    monkeypatch.chdir(tmp_path)
    f0 = {}
    for word in ("bf16", "bfloat16"):
        argv = ["pitch", "tone.wav", "-o", word, "--capacity", "tiny", "--format", "npz", "-q"]
        assert main([*argv, "--precision", word]) == 0
        f0[word] = np.load(tmp_path / word / "tone.f0.npz")["f0"]
    np.testing.assert_array_equal(f0["bf16"], f0["bfloat16"])  # one precision, two spellings
    assert main(["pitch", "tone.wav", "-o", "bad", "--precision", "int8", "-q"]) == 2
    err = capsys.readouterr().err
    assert "argument --precision: precision='int8' is not supported. Choose one of 'fp32', " in err
    assert not (tmp_path / "bad").exists()


def test_settings_rebuild_with_the_word() -> None:
    act = CrepeActivation("tiny", pretrained=False, precision=torch.bfloat16)  # type: ignore[arg-type]
    again = CrepeActivation(**act.settings())
    assert again.precision == "bf16"
    assert act.extra_repr() == "capacity='tiny', pretrained=False, precision='bf16'"


# ------------------------------------------------------------------ the probe


def test_working_reduced_path_passes_the_probe_silently(
    monkeypatch: pytest.MonkeyPatch, fresh_verdicts: None
) -> None:
    # A working reduced kernel by construction (fp32 with bf16-sized rounding), so the test
    # means the same on every CPU: real bf16 kernels are broken on some (Intel AMX, issue 11).
    original = Crepe._trunk

    def rounded(self: Crepe, x: torch.Tensor, blocks: int, path: tuple[str, str]) -> torch.Tensor:
        exact = original(self, x, blocks, (path[0], "fp32"))
        return exact if path[1] == "fp32" else exact * (1.0 + 2.0**-8)

    monkeypatch.setattr(Crepe, "_trunk", rounded)
    net = Crepe("tiny", precision="bf16")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        assert net.effective_path(frames(2)) == ("fft", "bf16")
        net.algorithm = "direct"
        assert net.effective_path(frames(2)) == ("direct", "bf16")
    assert {key[:3] for key in _precision._verdicts} == {
        ("tiny", "fft", "bf16"),
        ("tiny", "direct", "bf16"),
    }


def _break(monkeypatch: pytest.MonkeyPatch, broken: set[str]) -> list[tuple[str, str]]:
    """Make the reduced-precision trunk of the algorithms in ``broken`` return garbage (what a
    broken kernel returns: the right shape and dtype, values off by ~60x). Returns every
    reduced path the network ran."""
    original = Crepe._trunk
    ran: list[tuple[str, str]] = []

    def trunk(self: Crepe, x: torch.Tensor, blocks: int, path: tuple[str, str]) -> torch.Tensor:
        out = original(self, x, blocks, path)
        if path[1] == "fp32":
            return out
        ran.append(path)
        return out * 60.0 + 3.0 if path[0] in broken else out

    monkeypatch.setattr(Crepe, "_trunk", trunk)
    return ran


def fallbacks(run: Callable[[], object]) -> list[str]:
    """The fallback warnings ``run()`` issues, every one (no deduplication)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run()
    return [str(w.message) for w in record if "its results are wrong" in str(w.message)]


@pytest.mark.parametrize("algorithm", ["fft", "direct"])
def test_broken_reduced_kernels_warn_once_and_run_fp32(
    algorithm: str, monkeypatch: pytest.MonkeyPatch, fresh_verdicts: None
) -> None:
    x = frames(40, seed=1)
    reference = CrepeActivation("tiny", algorithm=algorithm, chunk_size=4)(x)
    ran = _break(monkeypatch, {"fft", "direct"})
    act = CrepeActivation("tiny", algorithm=algorithm, precision="bf16", chunk_size=4)
    out: dict[str, torch.Tensor] = {}

    def run() -> None:
        # ten chunks on worker threads: they wait for one verdict; then two more passes
        out["first"], out["second"], out["embedded"] = act(x), act(x), act.embedding(x)

    messages = set(fallbacks(run))
    assert len(messages) == 1, messages  # one cause, one message
    message = messages.pop()
    assert (
        f"precision='bf16' with algorithm='{algorithm}' is not used on this machine's cpu: its "
        "results are wrong (against fp32 on a fixed probe"
    ) in message
    assert "Using fp32 instead" in message
    # one probe per candidate path (direct is routed to fft first), none after the verdict
    probed = [("fft", "bf16")] if algorithm == "fft" else [("direct", "bf16"), ("fft", "bf16")]
    assert ran == probed
    assert torch.equal(out["first"], reference)  # fp32 through the same chunks: the same bits
    assert torch.equal(out["second"], reference)
    assert out["embedded"].dtype == torch.float32
    assert act.precision == "bf16"  # the setting is kept; only this device falls back


def test_a_broken_direct_kernel_is_routed_through_fft(
    monkeypatch: pytest.MonkeyPatch, fresh_verdicts: None
) -> None:
    x = frames(12, seed=3)
    fft_bf16 = CrepeActivation("tiny", precision="bf16", chunk_size=4)(x)
    ran = _break(monkeypatch, {"direct"})
    act = CrepeActivation("tiny", algorithm="direct", precision="bf16", chunk_size=4)
    out: list[torch.Tensor] = []
    messages = set(fallbacks(lambda: out.extend([act(x), act(x)])))
    assert len(messages) == 1, messages
    message = messages.pop()
    assert "precision='bf16' with algorithm='direct' is not used" in message
    assert "its results are wrong" in message
    assert "Using algorithm='fft', precision='bf16' instead" in message
    assert ran.count(("direct", "bf16")) == 1  # the probe only
    assert torch.equal(out[0], fft_bf16)
    assert torch.equal(out[1], fft_bf16)


def test_fallback_warning_is_issued_once_per_verdict(
    monkeypatch: pytest.MonkeyPatch, fresh_verdicts: None
) -> None:
    _break(monkeypatch, {"fft", "direct"})
    act = CrepeActivation("tiny", pretrained=False, precision="bf16", chunk_size=4)
    x = frames(12, seed=4)
    assert len(fallbacks(lambda: (act(x), act(x), act.embedding(x)))) == 1


def test_verdict_is_per_configuration(
    monkeypatch: pytest.MonkeyPatch, fresh_verdicts: None
) -> None:
    ran = _break(monkeypatch, {"fft", "direct"})
    x = frames(3, seed=2)
    first = fallbacks(lambda: CrepeActivation("tiny", pretrained=False, precision="bf16")(x))
    again = fallbacks(lambda: CrepeActivation("tiny", pretrained=False, precision="bf16")(x))
    assert ran == [("fft", "bf16")]  # the second network of the same key probed nothing
    assert first
    assert set(again) <= set(first)
    # forgetting the verdicts probes again
    _precision.forget_verdicts()
    with pytest.warns(RuntimeWarning, match="its results are wrong"):
        CrepeActivation("tiny", pretrained=False, precision="bf16")(x)
    assert ran == [("fft", "bf16")] * 2


def test_the_probe_compares_what_it_should() -> None:
    # The probe's own yardstick, so a too lenient bar is caught here: garbage fails it,
    # bf16-sized rounding passes it.
    probe = _precision.probe_frames()
    assert probe.shape == (16, 1024)
    assert torch.isfinite(probe).all()
    reference = torch.full((4, 360), 0.01)
    reference[:, 100] = 0.9
    assert _precision._compare(reference, reference + 0.004)[0]
    assert not _precision._compare(reference, reference * 60.0 + 3.0)[0]
    # small errors, but a confident pitch two bins off: refused by the bin criterion alone
    close = torch.full((1, 360), 0.01)
    close[0, 100], close[0, 102] = 0.55, 0.5
    moved = close.clone()
    moved[0, 100], moved[0, 102] = 0.5, 0.55
    ok, error, bins = _precision._compare(close, moved)
    assert (ok, bins) == (False, 2)
    assert error <= _precision.PROBE_MAX_ERROR


def test_cpus_without_bf16_units_skip_direct_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    # emulated bf16 convolutions take ~70x fp32 (and the probe alone minutes for full)
    monkeypatch.setattr(_network, "cpu_has_bf16", lambda: False)
    _precision.forget_verdicts()
    try:
        net = Crepe("tiny", algorithm="direct", precision="bf16")
        with pytest.warns(RuntimeWarning, match=r"no bf16 units.*Using algorithm='fft'"):
            assert net.effective_path(frames(2)) == ("fft", "bf16")
        assert {key[1] for key in _precision._verdicts} == {"fft"}  # direct was never probed
    finally:
        _precision.forget_verdicts()
