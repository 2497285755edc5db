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
  (the same decay: 10**(-3 t/T) = exp(-6.908 t/T); cosine instead of sine phase). Since
  PyImpact peak-normalises every sound, only relative levels matter, so
  ``p = gain_db + offset_db`` with the offset putting the strongest mode at ``peak_db``
  (default -30 dB). If that leaves modes at or below -79 dB the peak is raised just enough
  (at most to -20 dB) to lift those it can to -79 dB; modes still at or below -80 dB are
  dropped (PyImpact would play nothing of them) and listed in the warnings.
* **Units.** ``cf`` and ``frequencies`` in Hz; ``op`` and ``powers`` in dB re 1; ``rt`` in
  seconds (material files), ``decay_times`` in milliseconds (``Modes``), both T60.
  ``resonance`` = 1 (it multiplies T60; the fitted T60 is exported as is).
* **Contact -> mass.** PyImpact convolves with a half-sine of length
  ``min(1 ms/kg * m, 2 ms)``, m the smaller of the two masses. The contact duration tau of
  the preset's loudest impact becomes ``mass = tau / (1 ms/kg)``, at least 0.03 kg (below
  about 0.023 kg the half-sine is one sample long: zero force, NaN output). It is an
  *audio* mass: give it to PyImpact, not necessarily to the physics engine.
* **Loudness.** ``amp`` = peak of our render of that body alone (full scale 1), clipped
  to [0.01, 1]. PyImpact's output peak is ``amp * initial_amp``. On the first impact
  PyImpact also adds ``20 log10(partner_amp / amp)`` to the primary's decay times *in
  milliseconds* (a quirk; the floor's amp is 0.5); the export reports that shift and
  warns when it exceeds 10 % of the shortest T60.
* **Built-in fallback.** ``material`` (an ``AudioMaterial`` name) comes from the preset's
  ``material`` text when it names one (``"steel"`` -> ``metal``); ``size`` (and the
  material, when the text names none) is the shipped ``material_data`` table nearest to the
  fitted modes in energy-weighted mean log10 frequency and log10 T60.

`round_trip` renders the exported ``Modes`` with ThreeDWorld's own ``Modes.sum_modes`` and
compares it with `workbench.functional.modal.modal_ir` of the same modes.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import json
import math
import re
import statistics
import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import specs
from ..errors import WorkbenchError
from ..functional.modal import modal_ir
from ..losses import spectral_distance
from ..presets import Preset
from .common import AUDIO_MATERIALS, as_preset, json_bytes, material_class, slugify, write_file

#: PyImpact renders at 44.1 kHz (``tdw.audio_constants.SAMPLE_RATE``).
TDW_SAMPLE_RATE = 44_100
#: PyImpact cuts each mode at its -80 dB re 1 point: a power at or below this is silent.
MIN_POWER_DB = -80.0
#: PyImpact redraws jittered decay times until they reach 1 ms.
MIN_T60_S = 0.001
#: PyImpact redraws jittered frequencies until they reach 20 Hz.
MIN_FREQ_HZ = 20.0
#: Contact time per kg of the smaller mass, and its cap (``PyImpact._synth_impact_modes``).
CONTACT_S_PER_KG = 0.001
MAX_CONTACT_S = 0.002
#: Below ~0.023 kg the half-sine contact has a single (zero) sample and PyImpact outputs NaN.
MIN_MASS_KG = 0.03
#: Entries PyImpact reads from a material table (a hard-coded ``range(10)``).
N_MATERIAL_MODES = 10
#: Power of the silent entries that pad a material table to 10 modes.
PAD_POWER_DB = -120.0
#: Default and highest power of the strongest exported mode.
DEFAULT_PEAK_DB = -30.0
MAX_PEAK_DB = -20.0
#: ``PyImpact.FLOOR_AMP``: the partner amp of collisions with the floor.
FLOOR_AMP = 0.5
#: The tdw release whose behaviour these files target.
TDW_VERSION = "1.13.0.0"

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
                   "items": {"type": "number", "exclusiveMinimum": MIN_POWER_DB, "maximum": 0}},
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


