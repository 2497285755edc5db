"""Training and evaluation of the drum encoder with P-loss, spectral loss or PNP loss
(the PNP paper's comparison; data from `drum.precompute`).

Every loss gets the same budget: ``epochs`` epochs of ``epoch_fraction`` of the training set
each (the paper: 70 epochs of about 20 %), Adam at lr 1e-3, the same seed and batch order.
With ``known_pitch`` the encoder predicts 4 outputs and ω is taken from the ground truth
(the paper's "known pitch" setting); otherwise all 5 ("unknown pitch"). Training and evaluation
run on the device of ``data``'s tensors (`drum.precompute`'s ``device``); the model is initialised
on the CPU and the batch order drawn there, so both devices start from the same state.

Example:
    >>> sorted(LOSSES)
    ['p', 'pnp', 'spectral']
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch

from ..errors import WorkbenchError
from ..losses import MultiScaleSpectralLoss
from .drum import (
    PARAMS,
    DrumEncoder,
    DrumSetup,
    chunk_size,
    jtfs_features,
    render,
    render_all,
    to_theta,
)
from .pnp import AdaptiveDamping, RenderedSpectralLoss, damping_matrix, p_loss, pnp_loss

LOSSES = ("p", "spectral", "pnp")


def _full(out: torch.Tensor, nu: torch.Tensor, known_pitch: bool) -> torch.Tensor:
    """Encoder output -> (batch, 5) ν̂; with known pitch, ω (entry 0) is the true one."""
    return torch.cat([nu[:, :1].to(out), out], dim=1) if known_pitch else out


def predict(model: DrumEncoder, spec: torch.Tensor, nu: torch.Tensor, *, known_pitch: bool = False,
            chunk: int = 256) -> torch.Tensor:
    """(n, 5) ν̂ of a trained encoder (eval mode, no gradients); ``nu`` supplies ω if known."""
    model.eval()
    with torch.no_grad():
        out = torch.cat([model(spec[i:i + chunk]) for i in range(0, len(spec), chunk)])
    return _full(out, nu, known_pitch).double()


def make_loss(loss: str, data: dict, setup: DrumSetup, *, known_pitch: bool = False, damping: str = "identity"):
    """``(batch_loss, damping_schedule)``: ``batch_loss(model, ix)`` is the training loss of
    examples ``ix``; the schedule (`AdaptiveDamping`, PNP only, else None) sets its λ."""
    if loss not in LOSSES:
        raise WorkbenchError(f"loss: expected one of {LOSSES}, got {loss!r}")
    nu, spec, audio, M = data["nu"], data["spec"], data["audio"], data["M"]
    train_ix = setup.split()[0]
    m_train = M[train_ix.start:train_ix.stop]
    mean_M = m_train.mean(0)
    lm = AdaptiveDamping(float(torch.linalg.eigvalsh(m_train).amax())) if loss == "pnp" else None
    spectral = RenderedSpectralLoss(lambda v: render(v, setup), MultiScaleSpectralLoss())

    def batch_loss(model: DrumEncoder, ix: torch.Tensor) -> torch.Tensor:
        nu_hat = _full(model(spec[ix]), nu[ix], known_pitch)
        if loss == "p":
            return p_loss(nu_hat, nu[ix])
        if loss == "spectral":
            return spectral(nu_hat, audio[ix])
        D = damping_matrix(M[ix], damping, mean_M=mean_M)
        return pnp_loss(nu_hat, nu[ix], M[ix], lam=lm.lam, damping=D)

    return batch_loss, lm


def train(data: dict, setup: DrumSetup, loss: str, *, epochs: int = 20, epoch_fraction: float = 0.2,
          batch_size: int = 64, lr: float = 1e-3, known_pitch: bool = False, damping: str = "identity",
          width: int = 16, seed: int = 0, log: Callable[[str], None] = print) -> tuple[DrumEncoder, list[dict]]:
    """Train a `DrumEncoder` with one of `LOSSES`; returns the model and one dict per epoch
    (train loss, validation P-loss and undamped PNP loss, λ, seconds)."""
    torch.manual_seed(seed)
    train_ix, val_ix, _ = setup.split()
    nu, spec, M = data["nu"], data["spec"], data["M"]
    device = spec.device
    model = DrumEncoder(4 if known_pitch else 5, width=width).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    batch_loss, lm = make_loss(loss, data, setup, known_pitch=known_pitch, damping=damping)
    gen = torch.Generator().manual_seed(seed)
    per_epoch = max(batch_size, round(epoch_fraction * len(train_ix)))
    history, order = [], torch.empty(0, dtype=torch.long)
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        total, n_batches = 0.0, 0
        for _ in range(0, per_epoch - batch_size + 1, batch_size):
            if len(order) < batch_size:
                order = torch.cat([order, torch.randperm(len(train_ix), generator=gen) + train_ix.start])
            ix, order = order[:batch_size], order[batch_size:]
            value = batch_loss(model, ix.to(device))
            opt.zero_grad()
            value.backward()
            opt.step()
            total, n_batches = total + value.item(), n_batches + 1
        val_hat = predict(model, spec[val_ix.start:val_ix.stop], nu[val_ix.start:val_ix.stop],
                          known_pitch=known_pitch)
        val_nu, val_M = nu[val_ix.start:val_ix.stop], M[val_ix.start:val_ix.stop]
        row = {"epoch": epoch + 1, "train_loss": total / max(n_batches, 1),
               "val_ploss": float(p_loss(val_hat, val_nu)), "val_pnp": float(pnp_loss(val_hat, val_nu, val_M))}
        if lm is not None:
            row["lam"] = lm.lam
            row["record"] = lm.update(row["val_pnp"])
        row["seconds"] = time.perf_counter() - start
        history.append(row)
        log(f"{loss}{' (known pitch)' if known_pitch else ''} epoch {epoch + 1}/{epochs}: "
            + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
                        if k != "epoch"))
    return model, history


def evaluate(nu_hat: torch.Tensor, data: dict, setup: DrumSetup, *, jtfs=None, chunk: int | None = None) -> dict:
    """Scores of test-set predictions ``nu_hat`` (n_test, 5), the paper's metrics and more.

    Returns a dict: ``jtfs`` mean ‖Φ(x̂) − Φ(x)‖₂ over the test set (Φ = JTFS log features),
    ``mss`` mean `MultiScaleSpectralLoss` of x̂ against x, ``nu_mae`` (5,) mean |ν̂ − ν|,
    ``nu_mse`` the P-loss, ``phys`` per-parameter median absolute errors in physical units:
    f0 = ω/2π in Hz and in cents, τ in s, p and D in decades (|Δlog10|), α. Runs on
    ``nu_hat``'s device, ``chunk`` sounds at a time (default 32, 256 on a GPU).
    """
    _, _, test_ix = setup.split()
    nu = data["nu"][test_ix.start:test_ix.stop]
    target, phi_t = data["audio"][test_ix.start:test_ix.stop], data["phi_test"]
    jtfs = jtfs or jtfs_features(setup, device=nu_hat.device)
    chunk = chunk or chunk_size(nu_hat.device, 32, 256)
    mss = MultiScaleSpectralLoss()
    audio_hat = render_all(nu_hat, setup)
    with torch.no_grad():
        phi_hat = torch.cat([jtfs(audio_hat[i:i + chunk]) for i in range(0, len(audio_hat), chunk)])
        mss_items = torch.cat([mss.per_item(audio_hat[i:i + chunk], target[i:i + chunk])
                               for i in range(0, len(target), chunk)])
    th, th_hat = to_theta(nu.double()), to_theta(nu_hat.double())
    f0, f0_hat = th[:, 0] / (2 * math.pi), th_hat[:, 0] / (2 * math.pi)
    decades = (torch.log10(th_hat[:, 2:4]) - torch.log10(th[:, 2:4])).abs().median(0).values
    phys = {"f0_hz": (f0_hat - f0).abs().median(), "f0_cents": (1200 * torch.log2(f0_hat / f0)).abs().median(),
            "tau_s": (th_hat[:, 1] - th[:, 1]).abs().median(), "p_decades": decades[0], "D_decades": decades[1],
            "alpha": (th_hat[:, 4] - th[:, 4]).abs().median()}
    return {"jtfs": float((phi_hat - phi_t).norm(dim=1).mean()), "mss": float(mss_items.mean()),
            "nu_mae": dict(zip(PARAMS, (nu_hat - nu).abs().mean(0).tolist())),
            "nu_mse": float(p_loss(nu_hat, nu)), "phys": {k: float(v) for k, v in phys.items()}}
