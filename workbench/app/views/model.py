"""The Model and Noise & reverb tabs: contact force per strike, modes (plot and editable table), the
damping law (`DampingView`), bands (background noise, room reverb, the strike's residual)."""

from __future__ import annotations

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, HoverTool, LinearAxis, Range1d

from ...specs import FREQ_HZ, GAIN_DB, T60_S
from ..plotdata import mode_rows
from .base import ACCENT, TOOL_COLOUR, View, hz_ticks, legend_below, new_figure
from .damping import DampingView
from .force import ForceView


def _mode_data(rows):
    gains = np.array([r["gain_db"] for r in rows], float)
    top = gains.max() if gains.size else 0.0
    size = np.clip(6 + (gains - (top - 60)) / 60 * 18, 4, 24) if gains.size else gains
    return {"freq_hz": [r["freq_hz"] for r in rows], "t60_s": [r["t60_s"] for r in rows],
            "gain_db": list(gains), "size": list(size), "body": [r["body"] for r in rows],
            "index": [r["index"] for r in rows],
            "colour": [ACCENT if r["body"] == "object" else TOOL_COLOUR for r in rows]}


class ModelView(View):
    """Force around each strike and its spectrum (`ForceView`), modes (frequency vs T60, size = gain),
    editable mode table, the fit's damping law (`DampingView`)."""

    COLUMNS = ["body", "mode", "freq_hz", "t60_s", "gain_db", "on"]

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        self.force = ForceView(state=s, height=200)
        self.damping = DampingView(state=s)

        empty = _mode_data([])
        self._base_modes, self._edit_modes = ColumnDataSource(dict(empty)), ColumnDataSource(dict(empty))
        m = new_figure("Modes (grey rings: the fit)",
                 "frequency (Hz)", "T60 (s)", 300, x_axis_type="log", y_axis_type="log")
        m.title.text_font_size = "10pt"
        hz_ticks(m.xaxis)
        m.scatter("freq_hz", "t60_s", size="size", source=self._base_modes, fill_alpha=0, line_color="#999999")
        r = m.scatter("freq_hz", "t60_s", size="size", source=self._edit_modes, fill_color="colour",
                      line_color="colour", fill_alpha=0.6, legend_field="body")
        legend_below(m)
        m.legend.label_text_font_size = "8pt"
        m.legend.padding, m.legend.spacing = 2, 8
        m.add_tools(HoverTool(renderers=[r], tooltips=[("mode", "@body @index"), ("freq", "@freq_hz{0.0} Hz"),
                                                       ("T60", "@t60_s{0.000} s"), ("gain", "@gain_db{0.0} dB")]))
        self._modes_fig = m

        import pandas as pd
        from bokeh.models.widgets.tables import NumberFormatter
        self._pd = pd
        fmt = {"freq_hz": {"type": "number", "min": FREQ_HZ.minimum, "max": FREQ_HZ.maximum, "step": 1},
               "t60_s": {"type": "number", "min": T60_S.minimum, "max": T60_S.maximum, "step": 0.01},
               "gain_db": {"type": "number", "min": GAIN_DB.minimum, "max": GAIN_DB.maximum, "step": 0.5}}
        self._table = pn.widgets.Tabulator(
            pd.DataFrame(columns=self.COLUMNS), show_index=False,
            editors={"body": None, "mode": None, **fmt, "on": None},    # "on": a click toggles it
            titles={"freq_hz": "freq Hz", "t60_s": "T60 s", "gain_db": "gain dB", "mode": "#"},
            formatters={"on": {"type": "tickCross"}, "freq_hz": NumberFormatter(format="0.0"),
                        "t60_s": NumberFormatter(format="0.000"), "gain_db": NumberFormatter(format="0.0")},
            widths={"body": 74, "mode": 48, "freq_hz": 94, "t60_s": 76, "gain_db": 92, "on": 56},  # + scrollbar
            height=300, width=470, layout="fit_data_table", pagination=None,
            stylesheets=[":host .tabulator {font-size: 13px;}"], css_classes=["wb-modes-table"])
        self._table.on_edit(self._on_table_edit)
        self._table.on_click(self._on_table_click)
        self._table_key = None
        s.param.watch(self.update_later, ["preset", "base"])
        self._update()

    def _on_table_edit(self, event):
        row = self._table.value.iloc[event.row]
        col = event.column
        if col not in ("freq_hz", "t60_s", "gain_db", "on"):
            return
        value = bool(event.value) if col == "on" else float(event.value)
        before = self._modes_key()
        self.state.set_mode(str(row["body"]), int(row["mode"]), **{("enabled" if col == "on" else col): value})
        if self._modes_key() == before:     # rejected (out of range): show the value in force again
            self._table_key = None
            self.update_later()
        else:                               # the table already shows it; re-rendering would close an open editor
            self._table_key = self._modes_key()

    def _on_table_click(self, event):
        """A click on an "on" tick mutes / unmutes that mode (Tabulator's own editor only selected the row)."""
        if event.column != "on" or event.row is None or not 0 <= event.row < len(self._table.value):
            return
        row = self._table.value.iloc[event.row]
        self.state.set_mode(str(row["body"]), int(row["mode"]), enabled=not bool(row["on"]))
        self._table_key = None
        self.update_later()

    def _modes_key(self):
        return id(self.state.base), tuple(self.state.controls.modes)

    def _update(self):
        s = self.state
        p = s.preset
        if p is None:
            self._base_modes.data = _mode_data([])
            self._edit_modes.data = _mode_data([])
        else:
            self._base_modes.data = _mode_data(mode_rows(s.base))
            self._edit_modes.data = _mode_data(mode_rows(p))
        key = self._modes_key()
        if key != self._table_key:
            self._table_key = key
            self._table.value = self._pd.DataFrame([{**r, "mode": r["index"]} for r in s.mode_table()],
                                                   columns=self.COLUMNS)

    def __panel__(self):
        w = dict(sizing_mode="stretch_width")
        # the table has a fixed width; where the plot would get under 240 px it goes under the plot
        # (a Row told to wrap: in a FlexBox inside the dynamic tabs the plot collapses to 0 px)
        modes = pn.Column(pn.pane.Bokeh(self._modes_fig, **w), min_width=240, styles={"flex": "1 1 240px"}, **w)
        return pn.Column(self.force,
                         pn.Row(modes, self._table, styles={"flex-wrap": "wrap"}, **w), self.damping, **w)


