"""The package version, in a base module that imports nothing (subpackages read it here)."""

__all__ = ["VERSION"]

#: This release (``crepe_transforms.__version__``; ``pyproject.toml`` says the same).
VERSION = "0.3.0"
