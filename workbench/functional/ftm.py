"""The FTM rectangular drum: a damped, stiff membrane solved by the functional
transformation method (Rabenstein), as parameterised in the PNP paper (Han, Lostanlen
& Lagrange, ICASSP 2023; facts in ``shared/docs/reference_implementations.md`` §8).

Parameters θ = (omega_rad_s, tau_s, p, D, alpha), last axis, physical units:
ω the fundamental's angular frequency (rad/s), τ its decay time (s, e-folding), p the
frequency-dependent damping, D the dispersion (stiffness: inharmonicity), α the aspect
ratio l2 / l1. With l1 = π, l2 = π α, β = α + 1/α and, for mode (μ1, μ2),
n = μ1² + μ2²/α², the paper's S, EI = S⁴, T, d1 = 2(1 − pβ)/τ, d3 = −2pα/τ give

    σ = (d1 − d3 n)/2,   Ω² = EI n² + T n − σ²,   amplitude = h K_strike K_pickup / (Ω N),

with K = sin(μ1 π x1) sin(μ2 π x2), N = l1 l2 / 4 and h = 0.03. Expanded, the same
quantities read (e = α n − β ≥ 0, r = α n / β ≥ 1, both 0 and 1 at the (1, 1) mode)

    σ = (1 + p e) / τ,   Ω² = ω² r (1 + D² β e) + ((1 − p β) / τ)² (r − 1),

which is how they are computed here (no cancellation between large terms). So the
(1, 1) mode rings at exactly ω with decay 1/τ for every p, D, α; p > 0 makes higher
modes decay faster, D > 0 stretches the partials (inharmonicity).

In the workbench's modal vocabulary (`ftm_modes`): freqs_hz = Ω/2π, t60_s = 6.908/σ,
gains_db = 20 log10 |amplitude| (per unit, sample-rate independent). `render_ftm`
renders them with `workbench.functional.modal.modal_ir` (modes at or above Nyquist are
silent) and peak-normalises, as the reference does. Everything is differentiable in θ,
in reverse and forward mode (`torch.func.jvp`, `jacfwd`), and batched over leading dims.

The normalised coordinates ν ∈ [−1, 1]⁵ of the PNP loss are a min-max scaling of
(log10 ω, τ, log10 p, log10 D, α) over the paper's ranges (`FTM_SPECS`):
`theta_to_nu` / `nu_to_theta`; `sample_theta` draws θ uniformly in that box.

Shape:
    theta: (..., 5) -> modes (..., n_modes_per_axis²) -> audio (..., n_samples).

Example:
    >>> theta = torch.tensor([2 * math.pi * 200.0, 0.3, 1e-3, 1e-3, 0.8], dtype=torch.float64)
    >>> freqs_hz, t60_s, gains_db, audible = ftm_modes(theta, sample_rate=22050)
    >>> freqs_hz.shape, round(float(freqs_hz[0]), 6), round(float(t60_s[0]), 4)
    (torch.Size([100]), 200.0, 2.0723)
    >>> render_ftm(theta, sample_rate=22050, n_samples=4096).abs().max().item()
    1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..errors import WorkbenchError
from ..specs import T60_DECAY, ParamSpec
from .modal import modal_ir

#: θ in the paper's ranges (ICASSP'23 data set): log-uniform ω, p, D; uniform τ, α.
#: The paper samples α on (0, 1] (its test set reaches 0.006); 0.01 keeps β = α + 1/α finite.
FTM_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec(name="omega_rad_s", unit="rad/s", minimum=10 ** 2.4, maximum=10 ** 3.8, scale="log",
              default=2 * math.pi * 150.0, doc="Angular frequency of the fundamental, the (1, 1) mode."),
    ParamSpec(name="tau_s", unit="s", minimum=0.07, maximum=0.8, scale="linear",
              default=0.4, doc="Decay time (e-folding) of the fundamental; its T60 is 6.908 tau."),
    ParamSpec(name="p", unit="", minimum=1e-5, maximum=10 ** -0.7, scale="log",
              default=1e-2, doc="Frequency-dependent damping: higher modes decay faster."),
    ParamSpec(name="D", unit="", minimum=1e-5, maximum=10 ** -0.5, scale="log",
              default=1e-2, doc="Dispersion (stiffness): stretches the partials, inharmonicity."),
    ParamSpec(name="alpha", unit="", minimum=0.01, maximum=1.0, scale="linear",
              default=0.7, doc="Aspect ratio of the membrane's sides (1: square)."),
)
#: Names of θ's entries, in order.
THETA_NAMES: tuple[str, ...] = tuple(s.name for s in FTM_SPECS)
#: The reference's constants: excitation/pickup scale h, side l1 = π, modes per axis, positions.
FTM_H = 0.03
N_MODES_PER_AXIS = 10
DEFAULT_POSITION = (0.4, 0.4)


def _check_theta(theta: torch.Tensor) -> torch.Tensor:
    if not isinstance(theta, torch.Tensor) or theta.ndim < 1 or theta.shape[-1] != len(FTM_SPECS):
        shape = tuple(theta.shape) if isinstance(theta, torch.Tensor) else type(theta).__name__
        raise WorkbenchError(f"theta: expected a tensor of shape (..., {len(FTM_SPECS)}) "
                             f"{THETA_NAMES}, got {shape}")
    return theta


def _bounds(dtype: torch.dtype, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(is_log, lo, hi) over θ's entries, lo/hi on the ν axis's scale (log10 where log)."""
    is_log = torch.tensor([s.scale == "log" for s in FTM_SPECS], device=device)
    lo = torch.tensor([math.log10(s.minimum) if s.scale == "log" else s.minimum for s in FTM_SPECS],
                      dtype=dtype, device=device)
    hi = torch.tensor([math.log10(s.maximum) if s.scale == "log" else s.maximum for s in FTM_SPECS],
                      dtype=dtype, device=device)
    return is_log, lo, hi


