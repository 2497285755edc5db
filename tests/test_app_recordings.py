"""Recordings in (`workbench.app.recordings`): decoding, validation, labels, detection."""

from __future__ import annotations

import numpy as np
import pytest

import workbench as wb
from workbench.app.recordings import decode_recording, default_labels, detect_recording, read_recording
from workbench.errors import WorkbenchError


def test_decode_recording_rejects_bad_input(bundled_data):
    good = (bundled_data / "robot_woodspoon_on_steelbowl.wav").read_bytes()
    rec = decode_recording("x.wav", good)
    assert rec.n_channels == 1 and rec.sample_rate == 44100 and not rec.data.flags.writeable
    cases = [(b"", "empty"), (b"RIFF\x00\x00garbage" * 50, "not a readable audio file"),
             ("just text", "a text file"), (good, "over the upload limit")]
    for payload, msg in cases:
        with pytest.raises(WorkbenchError, match=f"^bad.wav: .*{msg}"):
            decode_recording("bad.wav", payload, max_bytes=100_000 if payload is good else 10**9)
    silent = wb.audio.encode_wav(np.zeros(44100, np.float32), 44100)
    with pytest.raises(WorkbenchError, match="silent"):
        decode_recording("silent.wav", silent)


def test_channels_and_cached_reads(bundled_data):
    rec = read_recording(bundled_data / "hammer_wood_multi.wav")
    assert rec is read_recording(bundled_data / "hammer_wood_multi.wav")     # decoded once
    assert rec.n_channels == 2 and rec.mono(1).shape == (rec.data.shape[0],)
    np.testing.assert_allclose(rec.mono(None), rec.data.mean(axis=1), atol=1e-7)
    with pytest.raises(WorkbenchError, match="channel 2 does not exist"):
        rec.mono(2)
    with pytest.raises(WorkbenchError, match="no such file"):
        read_recording(bundled_data / "missing.wav")


@pytest.mark.parametrize("name, labels", [
    ("robot_steelfork_on_steelbowl.wav", ("steelfork", "steelbowl")),
    ("take2_Mallet_on_Glass-Jar.flac", ("Mallet", "Glass-Jar")),     # the fitter's rule: case kept
    ("robot_steelfork_on_steelbowl_take2.wav", ("", "")),           # "_on_" must end the name
    ("hit.wav", ("", "")),
])
def test_default_labels_follow_the_names_rule(name, labels):
    assert default_labels(name) == labels


def test_detection_is_cached_per_channel_and_sensitivity(bundled_data):
    rec = read_recording(bundled_data / "robot_woodspoon_on_steelbowl.wav")
    found = detect_recording(rec, None, 0.5)
    assert found and found is detect_recording(rec, None, 0.5)
    assert all(0 <= t < rec.duration_s and 0 <= c <= 1 for t, c in found)
    assert len(detect_recording(rec, None, 1.0)) >= len(found)
