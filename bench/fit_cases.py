"""Cases and yardsticks of ``bench/fit.py`` that are not fits themselves.

* `real_files`: the recordings of ``../shared/data/real_impacts`` (every audio suffix
  the workbench reads) and which of them are single strikes.
* `energies` / `resolvable` / `mode_errors`: the synthetic section's choice of modes and
  their errors; `mode_freqs`, `med`, `pct`, ... small scores and formatting.
* `tdw_case`: a sound made by ThreeDWorld's own PyImpact code from its material tables.
* `run_revision`: the real-clip fits with the library of another git revision, in a
  child process (``python bench/fit_cases.py --worker IN OUT`` with ``PYTHONPATH`` on
  an extracted copy of that revision's ``workbench/``).

Nothing here imports ``workbench`` at module level, so the worker imports the other
revision's library and not this tree's.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from workbench.presets import Preset

REPO = Path(__file__).resolve().parents[1]
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
#: Half-power bandwidth of a mode, Hz: amplitude exp(-6.908 t / T60) -> B = 6.908 / (pi T60).
T60_DECAY = 3 * math.log(10)     # 6.908
TDW_SR = 44_100
#: Modes more than this far (dB, in energy) below the strongest are inaudible: not scored.
AUDIBLE_DB = 40.0


# ---------------------------------------------------------------------------------- real clips
def real_files(shared: Path) -> list[Path]:
    """Every recording under ``shared`` (.wav, .flac, .ogg, .mp3), sorted."""
    return sorted(p for p in shared.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def is_hammer(path: Path) -> bool:
    return path.name.startswith("hammer_")


def is_single_strike(path: Path) -> bool:
    """A single-strike clip: not ``*_multi*`` and not one of the two hammer files."""
    return "_multi" not in path.name and not is_hammer(path)


def noise_floor_distance(result) -> float:
    """Normalised distance between two renders of a fit's first preset that differ only in
    the seeds of the noise, room and residual: the distance's floor for that recording."""
    import torch

    from workbench.controls import controls_from_presets
    from workbench.losses import normalized_distance
    from workbench.synth import ImpactSynth

    p = result.presets[0]
    n = len(result.targets[0])
    renders = []
    for seed in (0, 10):
        synth = ImpactSynth(sample_rate=p.sample_rate, n_samples=n, noise_seed=seed, reverb_seed=seed + 1,
                            residual_seed=seed + 2)
        with torch.no_grad():
            renders.append(synth(controls_from_presets([p])))
    return float(normalized_distance(renders[1], renders[0])[0])


# ---------------------------------------------------------------------------------- synthetic modes
def contact_attenuation(freqs_hz, contact_s: float) -> np.ndarray:
    """Amplitude of our contact pulse's spectrum re DC (as ``loudest_modes`` in bench/fit.py)."""
    return np.exp(-(math.pi * contact_s * np.asarray(freqs_hz, dtype=np.float64)) ** 2 / 6)


def energies(freqs_hz, t60_s, gains_db, contact_s: float) -> np.ndarray:
    """(K,) energy of each mode in the recording: 10**(gain_db/10) * T60 * attenuation**2."""
    a = contact_attenuation(freqs_hz, contact_s)
    return 10 ** (np.asarray(gains_db, dtype=np.float64) / 10) * np.asarray(t60_s, dtype=np.float64) * a**2


def bandwidths(t60_s) -> np.ndarray:
    """(K,) half-power bandwidth (Hz) of each mode: 6.908 / (pi * T60)."""
    return T60_DECAY / (math.pi * np.asarray(t60_s, dtype=np.float64))


def resolvable(freqs_hz, t60_s) -> np.ndarray:
    """(K,) bool: mode i is farther from every other mode j than (B_i + B_j) / 2 (B = half-power bandwidth)."""
    f = np.asarray(freqs_hz, dtype=np.float64)
    b = bandwidths(t60_s)
    gap = np.abs(f[:, None] - f[None, :])
    need = (b[:, None] + b[None, :]) / 2
    np.fill_diagonal(gap, np.inf)
    return np.all(gap > need, axis=1)


# ---------------------------------------------------------------------------------- scores and formatting
def mode_freqs(p: Preset) -> np.ndarray:
    """Every fitted mode frequency (object and tool)."""
    return np.array([m.freq_hz for m in p.object.modes] + [m.freq_hz for m in (p.tool.modes if p.tool else ())])


def mode_errors(truth: Preset, got: Preset, n: int = 10) -> list[tuple[float, float, bool]]:
    """(freq error, T60 error, resolvable) of the n most energetic true modes."""
    f, t, g = (np.array([getattr(m, k) for m in truth.object.modes]) for k in ("freq_hz", "t60_s", "gain_db"))
    res = resolvable(f, t)
    f_fit = np.array([m.freq_hz for m in got.object.modes])
    t_fit = np.array([m.t60_s for m in got.object.modes])
    out = []
    e = energies(f, t, g, truth.impacts[0].contact_s)
    for i in np.argsort(-e)[:n]:
        if e[i] < e.max() * 10 ** (-AUDIBLE_DB / 10):     # inaudible under the strongest: not scored
            continue
        j = int(np.argmin(np.abs(f_fit / f[i] - 1)))
        out.append((abs(f_fit[j] / f[i] - 1), abs(t_fit[j] / t[i] - 1), bool(res[i])))
    return out


