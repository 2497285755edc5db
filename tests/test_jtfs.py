"""Joint time-frequency scattering (`workbench.jtfs`) tested as a transform."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from kymatio.scattering1d.filter_bank import scattering_filter_factory

from workbench.errors import WorkbenchError
from workbench.jtfs import JTFS, jtfs_distance
from workbench.losses import JTFSDistance

N, SR = 2 ** 13, 8000
T = torch.arange(N, dtype=torch.float64) / SR


@pytest.fixture(scope="module")
def jtfs():
    return JTFS(N, J=9, Q=(12, 1)).double()


def modal(freqs=(310.0, 820.0, 1530.0, 2400.0), t60s=(0.5, 0.35, 0.25, 0.2), *, warp=1.0, transpose=1.0,
          onset=0.05):
    """A struck-object sound: decaying partials after ``onset`` s; ``warp`` dilates time (x((1+e) t)),
    ``transpose`` scales the frequencies only."""
    t = (T - onset) * warp
    y = sum(torch.exp(-6.9 * t / t60) * torch.sin(2 * math.pi * f * transpose * t) for f, t60 in zip(freqs, t60s))
    return torch.where(t >= 0, y, torch.zeros_like(y))[None]


def rel(a, b):
    return float((a - b).norm() / b.norm())


def test_shapes_path_order_and_errors(jtfs):
    x = torch.randn(3, N, dtype=torch.float64)
    s = jtfs(x)
    assert s.shape == (3, jtfs.n_paths) == (3, len(jtfs.path_meta))
    assert bool((s >= 0).all()) and jtfs.features(x).shape == s.shape
    kinds = [k for k, *_ in jtfs.path_meta]
    order = ["S0", "S1", "phi_t * phi_f", "phi_t * psi_f", "psi_t * phi_f", "psi_t * psi_f_up", "psi_t * psi_f_dn"]
    assert [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k] == order
    assert kinds.count("S1") == jtfs.n1 and kinds.count("psi_t * psi_f_up") == kinds.count("psi_t * psi_f_dn") > 0
    assert JTFS(N, J=9, Q=(12, 1))(x.float()).dtype == torch.float32
    assert torch.allclose(s[1:2], jtfs(x[1]), rtol=1e-12, atol=0)  # items are independent
    silence = torch.zeros(1, N, dtype=torch.float64, requires_grad=True)
    jtfs.features(silence).sum().backward()
    assert torch.isfinite(silence.grad).all()
    for bad in ({"T": 2 ** 9}, {"Q": (0, 1)}, {"J": 0}, {"F": 0}):
        with pytest.raises(WorkbenchError):
            JTFS(N, **bad)
    with pytest.raises(WorkbenchError, match="x"):
        jtfs(torch.randn(1, N - 1))


def test_first_order_matches_kymatio_scattering1d(jtfs):
    from kymatio.scattering1d.frontend.torch_frontend import ScatteringTorch1D

    env = torch.exp(-0.5 * ((T - T[-1] / 2) / 0.1) ** 2)  # compact: kymatio's reflect padding is moot
    x = env * (torch.sin(2 * math.pi * 400 * T) + torch.sin(2 * math.pi * 1700 * T) + 0.3 * torch.randn(N).double())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scattering = ScatteringTorch1D(J=9, shape=N, Q=(12, 1), T=2 ** 9, max_order=1)
        out = scattering(x[None].float())[0]
        meta = scattering.meta()
    first = torch.as_tensor(meta["order"] == 1)
    assert np.allclose(np.asarray(meta["xi"])[first.numpy(), 0], jtfs.xi1)
    # kymatio 0.3 scales a path subsampled by 2^j1 by 2^-j1; the mean over frames is the global average
    j1 = torch.as_tensor(np.asarray(meta["j"])[first.numpy(), 0]).double()
    theirs = out[first].double().mean(-1) * 2 ** j1
    ours = jtfs(x[None])[0, 1:1 + jtfs.n1]
    assert rel(ours, theirs) < 2e-3


def test_fast_paths_match_a_full_rate_reference():
    """Subsampled first-order rows and cropped second-order bands vs the same JTFS at full rate."""
    n, J, Q = 2 ** 11, 7, (8, 1)
    m = JTFS(n, J=J, Q=Q).double()
    x = torch.randn(1, n, dtype=torch.float64) * torch.hann_window(n, dtype=torch.float64)
    size = m.n_pad
    _, psi1, psi2 = scattering_filter_factory(size, J, Q, 2 ** J)
    spec = torch.fft.fft(torch.nn.functional.pad(x, (0, size - n)))
    u1 = torch.fft.ifft(spec * torch.as_tensor(np.stack([p["levels"][0] for p in psi1])), dim=-1).abs()  # (n1, size)
    got = m(x)[0]
    assert rel(got[1:1 + m.n1], u1.sum(-1) / n) < 1e-3
    u1_hat = torch.fft.fft(u1, dim=-1) * (torch.arange(size) < size // 2)
    reference = ([], [], [])  # psi_t * phi_f, spin up, spin down; each over ψ2
    for n2, rows, _, (length, n_fr) in m._second:
        y = torch.fft.fft(torch.nn.functional.pad(u1_hat[:rows] * torch.as_tensor(psi2[n2]["levels"][0]),
                                                  (0, 0, 0, length - rows)), dim=0)
        filt = getattr(m, f"fr_n2_{n2}").double()
        s = torch.fft.ifft2(y * filt[:, :, None], dim=(-2, -1)).abs().sum(-1) / n
        s = torch.cat([s[:1], torch.fft.ifft(torch.fft.fft(s[1:], dim=-1) * filt[0], dim=-1).real])
        s = s[:, :rows:2]
        for pair, part in zip(reference, (s[:1], s[1:1 + n_fr], s[1 + n_fr:])):
            pair.append(part.reshape(-1))
    reference = torch.cat([p for pair in reference for p in pair])
    assert rel(got[-len(reference):], reference) < 5e-3


def test_invariant_to_time_shifts(jtfs):
    x = modal(onset=0.05)
    s = jtfs(x)
    for shift in (0.003, 0.02, 0.1):  # zero-padded delays, up to 0.1 s of a 1 s clip
        assert rel(jtfs(modal(onset=0.05 + shift)), s) < 2e-3
    # circular shift of a stationary sound: only the seam changes
    tones = (torch.sin(2 * math.pi * 440 * T) + 0.5 * torch.sin(2 * math.pi * 1234 * T + 1))[None]
    assert rel(jtfs(torch.roll(tones, 700, dims=-1)), jtfs(tones)) < 0.02


def test_stable_to_small_warps_and_transpositions(jtfs):
    phi = jtfs.features(modal())
    far = float((jtfs.features(modal(freqs=(150.0, 433.0, 2900.0, 3300.0), t60s=(0.1, 0.8, 0.05, 0.3))) - phi).norm())
    noise = float((jtfs.features(torch.randn(1, N, dtype=torch.float64) * 0.5) - phi).norm())
    for change in ("warp", "transpose"):
        d = [float((jtfs.features(modal(**{change: 1 + e})) - phi).norm()) for e in (0.005, 0.01, 0.02)]
        assert d[0] < d[1] < d[2] < 0.35 * min(far, noise), (change, d, far, noise)


def test_energy_within_littlewood_paley_bounds(jtfs):
    a, b = jtfs.littlewood_paley_bounds()
    assert b == pytest.approx(1.0) and 0 <= a < 1e-2  # φ: 1 at DC; nothing above the highest wavelet
    a, b = jtfs.littlewood_paley_bounds((0.01, 0.4))
    assert 0.4 < a <= b < 0.6  # analytic wavelets keep about half the energy of a real signal
    gen = torch.Generator().manual_seed(1)
    noise = torch.randn(1, N, generator=gen, dtype=torch.float64)
    spec = torch.fft.rfft(noise)
    freqs = torch.fft.rfftfreq(N, dtype=torch.float64)
    band_noise = torch.fft.irfft(spec * ((freqs >= 0.01) & (freqs <= 0.4)), n=N)
    for x in (band_noise, modal() / SR * 4000, torch.sin(2 * math.pi * 0.123 * torch.arange(N).double())[None]):
        ratio = float(jtfs.first_order_energy(x) / x.pow(2).sum())
        assert a * 0.999 <= ratio <= b * 1.001


def test_spin_tells_rising_from_falling_frequency(jtfs):
    env = torch.exp(-0.5 * ((T - T[-1] / 2) / 0.2) ** 2)

    def chirp(f0, f1):
        rate = math.log(f1 / f0) / float(T[-1])
        return (env * torch.sin(2 * math.pi * f0 * (torch.exp(rate * T) - 1) / rate))[None]

    def energy(x, spin):
        s = jtfs(x)[0]
        return sum(float(v) ** 2 for v, (kind, *_) in zip(s, jtfs.path_meta) if kind == f"psi_t * psi_f_{spin}")

    up, down = chirp(200.0, 3000.0), chirp(3000.0, 200.0)
    assert energy(up, "up") > 10 * energy(up, "dn")
    assert energy(down, "dn") > 10 * energy(down, "up")


@pytest.fixture(scope="module")
def tiny():
    return JTFS(2 ** 10, J=6, Q=(8, 1)).double()  # blocks of 10 to 33 rows: both frequential stages


def test_gradients_and_jvp_match_finite_differences(tiny):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 2 ** 10, generator=gen, dtype=torch.float64)
    xr = x.clone().requires_grad_()
    grad, = torch.autograd.grad(tiny.features(xr).pow(2).sum(), xr)
    for _ in range(3):
        v = torch.randn(x.shape, generator=gen, dtype=torch.float64)
        fd = (tiny.features(x + 1e-6 * v) - tiny.features(x - 1e-6 * v)) / 2e-6
        _, tangent = torch.func.jvp(tiny.features, (x,), (v,))
        assert rel(tangent, fd) < 1e-6
        fd_loss = (tiny.features(x + 1e-6 * v).pow(2).sum() - tiny.features(x - 1e-6 * v).pow(2).sum()) / 2e-6
        assert float((grad * v).sum()) == pytest.approx(float(fd_loss), rel=1e-6)


def test_jacfwd_through_a_synth_as_the_pnp_loss_uses_it(tiny):
    t = torch.arange(2 ** 10, dtype=torch.float64) / 8000

    def sound(theta):  # (frequency Hz, decay 1/s, gain); 703.3 Hz: no sample sits on a zero of |x|
        return theta[2] * torch.exp(-theta[1] * t) * torch.sin(2 * math.pi * theta[0] * t)

    theta = torch.tensor([703.3, 20.0, 0.8], dtype=torch.float64)
    jac = torch.func.jacfwd(lambda th: tiny.features(sound(th))[0])(theta)
    assert jac.shape == (tiny.n_paths, 3)
    for k, h in enumerate((1e-3, 1e-5, 1e-6)):
        step = torch.zeros(3, dtype=torch.float64)
        step[k] = h
        fd = (tiny.features(sound(theta + step)) - tiny.features(sound(theta - step)))[0] / (2 * h)
        assert rel(jac[:, k], fd) < 1e-4


def test_distance_and_loss(jtfs):
    x = modal()
    assert float(jtfs_distance(x, x, J=9, Q=(12, 1))[0]) == 0.0
    d = [float(jtfs_distance(modal(transpose=1 + e), x, J=9, Q=(12, 1))[0]) for e in (0.01, 0.03, 0.1)]
    assert d[0] < d[1] < d[2]
    loss = JTFSDistance(J=9, Q=(12, 1)).double()
    y = modal(transpose=1.03)
    assert float(loss(y, x)) == pytest.approx(d[1], rel=1e-9)
    assert float(loss.against(x)(y)) == pytest.approx(d[1], rel=1e-9)
    relative = JTFSDistance(relative=True, J=9, Q=(12, 1)).double()
    assert float(relative(y, x)) == pytest.approx(d[1] / float(jtfs.features(x).norm()), rel=1e-9)
    yr = y.clone().requires_grad_()
    loss(yr, x).backward()
    assert torch.isfinite(yr.grad).all() and float(yr.grad.abs().sum()) > 0
    with pytest.raises(WorkbenchError):
        loss(torch.randn(1, N), torch.randn(1, N + 1))
