"""Impact detection in recordings of any length, and the segments between impacts.

After the high-precision touch/impact detector of paper 003 (``papers/003_*.txt``,
Sec. 3.2), which looks for relative peaks of the energy contour that are wide-band,
with peaks of onset strength and spectral flatness. Every peak of onset strength is
a candidate; its confidence in [0, 1] is a product of soft scores (``_confidence``):

* the rise: onset strength above the local background (a wide-band jump of the
  log-magnitude, seen even under the ringing of earlier strikes) or the depth of the
  energy-contour peak (also for narrow-band onsets), whichever is stronger;
* the level re the file peak (a faint click far below the loudest strike is not one);
* the change of spectral flatness or centroid against the frames before (supporting).

A candidate at the very start of the file must also show that the file was quiet
before it or that the sound then decays (else it is the recording starting).
``sensitivity`` is one minus the confidence an impact needs. Each onset is then refined
to the sample where the high-passed envelope starts to rise.

The STFT features are computed in blocks, so memory stays bounded for long inputs
(minutes of tapping): O(block) for the spectrogram plus a few floats per frame.
"""

from __future__ import annotations

import dataclasses

import librosa
import numpy as np
import scipy.ndimage
import scipy.signal
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import WorkbenchError

__all__ = ["Impact", "Segment", "detect_impacts", "segment_impacts", "force_sensor_strikes", "match_times"]

# Analysis window ~20 ms (rounded up to a power of two): long enough to resolve the
# spectral shape of a click, short enough that two strikes 30 ms apart stay separate.
_FRAME_S = 0.02
# Spectral magnitudes are clamped this far below a full-scale sinusoid (re file peak),
# so digital silence and dither give no onset strength.
_FLOOR_DB = -100.0
# The energy contour leaves out bins below this: rumble and handling noise swing the
# low-frequency energy by many dB within a few frames, a strike is broadband.
_ENERGY_MIN_HZ = 150.0
# Background statistics (onset strength, flatness, centroid) are taken over this span
# before each candidate, leaving out the two frames that the strike already leaks into.
_BACKGROUND_S = 0.25
# The level of a strike is the largest sample in this span after its onset.
_LEVEL_SPAN_S = 0.05
# Onset refinement looks at the signal above this frequency: it removes the low-frequency
# ringing of earlier strikes and rumble, while the broadband contact click keeps much
# of its energy above it.
_REFINE_HIGHPASS_HZ = 1000.0
# Below this, an input is considered silent (no impacts), in absolute sample units.
_SILENCE = 1e-9
#: A detected strike matches a true (or fitted) one at most this far away (s).
MATCH_TOLERANCE_S = 0.010


@dataclasses.dataclass(frozen=True)
class Impact:
    """One detected strike.

    Attributes:
        time_s: Onset of the strike (start of the rise) in seconds from the file start.
        confidence: How impact-like the event is, in [0, 1].
        peak_db: Largest sample within 50 ms of the onset, in dB re the file peak (<= 0).
    """

    time_s: float
    confidence: float
    peak_db: float


@dataclasses.dataclass(frozen=True)
class Segment:
    """A span of the recording that belongs to one impact.

    Attributes:
        start_s: Segment start in seconds (a little before the onset).
        end_s: Segment end in seconds (next onset, ``max_len_s`` or the file end).
        impact: The impact that the segment holds.
    """

    start_s: float
    end_s: float
    impact: Impact

    def samples(self, sample_rate: int) -> slice:
        """The segment as a slice of sample indices at ``sample_rate`` Hz."""
        return slice(int(round(self.start_s * sample_rate)), int(round(self.end_s * sample_rate)))


def _check_audio(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise WorkbenchError(f"audio must be one channel, shape (n_samples,), got shape {audio.shape}")
    if not np.issubdtype(audio.dtype, np.number):
        raise WorkbenchError(f"audio must be numeric, got dtype {audio.dtype}")
    if not sample_rate > 0:
        raise WorkbenchError(f"sample_rate must be > 0 Hz, got {sample_rate}")
    return audio


def _sigmoid(x: np.ndarray | float, centre: float, scale: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(np.asarray(x, dtype=np.float64) - centre) / scale))


