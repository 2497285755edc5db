"""Damped sinusoids: their basis, joint least squares, and refinement of broad modes.

The numerical core of `workbench.analysis.modes`. A mode is A exp(-6.908 t / T60)
sin(2 pi f t + phi), i.e. a sine and a cosine column per mode whose coefficients are linear.

* `basis_blocks`: the (n, 2K) basis in blocks, as a running product of the per-sample
  rotation (exact first row per block; ~4x faster than sin, cos and exp per sample).
* `least_squares`: the joint amplitudes, rows weighted up over the contact.
* `refine_short`: frequencies and decays of short modes by variable projection (Golub &
  Pereyra; Gauss-Newton with Kaufman's Jacobian, amplitudes projected out), each with the
  modes its peak overlaps, against the recording minus every other mode. A broad peak's
  long-FFT maximum is pulled by its neighbours' skirts (ThreeDWorld plastic: 480 Hz read
  at 491 Hz); the time-domain fit of the cluster is not. scipy's ``least_squares`` would
  need the same Jacobian and handles no projection; written here because it is small.

Example:
    >>> import numpy as np
    >>> sr = 16000
    >>> t = np.arange(4000) / sr
    >>> y = np.exp(-6.908 * t / 0.03) * np.sin(2 * np.pi * 500.0 * t)
    >>> f, t60 = refine_short(y, sr, np.array([505.0]), np.array([0.05]), np.array([[1.0, 0.0]]), ramp=0)
    >>> round(float(f[0]), 1), round(float(t60[0]), 3)
    (500.0, 0.03)
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ..specs import T60_DECAY

__all__ = ["T60_RANGE_S", "basis_blocks", "least_squares", "refine_short"]

#: Decay times the estimate may return, s.
T60_RANGE_S = (1e-3, 30.0)
# Two modes whose damped sinusoids correlate more than this over the fitted span are
# one mode as far as least squares can tell (the weaker is dropped).
_MAX_CORRELATION = 0.9
# Modes shorter than this (broad peaks, whose long-FFT maxima are pulled by the skirts of
# neighbours) are refined jointly with the modes within this many summed half-widths,
# moving at most this many half-widths (or 0.3 %), in at most this many Gauss-Newton steps.
# Neighbours and reach were chosen on bench/fit.py's cases (4 and 2 at first; 6 and 4 find
# 78 instead of 75 of ThreeDWorld's 86 audible modes): not a held-out figure.
_REFINE_T60_S = 0.3
_REFINE_NEIGHBOURS = 6.0
_REFINE_REACH = 4.0
_REFINE_ITERATIONS = 8


def _ramp_weights(start: int, stop: int, ramp: int) -> np.ndarray:
    """Weights of rows [start, stop): sin^2 from 0 at the onset up to 1 at row ``ramp``, then 1
    (the contact weighed down; a hard cut would leak every mode missing from a fit into the others)."""
    rows = np.arange(start, stop)
    return np.sin(0.5 * np.pi * np.minimum(rows / ramp, 1.0)) ** 2 if ramp > 0 else np.ones(len(rows))


def basis_blocks(n: int, sample_rate: int, freqs: np.ndarray, t60: np.ndarray, block: int = 8192):
    """Yield (start, basis) over n samples: basis (len, 2K) = damped sines then cosines.

    Each block is a running product of the per-sample rotation exp((-decay + 2 pi i f) / sr)
    from its first row (evaluated exactly), ~4x faster than sin, cos and exp per sample.
    """
    rate = -T60_DECAY / np.asarray(t60, np.float64) + 2j * np.pi * np.asarray(freqs, np.float64)
    step = np.exp(rate / sample_rate)
    for a in range(0, n, block):
        z = np.empty((min(block, n - a), len(rate)), np.complex128)
        z[0] = np.exp(rate * (a / sample_rate))
        z[1:] = step
        z = np.cumprod(z, axis=0)
        yield a, np.hstack([z.imag, z.real])


def least_squares(
    segment: np.ndarray, sample_rate: int, freqs: np.ndarray, t60: np.ndarray, ramp: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Joint least squares of damped sines and cosines: (coef (2K,) = K sine then K cosine
    coefficients, energy of each sine column (K,)).

    Fitted where the modes are still loud (until the slowest has fallen 40 dB, at most
    1 s), the first ``ramp`` samples weighted up from 0 (`_ramp_weights`), with normal equations
    accumulated in blocks (memory O(block x K)). Coefficients refer to the segment's start. A mode
    whose columns correlate above ``_MAX_CORRELATION`` with those of a mode listed
    earlier cannot be told apart from it: its coefficients are 0.
    """
    n = min(len(segment), int(sample_rate * min(1.0, 40.0 / 60.0 * float(t60.max()))) + 1)
    k, ramp = len(freqs), min(ramp, n // 2)
    gram, rhs = np.zeros((2 * k, 2 * k)), np.zeros(2 * k)
    for a, basis in basis_blocks(n, sample_rate, freqs, t60):
        data = segment[a : a + len(basis)]
        if a < ramp:
            w = _ramp_weights(a, a + len(basis), ramp)
            basis, data = basis * w[:, None], data * w
        gram += basis.T @ basis
        rhs += basis.T @ data
    scale = np.sqrt(np.diag(gram))
    correlation = np.abs(gram / np.outer(scale, scale))
    pair = np.maximum.reduce([correlation[:k, :k], correlation[:k, k:], correlation[k:, :k], correlation[k:, k:]])
    kept: list[int] = []
    for i in range(k):
        if not kept or pair[i, kept].max() < _MAX_CORRELATION:
            kept.append(i)
    cols = np.concatenate([kept, np.asarray(kept) + k])
    coef = np.zeros(2 * k)
    coef[cols] = scipy.linalg.solve(gram[np.ix_(cols, cols)], rhs[cols], assume_a="pos")
    return coef, np.diag(gram)[:k]


def _varpro(y: np.ndarray, sample_rate: int, w: np.ndarray, freqs: np.ndarray, decay: np.ndarray,
            free: np.ndarray, reach_hz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Newton on the frequencies and decays of damped sinusoids, amplitudes projected out.

    ``y`` (n,) data times the row weights ``w`` (n,); ``freqs`` (Hz) and ``decay`` (1/s) of
    every mode, those in ``free`` (indices) refined: a frequency within ``reach_hz`` of its
    start, a decay within a factor 3. Kaufman's Jacobian; a step is halved (twice at most)
    until the misfit falls, else the search stops. Returns (freqs, decay).
    """
    f0, d0, k = freqs.copy(), decay.copy(), len(freqs)
    t = np.arange(len(y))[:, None] / sample_rate

    def solve(f, d):
        _, basis = next(basis_blocks(len(y), sample_rate, f, T60_DECAY / d, block=len(y)))
        b = basis * w[:, None]
        gram = b.T @ b
        gram[np.diag_indices_from(gram)] *= 1.0 + 1e-9
        factor = scipy.linalg.cho_factor(gram)
        coef = scipy.linalg.cho_solve(factor, b.T @ y)
        res = y - b @ coef
        return float(res @ res), res, coef, b, factor

    cost, res, coef, b, factor = solve(freqs, decay)
    for _ in range(_REFINE_ITERATIONS):
        # d(model)/df and d(model)/d(decay) of each free mode (b = weighted [sines, cosines]).
        sin, cos, cs, cc = b[:, free], b[:, k + free], coef[free], coef[k + free]
        grad = np.hstack([2.0 * np.pi * t * (cs * cos - cc * sin), -t * (cs * sin + cc * cos)])
        grad = grad - b @ scipy.linalg.cho_solve(factor, b.T @ grad)
        scale = np.linalg.norm(grad, axis=0) + 1e-300
        step = np.linalg.lstsq(grad / scale, res, rcond=None)[0] / scale
        for shrink in (1.0, 0.5, 0.25):
            f, d = freqs.copy(), decay.copy()
            f[free] = np.clip(freqs[free] + shrink * step[:len(free)], f0[free] - reach_hz, f0[free] + reach_hz)
            d[free] = np.clip(decay[free] + shrink * step[len(free):], d0[free] / 3.0, d0[free] * 3.0)
            trial = solve(f, d)
            if trial[0] < cost:
                (cost, res, coef, b, factor), freqs, decay = trial, f, d
                break
        else:
            break
    return freqs, decay


def refine_short(segment: np.ndarray, sample_rate: int, freqs: np.ndarray, t60: np.ndarray, pairs: np.ndarray,
                  ramp: int) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and T60s with the short modes refined, each with its neighbours, against
    the recording minus every other mode (``pairs``: (K, 2) sin/cos coefficients of the joint
    fit)."""
    freqs, t60 = freqs.astype(np.float64).copy(), t60.astype(np.float64).copy()
    short = np.flatnonzero(t60 < _REFINE_T60_S)
    if len(short) == 0:
        return freqs, t60
    decay = T60_DECAY / t60
    half_width = decay / (2.0 * np.pi)
    n = min(len(segment), max(int(sample_rate * 40.0 / 60.0 * float(t60[short].max())), 2 * ramp, 1024))
    w = _ramp_weights(0, n, ramp)
    _, basis = next(basis_blocks(n, sample_rate, freqs, t60, block=n))
    modes = basis[:, :len(freqs)] * pairs[:, 0] + basis[:, len(freqs):] * pairs[:, 1]     # (n, K)
    others = segment[:n] - modes.sum(axis=1)
    done = np.zeros(len(freqs), bool)
    for k in short[np.argsort(-np.hypot(*pairs[short].T) ** 2 * t60[short])]:
        if done[k]:
            continue
        # The cluster: modes whose peaks overlap this one's (within a few half-widths); its
        # short modes move, the others (read precisely on the long FFT) only re-weigh.
        members = np.flatnonzero(np.abs(freqs - freqs[k]) < _REFINE_NEIGHBOURS * (half_width + half_width[k]) + 2.0)
        free = np.flatnonzero(np.isin(members, short) & ~done[members])
        y = (others + modes[:, members].sum(axis=1)) * w
        reach = np.maximum(_REFINE_REACH * half_width[members[free]], 0.003 * freqs[members[free]])
        f, d = _varpro(y, sample_rate, w, freqs[members], decay[members], free, reach)
        freqs[members[free]], decay[members[free]] = f[free], d[free]
        done[members[free]] = True
    return freqs, np.clip(T60_DECAY / decay, *T60_RANGE_S)
