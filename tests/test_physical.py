"""Physical edits (`workbench.physical`): each law checked as physics, on rendered audio where it matters."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal

import workbench as wb
from workbench import specs
from workbench.damping import body_law, fit_damping_law, with_laws
from workbench.edits import EDIT_SPECS, Edits, apply_edits
from workbench.errors import WorkbenchError
from workbench.materials import (TABLE_PATH, build_material_table, contact_modulus, density, law_of, material_names,
                                 wave_speed)
from workbench.physical import POSITION_FLOOR_DB, body_damping, scaled, struck, with_material
from workbench.presets import Preset, preset_from_dict
from workbench.rendering import force_profile, render
from workbench.specs import T60_DECAY

REPO = Path(__file__).resolve().parents[1]

SR = 32000
FREQS = np.array([310.0, 730.0, 1290.0, 2110.0, 3370.0, 5230.0])


def _preset(freqs=FREQS, *, c=3.0, p=0.9, gains=None, material="metal", contact_s=1e-4, sr=SR, **kw) -> Preset:
    """A body whose modes lie exactly on sigma = c (f / 1 kHz)^p, its law stored."""
    freqs = np.asarray(freqs, dtype=np.float64)
    t60 = T60_DECAY / (c * (freqs / 1000.0) ** p)
    gains = np.linspace(0.0, -10.0, len(freqs)) if gains is None else gains
    preset = Preset(name="body", sample_rate=sr, duration_s=1.0, material=material,
                    object={"modes": [{"freq_hz": float(f), "t60_s": float(t), "gain_db": float(g)}
                                      for f, t, g in zip(freqs, t60, gains)]},
                    impacts=[{"time_s": 0.01, "contact_s": contact_s, "magnitude": 1.0}],
                    noise={"bands": [{"freq_hz": 1000.0, "gain_db": -160.0}]}, **kw)
    return with_laws(preset)


def _spectrum(y: np.ndarray, sr: int = SR) -> tuple[np.ndarray, np.ndarray]:
    mag = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return np.fft.rfftfreq(len(y), 1.0 / sr), 20 * np.log10(mag + 1e-12)


def _peaks(y: np.ndarray, floor_db: float = -50.0) -> np.ndarray:
    """Frequencies of the spectrum's peaks within ``floor_db`` of the highest."""
    f, db = _spectrum(y)
    idx, _ = scipy.signal.find_peaks(db, height=db.max() + floor_db, prominence=20)
    return f[idx]


def _centroid(y: np.ndarray) -> float:
    f, db = _spectrum(y)
    power = 10 ** (db / 10)
    return float(np.sum(f * power) / np.sum(power))


def _object(preset: Preset) -> np.ndarray:
    return render(preset, device="cpu", parts="object")


def _freqs(preset: Preset) -> np.ndarray:
    return np.array([m.freq_hz for m in preset.object.modes])


def _t60(preset: Preset) -> np.ndarray:
    return np.array([m.t60_s for m in preset.object.modes])


def _gains(preset: Preset) -> np.ndarray:
    return np.array([m.gain_db for m in preset.object.modes])


# ------------------------------------------------------------------------------- size

def test_doubling_size_halves_every_frequency_and_the_spectrum_moves_an_octave_down():
    p = _preset()
    q = scaled(p, 2.0)
    assert _freqs(q) == pytest.approx(FREQS / 2)
    before, after = _peaks(_object(p)), _peaks(_object(q))
    assert len(before) == len(FREQS) and after == pytest.approx(before / 2, abs=1.0)
    assert scaled(p, 1.0) is p


@pytest.mark.parametrize("size", [0.5, 2.0, 3.0])
def test_decays_after_a_size_edit_follow_the_damping_law(size):
    p = _preset(c=3.0, p=0.9)
    law = body_damping(p.object)
    q = scaled(p, size)
    assert _t60(q) == pytest.approx(law.t60_at(FREQS / size), rel=1e-9)
    assert _t60(q) / _t60(p) == pytest.approx(np.full(len(FREQS), size ** 0.9))
    # a mode off the law keeps its own deviation from it
    off = p.replace(object={"modes": [{"freq_hz": 1000.0, "t60_s": 0.5, "gain_db": 0.0},
                                      *[m.model_dump() for m in p.object.modes]],
                            "damping": p.object.damping.model_dump()})
    m0, m1 = off.object.modes[0], scaled(off, size).object.modes[0]
    assert m1.t60_s / law.t60_at(1000.0 / size) == pytest.approx(m0.t60_s / law.t60_at(1000.0))
    assert q.object.damping.coefficients == p.object.damping.coefficients     # the same law of frequency


