"""Model families in presets (`workbench.families`, the ``model`` key of `workbench.presets`)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from workbench.errors import WorkbenchError
from workbench.families import (DRUM, DRUM_PEAK_DBFS, FAMILIES, drum_preset, family_of, with_family_params)
from workbench.functional.ftm import FTM_SPECS, ftm_modes
from workbench.presets import load_preset, preset_from_dict, save_preset
from workbench.rendering import render

SR = 22050


@pytest.fixture(scope="module")
def drum():
    return drum_preset({"omega_rad_s": 2 * math.pi * 180.0, "tau_s": 0.3, "p": 1e-3, "D": 1e-3, "alpha": 0.6},
                       name="test drum", sample_rate=SR, duration_s=1.5)


def test_family_specs_are_the_ftm_ranges():
    assert FAMILIES["ftm_drum"] is DRUM
    assert tuple(DRUM.specs.values())[:5] == FTM_SPECS
    fundamental = DRUM.controls[0]
    assert fundamental.display.unit == "Hz" and fundamental.display.scale == "log"
    assert fundamental.to_shown(2 * math.pi * 100.0) == pytest.approx(100.0)
    assert fundamental.from_shown(100.0) == pytest.approx(2 * math.pi * 100.0)
    assert fundamental.from_shown(1e6) == FTM_SPECS[0].maximum            # clipped into the range


def test_drum_preset_holds_the_drums_modes(drum):
    p = drum.model.params
    assert drum.model.family == "ftm_drum" and set(p) == set(DRUM.specs)
    theta = torch.tensor([p[n] for n in ("omega_rad_s", "tau_s", "p", "D", "alpha")], dtype=torch.float64)
    f, t60, g, audible = ftm_modes(theta, sample_rate=SR)
    keep = audible & (g > g.max() - 120)
    got = np.array([[m.freq_hz, m.t60_s, m.gain_db] for m in drum.object.modes])
    order = np.argsort(f[keep].numpy(), kind="stable")
    np.testing.assert_allclose(got[:, 0], f[keep].numpy()[order], rtol=1e-12)
    np.testing.assert_allclose(got[:, 1], t60[keep].numpy()[order], rtol=1e-12)
    offsets = got[:, 2] - g[keep].numpy()[order]                       # one level for every mode
    assert np.ptp(offsets) < 1e-9
    assert all(m.freq_hz < SR / 2 for m in drum.object.modes)
    assert drum.reverb.enabled is False and len(drum.impacts) == 1


def test_drum_preset_renders_its_fundamental_at_the_chosen_level(drum):
    y = render(drum, device="cpu")
    assert 20 * np.log10(np.abs(y).max()) == pytest.approx(DRUM_PEAK_DBFS, abs=0.5)
    n = len(y) * 4
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y)), n))
    freqs = np.fft.rfftfreq(n, 1 / SR)
    band = (freqs > 100) & (freqs < 200)
    assert freqs[band][np.argmax(spec[band])] == pytest.approx(180.0, abs=0.5)


def test_preset_with_a_model_saves_loads_and_renders(drum, tmp_path):
    path = save_preset(drum, tmp_path / "drum.json")
    data = json.loads(path.read_text())
    assert data["model"]["family"] == "ftm_drum" and data["model"]["params"]["tau_s"] == 0.3
    back = load_preset(path)
    assert back == drum and family_of(back) is DRUM
    np.testing.assert_array_equal(render(back, device="cpu"), render(drum, device="cpu"))
    save_preset(back, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()


def test_presets_without_a_model_round_trip_byte_identical(tmp_path):
    from conftest import REPO

    old = sorted((REPO / "tests" / "data" / "presets_before_residual").glob("*.json"))[:3]
    files = [REPO / "presets" / "demo.json", *old]
    for src in files:
        preset = load_preset(src)
        assert preset.model is None and family_of(preset) is None
        out = save_preset(preset, tmp_path / src.name)
        assert out.read_bytes() == src.read_bytes(), src.name
        assert "model" not in json.loads(out.read_text())


def test_with_family_params_recomputes_the_modes(drum):
    slower = with_family_params(drum, tau_s=0.6)
    assert slower.object.modes[0].t60_s == pytest.approx(2 * drum.object.modes[0].t60_s, rel=1e-9)
    assert slower.model.params["tau_s"] == 0.6 and slower.impacts == drum.impacts and slower.noise == drum.noise
    square = with_family_params(drum, alpha=1.0)
    ratio = lambda p: p.object.modes[1].freq_hz / p.object.modes[0].freq_hz  # noqa: E731
    assert ratio(square) == pytest.approx(math.sqrt(2.5), rel=1e-3)         # (1,2) = (2,1): sqrt((1 + 4) / 2)
    assert ratio(drum) != pytest.approx(ratio(square), rel=1e-2)
    higher = with_family_params(drum, omega_rad_s=2 * math.pi * 360.0)
    assert higher.object.modes[0].freq_hz == pytest.approx(360.0, rel=1e-12)
    moved = with_family_params(drum, strike_x=0.5, strike_y=0.5)            # the centre: even modes are nodal
    assert len(moved.object.modes) < len(drum.object.modes)
    assert with_family_params(drum) == drum


def test_bad_family_parameters_raise(drum):
    with pytest.raises(WorkbenchError, match="unknown parameter"):
        with_family_params(drum, size=2.0)
    with pytest.raises(WorkbenchError, match="tau_s"):
        with_family_params(drum, tau_s=5.0)
    with pytest.raises(WorkbenchError, match="tau_s"):
        drum_preset({"tau_s": "0.3"})
    with pytest.raises(WorkbenchError, match="theta"):
        drum_preset([1.0, 2.0])
    plain = drum.replace(model=None)
    with pytest.raises(WorkbenchError, match="no model family"):
        with_family_params(plain, tau_s=0.2)
    data = drum.to_dict()
    other = preset_from_dict({**data, "model": {"family": "marimba_bar", "params": {"x": 1.0}}})
    assert family_of(other) is None                        # readable, its modes render; not editable here
    with pytest.raises(WorkbenchError, match="unknown model family"):
        with_family_params(other, x=2.0)
    for model in ({"family": "Drum!", "params": {}}, {"family": "ftm_drum", "params": {"p": float("nan")}},
                  {"family": "ftm_drum", "params": {"p": "1"}}, {"family": "ftm_drum"},
                  {"family": "ftm_drum", "params": {f"k{i}": 1.0 for i in range(100)}}):
        with pytest.raises(WorkbenchError, match="model"):
            preset_from_dict({**data, "model": model})


@pytest.mark.parametrize("to", ["tdw", "faust"])
def test_exporters_take_a_drum_preset(drum, to):
    """The modes are what renders, so an exporter needs nothing of the family."""
    import io
    import zipfile

    from workbench.export import export_zip

    names = zipfile.ZipFile(io.BytesIO(export_zip(drum, to=to))).namelist()
    assert any(n.endswith("export.json") for n in names)


def test_an_edit_that_moves_the_modes_drops_the_family_into_provenance():
    from workbench.edits import Edits, apply_edits
    from workbench.families import drum_preset

    drum = drum_preset({}, name="drum", sample_rate=16000, duration_s=1.0)
    louder = apply_edits(drum, Edits(noise_db=3.0))
    assert louder.model == drum.model
    higher = apply_edits(drum, Edits(pitch_semitones=2.0))
    assert higher.model is None
    assert higher.provenance["model_before_edits"] == drum.model.model_dump(mode="json")
