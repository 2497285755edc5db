"""Relative edits of a preset: the slider resynthesis as data and one pure function.

`Edits` holds every control (pitch, decay, brightness, contact time, strength, impact
pattern, noise, reverb, residual, tool and the recording's fade-out on/off, per-mode edits, and the physical edits of
`workbench.physical`: size, material, strike velocity, mallet stiffness, strike position);
`EDIT_SPECS` declares their ranges once (the dashboard's sliders read them); `apply_edits`
is the pure map ``(Preset, Edits) -> Preset`` used by the dashboard, the notebook and the
Habitat variation bank alike. Every edited value is clipped into its `workbench.specs`
range, so the result is a valid preset without a second validation pass.

Example:
    >>> from workbench.presets import Preset
    >>> p = Preset(name="bell", sample_rate=44100, object={"modes": [{"freq_hz": 440, "t60_s": 2, "gain_db": 0}]},
    ...            impacts=[{"time_s": 0.01, "contact_s": 5e-4, "magnitude": 1}])
    >>> q = apply_edits(p, Edits(pitch_semitones=12, decay_scale=0.5))
    >>> round(q.object.modes[0].freq_hz, 6), q.object.modes[0].t60_s, q.provenance["edits"]
    (880.0, 1.0, {'pitch_semitones': 12, 'decay_scale': 0.5})
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from . import physical, specs
from .errors import WorkbenchError
from .presets import Impact, ModalBody, Mode, NoiseBand, Preset, ResidualBand, ReverbBand
from .specs import ParamSpec

#: Ranges of the global resynthesis controls (relative edits of a fitted preset).
EDIT_SPECS: dict[str, ParamSpec] = {s.name: s for s in (
    ParamSpec(name="pitch_semitones", unit="semitones", minimum=-24.0, maximum=24.0, scale="linear", default=0.0,
              doc="Shift every mode frequency (object and tool) by this interval."),
    ParamSpec(name="decay_scale", unit="x", minimum=0.1, maximum=10.0, scale="log", default=1.0,
              doc="Multiply every mode's decay time T60 (longer rings, shorter damps)."),
    ParamSpec(name="brightness_db_per_octave", unit="dB/octave", minimum=-12.0, maximum=12.0, scale="linear",
              default=0.0, doc="Tilt the mode gains: dB added per octave above 1 kHz (removed below)."),
    ParamSpec(name="contact_scale", unit="x", minimum=0.1, maximum=10.0, scale="log", default=1.0,
              doc="Multiply every contact duration (longer = softer, duller strikes)."),
    ParamSpec(name="strength_db", unit="dB", minimum=-40.0, maximum=20.0, scale="linear", default=0.0,
              doc="Change every impact's impulse by this many dB."),
    ParamSpec(name="impact_count", unit="", minimum=1.0, maximum=16.0, scale="linear", default=3.0,
              doc="Number of impacts of the regular and bounce patterns."),
    ParamSpec(name="impact_interval_s", unit="s", minimum=0.02, maximum=2.0, scale="log", default=0.25,
              doc="Time between impacts (the first gap, for a bounce)."),
    ParamSpec(name="noise_db", unit="dB", minimum=-60.0, maximum=40.0, scale="linear", default=0.0,
              doc="Change the background noise level by this many dB."),
    ParamSpec(name="reverb_db", unit="dB", minimum=-40.0, maximum=20.0, scale="linear", default=0.0,
              doc="Change the reverb level by this many dB."),
    ParamSpec(name="reverb_decay_scale", unit="x", minimum=0.1, maximum=10.0, scale="log", default=1.0,
              doc="Multiply the reverberation time of every band."),
    ParamSpec(name="residual_db", unit="dB", minimum=-40.0, maximum=20.0, scale="linear", default=0.0,
              doc="Change the strike's residual (decaying band noise) level by this many dB."),
    # The physical edits (`workbench.physical`), applied before the ones above.
    ParamSpec(name="size", unit="x", minimum=0.25, maximum=4.0, scale="log", default=1.0,
              doc="Make the object this many times larger: frequencies / size, decays along its damping law, "
                  "-12 dB per doubling."),
    ParamSpec(name="material_amount", unit="", minimum=0.0, maximum=1.0, scale="linear", default=1.0,
              doc="How far the object morphs towards the chosen material (0: as fitted, 1: fully)."),
    ParamSpec(name="velocity", unit="x", minimum=0.1, maximum=10.0, scale="log", default=1.0,
              doc="Strike velocity relative to the fitted strike (Hertz: contact time x v^-1/5, impulse x v)."),
    ParamSpec(name="stiffness", unit="x", minimum=0.1, maximum=10.0, scale="log", default=1.0,
              doc="Contact stiffness E* relative to the fitted mallet (contact time x s^-2/5)."),
    ParamSpec(name="strike_position", unit="", minimum=0.0, maximum=1.0, scale="linear",
              default=physical.REFERENCE_POSITION,
              doc="Where the strike lands along the object (0: an end, as fitted; 0.5: the middle; 1-D beam modes)."),
)}

#: Timing patterns: as fitted, one impact (the first), regular repeats, a bounce.
IMPACT_PATTERNS = ("fitted", "single", "regular", "bounce")
#: Bounce pattern: each gap and each impulse shrinks by these factors.
BOUNCE_GAP_RATIO = 0.7
BOUNCE_MAGNITUDE_RATIO = 0.6
#: Reference frequency of the brightness tilt.
BRIGHTNESS_REF_HZ = 1000.0


@dataclasses.dataclass(frozen=True)
class ModeEdit:
    """Per-mode edit from the mode table: new values (None keeps the fitted one), mute."""

    body: str                      # "object" | "tool"
    index: int
    freq_hz: float | None = None
    t60_s: float | None = None
    gain_db: float | None = None
    enabled: bool = True


@dataclasses.dataclass(frozen=True)
class Edits:
    """All resynthesis edits of a preset. The defaults change nothing."""

    pitch_semitones: float = 0.0
    decay_scale: float = 1.0
    brightness_db_per_octave: float = 0.0
    contact_scale: float = 1.0
    strength_db: float = 0.0
    impact_pattern: str = "fitted"
    impact_count: int = 3
    impact_interval_s: float = 0.25
    noise_db: float = 0.0
    reverb_db: float = 0.0
    reverb_decay_scale: float = 1.0
    reverb_on: bool = True         # False turns the preset's reverb off
    residual_db: float = 0.0
    residual_on: bool = True       # False turns the preset's residual off
    tool_on: bool = True           # False drops the tool's modes
    fade_on: bool = True           # False renders past the recording's fade-out (the natural ring)
    modes: tuple[ModeEdit, ...] = ()
    size: float = 1.0              # the physical edits (`workbench.physical`)
    material: str = ""             # "": as fitted
    material_amount: float = 1.0
    velocity: float = 1.0
    stiffness: float = 1.0
    strike_position: float = physical.REFERENCE_POSITION

    def is_identity(self) -> bool:
        return self == Edits()

    def changed(self) -> dict[str, Any]:
        """The fields that differ from the defaults (for provenance)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v != f.default:
                out[f.name] = [dataclasses.asdict(m) for m in v] if f.name == "modes" else v
        return out