def test_level_change_per_doubling_is_minus_12_dB_on_the_rendered_mode():
    """Pressure per unit impulse ~ sqrt(area) / mass ~ L^-2 (one mode, no law: its T60 is kept)."""
    one = Preset(name="one", sample_rate=SR, duration_s=1.0, object={"modes": [
        {"freq_hz": 1000.0, "t60_s": 0.4, "gain_db": -6.0}]},
        impacts=[{"time_s": 0.01, "contact_s": 1e-4, "magnitude": 1.0}],
        noise={"bands": [{"freq_hz": 1000.0, "gain_db": -160.0}]})
    y0, y1 = _object(one), _object(scaled(one, 2.0))
    assert scaled(one, 2.0).object.modes[0].t60_s == pytest.approx(0.4)
    rms = 20 * math.log10(np.sqrt(np.mean(y1 ** 2)) / np.sqrt(np.mean(y0 ** 2)))
    peak = 20 * math.log10(np.abs(y1).max() / np.abs(y0).max())
    # the law, and the contact pulse's own roll-off (Gaussian: |C(f)| = exp(-(pi f tau)^2 / 6)) at 1 kHz vs 500 Hz
    pulse_db = 20 * math.log10(math.exp(-(math.pi * 1e-4) ** 2 / 6 * (500.0 ** 2 - 1000.0 ** 2)))
    assert rms == pytest.approx(-40 * math.log10(2) + pulse_db, abs=0.02)
    assert peak == pytest.approx(-40 * math.log10(2) + pulse_db, abs=0.05)


# -------------------------------------------------------------------------- strike

def _strike_preset() -> Preset:
    """Contact 1 ms (well inside the spec's range) and modes up to 12 kHz to brighten."""
    return _preset(np.geomspace(200.0, 12000.0, 12), gains=np.zeros(12), contact_s=1e-3)


def test_a_harder_hit_shortens_the_contact_and_raises_the_peak_force_as_hertz_says():
    p = _strike_preset()
    q = struck(p, velocity=2.0)
    i0, i1 = p.impacts[0], q.impacts[0]
    assert i1.contact_s / i0.contact_s == pytest.approx(2 ** -0.2)
    assert i1.magnitude / i0.magnitude == pytest.approx(2.0)
    f0, f1 = (force_profile(x, sample_rate=96000) for x in (p, q))
    assert f1.max() / f0.max() == pytest.approx(2 ** 1.2, rel=0.01)
    assert f1.sum() / f0.sum() == pytest.approx(2.0, rel=1e-4)                # the impulse
    y0, y1 = _object(p), _object(q)
    assert _centroid(y1) > 1.02 * _centroid(y0)                                # brighter:
    f, db0 = _spectrum(y0)
    _, db1 = _spectrum(y1)
    k = [np.argmin(np.abs(f - m.freq_hz)) for m in p.object.modes]
    rise = db1[k] - db0[k]                     # 6 dB (the impulse) plus the shorter pulse's wider spectrum
    assert rise[0] == pytest.approx(20 * math.log10(2), abs=0.5) and np.all(np.diff(rise[:8]) > 0)


def test_a_stiffer_mallet_shortens_the_contact_with_the_same_impulse():
    p = _strike_preset()
    q = struck(p, stiffness=4.0)
    assert q.impacts[0].contact_s / p.impacts[0].contact_s == pytest.approx(4 ** -0.4)
    assert q.impacts[0].magnitude == p.impacts[0].magnitude
    f0, f1 = (force_profile(x, sample_rate=96000) for x in (p, q))
    assert f1.max() / f0.max() == pytest.approx(4 ** 0.4, rel=0.01)
    assert _centroid(_object(q)) > _centroid(_object(p))
    # a wooden mallet instead of a steel one on steel: E* falls, the contact lengthens
    soft = contact_modulus("wood", "metal") / contact_modulus("metal", "metal")
    assert soft < 1 and struck(p, stiffness=soft).impacts[0].contact_s > p.impacts[0].contact_s
    both = struck(p, velocity=2.0, stiffness=4.0).impacts[0]
    assert both.contact_s / p.impacts[0].contact_s == pytest.approx(2 ** -0.2 * 4 ** -0.4)