# ---------------------------------------------------------------------------------------
# Modes -> what PyImpact can play
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TdwModes:
    """A body's modes as exported to PyImpact, strongest energy first.

    Attributes:
        role: ``"object"`` or ``"tool"``.
        freqs_hz: (K,) frequencies in Hz.
        t60_s: (K,) 60 dB decay times in seconds (clamped to >= 1 ms).
        gains_db: (K,) the preset's gains (dB per unit impulse).
        source_index: (K,) index of each mode in the preset's list.
        offset_db: ``powers_db - gains_db``.
        warnings: What was dropped or clamped, one line each.
    """

    role: str
    freqs_hz: np.ndarray
    t60_s: np.ndarray
    gains_db: np.ndarray
    source_index: np.ndarray
    offset_db: float
    warnings: tuple[str, ...]

    @property
    def powers_db(self) -> np.ndarray:
        """(K,) PyImpact onset powers in dB re 1."""
        return self.gains_db + self.offset_db

    @property
    def n_modes(self) -> int:
        return int(self.freqs_hz.size)

    def material_table(self) -> tuple[list[float], list[float], list[float], int]:
        """``(cf_hz, op_db, rt_s, n_padding)``: the first 10 modes, padded to 10."""
        k = min(N_MATERIAL_MODES, self.n_modes)
        cf = [float(v) for v in self.freqs_hz[:k]]
        op = [float(v) for v in self.powers_db[:k]]
        rt = [float(v) for v in self.t60_s[:k]]
        n_pad = N_MATERIAL_MODES - k
        strongest = int(np.argmax(self.powers_db))
        cf += [float(self.freqs_hz[strongest])] * n_pad
        op += [PAD_POWER_DB] * n_pad
        rt += [float(self.t60_s[strongest])] * n_pad
        return cf, op, rt, n_pad


def _fmt_list(values, unit: str, limit: int = 4) -> str:
    shown = ", ".join(f"{v:g}" for v in list(values)[:limit])
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return f"{shown}{more} {unit}".strip()


def plan_modes(freqs_hz, t60_s, gains_db, *, role: str = "object", peak_db: float = DEFAULT_PEAK_DB) -> TdwModes:
    """Choose, order and level a body's modes for PyImpact; drop or clamp what it cannot play.

    Args:
        freqs_hz: (K,) mode frequencies in Hz.
        t60_s: (K,) decay times in seconds.
        gains_db: (K,) onset gains in dB (any reference; only differences matter).
        role: Name used in messages (``"object"``, ``"tool"``).
        peak_db: PyImpact power of the strongest mode, in (-80, 0) dB.

    Returns:
        The playable modes, most energy first, with the dB offset and the warnings.

    Raises:
        WorkbenchError: no modes, or none that PyImpact can play.

    Example:
        >>> m = plan_modes([500.0, 23000.0], [0.5, 0.5], [-6.0, -6.0])
        >>> m.n_modes, m.powers_db.tolist(), len(m.warnings)
        (1, [-30.0], 1)
    """
    if not (MIN_POWER_DB < peak_db < 0):
        raise WorkbenchError(f"peak_db: {peak_db!r} is outside (-80, 0) dB")
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

    offset = peak_db - float(g.max())
    # Raise the peak (up to -20 dB) just enough to lift every mode that can be kept to >= -79 dB.
    p = g + offset
    headroom = max(MAX_PEAK_DB - peak_db, 0.0)
    reachable = (p <= MIN_POWER_DB + 1.0) & (p + headroom > MIN_POWER_DB)
    if reachable.any():
        offset += min(headroom, MIN_POWER_DB + 1.0 - float(p[reachable].min()))
    quiet = g + offset <= MIN_POWER_DB
    if quiet.any():
        below = float(g.max() - g[quiet].max())
        notes.append(f"{role}: dropped {int(quiet.sum())} mode(s) {below:.0f} dB or more below the strongest "
                     f"(PyImpact cannot play powers <= {MIN_POWER_DB:g} dB): {_fmt_list(f[quiet], 'Hz')}")
        f, t, g, idx = f[~quiet], t[~quiet], g[~quiet], idx[~quiet]

    energy = 10.0 ** (g / 10.0) * t
    order = np.lexsort((f, -energy))     # most energy first; ties by frequency
    return TdwModes(role=role, freqs_hz=f[order], t60_s=t[order], gains_db=g[order], source_index=idx[order],
                    offset_db=float(offset), warnings=tuple(notes))


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


# ---------------------------------------------------------------------------------------
# Built-in fallback: nearest shipped material table
# ---------------------------------------------------------------------------------------

