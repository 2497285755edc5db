"""The fitter on synthetic sounds with known parameters and on real recordings."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import numpy as np
import pytest

import workbench as wb
from workbench.errors import WorkbenchError
from workbench.fitting import fit
from workbench.fitting.labels import label_from_name, read_labels_csv
from workbench.presets import default_noise

SR = 44100


def three_mode_preset(time_s=0.1, scale=1.0, freqs=(610.0, 1530.0, 3710.0)):
    return wb.Preset(
        name="three", sample_rate=SR, duration_s=1.0,
        object={"modes": [{"freq_hz": f, "t60_s": t, "gain_db": g}
                          for f, t, g in zip(freqs, (0.6, 0.35, 0.2), (-6.0, -10.0, -14.0))]},
        impacts=[{"time_s": time_s, "contact_s": 2e-4, "magnitude": scale}],
        acceleration=1e-8, noise=default_noise(-75.0))


@pytest.fixture(scope="module")
def three_mode_fit():
    truth = three_mode_preset()
    audio = wb.render(truth)
    return truth, fit((audio, SR), n_modes=3, steps=60, reverb=False)


def test_known_three_mode_sound_is_recovered(three_mode_fit):
    truth, result = three_mode_fit
    got = sorted(result.preset.object.modes, key=lambda m: m.freq_hz)
    assert len(got) == 3
    for want, m in zip(truth.object.modes, got):
        assert m.freq_hz == pytest.approx(want.freq_hz, rel=0.005)
        assert m.t60_s == pytest.approx(want.t60_s, rel=0.15)
    assert result.preset.impacts[0].time_s == pytest.approx(0.1, abs=1e-3)
    assert result.distance < 0.1
    assert len(result.loss_history) == result.steps_run and result.loss_history[-1] <= result.loss_history[0]
    assert result.render().shape == result.targets[0].shape


def test_provenance_and_deterministic(three_mode_fit, tmp_path):
    truth, result = three_mode_fit
    prov = result.preset.provenance
    assert prov["distance"] == pytest.approx(result.distance, abs=1e-4)
    assert prov["settings"]["n_modes"] == 3 and "fitted_at" in prov
    again = fit((wb.render(truth), SR), n_modes=3, steps=60, reverb=False)
    assert again.preset.object == result.preset.object
    wb.save_preset(result.preset, tmp_path / "p.json")
    assert wb.load_preset(tmp_path / "p.json") == result.preset


def test_callback_reports_and_cancel_keeps_best():
    audio = wb.render(three_mode_preset())
    cancel = threading.Event()
    seen = []

    def on_progress(p):
        seen.append((p.step, p.loss))
        assert p.render().shape == audio.shape and p.preset.object.modes
        if p.step >= 10:
            cancel.set()

    result = fit((audio, SR), n_modes=3, steps=200, reverb=False, callback=on_progress, report_every=5,
                 cancel=cancel)
    assert result.cancelled and 10 <= result.steps_run <= 12
    assert [s for s, _ in seen] == [0, 5, 10]
    assert result.distance < 1.0


def test_joint_fit_shares_object_modes():
    clips = [(wb.render(three_mode_preset(time_s=t, scale=s)), SR) for t, s in ((0.1, 1.0), (0.2, 0.4))]
    result = fit(clips, joint=True, n_modes=3, steps=30, reverb=False)
    a, b = result.presets
    assert a.object == b.object
    assert b.impacts[0].magnitude < a.impacts[0].magnitude   # the per-clip level is in the force
    assert len(result.distances) == 2 and max(result.distances) < 0.3


def test_labelled_fit_separates_tool_and_object():
    tool = {"modes": [{"freq_hz": 7200.0, "t60_s": 0.03, "gain_db": -8.0}]}
    a = three_mode_preset().replace(tool=tool)
    b = three_mode_preset(freqs=(820.0, 2210.0, 4900.0)).replace(tool=tool)
    labels = {"a": ("fork", "bowl"), "b": ("fork", "mug")}
    clips = [(wb.render(a), SR), (wb.render(b), SR)]
    result = fit(clips, labels={"clip0": labels["a"], "clip1": labels["b"]}, n_modes=4, n_tool_modes=2,
                 steps=20, reverb=False)
    pa, pb = result.presets
    assert pa.tool == pb.tool and pa.object != pb.object
    assert pa.tags == ("fork", "bowl")
    assert np.max(np.abs(result.render("tool", index=0))) > 0


def test_label_parsing(tmp_path):
    lab = label_from_name("robot_steelfork_on_ceramicmug.wav")
    assert (lab.tool, lab.object, lab.material) == ("steelfork", "ceramicmug", "ceramic")
    with pytest.raises(WorkbenchError, match="cannot read tool/object labels"):
        label_from_name("hammer_wood_multi.wav")
    csv = tmp_path / "labels.csv"
    csv.write_text("file,tool,object\nx.wav,fork,bowl\n")
    assert read_labels_csv(csv)["x.wav"].object == "bowl"
    csv.write_text("name,what\n1,2\n")
    with pytest.raises(WorkbenchError, match="needs a header"):
        read_labels_csv(csv)


def test_real_single_strike_recording(bundled_data):
    result = fit(bundled_data / "robot_woodspoon_on_steelbowl.wav", n_modes=24, steps=40)
    assert 0.5 < result.impacts[0][0] < 0.75
    assert result.distance < 0.5
    assert result.preset.provenance["sha256"]


def test_multi_strike_real_recording(bundled_data):
    result = fit(bundled_data / "hammer_wood_multi.wav", channel=0, n_modes=16, steps=10)
    assert len(result.preset.impacts) >= 8


def steady_hum():
    """Mains hum and hiss that fade in slowly: sound, but no strike."""
    t = np.arange(2 * SR) / SR
    hum = 0.1 * np.sin(2 * np.pi * 100 * t) + 1e-3 * np.random.default_rng(0).standard_normal(t.size)
    return (hum * np.minimum(t / 0.5, 1.0)).astype(np.float32)


@pytest.mark.parametrize("make, message", [
    (lambda: (np.zeros(SR, np.float32), SR), "silent"),
    (lambda: (steady_hum(), SR), "no impact detected"),
    (lambda: (wb.render(three_mode_preset(time_s=0.01))[:1500], SR), "too short"),
])
def test_bad_inputs_have_clear_messages(make, message):
    with pytest.raises(WorkbenchError, match=message):
        fit(make(), n_modes=3, steps=5)


def test_mismatched_rates_in_joint_fit():
    a = wb.render(three_mode_preset())
    b = wb.render(three_mode_preset(), sample_rate=48000)
    with pytest.raises(WorkbenchError, match="different sample rates"):
        fit([(a, SR), (b, 48000)], joint=True, steps=5)


def test_clipped_recording_warns_and_fits():
    audio = np.clip(wb.render(three_mode_preset(scale=4.0)), -0.5, 0.5) * 2
    with pytest.warns(UserWarning, match="clipped"):
        result = fit((audio, SR), n_modes=3, steps=5, reverb=False)
    assert result.warnings


def test_cli_fit_and_detect_end_to_end(bundled_data, tmp_path):
    rec = bundled_data / "robot_steelfork_on_steelbowl.wav"
    r = subprocess.run([sys.executable, "-m", "workbench", "fit", str(rec), "-o", str(tmp_path / "bowl.json"),
                        "--modes", "16", "--steps", "15", "--report", str(tmp_path / "report")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    preset = json.loads((tmp_path / "bowl.json").read_text())
    assert preset["provenance"]["source"].endswith("robot_steelfork_on_steelbowl.wav")
    assert (tmp_path / "report" / "robot_steelfork_on_steelbowl_report.png").stat().st_size > 20_000
    wb.load_audio(tmp_path / "report" / "robot_steelfork_on_steelbowl_fit.wav")
    r = subprocess.run([sys.executable, "-m", "workbench", "detect", str(bundled_data / "hammer_wood_multi.wav"),
                        "--channel", "0", "--csv", str(tmp_path / "t.csv")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert len((tmp_path / "t.csv").read_text().splitlines()) >= 9
    r = subprocess.run([sys.executable, "-m", "workbench", "fit", str(tmp_path / "none.wav"), "-o",
                        str(tmp_path / "x.json")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.json").exists()


def test_public_fit_is_the_function(three_mode_fit):
    import workbench.fitting  # noqa: F401 - importing the subpackage must not shadow it

    truth, _ = three_mode_fit
    result = wb.fit((wb.render(truth), SR), n_modes=3, steps=3, reverb=False)
    assert result.preset.object.modes


def test_long_file_is_fitted_by_segments(monkeypatch):
    from workbench.fitting import clips

    monkeypatch.setattr(clips, "MAX_CLIP_S", 1.0)    # pretend 2 s is "minutes"
    preset = three_mode_preset().replace(duration_s=2.0, impacts=[
        {"time_s": t, "contact_s": 2e-4, "magnitude": m} for t, m in ((0.1, 1.0), (0.8, 0.5), (1.5, 0.8))])
    audio = wb.render(preset)
    result = fit((audio, SR), n_modes=3, steps=5, reverb=False)
    assert len(result.presets) == 3                   # one segment per strike, fitted jointly
    assert all(p.object == result.presets[0].object for p in result.presets)
    whole = result.preset                              # one preset for the whole file
    assert [round(i.time_s, 2) for i in whole.impacts] == [0.1, 0.8, 1.5]
    assert whole.duration_s == pytest.approx(2.0)
