"""`workbench.fit` (`workbench.fitting.api.fit`): from recordings to fitted presets.

Pipeline per clip: detect the strikes, cut the window that holds them and their
ring, estimate modes / noise floor / room decay from the signal (physics prior),
then refine every parameter by analysis by synthesis. Several clips can share one
object (joint fit) or be labelled (tool, object) for source separation; a file
longer than ``max_clip_s`` is cut into per-strike segments fitted jointly.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import os
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .. import specs
from ..version import __version__
from ..analysis.detect import detect_impacts, segment_impacts
from ..analysis.modes import estimate_contact_s, estimate_modes, estimate_noise_bands, estimate_room_decay
from ..audio import check_audio, load_audio, resample
from ..errors import WorkbenchError
from ..losses import MultiScaleSpectralLoss, normalized_distance
from ..presets import Preset
from ..rendering import resolve_device
from ..synth import ImpactSynth
from .labels import ClipLabel, resolve_labels
from .optimize import optimize
from .params import BankInit, ClipInit, FitParams, gain_for_amplitude

# Lead-in before the first strike kept in the fitted window (background noise).
PRE_ONSET_S = 0.05
# The fitted window ends this long after the ring has sunk into the noise floor ...
TAIL_MARGIN_S = 0.15
# ... and is at least / at most this long after the last strike.
MIN_RING_S, MAX_RING_S = 0.3, 2.5
# Shortest initial contact duration; the start is estimated from the modes' high-frequency
# roll-off (`estimate_contact_s`), and mode gains are compensated for its spectrum.
CONTACT_INIT_S = 1.5e-4
# Files longer than this are cut into per-strike segments (bounded memory).
MAX_CLIP_S = 12.0
MAX_SEGMENTS = 12
# Tool modes start this far below the object's loudest mode.
TOOL_INIT_DB = -30.0


@dataclass
class Clip:
    """A mono recording to fit."""

    name: str
    audio: np.ndarray
    sample_rate: int
    path: str | None = None
    sha256: str | None = None
    offset_s: float = 0.0           # where this clip starts in its source file


@dataclass
class FitProgress:
    """What the callback receives every few steps."""

    step: int
    total_steps: int
    loss: float
    elapsed_s: float
    _make_presets: Callable[[], list[Preset]] = field(repr=False)
    _render: Callable[[str, int], np.ndarray] = field(repr=False)

    @property
    def preset(self) -> Preset:
        """The current estimate of clip 0 as a preset."""
        return self._make_presets()[0]

    @property
    def presets(self) -> list[Preset]:
        return self._make_presets()

    def render(self, parts: str = "all", index: int = 0) -> np.ndarray:
        """Render the current estimate of clip ``index`` (the target's length)."""
        return self._render(parts, index)


@dataclass
class FitResult:
    """A finished fit.

    Attributes:
        presets: One preset per clip (joint fits share the object's modes).
        targets: The clips that were fitted (mono float32, at ``sample_rate``).
        loss_history: Spectral loss per optimiser step.
        distances: Normalised spectral distance of each clip's fit (0 identical, 1 noise).
        impacts: Detected strike times (s) per clip.
        cancelled: Whether the fit was cancelled (the best result so far is kept).
        warnings: Things the user should know (clipping, ...).
        file_preset: For a long file fitted by segments, one preset for the whole file.
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
        """Render clip ``index``'s fit with the length and rate of its target."""
        from ..rendering import render

        return render(self.presets[index], duration_s=len(self.targets[index]) / self.sample_rate,
                      sample_rate=self.sample_rate, device="cpu", parts=parts)


# ---------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------

def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _as_clips(audio_or_paths, *, sample_rate: int | None, channel: int | None) -> list[Clip]:
    items = audio_or_paths
    if isinstance(items, (str, os.PathLike)) or (isinstance(items, tuple) and len(items) == 2
                                                   and isinstance(items[0], np.ndarray)):
        items = [items]
    clips = []
    for i, item in enumerate(items):
        if isinstance(item, (str, os.PathLike)):
            audio, sr = load_audio(item, channel=channel)
            clips.append(Clip(Path(item).stem, audio, sr, str(item), _sha256(str(item))))
        elif isinstance(item, tuple) and len(item) == 2:
            name = f"clip{i}"
            audio = check_audio(np.asarray(item[0], dtype=np.float32).reshape(-1), item[1], name=name)
            clips.append(Clip(name, audio, int(item[1])))
        else:
            raise WorkbenchError(f"audio_or_paths[{i}]: expected a file path or an (audio, sample_rate) "
                                 f"tuple, got {type(item).__name__}")
    if not clips:
        raise WorkbenchError("audio_or_paths: no recordings given")
    for c in clips:
        target_rate = sample_rate or (c.sample_rate if specs.SAMPLE_RATE.contains(c.sample_rate) else 44100)
        if not specs.SAMPLE_RATE.contains(target_rate):
            raise WorkbenchError(f"sample_rate: {target_rate} Hz is outside [16000, 96000] Hz")
        if target_rate != c.sample_rate:
            c.audio, c.sample_rate = resample(c.audio, c.sample_rate, target_rate), target_rate
    return clips


def _clipping_warning(clip: Clip) -> str | None:
    peak = float(np.max(np.abs(clip.audio)))
    at_peak = np.abs(clip.audio) >= 0.999 * peak
    runs = np.count_nonzero(at_peak[1:] & at_peak[:-1])
    if peak >= 0.98 and runs >= 3:
        return (f"{clip.name}: the recording looks clipped ({runs + 1} samples stuck at full scale); "
                "the fit proceeds but loud strikes are underestimated")
    return None


def _ring_end(audio: np.ndarray, sample_rate: int, after: int) -> int:
    """Sample where the ring after ``after`` has first sunk to the noise floor (+ margin)."""
    hop = max(1, int(0.01 * sample_rate))
    frames = np.lib.stride_tricks.sliding_window_view(audio, hop)[::hop]
    power = np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-20
    level = 10 * np.log10(np.convolve(power, np.ones(5) / 5, mode="same"))   # 50 ms smoothing
    floor = np.percentile(level, 10)
    start = after // hop + 2
    below = np.flatnonzero(level[start:] < floor + 6.0)
    end = (start + below[0]) * hop if len(below) else len(audio)
    return int(end + TAIL_MARGIN_S * sample_rate)


@dataclass
class _Window:
    clip: Clip
    start: int
    impacts: list        # detected Impact objects (times relative to the clip)
    length: int = 0


def _window(clip: Clip, sensitivity: float) -> _Window:
    sr = clip.sample_rate
    impacts = detect_impacts(clip.audio, sr, sensitivity=sensitivity)
    if not impacts:
        raise WorkbenchError(f"{clip.name}: no impact detected (try a higher sensitivity than {sensitivity})")
    first, last = impacts[0].time_s, impacts[-1].time_s
    start = max(0, int((first - PRE_ONSET_S) * sr))
    last_i = int(last * sr)
    end = min(len(clip.audio), max(last_i + int(MIN_RING_S * sr),
                                   min(_ring_end(clip.audio, sr, last_i), last_i + int(MAX_RING_S * sr))))
    n_fft_max = max(MultiScaleSpectralLoss().fft_sizes)
    if end - start < n_fft_max:
        raise WorkbenchError(f"{clip.name}: too short to fit ({(end - start) / sr * 1e3:.0f} ms after the "
                             f"strike; at least {n_fft_max} samples are needed)")
    return _Window(clip, start, impacts, end - start)


def _segment_long(clip: Clip, sensitivity: float) -> list[Clip]:
    sr = clip.sample_rate
    impacts = detect_impacts(clip.audio, sr, sensitivity=sensitivity)
    if not impacts:
        raise WorkbenchError(f"{clip.name}: no impact detected (try a higher sensitivity than {sensitivity})")
    segments = segment_impacts(clip.audio, sr, impacts, pre_s=PRE_ONSET_S, max_len_s=MAX_RING_S)
    segments = sorted(segments, key=lambda s: -s.impact.peak_db)[:MAX_SEGMENTS]
    segments.sort(key=lambda s: s.start_s)
    out = []
    for k, seg in enumerate(segments):
        part = clip.audio[seg.samples(sr)]
        if len(part) < 2048:
            continue
        out.append(Clip(f"{clip.name}#{k}", part, sr, clip.path, clip.sha256, offset_s=seg.start_s))
    if not out:
        raise WorkbenchError(f"{clip.name}: the strikes are too close together to fit")
    return out


# ---------------------------------------------------------------------------------------
# Initialisation (physics prior)
# ---------------------------------------------------------------------------------------

def _clip_init(win: _Window, audio: np.ndarray, *, reverb_freqs, noise_freqs) -> tuple[ClipInit, dict]:
    sr = win.clip.sample_rate
    times = np.array([imp.time_s for imp in win.impacts]) - win.start / sr
    levels = np.array([imp.peak_db for imp in win.impacts])
    loudest = int(np.argmax(levels))
    mags = 10 ** ((levels - levels[loudest]) / 20)
    onset = float(times[loudest])
    noise = estimate_noise_bands(audio, sr, band_freqs_hz=np.array(noise_freqs), onset_s=float(times[0]))
    room_t60 = estimate_room_decay(audio, sr, band_freqs_hz=np.array(reverb_freqs), onset_s=onset)
    init = ClipInit(
        times_s=times, contacts_s=np.full(len(times), CONTACT_INIT_S), magnitudes=mags,
        acceleration=1e-8, noise_gains_db=specs.NOISE_GAIN_DB.clip(noise),
        reverb_gains_db=np.full(len(reverb_freqs), -35.0), reverb_t60_s=specs.REVERB_T60_S.clip(room_t60))
    return init, {"onset_s": onset}


def _bank_init(audio: np.ndarray, sr: int, onset_s: float, n_modes: int) -> tuple[BankInit, float]:
    """Initial modes and contact duration; gains are compensated for the contact's spectrum."""
    est = estimate_modes(audio, sr, n_modes=n_modes, onset_s=onset_s, max_freq_hz=0.45 * sr)
    if len(est.freqs_hz) == 0:
        raise WorkbenchError("no resonant modes found above the noise floor")
    order = np.argsort(est.freqs_hz)
    f, amp = np.asarray(est.freqs_hz)[order], np.asarray(est.amplitudes)[order]
    contact = estimate_contact_s(f, amp, min_s=CONTACT_INIT_S)
    return BankInit(freqs_hz=f, t60_s=np.asarray(est.t60_s)[order],
                    gains_db=gain_for_amplitude(amp, f, contact)), contact


def _random_bank(n_modes: int, max_freq_hz: float, rng) -> BankInit:
    """DiffImpact-style start: modes spread at random over the whole range."""
    f = np.sort(np.exp(rng.uniform(np.log(50.0), np.log(max_freq_hz), n_modes)))
    return BankInit(freqs_hz=f, t60_s=np.exp(rng.uniform(np.log(0.05), np.log(1.0), n_modes)),
                    gains_db=rng.normal(-30.0, 5.0, n_modes))


def _split_tool_modes(banks: dict, labels: list[ClipLabel], n_tool_modes: int, rng) -> dict:
    """Tool modes: start each tool with the modes its clips share across different objects,
    else with quiet modes spread over the upper spectrum."""
    tools = {}
    for tool in sorted({lab.tool for lab in labels if lab.tool}):
        objects_struck = [lab.object for lab in labels if lab.tool == tool]
        shared = []
        per_object = [banks[o] for o in dict.fromkeys(objects_struck)]
        if len(per_object) >= 2:
            ref = per_object[0]
            for f, t, g in zip(ref.freqs_hz, ref.t60_s, ref.gains_db):
                if all(np.min(np.abs(b.freqs_hz / f - 1)) < 0.005 for b in per_object[1:]):
                    shared.append((f, t, g))
        shared = shared[:n_tool_modes]
        n_fill = n_tool_modes - len(shared)
        loud = max(float(np.max(b.gains_db)) for b in banks.values())
        fill_f = np.geomspace(1500.0, 15000.0, max(n_fill, 1))[:n_fill] * rng.uniform(0.97, 1.03, n_fill)
        freqs = np.concatenate([[s[0] for s in shared], fill_f])
        t60 = np.concatenate([[s[1] for s in shared], np.full(n_fill, 0.05)])
        gains = np.concatenate([[s[2] for s in shared], np.full(n_fill, loud + TOOL_INIT_DB)])
        order = np.argsort(freqs)
        tools[tool] = BankInit(freqs[order], t60[order], gains[order])
    return tools


# ---------------------------------------------------------------------------------------
# The fit
# ---------------------------------------------------------------------------------------

def _presets_from_params(params: FitParams, windows: list[_Window], scales: list[float], *,
                         reverb: bool, provenance: dict, labels: list[ClipLabel] | None) -> list[Preset]:
    with torch.no_grad():
        c = params.controls(reverb=reverb)
        arr = lambda t: t.detach().double().cpu().numpy()  # noqa: E731
        f, t60, g = arr(c.freqs_hz), arr(c.t60_s), arr(c.gains_db)
        tf = tt = tg = None
        if c.tool_freqs_hz is not None:
            tf, tt, tg = arr(c.tool_freqs_hz), arr(c.tool_t60_s), arr(c.tool_gains_db)
        times, contacts, mags = arr(c.times_s), arr(c.contacts_s), arr(c.magnitudes)
        acc, noise = arr(c.acceleration), arr(c.noise_gains_db)
        rg, rt = arr(c.reverb_gains_db), arr(c.reverb_t60_s)
    presets = []
    # The fit ran on peak-normalised clips: each clip's level goes back into its impact
    # magnitudes (shared modes stay shared) and its noise floor.
    for i, (win, scale) in enumerate(zip(windows, scales)):
        sr = win.clip.sample_rate
        level_db = 20 * math.log10(scale)
        modes = lambda F, T, G: sorted(  # noqa: E731
            ({"freq_hz": float(specs.FREQ_HZ.clip(a)), "t60_s": float(specs.T60_S.clip(b)),
              "gain_db": float(specs.GAIN_DB.clip(d))} for a, b, d in zip(F, T, G) if d > -190),
            key=lambda m: m["freq_hz"])
        n_imp = len(win.impacts)
        label = labels[i] if labels else None
        presets.append(Preset(
            name=win.clip.name, sample_rate=sr, duration_s=len(win.clip.audio) / sr,
            material=label.material if label else "",
            tags=tuple(t for t in ((label.tool, label.object) if label else ()) if t),
            object={"modes": modes(f[i], t60[i], g[i])},
            tool={"modes": modes(tf[i], tt[i], tg[i])} if tf is not None and np.any(tg[i] > -190) else None,
            impacts=[{"time_s": float(times[i, k] + win.start / sr),
                      "contact_s": float(specs.CONTACT_S.clip(contacts[i, k])),
                      "magnitude": float(specs.MAGNITUDE.clip(mags[i, k] * scale))} for k in range(n_imp)],
            acceleration=float(specs.ACCELERATION.clip(acc[i])),
            noise={"bands": [{"freq_hz": fq, "gain_db": float(specs.NOISE_GAIN_DB.clip(v + level_db))}
                             for fq, v in zip(params.noise_freqs_hz, noise[i])]},
            reverb={"enabled": bool(reverb), "bands": [
                {"freq_hz": fq, "gain_db": float(specs.REVERB_GAIN_DB.clip(a)), "t60_s": float(specs.REVERB_T60_S.clip(b))}
                for fq, a, b in zip(params.reverb_freqs_hz, rg[i], rt[i])]},
            provenance={**provenance, "source": win.clip.path or win.clip.name, "sha256": win.clip.sha256,
                        "offset_s": win.clip.offset_s},
        ))
    return presets


def fit(
    audio_or_paths,
    *,
    sample_rate: int | None = None,
    n_modes: int = 48,
    steps: int = 250,
    device=None,
    callback: Callable[[FitProgress], None] | None = None,
    seed: int = 0,
    joint: bool = False,
    labels=None,
    cancel: threading.Event | None = None,
    channel: int | None = None,
    sensitivity: float = 0.5,
    lr: float = 0.05,
    reverb: bool = True,
    n_tool_modes: int = 16,
    report_every: int = 10,
    init: str = "physics",
    patience: int | None = 40,
) -> FitResult:
    """Fit impact recordings with the physical model.

    Args:
        audio_or_paths: A path, an ``(audio, sample_rate)`` tuple, or a list of them.
        sample_rate: Fit at this rate (default: the recordings'; joint clips must agree).
        n_modes: Object modes to fit (fewer if the recording has fewer).
        steps: Maximum optimiser steps (stops earlier when converged).
        device: torch device (default: a GPU when there is one).
        callback: Called with a `FitProgress` every ``report_every`` steps.
        seed: Seed for the parts of the start that are random (tool modes).
        joint: Several clips, one object: share the object's modes.
        labels: Tool/object labels: a CSV path (file,tool,object[,material]), a dict
            {file name: (tool, object)}, or ``"names"`` to parse ``*_<tool>_on_<object>``
            file names. Implies a joint fit with shared tool and object modes.
        cancel: A `threading.Event`; setting it stops the fit with the best result so far.
        channel: Channel of multichannel files (default: mix down).
        sensitivity: Impact detection sensitivity in [0, 1].
        lr: Adam learning rate on the unconstrained variables.
        reverb: Fit a room reverb.
        n_tool_modes: Modes per tool for labelled fits.
        init: ``"physics"`` (modes, noise floor and room estimated from the signal) or
            ``"random"`` (DiffImpact-style: random modes over the whole range, default
            noise and room; impact times still come from detection). For comparisons.
        patience: Stop early when the loss has not improved for this many steps
            (``None``: always run ``steps``).

    Returns:
        A `FitResult`. For several clips without ``joint``/``labels`` each clip gets its own
        object (fitted together in one batch).

    Raises:
        WorkbenchError: unreadable/silent input, no impact found, clips too short,
            mismatched sample rates in a joint fit, bad arguments.
    """
    t_start = time.perf_counter()
    if not (1 <= n_modes <= 1024):
        raise WorkbenchError(f"n_modes: {n_modes} is outside [1, 1024]")
    if not (1 <= steps <= 100_000):
        raise WorkbenchError(f"steps: {steps} is outside [1, 100000]")
    if not (0.0 <= sensitivity <= 1.0):
        raise WorkbenchError(f"sensitivity: {sensitivity} is outside [0, 1]")
    if init not in ("physics", "random"):
        raise WorkbenchError(f"init: {init!r} is not 'physics' or 'random'")
    dev = resolve_device(device)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    clips = _as_clips(audio_or_paths, sample_rate=sample_rate, channel=channel)
    clip_labels = resolve_labels(labels, clips) if labels is not None else None
    shared = joint or clip_labels is not None
    if shared and len({c.sample_rate for c in clips}) > 1:
        listing = ", ".join(f"{c.name} {c.sample_rate} Hz" for c in clips)
        raise WorkbenchError(f"joint fit: the clips have different sample rates ({listing}); "
                             "pass sample_rate= to resample them to one")
    notes = [w for w in (_clipping_warning(c) for c in clips) if w]
    for note in notes:
        warnings.warn(note, stacklevel=2)

    whole_file = None
    if len(clips) == 1 and len(clips[0].audio) > MAX_CLIP_S * clips[0].sample_rate:
        whole_file = clips[0]
        clips = _segment_long(whole_file, sensitivity)
        shared = True
    if not shared and len({c.sample_rate for c in clips}) > 1:
        # Independent fits at different rates: fit each on its own.
        parts = [fit(c.path or (c.audio, c.sample_rate), sample_rate=c.sample_rate, n_modes=n_modes,
                     steps=steps, device=device, seed=seed, cancel=cancel, channel=channel,
                     sensitivity=sensitivity, lr=lr, reverb=reverb) for c in clips]
        return _concat_results(parts, time.perf_counter() - t_start)

    sr = clips[0].sample_rate
    windows = [_window(c, sensitivity) for c in clips]
    n = max(w.length for w in windows)
    targets, scales = [], []
    for w in windows:
        seg = w.clip.audio[w.start:w.start + n]
        seg = np.pad(seg, (0, n - len(seg)))
        scale = float(np.max(np.abs(seg))) or 1.0
        targets.append(seg / scale)
        scales.append(scale)

    noise_freqs, reverb_freqs = specs.NOISE_BAND_FREQS_HZ, specs.REVERB_BAND_FREQS_HZ
    inits = [_clip_init(w, t, reverb_freqs=reverb_freqs, noise_freqs=noise_freqs) for w, t in zip(windows, targets)]
    # Objects: shared (joint / labelled) or one per clip; each starts from its loudest clip.
    if clip_labels is not None:
        object_names = list(dict.fromkeys(lab.object for lab in clip_labels))
        object_of = [object_names.index(lab.object) for lab in clip_labels]
    elif shared:
        object_names, object_of = ["object"], [0] * len(clips)
    else:
        object_names, object_of = [c.name for c in clips], list(range(len(clips)))
    banks = {}
    for o, name in enumerate(object_names):
        members = [i for i in range(len(clips)) if object_of[i] == o]
        best = max(members, key=lambda i: np.max(np.abs(clips[i].audio)) / (np.median(np.abs(clips[i].audio)) + 1e-9))
        if init == "random":
            banks[name] = _random_bank(n_modes, 0.49 * sr, rng)
            continue
        try:
            banks[name], contact = _bank_init(targets[best], sr, inits[best][1]["onset_s"], n_modes)
            for i in members:
                inits[i][0].contacts_s = np.full(len(inits[i][0].times_s), contact)
        except WorkbenchError as err:
            raise WorkbenchError(f"{clips[best].name}: {err}") from None
        # Joint clips have their own levels: referencing gains to `best`, other clips' impacts scale.
    tool_names, tools = [], {}
    if clip_labels is not None and any(lab.tool for lab in clip_labels):
        tools = _split_tool_modes(banks, clip_labels, n_tool_modes, rng)
        tool_names = list(tools)
    clip_inits = []
    for i, (ci, _) in enumerate(inits):
        ci.object_index = object_of[i]
        ci.tool_index = tool_names.index(clip_labels[i].tool) if tool_names and clip_labels[i].tool else -1
        if init == "random":
            ci.noise_gains_db = np.full_like(ci.noise_gains_db, specs.NOISE_GAIN_DB.default)
            ci.reverb_t60_s = np.full_like(ci.reverb_t60_s, specs.REVERB_T60_S.default)
        clip_inits.append(ci)

    params = FitParams([banks[n_] for n_ in object_names], [tools[t] for t in tool_names], clip_inits,
                       noise_freqs_hz=noise_freqs, reverb_freqs_hz=reverb_freqs,
                       max_freq_hz=0.49 * sr, local=init == "physics").to(dev)
    synth = ImpactSynth(sample_rate=sr, n_samples=n)
    target = torch.tensor(np.stack(targets), dtype=torch.float32, device=dev)
    settings = {"n_modes": n_modes, "steps": steps, "lr": lr, "seed": seed, "sensitivity": sensitivity, "init": init,
                "reverb": reverb, "joint": shared, "device": str(dev)}
    provenance = {"fitted_by": f"impact-workbench {__version__}", "settings": settings}

    def make_presets():
        return _presets_from_params(params, windows, scales, reverb=reverb, provenance=provenance,
                                    labels=clip_labels)

    def render_current(parts: str, index: int) -> np.ndarray:
        from ..rendering import render
        p = make_presets()[index]
        return render(p, duration_s=len(clips[index].audio) / sr, sample_rate=sr, device="cpu", parts=parts)

    on_report = None
    if callback is not None:
        def on_report(step, loss, elapsed):
            callback(FitProgress(step, steps, loss, elapsed, make_presets, render_current))

    outcome = optimize(params, synth, target, steps=steps, lr=lr, reverb=reverb, cancel=cancel,
                       report_every=report_every, on_report=on_report, patience=patience or steps)
    presets = make_presets()
    distances = _distances(presets, clips)
    presets = [p.replace(provenance={**p.provenance, "distance": round(d, 4), "steps_run": outcome.steps_run,
                                     "fitted_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
               for p, d in zip(presets, distances)]
    result = FitResult(presets=presets, targets=[c.audio for c in clips], sample_rate=sr,
                       loss_history=outcome.loss_history, distances=distances,
                       impacts=[[imp.time_s for imp in w.impacts] for w in windows],
                       steps_run=outcome.steps_run, stopped=outcome.stopped,
                       elapsed_s=time.perf_counter() - t_start, warnings=notes)
    if whole_file is not None:
        result.file_preset = _merge_segments(presets, whole_file)
    return result


def _distances(presets: list[Preset], clips: list[Clip]) -> list[float]:
    from ..rendering import render_batch

    sr = clips[0].sample_rate
    n = max(len(c.audio) for c in clips)
    with torch.no_grad():
        y = render_batch(presets, duration_s=n / sr, sample_rate=sr, device="cpu")
        out = []
        for i, c in enumerate(clips):
            out.append(float(normalized_distance(y[i:i + 1, :len(c.audio)], torch.from_numpy(c.audio)[None])[0]))
    return out


def _merge_segments(presets: list[Preset], clip: Clip) -> Preset:
    """One preset for a long file: the shared object and every fitted strike in file time."""
    impacts = [imp.model_copy(update={"time_s": imp.time_s + p.provenance.get("offset_s", 0.0)})
               for p in presets for imp in p.impacts]
    first = presets[0]
    return first.replace(name=clip.name, duration_s=len(clip.audio) / clip.sample_rate,
                         impacts=[i.model_dump() for i in impacts],
                         provenance={**first.provenance, "offset_s": 0.0, "segments": len(presets),
                                     "distance": round(float(np.mean([p.provenance["distance"] for p in presets])), 4)})


def _concat_results(parts: Sequence[FitResult], elapsed: float) -> FitResult:
    return FitResult(
        presets=[p for r in parts for p in r.presets], targets=[t for r in parts for t in r.targets],
        sample_rate=parts[0].sample_rate, loss_history=parts[0].loss_history,
        distances=[d for r in parts for d in r.distances], impacts=[i for r in parts for i in r.impacts],
        steps_run=max(r.steps_run for r in parts), stopped=parts[-1].stopped, elapsed_s=elapsed,
        warnings=[w for r in parts for w in r.warnings])
