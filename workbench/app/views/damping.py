"""The damping law of the fit, in the Model tab: each body's mode T60 against frequency with
the law the fit stored (`workbench.damping`), its scatter band and its one-line description.

The law describes the fit, so the plot shows the base preset (`AppState.base`: the fit or
the library preset before edits); the Modes plot beside it follows the edits.
"""

from __future__ import annotations

import panel as pn
from bokeh.models import ColumnDataSource, HoverTool

from ..plotdata import damping_curves
from ..text import escape_markdown
from .base import ACCENT, TOOL_COLOUR, View, hz_ticks, legend_below, new_figure

COLOURS = {"object": ACCENT, "tool": TOOL_COLOUR}
_POINTS = ("freq_hz", "t60_s", "gain_db")
_LAW = ("freq_hz", "t60_s", "lo_s", "hi_s")


class DampingView(View):
    """Mode T60 (s, log) vs frequency (Hz, log) of the object and the tool, each body's damping
    law over the frequencies it was fitted on (line; shaded: times / divided by its scatter
    factor), and a caption with each law's ``describe()`` line, or a note where none is stored."""

    TITLE = "Damping law (the fit's modes)"

    def __init__(self, **params):
        super().__init__(**params)
        f = new_figure(self.TITLE, "frequency (Hz)", "T60 (s)", 260, x_axis_type="log", y_axis_type="log")
        f.title.text_font_size = "10pt"
        hz_ticks(f.xaxis)
        self._points, self._laws, hover = {}, {}, []
        for body, colour in COLOURS.items():
            self._points[body] = ColumnDataSource({k: [] for k in _POINTS})
            self._laws[body] = ColumnDataSource({k: [] for k in _LAW})
            f.varea("freq_hz", "lo_s", "hi_s", source=self._laws[body], fill_color=colour, fill_alpha=0.12,
                    legend_label=body)
            f.line("freq_hz", "t60_s", source=self._laws[body], line_color=colour, line_width=2, legend_label=body)
            hover.append(f.scatter("freq_hz", "t60_s", source=self._points[body], size=7, fill_color=colour,
                                   line_color=colour, fill_alpha=0.6, legend_label=body))
        f.add_tools(HoverTool(renderers=hover, tooltips=[("freq", "@freq_hz{0.0} Hz"), ("T60", "@t60_s{0.000} s"),
                                                         ("gain", "@gain_db{0.0} dB")]))
        legend_below(f)
        f.legend.label_text_font_size = "8pt"
        f.legend.padding, f.legend.spacing = 2, 8
        self._fig = f
        self._caption = pn.pane.Markdown("", css_classes=["wb-damping-caption"], margin=(0, 10),
                                         styles={"font-size": "12px"}, sizing_mode="stretch_width")
        self.state.param.watch(self.update_later, ["base"])
        self._update()

    def _update(self):
        rows = {r["body"]: r for r in damping_curves(self.state.base)}
        for body in COLOURS:
            r = rows.get(body)
            self._points[body].data = {k: [] if r is None else list(r[k]) for k in _POINTS}
            self._laws[body].data = {k: [] if r is None else list(r[f"law_{k}"]) for k in _LAW}
        for item in self._fig.legend[0].items:          # no tool: no tool entry
            item.visible = item.label.value in rows
        lines = [f"**{body}:** {escape_markdown(r['text'])}" for body, r in rows.items()]
        self._caption.object = "  \n".join(lines) if lines else "no preset yet"

    def __panel__(self):
        return pn.Column(pn.pane.Bokeh(self._fig, sizing_mode="stretch_width"), self._caption,
                         sizing_mode="stretch_width")
