"""Physics-prior initialisation: background noise floor and room decay from a recording.

After Su et al. (``papers/001_*.txt``, eq. 5-6): the residual environment is
exponentially decaying band-filtered noise over a stationary noise floor. Both are
measured per band here, as starting points for the fitter:

* noise floor: the power spectrum of the file's quietest stretch (where nothing rings:
  a lead-in, a pause, the tail; `noise_psd`), the median over each band's bins;
* room decay: Schroeder backward integration of each band's energy above its noise;
* an edited end (`edited_fade`): a file that ends in digital silence was cut or faded
  out by whoever edited it. The fade is read from the level's departure from a steady
  decay; the noise floor is measured before it (the faded tail is no background).

Shared with `workbench.analysis.modes`: the onset, the noise window and its spectrum.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> audio = 0.01 * rng.standard_normal(44100)
    >>> gains = estimate_noise_bands(audio, 44100, band_freqs_hz=np.array([500.0, 5000.0]), onset_s=0.5)
    >>> [round(float(g)) for g in gains]          # white noise of RMS 0.01: -40 dB in every band
    [-40, -40]
"""

from __future__ import annotations

import librosa
import numpy as np
import scipy.ndimage
import scipy.signal

from ..errors import WorkbenchError
from .detect import _check_audio, detect_impacts

__all__ = ["edited_fade", "estimate_noise_bands", "estimate_room_decay"]

#: Longest stretch after the onset that is analysed (bounds memory and time).
MAX_ANALYSIS_S = 4.0
# Noise spectra use windows of about this length.
_NOISE_WINDOW_S = 0.04
# Noise is measured on the file's quietest stretch of this length (or a quarter of the
# file, if shorter).
_QUIET_S = 0.25
_ROOM_T60_RANGE_S = (0.05, 5.0)
# A band's decay is measured only if its energy peaks this far above its noise; other
# bands get the median of the measured ones (or the default, if none is measured).
_ROOM_MIN_RANGE_DB = 15.0
_ROOM_T60_DEFAULT_S = 0.5
# A file ends in digital silence (an edit) when at least this much of its end is exact zeros.
_EDIT_SILENCE_S = 0.01
# The fade is read from the level in frames of this length, from this long after the onset.
_FADE_FRAME_S = 0.05
_FADE_SKIP_S = 0.1
# A fade is kept when it explains the level this much better (ratio of mean squared
# misfits, dB^2) than a steady decay cut at the silence; else the end is a plain cut.
_FADE_GAIN = 4.0
# A band still rings (is no background) when its level falls this far across the stretch.
_RING_DROP_DB = 3.0
# Bands below this (dB) hold nothing (digital silence, above a codec's low-pass).
_EMPTY_BAND_DB = -120.0


def onset_index(audio: np.ndarray, sample_rate: int, onset_s: float | None) -> int:
    """Onset in samples: given, else the first detected impact, else 0."""
    if onset_s is None:
        impacts = detect_impacts(audio, sample_rate)
        onset_s = impacts[0].time_s if impacts else 0.0
    if not 0.0 <= onset_s < len(audio) / sample_rate:
        raise WorkbenchError(f"onset_s must be within the audio (0..{len(audio) / sample_rate:.3f} s), got {onset_s}")
    return int(round(onset_s * sample_rate))


def noise_window(sample_rate: int) -> int:
    return int(2 ** np.round(np.log2(_NOISE_WINDOW_S * sample_rate)))


