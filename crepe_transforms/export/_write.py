"""Writing exported graphs: ONNX files and ``torch.export`` programs, each with its sidecars.

Every export writes three files side by side:

- the graph: ``FILE`` (``.onnx``, or a ``.pt2`` program saved with ``torch.export.save``);
- ``FILE.sha256``: its hash, in the format ``sha256sum -c`` reads;
- ``FILE.json``: what the graph takes and gives (names, shapes with their symbolic axes,
  dtypes), the framing rule that makes its input, the bin → Hz rule, the weights it holds and
  the versions that made it.

Files appear complete or not at all (each is written beside its target, then renamed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch

from .._checks import check_choice
from .._fileio import FILE_MODE
from .._settings import route
from .._tables import EXPORT_FORMATS as FORMATS
from .._tables import EXPORT_GRAPHS as GRAPHS
from .._version import __version__
from ..constants import (
    CREPE_STD_FLOOR,
    N_BINS,
    SAMPLE_RATE,
    TORCHCREPE_STD_FLOOR,
    WINDOW_SIZE,
)
from ..exceptions import MissingDependencyError, ParameterError
from ..transforms import CrepeActivation, CrepeDecode, CrepeFrames
from ._graph import (
    NORMALIZATION_RULES,
    NetworkGraph,
    PitchGraph,
    bins_rule,
    check_pitch_parts,
    decode_bins,
    decoding_rule,
)

__all__ = [
    "DEFAULT_OPSET",
    "FORMATS",
    "GRAPHS",
    "SUFFIXES",
    "ExportRecord",
    "check_export_path",
    "describe_graph",
    "export_graph",
    "export_network",
    "export_pitch",
]

#: ONNX operator set written by default (onnxruntime ≥ 1.18 runs it).
DEFAULT_OPSET = 18
#: The periodicity threshold a sidecar suggests (the graphs decide no voicing): the package's
#: display level and the threshold of its examples.
VOICING_THRESHOLD = 0.5


@dataclass(frozen=True)
class ExportRecord:
    """The files an export wrote, and what the sidecar says."""

    path: Path
    sha256: str
    sidecar: Path
    checksum: Path
    description: dict[str, Any]


#: The file suffix of each format.
SUFFIXES = {"onnx": ".onnx", "pt2": ".pt2"}


def check_export_path(path: str | os.PathLike[str], format: str) -> Path:
    """``path`` if its suffix is the one of ``format``, else raise: an ONNX file named
    ``.pt2`` (or a name without a suffix) cannot be told from its name.

    Example:
        >>> check_export_path("tiny.onnx", "onnx").name
        'tiny.onnx'
    """
    target = Path(path)
    suffix = SUFFIXES[check_choice(format, "format", FORMATS)]
    if target.suffix.lower() != suffix:
        found = f"ends with {target.suffix!r}" if target.suffix else "has no suffix"
        other = [f for f, s in SUFFIXES.items() if s == target.suffix.lower()]
        fix = (
            f"use format={other[0]!r} (--format {other[0]}) for a {target.suffix} file, or "
            if other
            else ""
        )
        raise ParameterError(
            f"{target}: {found}, but format={format!r} writes {suffix} files; {fix}name it "
            f"{target.stem or 'model'}{suffix}."
        )
    return target


def _require_onnx() -> None:
    missing = []
    for name in ("onnx", "onnxscript"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise MissingDependencyError(
            f"ONNX export needs {' and '.join(missing)}. Install them with "
            f'`pip install "crepe-transforms[export]"` (onnx, onnxscript, onnxruntime), or '
            f"export a torch.export program with format='pt2'."
        )


def _framing(hop_length: int, normalization: str) -> dict[str, Any]:
    floors = {
        "crepe": (WINDOW_SIZE, CREPE_STD_FLOOR),
        "torchcrepe": (WINDOW_SIZE - 1, TORCHCREPE_STD_FLOOR),
    }
    divisor, floor = floors.get(normalization, (None, None))
    return {
        "sample_rate": SAMPLE_RATE,
        "window": WINDOW_SIZE,
        "hop_length": hop_length,
        "center": True,
        "frames": "1 + T // hop_length",
        "frame_i": "audio[i * hop_length - 512 : i * hop_length + 512], zeros outside the audio",
        "normalization": normalization,
        "normalization_rule": NORMALIZATION_RULES[normalization],
        # frame = (frame - mean) / max(sqrt(sum((frame - mean) ** 2) / divisor), floor)
        "normalization_divisor": divisor,
        "normalization_floor": floor,
        # CrepeFrames at another rate (SPEC §4): hop in samples of that rate, centres on the
        # nearest 16 kHz sample of the resampled audio
        "other_rates": {
            "hop": "hop samples of the input rate (CrepePitch's default: rate // 100)",
            "frames": "1 + T // hop, T samples at the input rate",
            "centre_16k": "(2 * i * hop * 16000 + rate) // (2 * rate), integer arithmetic",
            "frame_i": "resampled[centre - 512 : centre + 512], zeros outside",
        },
    }


def _resampling() -> dict[str, Any]:
    """What makes the graph's 16 kHz input from audio at another rate."""
    return {
        "graph_rate": SAMPLE_RATE,
        "rule": (
            "audio at another rate is resampled to 16000 Hz first, each row alone, as "
            "CrepePitch(sample_rate) does by default (resample='resampy')"
        ),
        "python": "resampy.resample(audio, sample_rate, 16000, filter='kaiser_best', axis=-1)",
        "library": "resampy>=0.4.2,<0.5 (pip install resampy)",
        "filter": "kaiser_best",
        "length": "int(T * 16000 / sample_rate) samples (resampy truncates)",
        "alternative": (
            "torchaudio.functional.resample(audio, sample_rate, 16000, lowpass_filter_width=64, "
            "rolloff=0.9475937167399596, resampling_method='sinc_interp_kaiser', "
            "beta=14.769656459379492) matches CrepePitch(sample_rate, resample='torchaudio')"
        ),
    }


