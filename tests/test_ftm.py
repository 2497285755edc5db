"""The FTM rectangular drum (`workbench.functional.ftm`): physics measured on its renders,
the paper's formulas, the ν scaling, and derivatives in both modes against finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.func import jacfwd, jvp

from workbench.errors import WorkbenchError
from workbench.functional.ftm import (FTM_SPECS, ftm_modes, nu_to_theta, render_ftm, sample_theta,
                                      theta_to_nu)
from workbench.functional.modal import modal_ir

SR = 22050


def theta(f0_hz=200.0, tau_s=0.3, p=1e-5, d=1e-5, alpha=0.7):
    return torch.tensor([2 * math.pi * f0_hz, tau_s, p, d, alpha], dtype=torch.float64)


def peak_hz(y: np.ndarray, sr: float, lo: float, hi: float, pad: int = 8) -> float:
    """Frequency of the largest spectral peak in [lo, hi] Hz (Hann, zero-padded, parabolic)."""
    n = len(y) * pad
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y)), n))
    freqs = np.fft.rfftfreq(n, 1 / sr)
    band = np.flatnonzero((freqs >= lo) & (freqs <= hi))
    i = band[np.argmax(spec[band])]
    a, b, c = np.log(spec[i - 1:i + 2])
    return float(freqs[i] + 0.5 * (a - c) / (a - 2 * b + c) * sr / n)


def reference_modes(th: np.ndarray, m: int = 10, x=(0.4, 0.4)):
    """The paper's formulas as written in reference_implementations.md §8 (numpy, float64)."""
    omega, tau, p, d, alpha = th
    l0 = math.pi
    beta, l2 = alpha + 1 / alpha, l0 * alpha
    s = (l0 / math.pi) * ((d * omega * alpha) ** 2 + (p * alpha / tau) ** 2) ** 0.25
    ei = s ** 4
    t = (l0 / math.pi) ** 2 * (alpha * (1 / beta - p ** 2 * beta) / tau ** 2
                               + alpha * omega ** 2 * (1 / beta - d ** 2 * beta))
    d1 = 2 * (1 - p * beta) / tau
    d3 = -2 * p * alpha / tau * (l0 / math.pi) ** 2
    mu1, mu2 = np.repeat(np.arange(1, m + 1), m), np.tile(np.arange(1, m + 1), m)
    n = (mu1 * math.pi / l0) ** 2 + (mu2 * math.pi / l2) ** 2
    sigma = (d1 - d3 * n) / 2
    big_omega = np.sqrt(np.abs(ei * n ** 2 + t * n - sigma ** 2))
    k = np.sin(mu1 * math.pi * x[0]) * np.sin(mu2 * math.pi * x[1])
    amp = 0.03 * k ** 2 / (big_omega * l0 * l2 / 4)
    return big_omega / (2 * math.pi), 6.907755 / sigma, amp


def test_modes_follow_the_papers_formulas():
    for th in sample_theta(20, generator=torch.Generator().manual_seed(3)):
        f, t60, g, _ = ftm_modes(th, sample_rate=1e9)
        rf, rt, ra = reference_modes(th.numpy())
        np.testing.assert_allclose(f.numpy(), rf, rtol=1e-9)
        np.testing.assert_allclose(t60.numpy(), rt, rtol=1e-6)
        loud = ra > 1e-8 * ra.max()                           # nodal modes sit at the dB floor
        np.testing.assert_allclose(g.numpy()[loud], 20 * np.log10(ra[loud]), atol=1e-6)


@pytest.mark.parametrize("th", [theta(), theta(f0_hz=80.0, p=0.1, d=0.2, alpha=0.3),
                                theta(f0_hz=600.0, tau_s=0.1, d=0.3, alpha=1.0)])
def test_fundamental_rings_at_omega(th):
    """Whatever p, D and alpha are, the lowest peak of the sound is at omega / 2 pi."""
    y = render_ftm(th, sample_rate=SR, n_samples=1 << 15).numpy()
    f0 = th[0].item() / (2 * math.pi)
    assert peak_hz(y, SR, 0.5 * f0, 1.05 * f0) == pytest.approx(f0, abs=0.3)
    assert ftm_modes(th, sample_rate=SR)[0][0].item() == pytest.approx(f0, rel=1e-12)


