"""Plot data for the views: numpy arrays sized for Bokeh sources (no UI here).

* `envelope` - min/max waveform envelope in a fixed number of time bins.
* `spectrogram_image`, `spectrogram_cached` - a dBFS spectrogram pooled to a small image.
* `force_profile` - the contact force of a preset (`workbench.rendering.force_profile`),
  max-pooled so that short pulses stay visible.
* `strike_forces` - the force zoomed on each strike and its spectrum (what the contact
  does to the sound), from the renderer's own `workbench.functional.contact.contact_force`.
* `mode_rows` - one row per object and tool mode (tables, scatter plots).
* `damping_curves` - each body's modes (T60 vs frequency) and its stored damping law's curve.

Example:
    >>> env = envelope(np.sin(np.linspace(0, 20, 8000)), 8000, columns=100)
    >>> sorted(env), env["t"].shape, float(env["hi"].max()) <= 1.0
    (['hi', 'lo', 't'], (100,), True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..analysis.detect import MATCH_TOLERANCE_S
from ..damping import DampingLaw
from ..functional.contact import contact_force
from ..presets import Preset
from ..rendering import force_profile as rendered_force
from .derived import DERIVED


def envelope(audio: np.ndarray, sample_rate: int, columns: int = 1500) -> dict[str, np.ndarray]:
    """Min/max envelope of a waveform in ``columns`` time bins: {t (s), lo, hi} of (bins,)."""
    x = np.asarray(audio, dtype=np.float32)
    step = max(1, int(math.ceil(len(x) / columns)))
    m = len(x) // step
    if m == 0:
        return {"t": np.zeros(0), "lo": np.zeros(0), "hi": np.zeros(0)}
    blocks = x[: m * step].reshape(m, step)
    return {"t": (np.arange(m) * step + step / 2) / sample_rate, "lo": blocks.min(axis=1), "hi": blocks.max(axis=1)}


def spectrogram_image(audio: np.ndarray, sample_rate: int, *, max_rows: int = 256, max_cols: int = 600,
                      n_fft: int = 2048) -> dict[str, Any]:
    """A dBFS spectrogram pooled (max) to at most ``max_rows`` x ``max_cols`` for an image glyph.

    Returns {image (rows, cols) float32, x, y, dw, dh} with time in s and frequency in kHz.
    """
    from ..plots import spectrogram_db    # matplotlib: imported on the first spectrogram

    x = np.asarray(audio, dtype=np.float32)
    hop = max(n_fft // 8, int(math.ceil(len(x) / max_cols / 256)) * 256)
    _, _, level = spectrogram_db(x, sample_rate, n_fft=n_fft, hop_length=hop)
    rows = int(math.ceil(level.shape[0] / max_rows))
    if rows > 1:
        r = level.shape[0] // rows
        level = level[: r * rows].reshape(r, rows, -1).max(axis=1)
    cols = int(math.ceil(level.shape[1] / max_cols))
    if cols > 1:
        c = level.shape[1] // cols
        level = level[:, : c * cols].reshape(level.shape[0], c, cols).max(axis=2)
    return {"image": level.astype(np.float32), "x": 0.0, "y": 0.0, "dw": len(x) / sample_rate,
            "dh": sample_rate / 2 / 1e3}


def spectrogram_cached(audio: np.ndarray, sample_rate: int) -> dict[str, Any]:
    """`spectrogram_image` of a read-only array, cached while the array lives (`derived.DERIVED`:
    the image is kept, never the sound)."""
    if audio.flags.writeable:
        return spectrogram_image(audio, sample_rate)
    return DERIVED.get_or(audio, ("spectrogram", int(sample_rate)), lambda: spectrogram_image(audio, sample_rate))


def force_profile(preset: Preset, *, sample_rate: int | None = None, points: int = 3000) -> dict[str, np.ndarray]:
    """Contact force over time, max-pooled to at most ``points``: {t (s), f (impulse units / s)}."""
    sr = int(sample_rate or preset.sample_rate)
    f = rendered_force(preset, sample_rate=sr)
    step = max(1, int(math.ceil(len(f) / points)))
    m = len(f) // step
    return {"t": (np.arange(m) * step) / sr, "f": f[: m * step].reshape(m, step).max(axis=1)}


#: Strikes `strike_forces` shows at most (the first ones in time; the caption says when there are more).
MAX_STRIKES = 8
#: Lowest frequency of the force spectra (Hz): below the corner of the longest contact (20 ms: ~23 Hz).
SPECTRUM_MIN_HZ = 10.0
_WINDOW_STEPS_MS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0)


def strike_window_s(contacts_s, reach_s: float = 0.0) -> float:
    """Time window (s) that shows every pulse of these contact times whole: the first of 0.5, 1, 2,
    5, 10... ms at least 4 x the longest (a pulse spans 3 tau, `workbench.functional.contact`),
    and that reaches ``reach_s`` either side of the pulse's peak (e.g. a detected strike).

    A step series rather than exactly 4 tau, so a pulse visibly widens as its contact time grows.

    Example:
        >>> strike_window_s([6.5e-5]), strike_window_s([2e-4, 1e-3]), strike_window_s([0.02])
        (0.0005, 0.005, 0.1)
        >>> strike_window_s([6.5e-5], reach_s=4e-4)
        0.001
    """
    need_ms = 4e3 * float(np.max(contacts_s)) if len(contacts_s) else 0.0
    need_ms = max(need_ms, 2e3 * float(reach_s) * 1.1)
    return next((w for w in _WINDOW_STEPS_MS if w >= need_ms * (1 - 1e-9)), need_ms) / 1e3


def strike_forces(preset: Preset, *, sample_rate: int | None = None, window_s: float | None = None,
                  detected_s=(), max_strikes: int = MAX_STRIKES, points: int = 400,
                  n_freqs: int = 256) -> dict[str, Any]:
    """The contact force around each strike and the force's spectrum, for plots.

    The force comes from `workbench.functional.contact.contact_force`, the function the
    renderer uses: over ``points`` samples of a ``window_s`` window per strike (default
    `strike_window_s`, reaching the detected strikes near each), centred on the pulse's
    peak (onset + tau / 2), with every impact that reaches into the window (overlapping
    strikes add up as in the sound). The spectrum is the strike's own pulse sampled at
    ``sample_rate`` like the render (same sample positions), |F(f)| in dB re a unit impulse
    on ``n_freqs`` log-spaced frequencies from `SPECTRUM_MIN_HZ` to Nyquist: it starts at
    20 log10(magnitude) and falls past its -3 dB corner (~0.46 / tau for this Gaussian pulse).

    Args:
        preset: The (edited) preset; its impacts are sorted by time, the first ``max_strikes`` shown.
        sample_rate: Rate of the sound (default: the preset's), sets the spectrum's sampling and Nyquist.
        detected_s: Strike times (s) a detector found in the fitted recording: those within
            `MATCH_TOLERANCE_S` of a strike shown are returned in its ``detected_ms``.

    Returns:
        {strikes: columns with one row per strike shown - index, time_s, contact_ms, magnitude,
        t_ms (ms from the onset) and force (impulse units / s) arrays, detected_ms (the detected
        strikes near it, ms from its onset; `detected_offsets_ms`), freq_hz and db arrays,
        corner_hz (-3 dB; NaN above Nyquist), corner_db -, total (impacts in the preset),
        window_ms, sample_rate, caption (what is shown, e.g. "first 8 of 12 strikes")}.

    Example:
        >>> p = Preset(name="tap", sample_rate=44100, duration_s=1,
        ...            object={"modes": [{"freq_hz": 440, "t60_s": 1, "gain_db": 0}]},
        ...            impacts=[{"time_s": 0.1, "contact_s": 1e-3, "magnitude": 2}])
        >>> out = strike_forces(p)
        >>> out["caption"], out["window_ms"], round(float(np.sum(out["strikes"]["force"][0])) * 5e-3 / 400, 3)
        ('1 strike', 5.0, 2.0)
        >>> round(out["strikes"]["corner_hz"][0] / 459, 1)
        1.0
    """
    sr = int(sample_rate or preset.sample_rate)
    imps = sorted(preset.impacts, key=lambda i: i.time_s)
    every = np.array([(i.time_s, i.contact_s, i.magnitude) for i in imps], np.float64).reshape(-1, 3)
    shown = every[:max(0, int(max_strikes))]
    total, n = len(every), len(shown)
    cols = ("index", "time_s", "contact_ms", "magnitude", "t_ms", "force", "detected_ms", "freq_hz", "db",
            "corner_hz", "corner_db")
    near = detected_offsets_ms(shown[:, 0], detected_s)
    farthest_s = max((abs(x) for row in near for x in row), default=0.0) / 1e3   # from an onset, not a peak
    reach_s = farthest_s + float(np.max(shown[:, 1], initial=0.0)) / 2
    window = float(window_s) if window_s else strike_window_s(shown[:, 1], reach_s)
    caption = (f"{n} strike" + ("s" if n != 1 else "")) if n == total else f"first {n} of {total} strikes"
    out: dict[str, Any] = {"strikes": {c: [] for c in cols}, "total": total, "window_ms": window * 1e3,
                           "sample_rate": sr, "caption": caption}
    if n == 0:
        return out
    times, taus, mags = shown.T
    st = out["strikes"]
    st.update(index=list(range(n)), time_s=list(times), contact_ms=list(taus * 1e3), magnitude=list(mags),
              detected_ms=near)

    # the force around each strike: a fine-rate buffer of `points` samples, all impacts that reach into it
    rate = points / window
    starts = times + taus / 2 - window / 2
    reach = np.abs(every[None, :, 0] - (starts + window / 2)[:, None]) < window / 2 + 2 * every[None, :, 1]
    width = max(1, int(reach.sum(axis=1).max()))
    near_t, near_tau, near_m = np.zeros((n, width)), np.tile(taus[:, None], (1, width)), np.zeros((n, width))
    for k in range(n):
        j = np.flatnonzero(reach[k])
        near_t[k, :len(j)], near_tau[k, :len(j)], near_m[k, :len(j)] = every[j, 0] - starts[k], every[j, 1], every[j, 2]
    with torch.no_grad():
        force = contact_force(torch.from_numpy(near_t), torch.from_numpy(near_tau), torch.from_numpy(near_m),
                              n_samples=points, sample_rate=rate).numpy()
    grid = np.arange(points) / rate
    st["t_ms"] = [(grid + starts[k] - times[k]) * 1e3 for k in range(n)]
    st["force"] = list(force)

    # the spectrum of each strike's own pulse, sampled where the render samples it
    first = np.floor((times - taus) * sr) - 2                        # a sample before the pulse's support
    length = int(np.ceil(3 * taus.max() * sr)) + 8
    n_fft = 1 << int(np.ceil(np.log2(max(length, sr / 4))))      # bins <= 4 Hz apart
    with torch.no_grad():
        pulse = contact_force(torch.from_numpy(times - first / sr)[:, None], torch.from_numpy(taus)[:, None],
                              torch.from_numpy(mags)[:, None], n_samples=length, sample_rate=sr)
        mag = torch.fft.rfft(pulse / sr, n_fft).abs().numpy()      # |F(f)|: F(0) = the impulse
    bins = np.arange(mag.shape[1]) * sr / n_fft
    freqs = np.geomspace(SPECTRUM_MIN_HZ, sr / 2, n_freqs)
    tiny = 1e-12
    st["freq_hz"] = [freqs] * n
    st["db"] = [20 * np.log10(np.maximum(np.interp(freqs, bins, m), tiny)) for m in mag]
    for m, dc in zip(mag, mags):
        below = np.flatnonzero(m <= dc / math.sqrt(2))
        if dc <= 0 or not below.size:
            st["corner_hz"].append(float("nan"))
        else:
            b = int(below[0])
            a = max(b - 1, 0)
            frac = 0.0 if b == a else (m[a] - dc / math.sqrt(2)) / (m[a] - m[b])
            st["corner_hz"].append(float(bins[a] + frac * (bins[b] - bins[a])))
        st["corner_db"].append(20 * math.log10(max(dc, tiny)) - 20 * math.log10(math.sqrt(2)))
    return out


def detected_offsets_ms(strike_times_s, detected_s, window_s: float = 2 * MATCH_TOLERANCE_S) -> list[list[float]]:
    """Where the detector put each fitted strike: per fitted strike, the detected strikes
    within half a window of its onset (default: the benchmark's +-10 ms match), in ms from
    that onset (the force view's markers).

    Example:
        >>> detected_offsets_ms([0.5, 1.0], [0.5003, 0.9, 1.0001], 0.005)
        [[0.3], [0.1]]
    """
    detected = np.asarray(list(detected_s), np.float64)
    out = []
    for t in strike_times_s:
        near = detected[np.abs(detected - t) <= window_s / 2] if detected.size else detected
        out.append([round(float(d - t) * 1e3, 9) for d in near])
    return out


def _bodies(preset: Preset | None) -> list[tuple[str, Any]]:
    """("object", body) and ("tool", body) of the bodies ``preset`` has (none without a preset)."""
    if preset is None:
        return []
    return [(name, body) for name, body in (("object", preset.object), ("tool", preset.tool)) if body is not None]


def mode_rows(preset: Preset | None) -> list[dict[str, Any]]:
    """One row per mode of the object and the tool: {body, index, freq_hz, t60_s, gain_db}."""
    rows: list[dict[str, Any]] = []
    for body_name, body in _bodies(preset):
        for i, m in enumerate(body.modes):
            rows.append({"body": body_name, "index": i, "freq_hz": m.freq_hz, "t60_s": m.t60_s,
                         "gain_db": m.gain_db})
    return rows


#: What `damping_curves` says for a body without a stored law.
NO_LAW = "no damping law stored (fitted before this version)"


def damping_curves(preset: Preset | None, points: int = 64) -> list[dict[str, Any]]:
    """Each body's modes and its damping law (`workbench.damping`), for a T60-vs-frequency plot.

    Returns one dict per body present: {body ("object" / "tool"), freq_hz, t60_s, gain_db
    (its modes), law_freq_hz, law_t60_s, law_lo_s, law_hi_s ((points,) on a log grid over
    the law's ``freq_range_hz``: the law's T60 and the law divided / multiplied by its
    scatter factor exp(spread); empty without a law), text (the law's ``describe()`` line,
    or `NO_LAW`), law (bool)}. Plain text: a Markdown or HTML sink escapes it.
    """
    out: list[dict[str, Any]] = []
    for name, body in _bodies(preset):
        row: dict[str, Any] = {
            "body": name, "freq_hz": np.array([m.freq_hz for m in body.modes], float),
            "t60_s": np.array([m.t60_s for m in body.modes], float),
            "gain_db": np.array([m.gain_db for m in body.modes], float),
            "law_freq_hz": np.zeros(0), "law_t60_s": np.zeros(0), "law_lo_s": np.zeros(0),
            "law_hi_s": np.zeros(0), "text": NO_LAW, "law": False}
        if body.damping is not None:
            law = DampingLaw.from_dict(body.damping.model_dump())
            lo, hi = sorted(float(f) for f in law.freq_range_hz)
            grid = np.geomspace(lo, max(hi, lo * 1.001), points)
            t60 = law.t60_at(grid)
            scatter = math.exp(law.spread)
            row.update(law_freq_hz=grid, law_t60_s=t60, law_lo_s=t60 / scatter, law_hi_s=t60 * scatter,
                       text=law.describe(), law=True)
        out.append(row)
    return out
