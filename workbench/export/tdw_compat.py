"""What ThreeDWorld 1.13 does and ships, as the exporter needs it, and how to import it.

* PyImpact's hard limits (`TDW_SAMPLE_RATE`, `MIN_POWER_DB`, `N_MATERIAL_MODES`, ...),
  read from ``tdw==1.13.0.0`` (``docs/export_formats.md`` section 1).
* The shipped ``material_data`` tables (`shipped_tables`, `nearest_builtin`) and
  ``objects.csv`` (`typical_bounciness`), found without importing tdw.
* Importing tdw's synthesisers (`modes_class`, `import_py_impact`). tdw imports
  ``pkg_resources``, which setuptools >= 81 no longer ships; a stand-in is put in
  ``sys.modules`` for the import only. Its file lookup is the one in ``play_in_tdw.py``
  (`workbench.export.play_in_tdw.resource_filename`), which must stay standalone because
  it is copied into every export; the workbench reuses it rather than keeping a twin.

Everything works without tdw installed: the lookups return empty tables and defaults,
the imports raise `WorkbenchError` saying what to install.

Example:
    >>> round(MIN_MASS_KG * CONTACT_S_PER_KG * TDW_SAMPLE_RATE, 2)    # samples of the shortest contact
    1.32
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
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import WorkbenchError
from ..names import AUDIO_MATERIALS, material_class
from .play_in_tdw import resource_filename

if TYPE_CHECKING:
    from .tdw import TdwModes

#: The tdw release whose behaviour these numbers describe.
TDW_VERSION = "1.13.0.0"
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
#: ``PyImpact.FLOOR_AMP``: the partner amp of collisions with the floor.
FLOOR_AMP = 0.5
#: Size class (0-5) assumed when tdw's tables cannot be read.
DEFAULT_SIZE = 2
#: Bounciness filled in when tdw's ``objects.csv`` cannot be read.
DEFAULT_BOUNCINESS = 0.4


def tdw_dir() -> Path | None:
    """The installed ``tdw`` package folder, or None (found without importing tdw)."""
    spec = importlib.util.find_spec("tdw")      # a top-level find_spec does not import tdw
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def material_features(freqs_hz, t60_s, gains_db) -> tuple[float, float]:
    """Energy-weighted mean log10 frequency and log10 T60 (decades) of (K,) modes (Hz, s, dB).

    Example:
        >>> material_features([100.0, 1000.0], [1.0, 1.0], [0.0, 0.0])
        (2.5, 0.0)
    """
    f, t, g = (np.asarray(a, dtype=np.float64) for a in (freqs_hz, t60_s, gains_db))
    w = 10.0 ** ((g - g.max()) / 10.0) * t
    return float(np.sum(w * np.log10(f)) / w.sum()), float(np.sum(w * np.log10(t)) / w.sum())


@functools.lru_cache(maxsize=1)
def shipped_tables() -> dict[tuple[str, int], tuple[float, float]]:
    """`material_features` of tdw's ``material_data`` tables, keyed ``(material, size)`` ({} without tdw).

    Only the first 10 modes of each table count, as in PyImpact. File names are matched
    case-insensitively (tdw ships ``Ceramic_3_mm.json``); the stray ``plastc_hard_3`` is skipped.
    """
    root = tdw_dir()
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
            out[(m.group(1), int(m.group(2)))] = material_features(cf, rt, op)
        except (OSError, ValueError, KeyError):
            continue
    return out


def nearest_builtin(modes: TdwModes, material_text: str = "") -> tuple[str, int, str]:
    """The built-in ``(AudioMaterial name, size, how it was chosen)`` closest to ``modes``.

    The material comes from ``material_text`` when it names one (`workbench.names.material_class`);
    the size (and otherwise the material) is the shipped table nearest in (mean log10 f,
    mean log10 T60).
    """
    named = material_class(material_text)
    tables = shipped_tables()
    if named and not tables:
        return named, DEFAULT_SIZE, (f"material from the preset's material {material_text!r}; "
                                     f"size {DEFAULT_SIZE} (tdw not installed)")
    if not tables:
        return "plastic_hard", DEFAULT_SIZE, "a neutral guess (the preset names no material and tdw is not installed)"
    lf, lt = material_features(modes.freqs_hz, modes.t60_s, modes.gains_db)
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
    root = tdw_dir()
    path = root / "physics_audio" / "objects.csv" if root else None
    try:
        with open(path, newline="", encoding="utf-8") as fh:     # type: ignore[arg-type]
            values = [float(r["bounciness"]) for r in csv.DictReader(fh) if r.get("material") == material]
    except (OSError, TypeError, ValueError, KeyError):
        values = []
    return round(statistics.median(values), 3) if values else DEFAULT_BOUNCINESS


def modes_class():
    """``tdw.physics_audio.modes.Modes``.

    Raises:
        WorkbenchError: tdw is not installed.
    """
    try:
        from tdw.physics_audio.modes import Modes
    except ImportError:
        raise WorkbenchError(f"round trip: needs the tdw package (pip install tdw=={TDW_VERSION})") from None
    return Modes


def import_py_impact():
    """``tdw.add_ons.py_impact.PyImpact``, importable without ``pkg_resources`` (stand-in removed after).

    Raises:
        WorkbenchError: tdw (or one of its imports) is missing.
    """
    added = False
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = resource_filename       # also finds tdw's Ceramic_3_mm.json
        sys.modules["pkg_resources"] = shim
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
