"""Material classification of impact sounds from their modes (DiffImpact Sec. 4.3, Table 1).

A small classifier trained only on synthetic mode sets, as DiffImpact trains on the
synthetic Sound-20K: it names the material of a sound's *body* from what physics says
a material sets, the decay of its modes relative to their frequency (the loss factor
eta = sigma / (pi f), sigma = 6.908 / T60) and, more weakly, the frequency pattern.

* `features` - the fixed-length feature vector (`FEATURES`) of one body's modes
  (``freq_hz``, ``t60_s``, ``gain_db``): the object or tool bank of a fitted preset,
  or modes estimated straight from audio (`audio_modes`). Robust statistics of the loss
  factor (quantiles; a Huber line of log eta vs log f read at 3.2 kHz, and its slope) and
  the energy-weighted spectral centroid and spread: a fit's separation leaves a few modes
  with decays no material has (the contact's click, the other body's leak), and the
  quantiles and the robust line ignore them where means would not.
* `synthetic_set` - the training recipe (seeded): per material, mode frequencies and
  gains from ThreeDWorld's PyImpact material tables (``tdw`` package, scaled by a random
  size), decays from textbook material loss factors (`LOSS_FACTORS`) plus the loss a body
  gets from its surroundings (`ADDED_LOSS`: a resting object radiates and touches a table; a
  tool is held by a gripper), per-mode scatter and estimation noise. The preset library's
  damping laws are *not* used: they were fitted from the very recordings the bench tests on.
* `train_model` / `write_model` - a multinomial logistic regression per role (``object``,
  ``tool``; scikit-learn at training time only), stored as plain numbers in `MODEL_PATH`
  (``workbench classify --train`` rebuilds it); `load_model` / `predict` - numpy only.
* `classify_preset` - the object's and the tool's material of a fitted preset;
  `classify_material` - of a recording: with ``separate=True`` a fit with a tool bank
  (`workbench.fitting.fit`, tool/object labels from the name or generic ones) then
  `classify_preset`; with ``separate=False`` one material for the whole mix; `classify_clips` -
  of several ``*_<tool>_on_<object>`` clips from one joint fit (what DiffImpact does).

`workbench.classify_train` renders and fits synthetic tool/object sets with the same joint fit
("fit-in-the-loop"), to measure how far the fitted modes stray from the true ones; the shipped
classifier does not train on them (`bench/results/material.md` says why).

Example:
    >>> import numpy as np
    >>> f = np.array([400.0, 1100.0, 2300.0, 3900.0, 6100.0])
    >>> steel = predict(features(f, 6.908 / (np.pi * f * 3e-4), np.zeros(5)), role="object")
    >>> max(steel, key=steel.get)
    'metal'
"""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .damping import AUDIBLE_DB
from .data import DATA_DIR
from .errors import WorkbenchError
from .specs import T60_DECAY

SCHEMA = "impact-workbench/material-classifier"
MODEL_PATH = DATA_DIR / "material_classifier.json"
MATERIALS = ("ceramic", "glass", "metal", "plastic", "wood")
ROLES = ("object", "tool")
#: What ``workbench classify --train`` runs (the shipped model is its output).
TRAIN_COMMAND = "workbench classify --train -o workbench/data/material_classifier.json"
FEATURES = (
    "log10_eta_median",    # energy-weighted median of log10 loss factor eta = 6.908 / (pi f T60)
    "log10_eta_q10",       # its 10 % quantile: the modes that ring longest (the material's own loss)
    "log10_eta_q90",       # its 90 % quantile: the most damped modes
    "log10_eta_3k",        # log10 eta at 10^3.5 Hz (~3.2 kHz) of a robust (Huber) line log eta vs log f
    "eta_slope",           # that line's slope d log10(eta) / d log10(f) (clipped to +-1.5)
    "log10_centroid_hz",   # energy-weighted mean of log10 frequency
    "log10_bandwidth",     # energy-weighted standard deviation of log10 frequency
)
#: Material loss factors (eta) of the bare material at audio frequencies, (low, high). After the
#: table of material loss factors in Cremer, Heckl & Petersson, Structure-Borne Sound (3rd ed.,
#: Springer 2005), ch. 3 (steel ~1e-4, glass ~1e-3, wood ~1e-2, plexiglas 2-4e-2), widened to the
#: usual handbook ranges of each family.
LOSS_FACTORS = {"metal": (1e-4, 1e-3), "glass": (6e-4, 3e-3), "ceramic": (1e-3, 5e-3),
                "plastic": (1e-2, 5e-2), "wood": (5e-3, 3e-2)}