def theta_to_nu(theta: torch.Tensor) -> torch.Tensor:
    """Min-max scale θ to ν ∈ [−1, 1] per entry (log10 for ω, p, D), as the PNP loss does.

    Args:
        theta: (..., 5) physical θ (values outside the box map outside [−1, 1]).

    Returns:
        (..., 5) ν, differentiable.

    Example:
        >>> theta_to_nu(torch.tensor([10 ** 2.4, 0.8, 10 ** -2.85, 1e-5, 0.505]))
        tensor([-1.,  1.,  0., -1.,  0.])
    """
    theta = _check_theta(theta)
    is_log, lo, hi = _bounds(theta.dtype, theta.device)
    x = torch.where(is_log, torch.log10(theta.abs().clamp_min(torch.finfo(theta.dtype).tiny)), theta)
    return 2.0 * (x - lo) / (hi - lo) - 1.0


def nu_to_theta(nu: torch.Tensor) -> torch.Tensor:
    """Inverse of `theta_to_nu`: ν (..., 5) -> physical θ (..., 5), differentiable.

    Example:
        >>> theta = nu_to_theta(torch.tensor([0.0, -1.0, 1.0, 0.0, 1.0], dtype=torch.float64))
        >>> [round(v, 4) for v in theta.tolist()]
        [1258.9254, 0.07, 0.1995, 0.0018, 1.0]
    """
    nu = _check_theta(nu)
    is_log, lo, hi = _bounds(nu.dtype, nu.device)
    x = lo + (nu + 1.0) * 0.5 * (hi - lo)
    return torch.where(is_log, torch.pow(10.0, x), x)


