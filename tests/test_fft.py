"""The renderer's packed real FFTs (`workbench.functional.spectral`) equal torch.fft, values and gradients."""

from __future__ import annotations

import pytest
import torch

from workbench.functional.spectral import fast_fft_length, irfft, rfft


@pytest.mark.parametrize("n_samples,n_fft", [(13, 20), (64, 64), (1000, 1024), (44100, 92160), (7, 9)])
def test_rfft_and_irfft_match_torch(n_samples, n_fft):
    gen = torch.Generator().manual_seed(n_fft)
    x = torch.randn(2, 3, n_samples, dtype=torch.float64, generator=gen)
    spectrum = torch.randn(2, 3, n_fft // 2 + 1, dtype=torch.complex128, generator=gen)  # DC/Nyquist not real
    torch.testing.assert_close(rfft(x, n_fft), torch.fft.rfft(x, n_fft), rtol=0, atol=1e-10 * n_fft)
    torch.testing.assert_close(irfft(spectrum, n_fft), torch.fft.irfft(spectrum, n_fft), rtol=0, atol=1e-12)
    x32 = x.float()
    torch.testing.assert_close(irfft(rfft(x32, n_fft), n_fft)[..., :n_samples], x32, rtol=0, atol=1e-5)


@pytest.mark.parametrize("n_fft", [16, 18])
def test_rfft_and_irfft_gradients(n_fft):
    x = torch.randn(2, 11, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: torch.view_as_real(rfft(x, n_fft)), (x,))
    spectrum = torch.randn(2, n_fft // 2 + 1, dtype=torch.complex128, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: irfft(s, n_fft), (spectrum,))


@pytest.mark.parametrize("n", [1, 2, 63, 65, 1001, 88199, 88200, 705599])
def test_fast_fft_length_is_even_and_long_enough(n):
    length = fast_fft_length(n)
    assert length >= n and length % 2 == 0
    assert length <= 2 * n + 64                       # never wastefully long
