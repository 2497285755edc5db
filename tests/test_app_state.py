"""The app state (`workbench.app.state`), without a browser.

The state is driven by setting parameters and calling its methods, exactly as the
views do; fits use `FakeFit` (tests/test_app_jobs.py: threads, progress, cancel and
failure are the state's job) plus one real fit with a few steps.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from pathlib import Path

import numpy as np
import pytest

import workbench as wb
from test_app_jobs import FakeFit
from workbench.app.demo import DEMO_FITTED_PRESET
from workbench.app.jobs import fitter_status
from workbench.app.edit_controls import EditControls
from workbench.app.recordings import RecordingState, detector_status
from workbench.app.state import AppState
from workbench.edits import EDIT_SPECS, Edits
from workbench.errors import WorkbenchError
from workbench.fitting.settings import N_MODES, SENSITIVITY, STEPS


@pytest.fixture(scope="module")
def demo_preset(demo_preset_path):
    return wb.load_preset(demo_preset_path)


def test_slider_bounds_come_from_edit_specs():
    c = EditControls()
    for name, spec in EDIT_SPECS.items():
        assert c.param[name].bounds == (spec.minimum, spec.maximum)
        assert getattr(c, name) == spec.default
    assert c.edits == Edits()


def test_fit_settings_come_from_the_fit_specs():
    s = AppState.param
    for p, spec in ((s.n_modes, N_MODES), (s.steps, STEPS), (s.sensitivity, SENSITIVITY)):
        assert (p.default, p.bounds) == (spec.default, (spec.minimum, spec.maximum)), p.name
    assert (s.n_modes.default, s.steps.default) == (48, 250)


def test_lower_layers_do_not_import_ui_libraries():
    services = ", ".join(f"workbench.app.{m}" for m in ("recordings", "records", "jobs", "plotdata", "playback",
                                                        "preset_library", "demo"))
    code = (f"import sys, workbench, workbench.rendering, workbench.cli, {services}; "
            "assert not {'panel', 'param', 'ipywidgets', 'bokeh'} & set(sys.modules), sys.modules.keys(); "
            "import workbench.app.state; assert 'param' in sys.modules; "
            "assert not {'panel', 'ipywidgets', 'bokeh'} & set(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.fixture(scope="module")
def woodspoon(bundled_data):
    return bundled_data / "robot_woodspoon_on_steelbowl.wav"


def _fit_once(s: AppState, recording, steps: int) -> AppState:
    """Add ``recording`` to ``s`` and run one (fake) fit of it to the end."""
    s.add_files([recording])
    s.steps = steps
    s.start_fit()
    assert s.wait_fit(30) == "done"
    return s


def test_demo_loads_with_impacts_and_sound(tmp_path):
    s = AppState(presets_dir=tmp_path)
    rec = s.load_demo()
    assert rec is not None and s.current == rec.name
    assert s.impacts and all(0 <= t < rec.duration_s for t, _ in s.impacts)
    assert s.audio["original"].shape == (rec.data.shape[0],)
    assert (s.tool_label, s.object_label) == ("steelfork", "steelbowl")
    assert DEMO_FITTED_PRESET.is_file(), "the shipped demo fit is committed with the repository"
    assert s.record is not None and s.record.source == "shipped demo fit"     # fitted at once
    assert s.base is s.record.preset and s.base.tool is not None and s.record.distance < 1.0
    assert {"fit", "edited", "object", "tool"} <= set(s.audio) and s.message[1] == ""


def test_bad_files_notify_and_keep_what_was_loaded(tmp_path, woodspoon):
    s = AppState(presets_dir=tmp_path, max_upload_bytes=2_000_000)
    s.add_files([woodspoon])
    before = (s.names(), s.current, s.audio["original"])
    t = np.arange(2 * 44100) / 44100
    hum = (0.3 * np.sin(2 * np.pi * 440 * t) * np.hanning(len(t))).astype(np.float32)   # swells, never struck
    for name, payload, msg in [("corrupt.wav", b"RIFF....WAVEfmt " + bytes(300), "not a readable audio file"),
                               ("empty.wav", b"", "empty"), ("big.wav", b"0" * 2_000_001, "over the upload limit"),
                               ("notes.txt", "hello", "text file"),
                               ("silence.wav", wb.audio.encode_wav(np.zeros(8000, np.float32), 44100), "silent")]:
        assert s.add_upload(name, payload) is None
        level, text, _ = s.message
        assert level == "error" and msg in text and name in text
        assert (s.names(), s.current) == before[:2] and s.audio["original"] is before[2]
    if detector_status()[0]:
        assert s.add_upload("hum.wav", wb.audio.encode_wav(hum, 44100)) is None
        assert "no impact" in s.message[1]
    assert s.names() == before[0]


def test_channel_picker_and_sensitivity(tmp_path, bundled_data):
    s = AppState(presets_dir=tmp_path)
    rec = s.add_files([bundled_data / "hammer_wood_multi.wav"])[0]
    assert rec.n_channels == 2 and s.channel is None
    mix = s.audio["original"]
    s.channel = 0
    np.testing.assert_array_equal(s.audio["original"], rec.data[:, 0])
    assert s.audio["original"] is not mix
    s.channel = 5          # no such channel: refused, previous kept
    assert s.channel == 0 and s.message[0] == "error"
    few = len(s.impacts)
    s.sensitivity = 1.0
    assert len(s.impacts) >= few
    item = s.recording_state
    assert (item.channel, item.sensitivity, item.impacts) == (0, 1.0, tuple(s.impacts))


def test_each_recording_keeps_its_own_settings(tmp_path, bundled_data):
    s = AppState(presets_dir=tmp_path)
    multi, wood = s.add_files([bundled_data / "hammer_wood_multi.wav",
                               bundled_data / "robot_woodspoon_on_steelbowl.wav"])
    s.select(multi.name)
    s.channel, s.sensitivity, s.tool_label, s.object_label = 1, 0.9, "hammer", "plank"
    impacts = list(s.impacts)
    s.select(wood.name)
    assert (s.channel, s.sensitivity, s.tool_label, s.object_label) == (None, 0.5, "woodspoon", "steelbowl")
    s.select(multi.name)
    assert (s.channel, s.sensitivity, s.tool_label, s.object_label, s.impacts) == (1, 0.9, "hammer", "plank",
                                                                                   impacts)
    np.testing.assert_array_equal(s.audio["original"], multi.data[:, 1])
    item = s.state_of(multi.name)
    assert isinstance(item, RecordingState) and item.label() == ("hammer", "plank")
    clip = item.clip()
    assert (clip.name, clip.sample_rate) == (Path(multi.name).stem, multi.sample_rate)
    np.testing.assert_array_equal(clip.audio, multi.data[:, 1])
    s.object_label = ""
    assert item.label() is None


def test_fit_runs_in_background_and_updates_everything(tmp_path, woodspoon, demo_preset):
    hold = threading.Event()
    fake = FakeFit(demo_preset, hold=hold)
    s = AppState(presets_dir=tmp_path, fit_fn=fake)
    s.add_files([woodspoon])
    s.steps = 6
    assert s.start_fit() and s.fitting
    t0 = time.monotonic()
    while not s.fit_losses and time.monotonic() - t0 < 10:   # progress arrives while the fit runs
        s.poll_fit()
        time.sleep(0.02)
    t0 = time.monotonic()
    while s.preview is None and time.monotonic() - t0 < 10:
        s.poll_fit()
        time.sleep(0.02)
    assert s.fit_status == "running" and s.fit_losses and s.preview is not None     # live preview
    assert s.base is None and s.preview_audio().shape == s.recording.mono(None).shape   # players wait
    assert not s.start_fit()                                  # one fit at a time
    hold.set()
    assert s.wait_fit(30) == "done"
    assert len(s.fit_losses) == 6 and s.fit_losses[-1][1] < s.fit_losses[0][1] and s.preview is None
    rec = s.results[s.current]
    assert rec.distance == 0.5 and s.record is rec and s.base is rec.preset
    assert rec is s.recording_state.record
    assert s.current == "robot_woodspoon_on_steelbowl.wav"
    assert rec.preset.name == "robot_woodspoon_on_steelbowl"      # named by its clip: the file's stem
    assert {"original", "fit", "edited", "object", "tool"} <= set(s.audio)
    assert fake.calls[0]["clips"] == ["robot_woodspoon_on_steelbowl"]
    assert fake.calls[0]["labels"] == {"robot_woodspoon_on_steelbowl": ("woodspoon", "steelbowl")}
    assert fake.calls[0]["n_modes"] == s.n_modes and fake.calls[0]["sensitivity"] == s.sensitivity
    assert s.message[0] == "success" and "spectral distance 0.500" in s.message[1]


def test_cancel_keeps_the_best_result_so_far(tmp_path, woodspoon, demo_preset):
    hold = threading.Event()
    s = AppState(presets_dir=tmp_path, fit_fn=FakeFit(demo_preset, hold=hold))
    s.add_files([woodspoon])
    s.steps = 50
    s.start_fit()
    while not s.fit_losses:
        s.poll_fit()
        time.sleep(0.02)
    s.cancel_fit()
    hold.set()
    assert s.wait_fit(30) == "cancelled"
    assert s.record is not None and s.record.cancelled and s.base is s.record.preset
    assert "best result" in s.message[1]


def test_failed_fit_leaves_the_last_good_result(tmp_path, woodspoon, demo_preset):
    s = _fit_once(AppState(presets_dir=tmp_path, fit_fn=FakeFit(demo_preset)), woodspoon, 3)
    good_base, good_fit = s.base, s.audio["fit"]
    s.fits.fit_fn = FakeFit(demo_preset, error=WorkbenchError("robot_woodspoon_on_steelbowl.wav: no impact found"))
    s.start_fit()
    assert s.wait_fit(30) == "failed"
    assert s.base is good_base and s.audio["fit"] is good_fit
    assert s.message == ("error", "robot_woodspoon_on_steelbowl.wav: no impact found", s.message[2])
    s.fits.fit_fn = FakeFit(demo_preset, error=RuntimeError("boom"))     # a bug, not a user error
    s.start_fit()
    assert s.wait_fit(30) == "failed" and "RuntimeError: boom" in s.message[1] and s.base is good_base


def test_joint_fit_of_selected_recordings(tmp_path, bundled_data, demo_preset):
    fake = FakeFit(demo_preset)
    s = AppState(presets_dir=tmp_path, fit_fn=fake)
    s.add_files([bundled_data / "robot_woodspoon_on_steelbowl.wav", bundled_data / "robot_steelfork_on_steelbowl.wav"])
    s.selection, s.joint, s.steps = s.names(), True, 3
    s.start_fit()
    assert s.wait_fit(30) == "done"
    assert set(s.results) == set(s.names()) and fake.calls[0]["joint"]
    assert fake.calls[0]["clips"] == [Path(n).stem for n in s.names()]
    assert fake.calls[0]["labels"] == {"robot_woodspoon_on_steelbowl": ("woodspoon", "steelbowl"),
                                       "robot_steelfork_on_steelbowl": ("steelfork", "steelbowl")}
    s.select(s.names()[1])
    assert s.record is s.results[s.names()[1]]


def test_edits_rerender_only_what_changed_and_undo(tmp_path, woodspoon, demo_preset):
    s = _fit_once(AppState(presets_dir=tmp_path, fit_fn=FakeFit(demo_preset)), woodspoon, 2)
    fit_audio, edited, base = s.audio["fit"], s.audio["edited"], s.preset
    np.testing.assert_array_equal(edited, fit_audio)
    s.controls.pitch_semitones = 3
    assert s.audio["fit"] is fit_audio and s.audio["edited"] is not edited
    assert s.preset.object.modes[0].freq_hz == pytest.approx(base.object.modes[0].freq_hz * 2 ** 0.25)
    s.controls.noise_db = 10
    assert s.can_undo and s.render_ms > 0
    s.undo()
    assert s.controls.noise_db == 0 and s.controls.pitch_semitones == 3
    s.undo()
    assert s.controls.edits == Edits() and not s.can_undo and s.preset is s.base
    s.set_mode("object", 0, enabled=False)
    assert s.mode_table()[0]["on"] is False and len(s.preset.object.modes) == len(base.object.modes) - 1
    s.set_mode("object", 1, freq_hz=1e9)          # out of the spec's range: refused
    assert s.message[0] == "error" and "freq_hz" in s.message[1] and len(s.controls.modes) == 1
    with pytest.raises(TypeError, match="freq"):
        s.set_mode("object", 1, freq=300.0)
    s.reset_edits()
    assert s.preset is s.base
    s.undo()
    assert not s.controls.modes[0].enabled


def test_presets_save_load_compare_download(tmp_path, woodspoon, demo_preset):
    s = AppState(presets_dir=tmp_path, fit_fn=FakeFit(demo_preset))
    assert s.save_preset("x") is None and s.message[0] == "error"      # nothing to save yet
    _fit_once(s, woodspoon, 2)
    s.controls.decay_scale = 0.5
    path = s.save_preset("short bowl", tags="metal, short", material="steel")
    assert path.is_file() and s.library == ["short_bowl"]
    saved = wb.load_preset(path)
    assert saved.tags == ("metal", "short") and saved.provenance["edits"] == {"decay_scale": 0.5}
    s.ab_a, s.ab_b = "short_bowl", "fit"
    out = s.compare()
    assert out["a"][0] == saved and out["distance"] > 0
    assert b'"schema": "impact-workbench/preset"' in s.preset_json()
    assert s.wav("edited")[:4] == b"RIFF"
    s.reset_edits()
    s.load_library_preset("short_bowl")
    assert s.base == saved and s.base_source == "library: short_bowl" and "edited" in s.audio


def test_sessions_are_independent(tmp_path, bundled_data):
    a, b = AppState(presets_dir=tmp_path), AppState(presets_dir=tmp_path)
    a.add_files([bundled_data / "robot_woodspoon_on_steelbowl.wav"])
    b.add_files([bundled_data / "robot_steelfork_on_steelbowl.wav"])
    a.controls.pitch_semitones = 5
    assert a.names() != b.names() and b.controls.pitch_semitones == 0


@pytest.mark.slow
def test_real_fit_few_steps(tmp_path, woodspoon):
    if not fitter_status()[0]:
        pytest.skip(fitter_status()[1])
    s = AppState(presets_dir=tmp_path)
    s.add_files([woodspoon])
    s.n_modes, s.steps = 8, 3
    s.start_fit()
    assert s.wait_fit(300) == "done", s.fit_message
    assert s.record.distance is not None and 0 <= s.record.distance < 1.5
    assert s.base.tool is not None                       # labels from the file name: tool separated
    assert s.record.preset.name == Path(s.current).stem  # the clip's name survived the fit
    assert s.audio["edited"].shape == s.record.target.shape
    assert np.any(s.audio["tool"])


def test_serve_command_rejects_bad_arguments(tmp_path):
    from typer.testing import CliRunner

    from workbench.cli import app

    runner = CliRunner()
    assert "--max-upload-mb" in runner.invoke(app, ["serve", "--help"]).output
    for args, msg in [(["serve", str(tmp_path / "notes.txt")], "not an audio file"),
                      (["serve", str(tmp_path / "missing.wav"), "--no-show"], "no such file"),
                      (["serve", "--port", "70000"], "outside [0, 65535]"),
                      (["serve", "--max-upload-mb", "0"], "must be > 0")]:
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and msg in r.output, (args, r.output)
