"""The Presets tab: save to and load from the library, A/B compare, downloads and exports.

The A/B choices and the download names are the state's (`workbench.app.preset_actions`).
"""

from __future__ import annotations

import io

import panel as pn

from ...errors import WorkbenchError
from ..playback import wav_bytes
from ..preset_actions import LIBRARY, choices
from ..preset_library import export_status
from ..text import escape_markdown
from .base import View


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
        self._lib = pn.widgets.Select(name="Library", options=[], css_classes=["wb-library"], **w)
        self._load = pn.widgets.Button(name="Load", **w)
        self._load.on_click(lambda e: self._lib.value and s.load_library_preset(self._lib.value))
        self._a = pn.widgets.Select(name="A", css_classes=["wb-ab-a"], **w)
        self._b = pn.widgets.Select(name="B", css_classes=["wb-ab-b"], **w)
        self._a.param.watch(lambda e: setattr(s, "ab_a", e.new or "edited"), "value")
        self._b.param.watch(lambda e: setattr(s, "ab_b", e.new or "fit"), "value")
        self._compare = pn.widgets.Button(name="Compare A / B", css_classes=["wb-compare"], **w)
        self._compare.on_click(self._on_compare)
        self._pa = pn.pane.Audio(None, sizing_mode="stretch_width", height=40)
        self._pb = pn.pane.Audio(None, sizing_mode="stretch_width", height=40)
        self._ab_text = pn.pane.Markdown("", css_classes=["wb-ab-text"], **w)
        self._dl_json = pn.widgets.FileDownload(callback=self._json, filename="preset.json",
                                                label="Download preset JSON", button_type="success",
                                                css_classes=["wb-download-json"], **w)
        self._dl_wav = pn.widgets.FileDownload(callback=self._wav, filename="preset_edited.wav",
                                               label="Download edited WAV", button_type="success",
                                               css_classes=["wb-download-wav"], **w)
        ok, reason = export_status()
        self._exports = []
        for to in ("tdw", "habitat", "faust"):
            b = pn.widgets.FileDownload(callback=(lambda to=to: self._export(to)), filename=f"preset_{to}.zip",
                                        css_classes=[f"wb-export-{to}"],
                                        label=f"Export for {to.upper() if to == 'tdw' else to.title()}",
                                        disabled=not ok, description=None if ok else escape_markdown(reason), **w)
            self._exports.append((to, b))
        self._export_note = pn.pane.Markdown("" if ok else f"*Export unavailable: {escape_markdown(reason)}*", **w)
        s.param.watch(self._sync, ["library", "preset", "presets_dir", "saved_name", "current"])
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
        options = choices(s.library)
        values = set(options.values())
        for widget, which in ((self._a, s.ab_a), (self._b, s.ab_b)):
            which = which if which in values else LIBRARY + which     # a bare library name (a notebook)
            update = {} if widget.options == options else {"options": options}
            if which in values:
                update["value"] = which
            widget.param.update(**update)      # together: new options never reset the choice
        self._folder.object = f"Library folder: {escape_markdown(s.presets_dir)}"
        p = s.preset
        self._dl_json.filename = s.download_name("json")
        self._dl_wav.filename = s.download_name("wav")
        for to, b in self._exports:
            b.filename = s.download_name(to)
        if p is not None and not self._name.value:
            self._name.placeholder = s.saved_name or p.name
        none = p is None
        self._save.disabled = none
        self._dl_json.disabled = none
        self._dl_wav.disabled = none

    def _on_save(self, event):
        s = self.state
        name = self._name.value.strip() or s.saved_name or (s.preset.name if s.preset is not None else "")
        s.save_preset(name, tags=self._tags.value, material=self._material.value)

    def _on_compare(self, event):
        s = self.state
        out = s.compare()
        for slot, pane in (("a", self._pa), ("b", self._pb)):
            item = out.get(slot)
            pane.object = wav_bytes(item[1], item[0].sample_rate) if item else None
        d = out.get("distance")
        if out.get("same"):
            self._ab_text.object = escape_markdown(out["same"])      # quotes preset names
        else:
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