def _tdw_dir() -> Path | None:
    spec = importlib.util.find_spec("tdw")      # a top-level find_spec does not import tdw
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _features(freqs_hz, t60_s, gains_db) -> tuple[float, float]:
    """Energy-weighted mean log10 frequency and log10 T60 (decades)."""
    f, t, g = (np.asarray(a, dtype=np.float64) for a in (freqs_hz, t60_s, gains_db))
    w = 10.0 ** ((g - g.max()) / 10.0) * t
    return float(np.sum(w * np.log10(f)) / w.sum()), float(np.sum(w * np.log10(t)) / w.sum())


@functools.lru_cache(maxsize=1)
def shipped_tables() -> dict[tuple[str, int], tuple[float, float]]:
    """Features of tdw's ``material_data`` tables, keyed ``(material, size)`` ({} without tdw).

    Only the first 10 modes of each table count, as in PyImpact. File names are matched
    case-insensitively (tdw ships ``Ceramic_3_mm.json``); the stray ``plastc_hard_3`` is skipped.
    """
    root = _tdw_dir()
    folder = root / "add_ons" / "py_impact" / "material_data" if root else None
    out: dict[tuple[str, int], tuple[float, float]] = {}
    if folder is None or not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        m = re.fullmatch(r"(.+)_(\d)_mm\.json", path.name.lower())
        if not m or m.group(1) not in AUDIO_MATERIALS:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            cf, op, rt = (np.asarray(data[k][:N_MATERIAL_MODES], dtype=np.float64) for k in ("cf", "op", "rt"))
            out[(m.group(1), int(m.group(2)))] = _features(cf, rt, op)
        except (OSError, ValueError, KeyError):
            continue
    return out


def nearest_builtin(modes: TdwModes, material_text: str = "") -> tuple[str, int, str]:
    """The built-in ``(AudioMaterial name, size, how it was chosen)`` closest to ``modes``.

    The material comes from ``material_text`` when it names one; the size (and otherwise
    the material) is the shipped table nearest in (mean log10 f, mean log10 T60).
    """
    named = material_class(material_text)
    tables = shipped_tables()
    if named and not tables:
        return named, 2, f"material from the preset's material {material_text!r}; size 2 (tdw not installed)"
    if not tables:
        return "plastic_hard", 2, "a neutral guess (the preset names no material and tdw is not installed)"
    lf, lt = _features(modes.freqs_hz, modes.t60_s, modes.gains_db)
    candidates = {k: v for k, v in tables.items() if named is None or k[0] == named}
    (mat, size), _ = min(candidates.items(), key=lambda kv: (math.hypot(kv[1][0] - lf, kv[1][1] - lt), kv[0]))
    how = "nearest shipped table in energy-weighted mean log-frequency and log-T60"
    if named:
        return mat, size, f"material from the preset's material {material_text!r}; size: {how}"
    return mat, size, f"material and size: {how} (the preset's material {material_text!r} names none)"


@functools.lru_cache(maxsize=None)
def typical_bounciness(material: str) -> float:
    """Median Unity bounciness of tdw's ``objects.csv`` rows of ``material`` (0.4 without tdw).

    Bounciness does not change PyImpact's sound; it is filled in for completeness.
    """
    root = _tdw_dir()
    path = root / "physics_audio" / "objects.csv" if root else None
    try:
        with open(path, newline="", encoding="utf-8") as fh:     # type: ignore[arg-type]
            values = [float(r["bounciness"]) for r in csv.DictReader(fh) if r.get("material") == material]
    except (OSError, TypeError, ValueError, KeyError):
        values = []
    return round(statistics.median(values), 3) if values else 0.4


# ---------------------------------------------------------------------------------------
# Building the export
# ---------------------------------------------------------------------------------------

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


