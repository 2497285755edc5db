"""The contact force zoomed on each strike, and its spectrum: what the contact does to the sound.

A whole-clip force plot shows a 0.06 ms pulse in a 3 s clip as a 1-px needle; `ForceView`
shows a few milliseconds around each strike (`workbench.app.plotdata.strike_forces`) and
the force's spectrum on a log axis with each strike's -3 dB corner (~0.46 / contact time)
marked, so the Contact time and Impact strength sliders visibly move the pulse's width,
height and corner. When the preset is the fit of the recording on show, the strikes the
detector found there are marked on the force (dotted, `plotdata.strike_forces`): the
fitted force against the strike. It follows the edited preset (`AppState.preset`) and
redraws only when the impacts change (a few ms).
"""

from __future__ import annotations

import math

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, FixedTicker, HoverTool, Range1d, Span
from bokeh.palettes import Category10

from ..plotdata import SPECTRUM_MIN_HZ, strike_forces
from .base import ACCENT, View, new_figure

#: Line colours of the strikes (the first in the workbench's accent).
COLOURS = [ACCENT, *[c for c in Category10[10] if c.lower() != "#1f77b4"]][:9]
#: Decibels shown under the loudest strike's level in the spectrum.
SPECTRUM_SPAN_DB = 80.0
ALL = -1


def _small_legend(fig, location: str) -> None:
    """A compact, see-through legend at ``location`` inside the plot."""
    fig.legend.location, fig.legend.label_text_font_size = location, "8pt"
    fig.legend.padding, fig.legend.spacing, fig.legend.background_fill_alpha = 2, 0, 0.6


def _fmt_hz(hz: float) -> str:
    if not math.isfinite(hz):
        return "above Nyquist"
    return f"{hz / 1e3:.2f} kHz" if hz >= 1e3 else f"{hz:.0f} Hz"


