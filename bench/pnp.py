"""The PNP paper's comparison (Han, Lostanlen & Lagrange, ICASSP 2023, Table 1) at a scale this
CPU trains: one encoder per loss (P-loss, multi-scale spectral loss, PNP loss with adaptive
damping), same data, budget and seed, scored on one held-out test set by JTFS distance,
multi-scale spectral error and per-parameter error.

Stages (progress in ``--log``): render the seeded θ draw, precompute the PNP metric M = JᵀJ
(forward mode through `render_ftm` and JTFS) for the training and validation sounds (cached
under ``--cache-dir``, as CPU tensors), train the three encoders per pitch setting, evaluate.
Every stage runs on ``--device`` (cpu, the default and the committed results; cuda; auto). Raw
results go to ``--json`` (default ``out/pnp_results.json``, rewritten after every trained row);
``--report-only`` rewrites the markdown from that file. Prints markdown and writes ``--results``
(default ``bench/results/pnp.md``).

    OMP_NUM_THREADS=1 .venv/bin/python bench/pnp.py --train-size 2000 --epochs 20
    .venv/bin/python bench/pnp.py --device cuda --threads 16 --results $OUT/pnp.md --json $OUT/pnp.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workbench.learned.drum import PARAMS, DrumEncoder, DrumSetup, precompute
from workbench.learned.drum_train import LOSSES, evaluate, predict, train

RESULT = REPO / "bench" / "results" / "pnp.md"
RAW = REPO / "out" / "pnp_results.json"
#: The paper's scale (ICASSP'23, and reference_implementations.md §8).
PAPER_SCALE = {"sounds": "100k (test 10k, val 7776)", "epochs": "70 × ~20 % of the training set",
               "sound": "2^16 samples at 22050 Hz (2.97 s)", "jtfs": "J = 13, Q = (12, 1), Q_fr = 1, F = 2, T global",
               "encoder": "EfficientNet-B0 (4M parameters) on CQT", "hardware": "one Tesla V100 16 GB",
               "batch": "64 (spectral), 256 (P, PNP)"}


def _logger(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a", encoding="utf-8")

    def log(msg: str) -> None:
        line = f"{datetime.now(timezone.utc):%H:%M:%S} {msg}"
        print(line, flush=True)
        handle.write(line + "\n")
        handle.flush()

    return log


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``auto`` (CUDA when torch sees one) -> a torch device."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def device_label(device: torch.device, threads: int) -> str:
    """The results header's hardware phrase."""
    plural = "s" if threads != 1 else ""
    if device.type == "cuda":
        return (f"GPU {torch.cuda.get_device_name(device)} (torch {torch.__version__}, CUDA {torch.version.cuda}), "
                f"{threads} CPU thread{plural} ({os.cpu_count()}-core machine)")
    return f"CPU, {threads} torch thread{plural} ({os.cpu_count()}-core machine)"


