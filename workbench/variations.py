"""Variations of a strike learned from a recording: a fitted generative model and banks.

A recording with repeated strikes of one object shows how strikes differ: the joint fit
shares the modes and fits each strike's contact time tau_i and impulse m_i; how each
mode's amplitude moves from strike to strike is read off the recording itself
(`strike_amplitudes`). `learn_variation` turns both into a `VariationModel`:

* ``(ln tau, ln m) ~ N(mu, Sigma)``: mu is the strike being varied, Sigma the sample
  covariance over the fitted strikes, shrunk towards the library prior with weight
  `PRIOR_STRIKES` (a recording with few strikes leans on the library);
* per-mode gain deviation ``d_k ~ N(0, s(f_k)^2)`` dB, independent of the strike terms,
  with s(f) per octave band: the spread of each mode's amplitude over the strikes once
  the strike's own level and contact spectrum are taken out (double-centred residuals of
  20 log10 |measured / predicted|), shrunk towards the prior the same way.

A preset with fewer than `MIN_STRIKES` strikes (or no recording) takes the library prior,
`workbench/data/variation_prior.json`: the same model learned from every multi-strike
recording of the preset library (`build_prior`; ``workbench variation-prior``).

`workbench.banks.make_bank` draws a bank of files from the model (`draw`).

Example:
    >>> from workbench.presets import Preset
    >>> hits = [{"time_s": 0.1 * i + 0.01, "contact_s": tau, "magnitude": m}
    ...         for i, (tau, m) in enumerate([(1e-4, 1.0), (1.2e-4, 0.7), (0.9e-4, 1.3), (1.1e-4, 0.9)])]
    >>> p = Preset(name="pan", sample_rate=16000, object={"modes": [{"freq_hz": 440, "t60_s": 2, "gain_db": 0}]},
    ...            impacts=hits)
    >>> model = learn_variation(p)            # contact/impulse spread of its 4 strikes, gains from the prior
    >>> model.n_strikes, model.source, 0.05 < model.sd_log_contact < 0.3
    (4, 'impacts', True)
"""

from __future__ import annotations

import json
import functools
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import specs
from .data import DATA_DIR
from .errors import WorkbenchError
from .presets import Preset
from .specs import T60_DECAY

MODEL_SCHEMA = "impact-workbench/variation-model"
#: Fewest strikes a recording needs to inform the spread (fewer: the library prior alone).
MIN_STRIKES = 3
#: Weight of the library prior, in strikes, when shrinking a recording's spread.
PRIOR_STRIKES = 3.0
#: Longest stretch after a strike read for its mode amplitudes (s).
SEGMENT_S = 0.5
#: Modes within this many dB (energy) of a body's strongest are measured per strike.
MEASURED_DB = 40.0
#: Octave-band centres of the per-mode gain spread s(f) (Hz).
BAND_HZ = (125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0)
#: Largest number of candidate draws per requested variation (rejection sampling budget).
MAX_DRAWS = 20


