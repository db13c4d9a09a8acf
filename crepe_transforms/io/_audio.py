"""Reading audio files with soundfile (libsndfile): whole, or block by block for long files.

- Formats: whatever the installed libsndfile reads — WAV, FLAC, OGG/Vorbis, OGG/Opus, AIFF,
  W64, RF64, CAF, … and MP3 from libsndfile 1.1 on (the soundfile >= 0.12 wheels bundle it).
- Samples come back as float32. Integer PCM is scaled to [-1, 1) by libsndfile
  (int16 / 32768, int24 / 2**23, int32 / 2**31, unsigned 8-bit centred first).
- Channels are **downmixed** to mono by default (the mean of the channels); ``mono=False``
  keeps them, giving ``(channels, time)``.
- Every problem with a file raises :class:`~crepe_transforms.exceptions.AudioError` with a
  one-line message that starts with the path: missing, unreadable or not audio, zero bytes,
  no samples, truncated (a WAV whose data chunk is shorter than its header says, or any file
  that ends before the length its header announces), decoding errors, NaN/Inf samples.
- File names need not be valid UTF-8: libsndfile is given the name's own bytes
  (:func:`os.fsencode`), so a name Python holds with surrogate escapes opens like any other.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import torch

from .._tables import AUDIO_EXTENSIONS
from ..exceptions import AudioError, ParameterError

__all__ = ["AUDIO_EXTENSIONS", "AudioInfo", "AudioReader", "audio_info", "downmix", "load_audio"]


#: Samples decoded at a time when a read skips ahead (decoding is sequential in every format).
_SKIP_BLOCK = 1 << 20
#: WAV data-chunk sizes that mean "unknown" (streamed or RF64 files): not checked.
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says: rate, length in samples per channel, channels, format.

    ``samples`` was called ``frames`` before 0.3 (soundfile's word, which this package uses
    for CREPE's analysis frames); ``frames`` stays as a deprecated alias.
    """

    path: Path
    sample_rate: int
    samples: int
    channels: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples / self.sample_rate

    @property
    def frames(self) -> int:
        """Deprecated alias of :attr:`samples` (the length in samples per channel)."""
        warnings.warn(
            "AudioInfo.frames is deprecated: it counts samples per channel, not CREPE "
            "frames; use AudioInfo.samples.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.samples


def _soundfile() -> Any:
    import soundfile

    return soundfile


def _wav_shortfall(path: Path) -> tuple[int, int] | None:
    """``(announced, present)`` bytes of a WAV data chunk cut short, else None.

    libsndfile silently shortens such files to the bytes present, so a file cut off by a
    failed copy would pass for a shorter recording without this check.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        offset = 12
        while offset + 8 <= size:
            fh.seek(offset)
            chunk, length = struct.unpack("<4sI", fh.read(8))
            if chunk == b"data":
                present = size - offset - 8
                if length in _UNKNOWN_SIZES or present >= length:
                    return None
                return length, present
            offset += 8 + length + (length & 1)  # chunks are padded to even sizes
    return None


def audio_info(path: str | os.PathLike[str]) -> AudioInfo:
    """Read and check a file's header.

    Raises:
        AudioError: the file is missing, empty (0 bytes), not audio libsndfile can read,
            holds no samples, or is a truncated WAV.

    Example:
        >>> import soundfile, tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.wav"
        >>> soundfile.write(path, np.zeros(22050, np.int16), 22050)
        >>> meta = audio_info(path)
        >>> meta.sample_rate, meta.samples, meta.channels, meta.subtype
        (22050, 22050, 1, 'PCM_16')
    """
    if not isinstance(path, str | os.PathLike):
        raise ParameterError(
            f"path must be an audio file path (str or os.PathLike), got {type(path).__name__}. "
            f"Pass e.g. pathlib.Path('speech.wav')."
        )
    path = Path(path)
    sf = _soundfile()
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file; check the path") from None
    except OSError as exc:
        raise AudioError(f"{path}: cannot access the file ({exc.strerror or exc})") from None
    if path.is_dir():
        raise AudioError(
            f"{path}: is a directory, not an audio file; pass a file (predict_files and the "
            f"command line search directories)"
        )
    if size == 0:
        raise AudioError(
            f"{path}: the file is empty (0 bytes); it holds no audio: re-copy or re-export it"
        )
    try:
        with quiet_stderr():
            meta = sf.info(os.fsencode(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(
            f"{path}: not a readable audio file ({_reason(exc)}); convert it to a format "
            f"libsndfile {sf.__libsndfile_version__} reads: {_formats()}"
        ) from None
    except OSError as exc:
        raise AudioError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if meta.frames <= 0:
        raise AudioError(
            f"{path}: holds no audio (a valid {meta.format} header with 0 samples); re-export "
            f"it or leave it out"
        )
    shortfall = _wav_shortfall(path) if meta.format in ("WAV", "WAVEX") else None
    if shortfall is not None:
        announced, present = shortfall
        raise AudioError(
            f"{path}: truncated WAV: the header announces {announced} bytes of audio but "
            f"only {present} are present ({100 * present / announced:.0f} %); re-copy or "
            f"re-export the file"
        )
    return AudioInfo(
        path, int(meta.samplerate), int(meta.frames), int(meta.channels), meta.format, meta.subtype
    )


#: libsndfile's words for a file it cannot identify. Its MP3 probe reports garbage as "File
#: does not exist or is not a regular file (possibly a pipe?)" although audio_info has just
#: found a regular file: both say the same, the format is not recognised.
_UNRECOGNISED = ("format not recognised", "file does not exist or is not a regular file")


def _reason(exc: BaseException) -> str:
    # soundfile prefixes the file name; the caller already starts the message with it
    text = str(getattr(exc, "error_string", None) or exc).strip()
    if text.startswith("Error opening") and ": " in text:
        text = text.split(": ", 1)[1]
    text = text.removeprefix("Error : ").rstrip(".")
    if text.lower().startswith(_UNRECOGNISED):
        return "format not recognised"
    return text


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Keep what C libraries print on file descriptor 2 off the terminal while libsndfile
    reads: libmpg123 prints "Note: Illegal Audio-MPEG-Header …" / "Trying to resync…" for
    files that are not MP3 at all. The failures themselves come back as exceptions, which the
    callers turn into one-line messages; the notes are dropped."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to silence (a daemon without fd 2)
        yield
        return
    try:
        with open(os.devnull, "wb") as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def _formats() -> str:
    known = _soundfile().available_formats()
    common = [f for f in ("WAV", "FLAC", "OGG", "MP3", "AIFF", "CAF", "W64", "RF64") if f in known]
    more = len(known) - len(common)
    return ", ".join(common) + (f" and {more} more (soundfile.available_formats())" if more else "")


def downmix(block: np.ndarray) -> np.ndarray:
    """Mean of the channels: ``(time, channels)`` → ``(time,)`` float32."""
    out: np.ndarray = block.mean(axis=1, dtype=np.float32)
    return out


class AudioReader:
    """Sequential, block-wise reader of one file (every format; no seeking).

    ``read(start, stop)`` returns samples ``start … stop − 1`` as ``(stop − start, channels)``
    float32. With ``start`` / ``stop`` the reader is a window of the file, samples
    ``start … stop − 1`` (``stop`` clipped to the file), and indexes and ``info.samples`` are the
    window's; ``start`` must not go backwards by more than what the reader still holds (the
    previous block's overlap). Samples past the end of the file are an error.

    Example:
        >>> import soundfile, tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.flac"
        >>> soundfile.write(path, np.arange(1000, dtype=np.int16)[:, None].repeat(2, 1), 8000)
        >>> with AudioReader(path) as reader:
        ...     reader.read(0, 3).shape, float(reader.read(2, 4)[1, 0] * 32768)
        ((3, 2), 3.0)
    """

    def __init__(
        self, path: str | os.PathLike[str], start: int = 0, stop: int | None = None
    ) -> None:
        whole = audio_info(path)
        end = whole.samples if stop is None else min(stop, whole.samples)
        if not 0 <= start < end:
            raise AudioError(
                f"{whole.path}: no samples between {start} and {end} (the file has "
                f"{whole.samples}); pass 0 <= start < stop <= {whole.samples}"
            )
        self._whole = whole
        self._offset = start  # file index of the window's sample 0
        # the window's own header: what FileSignal and the extractor see
        self.info = dataclasses.replace(whole, samples=end - start)
        self.path = self.info.path
        try:
            with quiet_stderr():
                self._file = _soundfile().SoundFile(os.fsencode(self.path))
        except Exception as exc:  # raced with a change of the file
            raise AudioError(f"{self.path}: cannot open ({_reason(exc)})") from None
        self._buffer = np.zeros((0, self.info.channels), dtype=np.float32)
        self._start = 0  # file index of self._buffer[0]

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def _fill(self, stop: int) -> None:
        end = self._start + len(self._buffer)
        if stop <= end:
            return
        try:
            with quiet_stderr():
                new = self._file.read(stop - end, dtype="float32", always_2d=True)
        except Exception as exc:  # libsndfile decoding errors (lost sync, bad packets)
            raise AudioError(
                f"{self.path}: decoding failed after sample {end} of {self._whole.samples} "
                f"({_reason(exc)}); the file is damaged or truncated"
            ) from None
        if len(new) < stop - end:
            got = end + len(new)
            raise AudioError(
                f"{self.path}: truncated: the header announces {self._whole.samples} samples "
                f"({self._whole.duration:.2f} s) but the file ends after {got} "
                f"({got / self.info.sample_rate:.2f} s)"
            )
        finite = np.isfinite(new)
        if not finite.all():
            first = end + int(np.argmin(finite.all(axis=1)))  # the first bad sample, not the block
            seconds = first / self.info.sample_rate
            raise AudioError(
                f"{self.path}: the first NaN or Inf is at sample {first} ({seconds:.3f} s); "
                f"CREPE needs finite audio. Clean the file first"
            )
        self._buffer = np.concatenate([self._buffer, new]) if len(self._buffer) else new

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``start … stop − 1`` of every channel, ``(stop − start, channels)``."""
        if not 0 <= start <= stop <= self.info.samples or start + self._offset < self._start:
            raise AudioError(
                f"{self.path}: cannot read samples {start}..{stop} (file has "
                f"{self.info.samples}; reader is at {self._start - self._offset})"
            )
        start, stop = start + self._offset, stop + self._offset  # file indexes from here
        while self._start + len(self._buffer) < start:  # skip forward without holding it all
            end = self._start + len(self._buffer)
            self._buffer = self._buffer[:0]
            self._start = end
            self._fill(min(start, end + _SKIP_BLOCK))
        self._fill(stop)
        # drop what lies before start: blocks only move forward
        self._buffer = self._buffer[start - self._start :]
        self._start = start
        return self._buffer[: stop - start]

    def blocks(self, size: int) -> Iterator[np.ndarray]:
        """The whole file in consecutive blocks of ``size`` samples (the last may be shorter)."""
        for start in range(0, self.info.samples, size):
            yield self.read(start, min(start + size, self.info.samples))


def load_audio(
    path: str | os.PathLike[str], mono: bool = True, start: int = 0, stop: int | None = None
) -> tuple[torch.Tensor, int]:
    """Read a file as float32: ``((time,), rate)``, or ``((channels, time), rate)``.

    Args:
        path: an audio file libsndfile reads.
        mono: downmix to one channel, the mean of the channels (default). ``False`` keeps
            every channel.
        start, stop: read samples ``start … stop − 1`` only (clipped to the file); default
            the whole file.

    Raises:
        AudioError: see :func:`audio_info`, and truncated or damaged data, NaN/Inf samples, or an
            empty ``start … stop`` range.

    Example:
        >>> import soundfile, tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "stereo.wav"
        >>> soundfile.write(path, np.array([[16384, 0], [0, -16384]], np.int16), 16000)
        >>> load_audio(path)
        (tensor([ 0.2500, -0.2500]), 16000)
        >>> load_audio(path, mono=False)[0].shape
        torch.Size([2, 2])
    """
    with AudioReader(path, start, stop) as reader:
        data = reader.read(0, reader.info.samples)
        rate = reader.info.sample_rate
    array = downmix(data) if mono else np.ascontiguousarray(data.T)
    return torch.from_numpy(array), rate
