"""Import-time behaviour, optional torchaudio and ``python -O``, each in a fresh interpreter.

Each check runs ``sys.executable -c SCRIPT`` so that what this test process (or another test)
already imported cannot hide a problem. The scripts print one JSON line that the tests inspect.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_python(script: str, tmp_path: Path, *flags: str, timeout: float = 120) -> dict[str, Any]:
    """Run ``script`` in a fresh interpreter with a private weight cache; parse its JSON line."""
    env = dict(os.environ)
    env["CREPE_TRANSFORMS_CACHE"] = str(tmp_path / "cache")
    env.pop("CREPE_TRANSFORMS_WEIGHTS", None)
    env.pop("PYTHONOPTIMIZE", None)
    proc = subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_import_is_lazy(tmp_path: Path):
    result = run_python(
        """
        import json, sys
        import crepe_transforms
        from crepe_transforms import weights
        print(json.dumps({
            "modules": sorted(m for m in ("torchaudio", "torchcrepe", "h5py") if m in sys.modules),
            "loads": weights.load_counts(),
            "file": crepe_transforms.__file__,
        }))
        """,
        tmp_path,
    )
    assert result["modules"] == []
    assert result["loads"] == {}
    # The package under test, not some other installed copy.
    assert Path(result["file"]) == ROOT / "crepe_transforms" / "__init__.py"


def test_core_works_with_torchaudio_blocked(tmp_path: Path):
    result = run_python(
        """
        import json, sys
        sys.modules["torchaudio"] = None  # `import torchaudio` now raises ImportError
        import torch
        from crepe_transforms import CrepeActivation, CrepeFrames, MissingDependencyError

        x = torch.randn(44100, generator=torch.Generator().manual_seed(0))
        out = CrepeActivation("tiny", pretrained=False)(CrepeFrames(44100)(x))
        frames = CrepeFrames(44100, resample="torchaudio")  # constructing needs no torchaudio
        try:
            frames(x)
        except MissingDependencyError as exc:
            error = {"type": type(exc).__name__, "message": str(exc),
                     "import_error": isinstance(exc, ImportError)}
        else:
            error = None
        print(json.dumps({
            "shape": list(out.shape),
            "finite": bool(torch.isfinite(out).all()),
            "error": error,
            "torchaudio": repr(sys.modules.get("torchaudio", "absent")),
        }))
        """,
        tmp_path,
    )
    assert result["shape"] == [101, 360]
    assert result["finite"] is True
    assert result["error"]["type"] == "MissingDependencyError"
    assert result["error"]["import_error"] is True
    assert 'pip install "crepe-transforms[torchaudio]"' in result["error"]["message"]
    assert "resample='torchaudio'" in result["error"]["message"]
    assert 'resample="resampy"' in result["error"]["message"]  # the alternative
    assert result["torchaudio"] == "None"  # nothing went around the block


BAD_INPUTS = {
    "sample_rate": ("CrepeFrames(0)", r"sample_rate=0 must be positive"),
    "hop_length": ("CrepeFrames(16000, hop_length=0)", r"hop_length must be a positive integer"),
    "capacity": ("CrepeActivation('huge', pretrained=False)", r"capacity='huge' is not a CREPE"),
    "int16": (
        "CrepeFrames(16000)(torch.zeros(2048, dtype=torch.int16))",
        r"integer dtype torch\.int16.*32768",
    ),
    "nan": ("CrepeFrames(16000)(torch.full((2048,), float('nan')))", r"contains 2048 NaN or Inf"),
    "last_dim": (
        "CrepeActivation('tiny', pretrained=False)(torch.zeros(3, 1000))",
        r"last dimension 1024, got \(3, 1000\)",
    ),
}


@pytest.fixture(scope="module")
def optimized_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """All bad inputs, run once under ``python -O`` (asserts stripped)."""
    cases = {name: code for name, (code, _) in BAD_INPUTS.items()}
    return run_python(
        f"""
        import json, sys
        import torch
        from crepe_transforms import CrepeActivation, CrepeFrames, ParameterError

        results = {{"optimize": sys.flags.optimize}}
        for name, code in {cases!r}.items():
            try:
                eval(code)
            except ParameterError as exc:
                results[name] = {{"raised": "ParameterError", "message": str(exc)}}
            except Exception as exc:
                results[name] = {{"raised": type(exc).__name__, "message": str(exc)}}
            else:
                results[name] = {{"raised": None, "message": ""}}
        print(json.dumps(results))
        """,
        tmp_path_factory.mktemp("optimized"),
        "-O",
    )


def test_optimized_interpreter_is_in_effect(optimized_run: dict[str, Any]):
    assert optimized_run["optimize"] == 1


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_validation_survives_python_O(optimized_run: dict[str, Any], name: str):
    _, pattern = BAD_INPUTS[name]
    outcome = optimized_run[name]
    assert outcome["raised"] == "ParameterError", outcome
    assert re.search(pattern, outcome["message"]), outcome["message"]