def _rel(path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def run(args, log, on_row=None) -> dict:
    """The experiment; ``on_row(partial_out)`` after every trained row (the partial report)."""
    setup = DrumSetup(sample_rate=args.sample_rate, n_samples=args.n_samples, jtfs_J=args.jtfs_J, phi=args.phi,
                      n_train=args.train_size, n_val=args.val_size, n_test=args.test_size, seed=args.seed)
    device = resolve_device(args.device)
    raw = Path(args.json)
    start = time.perf_counter()
    log(f"device {device_label(device, args.threads)}")
    data = precompute(setup, cache_dir=args.cache_dir, log=log, device=device, metric_chunk=args.metric_chunk)
    _, _, test = setup.split()
    spec_t, nu_t = data["spec"][test.start:test.stop], data["nu"][test.start:test.stop]
    eig = torch.linalg.eigvalsh(data["M"])
    out = {"setup": data["setup"], "precompute_s": data["seconds"], "args": vars(args),
           "device": device.type, "hardware": device_label(device, args.threads),
           "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
           "metric_eigs": {"max": float(eig.max()), "median_max": float(eig[:, -1].median()),
                           "median_min": float(eig[:, 0].median()),
                           "median_cond": float((eig[:, -1] / eig[:, 0].clamp_min(1e-300)).median())},
           "runs": []}
    centre = evaluate(torch.zeros_like(nu_t), data, setup)
    out["runs"].append({"loss": "box centre (ν̂ = 0)", "setting": "-", "scores": centre, "train_s": 0.0})
    extra = [d for d in args.extra_dampings.split(",") if d and d != args.damping]
    settings = args.settings.split(",")
    # the table's main rows first, then the other dampings D and training seeds (unknown pitch)
    jobs = [(setting, loss, args.damping, args.seed) for setting in settings for loss in LOSSES]
    if "unknown" in settings:
        jobs += [("unknown", "pnp", d, args.seed) for d in extra]
        jobs += [("unknown", loss, args.damping, seed) for seed in _ints(args.repeat_seeds) for loss in ("p", "pnp")]
    for setting, loss, damping, seed in jobs:
        known = setting == "known"
        t0 = time.perf_counter()
        model, history = train(data, setup, loss, epochs=args.epochs, epoch_fraction=args.epoch_fraction,
                               batch_size=args.batch_size, known_pitch=known, damping=damping,
                               width=args.width, seed=seed, log=log)
        train_s = time.perf_counter() - t0
        scores = evaluate(predict(model, spec_t, nu_t, known_pitch=known), data, setup)
        log(f"{loss} D={damping} seed {seed} ({setting} pitch): {json.dumps(scores)}")
        out["runs"].append({"loss": loss, "damping": damping if loss == "pnp" else None, "setting": setting,
                            "seed": seed, "scores": scores, "train_s": train_s, "history": history})
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(json.dumps({**out, "partial": True}, indent=1), encoding="utf-8")
        if on_row:
            on_row({**out, "partial": True})
    out["cached"] = bool(data["cached"])
    # a cached metric counts with the time it took when it was computed
    out["total_s"] = time.perf_counter() - start + (sum(data["seconds"].values()) if data["cached"] else 0.0)
    out["date"] = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return out


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def _best(runs, setting, key):
    rows = [r for r in runs if r["setting"] == setting]
    return min(rows, key=key)["loss"] if rows else None


def _label(run: dict, main_seed: int = 0) -> str:
    damping = run.get("damping")
    label = f"pnp (D = {DAMPING_NAMES[damping]})" if damping else run["loss"]
    seed = run.get("seed", main_seed)
    return label + (f", seed {seed}" if seed != main_seed else "")


DAMPING_NAMES = {"identity": "I", "diag": "diag M", "mean": "mean M"}


def findings(out: dict) -> list[str]:
    """Whether the paper's two trends hold here, computed from the table (PNP: the
    main damping ``--damping``; the other dampings are listed in the table only)."""
    main, seed = out["args"]["damping"], out["args"]["seed"]
    runs = [r for r in out["runs"] if (r["loss"] != "pnp" or r.get("damping", main) == main)
            and r.get("seed", seed) == seed]
    lines = []
    for setting in ("unknown", "known"):
        rows = [r for r in runs if r["setting"] == setting]
        if not rows:
            continue
        by_jtfs = _best(runs, setting, lambda r: r["scores"]["jtfs"])
        by_mss = _best(runs, setting, lambda r: r["scores"]["mss"])
        paper = "pnp" if setting == "unknown" else "p"
        verdict = "holds" if by_jtfs == paper else "does NOT hold"
        lines.append(f"- {setting} pitch: lowest JTFS distance **{by_jtfs}**, lowest MSS error **{by_mss}**; "
                     f"the paper's best is {paper} → {verdict} here (by JTFS distance).")
        for name in ("omega", "p"):
            if setting == "known" and name == "omega":
                continue
            worst = max(rows, key=lambda r: r["scores"]["nu_mae"][name])["loss"]
            lines.append(f"- {setting} pitch, {name}: largest mean |ν̂ − ν| with **{worst}** → "
                         f"'spectral loss weakest on {name}' {'holds' if worst == 'spectral' else 'does NOT hold'}.")
    return lines


def report(out: dict, notes: str = "", notes_path: str = "") -> str:
    a, s = out["args"], out["setup"]
    threads, on_gpu = a.get("threads", 1), out.get("device") == "cuda"
    hw = f"the GPU ({out.get('gpu')})" if on_gpu else f"the CPU ({threads} thread{'s' if threads != 1 else ''})"
    cmd = (f"OMP_NUM_THREADS={threads} .venv/bin/python bench/pnp.py --train-size {a['train_size']} --val-size {a['val_size']} "
           f"--test-size {a['test_size']} --epochs {a['epochs']} --epoch-fraction {a['epoch_fraction']} "
           f"--batch-size {a['batch_size']} --sample-rate {a['sample_rate']} --n-samples {a['n_samples']} "
           f"--jtfs-J {a['jtfs_J']} --phi {a['phi']} --settings {a['settings']} --damping {a['damping']} "
           f"{'--extra-dampings ' + a['extra_dampings'] + ' ' if a.get('extra_dampings') else ''}"
           f"{'--repeat-seeds ' + a['repeat_seeds'] + ' ' if a.get('repeat_seeds') else ''}"
           f"--width {a['width']} --seed {a['seed']}"
           f"{' --device ' + out['device'] if out.get('device', 'cpu') != 'cpu' else ''}"
           f"{' --threads ' + str(threads) if threads != 1 else ''}"
           f"{' --metric-chunk ' + str(a['metric_chunk']) if a.get('metric_chunk') else ''}"
           f"{' --notes ' + notes_path if notes_path else ''}")
    pre = out["precompute_s"]
    dur = s["n_samples"] / s["sample_rate"]
    train_s = sum(r["train_s"] for r in out["runs"])
    per_epoch = max(a["batch_size"], round(a["epoch_fraction"] * s["n_train"]))
    steps = a["epochs"] * len(range(0, per_epoch - a["batch_size"] + 1, a["batch_size"]))
    seen = steps * a["batch_size"]
    n_params = sum(p.numel() for p in DrumEncoder(5, width=a["width"]).parameters())
    cached = " (render and metric read from the cache, counted at the time they took)" if out.get("cached") else ""
    lines = [
        "# PNP sound matching: P-loss vs spectral loss vs PNP loss (ICASSP'23 Table 1, reduced scale)", "",
        (f"`bench/pnp.py`, {out.get('date', '?')}, Python {platform.python_version()}, {platform.machine()}, "
         f"{out.get('hardware', '1 torch thread (2-core CPU shared with other jobs)')}. Command:"), "",
        f"    {cmd}", "",
        (f"Progress goes to `{_rel(a.get('log', REPO / 'out' / 'pnp_run.log'))}`, raw figures to "
         f"`{_rel(a.get('json', RAW))}`, the rendered set and its metrics to "
         f"`{_rel(a.get('cache_dir', REPO / 'out' / 'pnp_cache'))}/` (none committed). A second run with the same "
         "data settings reads the cache. The Reading section at the end is written by hand after the run "
         f"({'`' + notes_path + '`, appended by `--notes`' if notes_path else '`--notes`'})."), "",
        "## Scale", "",
        "| | here | paper |", "|---|---|---|",
        (f"| sounds | {s['n_train']} train, {s['n_val']} val, {s['n_test']} test (one seeded draw, seed {s['seed']}) "
         f"| {PAPER_SCALE['sounds']} |"),
        f"| epochs | {a['epochs']} × {a['epoch_fraction']:.0%} of the training set | {PAPER_SCALE['epochs']} |",
        f"| sound | {s['n_samples']} samples at {s['sample_rate']} Hz ({dur:.2f} s) | {PAPER_SCALE['sound']} |",
        (f"| JTFS (metric and distance) | J = {s['jtfs_J']}, Q = (12, 1), Q_fr = 1, F = 2, T global; "
         f"metric Φ = {s['phi']} | {PAPER_SCALE['jtfs']} |"),
        (f"| encoder | ConvEncoder (width {a['width']}, {n_params / 1e6:.2f}M parameters) on log-mel (64 bands) "
         f"+ BN + tanh head | {PAPER_SCALE['encoder']} |"),
        f"| batch | {a['batch_size']} (all losses) | {PAPER_SCALE['batch']} |",
        f"| examples seen per model | {seen:,} ({steps} Adam steps, lr 1e-3) | 70 × 512 · 50 = 1,792,000 (Adam, lr 1e-3) |",
        (f"| wall time | render {pre['render']:.0f} s, metric precompute {pre['metric']:.0f} s, "
         f"training {train_s:.0f} s (all rows), total with evaluation "
         f"{format(out['total_s'], '.0f') + ' s' if 'total_s' in out else 'not finished'}"
         f"{cached}, on {hw} | {PAPER_SCALE['hardware']} |"),
        "",
        (f"Metric M = JᵀJ over train + val: largest eigenvalue {out['metric_eigs']['max']:.3g}, "
         f"median largest {out['metric_eigs']['median_max']:.3g}, median smallest "
         f"{out['metric_eigs']['median_min']:.3g}, median condition number {out['metric_eigs']['median_cond']:.3g} "
         f"(the paper: eigenvalues 0 ... 1e20). PNP damping D = {a['damping']}, λ0 = largest eigenvalue, "
         "× 0.2 on a validation record, × 2 otherwise (capped at λ0)."), "",
        "## Test set", "",
        ("JTFS: mean ‖Φ(x̂) − Φ(x)‖₂ (log1p(1e3 S) features). MSS: mean `MultiScaleSpectralLoss` "
         "(FFT 2048 ... 128, L1 lin + log). ν: mean |ν̂ − ν| per parameter (ν ∈ [−1, 1]). Physical: median "
         "absolute error (f0 = ω/2π in cents, τ in ms, p and D in decades, α). Lower is better everywhere."), "",
        "| loss | pitch | JTFS | MSS | ν ω | ν τ | ν p | ν D | ν α | f0 cents | τ ms | p dec | D dec | α | train s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in out["runs"]:
        sc, nu, ph = r["scores"], r["scores"]["nu_mae"], r["scores"]["phys"]
        lines.append(f"| {_label(r, a['seed'])} | {r['setting']} | {sc['jtfs']:.3f} | {sc['mss']:.3f} | "
                     + " | ".join(f"{nu[p]:.3f}" for p in PARAMS)
                     + f" | {ph['f0_cents']:.0f} | {1e3 * ph['tau_s']:.0f} | {ph['p_decades']:.2f} | "
                     f"{ph['D_decades']:.2f} | {ph['alpha']:.3f} | {r['train_s']:.0f} |")
    if out.get("partial"):
        lines += ["", "**Partial run**: stopped before every row of the command was trained; the rows above are complete."]
    lines += ["", "## The paper's findings here", "", *findings(out)]
    seeds = sorted({r.get("seed", a["seed"]) for r in out["runs"] if r["setting"] == "unknown"})
    if len(seeds) > 1:
        for loss in ("p", "pnp"):
            vals = [f"{r['scores']['jtfs']:.3f}" for r in out["runs"] if r["setting"] == "unknown"
                    and r["loss"] == loss and r.get("damping") in (None, a["damping"])]
            lines.append(f"- training-seed spread, unknown pitch, {loss}: JTFS distance {', '.join(vals)} "
                         f"(seeds {', '.join(map(str, seeds))}).")
    pnp_runs = [r for r in out["runs"] if r["loss"] == "pnp"]
    for r in pnp_runs:
        lams = [h["lam"] for h in r["history"]]
        recs = sum(h["record"] for h in r["history"])
        lines.append(f"- {_label(r, a['seed'])} ({r['setting']} pitch): λ from {lams[0]:.3g} to {lams[-1]:.3g}, "
                     f"{recs} validation records in {len(lams)} epochs (the paper: 1e20 → 3e14 in 20 epochs, "
                     "7 records).")
    if notes:
        lines += ["", notes.strip()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-size", type=int, default=2000)
    p.add_argument("--val-size", type=int, default=200)
    p.add_argument("--test-size", type=int, default=500)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--epoch-fraction", type=float, default=0.2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--sample-rate", type=int, default=22050)
    p.add_argument("--n-samples", type=int, default=2 ** 14)
    p.add_argument("--jtfs-J", type=int, default=10)
    p.add_argument("--phi", default="jtfs", choices=("jtfs", "mss"))
    p.add_argument("--settings", default="unknown", help="comma list of unknown, known (pitch)")
    p.add_argument("--damping", default="identity", choices=("identity", "diag", "mean"),
                   help="D of the PNP loss (the paper's best: identity)")
    p.add_argument("--extra-dampings", default="", help="comma list of other D to train too (unknown pitch)")
    p.add_argument("--repeat-seeds", default="", help="comma list of other training seeds for P and PNP (unknown pitch)")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"),
                   help="where rendering, the metric, training and evaluation run (auto: cuda if present)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--metric-chunk", type=int, default=None,
                   help="sounds per forward-mode metric batch (default 8 on the CPU, 64 on a GPU)")
    p.add_argument("--cache-dir", default=str(REPO / "out" / "pnp_cache"))
    p.add_argument("--log", default=str(REPO / "out" / "pnp_run.log"))
    p.add_argument("--results", default=str(RESULT), help="markdown report to write")
    p.add_argument("--json", default=str(RAW), help="raw results (json) to write, or to read with --report-only")
    p.add_argument("--notes", default="", help="markdown file appended to the report (the reading of the table)")
    p.add_argument("--report-only", action="store_true", help="rewrite the markdown from --json")
    args = p.parse_args(argv)
    if args.threads < 1:
        p.error(f"--threads: expected an integer >= 1, got {args.threads}")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device: cuda requested but torch sees no CUDA device (use cpu or auto)")
    torch.set_num_threads(args.threads)
    notes = Path(args.notes).read_text(encoding="utf-8") if args.notes else ""
    result = Path(args.results)
    result.parent.mkdir(parents=True, exist_ok=True)

    def write(out: dict) -> str:
        text = report(out, notes, _rel(args.notes) if args.notes else "")
        result.write_text(text, encoding="utf-8")
        return text

    if args.report_only:
        out = json.loads(Path(args.json).read_text(encoding="utf-8"))
    else:
        out = run(args, _logger(Path(args.log)), on_row=write)   # a partial report after every row
    print(write(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
