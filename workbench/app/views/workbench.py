"""The composed workbench: the sidebar (load, fit) and the main area (players, sliders, tabs)."""

from __future__ import annotations

import panel as pn
import param

from ..text import escape_html, escape_markdown
from .base import ACCENT, View
from .compare import SpectrogramView, WaveformView
from .edit import EditPanel
from .fit import FitPanel
from .load import LoadPanel
from .force import ForceView
from .model import BandsView, ModelView
from .players import PlayersPanel
from .presets import PresetPanel
from .soundmap import MapPanel
from .variations import VariationsPanel


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
        self.variations = VariationsPanel(state=s)
        self.soundmap = MapPanel(state=s)
        self._status = pn.pane.Markdown("", css_classes=["wb-status"], margin=(0, 10), sizing_mode="stretch_width",
                                        visible=False)
        s.param.watch(self._on_message, ["message"])
        self.tabs = pn.Tabs(
            # the force zoomed on each strike beside the sound it makes (scrolls below the fold at 768 px)
            ("Compare", pn.Column(self.waveform, self.spectrograms, ForceView(state=s, height=170),
                                  sizing_mode="stretch_width")),
            ("Model", self.model),
            ("Noise & reverb", self.bands),
            ("Presets", self.presets),
            ("Variations", self.variations),
            ("Map", self.soundmap),
            sizing_mode="stretch_width", dynamic=True)
        map_tab = len(self.tabs) - 1       # the sound map is built when its tab is first shown
        self.tabs.param.watch(lambda e: e.new == map_tab and self.soundmap.show(), "active")
        self.sidebar = pn.Column(self.load, pn.layout.Divider(), pn.pane.Markdown("#### Fit", margin=(0, 10)),
                                 self.fit, sizing_mode="stretch_width")
        self.main = pn.Column(
            self._status, self.players,
            pn.Row(pn.Column(self.edit, self.players.device_controls, width=270, min_width=270),
                   self.tabs, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")

    def _on_message(self, event):
        level, text, _ = event.new
        if not text:                    # withdrawn (`AppState.clear_message`)
            self._status.visible = False
            return
        icon = {"error": "Error", "warning": "Warning", "success": "Done"}.get(level, "Note")
        self._status.object = f"**{icon}:** {escape_markdown(text)}"   # text: plain, may quote data
        self._status.visible = True
        notes = pn.state.notifications
        if notes is not None:
            show = {"error": notes.error, "warning": notes.warning, "success": notes.success}.get(level, notes.info)
            show(escape_html(text), duration=12000 if level == "error" else 5000)

    def template(self, title: str = "Impact Workbench") -> pn.template.BaseTemplate:
        # Bootstrap: every asset is served locally (the Fast template fetches Google fonts).
        if pn.state.notifications is not None:      # toasts over the header bar: bottom-right hid the colour bar
            pn.state.notifications.position = "top-right"
        return pn.template.BootstrapTemplate(title=title, sidebar=[self.sidebar], main=[self.main],
                                             sidebar_width=320, header_background=ACCENT)

    def __panel__(self):
        # The notebook: sidebar | sliders | tabs side by side when the output is wide; when it
        # is not (JupyterLab with its file browser open at 1366 px gives it ~930 px) the main
        # area wraps under the sidebar, whose load and fit parts then stand side by side.
        part = dict(sizing_mode="stretch_width", min_width=300, styles={"flex": "1 1 320px"})
        fit = pn.Column(pn.pane.Markdown("#### Fit", margin=(0, 10)), self.fit, **part)
        sidebar = pn.FlexBox(pn.Column(self.load, **part), fit, flex_wrap="wrap", sizing_mode="stretch_width",
                             min_width=320, styles={"flex": "1 1 320px"})
        edit = pn.Column(self.edit, self.players.device_controls, width=270, min_width=270)
        tabs = pn.Column(self.tabs, sizing_mode="stretch_width", min_width=0, styles={"flex": "1 1 480px"})
        main = pn.Column(self._status, self.players,
                         pn.FlexBox(edit, tabs, flex_wrap="wrap", sizing_mode="stretch_width"),
                         sizing_mode="stretch_width", min_width=0, styles={"flex": "12 1 800px"})
        return pn.FlexBox(sidebar, main, flex_wrap="wrap", sizing_mode="stretch_width")
