"""Modal impulse response: a bank of exponentially decaying sinusoids.

    h(t) = sum_k 10**(gain_db_k / 20) * exp(-6.908 t / t60_k) * sin(2 pi f_k t)

Rendered as one real matrix product instead of a K x N grid of transcendentals:
write the sample index n = a*B + b, so with z_k = exp((-d_k + i w_k) / sample_rate)
each mode is Im(z_k**(a B) * z_k**b). The coarse factors P (K x A) are computed in
float64 (so a long sound keeps its phase in float32), the fine factors Q (K x B) in
the working dtype, then ``h[a, b] = sum_k Im(P[k, a] Q[k, b])`` is a
(A x 2K) @ (2K x B) matmul in the working dtype. Cost is O(K N) multiply-adds at
matmul speed, memory O(N + K sqrt(N)). Both derivatives are hand-written on the same
factors: reverse mode (`_ModalBank.backward`) and forward mode (`jvp`: torch.autograd.forward_ad,
and `torch.func.jvp` / `jacfwd` / `vmap` through `_ModalBankTransforms`).
"""

from __future__ import annotations

import math

import torch

from ..specs import T60_DECAY
from .scaling import NEPERS_PER_DB

# exp(-30) ~ 1e-13: below this an envelope factor is zero for all purposes; clamping
# keeps products of two factors in the normal float32 range (no denormal slow-down).
_MIN_LOG_ENVELOPE = -30.0


def _powers(out_re: torch.Tensor, out_im: torch.Tensor, omega: torch.Tensor, decay: torch.Tensor,
            n: torch.Tensor, log_amp: torch.Tensor | None = None) -> None:
    """Write Re and Im of amp * z**n into ``out_re``, ``out_im`` (no autograd).

    Args:
        out_re, out_im: (batch, K, L) outputs, in the dtype of ``n``.
        omega: (batch, K) radians per sample.
        decay: (batch, K) amplitude decay rate per sample.
        n: (L,) sample indices.
        log_amp: (batch, K) natural log of each mode's amplitude (None: 1).
    """
    phase = omega[..., None] * n    # float64 for the coarse factors: exact phase over long sounds
    envelope = (-decay[..., None] * n).clamp_min_(_MIN_LOG_ENVELOPE)
    if log_amp is not None:
        envelope.add_(log_amp[..., None])
    envelope.exp_()
    torch.mul(torch.cos(phase), envelope, out=out_re)
    torch.mul(torch.sin(phase), envelope, out=out_im)


def _bank(freqs_hz, t60_s, gains_db, sample_rate: float, scale: float, n_samples: int, b_len: int):
    """The render: (y, left, right, decay_per_t60), the last three kept for the derivatives."""
    dtype, device = freqs_hz.dtype, freqs_hz.device
    batch, k = freqs_hz.shape
    f64 = freqs_hz.double()
    omega = f64 * (2.0 * math.pi / sample_rate)
    decay = T60_DECAY / (t60_s.double() * sample_rate)
    silent = torch.zeros_like(f64).masked_fill_(f64 >= sample_rate / 2.0, -math.inf)   # log of the Nyquist mask
    log_amp = gains_db.double().mul(NEPERS_PER_DB).add_(silent + math.log(scale))
    a_len = math.ceil(n_samples / b_len)
    coarse_n = torch.arange(a_len, device=device, dtype=torch.float64) * b_len
    fine_n = torch.arange(b_len, device=device, dtype=dtype)
    # left = [Re P; Im P] with P[k, a] = A_k z_k^(aB) (float64, then cast);
    # right = [Im Q; Re Q] with Q[k, b] = z_k^b, so that left^T @ right = Im(P^T Q).
    left = torch.empty(batch, 2 * k, a_len, dtype=torch.float64, device=device)
    _powers(left[:, :k], left[:, k:], omega, decay, coarse_n, log_amp)
    left = left.to(dtype)
    right = torch.empty(batch, 2 * k, b_len, dtype=dtype, device=device)
    _powers(right[:, k:], right[:, :k], omega.to(dtype), decay.to(dtype), fine_n)
    blocks = torch.bmm(left.transpose(1, 2), right)                     # (batch, A, B)
    return blocks.reshape(batch, a_len * b_len)[:, :n_samples], left, right, (decay / t60_s.double()).to(dtype)


