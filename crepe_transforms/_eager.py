"""A clean graph break for ``torch.compile``.

The CREPE transforms run block loops, numpy resampling, a numba Viterbi kernel and
frequency-domain kernels that TorchDynamo cannot trace (in torch 2.11 the FFT path fails
inside Inductor). A user's compiled model that contains them must still work, so their
``forward`` is marked :func:`eager`: Dynamo stops its graph there, runs the CREPE call as
ordinary eager PyTorch (the fast path), and resumes compiling after it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import torch

__all__ = ["eager"]

_F = TypeVar("_F", bound=Callable[..., Any])


def eager(fn: _F) -> _F:
    """``fn`` runs eagerly when a caller is compiled with ``torch.compile``.

    ``torch.compiler.disable`` is applied when Dynamo traces the call, not at import: applying
    it imports ``torch._dynamo`` (0.8 s of a 0.95 s package import in 0.2, issue 22). Under
    tracing ``torch.compiler.is_compiling()`` is a constant True, so Dynamo meets the disabled
    function, breaks its graph there and runs ``fn`` eagerly; without compiling, ``fn`` is
    simply called.
    """

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if torch.compiler.is_compiling():
            disabled = torch.compiler.disable(fn)  # type: ignore[no-untyped-call]
            return disabled(*args, **kwargs)
        return fn(*args, **kwargs)

    return cast(_F, run)
