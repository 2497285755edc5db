"""STFT magnitudes for losses and plots."""

from __future__ import annotations

import functools

import torch


@functools.lru_cache(maxsize=32)
def _hann(n_fft: int, dtype: torch.dtype, device: str) -> torch.Tensor:
    return torch.hann_window(n_fft, periodic=True, dtype=dtype, device=device)


def stft_magnitude(audio: torch.Tensor, *, n_fft: int, hop_length: int | None = None) -> torch.Tensor:
    """Magnitude STFT with a periodic Hann window.

    Args:
        audio: (batch, n_samples) signals.
        n_fft: FFT size (= window length).
        hop_length: Hop in samples (default n_fft // 4, i.e. 75 % overlap).

    Returns:
        (batch, n_fft // 2 + 1, n_frames) magnitudes.
    """
    hop = hop_length or n_fft // 4
    window = _hann(n_fft, audio.dtype, str(audio.device))
    spec = torch.stft(audio, n_fft, hop_length=hop, window=window, center=True,
                      pad_mode="constant", return_complex=True)
    return spec.abs()
