"""ThreeDWorld (PyImpact) export: a material table, a ``Modes`` JSON, ``ObjectAudioStatic``
records and a script that plays them.

Each choice follows from what PyImpact (``tdw==1.13.0.0``, see
``docs/export_formats.md`` section 1) does with the numbers:

* **Which modes, in which order.** PyImpact reads only the *first 10* entries of a
  ``{"cf", "op", "rt"}`` table and jitters each one (f ~ N(cf, cf/10), p ~ N(op, 10 dB),
  T ~ N(rt, rt/10)). The material file holds the 10 modes with most energy,
  amplitude² × T60 ∝ ``10**(gain_db/10) * t60_s``, in that order. With fewer than 10
  playable modes it is padded to 10 (PyImpact indexes ``range(10)``) with copies of the
  strongest mode's ``cf``/``rt`` at ``op`` = -120 dB: silent, since PyImpact cuts every
  mode at p <= -80 dB (the 10 dB jitter lifts one above -80 dB with probability 3e-5, and
  then it doubles an existing frequency 50 dB down). The ``Modes`` JSON has *every*
  playable mode in the same order, for the deterministic path
  (``PyImpact._synth_impact_modes``), which has no 10-mode limit and no jitter.
* **Levels.** PyImpact sums ``10**(p/20) * 10**(-3 t / T) * cos(2 pi f t)`` and cuts each
  mode at its -80 dB re 1 point; we render ``10**(g/20) * exp(-6.908 t / T) * sin(2 pi f t)``
  (the same decay: 10**(-3 t/T) = exp(-6.908 t/T); cosine instead of sine phase, which the
  format cannot change). PyImpact peak-normalises every sound, so only relative levels and
  the cut matter; ``p = gain_db + offset``, with one offset per file:

  - ``<role>_modes.json`` (the ``Modes`` path, played alone and peak-normalised): the
    strongest mode at `MODES_PEAK_DB` = +20 dB re 1, so every tail is kept down to 100 dB
    below the strongest onset, past the 96 dB a 16-bit sound holds (the workbench's players
    and PyImpact's ``Base64Sound`` are 16-bit). At -30 dB the cut fell 50 dB below it and
    chopped the weak, long modes the workbench plays. Modes more than 100 dB below the
    strongest are dropped (warned).
  - the material table (mixed with a partner's built-in table in PyImpact's collisions):
    the strongest mode at ``peak_db`` (default -30 dB; tdw's own tables put theirs at -17 to
    -48 dB), raised just enough (at most to -20 dB) to lift weak modes to -79 dB; modes
    still at or below -80 dB there are left out of the table (warned if among its 10).
* **Units.** ``cf`` and ``frequencies`` in Hz; ``op`` and ``powers`` in dB re 1; ``rt`` in
  seconds (material files), ``decay_times`` in milliseconds (``Modes``), both T60.
  ``resonance`` = 1 (it multiplies T60; the fitted T60 is exported as is).
* **Contact -> mass.** PyImpact convolves with a half-sine of length
  ``min(1 ms/kg * m, 2 ms)``, m the smaller of the two masses. The contact duration tau of
  the preset's loudest impact becomes ``mass = tau / (1 ms/kg)``, at least 0.03 kg (below
  about 0.023 kg the half-sine is one sample long: zero force, NaN output). It is an
  *audio* mass: give it to PyImpact, not necessarily to the physics engine.
* **Not exported.** PyImpact synthesises modes only: the preset's background noise,
  room reverb and strike residual (decaying band noise) have no place in its formats.
* **Loudness.** ``amp`` = peak of our render of that body alone (full scale 1), clipped
  to [0.01, 1]. PyImpact's output peak is ``amp * initial_amp``. On the first impact
  PyImpact also adds ``20 log10(partner_amp / amp)`` to the primary's decay times *in
  milliseconds* (a quirk; the floor's amp is 0.5); the export reports that shift and
  warns when it exceeds 10 % of the shortest T60.
* **Built-in fallback.** ``material`` (an ``AudioMaterial`` name) comes from the preset's
  ``material`` text when it names one (``"steel"`` -> ``metal``); ``size`` (and the
  material, when the text names none) is the shipped ``material_data`` table nearest to the
  fitted modes in energy-weighted mean log10 frequency and log10 T60.

PyImpact's own limits and shipped tables live in `workbench.export.tdw_compat`;
`workbench.export.tdw_verify.round_trip` renders the exported ``Modes`` with ThreeDWorld's
own ``Modes.sum_modes`` and compares it with our modal IR of the same modes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import WorkbenchError
from ..names import AUDIO_MATERIALS, slugify
from ..presets import Preset
from ..specs import HEADROOM_DBFS, HEADROOM_PEAK
from .common import json_bytes, loudest_impact, write_file
from .tdw_compat import (CONTACT_S_PER_KG, FLOOR_AMP, MAX_CONTACT_S, MIN_FREQ_HZ, MIN_MASS_KG, MIN_POWER_DB,
                         MIN_T60_S, N_MATERIAL_MODES, TDW_SAMPLE_RATE, TDW_VERSION, nearest_builtin, tdw_dir,
                         typical_bounciness)

#: Power of the silent entries that pad a material table to 10 modes.
PAD_POWER_DB = -120.0
#: Default and highest power of the strongest mode of a material table (PyImpact's mixing level).
DEFAULT_PEAK_DB = -30.0
MAX_PEAK_DB = -20.0
#: Power of the strongest mode of a ``Modes`` JSON: PyImpact's -80 dB re 1 cut falls 100 dB below it.
MODES_PEAK_DB = 20.0

#: JSON schema of a material file (``<key>_mm.json``), PyImpact's ``material_data`` format.
MATERIAL_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "PyImpact material table",
    "type": "object",
    "required": ["cf", "op", "rt", "synthMethod"],
    "additionalProperties": False,
    "properties": {
        "cf": {"type": "array", "minItems": N_MATERIAL_MODES,
               "items": {"type": "number", "minimum": MIN_FREQ_HZ, "exclusiveMaximum": TDW_SAMPLE_RATE / 2}},
        "op": {"type": "array", "minItems": N_MATERIAL_MODES, "items": {"type": "number", "maximum": 0}},
        "rt": {"type": "array", "minItems": N_MATERIAL_MODES, "items": {"type": "number", "minimum": MIN_T60_S}},
        "synthMethod": {"const": "matchedMode"},
    },
}

#: JSON schema of a ``Modes``-level file (``object_modes.json``).
MODES_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "tdw.physics_audio.modes.Modes plus playback settings",
    "type": "object",
    "required": ["frequencies", "powers", "decay_times", "resonance", "mass_kg", "amp"],
    "additionalProperties": False,
    "properties": {
        "frequencies": {"type": "array", "minItems": 1,
                        "items": {"type": "number", "minimum": MIN_FREQ_HZ,
                                  "exclusiveMaximum": TDW_SAMPLE_RATE / 2}},
        "powers": {"type": "array", "minItems": 1,
                   "items": {"type": "number", "exclusiveMinimum": MIN_POWER_DB, "maximum": MODES_PEAK_DB}},
        "decay_times": {"type": "array", "minItems": 1, "items": {"type": "number", "minimum": 1000 * MIN_T60_S}},
        "resonance": {"type": "number", "exclusiveMinimum": 0},
        "mass_kg": {"type": "number", "minimum": MIN_MASS_KG},
        "amp": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    },
}

#: JSON schema of an ``ObjectAudioStatic``-style record (``object_audio_static.json``).
AUDIO_STATIC_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "tdw.physics_audio.object_audio_static.ObjectAudioStatic (without object_id)",
    "type": "object",
    "required": ["name", "amp", "mass", "material", "bounciness", "resonance", "size"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "amp": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "mass": {"type": "number", "minimum": MIN_MASS_KG},
        "material": {"enum": list(AUDIO_MATERIALS)},
        "bounciness": {"type": "number", "minimum": 0, "maximum": 1},
        "resonance": {"type": "number", "exclusiveMinimum": 0},
        "size": {"type": "integer", "minimum": 0, "maximum": 5},
    },
}


@dataclass(frozen=True)
class TdwModes:
    """A body's modes as exported to PyImpact, strongest energy first.

    Attributes:
        role: ``"object"`` or ``"tool"``.
        freqs_hz: (K,) frequencies in Hz.
        t60_s: (K,) 60 dB decay times in seconds (clamped to >= 1 ms).
        gains_db: (K,) the preset's gains (dB per unit impulse).
        source_index: (K,) index of each mode in the preset's list.
        offset_db: ``powers_db - gains_db`` (the ``Modes`` JSON).
        material_offset_db: ``material_powers_db - gains_db`` (the material table).
        warnings: What was dropped or clamped, one line each.
    """

    role: str
    freqs_hz: np.ndarray
    t60_s: np.ndarray
    gains_db: np.ndarray
    source_index: np.ndarray
    offset_db: float
    material_offset_db: float
    warnings: tuple[str, ...]

    @property
    def powers_db(self) -> np.ndarray:
        """(K,) PyImpact onset powers in dB re 1 of the ``Modes`` JSON."""
        return self.gains_db + self.offset_db

    @property
    def material_powers_db(self) -> np.ndarray:
        """(K,) onset powers in dB re 1 at the material table's level (<= -80: PyImpact plays nothing)."""
        return self.gains_db + self.material_offset_db

    @property
    def n_modes(self) -> int:
        return int(self.freqs_hz.size)

    def material_table(self) -> tuple[list[float], list[float], list[float], int]:
        """``(cf_hz, op_db, rt_s, n_padding)``: the first 10 modes it can play, padded to 10."""
        p = self.material_powers_db
        keep = np.flatnonzero(p > MIN_POWER_DB)[:N_MATERIAL_MODES]
        cf = [float(v) for v in self.freqs_hz[keep]]
        op = [float(v) for v in p[keep]]
        rt = [float(v) for v in self.t60_s[keep]]
        n_pad = N_MATERIAL_MODES - keep.size
        strongest = int(np.argmax(p))
        cf += [float(self.freqs_hz[strongest])] * n_pad
        op += [PAD_POWER_DB] * n_pad
        rt += [float(self.t60_s[strongest])] * n_pad
        return cf, op, rt, n_pad


