"""Audio files in and out: soundfile for WAV/FLAC/OGG/MP3, soxr for resampling.

Every problem with an input file raises `WorkbenchError` whose message names the
file and the reason, never a traceback from deep inside a decoder.
"""

from __future__ import annotations

import io
import numbers
import os
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
import soxr

from . import specs
from .atomic import atomic_write_bytes
from .budgets import DECODED_SAMPLES
from .errors import WorkbenchError

#: Shortest recording worth analysing: one window of the largest loss FFT (2048 at 44.1 kHz).
MIN_DURATION_S = 0.05
#: Peak below which a recording is treated as silent (-120 dBFS).
SILENCE_PEAK = 1e-6
#: Peak above which a recording is refused as corrupt or mis-scaled (+80 dBFS, full scale
#: being 1): no real recording is this loud, and squaring such samples in float32 overflows.
MAX_PEAK = 1e4

Subtype = Literal["PCM_16", "PCM_24", "FLOAT"]

#: File suffixes the workbench reads (soundfile: WAV, FLAC, OGG/Vorbis, MP3).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def _describe(source) -> str:
    return str(source) if isinstance(source, (str, os.PathLike)) else getattr(source, "name", "audio")


def _check_path(path) -> str:
    name = _describe(path)
    if isinstance(path, (str, os.PathLike)):
        if not Path(path).exists():
            raise WorkbenchError(f"{name}: no such file")
        if Path(path).is_dir():
            raise WorkbenchError(f"{name}: is a folder, not an audio file")
        if Path(path).stat().st_size == 0:
            raise WorkbenchError(f"{name}: the file is empty (0 bytes)")
    return name


def check_decoded_size(info, name: str) -> None:
    """Refuse a file whose decoded samples (frames x channels) are over `budgets.DECODED_SAMPLES`.

    Call it with the header before decoding, so an oversized file costs no memory.

    Args:
        info: ``soundfile.info(...)`` or an open ``soundfile.SoundFile`` (``frames``,
            ``channels``, ``samplerate``).
        name: The file, for the message.

    Raises:
        WorkbenchError: names the file, its duration (s) and channels, and the limit.
    """
    frames, channels, rate = int(info.frames), int(info.channels), float(info.samplerate)
    duration = f"{frames / rate:.1f} s" if rate > 0 else f"{frames} frames"
    DECODED_SAMPLES.check(frames * channels, what=f"{name} ({duration}, {channels} channel(s))",
                          hint="trim the recording or pick one channel before loading it")


_DECODE_ERRORS = (sf.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError, MemoryError)


def _unreadable(name: str, err: Exception) -> WorkbenchError:
    return WorkbenchError(f"{name}: not a readable audio file ({str(err).strip() or 'unknown format'})")


def _read(path, name: str) -> tuple[np.ndarray, int, dict]:
    """(samples (n_frames, n_channels) float32, rate (Hz), header facts); the size is checked
    from the header before anything is decoded, and no more frames than it gives are read."""
    try:
        f = sf.SoundFile(path)
    except _DECODE_ERRORS as err:
        raise _unreadable(name, err) from None
    with f:
        check_decoded_size(f, name)
        try:
            data = f.read(max(0, int(f.frames)), dtype="float32", always_2d=True)
        except _DECODE_ERRORS as err:
            raise _unreadable(name, err) from None
        header = {"channels": f.channels, "format": f"{f.format}/{f.subtype}"}
        rate = int(f.samplerate)
    if data.shape[0] == 0:
        raise WorkbenchError(f"{name}: the file holds no audio samples")
    return data, rate, header


def check_audio(audio: np.ndarray, sample_rate: float, *, name: str = "audio") -> np.ndarray:
    """Validate a mono signal; returns it as contiguous float32.

    Raises:
        WorkbenchError: empty, non-finite samples, all zeros, a peak over `MAX_PEAK`, too
            short, or an absurd sample rate; the message starts with ``name``.
    """
    if not (specs.MIN_LOAD_SAMPLE_RATE <= float(sample_rate) <= specs.MAX_LOAD_SAMPLE_RATE):
        raise WorkbenchError(f"{name}: sample rate {sample_rate} Hz is outside "
                             f"[{specs.MIN_LOAD_SAMPLE_RATE}, {specs.MAX_LOAD_SAMPLE_RATE}] Hz")
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise WorkbenchError(f"{name}: expected a mono signal (n_samples,), got shape {audio.shape}")
    if audio.size == 0:
        raise WorkbenchError(f"{name}: the file holds no audio samples")
    if not np.all(np.isfinite(audio)):
        bad = int(np.count_nonzero(~np.isfinite(audio)))
        raise WorkbenchError(f"{name}: {bad} samples are NaN or infinite")
    if audio.size < MIN_DURATION_S * sample_rate:
        raise WorkbenchError(f"{name}: too short to analyse ({audio.size / sample_rate * 1e3:.1f} ms; "
                             f"at least {MIN_DURATION_S * 1e3:.0f} ms needed)")
    peak = float(np.max(np.abs(audio)))
    if peak < SILENCE_PEAK:
        raise WorkbenchError(f"{name}: the recording is silent (all samples below -120 dBFS)")
    if peak > MAX_PEAK:
        raise WorkbenchError(f"{name}: the samples peak at {peak:.3g} ({20 * np.log10(peak):.0f} dBFS, full scale "
                             f"is 1); refusing levels above {20 * np.log10(MAX_PEAK):.0f} dBFS as corrupt or "
                             "mis-scaled")
    return np.ascontiguousarray(audio, dtype=np.float32)


