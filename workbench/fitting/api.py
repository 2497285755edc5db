"""`workbench.fit` (`workbench.fitting.api.fit`): from recordings to fitted presets.

Pipeline per clip: detect the strikes, cut the window that holds them and their
ring (`clips`), estimate modes / noise floor / room decay from the signal (`prior`),
then refine every parameter by analysis by synthesis (`optimize`). Several clips can
share one object (joint fit) or be labelled (tool, object) for source separation; a
file longer than ``clips.MAX_CLIP_S`` is cut into per-strike segments fitted jointly.

Example:
    >>> from workbench.presets import Preset, default_noise
    >>> from workbench.rendering import render
    >>> bell = Preset(name="bell", sample_rate=16000, duration_s=1.0, noise=default_noise(-75.0),
    ...               object={"modes": [{"freq_hz": 700, "t60_s": 0.5, "gain_db": -6}]},
    ...               impacts=[{"time_s": 0.1, "contact_s": 2e-4, "magnitude": 1}])
    >>> clip = Clip(name="my bell", audio=render(bell, device="cpu"), sample_rate=16000)
    >>> result = fit(clip, n_modes=2, steps=5, reverb=False, device="cpu")
    >>> result.preset.name, result.preset.provenance["settings"]["steps"], len(result.loss_histories)
    ('my bell', 5, 1)
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from ..budgets import FIT_SAMPLES
from ..controls import preset_from_controls
from ..damping import with_laws
from ..errors import WorkbenchError
from ..levels import limit_peak
from ..losses import normalized_distance
from ..presets import Preset
from ..rendering import render, render_batch, resolve_device
from ..synth import ImpactSynth
from ..version import __version__
from .clips import Clip, Window, as_clips, clipping_warning, fit_window, is_long, segment_long
from .labels import ClipLabel, resolve_labels
from .damping_prior import DampingPrior
from .optimize import optimize
from .params import FitParams
from .prior import initial_params
from .settings import FitSettings

_DEFAULTS = FitSettings()
# How a fit in parts stopped, from the most to the least telling.
_STOPPED = ("cancelled", "diverged", "steps", "converged")


@dataclass
class FitProgress:
    """What the callback receives every ``report_every`` steps.

    Clips at different sample rates fitted without ``joint``/``labels`` run in parts
    (one per rate), one after the other; ``step`` counts over all of them, each part
    counted as ``steps`` long (a part that converges early skips ahead), and
    ``presets``/``render`` show the clips of the part that is running.

    Attributes:
        step: Optimiser step over the whole fit, from 0.
        total_steps: ``steps`` times the number of parts.
        loss: Spectral loss of this step (of the part that is running).
        elapsed_s: Seconds of optimisation so far (all parts).
        part, n_parts: Which part is running, of how many.
    """

    step: int
    total_steps: int
    loss: float
    elapsed_s: float
    _make_presets: Callable[[], list[Preset]] = field(repr=False)
    _render: Callable[[str, int], np.ndarray] = field(repr=False)
    part: int = 0
    n_parts: int = 1

    @property
    def preset(self) -> Preset:
        """The current estimate of the part's first clip as a preset."""
        return self._make_presets()[0]

    @property
    def presets(self) -> list[Preset]:
        """The current estimate of every clip of the part, in input order."""
        return self._make_presets()

    def render(self, parts: str = "all", index: int = 0) -> np.ndarray:
        """Render the current estimate of the part's clip ``index`` (its target's length and rate)."""
        return self._render(parts, index)


@dataclass
class FitResult:
    """A finished fit.

    Attributes:
        presets: One preset per clip, in input order, named after the clip (joint fits
            share the object's modes).
        targets: The clips that were fitted (mono float32, each at its preset's sample rate).
        sample_rate: The first clip's rate (Hz); clips of other rates were fitted in
            their own part, and each preset carries its clip's rate.
        loss_history: Spectral loss per optimiser step; for a fit in parts, the parts'
            histories one after the other.
        distances: Normalised spectral distance of each clip's fit (0 identical, 1 noise).
        impacts: Detected strike times (s) per clip.
        steps_run: Optimiser steps run (summed over parts).
        stopped: ``steps``, ``converged``, ``cancelled`` or ``diverged`` (for parts, the
            first of cancelled, diverged, steps, converged that any part reports).
        elapsed_s: Wall time of the whole fit.
        warnings: Things the user should know (clipping, ...).
        file_preset: For a long file fitted by segments, one preset for the whole file.
        loss_histories: Each part's loss per step (one list for a fit in one part).
    """

    presets: list[Preset]
    targets: list[np.ndarray]
    sample_rate: int
    loss_history: list[float]
    distances: list[float]
    impacts: list[list[float]]
    steps_run: int
    stopped: str
    elapsed_s: float
    warnings: list[str] = field(default_factory=list)
    file_preset: Preset | None = None
    loss_histories: list[list[float]] = field(default_factory=list)

    @property
    def preset(self) -> Preset:
        """The preset of the first clip (or of the whole file for a segmented fit)."""
        return self.file_preset or self.presets[0]

    @property
    def distance(self) -> float:
        """Mean normalised distance over clips."""
        return float(np.mean(self.distances))

    @property
    def cancelled(self) -> bool:
        return self.stopped == "cancelled"

    def render(self, parts: str = "all", index: int = 0) -> np.ndarray:
        """Render clip ``index``'s fit with the length and rate of its target (at the
        preset's level: its ``provenance["level_gain_db"]`` below the recording's)."""
        sr = self.presets[index].sample_rate
        return render(self.presets[index], duration_s=len(self.targets[index]) / sr, sample_rate=sr,
                      device="cpu", parts=parts)


