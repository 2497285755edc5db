"""The CLI end to end, as a user runs it (real processes, real files)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

import workbench as wb


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "workbench", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_render_writes_wav_and_spectrogram_with_the_modes(demo_preset_path, tmp_path):
    r = run("render", demo_preset_path, "-o", tmp_path / "demo.wav", "--spectrogram", tmp_path / "demo.png")
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and (tmp_path / "demo.png").stat().st_size > 10_000
    y, sr = wb.load_audio(tmp_path / "demo.wav")
    preset = wb.load_preset(demo_preset_path)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    freqs = np.fft.rfftfreq(y.size, 1 / sr)
    loud = sorted(preset.object.modes, key=lambda m: -m.gain_db)[:3]
    floor = np.median(spectrum)
    for m in loud:   # a clear spectral peak at each of the loudest modes
        band = (freqs > m.freq_hz - 3) & (freqs < m.freq_hz + 3)
        assert spectrum[band].max() > 100 * floor


def test_render_part_and_rate(demo_preset_path, tmp_path):
    r = run("render", demo_preset_path, "-o", tmp_path / "o.flac", "--part", "object",
            "--sample-rate", "16000", "--duration", "0.5")
    assert r.returncode == 0, r.stderr
    y, sr = wb.load_audio(tmp_path / "o.flac")
    assert sr == 16000 and y.size == 8000


def test_info_on_real_recording_and_preset(bundled_data, demo_preset_path):
    wav = bundled_data / "hammer_wood_multi.wav"
    r = run("info", wav)
    assert r.returncode == 0, r.stderr
    assert "44100 Hz" in r.stdout and "2 channel" in r.stdout and "dBFS" in r.stdout
    r = run("info", demo_preset_path)
    assert r.returncode == 0 and "object modes" in r.stdout and "freq (Hz)" in r.stdout


def test_user_errors_are_one_line_without_traceback(tmp_path, demo_preset_path):
    for args in (("info", tmp_path / "nope.wav"), ("render", tmp_path / "nope.json", "-o", tmp_path / "x.wav"),
                 ("render", demo_preset_path, "-o", tmp_path / "x.wav", "--part", "bogus"),
                 ("render", demo_preset_path, "-o", tmp_path / "x.wav", "--device", "cuda:7"),
                 ("render", demo_preset_path, "-o", tmp_path / "x.mp4")):
        r = run(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr and r.stderr.startswith("error:"), r.stderr
        assert len(r.stderr.strip().splitlines()) <= 2
    assert not (tmp_path / "x.wav").exists()


def test_help_on_every_command():
    for cmd in ((), ("render",), ("info",)):
        r = run(*cmd, "--help")
        assert r.returncode == 0 and "Usage" in r.stdout


def test_help_imports_neither_torch_nor_the_fitter():
    """Start-up stays light: `workbench --help` (and a command's --help) never import torch."""
    probe = ("import sys, workbench.cli as cli\n"
             "sys.argv = ['workbench', *sys.argv[1:]]\n"
             "try:\n    cli.main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
             "heavy = sorted(m for m in ('torch', 'workbench.fitting.api', 'workbench.rendering', 'panel', 'soundfile')\n"
             "               if m in sys.modules)\n"
             "print('HEAVY', heavy, file=sys.stderr)\n")
    for args in (("--help",), ("fit", "--help"), ("serve", "--help")):
        r = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0 and "Usage" in r.stdout, r.stderr
        assert "HEAVY []" in r.stderr, (args, r.stderr)
    r = subprocess.run([sys.executable, "-c", "import workbench, sys; print('torch' in sys.modules)"],
                       capture_output=True, text=True, timeout=300)
    assert r.stdout.strip() == "False", r.stderr


def test_fit_refuses_a_silent_recording_before_any_progress_bar(tmp_path):
    """Inputs are read and checked first: the error is the only output, no "fitting ... step 0/250" bar."""
    import soundfile as sf

    sf.write(tmp_path / "silent.wav", np.zeros(44_100, np.float32), 44_100)
    sf.write(tmp_path / "also_silent.wav", np.zeros(22_050, np.float32), 44_100)
    for files in (["silent.wav"], ["also_silent.wav", "silent.wav"]):
        r = run("fit", *files, "-o", tmp_path / "out", cwd=tmp_path)
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert r.stderr.startswith("error:") and "silent" in r.stderr, r.stderr
        for bar_text in ("fitting", "step ", "loss", "━"):
            assert bar_text not in r.stderr + r.stdout, (bar_text, r.stderr)
    assert not (tmp_path / "out").exists()


def test_fit_shows_its_progress_bar_once_fitting(bundled_data, tmp_path):
    r = run("fit", bundled_data / "hammer_wood_multi.wav", "-o", tmp_path / "h.json", "--steps", "2",
            "--modes", "4", "--no-reverb", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert "fitting" in r.stderr and "step 2/2" in r.stderr and (tmp_path / "h.json").is_file()


def test_render_lowers_a_loud_preset_to_minus_1_dbfs_unless_asked(demo_preset_path, tmp_path):
    data = wb.load_preset(demo_preset_path).to_dict()
    data["impacts"] = [{**i, "magnitude": min(i["magnitude"] * 31.6, 1000.0)} for i in data["impacts"]]
    loud = wb.save_preset(data, tmp_path / "loud.json")
    r = run("render", loud, "-o", tmp_path / "limited.wav", "--duration", "0.5")
    assert r.returncode == 0, r.stderr
    assert "lowered by" in r.stdout and "-1 dBFS" in r.stdout
    y, _ = wb.load_audio(tmp_path / "limited.wav")
    assert -1.1 < 20 * np.log10(np.abs(y).max()) <= -1.0
    r = run("render", loud, "-o", tmp_path / "raw.wav", "--duration", "0.5", "--subtype", "FLOAT", "--no-limit")
    assert r.returncode == 0, r.stderr
    y, _ = wb.load_audio(tmp_path / "raw.wav")
    assert np.abs(y).max() > 1.0
