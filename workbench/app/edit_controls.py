"""The resynthesis controls as ``param`` parameters, declared from `workbench.edits.EDIT_SPECS`.

`EditControls` is what the sliders link to (`workbench.app.views.edit`); its `edits`
is the `workbench.edits.Edits` that `AppState` applies. `family_controls` makes the
sliders' model of a preset's model family (`workbench.families`), in the units the
sliders show; `AppState` recomputes the preset from it. `number_param` and
`integer_param` make a parameter from any `workbench.specs.ParamSpec` (the fit
settings of `AppState` too), so defaults and bounds have one home.

Example:
    >>> c = EditControls(pitch_semitones=3.0)
    >>> c.edits.pitch_semitones, c.param.decay_scale.bounds
    (3.0, (0.1, 10.0))
    >>> c.set_mode("object", 2, enabled=False)
    >>> c.edits.modes
    (ModeEdit(body='object', index=2, freq_hz=None, t60_s=None, gain_db=None, enabled=False),)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import param

from ..edits import EDIT_FIELDS, EDIT_SPECS, IMPACT_PATTERNS, Edits, ModeEdit
from ..errors import WorkbenchError
from ..families import Family
from ..materials import material_names
from ..presets import Preset
from ..specs import FREQ_HZ, GAIN_DB, T60_S, ParamSpec
from .plotdata import mode_rows

#: Per-mode values the mode table edits (absolute), with their ranges.
MODE_SPECS = {"freq_hz": FREQ_HZ, "t60_s": T60_S, "gain_db": GAIN_DB}
#: The material selector's choices: {label: value}, "as fitted" first.
MATERIAL_CHOICES = {"as fitted": "", **{m: m for m in material_names()}}


def number_param(spec: ParamSpec, **kw) -> param.Number:
    """A ``param.Number`` with the spec's default, bounds and doc (unit appended)."""
    unit = f" ({spec.unit})" if spec.unit else ""
    return param.Number(default=spec.default, bounds=(spec.minimum, spec.maximum), doc=spec.doc + unit, **kw)


def integer_param(spec: ParamSpec, **kw) -> param.Integer:
    """A ``param.Integer`` with the spec's default, bounds and doc."""
    return param.Integer(default=int(spec.default), bounds=(int(spec.minimum), int(spec.maximum)), doc=spec.doc,
                         **kw)