def _fmt_list(values, unit: str, limit: int = 4) -> str:
    shown = ", ".join(f"{v:g}" for v in list(values)[:limit])
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return f"{shown}{more} {unit}".strip()


def plan_modes(freqs_hz, t60_s, gains_db, *, role: str = "object", peak_db: float = DEFAULT_PEAK_DB,
               modes_peak_db: float = MODES_PEAK_DB) -> TdwModes:
    """Choose, order and level a body's modes for PyImpact; drop or clamp what it cannot play.

    Args:
        freqs_hz: (K,) mode frequencies in Hz.
        t60_s: (K,) decay times in seconds.
        gains_db: (K,) onset gains in dB (any reference; only differences matter).
        role: Name used in messages (``"object"``, ``"tool"``).
        peak_db: Power of the strongest mode in the material table, in (-80, 0) dB re 1.
        modes_peak_db: Power of the strongest mode in the ``Modes`` JSON (dB re 1, > -80).

    Returns:
        The playable modes, most energy first, with both dB offsets and the warnings.

    Raises:
        WorkbenchError: no modes, or none that PyImpact can play.

    Example:
        >>> m = plan_modes([500.0, 23000.0, 700.0], [0.5, 0.5, 0.5], [-6.0, -6.0, -66.0])
        >>> m.n_modes, m.powers_db.tolist(), m.material_powers_db.tolist(), len(m.warnings)
        (2, [20.0, -40.0], [-30.0, -90.0], 2)
    """
    if not (MIN_POWER_DB < peak_db < 0):
        raise WorkbenchError(f"peak_db: {peak_db!r} is outside (-80, 0) dB")
    if not (math.isfinite(modes_peak_db) and modes_peak_db > MIN_POWER_DB):
        raise WorkbenchError(f"modes_peak_db: {modes_peak_db!r} must be above {MIN_POWER_DB:g} dB")
    f = np.asarray(freqs_hz, dtype=np.float64).reshape(-1)
    t = np.asarray(t60_s, dtype=np.float64).reshape(-1)
    g = np.asarray(gains_db, dtype=np.float64).reshape(-1)
    if not (f.size == t.size == g.size):
        raise WorkbenchError(f"{role}: freqs_hz, t60_s and gains_db differ in length ({f.size}, {t.size}, {g.size})")
    if f.size == 0:
        raise WorkbenchError(f"{role}: has no modes; there is nothing for PyImpact to play")
    idx = np.arange(f.size)
    notes: list[str] = []

    def drop(mask: np.ndarray, why: str, values: np.ndarray, unit: str) -> None:
        nonlocal f, t, g, idx
        if mask.any():
            notes.append(f"{role}: dropped {int(mask.sum())} mode(s) {why}: {_fmt_list(values[mask], unit)}")
            f, t, g, idx = f[~mask], t[~mask], g[~mask], idx[~mask]

    drop(~(np.isfinite(f) & np.isfinite(t) & np.isfinite(g) & (t > 0)), "with non-finite or non-positive values",
         f, "Hz")
    drop(f >= TDW_SAMPLE_RATE / 2, f"at or above {TDW_SAMPLE_RATE // 2} Hz (PyImpact plays at "
         f"{TDW_SAMPLE_RATE} Hz; they would alias)", f, "Hz")
    drop(f < MIN_FREQ_HZ, f"below {MIN_FREQ_HZ:g} Hz (PyImpact redraws such frequencies)", f, "Hz")
    short = t < MIN_T60_S
    if short.any():
        notes.append(f"{role}: clamped the T60 of {int(short.sum())} mode(s) to {1000 * MIN_T60_S:g} ms "
                     f"(PyImpact needs >= 1 ms): {_fmt_list(1000 * t[short], 'ms')}")
        t = np.maximum(t, MIN_T60_S)
    if f.size == 0:
        raise WorkbenchError(f"{role}: none of its modes can be played by PyImpact ({'; '.join(notes)})")

    offset = modes_peak_db - float(g.max())
    quiet = g + offset <= MIN_POWER_DB
    if quiet.any():
        below = float(g.max() - g[quiet].max())
        notes.append(f"{role}: dropped {int(quiet.sum())} mode(s) {below:.0f} dB or more below the strongest "
                     f"(PyImpact cannot play powers <= {MIN_POWER_DB:g} dB re 1): {_fmt_list(f[quiet], 'Hz')}")
        f, t, g, idx = f[~quiet], t[~quiet], g[~quiet], idx[~quiet]
    energy = 10.0 ** (g / 10.0) * t
    order = np.lexsort((f, -energy))     # most energy first; ties by frequency
    f, t, g, idx = f[order], t[order], g[order], idx[order]

    # The material table: raise its peak (up to -20 dB) just enough to lift the modes it can to >= -79 dB.
    material = peak_db - float(g.max())
    p = g + material
    headroom = max(MAX_PEAK_DB - peak_db, 0.0)
    reachable = (p <= MIN_POWER_DB + 1.0) & (p + headroom > MIN_POWER_DB)
    if reachable.any():
        material += min(headroom, MIN_POWER_DB + 1.0 - float(p[reachable].min()))
    left_out = np.flatnonzero(g + material <= MIN_POWER_DB)
    left_out = left_out[left_out < N_MATERIAL_MODES]      # among the 10 with most energy
    if left_out.size:
        notes.append(f"{role}: the material table leaves out {left_out.size} mode(s) "
                     f"{float(g.max() - g[left_out].max()):.0f} dB or more below the strongest (at its level "
                     f"PyImpact cannot play them); {role}_modes.json keeps them: {_fmt_list(f[left_out], 'Hz')}")
    return TdwModes(role=role, freqs_hz=f, t60_s=t, gains_db=g, source_index=idx, offset_db=float(offset),
                    material_offset_db=float(material), warnings=tuple(notes))


