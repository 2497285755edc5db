"""Variation banks for game engines: n strikes drawn from a preset's `VariationModel`, rendered,
checked against the original, and written with the mapping engines load.

`make_bank` draws each file from `workbench.variations.draw` around the preset's loudest
strike (`base_strike`), at a velocity (Hertz, `workbench.physical.struck`) and a size
(`workbench.physical.scaled`) stratified over the requested ranges, renders it dry and
keeps it only if its normalised spectral distance to the original at the same velocity
and size is at most ``max_distance``. A draw over the bound is redrawn with its spread
shrunk by `SHRINK` (a truncated model, at most `workbench.variations.MAX_DRAWS` draws per
file), so every file is within the bound. One gain for the whole bank keeps the loudest
file at `workbench.specs.HEADROOM_PEAK` (levels between files are the physics).

`write_bank` writes ``<out>/wavs/*.wav``, ``mapping.json`` and ``mapping.csv`` (per file:
velocity, mass, size, gain, pitch, layer, contact, impulse, distance) and a README on
loading them into random and blend/switch containers (Wwise, FMOD, Unity).

Example:
    >>> from workbench.presets import Preset
    >>> p = Preset(name="bell", sample_rate=16000, duration_s=0.5,
    ...            object={"modes": [{"freq_hz": 440, "t60_s": 0.4, "gain_db": 0}, {"freq_hz": 1210, "t60_s": 0.2, "gain_db": -6}]},
    ...            impacts=[{"time_s": 0.01, "contact_s": 5e-4, "magnitude": 1}])
    >>> bank = make_bank(p, 4, velocity_range=(0.5, 2.0), seed=1)
    >>> len(bank.audio), [r["layer"] for r in bank.rows], bank.summary["max_distance"] <= bank.max_distance
    (4, [0, 0, 0, 0], True)
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import specs
from .audio import encode_wav
from .budgets import BANK_FILES, RENDER_SAMPLES
from .edits import EDIT_SPECS
from .errors import WorkbenchError
from .export.common import atomic_directory, json_bytes, loudest_impact, write_file, zip_directory
from .losses import pairwise_distances
from .names import slugify
from .physical import scaled, struck
from .presets import Preset
from .rendering import render_batch, render_size
from .synth import Parts
from .variations import MAX_DRAWS, VariationModel, draw, learn_variation

BANK_SCHEMA = "impact-workbench/variation-bank"
BANK_VERSION = 1
#: Default bound on each file's normalised spectral distance to the original.
DEFAULT_MAX_DISTANCE = 0.25
#: A redrawn variation's spread, relative to the draw before it.
SHRINK = 0.8
#: Two files closer than this (normalised spectral distance) are not distinct.
MIN_DISTINCT = 1e-3
#: Pairs compared for the bank's spread (all pairs up to this many, else a random sample).
MAX_PAIRS = 400
#: A file ends where its ring has fallen this far below its peak (dB), plus `TAIL_S` seconds.
RING_DB = -60.0
TAIL_S = 0.05
#: Columns of ``mapping.csv`` (and keys of each ``mapping.json`` file entry).
COLUMNS = ("file", "layer", "velocity", "size", "mass", "pitch_semitones", "gain_db", "peak_dbfs",
           "contact_s", "magnitude", "distance")


@dataclass
class Bank:
    """A rendered bank: ``rows[i]`` (one mapping row) describes ``audio[i]``."""

    preset_name: str
    sample_rate: int
    rows: list[dict[str, Any]]
    audio: list[np.ndarray]
    model: VariationModel
    max_distance: float
    settings: dict[str, Any]
    summary: dict[str, float] = field(default_factory=dict)


def base_strike(preset: Preset) -> Preset:
    """The preset's loudest impact alone, its pulse starting at t = 0: the bank's original."""
    ref = loudest_impact(preset)
    return _at_start(preset.replace(impacts=[{"time_s": ref.contact_s, "contact_s": ref.contact_s,
                                              "magnitude": ref.magnitude}]))


def _at_start(p: Preset) -> Preset:
    """The single impact moved so its pulse's support starts at sample 0 (t = tau)."""
    hit = p.impacts[0]
    if hit.time_s == hit.contact_s:
        return p
    return p.replace(impacts=[{"time_s": hit.contact_s, "contact_s": hit.contact_s, "magnitude": hit.magnitude}])


def _physical(p: Preset, size: float, velocity: float) -> Preset:
    if size != 1.0:
        p = scaled(p, size)
    if velocity != 1.0:
        p = struck(p, velocity=velocity)
    return _at_start(p)