class _DecayBandsPlot:
    """One figure of decaying bands (the room's reverb, the strike's residual): level and T60 per band."""

    EMPTY = {"freq_hz": [], "gain_db": [], "t60_s": []}

    def __init__(self, title: str, what: str):
        self.title, self.what = title, what
        self.source = ColumnDataSource(dict(self.EMPTY))
        f = new_figure(title, "frequency (Hz)", "level (dB)", 260, x_axis_type="log")
        f.line("freq_hz", "gain_db", source=self.source, color=ACCENT, line_width=2, legend_label="level (dB)")
        f.extra_y_ranges = {"t60": Range1d(0, 1)}
        f.add_layout(LinearAxis(y_range_name="t60", axis_label="T60 (s)"), "right")
        f.line("freq_hz", "t60_s", source=self.source, color=TOOL_COLOUR, line_width=2, y_range_name="t60",
               legend_label="T60 (s)")
        f.legend.label_text_font_size = "9pt"
        legend_below(f)
        f.y_range.range_padding = 0.25          # the level line clear of the top edge
        self.fig = f

    def show(self, part) -> None:
        """Show ``part`` (a preset's ``reverb`` or ``residual``; None: the model has none)."""
        bands = () if part is None else part.bands
        t60 = [b.t60_s for b in bands]
        self.source.data = {"freq_hz": [b.freq_hz for b in bands], "gain_db": [b.gain_db for b in bands],
                            "t60_s": t60}
        self.fig.extra_y_ranges["t60"].end = max(t60) * 1.2 if t60 else 1
        off = " (none)" if part is None else "" if part.enabled else f" ({self.what} off)"
        self.fig.title.text = self.title + off


class BandsView(View):
    """Noise band levels, and reverb and residual band levels / decay times, of the edited preset."""

    def __init__(self, **params):
        super().__init__(**params)
        self._noise = ColumnDataSource({"freq_hz": [], "gain_db": []})
        n = new_figure("Background noise bands", "frequency (Hz)", "level (dB)", 260, x_axis_type="log")
        n.line("freq_hz", "gain_db", source=self._noise, color="#555555", line_width=2)
        n.scatter("freq_hz", "gain_db", source=self._noise, color="#555555", size=6)
        self._reverb = _DecayBandsPlot("Reverb bands", "reverb")
        self._residual = _DecayBandsPlot("Residual bands", "residual")     # the strike noise: a short title (1366 px)
        self._nfig, self._rfig, self._sfig = n, self._reverb.fig, self._residual.fig
        self.state.param.watch(self._update, ["preset"])
        self._update()

    def _update(self, *events):
        p = self.state.preset
        if p is None:
            self._noise.data = {"freq_hz": [], "gain_db": []}
            self._reverb.source.data = dict(_DecayBandsPlot.EMPTY)
            self._residual.source.data = dict(_DecayBandsPlot.EMPTY)
            return
        self._noise.data = {"freq_hz": [b.freq_hz for b in p.noise.bands], "gain_db": [b.gain_db for b in p.noise.bands]}
        self._reverb.show(p.reverb)
        self._residual.show(p.residual)

    def __panel__(self):
        w = dict(sizing_mode="stretch_width")
        return pn.Row(pn.pane.Bokeh(self._nfig, **w), pn.pane.Bokeh(self._rfig, **w),
                      pn.pane.Bokeh(self._sfig, **w), **w)
