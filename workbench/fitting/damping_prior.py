"""The damping law as a prior on the fit's decay times.

Each modal bank's t60s are pulled towards the body's own damping law
(`workbench.damping`), a Gaussian in ln t60 whose width is the law's measured spread
(at least `MIN_SPREAD`): weak modes, whose decay the spectrum barely shows, borrow it
from the strong ones, while a mode that clearly decays otherwise keeps its own (the
data term outweighs a prior as wide as the body's scatter). The law is refitted to the
current modes (weighted by the square root of their energy) every ``every`` steps,
outside the graph (an EM-style alternation), so its coefficients and spread are learned
with the modes rather than set by hand.

Example:
    >>> import numpy as np
    >>> from workbench.fitting.params import BankInit, ClipInit, FitParams
    >>> bank = BankInit(np.array([300.0, 900.0, 2000.0, 4100.0]), np.array([1.0, 0.5, 0.3, 3.0]),
    ...                 np.zeros(4))
    >>> clip = ClipInit(np.array([0.01]), np.array([2e-4]), np.ones(1), 1e-8, np.full(8, -80.0),
    ...                 np.full(8, -40.0), np.full(8, 0.3))
    >>> params = FitParams([bank], [], [clip], noise_freqs_hz=np.geomspace(100, 10000, 8),
    ...                    reverb_freqs_hz=np.geomspace(100, 10000, 8), max_freq_hz=20000.0)
    >>> prior = DampingPrior(params, weight=1.0)
    >>> loss = prior(0)
    >>> loss.backward()
    >>> bool(loss > 0), bool(params.object_banks[0].t60.grad[3] > 0)    # the outlier is pulled down
    (True, True)
"""

from __future__ import annotations

import numpy as np
import torch

from ..damping import body_law
from .params import FitParams

#: Narrowest prior (in ln t60): a factor e^0.25 = 1.28, the accuracy of a good decay fit.
MIN_SPREAD = 0.25


class DampingPrior:
    """``weight x`` the mean over every bank's modes of (ln t60 - ln law(f))^2 / (2 spread^2).

    Args:
        params: The fit's variables (object and tool banks).
        weight: Weight against the spectral loss (0: no prior, but laws still fitted).
        every: Steps between refits of the laws.
    """

    def __init__(self, params: FitParams, *, weight: float, every: int = 10):
        self.params, self.weight, self.every = params, float(weight), int(every)
        self.banks = list(params.object_banks) + list(params.tool_banks)
        self._targets: list[tuple[torch.Tensor, float] | None] = [None] * len(self.banks)
        self._fitted = False

    def _refit(self) -> None:
        """Each bank's law at its current values: the target ln t60 per mode and 1 / (2 spread^2)."""
        with torch.no_grad():
            for i, bank in enumerate(self.banks):
                f, t60, gains = (v.detach().double().cpu().numpy() for v in FitParams.bank_values(bank))
                law = body_law(f, t60, gains)
                self._targets[i] = None if law is None else (
                    torch.as_tensor(np.log(law.t60_at(f)), dtype=torch.float32, device=bank.t60.device),
                    1.0 / (2.0 * max(law.spread, MIN_SPREAD) ** 2))

    def __call__(self, step: int) -> torch.Tensor:
        """The prior's loss at this step (refitting the laws when due); 0 when weight is 0."""
        zero = torch.zeros((), device=self.params.times.device)
        if self.weight <= 0.0:
            return zero
        if step % self.every == 0 or not self._fitted:
            self._refit()
            self._fitted = True
        total, count = zero, 0
        for bank, target in zip(self.banks, self._targets):
            if target is None:
                continue
            log_t60 = torch.log(FitParams.bank_values(bank)[1])
            total = total + target[1] * ((log_t60 - target[0]) ** 2).sum()
            count += log_t60.numel()
        return self.weight * total / max(count, 1)