def mass_from_contact(contact_s: float) -> tuple[float, list[str]]:
    """PyImpact audio mass (kg) whose half-sine contact lasts ``contact_s``.

    Args:
        contact_s: Contact duration tau in seconds.

    Returns:
        ``(mass_kg, warnings)``: ``tau / (1 ms/kg)``, at least `MIN_MASS_KG`.

    Example:
        >>> mass_from_contact(5e-4)
        (0.5, [])
    """
    mass = float(contact_s) / CONTACT_S_PER_KG
    notes = []
    if not math.isfinite(mass) or mass < MIN_MASS_KG:
        notes.append(f"mass: contact {1000 * contact_s:.3g} ms maps to {mass:.3g} kg, clamped to {MIN_MASS_KG} kg "
                     "(PyImpact outputs NaN below ~0.023 kg)")
        mass = MIN_MASS_KG
    elif contact_s > MAX_CONTACT_S:
        notes.append(f"mass: contact {1000 * contact_s:.3g} ms is longer than PyImpact's 2 ms cap; "
                     "it will play a 2 ms contact (brighter than the preset)")
    return round(mass, 6), notes


@dataclass(frozen=True)
class TdwBody:
    """Everything exported for one body (object or tool)."""

    modes: TdwModes
    material_key: str
    material: str
    size: int
    material_source: str
    mass_kg: float
    contact_s: float
    amp: float
    name: str

    @property
    def role(self) -> str:
        return self.modes.role

    def material_json(self) -> dict[str, Any]:
        cf, op, rt, _ = self.modes.material_table()
        return {"cf": cf, "op": op, "rt": rt, "synthMethod": "matchedMode"}

    def modes_json(self) -> dict[str, Any]:
        return {"frequencies": [float(v) for v in self.modes.freqs_hz],
                "powers": [float(v) for v in self.modes.powers_db],
                "decay_times": [float(1000.0 * v) for v in self.modes.t60_s],
                "resonance": 1.0, "mass_kg": self.mass_kg, "amp": self.amp}

    def audio_static_json(self) -> dict[str, Any]:
        return {"name": self.name, "amp": self.amp, "mass": self.mass_kg, "material": self.material,
                "bounciness": typical_bounciness(self.material), "resonance": 1.0, "size": self.size}

    @property
    def decay_shift_ms(self) -> float:
        """PyImpact's first-impact shift of this body's decay times against the floor (ms)."""
        return 20.0 * math.log10(FLOOR_AMP / self.amp)


