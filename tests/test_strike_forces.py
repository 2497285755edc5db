"""The force around each strike (`plotdata.strike_forces`) as physics, and the view that shows it."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.app.plotdata import MAX_STRIKES, strike_forces, strike_window_s
from workbench.presets import Preset

SR = 44100


def _preset(impacts, sr=SR) -> Preset:
    return Preset(name="tap", sample_rate=sr, duration_s=3.0,
                  object={"modes": [{"freq_hz": 440, "t60_s": 1, "gain_db": 0}]},
                  impacts=[{"time_s": t, "contact_s": tau, "magnitude": m} for t, tau, m in impacts])


def _fwhm_ms(t_ms, f) -> float:
    above = t_ms[f >= f.max() / 2]
    return float(above[-1] - above[0])


def _integral(t_ms, f) -> float:
    return float(np.sum(f) * (t_ms[1] - t_ms[0]) / 1e3)


@pytest.mark.parametrize("tau", [6e-5, 4e-4, 2e-3, 0.02])
def test_each_window_is_centred_on_its_strike_and_holds_the_whole_pulse(tau):
    out = strike_forces(_preset([(0.3, tau, 1.0), (1.7, tau, 0.5)]))
    st = out["strikes"]
    assert out["window_ms"] >= 4 * tau * 1e3 and out["window_ms"] >= 0.5
    for k, t_ms in enumerate(st["t_ms"]):
        f = st["force"][k]
        step = t_ms[1] - t_ms[0]
        assert abs((t_ms[0] + t_ms[-1]) / 2 - tau / 2 * 1e3) < step        # centred on the peak (onset + tau/2)
        assert abs(t_ms[int(np.argmax(f))] - tau / 2 * 1e3) < step           # ... where the pulse peaks
        assert t_ms[0] < -tau * 1e3 and t_ms[-1] > 2 * tau * 1e3            # its whole support [-tau, 2 tau]
        assert f[0] == 0 and f[-1] == 0


@pytest.mark.parametrize("tau", [5e-5, 6e-5, 1e-3, 0.02])
def test_the_pulse_integrates_to_the_impact_magnitude(tau):
    out = strike_forces(_preset([(0.3, tau, 0.08), (1.0, tau, 3.0)]))
    st = out["strikes"]
    assert [round(_integral(t, f), 6) for t, f in zip(st["t_ms"], st["force"])] == [0.08, 3.0]


def test_the_pulse_width_scales_with_the_contact_time():
    widths = {}
    for tau in (1e-4, 2e-4, 1e-3, 2e-3):
        st = strike_forces(_preset([(0.5, tau, 1.0)]), window_s=0.01, points=4000)["strikes"]
        widths[tau] = _fwhm_ms(st["t_ms"][0], st["force"][0])
    # exp(-6 x^2): full width at half maximum 2 sqrt(ln 2 / 6) tau = 0.68 tau
    for tau, w in widths.items():
        assert w == pytest.approx(0.68 * tau * 1e3, rel=0.05)
    assert widths[2e-4] / widths[1e-4] == pytest.approx(2, rel=0.05)
    assert widths[2e-3] / widths[1e-3] == pytest.approx(2, rel=0.02)
    # in the default window too: the short pulse is a readable width, not a needle
    st = strike_forces(_preset([(0.5, 6e-5, 1.0)]))["strikes"]
    assert _fwhm_ms(st["t_ms"][0], st["force"][0]) / (st["t_ms"][0][-1] - st["t_ms"][0][0]) > 0.05


@pytest.mark.parametrize("tau", [1e-4, 5e-4, 2e-3])
def test_the_spectrum_corner_doubles_when_the_contact_halves(tau):
    long, short = (strike_forces(_preset([(0.5, t, 2.0)]))["strikes"] for t in (tau, tau / 2))
    f_long, f_short = long["corner_hz"][0], short["corner_hz"][0]
    assert f_long == pytest.approx(0.459 / tau, rel=0.05)              # Gaussian pulse: corner ~ 0.46 / tau
    assert f_short / f_long == pytest.approx(2, rel=0.05)
    for st in (long, short):
        db, freq = st["db"][0], st["freq_hz"][0]
        assert db[0] == pytest.approx(20 * np.log10(2.0), abs=0.05)          # |F(0)| = the impulse
        assert np.interp(st["corner_hz"][0], freq, db) == pytest.approx(st["corner_db"][0], abs=0.2)
        assert freq[0] == 10 and freq[-1] == SR / 2 and np.all(np.diff(np.log(freq)) > 0)


def test_the_spectrum_is_the_rendered_force_spectrum():
    """Same as the spectrum of the render's own force (`rendering.force_profile`) around the strike."""
    from workbench.rendering import force_profile
    p = _preset([(0.5, 3e-4, 1.0)])
    f = force_profile(p)
    n = 1 << 16
    bins = np.fft.rfftfreq(n, 1 / SR)
    ref = 20 * np.log10(np.abs(np.fft.rfft(f[int(0.49 * SR):int(0.51 * SR)] / SR, n)))
    st = strike_forces(p)["strikes"]
    keep = st["db"][0] > st["db"][0][0] - 60
    assert np.allclose(np.interp(st["freq_hz"][0][keep], bins, ref), st["db"][0][keep], atol=0.3)


