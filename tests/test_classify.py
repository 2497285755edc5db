"""Material classification (`workbench.classify`, `workbench classify`): features, the synthetic
training recipe, the shipped weights, raw and separated classification, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import workbench
from workbench import classify as cls
from workbench.cli import app
from workbench.errors import WorkbenchError

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "workbench" / "data" / "robot_steelfork_on_steelbowl.wav"
SEPARATED = REPO / "presets" / "metal" / "robot_steelfork_on_steelbowl_separated.json"


def test_features_are_finite_and_fixed_length():
    rng = np.random.default_rng(0)
    for n in (2, 5, 48):
        f = rng.uniform(100, 15000, n)
        x = cls.features(f, rng.uniform(0.01, 3.0, n), rng.uniform(-60, 0, n))
        assert x.shape == (len(cls.FEATURES),) and np.all(np.isfinite(x))
    # equal gains, one loss factor: every loss-factor feature reads it back exactly, the law is flat
    f = np.array([300.0, 900.0, 2000.0, 5000.0])
    x = dict(zip(cls.FEATURES, cls.features(f, cls.T60_DECAY / (np.pi * f * 1e-3), np.zeros(4))))
    for name in ("log10_eta_median", "log10_eta_q10", "log10_eta_q90", "log10_eta_3k"):
        assert x[name] == pytest.approx(-3.0)
    assert x["eta_slope"] == pytest.approx(0.0, abs=1e-9)


def test_the_damping_law_features_shrug_off_a_few_modes_no_material_has():
    # a metal-like body, eta = 3e-4 (f / 1 kHz)^-0.5, plus two modes a fit left damped like a click
    f = np.geomspace(400.0, 12000.0, 20)
    eta = 3e-4 * (f / 1000.0) ** -0.5
    x = dict(zip(cls.FEATURES, cls.features(f, cls.T60_DECAY / (np.pi * f * eta), np.zeros(20))))
    f2 = np.concatenate([f, [2500.0, 6000.0]])
    t2 = np.concatenate([cls.T60_DECAY / (np.pi * f * eta), [0.01, 0.01]])
    y = dict(zip(cls.FEATURES, cls.features(f2, t2, np.zeros(22))))
    assert x["eta_slope"] == pytest.approx(-0.5, abs=1e-6)
    assert x["log10_eta_3k"] == pytest.approx(np.log10(3e-4 * 10 ** -0.25), abs=1e-6)
    for name in ("log10_eta_q10", "log10_eta_median", "log10_eta_3k", "eta_slope"):
        assert y[name] == pytest.approx(x[name], abs=0.1), name


@pytest.mark.parametrize("bad", [([1000.0], [0.5], [0.0]), ([1000.0, -5.0], [0.5, 0.5], [0, 0]),
                                 ([1000.0, 2000.0], [0.5, np.nan], [0, 0]), ([1000.0, 2000.0], [0.5], [0, 0])])
def test_features_refuse_bad_modes(bad):
    with pytest.raises(WorkbenchError, match="modes"):
        cls.features(*bad)


def test_the_recipe_separates_clearly_different_materials_on_held_out_synthetic_sounds():
    model = cls.train_model(per_material=200, seed=1)
    x, y = cls.synthetic_set("object", per_material=100, seed=2)
    names = np.array(cls.MATERIALS)[y]
    pairs = [(n, cls.predict(v, role="object", materials=("metal", "plastic"), model=model))
             for v, n in zip(x, names) if n in ("metal", "plastic")]
    accuracy = np.mean([max(p, key=p.get) == n for n, p in pairs])
    assert accuracy >= 0.95
    five = np.mean([max(p := cls.predict(v, role="object", model=model), key=p.get) == n for v, n in zip(x, names)])
    assert five > 0.5          # five materials, chance 0.2 (ceramic and glass overlap by design)


def test_shipped_weights_load_offline_and_reproduce_from_the_training_command():
    shipped = cls.load_model()
    assert shipped["materials"] == list(cls.MATERIALS) and shipped["features"] == list(cls.FEATURES)
    assert cls.MODEL_PATH.stat().st_size < 20_000
    again = cls.train_model(seed=shipped["seed"], per_material=shipped["per_material"])
    for role in cls.ROLES:
        for key in ("mean", "std", "intercept"):
            np.testing.assert_allclose(again["roles"][role][key], shipped["roles"][role][key], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(again["roles"][role]["coef"], shipped["roles"][role]["coef"], rtol=1e-4, atol=1e-5)


def test_predict_restricts_candidates_and_refuses_unknown_ones():
    x = cls.features([400.0, 1100.0, 2300.0], [1.0, 0.5, 0.3], [0.0, -3.0, -6.0])
    p = cls.predict(x, materials=("metal", "wood"))
    assert set(p) == {"metal", "wood"} and sum(p.values()) == pytest.approx(1.0)
    with pytest.raises(WorkbenchError, match="materials"):
        cls.predict(x, materials=("unobtainium",))
    with pytest.raises(WorkbenchError, match="role"):
        cls.predict(x, role="hammer")


def test_the_committed_separated_fit_reads_metal_object_and_metal_tool():
    from workbench.presets import load_preset

    r = cls.classify_preset(load_preset(SEPARATED), materials=("ceramic", "metal", "plastic", "wood"))
    assert r.separated and r.object.material == "metal" and r.tool.material == "metal"
    assert sum(r.object.probabilities.values()) == pytest.approx(1.0)


@pytest.mark.slow
def test_classify_material_separates_the_bundled_clip_and_says_metal():
    # among the robot clips' materials, as DiffImpact scores them (with glass too, a steel bowl's
    # eta ~1e-3 sits where glass and metal overlap: bench/results/material.md)
    r = workbench.classify_material(BUNDLED, device="cpu", materials=("ceramic", "metal", "plastic", "wood"))
    assert r.separated and r.tool is not None
    assert r.object.material == "metal" and r.tool.material == "metal"
    raw = workbench.classify_material(BUNDLED, separate=False)
    assert not raw.separated and raw.tool is None and raw.object.material in cls.MATERIALS
    assert json.dumps(raw.to_dict())


@pytest.mark.slow
def test_classify_clips_separates_two_tools_on_one_bowl():
    clips = [BUNDLED, BUNDLED.with_name("robot_woodspoon_on_steelbowl.wav")]
    results = cls.classify_clips(clips, materials=("ceramic", "metal", "plastic", "wood"), steps=60)
    assert [r.name for r in results] == [c.stem for c in clips]
    assert all(r.separated for r in results)
    assert results[0].object.probabilities == results[1].object.probabilities    # one bowl, one bank


def test_classify_material_refuses_bad_input():
    with pytest.raises(WorkbenchError, match="sample_rate"):
        workbench.classify_material(np.zeros(1000, np.float32))
    with pytest.raises(WorkbenchError, match="audio_or_path"):
        workbench.classify_material(42)
    with pytest.raises(WorkbenchError):
        workbench.classify_material(REPO / "no_such_file.wav", separate=False)


def test_cli_prints_materials_of_a_clip_and_of_a_preset():
    runner = CliRunner()
    r = runner.invoke(app, ["classify", str(BUNDLED)])
    assert r.exit_code == 0, r.output
    assert "whole mix" in r.output and "mix" in r.output and "%" in r.output
    r = runner.invoke(app, ["classify", str(SEPARATED), "--materials", "ceramic,metal,plastic,wood"])
    assert r.exit_code == 0, r.output
    assert "object" in r.output and "tool" in r.output and "metal" in r.output


@pytest.mark.parametrize("args, message", [(["classify"], "FILE"), (["classify", "missing.wav"], "missing.wav"),
                                           (["classify", str(BUNDLED), "--materials", "gold"], "materials")])
def test_cli_bad_input_is_one_line_error(args, message):
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2
    lines = [ln for ln in r.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]


def test_cli_train_writes_a_loadable_model(tmp_path):
    out = tmp_path / "m.json"
    r = CliRunner().invoke(app, ["classify", "--train", "--per-material", "30", "-o", str(out)])
    assert r.exit_code == 0, r.output
    model = cls.load_model(out)
    assert model["per_material"] == 30 and set(model["roles"]) == set(cls.ROLES)


def test_fitted_features_read_a_fit_in_the_loop_cache(tmp_path):
    from workbench.classify_train import fitted_features

    f = [400.0, 1100.0, 2300.0, 3900.0]
    modes = [[v, cls.T60_DECAY / (np.pi * v * 3e-4), 0.0] for v in f]
    fits = [{"clip": f"clip{i}", "tool": "wood", "object": "metal", "object_modes": modes,
             "tool_modes": modes[:3], "raw_modes": [f, [0.5] * 4, [0.0] * 4] if i else None} for i in range(2)]
    (tmp_path / "set0000.json").write_text(json.dumps({"fits": fits}))
    x, y = fitted_features(tmp_path, "object")
    assert x.shape == (1, len(cls.FEATURES)) and list(y) == ["metal"]        # one body, counted once
    assert x[0][0] == pytest.approx(np.log10(3e-4))
    assert list(fitted_features(tmp_path, "tool")[1]) == ["wood"]
    assert list(fitted_features(tmp_path, "mix")[1]) == ["metal"]            # the clip without raw modes skipped
    with pytest.raises(WorkbenchError, match="role"):
        fitted_features(tmp_path, "hammer")
