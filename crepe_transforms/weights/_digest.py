"""The digest of a network's state: what "the same weights" means wherever results are kept.

The feature cache keys its entries on it (``CrepeConditioner.config()["weights_sha256"]``)
and every file output records it (``settings["weights_sha256"]``), so both see that the
registry resolved another weight file, whatever the settings that located it (``weights``,
``sha256``, ``pretrained``) say.
"""

from __future__ import annotations

import hashlib

import torch
from torch import nn

__all__ = ["DIGEST_KEY", "state_digest"]

#: The name the digest goes by in a feature-cache config and in an output's settings.
DIGEST_KEY = "weights_sha256"


def state_digest(module: nn.Module) -> str:
    """sha256 of a module's state dict: names, dtypes, shapes and bytes, in key order.

    Example:
        >>> a, b = nn.Linear(2, 1), nn.Linear(2, 1)
        >>> _ = b.load_state_dict(a.state_dict())
        >>> state_digest(a) == state_digest(b), len(state_digest(a))
        (True, 64)
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