#: The names of every `Edits` field, in declaration order.
EDIT_FIELDS = tuple(f.name for f in dataclasses.fields(Edits))


def _clip(spec: ParamSpec, v: float) -> float:
    return float(min(max(v, spec.minimum), spec.maximum))


def _body(body: ModalBody | None, name: str, edits: Edits) -> ModalBody | None:
    if body is None:
        return None
    per_mode = {m.index: m for m in edits.modes if m.body == name}
    ratio = 2.0 ** (edits.pitch_semitones / 12.0)
    modes = []
    for i, m in enumerate(body.modes):
        freq, t60, gain = m.freq_hz, m.t60_s, m.gain_db
        e = per_mode.get(i)
        if e is not None:
            if not e.enabled:
                continue
            freq = freq if e.freq_hz is None else e.freq_hz
            t60 = t60 if e.t60_s is None else e.t60_s
            gain = gain if e.gain_db is None else e.gain_db
        f = _clip(specs.FREQ_HZ, freq * ratio)
        tilt = edits.brightness_db_per_octave * math.log2(f / BRIGHTNESS_REF_HZ)
        modes.append(Mode.model_construct(freq_hz=f, t60_s=_clip(specs.T60_S, t60 * edits.decay_scale),
                                          gain_db=_clip(specs.GAIN_DB, gain + tilt)))
    return ModalBody.model_construct(modes=tuple(modes))


