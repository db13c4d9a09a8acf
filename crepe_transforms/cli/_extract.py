"""The corpus commands of the CLI: ``pitch``, ``activation``, ``embed`` and ``plot``.

Registered in :data:`crepe_transforms.cli.COMMANDS`. The work is done by
:func:`crepe_transforms.extract.predict_files` (and :func:`crepe_transforms.plot.plot_file`);
this module only parses options, shows progress and prints the reports:

- one line per failed file on stderr (``crepe-transforms: error: <file>: <reason>``);
- a summary line per process on stdout, and with several ranks (torchrun) the total from
  rank 0; ``--quiet`` keeps only the error lines;
- exit status 0 when every file is done (written now or before), 1 if any failed anywhere.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .audio import AUDIO_EXTENSIONS
from .constants import CAPACITIES

__all__ = [
    "add_activation_command",
    "add_embed_command",
    "add_pitch_command",
    "add_plot_command",
]

PROG = "crepe-transforms"

_DECODERS = ("viterbi", "weighted_argmax", "argmax")
_FORMATS = {"pitch": ("csv", "npz", "pt"), "activation": ("npz", "pt"), "embedding": ("npz", "pt")}


def _prefix(rank: int, world: int) -> str:
    return f"{PROG} [rank {rank}/{world}]" if world > 1 else PROG


def emit_line(text: str, stream: Any) -> None:
    """Write one line with a single ``write`` and flush it.

    Ranks of a torchrun job share one stdout pipe. ``print`` writes the text and the newline
    separately when the stream is unbuffered (``PYTHONUNBUFFERED``), so another rank's line
    could land between them; one write of under ``PIPE_BUF`` bytes to a pipe is atomic.
    """
    stream.write(text + "\n")
    stream.flush()


class _Progress:
    """A files bar and a frames counter on stderr (tqdm), and the report lines."""

    def __init__(self, args: argparse.Namespace, rank: int, world: int) -> None:
        self.prefix = _prefix(rank, world)
        self.ranked = world > 1
        self.verbose = args.verbose and not args.quiet
        self.show = not args.quiet and rank == 0 and sys.stderr.isatty()
        self.bars: list[Any] = []

    def start(self, jobs: Sequence[Any]) -> None:
        if self.show:
            from tqdm import tqdm

            files = tqdm(total=len(jobs), unit="file", desc="files", position=0, file=sys.stderr)
            frames = tqdm(unit="frame", unit_scale=True, desc="frames", position=1, file=sys.stderr)
            self.bars = [files, frames]

    def _print(self, text: str, stream: Any) -> None:
        if self.bars:
            self.bars[0].write(text, file=stream)
        else:
            emit_line(text, stream)

    def frames(self, count: int) -> None:
        if self.bars:
            self.bars[1].update(count)

    def done(self, job: Any, target: Path, written: bool) -> None:
        if self.bars:
            self.bars[0].update(1)
        if self.verbose:
            lead = f"{self.prefix}: " if self.ranked else ""
            self._print(f"{lead}{'wrote' if written else 'exists'} {target}", sys.stdout)

    def failed(self, job: Any, message: str) -> None:
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


def _options(args: argparse.Namespace, kind: str) -> dict[str, Any]:
    options: dict[str, Any] = {
        "capacity": args.capacity,
        "hop": args.hop,
        "normalization": args.normalization,
        "mono": not args.keep_channels,
        "precision": args.precision,
        "algorithm": args.algorithm,
        "chunk_size": args.batch_size,
        "block_frames": args.block_frames,
        "weights": args.weights,
        "sha256": args.sha256,
    }
    if kind == "pitch":
        options.update(
            decoder=args.decoder,
            hmm=args.hmm,
            fmin=args.fmin,
            fmax=args.fmax,
            threshold=args.threshold,
        )
    if kind == "embedding":
        options["layout"] = args.layout
    return options


def _run(kind: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from .corpus import describe, env_rank, gather, total
        from .extract import Extractor, predict_files
        from .outputs import check_output_dir

        if not args.paths and args.manifest is None:
            print(f"{PROG}: error: give audio files, directories or --manifest", file=sys.stderr)
            return 2
        rank, world = env_rank()
        shard_index = args.shard
        # Before the weights load: an unwritable --output-dir is one line, not one per file.
        check_output_dir(args.output_dir, "--output-dir")
        extractor = Extractor(device=_device(args.device, world), **_options(args, kind))
        summary = predict_files(
            args.paths,
            args.output_dir,
            kind,
            args.format,
            manifest=args.manifest,
            extensions=args.ext,
            overwrite=args.overwrite,
            shard_index=shard_index,
            extractor=extractor,
            reporter=_Progress(args, rank, world),
        )
        prefix = _prefix(rank, world)
        if not args.quiet:
            emit_line(f"{prefix}: {summary.line()}", sys.stdout)
        records = gather(summary.record(), rank, world)
        if records is None:
            if rank == 0 and not args.quiet:
                print(f"{PROG}: total not available (no process group); see each rank's line")
            return 0 if summary.ok else 1
        overall = total(records)
        if rank == 0 and world > 1 and not args.quiet:
            emit_line(f"{PROG}: total over {world} ranks: {describe(overall)}", sys.stdout)
        return 1 if overall["failed"] else 0

    return handler


def _hz(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a frequency in Hz; give a number, e.g. 50 or 1000.5"
        ) from None


# argparse ``type`` functions: a bad value is a usage error (exit status 2) named after its
# option, before anything is loaded. The package's own checks make the messages.


def _usage(check: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(value: str) -> Any:
        from .exceptions import ParameterError

        try:
            return check(value)
        except ParameterError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = check.__name__  # argparse names the type in some messages
    return convert


def _hop(value: str) -> str:
    from .extract import hop_length_for

    hop_length_for(value, 16000)  # the syntax; the hop is converted per file rate later
    return value


def _sha256(value: str) -> str:
    from .checks import check_sha256

    return str(check_sha256(value))


def _shard(value: str) -> tuple[int, int]:
    from .corpus import parse_shard

    return parse_shard(value)


def _threshold(value: str) -> float:
    from .exceptions import ParameterError

    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not 0.0 <= number <= 1.0:
        raise ParameterError(
            f"threshold must be a periodicity in [0, 1], got {value!r}; 0.21 to 0.5 are usual"
        )
    return number


def _positive(name: str, example: int) -> Callable[[str], int]:
    def positive(value: str) -> int:
        from .exceptions import ParameterError

        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            raise ParameterError(
                f"{name} must be a positive integer, got {value!r}; e.g. {name} {example}"
            )
        return number

    return positive


def _check_range(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], None]:
    """Post-parse check of --fmin/--fmax together (a usage error, exit status 2)."""

    def check(args: argparse.Namespace) -> None:
        if args.fmin is None and args.fmax is None:
            return
        from .decode import admitted_bins
        from .exceptions import ParameterError

        try:
            admitted_bins(args.fmin, args.fmax)
        except ParameterError as exc:
            parser.error(f"argument --fmin/--fmax: {exc}")

    return check


def _add_common(parser: argparse.ArgumentParser, kind: str) -> None:
    io = parser.add_argument_group("inputs and outputs")
    io.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="audio files, directories (searched recursively) or quoted glob patterns",
    )
    io.add_argument(
        "--manifest",
        type=Path,
        metavar="FILE",
        help="text file with one audio path per line (relative to the file)",
    )
    io.add_argument(
        "-o",
        "--output-dir",
        type=Path,
        required=True,
        metavar="DIR",
        help="where outputs go; paths mirror the input tree",
    )
    io.add_argument(
        "--format",
        choices=_FORMATS[kind],
        default=_FORMATS[kind][0],
        help=f"output format (default {_FORMATS[kind][0]})",
    )
    io.add_argument(
        "--ext",
        nargs="+",
        default=AUDIO_EXTENSIONS,
        metavar="EXT",
        help="suffixes searched for in directories and globs (default: "
        + " ".join(e.lstrip(".") for e in AUDIO_EXTENSIONS)
        + ")",
    )
    io.add_argument(
        "--overwrite", action="store_true", help="recompute outputs that exist (default: skip them)"
    )
    io.add_argument(
        "--shard",
        type=_usage(_shard),
        metavar="I/N",
        help="process shard I of N (0-based) of the sorted inputs, e.g. for job "
        "arrays; under torchrun each shard is split again between the ranks",
    )
    io.add_argument(
        "--keep-channels",
        action="store_true",
        help="one result per channel (default: downmix to mono, the channel mean)",
    )
    io.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no summary; only errors"
    )
    io.add_argument(
        "-v", "--verbose", action="store_true", help="print each output written or found on stdout"
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--capacity",
        choices=tuple(CAPACITIES),
        default="full",
        help="CREPE model size (default full; tiny is ~40x faster)",
    )
    model.add_argument(
        "--hop",
        type=_usage(_hop),
        default=None,
        metavar="HOP",
        help="hop between frames: '10ms' (default), '0.005s' or samples ('160')",
    )
    model.add_argument(
        "--device", default="cpu", help="torch device for the network, e.g. cuda (default cpu)"
    )
    model.add_argument(
        "--batch-size",
        type=_usage(_positive("--batch-size", 128)),
        default=128,
        metavar="N",
        help="frames per network call (default 128)",
    )
    model.add_argument(
        "--block-frames",
        type=_usage(_positive("--block-frames", 4096)),
        default=4096,
        metavar="N",
        help="frames read and computed per block of a long file (default 4096)",
    )
    model.add_argument(
        "--algorithm",
        choices=("fft", "direct"),
        default="fft",
        help="convolutions in the frequency domain (default, faster) or as written",
    )
    model.add_argument(
        "--precision",
        choices=("float32", "float16", "bfloat16"),
        default="float32",
        help="network dtype (default float32)",
    )
    model.add_argument(
        "--normalization",
        choices=("crepe", "torchcrepe", "none"),
        default="crepe",
        help="frame normalisation (default crepe)",
    )
    model.add_argument(
        "--weights",
        type=Path,
        default=None,
        metavar="FILE",
        help="weight file (default: the registry, see `weights list`)",
    )
    model.add_argument(
        "--sha256",
        type=_usage(_sha256),
        default=None,
        metavar="HEX",
        help="trust --weights FILE with this hash (for weights no manifest knows)",
    )


def _add_decoding(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("decoding")
    group.add_argument("--decoder", choices=_DECODERS, default="viterbi", help="default viterbi")
    group.add_argument(
        "--hmm",
        choices=("default", "crepe"),
        default="default",
        help="Viterbi model: default, or crepe (the original decoder)",
    )
    group.add_argument("--fmin", type=_hz, default=None, metavar="HZ", help="lowest pitch")
    group.add_argument("--fmax", type=_hz, default=None, metavar="HZ", help="highest pitch")
    group.add_argument(
        "--threshold",
        type=_usage(_threshold),
        default=None,
        metavar="P",
        help="periodicity below which f0 is unvoiced (empty/NaN); adds a "
        "voiced column (default: none)",
    )


def add_pitch_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``pitch``."""
    parser = subparsers.add_parser(
        "pitch",
        help="track the pitch of audio files and write CSV/NPZ/PT files",
        description="Track f0 and periodicity of every file. Resumable (existing outputs are "
        "skipped), atomic (a killed run leaves no half file), sharded under torchrun or "
        "--shard. A bad file is reported and skipped; exit status 1 if any failed.",
    )
    _add_common(parser, "pitch")
    _add_decoding(parser)
    parser.set_defaults(handler=_run("pitch"), check=_check_range(parser))