def _peak_amp(preset: Preset, part: str) -> float:
    from ..rendering import render

    end = max(i.time_s for i in preset.impacts) + 2.0
    y = render(preset, duration_s=min(preset.duration_s, end), parts=part, device="cpu")
    return float(np.max(np.abs(y))) if y.size else 0.0


def build_bodies(preset: Preset, *, peak_db: float = DEFAULT_PEAK_DB) -> tuple[list[TdwBody], list[str], list[str]]:
    """Plan the object (and tool) of a preset for PyImpact.

    Returns:
        ``(bodies, warnings, notes)``.

    Raises:
        WorkbenchError: the object has no modes PyImpact can play.
    """
    slug = slugify(preset.name, default="preset")
    warnings_: list[str] = []
    notes: list[str] = []
    impact = loudest_impact(preset)
    mass, mass_warnings = mass_from_contact(impact.contact_s)
    warnings_ += mass_warnings
    bodies: list[TdwBody] = []
    for role, body in (("object", preset.object), ("tool", preset.tool)):
        if body is None:
            continue
        if not body.modes:
            if role == "object":
                raise WorkbenchError(f"preset {preset.name!r}: object has no modes; there is nothing for "
                                     "PyImpact to play")
            warnings_.append("tool: has no modes; not exported")
            continue
        try:
            modes = plan_modes([m.freq_hz for m in body.modes], [m.t60_s for m in body.modes],
                               [m.gain_db for m in body.modes], role=role, peak_db=peak_db)
        except WorkbenchError as e:
            if role == "object":
                raise WorkbenchError(f"preset {preset.name!r}: {e}") from None
            warnings_.append(f"{e}; tool not exported")
            continue
        warnings_ += modes.warnings
        material, size, how = nearest_builtin(modes, preset.material if role == "object" else "")
        peak = _peak_amp(preset, role)
        ceiling = round(HEADROOM_PEAK, 4)
        amp = float(min(ceiling, max(0.01, round(peak, 4))))
        if peak > ceiling:
            notes.append(f"{role}: our render peaks at {20 * math.log10(peak):+.1f} dBFS; amp set to {ceiling} "
                         f"({HEADROOM_DBFS:g} dBFS)")
        key = f"{slug}_{size}" if role == "object" else f"{slug}_tool_{size}"
        b = TdwBody(modes=modes, material_key=key, material=material, size=size, material_source=how,
                    mass_kg=mass, contact_s=float(impact.contact_s), amp=amp,
                    name=slug if role == "object" else f"{slug}_tool")
        shift = b.decay_shift_ms
        if abs(shift) > 0.1 * 1000.0 * float(modes.t60_s.min()):
            warnings_.append(f"{role}: PyImpact adds 20*log10(0.5/amp) = {shift:+.1f} ms to the decay times of a "
                             f"primary object hitting the floor (a quirk); that is over 10% of the shortest T60 "
                             f"({1000 * modes.t60_s.min():.1f} ms). Use the Modes JSON path, or amp = 0.5, to avoid it")
        n_table = N_MATERIAL_MODES - modes.material_table()[3]
        if n_table < N_MATERIAL_MODES:
            notes.append(f"{role}: {n_table} mode(s) playable at the material table's level; the material file is "
                         f"padded to 10 with silent entries ({PAD_POWER_DB:g} dB)")
        if modes.n_modes > n_table:
            notes.append(f"{role}: the material file keeps {n_table} of the {modes.n_modes} modes, those with most "
                         f"energy (PyImpact reads 10); {role}_modes.json has all {modes.n_modes}")
        bodies.append(b)
    return bodies, warnings_, notes


