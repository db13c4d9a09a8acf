"""The package version, in a module of its own: records (outputs, feature-cache keys, exports,
checkpoints) and ``crepe-transforms --version`` read it without importing the package's layers."""

__version__ = "0.3.0"
