"""The perceptual-neural-physical (PNP) loss (Han, Lostanlen & Lagrange, ICASSP 2023, §2) and
the two baselines it is compared with: P-loss and a spectral loss on the rendered prediction.

For a synthesiser g, a feature map Φ and normalised parameters ν (θ min-max scaled to
[-1, 1]), the spectral loss ½‖Φ(g(ν̂)) − Φ(g(ν))‖² is, to first order around the training
example ν, the quadratic form

    L_PNP(ν̂, ν) = ½ (ν̂ − ν)ᵀ M(ν) (ν̂ − ν),    M(ν) = J(ν)ᵀ J(ν),    J = ∂(Φ∘g)/∂ν,

a P-loss whose metric M (the pulled-back Riemannian metric, P×P) is computed once per
training example by forward-mode differentiation (`jacobian`: P `torch.func.jvp` calls, one
per parameter, each over a whole batch). Training then costs what P-loss costs.

M is ill-conditioned (the paper's eigenvalues span 0 ... 1e20), so training uses the
damped form ½ eᵀ(M + λD)e, D one of `DAMPINGS` (identity, diag M, the training set's mean
M), with λ adapted once per epoch by `AdaptiveDamping`, the paper's Levenberg-Marquardt
"brake": start in the P-loss regime (λ0 = largest eigenvalue of the training Ms), multiply
λ by 0.2 each time the validation loss (undamped PNP) breaks its record, raise it (× brake,
capped at λ0) when it does not.

Example:
    >>> import torch
    >>> M = torch.diag(torch.tensor([4.0, 1.0]))[None]
    >>> float(pnp_loss(torch.tensor([[1.0, 1.0]]), torch.zeros(1, 2), M))
    2.5
    >>> damping = AdaptiveDamping(100.0)
    >>> damping.update(1.0), damping.lam      # a record: λ falls
    (True, 20.0)
    >>> damping.update(2.0), damping.lam      # worse: λ rises (capped at λ0)
    (False, 40.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..errors import WorkbenchError
from ..functional.spectral import stft_magnitude
from ..losses import MultiScaleSpectralLoss

#: Kinds of damping matrix D in ½ eᵀ(M + λD)e.
DAMPINGS = ("identity", "diag", "mean")


def jacobian(fn: Callable[[torch.Tensor], torch.Tensor], nu: torch.Tensor, *, vectorize: bool = True) -> torch.Tensor:
    """Per-example Jacobian of a batched map by forward mode, one `torch.func.jvp` per parameter.

    With ``vectorize`` the P jvps run as one `torch.func.vmap` over the tangents (what
    `torch.func.jacfwd` does: the primal is computed once, ~25 % faster here); otherwise
    one after another. Each jvp carries the whole batch (tangent e_k in every row).

    Args:
        fn: (batch, P) -> (batch, F); item i of the output may depend only on item i of the input.
        nu: (batch, P) points.

    Returns:
        (batch, F, P) with [i, :, k] = ∂fn(ν)_i / ∂ν_ik.
    """
    if nu.ndim != 2:
        raise WorkbenchError(f"nu: expected (batch, n_params), got shape {tuple(nu.shape)}")
    n = nu.shape[1]
    tangents = torch.eye(n, dtype=nu.dtype, device=nu.device)[:, None, :].expand(n, *nu.shape).contiguous()

    def column(tangent):
        return torch.func.jvp(fn, (nu,), (tangent,))[1]

    if vectorize:
        return torch.func.vmap(column)(tangents).permute(1, 2, 0)
    return torch.stack([column(t) for t in tangents], dim=-1)


def fd_jacobian(fn: Callable[[torch.Tensor], torch.Tensor], nu: torch.Tensor, *, step: float = 1e-3) -> torch.Tensor:
    """Central finite-difference twin of `jacobian` (for tests); (batch, F, P)."""
    cols = []
    with torch.no_grad():
        for k in range(nu.shape[1]):
            dv = torch.zeros_like(nu)
            dv[:, k] = step
            cols.append((fn(nu + dv) - fn(nu - dv)) / (2 * step))
    return torch.stack(cols, dim=-1)


def metric_from_jacobian(jac: torch.Tensor) -> torch.Tensor:
    """M = JᵀJ, (batch, F, P) -> (batch, P, P), in float64 (symmetric positive semi-definite;
    symmetrised, as the matrix product may differ in the last bit across the diagonal)."""
    jac = jac.double()
    M = jac.transpose(1, 2) @ jac
    return 0.5 * (M + M.transpose(1, 2))


def riemannian_metric(fn: Callable[[torch.Tensor], torch.Tensor], nu: torch.Tensor, *,
                      chunk: int = 16) -> torch.Tensor:
    """M(ν) = J(ν)ᵀJ(ν) of ``fn`` (e.g. Φ∘g∘scaling) for each row of ``nu``, in chunks; (batch, P, P) float64."""
    out = [metric_from_jacobian(jacobian(fn, nu[i:i + chunk])) for i in range(0, len(nu), chunk)]
    return torch.cat(out)


def damping_matrix(M: torch.Tensor, kind: str, *, mean_M: torch.Tensor | None = None) -> torch.Tensor:
    """D for the damped PNP loss: ``identity``, ``diag`` (diag M per example) or ``mean``
    (``mean_M``, the training set's average metric); (batch, P, P) or broadcastable."""
    if kind == "identity":
        return torch.eye(M.shape[-1], dtype=M.dtype, device=M.device)[None]
    if kind == "diag":
        return torch.diag_embed(torch.diagonal(M, dim1=-2, dim2=-1))
    if kind == "mean":
        if mean_M is None:
            raise WorkbenchError("mean_M: the 'mean' damping needs the training set's mean metric")
        return mean_M.to(M)[None] if mean_M.ndim == 2 else mean_M.to(M)
    raise WorkbenchError(f"damping: expected one of {DAMPINGS}, got {kind!r}")


def pnp_loss(nu_hat: torch.Tensor, nu: torch.Tensor, M: torch.Tensor, *, lam: float = 0.0,
             damping: torch.Tensor | None = None) -> torch.Tensor:
    """½ (ν̂ − ν)ᵀ (M + λD) (ν̂ − ν), averaged over the batch (computed in float64).

    Args:
        nu_hat, nu: (batch, P) predicted and true normalised parameters.
        M: (batch, P, P) metrics of the true parameters.
        lam: Damping λ >= 0 (0: the undamped PNP loss).
        damping: D, (batch, P, P) or (1, P, P); needed when ``lam`` > 0.

    Returns:
        Scalar float64 loss; its gradient in ν̂ is (M + λD)(ν̂ − ν) / batch.
    """
    err = (nu_hat - nu).double()
    A = M.double()
    if lam:
        if damping is None:
            raise WorkbenchError("damping: lam > 0 needs a damping matrix D")
        A = A + lam * damping.double()
    return 0.5 * torch.einsum("bi,bij,bj->b", err, A, err).mean()


def p_loss(nu_hat: torch.Tensor, nu: torch.Tensor) -> torch.Tensor:
    """P-loss: mean squared error in normalised parameters (the paper's `F.mse_loss`)."""
    return torch.nn.functional.mse_loss(nu_hat.double(), nu.double())


class AdaptiveDamping:
    """The paper's adaptive λ: a Levenberg-Marquardt-like brake updated once per epoch.

    After each epoch, ``update(val_loss)`` with the validation loss (undamped PNP):
    a new record (lower than every earlier one) multiplies λ by ``accelerator`` (0.2 in the
    paper's code: towards the spectral-loss regime); otherwise λ is multiplied by ``brake``
    and capped at ``threshold`` (back towards the P-loss regime). The reference code ran
    brake = 1 (λ held); the default here, 2, is the textbook LM rule (raise on a failed
    step) at a gentler rate than the decay, so a record still wins over a setback.

    Args:
        lam0: Initial λ; the paper sets it to the largest eigenvalue of the empirical Ms
            (1e20 there) so that training starts in the P-loss regime.
        accelerator: Factor on a record (< 1).
        brake: Factor otherwise (>= 1).
        threshold: Cap on λ (default ``lam0``).
    """

    def __init__(self, lam0: float, *, accelerator: float = 0.2, brake: float = 2.0,
                 threshold: float | None = None):
        if not (lam0 > 0 and math.isfinite(lam0)):
            raise WorkbenchError(f"lam0: expected a finite positive damping, got {lam0}")
        if not 0 < accelerator < 1 or brake < 1:
            raise WorkbenchError(f"accelerator/brake: expected 0 < accelerator < 1 <= brake, "
                                 f"got {accelerator}, {brake}")
        self.lam, self.accelerator, self.brake = float(lam0), float(accelerator), float(brake)
        self.threshold = float(threshold if threshold is not None else lam0)
        self.best = math.inf
        self.records = 0

    def update(self, val_loss: float) -> bool:
        """λ for the next epoch from this epoch's validation loss; True on a new record."""
        if val_loss < self.best:
            self.best, self.records = float(val_loss), self.records + 1
            self.lam *= self.accelerator
            return True
        self.lam = min(self.lam * self.brake, self.threshold)
        return False


class RenderedSpectralLoss(torch.nn.Module):
    """Spectral loss on the rendered prediction: MSS(g(ν̂), x), differentiable through g.

    Args:
        render: (batch, P) normalised parameters -> (batch, n_samples) audio.
        loss: The spectral loss (default `MultiScaleSpectralLoss()`, FFT 2048 ... 128, L1 lin + log).
    """

    def __init__(self, render: Callable[[torch.Tensor], torch.Tensor], loss: MultiScaleSpectralLoss | None = None):
        super().__init__()
        self.render = render
        self.loss = loss or MultiScaleSpectralLoss()

    def forward(self, nu_hat: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss(self.render(nu_hat.float()), target)


def mss_features(audio: torch.Tensor, *, fft_sizes=(2048, 1024, 512, 256, 128), eps: float = 1e-5) -> torch.Tensor:
    """The multi-scale spectrum as a feature vector Φ (the option beside JTFS).

    Per FFT size s: the linear and log magnitude spectrograms divided by sqrt(n_s) (their
    element count), so ½‖ΔΦ‖² is ½ Σ_s (mean squared lin + log differences), the L2 twin
    of `MultiScaleSpectralLoss`. (batch, n_samples) -> (batch, F). Forward-mode differentiable.
    """
    parts = []
    for n_fft in fft_sizes:
        mag = stft_magnitude(audio, n_fft=n_fft).flatten(1)
        norm = math.sqrt(mag.shape[1])
        parts += [mag / norm, torch.log(mag + eps) / norm]
    return torch.cat(parts, dim=1)
