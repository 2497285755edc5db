"""Editing: the physical and resynthesis sliders, linked to `workbench.app.state.EditControls`.

The "Physical" group (size, material and how far to morph, strike velocity, mallet
stiffness, strike position: `workbench.physical`) sits above the generic resynthesis
controls; both feed the one `workbench.edits.apply_edits`. A preset with a model family
(`workbench.families`, e.g. the FTM drum) shows the family's parameters above them
(`AppState.family`: moving one recomputes the preset's modes); other presets show none.

Every widget is made with ``from_param`` on its control, so the link runs both ways
(a notebook's ``edit()``, undo and reset move the sliders; a released slider sets the
control). Sliders set their control on release (``throttled``), so a drag renders
once. Controls whose spec has ``scale == "log"`` (size, velocity, stiffness, decay,
contact time, impact interval, reverb decay) get a `LogSlider`: log-spaced stops between the spec's bounds,
so ``x0.5`` and ``x2`` sit symmetric about ``x1``; a value set between two stops
(from a notebook) is kept, and the handle shows the nearest stop.
"""

from __future__ import annotations

import math

import numpy as np
import panel as pn
import param

from ...edits import EDIT_SPECS
from ...specs import ParamSpec
from .base import View

#: Step of the linear sliders (default: 1/100 of the range).
STEPS = {"pitch_semitones": 0.1, "brightness_db_per_octave": 0.5, "strength_db": 0.5, "noise_db": 1.0,
         "reverb_db": 1.0, "residual_db": 1.0, "material_amount": 0.05, "strike_position": 0.01}


def log_stops(spec: ParamSpec, n: int = 41) -> dict[str, float]:
    """{label: value}: ``n`` log-spaced values over the spec's range (3 digits), and its default.

    Example:
        >>> from workbench.edits import EDIT_SPECS
        >>> stops = log_stops(EDIT_SPECS["decay_scale"], n=5)
        >>> stops
        {'x0.1': 0.1, 'x0.316': 0.316, 'x1': 1.0, 'x3.16': 3.16, 'x10': 10.0}
    """
    vals = sorted({float(f"{v:.3g}") for v in np.geomspace(spec.minimum, spec.maximum, n)} | {spec.default})
    return {(f"x{v:g}" if spec.unit == "x" else f"{v:g} {spec.unit}"): v for v in vals}


class LogSlider(pn.widgets.DiscreteSlider):
    """A `DiscreteSlider` over positive stops; a value between stops shows at the nearest stop.

    (Panel's own would jump to the first stop.) The linked parameter keeps its value.
    """

    def _update_value(self, event):
        v = getattr(self, event.name)
        if v not in self.values and isinstance(v, (int, float)) and v > 0:
            with param.edit_constant(self):
                setattr(self, event.name, min(self.values, key=lambda o: abs(math.log(o / v))))
            return      # the setattr comes back here with a stop
        super()._update_value(event)


class EditPanel(View):
    """Global resynthesis sliders (bounds from `EDIT_SPECS`), undo and reset."""

    def __init__(self, **params):
        super().__init__(**params)
        c = self.state.controls
        self._widgets: dict[str, pn.widgets.Widget] = {}
        for name, spec in EDIT_SPECS.items():
            css = dict(sizing_mode="stretch_width", css_classes=[f"wb-edit-{name}"], throttled=True)
            if name == "impact_count":
                w = pn.widgets.IntSlider.from_param(c.param[name], **css)
            elif spec.scale == "log":
                w = LogSlider.from_param(c.param[name], options=log_stops(spec), **css)
            else:
                w = pn.widgets.FloatSlider.from_param(
                    c.param[name], step=STEPS.get(name, (spec.maximum - spec.minimum) / 100), **css)
            self._widgets[name] = w
        self._pattern = pn.widgets.Select.from_param(c.param.impact_pattern, sizing_mode="stretch_width")
        self._material = pn.widgets.Select.from_param(c.param.material, sizing_mode="stretch_width",
                                                      css_classes=["wb-edit-material"])
        self._reverb_on = pn.widgets.Checkbox.from_param(c.param.reverb_on)
        self._tool_on = pn.widgets.Checkbox.from_param(c.param.tool_on)
        self._residual_on = pn.widgets.Checkbox.from_param(c.param.residual_on)
        self._fade_on = pn.widgets.Checkbox.from_param(c.param.fade_on, css_classes=["wb-fade-on"])
        self._undo = pn.widgets.Button(name="Undo", disabled=True, sizing_mode="stretch_width")
        self._undo.on_click(lambda e: self.state.undo())
        self._reset = pn.widgets.Button(name="Reset edits", sizing_mode="stretch_width")
        self._reset.on_click(lambda e: self.state.reset_edits())
        self._timing = pn.pane.Markdown("", margin=(0, 10), css_classes=["wb-render-time"])
        self._family = pn.Column(sizing_mode="stretch_width", css_classes=["wb-family"])
        self._family_widgets: dict[str, pn.widgets.Widget] = {}
        self.state.param.watch(self._show_family, ["family"])
        self._show_family()
        self.state.param.watch(self._on_state, ["can_undo", "render_ms", "base"])
        c.param.watch(self._on_state, ["material"])
        self._on_state()
        W = self._widgets
        self._layout = pn.Column(
            self._family,
            pn.pane.Markdown("#### Physical", margin=(0, 10)),
            W["size"], self._material, W["material_amount"], W["velocity"], W["stiffness"], W["strike_position"],
            pn.pane.Markdown("#### Resynthesis", margin=(0, 10)),
            W["pitch_semitones"], W["decay_scale"], W["brightness_db_per_octave"],
            W["contact_scale"], W["strength_db"], self._pattern, W["impact_count"], W["impact_interval_s"],
            W["noise_db"], W["reverb_db"], W["reverb_decay_scale"], W["residual_db"], self._residual_on,
            pn.Row(self._reverb_on, self._tool_on), self._fade_on,
            pn.Row(self._undo, self._reset, sizing_mode="stretch_width"), self._timing,
            sizing_mode="stretch_width")

    def _show_family(self, *events):
        """One slider per parameter of the base preset's model family (none without one)."""
        fc = self.state.family
        self._family_widgets = {}
        if fc is not None:
            for c in fc.FAMILY.controls:
                spec, name = c.display, c.display.name
                css = {"sizing_mode": "stretch_width", "css_classes": [f"wb-family-{name}"], "throttled": True}
                if spec.scale == "log":
                    stops = {k: v for k, v in log_stops(spec).items() if spec.minimum <= v <= spec.maximum}
                    w = LogSlider.from_param(fc.param[name], options=stops, **css)
                else:
                    w = pn.widgets.FloatSlider.from_param(fc.param[name], step=(spec.maximum - spec.minimum) / 100,
                                                          **css)
                self._family_widgets[name] = w
        self._family.objects = ([] if fc is None else
                                [pn.pane.Markdown(f"#### {fc.FAMILY.label}", margin=(0, 10)),
                                 *self._family_widgets.values()])

    def _on_state(self, *events):
        s = self.state
        self._undo.disabled = not s.can_undo
        self._tool_on.disabled = s.base is None or s.base.tool is None
        self._residual_on.disabled = s.base is None or s.base.residual is None
        self._fade_on.disabled = s.base is None or s.base.fade_out is None
        self._widgets["material_amount"].disabled = not s.controls.material
        self._timing.object = ("Fit a recording or load a preset to edit it." if s.base is None else
                               f"sound updated in {s.render_ms:.0f} ms" if s.render_ms else
                               "Move a slider: the Edited player follows.")

    def __panel__(self):
        return self._layout
