"""The PNP paper's drum-matching experiment at a scale set by `DrumSetup`: data recipe,
metric precompute and the encoder. Training and evaluation are in `drum_train`.

Recipe: θ = (ω, τ, p, D, α) drawn uniformly in the FTM drum's ν box (log-uniform ω, p, D;
the paper's ranges, `workbench.functional.ftm.sample_theta`) by one seeded draw of ``n_train + n_val + n_test``
rows, split in that order (so the held-out test set is fixed by the seed and the sizes);
each θ is rendered by `render_ftm` (peak-normalised) at ``sample_rate`` for ``n_samples``.
Per training and validation example the PNP metric M = JᵀJ of ν -> Φ(g(θ(ν))), Φ = JTFS
log features (`workbench.jtfs`, log1p(1e3 S)) or the multi-scale spectrum
(`pnp.mss_features`); for the test set, Φ of the targets (the JTFS distance). Everything
is cached in one file per setting (`precompute`), never committed. Rendering, the metric and
the features run on the device given to `precompute` (CPU or CUDA; larger chunks on a GPU); the
cache holds CPU tensors whatever the device, and the θ draw is on the CPU (same data on both).

Example:
    >>> setup = DrumSetup(n_train=8, n_val=2, n_test=2)
    >>> [len(ix) for ix in setup.split()]
    [8, 2, 2]
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ..errors import WorkbenchError
from .nets import ConvEncoder, LogMel
from .pnp import mss_features, riemannian_metric

#: Short names of θ's entries (`ftm.THETA_NAMES` order: rad/s, s, -, -, -).
PARAMS = ("omega", "tau", "p", "D", "alpha")


@dataclasses.dataclass(frozen=True)
class DrumSetup:
    """The scale of one reproduction (the paper: 22050 Hz, 2^16 samples, JTFS J = 13, 100k sounds).

    Args:
        sample_rate: Hz.
        n_samples: Length of each sound.
        jtfs_J: JTFS octaves (the paper: 13); ``Q``, ``Q_fr``, ``F`` and global averaging as the paper.
        phi: Feature map of the metric, ``jtfs`` or ``mss``.
        n_train, n_val, n_test: Split sizes (one seeded draw, in that order).
        seed: Seed of the θ draw.
    """

    sample_rate: int = 22050
    n_samples: int = 2 ** 14
    jtfs_J: int = 10
    phi: str = "jtfs"
    n_train: int = 2000
    n_val: int = 200
    n_test: int = 500
    seed: int = 0

    def key(self) -> str:
        """Short hash of the setting and of the source of the renderer and feature maps
        (the cache file's name: an edit of `ftm`, `modal` or `jtfs` invalidates the cache)."""
        text = json.dumps(dataclasses.asdict(self), sort_keys=True)
        package = Path(__file__).resolve().parents[1]
        for name in ("functional/ftm.py", "functional/modal.py", "functional/spectral.py", "jtfs.py"):
            text += (package / name).read_text(encoding="utf-8")
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    def split(self) -> tuple[range, range, range]:
        """Index ranges of train, validation and test in the seeded draw."""
        a, b = self.n_train, self.n_train + self.n_val
        return range(a), range(a, b), range(b, b + self.n_test)


def chunk_size(device: torch.device | str | None, cpu: int, cuda: int) -> int:
    """``cpu`` on the CPU (the committed results' chunking), ``cuda`` on a GPU."""
    return cuda if torch.device(device or "cpu").type == "cuda" else cpu


def synchronize(device: torch.device | str | None) -> None:
    """Wait for a CUDA device's queued work (honest wall times); nothing on the CPU."""
    if torch.device(device or "cpu").type == "cuda":
        torch.cuda.synchronize(device)


def _ftm():
    from ..functional import ftm
    return ftm


def draw_theta(setup: DrumSetup) -> torch.Tensor:
    """(n_train + n_val + n_test, 5) θ in physical units, uniform in the ν box, seeded; float64."""
    n = setup.n_train + setup.n_val + setup.n_test
    return _ftm().sample_theta(n, generator=torch.Generator().manual_seed(setup.seed))


def to_nu(theta: torch.Tensor) -> torch.Tensor:
    """θ -> ν in [-1, 1] (the FTM module's min-max scaling)."""
    return _ftm().theta_to_nu(theta)


def to_theta(nu: torch.Tensor) -> torch.Tensor:
    """ν in [-1, 1] -> θ in physical units (ω rad/s, τ s, p, D, α)."""
    return _ftm().nu_to_theta(nu)


def render(nu: torch.Tensor, setup: DrumSetup) -> torch.Tensor:
    """(batch, 5) ν -> (batch, n_samples) peak-normalised drum sounds in ν's dtype, differentiable
    (reverse and forward mode)."""
    return _ftm().render_ftm(to_theta(nu), sample_rate=setup.sample_rate, n_samples=setup.n_samples)


def render_all(nu: torch.Tensor, setup: DrumSetup, *, chunk: int | None = None) -> torch.Tensor:
    """`render` in chunks (default 64, 512 on a GPU) without gradients; (n, n_samples) float32
    on ``nu``'s device."""
    chunk = chunk or chunk_size(nu.device, 64, 512)
    with torch.no_grad():
        return torch.cat([render(nu[i:i + chunk].float(), setup) for i in range(0, len(nu), chunk)])


def feature_map(setup: DrumSetup, *, device: torch.device | str | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """Φ: (batch, n_samples) audio -> (batch, F) features, per ``setup.phi`` (filters on ``device``)."""
    if setup.phi == "jtfs":
        from ..jtfs import JTFS
        jtfs = JTFS(setup.n_samples, J=setup.jtfs_J, Q=(12, 1), Q_fr=1, F=2, T="global")
        return jtfs.to(device).features if device is not None else jtfs.features
    if setup.phi == "mss":
        return mss_features
    raise WorkbenchError(f"phi: expected 'jtfs' or 'mss', got {setup.phi!r}")


def jtfs_features(setup: DrumSetup, *, device: torch.device | str | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """The JTFS log features of ``setup`` (the evaluation's distance), whatever ``phi`` is."""
    return feature_map(dataclasses.replace(setup, phi="jtfs"), device=device)


def metrics(nu: torch.Tensor, setup: DrumSetup, *, phi=None, chunk: int | None = None,
            log: Callable[[str], None] | None = None) -> torch.Tensor:
    """M = JᵀJ of ν -> Φ(render(ν)) for each row of ``nu`` (forward mode, ``chunk`` rows at a
    time: default 8, 64 on a GPU); (n, 5, 5) float64 on ``nu``'s device."""
    phi = phi or feature_map(setup, device=nu.device)
    chunk = chunk or chunk_size(nu.device, 8, 64)

    def fn(v):
        return phi(render(v, setup))

    nu = nu.float()

    out, start = [], time.perf_counter()
    for i in range(0, len(nu), chunk):
        out.append(riemannian_metric(fn, nu[i:i + chunk], chunk=chunk))
        if log and (i // chunk) % 25 == 0:
            synchronize(nu.device)
            log(f"metric {i + len(out[-1])}/{len(nu)} ({time.perf_counter() - start:.0f} s)")
    return torch.cat(out)


def precompute(setup: DrumSetup, *, cache_dir: str | Path, log: Callable[[str], None] = print,
               device: torch.device | str = "cpu", metric_chunk: int | None = None) -> dict:
    """Everything the three trainings and the evaluation read, computed on ``device`` and
    cached (as CPU tensors) in ``cache_dir``; the tensors returned are on ``device``.

    Returns a dict: ``nu`` (n, 5), ``theta`` (n, 5), ``audio`` (n, n_samples), ``spec``
    (n, 1, mels, frames) log-mel encoder input, ``M`` (n_train + n_val, 5, 5), ``phi_test``
    (n_test, F) JTFS features of the test targets, ``seconds`` (wall time of each stage, when
    computed), ``setup`` (its dict) and ``cached`` (True when read from the cache).
    """
    device = torch.device(device)

    def on(data: dict, dev) -> dict:
        return {k: v.to(dev) if isinstance(v, torch.Tensor) else v for k, v in data.items()}

    path = Path(cache_dir) / f"drum_{setup.key()}.pt"
    if path.exists():
        log(f"cache: {path}")
        return {**on(torch.load(path, map_location="cpu", weights_only=False), device), "cached": True}
    seconds = {}
    start = time.perf_counter()
    theta = draw_theta(setup).to(device)
    nu = to_nu(theta)
    audio = render_all(nu, setup)
    mel = LogMel(setup.sample_rate).to(device)
    with torch.no_grad():
        spec = torch.cat([mel(audio[i:i + 256]) for i in range(0, len(audio), 256)])
    synchronize(device)
    seconds["render"] = time.perf_counter() - start
    log(f"rendered {len(audio)} sounds in {seconds['render']:.0f} s")
    _, val, test = setup.split()
    start = time.perf_counter()
    M = metrics(nu[: val.stop], setup, chunk=metric_chunk, log=log)
    synchronize(device)
    seconds["metric"] = time.perf_counter() - start
    log(f"metrics of {val.stop} examples in {seconds['metric']:.0f} s")
    start = time.perf_counter()
    jtfs, step = jtfs_features(setup, device=device), chunk_size(device, 32, 256)
    with torch.no_grad():
        target = audio[test.start:test.stop]
        phi_test = torch.cat([jtfs(target[i:i + step]) for i in range(0, len(target), step)])
    synchronize(device)
    seconds["phi_test"] = time.perf_counter() - start
    data = {"nu": nu, "theta": theta, "audio": audio, "spec": spec, "M": M, "phi_test": phi_test,
            "seconds": seconds, "setup": dataclasses.asdict(setup)}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(on(data, "cpu"), path)
    log(f"cached {path}")
    return {**data, "cached": False}


class DrumEncoder(nn.Module):
    """Log-mel (batch, 1, mels, frames) -> ν̂ (batch, n_outputs) in (-1, 1).

    `ConvEncoder`, then the paper's head: batch norm of the outputs, times sqrt(0.5)
    (its ``bn_var`` = 0.5), and tanh, so every prediction lies inside the parameter box.
    """

    def __init__(self, n_outputs: int = 5, *, width: int = 16, n_blocks: int = 4):
        super().__init__()
        self.net = ConvEncoder(n_outputs, width=width, n_blocks=n_blocks)
        self.norm = nn.BatchNorm1d(n_outputs)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.norm(self.net(spec)) * math.sqrt(0.5))