def noise_psd(audio: np.ndarray, sample_rate: int, n_fft: int) -> np.ndarray:
    """Background noise power per rfft bin, in units where white noise of variance s^2 gives s^2.

    Background noise is stationary: it is measured where nothing rings, on the file's
    quietest frames, ``_QUIET_S`` of them in all (a quarter of the file's frames when it
    is shorter than four times that), wherever they are: a quiet lead-in before the first
    strike, pauses between strikes, the tail after the ring has died. A file that fades to digital silence
    has no background noise: there the floor is (near) zero, and the modes' own
    least-squares test decides. The ring of an earlier strike is never taken for noise,
    as it was when the part before the fitted strike was used.
    """
    hop = n_fft // 2
    window = scipy.signal.get_window("hann", n_fft)
    region = np.asarray(audio, np.float64)
    if len(region) < n_fft:
        region = np.pad(region, (0, n_fft - len(region)))
    power = np.abs(librosa.stft(region, n_fft=n_fft, hop_length=hop, center=False, window=window)) ** 2
    n_quiet = max(1, min(int(_QUIET_S * sample_rate / hop), power.shape[1] // 4))
    quiet = np.argsort(power.sum(0))[:n_quiet]
    if n_quiet < 3:
        return power[:, quiet].mean(axis=1) / np.sum(window**2)
    # The median per bin over the quiet frames (a few of which may still hold a ring's
    # tail, when the lead-in is short), scaled to the mean: a noise bin's power is
    # exponentially distributed, whose median is ln 2 times its mean.
    return np.median(power[:, quiet], axis=1) / np.log(2.0) / np.sum(window**2)


def edited_fade(audio: np.ndarray, sample_rate: int, *, onset_s: float = 0.0) -> tuple[float, float] | None:
    """The fade-out of a file that ends in digital silence, as (start_s, end_s), or None.

    ``end_s`` is where the exact zeros begin. Frame levels (dB) from ``_FADE_SKIP_S`` after
    the onset are fitted by a steady decay (a line) plus the level of a linear fade (20
    log10 of the gain) for each candidate start; the best start wins if it fits
    ``_FADE_GAIN`` times better than no fade, else the end is a cut (start = end).

    Example:
        >>> import numpy as np
        >>> sr = 8000
        >>> t = np.arange(4 * sr) / sr
        >>> ring = np.exp(-t / 2.0) * np.sin(2 * np.pi * 440 * t) * np.clip((3.0 - t) / 1.5, 0, 1)
        >>> [round(v, 1) for v in edited_fade(ring, sr)]
        [1.5, 3.0]
    """
    audio = _check_audio(audio, sample_rate)
    loud = np.flatnonzero(audio != 0)
    if len(loud) == 0 or len(audio) - (loud[-1] + 1) < _EDIT_SILENCE_S * sample_rate:
        return None
    end = int(loud[-1]) + 1
    end_s, hop = end / sample_rate, max(1, int(_FADE_FRAME_S * sample_rate))
    starts = np.arange(int((onset_s + _FADE_SKIP_S) * sample_rate), end - hop, hop)
    if len(starts) < 8:
        return end_s, end_s
    frames = np.asarray(audio, np.float64)[starts[:, None] + np.arange(hop)]
    level = 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-30)
    t = (starts + hop / 2) / sample_rate
    line = np.stack([np.ones_like(t), t], axis=1)

    def misfit(length: float) -> float:
        fade_db = 20.0 * np.log10(np.clip((end_s - t) / length, 1e-6, 1.0)) if length > 0 else 0.0
        residual = level - fade_db
        return float(np.mean((residual - line @ np.linalg.lstsq(line, residual, rcond=None)[0]) ** 2))

    lengths = np.linspace(0.0, end_s - t[0], 200)[1:]
    errors = np.array([misfit(length) for length in lengths])
    best = int(np.argmin(errors))
    if errors[best] * _FADE_GAIN > misfit(0.0):
        return end_s, end_s
    return end_s - float(lengths[best]), end_s


def _band_edges(band_freqs_hz: np.ndarray, sample_rate: int) -> np.ndarray:
    centres = np.asarray(band_freqs_hz, dtype=np.float64)
    if centres.ndim != 1 or len(centres) == 0 or np.any(centres <= 0) or np.any(np.diff(centres) <= 0):
        raise WorkbenchError(f"band_freqs_hz must be positive and increasing, got {band_freqs_hz}")
    return np.concatenate([[0.0], np.sqrt(centres[1:] * centres[:-1]), [sample_rate / 2.0]])


def _band_index(n_fft: int, sample_rate: int, band_freqs_hz: np.ndarray) -> np.ndarray:
    """Band of every rfft bin (edges at geometric means between centres)."""
    edges = _band_edges(band_freqs_hz, sample_rate)
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    return np.clip(np.searchsorted(edges, bins, side="right") - 1, 0, len(edges) - 2)



def estimate_noise_bands(
    audio: np.ndarray, sample_rate: int, *, band_freqs_hz: np.ndarray, onset_s: float | None = None,
    stationary: bool = False,
) -> np.ndarray:
    """Stationary background noise level per band.

    Measured on the file's quietest 0.25 s (`noise_psd`). Within a band the median over
    bins is used, so mode lines still ringing there do not raise the level. With
    ``stationary`` (for a stretch where the sound never dies away, such as the part of a
    faded file before its fade), a band whose level falls by ``_RING_DROP_DB`` or more
    from the second to the last quarter after the onset still rings: it takes the level of
    the nearest band that does not (in log frequency, among bands above -120 dB: an empty
    band above a codec's low-pass is no noise floor), or keeps its own if none qualifies.

    Args:
        audio: (n_samples,) one channel.
        sample_rate: Sample rate in Hz.
        band_freqs_hz: (n_bands,) increasing band centre frequencies in Hz; band edges
            lie at the geometric means of neighbouring centres (and at 0 and Nyquist).
        onset_s: Onset of the impact in seconds; default: the first detected impact.

    Returns:
        (n_bands,) gains in dB: if every band has gain g, the noise is white with
        RMS 10**(g / 20). Bands that hold no FFT bin get the gain of the nearest bin.

    Raises:
        WorkbenchError: On a bad argument.
    """
    audio = _check_audio(audio, sample_rate).astype(np.float64, copy=False)
    band_freqs_hz = np.asarray(band_freqs_hz, dtype=np.float64)
    n_fft = noise_window(sample_rate)
    band = _band_index(n_fft, sample_rate, band_freqs_hz)
    onset_index(audio, sample_rate, onset_s)        # checks onset_s
    noise = noise_psd(audio, sample_rate, n_fft)
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    gains = np.empty(len(band_freqs_hz))
    for b, centre in enumerate(band_freqs_hz):
        members = noise[band == b] if np.any(band == b) else noise[[np.argmin(np.abs(bins - centre))]]
        gains[b] = 10.0 * np.log10(np.median(members) + 1e-30)
    if stationary:
        rings = _ringing_bands(audio[onset_index(audio, sample_rate, onset_s):], sample_rate, band, len(gains), n_fft)
        steady = np.flatnonzero(~rings & (gains > _EMPTY_BAND_DB))
        if rings.any() and len(steady):
            nearest = steady[np.argmin(np.abs(np.log(band_freqs_hz[:, None] / band_freqs_hz[steady])), axis=1)]
            gains = np.where(rings, np.minimum(gains, gains[nearest]), gains)
    return gains


def _ringing_bands(after: np.ndarray, sample_rate: int, band: np.ndarray, n_bands: int, n_fft: int) -> np.ndarray:
    """(n_bands,) bool: the band's level falls ``_RING_DROP_DB`` or more from the second to the
    last quarter of ``after`` (the sound after the onset; the first quarter holds the short
    modes, which have died into the noise by then)."""
    if len(after) < 8 * n_fft:
        return np.zeros(n_bands, bool)
    power = np.abs(librosa.stft(after, n_fft=n_fft, hop_length=n_fft // 2, center=False)) ** 2
    quarter = max(1, power.shape[1] // 4)
    first, last = power[:, quarter:2 * quarter].mean(axis=1), power[:, -quarter:].mean(axis=1)
    drop = np.zeros(n_bands, bool)
    for b in range(n_bands):
        if np.any(band == b):
            drop[b] = 10.0 * np.log10((first[band == b].sum() + 1e-30) / (last[band == b].sum() + 1e-30)) >= _RING_DROP_DB
    return drop


def estimate_room_decay(
    audio: np.ndarray, sample_rate: int, *, band_freqs_hz: np.ndarray, onset_s: float | None = None
) -> np.ndarray:
    """Rough 60 dB decay time per band, from Schroeder backward integration.

    Per band, the frame energy from its peak after the onset, minus the noise energy,
    is integrated backwards down to where the band meets the noise; T60 comes from
    the slope of that curve between -5 dB and -25 dB (or 5 dB above the noise, if
    that is higher). Bands that never rise 15 dB above their noise get the median of
    the others (0.5 s if there are none). This is the decay of everything that rings
    in the band (modes and room), a starting point for the fitter only.

    Args:
        audio: (n_samples,) one channel.
        sample_rate: Sample rate in Hz.
        band_freqs_hz: (n_bands,) increasing band centre frequencies in Hz (edges as
            in :func:`estimate_noise_bands`).
        onset_s: Onset of the impact in seconds; default: the first detected impact.

    Returns:
        (n_bands,) T60 in seconds, in [0.05, 5].

    Raises:
        WorkbenchError: On a bad argument.
    """
    audio = _check_audio(audio, sample_rate).astype(np.float64, copy=False)
    band_freqs_hz = np.asarray(band_freqs_hz, dtype=np.float64)
    n_fft = noise_window(sample_rate)
    hop = n_fft // 4
    band = _band_index(n_fft, sample_rate, band_freqs_hz)
    onset = onset_index(audio, sample_rate, onset_s)
    noise = noise_psd(audio, sample_rate, n_fft)
    segment = audio[onset : onset + int(MAX_ANALYSIS_S * sample_rate)]
    segment = np.pad(segment, (0, max(0, n_fft - len(segment))))
    window = scipy.signal.get_window("hann", n_fft)
    power = np.abs(librosa.stft(segment, n_fft=n_fft, hop_length=hop, center=False, window=window)) ** 2
    t60 = np.full(len(band_freqs_hz), np.nan)
    for b in range(len(band_freqs_hz)):
        if not np.any(band == b):
            continue
        energy = power[band == b].sum(0)
        noise_energy = noise[band == b].sum() * np.sum(window**2) + 1e-300
        range_db = 10.0 * np.log10(energy.max() / noise_energy)
        if range_db < _ROOM_MIN_RANGE_DB:
            continue  # nothing decays clearly above the noise in this band
        # Integrate only down to where the band meets the noise (3 dB above it).
        peak = int(np.argmax(energy))
        quiet = np.flatnonzero(energy[peak:] < 2.0 * noise_energy)
        stop = peak + (int(quiet[0]) if len(quiet) else len(energy) - peak)
        schroeder = np.cumsum(np.maximum(energy[peak:stop] - noise_energy, 0.0)[::-1])[::-1]
        curve_db = 10.0 * np.log10(schroeder / schroeder[0] + 1e-300)
        use = (curve_db <= -5.0) & (curve_db >= max(-25.0, 5.0 - range_db))
        if np.count_nonzero(use) < 2:
            continue
        slope = np.polyfit(np.flatnonzero(use) * hop / sample_rate, curve_db[use], 1)[0]
        t60[b] = -60.0 / slope if slope < 0 else _ROOM_T60_RANGE_S[1]
    valid = np.isfinite(t60)
    t60[~valid] = np.median(t60[valid]) if np.any(valid) else _ROOM_T60_DEFAULT_S
    return np.clip(t60, *_ROOM_T60_RANGE_S)
