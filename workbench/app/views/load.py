"""Loading recordings: the drop zone, the list of recordings, channel and sensitivity."""

from __future__ import annotations

import itertools
import json
from functools import partial

import panel as pn
import param

from ..recordings import DEFAULT_MAX_UPLOAD_BYTES
from ..uploads import UploadLedger
from .base import View

#: Bytes per chunk the browser sends an upload in (one websocket message each).
CHUNK_BYTES = 2 * 2**20

_DROPPERS = itertools.count(1)

#: Browser side of `UploadDropper.drop_chip`: ``cb_obj.value`` is ``[serial, file name, the
#: dropper's own CSS class]`` (a class, not a reference: a callback's arguments would keep
#: the dropper, and with it the session, alive). FilePond calls a file "Upload complete"
#: (green) once its last chunk is sent, whatever the server made of it, and has no public
#: way to turn that red: the refused file's chip is removed instead (without a revert, so
#: no delete event comes back), once its chunks are all sent.
_DROP_CHIP_JS = """
const [, name, cls] = JSON.parse(cb_obj.value || "[0, \\"\\", \\"\\"]")
const view = name ? Bokeh.index.query_one((v) => (v.model.css_classes || []).includes(cls)) : null
const pond = view == null ? null : view._file_pond
if (pond == null) return
let tries = 0
const drop = () => {
  const items = pond.getFiles().filter((f) => (f.relativePath || f.filename) === name || f.filename === name)
  if (items.some((f) => f.status === 3 || f.status === 9) && tries++ < 6000) {   // still sending
    setTimeout(drop, 100)
    return
  }
  for (const f of items) pond.removeFile(f.id)
}
drop()
"""


class UploadDropper(pn.widgets.FileDropper):
    """`FileDropper` whose uploads are checked on every chunk (`workbench.app.uploads.UploadLedger`).

    Panel's dropper buffers whatever chunks arrive and keeps every file in ``value`` for
    the session's life. Here a refused file's chunks are dropped at once and its name and
    reason go to ``rejected``; a complete file is put in ``value`` for the watchers (the
    load panel decodes it) and taken out right after, so ``value`` holds no payload
    between events. Both happen on the next tick of the session's loop, with the document
    lock held (`pn.state.execute`): the plots a new recording updates must not change
    outside it, and the websocket message that brought the last chunk is answered first.

    A refused file (here, or by the load panel once decoded: `drop_chip`) leaves the drop
    zone: the browser's green "Upload complete" chip would contradict the error. The
    hidden ``chips`` widget carries the name to the browser; put it in the layout.
    """

    max_bytes = param.Integer(default=DEFAULT_MAX_UPLOAD_BYTES, bounds=(1, None))
    rejected = param.Tuple(default=("", ""), length=2, doc="(file name, reason) of the last refused file.")

    _rename = {**pn.widgets.FileDropper._rename, "max_bytes": None, "rejected": None}

    def __init__(self, **params):
        params.setdefault("chunk_size", CHUNK_BYTES)
        self._own_class = f"wb-dropper-{next(_DROPPERS)}"
        params["css_classes"] = [*params.get("css_classes", []), self._own_class]
        super().__init__(**params)
        self._ledger_for()
        self._dropped = 0
        self.chips = pn.widgets.TextInput(value="", visible=False, css_classes=["wb-drop-refused"], margin=0)
        self.chips.jscallback(value=_DROP_CHIP_JS)

    @param.depends("max_bytes", "chunk_size", watch=True)
    def _ledger_for(self):
        self.ledger = UploadLedger(self.max_bytes, self.chunk_size)

    def _process_event(self, event):
        data = getattr(event, "data", None)
        if getattr(event, "event_name", "") != "upload_event":      # delete_event: the user removed a file
            if isinstance(data, dict) and isinstance(data.get("name"), str):
                self.ledger.discard(data["name"])
                super()._process_event(event)
            return
        out = self.ledger.receive(data)
        if out.kind == "done":
            self._next_tick(partial(self._deliver, out.name, out.payload))
        elif out.kind == "refused":
            self._next_tick(partial(self._refuse, out.name, out.reason))

    @staticmethod
    def _next_tick(fn) -> None:
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            pn.state.execute(fn, schedule=True)
        else:                 # a notebook, a test
            fn()

    def _deliver(self, name: str, payload: bytes) -> None:
        try:
            self.value = {name: payload}
        finally:
            with param.parameterized.discard_events(self):
                self.value = {}

    def _refuse(self, name: str, reason: str) -> None:
        with param.parameterized.discard_events(self):
            self.rejected = (name, reason)
        self.param.trigger("rejected")
        self.drop_chip(name)

    def drop_chip(self, name: str) -> None:
        """Take the file ``name`` out of the drop zone in the browser (it was refused)."""
        self._dropped += 1
        self.chips.value = json.dumps([self._dropped, name, self._own_class])


#: The drop zone's file chips show whole file names (FilePond cuts them with an ellipsis).
_CHIP_CSS = """
.filepond--file-info-main { white-space: normal; overflow-wrap: anywhere; text-overflow: clip; }
.filepond--file-info { min-width: 0; }
"""


class LoadPanel(View):
    """Drop zone / file picker, the list of loaded recordings, channel and sensitivity."""

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        cap = s.max_upload_bytes / 2**20
        self._hint = pn.pane.Markdown(
            f"**Drop recordings here** or click to browse: WAV, FLAC, OGG or MP3, several at once, "
            f"up to {cap:.0f} MB each.", margin=(0, 10))
        self._dropper = UploadDropper(multiple=True, max_bytes=s.max_upload_bytes, chunk_size=CHUNK_BYTES,
                                      sizing_mode="stretch_width", layout="compact", css_classes=["wb-drop"],
                                      stylesheets=[_CHIP_CSS])
        self._dropper.param.watch(self._on_files, "value")
        self._dropper.param.watch(self._on_rejected, "rejected")
        self._list = pn.widgets.MultiSelect(name="Recordings (ctrl-click several for a joint fit)",
                                            options=[], size=5, sizing_mode="stretch_width",
                                            css_classes=["wb-recordings"],
                                            # long names wrap instead of running under the edge
                                            stylesheets=["option { white-space: normal; overflow-wrap: anywhere; }",
                                                         "select { max-height: 96px; }"])
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
        self._layout = pn.Column(self._hint, self._dropper, self._dropper.chips, self._list,
                                 pn.Row(self._channel, self._remove, sizing_mode="stretch_width"),
                                 self._sens, sizing_mode="stretch_width")

    def _on_files(self, event):
        for name, payload in list(event.new.items()):
            if self.state.add_upload(name, payload) is None:     # refused: the error says why
                self._dropper.drop_chip(name)

    def _on_rejected(self, event):
        name, reason = event.new
        if name:
            self.state.notify("error", f"{reason}; nothing was loaded")

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
