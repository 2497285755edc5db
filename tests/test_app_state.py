"""The workbench app's state and services, without a browser.

The state is driven by setting parameters and calling its methods, exactly as the
views do; fits use a small stand-in fitter (threads, progress, cancel and failure
are the state's job) plus one real fit with a few steps.
"""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

import workbench as wb
from workbench import specs
from workbench.app import services
from workbench.app.state import AppState, EditControls
from workbench.edits import EDIT_SPECS, Edits, ModeEdit, apply_edits
from workbench.rendering import PartCache
from workbench.errors import WorkbenchError


@pytest.fixture(scope="module")
def demo_preset(demo_preset_path):
    return wb.load_preset(demo_preset_path)


@pytest.fixture(scope="module")
def tool_preset(demo_preset):
    """The demo with a tool and reverb on (every part of the model present)."""
    tool = {"modes": [{"freq_hz": 2500.0, "t60_s": 0.05, "gain_db": -20.0},
                      {"freq_hz": 4100.0, "t60_s": 0.03, "gain_db": -26.0}]}
    reverb = demo_preset.reverb.model_dump()
    reverb["enabled"] = True
    return demo_preset.replace(tool=tool, reverb=reverb, duration_s=1.0)


# ---------------------------------------------------------------------------------------
# apply_edits: the pure edit function
# ---------------------------------------------------------------------------------------

def test_no_edits_returns_the_same_preset(demo_preset):
    assert apply_edits(demo_preset, Edits()) is demo_preset


def test_pitch_decay_brightness(tool_preset):
    e = apply_edits(tool_preset, Edits(pitch_semitones=12, decay_scale=0.5, brightness_db_per_octave=3))
    for body in ("object", "tool"):
        before, after = getattr(tool_preset, body).modes, getattr(e, body).modes
        for m0, m1 in zip(before, after):
            assert m1.freq_hz == pytest.approx(min(2 * m0.freq_hz, specs.FREQ_HZ.maximum))
            assert m1.t60_s == pytest.approx(max(m0.t60_s * 0.5, specs.T60_S.minimum))
            tilt = 3 * math.log2(m1.freq_hz / 1000.0)
            assert m1.gain_db == pytest.approx(m0.gain_db + tilt)
    assert e.provenance["edits"] == {"pitch_semitones": 12, "decay_scale": 0.5, "brightness_db_per_octave": 3}
    assert e.provenance["edited_from"] == tool_preset.name


def test_contact_strength_noise_reverb_and_tool(tool_preset):
    e = apply_edits(tool_preset, Edits(contact_scale=2, strength_db=20, noise_db=-10, reverb_db=6,
                                       reverb_decay_scale=2, tool_on=False))
    i0, i1 = tool_preset.impacts[0], e.impacts[0]
    assert i1.contact_s == pytest.approx(i0.contact_s * 2)
    assert i1.magnitude == pytest.approx(i0.magnitude * 10)
    assert [b.gain_db for b in e.noise.bands] == pytest.approx(
        [max(b.gain_db - 10, specs.NOISE_GAIN_DB.minimum) for b in tool_preset.noise.bands])
    for b0, b1 in zip(tool_preset.reverb.bands, e.reverb.bands):
        assert b1.gain_db == pytest.approx(min(b0.gain_db + 6, specs.REVERB_GAIN_DB.maximum))
        assert b1.t60_s == pytest.approx(min(b0.t60_s * 2, specs.REVERB_T60_S.maximum))
    assert e.tool is None and tool_preset.tool is not None
    assert not apply_edits(tool_preset, Edits(reverb_on=False)).reverb.enabled


def test_extreme_edits_are_clipped_into_the_specs(tool_preset):
    hi = {k: s.maximum for k, s in EDIT_SPECS.items()}
    lo = {k: s.minimum for k, s in EDIT_SPECS.items()}
    for values in (hi, lo):
        values = {**values, "impact_count": int(values["impact_count"])}
        for pattern in ("fitted", "regular", "bounce"):
            e = apply_edits(tool_preset, Edits(impact_pattern=pattern, **values))
            for m in e.object.modes:
                assert specs.FREQ_HZ.contains(m.freq_hz) and specs.T60_S.contains(m.t60_s)
                assert specs.GAIN_DB.contains(m.gain_db)
            for i in e.impacts:
                assert specs.CONTACT_S.contains(i.contact_s) and specs.MAGNITUDE.contains(i.magnitude)


