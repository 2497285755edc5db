"""The fitter's inputs: named clips, the window of each that is fitted, long-file segments.

* `Clip` - one mono recording with its name (presets, labels and errors use the name).
* `as_clips` - paths, ``(audio, sample_rate)`` tuples and `Clip` objects to clips at
  the fit's sample rate.
* `clipping_warning` - a note for recordings stuck at full scale.
* `fit_window` - the strikes of a clip and the window that holds them and their ring.
* `is_long` / `segment_long` - a file longer than ``MAX_CLIP_S`` becomes per-strike
  segments (fitted jointly, bounded memory).

Example:
    >>> import numpy as np
    >>> t = np.arange(44100) / 44100
    >>> ring = np.where(t >= 0.1, np.sin(2 * np.pi * 800 * t) * np.exp(-(t - 0.1) * 8), 0.0)
    >>> [clip] = as_clips([Clip(name="bell", audio=ring, sample_rate=44100)], sample_rate=None, channel=None)
    >>> clip.name, clip.sample_rate, clip.audio.dtype
    ('bell', 44100, dtype('float32'))
    >>> win = fit_window(clip, sensitivity=0.5)
    >>> len(win.impacts), round(win.start / 44100, 2)
    (1, 0.05)
"""

from __future__ import annotations

import dataclasses
import numbers
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import specs
from ..analysis.detect import Impact, detect_impacts, segment_impacts
from ..audio import check_audio, file_sha256, load_audio, resample
from ..errors import WorkbenchError
from ..losses import DEFAULT_FFT_SIZES

# Lead-in before the first strike kept in the fitted window (background noise).
PRE_ONSET_S = 0.05
# The fitted window ends this long after the ring has sunk into the noise floor ...
TAIL_MARGIN_S = 0.15
# ... and is at least / at most this long after the last strike.
MIN_RING_S, MAX_RING_S = 0.3, 2.5
# Files longer than this are cut into per-strike segments (bounded memory) ...
MAX_CLIP_S = 12.0
# ... keeping at most this many (the loudest) strikes.
MAX_SEGMENTS = 12
# A window needs at least the spectral loss's longest FFT.
MIN_WINDOW_SAMPLES = max(DEFAULT_FFT_SIZES)
# Fit at this rate when a recording's own rate is outside `specs.SAMPLE_RATE`.
FALLBACK_SAMPLE_RATE = 44100


@dataclass
class Clip:
    """A mono recording to fit.

    Attributes:
        name: What presets, labels and error messages call it (a file's stem for paths,
            ``clip0``, ``clip1``... for ``(audio, sample_rate)`` tuples).
        audio: (n_samples,) float32 samples.
        sample_rate: Hz.
        path: The file it was read from, if any (labels, provenance).
        sha256: The file's hash (provenance).
        offset_s: Where this clip starts in its source file (segments of a long file).
    """

    name: str
    audio: np.ndarray
    sample_rate: int
    path: str | None = None
    sha256: str | None = None
    offset_s: float = 0.0


_EXPECTED = "a file path, an (audio, sample_rate) tuple or a Clip"