def _bank_vjp(left, right, decay_per_t60, shape, grad):
    """Reverse mode: dL/d(freqs_hz, t60_s, gains_db) from dL/dy (batch, n_samples)."""
    n_samples, a_len, b_len, sample_rate = shape
    k = left.shape[1] // 2
    g = torch.nn.functional.pad(grad, (0, a_len * b_len - n_samples)).reshape(-1, a_len, b_len)
    fine_n = torch.arange(b_len, device=grad.device, dtype=grad.dtype)
    coarse_n = torch.arange(a_len, device=grad.device, dtype=grad.dtype) * b_len
    # [Im M0; Re M0; Im M1; Re M1] with M0[k, a] = sum_b z^b G[a, b], M1 = sum_b b z^b G[a, b]
    m = torch.bmm(torch.cat([right, right * fine_n], dim=1), g.transpose(1, 2))   # (batch, 4K, A)
    m0, m1 = m[:, :2 * k], m[:, 2 * k:]
    v = m1.add_(m0 * coarse_n)          # [Im; Re] of aB M0 + M1; S1 = sum_a P (aB M0 + M1)
    s0_im = (left * m0).reshape(-1, 2, k, a_len).sum((1, 3))
    s1_im = (left * v).reshape(-1, 2, k, a_len).sum((1, 3))
    s1_re = (left[:, :k] * v[:, k:]).sum(-1) - (left[:, k:] * v[:, :k]).sum(-1)
    # dw/df = 2 pi / sr;  dd/dt60 = -d / t60;  dlog_amp/dgain_db = NEPERS_PER_DB
    return s1_re * (2.0 * math.pi / sample_rate), s1_im * decay_per_t60, s0_im * NEPERS_PER_DB


def _bank_jvp(left, right, decay_per_t60, shape, d_freqs, d_t60, d_gains):
    """Forward mode: dy (batch, n_samples) from tangents of (freqs_hz, t60_s, gains_db) (None: zero).

    Pure torch ops (no in-place writes), so it also runs under `torch.func.vmap` (`jacfwd`).
    """
    n_samples, a_len, b_len, sample_rate = shape
    k = left.shape[1] // 2
    zero = torch.zeros_like(decay_per_t60)
    # c = -dd + i dw (per sample) and dlog_amp; Nyquist-silenced modes have P = 0.
    c_re = (zero if d_t60 is None else d_t60 * decay_per_t60)[..., None]
    c_im = (zero if d_freqs is None else d_freqs * (2.0 * math.pi / sample_rate))[..., None]
    d_log = (zero if d_gains is None else d_gains * NEPERS_PER_DB)[..., None]
    p_re, p_im = left[:, :k], left[:, k:]
    coarse_n = torch.arange(a_len, device=left.device, dtype=left.dtype) * b_len
    fine_n = torch.arange(b_len, device=left.device, dtype=left.dtype)
    # n = aB + b: P (dlog + aB c) pairs with Q, and P c pairs with b Q.
    u_re, u_im = d_log + coarse_n * c_re, coarse_n * c_im
    lhs = torch.cat([p_re * u_re - p_im * u_im, p_re * u_im + p_im * u_re,
                     p_re * c_re - p_im * c_im, p_re * c_im + p_im * c_re], dim=1)   # [Re; Im] (batch, 4K, A)
    rhs = torch.cat([right, right * fine_n], dim=1)                                   # [Im; Re] (batch, 4K, B)
    return torch.bmm(lhs.transpose(1, 2), rhs).reshape(-1, a_len * b_len)[:, :n_samples]


