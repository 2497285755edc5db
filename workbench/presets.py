"""Presets: versioned JSON of physical values, validated on load, written atomically.

The file format (version 1) is a contract other tools rely on; extend it, never
rename its keys::

    {"schema": "impact-workbench/preset", "version": 1, "name": str, "sample_rate": int,
     "duration_s": float, "material": str, "tags": [str],
     "object": {"modes": [{"freq_hz": f, "t60_s": t, "gain_db": g}, ...],
                "damping": {"law": "power" | "rayleigh", "coefficients": {...}, "spread": s,
                            "freq_range_hz": [lo, hi], "n_modes": n}},   # optional
     "tool": null | {"modes": [...]},
     "impacts": [{"time_s": t, "contact_s": tau, "magnitude": m}, ...],
     "acceleration": alpha,
     "noise": {"bands": [{"freq_hz": f, "gain_db": g}, ...]},
     "reverb": {"enabled": bool, "bands": [{"freq_hz": f, "gain_db": g, "t60_s": t}, ...]},
     "residual": null | {"enabled": bool, "bands": [{"freq_hz": f, "gain_db": g, "t60_s": t}, ...]},
     "model": null | {"family": str, "params": {name: number, ...}},
     "fade_out": null | {"start_s": t0, "end_s": t1},
     "provenance": {...}}

``residual`` (added later, optional) is the strike's decaying band noise that the modes
do not explain (`workbench.functional.residual`); a file without it (null or absent)
has no residual and renders as it did before the key existed. ``damping`` (added later,
optional, per body) is the body's fitted damping law (`workbench.damping`); it informs
reports and physical edits, while each mode's ``t60_s`` stays what renders. ``model``
(added later, optional) names the model family the modes were computed from and its
parameters (`workbench.families`, e.g. ``"ftm_drum"``), so an editor can move them; the
modes stay what renders, so every reader and exporter works without knowing the family.
``fade_out`` (added later, optional) is an edit of the recording, not of the object: the
render's gain falls linearly from 1 at ``start_s`` to 0 at ``end_s`` and stays 0 after
(a fit sets it when the file ends in digital silence, so its decays stay the object's).
Exporters of modes ignore it; ``preset.replace(fade_out=None)`` renders the natural ring.

Ranges come from `workbench.specs`; an out-of-range or missing value raises
`WorkbenchError` naming the file, the field and the value. Numbers are strict (ints
are taken for floats; ``"440"`` and ``true`` are not), every impact lies inside
``duration_s``, names, materials and tags hold no control characters, and the sizes
(`workbench.budgets`: file bytes, modes per body, impacts, bands) are checked before
the items are. This module is the schema and its I/O only (pydantic, no torch):
`workbench.controls` turns presets into the synthesiser's tensors and back.

Example:
    >>> p = Preset(name="bell", sample_rate=44100, object={"modes": [{"freq_hz": 440, "t60_s": 2, "gain_db": 0}]},
    ...            impacts=[{"time_s": 0.01, "contact_s": 5e-4, "magnitude": 1}])
    >>> p.object.modes[0].freq_hz, p.replace(name="gong").name
    (440.0, 'gong')
    >>> preset_from_dict({**p.to_dict(), "duration_s": 900})
    Traceback (most recent call last):
    ...
    workbench.errors.WorkbenchError: preset: duration_s: 900.0 is outside [0.01, 600] s (got 900)
"""

from __future__ import annotations

import json
import math
import numbers
import os
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictBool,
                      ValidationError, field_validator, model_validator)

from . import specs
from .atomic import atomic_write_text
from .budgets import BANDS, IMPACTS, MODES_PER_BODY, PRESET_BYTES, Budget
from .errors import WorkbenchError
from .names import unique_slug
from .specs import ParamSpec

SCHEMA = "impact-workbench/preset"
VERSION = 1


def _in_spec(spec: ParamSpec, value: float) -> float:
    try:
        inside = spec.contains(float(value))
    except OverflowError:         # an int too large for a float
        inside = False
    if not inside:
        unit = f" {spec.unit}" if spec.unit else ""
        raise ValueError(f"{_short_repr(value)} is outside [{spec.minimum:g}, {spec.maximum:g}]{unit}")
    return float(value)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _bounded(spec: ParamSpec):
    """A float field validated against ``spec`` (the error names the range and unit).

    Strict: ints are taken, strings (``"440"``) and booleans are refused.
    """
    return Annotated[float, Strict(), AfterValidator(lambda value: _in_spec(spec, value))]


def _whole_number(value: Any) -> Any:
    """Refuse booleans and strings where an int is expected (pydantic's lax mode takes them)."""
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, numbers.Real):
        raise ValueError(f"expected a whole number, got {type(value).__name__}")
    return value


