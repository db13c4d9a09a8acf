"""One file or a whole corpus: :func:`predict_file` and :func:`predict_files`.

:func:`predict_files` is the command line's engine: it discovers and shards the inputs,
resumes (outputs that exist **with this run's settings** are skipped), writes atomically,
reports a bad file and goes on, and returns a :class:`~crepe_transforms.io.Summary`.

The resume rule: every output records the settings that made it. Before computing anything,
each existing output's record is compared with this run's settings for it, leaving out those
that do not change the numbers (:data:`~crepe_transforms.io._extract.NEUTRAL_SETTINGS`,
``affects_output=False`` in the settings tables). Where the weights were found is one of those:
every output records the digest of the network's state (``weights_sha256``, as the feature
cache's key does), so an output made with another weight file than the one this run resolves
is not done. An
output made with other settings, or whose settings are unknown (written by 0.1, or a CSV that
no longer matches its record), is not done, and the run stops with one error naming it, each
differing setting and the fix (``overwrite=True`` / ``--overwrite``, or another output
directory). Without that rule a run with other settings would call stale outputs done.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..exceptions import CrepeError, ParameterError
from ..weights._internal import DIGEST_KEY
from ._audio import AUDIO_EXTENSIONS
from ._corpus import (
    Job,
    NullReporter,
    Reporter,
    Summary,
    check_collisions,
    discover,
    env_rank,
    shard,
)
from ._extract import NEUTRAL_SETTINGS, WEIGHT_SOURCE, Extractor
from ._features import FORMATS, Features, UnknownRecord, check_format, output_name
from ._formats import check_output_dir, write_features
from ._records import differences, read_record

__all__ = ["check_resume", "predict_file", "predict_files"]

_FIX = "recompute with --overwrite (overwrite=True) or write to another output directory (-o)"


def predict_file(path: str | os.PathLike[str], kind: str = "pitch", **options: Any) -> Features:
    """Pitch (or ``kind="activation"`` / ``"embedding"``) of one file; ``options`` as
    :class:`Extractor`. Build an :class:`Extractor` once to process many files.

    Example:
        >>> import numpy as np, soundfile, tempfile
        >>> path = Path(tempfile.mkdtemp()) / "a.wav"
        >>> soundfile.write(path, np.zeros(4000), 16000)
        >>> result = predict_file(path, capacity="tiny", pretrained=False, hop_length="5ms")
        >>> result.num_frames, result.hop_length, result.settings["capacity"]
        (51, 80, 'tiny')
    """
    return Extractor(**options).compute(kind, path)


def _show(value: Any) -> str:
    return value if value == "<absent>" else repr(value)


def check_resume(targets: Iterable[Path], kind: str, fmt: str, extractor: Extractor) -> None:
    """Raise if an existing target was not made with ``extractor``'s settings (see above).

    Raises:
        ParameterError: one line naming the first such output, each differing setting
            (old → new) or why its settings are unknown, how many more there are, and the fix.
    """
    problems: list[str] = []
    for target in targets:
        if not target.exists():
            continue
        try:
            record = read_record(target, fmt)
        except UnknownRecord as exc:
            problems.append(f"{exc}; its settings are unknown, so it is not done")
            continue
        ignore = NEUTRAL_SETTINGS
        if DIGEST_KEY not in record.settings:
            # made by 0.2, before outputs recorded the weights' digest: compare the settings
            # that located the weights instead, as 0.2 did
            ignore = (*(n for n in NEUTRAL_SETTINGS if n not in WEIGHT_SOURCE), DIGEST_KEY)
        changed = differences(
            record.settings, extractor.recorded_settings(kind, record.sample_rate), ignore=ignore
        )
        if changed:
            listed = ", ".join(f"{name} {_show(a)} → {_show(b)}" for name, a, b in changed)
            problems.append(f"{target}: made with other settings than this run: {listed}")
    if problems:
        more = len(problems) - 1
        others = f" ({more} more output{'s' if more > 1 else ''} like it)" if more else ""
        raise ParameterError(f"{problems[0]}{others}; {_FIX}.")


def _one_line(job: Job, exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename is not None:
        text = f"{exc.filename}: {exc.strerror or text}"
    elif not isinstance(exc, CrepeError):
        text = f"{type(exc).__name__}: {text}"
    return text if text.startswith(str(job.source)) else f"{job.source}: {text}"


def predict_files(
    inputs: Iterable[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str],
    kind: str = "pitch",
    fmt: str | None = None,
    *,
    file_list: str | os.PathLike[str] | None = None,
    extensions: Sequence[str] = AUDIO_EXTENSIONS,
    overwrite: bool = False,
    shard_index: tuple[int, int] | None = None,
    distributed: bool = True,
    extractor: Extractor | None = None,
    reporter: Reporter | None = None,
    **options: Any,
) -> Summary:
    """Process a corpus: one output file per input, mirroring the input tree.

    Args:
        inputs, file_list, extensions: files, directories, glob patterns and a file list,
            and the suffixes searched for (see :func:`~crepe_transforms.io.discover`).
        output_dir: where outputs go (``<relative path>.f0.csv`` …).
        kind: ``"pitch"``, ``"activation"`` or ``"embedding"``.
        fmt: ``"csv"`` (pitch only), ``"npz"`` or ``"pt"``; default csv for pitch, else npz.
        overwrite: recompute outputs that exist. Default: an output that exists and records
            this run's settings is skipped (outputs are written atomically, so an existing
            one is complete); one made with other or unknown settings stops the run before
            anything is computed.
        shard_index: ``(I, N)``: process only shard I of N of the sorted inputs.
        distributed: also shard by ``RANK``/``WORLD_SIZE`` from the environment (torchrun);
            with both, shard I of N is split again between the ranks.
        extractor: a ready :class:`Extractor`; otherwise one is built from ``options``.
        reporter: progress hooks (:class:`~crepe_transforms.io._corpus.Reporter`).

    Returns:
        This process's :class:`Summary`. A file that fails is reported and skipped.

    Raises:
        ParameterError: bad options, an ``output_dir`` that cannot be created or written, or
            an existing output of other settings (all checked before any file is computed).
    """
    if extractor is not None and options:
        raise ParameterError(
            f"pass either extractor= or the options of a new one, not both "
            f"(got {', '.join(sorted(options))} as well)."
        )
    fmt = check_format(kind, fmt or FORMATS[kind][0])
    jobs = discover(inputs, file_list, extensions)
    check_output_dir(output_dir)
    names = [output_name(job.relative, kind, fmt) for job in jobs]
    check_collisions(jobs, names)
    targets = {job: Path(output_dir) / name for job, name in zip(jobs, names, strict=True)}
    extractor = extractor or Extractor(**options)
    if not overwrite:
        # every rank checks every output, so all ranks of a torchrun job agree to stop
        check_resume(targets.values(), kind, fmt, extractor)
    index, count = shard_index or (0, 1)
    rank, world = env_rank() if distributed else (0, 1)
    mine = shard(jobs, index * world + rank, count * world)
    reporter = reporter or NullReporter()
    summary = Summary(files=len(mine), rank=rank, world=world)
    started = time.perf_counter()

    def count_frames(n: int) -> None:
        summary.frames += n
        reporter.frames(n)

    reporter.start(mine)
    try:
        for job in mine:
            target = targets[job]
            if target.exists() and not overwrite:
                summary.skipped.append(target)
                reporter.done(job, target, False)
                continue
            try:
                write_features(extractor.compute(kind, job.source, count_frames), target, fmt)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # one bad file must not stop a corpus run
                message = _one_line(job, exc)
                summary.failed.append((job.source, message))
                reporter.failed(job, message)
                continue
            summary.written.append(target)
            reporter.done(job, target, True)
    finally:
        summary.seconds = time.perf_counter() - started
        reporter.close()
    return summary
