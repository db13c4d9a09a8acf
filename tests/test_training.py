"""CREPE as a frozen layer inside user models: training a head, eval lock, gradients to the
audio, fft/direct gradient agreement, checkpoints. Real tiny weights, short synthetic tones."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import pytest
import torch
from torch import nn

from crepe_transforms import (
    CrepeActivation,
    CrepeEmbedding,
    CrepeFrames,
    CrepeSoftDecode,
    ParameterError,
)
from crepe_transforms.functional import hz_to_cents
from crepe_transforms.model import Crepe

Tone = Callable[..., torch.Tensor]

SR = 16000
HOP = 400  # 25 ms: 11 frames per 0.25 s item keeps every step fast


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tones(tone: Tone, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` harmonic tones of 0.25 s, f0 log-uniform in 100-800 Hz, varied amplitude."""
    g = torch.Generator().manual_seed(seed)
    f0 = 100.0 * 8.0 ** torch.rand(n, generator=g, dtype=torch.float64)
    amplitude = 0.1 + 0.8 * torch.rand(n, generator=g)
    audio = torch.stack(
        [
            tone(float(f), 0.25, SR, amplitude=float(a), seed=seed * 1000 + i)
            for i, (f, a) in enumerate(zip(f0, amplitude, strict=True))
        ]
    )
    return audio, f0


