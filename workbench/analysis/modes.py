"""Physics-prior initialisation: a recording's modes and its contact duration.

After Su et al. (``papers/001_*.txt``, Sec. 3.1), who take each mode's frequency from
an FFT peak, its power from the first spectrogram frame and its decay from the time
it takes to reach silence. Here, more precisely:

* frequency: peaks of a long, zero-padded FFT of the post-onset sound that stand clear
  of the noise floor and of the local floor around them, refined by a parabola
  through the log-magnitude (a small fraction of a bin);
* T60: slope of each mode's narrow-band level over time (demodulation at the mode
  frequency, with a window long enough to separate the nearest neighbour), fitted on
  the early decay above the noise floor; for wide (short) peaks the peak width, when
  that is clearly shorter, since a louder neighbour's leakage slows a decay track;
* amplitude: joint linear least squares of all damped sinusoids against the signal, its
  first 4 ms weighed up from 0 (the contact's force pulse and click are not rings), which
  splits overlapping modes and rejects noise peaks (their fit is at noise level);
* up to two passes on the residual of the fit (after the contact) find weaker modes next
  to strong ones;
* short modes (broad peaks, whose FFT maxima their neighbours' skirts pull off) are then
  refined in the time domain with the modes they overlap (`workbench.analysis.sinusoids`).

The background noise and the room decay are estimated in `workbench.analysis.background`.
Amplitudes follow the renderer: mode k rings as A_k exp(-6.908 t / T60_k) sin(2 pi f_k t).
"""

from __future__ import annotations

import dataclasses

import librosa
import numpy as np
import scipy.ndimage
import scipy.signal

from ..errors import WorkbenchError
from ..specs import T60_DECAY  # 3 ln 10: exp(-T60_DECAY t / t60) falls 60 dB at t60
from .background import MAX_ANALYSIS_S, noise_psd, noise_window, onset_index
from .detect import _check_audio
from .rings import ringing_peaks
from .sinusoids import T60_RANGE_S, basis_blocks, least_squares, refine_short

__all__ = ["ModeEstimate", "estimate_contact_s", "estimate_modes"]

# The long FFT is zero-padded to at least this many times the segment length, so
# that parabolic interpolation of a peak has a small bias.
_ZERO_PAD = 4
# A spectral peak is a candidate mode when it stands this far above the expected noise
# level (|X|^2 of Gaussian noise exceeds 20x its mean with probability e^-20 ~ 2e-9),
_MODE_SNR_DB = 13.0
# this far above the valleys towards its neighbours (rejects sidelobes and shoulders),
_PROMINENCE_DB = 6.0
# and this far above the median level within +-_LOCAL_SPAN_HZ (or 20 half-widths of the
# peak, if wider), which holds the skirts of strong modes on which noise makes peaks.
_LOCAL_PROMINENCE_DB = 6.0
_LOCAL_SPAN_HZ = 50.0
# Half-widths are measured up to this far from the peak (T60 down to ~11 ms).
_MAX_HALF_WIDTH_HZ = 100.0
# A fitted mode is kept when its least-squares SNR is at least this: higher than the
# spectral test, since candidates sit at spectral maxima, which biases a noise fit up.
_FIT_SNR_DB = 16.0
# Peaks at least this wide (half-power half-width, Hz; T60 <~ 0.2 s) are far wider than
# the resolution of the long FFT or any doublet it fails to split, so their width gives
# their decay when it is much shorter than the decay track's.
_WIDTH_TRUST_HZ = 5.0
# Peaks in the residual closer than this plus 1.5 half-widths to a fitted mode are taken
# as that mode's misfit, not as a new mode (3 half-widths hid short neighbours: synthetic
# resolvable modes off > 2 % 5 -> 1 of 212 with the short-mode refinement).
_RESIDUAL_GUARD_HZ = 5.0
# Decay fits use frames at least this far above the noise floor.
_FIT_FLOOR_DB = 10.0
# A ringing peak (`workbench.analysis.rings`) is a new candidate when no spectral peak
# of the long FFT lies within this fraction of it.
_RING_MATCH = 0.003
# Ringing peaks sought per requested mode.
_RINGS_PER_MODE = 1
# The least squares weigh the first this-long after the onset up from 0 (amplitudes still
# refer to the onset): during the contact (0.05-2 ms) the modes ramp up through the force
# pulse and the strike clicks, which damped sinusoids started at the onset do not model.
# Weighed fully, that misfit is most of the residual (91 % of its energy in the first 5 ms
# of a ThreeDWorld render) and hides weak modes under its flat spectrum.
_CONTACT_RAMP_S = 0.004
# The residual is searched for weaker modes from here on, at most this many times (each
# search after a joint refit with the modes found before).
_RESIDUAL_SKIP_S = 0.003
_RESIDUAL_PASSES = 2



