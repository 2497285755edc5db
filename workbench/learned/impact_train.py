"""Training of the impact encoder: targets of a preset, the loss, the loop, the shipped file.

``workbench train-encoder --steps N --seed S -o workbench/data/impact_encoder.pt`` runs
`train` (one torch thread, Adam, cosine learning rate, batches drawn and rendered on the fly
by `impact_data.draw_batch`) and writes the weights with their metadata (`write_weights`):
the command, seed, recipe, steps, batch size, final training and held-out losses, wall time.
Training ends with `recalibrate` (batch-norm statistics recomputed over fresh batches). The
same command on the same torch build reproduces the shipped file.

Targets (`targets`) are in the peak-normalised window's units: a mode's *level* is its
ringing amplitude in dB, gain + 20 log10(impulse) + the contact spectrum at its frequency
(`impact.contact_db`); it is present when its energy (level x2 + 10 log10 T60) is within
`impact_data.AUDIBLE_DB` of the strongest; object and tool modes share the bins (a bin holds
its most energetic mode). The decoded preset has one body and an impulse of 1.

Example:
    >>> import numpy as np
    >>> from workbench.learned.impact_data import draw_batch
    >>> audio, presets = draw_batch(2, np.random.default_rng(0), library=[])
    >>> t = targets(presets)
    >>> tuple(t["bins"].shape), tuple(t["glob"].shape), bool(t["bins"][:, 0].sum() > 0)
    ((2, 4, 256), (2, 56), True)
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..atomic import atomic_write_text
from ..errors import WorkbenchError
from ..presets import Preset
from ..version import __version__
from .impact import (
    _LOG_RATIO,
    CLICK_CENTRE,
    CONTACT_CENTRE,
    DB_CENTRE,
    DB_SCALE,
    GLOBALS,
    N_BINS,
    N_GLOBAL,
    WEIGHTS_PATH,
    ImpactEncoder,
    contact_db,
    split_globals,
)
from .impact_data import (
    AUDIBLE_DB,
    FREQ_RANGE_HZ,
    N_SAMPLES,
    RECIPE,
    SAMPLE_RATE,
    draw_batch,
    library_presets,
)

TRAIN_COMMAND = "workbench train-encoder --steps {steps} --seed {seed} -o workbench/data/impact_encoder.pt"
BATCH = 32
LR = 2e-3
#: Fraction of training windows cut to silence after a random time (short recordings end early).
TRUNCATE_FRACTION = 0.25
HELD_OUT = 64
#: Batches over which the batch-norm statistics are recomputed after training (`recalibrate`).
RECALIBRATION_BATCHES = 8
#: Weights of the loss terms (`loss_terms`): the modes' presence and level matter most to the sound.
LOSS_WEIGHTS = {"presence": 4.0, "place": 2.0, "t60": 1.0, "level": 3.0, "flags": 0.2, "globals": 0.5}


def _db(x: float) -> float:
    return (x - DB_CENTRE) / DB_SCALE


def targets(presets: list[Preset]) -> dict[str, torch.Tensor]:
    """Per-bin (batch, 4, N_BINS) targets (presence, place in bin, ln T60, level) and global
    (batch, N_GLOBAL) targets with their masks (1 where a target counts)."""
    n = len(presets)
    bins, bin_mask = np.zeros((n, 4, N_BINS), np.float32), np.zeros((n, N_BINS), np.float32)
    glob, glob_mask = np.zeros((n, N_GLOBAL), np.float32), np.ones((n, N_GLOBAL), np.float32)
    offsets, i0 = {}, 0
    for name, size in GLOBALS:
        offsets[name] = slice(i0, i0 + size)
        i0 += size
    for i, p in enumerate(presets):
        hit = p.impacts[0]
        tau, m = hit.contact_s, max(hit.magnitude, 1e-12)
        modes = list(p.object.modes) + (list(p.tool.modes) if p.tool else [])
        f = np.array([x.freq_hz for x in modes])
        t60 = np.array([x.t60_s for x in modes])
        level = np.array([x.gain_db for x in modes]) + 20 * math.log10(m) + contact_db(f, tau)
        energy = 2 * level + 10 * np.log10(t60)
        ok = (f >= FREQ_RANGE_HZ[0]) & (f < FREQ_RANGE_HZ[1]) & (f < 0.49 * SAMPLE_RATE)
        ok &= energy >= (energy[ok].max() if ok.any() else 0) - AUDIBLE_DB
        pos = np.log(f / FREQ_RANGE_HZ[0]) / _LOG_RATIO
        best = {}
        for j in np.flatnonzero(ok):
            k = int(pos[j])
            if k not in best or energy[j] > energy[best[k]]:
                best[k] = j
        for k, j in best.items():
            bins[i, :, k] = (1.0, pos[j] - k, math.log(t60[j]), _db(level[j]))
            bin_mask[i, k] = 1.0
        g = glob[i]
        g[offsets["log_contact"]] = math.log(tau) - CONTACT_CENTRE
        g[offsets["log10_click"]] = math.log10(max(p.acceleration * m, 1e-12)) - CLICK_CENTRE
        g[offsets["noise_db"]] = [_db(max(b.gain_db, -140.0)) for b in p.noise.bands]
        g[offsets["reverb_on"]] = float(p.reverb.enabled)
        g[offsets["reverb_db"]] = [_db(b.gain_db) for b in p.reverb.bands]
        g[offsets["reverb_log_t60"]] = [math.log(b.t60_s) for b in p.reverb.bands]
        res_on = p.residual is not None and p.residual.enabled
        g[offsets["residual_on"]] = float(res_on)
        if res_on:
            g[offsets["residual_db"]] = [_db(max(b.gain_db + 20 * math.log10(m), -140.0)) for b in p.residual.bands]
            g[offsets["residual_log_t60"]] = [math.log(b.t60_s) for b in p.residual.bands]
        if not p.reverb.enabled:
            glob_mask[i, offsets["reverb_db"]] = glob_mask[i, offsets["reverb_log_t60"]] = 0.0
        if not res_on:
            glob_mask[i, offsets["residual_db"]] = glob_mask[i, offsets["residual_log_t60"]] = 0.0
    t = lambda a: torch.from_numpy(a)  # noqa: E731
    return {"bins": t(bins), "bin_mask": t(bin_mask), "glob": t(glob), "glob_mask": t(glob_mask)}


def loss_terms(bins: torch.Tensor, glob: torch.Tensor, tg: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The training loss's terms (each a scalar): presence (BCE), place, ln T60, level (masked
    smooth L1 over present bins), global flags (BCE) and global values (masked smooth L1)."""
    mask = tg["bin_mask"]
    count = mask.sum().clamp_min(1.0)
    per_bin = lambda j: (F.smooth_l1_loss(bins[:, j], tg["bins"][:, j], reduction="none") * mask).sum() / count  # noqa: E731
    gp, gt, gm = split_globals(glob), split_globals(tg["glob"]), split_globals(tg["glob_mask"])
    flags = sum(F.binary_cross_entropy_with_logits(gp[k], gt[k]) for k in ("reverb_on", "residual_on"))
    values = sum((F.smooth_l1_loss(gp[k], gt[k], reduction="none") * gm[k]).sum() / gm[k].sum().clamp_min(1.0)
                 for k, _ in GLOBALS if k not in ("reverb_on", "residual_on"))
    presence = F.binary_cross_entropy_with_logits(bins[:, 0], tg["bins"][:, 0], pos_weight=torch.tensor(2.0))
    w = LOSS_WEIGHTS
    return {"presence": w["presence"] * presence, "place": w["place"] * per_bin(1), "t60": w["t60"] * per_bin(2),
            "level": w["level"] * per_bin(3), "flags": w["flags"] * flags, "globals": w["globals"] * values}


