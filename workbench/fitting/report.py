"""A fit report: resynthesised audio and one PNG a person reads at a glance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from ..audio import save_audio
from ..errors import WorkbenchError
from ..names import unique_name
from ..plots import plot_spectrogram, save_figure, spectrogram_db
from ..rendering import force_profile
from .api import FitResult


def report_figure(result: FitResult, index: int = 0) -> Figure:
    """Target vs fit spectrograms (same axes and colour scale), force profile with the
    detected impacts, loss curve and mode table."""
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
    modes = preset.object.modes
    ax_m.scatter([m.freq_hz / 1e3 for m in modes], [m.t60_s for m in modes],
                 s=[8 + 4 * max(0.0, 60 + m.gain_db - max(x.gain_db for x in modes)) for m in modes],
                 c="tab:orange", alpha=0.7, label="object")
    if preset.tool:
        ax_m.scatter([m.freq_hz / 1e3 for m in preset.tool.modes], [m.t60_s for m in preset.tool.modes],
                     s=20, c="tab:blue", alpha=0.7, label="tool")
    ax_m.set_yscale("log")
    ax_m.set_xlabel("frequency (kHz)")
    ax_m.set_ylabel("T60 (s)")
    ax_m.set_title("modes (size = gain)")
    ax_m.legend(loc="upper right", fontsize=8)

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
    return fig


def write_report(result: FitResult, folder: str | Path) -> list[Path]:
    """Write ``<name>_fit.wav`` and ``<name>_report.png`` per clip into ``folder``.

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
        written.append(save_figure(report_figure(result, i), folder / f"{stem}_report.png", dpi=90))
    return written
