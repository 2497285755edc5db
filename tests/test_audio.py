"""Audio I/O: formats, mixdown, channels, resampling, and a clear error for each bad input."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import workbench as wb
from workbench.errors import WorkbenchError

SR = 44100


def tone(n=SR // 2, sr=SR, freq=440.0):
    t = np.arange(n) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t) * np.exp(-3 * t)).astype(np.float32)


@pytest.mark.parametrize("fmt, subtype, tol", [("wav", "PCM_16", 1e-4), ("wav", "PCM_24", 1e-6),
                                               ("wav", "FLOAT", 0), ("flac", "PCM_24", 1e-6),
                                               ("ogg", "PCM_16", 0.05)])
def test_write_read_back(tmp_path, fmt, subtype, tol):
    y = tone()
    path = wb.save_audio(tmp_path / f"x.{fmt}", y, SR, subtype=subtype)
    back, sr = wb.load_audio(path)
    assert sr == SR and back.dtype == np.float32 and back.shape == y.shape
    assert np.max(np.abs(back - y)) <= tol or fmt == "ogg" and wb.spectral_distance(back, y) < 0.05


def test_mp3_and_real_files_load(bundled_data):
    mp3 = next(bundled_data.glob("*.mp3"))
    y, sr = wb.load_audio(mp3, sample_rate=22050)
    assert sr == 22050 and y.ndim == 1 and y.size > 22050


def test_stereo_mixdown_and_channel(tmp_path):
    left, right = tone(freq=440), tone(freq=1000) * 0.5
    path = tmp_path / "st.wav"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    mix, _ = wb.load_audio(path)
    np.testing.assert_allclose(mix, (left + right) / 2, atol=1e-7)
    np.testing.assert_allclose(wb.load_audio(path, channel=1)[0], right, atol=1e-7)
    with pytest.raises(WorkbenchError, match="st.wav: channel 2 does not exist"):
        wb.load_audio(path, channel=2)


def test_resampling_keeps_the_tone(tmp_path):
    path = wb.save_audio(tmp_path / "t.wav", tone(n=SR), SR, subtype="FLOAT")
    y, sr = wb.load_audio(path, sample_rate=16000)
    assert sr == 16000 and y.size == 16000
    peak_hz = np.argmax(np.abs(np.fft.rfft(y))) * sr / y.size
    assert abs(peak_hz - 440) <= 1


def _write_raw(path, data, sr=SR):
    sf.write(path, data, sr, subtype="FLOAT")
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: p, "no such file"),
    (lambda p: (p.write_bytes(b""), p)[1], "the file is empty"),
    (lambda p: (p.write_text("hello, I am not audio " * 20), p)[1], "not a readable audio file"),
    (lambda p: _write_raw(p, np.zeros(SR, np.float32)), "silent"),
    (lambda p: _write_raw(p, np.full(SR, np.nan, np.float32)), "NaN or infinite"),
    (lambda p: _write_raw(p, tone(n=100)), "too short to analyse"),
    (lambda p: _write_raw(p, tone(n=2000), sr=1000), "sample rate 1000 Hz is outside"),
    (lambda p: _write_raw(p, np.zeros((0,), np.float32)), "no audio samples"),
])
def test_bad_input_errors_name_the_file(tmp_path, make, message):
    path = make(tmp_path / "bad.wav")
    with pytest.raises(WorkbenchError, match=message) as info:
        wb.load_audio(path)
    assert "bad.wav" in str(info.value)


def test_folder_is_rejected(tmp_path):
    with pytest.raises(WorkbenchError, match="is a folder"):
        wb.load_audio(tmp_path)