def crepe_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every CREPE parameter and buffer (BatchNorm statistics, num_batches_tracked), cloned."""
    return {k: v.detach().clone() for k, v in model.state_dict().items() if ".network." in k}


def assert_same_state(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> None:
    assert sorted(before) == sorted(after)
    for key, value in before.items():
        assert torch.equal(value, after[key]), key


def crepe_networks(model: nn.Module) -> list[Crepe]:
    return [m for m in model.modules() if isinstance(m, Crepe)]


class EmbeddingRegressor(nn.Module):
    """Frozen block-5 embedding → trainable MLP → log2(f0 / 283 Hz), averaged over frames."""

    def __init__(self, pretrained: bool = True) -> None:
        super().__init__()
        self.crepe = CrepeEmbedding(SR, "tiny", hop_length=HOP, pretrained=pretrained)
        self.head = nn.Sequential(
            nn.Flatten(-2), nn.Linear(256, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 1)
        )

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.head(self.crepe(audio)).squeeze(-1).mean(-1)


class SalienceClassifier(nn.Module):
    """Frozen frames → salience → trainable linear layer: is the tone above 283 Hz?"""

    def __init__(self) -> None:
        super().__init__()
        self.frames = CrepeFrames(SR, hop_length=HOP)
        self.crepe = CrepeActivation("tiny")
        self.head = nn.Linear(360, 1)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.head(self.crepe(self.frames(audio))).squeeze(-1).mean(-1)


def log_f0_target(f0: torch.Tensor) -> torch.Tensor:
    return torch.log2(f0 / 283.0).float()  # in [-1.5, 1.5] for 100-800 Hz


# ----------------------------------------------------------------- training a head


def fit_regressor(
    model: EmbeddingRegressor,
    params: list[nn.Parameter],
    audio: torch.Tensor,
    f0: torch.Tensor,
    steps: int,
) -> list[float]:
    optimizer = torch.optim.AdamW(params, lr=3e-3, weight_decay=0.01)
    model.train()
    losses = []
    for _ in range(steps):
        loss = nn.functional.mse_loss(model(audio), log_f0_target(f0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def held_out_loss(model: nn.Module, audio: torch.Tensor, f0: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float(nn.functional.mse_loss(model(audio), log_f0_target(f0)))


def test_embedding_head_trains_and_crepe_stays_bit_identical(tone: Tone) -> None:
    audio, f0 = tones(tone, 32, seed=0)
    held_out, held_out_f0 = tones(tone, 16, seed=1)
    torch.manual_seed(0)
    model = EmbeddingRegressor()
    before = crepe_state(model)
    assert len(before) == 44  # 6 × (conv weight, bias, BN weight, bias, mean, var, count) + 2
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(trainable) == 4  # the head only: CREPE is frozen by construction
    initial_held_out = held_out_loss(model, held_out, held_out_f0)
    losses = fit_regressor(model, trainable, audio, f0, steps=30)
    # Measured: 0.84 → 0.0045 on the 32 training tones, 1.20 → 0.14 on 16 held-out tones.
    # A head that learned nothing stays near the targets' variance (~0.8); a tenth of the start
    # needs the embedding to carry the pitch, and the held-out tones show it generalises
    # rather than memorises (a third leaves room for BLAS rounding across machines).
    assert losses[-1] < 0.1 * losses[0]
    assert held_out_loss(model, held_out, held_out_f0) < 0.3 * initial_held_out
    assert_same_state(before, crepe_state(model))
    assert all(p.grad is None for p in model.crepe.parameters())
    assert [net.training for net in crepe_networks(model)] == [False]


def test_optimizer_given_all_parameters_leaves_crepe_alone(tone: Tone) -> None:
    # model.parameters() includes the frozen CREPE weights: they never get a .grad, so
    # AdamW skips them, weight decay included, and training is the same as with the head only.
    audio, f0 = tones(tone, 4, seed=7)
    heads = []
    for only_trainable in (True, False):
        torch.manual_seed(0)
        model = EmbeddingRegressor()
        before = crepe_state(model)
        params = [p for p in model.parameters() if p.requires_grad or not only_trainable]
        assert len(params) == (4 if only_trainable else 30)  # + 26 CREPE parameters
        fit_regressor(model, params, audio, f0, steps=3)
        assert_same_state(before, crepe_state(model))
        heads.append(model.head.state_dict())
    assert_same_state(heads[0], heads[1])


def test_salience_head_trains_and_crepe_stays_bit_identical(tone: Tone) -> None:
    audio, f0 = tones(tone, 16, seed=2)
    target = (f0 > 283.0).float()
    torch.manual_seed(0)
    model = SalienceClassifier()
    before = crepe_state(model)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.05)
    model.train()
    losses = []
    for _ in range(20):
        loss = nn.functional.binary_cross_entropy_with_logits(model(audio), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    # Measured: 0.70 (chance is log 2) → 0.063. A fifth of chance needs the salience to
    # separate low from high tones, which the real weights do.
    assert losses[-1] < 0.2 * losses[0]
    assert bool(((model(audio) > 0) == (target > 0.5)).all())
    assert_same_state(before, crepe_state(model))


class Synth(nn.Module):
    """A harmonic oscillator with one learnable parameter, its log f0."""

    def __init__(self, f0: float) -> None:
        super().__init__()
        self.log_f0 = nn.Parameter(torch.tensor(math.log(f0)))

    def forward(self, samples: int) -> torch.Tensor:
        phase = 2 * math.pi * self.log_f0.exp() * torch.arange(samples) / SR
        harmonics = torch.arange(1, 6)[:, None]
        return 0.3 * (torch.sin(harmonics * phase) / harmonics).sum(0)


def test_soft_pitch_loss_trains_a_synthesizer() -> None:
    # The pitch loss backpropagates through the readout, the frozen network and the framing
    # into the synthesiser's parameter: no gradient ever reaches CREPE's weights.
    synth = Synth(180.0)
    crepe = nn.Sequential(CrepeFrames(SR, hop_length=HOP), CrepeActivation("tiny"))
    readout = CrepeSoftDecode()
    before = crepe_state(crepe)
    target = hz_to_cents(torch.tensor(220.0))
    optimizer = torch.optim.Adam(synth.parameters(), lr=0.02)
    losses = []
    for _ in range(40):
        pitch = readout(crepe(synth(4000)))
        # Interior frames only (edge frames see zero padding); error in semitones.
        loss = ((hz_to_cents(pitch.f0[2:-2]) - target) / 100).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    final_cents = float(hz_to_cents(synth.log_f0.exp().detach()) - target)
    # Starts 3.5 semitones flat (loss 11.8); measured after 40 steps: loss 0.0033, f0 5 cents
    # below 220 Hz. The optimum is where tiny *reads* 220 Hz, within its accuracy on tones
    # (≤ 25 cents measured): 30 cents.
    assert losses[0] > 10.0
    assert min(losses[-5:]) < 0.01 * losses[0]
    assert abs(final_cents) < 30.0
    assert_same_state(before, crepe_state(crepe))


# ----------------------------------------------------------------- eval lock


def test_parent_train_and_eval_change_nothing(tone: Tone) -> None:
    audio, _ = tones(tone, 3, seed=3)
    model = SalienceClassifier()
    before = crepe_state(model)
    model.eval()
    in_eval = model.crepe(model.frames(audio))
    model.train()
    in_train = model.crepe(model.frames(audio))
    assert torch.equal(in_eval, in_train)
    # The lock lives on the network: the wrapper follows its parent like any module (it has no
    # mode-dependent behaviour), everything inside the network stays in eval mode.
    assert model.crepe.training
    assert not any(m.training for m in model.crepe.network.modules())
    model.crepe.network.train()  # even when asked directly
    assert not any(m.training for m in model.crepe.network.modules())
    assert torch.equal(model.crepe(model.frames(audio)), in_eval)
    assert_same_state(before, crepe_state(model))  # no BatchNorm statistics were updated


# ----------------------------------------------------------------- gradients to the audio


def check_gradient(audio: torch.Tensor) -> None:
    assert audio.grad is not None
    assert bool(torch.isfinite(audio.grad).all())
    assert float(audio.grad.abs().sum()) > 0


def test_gradient_to_16k_audio_and_no_grad_shortcut(tone: Tone) -> None:
    crepe = nn.Sequential(CrepeFrames(SR, hop_length=HOP), CrepeActivation("tiny"))
    audio = tone(330.0, 0.25, SR)
    # Nothing requires grad: the network runs under no_grad, the output has no graph.
    assert not crepe(audio).requires_grad
    audio.requires_grad_()
    salience = crepe(audio)
    assert salience.requires_grad  # the shortcut does not apply when the input needs a grad
    salience.max(-1).values.sum().backward()
    check_gradient(audio)
    with torch.no_grad():  # and no_grad still wins
        assert not crepe(audio).requires_grad


def test_gradient_through_torchaudio_resampler_and_resampy_refuses(tone: Tone) -> None:
    pytest.importorskip("torchaudio")
    audio = tone(330.0, 0.25, 44100).requires_grad_()
    salience = CrepeActivation("tiny")
    pitch = CrepeSoftDecode()(salience(CrepeFrames(44100, resample="torchaudio")(audio)))
    hz_to_cents(pitch.f0).mean().backward()
    check_gradient(audio)
    with pytest.raises(ParameterError, match=r"resample='resampy' .* cannot pass gradients"):
        CrepeFrames(44100)(audio)


def test_gradient_through_embedding(tone: Tone) -> None:
    audio = tone(220.0, 0.25, SR).requires_grad_()
    CrepeEmbedding(SR, "tiny", hop_length=HOP)(audio).pow(2).mean().backward()
    check_gradient(audio)


def test_fft_and_direct_gradients_agree(tone: Tone) -> None:
    noise = 0.01 * torch.randn(4000, generator=torch.Generator().manual_seed(4))
    audio = tone(220.0, 0.25, SR) + noise
    for dtype, tolerance in ((torch.float32, 1e-4), (torch.float64, 1e-10)):
        grads = {}
        for algorithm in ("fft", "direct"):
            salience = CrepeActivation("tiny", algorithm=algorithm).to(dtype)
            x = audio.to(dtype).clone().requires_grad_()
            act = salience(CrepeFrames(SR)(x))
            loss = hz_to_cents(CrepeSoftDecode()(act).f0).mean() + act.pow(2).mean()
            loss.backward()
            assert x.grad is not None
            grads[algorithm] = x.grad
        relative = float((grads["fft"] - grads["direct"]).norm() / grads["direct"].norm())
        # Measured 2.6e-6 (float32) and 2e-15 (float64): the two algorithms differ only in
        # rounding. float32's bound leaves room for a max-pool choice flipped by a rounding
        # tie, which moves a few gradient entries; float64 shows they compute one function.
        assert relative < tolerance, (dtype, relative)


# ----------------------------------------------------------------- copies and checkpoints


def test_state_dict_and_deepcopy_of_a_user_model(tone: Tone) -> None:
    torch.manual_seed(0)
    model = EmbeddingRegressor().eval()
    keys = list(model.state_dict())
    crepe_keys = [k for k in keys if k.startswith("crepe.")]
    # The CREPE weights are part of the user model's state dict (44 tensors for tiny, under
    # crepe.activation.network.*); CrepeFrames adds nothing; the head adds its 4.
    assert len(crepe_keys) == 44
    assert all(k.startswith("crepe.activation.network.") for k in crepe_keys)
    assert sorted(set(keys) - set(crepe_keys)) == [
        "head.1.bias",
        "head.1.weight",
        "head.4.bias",
        "head.4.weight",
    ]
    audio, _ = tones(tone, 2, seed=5)
    expected = model(audio)

    twin = copy.deepcopy(model)
    assert torch.equal(twin(audio), expected)
    for (name, a), b in zip(model.state_dict().items(), twin.state_dict().values(), strict=True):
        assert a.data_ptr() != b.data_ptr(), name  # a real copy, no shared storage
    assert not any(p.requires_grad for p in twin.crepe.parameters())
    twin.train()
    assert not any(net.training for net in crepe_networks(twin))

    # A full checkpoint restores a random-init model exactly (no weight file needed) ...
    restored = EmbeddingRegressor(pretrained=False)
    restored.load_state_dict(model.state_dict())
    assert torch.equal(restored.eval()(audio), expected)
    # ... and a head-only checkpoint loads with strict=False, missing only CREPE keys.
    head_only = {k: v for k, v in model.state_dict().items() if not k.startswith("crepe.")}
    fresh = EmbeddingRegressor().eval()
    result = fresh.load_state_dict(head_only, strict=False)
    # BatchNorm fills in a missing num_batches_tracked itself (old checkpoints lack it).
    assert sorted(result.missing_keys) == sorted(k for k in crepe_keys if "num_batches" not in k)
    assert result.unexpected_keys == []
    assert torch.equal(fresh(audio), expected)


def test_fine_tuning_crepe_is_opt_in(tone: Tone) -> None:
    # requires_grad_(True) on the CREPE submodule unfreezes its weights for fine-tuning; the
    # BatchNorm layers stay in eval mode, so their statistics never change.
    audio, f0 = tones(tone, 4, seed=6)
    torch.manual_seed(0)
    model = EmbeddingRegressor()
    before = crepe_state(model)
    model.crepe.requires_grad_(True)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    model.train()
    loss = nn.functional.mse_loss(model(audio), log_f0_target(f0))
    loss.backward()
    optimizer.step()
    after = crepe_state(model)
    changed = {k.split("network.")[1] for k in before if not torch.equal(before[k], after[k])}
    assert {"conv1.weight", "conv5.weight", "conv5_BN.weight"} <= changed  # blocks 1-5 learn
    assert not changed & {"conv6.weight", "classifier.weight"}  # the embedding ends at block 5
    assert not {k for k in changed if "running_" in k or "num_batches" in k}
