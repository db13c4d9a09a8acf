"""``crepe-transforms export``: write the network, or 16 kHz audio → pitch, as ONNX or ``.pt2``.

The flags are made from the transforms' ``SETTINGS`` (:mod:`._options`): the network's
(``--capacity``, ``--weights``, ``--sha256``), the framing's (``--hop-length``,
``--normalization``) and the decoder's (``--decoder``, ``--fmin``, ``--fmax``), the last two
groups for ``--graph pitch`` only. The work is :func:`crepe_transforms.export.export_network`
and :func:`~crepe_transforms.export.export_pitch`; the command prints what it wrote.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from .._settings import Setting
from .._tables import ACTIVATION, DECODE, EXPORT_DECODERS, FRAMES
from .._tables import EXPORT_FORMATS as FORMATS
from .._tables import EXPORT_GRAPHS as GRAPHS
from ..constants import SAMPLE_RATE
from ..exceptions import ParameterError
from ._options import CommandText, add_command, add_settings, emit_line, given

__all__ = ["add_export_command"]

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

_NETWORK = ("capacity", "weights", "sha256")
_PITCH_ONLY = ("hop_length", "normalization", "decoder", "fmin", "fmax")

#: What ``--help`` says of the command.
_TEXT = CommandText(
    "write the CREPE network or the whole 16 kHz pitch path as ONNX or torch.export",
    "Write a deployable graph: --graph network (frames (N, 1024) float32 -> salience (N, 360), "
    "any N) or --graph pitch (16 kHz audio (B, T) -> f0 and periodicity (B, 1 + T // hop), any "
    "B and T). Beside FILE come FILE.sha256 and FILE.json, which describes the inputs, outputs, "
    "framing rule and weights. ONNX needs the export extra: "
    'pip install "crepe-transforms[export]".',
)


def _network_settings() -> list[Setting]:
    return [s for s in ACTIVATION if s.name in _NETWORK]


def _pitch_settings() -> list[Setting]:
    hop = next(s for s in FRAMES if s.name == "hop_length")
    norm = next(s for s in FRAMES if s.name == "normalization")
    decoder = next(s for s in DECODE if s.name == "decoder")
    ranges = [s for s in DECODE if s.name in ("fmin", "fmax")]
    return [
        dataclasses.replace(
            hop,
            default=160,
            cli=True,
            help="hop between frames: a duration ('10ms', '0.005s') or 16 kHz samples "
            "(default: 160, 10 ms), as pitch and plot take it",
            parse=_hop_16k,
            metavar="HOP",
        ),
        norm,
        dataclasses.replace(
            decoder,
            default="weighted_argmax",
            choices=EXPORT_DECODERS,
            help="weighted_argmax (original CREPE local average) or argmax; Viterbi does "
            "not export (decode exported activations with CrepeDecode)",
        ),
        *ranges,
    ]


def _hop_16k(text: str) -> int:
    """``--hop-length`` of the 16 kHz graph: a duration or samples, in 16 kHz samples."""
    from ..functional._internal import hop_length_for, parse_hop

    return hop_length_for(parse_hop(text), SAMPLE_RATE)


def _format(value: str | None, output: Path) -> str:
    if value is not None:
        return value
    return "pt2" if output.suffix.lower() == ".pt2" else "onnx"


def _check(parser: argparse.ArgumentParser) -> None:
    """Post-parse checks: pitch-only flags with --graph network, and --fmin/--fmax together."""

    def check(args: argparse.Namespace) -> None:
        from ..export._internal import check_export_path
        from ..functional import admitted_bins

        try:  # an ONNX file under a .pt2 name, or a name without a suffix
            check_export_path(args.output, _format(args.format, args.output))
        except ParameterError as exc:
            parser.error(f"argument -o/--output: {exc}")
        if args.graph == "network":
            extra = [n for n in _PITCH_ONLY if hasattr(args, n)]
            if extra:
                flags = ", ".join("--" + n.replace("_", "-") for n in extra)
                parser.error(f"{flags}: only for --graph pitch (the network takes frames)")
        fmin, fmax = getattr(args, "fmin", None), getattr(args, "fmax", None)
        if fmin is not None or fmax is not None:
            try:
                admitted_bins(fmin, fmax)
            except ValueError as exc:
                parser.error(f"argument --fmin/--fmax: {exc}")

    parser.set_defaults(check=check)


def add_export_command(subparsers: Subparsers) -> None:
    """Register ``export``."""
    parser = add_command(subparsers, "export", _TEXT)
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="FILE",
        help="the file to write, ending in .onnx or .pt2 (a missing folder is created)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="onnx or pt2 (a torch.export program); default: by FILE's suffix, .onnx or .pt2, "
        "which must match the format",
    )
    parser.add_argument(
        "--graph",
        choices=GRAPHS,
        default="network",
        help="network (default): frames to salience; pitch: 16 kHz audio to f0 and periodicity",
    )
    group = parser.add_argument_group("network")
    names = add_settings(group, _network_settings())
    group = parser.add_argument_group("pitch graph (--graph pitch)")
    names += add_settings(group, _pitch_settings(), aliases={"hop_length": ["--hop"]})

    def handler(args: argparse.Namespace) -> int:
        from ..export import export_network, export_pitch

        options = given(args, names)
        capacity = options.pop("capacity", "full")
        output: Path = args.output
        kind = _format(args.format, output)
        if args.graph == "network":
            record = export_network(output, capacity, format=kind, **options)
        else:
            record = export_pitch(output, capacity, format=kind, **options)
        emit_line(f"wrote {record.path} ({kind}, sha256 {record.sha256})")
        emit_line(f"wrote {record.checksum} and {record.sidecar}")
        return 0

    parser.set_defaults(handler=handler)
    _check(parser)