class EditControls(param.Parameterized):
    """The resynthesis controls as parameters (bounds from `EDIT_SPECS`)."""

    pitch_semitones = number_param(EDIT_SPECS["pitch_semitones"], label="Pitch (semitones)")
    decay_scale = number_param(EDIT_SPECS["decay_scale"], label="Decay (x T60)")
    brightness_db_per_octave = number_param(EDIT_SPECS["brightness_db_per_octave"], label="Brightness (dB/octave)")
    contact_scale = number_param(EDIT_SPECS["contact_scale"], label="Contact time (x)")
    strength_db = number_param(EDIT_SPECS["strength_db"], label="Impact strength (dB)")
    impact_pattern = param.Selector(default="fitted", objects=list(IMPACT_PATTERNS), label="Impacts",
                                    doc="Timing pattern: as fitted, one impact, regular repeats or a bounce.")
    impact_count = integer_param(EDIT_SPECS["impact_count"], label="Number of impacts")
    impact_interval_s = number_param(EDIT_SPECS["impact_interval_s"], label="Impact interval (s)")
    noise_db = number_param(EDIT_SPECS["noise_db"], label="Noise level (dB)")
    reverb_db = number_param(EDIT_SPECS["reverb_db"], label="Reverb amount (dB)")
    reverb_decay_scale = number_param(EDIT_SPECS["reverb_decay_scale"], label="Reverb decay (x)")
    reverb_on = param.Boolean(default=True, label="Reverb on", doc="Off removes the room reverb.")
    residual_db = number_param(EDIT_SPECS["residual_db"], label="Residual level (dB)")
    residual_on = param.Boolean(default=True, label="Residual on",
                                doc="Off removes the strike's residual (decaying band noise).")
    tool_on = param.Boolean(default=True, label="Tool on", doc="Off removes the striking tool's modes.")
    fade_on = param.Boolean(default=True, label="Recording's fade-out",
                            doc="Off renders the natural ring past the fade-out the recording was edited with.")
    modes = param.Parameter(default=(), doc="Per-mode edits (a tuple of ModeEdit) from the mode table.")
    size = number_param(EDIT_SPECS["size"], label="Size (x)")
    material = param.Selector(default="", objects=MATERIAL_CHOICES, label="Material",
                              doc="Morph the object towards this material's wave speed, damping law and density.")
    material_amount = number_param(EDIT_SPECS["material_amount"], label="Material amount")
    velocity = number_param(EDIT_SPECS["velocity"], label="Strike velocity (x)")
    stiffness = number_param(EDIT_SPECS["stiffness"], label="Mallet stiffness (x)")
    strike_position = number_param(EDIT_SPECS["strike_position"], label="Strike position (0 = end)")

    FIELDS = EDIT_FIELDS

    @property
    def edits(self) -> Edits:
        return Edits(**{f: getattr(self, f) for f in self.FIELDS})

    def set_edits(self, edits: Edits) -> None:
        """Set every control at once (one batch of events)."""
        self.param.update(**{f: getattr(edits, f) for f in self.FIELDS})

    def set_mode(self, body: str, index: int, **values) -> None:
        """Edit mode ``index`` of ``body`` (object, tool): freq_hz, t60_s, gain_db or enabled.

        Raises:
            TypeError: an unknown field.
            WorkbenchError: a value outside its spec (nothing changed).
        """
        bad = set(values) - {*MODE_SPECS, "enabled"}
        if bad:
            raise TypeError(f"mode edit: unknown field(s) {', '.join(sorted(bad))}")
        for key, spec in MODE_SPECS.items():
            if values.get(key) is not None and not spec.contains(float(values[key])):
                raise WorkbenchError(f"mode {index}: {key} {values[key]} is outside "
                                     f"[{spec.minimum:g}, {spec.maximum:g}] {spec.unit}")
        modes = {(m.body, m.index): m for m in self.modes}
        old = modes.get((body, index), ModeEdit(body=body, index=index))
        modes[(body, index)] = dataclasses.replace(old, **values)
        self.modes = tuple(sorted(modes.values(), key=lambda m: (m.body, m.index)))

    def mode_table(self, base: Preset) -> list[dict[str, Any]]:
        """One row per mode of ``base`` with the per-mode edits applied, plus 'on'."""
        edits = {(m.body, m.index): m for m in self.modes}
        rows = []
        for row in mode_rows(base):
            e = edits.get((row["body"], row["index"]))
            if e is not None:
                row.update({k: getattr(e, k) for k in MODE_SPECS if getattr(e, k) is not None})
            row["on"] = True if e is None else e.enabled
            rows.append(row)
        return rows


class FamilyControls(param.Parameterized):
    """A model family's parameters as sliders show them (one subclass per family, `family_controls`)."""

    FAMILY: Family | None = None

    def params(self) -> dict[str, float]:
        """The stored (physical) parameters, e.g. ``omega_rad_s`` from the shown ``fundamental_hz``."""
        return {c.name: c.from_shown(getattr(self, c.display.name)) for c in self.FAMILY.controls}


_FAMILY_CLASSES: dict[str, type[FamilyControls]] = {}


def family_controls(family: Family, params: Mapping[str, float]) -> FamilyControls:
    """The sliders' model of ``family``, set from its stored ``params`` (bounds from its specs).

    Example:
        >>> from workbench.families import DRUM
        >>> c = family_controls(DRUM, {**DRUM.defaults, "omega_rad_s": 2 * 3.141592653589793 * 220})
        >>> round(c.fundamental_hz, 6), round(c.params()["omega_rad_s"], 3)
        (220.0, 1382.301)
    """
    cls = _FAMILY_CLASSES.get(family.name)
    if cls is None:
        numbers = {c.display.name: number_param(c.display, label=c.label + (f" ({c.display.unit})" if c.display.unit
                                                                            else ""))
                   for c in family.controls}
        cls = param.parameterized_class(f"{family.name.title().replace('_', '')}Controls", numbers, FamilyControls)
        cls.FAMILY = family
        _FAMILY_CLASSES[family.name] = cls
    return cls(**{c.display.name: float(c.display.clip(c.to_shown(params[c.name]))) for c in family.controls})
