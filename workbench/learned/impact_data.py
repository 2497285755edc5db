"""Training data of the impact encoder (`workbench.learned.impact`): presets drawn on the fly,
rendered in batches by our renderer, cut as the encoder reads a recording.

The recipe (``RECIPE``, stored in the weights' metadata), per example:

* **prior** (``PRIOR_FRACTION`` of a batch): a random modal body from the physics priors of
  `workbench.classify.synthetic_body` (a material of `classify.MATERIALS`; ThreeDWorld's mode
  patterns at a random size; decays from the material's loss factor plus the surroundings'
  frequency-dependent loss, i.e. a damping law with per-mode scatter), 3-40 modes, with a
  tool body of another material (``TOOL_FRACTION``); contact tau log-uniform in ``CONTACT_S``;
  click, background noise (level and spectral tilt), residual (on ``RESIDUAL_FRACTION``) and
  room (on ``REVERB_FRACTION``) drawn from the ranges below.
* **library**: a preset of ``presets/*/*.json`` (its first strike only), varied by
  `workbench.variations.draw` (contact, impulse, per-mode gains from the library's variation
  prior), then by `workbench.physical.scaled` (size x0.6-1.6) and `with_material` (half the
  time, a random material, amount 0-1), its noise, room and residual levels moved by a few dB.

Every example has one strike at ``ONSET_S`` (+- ``ONSET_JITTER_S``: the detector's error) in a
``DURATION_S`` window at ``SAMPLE_RATE`` and is peak-normalised, as `impact.crop` cuts a
recording (the fitter's window also starts ``clips.PRE_ONSET_S`` before the first strike).
`targets` turns each preset into what the encoder predicts, in the normalised window's units.

Example:
    >>> import numpy as np
    >>> audio, presets = draw_batch(2, np.random.default_rng(0), library=[])
    >>> tuple(audio.shape), float(audio.abs().amax(dim=1).min()) == 1.0
    ((2, 96000), True)
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import torch

from .. import specs
from ..classify import MATERIALS, synthetic_body, tdw_patterns
from ..errors import WorkbenchError
from ..materials import material_names
from ..physical import scaled, with_material
from ..presets import Preset, load_preset
from ..variations import draw, load_prior

SAMPLE_RATE = 32_000
DURATION_S = 3.0
N_SAMPLES = int(SAMPLE_RATE * DURATION_S)
#: The strike starts this far into the window (the fitter's `clips.PRE_ONSET_S`).
ONSET_S = 0.05
ONSET_JITTER_S = 0.002
#: Modes the encoder reads and writes lie in this range (Hz).
FREQ_RANGE_HZ = (40.0, 15_000.0)
PRIOR_FRACTION = 0.6
TOOL_FRACTION = 0.4
REVERB_FRACTION = 0.7
RESIDUAL_FRACTION = 0.9
CONTACT_S = (5e-5, 6e-4)
#: Background noise below the loudest mode's onset level (dB), and its tilt (dB per octave).
NOISE_BELOW_DB, NOISE_TILT_DB = (40.0, 100.0), (-6.0, 3.0)
#: Room gain per band (dB) and T60 at 500 Hz (s).
REVERB_GAIN_DB, REVERB_T60_S = (-45.0, -8.0), (0.1, 3.0)
#: Residual onset level below the loudest mode (dB) and its T60 (s).
RESIDUAL_BELOW_DB, RESIDUAL_T60_S = (25.0, 70.0), (0.01, 0.3)
ACCELERATION = (1e-9, 1e-5)
#: A mode counts as present when its energy (amplitude^2 x T60) is within this of the strongest.
AUDIBLE_DB = 50.0
PRESETS_DIR = Path(__file__).resolve().parents[2] / "presets"

RECIPE = {
    "sample_rate": SAMPLE_RATE, "duration_s": DURATION_S, "onset_s": ONSET_S, "onset_jitter_s": ONSET_JITTER_S,
    "prior_fraction": PRIOR_FRACTION, "tool_fraction": TOOL_FRACTION, "reverb_fraction": REVERB_FRACTION,
    "residual_fraction": RESIDUAL_FRACTION, "contact_s": CONTACT_S, "noise_below_db": NOISE_BELOW_DB,
    "noise_tilt_db_per_octave": NOISE_TILT_DB, "reverb_gain_db": REVERB_GAIN_DB, "reverb_t60_s": REVERB_T60_S,
    "residual_below_db": RESIDUAL_BELOW_DB, "residual_t60_s": RESIDUAL_T60_S, "acceleration": ACCELERATION,
    "audible_db": AUDIBLE_DB, "prior_bodies": "workbench.classify.synthetic_body (materials "
    + ", ".join(MATERIALS) + ")", "library": "presets/*/*.json, first strike, variations.draw + "
    "physical.scaled(0.6-1.6) + physical.with_material(p=0.5, amount 0-1)",
}


def _logu(rng: np.random.Generator, lo: float, hi: float, size=None):
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size))


@functools.lru_cache(maxsize=1)
def _patterns():
    return tdw_patterns()


def library_presets(presets_dir: str | Path = PRESETS_DIR) -> list[Preset]:
    """Every preset of the library (``<dir>/*/*.json``), cut to its first strike."""
    out = []
    for path in sorted(Path(presets_dir).glob("*/*.json")):
        p = load_preset(path)
        if p.object.modes:
            hit = p.impacts[0]
            out.append(p.replace(impacts=[{"time_s": ONSET_S, "contact_s": hit.contact_s,
                                           "magnitude": hit.magnitude}]))
    return out


def _bands(freqs, level_db: float, tilt_db: float, spread_db: float, rng, spec) -> list[float]:
    f = np.asarray(freqs)
    g = level_db + tilt_db * np.log2(f / 1000.0) + rng.normal(0.0, spread_db, len(f))
    return [float(x) for x in spec.clip(g)]


def prior_preset(rng: np.random.Generator, name: str = "prior") -> Preset:
    """A preset drawn from the physics priors (see the module docstring)."""
    material = MATERIALS[rng.integers(len(MATERIALS))]
    f, t60, g = synthetic_body(material, "object", rng, _patterns())
    keep = (f >= FREQ_RANGE_HZ[0]) & (f <= FREQ_RANGE_HZ[1])
    if keep.sum() == 0:
        keep[np.argmin(np.abs(np.log(f / 1000.0)))] = True
        f = np.clip(f, *FREQ_RANGE_HZ)
    top = float(rng.uniform(-20.0, 10.0))
    body = {"modes": [{"freq_hz": float(a), "t60_s": float(specs.T60_S.clip(b)), "gain_db": float(c + top)}
                      for a, b, c in zip(f[keep], t60[keep], g[keep])]}
    tool = None
    if rng.random() < TOOL_FRACTION:
        tf, tt, tg = synthetic_body(MATERIALS[rng.integers(len(MATERIALS))], "tool", rng, _patterns())
        ok = (tf >= FREQ_RANGE_HZ[0]) & (tf <= FREQ_RANGE_HZ[1])
        below = float(rng.uniform(5.0, 30.0))
        tool = {"modes": [{"freq_hz": float(a), "t60_s": float(specs.T60_S.clip(b)), "gain_db": float(c + top - below)}
                          for a, b, c in zip(tf[ok], tt[ok], tg[ok])]} if ok.any() else None
    tau = float(_logu(rng, *CONTACT_S))
    noise = _bands(specs.NOISE_BAND_FREQS_HZ, top - rng.uniform(*NOISE_BELOW_DB), rng.uniform(*NOISE_TILT_DB), 3.0,
                   rng, specs.NOISE_GAIN_DB)
    rev_t60 = _logu(rng, *REVERB_T60_S) * (np.asarray(specs.REVERB_BAND_FREQS_HZ) / 500.0) ** -rng.uniform(0.0, 0.3)
    reverb = {"enabled": bool(rng.random() < REVERB_FRACTION),
              "bands": [{"freq_hz": fr, "gain_db": gd, "t60_s": float(specs.REVERB_T60_S.clip(t))}
                        for fr, gd, t in zip(specs.REVERB_BAND_FREQS_HZ,
                                             _bands(specs.REVERB_BAND_FREQS_HZ, rng.uniform(*REVERB_GAIN_DB),
                                                    rng.uniform(-3.0, 1.0), 3.0, rng, specs.REVERB_GAIN_DB),
                                             rev_t60 * np.exp(rng.normal(0.0, 0.15, len(rev_t60))))]}
    residual = None
    if rng.random() < RESIDUAL_FRACTION:
        res_t60 = _logu(rng, *RESIDUAL_T60_S) * np.exp(rng.normal(0.0, 0.3, len(specs.RESIDUAL_BAND_FREQS_HZ)))
        residual = {"enabled": True, "bands": [
            {"freq_hz": fr, "gain_db": gd, "t60_s": float(specs.RESIDUAL_T60_S.clip(t))}
            for fr, gd, t in zip(specs.RESIDUAL_BAND_FREQS_HZ,
                                 _bands(specs.RESIDUAL_BAND_FREQS_HZ, top - rng.uniform(*RESIDUAL_BELOW_DB),
                                        rng.uniform(-4.0, 2.0), 4.0, rng, specs.RESIDUAL_GAIN_DB), res_t60)]}
    return Preset(name=name, sample_rate=SAMPLE_RATE, duration_s=DURATION_S, material=material,
                  object=body, tool=tool, acceleration=float(_logu(rng, *ACCELERATION)),
                  impacts=[{"time_s": ONSET_S, "contact_s": tau, "magnitude": 1.0}],
                  noise={"bands": [{"freq_hz": fr, "gain_db": gd} for fr, gd in zip(specs.NOISE_BAND_FREQS_HZ, noise)]},
                  reverb=reverb, residual=residual)


def _shift_bands(section: dict | None, rng, spec, sd_db: float) -> dict | None:
    if section is None:
        return None
    shift = rng.normal(0.0, sd_db)
    return {**section, "bands": [{**b, "gain_db": float(spec.clip(b["gain_db"] + shift))} for b in section["bands"]]}


def library_variant(base: Preset, rng: np.random.Generator) -> Preset:
    """A variation of a library preset (see the module docstring)."""
    p, _ = draw(base, load_prior(), rng)
    p = scaled(p, float(_logu(rng, 0.6, 1.6)))
    if rng.random() < 0.5:
        names = material_names()
        p = with_material(p, names[rng.integers(len(names))], float(rng.uniform(0.0, 1.0)))
    data = p.to_dict()
    data["noise"] = _shift_bands(data["noise"], rng, specs.NOISE_GAIN_DB, 6.0)
    data["reverb"] = _shift_bands(data["reverb"], rng, specs.REVERB_GAIN_DB, 4.0)
    data["residual"] = _shift_bands(data.get("residual"), rng, specs.RESIDUAL_GAIN_DB, 4.0)
    for body in ("object", "tool"):
        if data.get(body):
            modes = [m for m in data[body]["modes"] if FREQ_RANGE_HZ[0] <= m["freq_hz"] <= FREQ_RANGE_HZ[1]]
            data[body] = {"modes": modes} if modes else None
    if not data["object"] or not data["object"]["modes"]:
        return prior_preset(rng)
    hit = data["impacts"][0]
    data["impacts"] = [{**hit, "time_s": ONSET_S}]
    return Preset(**{k: v for k, v in data.items() if k not in ("schema", "version")})


def draw_presets(n: int, rng: np.random.Generator, *, library: list[Preset] | None = None) -> list[Preset]:
    """``n`` presets of the recipe, with the onset jittered; ``library=[]``: prior draws only."""
    library = library_presets() if library is None else library
    out = []
    for _ in range(n):
        if library and rng.random() >= PRIOR_FRACTION:
            p = library_variant(library[rng.integers(len(library))], rng)
        else:
            p = prior_preset(rng)
        hit = p.impacts[0]
        out.append(p.replace(sample_rate=SAMPLE_RATE, duration_s=DURATION_S, impacts=[{
            "time_s": ONSET_S + float(rng.uniform(-ONSET_JITTER_S, ONSET_JITTER_S)),
            "contact_s": hit.contact_s, "magnitude": hit.magnitude}]))
    return out


def normalized(presets: list[Preset], peaks: np.ndarray) -> list[Preset]:
    """The presets scaled as their renders were (peak 1): impulse / peak, noise - 20 log10 peak."""
    out = []
    for p, peak in zip(presets, peaks):
        db = 20.0 * math.log10(max(float(peak), 1e-12))
        hit = p.impacts[0]
        out.append(p.replace(
            impacts=[{"time_s": hit.time_s, "contact_s": hit.contact_s,
                      "magnitude": float(specs.MAGNITUDE.clip(hit.magnitude / max(float(peak), 1e-12)))}],
            noise={"bands": [{"freq_hz": b.freq_hz, "gain_db": float(specs.NOISE_GAIN_DB.clip(b.gain_db - db))}
                             for b in p.noise.bands]}))
    return out


def draw_batch(n: int, rng: np.random.Generator, *, library: list[Preset] | None = None,
               seed: int | None = None) -> tuple[torch.Tensor, list[Preset]]:
    """(n, N_SAMPLES) peak-normalised renders and their presets (normalised the same way).

    The noise, room and residual sources are seeded per batch (``seed``, else drawn from ``rng``).

    Raises:
        WorkbenchError: a render that is silent.
    """
    from ..controls import controls_from_presets
    from ..synth import ImpactSynth

    presets = draw_presets(n, rng, library=library)
    s = int(rng.integers(2**31)) if seed is None else seed
    synth = ImpactSynth(sample_rate=SAMPLE_RATE, n_samples=N_SAMPLES, noise_seed=s, reverb_seed=s + 1,
                        residual_seed=s + 2)
    with torch.no_grad():
        audio = synth(controls_from_presets(presets))
    peaks = audio.abs().amax(dim=1)
    if not bool(torch.all(peaks > 0)):
        raise WorkbenchError("draw_batch: a training render is silent")
    return audio / peaks[:, None], normalized(presets, peaks.numpy())


__all__ = ["DURATION_S", "N_SAMPLES", "RECIPE", "SAMPLE_RATE", "draw_batch", "draw_presets", "library_presets",
           "library_variant", "normalized", "prior_preset"]
