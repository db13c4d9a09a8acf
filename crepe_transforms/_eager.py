"""A clean graph break for ``torch.compile``.

The CREPE transforms run block loops, numpy resampling, a numba Viterbi kernel and
frequency-domain kernels that TorchDynamo cannot trace (in torch 2.11 the FFT path fails
inside Inductor). A user's compiled model that contains them must still work, so their
``forward`` is marked :func:`eager`: Dynamo stops its graph there, runs the CREPE call as
ordinary eager PyTorch (the fast path), and resumes compiling after it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import torch

__all__ = ["eager"]

_F = TypeVar("_F", bound=Callable[..., Any])


def eager(fn: _F) -> _F:
    """``fn`` runs eagerly when a caller is compiled with ``torch.compile``."""
    return cast(_F, torch.compiler.disable(fn))  # type: ignore[no-untyped-call]