def fit(
    audio_or_paths,
    *,
    sample_rate: int | None = None,
    n_modes: int = _DEFAULTS.n_modes,
    steps: int = _DEFAULTS.steps,
    device=None,
    callback: Callable[[FitProgress], None] | None = None,
    seed: int = _DEFAULTS.seed,
    joint: bool = False,
    labels=None,
    cancel: threading.Event | None = None,
    channel: int | None = None,
    sensitivity: float = _DEFAULTS.sensitivity,
    lr: float = _DEFAULTS.lr,
    reverb: bool = _DEFAULTS.reverb,
    n_tool_modes: int = _DEFAULTS.n_tool_modes,
    report_every: int = _DEFAULTS.report_every,
    init: str = _DEFAULTS.init,
    patience: int | None = _DEFAULTS.patience,
    residual: bool = _DEFAULTS.residual,
    damping_weight: float = _DEFAULTS.damping_weight,
) -> FitResult:
    """Fit impact recordings with the physical model.

    Defaults and bounds of the numeric settings are `workbench.fitting.settings.FIT_SPECS`.

    Args:
        audio_or_paths: A path, an ``(audio, sample_rate)`` tuple (named ``clip0``,
            ``clip1``... by position), a `Clip` (named), or a list of them.
        sample_rate: Fit at this rate (default: the recordings'; joint clips must agree).
        n_modes: Object modes to fit (fewer if the recording has fewer).
        steps: Maximum optimiser steps (stops earlier when converged); 0: none, the start alone
            (with ``init="encoder"``, the encoder's preset).
        device: torch device (default: a GPU when there is one).
        callback: Called with a `FitProgress` every ``report_every`` steps.
        seed: Seed for the parts of the start that are random (tool modes, random init).
        joint: Several clips, one object: share the object's modes.
        labels: Tool/object labels: a CSV path (file,tool,object[,material]), a dict
            {clip or file name: (tool or None, object)}, or ``"names"`` to parse
            ``*_<tool>_on_<object>`` names. Implies a joint fit with shared tool and
            object modes. A long file's segments all get the file's label.
        cancel: A `threading.Event`; setting it stops the fit with the best result so far.
        channel: Channel of multichannel files (default: mix down).
        sensitivity: Impact detection sensitivity in [0, 1].
        lr: Adam learning rate on the unconstrained variables.
        reverb: Fit a room reverb.
        n_tool_modes: Modes per tool for labelled fits.
        report_every: Steps between two callbacks.
        init: ``"physics"`` (modes, noise floor and room estimated from the signal),
            ``"encoder"`` (modes, contact, noise, room and residual read by the impact encoder,
            `workbench.learned.impact`, in one pass; impact times from detection) or
            ``"random"`` (DiffImpact-style: random modes over the whole range, default
            noise and room; impact times still come from detection). For comparisons.
        patience: Stop early when the loss has not improved for this many steps
            (``None``: always run ``steps``).
        residual: Fit the strike's residual (decaying band noise the modes do not explain).
        damping_weight: Weight of the damping-law prior on the decay times
            (`workbench.fitting.damping_prior`; 0: none).

    Returns:
        A `FitResult`. Several clips without ``joint``/``labels`` each get their own
        object, fitted together in one batch per sample rate (a part); parts run one
        after the other with the same settings.

    Raises:
        WorkbenchError: unreadable/silent input, no impact found, clips too short (each
            naming the clip), mismatched sample rates in a joint fit, bad arguments
            (naming the argument), a recording over the `workbench.budgets.FIT_SAMPLES`
            budget (checked before any work).
    """
    t_start = time.perf_counter()
    settings = FitSettings(n_modes=n_modes, steps=steps, patience=patience, lr=lr, sensitivity=sensitivity,
                           n_tool_modes=n_tool_modes, report_every=report_every, init=init, reverb=reverb,
                           seed=seed, residual=residual, damping_weight=damping_weight)
    dev = resolve_device(device)
    clips = as_clips(audio_or_paths, sample_rate=sample_rate, channel=channel)
    for c in clips:          # before any work: the resynthesis renders the whole recording
        FIT_SAMPLES.check(len(c.audio), what=f"{c.name} ({len(c.audio) / c.sample_rate:.1f} s at "
                          f"{c.sample_rate} Hz)", hint="trim the recording, or fit it at a lower sample rate")
    clip_labels = resolve_labels(labels, clips) if labels is not None else None
    shared = joint or clip_labels is not None
    if shared and len({c.sample_rate for c in clips}) > 1:
        listing = ", ".join(f"{c.name} {c.sample_rate} Hz" for c in clips)
        raise WorkbenchError(f"joint fit: the clips have different sample rates ({listing}); "
                             "pass sample_rate= to resample them to one")
    notes = [w for w in (clipping_warning(c) for c in clips) if w]
    for note in notes:
        warnings.warn(note, stacklevel=2)

    whole_file = None
    if len(clips) == 1 and is_long(clips[0]):
        whole_file = clips[0]
        clips = segment_long(whole_file, settings.sensitivity)
        if clip_labels is not None:          # every segment has its file's label
            clip_labels = clip_labels * len(clips)
        shared = True
    groups = [list(range(len(clips)))] if shared else _by_rate(clips)
    parts, done_s = [], 0.0
    for k, members in enumerate(groups):
        report = None
        if callback is not None:
            def report(step, loss, elapsed_s, make_presets, render_current, k=k, done_s=done_s):
                callback(FitProgress(step=k * settings.steps + step, total_steps=len(groups) * settings.steps,
                                     loss=loss, elapsed_s=done_s + elapsed_s, part=k, n_parts=len(groups),
                                     _make_presets=make_presets, _render=render_current))
        part, loop_s = _fit_part([clips[i] for i in members],
                                 [clip_labels[i] for i in members] if clip_labels else None,
                                 settings=settings, shared=shared, device=dev, cancel=cancel, report=report)
        parts.append(part)
        done_s += loop_s
    result = parts[0] if len(parts) == 1 else _concat_results(parts, groups)
    result.warnings = notes
    if whole_file is not None:
        result.file_preset = limit_peak(_merge_segments(result.presets, whole_file))
    # Headroom: a fitted preset renders at or below specs.HEADROOM_DBFS (the gain is in
    # its provenance; the distances were measured before it, at the recording's level).
    result.presets = [limit_peak(p) for p in result.presets]
    result.elapsed_s = time.perf_counter() - t_start
    return result


