"""Stationary background noise shaped by band gains."""

from __future__ import annotations

import torch

from .bands import band_weights, interpolate_bands, white_spectrum
from .scaling import NEPERS_PER_DB
from .spectral import complex_dtype

#: Largest band-weight matrix `noise_spectrum` multiplies by (16 bands x ~1 M bins in float32,
#: about 24 s at 44.1 kHz); longer spectra use `interpolate_bands` (same values, 12 bytes a bin).
_MATRIX_BYTES = 64 * 2**20


def noise_spectrum(
    band_freqs_hz,
    gains_db: torch.Tensor,
    *,
    n_fft: int,
    sample_rate: float,
    seed: int = 0,
) -> torch.Tensor:
    """Spectrum of stationary noise whose level follows the band gains.

    The gains (dB) are interpolated smoothly over log frequency; if every band has
    gain g, the noise is white with RMS 10**(g / 20).

    Args:
        band_freqs_hz: (n_bands,) increasing centre frequencies in Hz.
        gains_db: (batch, n_bands) band levels in dB.
        n_fft: Length of the periodic noise (the FFT length it will be used at).
        sample_rate: Sample rate in Hz.
        seed: Seed of the underlying white noise (the same for every batch item).

    Returns:
        (batch, n_fft // 2 + 1) complex spectrum; ``torch.fft.irfft(., n_fft)`` is the noise.
    """
    # dB -> amplitude, interpolated over log frequency (scale the few gains, not the bins). The
    # weight matrix is faster (a fit's every step, with gradients); past _MATRIX_BYTES its
    # table would cost more memory than the sound, so long renders interpolate pairwise.
    nepers = gains_db * NEPERS_PER_DB
    if len(band_freqs_hz) * (n_fft // 2 + 1) * gains_db.element_size() <= _MATRIX_BYTES:
        weights = band_weights(band_freqs_hz, n_fft=n_fft, sample_rate=sample_rate,
                               dtype=gains_db.dtype, device=gains_db.device)
        magnitude = torch.exp(nepers @ weights)
    else:
        magnitude = interpolate_bands(band_freqs_hz, nepers, n_fft=n_fft, sample_rate=sample_rate).exp()
    white = white_spectrum(n_fft, seed=seed, dtype=complex_dtype(gains_db.dtype), device=gains_db.device)
    return magnitude * white


def filtered_noise(band_freqs_hz, gains_db: torch.Tensor, *, n_samples: int, sample_rate: float,
                   seed: int = 0) -> torch.Tensor:
    """Time-domain version of `noise_spectrum`: (batch, n_samples)."""
    spec = noise_spectrum(band_freqs_hz, gains_db, n_fft=n_samples, sample_rate=sample_rate, seed=seed)
    return torch.fft.irfft(spec, n_samples)
