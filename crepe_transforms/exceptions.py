"""Exception hierarchy. Each class also derives from the builtin users already catch."""

from __future__ import annotations

__all__ = [
    "AudioError",
    "ChecksumError",
    "CrepeError",
    "MissingDependencyError",
    "ParameterError",
    "WeightsError",
    "WeightsFormatError",
    "WeightsNotFoundError",
]


class CrepeError(Exception):
    """Base class of every error raised by crepe_transforms."""


class ParameterError(CrepeError, ValueError):
    """A parameter or input tensor is invalid; the message says how to fix it."""


class AudioError(CrepeError, ValueError):
    """An audio file cannot be read or holds unusable audio."""


class MissingDependencyError(CrepeError, ImportError):
    """An optional dependency is missing or broken; the message names the extra to install."""


class WeightsError(CrepeError, RuntimeError):
    """Base class of weight-file problems."""


class WeightsNotFoundError(WeightsError, FileNotFoundError):
    """No weight file was found; the message lists every place searched and the fix."""


class ChecksumError(WeightsError):
    """A weight file's sha256 does not match the expected value."""


class WeightsFormatError(WeightsError):
    """A weight file has missing keys or tensors of the wrong shape for its capacity."""
