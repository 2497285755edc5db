"""Fits whose parameters are the object's: rings are modes, the noise is measured where
nothing rings, multi-strike clips read their modes from a clean ring, levels have headroom.

The real-recording test uses the bundled bell that starts at the strike (no quiet
lead-in): its modes must sit on the peaks where it rings.
"""

from __future__ import annotations

import numpy as np
import pytest

from workbench.analysis import estimate_modes, estimate_noise_bands
from workbench.analysis.background import noise_psd, noise_window
from workbench.analysis.rings import ring_recovery, ringing_peaks
from workbench.audio import load_audio
from workbench.data import BELL_AT_STRIKE
from workbench.fitting import fit
from workbench.fitting.params import NOISE_HEADROOM_DB
from workbench.presets import Preset, default_noise
from workbench.rendering import render

SR = 16000


def _ring(freqs, t60s, amps, *, sr=SR, n=SR, onset_s=0.2, noise=1e-4, seed=0):
    t = np.arange(n) / sr
    y = np.zeros(n)
    for f, t60, a in zip(freqs, t60s, amps):
        tt = t - onset_s
        y += np.where(tt >= 0, a * np.exp(-6.908 * tt / t60) * np.sin(2 * np.pi * f * tt), 0.0)
    return y + noise * np.random.default_rng(seed).standard_normal(n)


def test_ringing_peaks_are_decaying_peaks_above_the_background():
    y = _ring([440.0, 1200.0, 3000.0], [0.8, 0.4, 0.2], [1.0, 0.5, 0.3])
    t = np.arange(SR) / SR
    y += 0.2 * np.sin(2 * np.pi * 2000.0 * t)            # a steady tone: not a ring
    y += _ring([150.0], [0.8], [1.0], noise=0)           # below 250 Hz: not counted
    found = ringing_peaks(y, SR, onset_s=0.2)
    assert sorted(np.round(found).astype(int).tolist()) == [440, 1200, 3000]
    assert ring_recovery(found, np.array([441.0, 1190.0, 2500.0])).tolist().count(True) == 2


def test_noise_is_measured_where_nothing_rings():
    # Three strikes of a long-ringing mode, then the ring dies into noise of RMS 1e-3:
    # the part before the third strike is the second's ring, not background.
    sr, n = SR, 3 * SR
    y = sum(_ring([500.0], [0.6], [1.0], n=n, onset_s=s, noise=0.0) for s in (0.05, 0.4, 0.8))
    y = y + 1e-3 * np.random.default_rng(1).standard_normal(n)
    n_fft = noise_window(sr)
    psd = noise_psd(y, sr, n_fft)
    bins = np.fft.rfftfreq(n_fft, 1 / sr)
    at_mode = psd[np.argmin(np.abs(bins - 500.0))]
    assert 10 * np.log10(at_mode / 1e-6) < 6.0           # white noise of variance 1e-6 per bin


def test_a_later_strike_inside_the_window_does_not_comb_the_modes():
    sr, n = SR, 2 * SR
    y = sum(m * _ring([180.0, 700.0], [1.2, 0.9], [1.0, 0.6], n=n, onset_s=s, noise=0.0)
            for s, m in ((0.1, 1.0), (0.35, 0.8)))
    y = y + 1e-4 * np.random.default_rng(2).standard_normal(n)
    est = estimate_modes(y, sr, n_modes=4, onset_s=0.1, end_s=0.35)
    assert all(np.min(np.abs(est.freqs_hz / f - 1)) < 0.01 for f in (180.0, 700.0))
    assert len(est.freqs_hz) <= 3                          # no comb of 4 Hz-spaced false peaks


def test_strikes_share_modes_a_mode_only_the_short_contact_excites_is_kept():
    # Two strikes of one body: the first, short contact (0.05 ms) excites a 6 kHz mode;
    # the second, louder and ringing longer (so its ring is read first), has a 0.6 ms
    # contact that leaves that mode 90 dB down. The start must hold it, once.
    modes = [{"freq_hz": 310.0, "t60_s": 0.8, "gain_db": -12.0}, {"freq_hz": 870.0, "t60_s": 0.5, "gain_db": -15.0},
             {"freq_hz": 6000.0, "t60_s": 0.3, "gain_db": -20.0}]
    truth = Preset(name="two strikes", sample_rate=SR, duration_s=1.5, object={"modes": modes},
                   impacts=[{"time_s": 0.05, "contact_s": 5e-5, "magnitude": 0.3},
                            {"time_s": 0.35, "contact_s": 6e-4, "magnitude": 1.0}],
                   noise=default_noise(-110.0), acceleration=1e-7)
    start = fit((render(truth), SR), steps=0, n_modes=8, device="cpu").preset
    freqs = np.array([m.freq_hz for m in start.object.modes])
    for f in (310.0, 870.0, 6000.0):
        assert np.sum(np.abs(freqs / f - 1) < 0.01) == 1, (f, freqs)


