"""Renderer benchmark: real-time factor, peak memory and float32 accuracy.

Full chain (contact force + object modes + noise + reverb) at 44.1 kHz, for
K in {32, 256, 1024} modes x durations {0.5, 1, 2, 8} s x batch {1, 32}, forward and
forward+backward, on the CPU (and on a GPU when there is one). Prints a markdown
table and writes it to bench/results/render.md.

    python bench/render.py [--repeats 7] [--quick]

Real-time factor = seconds of audio rendered (batch x duration) per wall-clock second,
median of the repeats (at least --repeats; fast rows repeat up to 101 times, ~3 s). Peak
memory = the process's peak RSS during the runs above its RSS before them (CPU; Linux
clear_refs), or torch's peak allocation (GPU).
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench import specs  # noqa: E402
from workbench.synth import ImpactControls, ImpactSynth  # noqa: E402

SR = 44100
RESULTS = Path(__file__).resolve().parent / "results" / "render.md"


def random_controls(batch: int, n_modes: int, duration: float, *, seed=0, dtype=torch.float32,
                    device="cpu") -> ImpactControls:
    rng = np.random.default_rng(seed)
    t = lambda a: torch.tensor(np.asarray(a), dtype=dtype, device=device)  # noqa: E731
    nb, rb = len(specs.NOISE_BAND_FREQS_HZ), len(specs.REVERB_BAND_FREQS_HZ)
    return ImpactControls(
        freqs_hz=t(np.exp(rng.uniform(np.log(60), np.log(20000), (batch, n_modes)))),
        t60_s=t(np.exp(rng.uniform(np.log(0.05), np.log(duration), (batch, n_modes)))),
        gains_db=t(rng.uniform(-50, -10, (batch, n_modes))),
        times_s=t(rng.uniform(0.0, 0.2 * duration, (batch, 2))),
        contacts_s=t(np.exp(rng.uniform(np.log(1e-4), np.log(2e-3), (batch, 2)))),
        magnitudes=t(rng.uniform(0.2, 1.0, (batch, 2))),
        acceleration=t(np.full(batch, 1e-6)),
        noise_freqs_hz=specs.NOISE_BAND_FREQS_HZ,
        noise_gains_db=t(rng.uniform(-80, -60, (batch, nb))),
        reverb_freqs_hz=specs.REVERB_BAND_FREQS_HZ,
        reverb_gains_db=t(rng.uniform(-30, -15, (batch, rb))),
        reverb_t60_s=t(rng.uniform(0.2, 0.8, (batch, rb))),
    )


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure(n_modes: int, duration: float, batch: int, backward: bool, device: str, repeats: int):
    n = int(duration * SR)
    synth = ImpactSynth(sample_rate=SR, n_samples=n)
    c = random_controls(batch, n_modes, duration, device=device)
    leaves = [c.freqs_hz, c.t60_s, c.gains_db, c.times_s, c.contacts_s, c.magnitudes, c.noise_gains_db,
              c.reverb_gains_db, c.reverb_t60_s]

    def run():
        if backward:
            for x in leaves:
                x.requires_grad_(True)
                x.grad = None
            synth(c).square().mean().backward()
        else:
            with torch.no_grad():
                synth(c)
        if device != "cpu":
            torch.cuda.synchronize()

    if device == "cpu":
        base = _rss_kb("VmRSS:")
        tracked = _reset_peak()
    else:
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    for _ in range(3):                         # warm-up (caches, allocator, clocks), counted in the peak
        t0 = time.perf_counter()
        run()
        warm = time.perf_counter() - t0
    times = []
    for _ in range(max(repeats, min(101, int(3.0 / warm)))):   # fast rows: ~3 s of repeats (noisy machine)
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    if device == "cpu":
        peak_mb = (_rss_kb("VmHWM:") - base) / 1024 if tracked else float("nan")
    else:
        peak_mb = (torch.cuda.max_memory_allocated() - base) / 2**20
    med = statistics.median(times)
    return med, batch * duration / med, max(peak_mb, 0.0)


def accuracy_db(n_modes: int = 256, duration: float = 8.0) -> float:
    """Worst error of the float32 render against float64, in dB re the float64 peak."""
    synth = ImpactSynth(sample_rate=SR, n_samples=int(duration * SR))
    c64 = random_controls(1, n_modes, duration, dtype=torch.float64)
    c64.freqs_hz = c64.freqs_hz.clamp(max=20000.0)
    with torch.no_grad():
        ref = synth(c64)
        y32 = synth(c64.to(torch.float32)).double()
    return 20 * math.log10(float((y32 - ref).abs().max() / ref.abs().max()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="only K=256, 1 s (the target row)")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    configs = [(256, 1.0, 1)] + ([] if args.quick else [   # the target row first: its memory is clean
        (k, d, b) for k in (32, 256, 1024) for d in (0.5, 1.0, 2.0, 8.0) for b in (1, 32) if (k, d, b) != (256, 1.0, 1)])
    rows = []
    for device in devices:
        for k, d, b in configs:
            if device == "cpu" and b == 32 and k * d * b > 1024 * 8 * 8:
                continue
            fwd = measure(k, d, b, False, device, args.repeats)
            bwd = measure(k, d, b, True, device, args.repeats)
            rows.append((device, k, d, b, fwd, bwd))
            print(f"{device} K={k} {d}s batch={b}: fwd {fwd[1]:.0f}x ({fwd[2]:.0f} MB), "
                  f"fwd+bwd {bwd[1]:.0f}x ({bwd[2]:.0f} MB)", flush=True)
    err = accuracy_db()
    lines = [
        "# Renderer benchmark",
        "",
        f"`python bench/render.py` on {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}; full chain "
        "(force + object modes + noise + reverb) at 44.1 kHz, float32. RTF = seconds of audio "
        "(batch x duration) per wall-clock second, median of 7-101 repeats; memory = growth of the peak RSS "
        "over the warm-up and timed runs (CPU; memory the allocator kept from an earlier row is reused and "
        "not counted again, so the target row runs first in a fresh process) or torch's peak allocation (GPU).",
        "",
        "| device | K modes | duration (s) | batch | fwd ms | fwd RTF | fwd peak MB | fwd+bwd ms | fwd+bwd RTF | fwd+bwd peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for device, k, d, b, fwd, bwd in rows:
        lines.append(f"| {device} | {k} | {d:g} | {b} | {fwd[0] * 1e3:.1f} | {fwd[1]:.0f}x | {fwd[2]:.0f} | "
                     f"{bwd[0] * 1e3:.1f} | {bwd[1]:.0f}x | {bwd[2]:.0f} |")
    target = next((r for r in rows if r[:4] == ("cpu", 256, 1.0, 1)), None)
    lines += ["", f"Accuracy: an 8 s sound, 256 modes up to 20 kHz, float32 vs float64 reference: worst "
              f"error {err:.1f} dB re peak (target < -60 dB)."]
    if target:
        _, _, _, _, fwd, bwd = target
        ok = fwd[1] >= 200 and bwd[1] >= 100 and max(fwd[2], bwd[2]) <= 200
        lines += [f"Target row (CPU, K=256, 1 s, batch 1): forward {fwd[1]:.0f}x (>= 200x), forward+backward "
                  f"{bwd[1]:.0f}x (>= 100x), peak {max(fwd[2], bwd[2]):.0f} MB (<= 200 MB): "
                  f"{'met' if ok else 'NOT met'}."]
    if len(devices) == 1:
        lines += ["", "No GPU on this machine: GPU rows not measured."]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