def add_activation_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``activation``."""
    parser = subparsers.add_parser(
        "activation",
        help="save the 360-bin CREPE salience of audio files (NPZ/PT)",
        description="Save the network's salience (frames x 360, 20 cents a bin) per file.",
    )
    _add_common(parser, "activation")
    parser.set_defaults(handler=_run("activation"))


def add_embed_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``embed``."""
    parser = subparsers.add_parser(
        "embed",
        help="save CREPE block-5 embeddings of audio files (NPZ/PT)",
        description="Save block-5 embeddings per file: (frames, 32, E), E = 64 full, 8 tiny.",
    )
    _add_common(parser, "embedding")
    parser.add_argument(
        "--layout",
        choices=("torchcrepe", "channels"),
        default="torchcrepe",
        help="torchcrepe: (frames, 32, E); channels: (frames, C5, 8)",
    )
    parser.set_defaults(handler=_run("embedding"))


def _plot(args: argparse.Namespace) -> int:
    from .plot import plot_file

    target = plot_file(
        args.file,
        args.output,
        capacity=args.capacity,
        start=args.start,
        duration=args.duration,
        hop=args.hop,
        decoder=args.decoder,
        fmin=args.fmin,
        fmax=args.fmax,
        threshold=args.threshold,
        weights=args.weights,
        sha256=args.sha256,
        dpi=args.dpi,
    )
    print(f"wrote {target}")
    return 0


def add_plot_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``plot``."""
    parser = subparsers.add_parser(
        "plot",
        help="draw a spectrogram with the pitch contour and periodicity (needs matplotlib)",
        description="Spectrogram, f0 contour and periodicity of one file. Needs matplotlib: "
        'pip install "crepe-transforms[plot]".',
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="audio file")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="IMAGE",
        help="image to write (.png, .pdf, .svg)",
    )
    parser.add_argument("--capacity", choices=tuple(CAPACITIES), default="full")
    parser.add_argument(
        "--start", type=float, default=0.0, metavar="S", help="first second to show (default 0)"
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="seconds to show (default: to the end)",
    )
    parser.add_argument(
        "--hop", type=_usage(_hop), default=None, help="hop: '10ms' (default) or samples"
    )
    parser.add_argument("--dpi", type=_usage(_positive("--dpi", 120)), default=120)
    parser.add_argument("--weights", type=Path, default=None, metavar="FILE")
    parser.add_argument("--sha256", type=_usage(_sha256), default=None, metavar="HEX")
    _add_decoding(parser)
    parser.set_defaults(handler=_plot, check=_check_range(parser))
