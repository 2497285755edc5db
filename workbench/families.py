"""Model families: presets whose modes come from a physical model with a few parameters.

A preset with a family carries it in its optional ``model`` key (`workbench.presets`):
``{"family": "ftm_drum", "params": {...}}``, physical units. The object's modes are
still what renders (every exporter works unchanged); the family's parameters let an
editor move the model and recompute the modes (`with_family_params`).

One family so far, ``ftm_drum``: the FTM rectangular drum of the PNP paper
(`workbench.functional.ftm`): θ = (omega_rad_s, tau_s, p, D, alpha) over the paper's
ranges, plus strike and pickup positions (x, y relative to the sides). `drum_preset`
makes a preset of it: the drum's audible modes (below Nyquist, T60 of at least 1 ms,
within 120 dB of the loudest), levelled so one strike of magnitude 1 peaks at
`DRUM_PEAK_DBFS`, a short impact, quiet noise, no reverb.

The parameters, their ranges, defaults and slider labels are data (`FAMILIES`): each
`FamilyControl` has the stored spec and the spec a slider shows (the fundamental in Hz
for ω in rad/s).

Example:
    >>> p = drum_preset({"omega_rad_s": 2 * math.pi * 110.0}, sample_rate=16000, duration_s=1.0)
    >>> p.model.family, round(p.object.modes[0].freq_hz, 6), len(p.object.modes) > 20
    ('ftm_drum', 110.0, True)
    >>> q = with_family_params(p, tau_s=0.1)
    >>> round(q.object.modes[0].t60_s, 4), q.model.params["tau_s"], q.impacts == p.impacts
    (0.6908, 0.1, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from . import specs
from .errors import WorkbenchError
from .functional.ftm import DEFAULT_POSITION, FTM_SPECS, THETA_NAMES, ftm_modes
from .functional.modal import modal_ir
from .presets import ModelFamily, Preset, default_noise, default_reverb
from .specs import ParamSpec

#: A drum preset's single strike of magnitude 1 peaks here (dBFS), under the -1 dBFS headroom.
DRUM_PEAK_DBFS = -3.0
#: Modes quieter than the loudest by more than this (dB) are left out of a drum preset.
DRUM_RANGE_DB = 120.0
#: A drum preset's strike: onset (s), contact duration (s), and its background noise level (dB).
DRUM_STRIKE_S, DRUM_CONTACT_S, DRUM_NOISE_DB = 0.01, 2e-4, -100.0


@dataclass(frozen=True)
class FamilyControl:
    """One parameter of a family: the spec it is stored and checked with, and what a slider shows.

    ``shown`` has the same scale with values ``factor`` times the stored ones (the
    fundamental in Hz for ω in rad/s); by default it is ``spec`` itself.
    """

    spec: ParamSpec
    label: str
    shown: ParamSpec | None = None
    factor: float = 1.0

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def display(self) -> ParamSpec:
        return self.shown or self.spec

    def to_shown(self, value: float) -> float:
        return float(value) * self.factor

    def from_shown(self, value: float) -> float:
        """The stored value of a shown one, clipped into the spec (slider stops may round past its ends)."""
        return float(self.spec.clip(float(value) / self.factor))


@dataclass(frozen=True)
class Family:
    """A model family: its name in presets, a label, and its parameters in order."""

    name: str
    label: str
    controls: tuple[FamilyControl, ...]

    @property
    def specs(self) -> dict[str, ParamSpec]:
        return {c.name: c.spec for c in self.controls}

    @property
    def defaults(self) -> dict[str, float]:
        return {c.name: float(c.spec.default) for c in self.controls}


def _position(name: str, default: float, doc: str) -> ParamSpec:
    return ParamSpec(name=name, unit="", minimum=0.01, maximum=0.99, scale="linear", default=default, doc=doc)


_OMEGA, _TAU, _P, _D, _ALPHA = FTM_SPECS
#: The drum's fundamental as a slider shows it (Hz), over the same range as omega_rad_s.
FUNDAMENTAL_HZ = ParamSpec(name="fundamental_hz", unit="Hz", minimum=_OMEGA.minimum / (2 * math.pi),
                           maximum=_OMEGA.maximum / (2 * math.pi), scale="log",
                           default=_OMEGA.default / (2 * math.pi), doc="Frequency of the fundamental, the (1, 1) mode.")
DRUM = Family(name="ftm_drum", label="Drum (FTM rectangular membrane)", controls=(
    FamilyControl(_OMEGA, "Fundamental", shown=FUNDAMENTAL_HZ, factor=1 / (2 * math.pi)),
    FamilyControl(_TAU, "Decay time tau"),
    FamilyControl(_P, "Damping of the highs p"),
    FamilyControl(_D, "Dispersion D"),
    FamilyControl(_ALPHA, "Aspect ratio alpha"),
    *(FamilyControl(_position(f"{what}_{axis}", DEFAULT_POSITION[i], f"{doc} along the {side} side (relative)."),
                    f"{what.title()} {axis}")
      for what, doc in (("strike", "Strike position"), ("pickup", "Listening position"))
      for i, (axis, side) in enumerate((("x", "first"), ("y", "second")))),
))
#: Every family, by the name presets give it.
FAMILIES: dict[str, Family] = {DRUM.name: DRUM}


def family_of(preset: Preset) -> Family | None:
    """The preset's family (None without one, or with a family this workbench does not know)."""
    return None if preset.model is None else FAMILIES.get(preset.model.family)


