"""The internal surface of ``crepe_transforms.io``: what other subpackages of
this package may use besides the public names (unchecked twins of public functions,
tables, checks). Users import the public names; other subpackages import these from
here and never from a private module (``tests/test_internal_surface.py`` guards it).
"""

from ._corpus import Job, describe, display, env_rank, gather, parse_shard, total
from ._extract import hop_length_for, parse_hop
from ._outputs import FORMATS, check_output_dir
from ._plot import check_image_path

__all__ = [
    "FORMATS",
    "Job",
    "check_image_path",
    "check_output_dir",
    "describe",
    "display",
    "env_rank",
    "gather",
    "hop_length_for",
    "parse_hop",
    "parse_shard",
    "total",
]