class _ModalBank(torch.autograd.Function):
    """Modal synthesis with hand-written backward and forward-mode (jvp) rules.

    For y[n] = sum_k Im(A_k z_k^n), A_k = exp(log_amp_k), z_k = exp(-d_k + i w_k)
    (per-sample units), the gradients need S0_k = sum_n g[n] A_k z_k^n and
    S1_k = sum_n n g[n] A_k z_k^n:

        dL/dlog_amp_k = Im S0_k,   dL/dw_k = Re S1_k,   dL/dd_k = -Im S1_k,

    then the chain rule to (freqs_hz, t60_s, gains_db). Both sums reuse the block
    factorisation (n = aB + b): one (4K x B) @ (B x A) product, instead of autograd's
    pass back through every K x sqrt(N) element-wise op.

    Forward mode (`torch.autograd.forward_ad`): with c_k = -dd_k + i dw_k,
    dy[n] = sum_k Im(A_k z_k^n (dlog_amp_k + n c_k)), one (A x 4K) @ (4K x B) product
    on the same factors. `_ModalBankTransforms` is the same for `torch.func`.
    """

    @staticmethod
    def forward(ctx, freqs_hz, t60_s, gains_db, sample_rate: float, scale: float, n_samples: int, b_len: int):
        y, left, right, decay_per_t60 = _bank(freqs_hz, t60_s, gains_db, sample_rate, scale, n_samples, b_len)
        ctx.save_for_backward(left, right, decay_per_t60)
        ctx.save_for_forward(left, right, decay_per_t60)
        ctx.shape = (n_samples, left.shape[-1], b_len, sample_rate)
        return y

    @staticmethod
    def backward(ctx, grad):
        return (*_bank_vjp(*ctx.saved_tensors, ctx.shape, grad), None, None, None, None)

    @staticmethod
    def jvp(ctx, d_freqs, d_t60, d_gains, *_):
        return _bank_jvp(*ctx.saved_tensors, ctx.shape, d_freqs, d_t60, d_gains)


class _ModalBankTransforms(torch.autograd.Function):
    """`_ModalBank` for `torch.func` transforms (jvp, jacfwd, vmap, grad, jacrev).

    torch.func needs the ``setup_context`` style, which may save only inputs and
    outputs, so the factors are extra non-differentiable outputs; the ``vmap`` rule
    folds the mapped dimension into the batch. Used only while a transform is active:
    plain calls keep `_ModalBank` (no per-call signature binding).
    """

    @staticmethod
    def forward(freqs_hz, t60_s, gains_db, sample_rate: float, scale: float, n_samples: int, b_len: int):
        return _bank(freqs_hz, t60_s, gains_db, sample_rate, scale, n_samples, b_len)

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, left, right, decay_per_t60 = output
        ctx.mark_non_differentiable(left, right, decay_per_t60)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(left, right, decay_per_t60)
        ctx.save_for_forward(left, right, decay_per_t60)
        ctx.shape = (inputs[5], left.shape[-1], inputs[6], inputs[3])

    @staticmethod
    def backward(ctx, grad, *_):
        if grad is None:
            return None, None, None, None, None, None, None
        return (*_bank_vjp(*ctx.saved_tensors, ctx.shape, grad), None, None, None, None)

    @staticmethod
    def jvp(ctx, d_freqs, d_t60, d_gains, *_):
        return _bank_jvp(*ctx.saved_tensors, ctx.shape, d_freqs, d_t60, d_gains), None, None, None

    @staticmethod
    def vmap(info, in_dims, freqs_hz, t60_s, gains_db, sample_rate, scale, n_samples, b_len):
        size = info.batch_size
        args = [x.movedim(d, 0) if d is not None else x.expand(size, *x.shape)
                for x, d in zip((freqs_hz, t60_s, gains_db), in_dims[:3])]
        batch = args[0].shape[1]
        flat = [x.reshape(size * batch, *x.shape[2:]) for x in args]
        out = _ModalBankTransforms.apply(*flat, sample_rate, scale, n_samples, b_len)
        return tuple(o.reshape(size, batch, *o.shape[1:]) for o in out), (0, 0, 0, 0)


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
        scale: Constant factor (> 0) applied to every gain (saves a pass over the output).

    Returns:
        (batch, n_samples) response in the dtype of ``freqs_hz``; h[0] = 0 (causal, sine phase).
        Differentiable with respect to all three inputs, in reverse and forward mode
        (`torch.autograd.forward_ad`, `torch.func.jvp`, `jacfwd`, `vmap`).

    Example:
        >>> f = torch.tensor([[440.0]]); t = torch.tensor([[0.5]]); g = torch.tensor([[0.0]])
        >>> modal_ir(f, t, g, n_samples=100, sample_rate=16000).shape
        torch.Size([1, 100])
    """
    batch = freqs_hz.shape[0]
    if freqs_hz.shape[-1] == 0:
        return freqs_hz.new_zeros(batch, n_samples)
    b_len = block_size or max(8, math.ceil(math.sqrt(n_samples)))
    args = (freqs_hz, t60_s, gains_db, float(sample_rate), float(scale), int(n_samples), b_len)
    if torch._C._are_functorch_transforms_active():    # the check autograd.Function.apply makes itself
        return _ModalBankTransforms.apply(*args)[0]
    return _ModalBank.apply(*args)
