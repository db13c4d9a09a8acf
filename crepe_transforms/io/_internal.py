"""The internal surface of ``crepe_transforms.io``: what other subpackages of
this package may use besides the public names (unchecked twins of public functions,
tables, checks). Users import the public names; other subpackages import these from
here and never from a private module (``tests/test_internal_surface.py`` guards it).
"""

from ._corpus import Job, describe, env_rank, gather, total
from ._formats import check_output_dir

__all__ = [
    "Job",
    "check_output_dir",
    "describe",
    "env_rank",
    "gather",
    "total",
]