def truncate(audio: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Some windows cut to silence after a random time (0.3 s to the end), as short files end."""
    out = audio.clone()
    for i in range(len(out)):
        if rng.random() < TRUNCATE_FRACTION:
            out[i, int(rng.uniform(0.3, 3.0) * SAMPLE_RATE):] = 0.0
    return out


def held_out(seed: int, library: list[Preset], batch: int = BATCH) -> list[tuple[torch.Tensor, dict]]:
    """A fixed held-out set (``HELD_OUT // BATCH`` batches of ``batch``; seeds disjoint from training's)."""
    rng = np.random.default_rng([seed, 999])
    out = []
    for _ in range(max(1, HELD_OUT // BATCH)):
        audio, presets = draw_batch(batch, rng, library=library)
        out.append((truncate(audio, rng), targets(presets)))
    return out


def recalibrate(net: ImpactEncoder, *, seed: int, library: list[Preset], batch: int = BATCH,
                batches: int = RECALIBRATION_BATCHES) -> None:
    """Batch-norm statistics recomputed as plain averages over ``batches`` fresh batches (seeded
    by ``seed``, apart from training's draws). The running averages kept during training lag the
    weights: on held-out sounds they doubled the loss (2.4 vs 1.3 at step 600 of the shipped run)."""
    rng = np.random.default_rng([seed, 777])
    norms = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    net.train()
    with torch.no_grad():
        for _ in range(batches):
            audio, _ = draw_batch(batch, rng, library=library)
            net(truncate(audio, rng))
    for m in norms:
        m.momentum = 0.1
    net.eval()


def evaluate(net: ImpactEncoder, data) -> float:
    net.eval()
    with torch.no_grad():
        total = [float(sum(loss_terms(*net(a), tg).values())) for a, tg in data]
    net.train()
    return float(np.mean(total))


def train(*, steps: int, seed: int = 0, batch: int = BATCH, lr: float = LR, library: list[Preset] | None = None,
          log: Callable[[str], None] = print, checkpoint: str | os.PathLike | None = None,
          checkpoint_every: int = 200, max_minutes: float | None = None) -> tuple[ImpactEncoder, dict]:
    """Train an encoder from scratch; returns it and its metadata (see the module docstring).

    ``max_minutes`` stops early (the metadata says so); ``checkpoint`` is written every
    ``checkpoint_every`` steps (and at the end) with the metadata so far.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise WorkbenchError(f"steps: expected a whole number >= 1, got {steps!r}")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    library = library_presets() if library is None else library
    net = ImpactEncoder()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / steps, 1.0))))
    val = held_out(seed, library, batch)
    t0, recent, history, step = time.perf_counter(), [], [], 0
    meta = {}
    for step in range(1, steps + 1):
        audio, presets = draw_batch(batch, rng, library=library)
        terms = loss_terms(*net(truncate(audio, rng)), targets(presets))
        loss = sum(terms.values())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        sched.step()
        recent.append(loss.item())
        elapsed = time.perf_counter() - t0
        out_of_time = max_minutes is not None and elapsed > 60 * max_minutes
        if step % 25 == 0 or step == steps or out_of_time:
            parts = " ".join(f"{k} {v.item():.3f}" for k, v in terms.items())
            log(f"step {step}/{steps} loss {np.mean(recent[-25:]):.4f} ({parts}) {elapsed:.0f} s")
        last = step == steps or out_of_time
        if last:
            recalibrate(net, seed=seed, library=library, batch=batch)
        if step % checkpoint_every == 0 or last:
            history.append({"step": step, "train_loss": round(float(np.mean(recent[-50:])), 4),
                            "held_out_loss": round(evaluate(net, val), 4), "seconds": round(elapsed, 1)})
            log(f"held-out loss {history[-1]['held_out_loss']:.4f} at step {step}")
            meta = metadata(steps=steps, seed=seed, batch=batch, lr=lr, steps_run=step, history=history,
                            seconds=elapsed, stopped="time" if out_of_time else "steps", max_minutes=max_minutes,
                            library=bool(library))
            if checkpoint is not None:
                write_weights(net, meta, checkpoint)
        if out_of_time:
            break
    return net.eval(), meta


def metadata(*, steps: int, seed: int, batch: int, lr: float, steps_run: int, history: list, seconds: float,
             stopped: str, max_minutes: float | None = None, library: bool = True) -> dict:
    command = TRAIN_COMMAND.format(steps=steps, seed=seed)
    if batch != BATCH:
        command = command.replace(" -o ", f" --batch {batch} -o ")
    if max_minutes is not None:
        command = command.replace(" -o ", f" --max-minutes {max_minutes:g} -o ")
    if not library:
        command = command.replace(" -o ", " --no-library -o ")
    return {"schema": "impact-workbench/impact-encoder", "workbench": __version__,
            "command": command, "seed": seed, "steps": steps, "max_minutes": max_minutes, "library": library,
            "steps_run": steps_run, "stopped": stopped, "batch": batch, "lr": lr, "examples_seen": steps_run * batch,
            "final_train_loss": history[-1]["train_loss"] if history else None,
            "final_held_out_loss": history[-1]["held_out_loss"] if history else None,
            "history": history, "wall_s": round(seconds, 1), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "machine": f"{platform.machine()} {platform.system()}",
            "python": sys.version.split()[0], "recipe": RECIPE, "architecture": {},
            "loss_weights": LOSS_WEIGHTS, "recalibration_batches": RECALIBRATION_BATCHES,
            "input": {"sample_rate": SAMPLE_RATE, "n_samples": N_SAMPLES}}


def write_weights(net: ImpactEncoder, meta: dict, path: str | os.PathLike = WEIGHTS_PATH) -> Path:
    """``path`` (the state dict and the metadata as JSON text) and ``path`` with ``.json`` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(meta, indent=1)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()}, "meta": text}, tmp)
    os.replace(tmp, path)
    atomic_write_text(path.with_suffix(".json"), text + "\n")
    return path


__all__ = ["TRAIN_COMMAND", "loss_terms", "recalibrate", "targets", "train", "write_weights"]
