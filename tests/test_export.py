"""Exporters for ThreeDWorld (PyImpact) and Habitat: files, units, round trip, CLI, atomicity."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import soundfile as sf

from workbench import specs
from workbench.audio import encode_wav
from workbench.edits import Edits, apply_edits
from workbench.errors import WorkbenchError
from workbench.export import export, export_zip
from workbench.export import habitat as hab
from workbench.export import tdw, tdw_compat, tdw_verify
from workbench.export.play_in_tdw import resource_filename
from workbench.names import AUDIO_MATERIALS, slugify
from workbench.presets import Preset, load_preset, preset_from_dict
from workbench.variations import learn_variation

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "presets" / "demo.json"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "workbench", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def with_changes(**changes) -> Preset:
    data = load_preset(DEMO).to_dict()
    data.update(changes)
    return preset_from_dict(data)


def random_preset(seed: int, *, n_modes: int | None = None) -> Preset:
    """A random valid preset: log-uniform frequencies and T60s, uniform gains, random contact."""
    rng = np.random.default_rng(seed)
    k = n_modes or int(rng.integers(4, 24))
    modes = [{"freq_hz": float(specs.FREQ_HZ.sample(rng, low=60.0, high=18_000.0)),
              "t60_s": float(specs.T60_S.sample(rng, low=0.02, high=1.5)),
              "gain_db": float(rng.uniform(-50.0, 0.0))} for _ in range(k)]
    contact = float(specs.CONTACT_S.sample(rng, low=5e-5, high=2e-3))
    return with_changes(name=f"random {seed}", material="", object={"modes": modes},
                        impacts=[{"time_s": 0.05, "contact_s": contact, "magnitude": 1.0}])


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo_tdw(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tdw") / "demo_tdw"
    export(DEMO, to="tdw", output=out)
    return out


# --------------------------------------------------------------------------- ThreeDWorld

def test_tdw_files_follow_the_schemas_and_units(demo_tdw):
    preset = load_preset(DEMO)
    record = read_json(demo_tdw / "export.json")
    assert record["schema"] == "impact-workbench/export" and record["target"] == "tdw"
    assert set(record["files"]) == {p.name for p in demo_tdw.iterdir()}
    body = record["tdw"]["bodies"][0]
    material = read_json(demo_tdw / body["material_file"])
    modes = read_json(demo_tdw / "object_modes.json")
    static = read_json(demo_tdw / "object_audio_static.json")
    jsonschema.validate(material, tdw.MATERIAL_SCHEMA)
    jsonschema.validate(modes, tdw.MODES_SCHEMA)
    jsonschema.validate(static, tdw.AUDIO_STATIC_SCHEMA)
    assert body["material_file"] == f"{slugify(preset.name, default='preset')}_{static['size']}_mm.json"

    # units: Hz identity, dB = gain + offset, T60 in ms (Modes) and s (material file)
    src = [preset.object.modes[i] for i in body["source_mode_index"]]
    assert modes["frequencies"] == [m.freq_hz for m in src]
    np.testing.assert_allclose(modes["decay_times"], [1000 * m.t60_s for m in src])
    np.testing.assert_allclose(modes["powers"], [m.gain_db + body["offset_db"] for m in src])
    assert max(modes["powers"]) == pytest.approx(tdw.MODES_PEAK_DB) and min(modes["powers"]) > -80
    assert modes["resonance"] == 1.0 and modes["mass_kg"] == pytest.approx(preset.impacts[0].contact_s / 1e-3)
    # most energy first; the material table is the first 10, T60 in seconds
    energy = [10 ** (m.gain_db / 10) * m.t60_s for m in src]
    assert energy == sorted(energy, reverse=True) and len(src) == len(preset.object.modes) == 12
    assert material["cf"] == modes["frequencies"][:10]
    np.testing.assert_allclose(material["op"], np.array(modes["powers"][:10]) + body["material_offset_db"]
                               - body["offset_db"])
    assert max(material["op"]) == pytest.approx(tdw.DEFAULT_PEAK_DB)      # the level of tdw's own tables
    np.testing.assert_allclose(material["rt"], np.array(modes["decay_times"][:10]) / 1000)
    assert material["synthMethod"] == "matchedMode" and len(material["cf"]) == 10
    # ObjectAudioStatic fallback: "metal" preset -> AudioMaterial.metal; amp = our peak
    assert static["material"] == "metal" and static["mass"] == modes["mass_kg"] and 0.01 <= static["amp"] <= 1
    check = record["tdw"]["round_trip"]
    assert check["distance"] <= 0.05 and check["distance_workbench"] <= 0.05 and check["why_not_workbench"] is None
    readme = (demo_tdw / "README.md").read_text()
    assert "PyImpact" in readme and (demo_tdw / "play_in_tdw.py").is_file()
    assert "In PyImpact's conventions" in readme and "As the workbench plays it" in readme
    assert f"{check['distance_workbench']:.3f}" in readme
    with pytest.raises(jsonschema.ValidationError):     # the schema does bite
        jsonschema.validate({**material, "cf": material["cf"][:9]}, tdw.MATERIAL_SCHEMA)


PLAY_CHECK = """
import sys
sys.path.insert(0, sys.argv[1])
import play_in_tdw as p
p.main(["--offline", "--out", sys.argv[2]])
body = p.body_record("object")
static = p.audio_static("object", object_id=7)
assert static.material.name == body["audio_material"] and static.size == body["size"], static
assert static.mass == body["mass_kg"] and static.object_id == 7
py_impact = p.make_py_impact(override_builtin=True, auto=False)       # the Linux case bug is worked around
table = py_impact.material_data[body["material_key"]]
assert py_impact.material_data[body["audio_material"] + "_" + str(body["size"])] is table
assert len(table["cf"]) == 10 and "ceramic_3" in py_impact.material_data
print("ok")
"""


def test_play_in_tdw_offline_renders_with_tdw_and_registers_the_material(demo_tdw, tmp_path):
    """The snippet runs as shipped, without Unity: both synthesis paths, ObjectAudioStatic, registration."""
    r = subprocess.run([sys.executable, "-c", PLAY_CHECK, str(demo_tdw), str(tmp_path)],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr
    for name in ("object_tdw_modes.wav", "object_tdw_material.wav"):
        y, sr = sf.read(tmp_path / name)
        assert sr == 44_100 and y.size > 44_100 and np.isfinite(y).all() and np.abs(y).max() > 0.1
    # the exact (Modes) path has the demo's strongest mode at 523 Hz
    y, sr = sf.read(tmp_path / "object_tdw_modes.wav")
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.fft.rfftfreq(y.size, 1 / sr)[np.argmax(spectrum)] - 523.0) < 3.0


def test_round_trip_demo_within_gate():
    r = tdw_verify.round_trip(DEMO)
    assert r["distance"] <= 0.05 and r["ok"]
    assert r["distance_workbench"] <= 0.05 and r["ok_workbench"] and not r["why_not"]
    assert r["n_modes_exported"] == 12 and r["n_material_modes"] == 10
    assert 0 <= r["distance_material"] < 0.2 and 0 <= r["distance_impact"] < 0.2


@pytest.mark.parametrize("seed", [3, 11])
def test_round_trip_random_preset_within_gate(seed):
    r = tdw_verify.round_trip(random_preset(seed), impact=False)
    assert r["distance"] <= 0.05 and r["distance_workbench"] <= 0.05, r


def test_reference_mode_sum_matches_tdw_closed_form():
    """cos-phase conversion of our sine modes and the -80 dB cut reproduce PyImpact's formula."""
    f, t60, p = np.array([440.0, 3000.0, 20.0]), np.array([0.3, 0.05, 1.0]), np.array([-30.0, -45.0, -60.0])
    lengths = tdw_verify.tdw_mode_lengths(p, 1000 * t60)
    n = int(lengths.max())
    ours = tdw_verify.reference_mode_sum(f, t60, p, n_samples=n, phase="cos", lengths=lengths)
    tt = np.arange(n) / 44_100
    expected = sum(np.where(np.arange(n) < L, 10 ** (pi / 20) * 10 ** (-3 * tt / ti) * np.cos(2 * np.pi * fi * tt), 0)
                   for fi, ti, pi, L in zip(f, t60, p, lengths))
    np.testing.assert_allclose(ours, expected, atol=1e-9)
    tdw_sum = tdw_verify.tdw_mode_sum({"frequencies": f, "powers": p, "decay_times": 1000 * t60})
    np.testing.assert_allclose(ours, tdw_sum, atol=1e-9)


