"""The internal surface of ``crepe_transforms.weights``: what other subpackages of
this package may use besides the public names (unchecked twins of public functions,
tables, checks). Users import the public names; other subpackages import these from
here and never from a private module (``tests/test_internal_surface.py`` guards it).
"""

from ._digest import DIGEST_KEY, state_digest
from ._finetuned import FINETUNED_DIR, FinetunedFile, finetuned_record, sidecar_sha256
from ._keras import infer_keras_capacity, keras_to_state_dict, read_keras_weights
from ._registry import (
    ENV_CACHE,
    ENV_WEIGHTS,
    VerifyResult,
    cache_dir,
    finetuned_dirs,
    infer_capacity,
    search_locations,
    sha256_file,
    trusted_hashes,
    validate_state_dict,
    weights_dir,
)

__all__ = [
    "DIGEST_KEY",
    "ENV_CACHE",
    "ENV_WEIGHTS",
    "FINETUNED_DIR",
    "FinetunedFile",
    "VerifyResult",
    "cache_dir",
    "finetuned_dirs",
    "finetuned_record",
    "infer_capacity",
    "infer_keras_capacity",
    "keras_to_state_dict",
    "read_keras_weights",
    "search_locations",
    "sha256_file",
    "sidecar_sha256",
    "state_digest",
    "trusted_hashes",
    "validate_state_dict",
    "weights_dir",
]