def _by_rate(clips: list[Clip]) -> list[list[int]]:
    """Clip indices grouped by sample rate, groups in order of first appearance."""
    groups: dict[int, list[int]] = {}
    for i, c in enumerate(clips):
        groups.setdefault(c.sample_rate, []).append(i)
    return list(groups.values())


def _fit_part(clips: list[Clip], labels: list[ClipLabel] | None, *, settings: FitSettings, shared: bool,
              device: torch.device, cancel: threading.Event | None,
              report: Callable | None) -> tuple[FitResult, float]:
    """Fit clips of one sample rate in one batch; also returns the optimiser's seconds."""
    t_start = time.perf_counter()
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    sr = clips[0].sample_rate
    windows = [fit_window(c, settings.sensitivity) for c in clips]
    n = max(w.length for w in windows)
    targets, scales = [], []
    for w in windows:
        seg = w.clip.audio[w.start:w.start + n]
        seg = np.pad(seg, (0, n - len(seg)))
        scale = float(np.max(np.abs(seg))) or 1.0
        targets.append(seg / scale)
        scales.append(scale)
    params = initial_params(windows, targets, labels=labels, shared=shared, settings=settings, rng=rng).to(device)
    synth = ImpactSynth(sample_rate=sr, n_samples=n)
    target = torch.tensor(np.stack(targets), dtype=torch.float32, device=device)
    provenance = {"fitted_by": f"impact-workbench {__version__}",
                  "settings": {**settings.to_dict(), "joint": shared, "device": str(device)}}

    def make_presets() -> list[Preset]:
        return _presets(params, windows, scales, reverb=settings.reverb, provenance=provenance, labels=labels)

    def render_current(parts: str, index: int) -> np.ndarray:
        return render(make_presets()[index], duration_s=len(clips[index].audio) / sr, sample_rate=sr,
                      device="cpu", parts=parts)

    on_report = None
    if report is not None:
        def on_report(step: int, loss: float, elapsed_s: float) -> None:
            report(step, loss, elapsed_s, make_presets, render_current)

    damping = DampingPrior(params, weight=settings.damping_weight)
    outcome = optimize(params, synth, target, steps=settings.steps, lr=settings.lr, reverb=settings.reverb,
                       cancel=cancel, report_every=settings.report_every, on_report=on_report,
                       patience=settings.patience or settings.steps,
                       prior=damping if settings.damping_weight > 0 else None)
    presets = [with_laws(p) for p in make_presets()]
    distances = _distances(presets, clips)
    fitted_at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    presets = [p.replace(provenance={**p.provenance, "distance": round(d, 4), "steps_run": outcome.steps_run,
                                     "fitted_at": fitted_at})
               for p, d in zip(presets, distances)]
    result = FitResult(presets=presets, targets=[c.audio for c in clips], sample_rate=sr,
                       loss_history=outcome.loss_history, distances=distances,
                       impacts=[[imp.time_s for imp in w.impacts] for w in windows],
                       steps_run=outcome.steps_run, stopped=outcome.stopped,
                       elapsed_s=time.perf_counter() - t_start, loss_histories=[outcome.loss_history])
    return result, outcome.elapsed_s


