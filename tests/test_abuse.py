"""Bounded, safe and honest under abuse (issue 14): every bad input is one `WorkbenchError`
(CLI: one line, exit 2) raised before any long work, and nothing is lost or overwritten."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from workbench import audio, budgets
from workbench.atomic import atomic_write_bytes, atomic_write_text, current_umask
from workbench.cli import app
from workbench.errors import WorkbenchError
from workbench.names import guess_material, unique_name, unique_slug
from workbench.presets import SCHEMA, Preset, load_preset, preset_from_dict, preset_path_for, save_preset

REPO = Path(__file__).resolve().parents[1]
BOWL = REPO / "workbench" / "data" / "robot_steelfork_on_steelbowl.wav"
runner = CliRunner()


@pytest.fixture
def demo(demo_preset_path) -> dict:
    return json.loads(demo_preset_path.read_text(encoding="utf-8"))


def _tone(n=44100, scale=0.5) -> np.ndarray:
    t = np.arange(n) / 44100
    return (scale * np.sin(2 * np.pi * 440 * t) * np.exp(-3 * t)).astype(np.float32)


def _no_fit(*args, **kwargs):
    raise AssertionError("the fit started before the output path was checked")


# 1. output paths checked before the work; write failures are WorkbenchErrors


@pytest.mark.parametrize("make_output, message", [
    (lambda tmp: tmp, "is a folder; give a file name"),
    (lambda tmp: tmp / "bowl.txt", "expected a .json file"),
    (lambda tmp: tmp / "a_file" / "bowl.json", "is a file, not a folder"),
])
def test_cli_fit_refuses_a_bad_output_before_fitting(tmp_path, monkeypatch, make_output, message):
    (tmp_path / "a_file").write_text("x")
    monkeypatch.setattr("workbench.fitting.fit", _no_fit)
    r = runner.invoke(app, ["fit", str(BOWL), "-o", str(make_output(tmp_path)), "--steps", "1"])
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, r.output


def _fake_result(names, joint=False):
    base = load_preset(REPO / "presets" / "demo.json")
    presets = [base.replace(name=n) for n in names]
    return types.SimpleNamespace(presets=presets, preset=presets[0], file_preset=None, loss_histories=[[1.0]],
                                 elapsed_s=0.1, steps_run=1, stopped="steps", distances=[0.5] * len(names))


def test_cli_fit_of_several_clips_writes_a_folder_and_suffixes_same_names(tmp_path, monkeypatch):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "hit.wav").write_bytes(BOWL.read_bytes())
    monkeypatch.setattr("workbench.fitting.fit", lambda *a, **k: _fake_result(["hit", "hit"]))
    out = tmp_path / "fits"
    r = runner.invoke(app, ["fit", str(tmp_path / "a" / "hit.wav"), str(tmp_path / "b" / "hit.wav"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["hit-2.json", "hit.json"]
    (tmp_path / "taken").write_text("x")          # several clips need a folder, not a file
    r = runner.invoke(app, ["fit", str(BOWL), str(BOWL), "-o", str(tmp_path / "taken")])
    assert r.exit_code == 2 and "is not a folder" in r.output


def test_cli_render_into_an_unwritable_place_is_one_line(demo_preset_path):
    r = runner.invoke(app, ["render", str(demo_preset_path), "-o", "/proc/a.wav", "--duration", "0.1"])
    assert r.exit_code == 2 and "/proc" in r.output and "Traceback" not in r.output, r.output


def test_atomic_write_errors_name_the_path_and_leave_nothing(tmp_path):
    with pytest.raises(WorkbenchError, match=r"/proc/a\.wav: cannot write the file \("):
        atomic_write_bytes("/proc/a.wav", b"x")
    (tmp_path / "dir").mkdir()
    with pytest.raises(WorkbenchError, match="dir: cannot write the file"):
        atomic_write_text(tmp_path / "dir", "x")
    (tmp_path / "file").write_text("x")
    with pytest.raises(WorkbenchError, match="cannot write the file"):
        atomic_write_text(tmp_path / "file" / "a.json", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "file"]     # no temp files left


# 2. permissions


def test_atomic_write_keeps_an_existing_mode(tmp_path):
    target = tmp_path / "p.json"
    target.write_text("old")
    os.chmod(target, 0o644)
    atomic_write_text(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644 and target.read_text() == "new"
    os.chmod(target, 0o640)
    save_preset(load_preset(REPO / "presets" / "demo.json"), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_atomic_write_gives_a_new_file_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        path = atomic_write_text(tmp_path / "new.txt", "x")
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
    finally:
        os.umask(old)
    path = atomic_write_text(tmp_path / "new2.txt", "x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~old


# 3. presets


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["object"]["modes"][0].update(freq_hz="440"), r"object\.modes\[0\]\.freq_hz: .*valid number"),
    (lambda d: d["object"]["modes"][0].update(gain_db=True), r"object\.modes\[0\]\.gain_db: .*valid number"),
    (lambda d: d.update(duration_s="2"), r"duration_s: .*valid number"),
    (lambda d: d.update(sample_rate=True), "sample_rate: expected a whole number, got bool"),
    (lambda d: d.update(sample_rate="44100"), "sample_rate: expected a whole number, got str"),
    (lambda d: d["reverb"].update(enabled=1), r"reverb\.enabled: .*valid boolean"),
    (lambda d: d.update(version=True), "version: this workbench reads version 1"),
    (lambda d: d["impacts"][0].update(time_s=d["duration_s"]), r"impacts\[0\]\.time_s: .* not inside the sound"),
    (lambda d: d.update(name="bell\x00"), r"name: control character '\\x00'"),
    (lambda d: d.update(material="steel\n"), r"material: control character"),
    (lambda d: d.update(tags=["ok", "bad\x1b[31m"]), r"tags\[1\]: control character"),
])
def test_preset_refuses_wrong_types_and_values(demo, edit, message):
    edit(demo)
    with pytest.raises(WorkbenchError, match=message):
        preset_from_dict(demo, source="x.json")


def test_preset_errors_stay_one_short_line(demo):
    demo["duration_s"] = 10**5000        # repr() of it raises ValueError (int-string conversion limit)
    with pytest.raises(WorkbenchError, match=r"duration_s: .* \(got an integer of 5000 digits\)"):
        preset_from_dict(demo)
    demo["duration_s"], demo["material"] = 2.0, 7 * 10**6
    with pytest.raises(WorkbenchError) as err:
        preset_from_dict(demo)
    assert len(str(err.value)) < 200 and "\n" not in str(err.value)


def test_preset_names_the_impact_outside_the_duration(demo):
    demo["impacts"] = [dict(demo["impacts"][0], time_s=t) for t in (0.1, 0.2, 5.0)]
    demo["duration_s"] = 3.0
    with pytest.raises(WorkbenchError, match=r"x.json: impacts\[2\]\.time_s: 5 s is not inside the sound"):
        preset_from_dict(demo, source="x.json")


def test_preset_keeps_ints_for_floats_and_lists_for_tuples(demo):
    demo["object"]["modes"][0]["freq_hz"] = 440
    demo["duration_s"] = 3
    p = preset_from_dict(demo)
    assert p.object.modes[0].freq_hz == 440.0 and isinstance(p.duration_s, float) and isinstance(p.tags, tuple)
    assert Preset(name="b", sample_rate=np.int64(16000), object={"modes": [{"freq_hz": np.float32(440),
                  "t60_s": 1, "gain_db": 0}]}, impacts=[{"time_s": 0, "contact_s": 1e-3, "magnitude": 1}]).sample_rate \
        == 16000


@pytest.mark.parametrize("key", ["object", "tool", "impacts", "noise", "reverb"])
def test_preset_budgets_are_checked_before_the_items(demo, key):
    n = 10**6
    if key == "impacts":
        demo["impacts"] = demo["impacts"][:1] * n
        budget, where = budgets.IMPACTS, "impacts"
    elif key in ("noise", "reverb"):
        demo[key]["bands"] = demo[key]["bands"][:1] * n
        budget, where = budgets.BANDS, f"{key}.bands"
    else:
        demo[key] = {"modes": demo["object"]["modes"][:1] * n}
        budget, where = budgets.MODES_PER_BODY, f"{key}.modes"
    t0 = time.perf_counter()
    with pytest.raises(WorkbenchError, match=rf"x.json: {where}: {n} {budget.unit} is over the budget of "
                                             rf"{budget.limit}"):
        preset_from_dict(demo, source="x.json")
    with pytest.raises(ValueError) as err:        # the model itself (pydantic's ValidationError)
        Preset.model_validate(demo)
    assert time.perf_counter() - t0 < 1.0          # (str() of that error reprs the input: not timed)
    assert "over the budget" in err.value.errors()[0]["msg"]


@pytest.mark.parametrize("text, message", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"schema": ' + "9" * 5001 + "}", "integer string conversion"),
    ("{\"name\": \"\xff\"", "not valid JSON"),
])
def test_load_preset_refuses_hostile_json(tmp_path, text, message):
    path = tmp_path / "evil.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WorkbenchError, match=rf"evil\.json: .*{message}"):
        load_preset(path)


def test_load_preset_refuses_a_huge_file_before_reading_it(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as fh:        # sparse: costs no disk
        fh.truncate(budgets.PRESET_BYTES.limit + 1)
    with pytest.raises(WorkbenchError, match=r"huge\.json: 64\.0 MB is over the budget of 64\.0 MB per preset file"):
        load_preset(path)
    with pytest.raises(WorkbenchError, match="cannot read preset"):
        load_preset(tmp_path)


def test_every_shipped_preset_still_loads():
    """Every JSON shipped is a preset, except files that declare another schema (the material
    table, the variation prior)."""
    files = [p for root in (REPO / "presets", REPO / "workbench" / "data") for p in root.rglob("*.json")
             if json.loads(p.read_text(encoding="utf-8")).get("schema", SCHEMA) == SCHEMA]
    assert len(files) >= 30
    for path in files:
        load_preset(path)


# 4. audio


@pytest.mark.parametrize("channel", [1.5, True, "0", np.float64(0)])
def test_load_audio_refuses_a_non_integer_channel(channel):
    with pytest.raises(WorkbenchError, match="channel: expected a whole channel number"):
        audio.load_audio(BOWL, channel=channel)
    assert audio.load_audio(BOWL, channel=np.int64(0))[0].size > 0


def test_audio_info_refuses_nan_samples_and_the_cli_exits_2(tmp_path):
    x = _tone()
    x[100] = np.nan
    sf.write(tmp_path / "nan.wav", x, 44100, subtype="FLOAT")
    with pytest.raises(WorkbenchError, match=r"nan\.wav: 1 samples are NaN or infinite"):
        audio.audio_info(tmp_path / "nan.wav")
    r = runner.invoke(app, ["info", str(tmp_path / "nan.wav")])
    assert r.exit_code == 2 and "NaN" in r.output


def test_absurd_levels_are_refused_without_overflow_warnings(tmp_path):
    sf.write(tmp_path / "loud.wav", _tone() * np.float32(1e30), 44100, subtype="FLOAT")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(WorkbenchError, match=r"loud\.wav: the samples peak at 4\.99e\+29 \(594 dBFS, "
                                                 r"full scale is 1\); refusing levels above 80 dBFS"):
            audio.load_audio(tmp_path / "loud.wav")
        assert audio.check_audio(_tone(scale=audio.MAX_PEAK), 44100).size   # the limit itself is fine


def test_decoded_size_is_checked_from_the_header_before_decoding(monkeypatch):
    info = types.SimpleNamespace(frames=48000 * 600, channels=2, samplerate=48000)
    with pytest.raises(WorkbenchError, match=rf"big\.wav \(600\.0 s, 2 channel\(s\)\): 57600000 samples is over "
                                             rf"the budget of {budgets.DECODED_SAMPLES.limit} samples"):
        audio.check_decoded_size(info, "big.wav")
    small = budgets.Budget(name="decoded_samples", limit=1000, unit="samples", per="per recording", doc="")
    monkeypatch.setattr(audio, "DECODED_SAMPLES", small)
    monkeypatch.setattr(audio.sf.SoundFile, "read", lambda *a, **k: pytest.fail("decoded before the size check"))
    for fn in (audio.load_audio, audio.audio_info):
        with pytest.raises(WorkbenchError, match="over the budget of 1000 samples"):
            fn(BOWL)


# 5. losses


def test_spectral_distance_refuses_nan_naming_the_argument():
    from workbench.losses import spectral_distance

    good, bad = _tone(), _tone()
    bad[10] = np.nan
    with pytest.raises(WorkbenchError, match="^x: 1 samples are NaN"):
        spectral_distance(bad, good)
    with pytest.raises(WorkbenchError, match="^target: 1 samples are NaN"):
        spectral_distance(good, bad)
    with pytest.raises(WorkbenchError, match="^x: expected an array of samples"):
        spectral_distance(["a", "b"], good)
    assert spectral_distance(good, good) == pytest.approx(0.0, abs=1e-6)


# 6. fitter inputs


@pytest.mark.parametrize("arg, kwargs, message", [
    (None, {}, "audio_or_paths: expected a file path.* got NoneType"),
    (42, {}, "audio_or_paths: expected a file path.* got int"),
    (_tone(), {}, "a bare array has no sample rate"),
    ((np.stack([_tone(), _tone()]), 44100), {}, r"clip0: expected a mono signal, got audio of shape \(2, 44100\); "
                                                r"pick one channel \(e\.g\. audio\[0\]\) or pass each channel"),
    ((_tone(), "44100"), {}, "sample rate must be a whole number"),
    ((_tone(), 44100.5), {}, "sample rate must be a whole number"),
    ((_tone(), 44100), {"sample_rate": "16000"}, "sample_rate: expected a number of Hz"),
    ((_tone(), 44100), {"steps": 2.5}, "steps: 2.5 is not a whole number"),
    ((_tone(), 44100), {"steps": True}, "steps: True is outside"),
    ((_tone(), 44100), {"seed": -1}, "seed: expected a whole number"),
    ((_tone(), 44100), {"reverb": "no"}, "reverb: expected True or False"),
])
def test_fit_refuses_bad_inputs_before_any_work(arg, kwargs, message):
    from workbench.fitting import fit

    with pytest.raises(WorkbenchError, match=message):
        fit(arg, device="cpu", **kwargs)


def test_as_clips_takes_one_channel_columns():
    from workbench.fitting.clips import as_clips

    [clip] = as_clips((_tone()[:, None], 44100), sample_rate=None, channel=None)
    assert clip.audio.shape == (44100,) and clip.sample_rate == 44100


# 7. names, folders, leftovers


def test_unique_names_suffix_collisions():
    assert unique_name("bell", ["Bell"]) == "bell-2" and unique_name("bell", []) == "bell"
    assert unique_slug("Bell, v1", ["Bell_v1", "bell_v1-2"]) == "Bell_v1-3"


def test_preset_path_for_never_overwrites_another_preset(tmp_path):
    bell = load_preset(REPO / "presets" / "demo.json")
    first = save_preset(bell.replace(name="Bell, v1"), preset_path_for(tmp_path, "Bell, v1"))
    second = preset_path_for(tmp_path, "Bell v1")
    assert first.name == "Bell_v1.json" and second.name == "Bell_v1-2.json"
    save_preset(bell.replace(name="Bell v1"), second)
    assert preset_path_for(tmp_path, "Bell, v1") == first      # the same name: an update
    assert preset_path_for(tmp_path, "Bell v1") == second
    with pytest.raises(WorkbenchError, match="no letters or digits"):
        preset_path_for(tmp_path, "!!!")


def test_library_files_by_the_objects_material_and_keeps_same_named_clips(tmp_path, monkeypatch):
    import workbench.library as library
    import workbench.library.tasks as tasks

    source = tmp_path / "src"
    for sub in ("a", "b"):
        (source / sub).mkdir(parents=True)
        (source / sub / "robot_steelfork_on_ceramicmug.wav").write_bytes(BOWL.read_bytes())
    base = load_preset(REPO / "presets" / "demo.json")
    monkeypatch.setattr(tasks, "fit", lambda path, **k: types.SimpleNamespace(   # one worker: in this process
        preset=base.replace(name=Path(path).stem), distance=0.5))
    monkeypatch.setattr(tasks, "thumbnail_png", lambda preset: b"png")
    entries = library.build_library(source, tmp_path / "lib", separate=False, log=lambda m: None)
    assert guess_material("robot_steelfork_on_ceramicmug.wav") == "ceramic"
    assert {e.family for e in entries} == {"ceramic"}
    assert sorted(p.name for p in (tmp_path / "lib" / "ceramic").glob("*.json")) == [
        "robot_steelfork_on_ceramicmug-2.json", "robot_steelfork_on_ceramicmug.json"]


def test_stale_partial_exports_are_cleaned_on_the_next_run(tmp_path):
    from workbench.export.common import STALE_PARTIAL_S, atomic_directory

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [tmp_path / f".old.partial-{dead.pid}-0123abcd", tmp_path / ".older.partial-89abcdef"]
    live = tmp_path / f".busy.partial-{os.getpid()}-fedcba98"
    for p in (*stale, live):
        p.mkdir()
        (p / "half.wav").write_bytes(b"x")
    old = time.time() - STALE_PARTIAL_S - 60
    os.utime(stale[1], (old, old))
    with atomic_directory(tmp_path / "export") as tmp:
        assert str(os.getpid()) in tmp.name
        (tmp / "a.txt").write_text("x")
    assert not any(p.exists() for p in stale) and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "export"]