@pytest.fixture(scope="module")
def bell_fit():
    audio, sr = load_audio(BELL_AT_STRIKE)
    return fit(str(BELL_AT_STRIKE), device="cpu"), audio.mean(axis=1) if audio.ndim == 2 else audio, sr


def test_a_clip_that_starts_at_the_strike_gets_its_modes_where_it_rings(bell_fit):
    result, audio, sr = bell_fit
    peaks = ringing_peaks(audio, sr)
    assert len(peaks) == 5
    modes = np.array([m.freq_hz for m in result.preset.object.modes])
    recovered = ring_recovery(peaks, modes)
    assert recovered.all(), f"rings without a mode within 1 %: {peaks[~recovered].round(1)} Hz"
    # ...and the loudest modes are rings, not noise high above them.
    loud = sorted(result.preset.object.modes, key=lambda m: -(10 ** (m.gain_db / 10) * m.t60_s))[:5]
    assert min(m.freq_hz for m in loud) < 4000.0


def test_background_noise_stays_under_the_quietest_stretch(bell_fit):
    # The bell rings all through the file; unbounded, the fit raised the noise 35-40 dB in
    # bands between its partials, where it then stood over the whole decay (0.26 distance).
    result, audio, sr = bell_fit
    preset = result.preset
    quiet = estimate_noise_bands(audio, sr, band_freqs_hz=np.array([b.freq_hz for b in preset.noise.bands]),
                                 onset_s=preset.impacts[0].time_s + preset.provenance.get("offset_s", 0.0))
    fitted = np.array([b.gain_db for b in preset.noise.bands]) - preset.provenance.get("level_gain_db", 0.0)
    assert np.all(fitted <= np.maximum(quiet, -160.0) + NOISE_HEADROOM_DB + 1e-3), (fitted.round(1), quiet.round(1))
    # The render's last half second is the ring's tail, as in the recording, not noise.
    y = render(preset, device="cpu")
    tail = slice(len(y) - sr // 2, len(y))
    clean = render(preset, device="cpu", parts="clean")
    assert np.sqrt(np.mean((y[tail] - clean[tail]) ** 2)) < 0.5 * np.sqrt(np.mean(clean[tail] ** 2))


def test_a_fitted_preset_has_headroom_and_its_damping_law(bell_fit):
    result, _, _ = bell_fit
    preset = result.preset
    y = render(preset, device="cpu")
    assert 20 * np.log10(np.max(np.abs(y))) <= -1.0 + 1e-6
    assert preset.provenance.get("level_gain_db", 0.0) <= 0.0
    law = preset.object.damping
    assert law is not None and law.n_modes >= 3 and law.law in ("power", "rayleigh")


def test_limit_peak_lowers_only_loud_presets_and_records_the_gain():
    from workbench.levels import limit_peak, peak_dbfs
    quiet = Preset(name="q", sample_rate=SR, duration_s=0.5, noise=default_noise(-90.0),
                   object={"modes": [{"freq_hz": 440, "t60_s": 0.5, "gain_db": -20}]},
                   impacts=[{"time_s": 0.01, "contact_s": 5e-4, "magnitude": 1}])
    assert limit_peak(quiet) is quiet
    loud = quiet.replace(impacts=[{"time_s": 0.01, "contact_s": 5e-4, "magnitude": 40}])
    limited = limit_peak(loud)
    assert -1.05 < peak_dbfs(limited) <= -1.0
    gain = limited.provenance["level_gain_db"]
    assert limited.impacts[0].magnitude == pytest.approx(40 * 10 ** (gain / 20), rel=1e-6)
    assert limited.noise.bands[0].gain_db == pytest.approx(-90.0 + gain, abs=1e-6)
