"""Files: reading audio, extracting features of files and corpora, writing outputs, plots.

- :func:`load_audio`, :func:`audio_info`, :class:`AudioReader`: audio files via soundfile;
- :class:`Extractor`, :func:`predict_file`, :func:`predict_files`: pitch, activations and
  embeddings of files, block by block (the engine of the command line);
- :class:`Features`, :func:`write_features`, :func:`read_features`: results and their files,
  each recording the settings that made it;
- :func:`discover` and :class:`Summary`: the inputs of a corpus run and what it did;
- :func:`read_pairs`, :func:`pair_files`, :func:`read_f0`: (audio, f0 track) pairs for
  fine-tuning;
- :func:`plot_file`, :func:`plot_pitch`: a spectrogram with the pitch contour (extra ``plot``).
"""

from ._audio import AUDIO_EXTENSIONS, AudioReader, audio_info, load_audio
from ._corpus import Summary, discover
from ._extract import Extractor
from ._features import Features
from ._formats import read_features, write_features
from ._plot import plot_file, plot_pitch
from ._predict import predict_file, predict_files
from ._tracks import LabelledAudio, pair_files, read_f0, read_pairs

__all__ = [
    "AUDIO_EXTENSIONS",
    "AudioReader",
    "Extractor",
    "Features",
    "LabelledAudio",
    "Summary",
    "audio_info",
    "discover",
    "load_audio",
    "pair_files",
    "plot_file",
    "plot_pitch",
    "predict_file",
    "predict_files",
    "read_f0",
    "read_features",
    "read_pairs",
    "write_features",
]