def _silence(graph: NetworkGraph | PitchGraph) -> tuple[float, float]:
    """f0 (Hz) and periodicity the graph gives on digital silence (measured, not assumed)."""
    with torch.no_grad():
        if isinstance(graph, PitchGraph):
            f0, periodicity = graph(torch.zeros(1, SAMPLE_RATE // 10))
            return float(f0[0, 2]), float(periodicity[0, 2])
        salience = graph(torch.zeros(1, WINDOW_SIZE))
        f0, periodicity = decode_bins(salience)
        return float(f0[0]), float(periodicity[0])


def _voicing(graph: NetworkGraph | PitchGraph) -> dict[str, Any]:
    """What the sidecar says about voicing: the graph decides none."""
    f0, periodicity = _silence(graph)
    return {
        "in_graph": False,
        "note": (
            f"the graph decides no voicing: every frame gets an f0, silence included (digital "
            f"silence gives f0 {f0:.2f} Hz at periodicity {periodicity:.3f}). Threshold the "
            f"periodicity: a frame is unvoiced (f0 = NaN) where periodicity < threshold"
        ),
        "rule": "voiced = periodicity >= threshold; f0[~voiced] = NaN",
        "threshold": VOICING_THRESHOLD,
        "equivalent": f"CrepePitch(..., voicing={VOICING_THRESHOLD})",
        "silence": {"f0_hz": round(f0, 4), "periodicity": round(periodicity, 5)},
        "auto": (
            "voicing='auto' (the package's default for files: periodicity and each frame's "
            "level against the item's noise floor) needs the whole item's levels and is not "
            "in the graph; use crepe_transforms for it"
        ),
    }


def _weights(activation: CrepeActivation) -> dict[str, Any]:
    info: dict[str, Any] = {"capacity": activation.capacity, "pretrained": activation.pretrained}
    if activation.pretrained:
        from ..weights import locate
        from ..weights._internal import sha256_file

        location = locate(activation.capacity, activation.weights, activation.sha256)
        info.update(
            source=location.source, file=location.path.name, sha256=sha256_file(location.path)
        )
    return info


def describe_graph(graph: NetworkGraph | PitchGraph, activation: CrepeActivation) -> dict[str, Any]:
    """The sidecar's description of ``graph`` (inputs, outputs, framing, weights)."""
    if isinstance(graph, NetworkGraph):
        inputs = [
            {
                "name": "frames",
                "shape": ["N", WINDOW_SIZE],
                "dtype": "float32",
                "description": "normalised 16 kHz frames, one per row (see framing)",
            }
        ]
        outputs = [
            {
                "name": "salience",
                "shape": ["N", N_BINS],
                "dtype": "float32",
                "description": "sigmoid activation of each pitch bin (see bins)",
            }
        ]
        framing = _framing(SAMPLE_RATE // 100, "crepe")
        framing["note"] = "the framing that makes this graph's input; any hop works"
        extra: dict[str, Any] = {
            # CrepePitch's own decoders: the local average is all f0 needs; Viterbi smooths
            # the bin path first and is a loop the graph does not hold
            "decoding": {
                **decoding_rule("weighted_argmax", 0, N_BINS - 1),
                "viterbi": (
                    "CrepePitch's default decoder is 'viterbi' (a path over all frames); the "
                    "local average above is CrepePitch(..., decoder='weighted_argmax'). For "
                    "Viterbi, decode the salience with crepe_transforms.CrepeDecode('viterbi')"
                ),
            },
        }
    else:
        inputs = [
            {
                "name": "audio",
                "shape": ["B", "T"],
                "dtype": "float32",
                "description": f"{SAMPLE_RATE} Hz mono audio, rows zero-padded to T samples",
            }
        ]
        frames_axis = ["B", f"1 + T // {graph.hop_length}"]
        outputs = [
            {
                "name": "f0",
                "shape": frames_axis,
                "dtype": "float32",
                "description": "pitch in Hz of each frame (frame i centred at i * hop / 16000 s)",
            },
            {
                "name": "periodicity",
                "shape": frames_axis,
                "dtype": "float32",
                "description": "salience at the decoded bin (CREPE's confidence)",
            },
        ]
        framing = _framing(graph.hop_length, graph.normalization)
        framing["note"] = (
            f"the graph's frames are centred on 16 kHz samples i * {graph.hop_length}: for audio "
            f"at another rate (resampled first) that is CrepePitch(rate, hop_length=h) with "
            f"h = {graph.hop_length} * rate / 16000 when h is whole (44.1 and 48 kHz at 10 ms); "
            f"keep its first 1 + T // h frames. Other rates and hops: export the network graph "
            f"and frame by other_rates"
        )
        extra = {
            "decoder": graph.decoder,
            "fmin": graph.fmin,
            "fmax": graph.fmax,
            "decoding": {
                **decoding_rule(graph.decoder, graph.low, graph.high),
                "in_graph": True,
                "equivalent": f"CrepePitch(16000, {graph.capacity!r}, decoder={graph.decoder!r})",
            },
        }

    return {
        "graph": "network" if isinstance(graph, NetworkGraph) else "pitch",
        "capacity": graph.capacity,
        "inputs": inputs,
        "outputs": outputs,
        "framing": framing,
        "bins": bins_rule(),
        **extra,
        "voicing": _voicing(graph),
        "resampling": _resampling(),
        "weights": _weights(activation),
        "producer": {"crepe_transforms": __version__, "torch": torch.__version__},
    }


def _example(graph: NetworkGraph | PitchGraph) -> tuple[torch.Tensor, dict[str, Any]]:
    """An example input whose dynamic axes are not 0 or 1 (export specialises those)."""
    dim = torch.export.Dim
    if isinstance(graph, NetworkGraph):
        return torch.randn(5, WINDOW_SIZE), {"frames": {0: dim("N", min=1)}}
    example = torch.randn(2, 7 * graph.hop_length + 3)
    return example, {"audio": {0: dim("B", min=1), 1: dim("T", min=1)}}


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces it when the block succeeds."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        # mkstemp made it 0600: give it the mode every other output has (0666 minus umask),
        # so a model copied into a container for another user can be read
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _size_oblivious() -> contextlib.AbstractContextManager[Any]:
    """Trace sizes without special-casing 1 (torch ≥ 2.8's ``backed_size_oblivious``).

    Otherwise ``torch.export`` guards on a frame count other than 1 (reshapes, contiguity)
    and refuses audio shorter than one hop; the config is private, so it is optional.
    """
    try:
        from torch.fx.experimental import _config
    except ImportError:  # pragma: no cover - older torch
        return contextlib.nullcontext()
    if not hasattr(_config, "backed_size_oblivious"):  # pragma: no cover - older torch
        return contextlib.nullcontext()
    patch: Any = getattr(_config, "patch")  # noqa: B009 (installed by torch's config module)
    return cast(contextlib.AbstractContextManager[Any], patch(backed_size_oblivious=True))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporters' notes about themselves (deprecations inside torch, optional
    torchvision operators): they are not about the user's graph."""
    logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        logger.setLevel(level)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_text(path: Path, text: str) -> None:
    with _replacing(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def export_graph(
    graph: NetworkGraph | PitchGraph,
    path: str | os.PathLike[str],
    activation: CrepeActivation,
    format: str = "onnx",
    opset: int = DEFAULT_OPSET,
) -> ExportRecord:
    """Write ``graph`` to ``path`` as ONNX or a ``torch.export`` program, with its sidecars.

    Args:
        graph: a :class:`NetworkGraph` or :class:`PitchGraph`.
        path: the file to write (``.onnx`` / ``.pt2`` by convention).
        activation: the network's transform (for the weights' provenance).
        format: ``"onnx"`` or ``"pt2"``.
        opset: the ONNX operator set.
    """
    check_choice(format, "format", FORMATS)
    target = Path(path)
    check_export_path(target, format)
    try:  # as every other output (plot, pitch -o): a missing folder is created
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(
            f"cannot write {target}: the folder {target.parent} cannot be created "
            f"({exc.strerror or exc}); choose another path."
        ) from None
    description = describe_graph(graph, activation)
    example, dynamic = _example(graph)
    names = [o["name"] for o in description["outputs"]]
    graph.eval()
    with torch.no_grad(), _size_oblivious(), _quiet():
        if format == "onnx":
            _require_onnx()
            with _replacing(target) as temporary:
                torch.onnx.export(
                    graph,
                    (example,),
                    str(temporary),
                    input_names=[description["inputs"][0]["name"]],
                    output_names=names,
                    dynamic_shapes=dynamic,
                    opset_version=opset,
                    dynamo=True,
                    external_data=False,
                    verbose=False,
                )
            description["format"] = {"name": "onnx", "opset": opset}
        else:
            program = torch.export.export(graph, (example,), dynamic_shapes=dynamic)
            with _replacing(target) as temporary:
                torch.export.save(program, temporary)
            description["format"] = {"name": "pt2", "load": "torch.export.load(FILE).module()"}
    digest = _sha256(target)
    description = {"file": target.name, "sha256": digest, **description}
    checksum = target.with_name(target.name + ".sha256")
    sidecar = target.with_name(target.name + ".json")
    _write_text(checksum, f"{digest}  {target.name}\n")
    _write_text(sidecar, json.dumps(description, indent=2) + "\n")
    return ExportRecord(target, digest, sidecar, checksum, description)


def export_network(
    path: str | os.PathLike[str], capacity: str = "full", *, format: str = "onnx", **options: Any
) -> ExportRecord:
    """Export the CREPE network: frames ``(N, 1024)`` float32 → salience ``(N, 360)``, any N.

    Args:
        path: the file to write.
        capacity: the model size.
        format: ``"onnx"`` or ``"pt2"`` (a ``torch.export`` program).
        **options: options of :class:`~crepe_transforms.CrepeActivation` (``weights``,
            ``sha256``, ``pretrained``, ``verify``; the graph always runs the direct layers
            in float32).

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> record = export_network(folder / "tiny.pt2", "tiny", format="pt2", pretrained=False)
        >>> record.description["inputs"][0]["shape"], sorted(p.name for p in folder.iterdir())
        (['N', 1024], ['tiny.pt2', 'tiny.pt2.json', 'tiny.pt2.sha256'])
    """
    check_export_path(path, format)  # before any weights are read
    activation = CrepeActivation(capacity, **options)
    return export_graph(NetworkGraph(activation), path, activation, format)


def export_pitch(
    path: str | os.PathLike[str], capacity: str = "full", *, format: str = "onnx", **options: Any
) -> ExportRecord:
    """Export 16 kHz audio ``(B, T)`` → f0 and periodicity ``(B, 1 + T // hop)``, any B, T.

    Args:
        path, capacity, format: as for :func:`export_network`.
        **options: options of :class:`~crepe_transforms.CrepeFrames` (``hop_length`` in
            16 kHz samples, ``normalization``), :class:`~crepe_transforms.CrepeActivation`
            and :class:`~crepe_transforms.CrepeDecode` (``decoder``: ``"weighted_argmax"``,
            the default here, or ``"argmax"``; ``fmin``, ``fmax``).
    """
    check_export_path(path, format)
    if "sample_rate" in options or "resample" in options:
        raise ParameterError(
            f"the exported pitch graph takes {SAMPLE_RATE} Hz audio: drop sample_rate= and "
            f"resample=, and resample before the graph."
        )
    parts = route(
        "export_pitch",
        options,
        [
            ("frames", CrepeFrames.SETTINGS),
            ("activation", CrepeActivation.SETTINGS),
            ("decode", CrepeDecode.SETTINGS),
        ],
    )
    decode = CrepeDecode(**{"decoder": "weighted_argmax", **parts["decode"]})
    frames = CrepeFrames(SAMPLE_RATE, **parts["frames"])
    check_pitch_parts(frames, decode)  # before any weights are read
    activation = CrepeActivation(capacity, **parts["activation"])
    return export_graph(PitchGraph(frames, activation, decode), path, activation, format)
