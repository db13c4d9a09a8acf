"""The benchmark scripts stay runnable: each one imports and answers ``--help``.

They are not run in CI (they take minutes and need a quiet machine), so without this a
refactor can break them unnoticed until the next measurement.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (ROOT / "benchmarks").glob("*.py") if "if __name__ ==" in p.read_text())


def test_there_are_scripts() -> None:
    assert {"speed.py", "stream_speed.py", "before_after.py"} <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_answers_help(script: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(script), "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


def test_one_test_signal_for_the_speed_benchmarks() -> None:
    # benchmarks/signals.py holds the melody every speed script times; a script with its own
    # generator would make its numbers incomparable with the others'.
    defining = sorted(
        p.name
        for p in (ROOT / "benchmarks").glob("*.py")
        if "def melody(" in p.read_text() or "def test_audio(" in p.read_text()
    )
    assert defining == ["signals.py"]


def test_one_timing_rule_for_the_speed_benchmarks() -> None:
    # benchmarks/timing.py holds the best-of rule, the stream push loop and the machine line;
    # a script with its own best-of loop or push loop times differently from the others.
    own_loops = sorted(
        p.name
        for p in (ROOT / "benchmarks").glob("*.py")
        if p.name != "timing.py"
        and ("best = min(" in p.read_text() or "stream.push(part)" in p.read_text())
    )
    assert own_loops == []
