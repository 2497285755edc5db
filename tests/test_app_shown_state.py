"""What the workbench shows belongs to what is on show (issue 13, items 2, 3 and 7), without a browser.

* stale state: the fit status, banner and loss curve are the shown recording's; the
  waveform title says the current sensitivity; a fit that converges early fills the bar;
* A/B and undo: the A/B choices mean what they say, one preset compared with itself says
  so; a loaded preset, another recording or a new fit starts a fresh undo history;
* uploads and downloads: a refused file leaves the drop zone, a later upload replaces the
  error, the edited WAV is never named like its recording, "Save" names the downloads.

(`tests/test_dashboard_state.py` checks in Chromium what only shows there.)
"""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pytest

import workbench as wb
from test_app_jobs import FakeFit
from workbench.app.state import AppState

pn = pytest.importorskip("panel")

from workbench.app.views.compare import WaveformView  # noqa: E402
from workbench.app.views.fit import FitPanel  # noqa: E402
from workbench.app.views.presets import PresetPanel  # noqa: E402
from workbench.app.views.workbench import Workbench  # noqa: E402

WOOD, FORK = "robot_woodspoon_on_steelbowl.wav", "robot_steelfork_on_steelbowl.wav"


@pytest.fixture(scope="module")
def demo_preset(demo_preset_path):
    return wb.load_preset(demo_preset_path)


class ScaledFit(FakeFit):
    """`FakeFit` whose losses are ``scale`` times FakeFit's (two fits draw different curves)."""

    def __init__(self, preset, scale: float):
        super().__init__(preset)
        self.scale = scale

    def __call__(self, clips, **kw):
        result = super().__call__(clips, **kw)
        return dataclasses.replace(result, loss_history=[self.scale * v for v in result.loss_history])


class ConvergesEarly(FakeFit):
    """`FakeFit` that stops after ``after`` of the steps asked for, converged (as the real fitter can)."""

    def __init__(self, preset, after: int):
        super().__init__(preset)
        self.after = after

    def __call__(self, clips, *, steps=10, callback=None, **kw):
        def report(p):          # the fitter reports the steps it was asked for as the total
            callback(dataclasses.replace(p, total_steps=steps))
        result = super().__call__(clips, steps=min(steps, self.after), callback=report if callback else None, **kw)
        return dataclasses.replace(result, stopped="converged")


def _fit(s: AppState, fit_fn, steps: int) -> None:
    s.fits.fit_fn, s.steps = fit_fn, steps
    assert s.start_fit()
    assert s.wait_fit(30) == "done", s.fit_message


def _text(pane) -> str:
    """A Markdown pane's text without its escapes."""
    return pane.object.replace("\\", "")


def _curve(panel: FitPanel) -> list[tuple[int, float]]:
    data = panel._loss_src.data
    return list(zip(data["step"], data["loss"]))


# -- item 2: stale state -------------------------------------------------------------------
def test_another_recording_shows_its_own_fit_status_banner_and_loss(tmp_path, bundled_data, demo_preset):
    s = AppState(presets_dir=tmp_path)
    s.add_files([bundled_data / FORK, bundled_data / WOOD])
    view = Workbench(state=s)
    fit = view.fit
    s.select(WOOD)
    _fit(s, ScaledFit(demo_preset, 2.0), 4)
    wood_curve = _curve(fit)
    assert len(wood_curve) == 4 and "fit done" in _text(fit._status) and view._status.visible
    assert fit._progress.value == 100

    s.select(FORK)                                   # unfitted: nothing of the wood fit is left
    assert (s.fit_status, s.fit_losses, s.fit_message) == ("idle", [], "")
    assert _curve(fit) == [] and fit._progress.value == 0
    assert "not fitted yet" in _text(fit._status) and WOOD not in _text(fit._status)
    assert not view._status.visible and s.message[1] == ""       # the banner about the wood fit is gone

    s.select(WOOD)                                   # back: its fit, from its record
    assert _curve(fit) == wood_curve and "fit: spectral distance 0.500" in _text(fit._status)

    s.select(FORK)
    _fit(s, ScaledFit(demo_preset, 1.0), 6)          # longer, lower curve
    fork_curve = _curve(fit)
    s.select(WOOD)
    assert _curve(fit) == wood_curve                 # replaced, not the fork curve with points appended
    s.select(FORK)
    assert _curve(fit) == fork_curve and fork_curve != wood_curve[:len(fork_curve)]