class ForceView(View):
    """Force vs time around each strike (ms from its onset) and the force spectrum in dB vs Hz.

    Put one in any layout: it follows the state by itself. With several strikes a menu shows
    all of them or one.
    """

    height = param.Integer(default=220, bounds=(120, None), doc="Height of each of the two plots (px).")

    def __init__(self, **params):
        super().__init__(**params)
        self._lines = ColumnDataSource({k: [] for k in ("xs", "ys", "colour", "label")})
        self._spectra = ColumnDataSource({k: [] for k in ("xs", "ys", "colour", "label")})
        self._corners = ColumnDataSource({k: [] for k in ("x", "y", "colour", "label")})
        self._marks = ColumnDataSource({k: [] for k in ("x", "top", "colour", "label")})
        tips = [("strike", "@label")]

        f = new_figure("Contact force around each strike", "time from the strike's onset (ms)",
                       "force (impulse units / s)", self.height)
        f.add_layout(Span(location=0, dimension="height", line_color="#999999", line_dash="dashed", line_width=1))
        r = f.multi_line("xs", "ys", source=self._lines, line_color="colour", line_width=2)
        f.add_tools(HoverTool(renderers=[r], tooltips=[*tips, ("t", "$x{0.000} ms"), ("force", "$y{0.0}")]))
        m = f.segment(x0="x", y0=0, x1="x", y1="top", source=self._marks, line_color="colour", line_width=2,
                      line_dash="dotted", legend_label="detected strike")
        f.add_tools(HoverTool(renderers=[m], tooltips=[("detected strike", "@x{+0.000} ms from fitted onset"),
                                                       *tips]))
        _small_legend(f, "top_right")
        self._force_fig = f

        self._freq = Range1d(SPECTRUM_MIN_HZ, 22050.0)
        self._level = Range1d(-SPECTRUM_SPAN_DB, 5.0)
        g = new_figure("Force spectrum", "frequency (Hz)", "dB re unit impulse", self.height,
                       x_axis_type="log", x_range=self._freq, y_range=self._level)
        ticks = [10, 30, 100, 300, 1000, 3000, 10000, 30000]
        g.xaxis.ticker = FixedTicker(ticks=ticks)
        g.xaxis.major_label_overrides = {t: (f"{t // 1000}k" if t >= 1000 else str(t)) for t in ticks}
        r = g.multi_line("xs", "ys", source=self._spectra, line_color="colour", line_width=2)
        g.add_tools(HoverTool(renderers=[r], tooltips=[*tips, ("f", "$x{0} Hz"), ("level", "$y{0.0} dB")]))
        c = g.scatter("x", "y", source=self._corners, marker="circle", size=8, fill_color="white",
                      line_color="colour", line_width=2, legend_label="-3 dB corner")
        g.add_tools(HoverTool(renderers=[c], tooltips=[*tips, ("-3 dB at", "@x{0} Hz")]))
        _small_legend(g, "bottom_left")
        self._spec_fig = g
        for fig in (f, g):
            fig.title.text_font_size = "10pt"

        self._pick = pn.widgets.Select(options={"all strikes": ALL}, value=ALL, width=240,
                                       visible=False, margin=(0, 10), css_classes=["wb-force-strike"])
        self._pick.param.watch(lambda e: self._show(), "value")
        self._data: dict = {}
        self._key = None
        self.state.param.watch(self.update_later, ["preset", "audio_rate", "record"])
        self._update()

    # -- updates ------------------------------------------------------------------------
    def _update(self):
        s = self.state
        p = s.preset
        detected = tuple(s.record.impacts) if s.record is not None and s.base is s.record.preset else ()
        key = None if p is None else (s.audio_rate, tuple((i.time_s, i.contact_s, i.magnitude) for i in p.impacts),
                                      detected)
        if key == self._key:                  # another slider (pitch, decay...): the force is unchanged
            return
        self._key = key
        self._data = {} if p is None else strike_forces(p, sample_rate=s.audio_rate, detected_s=detected)
        st = self._data.get("strikes", {"time_s": []})
        options = {"all strikes": ALL, **{f"strike {k + 1} at {t:.3f} s": k for k, t in enumerate(st["time_s"])}}
        keep = self._pick.value if self._pick.value in options.values() else ALL
        self._pick.param.update(options=options, value=keep, visible=len(options) > 2)
        self._show()

    def _show(self):
        d = self._data
        if not d or not d["strikes"]["index"]:
            for src in (self._lines, self._spectra, self._corners, self._marks):
                src.data = {k: [] for k in src.data}
            self._force_fig.title.text = "Contact force: no preset yet"
            self._spec_fig.title.text = "Force spectrum"
            return
        st = d["strikes"]
        pick = self._pick.value
        rows = [k for k in st["index"] if pick in (ALL, k)]
        colour = [COLOURS[k % len(COLOURS)] for k in rows]
        label = [f"{k + 1} at {st['time_s'][k]:.3f} s, contact {st['contact_ms'][k]:.3g} ms, "
                 f"impulse {st['magnitude'][k]:.3g}" for k in rows]
        self._lines.data = {"xs": [st["t_ms"][k] for k in rows], "ys": [st["force"][k] for k in rows],
                            "colour": colour, "label": label}
        self._spectra.data = {"xs": [st["freq_hz"][k] for k in rows], "ys": [st["db"][k] for k in rows],
                              "colour": colour, "label": label}
        marks = [(x, float(np.max(st["force"][k])), c, lab)
                 for k, c, lab in zip(rows, colour, label) for x in st["detected_ms"][k]]
        self._marks.data = {key: [m[i] for m in marks] for i, key in enumerate(("x", "top", "colour", "label"))}
        self._force_fig.legend.visible = bool(marks)
        seen = [i for i, k in enumerate(rows) if math.isfinite(st["corner_hz"][k])]
        self._corners.data = {"x": [st["corner_hz"][rows[i]] for i in seen],
                              "y": [st["corner_db"][rows[i]] for i in seen],
                              "colour": [colour[i] for i in seen], "label": [label[i] for i in seen]}
        self._freq.end = d["sample_rate"] / 2
        top = float(np.ceil(max(float(np.max(st["db"][k])) for k in rows) / 10) * 10)
        self._level.start, self._level.end = top - SPECTRUM_SPAN_DB, top + 5
        taus = [st["contact_ms"][k] for k in rows]
        corners = [st["corner_hz"][k] for k in rows]
        what = d["caption"] if pick == ALL else f"strike {pick + 1} of {d['total']}"
        span = f"{min(taus):.3g} ms" if max(taus) - min(taus) < 1e-9 else f"{min(taus):.3g}-{max(taus):.3g} ms"
        self._force_fig.title.text = f"Contact force: {what}, contact {span}"
        finite = [c for c in corners if math.isfinite(c)]
        if not finite:
            corner = "-3 dB corner above Nyquist"
        elif len(rows) == 1 or max(finite) - min(finite) < 0.5:
            corner = f"-3 dB at {_fmt_hz(finite[0])}"
        else:
            corner = f"-3 dB at {_fmt_hz(min(finite))} to {_fmt_hz(max(finite))}"
        self._spec_fig.title.text = f"Force spectrum: {corner}"

    def __panel__(self):
        w = dict(sizing_mode="stretch_width")
        return pn.Column(self._pick, pn.Row(pn.pane.Bokeh(self._force_fig, **w), pn.pane.Bokeh(self._spec_fig, **w),
                                            **w), **w)
