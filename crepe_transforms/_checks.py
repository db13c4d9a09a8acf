"""Input validation shared by the transforms and functional API.

Every check raises :class:`~crepe_transforms.exceptions.ParameterError` with a message that
names the parameter, what was expected, what was found and how to fix it. The checks of
scalar options need no torch (the command line parses its flags with them before torch is
imported); the checks of tensors and devices import it when they run.
"""

from __future__ import annotations

import contextlib
import difflib
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .constants import AUDIO_RATES, CAPACITIES, N_BINS
from .exceptions import ParameterError

if TYPE_CHECKING:
    import torch

#: A last axis this short under a much longer one is read as (time, channels) audio.
_MAX_CHANNELS = 8


def _real(value: object) -> float | None:
    """``value`` as a float if it is a real number (bools excluded), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def check_sample_rate(sample_rate: object, name: str = "sample_rate") -> int:
    """Return ``sample_rate`` as a positive ``int`` or raise."""
    value = _real(sample_rate)
    if value is None or value != value:  # NaN compares unequal to itself
        raise ParameterError(
            f"{name} must be a positive integer number of samples per second, "
            f"got {sample_rate!r} ({type(sample_rate).__name__}). Pass e.g. {name}=16000."
        )
    if value <= 0:
        raise ParameterError(
            f"{name}={sample_rate!r} must be positive (samples per second), e.g. {name}=16000."
        )
    low, high = AUDIO_RATES
    if not low <= value <= high:
        khz = f", not kHz: {value:g} kHz is {name}={round(value * 1000)}" if value < low else ""
        raise ParameterError(
            f"{name}={sample_rate!r} is outside the audio rates {low}..{high}: {name} is in "
            f"Hz{khz}. Pass samples per second, e.g. {name}=16000."
        )
    if not value.is_integer():
        raise ParameterError(
            f"{name}={sample_rate!r} is not an integer. CREPE frames are placed on an exact "
            f"sample grid; resample the audio to an integer rate or round it, "
            f"e.g. {name}={round(value)}."
        )
    return int(value)


def check_positive_int(value: object, name: str, hint: str = "") -> int:
    """Return ``value`` as a positive ``int`` or raise."""
    number = _real(value)
    if number is None or not number.is_integer() or number <= 0:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}.{hint}")
    return int(number)


def check_hop_length(hop_length: object, sample_rate: int) -> int:
    """Return ``hop_length`` (samples of the input rate) as a positive ``int``.

    ``None`` gives the 10 ms default, ``sample_rate // 100`` (at least 1). One check shared by
    the framing and loudness transforms and their functional twins, so they agree on the rule
    and the message.
    """
    rate = check_sample_rate(sample_rate)
    default = max(1, rate // 100)
    if hop_length is None:
        return default
    return check_positive_int(
        hop_length,
        "hop_length",
        f" Give the hop in samples of the input rate, e.g. hop_length={default} for 10 ms "
        f"at sample_rate={rate}.",
    )


def check_sha256(sha256: object) -> str | None:
    """Return ``sha256`` as a lowercase hex digest (or ``None``), else raise."""
    if sha256 is None:
        return None
    text = sha256.strip().lower() if isinstance(sha256, str) else None
    if text is None or len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ParameterError(
            f"sha256={sha256!r} is not a sha256 digest (64 hexadecimal characters). Compute "
            f"it with `sha256sum FILE` (or hashlib.sha256 in Python)."
        )
    return text


def check_capacity(capacity: object) -> str:
    """Return ``capacity`` if it names a published CREPE model, else raise."""
    if not isinstance(capacity, str) or capacity not in CAPACITIES:
        raise ParameterError(
            f"capacity={capacity!r} is not a CREPE model. Choose one of "
            f"{', '.join(repr(c) for c in CAPACITIES)} ('tiny' is fastest, 'full' most accurate)."
        )
    return capacity


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise."""
    if not isinstance(value, str) or value not in choices:
        raise ParameterError(
            f"{name}={value!r} is not supported. Choose one of "
            f"{', '.join(repr(c) for c in choices)}."
        )
    return value