@dataclasses.dataclass(frozen=True, eq=False)
class ModeEstimate:
    """Modes of a recording, sorted by energy (amplitude^2 x T60, descending).

    Attributes:
        freqs_hz: (n_found,) mode frequencies in Hz.
        t60_s: (n_found,) 60 dB decay times in seconds, in [1 ms, 30 s].
        amplitudes: (n_found,) linear peak amplitude of each mode at the onset, in the
            recording's units.
    """

    freqs_hz: np.ndarray
    t60_s: np.ndarray
    amplitudes: np.ndarray


def _find_peaks(segment: np.ndarray, sample_rate: int, noise: np.ndarray, noise_fft: int,
                min_freq_hz: float, max_freq_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (parabolic interpolation) and width-based T60s of modal peaks, loudest first."""
    n = len(segment)
    taper = np.cos(0.5 * np.pi * np.arange(n) / n) ** 2  # right half of a Hann window
    n_fft = int(2 ** np.ceil(np.log2(_ZERO_PAD * n)))
    spec_db = 10.0 * np.log10(np.abs(np.fft.rfft(segment * taper, n_fft)) ** 2 + 1e-300)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    # Expected noise |X|^2 for this taper: noise variance per bin times sum(taper^2).
    floor_db = 10.0 * np.log10(_noise_at(noise, noise_fft, sample_rate, freqs) * np.sum(taper**2) + 1e-300)
    peaks, _ = scipy.signal.find_peaks(spec_db, prominence=_PROMINENCE_DB, distance=max(1, n_fft // n))
    peaks = peaks[(freqs[peaks] >= min_freq_hz) & (freqs[peaks] <= max_freq_hz)]
    peaks = peaks[spec_db[peaks] >= floor_db[peaks] + _MODE_SNR_DB]
    left, centre, right = spec_db[peaks - 1], spec_db[peaks], spec_db[peaks + 1]
    shift = 0.5 * (left - right) / np.minimum(left - 2.0 * centre + right, -1e-12)
    bin_hz = sample_rate / n_fft
    # Half-power half-width: a damped sinusoid's power near its peak is a Lorentzian,
    # 1 / (d^2 + (2 pi df)^2), which is 3 dB down at df = d / (2 pi). (The taper widens
    # the peaks of slow modes.) Measured by walking down each side, which is robust to
    # the noise ripple that spoils a 3-point curvature on a finely padded spectrum.
    reach = int(_MAX_HALF_WIDTH_HZ / bin_hz)
    half_width = np.empty(len(peaks))
    local = np.empty(len(peaks))
    for k, (p, level) in enumerate(zip(peaks, centre)):
        lo, hi = spec_db[max(p - reach, 0) : p], spec_db[p + 1 : p + 1 + reach]
        below_lo, below_hi = np.flatnonzero(lo < level - 3.0), np.flatnonzero(hi < level - 3.0)
        left_bins = len(lo) - below_lo[-1] if len(below_lo) else reach
        right_bins = below_hi[0] + 1 if len(below_hi) else reach
        half_width[k] = 0.5 * (left_bins + right_bins) * bin_hz
        # Local floor: the median level within +-max(_LOCAL_SPAN_HZ, 20 half-widths; a
        # Lorentzian is 20 dB down at 10 half-widths, where the median sits). It includes
        # the skirts of strong modes and of the contact transient, on which noise makes
        # many small peaks.
        span = int(max(_LOCAL_SPAN_HZ, 20.0 * half_width[k]) / bin_hz)
        local[k] = np.median(spec_db[max(p - span, 0) : p + span + 1])
    modal = centre >= local + _LOCAL_PROMINENCE_DB
    order = np.argsort(-centre[modal])
    width_t60 = T60_DECAY / (2.0 * np.pi * half_width)
    return ((peaks + shift) * bin_hz)[modal][order], width_t60[modal][order]


def _levels_db(
    segment: np.ndarray, sample_rate: int, freqs: np.ndarray, window: int
) -> tuple[np.ndarray, int, float]:
    """Demodulated level (dB) of each frequency over time: Hann-windowed frames, hop window / 4.

    Returns (level_db of shape (n_frames, n_freqs), hop in samples, sum of squared window).
    """
    hop = max(1, window // 4)
    hann = scipy.signal.get_window("hann", window)
    phase = 2.0 * np.pi * np.outer(np.arange(window), freqs) / sample_rate
    # Two real kernels (cos, sin) rather than one complex: no complex copy of the frames.
    kernel = np.hstack([hann[:, None] * np.cos(phase), hann[:, None] * np.sin(phase)])
    frames = librosa.util.frame(segment, frame_length=window, hop_length=hop, axis=0)
    parts = frames @ kernel
    power = parts[:, : len(freqs)] ** 2 + parts[:, len(freqs) :] ** 2
    return 10.0 * np.log10(power + 1e-300), hop, float(np.sum(hann**2))


def _decay_t60(segment: np.ndarray, sample_rate: int, freqs: np.ndarray, windows: np.ndarray,
               shortest: np.ndarray, noise: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """T60 of each mode from the slope of its demodulated level over time.

    Mode k starts with ``windows[k]`` samples (long enough to separate neighbouring
    modes); the window is halved, down to ``shortest[k]``, while fewer than 4 frames lie
    ``_FIT_FLOOR_DB`` above the noise floor (``noise`` is the noise variance at each
    frequency). The slope is fitted from the loudest frame down to that floor; with
    fewer than 2 such frames even at ``shortest[k]``, ``fallback`` (the width-based
    T60) is used if it is consistent with that, else the result is NaN (not a mode).
    """
    t60 = np.asarray(fallback, dtype=np.float64).copy()
    todo = np.arange(len(freqs))
    windows = windows.copy()
    while len(todo):
        window = int(windows[todo].max())
        group = todo[windows[todo] == window]
        level_db, hop, energy = _levels_db(segment, sample_rate, freqs[group], window)
        floor_db = 10.0 * np.log10(noise[group] * energy + 1e-300) + _FIT_FLOOR_DB
        for column, k in enumerate(group):
            level = level_db[:, column]
            start = int(np.argmax(level))
            below = np.flatnonzero(level[start:] < floor_db[column])
            stop = start + (int(below[0]) if len(below) else len(level) - start)
            if stop - start < 4 and window // 2 >= shortest[k]:
                windows[k] = window // 2  # retry with a shorter window
                continue
            todo = todo[todo != k]
            if stop - start >= 2:
                slope = np.polyfit(np.arange(start, stop) * hop / sample_rate, level[start:stop], 1)[0]
                t60[k] = -60.0 / slope if slope < 0 else T60_RANGE_S[1]
            else:
                # Gone within one hop: T60 is at most this bound. A peak that is much
                # wider-than-that in time (narrow in frequency) is not a damped mode but
                # noise or the skirt of the contact transient.
                drop_db = level[start] - floor_db[column]
                bound = 60.0 * hop / sample_rate / drop_db if drop_db > 0 else 0.0
                t60[k] = min(t60[k], bound) if t60[k] <= 2.0 * bound else np.nan
    return np.clip(t60, *T60_RANGE_S)


def _candidate_modes(segment: np.ndarray, sample_rate: int, noise: np.ndarray, noise_fft: int,
                     min_freq_hz: float, max_freq_hz: float, n_max: int,
                     rings: np.ndarray = np.zeros(0)) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and T60s of the (at most n_max) loudest spectral peaks that decay like
    modes, plus the ringing peaks ``rings`` (Hz) that none of them lies near."""
    candidates, width_t60 = _find_peaks(segment, sample_rate, noise, noise_fft, min_freq_hz, max_freq_hz)
    freqs, width_t60 = candidates[:n_max], width_t60[:n_max]
    rings = np.asarray([f for f in rings if min_freq_hz <= f <= max_freq_hz
                        and (len(freqs) == 0 or np.min(np.abs(freqs / f - 1)) > _RING_MATCH)])
    if len(rings):
        # A ring the long FFT missed (a short mode smeared by the taper, or a close pair):
        # its decay comes from the track (the width fallback: a 0.5 s window's resolution).
        # (``freqs`` stays a prefix of ``candidates``: index i is the same peak in both.)
        candidates = np.concatenate([freqs, rings, candidates[len(freqs):]])
        freqs = candidates[:len(freqs) + len(rings)]
        width_t60 = np.concatenate([width_t60, np.full(len(rings), T60_DECAY / (2.0 * np.pi * 2.0))])
    # Window per mode: separates the nearest other peak by ~3 Hann bins, within
    # [~5 ms, a quarter of the segment].
    min_window = int(2 ** np.round(np.log2(0.005 * sample_rate)))
    max_window = max(min_window, int(2 ** np.floor(np.log2(len(segment) / 4))))
    gaps = np.array([np.min(np.abs(np.delete(candidates, i) - f), initial=sample_rate) for i, f in enumerate(freqs)])
    windows = np.clip(2 ** np.ceil(np.log2(3.0 * sample_rate / gaps)), min_window, max_window).astype(int)
    # Shortest window a decay fit may fall back to: the nearest louder peak (earlier in
    # the list) stays outside the main lobe (2 bins), so its leakage doesn't set the decay.
    louder = np.array([np.min(np.abs(candidates[:i] - f), initial=sample_rate) for i, f in enumerate(freqs)])
    shortest = np.clip(2 ** np.ceil(np.log2(2.0 * sample_rate / louder)), min_window, windows).astype(int)
    noise_at = _noise_at(noise, noise_fft, sample_rate, freqs)
    t60 = _decay_t60(segment, sample_rate, freqs, windows, shortest, noise_at, width_t60)
    # Leakage from a louder, longer neighbour (or noise) can only slow a track's decay,
    # and a wide, well-resolved peak is a short decay: there the width is trusted.
    wide = (T60_DECAY / (2.0 * np.pi * width_t60) >= _WIDTH_TRUST_HZ) & (width_t60 < 0.8 * t60)
    t60 = np.where(wide, width_t60, t60)
    modal = np.isfinite(t60)
    return freqs[modal], t60[modal]


def _noise_floor(noise: np.ndarray, noise_fft: int, sample_rate: int) -> np.ndarray:
    """Smooth floor under a noise spectrum: its median (in dB) over +-1/6 octave.

    Mode lines still ringing in the stretch the noise was measured on (when nothing
    quiet precedes the onset) stand above it and are ignored.
    """
    bins = np.fft.rfftfreq(noise_fft, 1.0 / sample_rate)[1:]
    grid = np.geomspace(bins[0], bins[-1], int(48 * np.log2(bins[-1] / bins[0])) + 2)  # 48 per octave
    level = np.interp(np.log(grid), np.log(bins), 10.0 * np.log10(noise[1:] + 1e-300))
    floor = scipy.ndimage.percentile_filter(level, 50, size=17, mode="nearest")
    return 10.0 ** (np.interp(np.log(np.concatenate([bins[:1], bins])), np.log(grid), floor) / 10.0)


def _noise_at(noise: np.ndarray, noise_fft: int, sample_rate: int, freqs: np.ndarray) -> np.ndarray:
    """Noise variance per unit bandwidth at ``freqs``, from a floor (``_noise_floor``) spectrum."""
    return np.interp(freqs, np.fft.rfftfreq(noise_fft, 1.0 / sample_rate), noise)


def estimate_modes(
    audio: np.ndarray,
    sample_rate: int,
    *,
    n_modes: int,
    onset_s: float | None = None,
    end_s: float | None = None,
    min_freq_hz: float = 20.0,
    max_freq_hz: float | None = None,
) -> ModeEstimate:
    """Estimate the strongest modes of one impact.

    Two passes: modes found in the sound are fitted and subtracted, and the residual
    (where the skirts and leakage of strong modes are gone) is searched again for
    weaker ones next to them. All modes are then fitted jointly; a mode is kept if its
    least-squares SNR (A^2 E / (2 noise), E the energy of its unit-amplitude damped
    sine; exponentially distributed with mean 1 for a mode that is not there) is at
    least ``_FIT_SNR_DB``.

    Args:
        audio: (n_samples,) one channel holding one impact (e.g. one segment).
        sample_rate: Sample rate in Hz.
        n_modes: Most modes to return (> 0); fewer come back when fewer peaks stand
            clear of the noise.
        onset_s: Onset of the impact in seconds; default: the first detected impact
            (or 0 when none is found).
        end_s: End of the analysed ring in seconds (e.g. the next strike: a second
            strike inside the segment combs the long FFT); default: 4 s after the onset.
        min_freq_hz: Lowest mode frequency in Hz.
        max_freq_hz: Highest mode frequency in Hz; default 0.45 * sample_rate.

    Returns:
        The modes, sorted by energy (amplitude^2 x T60: a quieter mode that rings
        long is heard more than a louder one that dies at once), descending.

    Raises:
        WorkbenchError: On a bad argument.
    """
    audio = _check_audio(audio, sample_rate).astype(np.float64, copy=False)
    if not (isinstance(n_modes, (int, np.integer)) and n_modes > 0):
        raise WorkbenchError(f"n_modes must be a positive integer, got {n_modes}")
    max_freq_hz = 0.45 * sample_rate if max_freq_hz is None else max_freq_hz
    if not 0.0 <= min_freq_hz < max_freq_hz <= sample_rate / 2:
        raise WorkbenchError(
            "need 0 <= min_freq_hz < max_freq_hz <= sample_rate / 2, "
            f"got min_freq_hz={min_freq_hz}, max_freq_hz={max_freq_hz} (sample_rate={sample_rate})"
        )
    onset = onset_index(audio, sample_rate, onset_s)
    stop = onset + int(MAX_ANALYSIS_S * sample_rate)
    if end_s is not None:
        stop = min(stop, max(onset + 1, int(round(end_s * sample_rate))))
    segment = audio[onset:stop]
    empty = ModeEstimate(np.zeros(0), np.zeros(0), np.zeros(0))
    if len(segment) < 64:
        return empty
    noise_fft = noise_window(sample_rate)
    noise = _noise_floor(noise_psd(audio, sample_rate, noise_fft), noise_fft, sample_rate)
    search = (noise, noise_fft, min_freq_hz, max_freq_hz)

    ramp = int(_CONTACT_RAMP_S * sample_rate)

    def fit(freqs: np.ndarray, t60: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Joint fit, the contact weighed down; returns (amplitudes at the onset, sin/cos
        # coefficients (K, 2), SNR test passed).
        coef, energy = least_squares(segment, sample_rate, freqs, t60, ramp=ramp)
        pairs = coef.reshape(2, -1).T
        amplitudes = np.hypot(pairs[:, 0], pairs[:, 1])
        snr = amplitudes**2 * energy / (2.0 * _noise_at(noise, noise_fft, sample_rate, freqs))
        return amplitudes, pairs, snr >= 10.0 ** (_FIT_SNR_DB / 10.0)

    # More candidates than asked for: noise peaks on the skirts of strong modes are
    # only told apart once the modes are fitted jointly (they come out at noise level).
    rings = ringing_peaks(audio, sample_rate, onset_s=onset / sample_rate, n_peaks=_RINGS_PER_MODE * n_modes,
                          min_freq_hz=max(min_freq_hz, 20.0), min_snr_db=_MODE_SNR_DB)
    freqs, t60 = _candidate_modes(segment, sample_rate, *search, 2 * n_modes + 4, rings)
    if 0 < len(freqs):
        _, pairs, passed = fit(freqs, t60)
        freqs, t60, pairs = freqs[passed], t60[passed], pairs[passed]
        for it in range(_RESIDUAL_PASSES):
            if not 0 < len(freqs) < n_modes:
                break
            if it:
                _, pairs, passed = fit(freqs, t60)
                freqs, t60, pairs = freqs[passed], t60[passed], pairs[passed]
            model = np.zeros(len(segment))
            for a, basis in basis_blocks(len(segment), sample_rate, freqs, t60):
                model[a : a + len(basis)] = basis @ pairs.T.ravel()
            more_f, more_t60 = _candidate_modes((segment - model)[int(_RESIDUAL_SKIP_S * sample_rate):], sample_rate,
                                                *search, 2 * (n_modes - len(freqs)) + 4)
            # A peak left near a fitted mode is the misfit of that mode (a slightly wrong
            # decay or frequency leaves a residual within a few half-widths of it).
            guard = _RESIDUAL_GUARD_HZ + 1.5 * T60_DECAY / (2.0 * np.pi * t60)
            new = np.array([np.all(np.abs(freqs - f) > guard) for f in more_f], bool)
            if not new.any():
                break
            freqs, t60 = np.concatenate([freqs, more_f[new]]), np.concatenate([t60, more_t60[new]])
    if len(freqs) == 0:
        return empty
    _, pairs, _ = fit(freqs, t60)
    freqs, t60 = refine_short(segment, sample_rate, freqs, t60, pairs, ramp)
    amplitudes, _, passed = fit(freqs, t60)
    keep = np.flatnonzero(passed)
    keep = keep[np.argsort(-amplitudes[keep] ** 2 * t60[keep])][:n_modes]
    return ModeEstimate(freqs[keep], t60[keep], amplitudes[keep])


def estimate_contact_s(freqs_hz: np.ndarray, amplitudes: np.ndarray, *, min_s: float = 5e-5,
                       max_s: float = 2e-3) -> float:
    """Contact duration tau from the high-frequency roll-off of the modes (physics prior).

    A Gaussian contact pulse of duration tau scales mode f by exp(-(pi tau f)^2 / 6), so
    the upper envelope of the modes' levels falls like -(20 / ln 10)(pi tau)^2 / 6 * f^2 dB.
    The envelope is the loudest mode per octave band; its least-squares slope against f^2
    gives tau (clipped to [min_s, max_s]; a flat or rising envelope gives ``min_s``).

    Args:
        freqs_hz: (K,) mode frequencies in Hz.
        amplitudes: (K,) mode onset amplitudes (linear).

    Returns:
        tau in seconds.
    """
    freqs_hz, amplitudes = np.asarray(freqs_hz, float), np.asarray(amplitudes, float)
    keep = (freqs_hz > 0) & (amplitudes > 0)
    if np.count_nonzero(keep) < 3:
        return min_s
    octave = np.floor(np.log2(freqs_hz[keep] / 100.0))
    env_f, env_db = [], []
    for o in np.unique(octave):
        sel = octave == o
        k = int(np.argmax(amplitudes[keep][sel]))
        env_f.append(freqs_hz[keep][sel][k])
        env_db.append(20 * np.log10(amplitudes[keep][sel][k]))
    if len(env_f) < 3:
        return min_s
    slope = np.polyfit(np.square(env_f), env_db, 1)[0]          # dB per Hz^2
    if slope >= 0:
        return min_s
    tau = np.sqrt(-slope * 6.0 * np.log(10.0) / (20.0 * np.pi ** 2))
    return float(np.clip(tau, min_s, max_s))
