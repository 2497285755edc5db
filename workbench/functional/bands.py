"""Frequency bands given by centre frequencies: smooth, complementary band weights.

Band b's weight over frequency is a triangle on a log-frequency axis that peaks at
its centre and reaches zero at the neighbouring centres; the first and last bands
extend flat to DC and Nyquist. The weights sum to 1 at every frequency, so

* interpolating band gains in dB with them gives a smooth response curve, and
* splitting a signal's spectrum with them gives bands that add up to the signal.
"""

from __future__ import annotations


import numpy as np
import torch

from ..budgets import TABLE_CACHE_BYTES
from ..memo import bytes_cache


@bytes_cache(TABLE_CACHE_BYTES.limit)
def _weights_np(band_freqs_hz: tuple[float, ...], n_fft: int, sample_rate: float) -> np.ndarray:
    centres = np.log(np.asarray(band_freqs_hz, dtype=np.float64))
    if centres.ndim != 1 or len(centres) == 0 or np.any(np.diff(centres) <= 0):
        raise ValueError(f"band_freqs_hz must be increasing and non-empty, got {band_freqs_hz}")
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    logf = np.log(np.maximum(bins, 1e-3))
    eye = np.eye(len(centres))
    return np.stack([np.interp(logf, centres, eye[b]) for b in range(len(centres))])


@bytes_cache(TABLE_CACHE_BYTES.limit)
def _weights_tensor(key: tuple[float, ...], n_fft: int, sample_rate: float, dtype, device) -> torch.Tensor:
    return torch.as_tensor(_weights_np(key, n_fft, sample_rate), dtype=dtype, device=device)


def band_weights(
    band_freqs_hz, *, n_fft: int, sample_rate: float, dtype=torch.float32, device=None
) -> torch.Tensor:
    """Complementary band weights over the bins of an rfft of length ``n_fft``.

    Args:
        band_freqs_hz: Increasing band centre frequencies in Hz, length n_bands.
        n_fft: FFT length.
        sample_rate: Sample rate in Hz.

    Returns:
        (n_bands, n_fft // 2 + 1) weights, summing to 1 over bands.
    """
    key = tuple(float(f) for f in band_freqs_hz)
    return _weights_tensor(key, int(n_fft), float(sample_rate), dtype, torch.device(device or "cpu"))


@bytes_cache(TABLE_CACHE_BYTES.limit)
def _interpolation(key: tuple[float, ...], n_fft: int, sample_rate: float, dtype, device):
    centres = np.log(np.asarray(key, dtype=np.float64))
    logf = np.log(np.maximum(np.fft.rfftfreq(n_fft, 1.0 / sample_rate), 1e-3))
    if len(centres) == 1:
        return (torch.zeros(len(logf), dtype=torch.long, device=device),
                torch.zeros(len(logf), dtype=dtype, device=device))
    lower = np.clip(np.searchsorted(centres, logf, side="right") - 1, 0, len(centres) - 2)
    frac = np.clip((logf - centres[lower]) / (centres[lower + 1] - centres[lower]), 0.0, 1.0)
    return (torch.as_tensor(lower, dtype=torch.long, device=device),
            torch.as_tensor(frac, dtype=dtype, device=device))


def interpolate_bands(band_freqs_hz, values: torch.Tensor, *, n_fft: int, sample_rate: float) -> torch.Tensor:
    """``values @ band_weights(...)`` without the (n_bands, n_bins) matrix.

    The weights are linear interpolation over log frequency, flat beyond the end bands,
    so each bin mixes two neighbouring bands: 12 bytes of table per bin instead of
    4 x n_bands (a 4-million-sample noise spectrum: 50 MB instead of 270 MB).

    Args:
        band_freqs_hz: (n_bands,) increasing centre frequencies in Hz.
        values: (batch, n_bands) per-band values (e.g. gains in dB); differentiable.

    Returns:
        (batch, n_fft // 2 + 1) values at every bin.

    Example:
        >>> v = torch.tensor([[0.0, 1.0, 5.0]])
        >>> w = band_weights((100.0, 1000.0, 8000.0), n_fft=512, sample_rate=16000)
        >>> bool(torch.allclose(interpolate_bands((100.0, 1000.0, 8000.0), v, n_fft=512, sample_rate=16000), v @ w))
        True
    """
    key = tuple(float(f) for f in band_freqs_hz)
    if len(key) == 0 or any(b <= a for a, b in zip(key, key[1:])):
        raise ValueError(f"band_freqs_hz must be increasing and non-empty, got {band_freqs_hz}")
    lower, frac = _interpolation(key, int(n_fft), float(sample_rate), values.dtype, values.device)
    if len(key) == 1:
        return values[:, :1].expand(values.shape[0], len(frac))
    low, high = values[:, lower], values[:, lower + 1]
    return torch.lerp(low, high, frac)


@bytes_cache(TABLE_CACHE_BYTES.limit)
def _white_spectrum_cpu(n_fft: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    n_bins = n_fft // 2 + 1
    spec = torch.complex(torch.randn(n_bins, generator=gen, dtype=torch.float64),
                         torch.randn(n_bins, generator=gen, dtype=torch.float64)) / np.sqrt(2.0)
    spec[0] = spec[0].real * np.sqrt(2.0)
    if n_fft % 2 == 0:
        spec[-1] = spec[-1].real * np.sqrt(2.0)
    return spec * np.sqrt(n_fft)   # irfft (1/n normalisation) -> unit variance per sample


@bytes_cache(TABLE_CACHE_BYTES.limit)
def _white_spectrum(n_fft: int, seed: int, dtype, device) -> torch.Tensor:
    return _white_spectrum_cpu(n_fft, seed).to(dtype=dtype, device=device)


def white_spectrum(n_fft: int, *, seed: int, dtype=torch.complex64, device=None) -> torch.Tensor:
    """Spectrum (n_fft // 2 + 1,) of a fixed white noise whose ``irfft`` has unit variance.

    Cached per (length, seed, dtype, device): treat the result as read-only.
    """
    return _white_spectrum(int(n_fft), int(seed), dtype, torch.device(device or "cpu"))
