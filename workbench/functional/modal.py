"""Modal impulse response: a bank of exponentially decaying sinusoids.

    h(t) = sum_k 10**(gain_db_k / 20) * exp(-6.908 t / t60_k) * sin(2 pi f_k t)

Rendered as one real matrix product instead of a K x N grid of transcendentals:
write the sample index n = a*B + b, so with z_k = exp((-d_k + i w_k) / sample_rate)
each mode is Im(z_k**(a B) * z_k**b). The coarse factors (K x A) and fine factors
(K x B) are computed in float64 (phases wrapped to one cycle, so long sounds keep
their phase in float32), then ``h[a, b] = sum_k Im(P[k, a] Q[k, b])`` is a
(A x 2K) @ (2K x B) matmul in the working dtype. Cost is O(K N) multiply-adds at
matmul speed, memory O(N + K sqrt(N)).
"""

from __future__ import annotations

import math

import torch

from ..specs import T60_DECAY
from .scaling import db_to_amplitude

# exp(-30) ~ 1e-13: below this an envelope factor is zero for all purposes; clamping
# keeps products of two factors in the normal float32 range (no denormal slow-down).
_MIN_LOG_ENVELOPE = -30.0


def _factors(cycles: torch.Tensor, decay: torch.Tensor, n: torch.Tensor):
    """cos/sin and envelope of z**n for per-mode cycles/sample and decay/sample.

    Args:
        cycles: (batch, K) cycles per sample.
        decay: (batch, K) amplitude decay rate per sample.
        n: (L,) sample indices, same dtype.

    Returns:
        (envelope * cos(phase), envelope * sin(phase)), each (batch, K, L).
    """
    phase = 2.0 * math.pi * torch.remainder(cycles[..., None] * n, 1.0)
    envelope = torch.exp((-decay[..., None] * n).clamp_min(_MIN_LOG_ENVELOPE))
    return envelope * torch.cos(phase), envelope * torch.sin(phase)


class _ModalBank(torch.autograd.Function):
    """Modal synthesis with a hand-written backward.

    For y[n] = sum_k A_k Im(z_k^n), z_k = exp(-d_k + i w_k) (per-sample units), the
    gradients need S0_k = sum_n g[n] z_k^n and S1_k = sum_n n g[n] z_k^n:

        dL/dA_k = Im S0_k,   dL/dw_k = A_k Re S1_k,   dL/dd_k = -A_k Im S1_k.

    Both sums reuse the block factorisation (n = aB + b): two (K x B) @ (B x A)
    products, instead of autograd's pass back through every K x sqrt(N) element-wise op.
    """

    @staticmethod
    def forward(ctx, amp, cycles, decay, n_samples: int, b_len: int, dtype):
        a_len = int(math.ceil(n_samples / b_len))
        device = amp.device
        coarse_n = torch.arange(a_len, device=device, dtype=torch.float64) * b_len
        fine_n = torch.arange(b_len, device=device, dtype=dtype)
        p_re, p_im = _factors(cycles, decay, coarse_n)                      # (batch, K, A) float64
        q_re, q_im = _factors(cycles.to(dtype), decay.to(dtype), fine_n)    # (batch, K, B)
        left = (torch.cat([p_re, p_im], dim=1) * torch.cat([amp, amp], dim=1)[..., None]).to(dtype)
        right = torch.cat([q_im, q_re], dim=1)                              # Im(PQ) = Pr Qi + Pi Qr
        blocks = torch.bmm(left.transpose(1, 2), right)                     # (batch, A, B)
        ctx.save_for_backward(amp, p_re.to(dtype), p_im.to(dtype), q_re, q_im)
        ctx.shape = (n_samples, a_len, b_len)
        return blocks.reshape(amp.shape[0], a_len * b_len)[:, :n_samples]

    @staticmethod
    def backward(ctx, grad):
        amp, p_re, p_im, q_re, q_im = ctx.saved_tensors
        n_samples, a_len, b_len = ctx.shape
        dtype = grad.dtype
        g = torch.nn.functional.pad(grad, (0, a_len * b_len - n_samples)).reshape(-1, a_len, b_len)
        g_t = g.transpose(1, 2)                                             # (batch, B, A)
        fine_n = torch.arange(b_len, device=grad.device, dtype=dtype)
        coarse_n = torch.arange(a_len, device=grad.device, dtype=dtype) * b_len
        # M0[k, a] = sum_b z^b G[a, b];  M1[k, a] = sum_b b z^b G[a, b]   (complex as re/im)
        q_all = torch.cat([q_re, q_im, q_re * fine_n, q_im * fine_n], dim=1)   # (batch, 4K, B)
        m = torch.bmm(q_all, g_t)                                           # (batch, 4K, A)
        m0_re, m0_im, m1_re, m1_im = m.chunk(4, dim=1)
        # S0 = sum_a P M0;  S1 = sum_a P (aB M0 + M1)
        s0_im = (p_re * m0_im + p_im * m0_re).sum(-1)
        n1_re, n1_im = coarse_n * m0_re + m1_re, coarse_n * m0_im + m1_im
        s1_re = (p_re * n1_re - p_im * n1_im).sum(-1)
        s1_im = (p_re * n1_im + p_im * n1_re).sum(-1)
        a = amp.to(dtype)
        grad_amp = s0_im.to(amp.dtype)
        grad_cycles = (2.0 * math.pi * a * s1_re).to(amp.dtype)            # dw/dcycles = 2 pi
        grad_decay = (-a * s1_im).to(amp.dtype)
        return grad_amp, grad_cycles, grad_decay, None, None, None


def modal_ir(
    freqs_hz: torch.Tensor,
    t60_s: torch.Tensor,
    gains_db: torch.Tensor,
    *,
    n_samples: int,
    sample_rate: float,
    block_size: int | None = None,
    scale: float = 1.0,
) -> torch.Tensor:
    """Impulse response of a bank of damped modes.

    Args:
        freqs_hz: (batch, n_modes) mode frequencies in Hz. Modes at or above
            Nyquist (sample_rate / 2) are silent.
        t60_s: (batch, n_modes) 60 dB decay times in seconds (> 0).
        gains_db: (batch, n_modes) onset amplitudes in dB.
        n_samples: Length of the response.
        sample_rate: Sample rate in Hz.
        block_size: Length B of the fine block (default ~sqrt(n_samples)).
        scale: Constant factor applied to every gain (saves a pass over the output).

    Returns:
        (batch, n_samples) response in the dtype of ``freqs_hz``; h[0] = 0 (causal, sine phase).
        Differentiable with respect to all three inputs.

    Example:
        >>> f = torch.tensor([[440.0]]); t = torch.tensor([[0.5]]); g = torch.tensor([[0.0]])
        >>> modal_ir(f, t, g, n_samples=100, sample_rate=16000).shape
        torch.Size([1, 100])
    """
    batch = freqs_hz.shape[0]
    if freqs_hz.shape[-1] == 0:
        return freqs_hz.new_zeros(batch, n_samples)
    b_len = block_size or max(8, int(math.ceil(math.sqrt(n_samples))))
    f64 = freqs_hz.double()
    audible = (f64 < sample_rate / 2.0).to(torch.float64)
    amp = db_to_amplitude(gains_db.double()) * audible * scale
    cycles = f64 / sample_rate
    decay = T60_DECAY / (t60_s.double() * sample_rate)
    return _ModalBank.apply(amp, cycles, decay, n_samples, b_len, freqs_hz.dtype)
