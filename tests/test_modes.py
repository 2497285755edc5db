"""Mode, noise-band and room-decay estimates on synthetic signals of known parameters."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.analysis import estimate_modes, estimate_noise_bands, estimate_room_decay
from workbench.errors import WorkbenchError

SR = 44100
FREQS = np.array([440.0, 1234.5, 3021.0])
T60 = np.array([1.2, 0.5, 0.25])
AMPS = np.array([0.5, 0.3, 0.2])
BANDS = np.geomspace(100.0, 12800.0, 8)


def modes(freqs, t60, amps, *, duration_s=2.0, sr=SR):
    """The renderer's convention: A exp(-6.908 t / T60) sin(2 pi f t), summed."""
    t = np.arange(int(duration_s * sr)) / sr
    return (amps[:, None] * np.exp(-6.908 * t / t60[:, None]) * np.sin(2 * np.pi * freqs[:, None] * t)).sum(0)


def with_noise(x, snr_db, *, seed=0):
    noise_rms = np.sqrt(np.mean(x**2)) * 10 ** (-snr_db / 20)
    return x + noise_rms * np.random.default_rng(seed).standard_normal(len(x)), noise_rms


def check_three_modes(estimate):
    assert len(estimate.freqs_hz) == 3
    order = np.argsort(estimate.freqs_hz)
    np.testing.assert_allclose(estimate.freqs_hz[order], FREQS, rtol=0.002)
    np.testing.assert_allclose(estimate.t60_s[order], T60, rtol=0.10)
    np.testing.assert_allclose(20 * np.log10(estimate.amplitudes[order] / AMPS), 0.0, atol=1.5)
    assert np.all(np.diff(estimate.amplitudes) <= 0)  # loudest first


def test_three_damped_sinusoids_at_30db_snr():
    x, _ = with_noise(modes(FREQS, T60, AMPS), 30.0)
    check_three_modes(estimate_modes(x, SR, n_modes=8, onset_s=0.0))  # asks for more than there are


def test_onset_found_after_background_noise():
    clean = modes(FREQS, T60, AMPS)
    x, noise_rms = with_noise(np.concatenate([np.zeros(int(0.3 * SR)), clean]), 30.0, seed=1)
    check_three_modes(estimate_modes(x, SR, n_modes=3))


def test_closely_spaced_modes_are_resolved():
    freqs, t60, amps = np.array([1000.0, 1006.0]), np.array([1.5, 1.0]), np.array([0.4, 0.3])
    x, _ = with_noise(modes(freqs, t60, amps), 40.0, seed=2)
    estimate = estimate_modes(x, SR, n_modes=4, onset_s=0.0)
    np.testing.assert_allclose(estimate.freqs_hz, freqs, rtol=0.002)
    np.testing.assert_allclose(estimate.amplitudes, amps, rtol=0.2)


def test_broad_neighbouring_modes_are_read_at_their_own_frequencies():
    # Short modes (T60 26-40 ms: peaks 55-85 Hz wide) a few widths apart: each long-FFT
    # maximum is pulled by its neighbours' skirts (0.4-0.9 % off before the joint
    # variable-projection refinement).
    freqs, t60, amps = np.array([480.0, 620.0, 1054.0, 1865.0]), np.array([0.040, 0.026, 0.033, 0.035]), \
        np.array([0.6, 1.0, 0.4, 0.3])
    x, _ = with_noise(modes(freqs, t60, amps, duration_s=0.6), 50.0)
    est = estimate_modes(x, SR, n_modes=8, onset_s=0.0)
    for f, t in zip(freqs, t60):
        k = int(np.argmin(np.abs(est.freqs_hz / f - 1)))
        assert abs(est.freqs_hz[k] / f - 1) < 0.002 and abs(est.t60_s[k] / t - 1) < 0.05, (f, est.freqs_hz[k], est.t60_s[k])


def test_frequency_limits_and_noise_only():
    x, _ = with_noise(modes(FREQS, T60, AMPS), 30.0, seed=3)
    estimate = estimate_modes(x, SR, n_modes=8, onset_s=0.0, min_freq_hz=1000.0, max_freq_hz=2000.0)
    np.testing.assert_allclose(estimate.freqs_hz, [1234.5], rtol=0.002)
    noise = 0.01 * np.random.default_rng(4).standard_normal(SR)
    assert len(estimate_modes(noise, SR, n_modes=8, onset_s=0.0).freqs_hz) == 0
    assert len(estimate_modes(np.zeros(SR), SR, n_modes=8).freqs_hz) == 0


@pytest.mark.parametrize("rms", [1e-3, 0.05])
def test_noise_bands_of_white_noise(rms):
    noise = rms * np.random.default_rng(5).standard_normal(SR)
    gains = estimate_noise_bands(noise, SR, band_freqs_hz=BANDS, onset_s=0.0)
    np.testing.assert_allclose(gains, 20 * np.log10(rms), atol=2.0)


def test_noise_bands_measured_before_the_onset():
    rms = 1e-3
    rng = np.random.default_rng(6)
    x = np.concatenate([np.zeros(SR // 2), modes(FREQS, T60, AMPS)]) + rms * rng.standard_normal(SR // 2 + 2 * SR)
    gains = estimate_noise_bands(x, SR, band_freqs_hz=BANDS)  # onset detected at 0.5 s
    np.testing.assert_allclose(gains, 20 * np.log10(rms), atol=2.0)


def test_room_decay_of_decaying_noise():
    rng = np.random.default_rng(7)
    t = np.arange(2 * SR) / SR
    x = np.exp(-6.908 * t / 0.4) * rng.standard_normal(len(t)) + 1e-5 * rng.standard_normal(len(t))
    t60 = estimate_room_decay(x, SR, band_freqs_hz=BANDS, onset_s=0.0)
    np.testing.assert_allclose(t60, 0.4, rtol=0.2)


def test_bad_arguments_raise():
    x = np.zeros(SR)
    with pytest.raises(WorkbenchError, match="n_modes"):
        estimate_modes(x, SR, n_modes=0)
    with pytest.raises(WorkbenchError, match="max_freq_hz"):
        estimate_modes(x, SR, n_modes=4, max_freq_hz=SR)
    with pytest.raises(WorkbenchError, match="onset_s"):
        estimate_modes(x, SR, n_modes=4, onset_s=2.0)
    with pytest.raises(WorkbenchError, match="band_freqs_hz"):
        estimate_noise_bands(x, SR, band_freqs_hz=np.array([100.0, 50.0]), onset_s=0.0)


def test_contact_duration_from_mode_rolloff():
    from workbench.analysis import estimate_contact_s

    rng = np.random.default_rng(4)
    freqs = np.sort(rng.uniform(200, 6000, 40))
    tau = 5e-4
    amps = np.exp(-(np.pi * tau * freqs) ** 2 / 6) * rng.uniform(0.5, 1.0, freqs.size)
    assert estimate_contact_s(freqs, amps) == pytest.approx(tau, rel=0.15)
    assert estimate_contact_s(freqs, np.ones_like(freqs)) == 5e-5      # no roll-off: shortest