def _presets(params: FitParams, windows: list[Window], scales: list[float], *, reverb: bool,
             provenance: dict, labels: list[ClipLabel] | None) -> list[Preset]:
    """The current controls as one preset per clip, in file time and at the clip's level.

    The fit ran on peak-normalised windows: each clip's level goes back into its impact
    magnitudes (shared modes stay shared) and its noise floor.
    """
    with torch.no_grad():
        controls = params.controls(reverb=reverb)
    presets = []
    for i, (win, scale) in enumerate(zip(windows, scales)):
        clip, label = win.clip, labels[i] if labels else None
        presets.append(preset_from_controls(
            controls, i, name=clip.name, sample_rate=clip.sample_rate,
            duration_s=len(clip.audio) / clip.sample_rate, n_impacts=len(win.impacts),
            time_offset_s=win.start / clip.sample_rate, level=scale,
            material=label.material if label else "",
            tags=tuple(t for t in (label.tool, label.object) if t) if label else (),
            provenance={**provenance, "source": clip.path or clip.name, "sha256": clip.sha256,
                        "offset_s": clip.offset_s}))
    return presets


def _distances(presets: list[Preset], clips: list[Clip]) -> list[float]:
    """Normalised spectral distance of each preset to its clip (all at one sample rate)."""
    sr = clips[0].sample_rate
    n = max(len(c.audio) for c in clips)
    with torch.no_grad():
        y = render_batch(presets, duration_s=n / sr, sample_rate=sr, device="cpu")
        return [float(normalized_distance(y[i:i + 1, :len(c.audio)], torch.from_numpy(c.audio)[None])[0])
                for i, c in enumerate(clips)]


def _merge_segments(presets: list[Preset], clip: Clip) -> Preset:
    """One preset for a long file: the shared object and every fitted strike in file time."""
    impacts = [imp.model_copy(update={"time_s": imp.time_s + p.provenance.get("offset_s", 0.0)})
               for p in presets for imp in p.impacts]
    first, last = presets[0], presets[-1]
    shift = last.provenance.get("offset_s", 0.0)           # the file's edited end is in the last segment
    fade = None if last.fade_out is None else {"start_s": last.fade_out.start_s + shift,
                                               "end_s": last.fade_out.end_s + shift}
    return first.replace(name=clip.name, duration_s=len(clip.audio) / clip.sample_rate,
                         impacts=[i.model_dump() for i in impacts], fade_out=fade,
                         provenance={**first.provenance, "offset_s": 0.0, "segments": len(presets),
                                     "distance": round(float(np.mean([p.provenance["distance"] for p in presets])), 4)})


def _concat_results(parts: Sequence[FitResult], groups: list[list[int]]) -> FitResult:
    """One result from the parts of a fit; ``groups[k]`` are part k's clip indices."""
    order = np.argsort([i for g in groups for i in g], kind="stable")

    def per_clip(attr: str) -> list:
        flat = [x for r in parts for x in getattr(r, attr)]
        return [flat[j] for j in order]

    return FitResult(
        presets=per_clip("presets"), targets=per_clip("targets"), sample_rate=parts[0].sample_rate,
        loss_history=[v for r in parts for v in r.loss_history], distances=per_clip("distances"),
        impacts=per_clip("impacts"), steps_run=sum(r.steps_run for r in parts),
        stopped=next(s for s in _STOPPED if any(r.stopped == s for r in parts)),
        elapsed_s=sum(r.elapsed_s for r in parts), loss_histories=[r.loss_history for r in parts])
