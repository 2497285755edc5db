"""Impact detection: synthetic pulse trains and silence, the hammer recordings against their
force sensor, the robot clips' single strike, segmentation and argument errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from workbench.analysis import (
    Impact,
    detect_impacts,
    force_sensor_strikes,
    match_times,
    segment_impacts,
)
from workbench.errors import WorkbenchError

SR = 44100


def strike_train(times_s, *, duration_s=3.0, sr=SR, noise_rms=1e-3, seed=0):
    """Strikes (two damped modes plus a 1 ms noise click) starting exactly at ``times_s``."""
    rng = np.random.default_rng(seed)
    x = noise_rms * rng.standard_normal(int(duration_s * sr))
    t = np.arange(int(0.4 * sr)) / sr
    ring = 0.5 * np.exp(-6.908 * t / 0.3) * (np.sin(2 * np.pi * 620.0 * t) + 0.6 * np.sin(2 * np.pi * 2390.0 * t))
    ring[: int(0.001 * sr)] += 0.3 * rng.standard_normal(int(0.001 * sr))
    for k, t0 in enumerate(times_s):
        start = int(round(t0 * sr))
        n = min(len(ring), len(x) - start)
        x[start : start + n] += (1.0 - 0.15 * (k % 3)) * ring[:n]
    return x


def test_pulse_train_found_within_1ms():
    times = np.array([0.25, 0.61, 0.93, 1.40, 1.47, 2.05, 2.60])
    impacts = detect_impacts(strike_train(times), SR)
    found = np.array([imp.time_s for imp in impacts])
    assert len(found) == len(times)
    np.testing.assert_allclose(found, times, atol=1e-3)
    assert all(0.5 <= imp.confidence <= 1.0 and imp.peak_db <= 0.0 for imp in impacts)


def test_strike_at_file_start_and_blockwise_analysis_agree():
    times = np.array([0.0, 0.8, 1.9])
    x = strike_train(times)
    whole = [imp.time_s for imp in detect_impacts(x, SR)]
    blocks = [imp.time_s for imp in detect_impacts(x, SR, block_s=0.5)]  # many small blocks
    np.testing.assert_allclose(whole, times, atol=1e-3)
    np.testing.assert_allclose(blocks, whole, atol=1e-6)


@pytest.mark.parametrize("signal", [np.zeros(SR), np.full(SR, 1e-12), np.zeros(0)])
def test_silence_has_no_impacts(signal):
    assert detect_impacts(signal, SR) == []


@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0])  # white, pink, brown (rumble)
def test_stationary_noise_has_no_impacts(exponent):
    spectrum = np.fft.rfft(np.random.default_rng(3).standard_normal(3 * SR))
    spectrum[1:] /= np.fft.rfftfreq(3 * SR, 1 / SR)[1:] ** (exponent / 2)
    noise = np.fft.irfft(spectrum, 3 * SR)
    assert detect_impacts(0.1 * noise / noise.std(), SR) == []


def test_hum_fading_in_has_no_impacts():
    t = np.arange(2 * SR) / SR
    hum = 0.1 * np.sin(2 * np.pi * 100 * t) + 1e-3 * np.random.default_rng(4).standard_normal(t.size)
    assert detect_impacts(hum * np.minimum(t / 0.5, 1.0), SR) == []


def test_sensitivity_zero_reports_nothing_and_one_reports_more():
    x = strike_train([0.3, 1.2])
    assert detect_impacts(x, SR, sensitivity=0.0) == []
    assert len(detect_impacts(x, SR, sensitivity=1.0)) >= 2


def test_force_sensor_strikes_finds_pulse_onsets():
    force = np.zeros(SR)
    pulse = np.sin(np.pi * np.arange(40) / 40)  # ~0.9 ms half sine
    for t0, height in [(0.1, 1.0), (0.4, 0.5), (0.41, 0.2), (0.7, 0.3)]:  # 0.41: a rebound
        force[int(t0 * SR) : int(t0 * SR) + 40] += height * pulse
    np.testing.assert_allclose(force_sensor_strikes(force, SR), [0.1, 0.4, 0.7], atol=2 / SR)
    np.testing.assert_allclose(force_sensor_strikes(-force, SR, min_gap_s=0.0), [0.1, 0.4, 0.41, 0.7], atol=2 / SR)


def test_match_times():
    precision, recall, errors = match_times([0.1, 0.205, 0.5], [0.1, 0.2, 0.3], tolerance_s=0.01)
    assert (precision, recall) == (2 / 3, 2 / 3)
    np.testing.assert_allclose(sorted(errors), [0.0, 0.005])


def test_segments_cover_each_impact_without_overlapping_the_next():
    x = np.zeros(3 * SR)
    impacts = [Impact(0.5, 0.9, -1.0), Impact(0.51, 0.9, -2.0), Impact(2.0, 0.8, 0.0)]
    segments = segment_impacts(x, SR, impacts, pre_s=0.02, max_len_s=1.0)
    bounds = [t for s in segments for t in (s.start_s, s.end_s)]
    assert bounds == pytest.approx([0.48, 0.51, 0.505, 1.505, 1.98, 2.98])
    assert segments[2].samples(SR) == slice(int(1.98 * SR), int(2.98 * SR))
    assert [s.impact for s in segments] == impacts


@pytest.mark.parametrize(
    "kwargs",
    [{"sensitivity": 1.5}, {"sensitivity": -0.1}, {"min_gap_s": 0.0}, {"hop_s": -1.0}, {"block_s": 0.0}],
)
def test_bad_options_raise(kwargs):
    with pytest.raises(WorkbenchError, match=next(iter(kwargs))):
        detect_impacts(np.zeros(100), SR, **kwargs)


def test_bad_audio_raises():
    with pytest.raises(WorkbenchError, match="audio"):
        detect_impacts(np.zeros((100, 2)), SR)
    with pytest.raises(WorkbenchError, match="sample_rate"):
        detect_impacts(np.zeros(100), 0)
    with pytest.raises(WorkbenchError, match="max_len_s"):
        segment_impacts(np.zeros(100), SR, [], pre_s=0.1, max_len_s=0.05)


@pytest.mark.parametrize("name", ["hammer_steel_multi.wav", "hammer_wood_multi.wav"])
def test_hammer_strikes_match_force_sensor(shared_data, name):
    recording, sr = sf.read(shared_data / "diffimpact" / name)
    truth = force_sensor_strikes(recording[:, 1], sr)
    found = [imp.time_s for imp in detect_impacts(recording[:, 0], sr)]
    precision, recall, errors = match_times(found, truth, tolerance_s=0.01)
    assert len(truth) >= 10
    assert precision >= 0.95 and recall >= 0.9, (precision, recall)
    assert np.median(np.abs(errors)) <= 1e-3


def test_robot_clips_have_one_strike_and_no_precontact_noise(shared_data):
    paths = sorted((shared_data / "diffimpact").glob("robot_*.wav"))
    assert paths
    for path in paths:
        audio, sr = sf.read(path)
        impacts = detect_impacts(audio, sr)
        assert len(impacts) == 1, (path.name, impacts)
        assert 0.54 <= impacts[0].time_s <= 0.67, (path.name, impacts)
