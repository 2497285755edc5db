"""Presets: versioned JSON of physical values, validated on load, written atomically.

The file format (version 1) is a contract other tools rely on; extend it, never
rename its keys::

    {"schema": "impact-workbench/preset", "version": 1, "name": str, "sample_rate": int,
     "duration_s": float, "material": str, "tags": [str],
     "object": {"modes": [{"freq_hz": f, "t60_s": t, "gain_db": g}, ...]},
     "tool": null | {"modes": [...]},
     "impacts": [{"time_s": t, "contact_s": tau, "magnitude": m}, ...],
     "acceleration": alpha,
     "noise": {"bands": [{"freq_hz": f, "gain_db": g}, ...]},
     "reverb": {"enabled": bool, "bands": [{"freq_hz": f, "gain_db": g, "t60_s": t}, ...]},
     "provenance": {...}}

Ranges come from `workbench.specs`; an out-of-range or missing value raises
`WorkbenchError` naming the file, the field and the value. This module is the schema
and its I/O only (pydantic, no torch): `workbench.controls` turns presets into the
synthesiser's tensors and back.

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
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import specs
from .atomic import atomic_write_text
from .errors import WorkbenchError
from .specs import ParamSpec

SCHEMA = "impact-workbench/preset"
VERSION = 1


def _in_spec(spec: ParamSpec, value: float) -> float:
    if not spec.contains(value):
        unit = f" {spec.unit}" if spec.unit else ""
        raise ValueError(f"{value!r} is outside [{spec.minimum:g}, {spec.maximum:g}]{unit}")
    return float(value)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _bounded(spec: ParamSpec):
    """A float field validated against ``spec`` (the error names the range and unit)."""
    return Annotated[float, AfterValidator(lambda value: _in_spec(spec, value))]


FreqHz = _bounded(specs.FREQ_HZ)
T60S = _bounded(specs.T60_S)
GainDb = _bounded(specs.GAIN_DB)


class Mode(_Model):
    """One mode: frequency (Hz), 60 dB decay time (s), onset gain per unit impulse (dB)."""

    freq_hz: FreqHz
    t60_s: T60S
    gain_db: GainDb


class ModalBody(_Model):
    """A resonating body (the struck object or the striking tool)."""

    modes: tuple[Mode, ...]


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


def _increasing(bands) -> None:
    freqs = [b.freq_hz for b in bands]
    if any(b <= a for a, b in zip(freqs, freqs[1:])):
        raise ValueError(f"band frequencies must be strictly increasing, got {freqs}")


class Noise(_Model):
    """Stationary background noise: band levels interpolated over log frequency."""

    bands: tuple[NoiseBand, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self):
        _increasing(self.bands)
        return self


class Reverb(_Model):
    """Room reverb: per-band level and T60 of exponentially decaying band noise."""

    enabled: bool = True
    bands: tuple[ReverbBand, ...] = Field(min_length=1)

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


class Preset(_Model):
    """A complete impact sound model (see the module docstring for the file format)."""

    schema_: Literal["impact-workbench/preset"] = Field(SCHEMA, alias="schema")
    version: Literal[1] = VERSION
    name: str = Field(min_length=1)
    sample_rate: int
    duration_s: float = 2.0
    material: str = ""
    tags: tuple[str, ...] = ()
    object: ModalBody
    tool: ModalBody | None = None
    impacts: tuple[Impact, ...] = Field(min_length=1)
    acceleration: _bounded(specs.ACCELERATION) = specs.ACCELERATION.default
    noise: Noise = Field(default_factory=default_noise)
    reverb: Reverb = Field(default_factory=default_reverb)
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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with the file's key names."""
        return self.model_dump(mode="json", by_alias=True)

    def replace(self, **changes) -> "Preset":
        """A validated copy with top-level fields changed."""
        data = self.to_dict()
        data.update({k: (v.model_dump(mode="json", by_alias=True) if isinstance(v, BaseModel) else v)
                     for k, v in changes.items()})
        return preset_from_dict(data)


def _format_error(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    loc = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in first["loc"]).replace(".[", "[")
    msg = first["msg"].removeprefix("Value error, ")
    value = first.get("input")
    shown = "" if isinstance(value, (dict, list)) else f" (got {value!r})"
    more = f" (and {err.error_count() - 1} more problems)" if err.error_count() > 1 else ""
    return f"{source}: {loc or 'preset'}: {msg}{shown}{more}"


def preset_from_dict(data: Any, *, source: str = "preset") -> Preset:
    """Validate a dict as a preset; raises `WorkbenchError` naming the field."""
    if not isinstance(data, dict):
        raise WorkbenchError(f"{source}: a preset must be a JSON object, got {type(data).__name__}")
    if data.get("schema") != SCHEMA:
        raise WorkbenchError(f"{source}: schema: expected {SCHEMA!r}, got {data.get('schema')!r}")
    if data.get("version") != VERSION:
        raise WorkbenchError(f"{source}: version: this workbench reads version {VERSION}, "
                             f"got {data.get('version')!r}")
    try:
        return Preset.model_validate(data)
    except ValidationError as err:
        raise WorkbenchError(_format_error(err, source)) from None


def load_preset(path: str | os.PathLike) -> Preset:
    """Load and validate a preset JSON file.

    Raises:
        WorkbenchError: missing file, invalid JSON, or a field out of range (the
            message names the file, the field and the bad value).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkbenchError(f"{path}: no such preset file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise WorkbenchError(f"{path}: cannot read preset ({err.__class__.__name__})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise WorkbenchError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    return preset_from_dict(data, source=str(path))


def save_preset(preset: Preset | dict, path: str | os.PathLike) -> Path:
    """Validate and write a preset as JSON, atomically (temp file + rename)."""
    if isinstance(preset, dict):
        preset = preset_from_dict(preset, source=str(path))
    return atomic_write_text(path, json.dumps(preset.to_dict(), indent=2) + "\n")