def _finite(x: torch.Tensor) -> bool:
    import torch  # only tensors need it: the scalar checks stay light

    # min and max propagate NaN and expose ±Inf: one reduction, no boolean copy of the audio.
    return bool(torch.isfinite(torch.stack(x.detach().aminmax())).all())


def check_audio(waveform: object, name: str = "waveform", finite: bool = True) -> torch.Tensor:
    """Check an audio tensor of shape ``(..., time)``: real floating point, non-empty, not a
    transposed ``(time, channels)`` array, and (unless ``finite=False``) free of NaN/Inf."""
    import torch  # only tensors need it: the scalar checks stay light

    if not isinstance(waveform, torch.Tensor):
        raise ParameterError(
            f"{name} must be a torch.Tensor of shape (..., time), got {type(waveform).__name__}. "
            f"Convert with torch.as_tensor({name}, dtype=torch.float32)."
        )
    if waveform.is_complex():
        raise ParameterError(
            f"{name} is complex ({waveform.dtype}); CREPE needs real audio. "
            f"Pass {name}.real or the magnitude, as appropriate."
        )
    if not waveform.is_floating_point():
        scale = {torch.int16: "32768.0", torch.int32: "2147483648.0", torch.uint8: "128.0"}
        hint = scale.get(waveform.dtype)
        how = (
            f"scale it to [-1, 1], e.g. {name}.float() / {hint}"
            if hint is not None
            else f"convert it with {name}.float() (scaled to [-1, 1])"
        )
        raise ParameterError(
            f"{name} has integer dtype {waveform.dtype}; CREPE needs floating-point audio: {how}."
        )
    if waveform.dim() == 0:
        raise ParameterError(f"{name} is a scalar; expected shape (..., time).")
    if waveform.shape[-1] == 0:
        raise ParameterError(
            f"{name} is empty or too short: its last (time) dimension has 0 samples, "
            f"shape {tuple(waveform.shape)}. Pass at least one sample per item."
        )
    if (
        waveform.dim() >= 2
        and waveform.shape[-1] <= _MAX_CHANNELS
        and waveform.shape[-2] >= 100 * waveform.shape[-1]
    ):
        raise ParameterError(
            f"{name} has shape {tuple(waveform.shape)}: that reads as {waveform.shape[-2]} items "
            f"of {waveform.shape[-1]} sample(s) each, but it looks like (time, channels) audio "
            f"as soundfile.read returns it. Audio is (..., time): pass {name}.T (or "
            f"{name}.mean(-1) for mono)."
        )
    if finite and waveform.numel() and not _finite(waveform):
        n_bad = int((~torch.isfinite(waveform)).sum())
        raise ParameterError(
            f"{name} contains {n_bad} NaN or Inf samples. Clean the audio first, e.g. "
            f"torch.nan_to_num({name}, nan=0.0, posinf=0.0, neginf=0.0)."
        )
    return waveform


def check_last_dim(x: object, size: int, name: str, what: str) -> torch.Tensor:
    """Check a real floating tensor whose last dimension must be ``size``."""
    import torch  # only tensors need it: the scalar checks stay light

    if not isinstance(x, torch.Tensor):
        raise ParameterError(
            f"{name} must be a torch.Tensor of shape (..., {what}), got {type(x).__name__}. "
            f"Convert with torch.as_tensor({name}, dtype=torch.float32)."
        )
    if x.is_complex():
        raise ParameterError(f"{name} is complex ({x.dtype}); pass real values, e.g. {name}.real.")
    if not x.is_floating_point():
        raise ParameterError(
            f"{name} must be floating point, got {x.dtype}. Convert with {name}.float()."
        )
    if x.dim() == 0 or x.shape[-1] != size:
        shape = tuple(x.shape)
        raise ParameterError(
            f"{name} must have shape (..., {what}) with last dimension {size}, got {shape}. "
            + (
                "Did you pass raw audio? Put CrepeFrames(sample_rate) in front."
                if size != N_BINS
                else "Did you pass frames or audio? Put CrepeActivation(...) in front."
            )
        )
    return x