def time_error(truth: Preset, got: Preset) -> float:
    fitted = np.array([i.time_s for i in got.impacts])
    return float(np.median([np.min(np.abs(fitted - i.time_s)) for i in truth.impacts]))


def med(values) -> float:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return statistics.median(values) if values else float("nan")


def pct(x: float, digits: int = 1) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f} %"


def ratio(hits: int, total: int) -> str:
    return f"{hits}/{total} ({100 * hits / total:.0f} %)" if total else "0/0 (-)"


def marks(peaks, ok) -> str:
    return " ".join(f"{p:.0f}{'✓' if k else '✗'}" for p, k in zip(peaks, ok)) or "none found"


def dbfs(peak: float) -> float:
    return 20 * math.log10(max(peak, 1e-12))


# ---------------------------------------------------------------------------------- ThreeDWorld
#: (material, size) rendered, sizes with distinct tables where tdw has them; two sizes each.
TDW_MATERIALS = ("metal", "wood_hard", "wood_medium", "glass", "ceramic", "plastic_hard", "stone")
TDW_SIZES = {"metal": (1, 3), "wood_hard": (1, 3), "wood_medium": (3, 4), "glass": (1, 3), "ceramic": (2, 3),
             "plastic_hard": (1, 3), "stone": (1, 4)}
TDW_CASES = [(m, TDW_SIZES[m][k]) for k in (0, 1) for m in TDW_MATERIALS]
#: Used where tdw's objects.csv has no object of that material and size.
TDW_DEFAULT_MASS_KG = 0.2
TDW_LEAD_S = 0.1
TDW_MIN_S = 1.0
TDW_SNR_DB = 40.0


def _tdw_table(material: str, size: int) -> dict:
    from workbench.export.tdw_compat import tdw_dir

    folder = tdw_dir() / "add_ons" / "py_impact" / "material_data"
    by_name = {p.name.lower(): p for p in folder.glob("*.json")}       # tdw ships Ceramic_3_mm.json
    return json.loads(by_name[f"{material}_{size}_mm.json"].read_text(encoding="utf-8"))