def _loudest_impact(preset: Preset):
    return max(preset.impacts, key=lambda i: (i.magnitude, -i.time_s))


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
    slug = slugify(preset.name)
    warnings_: list[str] = []
    notes: list[str] = []
    impact = _loudest_impact(preset)
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
        amp = float(min(1.0, max(0.01, round(peak, 4))))
        if peak > 1.0:
            notes.append(f"{role}: our render peaks at {peak:.2f} (above full scale); amp set to 1.0")
        key = f"{slug}_{size}" if role == "object" else f"{slug}_tool_{size}"
        b = TdwBody(modes=modes, material_key=key, material=material, size=size, material_source=how,
                    mass_kg=mass, contact_s=float(impact.contact_s), amp=amp,
                    name=slug if role == "object" else f"{slug}_tool")
        shift = b.decay_shift_ms
        if abs(shift) > 0.1 * 1000.0 * float(modes.t60_s.min()):
            warnings_.append(f"{role}: PyImpact adds 20*log10(0.5/amp) = {shift:+.1f} ms to the decay times of a "
                             f"primary object hitting the floor (a quirk); that is over 10% of the shortest T60 "
                             f"({1000 * modes.t60_s.min():.1f} ms). Use the Modes JSON path, or amp = 0.5, to avoid it")
        if modes.n_modes > N_MATERIAL_MODES:
            notes.append(f"{role}: the material file keeps the {N_MATERIAL_MODES} of {modes.n_modes} modes with most "
                         f"energy (PyImpact reads 10); {role}_modes.json has all {modes.n_modes}")
        elif modes.n_modes < N_MATERIAL_MODES:
            notes.append(f"{role}: {modes.n_modes} playable mode(s); the material file is padded to 10 with "
                         f"silent entries ({PAD_POWER_DB:g} dB)")
        bodies.append(b)
    return bodies, warnings_, notes


def _readme(preset: Preset, bodies: list[TdwBody], warnings_: list[str], notes: list[str],
            round_trip_line: str) -> str:
    lines = [f"# ThreeDWorld export of \"{preset.name}\"", "",
             f"Exported by Impact Workbench for ThreeDWorld PyImpact (tdw {TDW_VERSION}, 44.1 kHz).", "",
             "## Files", "",
             "| file | what | units |", "|---|---|---|"]
    for b in bodies:
        r = b.role
        lines += [f"| `{b.material_key}_mm.json` | {r}: PyImpact material table (10 modes, most energy first) "
                  f"| cf Hz, op dB re 1, rt = T60 s |",
                  f"| `{r}_modes.json` | {r}: `Modes` (all {b.modes.n_modes} playable modes) + resonance, mass_kg, amp "
                  f"| frequencies Hz, powers dB re 1, decay_times = T60 ms |",
                  f"| `{r}_audio_static.json` | {r}: `ObjectAudioStatic` fields (built-in fallback material) | "
                  f"mass kg, amp 0-1 |"]
    lines += ["| `play_in_tdw.py` | registers the material with PyImpact and plays it | |",
              "| `export.json` | machine-readable record of this export | |", "",
              "## Mapping", ""]
    for b in bodies:
        lines += [f"* **{b.role}**: {b.modes.n_modes} mode(s); powers = gain_db {b.modes.offset_db:+.2f} dB "
                  f"(strongest at {b.modes.powers_db.max():.1f} dB); contact {1000 * b.contact_s:.3g} ms -> "
                  f"mass {b.mass_kg:g} kg (half-sine of min(1 ms/kg * m, 2 ms)); amp {b.amp:g}; "
                  f"fallback `{b.material}` size {b.size} ({b.material_source})."]
    lines += ["* resonance = 1 (the fitted T60s are exported unchanged).",
              "* PyImpact jitters material-table modes (f +-10 %, power +-10 dB, T60 +-10 %) and uses only the "
              "first 10; the `Modes` path (`PyImpact._synth_impact_modes`) plays the fitted modes exactly.",
              f"* Round trip (tdw `Modes.sum_modes` vs our modal IR of the same modes): {round_trip_line}", ""]
    if warnings_:
        lines += ["## Warnings", ""] + [f"* {w}" for w in warnings_] + [""]
    if notes:
        lines += ["## Notes", ""] + [f"* {n}" for n in notes] + [""]
    lines += ["## Play it", "", "```bash",
              "pip install tdw==1.13.0.0",
              "python play_in_tdw.py --offline   # no Unity build needed: writes object_tdw_*.wav here",
              "python play_in_tdw.py             # with a TDW build: drops an object and plays the sound",
              "```", "",
              "`play_in_tdw.py` works around two problems of tdw 1.13 on Linux: `PyImpact()` opens "
              "`ceramic_3_mm.json` but the file is `Ceramic_3_mm.json`, and recent setuptools no longer "
              "ship `pkg_resources`, which tdw imports.", ""]
    return "\n".join(lines)


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
    line = "not run (tdw is not installed here)"
    if _tdw_dir() is not None:
        try:
            distance = _mode_sum_distance(preset, bodies[0])[0]
        except Exception as e:    # noqa: BLE001 - the check is a bonus; never fail an export on it
            line = f"not run ({type(e).__name__}: {e})"
            notes.append(f"round trip with tdw's synthesiser {line}")
        else:
            check = {"distance": distance, "max_allowed": 0.05,
                     "compared": "tdw Modes.sum_modes(fs=44100, resonance=1) of object_modes.json vs "
                                 "workbench modal_ir of the same modes (cosine phase, cut at -80 dB)"}
            line = f"normalised spectral distance {distance:.2g} (<= 0.05 required)"
            if distance > 0.05:
                warnings_.append(f"round trip: tdw's synthesiser differs from ours (distance {distance:.3f} > 0.05)")
    record = {
        "sample_rate": TDW_SAMPLE_RATE,
        "tdw_version": TDW_VERSION,
        "bodies": [{
            "role": b.role, "material_key": b.material_key, "material_file": f"{b.material_key}_mm.json",
            "modes_file": f"{b.role}_modes.json", "audio_static_file": f"{b.role}_audio_static.json",
            "n_modes": b.modes.n_modes, "n_material_modes": N_MATERIAL_MODES,
            "n_material_padding": b.modes.material_table()[3], "offset_db": b.modes.offset_db,
            "source_mode_index": [int(i) for i in b.modes.source_index],
            "contact_s": b.contact_s, "mass_kg": b.mass_kg, "amp": b.amp,
            "audio_material": b.material, "size": b.size, "material_source": b.material_source,
            "floor_decay_shift_ms": round(b.decay_shift_ms, 3)} for b in bodies],
        "units": {"cf": "Hz", "op": "dB re 1", "rt": "s (T60)", "frequencies": "Hz", "powers": "dB re 1",
                  "decay_times": "ms (T60)", "mass_kg": "kg", "amp": "0-1 (peak after PyImpact's normalisation)"},
        "round_trip": check,
    }
    write_file(folder, "README.md", _readme(preset, bodies, warnings_, notes, line).encode("utf-8"), files)
    return files, warnings_, notes, record