def _frame_features(
    audio: np.ndarray, sample_rate: int, *, n_fft: int, hop: int, block_frames: int, ref: float
) -> dict[str, np.ndarray]:
    """Per-frame onset strength, energy (dB, above ``_ENERGY_MIN_HZ``), spectral flatness
    and centroid (bins).

    Frame i covers samples [i * hop - n_fft, i * hop) (zeros before the file start), so
    an onset at sample 0 still shows as a rise, and no frame runs past the file end
    (a window cut by the end would smear a ringing tone over all bins, like a click).
    The spectrogram is computed ``block_frames`` frames at a time, plus one frame of
    context for the onset difference.
    """
    n_frames = 1 + len(audio) // hop
    scale = ref * n_fft / 4.0  # |STFT| of a full-scale sinusoid under a Hann window
    amin = scale * 10.0 ** (_FLOOR_DB / 20.0)
    out = {k: np.zeros(n_frames, np.float32) for k in ("flux", "energy_db", "flatness", "centroid")}
    low_bins = int(np.ceil(_ENERGY_MIN_HZ * n_fft / sample_rate))
    for i0 in range(0, n_frames, block_frames):
        i1 = min(i0 + block_frames, n_frames)
        start = (i0 - 1) * hop - n_fft  # one frame of context before i0
        seg = np.zeros((i1 - i0) * hop + n_fft, np.float32)
        lo, hi = max(start, 0), min(start + len(seg), len(audio))
        if hi > lo:
            seg[lo - start : hi - start] = audio[lo:hi]
        mag = np.abs(librosa.stft(seg, n_fft=n_fft, hop_length=hop, center=False))[:, : i1 - i0 + 1]
        db = librosa.amplitude_to_db(mag, ref=scale, amin=amin, top_db=None)
        out["flux"][i0:i1] = librosa.onset.onset_strength(S=db, center=False)[1:]
        mag = mag[:, 1:]
        out["energy_db"][i0:i1] = 10.0 * np.log10(np.mean(mag[low_bins:] ** 2, axis=0) / scale**2 + 1e-30)
        out["flatness"][i0:i1] = librosa.feature.spectral_flatness(S=mag, amin=amin**2)[0]
        power = mag**2
        bins = np.arange(mag.shape[0], dtype=np.float32)[:, None]
        out["centroid"][i0:i1] = (bins * power).sum(0) / np.maximum(power.sum(0), amin**2)
    return out