#: Loss a body gets from where it is (added to the material's), (low, high): a resting object
#: radiates sound and touches its support; a tool is held in a gripper, whose soft pads damp it.
ADDED_LOSS = {"object": (1e-4, 2e-3), "tool": (3e-3, 3e-2)}
#: The surroundings' loss falls as (f / 1 kHz)^-s, s drawn from this range: radiation and support
#: for a resting object; for a gripped tool, the soft grip damps like a viscous support, at about one
#: decay rate for every mode (mass-proportional damping, eta ~ 1 / f).
ADDED_SLOPE = {"object": (0.3, 1.2), "tool": (0.8, 1.2)}
#: Lowest mode frequency (Hz), drawn log-uniformly whatever the material: it is set by size and
#: shape, which a sound does not tell (a tool is a small utensil). ThreeDWorld's tables give only
#: the pattern above it (frequency ratios, gains).
LOWEST_MODE_HZ = {"object": (150.0, 3000.0), "tool": (500.0, 6000.0)}
#: ThreeDWorld AudioMaterials whose tables give each material's frequency pattern.
TDW_MATERIALS = {"ceramic": ("ceramic",), "glass": ("glass",), "metal": ("metal",),
                 "plastic": ("plastic_hard",), "wood": ("wood_hard", "wood_medium", "wood_soft")}
_MAX_FREQ_HZ = 18000.0
_SAMPLES_PER_CLASS = 1500


def _weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    return float(x[order][min(np.searchsorted(cw, q * cw[-1]), len(x) - 1)])


def _robust_line(x: np.ndarray, y: np.ndarray, w: np.ndarray, *, iterations: int = 10) -> tuple[float, float]:
    """(intercept, slope) of y on x, weighted least squares with Huber reweighting (k = 1.345 MAD
    scales), so a few modes the fit left badly damped (or undamped) do not tilt the law."""
    a, b = float(np.sum(w * y) / np.sum(w)), 0.0
    for _ in range(iterations):
        r = y - (a + b * x)
        scale = 1.4826 * _weighted_quantile(np.abs(r), w, 0.5) + 1e-6
        ww = w * np.minimum(1.0, 1.345 * scale / np.maximum(np.abs(r), 1e-12))
        xm, ym = float(np.sum(ww * x) / np.sum(ww)), float(np.sum(ww * y) / np.sum(ww))
        var = float(np.sum(ww * (x - xm) ** 2) / np.sum(ww))
        b = float(np.clip(np.sum(ww * (x - xm) * (y - ym)) / np.sum(ww) / var, -1.5, 1.5)) if var > 1e-6 else 0.0
        a = ym - b * xm
    return a, b


def features(freqs_hz, t60_s, gains_db) -> np.ndarray:
    """The `FEATURES` of one body's modes (a (7,) float64 vector, all finite).

    Modes within `workbench.damping.AUDIBLE_DB` of the loudest count, weighted by the square
    root of their energy (gain^2 x T60), as for the body's damping law. Quantiles and a robust
    line, not means: a fit leaves a few modes with decays no material has (the contact's click,
    the other body's leak), and they should not move the features.

    Raises:
        WorkbenchError: fewer than 2 modes, arrays of different lengths, non-positive or
            non-finite frequencies / decays.
    """
    f, t60, g = (np.asarray(x, dtype=np.float64).reshape(-1) for x in (freqs_hz, t60_s, gains_db))
    if not (len(f) == len(t60) == len(g)) or len(f) < 2:
        raise WorkbenchError("modes: need at least 2 modes with a frequency, a T60 and a gain each")
    if not (np.all(np.isfinite(f)) and np.all(f > 0) and np.all(np.isfinite(t60)) and np.all(t60 > 0)
            and np.all(np.isfinite(g))):
        raise WorkbenchError("modes: frequencies and T60s must be positive and finite, gains finite")
    keep = g > g.max() - AUDIBLE_DB
    f, t60, g = f[keep], t60[keep], g[keep]
    w = np.sqrt(10.0 ** ((g - g.max()) / 10.0) * t60)
    w = w / w.sum() if w.sum() > 0 else np.full(len(f), 1.0 / len(f))
    log_eta = np.log10(T60_DECAY / t60 / (math.pi * f))
    log_f = np.log10(f)
    at_3k, slope = _robust_line(log_f - 3.5, log_eta, w)
    mean_f = float(np.sum(w * log_f))
    return np.array([_weighted_quantile(log_eta, w, 0.5), _weighted_quantile(log_eta, w, 0.1),
                     _weighted_quantile(log_eta, w, 0.9), at_3k, slope,
                     mean_f, math.sqrt(float(np.sum(w * (log_f - mean_f) ** 2)))])


