"""Parameter ranges of the impact model, declared once as data.

Every consumer reads these specs: the optimiser's bounded mappings
(`workbench.functional.scaling`), the dashboard's sliders, random sampling of
presets, and preset validation. No range, bias or scale is written anywhere else.

Conventions (physical units throughout):

* A mode rings as ``10**(gain_db/20) * exp(-6.908 t / t60_s) * sin(2 pi freq_hz t)``
  per unit impulse of contact force, so ``gain_db`` is the mode's onset amplitude in
  dBFS for an impact of magnitude 1.
* A contact pulse of ``magnitude`` m is normalised to the impulse m (its integral
  over time in seconds is m), so it only shapes the spectrum through ``contact_s``.
* Noise band gains: if every band has gain g dB the noise is white with RMS 10**(g/20).
* Reverb band gains: for white input, band b's wet energy relative to the dry sound
  is 10**(gain_db/10) * t60_s / 13.8 (13.8 = 2 * 6.908).
* Residual band gains (the noisy part of a strike that modes do not explain, Su et al.
  eq. 5-6): per unit impulse of contact force, band b rings as noise whose power
  spectral density starts at 10**(gain_db/10) per Hz and decays 60 dB in t60_s,
  independent of the sample rate: an octave band centred at f Hz starts at an RMS of
  about 10**(gain_db/20) * sqrt(0.95 f) (1 kHz at -40 dB: 0.31).

Example:
    >>> FREQ_HZ.contains(440.0), FREQ_HZ.contains(30_000.0), float(T60_S.clip(100.0))
    (True, False, 60.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

#: 3 ln 10: an amplitude envelope exp(-T60_DECAY * t / t60) falls 60 dB at t60.
T60_DECAY = 3.0 * math.log(10.0)
#: Default ceiling of every render and export the workbench writes, in dB re full scale (1.0).
HEADROOM_DBFS = -1.0
#: Writers aim this far (dB) under the ceiling, so float32 and 16-bit rounding stay under it...
HEADROOM_MARGIN_DB = 0.01
#: ...that is, at this linear peak (full scale 1.0).
HEADROOM_PEAK = 10.0 ** ((HEADROOM_DBFS - HEADROOM_MARGIN_DB) / 20.0)

Scale = Literal["linear", "log"]


@dataclass(frozen=True, kw_only=True)
class ParamSpec:
    """One physical parameter: its unit, bounds, scale, default and meaning.

    Attributes:
        name: Key of the parameter in presets and controls.
        unit: Physical unit, as shown on sliders and in tables.
        minimum: Smallest valid value (inclusive). For ``scale="log"`` it may be 0,
            in which case ``floor`` is used as the smallest value of the log map.
        maximum: Largest valid value (inclusive).
        scale: ``"log"`` for quantities spanning decades (Hz, seconds), else ``"linear"``.
        default: A plausible value for new presets and sliders.
        doc: One sentence for tooltips and docs.
        floor: Smallest positive value of the log map when ``minimum`` is 0.
    """

    name: str
    unit: str
    minimum: float
    maximum: float
    scale: Scale
    default: float
    doc: str
    floor: float = 0.0

    def __post_init__(self) -> None:
        lo = self.map_minimum
        if not (lo <= self.default <= self.maximum and lo < self.maximum):
            raise ValueError(f"ParamSpec {self.name!r}: bad bounds or default")
        if self.scale == "log" and lo <= 0:
            raise ValueError(f"ParamSpec {self.name!r}: log scale needs a positive minimum or floor")

    @property
    def map_minimum(self) -> float:
        """The lower end of the optimiser/slider mapping (``floor`` when minimum is 0)."""
        return self.floor if (self.scale == "log" and self.minimum == 0) else self.minimum

    def contains(self, value: float) -> bool:
        """Whether ``value`` is finite and within [minimum, maximum]."""
        return bool(np.isfinite(value)) and self.minimum <= value <= self.maximum

    def clip(self, value):
        """Clip a float or numpy array into the mapping range."""
        return np.clip(value, self.map_minimum, self.maximum)

    def sample(self, rng: np.random.Generator, size=None, *, low: float | None = None, high: float | None = None):
        """Draw uniformly on the spec's scale (log-uniform for log scale) within [low, high]."""
        lo = self.map_minimum if low is None else low
        hi = self.maximum if high is None else high
        if self.scale == "log":
            return np.exp(rng.uniform(math.log(lo), math.log(hi), size))
        return rng.uniform(lo, hi, size)


