"""Plot data for the views: numpy arrays sized for Bokeh sources (no UI here).

* `envelope` - min/max waveform envelope in a fixed number of time bins.
* `spectrogram_image`, `spectrogram_cached` - a dBFS spectrogram pooled to a small image.
* `force_profile` - the contact force of a preset (`workbench.rendering.force_profile`),
  max-pooled so that short pulses stay visible.
* `mode_rows` - one row per object and tool mode (tables, scatter plots).

Example:
    >>> env = envelope(np.sin(np.linspace(0, 20, 8000)), 8000, columns=100)
    >>> sorted(env), env["t"].shape, float(env["hi"].max()) <= 1.0
    (['hi', 'lo', 't'], (100,), True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

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


def mode_rows(preset: Preset | None) -> list[dict[str, Any]]:
    """One row per mode of the object and the tool: {body, index, freq_hz, t60_s, gain_db}."""
    rows: list[dict[str, Any]] = []
    if preset is None:
        return rows
    for body_name, body in (("object", preset.object), ("tool", preset.tool)):
        if body is None:
            continue
        for i, m in enumerate(body.modes):
            rows.append({"body": body_name, "index": i, "freq_hz": m.freq_hz, "t60_s": m.t60_s,
                         "gain_db": m.gain_db})
    return rows
