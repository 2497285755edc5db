"""The residual: exponentially decaying band noise excited by each strike (Su et al. 2023, eq. 5-6).

    IR_residual(t) = sum_b 10**(gain_db_b / 20) * exp(-6.908 t / t60_b) * n_b(t) / sqrt(sample_rate)

the same form as the room's IR (`workbench.functional.reverb.reverb_ir`, which renders
it) on its own noise (seed `RESIDUAL_SEED`, independent of the room's and of the
background noise). The synthesiser convolves it with the contact force F like a modal
bank, so it starts at each strike with the strike's magnitude and contact low-pass;
per unit impulse of force, band b starts as noise of power spectral density
10**(gain_db_b / 10) per Hz (two-sided, at the band's centre), at every sample rate.
"""

from __future__ import annotations

import torch

from .reverb import reverb_ir

#: Seed of the residual's noise (the background noise uses 0, the room 1).
RESIDUAL_SEED = 2


def residual_ir(band_freqs_hz, gains_db: torch.Tensor, t60_s: torch.Tensor, *, n_samples: int,
                sample_rate: float, seed: int = RESIDUAL_SEED) -> torch.Tensor:
    """Render the residual's impulse response (per unit impulse of contact force, in the
    convolution convention of `workbench.synth.ImpactSynth.modal_spectrum`).

    Args:
        band_freqs_hz: (n_bands,) increasing band centre frequencies in Hz.
        gains_db: (batch, n_bands) residual onset levels in dB (`workbench.specs.RESIDUAL_GAIN_DB`).
        t60_s: (batch, n_bands) decay times in seconds (`workbench.specs.RESIDUAL_T60_S`).
        n_samples: Length of the IR.
        sample_rate: Sample rate in Hz.
        seed: Seed of the underlying noise.

    Returns:
        (batch, n_samples) impulse response, zero at t = 0.

    Example:
        >>> ir = residual_ir((1000.0,), torch.tensor([[-20.0]]), torch.tensor([[0.05]]),
        ...                  n_samples=1600, sample_rate=16000)
        >>> tuple(ir.shape), float(ir[0, 0]), bool(ir[0, :400].abs().max() > 100 * ir[0, 1200:].abs().max())
        ((1, 1600), 0.0, True)
    """
    return reverb_ir(band_freqs_hz, gains_db, t60_s, n_samples=n_samples, sample_rate=sample_rate, seed=seed)