def test_striking_a_modes_node_makes_it_quieter():
    p = _preset(gains=np.zeros(len(FREQS)))
    middle = struck(p, position=0.5)         # the antisymmetric (2nd, 4th, 6th) modes have a node there
    d = _gains(middle) - _gains(p)
    assert d[[1, 3, 5]] == pytest.approx(np.full(3, POSITION_FLOOR_DB))
    assert np.all(d[[0, 2, 4]] > -6)
    assert struck(p, position=0.0) is p and _gains(struck(p, position=1.0)) == pytest.approx(_gains(p))
    node = struck(p, position=0.2242)        # the first mode's node
    f, db0 = _spectrum(_object(p))
    _, db1 = _spectrum(_object(node))
    k = np.argmin(np.abs(f - FREQS[0]))
    assert db0[k] - db1[k] > 25


# ------------------------------------------------------------------------ material

def test_metal_to_wood_moves_the_modes_onto_woods_law_with_the_wave_speed_ratio():
    p = _preset(c=3.0, p=0.9)
    wood = law_of("wood")
    q = with_material(p, "wood")
    r = wave_speed("wood") / wave_speed("metal")
    assert _freqs(q) == pytest.approx(FREQS * r)
    fitted = fit_damping_law(_freqs(q), _t60(q), kind="power")
    assert fitted.coefficients == pytest.approx(wood.coefficients, rel=1e-6)
    assert q.object.damping.coefficients == pytest.approx(wood.coefficients)
    assert _gains(q) - _gains(p) == pytest.approx(np.full(len(FREQS), -20 * math.log10(density("wood") / 7850.0)))
    assert q.material == "wood" and q.provenance["physical_edits"][-1]["material"] == "wood"


def test_a_fitted_metal_preset_lands_near_woods_law():
    """A real body keeps its scatter about its law, so its refitted law is near the target's."""
    p = wb.load_preset(REPO / "presets" / "metal" / "robot_steelfork_on_steelbowl.json")
    q = with_material(p, "wood")
    law = body_law(_freqs(q), _t60(q), _gains(q))
    wood = law_of("wood")
    f = np.geomspace(*q.object.damping.freq_range_hz, 5)
    assert np.abs(np.log(law.sigma_at(f) / wood.sigma_at(f))).max() < 0.15
    assert _freqs(q) == pytest.approx(_freqs(p) * wave_speed("wood") / wave_speed("metal"), rel=1e-6)


def test_material_amount_zero_is_identity_and_half_lies_between():
    p = _preset()
    assert with_material(p, "wood", 0.0) is p
    full, half = with_material(p, "wood", 1.0), with_material(p, "wood", 0.5)
    assert _freqs(half) == pytest.approx(np.sqrt(_freqs(p) * _freqs(full)))
    lo, hi = np.minimum(_t60(p), _t60(full)), np.maximum(_t60(p), _t60(full))
    assert np.all((lo <= _t60(half)) & (_t60(half) <= hi))
    assert _gains(half) - _gains(p) == pytest.approx((_gains(full) - _gains(p)) / 2)
    assert half.material == "metal"           # only a full morph renames the material


def test_an_unknown_material_names_the_argument():
    p = _preset(material="")
    with pytest.raises(WorkbenchError, match=r"^source: the preset's material ''"):
        with_material(p, "wood")
    with pytest.raises(WorkbenchError, match=r"^source: 'unobtainium'"):
        with_material(p, "wood", source="unobtainium")
    with pytest.raises(WorkbenchError, match=r"^material: 'jelly'"):
        with_material(p, "jelly", source="metal")
    assert with_material(p, "oak", source="steel").material == "wood"
    with pytest.raises(WorkbenchError, match="^amount"):
        with_material(p, "wood", 1.5, source="metal")
    for bad in ({"velocity": 0.0}, {"stiffness": math.nan}, {"position": 2.0}):
        with pytest.raises(WorkbenchError, match=f"^{next(iter(bad))}"):
            struck(p, **bad)
    with pytest.raises(WorkbenchError, match="^size"):
        scaled(p, -1.0)


