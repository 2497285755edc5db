"""A fit report: resynthesised audio and one PNG a person reads at a glance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from ..audio import save_audio
from ..damping import DampingLaw
from ..errors import WorkbenchError
from ..names import unique_name
from ..plots import plot_spectrogram, save_figure, spectrogram_db
from ..rendering import force_profile
from .api import FitResult


#: Colour of each body's modes and damping law in the report.
BODY_COLOURS = {"object": "tab:orange", "tool": "tab:blue"}
#: What the report says for a body without a stored damping law.
NO_LAW = "no damping law stored"


def _bodies(preset):
    return [(name, body) for name, body in (("object", preset.object), ("tool", preset.tool)) if body is not None]


def damping_lines(preset) -> list[str]:
    """Each body's damping law (`workbench.damping.DampingLaw.describe`), split after the
    law's formula so it fits beside the impacts: ``["object: sigma = ...", "  spread x1.40 ..."]``."""
    lines = []
    for name, body in _bodies(preset):
        if body.damping is None:
            lines.append(f"{name}: {NO_LAW}")
            continue
        formula, _, spread = DampingLaw.from_dict(body.damping.model_dump()).describe().partition(", ")
        lines += [f"{name}: {formula}", f"  {spread}"]
    return lines


def plot_damping(ax, preset) -> None:
    """Each body's modes, T60 against frequency on log axes (object sized by gain), and its
    damping law over the frequencies it was fitted on (line; shaded: its scatter factor)."""
    for name, body in _bodies(preset):
        colour, modes = BODY_COLOURS[name], body.modes
        if not modes:
            continue
        top = max(m.gain_db for m in modes)
        ax.scatter([m.freq_hz for m in modes], [m.t60_s for m in modes], c=colour, alpha=0.7, label=f"{name} modes",
                   s=[8 + 4 * max(0.0, 60 + m.gain_db - top) for m in modes] if name == "object" else 20)
        if body.damping is not None:
            law = DampingLaw.from_dict(body.damping.model_dump())
            lo, hi = sorted(float(f) for f in law.freq_range_hz)
            f = np.geomspace(lo, max(hi, lo * 1.001), 64)
            t60, scatter = law.t60_at(f), float(np.exp(law.spread))
            ax.fill_between(f, t60 / scatter, t60 * scatter, color=colour, alpha=0.15, lw=0)
            ax.plot(f, t60, color=colour, lw=2, label=f"{name} law")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("T60 (s)")
    ax.set_title("modes and damping law (size = gain)", fontsize=10)
    ax.legend(loc="best", fontsize=7, framealpha=0.6)


