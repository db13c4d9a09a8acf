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
            "modules": sorted(
                m
                for m in ("torchaudio", "torchcrepe", "h5py", "torch._dynamo", "matplotlib")
                if m in sys.modules
            ),
            "loads": weights.load_counts(),
            "file": crepe_transforms.__file__,
        }))
        """,
        tmp_path,
    )
    # torch._dynamo: 0.8 s of 0.2's 0.95 s import, pulled in by decorators (issue 22 item 16)
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


# ------------------------------------------------------------------ the public face (issue 13)

PUBLIC = {
    "HMM",
    "AudioError",
    "ChecksumError",
    "CrepeActivation",
    "CrepeCollate",
    "CrepeConditioner",
    "CrepeDecode",
    "CrepeEmbedding",
    "CrepeError",
    "CrepeFrames",
    "CrepeLoudness",
    "CrepePitch",
    "CrepeSoftDecode",
    "CrepeStream",
    "Extractor",
    "FeatureCache",
    "MissingDependencyError",
    "ParameterError",
    "Pitch",
    "WeightsError",
    "WeightsFormatError",
    "WeightsNotFoundError",
    "__version__",
    "functional",
    "load_audio",
    "predict_file",
    "predict_files",
    "weights",
}


def test_dir_is_exactly_the_public_list(tmp_path: Path):
    result = run_python(
        """
        import json, sys
        import crepe_transforms
        before = dir(crepe_transforms)
        lazy_loaded = sorted(
            m for m in ("crepe_transforms.train", "crepe_transforms.io", "crepe_transforms.cli")
            if m in sys.modules
        )
        kinds = {name: type(getattr(crepe_transforms, name)).__name__
                 for name in crepe_transforms.__all__}
        print(json.dumps({
            "dir": before,
            "after": dir(crepe_transforms),
            "all": list(crepe_transforms.__all__),
            "lazy_loaded": lazy_loaded,
            "modules": sorted(n for n, k in kinds.items() if k == "module"),
        }))
        """,
        tmp_path,
    )
    assert set(result["dir"]) == PUBLIC
    assert result["dir"] == sorted(result["all"])  # no duplicates, nothing else
    assert result["after"] == result["dir"]  # resolving the lazy names adds nothing
    assert len(result["all"]) <= 30
    assert "annotations" not in result["dir"]
    assert result["modules"] == ["functional", "weights"]  # the only submodules shown
    assert result["lazy_loaded"] == []  # train, io and cli load on first use only


def test_every_public_name_resolves():
    import crepe_transforms

    for name in crepe_transforms.__all__:
        assert getattr(crepe_transforms, name) is not None, name
    namespace: dict[str, object] = {}
    exec("from crepe_transforms import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(crepe_transforms.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'num_frames'"):
        crepe_transforms.num_frames  # noqa: B018  (0.1 had it here; now in functional)


@pytest.mark.parametrize("package", ["functional", "model", "weights", "transforms"])
def test_subpackage_all_resolves(package: str):
    import importlib

    module = importlib.import_module(f"crepe_transforms.{package}")
    assert len(module.__all__) == len(set(module.__all__))
    for name in module.__all__:
        assert hasattr(module, name), f"crepe_transforms.{package}.{name}"


def test_functional_all_covers_every_public_function_of_its_modules():
    """Every function or class a private module of functional defines is public (in
    ``functional.__all__``, at most 40 names) or declared internal (in ``_internal``)."""
    import importlib
    import inspect
    import pkgutil

    import crepe_transforms.functional as functional
    from crepe_transforms.functional import _internal

    exported = set(functional.__all__)
    declared = exported | set(_internal.__all__)
    missing = {}
    seen = 0
    for info in pkgutil.iter_modules(functional.__path__):
        module = importlib.import_module(f"{functional.__name__}.{info.name}")
        defined = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and (inspect.isfunction(value) or inspect.isclass(value))
            and value.__module__ == module.__name__
        }
        seen += len(defined)
        public = defined | set(getattr(module, "__all__", ()))
        if info.name != "_internal" and public - declared:
            missing[info.name] = sorted(public - declared)
    assert not missing, missing
    assert seen >= 50  # the scan saw the package (it can fail)
    assert len(exported) <= 40


def test_names_0_2_exported_from_functional_resolve_with_a_deprecation_warning():
    import crepe_transforms.constants as constants
    import crepe_transforms.functional as functional
    from crepe_transforms.functional import _internal

    assert len(functional.MOVED) == 32
    for name, (module, attribute) in functional.MOVED.items():
        assert name not in functional.__all__
        assert name not in dir(functional)
        with pytest.warns(DeprecationWarning, match=rf"functional\.{name} moved in 0\.3"):
            value = getattr(functional, name)
        home = constants if module.endswith("constants") else _internal
        assert value is getattr(home, attribute)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        functional.nothing_here  # noqa: B018


def test_running_a_transform_without_compiling_never_imports_dynamo(tmp_path: Path) -> None:
    # the decorated forward methods apply torch.compiler.disable only under tracing
    result = run_python(
        """
        import json, sys, torch
        import crepe_transforms as ct
        model = ct.CrepePitch(16000, "tiny", pretrained=False)
        f0 = model(torch.zeros(1, 800)).f0
        emb = ct.CrepeEmbedding(16000, "tiny", pretrained=False)(torch.zeros(800))
        print(json.dumps({"dynamo": "torch._dynamo" in sys.modules, "frames": f0.shape[-1]}))
        """,
        tmp_path,
    )
    assert result == {"dynamo": False, "frames": 6}


def test_names_0_2_exported_from_weights_resolve_with_a_deprecation_warning():
    import crepe_transforms.weights as weights
    from crepe_transforms.weights import _internal

    assert len(weights.__all__) <= 10
    assert len(weights.MOVED) == 18
    for name in weights.MOVED:
        assert name not in dir(weights)
        with pytest.warns(DeprecationWarning, match=rf"weights\.{name} moved in 0\.3"):
            assert getattr(weights, name) is getattr(_internal, name)


def test_help_of_every_command_does_not_import_torch(tmp_path: Path) -> None:
    # issue 20: `crepe-transforms --help` imported torch (seconds) to print text; the settings
    # tables the flags are made from live in a torch-free module (crepe_transforms/_tables.py)
    result = run_python(
        """
        import contextlib, io, json, sys
        from crepe_transforms.cli import main
        helps = {}
        for argv in (["--help"], ["--version"], ["pitch", "--help"], ["activation", "--help"],
                     ["embedding", "--help"], ["plot", "--help"], ["export", "--help"],
                     ["weights", "--help"], ["weights", "verify", "--help"],
                     ["finetune", "--help"]):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                status = main(argv)
            helps[" ".join(argv)] = [status, out.getvalue()]
        print(json.dumps({
            "helps": helps,
            "heavy": sorted(m for m in ("torch", "numpy", "soundfile", "crepe_transforms.io",
                                        "crepe_transforms.transforms") if m in sys.modules),
        }))
        """,
        tmp_path,
    )
    assert result["heavy"] == []
    helps = result["helps"]
    assert all(status == 0 for status, _ in helps.values()), helps
    # the flags are all there, made from the same tables as the transforms' SETTINGS
    pitch = helps["pitch --help"][1]
    for flag in (
        "--capacity",
        "--chunk-size",
        "--precision",
        "--fmin",
        "--decoder",
        "--voicing",
        "--hop-length",
        "--device",
        "--normalization",
        "--block-frames",
    ):
        assert flag in pitch, flag
    assert "--graph" in helps["export --help"][1]
    assert helps["--version"][1].startswith("crepe-transforms ")