@pytest.mark.parametrize("tau_s", [0.07, 0.3, 0.8])
def test_fundamental_falls_60_db_at_its_t60(tau_s):
    """The (1, 1) mode alone (one mode per axis), measured over one period at a time."""
    th = theta(f0_hz=SR / 40, tau_s=tau_s, p=0.05)            # 40 samples a period
    t60 = ftm_modes(th, sample_rate=SR)[1][0].item()
    assert t60 == pytest.approx(6.907755 * tau_s, rel=1e-6)
    y = render_ftm(th, sample_rate=SR, n_samples=int(1.2 * t60 * SR), n_modes_per_axis=1).numpy()

    def level_db(time_s):
        i = round(time_s * SR)
        return 10 * np.log10(np.mean(y[i - 20:i + 20] ** 2))

    t_ref = 0.05 * t60
    assert level_db(t60) - level_db(t_ref) - 60 * t_ref / t60 == pytest.approx(-60.0, abs=1.0)


def band_decay_t60(y: np.ndarray, f_hz: float, *, sr=SR, n_fft=4096, hop=512, drop_db=30.0) -> float:
    """T60 of the spectrogram's bin at f_hz, from a line fit over its first ``drop_db`` dB of decay."""
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop] * np.hanning(n_fft)
    level = 20 * np.log10(np.abs(np.fft.rfft(frames, axis=1))[:, round(f_hz * n_fft / sr)] + 1e-300)
    keep = level > level[0] - drop_db
    times = np.arange(len(level)) * hop / sr
    slope = np.polyfit(times[keep], level[keep], 1)[0]
    return -60.0 / slope


def test_higher_modes_decay_faster_when_p_is_positive():
    """sigma = (1 + p (alpha n - beta)) / tau: measured on the render, per mode."""
    for p in (1e-5, 0.15):
        th = theta(f0_hz=200.0, tau_s=0.5, p=p, d=1e-5, alpha=1.0)   # (1,1) 200 Hz, (1,2)=(2,1) 316 Hz, (2,2) 400 Hz
        f, t60, _, _ = ftm_modes(th, sample_rate=SR, n_modes_per_axis=2)
        y = render_ftm(th, sample_rate=SR, n_samples=2 * SR, n_modes_per_axis=2).numpy()
        measured = [band_decay_t60(y, f[k].item()) for k in (0, 1, 3)]
        np.testing.assert_allclose(measured, t60[[0, 1, 3]].numpy(), rtol=0.05)
        if p > 1e-3:
            assert measured[0] > 1.2 * measured[1] > 1.2 ** 2 * measured[2]
        else:
            assert measured[2] == pytest.approx(measured[0], rel=0.05)


def test_dispersion_stretches_the_partials():
    """D moves the (2, 1)/(1, 1) frequency ratio from the membrane's sqrt(r) up, as the formula says."""
    alpha, f0 = 0.5, 150.0
    r = (alpha ** 2 * 4 + 1) / (1 + alpha ** 2)              # (2, 1): alpha n / beta
    beta, e = alpha + 1 / alpha, alpha * 3
    ratios = []
    for d in (1e-5, 0.3):
        th = theta(f0_hz=f0, tau_s=0.5, p=1e-5, d=d, alpha=alpha)
        y = render_ftm(th, sample_rate=SR, n_samples=1 << 15, n_modes_per_axis=2).numpy()
        f21 = ftm_modes(th, sample_rate=SR, n_modes_per_axis=2)[0][2].item()
        ratios.append(peak_hz(y, SR, 0.97 * f21, 1.03 * f21) / peak_hz(y, SR, 0.9 * f0, 1.05 * f0))
        assert ratios[-1] == pytest.approx(math.sqrt(r * (1 + d ** 2 * beta * e)), rel=2e-3)
    assert ratios[1] > 1.1 * ratios[0]


@pytest.mark.parametrize("alpha", [0.3, 0.6, 1.0])
def test_aspect_ratio_sets_the_mode_ratios(alpha):
    """With p, D ~ 0, (1, 2)/(1, 1) = sqrt((alpha^2 + 4) / (alpha^2 + 1)): measured."""
    f0 = 120.0
    th = theta(f0_hz=f0, tau_s=0.6, alpha=alpha)
    y = render_ftm(th, sample_rate=SR, n_samples=1 << 15, n_modes_per_axis=2, strike=(0.3, 0.3),
                   pickup=(0.3, 0.3)).numpy()
    want = math.sqrt((alpha ** 2 + 4) / (alpha ** 2 + 1))
    got = peak_hz(y, SR, 0.98 * want * f0, 1.02 * want * f0) / peak_hz(y, SR, 0.9 * f0, 1.05 * f0)
    assert got == pytest.approx(want, rel=2e-3)


