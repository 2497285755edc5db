"""Joint time-frequency scattering (JTFS), differentiable in torch, as the PNP paper uses it.

JTFS (Andén, Lostanlen & Mallat 2019; Muradeli et al. 2022) convolves the first-order
scalogram U1(λ, t) = |x * ψ1_λ|(t) with 2-D wavelets ψ2(t) ψ_fr(±λ), takes the modulus and
averages. Han, Lostanlen & Lagrange (PNP, ICASSP 2023) use J = 13, Q = (12, 1), Q_fr = 1,
F = 2, global temporal averaging and zero padding on 2^16 samples at 22050 Hz, and the
features log1p(1e3 · S) over all paths, flattened; the JTFS distance is the Euclidean
distance between those features.

Time wavelets and the low-pass are kymatio's Morlet filter banks
(`kymatio.scattering1d.filter_bank`); the frequential wavelets are the same Morlet family
(Q_fr per octave) sampled on the log-frequency axis, in both spins. Everything is FFT
products, gathers, matmuls and moduli on plain tensors (no in-place ops, no custom autograd
Functions), so reverse mode and forward mode (`torch.func.jvp`, `jacfwd`) work. Speed comes from computing each |x * ψ1| at the rate its
bandwidth needs (its band is cut out of the spectrum and inverted at baseband), and each
second-order band only on the first-order rows it can see (kymatio's rule j1 < j2).

Units: x is in any amplitude unit; S has the same unit (averages of moduli over time,
divided by ``n_samples``, so the scale does not depend on the padding). Frequencies of the
filters (``xi1``, ``xi2``) are in cycles per sample (multiply by the sample rate for Hz).

Path order in ``forward`` (all per batch item, concatenated; rows of the log-frequency axis
in kymatio's order, from the highest first-order frequency ``xi1[0]`` down):

1. ``S0``: 1 value, mean |x| (kymatio's S0 is the signed mean of x, ~0 for audio and
   not loggable).
2. ``S1``: N1 values, mean_t |x * ψ1_λ| for each first-order filter λ.
3. ``phi_t * phi_f``: ceil(N1 / F) values, S1 low-passed over λ by φ_F and subsampled by F.
4. ``phi_t * psi_f``: n_fr x ceil(N1 / F), |S1 ⋆_λ ψ_fr| ⋆ φ_F (one spin: S1 is real).
5. ``psi_t * phi_f``: for each second-order filter ψ2 (high to low ``xi2``), on the B
   rows with j1 < j2: ceil(B / F) values, |U1 ⋆_t ψ2 ⋆_λ φ_F| averaged over time.
6. ``psi_t * psi_f_up``: for each ψ2, n_fr_b x ceil(B / F) values,
   |U1 ⋆_t ψ2 ⋆_λ ψ_fr| averaged over time, then ⋆_λ φ_F; it responds to rising
   frequency (up-chirps). Frequential wavelets wider than the padded block are left out.
7. ``psi_t * psi_f_dn``: the same with the opposite spin (falling frequency).

The pair order is wavespin's (the JTFS implementation the paper used).

``path_meta`` lists (kind, n2, n_fr, row) per output column.

With the defaults on 2^16 samples: N1 = 136 first-order rows, 11 second-order filters,
J_fr = 6, 5030 paths. The paper reports P = 20762 with the JTFS branch of kymatio
(wavespin-style), which keeps every first-order row for every ψ2 (padded) where this
module keeps kymatio's j1 < j2 rows, and pads the log-frequency axis differently; the
filters, averaging and the log1p(1e3 S) features are the same. F counts first-order rows
as in that implementation (F = 2: 1/6 octave at Q1 = 12; the paper's text says 2 octaves).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.fft
import torch
from kymatio.scattering1d.filter_bank import (
    compute_params_filterbank,
    compute_temporal_support,
    gauss_1d,
    morlet_1d,
    scattering_filter_factory,
)

from .errors import WorkbenchError

#: Half-width of a band cut out of the spectrum, in Gaussian standard deviations.
BAND_SIGMAS = 5.0
#: Same for the second-order bands (the Morlet ψ2 is below 0.3 % of its peak there).
BAND_SIGMAS_2 = 3.5
#: Second-order bands shorter than this are sampled at twice their width (bins).
MIN_BAND_2 = 1024
#: Second-order blocks with at most this many rows do the frequential stage as a matmul
#: (faster than short strided FFTs); larger ones use FFTs along the rows.
MATMUL_ROWS = 24
#: Items transformed together on the CPU: larger batches run in chunks (the joint stage's
#: buffers outgrow the caches; a batch of 8 at once is ~2x slower per item than chunks of 2).
BATCH_CHUNK = 2
#: Zero rows (at least) below a block of log-frequency rows before the frequential FFT.
FR_MARGIN = 4
#: Scale of the features, log1p(FEATURE_SCALE * S) (PNP: 1 / ε with ε = 1e-3).
FEATURE_SCALE = 1e3


def _pow2(n: float) -> int:
    return 1 << max(0, math.ceil(math.log2(max(n, 1))))


def _modulus(z: torch.Tensor) -> torch.Tensor:
    """|z| as sqrt(1e-30 + re^2 + im^2): ~4x faster than complex abs on the CPU, and its
    derivative stays finite at z = 0 (digital silence)."""
    re, im = z.real, z.imag
    return torch.addcmul(torch.full((), 1e-30, dtype=re.dtype, device=re.device), re, re).addcmul(im, im).sqrt()


@functools.lru_cache(maxsize=4)
def _plan(n_samples: int, J: int, Q1: int, Q2: int, J_fr: int | None, Q_fr: int, F: int,
          max_pad_factor: int, max_pad_factor_fr: int) -> dict:
    """Filter banks and index tables (numpy) for one configuration."""
    # kymatio's padding: room for 3x the support of the low-pass 2^J on each side, at most
    # max_pad_factor powers of two beyond the next power of two and below 3 n_samples
    support = compute_temporal_support(gauss_1d(n_samples, 0.1 / 2 ** J).reshape(1, -1), criterion_amplitude=1e-3)
    n_pad = min(_pow2(n_samples + 6 * support), _pow2(n_samples) << max_pad_factor,
                1 << math.floor(math.log2(3 * n_samples - 2)))
    phi, psi1, psi2 = scattering_filter_factory(n_pad, J, (Q1, Q2), 2 ** J)
    plan = {"n_pad": n_pad, "phi_t": phi["levels"][0].astype(np.float64)}
    # first order, grouped by the length of their band (rows keep kymatio's order)
    widths = [min(n_pad, _pow2(2 * BAND_SIGMAS * p["sigma"] * n_pad + 1)) for p in psi1]
    groups = []
    for w in sorted(set(widths), reverse=True):
        rows = [i for i, v in enumerate(widths) if v == w]
        m = np.fft.fftfreq(w, 1.0 / w).astype(np.int64)  # 0..w/2-1, -w/2..-1
        centres = np.array([round(psi1[i]["xi"] * n_pad) for i in rows])
        idx = (centres[:, None] + m[None, :]) % n_pad
        filt = np.stack([psi1[i]["levels"][0][idx[k]] for k, i in enumerate(rows)])
        filt = filt * (np.abs(m)[None, :] <= BAND_SIGMAS * np.array([psi1[i]["sigma"] for i in rows])[:, None] * n_pad)
        groups.append((rows, w, idx, filt))
    assert [r for g in groups for r in g[0]] == list(range(len(psi1))), "widths must not grow with n1"
    plan["groups"] = groups
    n1 = len(psi1)
    k_max = groups[0][1] // 2 + 1
    # Littlewood-Paley sum |φ̂|^2 + Σ |ψ̂1|^2 on the padded grid (energy bounds)
    lp = phi["levels"][0].astype(np.float64) ** 2 + sum(p["levels"][0].astype(np.float64) ** 2 for p in psi1)
    plan.update(n1=n1, k_max=k_max, xi1=np.array([p["xi"] for p in psi1]), lp=lp)
    # frequential filter family (Morlet, Q_fr per octave) on the log-frequency axis
    if J_fr is None:
        J_fr = max(1, math.ceil(math.log2(n1)) - 2)
    xis_fr, sigmas_fr, _ = compute_params_filterbank(0.1 / 2 ** J_fr, Q_fr, 5.0)
    log2_F = math.floor(math.log2(F))
    plan.update(J_fr=J_fr, log2_F=log2_F, xis_fr=np.array(xis_fr), sigmas_fr=np.array(sigmas_fr))

    def fr_bank(n_rows):
        length = min(_pow2(n_rows) << max_pad_factor_fr, _pow2(n_rows + FR_MARGIN))
        keep = [i for i, s in enumerate(sigmas_fr) if 1.0 / s <= length]
        up = np.stack([morlet_1d(length, xis_fr[i], sigmas_fr[i]) for i in keep]) if keep else np.zeros((0, length))
        dn = np.roll(up[:, ::-1], 1, axis=1)  # ψ(-k): the opposite spin
        phi_f = gauss_1d(length, 0.1 / 2 ** log2_F)
        return length, up, dn, phi_f

    plan["fr_full"] = fr_bank(n1)
    # second order: per ψ2 the rows (top block) with j1 < j2 and the bins it passes
    j1 = np.array([p["j"] for p in psi1])
    second = []
    for n2, p in enumerate(psi2):
        rows = int(np.sum(j1 < p["j"]))
        if rows == 0:
            continue
        # the band of ψ2, and of the block's envelopes (|z|^2 of a Gaussian band σ1 has std √2 σ1)
        k_hi = min(math.ceil((p["xi"] + BAND_SIGMAS_2 * p["sigma"]) * n_pad), k_max - 1,
                   math.ceil(BAND_SIGMAS_2 * math.sqrt(2) * psi1[0]["sigma"] * n_pad))
        # bins 0..w2-1 of U1's spectrum; short bands oversampled 2x (cheap) so the time sum
        # of the modulus is accurate
        w2 = min(scipy.fft.next_fast_len(max(k_hi, min(2 * k_hi, MIN_BAND_2))), k_max - 1)
        second.append((n2, rows, w2, p["levels"][0][:w2].astype(np.float64), fr_bank(rows)))
    plan.update(second=second, xi2=np.array([p["xi"] for p in psi2]))
    return plan


class JTFS(torch.nn.Module):
    """Joint time-frequency scattering with global temporal averaging (PNP configuration).

    Args:
        n_samples: Length of the signals (samples); they are zero-padded as kymatio pads
            (a power of two, at most 2^(ceil(log2 n_samples) + max_pad_factor)).
        J: Octaves of the time wavelets (the longest spans ~2^J samples).
        Q: (Q1, Q2) wavelets per octave at first and second order.
        J_fr: Octaves of the frequential wavelets (None: ceil(log2 N1) - 2).
        Q_fr: Frequential wavelets per octave.
        F: Width of the frequential low-pass, in first-order rows; the rows are
            subsampled by 2^floor(log2 F).
        T: Temporal averaging; only "global" (mean over the whole clip) is implemented.
        max_pad_factor, max_pad_factor_fr: Padding (powers of two beyond the next power of
            two) in time and along log-frequency (zero padding).

    Shape:
        x: (batch, n_samples) or (n_samples,) -> forward: (batch, n_paths).

    >>> jtfs = JTFS(2 ** 12, J=8, Q=(8, 1))
    >>> s = jtfs(torch.randn(2, 2 ** 12))
    >>> s.shape == (2, jtfs.n_paths), bool((s >= 0).all())
    (True, True)
    """

    def __init__(self, n_samples: int, *, J: int = 13, Q=(12, 1), J_fr: int | None = None, Q_fr: int = 1,
                 F: int = 2, T="global", max_pad_factor: int = 1, max_pad_factor_fr: int = 1):
        super().__init__()
        Q = (Q, 1) if isinstance(Q, int) else tuple(Q)
        checks = {"n_samples": (n_samples, 16), "J": (J, 1), "Q_fr": (Q_fr, 1), "F": (F, 1),
                  "max_pad_factor": (max_pad_factor, 0), "max_pad_factor_fr": (max_pad_factor_fr, 0)}
        for name, (value, low) in checks.items():
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise WorkbenchError(f"{name}: expected an integer >= {low}, got {value!r}")
        if len(Q) != 2 or any(not isinstance(q, (int, np.integer)) or q < 1 for q in Q):
            raise WorkbenchError(f"Q: expected (Q1, Q2) integers >= 1, got {Q!r}")
        if J_fr is not None and (not isinstance(J_fr, (int, np.integer)) or J_fr < 1):
            raise WorkbenchError(f"J_fr: expected None or an integer >= 1, got {J_fr!r}")
        if T != "global":
            raise WorkbenchError(f"T: only 'global' averaging is implemented, got {T!r}")
        self.n_samples, self.J, self.Q, self.Q_fr, self.F, self.T = int(n_samples), int(J), Q, int(Q_fr), int(F), T
        self._plan_key = (self.n_samples, self.J, int(Q[0]), int(Q[1]), J_fr, self.Q_fr, self.F,
                          int(max_pad_factor), int(max_pad_factor_fr))
        plan = _plan(self.n_samples, self.J, int(Q[0]), int(Q[1]), J_fr, self.Q_fr, self.F,
                     int(max_pad_factor), int(max_pad_factor_fr))
        self.n_pad, self.n1, self.k_max, self.J_fr, self.log2_F = (plan["n_pad"], plan["n1"], plan["k_max"],
                                                                   plan["J_fr"], plan["log2_F"])
        self.xi1, self.xi2 = plan["xi1"], plan["xi2"]
        self._widths = []
        for g, (rows, w, idx, filt) in enumerate(plan["groups"]):
            self.register_buffer(f"idx1_{g}", torch.as_tensor(idx), persistent=False)
            self.register_buffer(f"psi1_{g}", torch.as_tensor(filt, dtype=torch.float32), persistent=False)
            self._widths.append(w)
        self._fr_full = self._register_fr("full", plan["fr_full"])
        self._second = []
        for n2, rows, w2, psi2, bank in plan["second"]:
            self.register_buffer(f"psi2_{n2}", torch.as_tensor(psi2, dtype=torch.float32), persistent=False)
            if rows <= MATMUL_ROWS:  # frequential stage as one (n_f L, rows) complex matrix
                length, up, dn, phi_f = bank
                filters = np.concatenate([phi_f[None], up, dn])
                unit = np.fft.fft(np.eye(length)[:, :rows], axis=0)
                mat = np.fft.ifft(filters[:, :, None] * unit[None], axis=1).reshape(-1, rows)
                self.register_buffer(f"frm_re_{n2}", torch.as_tensor(mat.real, dtype=torch.float32), persistent=False)
                self.register_buffer(f"frm_im_{n2}", torch.as_tensor(mat.imag, dtype=torch.float32), persistent=False)
            self._second.append((n2, rows, w2, self._register_fr(f"n2_{n2}", bank)))
        self._group_rows = [len(g[0]) for g in plan["groups"]]
        self.path_meta = self._meta()
        self.n_paths = len(self.path_meta)

    def _register_fr(self, name, bank) -> tuple[int, int]:
        length, up, dn, phi_f = bank
        filters = np.concatenate([phi_f[None], up, dn])  # (1 + 2 n_fr, length), real in Fourier
        self.register_buffer(f"fr_{name}", torch.as_tensor(filters, dtype=torch.float32), persistent=False)
        return length, len(up)

    def _meta(self) -> list[tuple[str, int, int, int]]:
        step = 2 ** self.log2_F
        meta = [("S0", -1, -1, -1)] + [("S1", -1, -1, r) for r in range(self.n1)]
        rows = range(0, self.n1, step)
        meta += [("phi_t * phi_f", -1, -1, r) for r in rows]
        meta += [("phi_t * psi_f", -1, k, r) for k in range(self._fr_full[1]) for r in rows]
        for pair in ("psi_t * phi_f", "psi_t * psi_f_up", "psi_t * psi_f_dn"):
            for n2, n_rows, _, (_, n_fr) in self._second:
                rows = range(0, n_rows, step)
                if pair == "psi_t * phi_f":
                    meta += [(pair, n2, -1, r) for r in rows]
                else:
                    meta += [(pair, n2, k, r) for k in range(n_fr) for r in rows]
        return meta

    def _buf(self, name: str, like: torch.Tensor) -> torch.Tensor:
        b = getattr(self, name)
        return b if b.device == like.device and b.dtype == like.dtype else b.to(like.device, like.dtype)

    def _check(self, x) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise WorkbenchError(f"x: expected a torch tensor, got {type(x).__name__}")
        x = x[None] if x.ndim == 1 else x
        if x.ndim != 2 or x.shape[-1] != self.n_samples:
            raise WorkbenchError(f"x: expected shape (batch, {self.n_samples}), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise WorkbenchError(f"x: expected a floating-point tensor, got {x.dtype}")
        return x

    def scalogram(self, x: torch.Tensor) -> list[torch.Tensor]:
        """First-order modulus |x * ψ1_λ|, one (batch, rows, w) tensor per group of rows.

        Each group is sampled at w / n_pad of the input rate (w in ``self._widths``) over
        the padded period; rows in kymatio's order (highest ``xi1`` first).
        """
        x = self._check(x)
        spec = torch.fft.fft(torch.nn.functional.pad(x, (0, self.n_pad - self.n_samples)))
        out = []
        for g, w in enumerate(self._widths):
            band = spec[:, getattr(self, f"idx1_{g}").to(x.device)]
            out.append(_modulus(torch.fft.ifft(band * self._buf(f"psi1_{g}", x), dim=-1)) * (w / self.n_pad))
        return out

    def _block(self, u1_hat: list[torch.Tensor], rows: int, w2: int) -> torch.Tensor:
        """The first ``rows`` U1 spectra, bins 0..w2-1 (zero above a group's band): (batch, rows, w2)."""
        parts, start = [], 0
        for spec, n in zip(u1_hat, self._group_rows):
            if start >= rows:
                break
            part = spec[:, :min(n, rows - start), :w2]
            parts.append(torch.nn.functional.pad(part, (0, w2 - part.shape[-1])))
            start += n
        return torch.cat(parts, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw JTFS coefficients, (batch, n_paths), in the order of ``path_meta``."""
        x = self._check(x)
        if x.device.type == "cpu" and x.shape[0] > BATCH_CHUNK:
            return torch.cat([self._forward(part) for part in x.split(BATCH_CHUNK)])
        return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, step, scale = x.shape[0], 2 ** self.log2_F, 1.0 / self.n_samples
        u1 = self.scalogram(x)
        s0 = x.abs().mean(-1, keepdim=True)
        # S1 = mean_t U1 (each row's samples stand for n_pad / w input samples)
        s1 = torch.cat([u.sum(-1) * (self.n_pad / w) for u, w in zip(u1, self._widths)], dim=1) * scale
        # spectra of the U1 rows on the absolute bin grid k / n_pad (bins 0..w/2 of each group)
        u1_hat = [torch.fft.rfft(u, dim=-1) * (self.n_pad / w) for u, w in zip(u1, self._widths)]
        out = [s0, s1]
        # phi_t paths: frequential scattering of S1
        length, n_fr = self._fr_full
        filt = self._buf("fr_full", x)
        s1_f = torch.fft.fft(torch.nn.functional.pad(s1, (0, length - self.n1)), dim=-1)
        low = torch.fft.ifft(s1_f * filt[0], dim=-1).real
        out.append(low[:, :self.n1:step])
        if n_fr:
            mod = _modulus(torch.fft.ifft(s1_f[:, None] * filt[1:1 + n_fr], dim=-1))
            mod = torch.fft.ifft(torch.fft.fft(mod, dim=-1) * filt[0], dim=-1).real
            out.append(mod[..., :self.n1:step].reshape(batch, -1))
        # second order: joint wavelets psi2(t) psi_fr(±λ) on the rows each ψ2 sees;
        # outputs grouped by pair (psi_t * phi_f, spin up, spin down), each over ψ2
        joint = ([], [], [])
        for n2, rows, w2, (length, n_fr) in self._second:
            y = self._block(u1_hat, rows, w2) * self._buf(f"psi2_{n2}", x)     # (batch, rows, w2)
            filt = self._buf(f"fr_n2_{n2}", x)                                # (1 + 2 n_fr, length)
            if rows <= MATMUL_ROWS:
                mat = torch.complex(self._buf(f"frm_re_{n2}", x), self._buf(f"frm_im_{n2}", x))
                z = torch.fft.ifft(torch.matmul(mat, y), dim=-1).reshape(batch, -1, length, y.shape[-1])
            else:
                y = torch.fft.fft(torch.nn.functional.pad(y, (0, 0, 0, length - rows)), dim=1)
                z = torch.fft.ifft2(y[:, None] * filt[None, :, :, None], dim=(-2, -1))
            m = _modulus(z).sum(-1) * scale                                      # (batch, 1 + 2 n_fr, length)
            m = m[..., :rows:step] if not n_fr else torch.cat([m[:, :1], torch.fft.ifft(
                torch.fft.fft(m[:, 1:], dim=-1) * filt[0], dim=-1).real], dim=1)[..., :rows:step]
            for pair, part in zip(joint, (m[:, :1], m[:, 1:1 + n_fr], m[:, 1 + n_fr:])):
                pair.append(part.reshape(batch, -1))
        return torch.cat(out + [p for pair in joint for p in pair], dim=1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """log1p(1e3 · S), flattened: (batch, n_paths) (the PNP paper's Φ)."""
        return torch.log1p(FEATURE_SCALE * self(x).clamp_min(0.0))

    def distance(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Euclidean distance of `features`, (batch,) (the paper's JTFS distance)."""
        return torch.linalg.vector_norm(self.features(x) - self.features(y), dim=-1)

    def littlewood_paley_bounds(self, band: tuple[float, float] = (0.0, 0.5)) -> tuple[float, float]:
        """(A, B): A ||x||^2 <= ||x * φ||^2 + Σ_λ ||x * ψ1_λ||^2 <= B ||x||^2 for real x whose
        spectrum lies in ``band`` (cycles per sample; default: any real x).

        The wavelets are analytic, so a frequency pair (ω, -ω) carries ½ (LP(ω) + LP(-ω))
        with LP = |φ̂|^2 + Σ |ψ̂1|^2 (kymatio's filters on the padded grid). kymatio's bank
        is not energy-normalised: LP ~ 0.5 between the low-pass and the highest wavelet,
        1 at DC, and it falls to ~0 above the highest centre frequency ``xi1[0]``.
        """
        lo, hi = band
        if not 0.0 <= lo < hi <= 0.5:
            raise WorkbenchError(f"band: expected 0 <= low < high <= 0.5 cycles per sample, got {band!r}")
        lp = _plan(*self._plan_key)["lp"]
        both = 0.5 * (lp + np.roll(lp[::-1], 1))[: self.n_pad // 2 + 1]
        freqs = np.arange(len(both)) / self.n_pad
        sel = both[(freqs >= lo) & (freqs <= hi)]
        return float(sel.min()), float(sel.max())

    def first_order_energy(self, x: torch.Tensor) -> torch.Tensor:
        """||x * φ||^2 + Σ_λ ||x * ψ1_λ||^2 over the padded period, (batch,) (for energy checks)."""
        x = self._check(x)
        energy = sum(u.pow(2).sum((-2, -1)) * (self.n_pad / w) for u, w in zip(self.scalogram(x), self._widths))
        spec = torch.fft.rfft(torch.nn.functional.pad(x, (0, self.n_pad - self.n_samples)))
        phi = torch.as_tensor(_plan(*self._plan_key)["phi_t"][: self.n_pad // 2 + 1]).to(x)
        weight = torch.full_like(phi, 2.0)
        weight[0] = weight[-1] = 1.0  # rfft bins: DC and Nyquist once, the others twice
        return energy + (spec.abs().pow(2) * phi.pow(2) * weight).sum(-1) / self.n_pad


@functools.lru_cache(maxsize=4)
def _shared(n_samples: int, settings: tuple) -> JTFS:
    return JTFS(n_samples, **dict(settings))


def jtfs_distance(x: torch.Tensor, y: torch.Tensor, **settings) -> torch.Tensor:
    """Euclidean distance between the JTFS features (log1p(1e3 S)) of x and y, (batch,).

    The PNP paper's evaluation metric (its "JTFS distance"). x, y: (batch, n_samples) or
    (n_samples,); ``settings`` are `JTFS` keyword arguments (default: the paper's). The
    transform is built once per (n_samples, settings) and reused.

    >>> x = torch.randn(2 ** 12)
    >>> float(jtfs_distance(x, x, J=8, Q=(8, 1))[0])
    0.0
    """
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise WorkbenchError("x, y: expected torch tensors")
    if x.shape[-1] != y.shape[-1]:
        raise WorkbenchError(f"y: has {y.shape[-1]} samples but x has {x.shape[-1]}")
    settings = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in settings.items()))
    jtfs = _shared(int(x.shape[-1]), settings)
    return jtfs.distance(x, y)
