"""Old names kept for a while: each warns once per call site and says what to use instead."""

from __future__ import annotations

import warnings

__all__ = ["renamed"]


def renamed(old: str, new: str, since: str = "0.3") -> None:
    """Warn that ``old`` was renamed to ``new`` (a :class:`DeprecationWarning` pointing at the
    caller of the deprecated name; ``docs/migration.md`` lists every such name).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     renamed("A.from_pitch", "A.from_parts")
        >>> str(caught[0].message)
        'A.from_pitch is deprecated since 0.3: use A.from_parts (same arguments).'
    """
    warnings.warn(
        f"{old} is deprecated since {since}: use {new} (same arguments).",
        DeprecationWarning,
        stacklevel=3,
    )