def test_nothing_renders_above_nyquist():
    """At 8 kHz the modes above 4 kHz are gone, not aliased: its spectrum is the 44.1 kHz one below 3.8 kHz."""
    th = theta(f0_hz=500.0, tau_s=0.3, p=1e-3, d=1e-2, alpha=0.8)
    seconds = 1.0
    spectra = {}
    for sr in (8000, 44100):
        f, _, _, audible = ftm_modes(th, sample_rate=sr)
        assert torch.equal(audible, f < sr / 2)
        y = render_ftm(th, sample_rate=sr, n_samples=int(seconds * sr), normalize=False).numpy()
        spec = np.abs(np.fft.rfft(y * np.hanning(len(y)))) / sr      # same bins: 1 Hz apart
        spectra[sr] = spec[:3800]
    assert 20 < int(audible.sum()) and int(ftm_modes(th, sample_rate=8000)[3].sum()) < int(audible.sum())
    err = np.linalg.norm(spectra[8000] - spectra[44100]) / np.linalg.norm(spectra[44100])
    assert err < 0.01


def test_batched_renders_are_the_single_renders():
    th = sample_theta(6, generator=torch.Generator().manual_seed(5)).reshape(2, 3, 5)
    y = render_ftm(th, sample_rate=16000, n_samples=2000)
    assert y.shape == (2, 3, 2000)
    torch.testing.assert_close(y[1, 2], render_ftm(th[1, 2], sample_rate=16000, n_samples=2000))
    assert torch.allclose(y.abs().amax(-1), torch.ones(2, 3, dtype=torch.float64))


def test_strike_and_pickup_apart_keep_each_modes_sign():
    th = theta(f0_hz=300.0, p=1e-3, d=1e-3)
    kw = {"sample_rate": 16000, "n_samples": 3000, "normalize": False}
    y = render_ftm(th, strike=(0.3, 0.7), pickup=(0.6, 0.2), **kw)
    mu = torch.arange(1, 11, dtype=torch.float64)
    mu1, mu2 = mu.repeat_interleave(10), mu.repeat(10)
    k = lambda x: torch.sin(mu1 * math.pi * x[0]) * torch.sin(mu2 * math.pi * x[1])  # noqa: E731
    f, t60, _, _ = ftm_modes(th, sample_rate=16000, strike=(0.3, 0.7), pickup=(0.3, 0.7))
    sign = torch.sign(k((0.3, 0.7)) * k((0.6, 0.2)))
    g = ftm_modes(th, sample_rate=16000, strike=(0.3, 0.7), pickup=(0.6, 0.2))[2]
    ref = sum(s * modal_ir(f[None, i:i + 1], t60[None, i:i + 1], g[None, i:i + 1], n_samples=3000, sample_rate=16000)
              for i, s in enumerate(sign.tolist()) if s != 0)[0]
    torch.testing.assert_close(y, ref)


def test_nu_round_trip_and_sampler():
    th = sample_theta(1000, generator=torch.Generator().manual_seed(0))
    nu = theta_to_nu(th)
    assert nu.min() >= -1 and nu.max() <= 1
    assert nu.min(0).values.max() < -0.99 and nu.max(0).values.min() > 0.99     # fills the box
    torch.testing.assert_close(nu_to_theta(nu), th, rtol=1e-12, atol=0)
    torch.testing.assert_close(sample_theta(3, generator=torch.Generator().manual_seed(7)),
                               sample_theta(3, generator=torch.Generator().manual_seed(7)))
    lo = torch.tensor([s.minimum for s in FTM_SPECS], dtype=torch.float64)
    hi = torch.tensor([s.maximum for s in FTM_SPECS], dtype=torch.float64)
    torch.testing.assert_close(theta_to_nu(lo), -torch.ones(5, dtype=torch.float64))
    torch.testing.assert_close(theta_to_nu(hi), torch.ones(5, dtype=torch.float64))
    # the paper's ranges: log10 omega in [2.4, 3.8], tau in [0.07, 0.8], log10 p in [-5, -0.7], log10 D in [-5, -0.5]
    np.testing.assert_allclose(np.log10(lo[[0, 2, 3]].numpy()), [2.4, -5, -5])
    np.testing.assert_allclose(np.log10(hi[[0, 2, 3]].numpy()), [3.8, -0.7, -0.5])


