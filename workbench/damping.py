"""Damping laws: how a body's decay rate grows with frequency.

A struck object's modes do not decay independently: the material and the mounting
set a law over frequency, and weak modes follow the law their strong neighbours show.
Two classic forms, both for the decay rate sigma = T60_DECAY / t60_s (1/s):

* ``"rayleigh"`` (proportional damping, C = a M + b K): sigma(f) = a / 2 + b (2 pi f)^2 / 2;
* ``"power"``: sigma(f) = c (f / 1 kHz)^p (p = 0: frequency-independent loss, the
  viscoelastic and thermoelastic regimes between 0 and 2).

`fit_damping_law` fits either form to modes (weighted least squares of log sigma, so
short and long decays count alike; weights are the modes' energies) and returns a
`DampingLaw` whose ``spread`` is the weighted RMS of the log residuals: how far the
body's modes scatter around their law (the fitter's prior on t60 uses it as its
width; `workbench.fitting.damping_prior`). ``kind="auto"`` fits both and keeps the one
with the smaller spread, preferring the power law unless the Rayleigh law is clearly
better (one parameter more expressive near 0 Hz, it overfits few modes).

Numpy only: presets store the law, the fitter and the physical edits evaluate it.

Example:
    >>> import numpy as np
    >>> f = np.array([200.0, 500.0, 1000.0, 2000.0, 5000.0])
    >>> t60 = T60_DECAY / (3.0 * (f / 1000.0) ** 0.8)
    >>> law = fit_damping_law(f, t60, kind="power")
    >>> law.kind, round(law.coefficients["c"], 3), round(law.coefficients["p"], 3), round(law.spread, 6)
    ('power', 3.0, 0.8, 0.0)
    >>> [round(float(t), 3) for t in law.t60_at(np.array([1000.0]))]
    [2.303]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize

from .errors import WorkbenchError
from .specs import T60_DECAY

KINDS = ("power", "rayleigh")
#: With ``kind="auto"``, the Rayleigh law replaces the power law only if its spread is
#: this much smaller (relative).
RAYLEIGH_MARGIN = 0.9
#: Fewest modes a law is fitted to (fewer: no law).
MIN_MODES = 3
_REF_HZ = 1000.0


@dataclass(frozen=True)
class DampingLaw:
    """sigma(f) (1/s) of one body; see the module docstring for the forms.

    Attributes:
        kind: ``"power"`` (coefficients ``c`` 1/s at 1 kHz, ``p``) or ``"rayleigh"``
            (``a`` 1/s, ``b`` s).
        coefficients: The form's coefficients.
        spread: Weighted RMS of ln(t60 / law) over the fitted modes (0: exact).
        freq_range_hz: (lowest, highest) fitted mode frequency: where the law was measured.
        n_modes: Modes it was fitted to.
    """

    kind: str
    coefficients: dict[str, float]
    spread: float = 0.0
    freq_range_hz: tuple[float, float] = (20.0, 20000.0)
    n_modes: int = 0
    extra: dict = field(default_factory=dict, compare=False)

    def sigma_at(self, freqs_hz) -> np.ndarray:
        """Decay rate (1/s) at ``freqs_hz`` (any shape)."""
        f = np.asarray(freqs_hz, dtype=np.float64)
        c = self.coefficients
        if self.kind == "power":
            return c["c"] * (f / _REF_HZ) ** c["p"]
        return c["a"] / 2.0 + c["b"] * (2.0 * math.pi * f) ** 2 / 2.0

    def t60_at(self, freqs_hz) -> np.ndarray:
        """60 dB decay time (s) the law gives at ``freqs_hz``."""
        return T60_DECAY / np.maximum(self.sigma_at(freqs_hz), 1e-9)

    def to_dict(self) -> dict:
        """The preset's ``damping`` entry (JSON-ready)."""
        return {"law": self.kind, "coefficients": {k: float(v) for k, v in self.coefficients.items()},
                "spread": float(self.spread), "freq_range_hz": [float(x) for x in self.freq_range_hz],
                "n_modes": int(self.n_modes)}

    @classmethod
    def from_dict(cls, d: dict) -> "DampingLaw":
        return cls(kind=d["law"], coefficients=dict(d["coefficients"]), spread=float(d.get("spread", 0.0)),
                   freq_range_hz=tuple(d.get("freq_range_hz", (20.0, 20000.0))), n_modes=int(d.get("n_modes", 0)))

    def describe(self) -> str:
        """One line for reports, e.g. ``sigma = 3.1 (f / 1 kHz)^0.82 /s, spread x1.4``."""
        c = self.coefficients
        if self.kind == "power":
            body = f"sigma = {c['c']:.3g} (f / 1 kHz)^{c['p']:.2f} /s"
        else:
            body = f"sigma = {c['a'] / 2:.3g} + {c['b'] / 2:.3g} (2 pi f)^2 /s (Rayleigh)"
        return f"{body}, spread x{math.exp(self.spread):.2f} over {self.n_modes} modes"


def _weights(t60: np.ndarray, weights) -> np.ndarray:
    w = np.ones_like(t60) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != t60.shape or np.any(~np.isfinite(w)) or np.any(w < 0):
        raise WorkbenchError(f"weights: need {t60.shape[0]} finite values >= 0")
    return w / w.sum() if w.sum() > 0 else np.full_like(t60, 1.0 / len(t60))


