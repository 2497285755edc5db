"""The Map tab: the preset library as a sound map (`workbench.app.mapfigure`).

Hover a point to hear its preset, click it to load it into the workbench, lasso or box
select several to export them together or to load their recordings for a joint fit;
the shown recording's fit is a star on the map with the presets it sounds like. The map
is built the first time the tab is shown (in a thread: the page stays live) and shared
by every session on the same library folder (`workbench.app.map_actions`).
"""

from __future__ import annotations

import io
import threading

import panel as pn

from ...errors import WorkbenchError
from ...soundmap import SoundMap
from ..map_actions import cached_library_map
from ..mapfigure import MapFigure, map_figure
from ..preset_library import export_status
from ..text import escape_markdown
from .base import View

TARGETS = {"ThreeDWorld": "tdw", "Habitat": "habitat", "Faust": "faust"}


def _in_server() -> bool:
    doc = pn.state.curdoc
    return doc is not None and doc.session_context is not None


class MapPanel(View):
    """The library's sound map with hover-to-play, click-to-load, selection actions and "sounds like"."""

    def __init__(self, **params):
        super().__init__(**params)
        w = dict(sizing_mode="stretch_width")
        self._made: MapFigure | None = None
        self._map: SoundMap | None = None
        self._keys: list[str] = []
        self._building = False
        self._info = pn.pane.Markdown("The map is built when this tab is first shown.", css_classes=["wb-map-info"], **w)
        self._plot = pn.pane.Bokeh(None, min_height=520, css_classes=["wb-map-plot"], **w)
        self._target = pn.widgets.Select(name="Export for", options=TARGETS, value="tdw", width=140)
        ok, reason = export_status()
        self._export = pn.widgets.FileDownload(callback=self._export_zip, filename="map_selection_tdw.zip",
                                               label="Export selected", button_type="success", disabled=True,
                                               description=None if ok else escape_markdown(reason),
                                               css_classes=["wb-map-export"], width=170, align="end")
        self._export_ok = ok
        self._joint = pn.widgets.Button(name="Joint fit selected", disabled=True, css_classes=["wb-map-joint"],
                                        width=170, align="end")
        self._joint.on_click(lambda e: self.state.map_joint_fit(list(self._keys)))
        self._target.param.watch(lambda e: setattr(self._export, "filename", f"map_selection_{e.new}.zip"), "value")
        self._selected = pn.pane.Markdown("*Lasso or box select points to export them or fit their recordings.*",
                                          css_classes=["wb-map-selected"], **w)
        self._like = pn.pane.Markdown("", css_classes=["wb-map-like"], **w)
        self.state.param.watch(self.update_later, ["record", "current"])
        self._layout = pn.Column(self._info, self._plot, pn.Row(self._target, self._export, self._joint),
                                 self._selected, self._like, **w)

    # -- building ---------------------------------------------------------------------
    def show(self) -> None:
        """Draw the library's map (built now outside a server; in a thread inside one)."""
        folder = self.state.presets_dir
        ready = cached_library_map(folder)
        if ready is not None and ready is self._map:
            return
        if ready is not None or not _in_server():
            self._finish(*self._build())
            return
        if self._building:
            return
        self._building = True
        self._info.object = (f"Building the sound map of {escape_markdown(folder)} (UMAP over the presets' physical "
                             "parameters, one short sound per preset): a few seconds...")
        result: list = []
        threading.Thread(target=lambda: result.append(self._build()), daemon=True, name="sound-map").start()

        def poll():
            if result:
                poller.stop()
                self._building = False
                self._finish(*result[0])
        poller = pn.state.add_periodic_callback(poll, period=150)

    def _build(self) -> tuple[SoundMap | None, str]:
        try:
            return self.state.sound_map(), ""
        except WorkbenchError as err:
            return None, str(err)

    def _finish(self, sound_map: SoundMap | None, error: str) -> None:
        if sound_map is None:
            self._info.object = f"**No sound map:** {escape_markdown(error)}"
            return
        made = map_figure(sound_map, height=520, title=f"Sound map: {len(sound_map)} presets")
        made.tapped.on_change("data", self._on_tap)
        made.points.selected.on_change("indices", self._on_select)
        self._made, self._map, self._keys = made, sound_map, []
        self._plot.object = made.figure
        t = sound_map.timings.get("total", 0.0)
        self._info.object = (f"{len(sound_map)} presets of {escape_markdown(self.state.presets_dir)}, laid out by "
                             f"{sound_map.method.upper()} from their physical parameters (built in {t:.1f} s). "
                             "**Hover** a point to hear it, **click** to load it, **lasso/box select** several.")
        self._on_select("indices", [], [])
        self._update()

    # -- events -------------------------------------------------------------------------
    def _on_tap(self, attr, old, new) -> None:
        keys = list(new.get("key", []))
        if keys:
            self.state.map_load(keys[0])

    def _on_select(self, attr, old, new) -> None:
        if self._made is None:
            return
        all_keys = self._made.points.data["key"]
        self._keys = [all_keys[i] for i in new if 0 <= i < len(all_keys)]
        names = [self._map.names[i] for i in new if 0 <= i < len(all_keys)]
        self._selected.object = (f"**{len(names)} selected:** {escape_markdown(', '.join(names))}" if names else
                                 "*Lasso or box select points to export them or fit their recordings.*")
        self._export.disabled = not (names and self._export_ok)
        self._joint.disabled = not names

    def _export_zip(self):
        try:
            return io.BytesIO(self.state.map_export(list(self._keys), self._target.value))
        except Exception as err:  # the exporter is another module: report, never crash the page
            self.state.notify("error", f"export of the selection failed: {err}")
            return io.BytesIO(b"")

    def _update(self) -> None:
        """Place the shown recording's fit on the map and list what it sounds like."""
        if self._made is None or self._map is None:
            return
        placed = self.state.map_placement(self._map)
        if placed is None:
            self._made.placed.data = {"x": [], "y": [], "name": []}
            self._like.object = "*Fit the shown recording to place it on the map (a star) with the presets it sounds like.*"
            return
        (x, y), near, label = placed
        self._made.placed.data = {"x": [float(x)], "y": [float(y)], "name": [label]}
        rows = "\n".join(f"{k}. {escape_markdown(n.name)} ({n.material}, distance {n.distance:.2f})"
                         for k, n in enumerate(near, 1))
        self._like.object = f"**Sounds like** ({escape_markdown(label)}, the star):\n\n{rows}"

    def __panel__(self):
        return self._layout
