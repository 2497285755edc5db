"""The Panel views without a browser: widgets linked to the state both ways, the whole page builds.

(`tests/test_dashboard.py` drives the served page in Chromium.)
"""

from __future__ import annotations

import pytest
from widgets import release

from workbench.app.state import AppState
from workbench.edits import EDIT_SPECS

pn = pytest.importorskip("panel")

from workbench.app.views.edit import EditPanel, LogSlider, log_stops  # noqa: E402
from workbench.app.views.workbench import Workbench  # noqa: E402


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    return AppState.open(presets_dir=tmp_path_factory.mktemp("presets"))


def test_edit_sliders_follow_the_controls_and_set_them(state):
    panel = EditPanel(state=state)
    w, c = panel._widgets, state.controls
    assert isinstance(w["decay_scale"], LogSlider) and isinstance(w["pitch_semitones"], pn.widgets.FloatSlider)
    assert (w["pitch_semitones"].start, w["pitch_semitones"].end) == (-24.0, 24.0)
    c.pitch_semitones = 3.0                                    # state -> widget (a notebook's edit)
    assert w["pitch_semitones"].value == 3.0
    edited = state.audio["edited"]
    w["pitch_semitones"].value = 5.0                           # dragging: nothing rendered yet
    assert c.pitch_semitones == 3.0 and state.audio["edited"] is edited
    release(w["pitch_semitones"], 5.0)                        # released: the control and the sound follow
    assert c.pitch_semitones == 5.0 and state.audio["edited"] is not edited
    state.undo()
    assert w["pitch_semitones"].value == 3.0
    state.reset_edits()
    assert w["pitch_semitones"].value == 0.0 and panel._pattern.value == "fitted" and panel._reverb_on.value


def test_log_sliders_show_the_nearest_stop_and_keep_the_value(state):
    panel = EditPanel(state=state)
    w, c = panel._widgets["decay_scale"], state.controls
    assert w.options == log_stops(EDIT_SPECS["decay_scale"]) and w.value == 1.0
    c.decay_scale = 2.05                                        # between two stops
    assert c.decay_scale == 2.05 and w.value == min(w.values, key=lambda v: abs(v - 2.05))
    stop = w.values[3]
    w.param.update(value=stop)
    release(w, stop)
    assert c.decay_scale == stop
    state.reset_edits()
    assert w.value == 1.0


def test_the_physical_sliders_move_the_rendered_modes(state):
    """Size 2: every object mode an octave down in the Edited sound; a material: its wave speed ratio."""
    import numpy as np

    from workbench.materials import wave_speed

    def strongest(y):
        spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
        return np.fft.rfftfreq(len(y), 1.0 / state.audio_rate)[np.argmax(spectrum)]

    panel = EditPanel(state=state)
    w, base = panel._widgets, state.base
    assert isinstance(w["size"], LogSlider) and w["material_amount"].disabled
    before = strongest(state.audio["object"])
    release(w["size"], 2.0)
    assert state.controls.size == 2.0
    assert [m.freq_hz for m in state.preset.object.modes] == pytest.approx([m.freq_hz / 2 for m in base.object.modes])
    assert strongest(state.audio["object"]) == pytest.approx(before / 2, abs=1.0)
    panel._material.value = "wood"
    assert not w["material_amount"].disabled and state.preset.material == "wood"
    ratio = wave_speed("wood") / wave_speed(base.material)
    assert state.preset.object.modes[0].freq_hz == pytest.approx(base.object.modes[0].freq_hz / 2 * ratio)
    state.reset_edits()
    assert w["size"].value == 1.0 and panel._material.value == "" and state.preset.object.modes == base.object.modes


def test_the_whole_workbench_builds_on_the_demo(state):
    view = Workbench(state=state)
    page = view.template("test")
    assert page is not None and view.load._list.value == [state.current]
    assert view.fit._modes.value == state.n_modes == 48 and view.fit._steps.value == 250
    assert "shipped demo fit" in view.fit._status.object


