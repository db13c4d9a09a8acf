"""Banded max-plus Viterbi decoding over CREPE pitch bins.

The hidden states are pitch bins. A frame may move at most ``band`` bins from the previous one
(transition weight ``max(band + 1 - |i - j|, 0)``, row-normalised), optionally with a small
probability ``jump`` of leaving the band to any state. Because the band is narrow (23 of 360
states), the max-plus recursion costs ``O(frames x states x (2 band + 1))`` instead of
``O(frames x states**2)``.

Two interchangeable kernels compute the same path bit for bit: a numba kernel for CPU tensors
(used when numba is installed) and a pure-torch scan for every other device. Both add the same
float64 numbers in the same order and break ties towards the lowest state index, exactly as
``librosa.sequence.viterbi`` does, so a dense reference HMM gives the identical path.

Two configurations are provided: :data:`CREPE_HMM` reproduces the original CREPE decoder,
:data:`DEFAULT_HMM` is the default of this package (see ``docs/decoding.md`` for the
measurements behind it).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import cast

import torch
import torch.nn.functional as F

from .._checks import check_choice, check_lengths
from ..constants import BACKENDS
from ..exceptions import MissingDependencyError, ParameterError

__all__ = [
    "CREPE_HMM",
    "DEFAULT_HMM",
    "HMM",
    "log_emission",
    "log_jump",
    "log_transition",
    "resolve_hmm",
    "viterbi_path",
]

_EMISSIONS = ("salience", "argmax")


@dataclass(frozen=True)
class HMM:
    """Configuration of the pitch HMM decoded by :func:`viterbi_path`.

    Args:
        emission: ``"salience"``: log-likelihood of state ``i`` is ``log(max(a_i, floor))``
            with ``a`` the raw activations. ``"argmax"``: the original CREPE observation model,
            where only the frame's argmax bin ``k`` is observed and
            ``P(k | i) = hit * [i = k] + (1 - hit) / n_states``.
        band: largest move in bins between consecutive frames (11 in CREPE).
        jump: probability of leaving the band, spread uniformly over all states. 0 keeps the
            strict band of the original CREPE.
        floor: activation floor of the ``"salience"`` emission. Frames whose activations all
            lie below it have a flat emission and let the path move freely.
        hit: probability of observing the true bin in the ``"argmax"`` emission.

    Example:
        >>> HMM(emission="argmax", band=11, jump=0.0, hit=0.1) == CREPE_HMM
        True
    """

    emission: str = "salience"
    band: int = 11
    jump: float = 0.0
    floor: float = 1e-3
    hit: float = 0.1

    def to_dict(self) -> dict[str, object]:
        """The configuration as plain data (for cache keys and saved settings)."""
        return {f: getattr(self, f) for f in ("emission", "band", "jump", "floor", "hit")}

    def __post_init__(self) -> None:
        check_choice(self.emission, "emission", _EMISSIONS)
        if isinstance(self.band, bool) or not isinstance(self.band, numbers.Integral):
            raise ParameterError(
                f"band must be an integer number of bins, got {self.band!r}; e.g. band=11."
            )
        if not 1 <= int(self.band) <= 359:
            raise ParameterError(
                f"band={self.band} is out of range: a frame moves 1 to 359 bins at most "
                f"(CREPE uses band=11, about 220 cents)."
            )
        _check_probability(self.jump, "jump", closed_low=True, example="1e-3 (0 for none)")
        _check_probability(self.floor, "floor", closed_low=False, example="1e-3")
        _check_probability(self.hit, "hit", closed_low=False, example="0.1")


def _check_probability(value: object, name: str, closed_low: bool, example: str) -> None:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    v = float(value) if ok else math.nan  # type: ignore[arg-type]
    if not (ok and (v >= 0.0 if closed_low else v > 0.0) and v < 1.0):
        bounds = "[0, 1)" if closed_low else "(0, 1)"
        raise ParameterError(
            f"{name} must be a probability in {bounds}, got {value!r}; e.g. {name}={example}."
        )


#: The original CREPE decoder (``crepe.core.to_viterbi_cents``): argmax observation, strict band.
CREPE_HMM = HMM(emission="argmax", band=11, jump=0.0, hit=0.1)
#: The default: salience emission and rare jumps; chosen by measurement (docs/decoding.md).
DEFAULT_HMM = HMM(emission="salience", band=11, jump=1e-3, floor=1e-3)

_PRESETS = {"default": DEFAULT_HMM, "crepe": CREPE_HMM}


def resolve_hmm(hmm: HMM | str) -> HMM:
    """Return ``hmm`` itself or the preset it names (``"default"`` or ``"crepe"``).

    Example:
        >>> resolve_hmm("crepe").emission
        'argmax'
    """
    if isinstance(hmm, HMM):
        return hmm
    if isinstance(hmm, str) and hmm in _PRESETS:
        return _PRESETS[hmm]
    raise ParameterError(
        f"hmm={hmm!r} is not a Viterbi configuration. Pass 'default', 'crepe' or a "
        f"crepe_transforms.HMM(...) instance."
    )


def log_transition(
    n_states: int, hmm: HMM | str, device: torch.device | None = None
) -> torch.Tensor:
    """Banded log transition table of ``hmm`` over ``n_states`` states.

    Entry ``[k, j]`` is ``log P(j | i = j + k - band)``: the log-probability of arriving in
    state ``j`` from the state ``k - band`` bins away. Impossible moves (outside the states)
    are ``-inf``. The constant log-probability of a jump is :func:`log_jump`.

    Args:
        n_states: number of pitch states (360 unless fmin/fmax restrict the bins).
        hmm: the configuration or the name of a preset.
        device: where to put the table.

    Returns:
        float64 tensor.

    Shape:
        - Output: ``(2 * band + 1, n_states)``.

    Example:
        >>> table = log_transition(360, CREPE_HMM)
        >>> table.shape
        torch.Size([23, 360])
        >>> round(float(table[11, 100].exp()), 6)  # stay: 12 / 144
        0.083333
    """
    hmm = resolve_hmm(hmm)
    band = hmm.band
    offsets = torch.arange(-band, band + 1, dtype=torch.float64)
    states = torch.arange(n_states, dtype=torch.float64)
    weights = (band + 1 - offsets.abs()).clamp_min(0)
    # Row sums depend on the *source* state: near the edges fewer moves exist.
    source = states[None, :] + offsets[:, None]
    inside = (source >= 0) & (source < n_states)
    reachable = (states[:, None] + offsets[None, :] >= 0) & (
        states[:, None] + offsets[None, :] < n_states
    )
    row_sum = (weights * reachable).sum(dim=1)
    src_index = source.clamp(0, n_states - 1).long()
    prob = weights[:, None] / row_sum[src_index]
    prob = (1.0 - hmm.jump) * prob + hmm.jump / n_states
    table = torch.where(inside, prob.log(), torch.full_like(prob, -math.inf))
    return table.to(device)


def log_jump(n_states: int, hmm: HMM) -> float:
    """Log-probability of one particular out-of-band move (``-inf`` when ``jump`` is 0)."""
    return math.log(hmm.jump / n_states) if hmm.jump > 0 else -math.inf


def log_emission(activation: torch.Tensor, hmm: HMM) -> torch.Tensor:
    """Per-frame log-likelihood of every state given the activations.

    Args:
        activation: raw CREPE activations restricted to the decoded states.
        hmm: the configuration.

    Returns:
        float64 for the ``"argmax"`` emission (bit-compatible with a float64 reference),
        otherwise float32 or the input's dtype if wider.

    Shape:
        - Input: ``(batch, frames, states)``.
        - Output: ``(batch, frames, states)``.

    Example:
        >>> act = torch.tensor([[[0.1, 0.9, 0.2]]])
        >>> log_emission(act, HMM(emission="argmax", hit=0.5)).exp()
        tensor([[[0.1667, 0.6667, 0.1667]]], dtype=torch.float64)
    """
    n_states = activation.shape[-1]
    if hmm.emission == "argmax":
        observed = activation.argmax(dim=-1, keepdim=True)
        miss = (1.0 - hmm.hit) / n_states
        out = torch.full(activation.shape, math.log(miss), dtype=torch.float64)
        out = out.to(activation.device)
        return out.scatter_(-1, observed, math.log(hmm.hit + miss))
    dtype = torch.promote_types(activation.dtype, torch.float32)
    return activation.to(dtype).clamp_min(hmm.floor).log_()


def viterbi_path(
    log_emission: torch.Tensor,
    transition: torch.Tensor,
    jump: float = -math.inf,
    lengths: torch.Tensor | None = None,
    backend: str = "auto",
) -> torch.Tensor:
    """Most likely state sequence of a banded HMM with a uniform initial distribution.

    Ties are broken towards the lowest state index at every step and at the last frame.
    Items stop at their own last valid frame, so a padded batch decodes each item exactly as
    it decodes alone; states past an item's length are undefined (they repeat the last one).

    Args:
        log_emission: per-frame log-likelihoods (any float dtype, added in float64).
        transition: banded log transition table from :func:`log_transition`.
        jump: log-probability of one out-of-band move (:func:`log_jump`); ``-inf`` for none.
        lengths: valid frames per item (int64), default all ``frames``.
        backend: ``"numba"`` (CPU only), ``"torch"`` (any device) or ``"auto"`` (numba for
            CPU tensors when installed, else torch). Both give the identical path.

    Returns:
        The state index of every frame (int64, on the input's device).

    Shape:
        - log_emission: ``(batch, frames, states)``.
        - transition: ``(2 * band + 1, states)``.
        - lengths: ``(batch,)``.
        - Output: ``(batch, frames)``.

    Example:
        >>> table = log_transition(4, HMM(band=1))
        >>> emission = torch.tensor([[[0.0, -9, -9, -9], [-9, -9, -9, 0], [-9, 0, -9, -9]]])
        >>> viterbi_path(emission, table)  # state 3 is out of reach: at most 1 bin a frame
        tensor([[0, 0, 1]])
    """
    check_choice(backend, "backend", BACKENDS)
    if not isinstance(log_emission, torch.Tensor) or log_emission.dim() != 3:
        raise ParameterError(
            "log_emission must be a tensor of shape (batch, frames, states), got "
            f"{getattr(log_emission, 'shape', type(log_emission).__name__)}."
        )
    batch, frames, n_states = log_emission.shape
    width = transition.shape[0] if transition.dim() == 2 else 0
    if width % 2 == 0 or tuple(transition.shape) != (width, n_states):
        raise ParameterError(
            f"transition must have shape (2 * band + 1, {n_states}) to match log_emission, got "
            f"{tuple(transition.shape)}; build it with log_transition({n_states}, hmm)."
        )
    device = log_emission.device
    if lengths is None:
        lengths = torch.full((batch,), frames, dtype=torch.int64, device=device)
    elif frames:
        lengths = check_lengths(lengths, (batch,), frames, unit="frames")
    if frames == 0 or batch == 0:
        return torch.zeros((batch, frames), dtype=torch.int64, device=device)
    use_numba = backend == "numba" or (backend == "auto" and device.type == "cpu")
    if use_numba and device.type != "cpu":
        raise ParameterError(
            f"backend='numba' runs on CPU tensors only, got a tensor on {device}. "
            f"Use backend='torch' or 'auto' on other devices."
        )
    kernel = _numba_kernel(required=backend == "numba") if use_numba else None
    if kernel is None:
        return _scan_torch(log_emission, transition, jump, lengths.to(device))
    path = torch.empty((batch, frames), dtype=torch.int64)
    kernel(
        log_emission.detach().contiguous().numpy(),
        transition.detach().to(torch.float64).contiguous().numpy(),
        float(jump),
        math.log(1.0 / n_states),
        lengths.detach().to(torch.int64).cpu().contiguous().numpy(),
        path.numpy(),
    )
    return path


def _max_plus_step(
    score: torch.Tensor, table: torch.Tensor, offset: torch.Tensor, jump: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the recursion in torch: the best score of arriving in each state and the
    state it comes from, ties towards the lowest (the numba kernels' rule).

    Shape:
        score ``(rows, states)`` float64, table ``(states, width)``, offset ``(states,)``
        (``arange(states) - band``) → two ``(rows, states)``
    """
    band = table.shape[1] // 2
    window = F.pad(score, (band, band), value=-math.inf).unfold(1, table.shape[1], 1)
    best, arg = (window + table).max(dim=-1)  # first maximum: lowest source state
    arg = arg + offset
    if jump > -math.inf:
        top, top_arg = score.max(dim=-1, keepdim=True)
        leap = top + jump
        take = (leap > best) | ((leap == best) & (top_arg < arg))
        best = torch.where(take, leap, best)
        arg = torch.where(take, top_arg, arg)
    return best, arg


def _scan_torch(
    log_emission: torch.Tensor,
    transition: torch.Tensor,
    jump: float,
    lengths: torch.Tensor,
) -> torch.Tensor:
    batch, frames, n_states = log_emission.shape
    width = transition.shape[0]
    band = width // 2
    device = log_emission.device
    table = transition.to(device=device, dtype=torch.float64).T.contiguous()  # (states, width)
    offset = torch.arange(n_states, device=device) - band
    pointers = torch.empty((frames, batch, n_states), dtype=torch.int16, device=device)
    score = log_emission[:, 0].to(torch.float64) + math.log(1.0 / n_states)
    for t in range(1, frames):
        best, arg = _max_plus_step(score, table, offset, jump)
        # Finished items keep the score of their last valid frame for the final argmax.
        active = (lengths > t)[:, None]
        score = torch.where(active, best + log_emission[:, t].to(torch.float64), score)
        pointers[t] = arg.to(torch.int16)
    state = score.argmax(dim=-1)
    last = lengths - 1
    path = torch.empty((frames, batch), dtype=torch.int64, device=device)
    path[frames - 1] = state
    for t in range(frames - 2, -1, -1):
        back = pointers[t + 1].gather(1, state[:, None]).squeeze(1).long()
        state = torch.where(t < last, back, state)
        path[t] = state
    return path.T.contiguous()


@functools.cache
def _compiled() -> ModuleType | None:
    """The numba kernels (:mod:`._viterbi_numba`), or None without numba."""
    try:
        import numba  # noqa: F401  (its absence is the one import error expected here)
    except ImportError:
        return None
    from . import _viterbi_numba

    return _viterbi_numba


def _numba_kernel(required: bool) -> Callable[..., None] | None:
    kernels = _compiled()
    if kernels is None and required:
        raise MissingDependencyError(
            "backend='numba' needs numba, a dependency of crepe-transforms (and of resampy) "
            "that failed to import. Reinstall the package (pip install --force-reinstall "
            "crepe-transforms) or pass backend='torch' (same path, slower on the CPU)."
        )
    return None if kernels is None else cast(Callable[..., None], kernels.scan)