def report_figure(result: FitResult, index: int = 0) -> Figure:
    """Target vs fit spectrograms (same axes and colour scale), force profile with the
    detected impacts, loss curve, modes with each body's damping law, mode table, impacts,
    damping laws and residual bands."""
    preset = result.presets[index]
    sr = preset.sample_rate
    target = result.targets[index]
    fitted = result.render(index=index)
    fig = Figure(figsize=(14, 9), layout="constrained")
    grid = fig.add_gridspec(3, 3, height_ratios=[1.25, 0.8, 1.0])
    _, _, level = spectrogram_db(target, sr)
    vmax = float(np.ceil(level.max() / 10) * 10)
    vmin = vmax - 90
    ax_t = fig.add_subplot(grid[0, 0])
    ax_f = fig.add_subplot(grid[0, 1], sharex=ax_t, sharey=ax_t)
    plot_spectrogram(ax_t, target, sr, title=f"recording: {preset.name}", vmin=vmin, vmax=vmax)
    img = plot_spectrogram(ax_f, fitted, sr, title=f"fit (distance {result.distances[index]:.3f})",
                           vmin=vmin, vmax=vmax)
    fig.colorbar(img, ax=[ax_t, ax_f], label="level (dBFS)", shrink=0.9)

    ax_m = fig.add_subplot(grid[0, 2])
    plot_damping(ax_m, preset)
    modes = preset.object.modes

    ax_force = fig.add_subplot(grid[1, :2])
    duration = len(target) / sr
    force = force_profile(preset, duration_s=duration, sample_rate=sr, dtype=torch.float64)
    t = np.arange(len(force)) / sr
    ax_force.plot(t, force / max(np.max(np.abs(force)), 1e-12), color="tab:red", lw=1, label="fitted force")
    for k, ts in enumerate(result.impacts[index]):
        ax_force.axvline(ts, color="k", ls="--", lw=0.8, label="detected impact" if k == 0 else None)
    times = result.impacts[index] or [0.0]
    if max(times) - min(times) < 0.1:      # one strike: zoom in so the pulse has a shape
        ax_force.set_xlim(min(times) - 0.005, max(times) + 0.015)
    else:
        ax_force.set_xlim(0, duration)
    ax_force.set_xlabel("time (s)")
    ax_force.set_ylabel("force (normalised)")
    ax_force.set_title("contact force")
    ax_force.legend(loc="upper right", fontsize=8)

    ax_loss = fig.add_subplot(grid[1, 2])
    histories = result.loss_histories or [result.loss_history]
    if len(histories) == 1:
        ax_loss.plot(histories[0], color="tab:green")
    else:                                       # a fit in parts (one per sample rate): a curve each
        for k, history in enumerate(histories):
            ax_loss.plot(history, label=f"part {k + 1}")
        ax_loss.legend(loc="upper right", fontsize=8)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("spectral loss")
    ax_loss.set_title(f"loss ({result.steps_run} steps, {result.elapsed_s:.1f} s, {result.stopped})")

    ax_tab = fig.add_subplot(grid[2, :])
    ax_tab.axis("off")
    loudest = sorted(modes, key=lambda m: -m.gain_db)[:12]
    rows = [[f"{m.freq_hz:.1f}", f"{m.t60_s:.3f}", f"{m.gain_db:.1f}"] for m in sorted(loudest, key=lambda m: m.freq_hz)]
    imp_rows = [f"t={i.time_s:.4f} s  tau={i.contact_s * 1e3:.3f} ms  m={i.magnitude:.3g}" for i in preset.impacts[:6]]
    table = ax_tab.table(cellText=rows, colLabels=["freq (Hz)", "T60 (s)", "gain (dB)"],
                         bbox=[0.0, 0.0, 0.33, 0.92])
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    ax_tab.set_title(f"12 loudest of {len(modes)} object modes", loc="left")
    ax_tab.text(0.36, 0.95, "impacts:\n" + "\n".join(imp_rows), va="top", family="monospace", fontsize=9,
                transform=ax_tab.transAxes)
    ax_tab.text(0.36, 0.40, "damping law:\n" + "\n".join(damping_lines(preset)), va="top", family="monospace",
                fontsize=8, transform=ax_tab.transAxes)
    res = preset.residual
    if res is not None and res.enabled:
        res_rows = [f"{b.freq_hz:>7.0f} Hz {b.gain_db:6.1f} dB {b.t60_s * 1e3:6.1f} ms" for b in res.bands[:12]]
        residual = "residual (band, level, T60):\n" + "\n".join(res_rows)
    else:
        residual = "residual: " + ("none" if res is None else "off")
    ax_tab.text(0.70, 0.95, residual, va="top", family="monospace", fontsize=9, transform=ax_tab.transAxes)
    if preset.fade_out is not None:
        ax_tab.text(0.70, 0.10, f"recording's fade-out (an edit, rendered):\n"
                    f"{preset.fade_out.start_s:.2f} s -> {preset.fade_out.end_s:.2f} s",
                    va="top", family="monospace", fontsize=8, transform=ax_tab.transAxes)
    return fig


def write_report(result: FitResult, folder: str | Path) -> list[Path]:
    """Write ``<name>_fit.wav`` and ``<name>_report.png`` per clip into ``folder`` (and the parts:
    ``_object.wav``, ``_tool.wav`` for a preset with a tool, ``_residual.wav`` with a residual).

    Clips of the same name get ``<name>-2``, ``-3``... (`workbench.names.unique_name`).
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise WorkbenchError(f"{folder}: cannot create the report folder ({err.strerror or err})") from None
    written, stems = [], []
    for i, preset in enumerate(result.presets):
        stem = unique_name(preset.name.replace("#", "_"), stems)
        stems.append(stem)
        sr = preset.sample_rate
        written.append(save_audio(folder / f"{stem}_fit.wav", result.render(index=i), sr, subtype="FLOAT"))
        if preset.tool is not None:
            written.append(save_audio(folder / f"{stem}_object.wav", result.render("object", index=i), sr,
                                      subtype="FLOAT"))
            written.append(save_audio(folder / f"{stem}_tool.wav", result.render("tool", index=i), sr,
                                      subtype="FLOAT"))
        if preset.residual is not None and preset.residual.enabled:
            written.append(save_audio(folder / f"{stem}_residual.wav", result.render("residual", index=i), sr,
                                      subtype="FLOAT"))
        written.append(save_figure(report_figure(result, i), folder / f"{stem}_report.png", dpi=90))
    return written
