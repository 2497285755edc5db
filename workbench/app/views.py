"""Thin Panel views over `workbench.app.state.AppState` (browser and JupyterLab alike).

Each view builds its widgets and Bokeh figures once and then only updates their
contents when the state changes (no layouts rebuilt per change, no matplotlib on the
slider path). Everything they do goes through the state; they hold no logic of their
own beyond turning state into pixels.
"""

from __future__ import annotations

import io
import logging
import math
from pathlib import Path

import numpy as np
import panel as pn
import param
from bokeh.models import (ColorBar, ColumnDataSource, FixedTicker, HoverTool, LinearAxis,
                          LinearColorMapper, Range1d)
from bokeh.plotting import figure

from .. import specs
from ..errors import WorkbenchError
from . import services
from ..edits import EDIT_SPECS, IMPACT_PATTERNS
from .state import AppState

log = logging.getLogger(__name__)

ACCENT = "#0072B5"
TOOL_COLOUR = "#E18727"
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"


def _fig(title: str, x_label: str, y_label: str, height: int, **kw) -> figure:
    f = figure(title=title, height=height, sizing_mode="stretch_width", tools=TOOLS,
               toolbar_location="right", x_axis_label=x_label, y_axis_label=y_label, **kw)
    f.toolbar.logo = None
    f.toolbar.autohide = True
    f.min_border_right = 10
    f.title.text_font_size = "11pt"
    return f


def _later(fn, ms: int = 60) -> None:
    """Run ``fn`` ``ms`` later on the session's loop (immediately outside a server session).

    Plot refreshes go through here so that the new sound, computed in the same event,
    reaches the browser first instead of waiting behind spectrograms and tables.
    """
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        fn()
        return
    pn.state.add_periodic_callback(fn, period=ms, count=1)


class UploadDropper(pn.widgets.FileDropper):
    """`FileDropper` that refuses a file over ``max_bytes`` at its first chunk.

    The browser still sends the rest, but nothing is buffered; the name appears in
    ``rejected`` so the page can say why. (Panel's own ``max_file_size`` rejects in the
    browser only, where the server cannot post a notification.)
    """

    max_bytes = param.Integer(default=services.DEFAULT_MAX_UPLOAD_BYTES, bounds=(1, None))
    rejected = param.Tuple(default=("", 0), length=2, doc="(file name, size estimate) of the last refused file.")

    _rename = {**pn.widgets.FileDropper._rename, "max_bytes": None, "rejected": None}

    def __init__(self, **params):
        super().__init__(**params)
        self._refusing: set[str] = set()

    def _process_event(self, event):
        data = getattr(event, "data", None) or {}
        if getattr(event, "event_name", "") == "upload_event" and "name" in data:
            name = data["name"]
            if data.get("chunk") == 1:
                self._refusing.discard(name)
                estimate = (int(data.get("total_chunks", 1)) - 1) * self.chunk_size
                if estimate > self.max_bytes:
                    self._refusing.add(name)
                    self.rejected = (name, estimate + len(data.get("data") or b""))
            if name in self._refusing:
                if data.get("chunk") == data.get("total_chunks"):
                    self._refusing.discard(name)
                return
        super()._process_event(event)


class View(pn.viewable.Viewer):
    """Base of the views: one reference to the shared state."""

    state = param.ClassSelector(class_=AppState)


# ---------------------------------------------------------------------------------------
# Loading recordings
# ---------------------------------------------------------------------------------------

