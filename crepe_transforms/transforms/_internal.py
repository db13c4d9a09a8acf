"""The internal surface of ``crepe_transforms.transforms``: what other subpackages of
this package may use besides the public names (unchecked twins of public functions,
tables, checks). Users import the public names; other subpackages import these from
here and never from a private module (``tests/test_internal_surface.py`` guards it).
"""

from ._composite import Composite
from ._embedding import EMBEDDING_LAYOUTS
from ._engine import run_blocks
from ._pitch import BLOCK_FRAMES, PITCH_PARTS, VOICING, check_block_frames

__all__ = [
    "BLOCK_FRAMES",
    "EMBEDDING_LAYOUTS",
    "PITCH_PARTS",
    "VOICING",
    "Composite",
    "check_block_frames",
    "run_blocks",
]
