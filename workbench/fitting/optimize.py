"""Analysis by synthesis: Adam on `FitParams` against the multi-scale spectral loss.

Robust by construction: a step whose loss, gradient or parameters are not finite is
rolled back (parameters and optimiser state) and retried at half the learning rate;
the best parameters seen are kept, so cancelling or stopping early returns them.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from ..losses import MultiScaleSpectralLoss
from ..synth import ImpactSynth
from .params import FitParams

# Give up after this many consecutive non-finite steps.
_MAX_ROLLBACKS = 6


class _Snapshot:
    """The parameter values and Adam's state at one moment, restorable in place.

    Taken every step, so it copies tensors (microseconds) instead of deep-copying state
    dicts (a Python walk over every tensor: ~10 ms a step for a typical fit).
    """

    def __init__(self, params: torch.nn.Module, opt: torch.optim.Optimizer):
        with torch.no_grad():
            self.values = [p.detach().clone() for p in params.parameters()]
            self.state = [{k: v.clone() if torch.is_tensor(v) else v for k, v in opt.state[p].items()}
                          for p in params.parameters()]

    def restore(self, params: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
        with torch.no_grad():
            for p, value, state in zip(params.parameters(), self.values, self.state):
                p.copy_(value)
                opt.state[p] = {k: v.clone() if torch.is_tensor(v) else v for k, v in state.items()}


@dataclass
class OptimizeOutcome:
    """What the loop did: loss per step, the best loss and why it stopped."""

    loss_history: list[float] = field(default_factory=list)
    best_loss: float = math.inf
    best_step: int = -1
    steps_run: int = 0
    stopped: str = "steps"          # steps | converged | cancelled | diverged
    rollbacks: int = 0
    elapsed_s: float = 0.0


def optimize(
    params: FitParams,
    synth: ImpactSynth,
    target: torch.Tensor,
    *,
    steps: int,
    lr: float = 0.05,
    loss_fn: MultiScaleSpectralLoss | None = None,
    reverb: bool = True,
    patience: int = 40,
    min_improvement: float = 2e-3,
    report_every: int = 10,
    on_report: Callable[[int, float, float], None] | None = None,
    cancel: threading.Event | None = None,
    prior: Callable[[int], torch.Tensor] | None = None,
) -> OptimizeOutcome:
    """Fit ``params`` so that ``synth(params.controls())`` matches ``target``.

    Args:
        params: Variables to optimise (left holding the best values found).
        synth: Renderer of the target's length and sample rate.
        target: (n_clips, n_samples) recordings, on the params' device.
        steps: Maximum number of Adam steps.
        lr: Peak learning rate (cosine decay to lr / 10).
        reverb: Render the room (switch off to fit dry sounds).
        patience: Stop when the best loss has not improved by ``min_improvement``
            (relative) for this many steps.
        report_every: Call ``on_report(step, loss, elapsed_s)`` every this many steps
            (and at the last one).
        cancel: When set, stop after the current step.
        prior: ``prior(step)`` adds a regulariser to the loss (e.g. `DampingPrior`);
            the loss history and early stopping read the total.

    Returns:
        The outcome; ``params`` holds the best parameters.
    """
    loss_fn = (loss_fn or MultiScaleSpectralLoss()).against(target)
    freq_params = [p for name, p in params.named_parameters() if name.endswith(".freqs")]
    other = [p for name, p in params.named_parameters() if not name.endswith(".freqs")]
    opt = torch.optim.Adam([{"params": other, "lr": lr}, {"params": freq_params, "lr": lr * 0.5}])
    base_lrs = [g["lr"] for g in opt.param_groups]
    out = OptimizeOutcome()
    best = good = _Snapshot(params, opt)
    lr_scale, consecutive_bad, last_gain_step = 1.0, 0, 0
    t0 = time.perf_counter()
    for step in range(steps):
        if cancel is not None and cancel.is_set():
            out.stopped = "cancelled"
            break
        progress = step / max(1, steps - 1)
        for g, base in zip(opt.param_groups, base_lrs):
            g["lr"] = base * lr_scale * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(synth(params.controls(reverb=reverb)))
        if prior is not None:
            loss = loss + prior(step)
        value = float(loss.detach())
        ok = math.isfinite(value)
        if ok:
            loss.backward()
            ok = all(p.grad is None or bool(torch.isfinite(p.grad).all()) for p in params.parameters())
        if not ok:
            out.rollbacks += 1
            consecutive_bad += 1
            good.restore(params, opt)
            lr_scale *= 0.5
            if consecutive_bad >= _MAX_ROLLBACKS:
                out.stopped = "diverged"
                break
            continue
        consecutive_bad = 0
        out.loss_history.append(value)
        if value < out.best_loss:
            if value < out.best_loss * (1 - min_improvement):
                last_gain_step = step
            out.best_loss, out.best_step = value, step
            best = _Snapshot(params, opt)
        good = best if out.best_step == step else _Snapshot(params, opt)
        opt.step()
        if not params.all_finite():
            good.restore(params, opt)
            lr_scale *= 0.5
            out.rollbacks += 1
        out.steps_run = step + 1
        if on_report is not None and (step % report_every == 0 or step == steps - 1):
            on_report(step, value, time.perf_counter() - t0)
        if step - last_gain_step >= patience:
            out.stopped = "converged"
            break
    best.restore(params, opt)
    out.elapsed_s = time.perf_counter() - t0
    return out