class LoadPanel(View):
    """Drop zone / file picker, the list of loaded recordings, channel and sensitivity."""

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        cap = s.max_upload_bytes / 2**20
        self._hint = pn.pane.Markdown(
            f"**Drop recordings here** or click to browse: WAV, FLAC, OGG or MP3, several at once, "
            f"up to {cap:.0f} MB each.", margin=(0, 10))
        self._dropper = UploadDropper(multiple=True, max_bytes=s.max_upload_bytes, chunk_size=2 * 2**20,
                                      sizing_mode="stretch_width", layout="compact", css_classes=["wb-drop"])
        self._seen: set[tuple[str, int]] = set()
        self._dropper.param.watch(self._on_files, "value")
        self._dropper.param.watch(self._on_rejected, "rejected")
        self._list = pn.widgets.MultiSelect(name="Recordings (ctrl-click several for a joint fit)",
                                            options=[], size=5, sizing_mode="stretch_width",
                                            css_classes=["wb-recordings"])
        self._list.param.watch(self._on_pick, "value")
        self._remove = pn.widgets.Button(name="Remove", button_type="light", width=90)
        self._remove.on_click(lambda e: s.current and s.remove_recording(s.current))
        self._channel = pn.widgets.Select(name="Channel", options={"mix of all": -1}, value=-1,
                                          sizing_mode="stretch_width", css_classes=["wb-channel"])
        self._channel.param.watch(self._on_channel, "value")
        lo, hi = s.param.sensitivity.bounds
        self._sens = pn.widgets.FloatSlider(name=s.param.sensitivity.label, start=lo, end=hi, step=0.05,
                                            value=s.sensitivity, sizing_mode="stretch_width")
        self._sens.param.watch(lambda e: setattr(s, "sensitivity", e.new), "value_throttled")
        s.param.watch(self._sync, ["recordings", "current", "selection", "channel", "sensitivity"])
        self._sync()
        self._layout = pn.Column(self._hint, self._dropper, self._list,
                                 pn.Row(self._channel, self._remove, sizing_mode="stretch_width"),
                                 self._sens, sizing_mode="stretch_width")

    def _on_files(self, event):
        for name, payload in list(event.new.items()):
            key = (name, id(payload))
            if key in self._seen:
                continue
            self._seen.add(key)
            self.state.add_upload(name, payload)

    def _on_rejected(self, event):
        name, size = event.new
        if name:
            self.state.notify("error", f"{name}: about {size / 2**20:.0f} MB is over the upload limit of "
                                       f"{self.state.max_upload_bytes / 2**20:.0f} MB; nothing was loaded")

    def _on_pick(self, event):
        s = self.state
        picked = [n for n in event.new if n in s.names()]
        if not picked or picked == s.selection:
            return
        s.selection = picked
        if s.current not in picked:
            s.select(picked[-1])

    def _on_channel(self, event):
        self.state.channel = None if event.new in (-1, None) else int(event.new)

    def _sync(self, *events):
        s = self.state
        rec = s.recording
        opts = {f"{r.name}  ({r.duration_s:.1f} s, {r.n_channels} ch)": r.name for r in s.recordings}
        self._list.options = opts
        self._list.value = [n for n in s.selection if n in opts.values()]
        chans = {"mix of all": -1}
        if rec is not None and rec.n_channels > 1:
            chans.update({f"channel {i + 1}": i for i in range(rec.n_channels)})
        self._channel.options = chans
        self._channel.value = -1 if s.channel is None else s.channel
        self._channel.disabled = rec is None or rec.n_channels == 1
        self._sens.value = s.sensitivity
        self._remove.disabled = rec is None

    def __panel__(self):
        return self._layout


# ---------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------

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
        f = _fig("Loss", "step", "loss", 170, y_axis_type="log")
        f.line("step", "loss", source=self._loss_src, line_width=2, color=ACCENT)
        f.toolbar_location = None
        self._loss_fig = f
        self.loss_pane = pn.Column(pn.pane.Bokeh(f, **w), css_classes=["wb-loss"], **w)
        self._cb = None
        ok, reason = services.fitter_status()
        if not ok:
            self._fit.disabled = True
            self._fit.description = reason
            self._status.object = f"Fitting unavailable: {reason}"
        s.param.watch(self._on_progress, ["fit_status", "fit_step", "fit_total", "fit_losses", "fit_message",
                                          "current"])
        self._on_progress()
        self._layout = pn.Column(
            pn.Row(self._modes, self._steps, **w), self._joint, pn.Row(self._tool, self._object, **w),
            pn.Row(self._fit, self._cancel, **w), self._progress, self._status, self.loss_pane, **w)

    def _start(self, event=None):
        if self.state.start_fit():
            self._ensure_polling()

    def _ensure_polling(self):
        if self._cb is None:
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
        self._fit.disabled = busy or not services.fitter_status()[0]
        self._cancel.disabled = not busy
        total = max(1, s.fit_total)
        self._progress.value = int(round(100 * min(s.fit_step, total) / total)) if s.fit_status != "idle" else 0
        self._progress.active = s.fit_status == "queued"
        rec = s.record
        extra = ""
        if rec is not None and s.fit_status == "idle":
            extra = f"{rec.source}" + (f": spectral distance {rec.distance:.3f}" if rec.distance is not None else "")
        self._status.object = s.fit_message or extra
        names = ["fit_losses", "current"]
        if events and not any(e.name in names for e in events):
            return
        losses = s.fit_losses or ([(i, v) for i, v in enumerate(rec.loss_history)] if rec is not None else [])
        self._loss_fig.title.text = "Loss" if losses or rec is None else "Loss: not stored with this fit"
        data = self._loss_src.data
        n = len(data["step"])
        if 0 < n <= len(losses) and n and data["step"][n - 1] == losses[n - 1][0] and len(losses) > n:
            new = losses[n:]
            self._loss_src.stream({"step": [a for a, _ in new], "loss": [b for _, b in new]})
        elif len(losses) != n or (n and data["loss"][-1] != losses[-1][1]):
            self._loss_src.data = {"step": [a for a, _ in losses], "loss": [b for _, b in losses]}

    def __panel__(self):
        return self._layout


