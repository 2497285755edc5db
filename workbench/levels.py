"""Output levels: what renders and exports of a preset peak at, and headroom by default.

A fitted model can peak above the recording it matches (its modes start in phase, a
recording's do not quite), and a user's edits can push any preset past full scale. By
default nothing the workbench writes peaks above `HEADROOM_DBFS`: `limit_peak` lowers
a preset's level (impact magnitudes, and the background noise with them, so the
balance is kept) until its default render does, and records the gain in
``provenance["level_gain_db"]`` (summed over repeated limits) so that fits of one
recording stay comparable.

Example:
    >>> from workbench.presets import Preset
    >>> loud = Preset(name="bell", sample_rate=16000, duration_s=0.5,
    ...               object={"modes": [{"freq_hz": 440, "t60_s": 2, "gain_db": 12}]},
    ...               impacts=[{"time_s": 0.01, "contact_s": 5e-4, "magnitude": 1}])
    >>> round(peak_dbfs(loud), 1) > HEADROOM_DBFS
    True
    >>> safe = limit_peak(loud)
    >>> round(peak_dbfs(safe), 1), peak_dbfs(safe) <= HEADROOM_DBFS, safe.provenance["level_gain_db"] < 0
    (-1.0, True, True)
"""

from __future__ import annotations

import math

import numpy as np

from . import specs
from .presets import Preset
from .rendering import render
from .specs import HEADROOM_DBFS, HEADROOM_MARGIN_DB


def peak_dbfs(preset: Preset, *, duration_s: float | None = None) -> float:
    """Peak of the preset's default render (all parts, its own rate and length), in dBFS."""
    y = render(preset, duration_s=duration_s, device="cpu")
    return 20.0 * math.log10(max(float(np.max(np.abs(y))) if y.size else 0.0, 1e-12))


def scale_level(preset: Preset, gain_db: float) -> Preset:
    """The preset ``gain_db`` louder: impact magnitudes and noise bands (which do not
    follow the force) scaled together; the gain is added to ``provenance["level_gain_db"]``.

    Magnitudes and noise gains are clipped into their `workbench.specs` ranges.
    """
    g = 10.0 ** (gain_db / 20.0)
    impacts = [{**i.model_dump(), "magnitude": specs.MAGNITUDE.clip(i.magnitude * g)} for i in preset.impacts]
    noise = preset.noise.model_copy(update={"bands": tuple(
        b.model_copy(update={"gain_db": specs.NOISE_GAIN_DB.clip(b.gain_db + gain_db)}) for b in preset.noise.bands)})
    total = float(preset.provenance.get("level_gain_db", 0.0)) + gain_db
    return preset.replace(impacts=impacts, noise=noise,
                          provenance={**preset.provenance, "level_gain_db": round(total, 6)})


def limit_peak(preset: Preset, *, max_peak_dbfs: float = HEADROOM_DBFS) -> Preset:
    """The preset, lowered just enough that its default render peaks at ``max_peak_dbfs``
    (unchanged when it already peaks at or below it).

    The render is linear in the level except where a magnitude or noise gain meets its
    range's bound, so one correction (checked by a second render) is enough.
    """
    out = preset
    for _ in range(3):
        over = peak_dbfs(out) - max_peak_dbfs
        if over <= 0.0:
            break
        out = scale_level(out, -over - HEADROOM_MARGIN_DB)
    return out