def test_few_modes_are_padded_to_ten_silent_entries(tmp_path):
    preset = random_preset(5, n_modes=4)
    r = export(preset, to="tdw", output=tmp_path / "few")
    body = r.record["tdw"]["bodies"][0]
    material = read_json(tmp_path / "few" / body["material_file"])
    jsonschema.validate(material, tdw.MATERIAL_SCHEMA)
    assert body["n_modes"] == 4 and body["n_material_padding"] == 6
    assert material["op"][4:] == [tdw.PAD_POWER_DB] * 6 and all(p > -80 for p in material["op"][:4])
    assert any("padded" in n for n in r.notes)


def test_tool_is_exported_with_its_own_files(tmp_path):
    tool = {"modes": [{"freq_hz": 3100.0, "t60_s": 0.05, "gain_db": -20.0},
                      {"freq_hz": 5200.0, "t60_s": 0.03, "gain_db": -26.0}]}
    r = export(with_changes(tool=tool), to="tdw", output=tmp_path / "t")
    roles = [b["role"] for b in r.record["tdw"]["bodies"]]
    assert roles == ["object", "tool"]
    for name in ("tool_modes.json", "tool_audio_static.json", r.record["tdw"]["bodies"][1]["material_file"]):
        assert (tmp_path / "t" / name).is_file()
    jsonschema.validate(read_json(tmp_path / "t" / "tool_audio_static.json"), tdw.AUDIO_STATIC_SCHEMA)


