"""A preset's model family in the dashboard, without a browser: the Edit tab shows the
family's sliders (the FTM drum's), moving one recomputes the modes; other presets show none."""

from __future__ import annotations

import math

import numpy as np
import pytest
from widgets import release

from workbench.app.state import AppState
from workbench.families import DRUM, drum_preset
from workbench.presets import save_preset

pn = pytest.importorskip("panel")

from workbench.app.views.edit import EditPanel, LogSlider  # noqa: E402


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    folder = tmp_path_factory.mktemp("presets")
    save_preset(drum_preset({"omega_rad_s": 2 * math.pi * 150.0}, name="snare", sample_rate=22050, duration_s=1.0),
                folder / "snare.json")
    s = AppState.open(presets_dir=folder)
    s.load_library_preset("snare")
    return s


def strongest_hz(y, sample_rate, lo, hi):
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y)), 4 * len(y)))
    freqs = np.fft.rfftfreq(4 * len(y), 1.0 / sample_rate)
    band = (freqs > lo) & (freqs < hi)
    return freqs[band][np.argmax(spectrum[band])]


def test_the_state_holds_the_family_and_recomputes_the_preset(state):
    fc = state.family
    assert fc is not None and fc.FAMILY is DRUM and fc.fundamental_hz == pytest.approx(150.0)
    before = state.base
    fc.tau_s = 0.2
    assert state.base is not before and state.base.model.params["tau_s"] == 0.2
    assert state.base.object.modes[0].t60_s == pytest.approx(6.907755 * 0.2)
    assert state.preset.object.modes[0].t60_s == pytest.approx(6.907755 * 0.2)       # the edited sound too
    assert state.family is fc                                                      # same sliders


def test_the_edit_tab_shows_the_drum_sliders_and_they_move_the_modes(state):
    panel = EditPanel(state=state)
    w = panel._family_widgets
    assert list(w) == [c.display.name for c in DRUM.controls]
    assert isinstance(w["fundamental_hz"], LogSlider) and isinstance(w["alpha"], pn.widgets.FloatSlider)
    assert "Hz" in w["fundamental_hz"].name and panel._family.objects           # shown in the tab
    stop = min(w["fundamental_hz"].values, key=lambda v: abs(v - 300.0))
    edited = state.audio["edited"]
    release(w["fundamental_hz"], stop)
    assert state.base.model.params["omega_rad_s"] == pytest.approx(2 * math.pi * stop)
    assert state.base.object.modes[0].freq_hz == pytest.approx(stop)
    assert state.audio["edited"] is not edited
    assert strongest_hz(state.audio["edited"], state.audio_rate, 0.8 * stop, 1.1 * stop) == pytest.approx(stop, abs=1.0)
    ratio = lambda p: p.object.modes[1].freq_hz / p.object.modes[0].freq_hz  # noqa: E731
    before = ratio(state.base)
    release(w["alpha"], 1.0)
    assert state.base.model.params["alpha"] == 1.0
    assert ratio(state.base) == pytest.approx(math.sqrt(2.5), rel=1e-3) != pytest.approx(before, rel=1e-2)
    state.controls.pitch_semitones = 12.0                      # resynthesis edits stay on top of the model
    release(w["tau_s"], 0.5)
    assert state.preset.object.modes[0].freq_hz == pytest.approx(2 * stop, rel=1e-6)
    state.reset_edits()


def test_a_preset_without_a_family_shows_no_family_sliders(state, tmp_path):
    panel = EditPanel(state=state)
    plain = state.base.replace(name="plain", model=None)
    save_preset(plain, tmp_path / "plain.json")
    state.presets_dir = str(tmp_path)
    state.load_library_preset("plain")
    assert state.family is None and panel._family_widgets == {} and panel._family.objects == []
    assert EditPanel(state=state)._family.objects == []


def test_family_moves_are_undone_like_edits_with_the_mode_edits_they_cleared(tmp_path):
    save_preset(drum_preset({"omega_rad_s": 2 * math.pi * 150.0}, name="tom", sample_rate=22050, duration_s=1.0),
                tmp_path / "tom.json")
    s = AppState.open(presets_dir=tmp_path)
    s.load_library_preset("tom")
    first_hz = s.base.object.modes[0].freq_hz
    s.set_mode("object", 1, gain_db=-3.0)                      # a per-mode edit on the drum's modes
    table_edit = s.controls.edits
    assert s.can_undo and table_edit.modes
    s.family.tau_s = 0.3                                       # a family move: new modes, the table edit goes
    assert s.base.model.params["tau_s"] == 0.3 and not s.controls.edits.modes
    s.family.fundamental_hz = 200.0
    assert s.base.object.modes[0].freq_hz == pytest.approx(200.0)
    s.undo()                                                   # the fundamental back
    assert s.family.fundamental_hz == pytest.approx(150.0) and s.family.tau_s == 0.3
    assert s.base.object.modes[0].freq_hz == pytest.approx(first_hz)
    s.undo()                                                   # tau back, with the table edit it cleared
    assert s.base.model.params["tau_s"] != 0.3 and s.controls.edits == table_edit
    assert s.preset.object.modes[1].gain_db == pytest.approx(-3.0)
    s.undo()                                                   # the table edit itself
    assert not s.controls.edits.modes and not s.can_undo
    s.undo()                                                   # nothing left: a no-op
    assert s.base.model.params["tau_s"] != 0.3
