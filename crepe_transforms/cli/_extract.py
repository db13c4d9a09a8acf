"""The file commands: ``pitch``, ``activation``, ``embedding`` (alias ``embed``) and ``plot``.

The model and decoding flags are made from the transforms' ``SETTINGS`` (:mod:`._options`):
``CrepeFrames`` (normalization), ``CrepeActivation`` (capacity, chunk size, weights,
algorithm, precision), ``CrepeDecode`` (decoder, range, HMM), ``CrepePitch`` (voicing, block
size), ``CrepeEmbedding`` (layout) and the extractor's own (hop, device, spill folder). The
work is done by :func:`crepe_transforms.io.predict_files` and
:func:`crepe_transforms.io.plot_file`; this module parses, shows progress and reports:

- one line per failed file on stderr (``crepe-transforms: error: <file>: <reason>``);
- a summary line per process on stdout, and with several ranks (torchrun) the total from
  rank 0; ``--quiet`` keeps only the error lines;
- exit status 0 when every file is done (written now, or before with the same settings); 1
  if an existing output was made with other settings, or if any file failed in a
  one-process run; under torchrun a run whose files failed exits 0 on every rank (torchrun
  would report any other status as a crashed job) and says so; ``--strict`` makes failed
  files exit status 3 everywhere.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._settings import Setting
from .._tables import (
    ACTIVATION,
    AUDIO_EXTENSIONS,
    DECODE,
    EMBEDDING,
    EXTRACTOR,
    FORMATS,
    FRAMES,
    VOICING,
    later,
)
from .._text import display
from ..exceptions import ParameterError
from ._options import (
    PROG,
    CommandText,
    add_command,
    add_settings,
    emit_line,
    error,
    given,
    positive,
    usage,
)

__all__ = [
    "add_activation_command",
    "add_embedding_command",
    "add_pitch_command",
    "add_plot_command",
]

if TYPE_CHECKING:
    from ..io._internal import Job

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

#: Older spellings that keep working.
ALIASES = {
    "chunk_size": ["--batch-size"],
    "hop_length": ["--hop"],
    "voicing": ["--threshold"],
}

#: What ``--help`` says of each command.
_TEXTS: dict[str, CommandText] = {
    "pitch": CommandText(
        "track the pitch of audio files and write CSV/NPZ/PT files",
        "Track f0 and periodicity of every frame of every file (one output file per input, "
        "recording the settings that made it). Resumable: outputs made before with the same "
        "settings are skipped, and one made with other settings stops the run before anything "
        "is computed. Atomic (a killed run leaves no half file), sharded under torchrun or "
        "--shard. A bad file is reported and skipped; exit status 1 if any failed.",
    ),
    "activation": CommandText(
        "save the 360-bin CREPE salience of audio files (NPZ/PT)",
        "Save the network's salience of every frame (frames x 360, 20 cents a bin, bin 0 = "
        "31.7 Hz) per file, with the settings that made it. Resumable, atomic and sharded like "
        "pitch.",
    ),
    "embedding": CommandText(
        "save CREPE block-5 embeddings of audio files (NPZ/PT)",
        "Save the block-5 embeddings of every frame per file: (frames, 32, E), E = 64 full, 8 "
        "tiny (or (frames, C5, 8) with --layout channels), with the settings that made them. "
        "Resumable, atomic and sharded like pitch.",
    ),
    "plot": CommandText(
        "draw a spectrogram with the pitch contour and periodicity (needs matplotlib)",
        "Draw one file (or a part of it): a spectrogram with the f0 contour of every frame, "
        "solid where the periodicity reaches --voicing and faint elsewhere, and the periodicity "
        "below. The format follows the image's suffix. Needs matplotlib: pip install "
        '"crepe-transforms[plot]".',
    ),
}


def _own(*names: str) -> list[Setting]:
    return [s for s in EXTRACTOR if s.name in names]


def _prefix(rank: int, world: int) -> str:
    return f"{PROG} [rank {rank}/{world}]" if world > 1 else PROG


class _Progress:
    """A files bar and a frames counter on stderr (tqdm), and the report lines."""

    def __init__(self, args: argparse.Namespace, rank: int, world: int) -> None:
        self.prefix = _prefix(rank, world)
        self.ranked = world > 1
        self.verbose = args.verbose and not args.quiet
        self.show = not args.quiet and rank == 0 and sys.stderr.isatty()
        self.bars: list[Any] = []

    def start(self, jobs: Sequence[Job]) -> None:
        if self.show:
            from tqdm import tqdm

            files = tqdm(total=len(jobs), unit="file", desc="files", position=0, file=sys.stderr)
            frames = tqdm(unit="frame", unit_scale=True, desc="frames", position=1, file=sys.stderr)
            self.bars = [files, frames]

    def _print(self, text: str, stream: Any) -> None:
        if self.bars:
            self.bars[0].write(display(text), file=stream)
        else:
            emit_line(text, stream)

    def frames(self, count: int) -> None:
        if self.bars:
            self.bars[1].update(count)

    def done(self, job: Job, target: Path, written: bool) -> None:
        if self.bars:
            self.bars[0].update(1)
        if self.verbose:
            lead = f"{self.prefix}: " if self.ranked else ""
            self._print(f"{lead}{'wrote' if written else 'exists'} {target}", sys.stdout)

    def failed(self, job: Job, message: str) -> None:
        if self.bars:
            self.bars[0].update(1)
        self._print(f"{self.prefix}: error: {message}", sys.stderr)

    def close(self) -> None:
        for bar in self.bars:
            bar.close()
        self.bars = []


def _device(requested: str, world: int) -> str:
    local = os.environ.get("LOCAL_RANK")
    if requested == "cuda" and world > 1 and local is not None and local.isdigit():
        return f"cuda:{local}"  # one GPU per local rank under torchrun
    return requested


def _run(kind: str, names: Sequence[str]) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        # the work needs torch: imported here, so that --help does not
        from ..io import Extractor, predict_files
        from ..io._internal import check_output_dir, describe, env_rank, gather, total

        if not args.paths and args.file_list is None:
            error("give audio files, directories or --file-list FILE")
            return 2
        rank, world = env_rank()
        # Before the weights load: an unwritable --output-dir is one line, not one per file.
        check_output_dir(args.output_dir, "--output-dir")
        options = given(args, names)
        if "device" in options:
            options["device"] = _device(options["device"], world)
        extractor = Extractor(mono=not args.keep_channels, **options)
        summary = predict_files(
            args.paths,
            args.output_dir,
            kind,
            args.format,
            file_list=args.file_list,
            extensions=args.ext,
            overwrite=args.overwrite,
            shard_index=args.shard,
            extractor=extractor,
            reporter=_Progress(args, rank, world),
        )
        prefix = _prefix(rank, world)
        if not args.quiet:
            emit_line(f"{prefix}: {summary.line()}")
        records = gather(summary.record(), rank, world)
        if records is None:
            if rank == 0 and not args.quiet:
                emit_line(f"{PROG}: total not available (no process group); see each rank's line")
            return _status(len(summary.failed), world, args.strict, rank == 0 and not args.quiet)
        overall = total(records)
        if rank == 0 and world > 1 and not args.quiet:
            emit_line(f"{PROG}: total over {world} ranks: {describe(overall)}")
        return _status(overall["failed"], world, args.strict, rank == 0 and not args.quiet)

    return handler


#: Exit status of a run in which files failed, with ``--strict`` (distinct from 1 and 2).
STRICT_STATUS = 3


def _status(failed: int, world: int, strict: bool, say: bool) -> int:
    """Exit status of a finished run: 0 when no file failed; else 3 with ``--strict``, 1 for
    one process, and 0 for torchrun ranks, whose non-zero exit torchrun's elastic agent
    reports as a crashed job (a ``ChildFailedError`` traceback and a FAILED banner) although
    every file was handled and the broken ones are listed in the summary."""
    if not failed:
        return 0
    if strict:
        return STRICT_STATUS
    if world == 1:
        return 1
    if say:
        emit_line(
            f"{PROG}: {failed} file{'s' if failed > 1 else ''} failed (the error lines above); "
            f"under torchrun the ranks still exit 0, as the run itself completed. Pass --strict "
            f"for exit status {STRICT_STATUS}."
        )
    return 0


def _check_range(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], None]:
    """Post-parse check of --fmin/--fmax together (a usage error, exit status 2)."""

    def check(args: argparse.Namespace) -> None:
        fmin, fmax = getattr(args, "fmin", None), getattr(args, "fmax", None)
        if fmin is None and fmax is None:
            return
        from ..functional import admitted_bins

        try:
            admitted_bins(fmin, fmax)
        except ParameterError as exc:
            parser.error(f"argument --fmin/--fmax: {exc}")

    return check


def _model_flags(
    parser: argparse.ArgumentParser, own: Sequence[str], helps: dict[str, str] | None = None
) -> list[str]:
    """The model group: the network's, the framing's and the extractor's own options
    (``helps`` replaces the help of those a command uses differently)."""
    group = parser.add_argument_group("model")
    names = add_settings(group, ACTIVATION, aliases=ALIASES)
    names += add_settings(group, FRAMES, aliases=ALIASES)
    names += add_settings(group, _own(*own), aliases=ALIASES, helps=helps)
    return names


def _decoding_flags(
    parser: argparse.ArgumentParser, voicing: Setting, voicing_help: str | None = None
) -> list[str]:
    group = parser.add_argument_group("decoding")
    names = add_settings(group, DECODE, aliases=ALIASES)
    helps = {"voicing": voicing_help} if voicing_help else None
    names += add_settings(group, [voicing], aliases=ALIASES, helps=helps)
    return names


def _io_flags(parser: argparse.ArgumentParser, kind: str, what: str) -> None:
    group = parser.add_argument_group("inputs and outputs")
    group.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="audio files, directories (searched recursively) or quoted glob patterns",
    )
    group.add_argument(
        "--file-list",
        "--manifest",
        dest="file_list",
        type=Path,
        metavar="FILE",
        help="text file with one audio path per line (relative to the file)",
    )
    group.add_argument(
        "-o",
        "--output-dir",
        type=Path,
        required=True,
        metavar="DIR",
        help=f"where the {what} go, one file per input; paths mirror the input tree",
    )
    formats = FORMATS[kind]
    group.add_argument(
        "--format",
        choices=formats,
        default=formats[0],
        help=f"format of the {what} (default {formats[0]})",
    )
    group.add_argument(
        "--ext",
        nargs="+",
        default=AUDIO_EXTENSIONS,
        metavar="EXT",
        help="suffixes searched for in directories and globs (default: "
        + " ".join(e.lstrip(".") for e in AUDIO_EXTENSIONS)
        + ")",
    )
    group.add_argument(
        "--overwrite",
        action="store_true",
        help=f"recompute {what} that exist (default: skip those made with the same settings; "
        "one made with other settings stops the run)",
    )
    group.add_argument(
        "--shard",
        type=usage(later(".io._corpus", "parse_shard")),
        metavar="I/N",
        help="process shard I of N (0-based) of the sorted inputs, e.g. for job "
        "arrays; under torchrun each shard is split again between the ranks",
    )
    group.add_argument(
        "--keep-channels",
        action="store_true",
        help="one result per channel (default: downmix to mono, the channel mean)",
    )
    group.add_argument(
        "--strict",
        action="store_true",
        help=f"exit status {STRICT_STATUS} when any file failed, under torchrun too (default: 1 "
        "for one process; 0 for torchrun ranks, since torchrun reports any non-zero exit as a "
        "crash; the summary lists the failed files either way)",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no summary; only errors"
    )
    group.add_argument(
        "-v", "--verbose", action="store_true", help="print each output written or found on stdout"
    )


_COMMON_OWN = ("hop_length", "device", "block_frames")


def _file_command(
    subparsers: Subparsers,
    kind: str,
    own: Sequence[str],
    aliases: Sequence[str] = (),
    helps: dict[str, str] | None = None,
) -> tuple[argparse.ArgumentParser, list[str]]:
    """The parser of a file command with its input, output and model flags, and their names."""
    parser = add_command(subparsers, kind, _TEXTS[kind], aliases)
    _io_flags(parser, kind, f"{kind} files")
    return parser, _model_flags(parser, own, helps)


def add_pitch_command(subparsers: Subparsers) -> None:
    """Register ``pitch``."""
    device = next(s for s in EXTRACTOR if s.name == "device")
    helps = {"device": f"{device.help} (decoding runs on the CPU)"}
    parser, names = _file_command(subparsers, "pitch", (*_COMMON_OWN, "spill_dir"), helps=helps)
    # the default is the Extractor's (FILE_VOICING), so Python and the shell agree
    names += _decoding_flags(parser, _own("voicing")[0])
    parser.set_defaults(handler=_run("pitch", names), check=_check_range(parser))


def add_activation_command(subparsers: Subparsers) -> None:
    """Register ``activation``."""
    parser, names = _file_command(subparsers, "activation", _COMMON_OWN)
    parser.set_defaults(handler=_run("activation", names))


def add_embedding_command(subparsers: Subparsers) -> None:
    """Register ``embedding`` (alias ``embed``)."""
    parser, names = _file_command(subparsers, "embedding", _COMMON_OWN, aliases=["embed"])
    layout = [s for s in EMBEDDING if s.name == "layout"]
    names += add_settings(parser.add_argument_group("embedding"), layout)
    parser.set_defaults(handler=_run("embedding", names))


def _plot(names: Sequence[str]) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from ..io import plot_file

        target = plot_file(
            args.file,
            args.output,
            start=args.start,
            duration=args.duration,
            dpi=args.dpi,
            **given(args, names),
        )
        emit_line(f"wrote {target}")
        return 0

    return handler


def _seconds(name: str, low_ok: bool) -> Callable[[str], float]:
    def check(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not (number >= 0 if low_ok else number > 0):
            bound = ">= 0" if low_ok else "> 0"
            raise ParameterError(f"{name} must be a number of seconds {bound}, got {value!r}")
        return number

    check.__name__ = name
    return check


def add_plot_command(subparsers: Subparsers) -> None:
    """Register ``plot``."""
    parser = add_command(subparsers, "plot", _TEXTS["plot"])
    parser.add_argument("file", type=Path, metavar="FILE", help="audio file")
    parser.add_argument(
        "-o",
        "--output",
        type=usage(later(".io._plot", "check_image_path")),
        required=True,
        metavar="IMAGE",
        help="image to write; its suffix picks the format (.png, .pdf, .svg, .jpg …)",
    )
    parser.add_argument(
        "--start",
        type=usage(_seconds("--start", True)),
        default=0.0,
        metavar="S",
        help="first second to draw (default 0)",
    )
    parser.add_argument(
        "--duration",
        type=usage(_seconds("--duration", False)),
        default=None,
        metavar="S",
        help="seconds to draw (default: to the end)",
    )
    parser.add_argument(
        "--dpi",
        type=usage(positive("--dpi", 120)),
        default=120,
        metavar="N",
        help="resolution of the image (and of the spectrogram in PDF/SVG) (default 120)",
    )
    hop = (
        "hop between frames: a duration ('10ms', '0.005s'; floored to whole samples of the "
        "file's rate) or samples of the file's rate ('160'); default 10 ms"
    )
    names = _model_flags(parser, ("hop_length", "block_frames"), {"hop_length": hop})
    names += _decoding_flags(
        parser,
        VOICING,
        "periodicity that splits the solid contour (at or above it) from the faint dots "
        "(default 0.5); every frame is tracked and drawn, nothing is removed",
    )
    parser.set_defaults(handler=_plot(names), check=_check_range(parser))