# --------------------------------------------------------------------------- bad input

def test_unplayable_modes_are_dropped_or_clamped_with_warnings():
    m = tdw.plan_modes([500.0, 23_000.0, 900.0, 1200.0, 1500.0], [0.5, 0.5, 0.0005, 0.4, 0.4],
                       [-6.0, -6.0, -10.0, -80.0, -107.0])
    # 1200 Hz, 74 dB down, is kept in the Modes file (PyImpact's cut is 100 dB below the strongest);
    # 1500 Hz, 101 dB down, is not (beyond 16-bit range: -81 dB re 1, which PyImpact cannot play)
    assert m.n_modes == 3 and sorted(m.freqs_hz.tolist()) == [500.0, 900.0, 1200.0]
    assert m.powers_db.max() == tdw.MODES_PEAK_DB and m.t60_s.min() == pytest.approx(0.001)
    text = " ".join(m.warnings)
    assert "23000" in text and "22050 Hz" in text and "clamped the T60" in text and "-80 dB" in text
    assert "1500 Hz" in text and "material table leaves out 1 mode(s)" in text and "1200 Hz" in text
    cf, op, _, n_pad = m.material_table()
    assert sorted(cf[:2]) == [500.0, 900.0] and n_pad == 8 and op[0] == tdw.DEFAULT_PEAK_DB
    raised = tdw.plan_modes([500.0, 900.0], [0.5, 0.5], [0.0, -55.0])      # table's peak raised to keep the weak mode
    assert raised.material_powers_db.tolist() == [-24.0, -79.0] and not raised.warnings
    assert raised.powers_db.tolist() == [20.0, -35.0]
    mass, notes = tdw.mass_from_contact(1e-5)
    assert mass == tdw_compat.MIN_MASS_KG and "NaN" in notes[0]
    assert tdw.mass_from_contact(5e-3)[1] and "2 ms" in tdw.mass_from_contact(5e-3)[1][0]


def test_partly_unplayable_preset_exports_and_reports_warnings(tmp_path):
    modes = [{"freq_hz": 600.0, "t60_s": 0.8, "gain_db": -10.0}, {"freq_hz": 23_500.0, "t60_s": 0.2, "gain_db": -12.0},
             {"freq_hz": 1900.0, "t60_s": 0.3, "gain_db": -95.0}]
    preset = with_changes(sample_rate=48_000, object={"modes": modes})
    r = export(preset, to="tdw", output=tmp_path / "p")
    body = r.record["tdw"]["bodies"][0]
    assert body["n_modes"] == 2 and body["n_material_padding"] == 9      # 1900 Hz: 85 dB down, Modes file only
    saved = read_json(tmp_path / "p" / "export.json")["warnings"]
    assert saved == r.warnings and any("23500" in w for w in saved) and any("1900" in w for w in saved)


