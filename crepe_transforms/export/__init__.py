"""Deployable exports: the CREPE network, or 16 kHz audio → pitch, as one graph.

- :func:`export_network`: frames ``(N, 1024)`` float32 → salience ``(N, 360)``, any ``N``;
- :func:`export_pitch`: audio ``(B, T)`` at 16 kHz → f0 and periodicity
  ``(B, 1 + T // hop_length)`` with ``weighted_argmax`` or ``argmax``, any ``B`` and ``T``;
- :func:`export_graph`: any :class:`NetworkGraph` / :class:`PitchGraph` you built from parts.

Each writes an ONNX file (``format="onnx"``, needs the ``export`` extra: onnx, onnxscript;
run it with onnxruntime) or a ``torch.export`` program (``format="pt2"``, no extra), and
beside it ``FILE.sha256`` and a JSON sidecar ``FILE.json`` describing inputs, outputs, the
framing rule and the weights. The command line: ``crepe-transforms export``. See
``docs/streaming.md``.
"""

from ._graph import (
    EXPORT_DECODERS,
    NetworkGraph,
    PitchGraph,
    check_pitch_parts,
    decode_bins,
    frame_audio,
    normalize_rows,
)
from ._write import (
    DEFAULT_OPSET,
    FORMATS,
    GRAPHS,
    ExportRecord,
    describe_graph,
    export_graph,
    export_network,
    export_pitch,
)

__all__ = [
    "DEFAULT_OPSET",
    "EXPORT_DECODERS",
    "FORMATS",
    "GRAPHS",
    "ExportRecord",
    "NetworkGraph",
    "PitchGraph",
    "check_pitch_parts",
    "decode_bins",
    "describe_graph",
    "export_graph",
    "export_network",
    "export_pitch",
    "frame_audio",
    "normalize_rows",
]
