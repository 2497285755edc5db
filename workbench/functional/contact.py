"""Contact force: a sum of Gaussian-approximated Hertz pulses (DiffImpact eq. 2-3).

Pulse i, with onset t_i, contact duration tau_i and impulse m_i:

    C_i(t) = exp(-6 / tau_i**2 * (t - t_i - tau_i / 2)**2),   F(t) = sum_i m_i C_i(t) / integral(C_i)

Each pulse is lowered by exp(-13.5) ~ 1.4e-6 of its peak (its value at
t_i - tau_i and t_i + 2 tau_i) and clipped at zero, so the force is exactly zero
before t_i - tau_i (causal) and continuous in every parameter. Normalising by the pulse's discrete integral makes the impulse
exactly m_i at every sample rate, so a short pulse convolved with a modal response
leaves the mode gains in dBFS per unit impulse.
"""

from __future__ import annotations

import math

import torch

# The pulse support in units of tau, relative to t_i: [-1, 2] (|x| <= 1.5 around the peak).
_SUPPORT_BEFORE = 1.0
_SUPPORT_AFTER = 2.0
# Value of the Gaussian at the support edges (|x| = 1.5), subtracted so the pulse
# reaches zero continuously there (a hard cut would make the render jump when t_i moves).
_EDGE = math.exp(-6.0 * 1.5 ** 2)


def contact_force(
    times_s: torch.Tensor,
    contacts_s: torch.Tensor,
    magnitudes: torch.Tensor,
    *,
    n_samples: int,
    sample_rate: float,
) -> torch.Tensor:
    """Render the contact force over time.

    Args:
        times_s: (batch, n_impacts) pulse onsets t_i in seconds.
        contacts_s: (batch, n_impacts) contact durations tau_i in seconds (> 0).
        magnitudes: (batch, n_impacts) impulses m_i (integral of force over seconds).
        n_samples: Output length.
        sample_rate: Sample rate in Hz.

    Returns:
        (batch, n_samples) force, in impulse units per second.

    Example:
        >>> f = contact_force(torch.tensor([[0.01]]), torch.tensor([[1e-3]]), torch.tensor([[1.0]]),
        ...                   n_samples=882, sample_rate=44100)
        >>> round(float(f.sum()) / 44100, 6)
        1.0
    """
    batch, n_impacts = times_s.shape
    dtype, device = times_s.dtype, times_s.device
    force = times_s.new_zeros(batch, n_samples)
    if n_impacts == 0:
        return force
    span = _SUPPORT_BEFORE + _SUPPORT_AFTER
    width = int(math.ceil(span * float(contacts_s.detach().max()) * sample_rate)) + 3
    start = torch.floor((times_s.detach() - _SUPPORT_BEFORE * contacts_s.detach()) * sample_rate).long()
    idx = start[..., None] + torch.arange(width, device=device)             # (batch, M, W)
    t = idx.to(dtype) / sample_rate
    tau = contacts_s[..., None]
    x = (t - times_s[..., None] - 0.5 * tau) / tau
    pulse = torch.relu(torch.exp(-6.0 * x * x) - _EDGE)   # continuous, zero outside the support
    area = (pulse.sum(-1, keepdim=True) / sample_rate).clamp_min(torch.finfo(dtype).tiny)
    values = pulse * (magnitudes[..., None] / area)
    in_range = (idx >= 0) & (idx < n_samples)
    values = values * in_range
    idx = idx.clamp(0, n_samples - 1)
    return force.scatter_add(1, idx.reshape(batch, -1), values.reshape(batch, -1))