def _fit_power(f, log_sigma, w) -> tuple[dict, np.ndarray]:
    x = np.log(f / _REF_HZ)
    a = np.stack([np.ones_like(x), x], 1) * np.sqrt(w)[:, None]
    (log_c, p), *_ = np.linalg.lstsq(a, log_sigma * np.sqrt(w), rcond=None)
    p = float(np.clip(p, -1.0, 4.0))
    log_c = float(np.sum(w * (log_sigma - p * x)))        # re-centred after the clip
    return {"c": math.exp(log_c), "p": p}, log_sigma - (log_c + p * x)


def _fit_rayleigh(f, log_sigma, w) -> tuple[dict, np.ndarray]:
    omega2 = (2.0 * math.pi * f) ** 2

    def residual(theta):
        a, b = np.exp(theta)
        return np.sqrt(w) * (log_sigma - np.log(a / 2.0 + b * omega2 / 2.0))

    sigma = np.exp(log_sigma)
    start = np.log([max(2.0 * float(np.min(sigma)), 1e-6), max(float(np.median(2.0 * sigma / omega2)), 1e-15)])
    theta = scipy.optimize.least_squares(residual, start, method="lm" if len(f) > 2 else "trf").x
    a, b = np.exp(theta)
    return {"a": float(a), "b": float(b)}, log_sigma - np.log(a / 2.0 + b * omega2 / 2.0)


def fit_damping_law(freqs_hz, t60_s, weights=None, *, kind: str = "auto") -> DampingLaw | None:
    """Fit a damping law to modes.

    Args:
        freqs_hz: (K,) mode frequencies in Hz.
        t60_s: (K,) their 60 dB decay times in s.
        weights: (K,) >= 0, e.g. the modes' energies (default: equal).
        kind: ``"power"``, ``"rayleigh"`` or ``"auto"`` (see the module docstring).

    Returns:
        The law, or None with fewer than `MIN_MODES` modes.

    Raises:
        WorkbenchError: an unknown kind, or arrays of different lengths / non-positive values.
    """
    if kind not in KINDS + ("auto",):
        raise WorkbenchError(f"kind: {kind!r} is not one of {', '.join(KINDS + ('auto',))}")
    f = np.asarray(freqs_hz, dtype=np.float64).reshape(-1)
    t60 = np.asarray(t60_s, dtype=np.float64).reshape(-1)
    if f.shape != t60.shape or np.any(~np.isfinite(f)) or np.any(f <= 0) or np.any(~(t60 > 0)):
        raise WorkbenchError("freqs_hz and t60_s: need equal lengths of positive, finite values")
    if len(f) < MIN_MODES:
        return None
    w = _weights(t60, weights)
    log_sigma = np.log(T60_DECAY / t60)
    fits = {}
    for k in (KINDS if kind == "auto" else (kind,)):
        coefficients, resid = (_fit_power if k == "power" else _fit_rayleigh)(f, log_sigma, w)
        fits[k] = (coefficients, float(np.sqrt(np.sum(w * resid**2))))
    chosen = kind
    if kind == "auto":
        chosen = "rayleigh" if fits["rayleigh"][1] < RAYLEIGH_MARGIN * fits["power"][1] else "power"
    coefficients, spread = fits[chosen]
    return DampingLaw(kind=chosen, coefficients=coefficients, spread=spread,
                      freq_range_hz=(float(f.min()), float(f.max())), n_modes=len(f))


def mode_energies(gains_db, t60_s) -> np.ndarray:
    """Energy of each mode's ring per unit impulse (relative): 10^(gain_db / 10) x t60_s."""
    return 10.0 ** (np.asarray(gains_db, dtype=np.float64) / 10.0) * np.asarray(t60_s, dtype=np.float64)


#: Modes more than this far (dB) below a body's loudest do not inform its law.
AUDIBLE_DB = 80.0


def body_law(freqs_hz, t60_s, gains_db) -> DampingLaw | None:
    """The damping law of one body's modes: `fit_damping_law` (``kind="auto"``) on the
    modes within `AUDIBLE_DB` of the loudest, weighted by the square root of their
    energy (strong modes lead, weak ones still count)."""
    f, t60, g = (np.asarray(x, dtype=np.float64).reshape(-1) for x in (freqs_hz, t60_s, gains_db))
    if len(g) == 0:
        return None
    audible = g > g.max() - AUDIBLE_DB
    return fit_damping_law(f[audible], t60[audible], np.sqrt(mode_energies(g[audible], t60[audible])))


def with_laws(preset):
    """The preset with each body's fitted damping law stored (``object.damping``, ``tool.damping``)."""
    changes = {}
    for role in ("object", "tool"):
        body = getattr(preset, role)
        if body is None:
            continue
        law = body_law(*zip(*[(m.freq_hz, m.t60_s, m.gain_db) for m in body.modes])) if body.modes else None
        changes[role] = {**body.model_dump(mode="json"), "damping": law.to_dict() if law else None}
    return preset.replace(**changes) if changes else preset
