"""The GPU path, checked against the CPU: renderer, FTM drum (with its forward-mode Jacobian),
JTFS, the PNP metric, the impact encoder and the fitter from both starts.

    python bench/gpu_paths.py            # on a machine with CUDA; writes bench/results/gpu.md

Each row: the CUDA result's largest relative difference from the CPU's (or both fits'
distances) and the median time on each. Not a test: CI has no GPU.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workbench.fitting import fit  # noqa: E402
from workbench.functional.ftm import render_ftm, sample_theta, nu_to_theta, theta_to_nu  # noqa: E402
from workbench.jtfs import JTFS  # noqa: E402
from workbench.learned.impact import N_SAMPLES, load_encoder  # noqa: E402
from workbench.learned.pnp import riemannian_metric  # noqa: E402
from workbench.presets import load_preset  # noqa: E402
from workbench.rendering import render  # noqa: E402

DATA = REPO / "workbench" / "data"


def timed(fn, device: str, repeat: int = 5) -> tuple[float, object]:
    out = fn()
    times = []
    for _ in range(repeat):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        out = fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def rel(a, b) -> float:
    a, b = np.asarray(torch.as_tensor(a).detach().cpu(), float), np.asarray(torch.as_tensor(b).detach().cpu(), float)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def main() -> None:
    rows = []
    cuda = "cuda"
    preset = load_preset(REPO / "presets" / "demo.json")
    for dev in ("cpu", cuda):
        t, y = timed(lambda: render(preset, duration_s=2.0, sample_rate=48000, device=dev), dev)
        rows.append(("render demo preset, 2 s at 48 kHz", dev, t, y))
    g = torch.Generator().manual_seed(0)
    theta = sample_theta(16, generator=g)
    for dev in ("cpu", cuda):
        th = theta.to(dev)
        t, y = timed(lambda: render_ftm(th, sample_rate=22050, n_samples=2 ** 16), dev)
        rows.append(("render_ftm, 16 drums x 2^16", dev, t, y))
    nu = theta_to_nu(theta[:4])
    for dev in ("cpu", cuda):
        jt = JTFS(2 ** 14, J=10).to(dev).double()
        fn = lambda v: jt.features(render_ftm(nu_to_theta(v), sample_rate=11025, n_samples=2 ** 14))  # noqa: E731
        t, M = timed(lambda: riemannian_metric(fn, nu.to(dev)), dev, repeat=2)
        rows.append(("PNP metric M = JtJ (jacfwd), 4 drums, 2^14, J=10", dev, t, M))
    x = render_ftm(theta[:8], sample_rate=22050, n_samples=2 ** 16).float()
    for dev in ("cpu", cuda):
        jt = JTFS(2 ** 16).to(dev)
        t, f = timed(lambda: jt.features(x.to(dev)), dev)
        rows.append(("JTFS features, 8 x 2^16 (paper's setting)", dev, t, f))
    net, _ = load_encoder()
    window = torch.randn(4, N_SAMPLES)
    for dev in ("cpu", cuda):
        net = net.to(dev).eval()
        with torch.inference_mode():
            t, out = timed(lambda: net(window.to(dev))[0], dev)
        rows.append(("impact encoder net, 4 x 3 s", dev, t, out))
    net.to("cpu")
    lines = ["# GPU path vs CPU", "", f"`python bench/gpu_paths.py` on {platform.machine()}, "
             f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads.", "",
             "| what | CPU median s | CUDA median s | CUDA vs CPU (max relative difference) |", "|---|---|---|---|"]
    for i in range(0, len(rows), 2):
        (name, _, tc, yc), (_, _, tg, yg) = rows[i], rows[i + 1]
        lines.append(f"| {name} | {tc:.4f} | {tg:.4f} | {rel(yg, yc):.1e} |")
    lines += ["", "| fit of a bundled clip (150 steps) | device | init | distance | wall s | steps |", "|---|---|---|---|---|---|"]
    clip = str(DATA / "robot_woodspoon_on_steelbowl.wav")
    for init in ("physics", "encoder"):
        for dev in ("cpu", cuda):
            r = fit(clip, steps=150, device=dev, init=init)
            lines.append(f"| robot_woodspoon_on_steelbowl.wav | {dev} | {init} | {r.distance:.4f} | {r.elapsed_s:.1f} | {r.steps_run} |")
    text = "\n".join(lines) + "\n"
    print(text)
    (REPO / "bench" / "results" / "gpu.md").write_text(text)


if __name__ == "__main__":
    main()
