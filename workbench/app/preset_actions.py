"""What a session does with presets (no UI): `PresetActions`, the preset half of `AppState`.

Save to and load from the library, A/B comparison, downloads and exports. The A/B
choices say what they are:

* ``edited`` - the preset being edited, with the slider and mode-table edits;
* ``base`` - the same preset before any edit (the shown fit, or the library preset loaded);
* ``fit`` - the fit of the recording on show (whatever preset is being edited);
* ``library:NAME`` (or a bare library name) - a preset of the library.

Two choices that are one preset by construction (``edited`` and ``base`` with no edits,
``fit`` and ``base`` while the fit is what is being edited) are reported as the same
(`PresetActions.compare` gives ``same``), never as a distance of 0.000.

After "Save" the edited preset goes by the saved name: `PresetActions.preset_json`, the
exports and the download file names (`PresetActions.download_name`) carry it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..edits import Edits
from ..errors import WorkbenchError
from ..presets import Preset
from ..rendering import render_size
from .playback import wav_bytes
from .preset_library import PresetLibrary, download_names, export_zip
from .records import distance

#: The choices that are not library presets: {value: label}.
CHOICES = {"edited": "edited (with your edits)", "base": "before edits", "fit": "fit of the shown recording"}
LIBRARY = "library:"


def choices(library: Sequence[str]) -> dict[str, str]:
    """{label: value} of every A/B choice: `CHOICES`, then ``library: NAME`` for each library preset."""
    return {**{label: value for value, label in CHOICES.items()}, **{f"{LIBRARY} {n}": LIBRARY + n for n in library}}


class PresetActions:
    """`AppState`'s preset methods (mixed into it; they use its parameters and sounds)."""

    @property
    def presets(self) -> PresetLibrary:
        return PresetLibrary(self.presets_dir)

    def save_preset(self, name: str, *, tags: str | Sequence[str] = (), material: str = "") -> Path | None:
        """Save the edited preset to the library; returns the path (None on error). The preset then goes by ``name``."""
        if self.preset is None:
            self.notify("error", "nothing to save yet: fit a recording or load a preset")
            return None
        if isinstance(tags, str):
            tags = tags.split(",")
        try:
            path = self.presets.save(self.preset, name, tags=tags, material=material)
        except (WorkbenchError, OSError) as err:
            self.notify("error", f"saving failed: {err}")
            return None
        self.refresh_library()
        self._saved = {"name": name.strip(), "tags": [t.strip() for t in tags if t and t.strip()],
                       "material": material.strip()}
        self.saved_name = name.strip()
        self.notify("success", f"saved preset {name!r} to {path}")
        return path

    def load_library_preset(self, name: str) -> Preset | None:
        """Make a library preset the one being edited: no edits on it, a fresh undo history."""
        try:
            preset = self.presets.load(name)
            render_size([preset])     # over the render budget: refused before any work
        except WorkbenchError as err:
            self.notify("error", str(err))
            return None
        with self.history.quiet():               # the preset holds the edits it was saved with
            self.controls.set_edits(Edits())
        self.record = None
        self._set_base(preset, f"library: {name}")     # a new preset: a fresh undo history
        self.notify("info", f"loaded preset {name!r}")
        return preset

    # -- A/B --------------------------------------------------------------------------
    def ab_label(self, which: str) -> str:
        """What A/B choice ``which`` is, in words."""
        if which == "fit":
            return f"fit of {self.current}" if self.current else "fit"
        if which == "base":
            return f"before edits ({self.base_source})" if self.base_source else "before edits"
        if which == "edited":
            return "edited"
        return f"library preset {which.removeprefix(LIBRARY)!r}"

    def resolve_preset(self, which: str) -> Preset | None:
        """'edited', 'base', 'fit' or 'library:NAME' (module docstring) -> the preset (None, notified, if none)."""
        if which in ("edited", "base"):
            p = self.preset if which == "edited" else self.base
            if p is None:
                self.notify("error", "A/B: nothing is being edited yet (fit a recording or load a preset)")
            return p
        if which == "fit":
            item = self.recording_state
            if item is None or item.record is None:
                self.notify("error", f"A/B: {self.current or 'no recording'} is not fitted yet (press Fit)")
                return None
            return item.record.preset
        try:
            return self.presets.load(which.removeprefix(LIBRARY))
        except WorkbenchError as err:
            self.notify("error", str(err))
            return None

    def compare(self) -> dict[str, Any]:
        """A/B: {a, b: (preset, (n_samples,) sound) or None, distance: float or None, same: str or None}.

        ``same`` says that A and B are one preset (or sound identical); ``distance`` is then
        None: there is nothing to measure.
        """
        out: dict[str, Any] = {"distance": None, "same": None}
        picked = {"a": self.ab_a, "b": self.ab_b}
        for slot, which in picked.items():
            p = self.resolve_preset(which)
            try:
                out[slot] = None if p is None else (p, self.renderer.render(p, ("all",))["all"])
            except WorkbenchError as err:     # over the render budget
                self.notify("error", str(err))
                out[slot] = None
        if not (out["a"] and out["b"]):
            return out
        (pa, xa), (pb, xb) = out["a"], out["b"]
        names = f"A ({self.ab_label(picked['a'])}) and B ({self.ab_label(picked['b'])})"
        if pa is pb or pa == pb:
            why = " - no edits yet" if {picked["a"], picked["b"]} == {"edited", "base"} else ""
            out["same"] = f"{names} are the same preset{why}: nothing to compare"
        elif xa.shape == xb.shape and np.array_equal(xa, xb):
            out["same"] = f"{names} sound identical"
        else:
            try:
                out["distance"] = distance(xa, xb)
            except WorkbenchError:
                pass
        return out

    # -- downloads and exports --------------------------------------------------------
    def named_preset(self) -> Preset | None:
        """The edited preset under the name (tags, material) it was last saved with."""
        if self.preset is None or not self._saved:
            return self.preset
        return self.preset.replace(**self._saved)

    def download_name(self, kind: str) -> str:
        """File name of a download: ``json``, ``wav`` (the edited sound) or an export (``tdw``, ``habitat``, ``faust``).

        Named after the preset (its saved name once saved); the WAV never has the shown recording's name.
        """
        name = self.saved_name or (self.preset.name if self.preset is not None else "")
        return download_names(name, self.current)[kind]

    def preset_json(self) -> bytes:
        preset = self.named_preset()
        if preset is None:
            raise WorkbenchError("no preset yet: fit a recording or load a preset")
        return (json.dumps(preset.to_dict(), indent=2) + "\n").encode("utf-8")

    def wav(self, part: str = "edited") -> bytes:
        if part not in self.audio:
            raise WorkbenchError(f"no {part} sound yet")
        return wav_bytes(self.audio[part], self.audio_rate)

    def export(self, to: str) -> bytes:
        preset = self.named_preset()
        if preset is None:
            raise WorkbenchError("no preset to export yet")
        return export_zip(preset, to)

    # -- variation banks ----------------------------------------------------------------
    def variation_model(self):
        """How strikes of the shown fit vary: learned from its recording when the fit has
        several strikes (`workbench.variations.learn_variation`), else the library prior."""
        from ..audio import resample
        from ..variations import MIN_STRIKES, learn_variation

        fitted = self.record.preset if self.record is not None else self.base
        if fitted is None:
            raise WorkbenchError("no preset yet: fit a recording or load a preset")
        item = self.recording_state
        if self.record is None or item is None or len(fitted.impacts) < MIN_STRIKES:
            return learn_variation(fitted)
        audio, sr = np.asarray(item.audio(), dtype=np.float64), item.recording.sample_rate
        if sr != fitted.sample_rate:
            audio, sr = resample(audio, sr, fitted.sample_rate), fitted.sample_rate
        return learn_variation(fitted, audio, sr)

    def variation_bank(self, n: int, **options):
        """A `workbench.banks.Bank` of ``n`` variations of the edited preset (options: `make_bank`'s)."""
        from ..banks import make_bank

        preset = self.named_preset()
        if preset is None:
            raise WorkbenchError("no preset yet: fit a recording or load a preset")
        return make_bank(preset, n, model=self.variation_model(), **options)