def check_lengths(
    lengths: object,
    batch_shape: tuple[int, ...],
    max_length: int,
    name: str = "lengths",
    unit: str = "samples",
) -> torch.Tensor:
    """Check per-item lengths: integer tensor of shape ``batch_shape``, 1..max_length.

    ``unit`` names what is counted in the messages: ``"samples"`` for audio, ``"frames"``
    for activations.
    """
    import torch  # only tensors need it: the scalar checks stay light

    if isinstance(lengths, Sequence) and not isinstance(lengths, str):
        with contextlib.suppress(TypeError, ValueError, RuntimeError):  # not numbers: below
            lengths = torch.as_tensor(list(lengths))
    if not isinstance(lengths, torch.Tensor):
        raise ParameterError(
            f"{name} must be an integer tensor of shape {batch_shape} ({unit} per item), "
            f"got {type(lengths).__name__}. Pass e.g. torch.tensor([...])."
        )
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise ParameterError(
            f"{name} must be an integer tensor ({unit} per item), got {lengths.dtype}. "
            f"Convert with {name}.long()."
        )
    if tuple(lengths.shape) != tuple(batch_shape):
        raise ParameterError(
            f"{name} has shape {tuple(lengths.shape)} but the input's leading (batch) shape is "
            f"{tuple(batch_shape)}; give one length ({unit}) per item."
        )
    if lengths.numel():
        lo, hi = int(lengths.min()), int(lengths.max())
        if lo < 1:
            raise ParameterError(
                f"{name} must be at least 1 for every item, got a minimum of {lo}. "
                f"Drop empty items before batching."
            )
        if hi > max_length:
            raise ParameterError(
                f"{name} has a maximum of {hi}, which exceeds the time axis ({max_length}). "
                f"Each length counts {unit} and must be at most the padded size of the "
                f"{'last (time)' if unit == 'samples' else 'frames'} dimension."
            )
    return lengths.long()


_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu")


def check_device(value: object) -> str:
    """A torch device that exists here, as text (``"cpu"``, ``"cuda:1"`` …).

    CUDA is checked without creating a context (under torchrun each rank picks its own GPU
    later); other accelerators are probed with an empty tensor.

    Example:
        >>> check_device("cpu")
        'cpu'
    """
    import torch  # the command line checks --device before anything else needs torch

    try:
        device = torch.device(value)  # type: ignore[call-overload]
    except (RuntimeError, TypeError, ValueError):
        close = difflib.get_close_matches(str(value).split(":")[0], _DEVICE_TYPES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ParameterError(
            f"device={value!r} is not a torch device.{hint} Use e.g. 'cpu', 'cuda' or 'cuda:1'."
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ParameterError(
                f"device={value!r} but CUDA is not available here "
                f"(torch.cuda.is_available() is False); use device='cpu'."
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ParameterError(
                f"device={value!r} but this machine has {torch.cuda.device_count()} CUDA "
                f"device(s), numbered from 0."
            )
    elif device.type != "cpu":
        try:
            torch.empty(0, device=device)
        except Exception as exc:
            reason = " ".join(str(exc).split())
            raise ParameterError(
                f"device={value!r} is not usable here ({reason}); use device='cpu'."
            ) from None
    return str(device)


def parse_hz(text: str) -> float:
    """Command-line text → a frequency in Hz (checked later with the range)."""
    try:
        return float(text)
    except ValueError:
        raise ParameterError(
            f"{text!r} is not a frequency in Hz; give a number, e.g. 50 or 1000.5"
        ) from None
