"""Sounds out (`workbench.app.playback`): WAV bytes, and device playback that says why not."""

from __future__ import annotations

import builtins
import io
import json
import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest
import soundfile as sf

from workbench.app.playback import play, playback_status, wav_bytes
from workbench.app.text import escape_markdown
from workbench.errors import WorkbenchError


def test_wav_bytes_clip_instead_of_wrapping():
    data, rate = sf.read(io.BytesIO(wav_bytes(np.array([0.5, 2.0, -3.0], np.float32), 22050)), dtype="float32")
    assert rate == 22050 and data == pytest.approx([0.5, 1.0, -1.0], abs=1e-4)


def _without_portaudio(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)


def _fake_sounddevice(monkeypatch, query):
    monkeypatch.setitem(sys.modules, "sounddevice", types.SimpleNamespace(query_devices=query, play=None))


def _no_device(kind=None):
    raise ValueError("No output device available")


@pytest.mark.parametrize("setup, expected", [
    (lambda mp: mp.setitem(sys.modules, "sounddevice", None),
     (False, "sounddevice is not installed (pip install sounddevice)")),
    (_without_portaudio, (False, "the PortAudio library is missing (apt-get install libportaudio2)")),
    (lambda mp: _fake_sounddevice(mp, _no_device),
     (False, "no audio output device on this machine (No output device available)")),
    (lambda mp: _fake_sounddevice(mp, lambda kind=None: {"name": "USB speakers"}), (True, "USB speakers")),
])
def test_playback_status_says_why(monkeypatch, setup, expected):
    setup(monkeypatch)
    assert playback_status() == expected
    if not expected[0]:
        with pytest.raises(WorkbenchError, match="^playback: " + re.escape(expected[1])):
            play(np.zeros(10, np.float32), 44100)


def test_playback_status_agrees_with_a_real_query():
    try:
        import sounddevice as sd
        sd.query_devices(kind="output")
    except Exception:       # not installed, no PortAudio, no output device
        can_play = False
    else:
        can_play = True
    ok, reason = playback_status()
    assert ok is can_play and reason


# --------------------------------------------------------------------------- a real (virtual) output device
#
# ALSA reads ~/.asoundrc when PortAudio starts: with HOME pointing at a temporary folder, the
# default output device becomes a `file` PCM that writes every sample it is sent (converted by
# the `plug` layer to 16-bit mono at 44.1 kHz) to tap.raw, then hands it to the `null` PCM.
# Nothing is mocked: workbench -> sounddevice -> PortAudio -> ALSA -> the file.
# (docs: ../shared/docs/toolchain.md section 6; needs Debian's libportaudio2, `make system-deps`.)

TAP_RATE = 44_100
ASOUNDRC = """
pcm.!default {{
    type plug
    slave {{ pcm "tap"; format S16_LE; channels 1; rate {rate} }}
    hint {{ show on description "Workbench test output (captured to a file)" }}
}}
pcm.tap {{
    type file
    slave.pcm "null"
    file "{file}"
    format "raw"
}}
"""

# Runs in a fresh process (PortAudio reads the ALSA configuration once, when sounddevice is imported).
PROBE = r"""
import json, shutil, sys, time
from pathlib import Path
import numpy as np
out = Path(sys.argv[1])
try:
    import sounddevice as sd
except (ImportError, OSError) as e:
    print(json.dumps({"skip": f"sounddevice/PortAudio unusable: {e}"})); sys.exit(0)
from workbench.app.playback import play, playback_status
from workbench.app.state import AppState
from workbench.app.views.players import PlayersPanel
from workbench.errors import WorkbenchError

ok, reason = playback_status()
report = {"ok": ok, "reason": reason, "hostapis": [a["name"] for a in sd.query_hostapis()]}
state = AppState.open(presets_dir=out / "presets")
panel = PlayersPanel(state=state)
note = panel._note.object
report.update(button_disabled=panel._device.disabled, description=panel._device.description, note=note)
if ok:
    edited = state.audio["edited"]
    np.save(out / "edited.npy", edited)
    report["rate"] = state.audio_rate
    t0 = time.perf_counter()
    panel._device.clicks += 1                      # what a click in the browser does
    report["click_s"] = time.perf_counter() - t0
    report["message"] = list(state.message[:2])
    sd.wait()
    shutil.copyfile(out / "tap.raw", out / "edited.raw")
    # non-blocking: a 30 s sound is still playing when play() returns
    play(0.01 * np.ones(30 * 44_100, np.float32), 44_100)
    report["active_after_return"] = bool(sd.get_stream().active)
    sd.stop()
else:
    try:
        play(np.zeros(10, np.float32), 44_100)
    except WorkbenchError as e:
        report["play_error"] = str(e)
print(json.dumps(report))
"""


