"""The ``nn.Module`` transforms: each checks its settings once and calls ``functional``.

- :class:`CrepeFrames`: audio → normalised 16 kHz frames;
- :class:`CrepeActivation`: frames → 360-bin salience (the frozen network);
- :class:`CrepeDecode`: salience → ``Pitch(f0, periodicity)``; :class:`CrepeSoftDecode`, its
  differentiable counterpart for training losses;
- :class:`CrepePitch`: audio → pitch, built from the three above;
- :class:`CrepeEmbedding`: audio → block-5 embeddings, a frozen feature layer;
- :class:`CrepeLoudness`: audio → A-weighted loudness, frame-aligned with the pitch;
- :class:`CrepeStream`: :class:`CrepePitch` for audio that arrives in pieces.

Composites are built from their parts and route each keyword option to the part that owns it
(``CrepePitch(16000, "tiny", fmin=50)``); ``from_parts`` takes parts you built.
"""

from ._activation import DEFAULT_CHUNK_SIZE, CrepeActivation
from ._decode import CrepeDecode, CrepeSoftDecode
from ._embedding import CrepeEmbedding
from ._engine import DEFAULT_BLOCK_FRAMES
from ._frames import CrepeFrames
from ._loudness import CrepeLoudness
from ._pitch import CrepePitch
from ._stream import CrepeStream

__all__ = [
    "DEFAULT_BLOCK_FRAMES",
    "DEFAULT_CHUNK_SIZE",
    "CrepeActivation",
    "CrepeDecode",
    "CrepeEmbedding",
    "CrepeFrames",
    "CrepeLoudness",
    "CrepePitch",
    "CrepeSoftDecode",
    "CrepeStream",
]
