"""Where a recording rings: the strongest decaying spectral peaks after a strike.

The yardstick of a fit's parameters (issue "fits that are physically right"): a
designer expects a mode wherever the object audibly rings. `ringing_peaks` finds those
places independently of the fitter, and `ring_recovery` counts how many of them a
preset has a mode at. Definition (used by ``bench/fit.py`` and the tests):

* the spectrum of the ``window_s`` after the strike (Hann, zero-padded) against the
  background spectrum of the file's quietest ``quiet_s`` (Welch, same normalisation:
  power spectral density, so a line's level is comparable to the noise's);
* peaks above ``min_freq_hz`` that stand ``min_snr_db`` above the background at the
  same frequency, ``min_prominence_db`` above their valleys, within ``range_db`` of the
  strongest peak (further down they are masked: the ripple on a loud ring's skirts
  over a near-silent background is not a ring), and decay: their level in the
  window's last fifth is at least ``min_decay_db`` below the first fifth;
* the ``n_peaks`` strongest of them, at least ``min_spacing`` (relative) apart.

Example:
    >>> import numpy as np
    >>> sr = 16000
    >>> t = np.arange(sr) / sr
    >>> rng = np.random.default_rng(0)
    >>> ring = np.where(t > 0.2, np.exp(-6.9 * (t - 0.2) / 0.8) * np.sin(2 * np.pi * 660 * (t - 0.2)), 0)
    >>> audio = ring + 1e-4 * rng.standard_normal(sr)
    >>> [round(float(f)) for f in ringing_peaks(audio, sr, onset_s=0.2)]
    [660]
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage
import scipy.signal

from .detect import _check_audio, detect_impacts

__all__ = ["ring_recovery", "ringing_peaks"]


def _quiet_psd(audio: np.ndarray, sample_rate: int, quiet_s: float, n_fft: int) -> np.ndarray:
    """Welch PSD (per rfft bin of ``n_fft``) of the quietest ``quiet_s`` stretch of the file."""
    n = min(len(audio), max(int(quiet_s * sample_rate), 256))
    energy = scipy.ndimage.uniform_filter1d(audio.astype(np.float64) ** 2, n, mode="nearest")
    centre = int(np.argmin(energy[n // 2: len(audio) - n // 2 + 1])) + n // 2 if len(audio) > n else n // 2
    stretch = audio[max(centre - n // 2, 0): max(centre - n // 2, 0) + n]
    seg = min(len(stretch), n_fft)
    _, psd = scipy.signal.welch(stretch, fs=sample_rate, window="hann", nperseg=seg, nfft=n_fft,
                                scaling="spectrum", detrend=False, average="median")
    # welch's "spectrum" scaling is power per bin for a unit-sum window; bring it to
    # |X|^2 / sum(w^2) (the PSD of the strike window below), and smooth over +-8 bins.
    w = scipy.signal.get_window("hann", seg)
    psd = psd * np.sum(w) ** 2 / np.sum(w**2) / 2.0
    return scipy.ndimage.median_filter(psd, size=17, mode="nearest")


def ringing_peaks(audio: np.ndarray, sample_rate: int, *, onset_s: float | None = None, window_s: float = 0.5,
                  quiet_s: float = 0.3, n_peaks: int = 5, min_freq_hz: float = 250.0, min_snr_db: float = 15.0,
                  min_prominence_db: float = 6.0, min_decay_db: float = 1.0,
                  min_spacing: float = 0.01, range_db: float = 60.0) -> np.ndarray:
    """Frequencies (Hz, loudest first) of the strongest decaying peaks after a strike.

    Args:
        audio: (n_samples,) one channel.
        sample_rate: Hz.
        onset_s: The strike (s); default: the first detected impact (else 0).
        window_s, quiet_s, n_peaks, min_freq_hz, min_snr_db, min_prominence_db,
        min_decay_db, min_spacing, range_db: as in the module docstring.

    Returns:
        (<= n_peaks,) frequencies in Hz.
    """
    audio = _check_audio(audio, sample_rate).astype(np.float64, copy=False)
    if onset_s is None:
        impacts = detect_impacts(audio, sample_rate)
        onset_s = impacts[0].time_s if impacts else 0.0
    start = int(round(onset_s * sample_rate))
    seg = audio[start: start + int(window_s * sample_rate)]
    if len(seg) < 256:
        return np.zeros(0)
    n_fft = int(2 ** np.ceil(np.log2(4 * len(seg))))
    w = scipy.signal.get_window("hann", len(seg))
    psd = np.abs(np.fft.rfft(seg * w, n_fft)) ** 2 / np.sum(w**2)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    background = _quiet_psd(audio, sample_rate, quiet_s, n_fft)
    level = 10 * np.log10(psd + 1e-300)
    peaks, _ = scipy.signal.find_peaks(level, prominence=min_prominence_db)
    peaks = peaks[(freqs[peaks] >= min_freq_hz) & (freqs[peaks] <= 0.49 * sample_rate)]
    peaks = peaks[level[peaks] >= 10 * np.log10(background[peaks] + 1e-300) + min_snr_db]
    if len(peaks):
        peaks = peaks[level[peaks] >= level[peaks].max() - range_db]
    # Decay: demodulated level in the first and last fifth of the window.
    fifth = len(seg) // 5
    t = np.arange(fifth) / sample_rate
    hann = scipy.signal.get_window("hann", fifth)

    def band_level(part: np.ndarray, f: float) -> float:
        return float(np.abs(np.sum(hann * part * np.exp(-2j * np.pi * f * t))) ** 2)

    chosen: list[float] = []
    for p in peaks[np.argsort(-level[peaks])]:
        f = float(freqs[p])
        if any(abs(f / c - 1) < min_spacing for c in chosen):
            continue
        early, late = band_level(seg[:fifth], f), band_level(seg[-fifth:], f)
        if 10 * np.log10((early + 1e-300) / (late + 1e-300)) < min_decay_db:
            continue
        chosen.append(f)
        if len(chosen) == n_peaks:
            break
    return np.array(chosen)


def ring_recovery(peaks_hz: np.ndarray, mode_freqs_hz: np.ndarray, *, tolerance: float = 0.01) -> np.ndarray:
    """(n_peaks,) bool: whether a mode lies within ``tolerance`` (relative) of each peak.

    Example:
        >>> ring_recovery(np.array([440.0, 1000.0]), np.array([442.0, 1500.0])).tolist()
        [True, False]
    """
    peaks_hz, mode_freqs_hz = np.asarray(peaks_hz, float), np.asarray(mode_freqs_hz, float)
    if len(mode_freqs_hz) == 0:
        return np.zeros(len(peaks_hz), bool)
    return np.array([np.min(np.abs(mode_freqs_hz / f - 1)) <= tolerance for f in peaks_hz], bool)