def _refine_onset(audio: np.ndarray, sample_rate: int, lo: int, hi: int, sos: np.ndarray) -> int:
    """Sample in [lo, hi) where the high-passed envelope starts its rise to the strike.

    ``sos`` is the high-pass (see ``_REFINE_HIGHPASS_HZ``). The envelope is the running
    maximum of |high-passed signal| over the trailing 2 ms: it rises exactly at the
    onset and bridges the zero crossings of the modes.
    From its maximum in [lo, hi) we step back to the last sample at or below 10 % of
    the way from the background (median over the 20 ms before ``lo``) to that maximum.
    """
    pre = int(0.02 * sample_rate)
    a, b = max(lo - pre, 0), min(hi, len(audio))
    if b - a < 16:
        return lo
    width = max(1, int(0.002 * sample_rate))
    high = np.abs(scipy.signal.sosfilt(sos, np.asarray(audio[a:b], dtype=np.float64)))
    env = scipy.ndimage.maximum_filter1d(high, width, origin=(width - 1) // 2, mode="constant")  # trailing
    base = np.median(env[: max(lo - a, 1)])
    k_peak = (lo - a) + int(np.argmax(env[lo - a :]))
    below = np.flatnonzero(env[: k_peak + 1] <= base + 0.1 * (env[k_peak] - base))
    return a + int(below[-1]) + 1 if len(below) else lo


def detect_impacts(
    audio: np.ndarray,
    sample_rate: int,
    *,
    sensitivity: float = 0.5,
    min_gap_s: float = 0.03,
    hop_s: float = 0.005,
    block_s: float = 30.0,
) -> list[Impact]:
    """Find the strikes in a recording.

    Args:
        audio: (n_samples,) one channel, any scale.
        sample_rate: Sample rate in Hz.
        sensitivity: In [0, 1]. An impact is reported when its confidence is at least
            ``1 - sensitivity``: 0 reports nothing, 1 every candidate.
        min_gap_s: Two impacts are at least this far apart in seconds; of closer
            candidates the one with the stronger onset wins.
        hop_s: Hop of the feature frames in seconds (the frame-level time resolution
            before sample-level refinement).
        block_s: Length in seconds of audio analysed at once (bounds memory).

    Returns:
        Impacts sorted by time.

    Raises:
        WorkbenchError: On a bad argument.
    """
    audio = _check_audio(audio, sample_rate)
    if not 0.0 <= sensitivity <= 1.0:
        raise WorkbenchError(f"sensitivity must be in [0, 1], got {sensitivity}")
    for name, value in (("min_gap_s", min_gap_s), ("hop_s", hop_s), ("block_s", block_s)):
        if not value > 0:
            raise WorkbenchError(f"{name} must be > 0 s, got {value}")
    ref = float(max(np.max(audio), -np.min(audio))) if len(audio) else 0.0  # no |audio| copy
    if ref < _SILENCE or sensitivity == 0.0:
        return []
    hop = max(1, int(round(hop_s * sample_rate)))
    n_fft = int(2 ** np.ceil(np.log2(_FRAME_S * sample_rate)))
    block_frames = max(8, int(block_s * sample_rate / hop))
    feats = _frame_features(audio, sample_rate, n_fft=n_fft, hop=hop, block_frames=block_frames, ref=ref)
    flux = feats["flux"]
    peaks, _ = scipy.signal.find_peaks(flux, distance=max(1, int(round(min_gap_s * sample_rate / hop))))
    n_back = max(4, int(round(_BACKGROUND_S * sample_rate / hop)))

    def background(x: np.ndarray) -> np.ndarray:
        # Median over the n_back frames before each peak frame i, leaving out frames i-1
        # and i-2 (the strike already leaks into them); at least frame 0 (silence) counts.
        padded = np.concatenate([np.full(n_back + 2, np.nan, np.float32), x])
        return np.nanmedian(sliding_window_view(padded, n_back)[np.maximum(peaks, 3)], axis=1)

    nxt = np.minimum(peaks + 1, len(flux) - 1)
    flatness, centroid = feats["flatness"], feats["centroid"]
    onset_excess = flux[peaks] - background(flux)
    # Depth of the energy peak: the loudest of the next frames against the louder of two
    # frames that end before the earliest possible onset (a window length earlier).
    energy = feats["energy_db"]
    lead = int(np.ceil(n_fft / hop)) + 1
    after = np.max(energy[np.minimum(peaks[:, None] + np.arange(3), len(energy) - 1)], axis=1)
    before = np.max(energy[np.maximum(peaks[:, None] - lead - np.arange(2), 0)], axis=1)
    # Frames holding zeros from before the file are no reference: use the first full one.
    at_start = (peaks - lead - 1) * hop < n_fft
    before[at_start] = energy[min(int(np.ceil(n_fft / hop)), len(energy) - 1)]
    energy_rise = after - before
    flat_now, cent_now = np.maximum(flatness[peaks], flatness[nxt]), 0.5 * (centroid[peaks] + centroid[nxt])
    shape_change = np.maximum(
        np.abs(np.log10((flat_now + 1e-12) / (background(flatness) + 1e-12))),  # decades of flatness
        np.abs(np.log2((cent_now + 1.0) / (background(centroid) + 1.0))),  # octaves of centroid
    )
    threshold = 1.0 - sensitivity
    # The level score is at most 1, so candidates below threshold without it are out.
    plausible = _confidence(onset_excess, energy_rise, 0.0, shape_change) >= threshold
    sos = scipy.signal.butter(2, min(_REFINE_HIGHPASS_HZ, 0.45 * sample_rate), "highpass", fs=sample_rate, output="sos")
    n_level = int(_LEVEL_SPAN_S * sample_rate)
    found: list[tuple[Impact, float]] = []
    for k in np.flatnonzero(plausible):
        i, excess, rise, change = peaks[k], onset_excess[k], energy_rise[k], shape_change[k]
        onset = _refine_onset(audio, sample_rate, max(i * hop - n_fft - hop, 0), min(i * hop + hop, len(audio)), sos)
        peak_db = float(20.0 * np.log10(max(np.max(np.abs(audio[onset : onset + n_level])) / ref, 1e-12)))
        confidence = float(_confidence(excess, rise, peak_db, change))
        if at_start[k]:
            # The rise was measured against frames holding the zeros before the file, so
            # it may just be the recording starting. It counts if the file itself is quiet
            # for at least 1 ms before the onset (12 dB or more below the strike), or if
            # the spectrum then decays.
            quiet = np.max(np.abs(audio[:onset])) if onset >= int(0.001 * sample_rate) else np.inf
            rise_in_file_db = 20.0 * np.log10(max(10.0 ** (peak_db / 20.0) * ref / max(quiet, 1e-30), 1e-12))
            per_bin_db, total_db = _start_decay_db(audio, sample_rate, n_fft)
            confidence *= float(max(
                _sigmoid(rise_in_file_db, 12.0, 2.0), _sigmoid(per_bin_db, 3.0, 0.5), _sigmoid(total_db, 10.0, 1.5)
            ))
        if confidence >= threshold:
            found.append((Impact(float(onset / sample_rate), confidence, peak_db), float(flux[i])))
    return _merge_close(found, min_gap_s)


def _start_decay_db(audio: np.ndarray, sample_rate: int, n_fft: int) -> tuple[float, float]:
    """How far the power above ``_ENERGY_MIN_HZ`` falls (dB) from the first 20 ms of the
    file to 0.2-0.5 s later.

    Returns (mean over bins of the fall, rises counting 0; fall of the total power), or
    (inf, inf) if the file is too short to tell. After a broadband strike the first is
    large (tens of dB; ~7 dB for a gong), after a narrow-band one the second; for
    stationary noise that just starts with the file the first stays below ~1 dB and
    the second, for noise dominated by few low-frequency cycles, below ~5 dB.
    """
    if len(audio) < int(0.5 * sample_rate):
        return np.inf, np.inf
    hop = n_fft // 4
    head = np.asarray(audio[: int(0.5 * sample_rate)], dtype=np.float32)
    power = np.abs(librosa.stft(head, n_fft=n_fft, hop_length=hop, center=False)) ** 2 + 1e-30
    starts = np.arange(power.shape[1]) * hop / sample_rate
    low_bins = int(np.ceil(_ENERGY_MIN_HZ * n_fft / sample_rate))
    first = power[low_bins:, starts < 0.02].mean(axis=1)
    later = power[low_bins:, starts >= 0.2].mean(axis=1)
    per_bin = np.mean(np.maximum(10.0 * np.log10(first / later), 0.0))
    return float(per_bin), float(10.0 * np.log10(first.sum() / later.sum()))


def _confidence(
    onset_excess: np.ndarray | float,
    energy_rise: np.ndarray | float,
    peak_db: np.ndarray | float,
    shape_change: np.ndarray | float,
) -> np.ndarray:
    """Confidence in [0, 1] that a candidate is a strike: a product of soft scores.

    The rise is evidenced by onset strength (a wide-band rise, seen even under the
    ringing of earlier strikes) or by the depth of the energy peak (also for
    narrow-band onsets), whichever is stronger. Centres and widths were set by hand on
    ``data/real_impacts``: strikes have onset strength 6-40 dB above the background,
    levels from -13 to 0 dB re the file peak and a shape change (decades of flatness
    or octaves of centroid) of 0.3-4; the robots' pre-contact clicks reach 4-10 dB of
    onset strength and 10-18 dB of energy rise, but only -36..-25 dB of level.
    """
    rise = np.maximum(
        _sigmoid(onset_excess, 4.0, 1.0),  # dB, mean over bins of the log-magnitude rise
        _sigmoid(energy_rise, 10.0, 2.0),  # dB; ringing that beats can rise a few dB
    )
    return rise * _sigmoid(peak_db, -20.0, 4.0) * (0.5 + 0.5 * _sigmoid(shape_change, 0.3, 0.1))


def _merge_close(found: list[tuple[Impact, float]], min_gap_s: float) -> list[Impact]:
    """Sort by time; of impacts closer than ``min_gap_s`` keep the one with the stronger onset."""
    kept: list[tuple[Impact, float]] = []
    for imp, strength in sorted(found, key=lambda pair: pair[0].time_s):
        if kept and imp.time_s - kept[-1][0].time_s < min_gap_s:
            if strength > kept[-1][1]:
                kept[-1] = (imp, strength)
            continue
        kept.append((imp, strength))
    return [imp for imp, _ in kept]


def segment_impacts(
    audio: np.ndarray,
    sample_rate: int,
    impacts: list[Impact],
    *,
    pre_s: float = 0.02,
    max_len_s: float = 4.0,
) -> list[Segment]:
    """Cut a recording into one segment per impact, for fitting each one separately.

    Segment k starts ``pre_s`` before impact k (but not before the midpoint to impact
    k - 1, nor before 0) and ends at the next impact's onset, ``max_len_s`` after its
    own start, or the end of the file, whichever comes first.

    Args:
        audio: (n_samples,) the recording (only its length is used).
        sample_rate: Sample rate in Hz.
        impacts: Impacts as returned by :func:`detect_impacts`.
        pre_s: Seconds of lead-in before each onset (background noise for the fit).
        max_len_s: Longest segment in seconds (bounds the memory of a fit).

    Returns:
        Segments in time order, one per impact.

    Raises:
        WorkbenchError: On a bad argument.
    """
    audio = _check_audio(audio, sample_rate)
    if not pre_s >= 0:
        raise WorkbenchError(f"pre_s must be >= 0 s, got {pre_s}")
    if not max_len_s > pre_s:
        raise WorkbenchError(f"max_len_s must be > pre_s ({pre_s} s), got {max_len_s}")
    duration = len(audio) / sample_rate
    ordered = sorted(impacts, key=lambda imp: imp.time_s)
    segments = []
    for k, imp in enumerate(ordered):
        start = max(imp.time_s - pre_s, 0.0)
        if k > 0:
            start = max(start, 0.5 * (ordered[k - 1].time_s + imp.time_s))
        end = min(start + max_len_s, duration)
        if k + 1 < len(ordered):
            end = min(end, ordered[k + 1].time_s)
        segments.append(Segment(start, max(end, start), imp))
    return segments


def force_sensor_strikes(
    force: np.ndarray, sample_rate: int, *, threshold: float = 0.1, min_gap_s: float = 0.03
) -> np.ndarray:
    """Strike onsets from an impact hammer's force sensor (ground truth for detection).

    A strike is a pulse (~0.5-1 ms) that exceeds ``threshold`` times the largest
    |force|; its onset is the last sample before the crossing where the force is
    within 5 % of the pulse height of the baseline (median over the 10 ms before).
    Pulses closer than ``min_gap_s`` to the previous one (hammer rebounds) belong
    to the same strike.

    Args:
        force: (n_samples,) force sensor signal, any scale and either polarity.
        sample_rate: Sample rate in Hz.
        threshold: Detection level as a fraction of the largest |force|, in (0, 1).
        min_gap_s: Pulses closer than this in seconds count as one strike.

    Returns:
        (n_strikes,) strike onset times in seconds, increasing.

    Raises:
        WorkbenchError: On a bad argument.
    """
    force = _check_audio(force, sample_rate).astype(np.float64)
    if not 0.0 < threshold < 1.0:
        raise WorkbenchError(f"threshold must be in (0, 1), got {threshold}")
    if not min_gap_s >= 0:
        raise WorkbenchError(f"min_gap_s must be >= 0 s, got {min_gap_s}")
    force = force - np.median(force)
    peak_index = int(np.argmax(np.abs(force))) if len(force) else 0
    if len(force) == 0 or force[peak_index] == 0:
        return np.zeros(0)
    force = force * np.sign(force[peak_index])  # strikes as positive pulses
    above = force > threshold * force[peak_index]
    crossings = np.flatnonzero(above[1:] & ~above[:-1]) + 1
    gap, pre = int(min_gap_s * sample_rate), max(1, int(0.01 * sample_rate))
    times: list[float] = []
    last = -np.inf
    for c in crossings:
        if c - last < gap:
            continue
        last = c
        height = force[c : c + gap + 1].max()
        baseline = np.median(force[max(c - pre, 0) : c]) if c > 0 else 0.0
        quiet = np.flatnonzero(force[max(c - pre, 0) : c] <= baseline + 0.05 * (height - baseline))
        onset = max(c - pre, 0) + int(quiet[-1]) if len(quiet) else c
        times.append(onset / sample_rate)
    return np.asarray(times)


def match_times(
    found_s: np.ndarray, truth_s: np.ndarray, *, tolerance_s: float = MATCH_TOLERANCE_S
) -> tuple[float, float, np.ndarray]:
    """Score detected times against true ones (one-to-one, nearest first).

    Args:
        found_s: (n_found,) detected times in seconds.
        truth_s: (n_true,) true times in seconds.
        tolerance_s: A detection matches a true time at most this far away, in seconds.

    Returns:
        (precision, recall, errors_s): the share of detections that match, the share of
        true times that are matched (1.0 where there is nothing to find or report), and
        the (n_matched,) signed errors found - true in seconds.

    Raises:
        WorkbenchError: If ``tolerance_s`` is negative.
    """
    if not tolerance_s >= 0:
        raise WorkbenchError(f"tolerance_s must be >= 0 s, got {tolerance_s}")
    found, truth = np.asarray(found_s, np.float64), np.sort(np.asarray(truth_s, np.float64))
    lo, hi = np.searchsorted(truth, found - tolerance_s), np.searchsorted(truth, found + tolerance_s, side="right")
    pairs = sorted((abs(f - truth[j]), i, j) for i, f in enumerate(found) for j in range(lo[i], hi[i]))
    used_found, used_truth, errors = set(), set(), []
    for _, i, j in pairs:
        if i not in used_found and j not in used_truth:
            used_found.add(i)
            used_truth.add(j)
            errors.append(found[i] - truth[j])
    precision = len(errors) / len(found) if len(found) else 1.0
    recall = len(errors) / len(truth) if len(truth) else 1.0
    return precision, recall, np.asarray(errors)
