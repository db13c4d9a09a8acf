"""Command-line interface: ``crepe-transforms`` (also ``python -m crepe_transforms``).

Each top-level command is registered by one ``add_<name>_command(subparsers)`` function listed
in :data:`COMMANDS`; the function builds its parser and sets ``handler`` (a
``Callable[[argparse.Namespace], int]`` returning the exit status) and optionally ``check``
(a post-parse check of several options together). ``pitch``, ``activation``, ``embedding``
and ``plot`` live in :mod:`._extract`, ``weights`` in :mod:`._weights`.

Errors are one line, never a traceback:

- usage errors (unknown options, bad values, checked by the settings' own parse functions)
  print argparse's usage line and ``argument --OPTION: <what is wrong and the fix>``, exit 2;
- errors from the package (:class:`~crepe_transforms.exceptions.CrepeError`) and from the
  file system print ``crepe-transforms: error: ...`` on stderr, exit 1.

File names that are not valid UTF-8 are processed like any other and printed with ``\\xNN``
escapes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from .._version import __version__
from ..exceptions import CrepeError, WeightsNotFoundError
from ._export import add_export_command
from ._extract import (
    add_activation_command,
    add_embedding_command,
    add_pitch_command,
    add_plot_command,
)
from ._finetune import add_finetune_command
from ._options import PROG, error
from ._weights import add_weights_command

__all__ = ["COMMANDS", "PROG", "build_parser", "main"]

Handler = Callable[[argparse.Namespace], int]


#: Registration functions of the top-level commands, in help order.
COMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [
    add_pitch_command,
    add_activation_command,
    add_embedding_command,
    add_plot_command,
    add_export_command,
    add_weights_command,
    add_finetune_command,
]


def build_parser() -> argparse.ArgumentParser:
    """The ``crepe-transforms`` argument parser with every command of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="CREPE pitch tracking as PyTorch transforms: command-line tools.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in COMMANDS:
        register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``) and return the exit status.

    Example:
        >>> main(["weights", "path", "huge"])  # usage error: message on stderr, status 2
        2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        check: Callable[[argparse.Namespace], None] | None = getattr(args, "check", None)
        if check is not None:  # checks of several options together; usage errors too
            check(args)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    handler: Handler = args.handler
    try:
        return handler(args)
    except WeightsNotFoundError as exc:  # the numbered search list reads best as a list
        error(str(exc))
        return 1
    except CrepeError as exc:
        error(" ".join(str(exc).split()))
        return 1
    except OSError as exc:  # unreadable or unwritable paths: cache dir, input files
        error(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
        return 1
    except KeyboardInterrupt:
        error("interrupted")
        return 130