# ---------------------------------------------------------------------------------------
# Round trip: ThreeDWorld's own synthesiser vs ours
# ---------------------------------------------------------------------------------------

def _require_modes_class():
    try:
        from tdw.physics_audio.modes import Modes
    except ImportError:
        raise WorkbenchError("round trip: needs the tdw package (pip install tdw==1.13.0.0)") from None
    return Modes


def tdw_mode_sum(modes_json: dict[str, Any], *, resonance: float = 1.0) -> np.ndarray:
    """ThreeDWorld's bare mode sum of a ``Modes`` JSON: ``Modes(...).sum_modes(fs=44100)``.

    Args:
        modes_json: ``{"frequencies": Hz, "powers": dB, "decay_times": ms, ...}``.
        resonance: PyImpact's T60 multiplier.

    Returns:
        (n_samples,) float64 at 44.1 kHz; its length is the longest mode's -80 dB point.
    """
    Modes = _require_modes_class()
    modes = Modes(np.asarray(modes_json["frequencies"], dtype=np.float64),
                  np.asarray(modes_json["powers"], dtype=np.float64),
                  np.asarray(modes_json["decay_times"], dtype=np.float64))
    return np.asarray(modes.sum_modes(fs=TDW_SAMPLE_RATE, resonance=resonance), dtype=np.float64)


def tdw_mode_lengths(powers_db, decay_times_ms, *, sample_rate: int = TDW_SAMPLE_RATE) -> np.ndarray:
    """(K,) samples PyImpact keeps of each mode: ``ceil(T60 * (80 + p) / 60 * fs)`` (<= 0: none)."""
    p = np.asarray(powers_db, dtype=np.float64)
    t_ms = np.asarray(decay_times_ms, dtype=np.float64)
    return np.ceil(t_ms * (80.0 + p) / 60.0 / 1e3 * sample_rate).astype(np.int64)


