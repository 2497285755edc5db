"""The Compare tab: the recording's waveform with its impacts, target and resynthesis spectrograms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import panel as pn
import param
from bokeh.models import ColorBar, ColumnDataSource, HoverTool, LinearColorMapper, Range1d

from ...errors import WorkbenchError
from ..plotdata import envelope, spectrogram_cached, spectrogram_image
from .base import View, elide, later, new_figure


class WaveformView(View):
    """The recording's waveform with the detected impacts marked; the title says at which sensitivity."""

    def __init__(self, **params):
        super().__init__(**params)
        self._env = ColumnDataSource({"t": [], "lo": [], "hi": []})
        self._imp = ColumnDataSource({"t": [], "y0": [], "y1": [], "confidence": [], "alpha": []})
        f = new_figure("Waveform", "time (s)", "amplitude (full scale)", 170)
        f.varea("t", "lo", "hi", source=self._env, color="#555555", alpha=0.8)
        r = f.segment("t", "y0", "t", "y1", source=self._imp, color="#D62728", line_width=2, line_alpha="alpha",
                      legend_label="detected impacts")
        f.add_tools(HoverTool(renderers=[r], tooltips=[("time", "@t{0.000} s"), ("confidence", "@confidence{0.00}")]))
        f.legend.location = "top_right"
        f.legend.label_text_font_size = "9pt"
        self._fig = f
        # sensitivity too: a new sensitivity that finds the same impacts changes only the title
        self.state.param.watch(self._update, ["current", "channel", "impacts", "sensitivity", "recordings"])
        self._update()

    def _update(self, *events):
        s = self.state
        rec = s.recording
        if rec is None:
            self._env.data = {"t": [], "lo": [], "hi": []}
            self._imp.data = {k: [] for k in self._imp.data}
            self._fig.title.text = "Waveform: no recording loaded (drop one on the page)"
            return
        try:
            x = rec.mono(s.channel)
        except WorkbenchError:
            return
        if not events or any(e.name in ("current", "channel", "recordings") for e in events):
            self._env.data = envelope(x, rec.sample_rate)
        peak = float(np.max(np.abs(x))) or 1.0
        imps = list(s.impacts)
        self._imp.data = {"t": [t for t, _ in imps], "y0": [-peak] * len(imps), "y1": [peak] * len(imps),
                          "confidence": [c for _, c in imps],
                          "alpha": [0.35 + 0.65 * max(0.0, min(1.0, c)) for _, c in imps]}
        ch = "mix" if s.channel is None else f"channel {s.channel + 1}"
        self._fig.title.text = (f"Waveform: {elide(rec.name, 32)} ({ch}) - {len(imps)} impact(s) at sensitivity "
                                f"{s.sensitivity:.2f}")

    def __panel__(self):
        return pn.pane.Bokeh(self._fig, sizing_mode="stretch_width")


class SpectrogramView(View):
    """Target and resynthesis spectrograms: same axes (linked), same colour scale."""

    height = param.Integer(default=300)
    fill_height = param.Boolean(default=False, doc="Grow with the window height (the served page).")
    EMPTY = {"image": [], "x": [], "y": [], "dw": [], "dh": []}

    def __init__(self, **params):
        super().__init__(**params)
        self._mapper = LinearColorMapper(palette="Magma256", low=-100, high=0)
        self._tsrc, self._rsrc = ColumnDataSource(self.EMPTY), ColumnDataSource(self.EMPTY)
        self._x, self._y = Range1d(0, 1), Range1d(0, 22.05)
        axes = ("time (s)", "frequency (kHz)", self.height)
        self._target = new_figure("Target", *axes, x_range=self._x, y_range=self._y)
        self._resyn = new_figure("Resynthesis", *axes, x_range=self._x, y_range=self._y)
        for f, src in ((self._target, self._tsrc), (self._resyn, self._rsrc)):
            f.image(image="image", x="x", y="y", dw="dw", dh="dh", source=src, color_mapper=self._mapper)
            f.grid.visible = False
        self._resyn.add_layout(ColorBar(color_mapper=self._mapper, title="level (dBFS)", width=10), "right")
        self._pending = False
        self._shown_edit = None
        s = self.state
        s.param.watch(self._update_target, ["current", "channel", "record", "recordings"])
        s.param.watch(self._on_audio, ["audio"])
        s.param.watch(self._on_preview, ["preview"])
        self._update_target()
        self._update_resyn()

    def _update_target(self, *events):
        s = self.state
        tgt = s.target()
        if tgt is None:
            self._tsrc.data = dict(self.EMPTY)
            self._target.title.text = "Target: no recording"
            return
        img = spectrogram_cached(*tgt)
        self._tsrc.data = {k: [v] for k, v in img.items()}
        self._x.start, self._x.end = 0, img["dw"]
        self._y.start, self._y.end = 0, img["dh"]
        top = float(np.ceil(np.max(img["image"]) / 10) * 10)
        self._mapper.high, self._mapper.low = top, top - 100
        self._target.title.text = f"Target: {elide(Path(s.current).stem, 28)}"
        self._update_resyn()

    def _on_audio(self, *events):
        edited = self.state.audio.get("edited")
        if edited is self._shown_edit or self._pending:
            return
        self._pending = True
        later(self._update_resyn)

    def _on_preview(self, *events):
        s = self.state
        if s.preview is None:
            self._shown_edit = None
            self._on_audio()
            return
        img = spectrogram_image(s.preview_audio(), s.preview.sample_rate)
        self._rsrc.data = {k: [v] for k, v in img.items()}
        self._resyn.title.text = f"Resynthesis: fitting, step {s.preview_step}"

    def _update_resyn(self):
        self._pending = False
        s = self.state
        if s.preview is not None:
            return
        edited = s.audio.get("edited")
        self._shown_edit = edited
        if edited is None:
            self._rsrc.data = dict(self.EMPTY)
            self._resyn.title.text = "Resynthesis: none yet (press Fit)"
            return
        img = spectrogram_image(edited, s.audio_rate)
        self._rsrc.data = {k: [v] for k, v in img.items()}
        edited_note = "" if s.controls.edits.is_identity() else " + edits"
        dist = ""
        if s.record is not None and s.record.distance is not None and s.base is s.record.preset:
            dist = f" (distance {s.record.distance:.3f})"
        what = "library preset" if s.base_source.startswith("library") else "fit"
        self._resyn.title.text = f"Resynthesis: {what}{edited_note}{dist}"

    def __panel__(self):
        w = dict(sizing_mode="stretch_width")
        if not self.fill_height:
            return pn.Row(pn.Column(pn.pane.Bokeh(self._target, **w), css_classes=["wb-spec-target"], **w),
                          pn.Column(pn.pane.Bokeh(self._resyn, **w), css_classes=["wb-spec-resyn"], **w), **w)
        # In the page: taller on taller screens (300 px at 768 px, ~45 % of a 1440 px window), leaving
        # room for the force plots below them.
        for f in (self._target, self._resyn):
            f.sizing_mode = "stretch_both"
        box = dict(sizing_mode="stretch_both", min_height=self.height, styles={"height": "calc(100vh - 680px)"})
        both = dict(sizing_mode="stretch_both")
        return pn.Row(pn.Column(pn.pane.Bokeh(self._target, **both), css_classes=["wb-spec-target"], **box),
                      pn.Column(pn.pane.Bokeh(self._resyn, **both), css_classes=["wb-spec-resyn"], **box), **w)