def test_a_fit_that_ends_while_another_recording_is_shown_leaves_it_alone(tmp_path, bundled_data, demo_preset):
    import threading

    hold = threading.Event()
    s = AppState(presets_dir=tmp_path, fit_fn=FakeFit(demo_preset, hold=hold))
    s.add_files([bundled_data / FORK, bundled_data / WOOD])
    fit = FitPanel(state=s)
    s.select(WOOD)
    s.steps = 5
    assert s.start_fit()
    s.select(FORK)                                   # while it runs: its progress stays on show
    assert s.fitting and s.fit_status in ("queued", "running")
    hold.set()
    assert s.wait_fit(30) == "done"                  # the fit's own outcome
    assert s.results[WOOD] is not None and s.record is None
    assert (s.fit_status, s.fit_losses) == ("idle", []) and "not fitted yet" in _text(fit._status)
    assert s.message[0] == "success" and WOOD in s.message[1]    # the notification says so
    s.select(WOOD)
    assert s.record is s.results[WOOD] and len(_curve(fit)) == 5


def test_a_fit_that_converges_early_fills_the_bar(tmp_path, bundled_data, demo_preset):
    s = AppState(presets_dir=tmp_path)
    s.add_files([bundled_data / WOOD])
    fit = FitPanel(state=s)
    _fit(s, ConvergesEarly(demo_preset, after=4), 300)
    assert s.fit_status == "done" and s.fit_step == s.fit_total == 4      # 4 of 4, like `workbench fit`
    assert fit._progress.value == 100
    assert "4 steps (converged before the 300 allowed)" in s.fit_message


def test_the_waveform_title_says_the_current_sensitivity(tmp_path, bundled_data):
    s = AppState(presets_dir=tmp_path)
    s.add_files([bundled_data / WOOD])
    wave = WaveformView(state=s)
    impacts = list(s.impacts)
    assert "at sensitivity 0.50" in wave._fig.title.text
    for value in (0.55, 0.45, 0.6, 0.4):            # one that finds exactly the same impacts
        s.sensitivity = value
        if s.impacts == impacts:
            break
    else:
        pytest.skip("no nearby sensitivity finds the same impacts")
    assert f"at sensitivity {value:.2f}" in wave._fig.title.text


# -- item 3: A/B and undo ------------------------------------------------------------------
def test_ab_choices_mean_what_they_say(tmp_path, bundled_data, demo_preset):
    s = AppState(presets_dir=tmp_path)
    s.add_files([bundled_data / WOOD])
    _fit(s, FakeFit(demo_preset), 2)
    panel = PresetPanel(state=s)
    assert list(panel._a.options.values()) == ["edited", "base", "fit"]
    assert (panel._a.value, panel._b.value) == ("edited", "fit")     # the state's defaults, not the first option

    out = s.compare()                                # no edits: edited, base and fit are one preset
    assert out["distance"] is None and "same preset" in out["same"]
    panel._on_compare(None)
    assert "same preset" in panel._ab_text.object and "0.000" not in panel._ab_text.object

    s.controls.decay_scale = 0.5
    s.save_preset("short bowl")
    s.reset_edits()
    s.load_library_preset("short_bowl")
    assert panel._b.options["library: short_bowl"] == "library:short_bowl"
    s.ab_a, s.ab_b = "library:short_bowl", "fit"     # the saved preset against the recording's fit
    out = s.compare()
    assert out["b"][0] is s.results[WOOD].preset and out["same"] is None and out["distance"] > 0.01
    s.ab_b = "base"                                  # against itself, as loaded
    assert "same preset" in s.compare()["same"]
    s.ab_a, s.ab_b = "edited", "base"
    out = s.compare()
    assert out["same"].endswith("no edits yet: nothing to compare") and out["distance"] is None
    s.ab_a = "short_bowl"                            # a bare library name still works (notebooks)
    assert s.compare()["a"][0] == s.base


def test_a_loaded_preset_starts_a_fresh_undo_history(tmp_path, bundled_data, demo_preset):
    s = AppState(presets_dir=tmp_path)
    s.add_files([bundled_data / WOOD, bundled_data / FORK])
    s.select(WOOD)
    _fit(s, FakeFit(demo_preset), 2)
    s.controls.pitch_semitones = 3.0
    s.save_preset("pitched")
    s.reset_edits()
    s.load_library_preset("pitched")                 # Save -> Reset edits -> Load -> Undo
    assert not s.can_undo
    s.undo()
    assert s.controls.edits.is_identity() and s.preset is s.base     # the +3 is inside the preset, once

    s.controls.pitch_semitones = 5.0                 # edits, then a preset loaded on top: dropped, not undoable
    s.load_library_preset("pitched")
    assert s.controls.edits.is_identity() and not s.can_undo

    s.controls.noise_db = 6.0                        # another recording: a fresh history
    assert s.can_undo
    s.select(FORK)
    assert not s.can_undo
    s.controls.noise_db = 3.0
    _fit(s, FakeFit(demo_preset), 2)                 # a new fit on show: a fresh history
    assert not s.can_undo and s.base is s.record.preset


