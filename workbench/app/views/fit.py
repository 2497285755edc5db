"""Fitting: fit settings, Fit/Cancel, the progress bar and the growing loss curve.

While a fit runs they show it; otherwise they show the recording on show: its fit's
source and distance (or "not fitted yet") and its fit's loss curve (empty when unfitted).
"""

from __future__ import annotations

import logging

import panel as pn
import param
from bokeh.models import ColumnDataSource

from ..jobs import fitter_status
from ..text import escape_markdown
from .base import ACCENT, View, new_figure

log = logging.getLogger(__name__)


class FitPanel(View):
    """Fit options, Fit/Cancel, progress bar and the growing loss curve."""

    poll_ms = param.Integer(default=250, bounds=(50, 5000))

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        w = dict(sizing_mode="stretch_width")
        self._modes = pn.widgets.IntInput.from_param(s.param.n_modes, css_classes=["wb-modes"], **w)
        self._steps = pn.widgets.IntInput.from_param(s.param.steps, css_classes=["wb-steps"], **w)
        self._joint = pn.widgets.Checkbox.from_param(s.param.joint)
        self._tool = pn.widgets.TextInput.from_param(s.param.tool_label, **w)
        self._object = pn.widgets.TextInput.from_param(s.param.object_label, **w)
        self._fit = pn.widgets.Button(name="Fit", button_type="primary", css_classes=["wb-fit"], **w)
        self._cancel = pn.widgets.Button(name="Cancel", button_type="warning", disabled=True,
                                         css_classes=["wb-cancel"], **w)
        self._fit.on_click(self._start)
        self._cancel.on_click(lambda e: s.cancel_fit())
        self._progress = pn.indicators.Progress(value=0, max=100, bar_color="primary", height=16, **w)
        self._status = pn.pane.Markdown("", css_classes=["wb-fit-status"], margin=(0, 10), **w)
        self._loss_src = ColumnDataSource({"step": [], "loss": []})
        f = new_figure("Loss", "step", "loss", 170, y_axis_type="log")
        f.line("step", "loss", source=self._loss_src, line_width=2, color=ACCENT)
        f.toolbar_location = None
        self._loss_fig = f
        self.loss_pane = pn.Column(pn.pane.Bokeh(f, **w), css_classes=["wb-loss"], **w)
        self._cb = None
        self._fitter_ok, self._reason = fitter_status()
        if not self._fitter_ok:
            self._fit.description = escape_markdown(self._reason)   # Panel renders descriptions as Markdown
        s.param.watch(self._on_progress, ["fit_status", "fit_step", "fit_total", "fit_losses", "fit_message",
                                          "current", "record"])
        self._on_progress()
        self._layout = pn.Column(
            pn.Row(self._modes, self._steps, **w), self._joint, pn.Row(self._tool, self._object, **w),
            pn.Row(self._fit, self._cancel, **w), self._progress, self._status, self.loss_pane, **w)

    def _start(self, event=None):
        if self.state.start_fit() and self._cb is None:
            self._cb = pn.state.add_periodic_callback(self._poll, period=self.poll_ms)

    def _poll(self):
        try:
            running = self.state.poll_fit()
        except Exception as err:  # never leave a dead periodic callback behind
            log.exception("poll failed")
            self.state.notify("error", f"fit update failed: {err}")
            running = False
        if not running and self._cb is not None:
            self._cb.stop()
            self._cb = None

    def _on_progress(self, *events):
        s = self.state
        busy = s.fit_status in ("queued", "running")
        self._fit.disabled = busy or not self._fitter_ok
        self._cancel.disabled = not busy
        total = max(1, s.fit_total)
        self._progress.value = int(round(100 * min(s.fit_step, total) / total)) if s.fit_status != "idle" else 0
        self._progress.active = s.fit_status == "queued"
        rec = s.record
        self._status.object = escape_markdown(self._status_text())   # may quote a name or an error
        if events and not any(e.name in ("fit_losses", "current", "record") for e in events):
            return
        losses = s.fit_losses or ([(i, v) for i, v in enumerate(rec.loss_history)] if rec is not None else [])
        self._loss_fig.title.text = "Loss" if losses or rec is None else "Loss: not stored with this fit"
        data = self._loss_src.data
        n = len(data["step"])
        other = not events or any(e.name in ("current", "record") for e in events)   # another curve
        if not other and 0 < n < len(losses) and (data["step"][n - 1], data["loss"][n - 1]) == losses[n - 1]:
            new = losses[n:]                     # the running fit's curve grows
            self._loss_src.stream({"step": [a for a, _ in new], "loss": [b for _, b in new]})
        elif other or len(losses) != n or (n and data["loss"][-1] != losses[-1][1]):
            self._loss_src.data = {"step": [a for a, _ in losses], "loss": [b for _, b in losses]}

    def _status_text(self) -> str:
        s, rec = self.state, self.state.record
        if s.fit_message:
            return s.fit_message
        if not self._fitter_ok:
            return f"Fitting unavailable: {self._reason}"
        if rec is not None:
            return (rec.source + (" (cancelled: best so far)" if rec.cancelled else "")
                    + (f": spectral distance {rec.distance:.3f}" if rec.distance is not None else ""))
        if s.recording is not None and not s.base_source.startswith("library"):
            return f"{s.current}: not fitted yet"
        return ""

    def __panel__(self):
        return self._layout
