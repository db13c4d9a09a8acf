"""Files: reading audio, extracting features of files and corpora, writing outputs, plots.

- :func:`load_audio`, :func:`audio_info`, :class:`AudioReader`: audio files via soundfile;
- :class:`Extractor`, :func:`predict_file`, :func:`predict_files`: pitch, activations and
  embeddings of files, block by block (the engine of the command line);
- :class:`Features`, :func:`write_features`, :func:`read_features`: results and their files;
- :func:`plot_file`: a spectrogram with the pitch contour (extra ``plot``).
"""
