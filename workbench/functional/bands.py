"""Frequency bands given by centre frequencies: smooth, complementary band weights.

Band b's weight over frequency is a triangle on a log-frequency axis that peaks at
its centre and reaches zero at the neighbouring centres; the first and last bands
extend flat to DC and Nyquist. The weights sum to 1 at every frequency, so

* interpolating band gains in dB with them gives a smooth response curve, and
* splitting a signal's spectrum with them gives bands that add up to the signal.
"""

from __future__ import annotations

import functools

import numpy as np
import torch


@functools.lru_cache(maxsize=32)
def _weights_np(band_freqs_hz: tuple[float, ...], n_fft: int, sample_rate: float) -> np.ndarray:
    centres = np.log(np.asarray(band_freqs_hz, dtype=np.float64))
    if centres.ndim != 1 or len(centres) == 0 or np.any(np.diff(centres) <= 0):
        raise ValueError(f"band_freqs_hz must be increasing and non-empty, got {band_freqs_hz}")
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    logf = np.log(np.maximum(bins, 1e-3))
    eye = np.eye(len(centres))
    return np.stack([np.interp(logf, centres, eye[b]) for b in range(len(centres))])


@functools.lru_cache(maxsize=32)
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


@functools.lru_cache(maxsize=16)
def _white_spectrum_cpu(n_fft: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    n_bins = n_fft // 2 + 1
    spec = torch.complex(torch.randn(n_bins, generator=gen, dtype=torch.float64),
                         torch.randn(n_bins, generator=gen, dtype=torch.float64)) / np.sqrt(2.0)
    spec[0] = spec[0].real * np.sqrt(2.0)
    if n_fft % 2 == 0:
        spec[-1] = spec[-1].real * np.sqrt(2.0)
    return spec * np.sqrt(n_fft)   # irfft (1/n normalisation) -> unit variance per sample


@functools.lru_cache(maxsize=16)
def _white_spectrum(n_fft: int, seed: int, dtype, device) -> torch.Tensor:
    return _white_spectrum_cpu(n_fft, seed).to(dtype=dtype, device=device)


def white_spectrum(n_fft: int, *, seed: int, dtype=torch.complex64, device=None) -> torch.Tensor:
    """Spectrum (n_fft // 2 + 1,) of a fixed white noise whose ``irfft`` has unit variance.

    Cached per (length, seed, dtype, device): treat the result as read-only.
    """
    return _white_spectrum(int(n_fft), int(seed), dtype, torch.device(device or "cpu"))
