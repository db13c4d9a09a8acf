"""``finetune``: fine-tune a published CREPE model on (audio, f0) pairs, to a checksummed file.

The loop, in the order it runs:

1. start from the base weights (the registry's published file, or a file of your own), build
   a :class:`TrainableCrepe` and a frozen copy of the base (the teacher);
2. every step, draw ``batch_size`` frames of your data and ``distill_batch`` generic frames
   with one ``torch.Generator`` seeded from ``(seed, epoch, step)``; augment your frames
   (labels follow pitch shifts), normalise every frame as inference does;
3. loss = BCE against CREPE's Gaussian targets on your frames (masked where the window
   straddles a voicing change) + ``distill_weight`` × BCE against the teacher's salience on
   the generic frames (the forgetting guard); AdamW, linear warm-up, cosine decay;
4. every ``steps_per_epoch`` steps: raw pitch accuracy (50 cents) on your validation split and
   on a fixed generic validation set; the best epoch whose generic accuracy stays within
   ``forgetting_tolerance`` of the base model's is kept (ties in accuracy go to the lower
   validation loss); stop after ``patience`` epochs without improvement; write a checkpoint;
5. write the best weights (torchcrepe layout), ``<file>.sha256`` and ``<file>.json``, each
   atomically.

Resume: everything a step depends on is in the checkpoint (weights, BatchNorm statistics,
optimizer, early-stopping state) or derived from ``(seed, epoch, step)``, so a run resumed
from a checkpoint ends with the same weights, bit for bit, as one never interrupted (on the
same machine and thread count). Under ``torchrun`` every rank draws the same global batch
and trains on its own slice; DistributedDataParallel averages the gradients; rank 0 writes.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from .._checks import check_capacity, check_choice
from .._version import __version__
from ..exceptions import ParameterError
from ..functional import hz_to_cents, normalize_frames, pitch_target, weighted_argmax
from ..model import Crepe
from ..weights import load_state_dict, locate
from ..weights._internal import sha256_file
from ._augment import Augment, segment_length
from ._checkpoint import (
    CHECKPOINT_FORMAT,
    RECORD_KIND,
    Interrupt,
    checkpoint_path,
    fingerprint_of,
    load_checkpoint,
    save_checkpoint,
    write_weights,
)
from ._dataset import PitchDataset, PitchTrack
from ._generic import generic_frames
from ._network import BN_MODES, CrepeLoss, TrainableCrepe

__all__ = [
    "FinetuneConfig",
    "FinetuneResult",
    "finetune",
    "raw_pitch_accuracy",
]

#: Frames of the generic validation set, and the seed offset that keeps it apart from the
#: generic frames drawn for distillation.
_GENERIC_VALIDATION = 512
_VALIDATION_SEED = 1_000_003
_VALIDATION_LOSS = CrepeLoss(logits=False)  # the evaluator's salience is a probability
_BEST_KEYS = ("epoch", "step", "val_rpa", "val_loss")


@dataclass(frozen=True)
class FinetuneConfig:
    """Every setting of a fine-tuning run (recorded in the output's JSON record).

    Defaults as measured in ``docs/finetuning.md`` (``benchmarks/finetune.py --ablation``):
    frozen BatchNorm statistics did better than updated ones on every held-out set;
    distillation showed no measurable effect there and is kept on as the forgetting guard
    for longer runs (``distill_batch=0`` trains about 40 % faster).
    """

    capacity: str = "tiny"
    steps: int = 600  # most optimizer steps (early stopping may end sooner)
    steps_per_epoch: int = 50  # validation, checkpoint and early-stopping period
    batch_size: int = 32  # frames of your data per step (global, over every rank)
    distill_batch: int = 16  # generic frames per step for distillation; 0 switches it off
    distill_weight: float = 1.0
    lr: float = 2e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 30
    bn: str = "frozen"  # BatchNorm statistics: "frozen" or "update"
    val_fraction: float = 0.2  # share of recordings held out when no validation set is given
    val_frames: int = 1024  # at most this many validation frames of your data
    patience: int = 4  # epochs without improvement before stopping
    forgetting_tolerance: float = 0.005  # generic accuracy may drop this much (0.005 = 0.5 pt)
    augment: Augment | None = field(default_factory=Augment)
    seed: int = 0

    def __post_init__(self) -> None:
        check_capacity(self.capacity)
        check_choice(self.bn, "bn", BN_MODES)
        for name in ("steps", "steps_per_epoch", "batch_size", "val_frames", "patience"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise ParameterError(f"{name} must be a positive integer, got {value!r}.")
        for name in ("distill_batch", "warmup_steps", "seed"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
                raise ParameterError(f"{name} must be an integer ≥ 0, got {value!r}.")
        for name in ("lr", "weight_decay", "distill_weight", "forgetting_tolerance"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ParameterError(f"{name} must be a finite number ≥ 0, got {value!r}.")
        if not self.lr > 0:
            raise ParameterError(f"lr must be positive, got {self.lr!r}; e.g. 2e-4.")

    def settings(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["augment"] = None if self.augment is None else self.augment.settings()
        return out


@dataclass
class FinetuneResult:
    """What :func:`finetune` wrote: the weights file, its sha256 and its record."""

    path: Path | None
    sha256: str | None
    record: dict[str, Any]
    state_dict: dict[str, torch.Tensor]


def raw_pitch_accuracy(
    activation: torch.Tensor, f0: torch.Tensor, mask: torch.Tensor | None = None
) -> float:
    """Share of voiced (and unmasked) frames whose ``weighted_argmax`` f0 is within 50 cents.

    Example:
        >>> from crepe_transforms.functional import pitch_target
        >>> f0 = torch.tensor([100.0, 200.0, float("nan")])
        >>> raw_pitch_accuracy(pitch_target(f0), f0)
        1.0
    """
    voiced = torch.isfinite(f0) & (f0 > 0)
    if mask is not None:
        voiced &= mask
    if not bool(voiced.any()):
        return math.nan
    estimate = weighted_argmax(activation[voiced]).f0
    error = (hz_to_cents(estimate) - hz_to_cents(f0[voiced])).abs()
    return float((error <= 50).double().mean())


# ----------------------------------------------------------------------------- helpers


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _generator(seed: int, *parts: int) -> torch.Generator:
    """A CPU generator seeded from ``seed`` and ``parts`` (epoch, step, ...), the same on every
    rank and after a resume."""
    value = seed
    for part in parts:
        value = (value * 1_000_003 + part + 1) % (2**62)
    return torch.Generator().manual_seed(value)


def _learning_rate(config: FinetuneConfig, step: int) -> float:
    """Linear warm-up to ``lr``, then cosine decay to a tenth of it at ``steps``."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    span = max(config.steps - config.warmup_steps, 1)
    progress = min((step - config.warmup_steps) / span, 1.0)
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def _base_state(
    capacity: str, base: str | os.PathLike[str] | None, sha256: str | None
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The weights to start from and a description of them for the record."""
    state = load_state_dict(capacity, base, sha256)
    loc = locate(capacity, base, sha256)
    return dict(state), {
        "capacity": capacity,
        "source": loc.source,
        "file": loc.path.name,
        "sha256": sha256_file(loc.path),
    }


@torch.no_grad()
def _salience(network: Crepe, frames: torch.Tensor, chunk: int = 512) -> torch.Tensor:
    parts = [network(frames[i : i + chunk]) for i in range(0, len(frames), chunk)]
    return torch.cat(parts) if parts else frames.new_zeros(0, 360)


def _evaluate(
    model: TrainableCrepe,
    evaluator: Crepe,
    domain: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    generic: tuple[torch.Tensor, torch.Tensor],
) -> dict[str, float]:
    """Raw pitch accuracy on the validation frames, computed by a frozen copy of the model
    (the inference network, frequency-domain path: several times faster than training's)."""
    evaluator.load_state_dict(model.network.state_dict())
    frames, f0, mask = domain
    salience = _salience(evaluator, frames)
    domain_rpa = raw_pitch_accuracy(salience, f0, mask)
    domain_loss = float(_VALIDATION_LOSS(salience, pitch_target(f0), mask))
    generic_rpa = raw_pitch_accuracy(_salience(evaluator, generic[0]), generic[1])
    return {"val_rpa": domain_rpa, "val_loss": domain_loss, "general_rpa": generic_rpa}


def _improves(scores: dict[str, float], best: dict[str, float]) -> bool:
    """Whether an (eligible) epoch's validation ``scores`` beat the ``best`` so far: a higher
    raw pitch accuracy, or the same accuracy and a lower validation loss (accuracy saturates,
    at 100 % on easy data, long before the model stops improving).

    Example:
        >>> _improves({"val_rpa": 1.0, "val_loss": 0.02}, {"val_rpa": 1.0, "val_loss": 0.03})
        True
        >>> _improves({"val_rpa": 0.9, "val_loss": 0.01}, {"val_rpa": 1.0, "val_loss": 0.03})
        False
    """
    if scores["val_rpa"] != best["val_rpa"]:
        return scores["val_rpa"] > best["val_rpa"]
    # a checkpoint written before the loss was recorded has none: any loss beats it
    return scores["val_loss"] < best.get("val_loss", math.inf)


# ----------------------------------------------------------------------------- the loop


def _as_dataset(data: PitchDataset | list[PitchTrack], what: str) -> PitchDataset:
    if isinstance(data, PitchDataset):
        return data
    if isinstance(data, list | tuple):
        return PitchDataset(list(data))
    raise ParameterError(
        f"{what} must be a PitchDataset or a list of PitchTrack, got {type(data).__name__}."
    )


def finetune(
    data: PitchDataset | list[PitchTrack],
    output: str | os.PathLike[str] | None,
    config: FinetuneConfig | None = None,
    *,
    validation: PitchDataset | list[PitchTrack] | None = None,
    base: str | os.PathLike[str] | None = None,
    base_sha256: str | None = None,
    resume: bool = True,
    restart: bool = False,
    callback: Callable[[dict[str, Any]], None] | None = None,
    device: str | torch.device = "cpu",
) -> FinetuneResult:
    """Fine-tune CREPE on ``data`` and write ``output`` (+ ``.sha256`` and ``.json``).

    Args:
        data: your recordings with f0 tracks (:class:`PitchDataset` or :class:`PitchTrack` s;
            :func:`crepe_transforms.io.read_tracks` reads files).
        output: the weights file to write; its checkpoint is ``<output>.ckpt``. ``None``
            writes nothing (no checkpoint either) and only returns the weights.
        config: :class:`FinetuneConfig`; the defaults are the measured recipe.
        validation: held-out recordings; default: ``config.val_fraction`` of ``data``'s
            recordings (a split by recording).
        base: weights to start from (default: the registry's ``config.capacity`` file).
        base_sha256: hash to trust for ``base`` when no manifest or sidecar knows it.
        resume: continue from ``<output>.ckpt`` when it exists (default).
        restart: ignore (and replace) an existing checkpoint.
        callback: called with a dict after every step (``kind="step"``: step, epoch, loss,
            lr, frames_per_s) and every validation (``kind="epoch"``: epoch, step, val_rpa,
            general_rpa, best); an exception it raises stops the run (no checkpoint written).
        device: where to train.

    Returns:
        :class:`FinetuneResult`: the file, its sha256, the record and the state dict.

    Raises:
        ParameterError: empty training or validation split, bad settings, a checkpoint from
            another capacity or other settings.
        KeyboardInterrupt: after Ctrl-C; a checkpoint of the last finished step was written.

    Example:
        >>> import math, tempfile, pathlib
        >>> from crepe_transforms.train import FinetuneConfig, PitchTrack, finetune
        >>> t = torch.arange(16000) / 16000
        >>> tracks = [PitchTrack.from_arrays(torch.sin(2 * math.pi * f * t), 16000,
        ...           torch.arange(101) * 0.01, torch.full((101,), f), name=f"{f}")
        ...           for f in (100.0, 150.0, 200.0)]
        >>> config = FinetuneConfig(steps=2, steps_per_epoch=1, batch_size=4, distill_batch=2,
        ...                         val_frames=8)
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "model.pt"
        >>> result = finetune(tracks, out, config, validation=tracks[:1])
        >>> result.record["steps"], sorted(p.name for p in out.parent.iterdir())
        (2, ['model.pt', 'model.pt.ckpt', 'model.pt.json', 'model.pt.sha256'])
    """
    config = config or FinetuneConfig()
    if not isinstance(config, FinetuneConfig):
        raise ParameterError(f"config must be a FinetuneConfig, got {type(config).__name__}.")
    device = torch.device(device)
    rank, world = _rank_world()
    if config.batch_size % world or (config.distill_batch % world):
        raise ParameterError(
            f"batch_size ({config.batch_size}) and distill_batch ({config.distill_batch}) must "
            f"be multiples of the {world} processes: each trains on an equal slice."
        )
    train = _as_dataset(data, "data")
    if validation is None:
        train, held = train.split(config.val_fraction, config.seed)
    else:
        held = _as_dataset(validation, "validation")
    domain_val = held.grid(config.val_frames, config.seed)
    if not bool((domain_val.mask & torch.isfinite(domain_val.f0)).any()):
        raise ParameterError(
            f"the validation split ({', '.join(t.name for t in held.tracks[:5])}) has no voiced "
            f"frame to score: add voiced recordings to it or choose another split "
            f"(val_fraction, seed, or an explicit validation set)."
        )

    base_state, base_info = _base_state(config.capacity, base, base_sha256)
    model = TrainableCrepe(config.capacity, base_state, config.bn).to(device)
    teacher = TrainableCrepe(config.capacity, base_state, "frozen").to(device).eval()
    teacher.requires_grad_(False)
    evaluator = Crepe(config.capacity).to(device)
    loss_fn = CrepeLoss()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    wrapped: nn.Module = model
    if world > 1:
        wrapped = nn.parallel.DistributedDataParallel(
            model, broadcast_buffers=config.bn == "update"
        )

    data_info = {"train": train.summary(), "validation": held.summary()}
    fingerprint = fingerprint_of(config.settings(), base_info, data_info)
    ckpt = checkpoint_path(output) if output is not None else None

    val_frames = normalize_frames(domain_val.segments).to(device)
    val_domain = (val_frames, domain_val.f0.to(device), domain_val.mask.to(device))
    g_frames, g_f0 = generic_frames(_generator(config.seed, _VALIDATION_SEED), _GENERIC_VALIDATION)
    val_generic = (normalize_frames(g_frames).to(device), g_f0.to(device))

    state: dict[str, Any] = {"step": 0, "history": [], "best": None, "stale": 0}
    resumed_from = None
    if ckpt is not None and resume and not restart and ckpt.exists():
        payload = load_checkpoint(ckpt, config.capacity, fingerprint)
        model.network.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        state = payload["state"]
        resumed_from = state["step"]
    if state["step"] == 0 and not state["history"]:
        baseline = _evaluate(model, evaluator, val_domain, val_generic)
        state["history"].append({"epoch": 0, "step": 0, **baseline, "loss": None})
        state["base_general_rpa"] = baseline["general_rpa"]
        state["best"] = {"epoch": 0, "step": 0, **baseline}
        state["best"] = {k: state["best"][k] for k in _BEST_KEYS}
        state["best_weights"] = model.torchcrepe_state_dict()

    def save() -> None:
        if ckpt is not None and rank == 0:
            save_checkpoint(
                ckpt,
                {
                    "format": CHECKPOINT_FORMAT,
                    "capacity": config.capacity,
                    "fingerprint": fingerprint,
                    "model": model.network.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "state": state,
                },
            )
        if world > 1:
            dist.barrier()

    augment = config.augment
    segment = segment_length(augment.max_ratio) if augment is not None else 1024
    local = config.batch_size // world
    local_distill = config.distill_batch // world
    started = time.perf_counter()
    wrapped.train()
    interrupt = Interrupt()
    with interrupt.installed():
        while state["step"] < config.steps and state["stale"] < config.patience:
            step = state["step"]
            epoch = step // config.steps_per_epoch + 1
            tick = time.perf_counter()
            g = _generator(config.seed, epoch, step)
            batch = train.draw(g, config.batch_size, segment)
            if augment is not None:
                frames, f0 = augment(batch.segments, batch.f0, g)
            else:
                frames, f0 = batch.segments, batch.f0
            mask = batch.mask
            generic = generic_frames(g, config.distill_batch) if config.distill_batch else None
            mine = slice(rank * local, (rank + 1) * local)
            frames = normalize_frames(frames[mine].to(device))
            target = pitch_target(f0[mine].to(device))
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(config, step)
            if generic is not None:
                extra = normalize_frames(
                    generic[0][rank * local_distill : (rank + 1) * local_distill].to(device)
                )
                with torch.no_grad():
                    soft = torch.sigmoid(teacher(extra))
                logits = wrapped(torch.cat([frames, extra]))
                loss = loss_fn(logits[:local], target, mask[mine].to(device))
                loss = loss + config.distill_weight * loss_fn(logits[local:], soft)
            else:
                loss = loss_fn(wrapped(frames), target, mask[mine].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            state["step"] = step + 1
            seconds = time.perf_counter() - tick
            info = {
                "kind": "step",
                "step": step + 1,
                "epoch": epoch,
                "loss": float(loss.detach()),
                "lr": _learning_rate(config, step),
                "frames_per_s": (local + local_distill) * world / max(seconds, 1e-9),
            }
            if callback is not None:
                callback(info)
            state.setdefault("losses", []).append(info["loss"])
            if state["step"] % config.steps_per_epoch == 0 or state["step"] == config.steps:
                scores = _evaluate(model, evaluator, val_domain, val_generic)
                recent = state["losses"][-config.steps_per_epoch :]
                entry = {
                    "epoch": epoch,
                    "step": state["step"],
                    **scores,
                    "loss": sum(recent) / len(recent),
                }
                state["history"].append(entry)
                eligible = (
                    scores["general_rpa"] >= state["base_general_rpa"] - config.forgetting_tolerance
                )
                if eligible and _improves(scores, state["best"]):
                    state["best"] = {k: entry[k] for k in _BEST_KEYS}
                    state["best_weights"] = model.torchcrepe_state_dict()
                    state["stale"] = 0
                else:
                    state["stale"] += 1
                if callback is not None:
                    callback({"kind": "epoch", **entry, "best": dict(state["best"])})
                save()
            if interrupt.requested:
                save()
                raise KeyboardInterrupt(
                    f"interrupted after step {state['step']}; checkpoint saved to {ckpt}"
                )
    wall = time.perf_counter() - started
    best_weights: dict[str, torch.Tensor] = state["best_weights"]
    if resumed_from != state["step"]:  # the checkpoint holds the finished run
        save()
    record = {
        "kind": RECORD_KIND,
        "capacity": config.capacity,
        "base": base_info,
        "data": data_info,
        "config": config.settings(),
        "steps": state["step"],
        "best": state["best"],
        "base_general_rpa": state["base_general_rpa"],
        "history": state["history"],
        "stopped": "early" if state["stale"] >= config.patience else "steps",
        "wall_s_this_session": round(wall, 3),
        "resumed_from_step": resumed_from,
        "processes": world,
        "torch": torch.__version__,
        "package_version": __version__,
    }
    path = digest = None
    if output is not None and rank == 0:
        path, digest = write_weights(output, config.capacity, best_weights, record)
        record["sha256"] = digest
    if world > 1:
        dist.barrier()
    return FinetuneResult(path, digest, record, best_weights)