def _plain_text(value: str) -> str:
    """Refuse control characters (NUL, newlines, escapes) in names, materials and tags."""
    bad = next((c for c in value if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise ValueError(f"control character {bad!r} is not allowed")
    return value


def _within(budget: Budget, items: Any) -> Any:
    """Refuse a list longer than ``budget`` before its items are validated."""
    if isinstance(items, (list, tuple)) and not budget.allows(len(items)):
        raise ValueError(f"{len(items)} {budget.unit} is over the budget of {budget.limit} {budget.unit} "
                         f"{budget.per}")
    return items


Text = Annotated[str, AfterValidator(_plain_text)]


FreqHz = _bounded(specs.FREQ_HZ)
T60S = _bounded(specs.T60_S)
GainDb = _bounded(specs.GAIN_DB)


class Mode(_Model):
    """One mode: frequency (Hz), 60 dB decay time (s), onset gain per unit impulse (dB)."""

    freq_hz: FreqHz
    t60_s: T60S
    gain_db: GainDb


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return value


class Damping(_Model):
    """A body's fitted damping law (`workbench.damping.DampingLaw`): how its decay rate
    grows with frequency. Informative (reports, physical edits): the modes' own
    ``t60_s`` are what renders."""

    law: Literal["power", "rayleigh"]
    coefficients: dict[str, Annotated[float, Strict(), AfterValidator(_finite)]]
    spread: Annotated[float, Strict(), Field(ge=0.0, le=50.0)] = 0.0
    freq_range_hz: tuple[FreqHz, FreqHz]
    n_modes: Annotated[int, BeforeValidator(_whole_number), Field(ge=0)] = 0

    @model_validator(mode="after")
    def _coefficients(self):
        need = {"power": {"c", "p"}, "rayleigh": {"a", "b"}}[self.law]
        if set(self.coefficients) != need:
            raise ValueError(f"a {self.law} law has coefficients {sorted(need)}, got {sorted(self.coefficients)}")
        return self


class FadeOut(_Model):
    """The recording's fade-out: gain 1 until ``start_s``, linear to 0 at ``end_s``, then 0."""

    start_s: _bounded(specs.TIME_S)
    end_s: _bounded(specs.TIME_S)

    @model_validator(mode="after")
    def _order(self):
        if self.end_s < self.start_s:
            raise ValueError(f"fade_out: end_s {self.end_s:g} s is before start_s {self.start_s:g} s")
        return self


class ModalBody(_Model):
    """A resonating body (the struck object or the striking tool), with its damping law
    when a fit measured one."""

    modes: Annotated[tuple[Mode, ...], BeforeValidator(lambda v: _within(MODES_PER_BODY, v))]
    damping: Damping | None = None


class Impact(_Model):
    """One contact: onset (s), contact duration tau (s), impulse magnitude."""

    time_s: _bounded(specs.TIME_S)
    contact_s: _bounded(specs.CONTACT_S)
    magnitude: _bounded(specs.MAGNITUDE)


class NoiseBand(_Model):
    freq_hz: FreqHz
    gain_db: _bounded(specs.NOISE_GAIN_DB)


class ReverbBand(_Model):
    freq_hz: FreqHz
    gain_db: _bounded(specs.REVERB_GAIN_DB)
    t60_s: _bounded(specs.REVERB_T60_S)


class ResidualBand(_Model):
    freq_hz: FreqHz
    gain_db: _bounded(specs.RESIDUAL_GAIN_DB)
    t60_s: _bounded(specs.RESIDUAL_T60_S)


def _increasing(bands) -> None:
    freqs = [b.freq_hz for b in bands]
    if any(b <= a for a, b in zip(freqs, freqs[1:])):
        raise ValueError(f"band frequencies must be strictly increasing, got {freqs}")


class Noise(_Model):
    """Stationary background noise: band levels interpolated over log frequency."""

    bands: Annotated[tuple[NoiseBand, ...], BeforeValidator(lambda v: _within(BANDS, v))] = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self):
        _increasing(self.bands)
        return self


class Reverb(_Model):
    """Room reverb: per-band level and T60 of exponentially decaying band noise."""

    enabled: StrictBool = True
    bands: Annotated[tuple[ReverbBand, ...], BeforeValidator(lambda v: _within(BANDS, v))] = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self):
        _increasing(self.bands)
        return self


class Residual(_Model):
    """The strike's residual: per-band onset level and T60 of decaying band noise driven by F."""

    enabled: StrictBool = True
    bands: Annotated[tuple[ResidualBand, ...], BeforeValidator(lambda v: _within(BANDS, v))] = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self):
        _increasing(self.bands)
        return self


