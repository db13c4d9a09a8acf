"""The internal surface of ``crepe_transforms.export``: what other subpackages of
this package may use besides the public names (unchecked twins of public functions,
tables, checks). Users import the public names; other subpackages import these from
here and never from a private module (``tests/test_internal_surface.py`` guards it).
"""

from ._write import check_export_path

__all__ = [
    "check_export_path",
]
