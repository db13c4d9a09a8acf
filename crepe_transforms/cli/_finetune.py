"""``crepe-transforms finetune AUDIO F0 -o model.pt``: fine-tune CREPE on (audio, f0) pairs.

Writes ``model.pt`` (torchcrepe-layout weights), ``model.pt.sha256`` and ``model.pt.json``
(the training record), each atomically, and keeps ``model.pt.ckpt`` so that the same command
run again after a kill or Ctrl-C resumes where the last checkpoint left off (same final
weights as an uninterrupted run). Load the result with ``--weights model.pt`` in every other
command, or ``CrepePitch(sr, capacity, weights="model.pt")``.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from typing import Any

from ..constants import CAPACITIES
from ._options import CommandText, add_command, emit_line, positive

__all__ = ["add_finetune_command"]

_COMMAND = CommandText(
    "fine-tune CREPE on your recordings with f0 labels",
    "Fine-tune a CREPE model on AUDIO with the f0 tracks in F0 (two files, or two folders "
    "paired by name: NAME.wav with NAME.f0.csv, NAME.f0.npz, NAME.csv or NAME.npz; columns "
    "time, f0 [, voiced], as `crepe-transforms pitch` writes them). Writes OUTPUT, "
    "OUTPUT.sha256 and OUTPUT.json; OUTPUT.ckpt lets the same command resume after a kill or "
    "Ctrl-C. Load the result with --weights OUTPUT. See docs/finetuning.md.",
)


def _fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number < 1:
        raise argparse.ArgumentTypeError(
            f"expected a fraction between 0 and 1, e.g. 0.2; got {value!r}"
        )
    return number


def _number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 0, got {value!r}")
    return number


def _tracks(audio: str, f0: str, resample: str) -> list[Any]:
    from ..io import read_pairs
    from ..train import PitchTrack

    return [
        PitchTrack.from_arrays(*pair, resample_method=resample) for pair in read_pairs(audio, f0)
    ]


class _Progress:
    """A tqdm bar over the steps on stderr, and one line per validation on stdout."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.total = total

    def __call__(self, info: dict[str, Any]) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.total, initial=info["step"] - 1, unit="step", file=sys.stderr
            )
        if info["kind"] == "step":
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{info['loss']:.4f}", fps=f"{info['frames_per_s']:.0f}")
            return
        best = info["best"]
        self.bar.write(
            f"epoch {info['epoch']} (step {info['step']}): validation raw pitch accuracy "
            f"{100 * info['val_rpa']:.2f} %, generic {100 * info['general_rpa']:.2f} %; "
            f"best {100 * best['val_rpa']:.2f} % at step {best['step']}"
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _finetune(args: argparse.Namespace) -> int:
    import torch

    from ..train import Augment, FinetuneConfig, checkpoint_path, finetune

    if args.threads:
        torch.set_num_threads(args.threads)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # under torchrun: one process per rank
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    config = FinetuneConfig(capacity=args.capacity)
    changes = {
        k: v
        for k, v in {
            "steps": args.steps,
            "steps_per_epoch": args.steps_per_epoch,
            "batch_size": args.batch_size,
            "distill_batch": args.distill_batch,
            "lr": args.lr,
            "bn": args.bn,
            "val_fraction": args.val_fraction,
            "patience": args.patience,
            "seed": args.seed,
        }.items()
        if v is not None
    }
    config = replace(config, **changes)
    if args.no_augment:
        config = replace(config, augment=None)
    elif config.augment is None:
        config = replace(config, augment=Augment())
    data = _tracks(args.audio, args.f0, args.resample)
    validation = (
        _tracks(args.val_audio, args.val_f0, args.resample) if args.val_audio is not None else None
    )
    ckpt = checkpoint_path(args.output)
    if ckpt.exists() and not args.restart:
        emit_line(f"resuming from {ckpt} (pass --restart to start over)", sys.stderr)
    progress = _Progress(config.steps, args.quiet)
    try:
        result = finetune(
            data,
            args.output,
            config,
            validation=validation,
            base=args.base,
            base_sha256=args.base_sha256,
            restart=args.restart,
            callback=progress,
        )
    except KeyboardInterrupt:
        progress.close()
        if ckpt.exists():
            emit_line(
                f"interrupted: checkpoint saved to {ckpt}; run the same command to resume",
                sys.stderr,
            )
        raise
    finally:
        progress.close()
    best = result.record["best"]
    if result.path is None:  # a rank other than 0 under torchrun: rank 0 reports
        return 0
    emit_line(
        f"wrote {result.path} (capacity {config.capacity}, sha256 {result.sha256}); "
        f"{result.record['steps']} steps, stopped by {result.record['stopped']}; kept step "
        f"{best['step']}: validation raw pitch accuracy {100 * best['val_rpa']:.2f} %"
    )
    return 0


def _count(parser: argparse.ArgumentParser, flag: str, default: int, text: str) -> None:
    """A positive-integer option of FinetuneConfig: ``None`` (the config's ``default``) unless
    given; a bad value is refused naming the flag, with ``default`` as the example."""
    parser.add_argument(
        flag, type=positive(flag, default), default=None, help=f"{text} ({default})"
    )


def add_finetune_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``finetune``."""
    parser = add_command(subparsers, "finetune", _COMMAND)
    parser.add_argument("audio", metavar="AUDIO", help="an audio file or a folder of them")
    parser.add_argument("f0", metavar="F0", help="its f0 file, or a folder of f0 files")
    parser.add_argument(
        "-o", "--output", required=True, help="weights file to write, e.g. model.pt"
    )
    parser.add_argument(
        "--capacity", default="tiny", choices=list(CAPACITIES), help="model size (default tiny)"
    )
    parser.add_argument(
        "--base", default=None, help="weights to start from (default: the published capacity)"
    )
    parser.add_argument("--base-sha256", default=None, help="trust --base with this sha256")
    _count(parser, "--steps", 600, "most optimizer steps")
    _count(parser, "--steps-per-epoch", 50, "steps between validations and checkpoints")
    _count(parser, "--batch-size", 32, "frames of your data per step")
    parser.add_argument(
        "--distill-batch",
        type=int,
        default=None,
        help="generic frames per step for the forgetting guard (16; 0: off)",
    )
    parser.add_argument("--lr", type=_number, default=None, help="AdamW learning rate (2e-4)")
    parser.add_argument(
        "--bn", choices=["frozen", "update"], default=None, help="BatchNorm statistics (frozen)"
    )
    parser.add_argument(
        "--val-fraction",
        type=_fraction,
        default=None,
        help="share of recordings held out for validation (0.2)",
    )
    parser.add_argument(
        "--val-audio", default=None, help="validation audio (file or folder) instead of a split"
    )
    parser.add_argument("--val-f0", default=None, help="f0 of --val-audio")
    _count(parser, "--patience", 4, "epochs without improvement before stopping")
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of data order and augmentation (0)"
    )
    parser.add_argument(
        "--no-augment", action="store_true", help="no pitch shift, noise, reverb, EQ or gain"
    )
    parser.add_argument(
        "--resample",
        choices=["resampy", "torchaudio"],
        default="resampy",
        help="resampler to 16 kHz",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--restart", action="store_true", help="ignore an existing OUTPUT.ckpt and start over"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    def check(args: argparse.Namespace) -> None:
        if (args.val_audio is None) != (args.val_f0 is None):
            parser.error("--val-audio and --val-f0 go together: pass both or neither")

    parser.set_defaults(handler=_finetune, check=check)