def _impacts(preset: Preset, edits: Edits) -> tuple[Impact, ...]:
    first = preset.impacts[0]
    rows = [(i.time_s, i.contact_s, i.magnitude) for i in preset.impacts]
    if edits.impact_pattern == "single":
        rows = rows[:1]
    elif edits.impact_pattern in ("regular", "bounce"):
        rows, t, gap, mag = [], first.time_s, edits.impact_interval_s, first.magnitude
        for _ in range(max(1, int(round(edits.impact_count)))):
            if rows and t >= preset.duration_s:
                break
            rows.append((t, first.contact_s, mag))
            t += gap
            if edits.impact_pattern == "bounce":
                gap *= BOUNCE_GAP_RATIO
                mag *= BOUNCE_MAGNITUDE_RATIO
    gain = 10.0 ** (edits.strength_db / 20.0)
    return tuple(Impact.model_construct(time_s=_clip(specs.TIME_S, t),
                                        contact_s=_clip(specs.CONTACT_S, tau * edits.contact_scale),
                                        magnitude=_clip(specs.MAGNITUDE, m * gain)) for t, tau, m in rows)


def _physical(preset: Preset, edits: Edits) -> Preset:
    """The physical edits, in order: size, material, strike (`workbench.physical`)."""
    if edits.size != 1.0:
        preset = physical.scaled(preset, edits.size)
    if edits.material:
        preset = physical.with_material(preset, edits.material, edits.material_amount)
    return physical.struck(preset, velocity=edits.velocity, stiffness=edits.stiffness,
                           position=edits.strike_position)


def apply_edits(preset: Preset, edits: Edits) -> Preset:
    """The preset with ``edits`` applied (pure; returns ``preset`` itself for no edits).

    Order: the physical edits (size, material, strike: `workbench.physical`); per-mode
    edits and mutes, then pitch, decay and brightness on every mode; the impact pattern,
    then contact time and strength; noise, reverb and residual offsets; reverb, residual
    and tool on/off. Every value is clipped into its `workbench.specs` range. An edit that
    moves the object's modes drops the preset's ``model`` family (its parameters would no
    longer give these modes) into ``provenance["model_before_edits"]``.

    Raises:
        WorkbenchError: an unknown impact pattern or material (or a preset whose material
            the material table does not know), a per-mode value that is not finite, or a
            physical edit out of its domain (a size that is not positive, ...).
    """
    if edits.is_identity():
        return preset
    original, preset = preset, _physical(preset, edits)
    if edits.impact_pattern not in IMPACT_PATTERNS:
        raise WorkbenchError(f"impact_pattern: {edits.impact_pattern!r} is not one of {', '.join(IMPACT_PATTERNS)}")
    for m in edits.modes:
        for key in ("freq_hz", "t60_s", "gain_db"):
            value = getattr(m, key)
            if value is not None and not math.isfinite(value):
                raise WorkbenchError(f"mode {m.index} of the {m.body}: {key} {value!r} is not a finite number")
    noise = preset.noise.model_copy(update={"bands": tuple(
        NoiseBand.model_construct(freq_hz=b.freq_hz, gain_db=_clip(specs.NOISE_GAIN_DB, b.gain_db + edits.noise_db))
        for b in preset.noise.bands)})
    reverb = preset.reverb.model_copy(update={
        "enabled": bool(preset.reverb.enabled and edits.reverb_on),
        "bands": tuple(ReverbBand.model_construct(
            freq_hz=b.freq_hz, gain_db=_clip(specs.REVERB_GAIN_DB, b.gain_db + edits.reverb_db),
            t60_s=_clip(specs.REVERB_T60_S, b.t60_s * edits.reverb_decay_scale)) for b in preset.reverb.bands)})
    residual = preset.residual
    if residual is not None:
        residual = residual.model_copy(update={
            "enabled": bool(residual.enabled and edits.residual_on),
            "bands": tuple(ResidualBand.model_construct(
                freq_hz=b.freq_hz, gain_db=_clip(specs.RESIDUAL_GAIN_DB, b.gain_db + edits.residual_db),
                t60_s=b.t60_s) for b in residual.bands)})
    provenance = {**original.provenance, "edits": edits.changed(), "edited_from": original.name}
    body = _body(preset.object, "object", edits)
    model = original.model
    if model is not None and body != original.object:
        # the modes no longer follow from the family's parameters: keep those as history only
        model, provenance["model_before_edits"] = None, model.model_dump(mode="json")
    impacts = _impacts(preset, edits)
    fade = preset.fade_out if edits.fade_on and preset.fade_out is not None \
        and preset.fade_out.start_s > impacts[0].time_s else None
    return preset.model_copy(update={
        "object": body, "model": model, "fade_out": fade,
        "tool": _body(preset.tool, "tool", edits) if edits.tool_on else None,
        "impacts": impacts, "noise": noise, "reverb": reverb, "residual": residual,
        "provenance": provenance})
