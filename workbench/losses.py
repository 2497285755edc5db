"""Multi-scale spectral loss (DiffImpact Sec. 3.5, after DDSP's SpectralLoss) and the
normalised spectral distance every quality figure in this project is reported in.
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import WorkbenchError
from .functional.spectral import stft_magnitude

DEFAULT_FFT_SIZES = (2048, 1024, 512, 256, 128)


class SpectralLoss(torch.nn.Module):
    """L1 distance of linear and log magnitude spectrograms at one FFT size.

    The linear term follows the loud partials (peaks and their decay); the log term
    weighs quiet detail (tails, noise floor, high-frequency transients).

    Args:
        n_fft: FFT size; hop is n_fft / 4 (75 % overlap).
        lin_weight: Weight of mean |S_in - S_target|.
        log_weight: Weight of mean |log(S_in + eps) - log(S_target + eps)|.
        eps: Floor inside the log.
    """

    def __init__(self, n_fft: int, *, lin_weight: float = 1.0, log_weight: float = 1.0, eps: float = 1e-5):
        super().__init__()
        self.n_fft, self.lin_weight, self.log_weight, self.eps = n_fft, lin_weight, log_weight, eps

    def target_features(self, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(magnitude, log magnitude) of a target; pass to `terms` to skip recomputing them."""
        s_tg = stft_magnitude(target, n_fft=self.n_fft)
        return s_tg, torch.log(s_tg + self.eps)

    def terms(self, input: torch.Tensor, target: torch.Tensor | None = None, *,
              features: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Named, weighted terms, each (batch,); give ``target`` or its precomputed ``features``."""
        s_in = stft_magnitude(input, n_fft=self.n_fft)
        s_tg, log_tg = features if features is not None else self.target_features(target)
        out = {}
        if self.lin_weight:
            out[f"lin_{self.n_fft}"] = self.lin_weight * (s_in - s_tg).abs().mean(dim=(-2, -1))
        if self.log_weight:
            out[f"log_{self.n_fft}"] = self.log_weight * (
                torch.log(s_in + self.eps) - log_tg).abs().mean(dim=(-2, -1))
        return out


class MultiScaleSpectralLoss(torch.nn.Module):
    """Sum of `SpectralLoss` over FFT sizes 2048 ... 128 (DiffImpact Sec. 3.5).

    Called as ``loss(input, target)`` with (batch, n_samples) or (n_samples,) tensors;
    returns the mean over the batch as a scalar. `per_item` keeps the batch dimension
    and `terms` returns the named terms for plots.

    Args:
        fft_sizes: FFT sizes of the scales.
        lin_weight, log_weight: Term weights (a zero weight skips the term).
    """

    def __init__(self, fft_sizes=DEFAULT_FFT_SIZES, *, lin_weight: float = 1.0, log_weight: float = 1.0):
        super().__init__()
        self.fft_sizes = tuple(int(n) for n in fft_sizes)
        self.scales = torch.nn.ModuleList(
            SpectralLoss(n, lin_weight=lin_weight, log_weight=log_weight) for n in self.fft_sizes)

    @staticmethod
    def _check(input: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if input.shape[-1] != target.shape[-1]:
            raise WorkbenchError(f"loss: input has {input.shape[-1]} samples but target has {target.shape[-1]}")
        return torch.atleast_2d(input), torch.atleast_2d(target)

    def terms(self, input: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named terms (each averaged over the batch), for loss plots."""
        input, target = self._check(input, target)
        out: dict[str, torch.Tensor] = {}
        for scale in self.scales:
            out.update({k: v.mean() for k, v in scale.terms(input, target).items()})
        return out

    def per_item(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(batch,) loss of each item."""
        input, target = self._check(input, target)
        return sum(sum(scale.terms(input, target).values()) for scale in self.scales)

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.per_item(input, target).mean()

    def against(self, target: torch.Tensor):
        """A function ``input -> loss`` for a fixed target whose spectrograms are computed once
        (the fitter calls it every step)."""
        target = torch.atleast_2d(target).detach()
        features = [scale.target_features(target) for scale in self.scales]

        def loss(input: torch.Tensor) -> torch.Tensor:
            input, _ = self._check(input, target)
            return sum(sum(scale.terms(input, features=f).values())
                       for scale, f in zip(self.scales, features)).mean()

        return loss


def white_noise_like(target: torch.Tensor, *, seed: int = 0) -> torch.Tensor:
    """Fixed white noise with the RMS of each target item; (batch, n_samples)."""
    target = torch.atleast_2d(target)
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(target.shape, generator=gen, dtype=torch.float64).to(target)
    rms = target.pow(2).mean(-1, keepdim=True).sqrt()
    return noise * rms / noise.pow(2).mean(-1, keepdim=True).sqrt()


def normalized_distance(input: torch.Tensor, target: torch.Tensor, *,
                        loss: MultiScaleSpectralLoss | None = None) -> torch.Tensor:
    """loss(input, target) / loss(white noise of the target's RMS, target), per item.

    0 is identical; 1 is no better than noise (DiffImpact Fig. 3).
    """
    loss = loss or MultiScaleSpectralLoss()
    target = torch.atleast_2d(target)
    reference = loss.per_item(white_noise_like(target), target)
    return loss.per_item(input, target) / reference.clamp_min(1e-12)


def pairwise_distances(signals: torch.Tensor, pairs, *, loss: MultiScaleSpectralLoss | None = None) -> torch.Tensor:
    """`normalized_distance` of ``signals[i]`` to ``signals[j]`` for each ``(i, j)`` in ``pairs``,
    with each signal's spectrograms computed once (a bank's spread: n signals, up to n^2 pairs).

    Args:
        signals: (n, n_samples) signals of equal length.
        pairs: Sequence of (i, j) index pairs; j is the target (its noise reference normalises,
            drawn as `spectral_distance` draws it: the result is ``spectral_distance(signals[i], signals[j])``).

    Returns:
        (len(pairs),) distances.
    """
    loss = loss or MultiScaleSpectralLoss()
    signals = torch.atleast_2d(signals)
    idx = torch.as_tensor(pairs, dtype=torch.long).reshape(-1, 2)
    reference = torch.cat([loss.per_item(white_noise_like(x[None]), x[None]) for x in signals]).clamp_min(1e-12)
    total = signals.new_zeros(len(idx))
    for scale in loss.scales:
        s, log_s = scale.target_features(signals)
        for k in range(0, len(idx), 64):
            i, j = idx[k:k + 64, 0], idx[k:k + 64, 1]
            if scale.lin_weight:
                total[k:k + 64] += scale.lin_weight * (s[i] - s[j]).abs().mean(dim=(-2, -1))
            if scale.log_weight:
                total[k:k + 64] += scale.log_weight * (log_s[i] - log_s[j]).abs().mean(dim=(-2, -1))
    return total / reference[idx[:, 1]]


def _samples(signal, name: str) -> torch.Tensor:
    """``signal`` as a flat float32 tensor; refuses NaN/inf and non-numbers, naming the argument."""
    if isinstance(signal, torch.Tensor):
        signal = signal.detach().cpu().numpy()
    try:
        with np.errstate(over="ignore"):
            array = np.asarray(signal, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise WorkbenchError(f"{name}: expected an array of samples ({err})") from None
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise WorkbenchError(f"{name}: {bad} samples are NaN or infinite (in float32), the distance is undefined")
    return torch.as_tensor(array).flatten()


def spectral_distance(x, target, sample_rate: int | None = None) -> float:
    """Normalised multi-scale spectral distance between two mono signals.

    Args:
        x: (n_samples,) numpy array or tensor, the candidate.
        target: (n_samples,) the reference. If lengths differ, the shorter is zero-padded.
        sample_rate: Accepted for API symmetry (the STFT sizes are in samples).

    Returns:
        The distance as a float: 0 identical, about 1 for white noise of the target's RMS.

    Raises:
        WorkbenchError: NaN or infinite samples (naming ``x`` or ``target``), an empty or
            all-zero target, or input that is not numbers.
    """
    x, t = _samples(x, "x"), _samples(target, "target")
    if t.numel() == 0 or not torch.any(t != 0):
        raise WorkbenchError("target: empty or all-zero signal, the distance is undefined")
    n = max(x.numel(), t.numel())
    x = torch.nn.functional.pad(x, (0, n - x.numel()))
    t = torch.nn.functional.pad(t, (0, n - t.numel()))
    with torch.no_grad():
        return float(normalized_distance(x, t)[0])


class JTFSDistance(torch.nn.Module):
    """Euclidean distance between joint time-frequency scattering features (PNP's JTFS
    distance; `workbench.jtfs`), usable as a loss beside `MultiScaleSpectralLoss`.

    Called as ``loss(input, target)`` with (batch, n_samples) or (n_samples,) tensors; returns
    the mean over the batch. The transform is built on first use for each signal length.

    Args:
        relative: Divide each distance by the norm of the target's features (relative L2).
        **settings: `workbench.jtfs.JTFS` keyword arguments (default: the paper's J = 13,
            Q = (12, 1), Q_fr = 1, F = 2, global averaging).
    """

    def __init__(self, *, relative: bool = False, **settings):
        super().__init__()
        self.relative, self.settings = bool(relative), settings
        self.transforms = torch.nn.ModuleDict()

    def transform(self, n_samples: int):
        """The `JTFS` for signals of ``n_samples`` (built once, then cached on the module)."""
        from .jtfs import JTFS  # kymatio loads only when a JTFS loss is used

        key = str(int(n_samples))
        if key not in self.transforms:
            self.transforms[key] = JTFS(int(n_samples), **self.settings)
        return self.transforms[key]

    def _distance(self, features: torch.Tensor, target_features: torch.Tensor) -> torch.Tensor:
        d = torch.linalg.vector_norm(features - target_features, dim=-1)
        return d / torch.linalg.vector_norm(target_features, dim=-1).clamp_min(1e-12) if self.relative else d

    def per_item(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(batch,) distance of each item."""
        input, target = MultiScaleSpectralLoss._check(input, target)
        jtfs = self.transform(input.shape[-1])
        return self._distance(jtfs.features(input), jtfs.features(target))

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.per_item(input, target).mean()

    def against(self, target: torch.Tensor):
        """A function ``input -> loss`` for a fixed target whose features are computed once."""
        target = torch.atleast_2d(target).detach()
        jtfs = self.transform(target.shape[-1])
        with torch.no_grad():
            target_features = jtfs.features(target)

        def loss(input: torch.Tensor) -> torch.Tensor:
            input, _ = MultiScaleSpectralLoss._check(input, target)
            return self._distance(jtfs.features(input), target_features).mean()

        return loss