# ------------------------------------------------------------------- every result

def test_every_physical_edit_gives_a_valid_preset_and_nothing_folds_past_nyquist(demo_preset_path):
    tool = {"modes": [{"freq_hz": 2500.0, "t60_s": 0.05, "gain_db": -20.0}]}
    base = wb.load_preset(REPO / "presets" / "metal" / "robot_steelfork_on_steelbowl.json").replace(tool=tool)
    edits = [Edits(size=s) for s in (0.25, 4.0)] + [Edits(material=m) for m in material_names()]
    edits += [Edits(**{k: EDIT_SPECS[k].maximum}) for k in ("velocity", "stiffness")]
    edits += [Edits(**{k: EDIT_SPECS[k].minimum}) for k in ("velocity", "stiffness")]
    edits += [Edits(strike_position=0.5, size=0.25, material="glass", material_amount=0.3, pitch_semitones=24)]
    for e in edits:
        out = apply_edits(base, e)
        assert preset_from_dict(out.to_dict()) == out, e
        assert out.tool == base.tool or e.pitch_semitones
    # modes scaled past Nyquist are silent, not aliased
    p = _preset([1500.0, 3000.0, 5000.0], gains=np.zeros(3), sr=16000)
    q = scaled(p, 0.25)
    assert max(_freqs(q)) <= specs.FREQ_HZ.maximum
    f, db = _spectrum(_object(q), 16000)
    alias = (f > 3500) & (f < 4500)                     # 12 and 20 kHz would fold to 4 kHz
    assert db[alias].max() < db.max() - 60


def test_apply_edits_runs_the_physical_edits_first():
    p = _preset()
    e = apply_edits(p, Edits(size=2.0, pitch_semitones=12.0))
    assert _freqs(e) == pytest.approx(FREQS)                 # an octave down, then an octave up
    assert _gains(e) - _gains(p) == pytest.approx(np.full(len(FREQS), -12.0412), abs=1e-3)
    assert e.provenance["edits"] == {"size": 2.0, "pitch_semitones": 12.0} and "physical_edits" not in e.provenance
    s = apply_edits(p, Edits(velocity=2.0, contact_scale=2.0))
    assert s.impacts[0].contact_s == pytest.approx(p.impacts[0].contact_s * 2 ** -0.2 * 2)
    zero = apply_edits(p, Edits(material="wood", material_amount=0.0))
    assert zero.object.modes == p.object.modes and zero.material == p.material
    with pytest.raises(WorkbenchError, match="^source"):
        apply_edits(_preset(material=""), Edits(material="wood"))
    assert hash(Edits(size=2.0, material="wood")) != hash(Edits())


# -------------------------------------------------------------------- the table

def test_the_material_table_rebuilds_to_the_committed_file(tmp_path):
    pytest.importorskip("tdw")
    from typer.testing import CliRunner

    from workbench.cli import app

    out = tmp_path / "materials.json"
    result = CliRunner().invoke(app, ["materials", "-o", str(out), "--presets", str(REPO / "presets")])
    assert result.exit_code == 0, result.output
    committed = json.loads(TABLE_PATH.read_text())
    assert _close(json.loads(out.read_text()), committed)
    assert build_material_table(REPO / "presets", use_tdw=False)["materials"]["glass"]["use"] is None


def _close(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == pytest.approx(b, rel=1e-5)
    return a == b


def test_the_table_has_the_library_and_tdw_laws_and_loads_without_tdw():
    table = json.loads(TABLE_PATH.read_text())["materials"]
    for name in ("ceramic", "metal", "plastic", "wood"):
        assert table[name]["use"] == "library" and table[name]["library"]["bodies"] >= 2
    assert table["glass"]["use"] == "tdw" and table["stone"]["library"] is None
    for entry in table.values():
        assert entry["wave_speed_m_s"] == pytest.approx(math.sqrt(entry["E_pa"] / entry["density_kg_m3"]), rel=1e-5)
        assert entry["source"]
    code = ("import sys, workbench.materials as m; m.law_of('glass'); m.material_table(); "
            "assert 'tdw' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