def write_tdw(preset: Preset, folder: Path, *,
              peak_db: float = DEFAULT_PEAK_DB) -> tuple[list[str], list[str], list[str], dict[str, Any]]:
    """Write a ThreeDWorld export into an (empty, temporary) ``folder``.

    Returns:
        ``(files, warnings, notes, target_record)``; the caller writes ``export.json``.
    """
    bodies, warnings_, notes = build_bodies(preset, peak_db=peak_db)
    files: list[str] = []
    for b in bodies:
        write_file(folder, f"{b.material_key}_mm.json", json_bytes(b.material_json(), name=f"{b.role} material"),
                   files)
        write_file(folder, f"{b.role}_modes.json", json_bytes(b.modes_json(), name=f"{b.role} modes"), files)
        write_file(folder, f"{b.role}_audio_static.json",
                   json_bytes(b.audio_static_json(), name=f"{b.role} audio static"), files)
    write_file(folder, "play_in_tdw.py", Path(__file__).with_name("play_in_tdw.py").read_bytes(), files)

    check: dict[str, Any] | None = None
    lines = ["not run (tdw is not installed here)"]
    if tdw_dir() is not None:
        from .tdw_verify import export_check    # it imports this module: import late
        try:
            check, lines, failed = export_check(preset, bodies[0])
        except Exception as e:    # noqa: BLE001 - the check is a bonus; never fail an export on it
            lines = [f"not run ({type(e).__name__}: {e})"]
            notes.append(f"round trip with tdw's synthesiser {lines[0]}")
        else:
            warnings_ += failed
    record = {
        "sample_rate": TDW_SAMPLE_RATE,
        "tdw_version": TDW_VERSION,
        "bodies": [{
            "role": b.role, "material_key": b.material_key, "material_file": f"{b.material_key}_mm.json",
            "modes_file": f"{b.role}_modes.json", "audio_static_file": f"{b.role}_audio_static.json",
            "n_modes": b.modes.n_modes, "n_material_modes": N_MATERIAL_MODES,
            "n_material_padding": b.modes.material_table()[3], "offset_db": b.modes.offset_db,
            "material_offset_db": b.modes.material_offset_db,
            "source_mode_index": [int(i) for i in b.modes.source_index],
            "contact_s": b.contact_s, "mass_kg": b.mass_kg, "amp": b.amp,
            "audio_material": b.material, "size": b.size, "material_source": b.material_source,
            "floor_decay_shift_ms": round(b.decay_shift_ms, 3)} for b in bodies],
        "units": {"cf": "Hz", "op": "dB re 1", "rt": "s (T60)", "frequencies": "Hz", "powers": "dB re 1",
                  "decay_times": "ms (T60)", "mass_kg": "kg", "amp": "0-1 (peak after PyImpact's normalisation)"},
        "round_trip": check,
    }
    from .tdw_readme import readme

    write_file(folder, "README.md", readme(preset, bodies, warnings_, notes, lines).encode("utf-8"), files)
    return files, warnings_, notes, record