@dataclass(frozen=True)
class VariationModel:
    """How strikes of one object vary (see the module docstring).

    Attributes:
        cov_log: 2x2 covariance of (ln contact_s, ln magnitude) between strikes.
        band_hz: Band centres of ``gain_sd_db``.
        gain_sd_db: Per-band standard deviation of a mode's gain between strikes (dB).
        n_strikes: Strikes the spread was measured on (0: the prior alone).
        source: ``"recording"`` (impacts and mode amplitudes measured), ``"impacts"``
            (fitted impacts only; gains from the prior) or ``"prior"``.
    """

    cov_log: tuple[tuple[float, float], tuple[float, float]]
    band_hz: tuple[float, ...] = BAND_HZ
    gain_sd_db: tuple[float, ...] = ()
    n_strikes: int = 0
    source: str = "prior"
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def sd_log_contact(self) -> float:
        return math.sqrt(self.cov_log[0][0])

    @property
    def sd_log_magnitude(self) -> float:
        return math.sqrt(self.cov_log[1][1])

    def gain_sd_at(self, freqs_hz) -> np.ndarray:
        """Gain spread (dB) at each frequency: s(f) interpolated in log frequency."""
        f = np.clip(np.asarray(freqs_hz, dtype=np.float64), self.band_hz[0], self.band_hz[-1])
        return np.interp(np.log(f), np.log(self.band_hz), self.gain_sd_db)

    def to_dict(self) -> dict[str, Any]:
        d = {"schema": MODEL_SCHEMA, "version": 1, **asdict(self)}
        d["cov_log"] = [list(r) for r in self.cov_log]
        d["band_hz"], d["gain_sd_db"], d["notes"] = list(self.band_hz), list(self.gain_sd_db), list(self.notes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "VariationModel":
        try:
            cov = tuple(tuple(float(x) for x in row) for row in d["cov_log"])
            model = cls(cov_log=cov, band_hz=tuple(float(x) for x in d["band_hz"]),
                        gain_sd_db=tuple(float(x) for x in d["gain_sd_db"]), n_strikes=int(d["n_strikes"]),
                        source=str(d["source"]), notes=tuple(str(n) for n in d.get("notes", ())))
        except (KeyError, TypeError, ValueError) as err:
            raise WorkbenchError(f"variation model: missing or bad field ({err})") from None
        if np.shape(model.cov_log) != (2, 2) or len(model.gain_sd_db) != len(model.band_hz):
            raise WorkbenchError("variation model: cov_log must be 2x2 and gain_sd_db one value per band")
        return model

    def describe(self) -> str:
        rho = self.cov_log[0][1] / max(self.sd_log_contact * self.sd_log_magnitude, 1e-12)
        return (f"{self.source} ({self.n_strikes} strikes): contact x/÷ {math.exp(self.sd_log_contact):.2f}, "
                f"impulse x/÷ {math.exp(self.sd_log_magnitude):.2f}, correlation {rho:+.2f}, "
                f"mode gains ±{np.median(self.gain_sd_db):.1f} dB (median over bands)")


@functools.lru_cache(maxsize=1)
def load_prior() -> VariationModel:
    """The library prior shipped with the package (``workbench/data/variation_prior.json``),
    read once per process (the model is immutable)."""
    return VariationModel.from_dict(json.loads(Path(DATA_DIR / "variation_prior.json").read_text(encoding="utf-8")))


# -- measuring strikes ---------------------------------------------------------------------
def _bodies(preset: Preset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    modes = [m for body in (preset.object, preset.tool) if body is not None for m in body.modes]
    return (np.array([m.freq_hz for m in modes]), np.array([m.t60_s for m in modes]),
            np.array([m.gain_db for m in modes]))


def contact_gain(freqs_hz, contact_s) -> np.ndarray:
    """|spectrum| of a unit-impulse contact pulse at ``freqs_hz``: exp(-(pi f tau)^2 / 6).

    The pulse exp(-6 (t/tau)^2) is a Gaussian of variance tau^2 / 12 (`workbench.functional.contact`).
    """
    return np.exp(-(np.pi * np.asarray(freqs_hz) * np.asarray(contact_s)) ** 2 / 6.0)


def strike_amplitudes(preset: Preset, audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Each strike's complex amplitude of each mode, read off the recording by least squares.

    After strike i the recording is a sum of the modes' damped sinusoids (frequencies and
    T60 from the preset) whose complex amplitudes c_ik hold this strike plus the tails of
    the earlier ones; a tail is the previous amplitude advanced by exp((-sigma + i omega) dt),
    so the strike's own amplitude is c_ik - c_(i-1)k exp((-sigma_k + i omega_k)(t_i - t_(i-1))).

    Args:
        preset: The fitted preset (impact times in file time plus ``provenance.offset_s``).
        audio: (n_samples,) the recording it was fitted to, at ``sample_rate``.

    Returns:
        ``(amplitudes, measured)``: (n_strikes, n_modes) |amplitude| of each strike's own
        ring (object modes then tool modes) and a bool mask of the entries measured (modes
        within `MEASURED_DB` of the strongest, strikes with a clean stretch after them).
    """
    f, t60, g = _bodies(preset)
    sigma = T60_DECAY / t60
    omega = 2 * np.pi * f
    energy_db = 10 * np.log10(10 ** (g / 10) * t60)
    keep = energy_db >= energy_db.max() - MEASURED_DB
    offset = float(preset.provenance.get("offset_s", 0.0) or 0.0)
    times = np.array([i.time_s + offset for i in preset.impacts])
    taus = np.array([i.contact_s for i in preset.impacts])
    n_strikes, n_modes = len(times), len(f)
    c = np.zeros((n_strikes, n_modes), dtype=np.complex128)
    own = np.zeros_like(c)
    measured = np.zeros((n_strikes, n_modes), dtype=bool)
    idx = np.flatnonzero(keep)
    for i, t0 in enumerate(times):
        start = t0 + 2.0 * taus[i]
        end = min(t0 + SEGMENT_S, times[i + 1] - taus[i + 1] if i + 1 < n_strikes else np.inf)
        a, b = int(math.ceil(start * sample_rate)), min(int(end * sample_rate), len(audio))
        if b - a < 64:
            continue
        t = np.arange(a, b) / sample_rate - t0
        env = np.exp(-sigma[idx][None, :] * t[:, None])
        phase = omega[idx][None, :] * t[:, None]
        basis = np.concatenate([env * np.sin(phase), env * np.cos(phase)], axis=1)
        gram = basis.T @ basis
        ridge = 1e-6 * np.trace(gram) / len(gram)
        coef = np.linalg.solve(gram + ridge * np.eye(len(gram)), basis.T @ audio[a:b])
        c[i, idx] = coef[:len(idx)] + 1j * coef[len(idx):]
        own[i] = c[i]
        if i > 0:
            dt = t0 - times[i - 1]
            own[i] = c[i] - c[i - 1] * np.exp((-sigma + 1j * omega) * dt)
        # resolvable: the stretch is long enough to separate each kept mode from its neighbours
        gap = np.min(np.abs(f[idx][:, None] - f[idx][None, :]) + np.eye(len(idx)) * 1e9, axis=1)
        measured[i, idx] = gap * (b - a) / sample_rate >= 1.0
    return np.abs(own), measured


def gain_deviations(preset: Preset, amplitudes: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """(n_strikes, n_modes) dB deviation of each strike's mode amplitudes from the model,
    double-centred (each mode's mean and each strike's mean over modes removed); NaN where
    not measured.

    The model's amplitude of mode k at strike i is 10^(g_k / 20) m_i |C(f_k; tau_i)|.
    """
    f, _, g = _bodies(preset)
    m = np.array([i.magnitude for i in preset.impacts])[:, None]
    tau = np.array([i.contact_s for i in preset.impacts])[:, None]
    predicted = 10 ** (g[None, :] / 20) * m * contact_gain(f[None, :], tau)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = 20 * np.log10(amplitudes / predicted)
    ok = measured & np.isfinite(d)
    d = np.where(ok, d, 0.0)
    for _ in range(3):      # alternate the two centrings until both hold
        for axis in (0, 1):
            d = np.where(ok, d - d.sum(axis, keepdims=True) / np.maximum(ok.sum(axis, keepdims=True), 1), 0.0)
    return np.where(ok, d, np.nan)


def _band_spread(freqs_hz: np.ndarray, deviations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band (sd dB, count) of double-centred deviations (robust: 1.4826 x MAD)."""
    edges = np.sqrt(np.array(BAND_HZ[:-1]) * np.array(BAND_HZ[1:]))
    band = np.searchsorted(edges, freqs_hz)
    sd, count = np.full(len(BAND_HZ), np.nan), np.zeros(len(BAND_HZ), dtype=int)
    for b in range(len(BAND_HZ)):
        x = deviations[:, band == b]
        x = x[np.isfinite(x)]
        if len(x) >= 4:
            sd[b] = 1.4826 * np.median(np.abs(x - np.median(x)))
            count[b] = len(x)
    return sd, count


def _shrink(own: np.ndarray, n: float, prior: np.ndarray, weight: float) -> np.ndarray:
    return (n * own + weight * prior) / (n + weight)


def learn_variation(preset: Preset, audio: np.ndarray | None = None, sample_rate: int | None = None, *,
                    prior: VariationModel | None = None, prior_strikes: float = PRIOR_STRIKES) -> VariationModel:
    """The `VariationModel` of ``preset``, from its fitted strikes and, when given, its recording.

    Args:
        preset: A fitted preset; its impacts are the strikes.
        audio: (n_samples,) mono recording it was fitted to (optional), at ``sample_rate``.
        prior: The library prior (default: `load_prior`).
        prior_strikes: Its weight in strikes (0: the recording alone, as `build_prior` learns).
    """
    prior = prior or load_prior()
    n = len(preset.impacts)
    if n < MIN_STRIKES:
        return prior
    logs = np.log([[i.contact_s, i.magnitude] for i in preset.impacts])
    cov = _shrink(np.cov(logs, rowvar=False), n - 1, np.asarray(prior.cov_log), prior_strikes)
    gain_sd, source, notes = np.asarray(prior.gain_sd_db), "impacts", []
    if audio is not None:
        if sample_rate is None:
            raise WorkbenchError("sample_rate: needed with audio")
        amplitudes, measured = strike_amplitudes(preset, np.asarray(audio, dtype=np.float64), int(sample_rate))
        sd, count = _band_spread(_bodies(preset)[0], gain_deviations(preset, amplitudes, measured))
        strikes = int(measured.any(axis=1).sum())
        if strikes >= MIN_STRIKES:
            ok = np.isfinite(sd)
            gain_sd = np.where(ok, _shrink(np.nan_to_num(sd), strikes - 1, gain_sd, prior_strikes), gain_sd)
            source = "recording"
            notes.append(f"mode gains measured on {strikes} strikes, {int(count.sum())} mode amplitudes")
    return VariationModel(cov_log=tuple(tuple(float(x) for x in r) for r in cov),
                          gain_sd_db=tuple(float(x) for x in gain_sd), n_strikes=n, source=source,
                          notes=tuple(notes))


def build_prior(recordings: Sequence[tuple[Preset, np.ndarray, int]]) -> VariationModel:
    """The library prior: one model from every recording with at least `MIN_STRIKES` strikes.

    The strike covariance is the within-recording covariance pooled over recordings (each
    weighted by strikes - 1); the gain spread per band is the robust spread of every
    recording's double-centred deviations together. A band without any measured mode
    takes the value of its nearest bands (interpolated in log frequency).

    Args:
        recordings: ``(fitted preset, mono audio, sample_rate)`` per recording.
    """
    covs, weights, deviations, freqs, names = [], [], [], [], []
    for preset, audio, sr in recordings:
        if len(preset.impacts) < MIN_STRIKES:
            continue
        logs = np.log([[i.contact_s, i.magnitude] for i in preset.impacts])
        covs.append(np.cov(logs, rowvar=False))
        weights.append(len(preset.impacts) - 1)
        amplitudes, measured = strike_amplitudes(preset, np.asarray(audio, dtype=np.float64), int(sr))
        d = gain_deviations(preset, amplitudes, measured)
        deviations.append(d.T.reshape(-1))
        freqs.append(np.repeat(_bodies(preset)[0], d.shape[0]))
        names.append(preset.name)
    if not covs:
        raise WorkbenchError(f"variation prior: no recording with {MIN_STRIKES} or more strikes to learn from")
    w = np.asarray(weights, dtype=np.float64)
    cov = np.tensordot(w, np.array(covs), axes=1) / w.sum()
    sd, count = _band_spread(np.concatenate(freqs), np.concatenate(deviations)[None, :])
    ok = np.isfinite(sd)
    if not ok.any():
        raise WorkbenchError("variation prior: no mode amplitude could be measured between strikes")
    logf = np.log(BAND_HZ)
    sd = np.interp(logf, logf[ok], sd[ok])
    return VariationModel(cov_log=tuple(tuple(float(x) for x in r) for r in cov),
                          gain_sd_db=tuple(round(float(x), 4) for x in sd), n_strikes=int(w.sum() + len(w)),
                          source="prior", notes=(f"pooled from {len(names)} recordings: {', '.join(names)}",
                                                 f"mode amplitudes per band: {count.tolist()}"))


# -- sampling ---------------------------------------------------------------------------------
def draw(base: Preset, model: VariationModel, rng: np.random.Generator, *, shrink: float = 1.0) -> tuple[Preset, dict]:
    """One variation of a single-strike preset: (ln tau, ln m) and every mode gain drawn from ``model``.

    ``shrink`` scales the draw's standard deviations (the bank's rejection sampling uses it
    to stay within its distance bound). Values are clipped into their `workbench.specs` ranges.
    """
    hit = base.impacts[0]
    z = rng.standard_normal(2)
    dlog = shrink * (np.linalg.cholesky(np.asarray(model.cov_log) + 1e-12 * np.eye(2)) @ z)
    tau = float(specs.CONTACT_S.clip(hit.contact_s * math.exp(dlog[0])))
    mag = float(specs.MAGNITUDE.clip(hit.magnitude * math.exp(dlog[1])))
    # a bank's one-shot starts at its strike: the pulse is placed one contact time in, so it is whole
    changes: dict[str, Any] = {"impacts": [{"time_s": tau, "contact_s": tau, "magnitude": mag}]}
    for role in ("object", "tool"):
        body = getattr(base, role)
        if body is None:
            continue
        f = np.array([m.freq_hz for m in body.modes])
        dg = shrink * model.gain_sd_at(f) * rng.standard_normal(len(f))
        data = body.model_dump(mode="json")
        for m, d in zip(data["modes"], dg):
            m["gain_db"] = float(specs.GAIN_DB.clip(m["gain_db"] + d))
        changes[role] = data
    return base.replace(**changes), {"contact_s": tau, "magnitude": mag}


def prior_from_library(presets_dir: str | Path, recordings_dir: str | Path) -> VariationModel:
    """`build_prior` over the library's presets with `MIN_STRIKES` or more strikes, each read
    with the recording it was fitted to (``provenance.source`` under ``recordings_dir``;
    the impact hammer's first channel, as `workbench.library` fits it).

    Raises:
        WorkbenchError: a folder is missing, or no multi-strike preset's recording is found.
    """
    from .audio import load_audio
    from .library import FORCE_SENSOR_PREFIX
    from .presets import load_preset

    presets_dir, recordings_dir = Path(presets_dir), Path(recordings_dir)
    for name, folder in (("presets_dir", presets_dir), ("recordings_dir", recordings_dir)):
        if not folder.is_dir():
            raise WorkbenchError(f"{name}: {folder} is not a folder")
    found = []
    for path in sorted(presets_dir.rglob("*.json")):
        try:
            preset = load_preset(path)
        except WorkbenchError:
            continue                      # README data, mapping files: not presets
        source = recordings_dir / str(preset.provenance.get("source", ""))
        if len(preset.impacts) < MIN_STRIKES or not source.is_file():
            continue
        channel = 0 if source.name.startswith(FORCE_SENSOR_PREFIX) else None
        audio, sr = load_audio(source, sample_rate=preset.sample_rate, channel=channel)
        found.append((preset, audio, sr))
    return build_prior(found)