def check_params(family: Family, params: Mapping[str, float]) -> dict[str, float]:
    """Validated, complete parameters of ``family`` (missing ones take the defaults).

    Raises:
        WorkbenchError: an unknown name, or a value that is not a number inside its range.
    """
    known = family.specs
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise WorkbenchError(f"{family.name}: unknown parameter(s) {', '.join(unknown)} "
                             f"(known: {', '.join(known)})")
    out = family.defaults
    for name, value in params.items():
        spec = known[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not spec.contains(float(value)):
            unit = f" {spec.unit}" if spec.unit else ""
            raise WorkbenchError(f"{family.name}: {name}: {value!r} is not inside "
                                 f"[{spec.minimum:.6g}, {spec.maximum:.6g}]{unit}")
        out[name] = float(value)
    return out


def _as_params(params) -> dict[str, float]:
    if params is None:
        return {}
    if isinstance(params, Mapping):
        return dict(params)
    values = params.tolist() if isinstance(params, torch.Tensor) else list(params)
    if len(values) != len(THETA_NAMES):
        raise WorkbenchError(f"params: expected a mapping or theta = {THETA_NAMES}, got {len(values)} values")
    return dict(zip(THETA_NAMES, values, strict=True))


def drum_modes(params: Mapping[str, float], *, sample_rate: int, duration_s: float) -> tuple[dict, ...]:
    """The drum's modes as preset mode dicts, levelled to `DRUM_PEAK_DBFS` (``params`` complete and valid)."""
    theta = torch.tensor([params[n] for n in THETA_NAMES], dtype=torch.float64)
    strike = (params["strike_x"], params["strike_y"])
    pickup = (params["pickup_x"], params["pickup_y"])
    f, t60, g, audible = ftm_modes(theta, sample_rate=sample_rate, strike=strike, pickup=pickup)
    keep = (audible & (f <= specs.FREQ_HZ.maximum) & (t60 >= specs.T60_S.minimum)
            & (t60 <= specs.T60_S.maximum) & (g >= g.max() - DRUM_RANGE_DB))
    f, t60, g = f[keep], t60[keep], g[keep]
    n = max(1, round(min(duration_s, 2.0) * sample_rate))       # the peak is within the first seconds
    y = modal_ir(f[None], t60[None], g[None], n_samples=n, sample_rate=sample_rate)
    g = g + (DRUM_PEAK_DBFS - 20 * math.log10(float(y.abs().max())))
    order = torch.argsort(f, stable=True)
    return tuple({"freq_hz": float(f[k]), "t60_s": float(t60[k]), "gain_db": float(g[k])} for k in order.tolist())


def drum_preset(params: Mapping[str, float] | Sequence[float] | torch.Tensor | None = None, *,
                name: str = "FTM drum", sample_rate: int = 44100, duration_s: float = 3.0,
                tags: Sequence[str] = ("drum", "ftm")) -> Preset:
    """A preset of the FTM drum.

    Args:
        params: The family's parameters by name (`DRUM`; missing ones take the defaults),
            or θ = (omega_rad_s, tau_s, p, D, alpha) as 5 numbers (positions at 0.4, 0.4).
        name, sample_rate, duration_s, tags: Of the preset.

    Returns:
        A `Preset` with the drum's modes, one strike (magnitude 1, 0.2 ms contact at
        10 ms), noise at -100 dB, reverb off, and ``model`` holding the parameters.

    Raises:
        WorkbenchError: an unknown parameter or one out of its range.
    """
    full = check_params(DRUM, _as_params(params))
    modes = drum_modes(full, sample_rate=int(sample_rate), duration_s=float(duration_s))
    return Preset(name=name, sample_rate=sample_rate, duration_s=duration_s, tags=tuple(tags),
                  object={"modes": modes},
                  impacts=[{"time_s": DRUM_STRIKE_S, "contact_s": DRUM_CONTACT_S, "magnitude": 1.0}],
                  acceleration=0.0, noise=default_noise(DRUM_NOISE_DB), reverb=default_reverb(enabled=False),
                  model=ModelFamily(family=DRUM.name, params=full),
                  provenance={"source": "workbench.families.drum_preset"})


def with_family_params(preset: Preset, **changes: float) -> Preset:
    """The preset with its family's parameters changed and its object's modes recomputed.

    Everything else (impacts, noise, reverb, tool, residual) is kept; the object's
    fitted damping law, if any, is dropped (the modes are the model's now).

    Raises:
        WorkbenchError: the preset has no family this workbench knows, or a change is
            unknown or out of range.
    """
    family = family_of(preset)
    if family is None:
        what = "no model family" if preset.model is None else f"an unknown model family {preset.model.family!r}"
        raise WorkbenchError(f"{preset.name}: has {what}; with_family_params needs one of {', '.join(FAMILIES)}")
    full = check_params(family, {**preset.model.params, **changes})
    modes = drum_modes(full, sample_rate=preset.sample_rate, duration_s=preset.duration_s)
    return preset.replace(object={"modes": modes}, model=ModelFamily(family=family.name, params=full))