def _probe(tmp_path, asoundrc: str | None) -> dict:
    home = tmp_path / "home"
    home.mkdir()
    if asoundrc is not None:
        (home / ".asoundrc").write_text(asoundrc)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALSA_")}
    env["HOME"] = str(home)
    r = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True, text=True,
                       timeout=300, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    if "skip" in report:
        pytest.skip(report["skip"] + " (install Debian's libportaudio2: make system-deps)")
    return report


def _align(captured: np.ndarray, sent: np.ndarray) -> int:
    """Offset of ``sent`` in ``captured`` (PortAudio primes the device with silence first)."""
    n = 1 << int(np.ceil(np.log2(captured.size + sent.size)))
    xc = np.fft.irfft(np.fft.rfft(captured, n) * np.conj(np.fft.rfft(sent, n)), n)
    return int(np.argmax(xc[:captured.size]))


def test_play_button_sends_the_edited_sound_to_a_real_output_device(tmp_path):
    tap = tmp_path / "tap.raw"
    report = _probe(tmp_path, ASOUNDRC.format(rate=TAP_RATE, file=tap))
    if "ALSA" not in report["hostapis"]:
        pytest.skip(f"PortAudio has no ALSA host API here ({report['hostapis']}); the file tap needs ALSA")
    assert report["ok"] and report["reason"] == "default", report
    assert not report["button_disabled"] and report["description"] == "Plays through default" and not report["note"]
    assert report["message"] == ["info", "playing the edited sound on default"]
    assert report["rate"] == TAP_RATE                 # the demo plays at 44.1 kHz: no resampling in the plug
    sent = np.clip(np.load(tmp_path / "edited.npy").astype(np.float64), -1, 1)      # the player clips, too
    captured = np.fromfile(tmp_path / "edited.raw", dtype="<i2").astype(np.float64) / 32768.0
    # everything that was sent reached the device, in order, at its level (16-bit steps apart)
    assert captured.size >= sent.size and np.abs(captured).max() > 0.05
    start = _align(captured, sent)
    played = captured[start:start + sent.size]
    assert played.size == sent.size
    np.testing.assert_allclose(played, sent, atol=2.0 / 32768)
    assert not np.any(captured[:start]) and not np.any(captured[start + sent.size:])   # silence around it
    rms = lambda x: float(np.sqrt(np.mean(x ** 2)))   # noqa: E731
    assert rms(played) == pytest.approx(rms(sent), rel=1e-3)
    assert report["active_after_return"], "play() waited for the sound to end; it must return at once"


def test_without_an_output_device_the_button_says_why(tmp_path):
    report = _probe(tmp_path, None)                   # no ~/.asoundrc: only the machine's own devices
    if report["ok"]:
        pytest.skip(f"this machine has a real output device ({report['reason']}); the no-device case needs one "
                    "without a sound card")
    assert report["reason"].startswith("no audio output device on this machine"), report
    assert report["button_disabled"] and report["description"] == escape_markdown(report["reason"])
    assert report["note"] == f"<small>Device playback off: {escape_markdown(report['reason'])}</small>"
    assert report["play_error"] == "playback: " + report["reason"]
