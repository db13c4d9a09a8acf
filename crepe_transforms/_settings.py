"""One description of each module's settings.

Every transform lists its constructor options once, as a tuple of :class:`Setting` in its
``SETTINGS`` class attribute (name, default, one line of help, the choices). That one tuple
feeds

- ``extra_repr``: the settings that differ from their defaults (:func:`describe`);
- ``settings()``: every setting as a plain dict, from which ``type(module)(**settings)``
  rebuilds the module (what a DataLoader worker receives, and part of every cache key);
- the composites' keyword routing: ``CrepePitch(16000, "tiny", fmin=50)`` hands ``fmin`` to
  the part that declares it (:func:`route`), so a composite never re-declares its parts'
  options;
- the command line, whose flags and help texts are generated from the same tuples;
- "does this setting change the numbers?" (``Setting.affects_output``): the settings a resumed
  file run ignores when it compares an output's record with its own, and those the feature
  cache leaves out of its key, are both :func:`neutral` of the tables, never a list by hand.

``tests/test_settings.py`` checks that each ``SETTINGS`` tuple matches its class's ``__init__``
signature, so the two cannot drift.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .exceptions import ParameterError

__all__ = ["REQUIRED", "Configurable", "Setting", "describe", "neutral", "plain", "route"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: Default of a setting that has none (``sample_rate``).
REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Setting:
    """One constructor option of a transform.

    Args:
        name: the keyword argument.
        default: its default value (:data:`REQUIRED` when it has none).
        help: one line for the command line and the docs.
        choices: the accepted words, when the option is a choice.
        cli: whether the command line offers it (``--name-with-dashes``).
        parse: command-line text → value (default: by the choices or the default's type).
        metavar: the command line's placeholder.
        affects_output: False for a setting that cannot change the numbers once the network's
            state is known: memory and speed (chunk and block sizes, the Viterbi kernel, the
            device), checks (``verify``) and where the weights were found (``weights``,
            ``sha256``, ``pretrained``: the digest of the loaded state stands for them).
            Everything that compares settings to tell whether a result is still valid reads
            this one flag (:func:`neutral`).
        derive: for a default (``None``) that stands for a value computed from the other
            settings (``hop_length=None`` → 10 ms of ``sample_rate``), that computation; a
            value equal to it counts as the default (:func:`describe`).
    """

    name: str
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    cli: bool = True
    parse: Callable[[str], Any] | None = None
    metavar: str | None = None
    affects_output: bool = True
    derive: Callable[[Mapping[str, Any]], Any] | None = None

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. ``--hop-length``."""
        return "--" + self.name.replace("_", "-")

    def with_help(self, help: str, **changes: Any) -> Setting:
        """The same setting with another help text (and ``changes``), for an owner that uses a
        shared setting differently: it stays one setting (same name, same check).

        Example:
            >>> Setting("lag", 0, "frames of delay").with_help("frames of delay (streams)").help
            'frames of delay (streams)'
        """
        return dataclasses.replace(self, help=help, **changes)


def neutral(settings: Iterable[Setting]) -> tuple[str, ...]:
    """The names of the settings that do not change the numbers (``affects_output=False``),
    each once, in order.

    Example:
        >>> neutral([Setting("fmin", 50.0, "lowest f0"),
        ...          Setting("chunk_size", 2048, "frames per call", affects_output=False)])
        ('chunk_size',)
    """
    return tuple(dict.fromkeys(s.name for s in settings if not s.affects_output))


def plain(value: Any) -> Any:
    """A setting's value as JSON-able data (paths become strings, dataclasses dicts)."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return value


class Configurable:
    """Mixin for modules described by ``SETTINGS`` (one attribute per setting)."""

    SETTINGS: ClassVar[tuple[Setting, ...]] = ()

    def settings(self) -> dict[str, Any]:
        """Every setting by name: ``type(self)(**self.settings())`` builds the same module.

        Example:
            >>> from crepe_transforms import CrepeFrames
            >>> CrepeFrames(22050).settings()  # doctest: +NORMALIZE_WHITESPACE
            {'sample_rate': 22050, 'hop_length': 220, 'resample': 'resampy',
             'normalization': 'crepe'}
        """
        return {s.name: getattr(self, s.name) for s in self.SETTINGS}

    def extra_repr(self) -> str:
        return describe(self.SETTINGS, self.settings())


def describe(settings: Sequence[Setting], values: Mapping[str, Any]) -> str:
    """``name=value`` for each value that differs from its setting's default.

    A required setting is shown by value first (``sample_rate`` reads ``22050``). Defaults that
    are derived from other settings (``hop_length=None`` → 10 ms) count as defaults.
    """
    parts = []
    for setting in settings:
        if setting.name not in values:
            continue
        value = values[setting.name]
        required = setting.default is REQUIRED
        if required or (value != setting.default and not _derived_default(setting, values)):
            parts.append(f"{setting.name}={value!r}")
    return ", ".join(parts)


def _derived_default(setting: Setting, values: Mapping[str, Any]) -> bool:
    """Whether ``values`` holds the value the setting's default stands for."""
    if setting.derive is None:
        return False
    try:
        derived = setting.derive(values)
    except (KeyError, TypeError, ValueError):  # what it is derived from is not in ``values``
        return False
    return bool(values[setting.name] == derived)


#: 0.1's option names and their 0.2 names (docs/migration.md), for the hint of an unknown option.
RENAMED = {
    "threshold": "voicing",
    "method": "decoder",
    "hop": "hop_length",
    "batch_size": "chunk_size",
}
#: Keywords users reach for that are not options, with what to do instead.
NOT_OPTIONS = {
    "device": (
        "Transforms are torch modules: build on the CPU and move with .to('cuda') (or "
        ".to(device)), as any nn.Module; the input goes to the same device."
    ),
    "dtype": "Transforms are torch modules: change their dtype with .to(torch.float64).",
}


def route(
    owner: str,
    options: Mapping[str, Any],
    parts: Sequence[tuple[str, Iterable[Setting]]],
    own: Iterable[Setting] = (),
) -> dict[str, dict[str, Any]]:
    """Hand each keyword option to the part that declares it.

    Args:
        owner: the composite's name, for messages.
        options: the keyword options it was given.
        parts: ``(part name, its settings)`` in order.
        own: the composite's own settings (its named keywords), listed in messages.

    Returns:
        ``{part name: {option: value}}`` with an entry for every part.

    Raises:
        ParameterError: an option no part declares (with the closest names), or one that two
            parts declare.

    Example:
        >>> from crepe_transforms import CrepeDecode, CrepeFrames
        >>> route("CrepePitch", {"fmin": 50.0, "hop_length": 64},
        ...       [("frames", CrepeFrames.SETTINGS), ("decode", CrepeDecode.SETTINGS)])
        {'frames': {'hop_length': 64}, 'decode': {'fmin': 50.0}}
    """
    owners: dict[str, list[str]] = {}
    for part, settings in parts:
        for setting in settings:
            declared = owners.setdefault(setting.name, [])
            if part not in declared:
                declared.append(part)
    out: dict[str, dict[str, Any]] = {part: {} for part, _ in parts}
    names = [*owners, *(s.name for s in own)]
    for name, value in options.items():
        if len(owners.get(name, ())) > 1:
            both = " and ".join(owners[name])
            raise ParameterError(
                f"{owner} cannot route {name}=...: its parts {both} both declare {name!r}, "
                f"so it is not clear which one it is for. Build the parts yourself with the "
                f"{name} each needs and pass them to {owner}.from_parts(...)."
            )
        if name not in owners:
            close = [known for known in names if name in known or known in name]
            close = close or difflib.get_close_matches(name, names, n=3)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            if name in RENAMED and RENAMED[name] in names:
                new = RENAMED[name]
                hint = f" It was renamed to {new!r} in 0.2: pass {new}=... instead."
            elif name in NOT_OPTIONS:
                hint = f" {NOT_OPTIONS[name]}"
            raise ParameterError(
                f"{owner} has no option {name!r}.{hint} Its options are: "
                f"{', '.join(sorted(names))}."
            )
        out[owners[name][0]][name] = value
    return out
