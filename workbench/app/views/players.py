"""Sound: the audio players (original, fit, edited, object, tool and residual only) and device playback."""

from __future__ import annotations

import numpy as np
import panel as pn

from ...errors import WorkbenchError
from ..playback import play, playback_status, wav_bytes
from ..text import escape_markdown
from .base import View, later

PLAYERS = {"original": "Original", "fit": "Fit", "edited": "Edited", "object": "Object only",
           "tool": "Tool only", "residual": "Residual only"}


class PlayersPanel(View):
    """Audio players (original, fit, edited, object-, tool- and residual-only) and device playback.

    The Edited player is updated in the event that changed the sound; the others follow
    a moment later (`later`), so a slider's new sound reaches the browser first.
    """

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        self._players = {k: pn.pane.Audio(None, name=k, sizing_mode="stretch_width", height=40,
                                          margin=(0, 5), css_classes=[f"wb-player-{k}"]) for k in PLAYERS}
        self._labels = {k: pn.pane.Markdown(f"**{v}**", margin=(0, 5)) for k, v in PLAYERS.items()}
        self._shown: dict[str, np.ndarray | None] = {k: None for k in PLAYERS}
        self._pending = False
        ok, reason = playback_status()
        self._device_name = reason if ok else ""
        self._which = pn.widgets.Select(options=list(PLAYERS), value="edited", sizing_mode="stretch_width",
                                        disabled=not ok, margin=(5, 5))
        self._device = pn.widgets.Button(name="Play on this machine", disabled=not ok, margin=(5, 5),
                                         sizing_mode="stretch_width",
                                         description=escape_markdown(f"Plays through {reason}" if ok else reason))
        self._device.on_click(self._play_device)
        self._note = pn.pane.Markdown("" if ok else f"<small>Device playback off: {escape_markdown(reason)}</small>",
                                      margin=(0, 10), css_classes=["wb-device-note"])
        # the button over its own line: beside the selector its label was cut
        self.device_controls = pn.Column(self._device, self._which, self._note,
                                         sizing_mode="stretch_width")
        s.param.watch(self._on_audio, ["audio"])
        self._on_audio()
        cells = [pn.Column(self._labels[k], self._players[k], width=178, margin=(0, 2)) for k in PLAYERS]
        self._layout = pn.FlexBox(*cells, sizing_mode="stretch_width", flex_wrap="wrap")

    def _on_audio(self, *events):
        self._refresh(("edited",))
        if not self._pending:
            self._pending = True
            later(self._refresh_rest, 30)

    def _refresh_rest(self):
        self._pending = False
        self._refresh(tuple(PLAYERS))

    def _refresh(self, keys):
        s = self.state
        for k in keys:
            arr = s.audio.get(k)
            absent = s.preset is not None and (s.preset.tool is None if k == "tool" else
                                               k == "residual" and not (s.preset.residual and s.preset.residual.enabled))
            if absent and arr is not None:
                arr = None
            if arr is self._shown[k]:
                continue
            self._shown[k] = arr
            self._players[k].object = wav_bytes(arr, s.audio_rate) if arr is not None else None
            self._labels[k].object = f"**{PLAYERS[k]}**" + ("" if arr is not None else " (none)")

    def _play_device(self, event):
        s = self.state
        arr = s.audio.get(self._which.value)
        if arr is None:
            s.notify("warning", f"no {self._which.value} sound to play")
            return
        try:
            play(arr, s.audio_rate)      # returns at once; the sound plays on
        except WorkbenchError as err:
            s.notify("error", str(err))
        else:
            s.notify("info", f"playing the {PLAYERS[self._which.value].lower()} sound on {self._device_name}")

    def __panel__(self):
        return self._layout