def test_at_most_max_strikes_are_shown_and_the_caption_says_so():
    many = _preset([(0.1 + 0.1 * k, 1e-3, 1.0) for k in range(12)][::-1])   # not in time order
    out = strike_forces(many)
    assert out["caption"] == f"first {MAX_STRIKES} of 12 strikes" and out["total"] == 12
    assert out["strikes"]["time_s"] == pytest.approx([0.1 + 0.1 * k for k in range(MAX_STRIKES)])
    assert strike_forces(_preset([(0.1, 1e-3, 1.0), (0.2, 1e-3, 1.0)]))["caption"] == "2 strikes"


def test_overlapping_strikes_add_up_in_the_window():
    """A bounce 1 ms later shows in the first strike's 5 ms window, as in the sound."""
    st = strike_forces(_preset([(0.5, 1e-3, 1.0), (0.501, 1e-3, 1.0)]))["strikes"]
    assert _integral(st["t_ms"][0], st["force"][0]) == pytest.approx(2.0, rel=1e-3)


def test_windows_step_with_the_longest_contact():
    assert [strike_window_s([t]) for t in (5e-5, 1.25e-4, 2e-4, 1e-3, 5e-3, 0.02)] == \
        [0.0005, 0.0005, 0.001, 0.005, 0.02, 0.1]


def test_the_force_view_follows_the_contact_time_slider(tmp_path):
    pytest.importorskip("panel")
    from workbench.app.state import AppState
    from workbench.app.views.force import ForceView

    state = AppState.open(presets_dir=tmp_path)
    view = ForceView(state=state)
    view.__panel__()
    tau = state.preset.impacts[0].contact_s
    xs, ys = view._lines.data["xs"][0], view._lines.data["ys"][0]
    corner = view._corners.data["x"][0]
    assert abs(xs[int(np.argmax(ys))] - tau / 2 * 1e3) < xs[1] - xs[0]
    assert f"contact {tau * 1e3:.3g} ms" in view._force_fig.title.text

    state.controls.contact_scale = 4.0                       # the slider: 4x longer, softer strike
    xs2, ys2 = view._lines.data["xs"][0], view._lines.data["ys"][0]
    assert _fwhm_ms(xs2, ys2) == pytest.approx(4 * _fwhm_ms(xs, ys), rel=0.1)
    assert max(ys2) == pytest.approx(max(ys) / 4, rel=0.1)
    assert view._corners.data["x"][0] == pytest.approx(corner / 4, rel=0.1)
    assert f"contact {4 * tau * 1e3:.3g} ms" in view._force_fig.title.text

    shown = view._lines.data
    state.controls.pitch_semitones = 2.0                     # not the force: nothing redrawn
    assert view._lines.data is shown
    state.controls.impact_pattern = "bounce"                 # several strikes: one line each, and a menu
    assert len(view._lines.data["xs"]) == len(state.preset.impacts) > 1 and view._pick.visible
    view._pick.value = 1
    assert len(view._lines.data["xs"]) == 1 and view._force_fig.title.text.startswith("Contact force: strike 2 of")
    state.reset_edits()
    assert len(view._lines.data["xs"]) == 1 and not view._pick.visible


def test_the_model_tab_shows_the_force_view(tmp_path):
    pytest.importorskip("panel")
    from workbench.app.state import AppState
    from workbench.app.views.force import ForceView
    from workbench.app.views.model import ModelView

    import panel as pn

    model = ModelView(state=AppState.open(presets_dir=tmp_path))
    figures = [b.object for b in model.__panel__().select(pn.pane.Bokeh)]
    assert isinstance(model.force, ForceView)
    assert model.force._force_fig in figures and model.force._spec_fig in figures


def test_the_force_view_marks_the_detected_strikes_of_the_fit_on_show(tmp_path):
    """The fitted force against the strike: the detector's times of the shown fit, in ms from each fitted onset."""
    pytest.importorskip("panel")
    import dataclasses

    from workbench.app.state import AppState
    from workbench.app.views.force import ForceView

    state = AppState.open(presets_dir=tmp_path)                  # the demo recording and its shipped fit
    view = ForceView(state=state)
    view.__panel__()
    onset = state.preset.impacts[0].time_s
    state.show_record(dataclasses.replace(state.record, impacts=(onset + 4e-4, onset + 0.5)))
    marks = view._marks.data
    assert marks["x"] == pytest.approx([0.4]) and view._force_fig.legend.visible   # the far one is off the window
    assert marks["top"][0] == pytest.approx(max(view._lines.data["ys"][0]))
    state.controls.contact_scale = 2.0                           # an edit of the fit: still its strikes
    assert view._marks.data["x"] == pytest.approx([0.4])
    state.reset_edits()
    state.show_record(None)                                      # nothing fitted on show: no marks
    assert view._marks.data["x"] == [] and not view._force_fig.legend.visible
