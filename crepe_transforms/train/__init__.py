"""Training-data tools: CREPE features per batch, in the DataLoader or in the training step.

- :class:`CrepeConditioner`: audio → f0, periodicity, loudness and masks, on any device;
- :class:`CrepeCollate`: a DataLoader ``collate_fn`` that pads items and attaches features;
- :class:`FeatureCache`: features computed once per item and kept on disk;
- :class:`ItemPolicy`: how dataset items are read (formats, rates, channels).
"""

from ._collate import CrepeCollate
from ._conditioner import CrepeConditioner
from ._feature_cache import FeatureCache
from ._items import ItemPolicy

__all__ = ["CrepeCollate", "CrepeConditioner", "FeatureCache", "ItemPolicy"]
