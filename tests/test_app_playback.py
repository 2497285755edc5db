"""Sounds out (`workbench.app.playback`): WAV bytes, and device playback that says why not."""

from __future__ import annotations

import builtins
import io
import re
import sys
import types

import numpy as np
import pytest
import soundfile as sf

from workbench.app.playback import play, playback_status, wav_bytes
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
