"""The material table of the physical edits: elastic constants and damping laws per material.

`workbench/data/materials.json` holds, per material, Young's modulus ``E`` (Pa), density
``rho`` (kg/m^3) and Poisson's ratio ``nu`` with their source, the bar wave speed
``c = sqrt(E / rho)`` (m/s) that scales mode frequencies, and two measured damping laws
(`workbench.damping`, power form sigma = c (f / 1 kHz)^p):

* ``library``: fitted to the pooled object modes of the preset library's fitted presets of
  that material (each distinct body counted once, every body weighted alike);
* ``tdw``: fitted to ThreeDWorld's PyImpact mode tables (``material_data/<mat>_<size>_mm.json``,
  the first 10 modes of each distinct size table, as PyImpact plays them).

``use`` names the law `law_of` returns: the library's where it has at least
`MIN_LIBRARY_BODIES` bodies of the material, else ThreeDWorld's. `build_material_table`
regenerates the file (``workbench materials -o workbench/data/materials.json``); reading
it (`material_table`) needs neither tdw nor the preset library.

Example:
    >>> sorted(material_table()["materials"])[:3], resolve_material("Stainless steel")
    (['cardboard', 'ceramic', 'glass'], 'metal')
    >>> round(wave_speed("metal") / wave_speed("wood"), 3)
    1.21
    >>> law_of("wood").kind, material_table()["materials"]["wood"]["use"]
    ('power', 'library')
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from pathlib import Path

import numpy as np

from .damping import AUDIBLE_DB, DampingLaw, fit_damping_law, mode_energies
from .data import DATA_DIR
from .errors import WorkbenchError
from .names import material_class

SCHEMA = "impact-workbench/materials"
TABLE_PATH = DATA_DIR / "materials.json"
#: The library law is used where the library has this many distinct fitted bodies of the material.
MIN_LIBRARY_BODIES = 2
#: Modes of a tdw table that PyImpact plays (a hard-coded ``range(10)``).
TDW_MODES = 10
_DIGITS = 6

#: Elastic constants per material (typical engineering-table values; ranges in ``source``) and
#: the ThreeDWorld AudioMaterials whose tables measure its law.
PROPERTIES: dict[str, dict] = {
    "ceramic": dict(E=70e9, rho=2400.0, nu=0.22, tdw=["ceramic"], source=(
        "porcelain / stoneware tableware: E 60-100 GPa, rho 2300-2500 kg/m^3, nu ~0.22 "
        "(engineering-table ranges, e.g. ASM Engineered Materials Handbook vol. 4, Ceramics and Glasses)")),
    "glass": dict(E=69e9, rho=2500.0, nu=0.23, tdw=["glass"], source=(
        "soda-lime glass: E 69 GPa, rho 2500 kg/m^3, nu 0.23 (Callister & Rethwisch, Materials Science "
        "and Engineering, appendix B)")),
    "metal": dict(E=207e9, rho=7850.0, nu=0.30, tdw=["metal"], source=(
        "plain carbon steel: E 207 GPa, rho 7850 kg/m^3, nu 0.30 (Callister & Rethwisch, appendix B); "
        "bell bronze is softer (E ~110 GPa, rho ~8800 kg/m^3: c 3.5 vs 5.1 km/s)")),
    "plastic": dict(E=2.38e9, rho=1200.0, nu=0.36, tdw=["plastic_hard"], source=(
        "polycarbonate (the library's plastic cup): E 2.38 GPa, rho 1200 kg/m^3, nu 0.36 "
        "(Callister & Rethwisch, appendix B)")),
    "wood": dict(E=12.6e9, rho=700.0, nu=0.42, tdw=["wood_hard", "wood_medium", "wood_soft"], source=(
        "hardwood along the grain (sugar maple at 12 % moisture): E 12.6 GPa, specific gravity 0.63, "
        "rho ~700 kg/m^3, nu_LR 0.42 (USDA Wood Handbook FPL-GTR-190, tables 5-2 and 5-3a); across "
        "the grain E is 10-20 times lower")),
    "stone": dict(E=60e9, rho=2700.0, nu=0.25, tdw=["stone"], source=(
        "granite / marble: E 50-70 GPa, rho 2600-2800 kg/m^3, nu ~0.25 (engineering-table ranges, "
        "e.g. Goodman, Introduction to Rock Mechanics, table 6.3)")),
    "cardboard": dict(E=3e9, rho=700.0, nu=0.3, tdw=["cardboard"], source=(
        "paperboard in plane (machine direction): E 2-7 GPa, rho 600-800 kg/m^3 (paper-physics "
        "handbook ranges, e.g. Niskanen, Paper Physics); corrugated board is far less stiff in bending")),
    "paper": dict(E=4e9, rho=800.0, nu=0.3, tdw=["paper"], source=(
        "office paper in plane: E 2-6 GPa, rho 700-900 kg/m^3 (Niskanen, Paper Physics)")),
    "rubber": dict(E=0.05e9, rho=1100.0, nu=0.49, tdw=["rubber"], source=(
        "natural / synthetic rubber: E 0.01-0.1 GPa, rho 930-1500 kg/m^3, nu ~0.49 (engineering-table "
        "ranges, e.g. Ashby, Materials Selection in Mechanical Design)")),
}
#: ThreeDWorld materials left out, and why.
EXCLUDED = {
    "fabric": "a woven sheet has no single Young's modulus: its bending stiffness is set by the weave",
    "leather": "E spans 10-500 MPa with tanning and thickness; no credible single value",
    "plastic_soft_foam": "a foam's E and rho depend on its cell structure (E 0.1-50 MPa); no credible single value",
}


def _round(x: float) -> float:
    return float(f"{float(x):.{_DIGITS}g}")


def _law_entry(law: DampingLaw | None, **extra) -> dict | None:
    if law is None:
        return None
    d = law.to_dict()
    d["coefficients"] = {k: _round(v) for k, v in d["coefficients"].items()}
    d["spread"] = _round(d["spread"])
    d["freq_range_hz"] = [_round(v) for v in d["freq_range_hz"]]
    return {**d, **extra}


def pooled_law(bodies) -> DampingLaw | None:
    """The power law of several bodies' modes pooled, each body weighted alike.

    Args:
        bodies: iterable of ``(freqs_hz, t60_s, gains_db)`` arrays, one triple per body.
            Within a body, modes within `workbench.damping.AUDIBLE_DB` of its loudest count,
            weighted by the square root of their energy (as `workbench.damping.body_law`).

    Example:
        >>> f = np.array([300.0, 1000.0, 3000.0])
        >>> law = pooled_law([(f, 6.908 / (2 * (f / 1000) ** 0.5), np.zeros(3)),
        ...                   (2 * f, 6.908 / (2 * (2 * f / 1000) ** 0.5), np.full(3, -20.0))])
        >>> round(law.coefficients["c"], 3), round(law.coefficients["p"], 3), law.n_modes
        (2.0, 0.5, 6)
    """
    fs, ts, ws = [], [], []
    for f, t, g in bodies:
        f, t, g = (np.asarray(x, dtype=np.float64).reshape(-1) for x in (f, t, g))
        if not len(g):
            continue
        keep = g > g.max() - AUDIBLE_DB
        w = np.sqrt(mode_energies(g[keep], t[keep]))
        fs.append(f[keep])
        ts.append(t[keep])
        ws.append(w / w.sum())
    if not fs:
        return None
    return fit_damping_law(np.concatenate(fs), np.concatenate(ts), np.concatenate(ws), kind="power")


def _library_bodies(presets_dir: Path) -> dict[str, dict[tuple, str]]:
    """{material: {object modes: preset path}} of the fitted presets under ``presets_dir``."""
    from .presets import load_preset

    out: dict[str, dict[tuple, str]] = {}
    for path in sorted(presets_dir.rglob("*.json")):
        try:
            preset = load_preset(path)
        except WorkbenchError:
            continue
        material = resolve_material(preset.material)
        if material is None or "fitted_by" not in preset.provenance or not preset.object.modes:
            continue
        modes = tuple((m.freq_hz, m.t60_s, m.gain_db) for m in preset.object.modes)
        out.setdefault(material, {}).setdefault(modes, path.relative_to(presets_dir).as_posix())
    return out


def _tdw_tables() -> dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """{tdw material: distinct (cf, rt, op) tables of its sizes} from the installed tdw package."""
    import tdw   # the builder's only use of tdw

    folder = Path(tdw.__file__).resolve().parent / "add_ons" / "py_impact" / "material_data"
    out: dict[str, dict[tuple, tuple]] = {}
    for path in sorted(folder.glob("*.json")):
        m = re.fullmatch(r"(.+)_(\d)_mm\.json", path.name.lower())
        if not m:
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        cf, rt, op = (np.asarray(data[k][:TDW_MODES], dtype=np.float64) for k in ("cf", "rt", "op"))
        out.setdefault(m.group(1), {}).setdefault(tuple(cf), (cf, rt, op))
    return {k: list(v.values()) for k, v in out.items()}


def build_material_table(presets_dir: str | os.PathLike, *, use_tdw: bool = True) -> dict:
    """The material table (the contents of `TABLE_PATH`) from a preset library and tdw.

    Args:
        presets_dir: Folder of presets (searched recursively); only presets fitted from a
            recording (``provenance.fitted_by``) count, each distinct object body once.
        use_tdw: Also fit ThreeDWorld's material tables (needs the ``tdw`` package).

    Raises:
        WorkbenchError: ``presets_dir`` is not a folder, or tdw is asked for and not installed.
    """
    presets_dir = Path(presets_dir)
    if not presets_dir.is_dir():
        raise WorkbenchError(f"presets_dir: {presets_dir} is not a folder")
    library = _library_bodies(presets_dir)
    tables = {}
    if use_tdw:
        try:
            tables = _tdw_tables()
        except ImportError:
            raise WorkbenchError("use_tdw: the tdw package is not installed (pip install tdw)") from None
    materials = {}
    for name, props in PROPERTIES.items():
        bodies = library.get(name, {})
        lib = _law_entry(pooled_law(np.array(modes).T for modes in bodies), bodies=len(bodies),
                         presets=sorted(bodies.values()))
        tdw_tabs = [t for k in props["tdw"] for t in tables.get(k, ())]
        tdw_law = _law_entry(pooled_law((cf, rt, op) for cf, rt, op in tdw_tabs), tables=len(tdw_tabs))
        use = "library" if lib is not None and len(bodies) >= MIN_LIBRARY_BODIES else "tdw" if tdw_law else None
        materials[name] = {"E_pa": props["E"], "density_kg_m3": props["rho"], "poisson": props["nu"],
                           "wave_speed_m_s": _round(math.sqrt(props["E"] / props["rho"])),
                           "source": props["source"], "tdw_materials": list(props["tdw"]),
                           "library": lib, "tdw": tdw_law, "use": use}
    return {"schema": SCHEMA, "version": 1,
            "generated_by": "workbench materials -o workbench/data/materials.json",
            "law_choice": (f"use = 'library' where the preset library has >= {MIN_LIBRARY_BODIES} distinct fitted "
                           "bodies of the material, else 'tdw' (ThreeDWorld PyImpact tables); null: no law"),
            "materials": materials, "excluded": dict(EXCLUDED)}


def write_material_table(table: dict, path: str | os.PathLike = TABLE_PATH) -> Path:
    """Write ``table`` as indented JSON (atomically); returns the path."""
    from .atomic import atomic_write_text

    return atomic_write_text(path, json.dumps(table, indent=2) + "\n")


@functools.lru_cache(maxsize=1)
def material_table() -> dict:
    """The committed material table (`TABLE_PATH`), read once."""
    return json.loads(TABLE_PATH.read_text(encoding="utf-8"))


def material_names() -> tuple[str, ...]:
    """Materials of the table that have a damping law (what `workbench.physical.with_material` takes)."""
    return tuple(k for k, v in material_table()["materials"].items() if v["use"])


def resolve_material(text: str | None) -> str | None:
    """The table's material that free text names (``"steel bowl"`` -> ``"metal"``), or None.

    A table key wins; otherwise `workbench.names.material_class` maps the text to a
    ThreeDWorld AudioMaterial and that to the entry listing it (``"oak"`` -> ``wood_hard`` -> ``"wood"``).
    """
    norm = (text or "").strip().lower()
    if norm in PROPERTIES:
        return norm
    tdw_class = material_class(norm)
    return next((k for k, p in PROPERTIES.items() if tdw_class in p["tdw"]), None)


def _entry(name: str, argument: str) -> dict:
    key = resolve_material(name)
    entry = material_table()["materials"].get(key) if key else None
    if entry is None or not entry["use"]:
        raise WorkbenchError(f"{argument}: {name!r} is not a material of the table "
                             f"(choose from {', '.join(material_names())})")
    return entry


def law_of(material: str, *, argument: str = "material") -> DampingLaw:
    """The damping law the table uses for ``material`` (its ``use`` entry).

    Raises:
        WorkbenchError: a material the table lacks (the message names ``argument``).
    """
    entry = _entry(material, argument)
    return DampingLaw.from_dict(entry[entry["use"]])


def wave_speed(material: str, *, argument: str = "material") -> float:
    """Bar wave speed sqrt(E / rho) of ``material`` in m/s."""
    return float(_entry(material, argument)["wave_speed_m_s"])


def density(material: str, *, argument: str = "material") -> float:
    """Density of ``material`` in kg/m^3."""
    return float(_entry(material, argument)["density_kg_m3"])


def contact_modulus(a: str, b: str) -> float:
    """Hertz's effective contact modulus E* (Pa) of materials ``a`` and ``b`` touching.

    1 / E* = (1 - nu_a^2) / E_a + (1 - nu_b^2) / E_b. The ratio of two of them is the
    ``stiffness`` of `workbench.physical.struck`: a wooden mallet instead of a steel one on
    a steel bowl is ``contact_modulus("wood", "metal") / contact_modulus("metal", "metal")``
    (wood's E is along the grain; end-grain contact is softer still).

    Example:
        >>> round(contact_modulus("wood", "metal") / contact_modulus("metal", "metal"), 3)
        0.126
    """
    ea, eb = _entry(a, "a"), _entry(b, "b")
    inverse = sum((1.0 - e["poisson"] ** 2) / e["E_pa"] for e in (ea, eb))
    return 1.0 / inverse