# ---------------------------------------------------------------------------------------
# Sound: players
# ---------------------------------------------------------------------------------------

PLAYERS = {"original": "Original", "fit": "Fit", "edited": "Edited", "object": "Object only",
           "tool": "Tool only"}


class PlayersPanel(View):
    """Audio players (original, fit, edited, object-only, tool-only) and device playback."""

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        self._players = {k: pn.pane.Audio(None, name=k, sizing_mode="stretch_width", height=40,
                                          margin=(0, 5), css_classes=[f"wb-player-{k}"]) for k in PLAYERS}
        self._labels = {k: pn.pane.Markdown(f"**{v}**", margin=(0, 5)) for k, v in PLAYERS.items()}
        self._shown: dict[str, np.ndarray | None] = {k: None for k in PLAYERS}
        self._pending = False
        ok, reason = services.playback_status()
        self._which = pn.widgets.Select(options=list(PLAYERS), value="edited", width=110,
                                        disabled=not ok, margin=(5, 5))
        self._device = pn.widgets.Button(name="Play on this machine", disabled=not ok, margin=(5, 5),
                                         sizing_mode="stretch_width",
                                         description=(f"Plays through {reason}" if ok else reason))
        self._device.on_click(self._play_device)
        note = pn.pane.Markdown("" if ok else f"<small>Device playback off: {reason}</small>", margin=(0, 10),
                                css_classes=["wb-device-note"])
        self.device_controls = pn.Column(pn.Row(self._which, self._device, sizing_mode="stretch_width"), note,
                                         sizing_mode="stretch_width")
        s.param.watch(self._on_audio, ["audio"])
        self._on_audio()
        cells = [pn.Column(self._labels[k], self._players[k], width=178, margin=(0, 2)) for k in PLAYERS]
        self._layout = pn.FlexBox(*cells, sizing_mode="stretch_width", flex_wrap="wrap")

    def _on_audio(self, *events):
        self._refresh(("edited",))
        if not self._pending:
            self._pending = True
            _later(self._refresh_rest, 30)

    def _refresh_rest(self):
        self._pending = False
        self._refresh(tuple(PLAYERS))

    def _refresh(self, keys):
        s = self.state
        for k in keys:
            player = self._players[k]
            arr = s.audio.get(k)
            if k == "tool" and arr is not None and s.preset is not None and s.preset.tool is None:
                arr = None
            if arr is self._shown[k]:
                continue
            self._shown[k] = arr
            player.object = services.wav_bytes(arr, s.audio_rate) if arr is not None else None
            self._labels[k].object = f"**{PLAYERS[k]}**" + ("" if arr is not None else " (none)")

    def _play_device(self, event):
        s = self.state
        arr = s.audio.get(self._which.value)
        if arr is None:
            s.notify("warning", f"no {self._which.value} sound to play")
            return
        try:
            services.play(arr, s.audio_rate)
        except WorkbenchError as err:
            s.notify("error", str(err))

    def __panel__(self):
        return self._layout


# ---------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------

