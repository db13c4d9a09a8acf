"""The declared internal surface: no private module or ``_`` name crosses a subpackage.

A subpackage (``functional``, ``model``, ``weights``, ``transforms``, ``io``, ``train``,
``export``, ``cli``) may import from another one only its public names (``crepe_transforms.X``)
or what ``crepe_transforms.X._internal`` declares; the base modules (``_checks``,
``_settings``, ``_fileio``, ``_eager``, ``_version``, ``constants``, ``exceptions``) are shared
by all. This is the contract that stops the next reach-across (issue 20): the layers contract
of import-linter (``pyproject.toml``) says *which* packages may be imported, this test says
*through which door*.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "crepe_transforms"
SUBPACKAGES = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
BASE = {"_checks", "_settings", "_fileio", "_eager", "_version", "constants", "exceptions"}


def _resolve(path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, *([node.module] if node.module else [])])


def crossings() -> list[str]:
    """Every import of a private module or ``_`` name of another subpackage."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        own = rel.parts[0] if len(rel.parts) > 1 else ""
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            target = _resolve(path, node).split(".")
            if target[0] != "crepe_transforms":
                continue
            names = [a.name for a in node.names]
            if len(target) == 1:  # the top-level package: public names only
                bad = [n for n in names if n.startswith("_") and n not in BASE]
                if bad:
                    found.append(f"{rel}:{node.lineno} crepe_transforms.{bad}")
                continue
            if target[1] in BASE or target[1] == own or target[1] not in SUBPACKAGES:
                continue
            rest = target[2:]
            door = rest in ([], ["_internal"])
            door_module = rest == [] and names == ["_internal"]  # from ..X import _internal
            if not door or (any(n.startswith("_") for n in names) and not door_module):
                found.append(f"{rel}:{node.lineno} {'.'.join(target)} {names}")
    return found


def test_no_private_module_or_name_crosses_a_subpackage() -> None:
    assert crossings() == []


def test_the_check_sees_a_crossing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The contract can fail: a copy of the package with one reach-across is caught.
    import shutil

    copy = tmp_path / "crepe_transforms"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "io" / "_audio.py"
    target.write_text(target.read_text() + "\nfrom ..functional._framing import _centers\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", copy)
    assert crossings() == [
        "io/_audio.py:"
        + str(len(target.read_text().splitlines()))
        + (" crepe_transforms.functional._framing ['_centers']")
    ]


@pytest.mark.parametrize(
    "package", [p for p in SUBPACKAGES if (PACKAGE / p / "_internal.py").is_file()]
)
def test_each_internal_surface_resolves_and_holds_no_public_name(package: str) -> None:
    internal = importlib.import_module(f"crepe_transforms.{package}._internal")
    public = set(importlib.import_module(f"crepe_transforms.{package}").__all__)
    for name in internal.__all__:
        assert hasattr(internal, name), name
        assert not name.startswith("_"), name
    assert not public & set(internal.__all__)  # a public name is imported from the package


def test_every_public_module_declares_all() -> None:
    modules = ["crepe_transforms", "crepe_transforms.constants", "crepe_transforms.exceptions"]
    modules += [f"crepe_transforms.{p}" for p in SUBPACKAGES if p != "cli"]
    for name in modules:
        module = importlib.import_module(name)
        assert isinstance(getattr(module, "__all__", None), (list, tuple)), name
