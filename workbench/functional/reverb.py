"""Room reverb impulse response: exponentially decaying band-filtered noise.

    IR(t) = sum_b 10**(gain_db_b / 20) * exp(-6.908 t / t60_b) * n_b(t) / sqrt(sample_rate)

where n_b are the bands (`workbench.functional.bands`) of one fixed white noise, so
they sum to white noise of unit variance. Dividing by sqrt(sample_rate) makes the
wet level independent of the sample rate: for white input, band b's wet energy
relative to the dry sound is 10**(gain_db_b / 10) * t60_b / 13.8. IR(0) = 0: the
dry path is the separate unit tap in ``(delta + IR)``.
"""

from __future__ import annotations

import math

import torch

from ..budgets import TABLE_CACHE_BYTES
from ..memo import bytes_cache

from ..specs import T60_DECAY
from .bands import band_weights, white_spectrum
from .scaling import NEPERS_PER_DB


@bytes_cache(TABLE_CACHE_BYTES.limit)
def _band_noise(band_freqs_hz: tuple[float, ...], n_samples: int, sample_rate: float, seed: int, block: int,
                dtype, device) -> torch.Tensor:
    """(A, n_bands, block) band noises, sample n = a * block + j at [a, :, j]; zero at n = 0 and n >= n_samples.

    Made one band at a time in float64 and written into the output's dtype, so the peak
    is the output plus one band (not every band in float64, twice).
    """
    spec = white_spectrum(n_samples, seed=seed, dtype=torch.complex128)
    weights = band_weights(band_freqs_hz, n_fft=n_samples, sample_rate=sample_rate, dtype=torch.float64)
    a_len = -(-n_samples // block)
    out = torch.zeros(a_len, len(band_freqs_hz), block, dtype=dtype, device=device)
    for b in range(len(band_freqs_hz)):
        band = torch.fft.irfft(weights[b] * spec, n_samples)
        band[0] = 0.0                     # IR(0) = 0: the dry path is the separate unit tap
        band = torch.nn.functional.pad(band, (0, a_len * block - n_samples))
        out[:, b, :] = band.reshape(a_len, block).to(dtype=dtype, device=device)
    return out


def reverb_ir(
    band_freqs_hz,
    gains_db: torch.Tensor,
    t60_s: torch.Tensor,
    *,
    n_samples: int,
    sample_rate: float,
    seed: int = 1,
) -> torch.Tensor:
    """Render the room impulse response (without the dry tap).

    Args:
        band_freqs_hz: (n_bands,) increasing band centre frequencies in Hz.
        gains_db: (batch, n_bands) reverb levels in dB.
        t60_s: (batch, n_bands) reverberation times in seconds.
        n_samples: Length of the IR.
        sample_rate: Sample rate in Hz.
        seed: Seed of the underlying noise.

    Returns:
        (batch, n_samples) impulse response, zero at t = 0.
    """
    key = tuple(float(f) for f in band_freqs_hz)
    block = max(8, int(math.ceil(math.sqrt(n_samples))))
    bank = _band_noise(key, int(n_samples), float(sample_rate), int(seed), block, gains_db.dtype, gains_db.device)
    log_scale = gains_db * NEPERS_PER_DB - 0.5 * math.log(sample_rate)
    rate = (T60_DECAY / sample_rate) / t60_s                                 # per sample
    return _DecayingBands.apply(log_scale, rate, bank)[:, :n_samples]


class _DecayingBands(torch.autograd.Function):
    """ir[n] = sum_b exp(log_scale_b - rate_b n) bank[b, n], factorised like the modal bank.

    With n = a B + j, exp(log_scale - rate n) = C[a] F[j] (C = exp(log_scale - rate a B),
    F = exp(-rate j)), so there is no exp over N; each block of the IR is a (1 x bands) @
    (bands x B) product. The backward needs, per band, sum_n g[n] P[b, n] and
    sum_n n g[n] P[b, n] (P the decaying band): one more product with [g, j g].
    """

    @staticmethod
    def forward(ctx, log_scale, rate, bank):
        batch = log_scale.shape[0]
        a_len, n_bands, block = bank.shape
        coarse_n = torch.arange(a_len, dtype=bank.dtype, device=bank.device) * block
        fine_n = torch.arange(block, dtype=bank.dtype, device=bank.device)
        coarse = torch.exp(log_scale[:, None, :] - rate[:, None, :] * coarse_n[:, None])   # (batch, A, Be)
        shaped = torch.exp(-rate[..., None] * fine_n)[:, None] * bank                      # (batch, A, Be, B)
        ir = torch.bmm(coarse.reshape(batch * a_len, 1, n_bands), shaped.reshape(batch * a_len, n_bands, block))
        ctx.save_for_backward(coarse, shaped)
        return ir.reshape(batch, a_len * block)

    @staticmethod
    def backward(ctx, grad):
        coarse, shaped = ctx.saved_tensors
        batch, a_len, n_bands, block = shaped.shape
        g = grad.reshape(batch * a_len, block)
        fine_n = torch.arange(block, dtype=g.dtype, device=g.device)
        h = torch.bmm(shaped.reshape(batch * a_len, n_bands, block),
                      torch.stack([g, g * fine_n], -1)).reshape(batch, a_len, n_bands, 2)
        coarse_n = torch.arange(a_len, dtype=g.dtype, device=g.device) * block
        s0 = h[..., 0]
        s1 = h[..., 1] + s0 * coarse_n[:, None]
        return (coarse * s0).sum(1), -(coarse * s1).sum(1), None
