"""Command-line flags made from the transforms' ``SETTINGS``: each option is declared once.

:func:`add_settings` turns each :class:`~crepe_transforms._settings.Setting` offered on the
command line (``cli=True``) into a flag: its name (``--chunk-size``), help, choices or parse
function, placeholder and default all come from the setting. Flags not given stay out of the
parsed namespace (``argparse.SUPPRESS``), so the part that declares an option also supplies
its default; :func:`given` collects the options that were given.

A bad value is a usage error (exit status 2) named after its flag, before anything is loaded:
the setting's own parse function (or the positive-integer check of integer settings) makes
the message.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, TextIO

from .._checks import check_positive_int
from .._settings import REQUIRED, Setting
from .._text import display
from ..exceptions import ParameterError

__all__ = [
    "PROG",
    "CommandText",
    "add_command",
    "add_settings",
    "emit_line",
    "error",
    "given",
    "positive",
    "usage",
]

PROG = "crepe-transforms"


class CommandText(NamedTuple):
    """What ``--help`` says of a command: its line in the list of commands, its description."""

    summary: str
    description: str


def add_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    text: CommandText,
    aliases: Sequence[str] = (),
) -> argparse.ArgumentParser:
    """Add the parser of command ``name`` (also called ``aliases``) described by ``text``."""
    return subparsers.add_parser(
        name, aliases=list(aliases), help=text.summary, description=text.description
    )


def emit_line(text: str, stream: TextIO | None = None) -> None:
    """Write one line with a single ``write`` and flush it; never fails on a file name.

    Ranks of a torchrun job share one stdout pipe. ``print`` writes the text and the newline
    separately when the stream is unbuffered (``PYTHONUNBUFFERED``), so another rank's line
    could land between them; one write of under ``PIPE_BUF`` bytes to a pipe is atomic. File
    names that are not valid UTF-8 are shown with ``\\xNN`` escapes (:func:`display`).
    """
    out = sys.stdout if stream is None else stream
    out.write(display(text) + "\n")
    out.flush()


def error(message: str) -> None:
    """``crepe-transforms: error: <message>`` on stderr."""
    emit_line(f"{PROG}: error: {message}", sys.stderr)


def usage(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type`` from a check: its :class:`ParameterError` becomes a usage error."""

    def convert(value: str) -> Any:
        try:
            return check(value)
        except ParameterError as exc:
            raise argparse.ArgumentTypeError(display(str(exc))) from None

    convert.__name__ = getattr(check, "__name__", "value")  # argparse names the type
    return convert


def positive(name: str, example: int) -> Callable[[str], int]:
    """A check of a positive integer flag value; the message shows ``example``."""

    def check(value: str) -> int:
        try:
            number: object = int(value)
        except ValueError:
            number = value
        return check_positive_int(number, name, f" Give e.g. {name} {example}.")

    check.__name__ = name
    return check


def _help(setting: Setting, text: str | None) -> str:
    text = text or setting.help
    if setting.default not in (None, REQUIRED) and "default" not in text:
        text += f" (default: {setting.default})"
    return text.replace("%", "%%")


def add_settings(
    group: argparse._ActionsContainer,
    settings: Iterable[Setting],
    *,
    aliases: Mapping[str, Sequence[str]] | None = None,
    helps: Mapping[str, str] | None = None,
) -> list[str]:
    """Add a flag for each setting offered on the command line; returns their names.

    Args:
        group: the parser or argument group.
        settings: the settings (those with ``cli=False`` are left out).
        aliases: extra flags by setting name (``{"chunk_size": ["--batch-size"]}``).
        helps: help texts that replace the setting's own, where a command uses the option
            differently.
    """
    names = []
    for setting in settings:
        if not setting.cli:
            continue
        kwargs: dict[str, Any] = {
            "dest": setting.name,
            "default": argparse.SUPPRESS,
            "help": _help(setting, (helps or {}).get(setting.name)),
        }
        if setting.parse is not None:
            kwargs["type"] = usage(setting.parse)
            choices = "{" + ",".join(setting.choices) + "}" if setting.choices else None
            kwargs["metavar"] = setting.metavar or choices or setting.name.upper()
        elif setting.choices:
            kwargs["choices"] = setting.choices
        elif isinstance(setting.default, int) and not isinstance(setting.default, bool):
            kwargs["type"] = usage(positive(setting.flag, setting.default))
            kwargs["metavar"] = setting.metavar or "N"
        else:
            kwargs["metavar"] = setting.metavar or setting.name.upper()
        group.add_argument(setting.flag, *(aliases or {}).get(setting.name, ()), **kwargs)
        names.append(setting.name)
    return names


def given(args: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The options among ``names`` that were given on the command line."""
    return {name: getattr(args, name) for name in names if hasattr(args, name)}
