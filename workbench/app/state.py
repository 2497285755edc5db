"""The workbench's single source of truth: a ``param.Parameterized`` model, no Panel.

`AppState` holds the loaded recordings (one `workbench.app.recordings.RecordingState`
each: the recording, its channel, detection sensitivity, impacts, tool/object labels
and fit), the fit settings and progress, the slider edits and the rendered sounds. Views (Panel in the
browser and in JupyterLab) only display it and set its parameters; tests drive it
directly. The ``channel``, ``sensitivity``, ``impacts``, ``tool_label`` and
``object_label`` parameters are those of the recording on show: setting one writes it
to that recording's `RecordingState`, and `AppState.select` loads another's.

Slider edits go through `workbench.app.edit_controls.EditControls` and
`workbench.edits.apply_edits`; the sounds come from one `workbench.rendering.PartCache`
per session, so an edit re-renders only the parts it touches. Undo keeps one
`workbench.app.history.EditHistory` per preset being edited (a new preset, recording
or fit starts a fresh one). The preset library, A/B comparison, downloads and exports
are `workbench.app.preset_actions.PresetActions`, the sound map
`workbench.app.map_actions.MapActions`, both mixed into `AppState`.

Threads: fits run on shared workers (`workbench.app.jobs`), which never touch this
object; `workbench.app.fit_control.FitController` copies their progress into the
parameters on the UI thread (`AppState.poll_fit`: a periodic callback in the dashboard,
a loop in `wait_fit`).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import param

from ..edits import Edits, apply_edits
from ..errors import WorkbenchError
from ..families import family_of, with_family_params
from ..fitting.settings import N_MODES, SENSITIVITY, STEPS
from ..presets import Preset
from ..rendering import PartCache
from .demo import demo
from .edit_controls import EditControls, FamilyControls, family_controls, integer_param, number_param
from .fit_control import FIT_STATES, FitController
from .history import EditHistory, slider_values
from .jobs import fitter_status
from .map_actions import MapActions
from .preset_actions import PresetActions
from .preset_library import default_presets_dir
from .recordings import (DEFAULT_MAX_UPLOAD_BYTES, Recording, RecordingState, decode_recording,
                         check_session_room, default_labels, detector_status, forget, read_recording)
from .records import FitRecord


class AppState(PresetActions, MapActions, param.Parameterized):
    """Everything one workbench session shows; views bind to these parameters.

    Args:
        presets_dir: The preset library folder (default `preset_library.default_presets_dir`).
        max_upload_bytes: Cap on one uploaded file.
        fit_fn: The fitter (default `workbench.fitting.fit`; tests pass a stand-in).
    """

    # recordings
    recordings = param.List(default=[], item_type=RecordingState, doc="Loaded recordings (the library list).")
    current = param.String(default="", doc="Name of the recording on show.")
    selection = param.List(default=[], item_type=str, doc="Recordings selected for the next fit.")
    channel = param.Integer(default=None, allow_None=True, bounds=(0, None),
                            doc="Channel of the recording on show (None: mix of all channels).")
    sensitivity = number_param(SENSITIVITY, label="Impact sensitivity")
    impacts = param.List(default=[], doc="Detected impacts of the recording on show: (time_s, confidence).")
    tool_label = param.String(default="", label="Tool label", doc="What struck (e.g. steelfork).")
    object_label = param.String(default="", label="Object label", doc="What was struck (e.g. steelbowl).")

    # fit settings (defaults and bounds: workbench.fitting.settings, like `workbench fit`)
    n_modes = integer_param(N_MODES, label="Modes")
    steps = integer_param(STEPS, label="Steps")
    joint = param.Boolean(default=False, label="Joint fit",
                          doc="Fit the selected recordings together (they share the object's modes).")
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed of the fit.")

    # fit progress (written by `FitController` on the UI thread)
    fit_status = param.Selector(default="idle", objects=list(FIT_STATES), doc="State of the last fit.")
    fit_step = param.Integer(default=0, bounds=(0, None))
    fit_total = param.Integer(default=0, bounds=(0, None))
    fit_losses = param.List(default=[], doc="(step, loss) of the running fit, or of the last fit of the "
                                            "recording on show (reset when another is shown).")
    fit_message = param.String(default="", doc="One line about the running fit or the shown recording's last fit.")
    preview = param.ClassSelector(class_=Preset, default=None, allow_None=True,
                                  doc="Current estimate of a running fit of the shown recording (else None).")
    preview_step = param.Integer(default=0, bounds=(0, None), doc="Fit step of `preview`.")
    instant_match = param.Boolean(default=os.environ.get("WORKBENCH_INSTANT_MATCH", "1") != "0",
                                  doc="A dropped recording shows the impact encoder's match at once and Fit "
                                      "refines it (`FitController.instant`; env WORKBENCH_INSTANT_MATCH=0: off).")

    # model and sound
    record = param.ClassSelector(class_=FitRecord, default=None, allow_None=True,
                                 doc="The fit on show (None: unfitted, or a library preset).")
    base = param.ClassSelector(class_=Preset, default=None, allow_None=True,
                               doc="The preset being edited (a fit or a library preset), before edits.")
    base_source = param.String(default="", doc="Where the base preset came from.")
    controls = param.ClassSelector(class_=EditControls, doc="The resynthesis controls.")
    family = param.ClassSelector(class_=FamilyControls, default=None, allow_None=True,
                                 doc="The base preset's model family parameters (`workbench.families`); "
                                     "None when it has none. Moving one recomputes the base preset.")
    preset = param.ClassSelector(class_=Preset, default=None, allow_None=True,
                                 doc="The edited preset: apply_edits(base, controls.edits).")
    audio = param.Dict(default={}, doc="Sounds: original, fit, edited, object, tool, residual "
                                       "((n_samples,) float32).")
    audio_rate = param.Integer(default=44100, doc="Sample rate of the sounds in `audio` (Hz).")
    render_ms = param.Number(default=0.0, doc="Time of the last edit -> sound update, in ms.")
    can_undo = param.Boolean(default=False)

    # presets
    presets_dir = param.String(default="", doc="The preset library folder.")
    library = param.List(default=[], item_type=str, doc="Names of the presets in the library.")
    ab_a = param.String(default="edited", doc="Preset A of the comparison: 'edited', 'base' (before edits), "
                                              "'fit' (the shown recording's) or 'library:NAME' (`preset_actions`).")
    ab_b = param.String(default="fit", doc="Preset B of the comparison.")
    saved_name = param.String(default="", doc="Name the edited preset was last saved under ('' : not saved); "
                                              "its downloads and exports carry it.")

    message = param.Tuple(default=("info", "", 0), length=3,
                          doc="Latest notification: (level, text, serial); views show it.")

    def __init__(self, *, presets_dir: str | os.PathLike | None = None,
                 max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, fit_fn=None, **params):
        params.setdefault("controls", EditControls())
        params.setdefault("presets_dir", str(presets_dir or default_presets_dir()))
        super().__init__(**params)
        self.max_upload_bytes = int(max_upload_bytes)
        self.renderer = PartCache()
        self.fits = FitController(self, fit_fn)
        self.history = EditHistory(self._snapshot())
        self._saved: dict[str, Any] = {}
        self._serial = 0
        self._message_about: tuple[str, ...] = ()
        self.controls.param.watch(self._on_edit, list(EditControls.FIELDS))
        self.refresh_library()

    @classmethod
    def open(cls, files: Sequence[str | os.PathLike] = (), **kwargs) -> "AppState":
        """A new session: the given recordings, or the bundled demo (with its shipped fit)."""
        state = cls(**kwargs)
        if files:
            state.add_files(files)
        if not state.recordings:
            state.load_demo()
        return state

    def close(self) -> None:
        """End the session: cancel its fit, drop its recordings, sounds and cached data (no view updates)."""
        self.fits.close()
        for item in self.recordings:
            if item.recording.source == "upload":   # shared ones (demo, command line) stay cached
                forget(item.recording)
        with param.parameterized.discard_events(self):
            self.param.update(recordings=[], current="", selection=[], impacts=[], record=None, base=None,
                              family=None, preset=None, preview=None, audio={})
        self.renderer.clear()
        self.history.restart(self._snapshot())

    def notify(self, level: str, text: str, *, about: Sequence[str] = ()) -> None:
        """Post a notification (level: info, success, warning, error); ``text`` is plain text, the views escape it.

        ``about``: the recordings it concerns (a fit's result); showing another recording clears it.
        """
        self._serial += 1
        self._message_about = tuple(about)
        self.message = (level, text, self._serial)

    def clear_message(self) -> None:
        """Withdraw the latest notification (the views hide it)."""
        self.notify("info", "")

    # -- recordings ---------------------------------------------------------------------
    def state_of(self, name: str) -> RecordingState | None:
        return next((r for r in self.recordings if r.name == name), None)

    @property
    def recording_state(self) -> RecordingState | None:
        """The `RecordingState` on show."""
        return self.state_of(self.current)

    @property
    def recording(self) -> Recording | None:
        """The recording on show."""
        item = self.recording_state
        return None if item is None else item.recording

    @property
    def results(self) -> dict[str, FitRecord]:
        """The fit of each fitted recording, by name."""
        return {r.name: r.record for r in self.recordings if r.record is not None}

    def names(self) -> list[str]:
        return [r.name for r in self.recordings]

    def _unique(self, name: str) -> str:
        names, out, i = set(self.names()), name, 2
        while out in names:
            out, i = f"{Path(name).stem} ({i}){Path(name).suffix}", i + 1
        return out

    def add_recording(self, rec: Recording, *, select: bool = True, record: FitRecord | None = None) -> Recording | None:
        """Add a decoded recording (rejects one with no impact at the current sensitivity)."""
        name = self._unique(rec.name)
        if name != rec.name:
            rec = dataclasses.replace(rec, name=name)
        item = RecordingState(rec, sensitivity=self.sensitivity, record=record)
        try:
            check_session_room([r.recording for r in self.recordings], rec)
            item.detect()
            if detector_status()[0] and not item.impacts:
                raise WorkbenchError(f"{rec.name}: no impact found at sensitivity {self.sensitivity:.2f}; "
                                     "the workbench needs a struck sound (raise the impact sensitivity "
                                     "and load it again if it is one)")
        except WorkbenchError as err:
            self.notify("error", str(err))
            return None
        item.tool, item.object = default_labels(rec.name)
        self.recordings = [*self.recordings, item]
        if select or not self.current:
            self.select(name)
        return rec

    def add_upload(self, name: str, payload: bytes | str | None) -> Recording | None:
        """Decode and add an uploaded file; a bad file posts an error and changes nothing."""
        try:
            rec = decode_recording(name, payload, max_bytes=self.max_upload_bytes)
        except WorkbenchError as err:
            self.notify("error", str(err))
            return None
        rec = self.add_recording(rec)
        if rec is not None:         # replaces an earlier upload's error
            self.notify("success", f"loaded {rec.name} ({rec.duration_s:.1f} s, {len(self.impacts)} impact(s))")
            if self.instant_match and not self.fitting:
                self.fits.instant(self.state_of(rec.name))
        return rec

    def add_files(self, paths: Sequence[str | os.PathLike]) -> list[Recording]:
        """Read and add audio files; bad files post errors and are skipped."""
        added = []
        for p in paths:
            try:
                rec = read_recording(p)
            except WorkbenchError as err:
                self.notify("error", str(err))
                continue
            rec = self.add_recording(rec, select=not added)
            if rec is not None:
                added.append(rec)
        return added

    def load_demo(self) -> Recording | None:
        """Add the bundled demo recording with its shipped fit (if there is one)."""
        rec, record = demo()
        if record is None:
            ok, reason = fitter_status()
            self.notify("info", "the demo recording is not fitted yet: press Fit" if ok else
                        f"showing the demo recording unfitted ({reason})")
        return self.add_recording(rec, record=record)

    def remove_recording(self, name: str) -> None:
        self.recordings = [r for r in self.recordings if r.name != name]
        self.selection = [n for n in self.selection if n != name]
        if self.current == name:
            self.select(self.recordings[0].name if self.recordings else "")

    def select(self, name: str) -> None:
        """Show recording ``name`` (its channel, impacts, labels, fit and sounds).

        Another recording brings its own fit status and loss (unless a fit is running), drops
        a notification about other recordings' fits and starts a fresh undo history.
        """
        item = self.state_of(name)
        other = name != self.current
        with param.parameterized.batch_call_watchers(self):
            self.current = name
            if other and not self.fitting:
                self.param.update(fit_status="idle", fit_step=0, fit_total=0, fit_losses=[], fit_message="")
            if item is not None:
                self.param.update(channel=item.channel, sensitivity=item.sensitivity, impacts=list(item.impacts),
                                  tool_label=item.tool, object_label=item.object)
            else:
                self.impacts = []
            if name and name not in self.selection:
                self.selection = [name]
        if other and self._message_about and name not in self._message_about:
            self.clear_message()
        self.show_record(None if item is None else item.record)
        if other:
            self._fresh_history()

    def show_record(self, record: FitRecord | None) -> None:
        """Show ``record`` as the fit of the current recording (None: unfitted)."""
        self.record = record
        if record is not None:
            extra = " (cancelled: best so far)" if record.cancelled else ""
            self._set_base(record.preset, f"{record.source} of {self.current}{extra}")
        elif self.base_source.startswith("library"):
            self._refresh_audio()
        else:
            self._set_base(None, "")

    @param.depends("channel", "sensitivity", "tool_label", "object_label", watch=True)
    def _on_recording_settings(self) -> None:
        """Write the shown recording's settings to its `RecordingState` (detect again if needed)."""
        item = self.recording_state
        if item is None:
            return
        item.tool, item.object = self.tool_label, self.object_label
        new_channel = self.channel != item.channel
        if not new_channel and self.sensitivity == item.sensitivity:
            return
        if new_channel:
            try:
                item.recording.mono(self.channel)
            except WorkbenchError as err:
                self.notify("error", str(err))
                self.channel = item.channel
                return
        item.channel, item.sensitivity = self.channel, self.sensitivity
        try:
            item.detect()
        except WorkbenchError as err:
            self.notify("error", str(err))
            item.impacts = ()
        self.impacts = list(item.impacts)
        if new_channel:
            self._refresh_audio()

    def target(self) -> tuple[np.ndarray, int] | None:
        """(audio, sample_rate) the fit is compared with: the fit's target clip, else the recording."""
        if self.record is not None and self.record.target.size:
            return self.record.target, self.record.sample_rate
        item = self.recording_state
        return None if item is None else (item.audio(), item.recording.sample_rate)

    # -- edits and sound ----------------------------------------------------------------
    def _set_base(self, preset: Preset | None, source: str) -> None:
        new = preset is not self.base
        if new and self.controls.modes:            # mode edits belong to one preset
            with self.history.quiet():
                self.controls.modes = ()
        self.base_source = source
        self.base = preset
        if new:                                    # a new preset: its own history and name
            self._saved = {}
            self.saved_name = ""
            self._fresh_history()
            self._set_family(preset)
        self._refresh_audio()

    def _set_family(self, preset: Preset | None) -> None:
        family = None if preset is None else family_of(preset)
        controls = None if family is None else family_controls(family, preset.model.params)
        if controls is not None:
            controls.param.watch(self._on_family, [c.display.name for c in family.controls])
        self.family = controls

    def _on_family(self, *events) -> None:
        """A family parameter moved: the base preset's modes are recomputed (the edits stay on
        top, except per-mode edits, which belong to the old modes); undoable like an edit."""
        t0 = time.perf_counter()
        before = self.history.current
        try:
            base = with_family_params(self.base, **self.family.params())
        except WorkbenchError as err:
            self.notify("error", f"model not changed: {err}")
            return
        if self.controls.modes:                    # mode edits belong to the old modes
            with self.history.quiet():
                self.controls.modes = ()
        self.base = base
        self.history.changed(self._snapshot(), before=before)
        self.can_undo = bool(self.history)
        self._refresh_audio()
        self.render_ms = (time.perf_counter() - t0) * 1e3

    def _snapshot(self) -> tuple[Edits, tuple[tuple[str, float], ...] | None]:
        """What Undo goes back to: the edits and the family sliders (`history.slider_values`)."""
        return self.controls.edits, slider_values(self.family)

    def _fresh_history(self) -> None:
        self.history.restart(self._snapshot())
        self.can_undo = False

    def _on_edit(self, *events) -> None:
        self.history.changed(self._snapshot())
        self.can_undo = bool(self.history)
        self._refresh_audio(edits_only=True)

    def _render_duration(self) -> float | None:
        if self.record is not None and self.record.target.size and self.base is self.record.preset:
            return self.record.target.size / self.record.sample_rate
        return None

    def _refresh_audio(self, *, edits_only: bool = False) -> None:
        """Recompute the edited preset and every sound that changed (few ms per part)."""
        t0 = time.perf_counter()
        audio = dict(self.audio)
        item = self.recording_state
        if not edits_only:
            audio.pop("original", None)
            if item is not None:
                try:
                    audio["original"] = item.audio()
                    self.audio_rate = item.recording.sample_rate
                except WorkbenchError:
                    pass
        if self.base is None:
            self.preset = None
            for k in ("fit", "edited", "object", "tool", "residual"):
                audio.pop(k, None)
        else:
            try:
                edited = apply_edits(self.base, self.controls.edits)
            except WorkbenchError as err:
                self.notify("error", f"edit not applied: {err}")
                return
            dur = self._render_duration()
            try:
                if not edits_only or "fit" not in audio:
                    audio["fit"] = self.renderer.render(self.base, ("all",), duration_s=dur)["all"]
                audio.update({("edited" if k == "all" else k): v
                              for k, v in self.renderer.render(edited, duration_s=dur).items()})
            except WorkbenchError as err:      # over the render budget: say so, keep the last sounds
                self.notify("error", str(err))
                return
            self.audio_rate = self.base.sample_rate
            self.preset = edited
        if edits_only:
            self.render_ms = (time.perf_counter() - t0) * 1e3
        self.audio = audio

    def preview_audio(self) -> np.ndarray | None:
        """(n_samples,) the running fit's current estimate, rendered like its target (None when not fitting)."""
        if self.preview is None:
            return None
        tgt = self.target()
        dur = None if tgt is None else tgt[0].size / tgt[1]
        return self.renderer.render(self.preview, ("all",), duration_s=dur)["all"]

    def set_mode(self, body: str, index: int, **values) -> None:
        """Edit one mode from the table (`EditControls.set_mode`); a value out of range is notified."""
        try:
            self.controls.set_mode(body, index, **values)
        except WorkbenchError as err:
            self.notify("error", str(err))

    def mode_table(self) -> list[dict[str, Any]]:
        """Rows of the mode table: the base preset's modes with the per-mode edits, plus 'on'."""
        return [] if self.base is None else self.controls.mode_table(self.base)

    def undo(self) -> None:
        """Undo the last edit (slider move, family slider move or mode-table change)."""
        prev = self.history.pop()
        if prev is None:
            return
        edits, family = prev
        with self.history.quiet():
            if family is not None and self.family is not None:
                self.family.param.update(**dict(family))      # a moved slider recomputes the modes (`_on_family`)
            self.controls.set_edits(edits)
            self.history.changed(self._snapshot())          # quiet: the new "now", nothing recorded
        self.can_undo = bool(self.history)

    def reset_edits(self) -> None:
        """Back to the unedited preset (undoable)."""
        self.controls.set_edits(Edits())

    # -- fitting (`FitController` does the work) ------------------------------------------
    @property
    def fitting(self) -> bool:
        return self.fits.running

    def start_fit(self) -> bool:
        """Fit the selected recordings (jointly when `joint`) on the workers; False (notified) if none."""
        return self.fits.start()

    def cancel_fit(self) -> None:
        """Stop the running fit; the fitter returns the best result so far."""
        self.fits.cancel()

    def poll_fit(self) -> bool:
        """Copy the running fit's progress into the parameters; True while it runs."""
        return self.fits.poll()

    def wait_fit(self, timeout: float = 600.0, poll_s: float = 0.1) -> str:
        """Block until the fit ends (notebooks, tests); returns how it ended: done, cancelled or failed."""
        return self.fits.wait(timeout, poll_s)

    # -- presets (the rest: `PresetActions`) ----------------------------------------------
    @param.depends("presets_dir", watch=True)
    def refresh_library(self) -> None:
        self.library = self.presets.names()