def _range(value, name: str, spec) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise WorkbenchError(f"{name}: expected two numbers (low high), got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and spec.minimum <= lo <= hi <= spec.maximum):
        raise WorkbenchError(f"{name}: ({lo:g}, {hi:g}) must be ascending within "
                             f"{spec.minimum:g}..{spec.maximum:g} ({spec.doc})")
    return lo, hi


def _log_grid(lo: float, hi: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """n values stratified over [lo, hi] in log scale (one per stratum, jittered), ascending."""
    u = (np.arange(n) + rng.uniform(0.0, 1.0, n)) / n
    return np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))


def _render(presets: list[Preset], sample_rate: int, duration_s: float, parts: Parts) -> list[np.ndarray]:
    """Dry renders in batches within the render budget."""
    _, n = render_size(presets[:1], duration_s=duration_s, sample_rate=sample_rate)
    per = max(1, RENDER_SAMPLES.limit // n)
    out = []
    for i in range(0, len(presets), per):
        out += list(render_batch(presets[i:i + per], duration_s=duration_s, sample_rate=sample_rate,
                                 parts=parts).cpu().numpy().astype(np.float64))
    return out


def distances(xs: list[np.ndarray], targets: list[np.ndarray], chunk: int = 32) -> np.ndarray:
    """``spectral_distance(xs[i], targets[i])`` for each i (equal lengths), in batches."""
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(xs), chunk):
            x, t = xs[i:i + chunk], targets[i:i + chunk]
            pairs = [(k, len(x) + k) for k in range(len(x))]
            out.append(pairwise_distances(torch.as_tensor(np.stack(x + t), dtype=torch.float32), pairs).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def ring_length_s(signals: list[np.ndarray], sample_rate: int) -> float:
    """Seconds until the last of ``signals`` has fallen `RING_DB` below its own peak (10 ms RMS
    envelope), plus `TAIL_S`: how long a bank's files need to be."""
    hop = max(1, int(0.01 * sample_rate))
    end = 0
    for y in signals:
        frames = len(y) // hop
        env = np.sqrt(np.mean(np.asarray(y[:frames * hop], dtype=np.float64).reshape(frames, hop) ** 2, axis=1))
        loud = np.flatnonzero(env >= env.max() * 10 ** (RING_DB / 20)) if frames and env.max() > 0 else [0]
        end = max(end, (int(loud[-1]) + 1) * hop)
    return end / sample_rate + TAIL_S


def _rms_db(x: np.ndarray) -> float:
    return 10.0 * math.log10(max(float(np.mean(x ** 2)), 1e-30))


def make_bank(preset: Preset, n: int = 40, *, model: VariationModel | None = None, seed: int = 0,
              velocity_range=(1.0, 1.0), size_range=(1.0, 1.0), layers: int = 1,
              max_distance: float = DEFAULT_MAX_DISTANCE, sample_rate: int | None = None,
              duration_s: float | None = None, noise: bool = False, reverb: bool = False) -> Bank:
    """Draw, render and check ``n`` variations of ``preset``'s loudest strike.

    Args:
        preset: A fitted preset.
        n: Files in the bank (at most the `workbench.budgets.BANK_FILES` budget).
        model: How strikes vary (default: `workbench.variations.learn_variation` of the preset's
            own strikes, else the library prior).
        seed: Seed of every random draw (the same seed gives the same bank).
        velocity_range: (low, high) strike velocity relative to the fitted strike; files are
            stratified over it in log scale, in ``layers`` velocity layers.
        size_range: (low, high) object size relative to the fitted object.
        layers: Velocity layers (switch/blend container entries), each a slice of the range.
        max_distance: Bound on each file's normalised spectral distance to the original at
            its velocity and size.
        sample_rate: Of the files (default: the preset's).
        duration_s: Of the files (default: until every original has rung down 60 dB, `ring_length_s`,
            at most the preset's duration).
        noise, reverb: Include the background noise / the room (default: dry strikes).

    Raises:
        WorkbenchError: a bad argument (named), or a bank over its budget.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise WorkbenchError(f"n (-n): expected a whole number of files >= 1, got {n!r}")
    BANK_FILES.check(int(n), what="n (-n)", hint="write several banks")
    if isinstance(layers, bool) or not isinstance(layers, (int, np.integer)) or not 1 <= layers <= n:
        raise WorkbenchError(f"layers (--layers): expected a whole number from 1 to n = {n}, got {layers!r}")
    if not (isinstance(max_distance, (int, float)) and 0.0 < max_distance <= 1.0):
        raise WorkbenchError(f"max_distance (--max-distance): expected a number in (0, 1], got {max_distance!r}")
    v_lo, v_hi = _range(velocity_range, "velocity_range (--velocity-range)", EDIT_SPECS["velocity"])
    s_lo, s_hi = _range(size_range, "size_range (--size-range)", EDIT_SPECS["size"])
    sr = int(sample_rate or preset.sample_rate)
    render_s = float(duration_s or preset.duration_s)
    model = model or learn_variation(preset)
    rng = np.random.default_rng(seed)
    parts = Parts(noise=bool(noise), reverb=bool(reverb))
    layer = (np.arange(n) * layers) // n
    edges = np.exp(np.linspace(math.log(v_lo), math.log(v_hi), layers + 1))
    velocity = np.concatenate([_log_grid(edges[k], edges[k + 1], int(np.sum(layer == k)), rng)
                               for k in range(layers)])
    size = rng.permutation(_log_grid(s_lo, s_hi, n, rng))
    base = base_strike(preset)
    originals = [_physical(base, float(s), float(v)) for s, v in zip(size, velocity)]
    reference = _render(originals, sr, render_s, parts)
    if duration_s is None:
        duration_s = min(render_s, round(ring_length_s(reference, sr), 3))
    n_keep = int(round(duration_s * sr))
    reference = [y[:n_keep] for y in reference]
    files: list[Preset | None] = [None] * n
    audio: list[np.ndarray | None] = [None] * n
    dist = np.full(n, np.inf)
    todo, shrink = list(range(n)), 1.0
    for _ in range(MAX_DRAWS):
        drawn = [_physical(draw(base, model, rng, shrink=shrink)[0], float(size[j]), float(velocity[j]))
                 for j in todo]
        ys = [y[:n_keep] for y in _render(drawn, sr, render_s, parts)]
        for j, p, y, d in zip(todo, drawn, ys, distances(ys, [reference[j] for j in todo])):
            if d <= max_distance:
                files[j], audio[j], dist[j] = p, y, d
        todo = [j for j in todo if files[j] is None]
        if not todo:
            break
        shrink *= SHRINK
    for j in todo:          # the spread shrunk 0.8^20 ~ 1 % and still over: the original itself
        files[j], audio[j], dist[j] = originals[j], reference[j], 0.0
    peak = max(float(np.max(np.abs(y))) for y in audio)
    gain = min(1.0, specs.HEADROOM_PEAK / peak) if peak > 0 else 1.0
    ref_db = _rms_db(_render([base], sr, render_s, parts)[0][:n_keep])
    stem = slugify(preset.name, default="strike")
    rows = []
    for j, (p, y) in enumerate(zip(files, audio)):
        hit = p.impacts[0]
        rows.append({"file": f"wavs/{stem}_{j:03d}.wav", "layer": int(layer[j]),
                     "velocity": round(float(velocity[j]), 4), "size": round(float(size[j]), 4),
                     "mass": round(float(size[j]) ** 3, 4),
                     "pitch_semitones": round(-12.0 * math.log2(float(size[j])), 3),
                     "gain_db": round(_rms_db(y) - ref_db, 2),
                     "peak_dbfs": round(20 * math.log10(max(float(np.max(np.abs(y))) * gain, 1e-12)), 2),
                     "contact_s": float(f"{hit.contact_s:.6g}"), "magnitude": float(f"{hit.magnitude:.6g}"),
                     "distance": round(float(dist[j]), 4)})
    audio = [(y * gain).astype(np.float32) for y in audio]
    settings = {"n": int(n), "seed": int(seed), "velocity_range": [v_lo, v_hi], "size_range": [s_lo, s_hi],
                "layers": int(layers), "duration_s": duration_s, "noise": bool(noise), "reverb": bool(reverb),
                "bank_gain_db": round(20 * math.log10(gain), 3), "redrawn_to_original": len(todo)}
    bank = Bank(preset_name=preset.name, sample_rate=sr, rows=rows, audio=audio, model=model,
                max_distance=float(max_distance), settings=settings)
    bank.summary = spread(bank, rng)
    return bank


def spread(bank: Bank, rng: np.random.Generator | None = None) -> dict[str, float]:
    """Median and max distance to the original; median and min distance between files
    (all pairs up to `MAX_PAIRS`, else a random sample of that many); files with distinct samples."""
    rng = rng or np.random.default_rng(0)
    n = len(bank.audio)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    if len(pairs) > MAX_PAIRS:
        pairs = [pairs[k] for k in rng.choice(len(pairs), MAX_PAIRS, replace=False)]
    import torch

    with torch.no_grad():
        between = pairwise_distances(torch.as_tensor(np.stack(bank.audio)), pairs).numpy() if pairs else []
    to_original = [r["distance"] for r in bank.rows]
    distinct = len({np.asarray(y).tobytes() for y in bank.audio})
    return {"median_distance": float(np.median(to_original)), "max_distance": float(np.max(to_original)),
            "median_between": float(np.median(between)) if len(between) else 0.0,
            "min_between": float(np.min(between)) if len(between) else 0.0, "pairs": len(between),
            "distinct_files": distinct}


def mapping(bank: Bank) -> dict[str, Any]:
    """The ``mapping.json`` record of a bank."""
    layers = sorted({r["layer"] for r in bank.rows})
    return {"schema": BANK_SCHEMA, "version": BANK_VERSION, "preset": bank.preset_name,
            "sample_rate": bank.sample_rate, "max_distance": bank.max_distance,
            "summary": {k: round(v, 4) if isinstance(v, float) else v for k, v in bank.summary.items()},
            "settings": bank.settings, "model": bank.model.to_dict(),
            "layers": [{"layer": k, "velocity_min": min(r["velocity"] for r in bank.rows if r["layer"] == k),
                        "velocity_max": max(r["velocity"] for r in bank.rows if r["layer"] == k),
                        "files": [r["file"] for r in bank.rows if r["layer"] == k]} for k in layers],
            "files": bank.rows}


def mapping_csv(bank: Bank) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: r[k] for k in COLUMNS} for r in bank.rows)
    return buf.getvalue().encode("utf-8")


def _readme(bank: Bank) -> str:
    s, m = bank.summary, bank.model
    return "\n".join([
        f"# Variation bank of \"{bank.preset_name}\"", "",
        f"{len(bank.rows)} strikes ({bank.sample_rate} Hz, mono, 24-bit), each starting at t = 0, drawn from a "
        f"model learned from the recording's strikes ({m.describe()}).", "",
        f"Every file is within a normalised spectral distance of {bank.max_distance:g} of the original strike at "
        f"the same velocity and size (median {s['median_distance']:.3f}, max {s['max_distance']:.3f}); files "
        f"differ from each other by a median {s['median_between']:.3f} (smallest {s['min_between']:.4f}).", "",
        "## Files", "",
        "* `wavs/*.wav`: the strikes; one gain for the whole bank (levels between files are the physics).",
        "* `mapping.json` / `mapping.csv`: per file its velocity (relative to the fitted strike), size and "
        "mass (relative), gain (RMS dB re the original), pitch (semitones re the original), velocity layer, "
        "contact time (s), impulse and distance to the original; `mapping.json` also lists the layers.", "",
        "## In a game engine", "",
        "* **Random container** (Wwise Random Container, FMOD Multi Instrument with shuffle, Unity: pick "
        "an `AudioClip` at random): all files of one layer.",
        "* **Blend / switch container by velocity** (Wwise Blend or Switch Container on an RTPC, FMOD "
        "parameter sheet): one entry per layer of `mapping.json` `layers`, over its `velocity_min`.."
        "`velocity_max`; map your impact speed (relative to the recorded strike) onto it.",
        "* `gain_db` and `pitch_semitones` are already in the audio; use them to sort, not to re-apply.", ""])


def write_bank(bank: Bank, output: str | os.PathLike, *, force: bool = False) -> Path:
    """Write ``bank`` into the folder ``output`` atomically; returns the folder."""
    with atomic_directory(output, force=force) as folder:
        written: list[str] = []
        for row, y in zip(bank.rows, bank.audio):
            write_file(folder, row["file"], encode_wav(y, bank.sample_rate, subtype="PCM_24"), written)
        write_file(folder, "mapping.json", json_bytes(mapping(bank), name="mapping.json"), written)
        write_file(folder, "mapping.csv", mapping_csv(bank), written)
        write_file(folder, "README.md", _readme(bank).encode("utf-8"), written)
    return Path(output)


def bank_zip(bank: Bank) -> bytes:
    """The bank's folder as ZIP bytes (the dashboard's download)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = f"{slugify(bank.preset_name, default='strike')}_bank"
        return zip_directory(write_bank(bank, Path(tmp) / root), root=root)