# -- item 7: uploads and downloads ---------------------------------------------------------
def _event(**data):
    return SimpleNamespace(event_name="upload_event", data=data)


def test_a_refused_upload_leaves_the_drop_zone_and_a_later_one_replaces_the_error(tmp_path, bundled_data):
    s = AppState(presets_dir=tmp_path)
    view = Workbench(state=s)
    dropper = view.load._dropper
    chips = []
    dropper.chips.param.watch(lambda e: chips.append(json.loads(e.new)), "value")
    dropper._process_event(_event(name="bad.wav", chunk=1, total_chunks=1, data=b"RIFF nonsense", type=""))
    assert s.message[0] == "error" and "bad.wav" in s.message[1] and "Error" in view._status.object
    assert [c[1:] for c in chips] == [["bad.wav", dropper._own_class]]        # decoded, refused: dropped
    big = dropper.chunk_size
    dropper._process_event(_event(name="huge.wav", chunk=1, total_chunks=10**4, data=bytes(big), type=""))
    assert chips[-1][1] == "huge.wav" and "over the upload limit" in s.message[1]      # refused by the ledger
    dropper._process_event(_event(name="bad.wav", chunk=1, total_chunks=1, data=b"RIFF again", type=""))
    assert chips[-1][0] > chips[0][0] and chips[-1][1] == "bad.wav"            # each refusal reaches the browser

    good = (bundled_data / WOOD).read_bytes()
    n = -(-(len(good) + 1) // big)
    for i in range(n):
        dropper._process_event(_event(name=WOOD, chunk=i + 1, total_chunks=n, type="audio/wav",
                                      data=good[i * big:(i + 1) * big]))
    assert s.current == WOOD and chips[-1][1] != WOOD
    assert s.message[0] == "success" and f"loaded {WOOD}" in s.message[1]
    assert view._status.object.startswith("**Done:**") and "bad.wav" not in view._status.object


def test_downloads_are_named_after_the_preset_and_its_saved_name(tmp_path, bundled_data, demo_preset):
    s = AppState(presets_dir=tmp_path)
    s.add_files([bundled_data / WOOD])
    _fit(s, FakeFit(demo_preset), 2)
    panel = PresetPanel(state=s)
    assert s.preset.name == "robot_woodspoon_on_steelbowl"          # the fit is named after its recording
    assert panel._dl_wav.filename == s.download_name("wav") == "robot_woodspoon_on_steelbowl_edited.wav"
    assert panel._dl_wav.filename != s.current and panel._dl_json.filename == "robot_woodspoon_on_steelbowl.json"

    s.controls.decay_scale = 0.5
    s.save_preset("short bowl", tags="metal", material="steel")     # "Save as"
    assert panel._dl_json.filename == "short_bowl.json" and panel._dl_wav.filename == "short_bowl_edited.wav"
    assert dict(panel._exports)["tdw"].filename == "short_bowl_tdw.zip"
    data = json.loads(s.preset_json())
    assert (data["name"], data["tags"], data["material"]) == ("short bowl", ["metal"], "steel")
    assert json.loads(panel._json().read())["name"] == "short bowl"
    s.controls.decay_scale = 0.6                    # still that preset, edited further
    assert json.loads(s.preset_json())["name"] == "short bowl"

    s.select(WOOD)                                  # the same recording: nothing changes
    assert s.saved_name == "short bowl"
    s.load_library_preset("short_bowl")
    assert s.saved_name == "" and json.loads(s.preset_json())["name"] == "short bowl"


def test_the_edited_wav_is_never_named_like_the_recording(tmp_path):
    from workbench.app.preset_library import download_names

    assert download_names("hit", "hit.wav")["wav"] == "hit_edited.wav"
    assert download_names("hit", "HIT_edited.wav")["wav"] == "hit_edited-2.wav"
    assert download_names("", "x.wav")["wav"] == "preset_edited.wav"
