"""The command line, ``crepe-transforms`` (also ``python -m crepe_transforms``)."""

from ._main import main

__all__ = ["main"]