class WaveformView(View):
    """The recording's waveform with the detected impacts marked."""

    def __init__(self, **params):
        super().__init__(**params)
        self._env = ColumnDataSource({"t": [], "lo": [], "hi": []})
        self._imp = ColumnDataSource({"t": [], "y0": [], "y1": [], "confidence": [], "alpha": []})
        f = _fig("Waveform", "time (s)", "amplitude (full scale)", 170)
        f.varea("t", "lo", "hi", source=self._env, color="#555555", alpha=0.8)
        r = f.segment("t", "y0", "t", "y1", source=self._imp, color="#D62728", line_width=2, line_alpha="alpha",
                      legend_label="detected impacts")
        f.add_tools(HoverTool(renderers=[r], tooltips=[("time", "@t{0.000} s"), ("confidence", "@confidence{0.00}")]))
        f.legend.location = "top_right"
        f.legend.label_text_font_size = "9pt"
        self._fig = f
        self.state.param.watch(self._update, ["current", "channel", "impacts", "recordings"])
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
        if not events or any(e.name != "impacts" for e in events):
            self._env.data = services.envelope(x, rec.sample_rate)
        peak = float(np.max(np.abs(x))) or 1.0
        imps = list(s.impacts)
        self._imp.data = {"t": [t for t, _ in imps], "y0": [-peak] * len(imps), "y1": [peak] * len(imps),
                          "confidence": [c for _, c in imps],
                          "alpha": [0.35 + 0.65 * max(0.0, min(1.0, c)) for _, c in imps]}
        ch = "mix" if s.channel is None else f"channel {s.channel + 1}"
        self._fig.title.text = (f"Waveform: {rec.name} ({ch}) - {len(imps)} impact(s) at sensitivity "
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
        self._target = _fig("Target", "time (s)", "frequency (kHz)", self.height, x_range=self._x, y_range=self._y)
        self._resyn = _fig("Resynthesis", "time (s)", "frequency (kHz)", self.height, x_range=self._x,
                           y_range=self._y)
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
        x, sr = tgt
        img = services.spectrogram_cached(x, sr)
        self._tsrc.data = {k: [v] for k, v in img.items()}
        self._x.start, self._x.end = 0, img["dw"]
        self._y.start, self._y.end = 0, img["dh"]
        top = float(np.ceil(np.max(img["image"]) / 10) * 10)
        self._mapper.high, self._mapper.low = top, top - 100
        self._target.title.text = f"Target: {Path(s.current).stem}"
        self._update_resyn()

    def _on_audio(self, *events):
        edited = self.state.audio.get("edited")
        if edited is self._shown_edit or self._pending:
            return
        self._pending = True
        _later(self._update_resyn)

    def _on_preview(self, *events):
        s = self.state
        if s.preview is None:
            self._shown_edit = None
            self._on_audio()
            return
        y = s.preview_audio()
        img = services.spectrogram_image(y, s.preview.sample_rate)
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
        img = services.spectrogram_image(edited, s.audio_rate)
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
        # In the page: taller on taller screens (300 px at 768 px, ~55 % of a 1440 px window).
        for f in (self._target, self._resyn):
            f.sizing_mode = "stretch_both"
        box = dict(sizing_mode="stretch_both", min_height=self.height, styles={"height": "calc(100vh - 470px)"})
        both = dict(sizing_mode="stretch_both")
        return pn.Row(pn.Column(pn.pane.Bokeh(self._target, **both), css_classes=["wb-spec-target"], **box),
                      pn.Column(pn.pane.Bokeh(self._resyn, **both), css_classes=["wb-spec-resyn"], **box), **w)


def _mode_data(rows):
    gains = np.array([r["gain_db"] for r in rows], float)
    top = gains.max() if gains.size else 0.0
    size = np.clip(6 + (gains - (top - 60)) / 60 * 18, 4, 24) if gains.size else gains
    return {"freq_hz": [r["freq_hz"] for r in rows], "t60_s": [r["t60_s"] for r in rows],
            "gain_db": list(gains), "size": list(size), "body": [r["body"] for r in rows],
            "index": [r["index"] for r in rows],
            "colour": [ACCENT if r["body"] == "object" else TOOL_COLOUR for r in rows]}


class ModelView(View):
    """Force profile with the impacts, modes (frequency vs T60, size = gain), editable mode table."""

    COLUMNS = ["body", "mode", "freq_hz", "t60_s", "gain_db", "on"]

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        self._force = ColumnDataSource({"t": [], "f": []})
        self._imps = ColumnDataSource({"t": [], "f": [], "contact_ms": [], "magnitude": []})
        f = _fig("Contact force (edited preset)", "time (s)", "force (impulse units / s)", 170)
        f.line("t", "f", source=self._force, color=ACCENT, line_width=1.5)
        r = f.scatter("t", "f", source=self._imps, marker="inverted_triangle", size=9, color="#D62728",
                      legend_label="impacts")
        f.add_tools(HoverTool(renderers=[r], tooltips=[("onset", "@t{0.0000} s"), ("contact", "@contact_ms{0.000} ms"),
                                                       ("impulse", "@magnitude{0.000}")]))
        f.legend.label_text_font_size = "9pt"
        self._force_fig = f

        empty = _mode_data([])
        self._base_modes, self._edit_modes = ColumnDataSource(dict(empty)), ColumnDataSource(dict(empty))
        m = _fig("Modes (grey rings: the fit)",
                 "frequency (Hz)", "T60 (s)", 300, x_axis_type="log", y_axis_type="log")
        m.title.text_font_size = "10pt"
        ticks = [20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000]
        m.xaxis.ticker = FixedTicker(ticks=ticks)
        m.xaxis.major_label_overrides = {t: (f"{t // 1000}k" if t >= 1000 else str(t)) for t in ticks}
        m.scatter("freq_hz", "t60_s", size="size", source=self._base_modes, fill_alpha=0, line_color="#999999")
        r = m.scatter("freq_hz", "t60_s", size="size", source=self._edit_modes, fill_color="colour",
                      line_color="colour", fill_alpha=0.6, legend_field="body")
        m.legend.location, m.legend.label_text_font_size = "bottom_left", "8pt"
        m.legend.padding, m.legend.spacing, m.legend.background_fill_alpha = 2, 0, 0.6
        m.add_tools(HoverTool(renderers=[r], tooltips=[("mode", "@body @index"), ("freq", "@freq_hz{0.0} Hz"),
                                                       ("T60", "@t60_s{0.000} s"), ("gain", "@gain_db{0.0} dB")]))
        self._modes_fig = m

        import pandas as pd
        from bokeh.models.widgets.tables import NumberFormatter
        self._pd = pd
        fmt = {"freq_hz": {"type": "number", "min": specs.FREQ_HZ.minimum, "max": specs.FREQ_HZ.maximum, "step": 1},
               "t60_s": {"type": "number", "min": specs.T60_S.minimum, "max": specs.T60_S.maximum, "step": 0.01},
               "gain_db": {"type": "number", "min": specs.GAIN_DB.minimum, "max": specs.GAIN_DB.maximum, "step": 0.5}}
        self._table = pn.widgets.Tabulator(
            pd.DataFrame(columns=self.COLUMNS), show_index=False,
            editors={"body": None, "mode": None, **fmt, "on": {"type": "tickCross"}},
            titles={"freq_hz": "freq Hz", "t60_s": "T60 s", "gain_db": "gain dB", "mode": "#"},
            formatters={"on": {"type": "tickCross"}, "freq_hz": NumberFormatter(format="0.0"),
                        "t60_s": NumberFormatter(format="0.000"), "gain_db": NumberFormatter(format="0.0")},
            widths={"body": 80, "mode": 48, "freq_hz": 92, "t60_s": 80, "gain_db": 96, "on": 56},
            height=300, width=470, layout="fit_data_table", pagination=None,
            stylesheets=[":host .tabulator {font-size: 13px;}"], css_classes=["wb-modes-table"])
        self._table.on_edit(self._on_table_edit)
        self._table_key = None
        self._pending = False
        s.param.watch(self._on_change, ["preset", "base"])
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
            self._on_change()
        else:                               # the table already shows it; re-rendering would close an open editor
            self._table_key = self._modes_key()

    def _modes_key(self):
        return id(self.state.base), tuple(self.state.controls.modes)

    def _on_change(self, *events):
        if not self._pending:
            self._pending = True
            _later(self._update)

    def _update(self):
        self._pending = False
        s = self.state
        p = s.preset
        if p is None:
            self._force.data = {"t": [], "f": []}
            self._imps.data = {k: [] for k in self._imps.data}
            self._base_modes.data = _mode_data([])
            self._edit_modes.data = _mode_data([])
        else:
            prof = services.force_profile(p, sample_rate=s.audio_rate)
            self._force.data = prof
            ts = np.array([i.time_s for i in p.impacts])
            idx = np.clip(np.searchsorted(prof["t"], ts + np.array([i.contact_s for i in p.impacts]) / 2), 0,
                          max(0, len(prof["t"]) - 1))
            self._imps.data = {"t": list(ts), "f": list(np.asarray(prof["f"])[idx]) if len(prof["f"]) else [],
                               "contact_ms": [i.contact_s * 1e3 for i in p.impacts],
                               "magnitude": [i.magnitude for i in p.impacts]}
            self._base_modes.data = _mode_data(services.mode_rows(s.base))
            self._edit_modes.data = _mode_data(services.mode_rows(p))
        key = self._modes_key()
        if key != self._table_key:
            self._table_key = key
            self._table.value = self._pd.DataFrame([{**r, "mode": r["index"]} for r in s.mode_table()],
                                                   columns=self.COLUMNS)

    def __panel__(self):
        w = dict(sizing_mode="stretch_width")
        return pn.Column(pn.pane.Bokeh(self._force_fig, **w),
                         pn.Row(pn.pane.Bokeh(self._modes_fig, **w), self._table, **w), **w)  # table: fixed width


class BandsView(View):
    """Noise band levels and reverb band levels / decay times of the edited preset."""

    def __init__(self, **params):
        super().__init__(**params)
        self._noise = ColumnDataSource({"freq_hz": [], "gain_db": []})
        self._rev = ColumnDataSource({"freq_hz": [], "gain_db": [], "t60_s": []})
        n = _fig("Background noise bands", "frequency (Hz)", "level (dB)", 260, x_axis_type="log")
        n.line("freq_hz", "gain_db", source=self._noise, color="#555555", line_width=2)
        n.scatter("freq_hz", "gain_db", source=self._noise, color="#555555", size=6)
        r = _fig("Reverb bands", "frequency (Hz)", "level (dB)", 260, x_axis_type="log")
        r.line("freq_hz", "gain_db", source=self._rev, color=ACCENT, line_width=2, legend_label="level (dB)")
        r.extra_y_ranges = {"t60": Range1d(0, 1)}
        r.add_layout(LinearAxis(y_range_name="t60", axis_label="T60 (s)"), "right")
        r.line("freq_hz", "t60_s", source=self._rev, color=TOOL_COLOUR, line_width=2, y_range_name="t60",
               legend_label="T60 (s)")
        r.legend.label_text_font_size = "9pt"
        self._nfig, self._rfig = n, r
        self.state.param.watch(self._update, ["preset"])
        self._update()

    def _update(self, *events):
        p = self.state.preset
        if p is None:
            self._noise.data = {"freq_hz": [], "gain_db": []}
            self._rev.data = {"freq_hz": [], "gain_db": [], "t60_s": []}
            return
        self._noise.data = {"freq_hz": [b.freq_hz for b in p.noise.bands], "gain_db": [b.gain_db for b in p.noise.bands]}
        t60 = [b.t60_s for b in p.reverb.bands]
        self._rev.data = {"freq_hz": [b.freq_hz for b in p.reverb.bands],
                          "gain_db": [b.gain_db for b in p.reverb.bands], "t60_s": t60}
        self._rfig.extra_y_ranges["t60"].end = max(t60) * 1.1 if t60 else 1
        self._rfig.title.text = "Reverb bands" + ("" if p.reverb.enabled else " (reverb off)")

    def __panel__(self):
        w = dict(sizing_mode="stretch_width")
        return pn.Row(pn.pane.Bokeh(self._nfig, **w), pn.pane.Bokeh(self._rfig, **w), **w)


# ---------------------------------------------------------------------------------------
# Editing
# ---------------------------------------------------------------------------------------

_STEPS = {"pitch_semitones": 0.1, "brightness_db_per_octave": 0.5, "strength_db": 0.5, "noise_db": 1.0,
          "reverb_db": 1.0}


def _log_options(spec, n: int = 41) -> dict[str, float]:
    vals = sorted({float(f"{v:.3g}") for v in np.geomspace(spec.minimum, spec.maximum, n)} | {spec.default})
    return {f"{v:g}{spec.unit if spec.unit != 'x' else ''}" if spec.unit != "x" else f"x{v:g}": v for v in vals}


class EditPanel(View):
    """Global resynthesis sliders (bounds from `EDIT_SPECS`), undo and reset."""

    def __init__(self, **params):
        super().__init__(**params)
        c = self.state.controls
        self._widgets: dict[str, pn.widgets.Widget] = {}
        for name, spec in EDIT_SPECS.items():
            label = c.param[name].label
            if name == "impact_count":
                w = pn.widgets.IntSlider(name=label, start=int(spec.minimum), end=int(spec.maximum), step=1,
                                         value=getattr(c, name))
            elif spec.scale == "log":
                opts = _log_options(spec)
                w = pn.widgets.DiscreteSlider(name=label, options=opts, value=self._nearest(opts, getattr(c, name)))
            else:
                w = pn.widgets.FloatSlider(name=label, start=spec.minimum, end=spec.maximum,
                                           step=_STEPS.get(name, (spec.maximum - spec.minimum) / 100),
                                           value=getattr(c, name))
            w.sizing_mode = "stretch_width"
            w.css_classes = [f"wb-edit-{name}"]
            w.param.watch(lambda e, n=name: setattr(c, n, e.new), "value_throttled")
            self._widgets[name] = w
        self._pattern = pn.widgets.Select(name=c.param.impact_pattern.label, options=list(IMPACT_PATTERNS),
                                          value=c.impact_pattern, sizing_mode="stretch_width")
        self._pattern.param.watch(lambda e: setattr(c, "impact_pattern", e.new), "value")
        self._reverb_on = pn.widgets.Checkbox(name="Reverb on", value=c.reverb_on)
        self._reverb_on.param.watch(lambda e: setattr(c, "reverb_on", e.new), "value")
        self._tool_on = pn.widgets.Checkbox(name="Tool on", value=c.tool_on)
        self._tool_on.param.watch(lambda e: setattr(c, "tool_on", e.new), "value")
        self._undo = pn.widgets.Button(name="Undo", disabled=True, sizing_mode="stretch_width")
        self._undo.on_click(lambda e: self.state.undo())
        self._reset = pn.widgets.Button(name="Reset edits", sizing_mode="stretch_width")
        self._reset.on_click(lambda e: self.state.reset_edits())
        self._timing = pn.pane.Markdown("", margin=(0, 10), css_classes=["wb-render-time"])
        c.param.watch(self._from_state, list(c.FIELDS))
        self.state.param.watch(self._on_state, ["can_undo", "render_ms", "base"])
        self._on_state()
        W = self._widgets
        self._layout = pn.Column(
            pn.pane.Markdown("#### Resynthesis", margin=(0, 10)),
            W["pitch_semitones"], W["decay_scale"], W["brightness_db_per_octave"],
            W["contact_scale"], W["strength_db"], self._pattern, W["impact_count"], W["impact_interval_s"],
            W["noise_db"], W["reverb_db"], W["reverb_decay_scale"], pn.Row(self._reverb_on, self._tool_on),
            pn.Row(self._undo, self._reset, sizing_mode="stretch_width"), self._timing,
            sizing_mode="stretch_width")

    @staticmethod
    def _nearest(opts: dict[str, float], v: float) -> float:
        return min(opts.values(), key=lambda o: abs(math.log(o) - math.log(max(v, 1e-12))))

    def _from_state(self, *events):
        c = self.state.controls
        for e in events:
            w = self._widgets.get(e.name)
            if w is not None:
                v = e.new
                if isinstance(w, pn.widgets.DiscreteSlider):
                    v = self._nearest(w.options, v)
                if w.value != v:
                    w.value = v
        self._pattern.value = c.impact_pattern
        self._reverb_on.value = c.reverb_on
        self._tool_on.value = c.tool_on

    def _on_state(self, *events):
        s = self.state
        self._undo.disabled = not s.can_undo
        has_tool = s.base is not None and s.base.tool is not None
        self._tool_on.disabled = not has_tool
        self._timing.object = ("Fit a recording or load a preset to edit it." if s.base is None else
                               f"sound updated in {s.render_ms:.0f} ms" if s.render_ms else
                               "Move a slider: the Edited player follows.")

    def __panel__(self):
        return self._layout


# ---------------------------------------------------------------------------------------
# Presets: library, A/B, downloads, export
# ---------------------------------------------------------------------------------------

class PresetPanel(View):
    """Save/load presets in the library, A/B compare, download JSON and WAV, export."""

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        w = dict(sizing_mode="stretch_width")
        self._name = pn.widgets.TextInput(name="Name", placeholder="steel bowl, fork", css_classes=["wb-preset-name"], **w)
        self._tags = pn.widgets.TextInput(name="Tags (comma separated)", placeholder="metal, bowl", **w)
        self._material = pn.widgets.TextInput(name="Material", placeholder="metal", **w)
        self._save = pn.widgets.Button(name="Save to library", button_type="primary", css_classes=["wb-save"], **w)
        self._save.on_click(self._on_save)
        self._folder = pn.pane.Markdown("", **w)
        self._lib = pn.widgets.Select(name="Library", options=[], **w)
        self._load = pn.widgets.Button(name="Load", **w)
        self._load.on_click(lambda e: self._lib.value and s.load_library_preset(self._lib.value))
        self._a = pn.widgets.Select(name="A", **w)
        self._b = pn.widgets.Select(name="B", **w)
        self._a.param.watch(lambda e: setattr(s, "ab_a", e.new or "edited"), "value")
        self._b.param.watch(lambda e: setattr(s, "ab_b", e.new or "fit"), "value")
        self._compare = pn.widgets.Button(name="Compare A / B", **w)
        self._compare.on_click(self._on_compare)
        self._pa = pn.pane.Audio(None, sizing_mode="stretch_width", height=40)
        self._pb = pn.pane.Audio(None, sizing_mode="stretch_width", height=40)
        self._ab_text = pn.pane.Markdown("", **w)
        self._dl_json = pn.widgets.FileDownload(callback=self._json, filename="preset.json",
                                                label="Download preset JSON", button_type="success", **w)
        self._dl_wav = pn.widgets.FileDownload(callback=self._wav, filename="edited.wav",
                                               label="Download edited WAV", button_type="success", **w)
        ok, reason = services.export_status()
        self._exports = []
        for to in ("tdw", "habitat"):
            b = pn.widgets.FileDownload(callback=(lambda to=to: self._export(to)), filename=f"preset_{to}.zip",
                                        css_classes=[f"wb-export-{to}"],
                                        label=f"Export for {to.upper() if to == 'tdw' else to.title()}",
                                        disabled=not ok, description=None if ok else reason, **w)
            self._exports.append((to, b))
        self._export_note = pn.pane.Markdown("" if ok else f"*Export unavailable: {reason}*", **w)
        s.param.watch(self._sync, ["library", "preset", "presets_dir"])
        self._sync()
        self._layout = pn.Row(
            pn.Column(pn.pane.Markdown("#### Save"), self._name, self._tags, self._material, self._save,
                      self._folder, pn.pane.Markdown("#### Load"), self._lib, self._load, **w),
            pn.Column(pn.pane.Markdown("#### A/B compare"), self._a, self._b, self._compare,
                      pn.pane.Markdown("**A**"), self._pa, pn.pane.Markdown("**B**"), self._pb, self._ab_text, **w),
            pn.Column(pn.pane.Markdown("#### Download and export"), self._dl_json, self._dl_wav,
                      *[b for _, b in self._exports], self._export_note, **w),
            **w)

    def _sync(self, *events):
        s = self.state
        self._lib.options = list(s.library)
        if self._lib.value not in s.library:
            self._lib.value = s.library[0] if s.library else None
        choices = ["edited", "fit", *s.library]
        self._a.options, self._b.options = choices, choices
        if s.ab_a in choices:
            self._a.value = s.ab_a
        if s.ab_b in choices:
            self._b.value = s.ab_b
        self._folder.object = f"Library folder: `{s.presets_dir}`"
        p = s.preset
        slug = services._slug(p.name) if p is not None else "preset"
        self._dl_json.filename = f"{slug or 'preset'}.json"
        self._dl_wav.filename = f"{slug or 'preset'}.wav"
        for to, b in self._exports:
            b.filename = f"{slug or 'preset'}_{to}.zip"
        if p is not None and not self._name.value:
            self._name.placeholder = p.name
        none = p is None
        self._save.disabled = none
        self._dl_json.disabled = none
        self._dl_wav.disabled = none

    def _on_save(self, event):
        s = self.state
        name = self._name.value.strip() or (s.preset.name if s.preset is not None else "")
        s.save_preset(name, tags=self._tags.value, material=self._material.value)

    def _on_compare(self, event):
        s = self.state
        out = s.compare()
        for slot, pane in (("a", self._pa), ("b", self._pb)):
            item = out.get(slot)
            pane.object = services.wav_bytes(item[1], item[0].sample_rate) if item else None
        d = out.get("distance")
        self._ab_text.object = ("" if d is None else f"Spectral distance A-B: **{d:.3f}** "
                                "(0 identical, 1 no better than noise)")

    def _json(self):
        try:
            return io.BytesIO(self.state.preset_json())
        except WorkbenchError as err:
            self.state.notify("error", str(err))
            return io.BytesIO(b"")

    def _wav(self):
        try:
            return io.BytesIO(self.state.wav("edited"))
        except WorkbenchError as err:
            self.state.notify("error", str(err))
            return io.BytesIO(b"")

    def _export(self, to: str):
        try:
            return io.BytesIO(self.state.export(to))
        except Exception as err:  # the exporter is another module: report, never crash the page
            self.state.notify("error", f"export for {to} failed: {err}")
            return io.BytesIO(b"")

    def __panel__(self):
        return self._layout


# ---------------------------------------------------------------------------------------
# The composed workbench
# ---------------------------------------------------------------------------------------

class Workbench(View):
    """All views composed: sidebar (load, fit) and main area (players, sliders, plots).

    ``__panel__`` is a plain layout (notebooks); `template` wraps the same views in
    the page template the server uses.
    """

    fill_height = param.Boolean(default=False, doc="Plots grow with the window height (the served page).")

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        self.load = LoadPanel(state=s)
        self.fit = FitPanel(state=s)
        self.players = PlayersPanel(state=s)
        self.waveform = WaveformView(state=s)
        self.spectrograms = SpectrogramView(state=s, fill_height=self.fill_height)
        self.model = ModelView(state=s)
        self.bands = BandsView(state=s)
        self.edit = EditPanel(state=s)
        self.presets = PresetPanel(state=s)
        self._status = pn.pane.Markdown("", css_classes=["wb-status"], margin=(0, 10), sizing_mode="stretch_width",
                                        visible=False)
        s.param.watch(self._on_message, ["message"])
        self.tabs = pn.Tabs(
            ("Compare", pn.Column(self.waveform, self.spectrograms, sizing_mode="stretch_width")),
            ("Model", self.model),
            ("Noise & reverb", self.bands),
            ("Presets", self.presets),
            sizing_mode="stretch_width", dynamic=True)
        self.sidebar = pn.Column(self.load, pn.layout.Divider(), pn.pane.Markdown("#### Fit", margin=(0, 10)),
                                 self.fit, sizing_mode="stretch_width")
        self.main = pn.Column(
            self._status, self.players,
            pn.Row(pn.Column(self.edit, self.players.device_controls, width=270, min_width=270),
                   self.tabs, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")

    def _on_message(self, event):
        level, text, _ = event.new
        if not text:
            return
        icon = {"error": "Error", "warning": "Warning", "success": "Done"}.get(level, "Note")
        self._status.object = f"**{icon}:** {text}"
        self._status.visible = True
        notes = pn.state.notifications
        if notes is not None:
            show = {"error": notes.error, "warning": notes.warning, "success": notes.success}.get(level, notes.info)
            show(text, duration=12000 if level == "error" else 5000)

    def template(self, title: str = "Impact Workbench") -> pn.template.BaseTemplate:
        # Bootstrap: every asset is served locally (the Fast template fetches Google fonts).
        return pn.template.BootstrapTemplate(title=title, sidebar=[self.sidebar], main=[self.main],
                                             sidebar_width=320, header_background=ACCENT)

    def __panel__(self):
        return pn.Row(pn.Column(self.sidebar, width=320), self.main, sizing_mode="stretch_width")
