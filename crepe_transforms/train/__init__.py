"""Training-data tools and fine-tuning.

Features for training other models:

- :class:`CrepeConditioner`: audio → f0, periodicity, loudness and masks, on any device;
- :class:`CrepeCollate`: a DataLoader ``collate_fn`` that pads items and attaches features;
- :class:`FeatureCache`: features computed once per item and kept on disk;
- :class:`ItemPolicy`: how dataset items are read (formats, rates, channels).

Fine-tuning CREPE itself (``docs/finetuning.md``):

- :func:`finetune` and :class:`FinetuneConfig`: the loop, to a checksummed weights file;
- :class:`PitchTrack` and :class:`PitchDataset`: (audio, f0 track) pairs drawn as frames;
- :class:`Augment` and its tensor operations (:func:`pitch_shift`, :func:`add_noise`, ...);
- :class:`TrainableCrepe` and :class:`CrepeLoss`: the network with gradients, CREPE's BCE;
- :func:`generic_frames`: the generic material of the forgetting guard.
"""

from ._augment import (
    Augment,
    add_noise,
    apply_gain,
    convolve_rir,
    pitch_shift,
    random_eq,
    segment_length,
    synthetic_rir,
)
from ._checkpoint import checkpoint_path, write_weights
from ._collate import CrepeCollate
from ._conditioner import CrepeConditioner
from ._dataset import FrameBatch, PitchDataset, PitchTrack
from ._feature_cache import FeatureCache
from ._finetune import FinetuneConfig, FinetuneResult, finetune, raw_pitch_accuracy
from ._generic import generic_frames
from ._items import ItemPolicy
from ._network import CrepeLoss, TrainableCrepe, torchcrepe_layout

__all__ = [
    "Augment",
    "CrepeCollate",
    "CrepeConditioner",
    "CrepeLoss",
    "FeatureCache",
    "FinetuneConfig",
    "FinetuneResult",
    "FrameBatch",
    "ItemPolicy",
    "PitchDataset",
    "PitchTrack",
    "TrainableCrepe",
    "add_noise",
    "apply_gain",
    "checkpoint_path",
    "convolve_rir",
    "finetune",
    "generic_frames",
    "pitch_shift",
    "random_eq",
    "raw_pitch_accuracy",
    "segment_length",
    "synthetic_rir",
    "torchcrepe_layout",
    "write_weights",
]
