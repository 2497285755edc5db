"""Physical edits of a preset: size, material and strike, each a documented law.

Pure maps ``Preset -> Preset`` (numpy only) of the struck object's modes and of the
impacts. `workbench.edits.apply_edits` applies them first (size, then material, then
strike) and the generic edits after, so the dashboard, the notebook and the exports share
one path. Every value is clipped into its `workbench.specs` range (a mode pushed past
24 kHz sits there, silent above the render's Nyquist frequency; one pushed under 20 Hz
sits at 20 Hz), and the modes keep their order, so the mode table's per-mode edits still
point at the same modes. The tool (another body), the residual, the noise and the room
are left as they are.

Notation: object mode k has frequency f_k (Hz), decay rate sigma_k = T60_DECAY / t60_k
(1/s) and gain g_k (dB per unit impulse); law(f) is the body's damping law (`body_damping`).

* `scaled` (size L): f_k / L; sigma_k law(f_k / L) / law(f_k); g_k - 40 log10 L.
* `with_material` (material m, amount a): f_k r^a with r = c_m / c_src, c = sqrt(E / rho);
  ln sigma_k' = ln sigma_k + a (ln law_m(f_k') - ln law_src(f_k)); g_k - 20 a log10(rho_m / rho_src).
* `struck` (velocity v, stiffness s, position x): contact tau v^(-1/5) s^(-2/5), impulse J v,
  so the peak force J / tau grows as v^(6/5) s^(2/5); g_k + 20 log10 max(|phi_k(x)| / 2, floor).

Example:
    >>> from workbench.presets import Preset
    >>> p = Preset(name="bar", sample_rate=44100, material="metal",
    ...            object={"modes": [{"freq_hz": 400, "t60_s": 2, "gain_db": 0},
    ...                              {"freq_hz": 1100, "t60_s": 1, "gain_db": -6}]},
    ...            impacts=[{"time_s": 0.01, "contact_s": 1e-3, "magnitude": 1}])
    >>> q = scaled(p, 2.0)
    >>> [m.freq_hz for m in q.object.modes], [round(m.gain_db, 2) for m in q.object.modes]
    ([200.0, 550.0], [-12.04, -18.04])
    >>> r = struck(p, velocity=2.0)
    >>> round(r.impacts[0].contact_s / p.impacts[0].contact_s, 4), r.impacts[0].magnitude
    (0.8706, 2.0)
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from . import specs
from .damping import DampingLaw, body_law
from .errors import WorkbenchError
from .materials import density, law_of, material_names, resolve_material, wave_speed
from .presets import Damping, Impact, ModalBody, Mode, Preset
from .specs import T60_DECAY

#: Sound pressure per unit impulse of a geometrically similar body of size L grows as L^this.
SIZE_LEVEL_EXPONENT = -2.0
#: Hertz contact: tau ~ v^(-1/5) E*^(-2/5) (Johnson, Contact Mechanics, sec. 11.4).
CONTACT_VELOCITY_EXPONENT = -0.2
CONTACT_STIFFNESS_EXPONENT = -0.4
#: Strike position of the fitted strike: an end of the beam, where every mode shape is 2.
REFERENCE_POSITION = 0.0
#: No mode's gain falls further than this when the strike lands on (or near) its node.
POSITION_FLOOR_DB = -40.0


def _positive(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise WorkbenchError(f"{name}: {value!r} must be a positive, finite number")
    return v


def _fraction(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not 0.0 <= v <= 1.0:
        raise WorkbenchError(f"{name}: {value!r} must be a number in [0, 1]")
    return v


@functools.lru_cache(maxsize=64)
def _fitted_law(modes: tuple) -> DampingLaw | None:
    return body_law(*np.array(modes, dtype=np.float64).T)


def _law(body: ModalBody, material: str) -> tuple[DampingLaw | None, bool]:
    """(law, whether it is the body's own) of `body_damping`."""
    if body.damping is not None:
        return DampingLaw.from_dict(body.damping.model_dump()), True
    law = _fitted_law(tuple((m.freq_hz, m.t60_s, m.gain_db) for m in body.modes)) if body.modes else None
    if law is not None:
        return law, True
    key = resolve_material(material)
    return (law_of(key), False) if key in material_names() else (None, False)


def body_damping(body: ModalBody, material: str = "") -> DampingLaw | None:
    """The damping law the physical edits use for ``body``: the stored one, else one fitted to
    its modes (`workbench.damping.body_law`), else the table's law of ``material``
    (`workbench.materials.law_of`), else None (fewer than 3 modes and no known material)."""
    return _law(body, material)[0]


def _arrays(body: ModalBody) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(freqs_hz, sigma 1/s, gains_db), each (K,), of ``body``'s modes."""
    f, t, g = (np.array([getattr(m, k) for m in body.modes], dtype=np.float64)
               for k in ("freq_hz", "t60_s", "gain_db"))
    return f, T60_DECAY / t, g


def _damping(law: DampingLaw | None) -> Damping | None:
    if law is None:
        return None
    lo, hi = (float(specs.FREQ_HZ.clip(v)) for v in law.freq_range_hz)
    return Damping.model_construct(law=law.kind, coefficients={k: float(v) for k, v in law.coefficients.items()},
                                   spread=float(min(law.spread, 50.0)), freq_range_hz=(lo, hi),
                                   n_modes=int(law.n_modes))


def _body(f, sigma, g, damping: Damping | None) -> ModalBody:
    """A body of (K,) frequencies, decay rates and gains, each clipped into its spec."""
    f, t, g = specs.FREQ_HZ.clip(f), specs.T60_S.clip(T60_DECAY / sigma), specs.GAIN_DB.clip(g)
    return ModalBody.model_construct(modes=tuple(
        Mode.model_construct(freq_hz=float(a), t60_s=float(b), gain_db=float(c)) for a, b, c in zip(f, t, g)),
        damping=damping)


def _finish(preset: Preset, changes: dict, record: dict) -> Preset:
    history = [*preset.provenance.get("physical_edits", []), record]
    return preset.model_copy(update={**changes, "provenance": {**preset.provenance, "physical_edits": history}})


def _moved(law: DampingLaw, ratio: float) -> DampingLaw:
    lo, hi = law.freq_range_hz
    return dataclasses.replace(law, freq_range_hz=(lo * ratio, hi * ratio))


def scaled(preset: Preset, size: float) -> Preset:
    """The preset's object made ``size`` times larger, geometrically similar (same material).

    * Frequencies / size: a body's modal frequencies are c / length times a number set by
      its shape (f ~ c h / L^2 for plates and shells, h ~ L too), so they all fall by L.
    * Decays: the damping law is taken as a property of the material at each frequency, so
      each mode moves along the body's law and keeps its own deviation from it:
      sigma' = sigma_k law(f_k / L) / law(f_k) (for a power law, a factor L^-p). The stored
      law stays the same function of frequency (its measured range moves by 1 / L).
    * Levels for the same impulse J: the modal mass grows as L^3, so the surface velocity
      ~ J / M falls as L^-3; the radiating area grows as L^2, and ka (size x wavenumber) is
      unchanged because f falls as 1 / L, so the radiation efficiency is the same. Radiated
      power ~ area x velocity^2 ~ L^-4, pressure ~ L^-2: gains change by -40 log10 L dB
      (-12.04 dB per doubling; `SIZE_LEVEL_EXPONENT`).

    Limits: geometric similarity (wall thickness scales too); damping from radiation or the
    mounting, which do not follow a material law, is treated as if it did; the law is
    extrapolated outside its measured range. The tool, the contact (set by the tool's mass
    and curvature when it is much lighter than the object), the residual, noise and room
    are unchanged.

    Args:
        preset: The preset (its ``object.damping`` when stored; see `body_damping`).
        size: L > 0 (1: unchanged).

    Raises:
        WorkbenchError: a size that is not a positive, finite number.
    """
    L = _positive("size", size)
    body = preset.object
    if L == 1.0 or not body.modes:
        return preset
    f, sigma, g = _arrays(body)
    law, own = _law(body, preset.material)
    if law is not None:
        sigma = sigma * law.sigma_at(f / L) / law.sigma_at(f)
    g = g + 20.0 * SIZE_LEVEL_EXPONENT * math.log10(L)
    damping = _damping(_moved(law, 1.0 / L)) if own else body.damping
    return _finish(preset, {"object": _body(f / L, sigma, g, damping)}, {"size": L})


def _blend(law_s: DampingLaw, law_t: DampingLaw, a: float, r: float) -> DampingLaw | None:
    """The morphed body's law when both are power laws: ln law'(f) = (1 - a) ln law_s(f / r) + a ln law_t(f)."""
    if law_s.kind != "power" or law_t.kind != "power":
        return None
    cs, ps = law_s.coefficients["c"], law_s.coefficients["p"]
    ct, pt = law_t.coefficients["c"], law_t.coefficients["p"]
    log_c = (1 - a) * (math.log(cs) - ps * math.log(r)) + a * math.log(ct)
    lo, hi = law_s.freq_range_hz
    return DampingLaw(kind="power", coefficients={"c": math.exp(log_c), "p": (1 - a) * ps + a * pt},
                      spread=law_s.spread, freq_range_hz=(lo * r, hi * r), n_modes=law_s.n_modes)


def with_material(preset: Preset, material: str, amount: float = 1.0, *, source: str | None = None) -> Preset:
    """The preset's object morphed towards ``material`` (same shape and size).

    * Frequencies x r^amount, r = c_target / c_source with c = sqrt(E / rho): at a fixed
      shape, every modal frequency is proportional to the wave speed.
    * Decays, in log sigma: ln sigma' = ln sigma_k + amount (ln law_t(f_k') - ln law_s(f_k)),
      law_s the body's own law (`body_damping`), law_t the target's (`workbench.materials.law_of`).
      At amount 1 the modes sit on the target's law with the body's own scatter about its law.
    * Levels for the same impulse: the mass, hence the surface velocity ~ 1 / M, scales with
      the density: gains change by -20 amount log10(rho_t / rho_s) dB.

    Limits: the shape's mode pattern (frequency ratios, mode shapes) is kept, as is the
    radiation efficiency (which really depends on the coincidence frequency, so on E and
    rho); one E per material (wood is anisotropic: along the grain); the target's law is a
    pooled average of its bodies (`workbench.materials`). The tool is another body: a
    different mallet is a `struck` stiffness.

    Args:
        preset: The preset; its ``material`` names the source material unless ``source`` does.
        material: Target, a key of the material table or text naming one (``"oak"``).
        amount: 0 (unchanged) to 1 (fully the target). Below 1 the preset keeps its material name.
        source: The source material when the preset's ``material`` is empty or unknown.

    Raises:
        WorkbenchError: an unknown target (names ``material``) or source (names ``source``),
            or an amount outside [0, 1].
    """
    a = _fraction("amount", amount)
    target = resolve_material(material)
    law_t = law_of(material, argument="material")
    text = preset.material if source is None else source
    src = resolve_material(text)
    if src not in material_names():
        what = repr(text) if source is not None else f"the preset's material {text!r}"
        raise WorkbenchError(f"source: {what} is not a material of the table ({', '.join(material_names())}); "
                             "give the preset one of these materials, or pass source=")
    body = preset.object
    if a == 0.0 or not body.modes:
        return preset
    r = wave_speed(target) / wave_speed(src)
    f, sigma, g = _arrays(body)
    law_s, _ = _law(body, src)
    f_new = f * r ** a
    sigma = sigma * np.exp(a * (np.log(law_t.sigma_at(f_new)) - np.log(law_s.sigma_at(f))))
    g = g - 20.0 * a * math.log10(density(target) / density(src))
    changes = {"object": _body(f_new, sigma, g, _damping(_blend(law_s, law_t, a, r ** a)))}
    if a == 1.0:
        changes["material"] = target
    return _finish(preset, changes, {"material": target, "amount": a, "source": src})


def _beam_beta(n: np.ndarray) -> np.ndarray:
    """beta_n L of the free-free beam's flexural modes n = 1, 2, ...: roots of cos b cosh b = 1."""
    b = (np.asarray(n, dtype=np.float64) + 0.5) * math.pi
    for _ in range(6):                      # Newton on cos b - sech b (no overflow: via exp(-b))
        e = np.exp(-b)
        sech, tanh = 2 * e / (1 + e * e), (1 - e * e) / (1 + e * e)
        b = b - (np.cos(b) - sech) / (-np.sin(b) + sech * tanh)
    return b


def beam_mode_shape(n, x: float) -> np.ndarray:
    """Mode shapes phi_n(x) of a free-free Euler-Bernoulli beam, normalised so phi_n(0) = 2.

    phi_n(x) = cosh(b x) + cos(b x) - s (sinh(b x) + sin(b x)), s = (cosh b - cos b) / (sinh b - sin b),
    evaluated without overflow; x in [0, 1] is the position along the beam (0 and 1: its ends).

    Args:
        n: (K,) mode numbers, 1 = the first flexural mode.
        x: Position.

    Example:
        >>> [round(float(v), 3) for v in beam_mode_shape([1, 2, 3], 0.5)]
        [-1.216, 0.0, 1.422]
    """
    b = _beam_beta(n)
    e = np.exp(-b)
    d = 1 - e * e - 2 * e * np.sin(b)
    s = (1 + e * e - 2 * e * np.cos(b)) / d
    return (np.cos(b * x) - s * np.sin(b * x) + 0.5 * (1 + s) * np.exp(-b * x)
            + (np.cos(b) - np.sin(b) - e) * np.exp(b * (x - 1)) / d)


def position_gains_db(freqs_hz, x: float) -> np.ndarray:
    """(K,) dB added to modes at ``freqs_hz`` by a strike at ``x`` instead of `REFERENCE_POSITION`.

    The modes, in frequency order, take the free-free beam's shapes (`beam_mode_shape`);
    20 log10(|phi_k(x)| / |phi_k(0)|), floored at `POSITION_FLOOR_DB`.

    Example:
        >>> [round(float(v), 1) for v in position_gains_db([300.0, 800.0, 1500.0], 0.5)]
        [-4.3, -40.0, -3.0]
    """
    f = np.asarray(freqs_hz, dtype=np.float64).reshape(-1)
    order = np.empty(len(f), dtype=np.int64)
    order[np.argsort(f, kind="stable")] = np.arange(1, len(f) + 1)
    ratio = np.abs(beam_mode_shape(order, x)) / 2.0
    return 20.0 * np.log10(np.maximum(ratio, 10.0 ** (POSITION_FLOOR_DB / 20.0)))


def struck(preset: Preset, *, velocity: float = 1.0, stiffness: float = 1.0,
           position: float | None = None) -> Preset:
    """The preset struck faster or slower, with a harder or softer mallet, elsewhere.

    Hertz's contact of a sphere of effective mass m* and radius R on a half-space, closing
    at velocity v with effective modulus E* (1 / E* = sum (1 - nu^2) / E over the two
    bodies; `workbench.materials.contact_modulus`): contact time tau ~ (m*^2 / (E*^2 R v))^(1/5)
    and peak force ~ E*^(2/5) R^(1/5) m*^(3/5) v^(6/5) (Johnson, Contact Mechanics, sec. 11.4).

    * ``velocity`` v (relative to the fitted strike): every impact's contact_s x v^(-1/5) and
      magnitude (the impulse, ~ m* v) x v, so the peak force ~ impulse / tau grows as v^(6/5);
      the shorter pulse excites higher modes: the sound brightens.
    * ``stiffness`` s = E* / E*_fitted: contact_s x s^(-2/5), the impulse unchanged, peak force x s^(2/5).
    * ``position`` x in [0, 1] along the object: a 1-D approximation, as no mode shapes are
      known. The modes, in frequency order, take the shapes of a free-free beam (mode k: the
      beam's k-th flexural mode) and the fitted strike is taken at an end (x = 0), the one
      point where every beam mode has the same amplitude, so the fitted gains are kept as the
      reference and none is at a node; gains change by 20 log10 |phi_k(x) / phi_k(0)|, floored
      at `POSITION_FLOOR_DB` (a mode struck at its node falls 40 dB, not to silence). x = 0.5
      (the middle) silences the antisymmetric modes (2nd, 4th, ...). None or 0: unchanged.

    Limits: the restitution coefficient and the contact's mass and radius are kept; real
    objects' modes are not a beam's (bowls and plates have 2-D patterns and pairs of modes).

    Raises:
        WorkbenchError: a velocity or stiffness that is not positive and finite, or a
            position outside [0, 1].
    """
    v = _positive("velocity", velocity)
    s = _positive("stiffness", stiffness)
    x = None if position is None else _fraction("position", position)
    changes = {}
    if v != 1.0 or s != 1.0:
        tau = v ** CONTACT_VELOCITY_EXPONENT * s ** CONTACT_STIFFNESS_EXPONENT
        changes["impacts"] = tuple(Impact.model_construct(
            time_s=i.time_s, contact_s=float(specs.CONTACT_S.clip(i.contact_s * tau)),
            magnitude=float(specs.MAGNITUDE.clip(i.magnitude * v))) for i in preset.impacts)
    body = preset.object
    if x is not None and x != REFERENCE_POSITION and body.modes:
        f, sigma, g = _arrays(body)
        changes["object"] = _body(f, sigma, g + position_gains_db(f, x), body.damping)
    if not changes:
        return preset
    return _finish(preset, changes, {"velocity": v, "stiffness": s, "position": x})