def default_noise(gain_db: float = specs.NOISE_GAIN_DB.default) -> Noise:
    return Noise(bands=tuple(NoiseBand(freq_hz=f, gain_db=gain_db) for f in specs.NOISE_BAND_FREQS_HZ))


def default_reverb(enabled: bool = False) -> Reverb:
    return Reverb(enabled=enabled, bands=tuple(
        ReverbBand(freq_hz=f, gain_db=specs.REVERB_GAIN_DB.default, t60_s=specs.REVERB_T60_S.default)
        for f in specs.REVERB_BAND_FREQS_HZ))


def default_residual(enabled: bool = True, gain_db: float = specs.RESIDUAL_GAIN_DB.default,
                     t60_s: float = specs.RESIDUAL_T60_S.default) -> Residual:
    """A residual on `workbench.specs.RESIDUAL_BAND_FREQS_HZ` with every band at ``gain_db``, ``t60_s``."""
    return Residual(enabled=enabled, bands=tuple(
        ResidualBand(freq_hz=f, gain_db=gain_db, t60_s=t60_s) for f in specs.RESIDUAL_BAND_FREQS_HZ))


#: At most this many parameters in a preset's ``model``.
MAX_MODEL_PARAMS = 64


class ModelFamily(_Model):
    """The model family the object's modes come from, and its parameters (physical units).

    Informative, like ``damping``: the modes render. The family's own specs
    (`workbench.families`) check the parameter names and ranges when it is used.
    """

    family: Annotated[Text, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
    params: dict[Annotated[Text, Field(min_length=1, max_length=64)],
                 Annotated[float, Strict(), AfterValidator(_finite)]]

    @field_validator("params", mode="before")
    @classmethod
    def _few(cls, v):
        if isinstance(v, dict) and len(v) > MAX_MODEL_PARAMS:
            raise ValueError(f"{len(v)} parameters is over the limit of {MAX_MODEL_PARAMS}")
        return v


class Preset(_Model):
    """A complete impact sound model (see the module docstring for the file format)."""

    schema_: Literal["impact-workbench/preset"] = Field(SCHEMA, alias="schema")
    version: Literal[1] = VERSION
    name: Text = Field(min_length=1)
    sample_rate: Annotated[int, BeforeValidator(_whole_number)]
    duration_s: Annotated[float, Strict()] = 2.0
    material: Text = ""
    tags: tuple[Text, ...] = ()
    object: ModalBody
    tool: ModalBody | None = None
    impacts: Annotated[tuple[Impact, ...], BeforeValidator(lambda v: _within(IMPACTS, v))] = Field(min_length=1)
    acceleration: _bounded(specs.ACCELERATION) = specs.ACCELERATION.default
    noise: Noise = Field(default_factory=default_noise)
    reverb: Reverb = Field(default_factory=default_reverb)
    residual: Residual | None = None
    model: ModelFamily | None = None
    fade_out: FadeOut | None = None
    provenance: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("sample_rate")
    @classmethod
    def _sr(cls, v):
        return int(_in_spec(specs.SAMPLE_RATE, v))

    @field_validator("duration_s")
    @classmethod
    def _dur(cls, v):
        return _in_spec(specs.DURATION_S, v)

    @model_validator(mode="after")
    def _impacts_inside(self):
        for k, imp in enumerate(self.impacts):
            if imp.time_s >= self.duration_s:
                raise ValueError(f"impacts[{k}].time_s: {imp.time_s:g} s is not inside the sound "
                                 f"(duration_s {self.duration_s:g} s)")
        if self.fade_out is not None and self.fade_out.start_s <= self.impacts[0].time_s:
            raise ValueError(f"fade_out.start_s: {self.fade_out.start_s:g} s is not after the first impact "
                             f"({self.impacts[0].time_s:g} s)")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with the file's key names (no ``residual``, ``model`` or
        ``fade_out`` key without one, so a preset from before the key existed is written
        back as it was)."""
        data = self.model_dump(mode="json", by_alias=True)
        for key in ("residual", "model", "fade_out"):
            if data.get(key) is None:
                data.pop(key, None)
        for body in (data.get("object"), data.get("tool")):
            if body is not None and body.get("damping") is None:
                body.pop("damping", None)
        return data

    def replace(self, **changes) -> "Preset":
        """A validated copy with top-level fields changed."""
        data = self.to_dict()
        data.update({k: (v.model_dump(mode="json", by_alias=True) if isinstance(v, BaseModel) else v)
                     for k, v in changes.items()})
        return preset_from_dict(data)


def _short_repr(value: Any, limit: int = 60) -> str:
    """``repr`` cut to ``limit`` characters (error messages stay one readable line)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):    # an int over the int-string conversion limit; deep nesting
        if isinstance(value, int):
            return f"an integer of {int(value.bit_length() * 0.30103)} digits"
        return f"a {type(value).__name__} too large to show"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _format_error(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    loc = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in first["loc"]).replace(".[", "[")
    msg = first["msg"].removeprefix("Value error, ")
    value = first.get("input")
    shown = "" if isinstance(value, (dict, list, tuple)) else f" (got {_short_repr(value)})"
    more = f" (and {err.error_count() - 1} more problems)" if err.error_count() > 1 else ""
    return f"{source}: {loc + ': ' if loc else ''}{msg}{shown}{more}"


