"""Room reverb impulse response: exponentially decaying band-filtered noise.

    IR(t) = sum_b 10**(gain_db_b / 20) * exp(-6.908 t / t60_b) * n_b(t) / sqrt(sample_rate)

where n_b are the bands (`workbench.functional.bands`) of one fixed white noise, so
they sum to white noise of unit variance. Dividing by sqrt(sample_rate) makes the
wet level independent of the sample rate: for white input, band b's wet energy
relative to the dry sound is 10**(gain_db_b / 10) * t60_b / 13.8. IR(0) = 0: the
dry path is the separate unit tap in ``(delta + IR)``.
"""

from __future__ import annotations

import functools
import math

import torch

from ..specs import T60_DECAY
from .bands import band_weights, white_spectrum

@functools.lru_cache(maxsize=8)
def _band_noise_cpu(band_freqs_hz: tuple[float, ...], n_samples: int, sample_rate: float,
                    seed: int) -> torch.Tensor:
    spec = white_spectrum(n_samples, seed=seed, dtype=torch.complex128)
    weights = band_weights(band_freqs_hz, n_fft=n_samples, sample_rate=sample_rate, dtype=torch.float64)
    return torch.fft.irfft(weights * spec, n_samples)   # (n_bands, n_samples)


@functools.lru_cache(maxsize=8)
def _band_noise(key: tuple[float, ...], n_samples: int, sample_rate: float, seed: int, dtype, device):
    return _band_noise_cpu(key, n_samples, sample_rate, seed).to(dtype=dtype, device=device)


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
    bank = _band_noise(key, int(n_samples), float(sample_rate), int(seed), gains_db.dtype, gains_db.device)
    t = torch.arange(n_samples, dtype=gains_db.dtype, device=gains_db.device) / sample_rate
    # log of each band's scaled envelope: log(gain / sqrt(sr)) - rate * t
    log_scale = gains_db * (math.log(10.0) / 20.0) - 0.5 * math.log(sample_rate)
    ir = _DecayingBands.apply(log_scale, T60_DECAY / t60_s, bank, t)
    return torch.cat([ir.new_zeros(ir.shape[0], 1), ir[:, 1:]], dim=1)


class _DecayingBands(torch.autograd.Function):
    """ir[n] = sum_b exp(log_scale_b - rate_b t_n) bank[b, n], with a two-matvec backward:

        dL/dlog_scale_b = sum_n g[n] P[b, n],   dL/drate_b = -sum_n g[n] t_n P[b, n]

    where P[b, n] = exp(log_scale_b - rate_b t_n) bank[b, n] is kept from the forward
    (autograd would keep and revisit every intermediate (batch, bands, N) tensor).
    """

    @staticmethod
    def forward(ctx, log_scale, rate, bank, t):
        bands = torch.exp(log_scale[..., None] - rate[..., None] * t) * bank     # (batch, n_bands, N)
        ctx.save_for_backward(bands, t)
        return bands.sum(dim=1)

    @staticmethod
    def backward(ctx, grad):
        bands, t = ctx.saved_tensors
        g = grad[:, :, None]                                                     # (batch, N, 1)
        grad_log_scale = torch.bmm(bands, g)[..., 0]
        grad_rate = -torch.bmm(bands, g * t[:, None])[..., 0]
        return grad_log_scale, grad_rate, None, None
