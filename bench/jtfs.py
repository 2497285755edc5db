"""JTFS benchmark: time per 3 s clip for features, distance and backward, on the CPU.

The PNP paper's configuration (J = 13, Q = (12, 1), Q_fr = 1, F = 2, global averaging) at
n_samples = 2^16 (22050 Hz, 2.97 s) and 132300 (44.1 kHz, 3 s), batch 1, float32. Rows:

* build: constructing `JTFS` (filter banks; later builds of the same settings reuse them),
* features: `JTFS.features` of one clip,
* distance: `JTFS.distance` of two clips (both transformed, as `jtfs_distance`),
* distance vs cached target: `JTFSDistance.against(target)(clip)` (one transform),
* features + backward: the cached-target distance and its gradient w.r.t. the clip,
* features, batch of 8: per clip,
* jacfwd (5 params): J = d features / d θ through a toy 5-parameter decaying-partials synth
  by forward mode (as the PNP loss precomputes it).

Medians of --repeats runs after one warm-up; rows on the GPU too when torch sees one.
Writes bench/results/jtfs.md.

    python bench/jtfs.py [--repeats 7] [--threads 2] [--quick]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.jtfs import JTFS
from workbench.losses import JTFSDistance

RESULTS = Path(__file__).resolve().parent / "results" / "jtfs.md"
TARGET_S = 0.5


def clip(n: int, sample_rate: int, seed: int) -> torch.Tensor:
    """A struck-object-like clip: decaying inharmonic partials plus a noise burst, (1, n)."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(n) / sample_rate
    freqs = 200.0 * (1 + torch.rand(6, generator=gen) * 10)
    decay = 2.0 + 10 * torch.rand(6, generator=gen)
    x = (torch.exp(-decay[:, None] * t) * torch.sin(2 * math.pi * freqs[:, None] * t)).sum(0)
    return (x + 0.3 * torch.randn(n, generator=gen) * torch.exp(-40 * t))[None]


def median_s(fn, repeats: int) -> float:
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rows_for(n: int, sample_rate: int, repeats: int, quick: bool, device: str = "cpu") -> list[tuple[str, str, float]]:
    start = time.perf_counter()
    jtfs = JTFS(n).to(device)
    build = time.perf_counter() - start
    x, y = clip(n, sample_rate, 0).to(device), clip(n, sample_rate, 1).to(device)
    loss_module = JTFSDistance().to(device)
    loss_module.transforms[str(n)] = jtfs
    loss = loss_module.against(y)
    label = f"{device}: {n} ({n / sample_rate:.2f} s at {sample_rate} Hz), {jtfs.n_paths} paths"

    def backward():
        xr = x.clone().requires_grad_()
        loss(xr).backward()

    t = torch.arange(n, device=device) / sample_rate

    def synth(theta):  # f0 Hz, decay 1/s, inharmonicity, gain, brightness
        partials = torch.arange(1, 6, dtype=theta.dtype, device=device)
        f = theta[0] * partials * (1 + theta[2] * partials ** 2)
        amp = theta[3] * partials ** (-theta[4])
        return (amp[:, None] * torch.exp(-theta[1] * partials[:, None] * t)
                * torch.sin(2 * math.pi * f[:, None] * t)).sum(0)[None]

    theta = torch.tensor([220.0, 3.0, 1e-3, 0.8, 1.0], device=device)
    rows = [(label, "build (filter banks, cached per process)", build),
            (label, "features", median_s(lambda: jtfs.features(x), repeats)),
            (label, "distance (two clips)", median_s(lambda: jtfs.distance(x, y), repeats)),
            (label, "distance vs cached target", median_s(lambda: loss(x), repeats)),
            (label, "features + backward (cached target)", median_s(backward, repeats))]
    batch = torch.cat([clip(n, sample_rate, seed) for seed in range(8)]).to(device)
    rows.append((label, "features, batch of 8 (per clip)", median_s(lambda: jtfs.features(batch), repeats) / 8))
    if not quick:
        jac = torch.func.jacfwd(lambda th: jtfs.features(synth(th))[0])
        rows.append((label, "jacfwd, 5 params", median_s(lambda: jac(theta), max(1, repeats // 3))))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    ap.add_argument("--quick", action="store_true", help="2^16 only, no jacfwd row, no results file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    rows = rows_for(2 ** 16, 22050, args.repeats, args.quick)
    if not args.quick:
        rows += rows_for(132300, 44100, args.repeats, args.quick)
        if torch.cuda.is_available():
            rows += rows_for(2 ** 16, 22050, args.repeats, args.quick, "cuda")
    load_after = os.getloadavg()
    lines = ["# JTFS benchmark", "",
             (f"`python bench/jtfs.py --repeats {args.repeats} --threads {args.threads}` on "
             f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores), {torch.get_num_threads()} "
             f"torch threads, torch {torch.__version__}, float32, batch 1; PNP configuration (J = 13, Q = (12, 1), "
             f"Q_fr = 1, F = 2, global averaging). Median of {args.repeats} runs after a warm-up (jacfwd: "
             f"{max(1, args.repeats // 3)}). Target: distance of a 3 s clip <= {TARGET_S} s."), "",
             f"Load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after"
             + (": other jobs shared the machine, so these times are upper bounds." if max(load_before[0], load_after[0])
                > 1.5 else ": the machine was quiet."), "",
             "| clip (n_samples) | operation | median s |", "|---|---|---|"]
    lines += [f"| {label} | {op} | {sec:.3f} |" for label, op, sec in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