def _check_sizes(data: dict, source: str) -> None:
    """The list budgets (modes per body, impacts, bands), checked before any item is validated."""
    for key, field, budget in (("object", "modes", MODES_PER_BODY), ("tool", "modes", MODES_PER_BODY),
                               ("noise", "bands", BANDS), ("reverb", "bands", BANDS),
                               ("residual", "bands", BANDS)):
        part = data.get(key)
        items = part.get(field) if isinstance(part, dict) else None
        if isinstance(items, (list, tuple)):
            budget.check(len(items), what=f"{source}: {key}.{field}")
    impacts = data.get("impacts")
    if isinstance(impacts, (list, tuple)):
        IMPACTS.check(len(impacts), what=f"{source}: impacts")


def preset_from_dict(data: Any, *, source: str = "preset") -> Preset:
    """Validate a dict as a preset; raises `WorkbenchError` naming the field."""
    if not isinstance(data, dict):
        raise WorkbenchError(f"{source}: a preset must be a JSON object, got {type(data).__name__}")
    if data.get("schema") != SCHEMA:
        raise WorkbenchError(f"{source}: schema: expected {SCHEMA!r}, got {_short_repr(data.get('schema'))}")
    if data.get("version") != VERSION or type(data.get("version")) is not int:
        raise WorkbenchError(f"{source}: version: this workbench reads version {VERSION}, "
                             f"got {_short_repr(data.get('version'))}")
    _check_sizes(data, source)
    try:
        return Preset.model_validate(data)
    except ValidationError as err:
        raise WorkbenchError(_format_error(err, source)) from None


def load_preset(path: str | os.PathLike) -> Preset:
    """Load and validate a preset JSON file.

    Raises:
        WorkbenchError: missing file, a file over `workbench.budgets.PRESET_BYTES`,
            invalid JSON (also nested too deep, or a number too long to read), or a
            field out of range (the message names the file, the field and the bad value).
    """
    path = Path(path)
    try:
        PRESET_BYTES.check(path.stat().st_size, what=str(path))
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkbenchError(f"{path}: no such preset file") from None
    except UnicodeDecodeError:
        raise WorkbenchError(f"{path}: cannot read preset (not UTF-8 text)") from None
    except OSError as err:
        raise WorkbenchError(f"{path}: cannot read preset ({err.strerror or err.__class__.__name__})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise WorkbenchError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    except RecursionError:
        raise WorkbenchError(f"{path}: not a preset (JSON nested too deeply)") from None
    except ValueError as err:        # e.g. an integer longer than Python's int-string limit
        raise WorkbenchError(f"{path}: not a preset ({str(err).split(';')[0]})") from None
    return preset_from_dict(data, source=str(path))


def save_preset(preset: Preset | dict, path: str | os.PathLike) -> Path:
    """Validate and write a preset as JSON, atomically (temp file + rename)."""
    if isinstance(preset, dict):
        preset = preset_from_dict(preset, source=str(path))
    return atomic_write_text(path, json.dumps(preset.to_dict(), indent=2) + "\n")


def _name_in_file(path: Path) -> str | None:
    """The ``name`` of the preset in ``path`` (None when unreadable or not a preset)."""
    try:
        if not PRESET_BYTES.allows(path.stat().st_size):
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data.get("name") if isinstance(data, dict) else None


def preset_path_for(folder: str | os.PathLike, name: str) -> Path:
    """The file a preset called ``name`` is saved to in ``folder``, never another preset's.

    ``<slug>.json`` (`workbench.names.unique_slug`: case, dots and dashes kept), or
    ``<slug>-2.json``, ``-3``... when that file holds a preset of another name (``"Bell, v1"``
    and ``"Bell v1"`` share a slug); a file of the same name is overwritten (an update).

    Raises:
        WorkbenchError: nothing file-safe is left of ``name``.
    """
    folder = Path(folder)
    if not unique_slug(name, (), default=""):
        raise WorkbenchError(f"preset name: {name!r} has no letters or digits to name a file after")
    taken: list[str] = []
    while True:
        stem = unique_slug(name, taken)
        path = folder / f"{stem}.json"
        if not (path.exists() or path.is_symlink()) or _name_in_file(path) == name:
            return path
        taken.append(stem)
