"""Loading recordings: the drop zone, the list of recordings, channel and sensitivity."""

from __future__ import annotations

import panel as pn
import param

from ..recordings import DEFAULT_MAX_UPLOAD_BYTES
from .base import View


class UploadDropper(pn.widgets.FileDropper):
    """`FileDropper` that refuses a file over ``max_bytes`` at its first chunk.

    The browser still sends the rest, but nothing is buffered; the name appears in
    ``rejected`` so the page can say why. (Panel's own ``max_file_size`` rejects in the
    browser only, where the server cannot post a notification.)
    """

    max_bytes = param.Integer(default=DEFAULT_MAX_UPLOAD_BYTES, bounds=(1, None))
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
        self._sens = pn.widgets.FloatSlider.from_param(s.param.sensitivity, step=0.05, throttled=True,
                                                       sizing_mode="stretch_width")
        s.param.watch(self._sync, ["recordings", "current", "selection", "channel"])
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
        opts = {f"{r.name}  ({r.recording.duration_s:.1f} s, {r.recording.n_channels} ch)": r.name
                for r in s.recordings}
        self._list.options = opts
        self._list.value = [n for n in s.selection if n in opts.values()]
        chans = {"mix of all": -1}
        if rec is not None and rec.n_channels > 1:
            chans.update({f"channel {i + 1}": i for i in range(rec.n_channels)})
        self._channel.options = chans
        self._channel.value = -1 if s.channel is None else s.channel
        self._channel.disabled = rec is None or rec.n_channels == 1
        self._remove.disabled = rec is None

    def __panel__(self):
        return self._layout
