"""Physics of the renderer: modes, contact, Nyquist, causality, batching, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from workbench import specs
from workbench.functional.contact import contact_force
from workbench.functional.modal import modal_ir
from workbench.functional.noise import filtered_noise
from workbench.functional.reverb import reverb_ir
from workbench.functional.scaling import to_physical, to_unconstrained
from workbench.controls import controls_from_presets
from workbench.presets import load_preset
from workbench.synth import ImpactSynth, Parts

SR = 44100


def one_mode(freq, t60, *, n, sr=SR, gain_db=0.0, dtype=torch.float32):
    t = lambda v: torch.tensor([[v]], dtype=dtype)  # noqa: E731
    return modal_ir(t(freq), t(t60), t(gain_db), n_samples=n, sample_rate=sr)[0].double().numpy()


@pytest.mark.parametrize("freq", [97.0, 1000.0, 7321.5, 19000.0])
def test_mode_rings_at_its_frequency(freq):
    n = 1 << 15
    h = one_mode(freq, 2.0, n=n)
    spectrum = np.abs(np.fft.rfft(h * np.hanning(n)))
    peak_hz = np.argmax(spectrum) * SR / n
    assert abs(peak_hz - freq) <= SR / n   # within one bin


@pytest.mark.parametrize("t60", [0.01, 0.3, 2.5])
def test_mode_has_fallen_60_db_at_its_t60(t60):
    freq = SR / 36                                  # exactly 36 samples a period
    n = int(SR * t60 * 1.2) + 100
    h = one_mode(freq, t60, n=n)

    def level_db(time_s):                           # RMS over one period centred at time_s
        i = int(round(time_s * SR))
        return 10 * np.log10(np.mean(h[i - 18:i + 18] ** 2))

    t_ref = max(0.05 * t60, 40 / SR)
    fallen = level_db(t60) - level_db(t_ref) - 60 * t_ref / t60
    assert fallen == pytest.approx(-60.0, abs=60 * 0.05)
    times = np.linspace(t_ref, t60, 20)
    slope = np.polyfit(times, [level_db(x) for x in times], 1)[0]
    assert -60.0 / slope == pytest.approx(t60, rel=0.05)


def test_mode_matches_closed_form_float64():
    n = 5000
    h = one_mode(3000.0, 0.2, n=n, gain_db=-6.0, dtype=torch.float64)
    t = np.arange(n) / SR
    ref = 10 ** (-6 / 20) * np.exp(-specs.T60_DECAY * t / 0.2) * np.sin(2 * np.pi * 3000.0 * t)
    np.testing.assert_allclose(h, ref, atol=1e-12)


@pytest.mark.parametrize("sr", [16000, 44100, 96000])
def test_modes_at_or_above_nyquist_are_silent(sr):
    h = one_mode(sr / 2, 1.0, n=4096, sr=sr)
    assert np.max(np.abs(h)) == 0.0
    h = one_mode(sr / 2 * 1.2, 1.0, n=4096, sr=sr)
    assert np.max(np.abs(h)) == 0.0
    assert np.max(np.abs(one_mode(sr / 2 * 0.9, 1.0, n=4096, sr=sr))) > 0.5


def test_long_sound_float32_accuracy():
    """8 s, modes up to 20 kHz: float32 within -60 dB of a float64 reference (phase kept)."""
    rng = np.random.default_rng(0)
    k, n = 64, 8 * SR
    f = torch.tensor(rng.uniform(50, 20000, (1, k)))
    t = torch.tensor(rng.uniform(0.5, 8.0, (1, k)))
    g = torch.tensor(rng.uniform(-40, 0, (1, k)))
    h32 = modal_ir(f.float(), t.float(), g.float(), n_samples=n, sample_rate=SR)[0].double()
    h64 = modal_ir(f, t, g, n_samples=n, sample_rate=SR)[0]
    err_db = 20 * math.log10(float((h32 - h64).abs().max() / h64.abs().max()))
    assert err_db < -60


def test_contact_pulse_width_onset_and_impulse():
    t0, tau = 0.01, 1e-3
    f = contact_force(torch.tensor([[t0]], dtype=torch.float64), torch.tensor([[tau]], dtype=torch.float64),
                      torch.tensor([[2.0]], dtype=torch.float64), n_samples=2000, sample_rate=SR)[0].numpy()
    t = np.arange(2000) / SR
    assert f.sum() / SR == pytest.approx(2.0, rel=1e-9)          # integrates to its impulse
    assert t[np.argmax(f)] == pytest.approx(t0 + tau / 2, abs=1.5 / SR)   # peak at t_i + tau/2
    above_half = t[f >= f.max() / 2]
    fwhm = above_half[-1] - above_half[0]
    assert fwhm == pytest.approx(tau * math.sqrt(math.log(2) / 6) * 2, abs=2 / SR)
    assert np.all(f[t < t0 - tau] == 0.0)                        # causal support
    assert f[np.searchsorted(t, t0)] / f.max() == pytest.approx(math.exp(-1.5), rel=0.1)


def test_render_is_causal(demo_preset_path):
    preset = load_preset(demo_preset_path)
    onset = preset.impacts[0].time_s
    synth = ImpactSynth(sample_rate=SR, n_samples=SR)
    y = synth(controls_from_presets([preset]), Parts.named("clean"))[0].numpy()
    tau = preset.impacts[0].contact_s
    before = y[: int((onset - tau) * SR) - 1]
    assert np.max(np.abs(before)) < 1e-6 * np.max(np.abs(y))
    assert np.max(np.abs(y)) > 0.05


def test_batched_equals_looped(demo_preset_path):
    base = load_preset(demo_preset_path)
    variants = [base,
                base.replace(impacts=[{"time_s": 0.2, "contact_s": 2e-4, "magnitude": 0.3},
                                      {"time_s": 0.5, "contact_s": 1e-3, "magnitude": 0.1}]),
                base.replace(object={"modes": [{"freq_hz": 300.0, "t60_s": 0.2, "gain_db": -3.0}]},
                             tool={"modes": [{"freq_hz": 5000.0, "t60_s": 0.05, "gain_db": -20.0}]})]
    synth = ImpactSynth(sample_rate=SR, n_samples=SR // 2)
    with torch.no_grad():
        batched = synth(controls_from_presets(variants))
        looped = torch.cat([synth(controls_from_presets([v])) for v in variants])
    np.testing.assert_allclose(batched.numpy(), looped.numpy(), atol=2e-5 * float(looped.abs().max()))


def test_parts_separate_sources(demo_preset_path):
    base = load_preset(demo_preset_path).replace(
        tool={"modes": [{"freq_hz": 6000.0, "t60_s": 0.05, "gain_db": -10.0}]})
    synth = ImpactSynth(sample_rate=SR, n_samples=SR // 2)
    c = controls_from_presets([base])
    with torch.no_grad():
        obj, tool = synth(c, Parts.named("object")), synth(c, Parts.named("tool"))
        both = synth(c, Parts(acceleration=False, noise=False, reverb=False))
    np.testing.assert_allclose((obj + tool).numpy(), both.numpy(), atol=1e-5)
    assert float(tool.abs().max()) > 0 and float(obj.abs().max()) > 0


def test_noise_level_follows_band_gains():
    freqs = specs.NOISE_BAND_FREQS_HZ
    y = filtered_noise(freqs, torch.full((1, len(freqs)), -20.0), n_samples=SR, sample_rate=SR)[0]
    assert 20 * math.log10(float(y.pow(2).mean().sqrt())) == pytest.approx(-20.0, abs=0.3)


def test_reverb_ir_decays_at_band_t60():
    freqs = (500.0, 4000.0)
    ir = reverb_ir(freqs, torch.tensor([[0.0, -200.0]], dtype=torch.float64),
                   torch.tensor([[0.5, 0.5]], dtype=torch.float64), n_samples=SR, sample_rate=SR)[0].numpy()
    assert ir[0] == 0.0
    frames = ir[: SR // 2 * 2].reshape(-1, 2205)   # 50 ms frames
    level = 10 * np.log10(np.mean(frames ** 2, axis=1))
    t = (np.arange(len(level)) + 0.5) * 0.05
    slope = np.polyfit(t[:8], level[:8], 1)[0]
    assert -60.0 / slope == pytest.approx(0.5, rel=0.15)


def test_scaling_round_trip():
    for spec in (specs.FREQ_HZ, specs.T60_S, specs.GAIN_DB, specs.CONTACT_S, specs.ACCELERATION):
        values = torch.tensor(spec.sample(np.random.default_rng(1), 50), dtype=torch.float64)
        back = to_physical(to_unconstrained(values, spec), spec)
        torch.testing.assert_close(back, values, rtol=1e-6, atol=1e-9)
        lo, hi = values.min() * 0.9 if spec.scale == "log" else values.min() - 1, values.max()
        u = torch.linspace(-30, 30, 101, dtype=torch.float64, requires_grad=True)
        x = to_physical(u, spec, low=lo, high=hi)
        tol = 1e-9 * max(abs(float(lo)), abs(float(hi)))
        assert torch.all(x >= lo - tol) and torch.all(x <= hi + tol)
        x.sum().backward()
        assert torch.all(torch.isfinite(u.grad))


def test_gradcheck_full_chain():
    torch.manual_seed(0)
    sr, n = 8000, 256
    synth = ImpactSynth(sample_rate=sr, n_samples=n)
    d = dict(dtype=torch.float64)
    freqs = torch.tensor([[440.0, 1250.0]], **d, requires_grad=True)
    t60 = torch.tensor([[0.02, 0.01]], **d, requires_grad=True)
    gains = torch.tensor([[-3.0, -6.0]], **d, requires_grad=True)
    times = torch.tensor([[0.00413]], **d, requires_grad=True)
    contacts = torch.tensor([[1e-3]], **d, requires_grad=True)
    mags = torch.tensor([[0.8]], **d, requires_grad=True)
    acc = torch.tensor([1e-4], **d, requires_grad=True)
    noise = torch.tensor([[-40.0, -50.0]], **d, requires_grad=True)
    rev_g = torch.tensor([[-10.0, -20.0]], **d, requires_grad=True)
    rev_t = torch.tensor([[0.02, 0.015]], **d, requires_grad=True)
    from workbench.synth import ImpactControls

    def f(freqs, t60, gains, times, contacts, mags, acc, noise, rev_g, rev_t):
        c = ImpactControls(freqs, t60, gains, times, contacts, mags, acc, (300.0, 2000.0), noise,
                           (300.0, 2000.0), rev_g, rev_t)
        return synth(c)

    assert torch.autograd.gradcheck(f, (freqs, t60, gains, times, contacts, mags, acc, noise, rev_g, rev_t),
                                    eps=1e-6, atol=1e-5, rtol=1e-3)


def test_reverb_ir_matches_the_direct_sum():
    """The factorised envelopes equal sum_b g_b exp(-6.9 t / T60_b) n_b(t) / sqrt(sr)."""
    from workbench.functional.bands import band_weights, white_spectrum
    freqs, n, sr = specs.REVERB_BAND_FREQS_HZ, 10007, 16000
    gen = torch.Generator().manual_seed(3)
    gains = torch.rand(2, len(freqs), dtype=torch.float64, generator=gen) * 20 - 30
    t60 = torch.rand(2, len(freqs), dtype=torch.float64, generator=gen) + 0.02
    ir = reverb_ir(freqs, gains, t60, n_samples=n, sample_rate=sr, seed=5)
    bands = torch.fft.irfft(band_weights(freqs, n_fft=n, sample_rate=sr, dtype=torch.float64)
                            * white_spectrum(n, seed=5, dtype=torch.complex128), n)
    t = torch.arange(n, dtype=torch.float64) / sr
    ref = (10 ** (gains / 20)[..., None] * torch.exp(-specs.T60_DECAY * t / t60[..., None]) * bands).sum(1)
    ref = ref / math.sqrt(sr)
    ref[:, 0] = 0.0
    torch.testing.assert_close(ir, ref, rtol=0, atol=1e-12 * float(ref.abs().max()))