def _tdw_object(material: str, size: int) -> tuple[float, float, str]:
    """(resonance, mass kg, where from): median of tdw's objects.csv rows of that material and size."""
    import csv

    from workbench.export.tdw_compat import import_py_impact, tdw_dir

    with open(tdw_dir() / "physics_audio" / "objects.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["material"] == material and int(r["size"]) == size]
    if rows:
        return (float(np.median([float(r["resonance"]) for r in rows])),
                float(np.median([float(r["mass"]) for r in rows])), f"objects.csv ({len(rows)})")
    return import_py_impact().DEFAULT_RESONANCE, TDW_DEFAULT_MASS_KG, "defaults"


def tdw_case(index: int, seed: int = 2026) -> dict:
    """Case ``index`` of `TDW_CASES` as PyImpact makes it (tdw's own code, no Unity build).

    Modes: ``PyImpact._get_object_modes`` on the material table (10 entries, f ~ N(cf, cf/10),
    power ~ N(op, 10 dB), T ~ N(rt, rt/10)). Sound: ``PyImpact._synth_impact_modes`` with a
    silent partner: ``Modes.sum_modes`` (cosine phase, amplitude 10**(p/20) * 10**(-3 t / (T * r)),
    each mode cut at its -80 dB re 1 point), convolved with a half-sine of min(1 ms/kg * m, 2 ms),
    peak-normalised. r (resonance) and m (mass) are objects.csv's medians for that material and size.
    So T60 = decay_times (ms) * r / 1000 s. Placed after `TDW_LEAD_S` of silence, padded to
    `TDW_MIN_S`, scaled to peak 0.5, plus white noise `TDW_SNR_DB` below the sound's RMS
    (from the strike to the end of tdw's output).
    """
    from workbench.export.tdw_compat import import_py_impact, modes_class

    material, size = TDW_CASES[index % len(TDW_CASES)]
    PyImpact, Modes = import_py_impact(), modes_class()
    rng = np.random.RandomState(seed + index)
    name = f"{material}_{size}"
    drawer = types.SimpleNamespace(material_data={name: _tdw_table(material, size)}, rng=rng)
    modes = PyImpact._get_object_modes(drawer, name)
    resonance, mass, source = _tdw_object(material, size)
    silent = Modes(np.array([1000.0]), np.array([-80.0]), np.array([1.0]))     # zero-length partner
    sound = np.asarray(PyImpact._synth_impact_modes(modes, silent, mass, resonance, 1.0), dtype=np.float64)
    n_lead = int(TDW_LEAD_S * TDW_SR)
    clean = np.zeros(max(n_lead + len(sound), int(TDW_MIN_S * TDW_SR)))
    clean[n_lead:n_lead + len(sound)] = 0.5 * sound / np.max(np.abs(sound))
    rms = float(np.sqrt(np.mean(clean[n_lead:n_lead + len(sound)] ** 2)))
    noisy = clean + rms * 10 ** (-TDW_SNR_DB / 20) * np.random.default_rng(seed + index).standard_normal(len(clean))
    # the contact pulse PyImpact convolves with, and its spectrum at each mode
    n_pts = int(np.ceil(min(0.001 * mass, 2e-3) * TDW_SR))
    pulse = np.sin(np.linspace(0, np.pi, n_pts))
    f = np.asarray(modes.frequencies, dtype=np.float64)
    p = np.asarray(modes.powers, dtype=np.float64)
    t60 = np.asarray(modes.decay_times, dtype=np.float64) * resonance / 1e3
    h = np.abs(np.exp(-2j * np.pi * np.outer(f, np.arange(n_pts)) / TDW_SR) @ pulse)
    playing = p > -80.0                       # PyImpact keeps no sample of a mode at <= -80 dB re 1
    energy = np.where(playing, 10 ** (p / 10) * t60 * h**2, 0.0)
    return {"name": f"{name} (r={resonance:.2f}, m={mass:.2f} kg)", "material": material, "size": size,
            "audio": noisy.astype(np.float32), "sr": TDW_SR, "freqs": f, "t60": t60, "powers": p,
            "energy": energy, "resonance": resonance, "mass": mass, "source": source,
            "contact_s": n_pts / TDW_SR}


# ---------------------------------------------------------------------------------- other revision
def revision_tree(rev: str) -> tuple[str, Path]:
    """(commit, folder): ``rev``'s ``workbench/`` extracted under /tmp once (git archive)."""
    sha = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout.strip()
    folder = Path(tempfile.gettempdir()) / f"wb-{sha[:12]}"
    if not (folder / ".complete").exists():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as tmp:
            subprocess.run(["git", "archive", "--format=tar", sha, "workbench"], cwd=REPO, check=True, stdout=tmp)
            tmp.seek(0)
            with tarfile.open(fileobj=tmp) as tar:
                tar.extractall(folder, filter="data")
        (folder / ".complete").write_text(sha)
    return sha, folder


def run_revision(rev: str, files: list[Path], steps: int) -> tuple[str, dict[str, dict]]:
    """Fit ``files`` with ``rev``'s library in a child process.

    Returns:
        ``(commit, {file path: {"dist", "wall", "steps", "freqs"} or {"error"}})``.
    """
    sha, folder = revision_tree(rev)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.json", Path(tmp) / "out.json"
        src.write_text(json.dumps({"files": [str(f) for f in files], "steps": steps, "root": str(folder)}))
        env = {**os.environ, "PYTHONPATH": str(folder)}
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", str(src), str(dst)],
                              env=env, cwd=tmp, check=False)
        if proc.returncode != 0 or not dst.exists():
            return sha, {str(f): {"error": f"worker exited with {proc.returncode}"} for f in files}
        return sha, json.loads(dst.read_text())


def _worker(src: str, dst: str) -> None:
    """Child process: fit each file with whatever ``workbench`` is first on the path."""
    import torch

    import workbench

    job = json.loads(Path(src).read_text())
    out: dict[str, dict] = {}
    if not Path(workbench.__file__).resolve().is_relative_to(Path(job["root"]).resolve()):
        out = {f: {"error": f"imported {workbench.__file__}, not the revision"} for f in job["files"]}
    else:
        try:
            from workbench.fitting import fit
        except ImportError:
            fit = getattr(workbench, "fit", None)
        if not callable(fit):
            out = {f: {"error": "this revision has no workbench.fit"} for f in job["files"]}
        torch.manual_seed(0)
        for f in job["files"] if callable(fit) else ():
            kwargs = {"channel": 0} if Path(f).name.startswith("hammer_") else {}
            t0 = time.perf_counter()
            try:
                r = fit(f, steps=job["steps"], **kwargs)
                p = r.preset
                modes = list(p.object.modes) + (list(p.tool.modes) if getattr(p, "tool", None) else [])
                out[f] = {"dist": float(r.distance), "wall": time.perf_counter() - t0,
                          "steps": int(getattr(r, "steps_run", -1)), "freqs": [float(m.freq_hz) for m in modes]}
            except Exception as err:     # noqa: BLE001 - an older library may fail in any way
                out[f] = {"error": f"{type(err).__name__}: {err}"}
            print(f"[{Path(job['root']).name}] {Path(f).name}: " +
                  (f"dist {out[f]['dist']:.3f} wall {out[f]['wall']:.1f} s" if "dist" in out[f] else out[f]["error"]),
                  flush=True)
    Path(dst).write_text(json.dumps(out))


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--worker":
    _worker(sys.argv[2], sys.argv[3])
