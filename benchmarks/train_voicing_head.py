"""Train the voicing head of ``voicing="auto"`` (writes
``crepe_transforms/functional/voicing_head.json`` and prints the SHA-256 to put in
``HEAD_SHA256``).

Trained on the ``dev`` split only, of both benchmark corpora, with the network outputs of tiny
and full (cached by ``voicing.py``; computed here when missing):

- ``voicing_speech.py``: espeak-ng voices and sentences of the dev split, each dry, in a
  simulated room, quiet, and in noise at 20 and 10 dB SNR (the reference: Praat on the dry
  utterance; frames with two states in their window left out);
- ``voicing_corpus.py``: 0.2's synthetic speech-like and music-like clips (truth by
  construction).

Each (corpus, condition) group weighs the same in the loss, and voiced and unvoiced frames
within it weigh the same. The head is a perceptron with :data:`HIDDEN` tanh units, trained
full-batch in float64 with a fixed seed (deterministic). The threshold is then chosen on the
same dev split: the highest probability bound that keeps recall >= :data:`MIN_RECALL` in every
dev group of speech and music on both capacities (ties: the lower bound).

    python benchmarks/train_voicing_head.py            # a few minutes once the outputs are cached
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from crepe_transforms.functional._voicing_model import (
    AHEAD_FRAMES,
    FEATURES,
    HEAD_FILE,
    PAST_FRAMES,
    voicing_features,
)

HIDDEN = 12
STEPS = 1500
SEED = 0
MIN_RECALL = 0.97
SYNTHETIC_CACHE = Path("/tmp/crepe_transforms_voicing")

Group = list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # (periodicity, level, truth) per clip


def dev_groups(capacities: tuple[str, ...]) -> dict[str, Group]:
    """Clips of the dev split by ``capacity/corpus/condition``."""
    import voicing
    import voicing_corpus
    import voicing_speech

    groups: dict[str, Group] = {}
    for capacity in capacities:
        for clip in voicing_speech.make_corpus("dev"):
            out = voicing_speech.network_outputs(clip, capacity)
            truth = voicing_speech.frame_truth(clip, len(out["level"]))
            key = f"{capacity}/speech/{clip.condition}"
            groups.setdefault(key, []).append((out["periodicity"], out["level"], truth))
        for sclip in voicing_corpus.make_corpus("dev"):
            sout = voicing.ours(sclip, capacity, 1.0, SYNTHETIC_CACHE)
            key = f"{capacity}/synthetic-{sclip.kind}/dry"
            labels = sclip.labels.astype(np.int8)
            groups.setdefault(key, []).append(
                (
                    sout["periodicity"][0] if sout["periodicity"].ndim > 1 else sout["periodicity"],
                    sout["level"],
                    labels,
                )
            )
    return groups


def features(group: Group) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for periodicity, level, truth in group:
        p = torch.from_numpy(np.asarray(periodicity, np.float64)).reshape(1, -1)
        lv = torch.from_numpy(np.asarray(level, np.float64)).reshape(1, -1)
        valid = torch.ones_like(p, dtype=torch.bool)
        f = voicing_features(p, lv, valid)[0]
        t = torch.from_numpy(np.asarray(truth, np.int64))
        keep = t >= 0
        xs.append(f[keep])
        ys.append(t[keep].double())
    return torch.cat(xs), torch.cat(ys)


def train(groups: dict[str, Group]) -> dict[str, object]:
    torch.manual_seed(SEED)
    data = {key: features(group) for key, group in groups.items()}
    x = torch.cat([d[0] for d in data.values()])
    y = torch.cat([d[1] for d in data.values()])
    weight = torch.cat(
        [
            torch.where(
                t > 0.5, 0.5 / max(1.0, float(t.sum())), 0.5 / max(1.0, float((1 - t).sum()))
            )
            for _, t in data.values()
        ]
    )
    weight = weight / weight.sum()
    mean, scale = x.mean(dim=0), x.std(dim=0).clamp_min(1e-3)
    net = torch.nn.Sequential(
        torch.nn.Linear(len(FEATURES), HIDDEN), torch.nn.Tanh(), torch.nn.Linear(HIDDEN, 1)
    ).double()
    optimiser = torch.optim.Adam(net.parameters(), lr=0.01)
    xn = (x - mean) / scale
    for step in range(STEPS):
        optimiser.zero_grad()
        logits = net(xn)[:, 0]
        loss = (
            torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
            * weight
        ).sum()
        loss.backward()
        optimiser.step()
        if step % 500 == 0 or step == STEPS - 1:
            print(f"step {step}: weighted loss {float(loss.detach()):.4f}", flush=True)
    first, second = net[0], net[2]
    return {
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "w1": first.weight.detach().T.tolist(),
        "b1": first.bias.detach().tolist(),
        "w2": second.weight.detach().T.tolist(),
        "b2": second.bias.detach().tolist(),
    }


def choose_threshold(groups: dict[str, Group], weights: dict[str, object]) -> float:
    from crepe_transforms.functional._voicing_model import VoicingHead

    head = VoicingHead({**weights, "threshold": 0.5})
    best = 0.05
    table = []
    for threshold in np.round(np.arange(0.05, 0.96, 0.05), 2):
        recalls, alarms = [], []
        for group in groups.values():
            x, y = features(group)
            voiced = head.probability(x) >= threshold
            recalls.append(float(voiced[y > 0.5].double().mean()) if (y > 0.5).any() else 1.0)
            alarms.append(float(voiced[y < 0.5].double().mean()) if (y < 0.5).any() else 0.0)
        table.append((float(threshold), min(recalls), max(alarms)))
        if min(recalls) >= MIN_RECALL:
            best = float(threshold)
    for threshold, recall, alarm in table:
        print(f"threshold {threshold:.2f}: worst dev recall {recall:.3f}, worst dev FA {alarm:.3f}")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capacities", default="tiny,full")
    parser.add_argument("--out", type=Path, default=HEAD_FILE)
    args = parser.parse_args()
    start = time.time()
    groups = dev_groups(tuple(args.capacities.split(",")))
    print(f"dev groups: {', '.join(sorted(groups))}")
    weights = train(groups)
    threshold = choose_threshold(groups, weights)
    head = {
        "about": (
            'Voicing head of voicing="auto" (crepe_transforms), trained by '
            "benchmarks/train_voicing_head.py on the dev split of the voicing benchmark."
        ),
        "features": list(FEATURES),
        "past_frames": PAST_FRAMES,
        "ahead_frames": AHEAD_FRAMES,
        "capacities": args.capacities.split(","),
        "threshold": threshold,
        **{k: np.round(np.asarray(v, dtype=np.float64), 8).tolist() for k, v in weights.items()},
    }
    text = json.dumps(head, indent=1) + "\n"
    args.out.write_text(text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    print(f"threshold {threshold}; wrote {args.out} in {time.time() - start:.0f} s")
    print(f'HEAD_SHA256 = "{digest}"')


if __name__ == "__main__":
    main()