def test_impact_patterns(demo_preset):
    first = demo_preset.impacts[0]
    single = apply_edits(demo_preset, Edits(impact_pattern="single"))
    assert len(single.impacts) == 1
    reg = apply_edits(demo_preset, Edits(impact_pattern="regular", impact_count=4, impact_interval_s=0.3))
    assert [i.time_s for i in reg.impacts] == pytest.approx([first.time_s + 0.3 * k for k in range(4)])
    assert {i.magnitude for i in reg.impacts} == {first.magnitude}
    bounce = apply_edits(demo_preset, Edits(impact_pattern="bounce", impact_count=3, impact_interval_s=0.2))
    t = [i.time_s for i in bounce.impacts]
    assert np.diff(t) == pytest.approx([0.2, 0.2 * 0.7])
    assert bounce.impacts[2].magnitude == pytest.approx(first.magnitude * 0.36)
    long = apply_edits(demo_preset, Edits(impact_pattern="regular", impact_count=16, impact_interval_s=2.0))
    assert all(i.time_s < demo_preset.duration_s for i in long.impacts)   # no impacts past the end
    with pytest.raises(WorkbenchError, match="impact_pattern"):
        apply_edits(demo_preset, Edits(impact_pattern="drumroll"))


def test_mode_edits_override_and_mute(demo_preset):
    e = apply_edits(demo_preset, Edits(modes=(ModeEdit("object", 0, freq_hz=300.0, gain_db=-3.0),
                                              ModeEdit("object", 1, enabled=False),
                                              ModeEdit("object", 999, freq_hz=50.0))))
    assert len(e.object.modes) == len(demo_preset.object.modes) - 1
    assert (e.object.modes[0].freq_hz, e.object.modes[0].gain_db) == (300.0, -3.0)
    assert e.object.modes[0].t60_s == demo_preset.object.modes[0].t60_s
    assert e.object.modes[1] == demo_preset.object.modes[2]


def test_slider_bounds_come_from_edit_specs():
    c = EditControls()
    for name, spec in EDIT_SPECS.items():
        assert c.param[name].bounds == (spec.minimum, spec.maximum)
        assert getattr(c, name) == spec.default
    assert c.edits == Edits()


# ---------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------

def test_incremental_renderer_matches_render_and_reuses_parts(tool_preset):
    r = PartCache()
    out = r.render(tool_preset)
    for part in ("all", "object", "tool"):
        ref = wb.render(tool_preset, parts=part)
        np.testing.assert_allclose(out[part], ref, atol=1e-6)
    louder_noise = apply_edits(tool_preset, Edits(noise_db=20))
    again = r.render(louder_noise)
    assert again["object"] is out["object"] and again["tool"] is out["tool"]   # not re-rendered
    np.testing.assert_allclose(again["all"], wb.render(louder_noise), atol=1e-6)
    no_tool = r.render(apply_edits(tool_preset, Edits(tool_on=False)))
    assert not np.any(no_tool["tool"])
    assert r.render(tool_preset)["all"] is out["all"]


def test_decode_recording_rejects_bad_input(bundled_data):
    good = (bundled_data / "robot_woodspoon_on_steelbowl.wav").read_bytes()
    rec = services.decode_recording("x.wav", good)
    assert rec.n_channels == 1 and rec.sample_rate == 44100 and not rec.data.flags.writeable
    cases = [(b"", "empty"), (b"RIFF\x00\x00garbage" * 50, "not a readable audio file"),
             ("just text", "a text file"), (good, "over the upload limit")]
    for payload, msg in cases:
        with pytest.raises(WorkbenchError, match=msg):
            services.decode_recording("bad.wav", payload, max_bytes=100_000 if payload is good else 10**9)
    silent = wb.audio.encode_wav(np.zeros(44100, np.float32), 44100)
    with pytest.raises(WorkbenchError, match="silent"):
        services.decode_recording("silent.wav", silent)