def sample_theta(n: int, *, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64,
                 device: torch.device | str | None = None) -> torch.Tensor:
    """Draw ``n`` θ uniformly in the ν box (log-uniform ω, p, D; uniform τ, α).

    Args:
        n: Number of draws (>= 0).
        generator: Seeded `torch.Generator` for reproducible draws.

    Returns:
        (n, 5) θ in physical units.

    Example:
        >>> theta = sample_theta(4, generator=torch.Generator().manual_seed(0))
        >>> theta.shape, bool((theta_to_nu(theta).abs() <= 1).all())
        (torch.Size([4, 5]), True)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise WorkbenchError(f"n: expected a whole number >= 0, got {n!r}")
    nu = torch.rand(n, len(FTM_SPECS), generator=generator, dtype=dtype, device=device) * 2.0 - 1.0
    return nu_to_theta(nu)


def _positions(value, name: str, like: torch.Tensor) -> torch.Tensor:
    """Relative (x1, x2) position as a (..., 2) tensor; floats are checked to lie in (0, 1)."""
    if not isinstance(value, torch.Tensor):
        try:
            pair = [float(v) for v in value]
        except (TypeError, ValueError):
            raise WorkbenchError(f"{name}: expected two relative positions (x1, x2), got {value!r}") from None
        if len(pair) != 2 or not all(0.0 < v < 1.0 for v in pair):
            raise WorkbenchError(f"{name}: expected two relative positions inside (0, 1), got {value!r}")
        value = pair
    value = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if value.ndim < 1 or value.shape[-1] != 2:
        raise WorkbenchError(f"{name}: expected shape (..., 2), got {tuple(value.shape)}")
    return value


def _modes(theta, *, n_modes_per_axis: int, strike, pickup):
    """(freqs_hz, t60_s, signed amplitude), each (..., M²), in float64."""
    if isinstance(n_modes_per_axis, bool) or not isinstance(n_modes_per_axis, int) or n_modes_per_axis < 1:
        raise WorkbenchError(f"n_modes_per_axis: expected a whole number >= 1, got {n_modes_per_axis!r}")
    theta = _check_theta(theta).double()
    omega, tau, p, d, alpha = (theta[..., i, None] for i in range(len(FTM_SPECS)))
    mu = torch.arange(1, n_modes_per_axis + 1, dtype=theta.dtype, device=theta.device)
    mu1 = mu.repeat_interleave(n_modes_per_axis)            # mode k = (mu1, mu2), mu2 fastest
    mu2 = mu.repeat(n_modes_per_axis)
    beta = alpha + 1.0 / alpha
    excess = alpha * (mu1 ** 2 - 1.0) + (mu2 ** 2 - 1.0) / alpha          # e = alpha n - beta
    ratio = (alpha ** 2 * mu1 ** 2 + mu2 ** 2) / (1.0 + alpha ** 2)      # r = alpha n / beta
    sigma = (1.0 + p * excess) / tau
    big_omega = (omega ** 2 * ratio * (1.0 + d ** 2 * beta * excess)
                 + ((1.0 - p * beta) / tau) ** 2 * (ratio - 1.0)).sqrt()
    s, q = _positions(strike, "strike", theta), _positions(pickup, "pickup", theta)
    k_strike = torch.sin(mu1 * math.pi * s[..., :1]) * torch.sin(mu2 * math.pi * s[..., 1:])
    k_pickup = torch.sin(mu1 * math.pi * q[..., :1]) * torch.sin(mu2 * math.pi * q[..., 1:])
    norm = math.pi ** 2 * alpha / 4.0                       # N = l1 l2 / 4
    amplitude = FTM_H * k_strike * k_pickup / (big_omega * norm)
    return big_omega / (2.0 * math.pi), T60_DECAY / sigma, amplitude


def ftm_modes(theta: torch.Tensor, *, sample_rate: float, n_modes_per_axis: int = N_MODES_PER_AXIS,
              strike: Sequence[float] | torch.Tensor = DEFAULT_POSITION,
              pickup: Sequence[float] | torch.Tensor = DEFAULT_POSITION,
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The drum's modes in the workbench's modal vocabulary.

    Args:
        theta: (..., 5) θ = (omega_rad_s, tau_s, p, D, alpha), physical units.
        sample_rate: Hz; modes at or above sample_rate / 2 are masked out.
        n_modes_per_axis: M; modes (μ1, μ2) for μ1, μ2 in 1..M, μ2 fastest (index 0 = (1, 1)).
        strike, pickup: Relative positions (x1, x2) in (0, 1) (or (..., 2) tensors).

    Returns:
        freqs_hz, t60_s, gains_db, audible_mask, each (..., M²) in θ's dtype (the mask is
        bool). gains_db = 20 log10 |amplitude| per unit (nodal modes floor near -400 dB).
        Differentiable in θ (reverse and forward mode).

    Example:
        >>> f, t, g, ok = ftm_modes(torch.tensor([1000.0, 0.2, 1e-4, 1e-4, 1.0]), sample_rate=16000)
        >>> round(f[0].item(), 2), round(t[0].item(), 4), bool(ok.all())
        (159.15, 1.3816, True)
    """
    if not (isinstance(sample_rate, (int, float)) and not isinstance(sample_rate, bool) and sample_rate > 0):
        raise WorkbenchError(f"sample_rate: expected a positive number of Hz, got {sample_rate!r}")
    freqs_hz, t60_s, amplitude = _modes(theta, n_modes_per_axis=n_modes_per_axis, strike=strike, pickup=pickup)
    gains_db = 10.0 * torch.log10(amplitude ** 2 + 1e-40)
    audible = freqs_hz < sample_rate / 2.0
    return freqs_hz.to(theta.dtype), t60_s.to(theta.dtype), gains_db.to(theta.dtype), audible


