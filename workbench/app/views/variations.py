"""The Variations tab: a bank of strike variations learned from the recording, auditioned and downloaded.

The bank is `workbench.banks.make_bank` of the edited preset (so the physical sliders
apply), its spread `AppState.variation_model` (the recording's strikes, else the library
prior). The download is the folder `workbench variations` writes, zipped: WAVs,
``mapping.json``, ``mapping.csv`` and a README for game-engine containers.
"""

from __future__ import annotations

import io

import panel as pn

from ...banks import DEFAULT_MAX_DISTANCE, bank_zip
from ...budgets import BANK_FILES
from ...edits import EDIT_SPECS
from ...errors import WorkbenchError
from ...names import slugify
from ..playback import wav_bytes
from ..text import escape_markdown
from .base import View

#: Files the panel offers at most (the CLI takes up to the budget).
MAX_FILES = min(100, BANK_FILES.limit)


class VariationsPanel(View):
    """Generate, audition and download a variation bank of the edited preset."""

    def __init__(self, **params):
        super().__init__(**params)
        w = dict(sizing_mode="stretch_width")
        v, s = EDIT_SPECS["velocity"], EDIT_SPECS["size"]
        self._n = pn.widgets.IntInput(name="Files", start=1, end=MAX_FILES, value=12, css_classes=["wb-var-files"],
                                      **w)
        self._velocity = pn.widgets.EditableRangeSlider(name="Velocity (x the fitted strike)", start=v.minimum,
                                                        end=v.maximum, value=(1.0, 1.0), step=0.05,
                                                        css_classes=["wb-var-velocity"], **w)
        self._size = pn.widgets.EditableRangeSlider(name="Size (x the fitted object)", start=s.minimum,
                                                    end=s.maximum, value=(1.0, 1.0), step=0.05, **w)
        self._layers = pn.widgets.IntInput(name="Velocity layers", start=1, end=16, value=1, **w)
        self._seed = pn.widgets.IntInput(name="Seed", start=0, value=0, **w)
        self._go = pn.widgets.Button(name="Generate variations", button_type="primary",
                                     css_classes=["wb-var-generate"], **w)
        self._go.on_click(self._generate)
        self._summary = pn.pane.Markdown("", css_classes=["wb-var-summary"], **w)
        self._pick = pn.widgets.Select(name="Audition", options=[], css_classes=["wb-var-pick"], **w)
        self._pick.param.watch(self._audition, "value")
        self._player = pn.pane.Audio(None, height=40, css_classes=["wb-var-player"], **w)
        self._download = pn.widgets.FileDownload(callback=self._zip, filename="variations.zip",
                                                 label="Download bank (WAVs + mapping)", button_type="success",
                                                 disabled=True, css_classes=["wb-var-download"], **w)
        self._bank = None
        self._layout = pn.Row(
            pn.Column(pn.pane.Markdown("#### Variation bank"), self._n, self._velocity, self._size, self._layers,
                      self._seed, self._go, **w),
            pn.Column(pn.pane.Markdown("#### Listen and download"), self._summary, self._pick, self._player,
                      self._download, **w), **w)

    def _generate(self, event=None):
        s = self.state
        self._go.loading = True
        try:
            bank = s.variation_bank(int(self._n.value), velocity_range=tuple(self._velocity.value),
                                    size_range=tuple(self._size.value), layers=min(int(self._layers.value),
                                                                                   int(self._n.value)),
                                    seed=int(self._seed.value), max_distance=DEFAULT_MAX_DISTANCE)
        except WorkbenchError as err:
            s.notify("error", f"variations: {err}")
            return
        finally:
            self._go.loading = False
        self._bank = bank
        m = bank.summary
        self._summary.object = (
            f"**{len(bank.rows)} variations** of {escape_markdown(bank.preset_name)}: "
            f"{escape_markdown(bank.model.describe())}.\n\n"
            f"Distance to the original: median {m['median_distance']:.3f}, max {m['max_distance']:.3f} "
            f"(bound {bank.max_distance:g}); between files: median {m['median_between']:.3f}.")
        self._pick.options = {f"{r['file'].split('/')[-1]}  (v {r['velocity']:g}, size {r['size']:g}, "
                              f"{r['gain_db']:+.1f} dB)": i for i, r in enumerate(bank.rows)}
        self._pick.value = 0
        self._audition()
        self._download.filename = f"{slugify(bank.preset_name, default='strike')}_variations.zip"
        self._download.disabled = False
        s.notify("success", f"{len(bank.rows)} variations ready")

    def _audition(self, event=None):
        i = self._pick.value
        if self._bank is None or i is None:
            self._player.object = None
            return
        self._player.object = wav_bytes(self._bank.audio[i], self._bank.sample_rate)

    def _zip(self):
        if self._bank is None:
            return io.BytesIO(b"")
        return io.BytesIO(bank_zip(self._bank))

    def __panel__(self):
        return self._layout