def reference_mode_sum(freqs_hz, t60_s, gains_db, *, n_samples: int, sample_rate: int = TDW_SAMPLE_RATE,
                       phase: str = "sin", lengths=None, chunk_elements: int = 4_000_000) -> np.ndarray:
    """Our modal IR (`workbench.functional.modal.modal_ir`), optionally in PyImpact's conventions.

    With ``phase="cos"`` each mode is turned from our sine phase into PyImpact's cosine
    phase exactly, using the damped-sinusoid identity on two neighbouring samples
    (s = our mode, r = per-sample decay, w = 2 pi f / fs)::

        c[n] = (s[n + 1] - r cos(w) s[n]) / (r sin(w))

    Args:
        freqs_hz, t60_s, gains_db: (K,) modes (Hz, s, dB).
        n_samples: Output length.
        sample_rate: Hz.
        phase: ``"sin"`` (our renderer) or ``"cos"`` (PyImpact).
        lengths: Optional (K,) samples to keep of each mode (PyImpact cuts at -80 dB).
        chunk_elements: Memory bound: modes are rendered in chunks of this many samples.

    Returns:
        (n_samples,) float64 sum of the modes.
    """
    f = np.asarray(freqs_hz, dtype=np.float64).reshape(-1)
    t = np.asarray(t60_s, dtype=np.float64).reshape(-1)
    g = np.asarray(gains_db, dtype=np.float64).reshape(-1)
    if phase not in ("sin", "cos"):
        raise WorkbenchError(f"phase: {phase!r} is not 'sin' or 'cos'")
    out = np.zeros(n_samples, dtype=np.float64)
    if f.size == 0 or n_samples <= 0:
        return out
    extra = 1 if phase == "cos" else 0
    step = max(1, chunk_elements // (n_samples + extra))
    n = np.arange(n_samples)
    for lo in range(0, f.size, step):
        sl = slice(lo, lo + step)
        # one mode per batch item: (K_chunk, 1) -> (K_chunk, n_samples + extra), all float64
        s = modal_ir(torch.as_tensor(f[sl, None]), torch.as_tensor(t[sl, None]), torch.as_tensor(g[sl, None]),
                     n_samples=n_samples + extra, sample_rate=sample_rate).numpy()
        if phase == "cos":
            w = 2.0 * math.pi * f[sl] / sample_rate
            r = np.exp(-specs.T60_DECAY / (t[sl] * sample_rate))
            s = (s[:, 1:] - (r * np.cos(w))[:, None] * s[:, :-1]) / (r * np.sin(w))[:, None]
        if lengths is not None:
            s = np.where(n[None, :] < np.asarray(lengths)[sl, None], s, 0.0)
        out += s.sum(axis=0)
    return out


def _roundtrip_json(obj: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json_bytes(obj).decode("utf-8"))     # exactly what a reader of the file gets


def _mode_sum_distance(preset: Preset, body: TdwBody) -> tuple[float, np.ndarray, np.ndarray]:
    """Distance between tdw's sum of the exported Modes JSON and our same modes (cos, cut)."""
    exported = _roundtrip_json(body.modes_json())
    tdw = tdw_mode_sum(exported)
    src = preset.object.modes if body.role == "object" else preset.tool.modes
    picked = [src[i] for i in body.modes.source_index]
    t60 = np.maximum([m.t60_s for m in picked], MIN_T60_S)
    ours = reference_mode_sum([m.freq_hz for m in picked], t60, [m.gain_db for m in picked],
                              n_samples=tdw.size, phase="cos",
                              lengths=tdw_mode_lengths(exported["powers"], exported["decay_times"]))
    ours *= 10.0 ** (body.modes.offset_db / 20.0)    # our dB per unit impulse -> PyImpact's dB re 1
    return spectral_distance(tdw, ours), tdw, ours


class _PkgResourcesShim(types.ModuleType):
    """Stand-in for setuptools' ``pkg_resources`` (gone from setuptools >= 81), enough for tdw."""

    @staticmethod
    def resource_filename(package: str, resource: str) -> str:
        spec = importlib.util.find_spec(package)
        base = Path(spec.origin).parent if spec and spec.origin else Path(".")
        path = base / resource
        if not path.exists() and path.parent.is_dir():     # tdw ships Ceramic_3_mm.json
            for candidate in path.parent.iterdir():
                if candidate.name.lower() == path.name.lower():
                    return str(candidate)
        return str(path)


def _import_py_impact():
    """``tdw.add_ons.py_impact.PyImpact``, importable without ``pkg_resources`` (shim removed after)."""
    added = False
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        sys.modules["pkg_resources"] = _PkgResourcesShim("pkg_resources")
        added = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # pydub warns when ffmpeg is missing; unused here
            from tdw.add_ons.py_impact import PyImpact
    except ImportError as e:
        raise WorkbenchError(f"round trip: cannot import tdw's PyImpact ({e})") from None
    finally:
        if added:
            sys.modules.pop("pkg_resources", None)
    return PyImpact


def _impact_distance(preset: Preset, body: TdwBody) -> float:
    """Full impact: PyImpact's ``_synth_impact_modes`` (half-sine contact) vs our object render."""
    from ..rendering import render

    PyImpact = _import_py_impact()
    Modes = _require_modes_class()
    exported = _roundtrip_json(body.modes_json())
    modes = Modes(*(np.asarray(exported[k], dtype=np.float64) for k in ("frequencies", "powers", "decay_times")))
    silent = Modes(np.array([100.0]), np.array([-90.0]), np.array([10.0]))   # an empty Modes crashes
    x = np.asarray(PyImpact._synth_impact_modes(modes, silent, exported["mass_kg"], 1.0, 1.0), dtype=np.float64)
    tau = body.contact_s
    single = preset.replace(impacts=[{"time_s": tau, "contact_s": tau, "magnitude": 1.0}], tool=None)
    shift = int(round(tau * TDW_SAMPLE_RATE))     # our pulse is centred at 1.5 tau, PyImpact's at 0.5 tau
    y = render(single, duration_s=(x.size + shift) / TDW_SAMPLE_RATE, sample_rate=TDW_SAMPLE_RATE,
               parts="object", device="cpu").astype(np.float64)[shift:shift + x.size]
    return spectral_distance(x / np.abs(x).max(), y / max(np.abs(y).max(), 1e-30))


def round_trip(preset, *, peak_db: float = DEFAULT_PEAK_DB, impact: bool = True) -> dict[str, Any]:
    """Render the exported object with ThreeDWorld's own synthesiser and compare with ours.

    Figures (normalised multi-scale spectral distance, 0 = identical, 1 = white noise):

    * ``distance`` (the check, must be <= 0.05): ``Modes.sum_modes(fs=44100, resonance=1)`` of
      ``object_modes.json`` (after JSON serialisation) vs `modal_ir` of the same preset modes
      in PyImpact's conventions (cosine phase, each mode cut at its -80 dB point), scaled by
      the export's dB offset. It checks every unit conversion (Hz, dB, s -> ms, T60).
    * ``distance_material``: the 10-mode material table summed by tdw (without PyImpact's
      random jitter) vs *all* the preset's object modes rendered by us as they are (sine
      phase, no cut): what PyImpact's material path keeps of the fitted sound.
    * ``distance_impact`` (``impact=True``): PyImpact's ``_synth_impact_modes`` (half-sine
      contact from ``mass_kg``, peak-normalised) vs our object-only render of one impact.

    Args:
        preset: A `Preset` or a preset path.
        peak_db: As in the export.
        impact: Also compute ``distance_impact`` (imports PyImpact, ~2 s the first time).

    Returns:
        A dict with the preset name, mode counts, offset, mass and the distances.

    Raises:
        WorkbenchError: tdw is not installed, or the preset cannot be exported.
    """
    preset, source = as_preset(preset)
    bodies, warnings_, _ = build_bodies(preset, peak_db=peak_db)
    body = bodies[0]
    distance, tdw, _ = _mode_sum_distance(preset, body)

    cf, op, rt, _ = body.modes.material_table()
    table = tdw_mode_sum({"frequencies": cf, "powers": op, "decay_times": [1000.0 * v for v in rt]})
    audible = [m for m in preset.object.modes if m.freq_hz < TDW_SAMPLE_RATE / 2]
    ours_all = reference_mode_sum([m.freq_hz for m in audible], [m.t60_s for m in audible],
                                  [m.gain_db for m in audible], n_samples=table.size, phase="sin")
    ours_all *= 10.0 ** (body.modes.offset_db / 20.0)
    result = {
        "preset": preset.name, "source": source, "n_modes_preset": len(preset.object.modes),
        "n_modes_exported": body.modes.n_modes, "n_material_modes": min(N_MATERIAL_MODES, body.modes.n_modes),
        "offset_db": body.modes.offset_db, "mass_kg": body.mass_kg, "n_samples": int(tdw.size),
        "duration_s": tdw.size / TDW_SAMPLE_RATE, "distance": distance,
        "distance_material": spectral_distance(table, ours_all), "warnings": warnings_,
    }
    if impact:
        result["distance_impact"] = _impact_distance(preset, body)
    result["ok"] = bool(distance <= 0.05)
    return result
