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
from collections.abc import Iterator

import pytest
import torch

from crepe_transforms import CrepeActivation, CrepeEmbedding, CrepePitch, ParameterError
from crepe_transforms.model import PRECISIONS, Crepe, check_precision
from crepe_transforms.model import _precision

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
def fresh_verdicts() -> Iterator[None]:
    """Probe verdicts are per process: start and end each test without any."""
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


def test_settings_rebuild_with_the_word() -> None:
    act = CrepeActivation("tiny", pretrained=False, precision=torch.bfloat16)  # type: ignore[arg-type]
    again = CrepeActivation(**act.settings())
    assert again.precision == "bf16"
    assert act.extra_repr() == "capacity='tiny', pretrained=False, precision='bf16'"


# ------------------------------------------------------------------ the probe


def test_working_reduced_path_passes_the_probe_silently(fresh_verdicts: None) -> None:
    net = Crepe("tiny", precision="bf16")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        assert net.effective_precision(frames(2)) == "bf16"
    assert any(key[2] == "bf16" for key in _precision._verdicts)


def _break_reduced_path(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every reduced-precision trunk return garbage; return the precisions it ran."""
    original = Crepe._trunk
    ran: list[str] = []

    def broken(self: Crepe, x: torch.Tensor, blocks: int, precision: str) -> torch.Tensor:
        out = original(self, x, blocks, precision)
        ran.append(precision)
        if precision == "fp32":
            return out
        # what a broken kernel returns: right shape and dtype, values off by ~60x
        return out * 60.0 + 3.0

    monkeypatch.setattr(Crepe, "_trunk", broken)
    return ran


@pytest.mark.parametrize("algorithm", ["fft", "direct"])
def test_broken_reduced_kernel_warns_once_and_runs_fp32(
    algorithm: str, monkeypatch: pytest.MonkeyPatch, fresh_verdicts: None
) -> None:
    x = frames(40, seed=1)
    # the same chunks on the same threads as below: comparable bit for bit
    reference = CrepeActivation("tiny", algorithm=algorithm, chunk_size=4)(x)
    ran = _break_reduced_path(monkeypatch)
    act = CrepeActivation("tiny", algorithm=algorithm, precision="bf16", chunk_size=4)
    with pytest.warns(RuntimeWarning) as record:
        # ten chunks on worker threads: they wait for one verdict, one probe, one warning
        first = act(x)
        second = act(x)
        embedded = act.embedding(x)
    messages = [str(w.message) for w in record if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1, messages
    assert f"precision='bf16' with capacity='tiny', algorithm='{algorithm}' on cpu" in messages[0]
    assert "gives wrong results on this machine" in messages[0]
    assert "Running fp32 instead" in messages[0]
    assert ran.count("bf16") == 1  # the probe's one reduced run; every forward then runs fp32
    assert torch.equal(first, reference)
    assert torch.equal(second, reference)
    assert embedded.dtype == torch.float32
    assert act.precision == "bf16"  # the setting is kept; only this device falls back


def test_verdict_is_per_configuration(monkeypatch: pytest.MonkeyPatch, fresh_verdicts: None) -> None:
    _break_reduced_path(monkeypatch)
    x = frames(3, seed=2)
    with pytest.warns(RuntimeWarning) as record:
        CrepeActivation("tiny", pretrained=False, precision="bf16")(x)
        CrepeActivation("tiny", pretrained=False, precision="bf16")(x)  # same key: no probe
        CrepeActivation("tiny", pretrained=False, precision="bf16", algorithm="direct")(x)
    wrong = [str(w.message) for w in record if "gives wrong results" in str(w.message)]
    assert len(wrong) == 2
    assert "algorithm='fft'" in wrong[0]
    assert "algorithm='direct'" in wrong[1]
    # forgetting the verdicts probes again
    _precision.forget_verdicts()
    with pytest.warns(RuntimeWarning, match="gives wrong results"):
        CrepeActivation("tiny", pretrained=False, precision="bf16")(x)


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