def render_ftm(theta: torch.Tensor, *, sample_rate: float, n_samples: int,
               n_modes_per_axis: int = N_MODES_PER_AXIS,
               strike: Sequence[float] | torch.Tensor = DEFAULT_POSITION,
               pickup: Sequence[float] | torch.Tensor = DEFAULT_POSITION,
               normalize: bool = True) -> torch.Tensor:
    """The drum's sound, y(t) = Σ amplitude e^(−σt) sin(Ωt), peak-normalised.

    Rendered by `workbench.functional.modal.modal_ir` (sine phase, y[0] = 0, no mode at
    or above Nyquist). Where a mode's amplitude is negative (strike and pickup apart) its
    sign is kept: positive and negative modes are rendered as two banks.

    Args:
        theta: (..., 5) θ, physical units (see `ftm_modes`).
        sample_rate: Hz, any rate (the modes are in Hz).
        n_samples: Length of the sound (the reference uses 2**16 at 22050 Hz).
        n_modes_per_axis, strike, pickup: As in `ftm_modes`.
        normalize: Divide by the peak |y| (the reference does); else amplitude per unit.

    Returns:
        (..., n_samples) in θ's dtype; differentiable in θ (reverse mode, and forward
        mode via `torch.func.jvp` / `jacfwd`, which go through the modal bank's jvp rule).

    Example:
        >>> theta = torch.tensor([[1000.0, 0.2, 1e-4, 1e-4, 1.0], [3000.0, 0.5, 1e-2, 1e-1, 0.5]])
        >>> render_ftm(theta, sample_rate=16000, n_samples=1000).shape
        torch.Size([2, 1000])
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise WorkbenchError(f"n_samples: expected a whole number >= 1, got {n_samples!r}")
    if not (isinstance(sample_rate, (int, float)) and not isinstance(sample_rate, bool) and sample_rate > 0):
        raise WorkbenchError(f"sample_rate: expected a positive number of Hz, got {sample_rate!r}")
    freqs_hz, t60_s, amplitude = _modes(theta, n_modes_per_axis=n_modes_per_axis, strike=strike, pickup=pickup)
    lead = freqs_hz.shape[:-1]
    k = freqs_hz.shape[-1]
    dtype = theta.dtype
    freqs_hz, t60_s = freqs_hz.to(dtype).reshape(-1, k), t60_s.to(dtype).reshape(-1, k)
    amplitude = amplitude.reshape(-1, k)
    same_place = not isinstance(strike, torch.Tensor) and not isinstance(pickup, torch.Tensor) \
        and tuple(map(float, strike)) == tuple(map(float, pickup))
    if same_place:                       # K_strike K_pickup = K² >= 0: one bank
        gains_db = (10.0 * torch.log10(amplitude ** 2 + 1e-40)).to(dtype)
        y = modal_ir(freqs_hz, t60_s, gains_db, n_samples=n_samples, sample_rate=sample_rate)
    else:                                # y = bank(positive amplitudes) - bank(negative ones)
        y = 0.0
        for sign in (1.0, -1.0):
            part = (sign * amplitude).clamp_min(0.0)
            gains_db = (10.0 * torch.log10(part ** 2 + 1e-40)).to(dtype)
            y = y + sign * modal_ir(freqs_hz, t60_s, gains_db, n_samples=n_samples, sample_rate=sample_rate)
    y = y.reshape(*lead, n_samples)
    if normalize:
        y = y / y.abs().amax(-1, keepdim=True).clamp_min(torch.finfo(dtype).tiny)
    return y
