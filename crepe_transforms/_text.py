"""Text for people: file names and messages that always print."""

from __future__ import annotations

import os

__all__ = ["display"]


def display(text: str | os.PathLike[str]) -> str:
    """A path or message as printable text: bytes of a file name that are not valid UTF-8
    (held by Python as surrogate escapes) become ``\\xNN``, so printing never fails.

    Example:
        >>> display(os.fsdecode(b"caf\\xe9.wav"))
        'caf\\\\xe9.wav'
    """
    value = os.fspath(text)
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no file name decodes to: show its code point
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")
