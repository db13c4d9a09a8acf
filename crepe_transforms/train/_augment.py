"""Label-aware augmentation of training frames: tensor operations on any device.

Each operation is a pure function of the audio and explicit random parameters, so it runs
where the batch is (CPU or GPU) and is reproducible. :class:`Augment` draws the parameters
from a ``torch.Generator`` and applies, in order: room impulse response, EQ, pitch shift (by
resampling, which scales the f0 labels with it), noise at a signal-to-noise ratio, gain.

- :func:`pitch_shift`: windowed-sinc resampling of a segment into a 1024-sample frame;
  reading the audio ``ratio`` times faster multiplies f0 by ``ratio``. Anti-aliased: the
  kernel's cutoff drops to ``1 / ratio`` when shifting up.
- :func:`add_noise`: noise scaled to a per-frame SNR in dB.
- :func:`apply_gain`: gain in dB (CREPE normalises each frame, so alone it changes nothing
  but its relation to the noise).
- :func:`convolve_rir` and :func:`synthetic_rir`: reverberation through exponentially
  decaying noise (RT60 given), or impulse responses you pass.
- :func:`random_eq`: a smooth random gain curve over frequency (± ``db`` dB).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..constants import SAMPLE_RATE, WINDOW_SIZE
from ..exceptions import ParameterError

__all__ = [
    "Augment",
    "add_noise",
    "apply_gain",
    "convolve_rir",
    "pitch_shift",
    "random_eq",
    "synthetic_rir",
]

#: Half-width of the windowed-sinc interpolation kernel, in input samples.
_TAPS = 16


def _uniform(generator: torch.Generator, count: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(count, generator=generator, dtype=torch.float64)


def segment_length(max_ratio: float, length: int = WINDOW_SIZE) -> int:
    """Input samples :func:`pitch_shift` needs for a ``length`` frame at up to ``max_ratio``."""
    return math.ceil(length * max_ratio) + 2 * _TAPS + 2


def pitch_shift(
    segments: torch.Tensor, ratio: torch.Tensor, length: int = WINDOW_SIZE
) -> torch.Tensor:
    """Resample the middle of each segment into ``length`` samples, ``ratio`` times faster.

    Output sample ``n`` reads the input at ``S // 2 + (n - length // 2) × ratio`` (``S`` the
    segment length), through a Hann-windowed sinc whose cutoff is ``min(1, 1 / ratio)``, so a
    frame centred on the segment's centre stays centred. f0 labels scale by ``ratio``.

    Shape:
        ``(B, S)``, ``(B,)`` → ``(B, length)``; needs ``S ≥ segment_length(ratio.max())``.

    Example:
        >>> t = torch.arange(2200) / 16000
        >>> x = torch.sin(2 * math.pi * 200 * t)[None]
        >>> y = pitch_shift(x, torch.tensor([2 ** (1 / 12)]))
        >>> spectrum = torch.fft.rfft(y[0] * torch.hann_window(1024)).abs()
        >>> round(float(spectrum.argmax()) * 16000 / 1024)   # 200 Hz a semitone up: 211.9 Hz
        219
    """
    batch, size = segments.shape
    ratio = ratio.to(segments.device, torch.float64).reshape(batch, 1)
    needed = segment_length(float(ratio.max()), length)
    if size < needed:
        raise ParameterError(
            f"pitch_shift needs segments of at least {needed} samples for ratio "
            f"{float(ratio.max()):.4f}, got {size}; cut longer segments (segment_length())."
        )
    offsets = torch.arange(length, device=segments.device, dtype=torch.float64) - length // 2
    position = size // 2 + offsets[None] * ratio  # (B, L)
    base = position.floor()
    frac = position - base
    k = torch.arange(-_TAPS + 1, _TAPS + 1, device=segments.device, dtype=torch.float64)
    index = (base.long()[..., None] + k.long()).clamp(0, size - 1)  # (B, L, 2T)
    distance = k - frac[..., None]
    cutoff = torch.clamp(1.0 / ratio, max=1.0)[..., None]  # (B, 1, 1)
    window = 0.5 * (1 + torch.cos(math.pi * distance / _TAPS))
    kernel = (cutoff * torch.sinc(cutoff * distance) * window).to(segments.dtype)
    gathered = torch.gather(segments, 1, index.reshape(batch, -1)).reshape(index.shape)
    return (gathered * kernel).sum(-1)


def add_noise(audio: torch.Tensor, noise: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
    """Add ``noise`` scaled so that each row's signal-to-noise ratio is ``snr_db``.

    Shape:
        ``(B, T)``, ``(B, T)``, ``(B,)`` → ``(B, T)``
    """
    signal = audio.pow(2).mean(-1, keepdim=True)
    power = noise.pow(2).mean(-1, keepdim=True).clamp_min(1e-20)
    scale = torch.sqrt(signal / power / 10 ** (snr_db.to(audio).reshape(-1, 1) / 10))
    return audio + noise * scale


def apply_gain(audio: torch.Tensor, gain_db: torch.Tensor) -> torch.Tensor:
    """Multiply each row by ``10 ** (gain_db / 20)``. Shape: ``(B, T)``, ``(B,)`` → ``(B, T)``."""
    return audio * 10 ** (gain_db.to(audio).reshape(-1, 1) / 20)


def synthetic_rir(
    rt60_s: torch.Tensor, generator: torch.Generator, length: int = 4096
) -> torch.Tensor:
    """Exponentially decaying Gaussian noise after a unit direct path: one RIR per RT60.

    Shape:
        ``(B,)`` → ``(B, length)``, unit energy.
    """
    t = torch.arange(length, dtype=torch.float64) / SAMPLE_RATE
    decay = torch.exp(-6.9078 * t[None] / rt60_s.double().reshape(-1, 1))  # -60 dB at RT60
    rir = torch.randn(len(rt60_s), length, generator=generator, dtype=torch.float64) * decay
    rir[:, 0] = 1.0
    out: torch.Tensor = (rir / rir.norm(dim=-1, keepdim=True)).float()
    return out


def convolve_rir(audio: torch.Tensor, rir: torch.Tensor) -> torch.Tensor:
    """Causal convolution of each row with its impulse response (FFT), same length out.

    Shape:
        ``(B, T)``, ``(B, R)`` → ``(B, T)``
    """
    n = audio.shape[-1] + rir.shape[-1] - 1
    size = 1 << (n - 1).bit_length()
    spectrum = torch.fft.rfft(audio, size) * torch.fft.rfft(rir.to(audio), size)
    out: torch.Tensor = torch.fft.irfft(spectrum, size)[..., : audio.shape[-1]]
    return out


def random_eq(audio: torch.Tensor, gains_db: torch.Tensor) -> torch.Tensor:
    """Filter each row by a smooth gain curve: ``gains_db`` (B, K) at K points spread evenly on
    a log-frequency axis from 50 Hz to 8 kHz, interpolated between them (FFT, zero phase).

    Shape:
        ``(B, T)``, ``(B, K)`` → ``(B, T)``
    """
    size = audio.shape[-1]
    freqs = torch.fft.rfftfreq(size, 1 / SAMPLE_RATE, device=audio.device, dtype=torch.float64)
    position = (torch.log2(freqs.clamp(50, 8000) / 50) / math.log2(8000 / 50)) * (
        gains_db.shape[-1] - 1
    )
    lo = position.floor().long().clamp(max=gains_db.shape[-1] - 2)
    w = position - lo
    g = gains_db.to(audio.device, torch.float64)
    curve = g[:, lo] * (1 - w) + g[:, lo + 1] * w
    spectrum = torch.fft.rfft(audio.double()) * 10 ** (curve / 20)
    out: torch.Tensor = torch.fft.irfft(spectrum, size).to(audio.dtype)
    return out


@dataclass(frozen=True)
class Augment:
    """Random augmentation of segments, with the f0 labels kept right.

    Each field is a range (``lo, hi``) and a probability; a zero probability switches an
    operation off. Defaults are moderate: ±1 semitone pitch shift on half the frames, noise at
    10–40 dB SNR on half, reverberation (RT60 0.1–0.8 s) on a fifth, ±6 dB EQ on a third, and
    ±12 dB gain.

    Example:
        >>> augment = Augment()
        >>> segments = torch.randn(8, segment_length(augment.max_ratio))
        >>> g = torch.Generator().manual_seed(0)
        >>> frames, f0 = augment(segments, torch.full((8,), 100.0), g)
        >>> frames.shape, bool(((f0 / 100).log2().abs() <= 1 / 12 + 1e-6).all())
        (torch.Size([8, 1024]), True)
    """

    shift_cents: tuple[float, float] = (-100.0, 100.0)
    shift_p: float = 0.5
    snr_db: tuple[float, float] = (10.0, 40.0)
    noise_p: float = 0.5
    rt60_s: tuple[float, float] = (0.1, 0.8)
    rir_p: float = 0.2
    eq_db: float = 6.0
    eq_p: float = 0.3
    gain_db: tuple[float, float] = (-12.0, 12.0)

    def __post_init__(self) -> None:
        for name in ("shift_p", "noise_p", "rir_p", "eq_p"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 <= value <= 1):
                raise ParameterError(
                    f"Augment.{name} must be a probability in [0, 1], got {value!r}."
                )
        for name in ("shift_cents", "snr_db", "rt60_s", "gain_db"):
            lo, hi = getattr(self, name)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise ParameterError(
                    f"Augment.{name} must be a finite (low, high) pair, got {(lo, hi)}."
                )
        if self.rt60_s[0] <= 0:
            raise ParameterError(f"Augment.rt60_s must be positive seconds, got {self.rt60_s}.")

    @property
    def max_ratio(self) -> float:
        """Largest resampling ratio a pitch shift can use (segments must be this long)."""
        return 2 ** (max(abs(c) for c in self.shift_cents) / 1200) if self.shift_p > 0 else 1.0

    def settings(self) -> dict[str, Any]:
        return asdict(self)

    def __call__(
        self, segments: torch.Tensor, f0: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Augment ``(B, S)`` segments into ``(B, 1024)`` frames; returns frames and new f0.

        Random numbers come from ``generator`` (CPU) in a fixed order, whichever operations
        apply, so a batch is reproducible from its generator's seed.
        """
        batch = segments.shape[0]
        u = torch.rand(4, batch, generator=generator)
        cents = _uniform(generator, batch, *self.shift_cents)
        snr = _uniform(generator, batch, *self.snr_db)
        rt60 = _uniform(generator, batch, *self.rt60_s)
        eq = (torch.rand(batch, 6, generator=generator, dtype=torch.float64) * 2 - 1) * self.eq_db
        gain = _uniform(generator, batch, *self.gain_db)
        noise = torch.randn(batch, WINDOW_SIZE, generator=generator)
        rirs = synthetic_rir(rt60, generator)
        device = segments.device
        x = segments
        use = (u[2] < self.rir_p).to(device)[:, None]
        if bool(use.any()):
            x = torch.where(use, convolve_rir(x, rirs.to(device)), x)
        use = (u[3] < self.eq_p).to(device)[:, None]
        if bool(use.any()):
            x = torch.where(use, random_eq(x, eq.to(device)), x)
        ratio = torch.where(u[0] < self.shift_p, torch.exp2(cents / 1200), torch.ones_like(cents))
        x = pitch_shift(x, ratio) if self.shift_p > 0 else _middle(x)
        use = (u[1] < self.noise_p).to(device)[:, None]
        x = torch.where(use, add_noise(x, noise.to(device), snr.to(device)), x)
        x = apply_gain(x, gain.to(device))
        return x, f0 * ratio.to(f0)


def _middle(segments: torch.Tensor, length: int = WINDOW_SIZE) -> torch.Tensor:
    start = segments.shape[-1] // 2 - length // 2
    return segments[..., start : start + length]
