"""Every test the guides point at exists, so a guarantee cannot outlive its proof.

``docs/reliability.md`` names, for each guarantee, the test that would fail if it broke; the
user guide and the decoding and weights pages name a few more. A reference is either
``tests/test_x.py::test_name`` (that test in that file) or a bare ``test_name`` in backticks
(that test in some test file). A renamed or deleted test fails here until the page follows.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["reliability.md", "index.md", "decoding.md", "weights.md"]
QUALIFIED = re.compile(r"tests/(test_\w+\.py)::(test_\w+)")
BARE = re.compile(r"`(test_\w+)(?:\[[^\]`]*\])?`")


@cache
def defined_tests(path: Path) -> frozenset[str]:
    """Names of the test functions a test file defines (module level and in classes)."""
    tree = ast.parse(path.read_text("utf-8"))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    )


def references(page: str) -> tuple[list[tuple[str, str]], list[str]]:
    text = (ROOT / "docs" / page).read_text("utf-8")
    qualified = QUALIFIED.findall(text)
    # a bare name is any backticked test_… that is not part of a qualified reference
    bare = [name for name in BARE.findall(QUALIFIED.sub("", text)) if not name.endswith(".py")]
    return qualified, bare


@pytest.mark.parametrize("page", PAGES)
def test_every_referenced_test_exists(page: str) -> None:
    qualified, bare = references(page)
    missing = []
    for filename, name in qualified:
        path = ROOT / "tests" / filename
        if not path.is_file() or name not in defined_tests(path):
            missing.append(f"tests/{filename}::{name}")
    everywhere = set().union(*(defined_tests(p) for p in (ROOT / "tests").glob("test_*.py")))
    missing += [name for name in bare if name not in everywhere]
    assert not missing, f"docs/{page} points at tests that do not exist: {missing}"


def test_reliability_page_points_at_many_tests() -> None:
    # the scan reads the page (so the test above can fail): dozens of references, both kinds
    qualified, bare = references("reliability.md")
    assert len(qualified) >= 20
    assert len(bare) >= 40


def test_the_checker_catches_a_missing_test(tmp_path: Path) -> None:
    fake = tmp_path / "test_fake.py"
    fake.write_text(
        "def test_here():\n    pass\n\nclass TestX:\n    def test_in_class(self):\n        pass\n"
    )
    assert defined_tests(fake) == {"test_here", "test_in_class"}
    text = "see `tests/test_fake.py::test_gone` and `test_here[a-b]`"
    assert QUALIFIED.findall(text) == [("test_fake.py", "test_gone")]
    assert BARE.findall(QUALIFIED.sub("", text)) == ["test_here"]