def test_the_model_tab_shows_each_bodys_damping_law_or_a_note(tmp_path):
    import numpy as np

    from workbench.app.plotdata import NO_LAW
    from workbench.app.text import escape_markdown
    from workbench.app.views.model import ModelView
    from workbench.damping import DampingLaw, with_laws

    state = AppState.open(presets_dir=tmp_path)
    model = ModelView(state=state)
    view = model.damping
    assert view._fig in [b.object for b in model.__panel__().select(pn.pane.Bokeh)]
    # a preset fitted before damping laws: its modes, and the note for each body
    shipped = state.base
    state.presets.save(shipped.replace(object={**shipped.object.model_dump(mode="json"), "damping": None},
                                       tool={**shipped.tool.model_dump(mode="json"), "damping": None}), "old")
    state.load_library_preset("old")
    assert state.base.object.damping is None and state.base.tool is not None
    assert len(view._points["object"].data["freq_hz"]) == len(state.base.object.modes)
    assert not view._laws["object"].data["freq_hz"] and not view._laws["tool"].data["freq_hz"]
    assert view._caption.object.count(escape_markdown(NO_LAW)) == 2

    lawful = with_laws(state.base)
    assert lawful.object.damping == shipped.object.damping       # the library's presets carry theirs
    state.presets.save(lawful, "lawful")
    state.load_library_preset("lawful")
    for body in ("object", "tool"):
        law = DampingLaw.from_dict(getattr(state.base, body).damping.model_dump())
        curve = view._laws[body].data
        assert (curve["freq_hz"][0], curve["freq_hz"][-1]) == pytest.approx(law.freq_range_hz)
        assert curve["t60_s"] == pytest.approx(list(law.t60_at(np.array(curve["freq_hz"]))))
        assert curve["hi_s"][0] / curve["t60_s"][0] == pytest.approx(np.exp(law.spread))
        # describe() has Markdown punctuation ("^", "(", "/"): shown escaped, as it reads
        assert f"**{body}:** {escape_markdown(law.describe())}" in view._caption.object
    assert NO_LAW not in view._caption.object and "^" not in view._caption.object.replace("\\^", "")
    assert all(item.visible for item in view._fig.legend[0].items)

    state.presets.save(lawful.replace(tool=None), "no_tool")
    state.load_library_preset("no_tool")
    assert state.base.tool is None
    assert not view._points["tool"].data["freq_hz"] and "tool" not in view._caption.object
    assert [item.label.value for item in view._fig.legend[0].items if item.visible] == ["object"]


def test_the_variations_tab_generates_auditions_and_downloads_a_bank(state):
    """On the demo (a fitted single strike: the library prior), a 4-file bank over two velocity layers."""
    import io
    import json
    import zipfile

    from workbench.app.views.variations import VariationsPanel

    panel = VariationsPanel(state=state)
    assert panel._download.disabled
    panel._n.value, panel._velocity.value, panel._layers.value = 4, (0.5, 2.0), 2
    panel._generate()
    bank = panel._bank
    assert len(bank.rows) == 4 and bank.model.source == "prior"
    assert "4 variations" in panel._summary.object and not panel._download.disabled
    assert len(panel._pick.options) == 4 and panel._player.object is not None
    names = zipfile.ZipFile(io.BytesIO(panel._zip().getvalue())).namelist()
    root = names[0].split("/")[0]
    assert {f"{root}/mapping.json", f"{root}/mapping.csv", f"{root}/README.md"} <= set(names)
    assert sum(n.endswith(".wav") for n in names) == 4
    mapping = json.loads(zipfile.ZipFile(io.BytesIO(panel._zip().getvalue())).read(f"{root}/mapping.json"))
    assert [layer["layer"] for layer in mapping["layers"]] == [0, 1]
    panel._velocity.value = (3.0, 2.0)            # reversed by hand: a message, the last bank kept
    panel._generate()
    assert state.message[0] == "error" and "velocity_range" in state.message[1] and panel._bank is bank


def test_the_fade_out_box_switches_a_recordings_fade_off(tmp_path):
    """Enabled only for a preset with a fade-out; unticked, the Edited sound rings on past it."""
    import numpy as np

    state = AppState.open(presets_dir=tmp_path)
    panel = EditPanel(state=state)
    assert state.base.fade_out is None and panel._fade_on.disabled
    end = state.base.duration_s
    state.presets.save(state.base.replace(fade_out={"start_s": 0.5 * end, "end_s": 0.75 * end}), "faded")
    state.load_library_preset("faded")
    assert not panel._fade_on.disabled and panel._fade_on.value
    sr = state.base.sample_rate
    assert np.all(state.audio["edited"][int(0.75 * end * sr) + 1:] == 0.0)
    panel._fade_on.value = False
    assert state.controls.fade_on is False and state.preset.fade_out is None
    assert np.any(state.audio["edited"][int(0.75 * end * sr) + 1:] != 0.0)