def _is_rate(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_pair(item) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and (
        isinstance(item[0], np.ndarray) or (_is_rate(item[1]) and not isinstance(item[0], (str, os.PathLike, Clip))))


def _mono(audio, name: str) -> np.ndarray:
    """``audio`` as a (n_samples,) float32 array; refuses several channels and non-numbers."""
    try:
        array = np.asarray(audio, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise WorkbenchError(f"{name}: expected an array of samples ({err})") from None
    if array.ndim == 2 and 1 in array.shape:       # (n, 1) or (1, n): one channel, unambiguous
        array = array.reshape(-1)
    if array.ndim != 1:
        pick = "audio[0]" if array.ndim == 2 and array.shape[0] < array.shape[1] else "audio[:, 0]"
        raise WorkbenchError(f"{name}: expected a mono signal, got audio of shape {array.shape}; pick one "
                             f"channel (e.g. {pick}) or pass each channel as its own clip")
    return array


def _rate(value, name: str) -> int:
    """A sample rate given with audio, as an int (Hz); refuses non-numbers and fractions."""
    if not _is_rate(value) or not np.isfinite(value) or int(value) != value:
        raise WorkbenchError(f"{name}: the sample rate must be a whole number of Hz, got {value!r}")
    return int(value)


def _as_clip(item, i: int, *, channel: int | None) -> Clip:
    if isinstance(item, (str, os.PathLike)):
        audio, sr = load_audio(item, channel=channel)
        return Clip(Path(item).stem, audio, sr, str(item), file_sha256(str(item)))
    if isinstance(item, Clip):
        if not isinstance(item.name, str) or not item.name.strip():
            raise WorkbenchError(f"audio_or_paths[{i}]: a Clip needs a non-empty name, got {item.name!r}")
        rate = _rate(item.sample_rate, item.name)
        audio = check_audio(_mono(item.audio, item.name), rate, name=item.name)
        return dataclasses.replace(item, audio=audio, sample_rate=rate)
    if isinstance(item, tuple) and len(item) == 2:
        name = f"clip{i}"
        rate = _rate(item[1], name)
        return Clip(name, check_audio(_mono(item[0], name), rate, name=name), rate)
    if isinstance(item, np.ndarray):
        raise WorkbenchError(f"audio_or_paths[{i}]: a bare array has no sample rate; pass (audio, sample_rate)")
    raise WorkbenchError(f"audio_or_paths[{i}]: expected {_EXPECTED}, got {type(item).__name__}")


def as_clips(audio_or_paths, *, sample_rate: int | None, channel: int | None) -> list[Clip]:
    """Clips at the fit's rate: ``sample_rate``, else each recording's own (44100 Hz if
    that is outside `specs.SAMPLE_RATE`). `Clip` inputs are copied, never changed.

    Raises:
        WorkbenchError: nothing given, not a path/pair/Clip (or a list of them), a
            multichannel array, an unreadable/silent input (named), a bad ``sample_rate``.
    """
    items = audio_or_paths
    if sample_rate is not None and not _is_rate(sample_rate):
        raise WorkbenchError(f"sample_rate: expected a number of Hz or None, got {sample_rate!r}")
    if isinstance(items, np.ndarray):
        raise WorkbenchError("audio_or_paths: a bare array has no sample rate; pass (audio, sample_rate)")
    if isinstance(items, (str, os.PathLike, Clip)) or _is_pair(items):
        items = [items]
    if isinstance(items, (bytes, dict)) or not isinstance(items, Iterable):
        raise WorkbenchError(f"audio_or_paths: expected {_EXPECTED}, or a list of them, got {type(items).__name__}")
    clips = [_as_clip(item, i, channel=channel) for i, item in enumerate(items)]
    if not clips:
        raise WorkbenchError("audio_or_paths: no recordings given")
    for c in clips:
        own = c.sample_rate if specs.SAMPLE_RATE.contains(c.sample_rate) else FALLBACK_SAMPLE_RATE
        target_rate = sample_rate or own
        if not specs.SAMPLE_RATE.contains(target_rate):
            raise WorkbenchError(f"sample_rate: {target_rate} Hz is outside [16000, 96000] Hz")
        if target_rate != c.sample_rate:
            c.audio, c.sample_rate = resample(c.audio, c.sample_rate, target_rate), target_rate
    return clips


def clipping_warning(clip: Clip) -> str | None:
    """A note naming ``clip`` when it has runs of samples stuck at full scale, else None."""
    peak = float(np.max(np.abs(clip.audio)))
    at_peak = np.abs(clip.audio) >= 0.999 * peak
    runs = np.count_nonzero(at_peak[1:] & at_peak[:-1])
    if peak >= 0.98 and runs >= 3:
        return (f"{clip.name}: the recording looks clipped ({runs + 1} samples stuck at full scale); "
                "the fit proceeds but loud strikes are underestimated")
    return None


def _ring_end(audio: np.ndarray, sample_rate: int, after: int) -> int:
    """Sample where the ring after sample ``after`` has first sunk to the noise floor (+ margin)."""
    hop = max(1, int(0.01 * sample_rate))
    frames = np.lib.stride_tricks.sliding_window_view(audio, hop)[::hop]
    power = np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-20
    level = 10 * np.log10(np.convolve(power, np.ones(5) / 5, mode="same"))   # 50 ms smoothing
    floor = np.percentile(level, 10)
    start = after // hop + 2
    below = np.flatnonzero(level[start:] < floor + 6.0)
    end = (start + below[0]) * hop if len(below) else len(audio)
    return int(end + TAIL_MARGIN_S * sample_rate)


@dataclass
class Window:
    """The part of a clip that is fitted: samples ``start:start + length``."""

    clip: Clip
    start: int
    impacts: list[Impact]       # detected strikes, times from the start of the clip
    length: int = 0


def _detect(clip: Clip, sensitivity: float) -> list[Impact]:
    impacts = detect_impacts(clip.audio, clip.sample_rate, sensitivity=sensitivity)
    if not impacts:
        raise WorkbenchError(f"{clip.name}: no impact detected (try a higher sensitivity than {sensitivity})")
    return impacts


def fit_window(clip: Clip, sensitivity: float) -> Window:
    """Detect the strikes of ``clip`` and cut the window that holds them and their ring.

    Raises:
        WorkbenchError: no strike found, or the window is too short for the spectral loss.
    """
    sr = clip.sample_rate
    impacts = _detect(clip, sensitivity)
    first, last = impacts[0].time_s, impacts[-1].time_s
    start = max(0, int((first - PRE_ONSET_S) * sr))
    last_i = int(last * sr)
    end = min(len(clip.audio), max(last_i + int(MIN_RING_S * sr),
                                   min(_ring_end(clip.audio, sr, last_i), last_i + int(MAX_RING_S * sr))))
    if end - start < MIN_WINDOW_SAMPLES:
        raise WorkbenchError(f"{clip.name}: too short to fit ({(end - start) / sr * 1e3:.0f} ms after the "
                             f"strike; at least {MIN_WINDOW_SAMPLES} samples are needed)")
    return Window(clip, start, impacts, end - start)


def is_long(clip: Clip) -> bool:
    """Whether ``clip`` is longer than ``MAX_CLIP_S`` (then it is fitted by segments)."""
    return len(clip.audio) > MAX_CLIP_S * clip.sample_rate


def segment_long(clip: Clip, sensitivity: float) -> list[Clip]:
    """The loudest ``MAX_SEGMENTS`` strikes of a long clip as clips ``<name>#<k>`` in time order.

    Raises:
        WorkbenchError: no strike found, or every strike too close to the next to fit.
    """
    sr = clip.sample_rate
    segments = segment_impacts(clip.audio, sr, _detect(clip, sensitivity), pre_s=PRE_ONSET_S, max_len_s=MAX_RING_S)
    segments = sorted(segments, key=lambda s: -s.impact.peak_db)[:MAX_SEGMENTS]
    segments.sort(key=lambda s: s.start_s)
    out = []
    for k, seg in enumerate(segments):
        part = clip.audio[seg.samples(sr)]
        if len(part) < MIN_WINDOW_SAMPLES:
            continue
        out.append(Clip(f"{clip.name}#{k}", part, sr, clip.path, clip.sha256, offset_s=seg.start_s))
    if not out:
        raise WorkbenchError(f"{clip.name}: the strikes are too close together to fit")
    return out
