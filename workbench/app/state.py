"""The workbench's single source of truth: a ``param.Parameterized`` model, no Panel.

`AppState` holds the loaded recordings, the fit settings and progress, the fit of each
recording, the slider edits and the rendered sounds. Views (Panel in the browser and
in JupyterLab) only display it and set its parameters; tests drive it directly.

`apply_edits` is the slider resynthesis as a pure function ``(Preset, Edits) -> Preset``.
Slider ranges are `workbench.specs.ParamSpec` data (`EDIT_SPECS`); every edited value
is clipped into the physical range of its spec in `workbench.specs`.

Threads: a fit runs on a worker thread (`services.FitJob`), which never touches this
object. The UI thread calls `AppState.poll_fit` (a periodic callback in the
dashboard, a loop in `wait_fit`) to copy the fit's progress into the parameters.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import param

from .. import specs
from ..errors import WorkbenchError
from ..edits import EDIT_FIELDS, EDIT_SPECS, IMPACT_PATTERNS, Edits, ModeEdit, apply_edits
from ..presets import Preset
from ..rendering import PartCache
from ..specs import ParamSpec
from . import services
from .services import FitRecord, Recording

def _number(spec: ParamSpec, **kw) -> param.Number:
    unit = f" ({spec.unit})" if spec.unit else ""
    return param.Number(default=spec.default, bounds=(spec.minimum, spec.maximum),
                        doc=spec.doc + unit, **kw)


class EditControls(param.Parameterized):
    """The resynthesis controls as parameters (bounds from `EDIT_SPECS`)."""

    pitch_semitones = _number(EDIT_SPECS["pitch_semitones"], label="Pitch (semitones)")
    decay_scale = _number(EDIT_SPECS["decay_scale"], label="Decay (x T60)")
    brightness_db_per_octave = _number(EDIT_SPECS["brightness_db_per_octave"], label="Brightness (dB/octave)")
    contact_scale = _number(EDIT_SPECS["contact_scale"], label="Contact time (x)")
    strength_db = _number(EDIT_SPECS["strength_db"], label="Impact strength (dB)")
    impact_pattern = param.Selector(default="fitted", objects=list(IMPACT_PATTERNS), label="Impacts",
                                    doc="Timing pattern: as fitted, one impact, regular repeats or a bounce.")
    impact_count = param.Integer(default=int(EDIT_SPECS["impact_count"].default),
                                 bounds=(int(EDIT_SPECS["impact_count"].minimum), int(EDIT_SPECS["impact_count"].maximum)),
                                 label="Number of impacts", doc=EDIT_SPECS["impact_count"].doc)
    impact_interval_s = _number(EDIT_SPECS["impact_interval_s"], label="Impact interval (s)")
    noise_db = _number(EDIT_SPECS["noise_db"], label="Noise level (dB)")
    reverb_db = _number(EDIT_SPECS["reverb_db"], label="Reverb amount (dB)")
    reverb_decay_scale = _number(EDIT_SPECS["reverb_decay_scale"], label="Reverb decay (x)")
    reverb_on = param.Boolean(default=True, label="Reverb", doc="Off removes the room reverb.")
    tool_on = param.Boolean(default=True, label="Tool", doc="Off removes the striking tool's modes.")
    modes = param.Parameter(default=(), doc="Per-mode edits (a tuple of ModeEdit) from the mode table.")

    FIELDS = EDIT_FIELDS

    @property
    def edits(self) -> Edits:
        return Edits(**{f: getattr(self, f) for f in self.FIELDS})

    def set_edits(self, edits: Edits) -> None:
        """Set every control at once (one batch of events)."""
        self.param.update(**{f: getattr(edits, f) for f in self.FIELDS})


# ---------------------------------------------------------------------------------------
# The application state
# ---------------------------------------------------------------------------------------

FIT_STATES = ("idle", "queued", "running", "done", "cancelled", "failed")


class AppState(param.Parameterized):
    """Everything one workbench session shows; views bind to these parameters.

    Args:
        presets_dir: The preset library folder (default `services.default_presets_dir`).
        max_upload_bytes: Cap on one uploaded file.
        fit_fn: The fitter (default `workbench.fitting.fit`; tests pass a stand-in).
    """

    # recordings
    recordings = param.List(default=[], item_type=Recording, doc="Loaded recordings (the library list).")
    current = param.String(default="", doc="Name of the recording on show.")
    selection = param.List(default=[], item_type=str, doc="Recordings selected for the next fit.")
    channel = param.Integer(default=None, allow_None=True, bounds=(0, None),
                            doc="Channel of the current recording (None: mix of all channels).")
    sensitivity = param.Number(default=0.5, bounds=(0.0, 1.0), label="Impact sensitivity",
                               doc="Detection sensitivity: an impact needs confidence >= 1 - sensitivity.")
    impacts = param.List(default=[], doc="Detected impacts of the current recording: (time_s, confidence).")

    # fit settings
    n_modes = param.Integer(default=32, bounds=(1, 256), label="Modes", doc="Number of object modes to fit.")
    steps = param.Integer(default=300, bounds=(1, 20000), label="Steps", doc="Optimisation steps of the fit.")
    joint = param.Boolean(default=False, label="Joint fit",
                          doc="Fit the selected recordings together (they share the object's modes).")
    tool_label = param.String(default="", label="Tool label", doc="What struck (e.g. steelfork).")
    object_label = param.String(default="", label="Object label", doc="What was struck (e.g. steelbowl).")
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed of the fit.")

    # fit progress
    fit_status = param.Selector(default="idle", objects=list(FIT_STATES), doc="State of the last fit.")
    fit_step = param.Integer(default=0, bounds=(0, None))
    fit_total = param.Integer(default=0, bounds=(0, None))
    fit_losses = param.List(default=[], doc="(step, loss) of the running or last fit.")
    fit_message = param.String(default="", doc="One line about the last fit.")
    results = param.Dict(default={}, doc="Fit of each recording by name (services.FitRecord).")

    # model and sound
    record = param.ClassSelector(class_=FitRecord, default=None, allow_None=True,
                                 doc="The fit of the current recording (None: unfitted).")
    base = param.ClassSelector(class_=Preset, default=None, allow_None=True,
                               doc="The preset being edited (a fit or a library preset), before edits.")
    base_source = param.String(default="", doc="Where the base preset came from.")
    controls = param.ClassSelector(class_=EditControls, doc="The resynthesis controls.")
    preset = param.ClassSelector(class_=Preset, default=None, allow_None=True,
                                 doc="The edited preset: apply_edits(base, controls.edits).")
    preview = param.ClassSelector(class_=Preset, default=None, allow_None=True,
                                  doc="Current estimate of a running fit of the shown recording (else None).")
    preview_step = param.Integer(default=0, bounds=(0, None), doc="Fit step of `preview`.")
    audio = param.Dict(default={}, doc="Sounds: original, fit, edited, object, tool (float32 arrays).")
    audio_rate = param.Integer(default=44100, doc="Sample rate of the sounds in `audio`.")
    render_ms = param.Number(default=0.0, doc="Time of the last edit -> sound update, in ms.")
    can_undo = param.Boolean(default=False)

    # presets
    presets_dir = param.String(default="", doc="The preset library folder.")
    library = param.List(default=[], item_type=str, doc="Names of the presets in the library.")
    ab_a = param.String(default="edited", doc="Preset A of the comparison ('edited', 'fit' or a library name).")
    ab_b = param.String(default="fit", doc="Preset B of the comparison.")

    message = param.Tuple(default=("info", "", 0), length=3,
                          doc="Latest notification: (level, text, serial); views show it.")

    #: Minimum time between two live previews of a running fit (s).
    PREVIEW_INTERVAL_S = 1.0
    #: The fitter reports (loss, current preset) every this many steps.
    REPORT_EVERY = 5

    def __init__(self, *, presets_dir: str | os.PathLike | None = None,
                 max_upload_bytes: int = services.DEFAULT_MAX_UPLOAD_BYTES, fit_fn=None, **params):
        params.setdefault("controls", EditControls())
        params.setdefault("presets_dir", str(presets_dir or services.default_presets_dir()))
        super().__init__(**params)
        self.max_upload_bytes = int(max_upload_bytes)
        self.renderer = PartCache()
        self._fit_fn = fit_fn
        self._settings: dict[str, dict[str, Any]] = {}
        self._history: list[Edits] = []
        self._last_edits = self.controls.edits
        self._restoring = False
        self._job: services.FitJob | None = None
        self._job_names: list[str] = []
        self._job_targets: list[np.ndarray] = []
        self._job_version = -1
        self._job_preview_t = 0.0
        self._base_before_fit: tuple | None = None
        self._serial = 0
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

    # -- notifications ------------------------------------------------------------------
    def notify(self, level: str, text: str) -> None:
        """Post a notification (level: info, success, warning, error) for the views."""
        self._serial += 1
        self.message = (level, text, self._serial)

    # -- recordings ---------------------------------------------------------------------
    @property
    def recording(self) -> Recording | None:
        return next((r for r in self.recordings if r.name == self.current), None)

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
        try:
            rec.mono(None)
            found = list(services.detect_recording(rec, None, self.sensitivity))
            ok, _ = services.detector_status()
            if ok and not found:
                raise WorkbenchError(f"{rec.name}: no impact found at sensitivity {self.sensitivity:.2f}; "
                                     "the workbench needs a struck sound (raise the impact sensitivity "
                                     "and load it again if it is one)")
        except WorkbenchError as err:
            self.notify("error", str(err))
            return None
        tool, obj = services.default_labels(rec.name)
        self._settings[name] = {"channel": None, "sensitivity": self.sensitivity, "impacts": found,
                                "tool": tool, "object": obj}
        if record is not None:
            self.results = {**self.results, name: record}
        self.recordings = [*self.recordings, rec]
        if select or not self.current:
            self.select(name)
        return rec

    def add_upload(self, name: str, payload: bytes | str | None) -> Recording | None:
        """Decode and add an uploaded file; a bad file posts an error and changes nothing."""
        try:
            rec = services.decode_recording(name, payload, max_bytes=self.max_upload_bytes)
        except WorkbenchError as err:
            self.notify("error", str(err))
            return None
        return self.add_recording(rec)

    def add_files(self, paths: Sequence[str | os.PathLike]) -> list[Recording]:
        """Read and add audio files; bad files post errors and are skipped."""
        added = []
        for p in paths:
            try:
                rec = services.read_recording(p)
            except WorkbenchError as err:
                self.notify("error", str(err))
                continue
            rec = self.add_recording(rec, select=not added)
            if rec is not None:
                added.append(rec)
        return added

    def load_demo(self) -> Recording | None:
        """Add the bundled demo recording with its shipped fit (if there is one)."""
        rec, record = services.demo()
        if record is None:
            ok, reason = services.fitter_status()
            self.notify("info", "the demo recording is not fitted yet: press Fit" if ok else
                        f"showing the demo recording unfitted ({reason})")
        return self.add_recording(rec, record=record)

    def remove_recording(self, name: str) -> None:
        self.recordings = [r for r in self.recordings if r.name != name]
        self.results = {k: v for k, v in self.results.items() if k != name}
        self.selection = [n for n in self.selection if n != name]
        self._settings.pop(name, None)
        if self.current == name:
            self.select(self.recordings[0].name if self.recordings else "")

    def select(self, name: str) -> None:
        """Show recording ``name`` (its channel, impacts, fit and sounds)."""
        s = self._settings.get(name)
        with param.parameterized.batch_call_watchers(self):
            self.current = name
            if s:
                self.param.update(channel=s["channel"], sensitivity=s["sensitivity"], impacts=s["impacts"],
                                  tool_label=s["tool"], object_label=s["object"])
            else:
                self.impacts = []
            if name and name not in self.selection:
                self.selection = [name]
        self._show_record(self.results.get(name))

    def _show_record(self, record: FitRecord | None) -> None:
        self.record = record
        if record is not None:
            extra = " (cancelled: best so far)" if record.cancelled else ""
            self._set_base(record.preset, f"{record.source} of {self.current}{extra}")
        elif self.base_source.startswith("library"):
            self._refresh_audio()
        else:
            self._set_base(None, "")

    @param.depends("channel", watch=True)
    def _on_channel(self):
        s = self._settings.get(self.current)
        if s is None or s["channel"] == self.channel:
            return
        rec = self.recording
        try:
            rec.mono(self.channel)
        except WorkbenchError as err:
            self.notify("error", str(err))
            self.channel = s["channel"]
            return
        s["channel"] = self.channel
        self._detect()
        self._refresh_audio()

    @param.depends("sensitivity", watch=True)
    def _on_sensitivity(self):
        s = self._settings.get(self.current)
        if s is None or s["sensitivity"] == self.sensitivity:
            return
        s["sensitivity"] = self.sensitivity
        self._detect()

    @param.depends("tool_label", "object_label", watch=True)
    def _on_labels(self):
        s = self._settings.get(self.current)
        if s is not None:
            s["tool"], s["object"] = self.tool_label, self.object_label

    def _detect(self):
        rec, s = self.recording, self._settings.get(self.current)
        if rec is None or s is None:
            return
        try:
            s["impacts"] = list(services.detect_recording(rec, self.channel, self.sensitivity))
        except WorkbenchError as err:
            self.notify("error", str(err))
            s["impacts"] = []
        self.impacts = s["impacts"]

    def target(self) -> tuple[np.ndarray, int] | None:
        """The sound the fit is compared with: the fit's target clip, else the recording."""
        if self.record is not None and self.record.target.size:
            return self.record.target, self.record.sample_rate
        rec = self.recording
        return (rec.mono(self.channel), rec.sample_rate) if rec is not None else None

    # -- edits and sound ----------------------------------------------------------------
    def _set_base(self, preset: Preset | None, source: str, *, keep_mode_edits: bool = False) -> None:
        if not keep_mode_edits and self.controls.modes and preset is not self.base:
            self._restoring = True
            try:
                self.controls.modes = ()
            finally:
                self._restoring = False
            self._last_edits = self.controls.edits
        self.base_source = source
        self.base = preset
        self._refresh_audio()

    def _on_edit(self, *events) -> None:
        if not self._restoring:
            self._history.append(self._last_edits)
            del self._history[:-200]
        self._last_edits = self.controls.edits
        self.can_undo = bool(self._history)
        self._refresh_audio(edits_only=True)

    def _render_duration(self) -> float | None:
        if self.record is not None and self.record.target.size and self.base is self.record.preset:
            return self.record.target.size / self.record.sample_rate
        return None

    def _refresh_audio(self, *, edits_only: bool = False) -> None:
        """Recompute the edited preset and every sound that changed (few ms per part)."""
        t0 = time.perf_counter()
        audio = dict(self.audio)
        rec = self.recording
        if not edits_only:
            if rec is not None:
                try:
                    audio["original"] = rec.mono(self.channel)
                    self.audio_rate = rec.sample_rate
                except WorkbenchError:
                    audio.pop("original", None)
            else:
                audio.pop("original", None)
        if self.base is None:
            self.preset = None
            for k in ("fit", "edited", "object", "tool"):
                audio.pop(k, None)
        else:
            try:
                edited = apply_edits(self.base, self.controls.edits)
            except WorkbenchError as err:
                self.notify("error", f"edit not applied: {err}")
                return
            dur, sr = self._render_duration(), self.base.sample_rate
            if not edits_only or "fit" not in audio:
                audio["fit"] = self.renderer.render(self.base, ("all",), duration_s=dur)["all"]
            audio.update({("edited" if k == "all" else k): v
                          for k, v in self.renderer.render(edited, duration_s=dur).items()})
            self.audio_rate = sr
            self.preset = edited
        if edits_only:
            self.render_ms = (time.perf_counter() - t0) * 1e3
        self.audio = audio

    def preview_audio(self) -> np.ndarray | None:
        """The running fit's current estimate, rendered like its target (None when not fitting)."""
        if self.preview is None:
            return None
        tgt = self.target()
        dur = None if tgt is None else tgt[0].size / tgt[1]
        return self.renderer.render(self.preview, ("all",), duration_s=dur)["all"]

    def set_mode(self, body: str, index: int, **values) -> None:
        """Edit one mode from the table: freq_hz, t60_s, gain_db (absolute) or enabled."""
        bad = set(values) - {"freq_hz", "t60_s", "gain_db", "enabled"}
        if bad:
            raise WorkbenchError(f"mode edit: unknown field(s) {', '.join(sorted(bad))}")
        for key, spec in (("freq_hz", specs.FREQ_HZ), ("t60_s", specs.T60_S), ("gain_db", specs.GAIN_DB)):
            if values.get(key) is not None and not spec.contains(float(values[key])):
                self.notify("error", f"mode {index}: {key} {values[key]} is outside "
                                     f"[{spec.minimum:g}, {spec.maximum:g}] {spec.unit}")
                return
        modes = {(m.body, m.index): m for m in self.controls.modes}
        old = modes.get((body, index), ModeEdit(body=body, index=index))
        modes[(body, index)] = dataclasses.replace(old, **values)
        self.controls.modes = tuple(sorted(modes.values(), key=lambda m: (m.body, m.index)))

    def mode_table(self) -> list[dict[str, Any]]:
        """Rows of the mode table: base values with the per-mode edits, plus 'on'."""
        if self.base is None:
            return []
        edits = {(m.body, m.index): m for m in self.controls.modes}
        rows = []
        for row in services.mode_rows(self.base):
            e = edits.get((row["body"], row["index"]))
            if e is not None:
                row.update({k: getattr(e, k) for k in ("freq_hz", "t60_s", "gain_db") if getattr(e, k) is not None})
            row["on"] = True if e is None else e.enabled
            rows.append(row)
        return rows

    def undo(self) -> None:
        """Undo the last edit (slider move or mode-table change)."""
        if not self._history:
            return
        prev = self._history.pop()
        self._restoring = True
        try:
            self.controls.set_edits(prev)
        finally:
            self._restoring = False
        self.can_undo = bool(self._history)

    def reset_edits(self) -> None:
        """Back to the unedited preset (undoable)."""
        self.controls.set_edits(Edits())

    # -- fitting ------------------------------------------------------------------------
    @property
    def fitting(self) -> bool:
        return self._job is not None and self.fit_status in ("queued", "running")

    def fit_labels(self, names: Sequence[str]) -> list[dict[str, str]]:
        """Tool/object labels of recordings (from the label fields; default: the file names)."""
        return [{"tool": self._settings.get(n, {}).get("tool", "").strip(),
                 "object": self._settings.get(n, {}).get("object", "").strip()} for n in names]

    def start_fit(self) -> bool:
        """Fit the selected recordings (jointly when `joint`) on a worker thread.

        Returns False (with a notification) when nothing can be fitted. Call
        `poll_fit` from the UI thread to follow it.
        """
        if self.fitting:
            self.notify("warning", "a fit is already running; cancel it first")
            return False
        names = [n for n in (self.selection or [self.current]) if n in self.names()]
        if not names:
            self.notify("error", "load a recording first (drop a file on the page)")
            return False
        if not self.joint:
            names = [self.current if self.current in names else names[0]]
        clips = []
        for n in names:
            rec = next(r for r in self.recordings if r.name == n)
            clips.append((np.array(rec.mono(self._settings[n]["channel"])), rec.sample_rate))
        options = dict(n_modes=self.n_modes, steps=self.steps, seed=self.seed, sensitivity=self.sensitivity,
                       joint=bool(self.joint and len(names) > 1), report_every=self.REPORT_EVERY)
        labels = self.fit_labels(names)
        if all(lab["object"] for lab in labels):
            # the fitter names array clips clip0, clip1, ...; labels imply tool/object separation
            options["labels"] = {f"clip{i}": (lab["tool"] or None, lab["object"]) for i, lab in enumerate(labels)}
        self._job_targets = [c[0] for c in clips]
        self._base_before_fit = (self.base, self.base_source, self.record)
        self._job = services.FitJob(clips, fit_fn=self._fit_fn, **options)
        self._job_names, self._job_version, self._job_preview_t = names, -1, 0.0
        self.param.update(fit_status="queued", fit_step=0, fit_total=self.steps, fit_losses=[],
                          fit_message=f"fit of {', '.join(names)} queued")
        return True

    def cancel_fit(self) -> None:
        """Stop the running fit; the fitter returns the best result so far."""
        if self._job is not None and not self._job.finished:
            self._job.cancel()
            self.fit_message = "cancelling: keeping the best result so far..."

    def poll_fit(self) -> bool:
        """Copy the running fit's progress into the parameters; True while it runs."""
        job = self._job
        if job is None:
            return False
        snap = job.snapshot()
        if snap.version == self._job_version:
            return not job.finished
        self._job_version = snap.version
        names = self._job_names
        if snap.status in ("queued", "running"):
            self.param.update(fit_status=snap.status, fit_step=snap.step, fit_total=snap.total_steps or self.steps,
                              fit_losses=snap.losses,
                              fit_message=(f"step {snap.step}/{snap.total_steps} - loss {snap.losses[-1][1]:.4g}"
                                           if snap.losses else f"fit of {', '.join(names)} {snap.status}"))
            now = time.perf_counter()
            if (snap.preset is not None and names and names[0] == self.current
                    and now - self._job_preview_t >= self.PREVIEW_INTERVAL_S):
                self._job_preview_t = now
                self.preview_step = snap.step
                self.preview = snap.preset          # plots follow; players wait for the result
            return True
        # finished
        self._job = None
        self.preview = None
        if snap.status == "failed" or snap.result is None:
            before = self._base_before_fit
            if before is not None:     # leave the last good result on screen
                self.record = before[2]
                self._set_base(before[0], before[1])
            msg = snap.error or "the fit was cancelled before it started"
            # the fitter names array clips clip0, clip1...: say which recording it was
            msg = re.sub(r"\bclip(\d+)\b", lambda m: names[int(m.group(1))] if int(m.group(1)) < len(names)
                         else m.group(0), msg)
            self.param.update(fit_status="failed" if snap.status == "failed" else "cancelled",
                              fit_losses=snap.losses, fit_message=msg)
            self.notify("error" if snap.status == "failed" else "warning", msg)
            return False
        result = snap.result
        new = dict(self.results)
        for i, n in enumerate(names):
            try:
                new[n] = services.record_from_result(result, i, full_target=self._job_targets[i], name=n)
            except (IndexError, AttributeError) as err:
                self.notify("error", f"fit result for {n} unreadable: {err}")
        losses = list(enumerate(new[names[0]].loss_history)) if names[0] in new else snap.losses
        self.results = new
        dist = new[names[0]].distance if names[0] in new else None
        cancelled = snap.status == "cancelled"
        text = (f"fit {'cancelled, kept the best result' if cancelled else 'done'}: {', '.join(names)} - "
                f"{len(losses)} steps" + (f", spectral distance {dist:.3f}" if dist is not None else "")
                + f" ({snap.elapsed_s:.1f} s)")
        self.param.update(fit_status=snap.status, fit_losses=losses,
                          fit_step=snap.step or len(losses), fit_message=text)
        if self.current in new:
            self._show_record(new[self.current])
        self.notify("warning" if cancelled else "success", text)
        return False

    def wait_fit(self, timeout: float = 600.0, poll_s: float = 0.1) -> str:
        """Block until the fit ends (notebooks, tests); returns the final `fit_status`."""
        deadline = time.monotonic() + timeout
        while self.poll_fit():
            if time.monotonic() > deadline:
                self.cancel_fit()
                deadline = time.monotonic() + 60
            time.sleep(poll_s)
        return self.fit_status

    # -- presets ------------------------------------------------------------------------
    @property
    def presets(self) -> services.PresetLibrary:
        return services.PresetLibrary(self.presets_dir)

    @param.depends("presets_dir", watch=True)
    def refresh_library(self) -> None:
        self.library = self.presets.names()

    def save_preset(self, name: str, *, tags: str | Sequence[str] = (), material: str = "") -> Path | None:
        """Save the edited preset to the library; returns the path (None on error)."""
        if self.preset is None:
            self.notify("error", "nothing to save yet: fit a recording or load a preset")
            return None
        if isinstance(tags, str):
            tags = [t for t in tags.split(",")]
        try:
            path = self.presets.save(self.preset, name, tags=tags, material=material)
        except (WorkbenchError, OSError) as err:
            self.notify("error", f"saving failed: {err}")
            return None
        self.refresh_library()
        self.notify("success", f"saved preset {name!r} to {path}")
        return path

    def load_library_preset(self, name: str) -> Preset | None:
        """Make a library preset the one being edited."""
        try:
            preset = self.presets.load(name)
        except WorkbenchError as err:
            self.notify("error", str(err))
            return None
        self.record = None
        self._set_base(preset, f"library: {name}")
        self.notify("info", f"loaded preset {name!r}")
        return preset

    def resolve_preset(self, which: str) -> Preset | None:
        """'edited', 'fit' or a library name -> the preset (None if there is none)."""
        if which == "edited":
            return self.preset
        if which == "fit":
            return self.base
        try:
            return self.presets.load(which)
        except WorkbenchError as err:
            self.notify("error", str(err))
            return None

    def compare(self) -> dict[str, Any]:
        """A/B: the two presets' sounds and their spectral distance."""
        out: dict[str, Any] = {}
        for slot, which in (("a", self.ab_a), ("b", self.ab_b)):
            p = self.resolve_preset(which)
            out[slot] = None if p is None else (p, self.renderer.render(p, ("all",))["all"])
        if out["a"] and out["b"]:
            try:
                out["distance"] = services.distance(out["a"][1], out["b"][1])
            except WorkbenchError:
                out["distance"] = None
        return out

    def preset_json(self) -> bytes:
        if self.preset is None:
            raise WorkbenchError("no preset yet: fit a recording or load a preset")
        return (json.dumps(self.preset.to_dict(), indent=2) + "\n").encode("utf-8")

    def wav(self, part: str = "edited") -> bytes:
        if part not in self.audio:
            raise WorkbenchError(f"no {part} sound yet")
        return services.wav_bytes(self.audio[part], self.audio_rate)

    def export(self, to: str) -> bytes:
        if self.preset is None:
            raise WorkbenchError("no preset to export yet")
        return services.export_zip(self.preset, to)