def bank_features(modes) -> np.ndarray:
    """`features` of a preset body's modes (objects with ``freq_hz``, ``t60_s``, ``gain_db``)."""
    rows = [(m.freq_hz, m.t60_s, m.gain_db) for m in modes]
    if len(rows) < 2:
        raise WorkbenchError("modes: need at least 2 modes to classify a body")
    return features(*np.array(rows).T)


def audio_modes(audio: np.ndarray, sample_rate: int, *, n_modes: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(freqs_hz, t60_s, gains_db)`` of the modes estimated from a recording (the whole mix, no
    separation): of its first strike, up to the next one (`workbench.analysis.detect_impacts`).

    Raises:
        WorkbenchError: fewer than 2 modes stand clear of the noise.
    """
    from .analysis.detect import detect_impacts
    from .analysis.modes import estimate_modes

    audio = np.asarray(audio, dtype=np.float64)
    strikes = [i.time_s for i in detect_impacts(audio, int(sample_rate))]
    onset, end = (strikes[0] if strikes else None), (strikes[1] if len(strikes) > 1 else None)
    est = estimate_modes(audio, int(sample_rate), n_modes=n_modes, onset_s=onset, end_s=end)
    if len(est.freqs_hz) < 2:
        raise WorkbenchError("audio: fewer than 2 modes stand clear of the noise; nothing to classify")
    return (np.asarray(est.freqs_hz, dtype=np.float64), np.asarray(est.t60_s, dtype=np.float64),
            20.0 * np.log10(np.maximum(np.asarray(est.amplitudes, dtype=np.float64), 1e-12)))


def audio_features(audio: np.ndarray, sample_rate: int, *, n_modes: int = 32) -> np.ndarray:
    """`features` of `audio_modes` (the whole mix, no separation)."""
    return features(*audio_modes(audio, sample_rate, n_modes=n_modes))


# --- training ----------------------------------------------------------------------------------

def tdw_patterns() -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """{material: [(mode frequencies Hz, gains dB)]}: the distinct tables of ThreeDWorld's PyImpact
    (``material_data/<material>_<size>_mm.json``, the 10 modes PyImpact plays; read as
    `workbench.materials` reads them). Needs the ``tdw`` package."""
    from .materials import _tdw_tables

    try:
        tables = _tdw_tables()
    except ImportError:
        raise WorkbenchError("training needs ThreeDWorld's material tables: pip install tdw") from None
    return {m: [(cf, op) for name in TDW_MATERIALS[m] for cf, _, op in tables.get(name, ())] for m in MATERIALS}


def _loguniform(rng, lo: float, hi: float, size=None):
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size))


def synthetic_body(material: str, role: str, rng, patterns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One synthetic body of ``material`` as ``(freqs_hz, t60_s, gains_db)`` (see the module docstring)."""
    cf, op = patterns[material][rng.integers(len(patterns[material]))]
    f = cf / cf.min() * _loguniform(rng, *LOWEST_MODE_HZ[role]) * np.exp(rng.normal(0.0, 0.05, len(cf)))
    g = op - op.max() + rng.normal(0.0, 4.0, len(cf))
    n_extra = int(rng.integers(0, 30))           # fitted banks hold more modes than tdw's 10
    if n_extra:
        fe = _loguniform(rng, f.min(), min(f.max() * 3.0, _MAX_FREQ_HZ), n_extra)
        tilt = rng.uniform(-6.0, 3.0)             # dB per octave above the lowest mode
        f = np.concatenate([f, fe])
        g = np.concatenate([g, tilt * np.log2(fe / f.min()) + rng.normal(-10.0, 8.0, n_extra)])
    keep = (f > 20.0) & (f < _MAX_FREQ_HZ)
    if keep.sum() < 3:
        keep[:3] = True
        f[:3] = np.clip(f[:3], 30.0, _MAX_FREQ_HZ - 1.0)
    f, g = f[keep], g[keep]
    # The material's loss is nearly flat in frequency and alike for every mode; the loss to the
    # surroundings (radiation, support, grip) falls with frequency and differs from mode to mode
    # (each mode shape radiates and touches the support differently).
    eta_material = (_loguniform(rng, *LOSS_FACTORS[material]) * (f / 1000.0) ** rng.uniform(-0.2, 0.2)
                    * np.exp(rng.normal(0.0, 0.2, len(f))))
    eta_env = (_loguniform(rng, *ADDED_LOSS[role]) * (f / 1000.0) ** -rng.uniform(*ADDED_SLOPE[role])
               * np.exp(rng.normal(0.0, 1.0, len(f))))
    eta = eta_material + eta_env
    noise = rng.uniform(0.1, 0.5)                # how well a fit or an analysis measures each decay
    t60 = T60_DECAY / (math.pi * f * eta) * np.exp(rng.normal(0.0, noise, len(f)))
    return f, np.clip(t60, 1e-3, 10.0), g


def synthetic_set(role: str, *, per_material: int = _SAMPLES_PER_CLASS, seed: int = 0,
                  patterns=None) -> tuple[np.ndarray, np.ndarray]:
    """A balanced synthetic training set: (``per_material`` x 5, 7) features, (n,) material indices."""
    if role not in ROLES:
        raise WorkbenchError(f"role: {role!r} is not one of {', '.join(ROLES)}")
    patterns = patterns or tdw_patterns()
    rng = np.random.default_rng([seed, ROLES.index(role)])
    xs, ys = [], []
    for k, material in enumerate(MATERIALS):
        for _ in range(per_material):
            xs.append(features(*synthetic_body(material, role, rng, patterns)))
            ys.append(k)
    return np.array(xs), np.array(ys)


def train_model(*, per_material: int = _SAMPLES_PER_CLASS, seed: int = 0) -> dict:
    """Train both roles' classifiers on `synthetic_set`; the model as a JSON-ready dict."""
    from sklearn.linear_model import LogisticRegression

    patterns = tdw_patterns()
    roles = {}
    for role in ROLES:
        x, y = synthetic_set(role, per_material=per_material, seed=seed, patterns=patterns)
        mean, std = x.mean(0), x.std(0) + 1e-9
        clf = LogisticRegression(C=1.0, max_iter=2000).fit((x - mean) / std, y)
        roles[role] = {"mean": _rounded(mean), "std": _rounded(std), "coef": [_rounded(r) for r in clf.coef_],
                       "intercept": _rounded(clf.intercept_), "train_accuracy": round(float(clf.score((x - mean) / std, y)), 4)}
    return {"schema": SCHEMA, "version": 2, "generated_by": TRAIN_COMMAND, "seed": seed,
            "per_material": per_material, "materials": list(MATERIALS), "features": list(FEATURES),
            "recipe": {"loss_factors": {k: list(v) for k, v in LOSS_FACTORS.items()},
                       "added_loss": {k: list(v) for k, v in ADDED_LOSS.items()},
                       "added_slope": {k: list(v) for k, v in ADDED_SLOPE.items()},
                       "lowest_mode_hz": {k: list(v) for k, v in LOWEST_MODE_HZ.items()},
                       "tdw_materials": {k: list(v) for k, v in TDW_MATERIALS.items()},
                       "source": "loss factors: Cremer, Heckl & Petersson, Structure-Borne Sound (3rd ed.), ch. 3; "
                                 "frequency patterns: ThreeDWorld PyImpact material tables (tdw package)"},
            "roles": roles}


def _rounded(a) -> list[float]:
    return [float(f"{float(v):.6g}") for v in np.asarray(a).reshape(-1)]


def write_model(model: dict, path: str | os.PathLike = MODEL_PATH) -> Path:
    """Write ``model`` as JSON (atomically); returns the path."""
    from .atomic import atomic_write_text

    return atomic_write_text(path, json.dumps(model, indent=1) + "\n")


@functools.lru_cache(maxsize=4)
def load_model(path: str | os.PathLike = MODEL_PATH) -> dict:
    """The classifier at ``path`` (default: the shipped one); read once, offline."""
    try:
        model = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise WorkbenchError(f"{path}: cannot read the material classifier ({e})") from None
    if model.get("schema") != SCHEMA:
        raise WorkbenchError(f"{path}: not a material classifier (schema {model.get('schema')!r})")
    if model.get("features") != list(FEATURES):
        raise WorkbenchError(f"{path}: trained on other features than this version's; rebuild it ({TRAIN_COMMAND})")
    return model


def predict(x: np.ndarray, *, role: str = "object", materials=None, model: dict | None = None) -> dict[str, float]:
    """{material: probability} of one feature vector for a body in ``role`` (``object``: also a
    whole mix; ``tool``: a held tool). ``materials``: only these candidates (renormalised), as
    DiffImpact trains on only the materials relevant to its test set."""
    model = model or load_model()
    if role not in model["roles"]:
        raise WorkbenchError(f"role: {role!r} is not one of {', '.join(model['roles'])}")
    r = model["roles"][role]
    z = np.array(r["coef"]) @ ((np.asarray(x, dtype=np.float64) - r["mean"]) / np.array(r["std"])) + r["intercept"]
    names = list(model["materials"])
    if materials is not None:
        unknown = [m for m in materials if m not in names]
        if unknown or not materials:
            raise WorkbenchError(f"materials: choose from {', '.join(names)} (got {', '.join(unknown) or 'none'})")
        idx = [names.index(m) for m in materials]
        names, z = [names[i] for i in idx], z[idx]
    p = np.exp(z - z.max())
    return {m: float(v) for m, v in zip(names, p / p.sum())}


# --- classifying sounds -----------------------------------------------------------------------

@dataclass(frozen=True)
class MaterialGuess:
    """A body's most probable material and every candidate's probability."""

    material: str
    probabilities: dict[str, float]

    @classmethod
    def of(cls, probabilities: dict[str, float]) -> "MaterialGuess":
        return cls(max(probabilities, key=probabilities.get), dict(probabilities))


@dataclass(frozen=True)
class MaterialResult:
    """What `classify_material` returns.

    Attributes:
        name: The clip's name.
        object: The struck object's material (``separated=False``: the one material of the mix).
        tool: The tool's material (None without separation or without a tool bank).
        separated: Whether a fit separated the tool from the object.
    """

    name: str
    object: MaterialGuess
    tool: MaterialGuess | None = None
    separated: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        part = lambda g: None if g is None else {"material": g.material, "probabilities": g.probabilities}  # noqa: E731
        return {"name": self.name, "separated": self.separated, "object": part(self.object), "tool": part(self.tool)}


def classify_preset(preset, *, materials=None) -> MaterialResult:
    """The object's and (with a tool bank) the tool's material of a fitted preset."""
    obj = MaterialGuess.of(predict(bank_features(preset.object.modes), role="object", materials=materials))
    tool = None
    if preset.tool is not None and len(preset.tool.modes) >= 2:
        tool = MaterialGuess.of(predict(bank_features(preset.tool.modes), role="tool", materials=materials))
    return MaterialResult(preset.name, obj, tool, separated=tool is not None)


def classify_material(audio_or_path, *, separate: bool = True, sample_rate: int | None = None,
                      materials=None, channel: int | None = None, **fit_options) -> MaterialResult:
    """The material of a recorded impact: the object's and the tool's, or one for the mix.

    Args:
        audio_or_path: An audio file, or a mono array with ``sample_rate``.
        separate: Fit the clip with a tool bank (`workbench.fitting.fit`, labels from a
            ``*_<tool>_on_<object>`` name, else generic) and classify each bank; ``False``:
            one material for the whole mix, from modes estimated on the raw audio.
        sample_rate: Hz, for an array.
        materials: Only these candidate materials (default: all of `MATERIALS`).
        channel: A file's channel (0-based; e.g. 0, the microphone, of DiffImpact's hammer
            files); default: all channels mixed down.
        **fit_options: Passed to the fit (``steps``, ``n_modes``, ``n_tool_modes``, ``device``...).

    Raises:
        WorkbenchError: an unreadable file, a bad array, too few modes to classify.
    """
    from .fitting.clips import as_clips

    if isinstance(audio_or_path, np.ndarray):
        if sample_rate is None:
            raise WorkbenchError("sample_rate: an audio array needs its sample rate")
        source = (np.asarray(audio_or_path, dtype=np.float32), int(sample_rate))
    elif isinstance(audio_or_path, (str, os.PathLike)):
        source = Path(audio_or_path)
    else:
        raise WorkbenchError(f"audio_or_path: expected a file path or an array, got {type(audio_or_path).__name__}")
    (clip,) = as_clips(source, sample_rate=None, channel=channel)
    if not separate:
        return MaterialResult(clip.name, MaterialGuess.of(predict(audio_features(clip.audio, clip.sample_rate),
                                                                  role="object", materials=materials)))
    from .fitting import fit
    from .names import tool_object

    pair = tool_object(clip.name) or ("tool", "object")
    result = fit(clip, labels={clip.name: pair}, **{"device": "cpu", **fit_options})
    return classify_preset(result.preset, materials=materials)


def classify_clips(paths, *, materials=None, **fit_options) -> list[MaterialResult]:
    """Each clip's object and tool material from one joint tool/object fit over ``paths`` (files
    named ``*_<tool>_on_<object>``: clips of one object share its bank, clips of one tool share
    the tool's), as DiffImpact separates its robot clips; one result per clip, in order."""
    from .fitting import fit

    result = fit([str(p) for p in paths], labels="names", **{"device": "cpu", **fit_options})
    return [classify_preset(p, materials=materials) for p in result.presets]
