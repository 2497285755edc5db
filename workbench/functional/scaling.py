"""Invertible, gradient-safe maps between unconstrained optimiser variables and physical values.

The optimiser works on unbounded variables ``u``; a bounded sigmoid on the spec's
scale turns them into physical values inside ``[low, high]``:

    value = low + (high - low) * sigmoid(u)                    (linear scale)
    value = exp(log low + (log high - log low) * sigmoid(u))   (log scale)

The sigmoid saturates smoothly at both ends, so gradients stay bounded (unlike a
``log(x)`` map near 0). ``to_unconstrained`` is the exact inverse inside the range;
values on or outside the bounds are pulled in by ``eps`` before the logit.
"""

from __future__ import annotations

import math

import torch

from ..specs import ParamSpec

_EPS = 1e-6

#: Natural-log amplitude per dB: 10 ** (g / 20) = exp(g * NEPERS_PER_DB).
NEPERS_PER_DB = math.log(10.0) / 20.0


def _domain(x, scale: str):
    return torch.log(x) if scale == "log" else x


def to_physical(u: torch.Tensor, spec: ParamSpec, *, low=None, high=None) -> torch.Tensor:
    """Map unconstrained ``u`` to physical values of ``spec`` within [low, high].

    Args:
        u: Unconstrained values, any shape.
        spec: The parameter's spec (scale and default bounds).
        low, high: Optional bounds (floats or tensors broadcastable to ``u``), in
            physical units; default to the spec's mapping range.

    Returns:
        Physical values, same shape as ``u``.
    """
    lo = torch.as_tensor(spec.map_minimum if low is None else low, dtype=u.dtype, device=u.device)
    hi = torch.as_tensor(spec.maximum if high is None else high, dtype=u.dtype, device=u.device)
    a, b = _domain(lo, spec.scale), _domain(hi, spec.scale)
    y = a + (b - a) * torch.sigmoid(u)
    return torch.exp(y) if spec.scale == "log" else y


def to_unconstrained(x: torch.Tensor, spec: ParamSpec, *, low=None, high=None) -> torch.Tensor:
    """Inverse of `to_physical`: physical values to unconstrained variables."""
    x = torch.as_tensor(x)
    if not x.is_floating_point():
        x = x.double()
    lo = torch.as_tensor(spec.map_minimum if low is None else low, dtype=x.dtype, device=x.device)
    hi = torch.as_tensor(spec.maximum if high is None else high, dtype=x.dtype, device=x.device)
    a, b = _domain(lo, spec.scale), _domain(hi, spec.scale)
    x = torch.maximum(torch.minimum(x, hi), lo)
    p = ((_domain(x, spec.scale) - a) / (b - a)).clamp(_EPS, 1 - _EPS)
    return torch.log(p) - torch.log1p(-p)


def db_to_amplitude(gain_db: torch.Tensor) -> torch.Tensor:
    """10 ** (gain_db / 20), gradient-safe."""
    return torch.exp(gain_db * NEPERS_PER_DB)


def amplitude_to_db(amplitude: torch.Tensor, *, floor: float = 1e-12) -> torch.Tensor:
    """20 log10(max(|amplitude|, floor))."""
    return 20.0 * torch.log10(amplitude.abs().clamp_min(floor))