def test_bad_arguments_raise():
    th = theta()
    with pytest.raises(WorkbenchError, match="theta"):
        ftm_modes(th[:4], sample_rate=SR)
    with pytest.raises(WorkbenchError, match="strike"):
        ftm_modes(th, sample_rate=SR, strike=(0.0, 0.5))
    with pytest.raises(WorkbenchError, match="n_samples"):
        render_ftm(th, sample_rate=SR, n_samples=0)
    with pytest.raises(WorkbenchError, match="sample_rate"):
        render_ftm(th, sample_rate=-1, n_samples=10)
    with pytest.raises(WorkbenchError, match="n_modes_per_axis"):
        ftm_modes(th, sample_rate=SR, n_modes_per_axis=0)
    with pytest.raises(WorkbenchError, match="n"):
        sample_theta(-1)


def _render_nu(nu, **kw):
    return render_ftm(nu_to_theta(nu), sample_rate=16000, n_samples=4096, **kw)


@pytest.mark.parametrize("place", [{}, {"strike": (0.3, 0.7), "pickup": (0.6, 0.2)}])
def test_derivatives_match_central_differences(place):
    """d render / d nu in float64: reverse mode, torch.func.jvp and jacfwd against central differences."""
    gen = torch.Generator().manual_seed(11)
    nu = theta_to_nu(sample_theta(2, generator=gen))[1]
    eps = 1e-6
    fd = torch.stack([(_render_nu(nu + eps * e, **place) - _render_nu(nu - eps * e, **place)) / (2 * eps)
                      for e in torch.eye(5, dtype=torch.float64)], dim=-1)          # (n_samples, 5)
    scale = fd.abs().amax(0)
    jac = jacfwd(lambda v: _render_nu(v, **place))(nu)
    assert ((jac - fd).abs().amax(0) / scale).max() < 1e-5
    direction = torch.randn(5, generator=gen, dtype=torch.float64)
    _, tangent = jvp(lambda v: _render_nu(v, **place), (nu,), (direction,))
    assert ((tangent - fd @ direction).abs().max() / (fd @ direction).abs().max()) < 1e-5
    weights = torch.randn(4096, generator=gen, dtype=torch.float64)
    leaf = nu.clone().requires_grad_()
    (_render_nu(leaf, **place) @ weights).backward()
    torch.testing.assert_close(leaf.grad, weights @ fd, rtol=1e-5, atol=1e-8 * float((weights @ fd).abs().max()))


def test_forward_mode_through_ftm_modes():
    th = theta(p=1e-2, d=1e-2)
    jac = jacfwd(lambda x: torch.stack(ftm_modes(x, sample_rate=SR)[:3]))(th)
    assert jac.shape == (3, 100, 5) and torch.isfinite(jac).all()
    # d f(1,1) / d omega = 1 / 2 pi, and nothing else moves the fundamental
    torch.testing.assert_close(jac[0, 0], torch.tensor([1 / (2 * math.pi), 0, 0, 0, 0], dtype=torch.float64))


def test_modal_bank_forward_mode_both_apis():
    """`modal_ir`'s jvp rule (plain forward AD and torch.func), a mode above Nyquist included, vs differences."""
    import torch.autograd.forward_ad as fwad

    gen = torch.Generator().manual_seed(2)
    f = torch.tensor([[180.0, 2500.0, 9000.0], [60.0, 7000.0, 3000.0]], dtype=torch.float64)   # 9 kHz: silent
    t = torch.rand(2, 3, generator=gen, dtype=torch.float64) + 0.05
    g = torch.randn(2, 3, generator=gen, dtype=torch.float64) * 6
    tangents = [torch.randn(2, 3, generator=gen, dtype=torch.float64) for _ in range(3)]
    bank = lambda f, t, g: modal_ir(f, t, g, n_samples=3000, sample_rate=16000, scale=0.5)  # noqa: E731
    eps = 1e-6
    fd = (bank(*(x + eps * d for x, d in zip((f, t, g), tangents, strict=True)))
          - bank(*(x - eps * d for x, d in zip((f, t, g), tangents, strict=True)))) / (2 * eps)
    _, tangent = jvp(bank, (f, t, g), tuple(tangents))
    torch.testing.assert_close(tangent, fd, rtol=0, atol=1e-6 * float(fd.abs().max()))
    with fwad.dual_level():
        out = bank(fwad.make_dual(f, tangents[0]), t, fwad.make_dual(g, tangents[2]))    # t60 held
        only = fwad.unpack_dual(out).tangent
    _, want = jvp(lambda f, g: bank(f, t, g), (f, g), (tangents[0], tangents[2]))
    torch.testing.assert_close(only, want)