def test_preset_library(tmp_path, demo_preset):
    lib = services.PresetLibrary(tmp_path)
    path = lib.save(demo_preset, "My bowl / v2", tags=["metal", " bowl "], material="steel")
    assert path.parent == tmp_path and path.name == "My_bowl_v2.json"
    p = lib.load("My_bowl_v2")
    assert (p.name, p.tags, p.material) == ("My bowl / v2", ("metal", "bowl"), "steel")
    assert lib.names() == ["My_bowl_v2"]
    with pytest.raises(WorkbenchError):
        lib.save(demo_preset, "  ")
    with pytest.raises(WorkbenchError, match="not inside"):
        lib.load("../../etc/passwd")


def test_playback_and_export_status_say_why():
    ok, reason = services.playback_status()
    assert isinstance(ok, bool) and reason
    ok, reason = services.export_status()
    assert ok or "export" in reason


def test_lower_layers_do_not_import_ui_libraries():
    code = ("import sys, workbench, workbench.rendering, workbench.cli, workbench.app.services; "
            "assert not {'panel', 'param', 'ipywidgets', 'bokeh'} & set(sys.modules), sys.modules.keys(); "
            "import workbench.app.state; assert 'param' in sys.modules; "
            "assert not {'panel', 'ipywidgets', 'bokeh'} & set(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ---------------------------------------------------------------------------------------
# AppState: recordings, errors, fits, edits, presets
# ---------------------------------------------------------------------------------------

class FakeFit:
    """Stand-in for `workbench.fitting.fit` with its contract (callback, cancel, result)."""

    def __init__(self, preset, *, hold: threading.Event | None = None, error: Exception | None = None):
        self.preset, self.hold, self.error, self.calls = preset, hold, error, []

    def __call__(self, clips, *, callback=None, cancel=None, steps=10, **options):
        self.calls.append(options)
        if self.error is not None:
            raise self.error
        clips = clips if isinstance(clips, list) else [clips]
        presets = [self.preset.replace(name=f"clip{i}", duration_s=len(a) / sr) for i, (a, sr) in enumerate(clips)]
        losses, stopped = [], "steps"
        for step in range(steps):
            if cancel is not None and cancel.is_set():
                stopped = "cancelled"
                break
            losses.append(1.0 / (step + 1))
            if callback is not None:
                callback(SimpleNamespace(step=step, total_steps=steps, loss=losses[-1], elapsed_s=0.01 * step,
                                         preset=presets[0]))
            if self.hold is not None and step == 1:
                self.hold.wait(10)
        return SimpleNamespace(presets=presets, preset=presets[0], targets=[a for a, _ in clips],
                               sample_rate=clips[0][1], loss_history=losses, distances=[0.5] * len(clips),
                               impacts=[[0.1]] * len(clips), cancelled=stopped == "cancelled", file_preset=None)


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
    if services.DEMO_FITTED_PRESET.is_file():     # the shipped fit: fitted at once
        assert s.base is not None and s.record is not None and {"fit", "edited", "object"} <= set(s.audio)


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
    if services.detector_status()[0]:
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
    assert rec.preset.name == "robot_woodspoon_on_steelbowl"          # not the fitter's clip0
    assert {"original", "fit", "edited", "object", "tool"} <= set(s.audio)
    assert fake.calls[0]["labels"] == {"clip0": ("woodspoon", "steelbowl")}
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
    s._fit_fn = FakeFit(demo_preset, error=WorkbenchError("clip0: no impact found"))
    s.start_fit()
    assert s.wait_fit(30) == "failed"
    assert s.base is good_base and s.audio["fit"] is good_fit
    assert s.message == ("error", "robot_woodspoon_on_steelbowl.wav: no impact found", s.message[2])
    s._fit_fn = FakeFit(demo_preset, error=RuntimeError("boom"))     # a bug, not a user error
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
    assert fake.calls[0]["labels"] == {"clip0": ("woodspoon", "steelbowl"), "clip1": ("steelfork", "steelbowl")}
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
    assert s.message[0] == "error" and "freq_hz" in s.message[1]
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
    if not services.fitter_status()[0]:
        pytest.skip(services.fitter_status()[1])
    s = AppState(presets_dir=tmp_path)
    s.add_files([woodspoon])
    s.n_modes, s.steps = 8, 3
    s.start_fit()
    assert s.wait_fit(300) == "done", s.fit_message
    assert s.record.distance is not None and 0 <= s.record.distance < 1.5
    assert s.base.tool is not None                       # labels from the file name: tool separated
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