@pytest.mark.parametrize("to", ["tdw", "habitat"])
def test_preset_without_modes_is_refused_and_nothing_written(tmp_path, to):
    with pytest.raises(WorkbenchError, match="object has no modes"):
        export(with_changes(object={"modes": []}), to=to, output=tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def test_nothing_playable_is_refused(tmp_path):
    preset = with_changes(sample_rate=48_000, object={"modes": [{"freq_hz": 23_000.0, "t60_s": 0.5, "gain_db": -6}]})
    with pytest.raises(WorkbenchError, match="none of its modes can be played by PyImpact.*23000"):
        export(preset, to="tdw", output=tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def test_bad_options_name_the_option(tmp_path):
    with pytest.raises(WorkbenchError, match=r"sample_rate \(--sample-rate\).*habitat.*44100"):
        export(DEMO, to="tdw", output=tmp_path / "a", sample_rate=16_000)
    with pytest.raises(WorkbenchError, match="'unity' is not an export target"):
        export(DEMO, to="unity", output=tmp_path / "a")
    with pytest.raises(WorkbenchError, match=r"sample_rate \(--sample-rate\): 8000"):
        export(DEMO, to="habitat", output=tmp_path / "a", sample_rate=8000)
    with pytest.raises(WorkbenchError, match=r"variations \(--variations\)"):
        export(DEMO, to="habitat", output=tmp_path / "a", variations=0)
    with pytest.raises(WorkbenchError, match=r"--room-area.*cannot enclose"):
        export(DEMO, to="habitat", output=tmp_path / "a", room_area_m2=10.0)
    with pytest.raises(WorkbenchError, match="no such preset file"):
        export(tmp_path / "missing.json", to="tdw", output=tmp_path / "a")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- folders

def test_existing_folder_needs_force_and_force_replaces(tmp_path):
    out = tmp_path / "e"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(WorkbenchError, match="already exists.*--force"):
        export(DEMO, to="tdw", output=out)
    assert (out / "old.txt").read_text() == "old"
    export(DEMO, to="tdw", output=out, force=True)
    assert not (out / "old.txt").exists() and (out / "export.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["e"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(WorkbenchError, match="not a folder"):
        export(DEMO, to="tdw", output=tmp_path / "file", force=True)


@pytest.mark.parametrize("error, raised", [(OSError(28, "No space left on device"), WorkbenchError),
                                           (KeyboardInterrupt(), KeyboardInterrupt)])
def test_failure_mid_export_leaves_nothing_behind(tmp_path, monkeypatch, error, raised):
    calls = []

    def failing_encode(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:         # after two WAVs are on disk
            raise error
        return encode_wav(*args, **kwargs)

    monkeypatch.setattr(hab, "encode_wav", failing_encode)
    with pytest.raises(raised):
        export(DEMO, to="habitat", output=tmp_path / "bank", variations=4, sample_rate=16_000)
    assert len(calls) == 3 and list(tmp_path.iterdir()) == []      # no target, no temporary folder


def test_failure_with_force_keeps_the_previous_export(tmp_path, monkeypatch):
    out = tmp_path / "bank"
    export(DEMO, to="habitat", output=out, variations=2, sample_rate=16_000)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def boom(*args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(hab, "write_file", boom)
    with pytest.raises(RuntimeError):
        export(DEMO, to="habitat", output=out, force=True, variations=3, sample_rate=16_000)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before and [p.name for p in tmp_path.iterdir()] == ["bank"]


# --------------------------------------------------------------------------- Habitat

@pytest.mark.parametrize("rate", [16_000, 48_000])
def test_habitat_bank_wavs_manifest_and_materials(tmp_path, rate):
    out = tmp_path / "h"
    r = export(DEMO, to="habitat", output=out, sample_rate=rate, variations=4, duration_s=0.5,
               room_volume_m3=80.0, room_area_m2=120.0)
    manifest = read_json(out / "manifest.json")
    jsonschema.validate(manifest, hab.MANIFEST_SCHEMA)
    assert manifest["sample_rate"] == rate and len(manifest["files"]) == 4 and manifest["material_label"] == "metal"
    for entry in manifest["files"]:
        y, sr = sf.read(out / entry["file"], dtype="float32")
        assert sr == rate and y.size == entry["n_samples"] == int(0.5 * rate)
        assert 20 * np.log10(np.abs(y).max()) == pytest.approx(entry["peak_dbfs"], abs=0.01)
        assert np.abs(y[: int(0.002 * rate)]).max() > 0.01       # the strike starts at t = 0
    levels = [e["peak_dbfs"] for e in manifest["files"][:3]]      # 0, -6, -12 dB strikes
    np.testing.assert_allclose(np.diff(levels), [-6.0, -6.0], atol=0.3)
    assert manifest["files"][3]["contact_scale"] == 0.5

    config = read_json(out / "habitat_materials.json")
    jsonschema.validate(config, hab.MATERIALS_SCHEMA)
    hab.check_materials(config)
    entry = config["materials"][1]
    assert entry["labels"] == list(hab.DEFAULT_LABELS) and entry["absorption"][0::2] == list(hab.MATERIAL_BANDS_HZ)
    room = r.record["habitat"]["room"]
    for t60, alpha in zip(room["t60_s"], entry["absorption"][1::2]):    # Eyring, V = 80 m³, S = 120 m²
        assert alpha == pytest.approx(1 - math.exp(-0.161 * 80.0 / (120.0 * t60)), abs=2e-4)
    if rate == 16_000:
        assert any("8000 Hz are silent" in w for w in r.warnings)


def test_habitat_without_reverb_has_no_material_file(tmp_path):
    preset = with_changes(reverb={**load_preset(DEMO).to_dict()["reverb"], "enabled": False})
    r = export(preset, to="habitat", output=tmp_path / "h", variations=1, duration_s=0.2, room_volume_m3=50.0)
    assert not (tmp_path / "h" / "habitat_materials.json").exists()
    assert read_json(tmp_path / "h" / "manifest.json")["room_materials_file"] is None
    assert any("ignored" in w for w in r.warnings)


def test_materials_schema_and_pair_check_reject_bad_tables():
    good, _ = hab.materials_json(load_preset(DEMO))
    jsonschema.validate(good, hab.MATERIALS_SCHEMA)
    bad = json.loads(json.dumps(good))
    bad["materials"][1]["absorption"] = [125, 0.2, 250]
    jsonschema.validate(bad, hab.MATERIALS_SCHEMA)             # schema alone cannot see the odd length
    with pytest.raises(WorkbenchError, match="pairs"):
        hab.check_materials(bad)
    bad["materials"][1]["absorption"] = [125, 1.2, 250, 0.1]
    with pytest.raises(WorkbenchError, match=r"\[0, 1\]"):
        hab.check_materials(bad)
    del bad["materials"][1]["labels"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, hab.MATERIALS_SCHEMA)


def test_variation_seeds_jitter_gains_only():
    preset = load_preset(DEMO)
    grid = hab.variation_grid(10)
    assert [(v.strength_db, v.contact_scale, v.seed) for v in grid[8:]] == [(-12.0, 2.0, 0), (0.0, 1.0, 1)]
    p0, _, _ = hab.strike(preset, grid[0])
    p1, params, _ = hab.strike(preset, grid[9])
    assert params["seed"] == 1 and len(p1.impacts) == 1 and p1.impacts[0].time_s == p1.impacts[0].contact_s
    assert [m.freq_hz for m in p1.object.modes] == [m.freq_hz for m in p0.object.modes]
    assert [m.gain_db for m in p1.object.modes] != [m.gain_db for m in p0.object.modes]
    jitter = np.array([m.gain_db for m in p1.object.modes]) - [m.gain_db for m in p0.object.modes]
    spread = learn_variation(preset).gain_sd_at([m.freq_hz for m in p0.object.modes])    # the learned s(f)
    assert 0.4 * spread.mean() < jitter.std() < 1.6 * spread.mean() and hab.gain_jitter(preset, 0) == ()


def test_strike_is_the_loudest_impact_through_apply_edits():
    """A strike = the loudest impact moved to t = tau, then the dashboard's edits (strength, contact, gains)."""
    tool = {"modes": [{"freq_hz": 3100.0, "t60_s": 0.05, "gain_db": -20.0}]}
    preset = with_changes(tool=tool, impacts=[{"time_s": 0.05, "contact_s": 4e-4, "magnitude": 0.5},
                                              {"time_s": 0.3, "contact_s": 1e-3, "magnitude": 2.0}])
    v = hab.Variation(index=0, strength_db=-6.0, contact_scale=0.5, seed=2)
    p, params, clipped = hab.strike(preset, v)
    (hit,) = p.impacts
    assert not clipped and hit.time_s == hit.contact_s == params["contact_s"] == pytest.approx(5e-4)
    assert hit.magnitude == params["magnitude"] == pytest.approx(2.0 * 10 ** (-6 / 20))
    edits = hab.gain_jitter(preset, 2)
    assert [(e.body, e.index) for e in edits] == [("object", i) for i in range(12)] + [("tool", 0)]
    one = preset.replace(impacts=[{"time_s": 5e-4, "contact_s": 1e-3, "magnitude": 2.0}])
    expected = apply_edits(one, Edits(strength_db=-6.0, contact_scale=0.5, modes=edits))
    assert p.object == expected.object and p.tool == expected.tool and p.impacts == expected.impacts
    assert [m.gain_db for m in p.tool.modes] == [e.gain_db for e in edits if e.body == "tool"]


def test_strike_contact_time_is_clipped_into_its_range_and_flagged(tmp_path):
    preset = with_changes(impacts=[{"time_s": 0.05, "contact_s": 0.015, "magnitude": 1.0}])
    p, params, clipped = hab.strike(preset, hab.Variation(index=0, strength_db=0.0, contact_scale=2.0, seed=0))
    assert clipped and params["contact_s"] == p.impacts[0].time_s == specs.CONTACT_S.maximum
    assert not hab.strike(preset, hab.variation_grid(1)[0])[2]
    r = export(preset, to="habitat", output=tmp_path / "c", variations=9, sample_rate=16_000, duration_s=0.2)
    manifest = read_json(tmp_path / "c" / "manifest.json")
    assert [e["contact_s"] for e in manifest["files"][6:]] == [specs.CONTACT_S.maximum] * 3
    assert any(w.startswith("3 strike(s): contact duration clipped") for w in r.warnings)


@pytest.mark.parametrize("material, label", [("stainless steel", "metal"), ("Oak plank", "wood_hard"),
                                             ("Mystery goo!", "mystery_goo"), ("", "unknown")])
def test_habitat_material_label_from_the_names_vocabulary(tmp_path, material, label):
    export(with_changes(material=material), to="habitat", output=tmp_path / "m", variations=1,
           sample_rate=16_000, duration_s=0.1)
    manifest = read_json(tmp_path / "m" / "manifest.json")
    assert manifest["material_label"] == label == manifest["files"][0]["material_label"]
    assert manifest["rlr_material_hint"] == hab.RLR_MATERIAL_HINTS.get(label)


# --------------------------------------------------------------------------- API, CLI

def test_export_zip_holds_the_export():
    data = export_zip(DEMO, to="habitat", sample_rate=16_000, variations=2, duration_s=0.3)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert "demo_steel_bowl_habitat/manifest.json" in names and "demo_steel_bowl_habitat/export.json" in names
        assert sum(n.endswith(".wav") for n in names) == 2
        record = json.loads(zf.read("demo_steel_bowl_habitat/export.json"))
    assert record["target"] == "habitat" and record["options"]["sample_rate"] == 16_000


def test_nearest_table_uses_the_named_material():
    modes = tdw.plan_modes([300.0, 900.0, 1500.0], [0.02, 0.015, 0.01], [-6.0, -10.0, -14.0])
    mat, size, how = tdw_compat.nearest_builtin(modes, "")
    assert mat in AUDIO_MATERIALS and 0 <= size <= 5 and "nearest" in how
    assert tdw_compat.nearest_builtin(modes, "ceramic mug")[0] == "ceramic"
    assert tdw_compat.nearest_builtin(modes, "stainless steel")[0] == "metal"


def test_export_names_are_slugs_of_the_preset_name(tmp_path):
    r = export(with_changes(name="Bowl #2 (steel)"), to="tdw", output=tmp_path / "n")
    (body,) = r.record["tdw"]["bodies"]
    assert body["material_key"] == f"bowl_2_steel_{body['size']}"
    static = read_json(tmp_path / "n" / "object_audio_static.json")
    assert static["name"] == "bowl_2_steel" and static["material"] == "metal"
    with zipfile.ZipFile(io.BytesIO(export_zip(with_changes(name="---"), to="habitat", variations=1,
                                               sample_rate=16_000, duration_s=0.1))) as zf:
        assert {n.split("/")[0] for n in zf.namelist()} == {"preset_habitat"}
        assert "wavs/preset_v00.wav" in {n.split("/", 1)[1] for n in zf.namelist()}


@pytest.mark.skipif(tdw_compat.tdw_dir() is None, reason="needs tdw")
def test_tdw_is_imported_without_pkg_resources_and_the_shim_is_removed(monkeypatch):
    monkeypatch.setitem(sys.modules, "pkg_resources", None)      # as with setuptools >= 81: import fails
    py_impact = tdw_compat.import_py_impact()
    assert hasattr(py_impact, "_synth_impact_modes") and sys.modules.get("pkg_resources") is None
    found = Path(resource_filename("tdw", "add_ons/py_impact/material_data/ceramic_3_mm.json"))
    assert found.name == "Ceramic_3_mm.json" and found.is_file()      # the shipped file's odd case
    assert ("metal", 2) in tdw_compat.shipped_tables() and tdw_compat.typical_bounciness("metal") > 0


def test_cli_export_end_to_end(tmp_path):
    r = run_cli("export", DEMO, "--to", "tdw", "-o", tmp_path / "t")
    assert r.returncode == 0, r.stderr
    assert "exported" in r.stdout and "round trip" in r.stdout
    assert (tmp_path / "t" / "object_modes.json").is_file()
    r = run_cli("export", DEMO, "--to", "tdw", "-o", tmp_path / "t")
    assert r.returncode == 2 and r.stderr.startswith("error:") and "--force" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) <= 2
    r = run_cli("export", DEMO, "--to", "habitat", "-o", tmp_path / "h", "--sample-rate", "48000",
                "--variations", "2", "--duration", "0.3", "--room-volume", "70", "--room-area", "110")
    assert r.returncode == 0, r.stderr
    manifest = read_json(tmp_path / "h" / "manifest.json")
    assert manifest["sample_rate"] == 48_000 and sf.info(tmp_path / "h" / manifest["files"][0]["file"]).samplerate \
        == 48_000
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(with_changes(object={"modes": []}).to_dict()))
    r = run_cli("export", bad, "--to", "tdw", "-o", tmp_path / "b")
    assert r.returncode == 2 and "object has no modes" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "b").exists()


# --------------------------------------------------------------------------- levels

def _loud_demo():
    """The demo struck 30 dB harder: far above full scale."""
    data = load_preset(DEMO).to_dict()
    data["impacts"] = [{**i, "magnitude": min(i["magnitude"] * 31.6, 1000.0)} for i in data["impacts"]]
    return with_changes(**data)


def test_a_loud_preset_exports_with_headroom(tmp_path):
    from workbench.specs import HEADROOM_DBFS
    loud = _loud_demo()
    export(loud, to="habitat", output=tmp_path / "h", variations=3, duration_s=0.5, sample_rate=16_000)
    manifest = read_json(tmp_path / "h" / "manifest.json")
    jsonschema.validate(manifest, hab.MANIFEST_SCHEMA)
    peaks = []
    for entry in manifest["files"]:
        y, _ = sf.read(tmp_path / "h" / entry["file"], dtype="float32")
        peaks.append(20 * np.log10(np.abs(y).max()))
    assert max(peaks) == pytest.approx(HEADROOM_DBFS, abs=0.01) and max(peaks) <= HEADROOM_DBFS + 1e-4
    assert manifest["level_gain_db"] < -20.0                          # one gain for the whole bank:
    np.testing.assert_allclose(np.diff(peaks[:3]), [-6.0, -6.0], atol=0.3)   # strengths keep their steps
    bodies, _, notes = tdw.build_bodies(loud)
    assert bodies and all(b.amp <= 10 ** (HEADROOM_DBFS / 20) + 1e-4 for b in bodies)
    assert any("dBFS" in n for n in notes)