# Modes of the struck object (and of the striking tool).
FREQ_HZ = ParamSpec(name="freq_hz", unit="Hz", minimum=20.0, maximum=24_000.0, scale="log",
    default=440.0, doc="Mode frequency; modes at or above Nyquist are silent.")
T60_S = ParamSpec(name="t60_s", unit="s", minimum=0.001, maximum=60.0, scale="log",
    default=0.5, doc="Time for the mode to decay by 60 dB.")
GAIN_DB = ParamSpec(name="gain_db", unit="dB", minimum=-140.0, maximum=40.0, scale="linear",
    default=-20.0, doc="Mode onset amplitude per unit impulse of contact force, in dBFS.")

# Contact force: a sum of Gaussian-approximated Hertz pulses (DiffImpact eq. 2-3).
TIME_S = ParamSpec(name="time_s", unit="s", minimum=0.0, maximum=3600.0, scale="linear",
    default=0.05, doc="Onset of the contact (start of the pulse's rise).")
CONTACT_S = ParamSpec(name="contact_s", unit="s", minimum=5e-5, maximum=0.02, scale="log",
    default=5e-4, doc="Contact duration tau; harder, faster contacts are shorter and brighter.")
MAGNITUDE = ParamSpec(name="magnitude", unit="", minimum=0.0, maximum=1000.0, scale="log",
    default=1.0, doc="Impulse of the contact (integral of the force), arbitrary units.", floor=1e-6)

# Direct acceleration sound alpha * F (the click of the contact itself).
ACCELERATION = ParamSpec(name="acceleration", unit="s", minimum=0.0, maximum=0.01, scale="log",
    default=1e-6, doc="Weight of the contact force added directly to the sound (the click).", floor=1e-9)

# Background noise: stationary, shaped by band gains.
NOISE_GAIN_DB = ParamSpec(name="gain_db", unit="dB", minimum=-160.0, maximum=0.0, scale="linear",
    default=-90.0, doc="Background noise level in this band (dBFS RMS if all bands were equal).")

# Room reverb: exponentially decaying band-filtered noise.
REVERB_GAIN_DB = ParamSpec(name="gain_db", unit="dB", minimum=-80.0, maximum=20.0, scale="linear",
    default=-20.0, doc="Reverb level in this band.")
REVERB_T60_S = ParamSpec(name="t60_s", unit="s", minimum=0.02, maximum=10.0, scale="log",
    default=0.4, doc="Reverberation time in this band.")

# Residual: exponentially decaying band noise excited by each strike (not stationary, not the room).
RESIDUAL_GAIN_DB = ParamSpec(name="gain_db", unit="dB", minimum=-160.0, maximum=0.0, scale="linear",
    default=-80.0, doc="Residual (strike noise) onset level in this band, dB re 1/Hz per unit impulse.")
RESIDUAL_T60_S = ParamSpec(name="t60_s", unit="s", minimum=0.005, maximum=2.0, scale="log",
    default=0.05, doc="Time for the residual in this band to decay by 60 dB.")

# Band layouts (centre frequencies) used by new presets and by the fitter.
NOISE_BAND_FREQS_HZ = tuple(float(f) for f in np.geomspace(40.0, 16_000.0, 16).round(1))
REVERB_BAND_FREQS_HZ = tuple(float(f) for f in np.geomspace(63.0, 16_000.0, 9).round(1))
#: The residual uses the reverb's (octave-spaced) band centres.
RESIDUAL_BAND_FREQS_HZ = REVERB_BAND_FREQS_HZ

# Sample rates the renderer and audio loader accept.
SAMPLE_RATE = ParamSpec(name="sample_rate", unit="Hz", minimum=16_000, maximum=96_000, scale="linear",
    default=44_100, doc="Sample rate of rendering and fitting.")
# Length of a preset's sound (and of a render).
DURATION_S = ParamSpec(name="duration_s", unit="s", minimum=0.01, maximum=600.0, scale="log",
    default=2.0, doc="Length of the rendered sound.")
MIN_LOAD_SAMPLE_RATE = 4_000
MAX_LOAD_SAMPLE_RATE = 384_000

MODE_SPECS = (FREQ_HZ, T60_S, GAIN_DB)
IMPACT_SPECS = (TIME_S, CONTACT_S, MAGNITUDE)
NOISE_SPECS = (NOISE_GAIN_DB,)
REVERB_SPECS = (REVERB_GAIN_DB, REVERB_T60_S)
RESIDUAL_SPECS = (RESIDUAL_GAIN_DB, RESIDUAL_T60_S)