def load_audio(
    path,
    *,
    sample_rate: int | None = None,
    channel: int | None = None,
) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32.

    Args:
        path: A WAV/FLAC/OGG/MP3 file (path, or a binary file-like object with ``.name``).
        sample_rate: Resample to this rate (soxr, high quality); default keeps the file's.
        channel: Pick one channel (0-based); default mixes all channels down.

    Returns:
        (audio (n_samples,) float32, sample_rate).

    Raises:
        WorkbenchError: missing file, not audio, empty, silent, NaN/inf samples, bad
            channel, absurd sample rate, too short to analyse.
    """
    name = _check_path(path)
    if channel is not None and (isinstance(channel, bool) or not isinstance(channel, numbers.Integral)):
        raise WorkbenchError(f"channel: expected a whole channel number (0-based) or None, got {channel!r}")
    if sample_rate is not None and (isinstance(sample_rate, bool) or not isinstance(sample_rate, numbers.Real)
                                    or not np.isfinite(sample_rate)):
        raise WorkbenchError(f"sample_rate: expected a number of Hz or None, got {sample_rate!r}")
    data, file_rate, _ = _read(path, name)
    if channel is None:
        mono = data.mean(axis=1)
    elif not (0 <= channel < data.shape[1]):
        raise WorkbenchError(f"{name}: channel {channel} does not exist (the file has {data.shape[1]})")
    else:
        mono = data[:, channel]
    mono = check_audio(mono, file_rate, name=name)
    if sample_rate is not None and int(sample_rate) != file_rate:
        if not (specs.MIN_LOAD_SAMPLE_RATE <= sample_rate <= specs.MAX_LOAD_SAMPLE_RATE):
            raise WorkbenchError(f"sample_rate: {sample_rate} Hz is outside "
                                 f"[{specs.MIN_LOAD_SAMPLE_RATE}, {specs.MAX_LOAD_SAMPLE_RATE}] Hz")
        mono = resample(mono, file_rate, int(sample_rate))
        file_rate = int(sample_rate)
    return mono, int(file_rate)


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, hex (a preset's provenance; the library's fit keys)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def audio_info(path) -> dict:
    """Sample rate, duration (s), channels, peak and RMS (dBFS) of an audio file.

    Raises:
        WorkbenchError: missing, not audio, over the decoded-size budget, no samples, or
            NaN/infinite samples (the message names the file).
    """
    name = _check_path(path)
    data, rate, info = _read(path, name)
    if rate <= 0:
        raise WorkbenchError(f"{name}: the header gives a sample rate of {rate} Hz")
    if not np.all(np.isfinite(data)):
        bad = int(np.count_nonzero(~np.isfinite(data)))
        raise WorkbenchError(f"{name}: {bad} samples are NaN or infinite")
    peak = float(np.max(np.abs(data)))
    rms = float(np.sqrt(np.mean(np.square(data, dtype=np.float64))))
    db = lambda v: 20 * np.log10(v) if v > 0 else -np.inf  # noqa: E731
    return {"file": name, "sample_rate": rate, "duration_s": data.shape[0] / rate, **info,
            "peak_dbfs": db(peak), "rms_dbfs": db(rms)}


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """High-quality resampling (soxr VHQ) of a mono signal."""
    return soxr.resample(audio, from_rate, to_rate, quality="VHQ").astype(np.float32)


def encode_wav(audio: np.ndarray, sample_rate: int, *, subtype: Subtype = "PCM_16") -> bytes:
    """WAV bytes of a mono signal (for downloads and players)."""
    buf = io.BytesIO()
    sf.write(buf, np.asarray(audio, dtype=np.float32), int(sample_rate), format="WAV", subtype=subtype)
    return buf.getvalue()


def save_audio(path, audio: np.ndarray, sample_rate: int, *, subtype: Subtype = "PCM_16") -> Path:
    """Write a mono signal atomically. The format follows the suffix (.wav, .flac, .ogg).

    Args:
        subtype: ``PCM_16``, ``PCM_24`` or ``FLOAT`` (WAV); FLAC takes PCM only.
    """
    path = Path(path)
    fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}.get(path.suffix.lower())
    if fmt is None:
        raise WorkbenchError(f"{path}: unsupported output format (use .wav, .flac or .ogg)")
    if subtype not in ("PCM_16", "PCM_24", "FLOAT"):
        raise WorkbenchError(f"subtype: {subtype!r} is not one of PCM_16, PCM_24, FLOAT")
    audio = np.asarray(audio, dtype=np.float32)
    if fmt == "OGG":
        subtype = "VORBIS"
    elif fmt == "FLAC" and subtype == "FLOAT":
        subtype = "PCM_24"
    buf = io.BytesIO()
    sf.write(buf, audio, int(sample_rate), format=fmt, subtype=subtype)
    return atomic_write_bytes(path, buf.getvalue())
