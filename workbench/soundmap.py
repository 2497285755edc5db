"""A sound map of a preset library: presets as points, near when they sound alike.

Each preset becomes a fixed-length vector of its physical parameters (`FEATURES`,
`preset_features`), standardised over the library and weighted (`WEIGHTS`); UMAP
(McInnes et al. 2018; ``umap-learn``, as in seed paper 003's clustered sound space)
lays the library out in 2-D. `SoundMap` keeps the fitted scaler and reducer, so a new
preset (the fit of a new recording) is placed on the same map (`SoundMap.place`: UMAP's
transform) and its closest presets are listed by feature distance (`SoundMap.nearest`,
"sounds like"). Each point carries a short audition of its preset (`audition`: 1 s mono
at 16 kHz, the first strike at 5 ms, no background noise) as WAV bytes for the map's
hover-to-play.

A library with fewer than `MIN_UMAP` presets is laid out by PCA instead (UMAP needs
neighbours); the learned-matching encoder's embedding will join the features when it
exists. Numpy, umap-learn and the renderer; no UI (the figure and the standalone page
are `workbench.app.mapfigure`).

Example:
    >>> from workbench.presets import Preset
    >>> bell = Preset(name="bell", sample_rate=44100,
    ...               object={"modes": [{"freq_hz": f, "t60_s": 2.0 / k, "gain_db": -6.0 * k}
    ...                                 for k, f in enumerate((440.0, 1210.0, 2380.0), 1)]},
    ...               impacts=[{"time_s": 0.01, "contact_s": 5e-4, "magnitude": 1}])
    >>> v = preset_features(bell)
    >>> v.shape == (len(FEATURES),), bool(np.isfinite(v).all()), float(v[FEATURE_NAMES.index("tool")])
    (True, True, 0.0)
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .audio import encode_wav
from .budgets import MAP_POINTS
from .damping import AUDIBLE_DB, mode_energies
from .errors import WorkbenchError
from .physical import body_damping
from .presets import Preset, load_preset
from .specs import T60_DECAY

#: The features of a preset, in vector order: (name, meaning). Frequencies as log2 Hz
#: (octaves), times as natural logs; "audible" modes are those within
#: `workbench.damping.AUDIBLE_DB` of the object's loudest, weighted by energy
#: (`workbench.damping.mode_energies`) where a feature says so.
FEATURES: tuple[tuple[str, str], ...] = (
    ("log_sigma_1k", "ln of the object's damping-law decay rate at 1 kHz (1/s): how fast it dies"),
    ("law_slope", "d ln sigma / d ln f of the law over its measured range (p of a power law)"),
    ("law_spread", "the law's spread: how far the modes scatter around it (ln units)"),
    ("log2_centroid_hz", "energy-weighted mean of log2 frequency of the audible modes (brightness)"),
    ("spread_oct", "energy-weighted standard deviation of log2 frequency (octaves)"),
    ("log2_strongest_hz", "log2 frequency of the mode with the most energy (the pitch one hears)"),
    ("modes_per_octave", "audible modes per octave over the span they cover (at least one octave)"),
    ("log_median_t60", "ln of the median T60 of the audible modes (s)"),
    ("log_contact_s", "ln of the median contact time of the strikes (s): hard or soft hit"),
    ("tool", "1 when the preset has a ringing tool (separated fits), else 0"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(name for name, _ in FEATURES)
#: Weight of each standardised feature in the map's distance: the tool flag counts half
#: (a tool ringing along changes the sound less than the object's own modes do).
WEIGHTS = np.array([1.0, 1.0, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0, 1.0, 0.5])
#: Fewest presets UMAP lays out; fewer are laid out by PCA.
MIN_UMAP = 5
#: UMAP's minimum distance between laid-out points. Its neighbourhood grows with the library,
#: about sqrt(n) / 1.5 from 3 to `MAX_NEIGHBORS` (`n_neighbors`): over the 39 shipped presets 4
#: neighbours keep each preset's own neighbours around it, so that `SoundMap.place` puts a
#: preset within 0.1 of the map's width of its point; UMAP's default 15 (40 % of them) let
#: it land up to 0.4 away.
MIN_DIST = 0.1
MAX_NEIGHBORS = 15
#: The auditions: length (s), sample rate (Hz), onset of the first strike (s), peak (dBFS).
AUDITION_S, AUDITION_RATE, AUDITION_ONSET_S, AUDITION_PEAK_DBFS = 1.0, 16000, 0.005, -6.0


def preset_features(preset: Preset) -> np.ndarray:
    """(len(FEATURES),) float64 physical features of ``preset`` (see `FEATURES`), all finite.

    Raises:
        WorkbenchError: the preset's object has no modes.
    """
    modes = preset.object.modes
    if not modes:
        raise WorkbenchError(f"{preset.name}: the object has no modes to place on a sound map")
    f = np.array([m.freq_hz for m in modes])
    t60 = np.array([m.t60_s for m in modes])
    g = np.array([m.gain_db for m in modes])
    audible = g > g.max() - AUDIBLE_DB
    f, t60, g = f[audible], t60[audible], g[audible]
    energy = mode_energies(g, t60)
    w = energy / energy.sum() if energy.sum() > 0 else np.full(len(f), 1.0 / len(f))
    octave = np.log2(f)
    centroid = float(np.sum(w * octave))
    spread = float(np.sqrt(np.sum(w * (octave - centroid) ** 2)))
    law = body_damping(preset.object)      # stored, else fitted to the modes
    if law is None:                # fewer than three modes: their median decay, flat
        sigma_1k, slope, law_spread = float(np.median(T60_DECAY / t60)), 0.0, 0.0
    else:
        lo, hi = law.freq_range_hz
        sigma_1k = float(law.sigma_at(np.array([1000.0]))[0])
        slope = 0.0 if hi <= lo else float(np.diff(np.log(law.sigma_at(np.array([lo, hi]))))[0] / math.log(hi / lo))
        law_spread = float(law.spread)
    span = max(1.0, float(octave.max() - octave.min()))
    contact = float(np.median([i.contact_s for i in preset.impacts]))
    tool = float(preset.tool is not None and len(preset.tool.modes) > 0)
    out = np.array([math.log(max(sigma_1k, 1e-9)), slope, law_spread, centroid, spread,
                    float(octave[np.argmax(energy)]), len(f) / span, math.log(float(np.median(t60))),
                    math.log(contact), tool])
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def audition(preset: Preset, *, seconds: float = AUDITION_S, sample_rate: int = AUDITION_RATE) -> np.ndarray:
    """(n_samples,) float32: ``preset``'s first ``seconds`` from its first strike (at 5 ms), no
    background noise, peak at `AUDITION_PEAK_DBFS` (so every point plays at one level), faded out."""
    from .rendering import render

    first = min(i.time_s for i in preset.impacts)
    impacts = [{**i.model_dump(), "time_s": i.time_s - first + AUDITION_ONSET_S} for i in preset.impacts
               if i.time_s - first + AUDITION_ONSET_S < seconds]
    short = preset.replace(duration_s=seconds, impacts=impacts)
    y = render(short, duration_s=seconds, sample_rate=sample_rate, parts="clean", device="cpu")
    y = np.nan_to_num(y.astype(np.float64))
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0:
        y *= 10 ** (AUDITION_PEAK_DBFS / 20) / peak
    fade = min(len(y), int(0.05 * sample_rate))
    y[len(y) - fade:] *= np.linspace(1.0, 0.0, fade)
    return y.astype(np.float32)


def _auditions(presets: Sequence[Preset]) -> list[bytes]:
    """WAV bytes of each preset's `audition`, rendered on one torch thread: renders this short gain
    nothing from more, and with a busy core (another process, numba's pool) torch's OpenMP team
    waiting for it made them up to 50x slower (39 auditions: 0.1 s on one thread, 2-7 s on two)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return [encode_wav(audition(p), AUDITION_RATE) for p in presets]
    finally:
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class Neighbour:
    """A library preset near another: its key (library name), preset name, material and feature distance."""

    key: str
    name: str
    material: str
    distance: float


@dataclass
class SoundMap:
    """A library laid out in 2-D (see the module docstring); build it with `build_map`.

    Attributes:
        keys: Each point's library name (path relative to the folder, without ``.json``).
        names, materials, sources: The presets' names, materials and provenance sources.
        features: (n, F) raw features; ``mean``, ``scale``: the standardisation.
        embedding: (n, 2) the map's coordinates.
        sounds: Each point's audition as WAV bytes (empty without sounds).
        method: ``umap``, ``pca`` (fewer than `MIN_UMAP` presets) or ``single``.
        timings: Seconds per build stage (``load``, ``features``, ``layout``, ``sounds``, ``total``).
        skipped: ``path: why`` of each file that is not a usable preset.
    """

    keys: list[str]
    names: list[str]
    materials: list[str]
    sources: list[str]
    features: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    embedding: np.ndarray
    seed: int = 0
    method: str = "umap"
    reducer: Any = None
    sounds: list[bytes] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    folder: str = ""

    def __len__(self) -> int:
        return len(self.keys)

    def scaled(self, features: np.ndarray) -> np.ndarray:
        """Standardised, weighted features: the space `nearest` measures distances in."""
        return (np.atleast_2d(features) - self.mean) / self.scale * WEIGHTS

    def place(self, preset: Preset) -> np.ndarray:
        """(2,) where ``preset`` lands on this map (UMAP's transform of its features)."""
        x = self.scaled(preset_features(preset))
        if self.method == "umap":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return np.asarray(self.reducer.transform(x), dtype=np.float64)[0]
        if self.method == "pca":
            return ((x - self._centre) @ self.reducer)[0]
        return self.embedding[0].copy()

    def nearest(self, preset: Preset, k: int = 5) -> list[Neighbour]:
        """The ``k`` library presets closest to ``preset`` by feature distance, closest first
        (a library preset is its own first, at distance 0)."""
        d = np.linalg.norm(self.scaled(self.features) - self.scaled(preset_features(preset)), axis=1)
        order = sorted(range(len(d)), key=lambda i: (round(float(d[i]), 12), self.names[i] != preset.name))
        return [Neighbour(self.keys[i], self.names[i], self.materials[i], float(d[i])) for i in order[:max(0, k)]]

    @property
    def _centre(self) -> np.ndarray:
        return self.scaled(self.features).mean(axis=0)


def library_files(folder: str | os.PathLike) -> list[tuple[str, Path]]:
    """(key, path) of every preset file in ``folder`` (recursively, like the dashboard's library).

    Raises:
        WorkbenchError: ``folder`` is not a folder, or holds no ``*.json`` file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise WorkbenchError(f"{folder}: not a folder of presets")
    files = sorted((str(p.relative_to(folder).with_suffix("")), p) for p in folder.rglob("*.json")
                   if not p.name.startswith("."))
    if not files:
        raise WorkbenchError(f"{folder}: no preset (*.json) files in it")
    return files


def _load_all(presets_or_dir) -> tuple[list[tuple[str, Preset]], list[str], str]:
    if isinstance(presets_or_dir, (str, os.PathLike)):
        files = library_files(presets_or_dir)
        MAP_POINTS.check(len(files), what=f"sound map of {presets_or_dir}")
        loaded, skipped = [], []
        for key, path in files:
            try:
                loaded.append((key, load_preset(path)))
            except WorkbenchError as err:
                skipped.append(str(err))
        return loaded, skipped, str(presets_or_dir)
    items = list(presets_or_dir)
    MAP_POINTS.check(len(items), what="sound map")
    return [(p.name, p) if isinstance(p, Preset) else (str(p[0]), p[1]) for p in items], [], ""


def _umap():
    """The ``umap`` module, its numba kernels cached on disk, on numba's plain thread pool.

    UMAP compiles its kernels (graph, layout, transform) on first use in every process (most
    are jitted without ``cache=True``): several seconds per process. Caching them (numba's
    ``Dispatcher.enable_caching``, before the first compile; next to the package, or in
    ``NUMBA_CACHE_DIR``) makes that a once-per-machine cost (``bench/results/soundmap.md``).
    """
    import numba

    if "NUMBA_THREADING_LAYER" not in os.environ:
        # numba's OpenMP pool, once UMAP has used it, slowed torch's own OpenMP threads ~70x on
        # 2 cores (39 auditions: 7 s instead of 0.1 s); its plain thread pool leaves torch alone.
        # Read when numba first runs a parallel kernel (no effect once one has run).
        numba.config.THREADING_LAYER = "workqueue"
    import umap
    import umap.layouts
    import umap.spectral
    import umap.umap_
    import umap.utils
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    for module in (umap.umap_, umap.layouts, umap.utils, umap.spectral):
        for obj in list(vars(module).values()):
            if isinstance(obj, Dispatcher) and isinstance(obj._cache, NullCache) and not obj.signatures:
                try:
                    obj.enable_caching()
                except Exception:        # a kernel numba cannot cache still compiles, once per process
                    pass
    return umap


def n_neighbors(n: int) -> int:
    """UMAP's neighbourhood for a library of ``n`` presets (see `MIN_DIST`)."""
    return int(min(n - 1, max(3, min(MAX_NEIGHBORS, round(math.sqrt(n) / 1.5)))))


def _layout(x: np.ndarray, seed: int) -> tuple[np.ndarray, str, Any]:
    n = len(x)
    if n == 1:
        return np.zeros((1, 2)), "single", None
    if n < MIN_UMAP:
        centred = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        axes = np.zeros((x.shape[1], 2))
        axes[:, :min(2, vt.shape[0])] = vt[:2].T
        return centred @ axes, "pca", axes
    reducer = _umap().UMAP(n_components=2, n_neighbors=n_neighbors(n), min_dist=MIN_DIST,
                        metric="euclidean", random_state=seed, transform_seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # "n_jobs overridden to 1 by setting random_state": wanted
        emb = reducer.fit_transform(x)
    return np.asarray(emb, dtype=np.float64), "umap", reducer


def build_map(presets_or_dir: str | os.PathLike | Iterable[Preset] | Iterable[tuple[str, Preset]], *,
              seed: int = 0, sounds: bool = True) -> SoundMap:
    """Lay a library out as a `SoundMap`.

    Args:
        presets_or_dir: A preset folder (every ``*.json`` in it, recursively; files that are
            not valid presets are skipped and listed in ``skipped``), or presets, or
            (key, preset) pairs.
        seed: UMAP's random state: the same library and seed give the same map.
        sounds: Render each point's audition (`audition`) as WAV bytes.

    Raises:
        WorkbenchError: no folder, no usable preset, or more than `workbench.budgets.MAP_POINTS`.
    """
    t0 = time.perf_counter()
    items, skipped, folder = _load_all(presets_or_dir)
    t_load = time.perf_counter()
    rows, kept = [], []
    for key, preset in items:
        try:
            rows.append(preset_features(preset))
            kept.append((key, preset))
        except WorkbenchError as err:
            skipped.append(f"{key}: {err}")
    if not kept:
        where = f" in {folder}" if folder else ""
        raise WorkbenchError(f"no usable preset{where}" + (f" ({skipped[0]})" if skipped else ""))
    features = np.stack(rows)
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    t_feat = time.perf_counter()
    emb, method, reducer = _layout((features - mean) / scale * WEIGHTS, seed)
    t_layout = time.perf_counter()
    wavs = _auditions([p for _, p in kept]) if sounds else []
    t_end = time.perf_counter()
    return SoundMap(
        keys=[k for k, _ in kept], names=[p.name for _, p in kept], materials=[p.material or "unknown" for _, p in kept],
        sources=[str(p.provenance.get("source", "")) for _, p in kept], features=features, mean=mean, scale=scale,
        embedding=emb, seed=seed, method=method, reducer=reducer, sounds=wavs, skipped=skipped, folder=folder,
        timings={"load": t_load - t0, "features": t_feat - t_load, "layout": t_layout - t_feat,
                 "sounds": t_end - t_layout, "total": t_end - t0})


def warm_up(n: int = 12, seed: int = 0) -> float:
    """Compile UMAP's kernels into numba's on-disk cache (the *first ever* build's cost, about
    25 s here) on ``n`` synthetic presets, so a user's first map takes the *cold* time
    (``make setup`` runs it once). Returns the seconds it took."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    presets = [Preset(name=f"warm {i}", sample_rate=16000, material="metal", impacts=[
                   {"time_s": 0.01, "contact_s": float(rng.uniform(5e-5, 5e-4)), "magnitude": 1.0}],
                      object={"modes": [{"freq_hz": float(f), "t60_s": float(rng.uniform(0.05, 3.0)),
                                         "gain_db": float(rng.uniform(-40, 0))}
                                        for f in np.sort(rng.uniform(100, 7000, 8))]})
               for i in range(n)]
    built = build_map(presets, seed=seed, sounds=False)
    built.place(presets[0])
    return time.perf_counter() - t0


def describe(neighbours: Sequence[Neighbour]) -> str:
    """One line: ``a (0.12), b (0.30)`` (feature distances)."""
    return ", ".join(f"{n.name} ({n.distance:.2f})" for n in neighbours)
