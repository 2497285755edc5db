"""Fit control of one session: start a fit of the selected recordings, follow it, cancel it.

`FitController` lives on the UI thread. `start` sends the recordings to a `jobs.FitJob`
as `workbench.fitting.Clip` objects named after the recordings, with tool/object labels
keyed by those names; `poll` copies the job's snapshot into the `AppState` fit
parameters (fit_status, fit_step, fit_losses, fit_message, preview) and, when the fit
ends, stores a `FitRecord` in each fitted recording's `RecordingState`.

A fit that ends shows as done with every step it ran done (``fit_step == fit_total``:
a fit that converged after 94 of 300 steps reads 94/94, as `workbench fit`'s bar), and
only while one of its recordings is on show: otherwise the parameters go back to the
shown recording (idle) and the notification says the fit ended.

`instant` (a dropped recording, when `AppState.instant_match` is on, the default) shows the
impact encoder's match at once as the recording's fit (source "encoder match": drawn and
playable within a second); Fit then refines it: a fit of that one recording starts from
the encoder's preset (``init="encoder"``) and replaces it.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Callable

from ..budgets import FIT_SAMPLES
from ..errors import WorkbenchError
from .jobs import FitJob
from .records import record_from_preset, record_from_result

if TYPE_CHECKING:
    from .state import AppState, RecordingState

FIT_STATES = ("idle", "queued", "running", "done", "cancelled", "failed")


#: Set once a warm-up has started: the weights are cached per process, one warm-up serves every session.
_WARMING = threading.Event()


def _warm_encoder() -> None:
    """Load the impact encoder's weights and run it once (`instant` is then ~0.1-0.3 s)."""
    try:
        import torch

        from ..learned.impact import N_SAMPLES, load_encoder

        net, _ = load_encoder()
        with torch.inference_mode():
            net(torch.zeros(1, N_SAMPLES))
    except (WorkbenchError, ImportError):
        pass                            # `instant` notifies when it cannot read a drop


class FitController:
    """Runs one fit at a time for ``state`` and reports it through the state's parameters.

    Args:
        state: The session.
        fit_fn: The fitter (default `workbench.fitting.fit` in a worker process; tests
            pass a stand-in, run on a thread).
    """

    #: Minimum time between two live previews of a running fit (s).
    PREVIEW_INTERVAL_S = 1.0
    #: The fitter reports (loss, current preset) every this many steps.
    REPORT_EVERY = 5

    def __init__(self, state: "AppState", fit_fn: Callable | None = None):
        self.state, self.fit_fn = state, fit_fn
        self._job: FitJob | None = None
        self._items: list[RecordingState] = []
        self._targets: list = []
        self._version = -1
        self._preview_t = 0.0
        self.last_status = "idle"
        if getattr(state, "instant_match", False) and not _WARMING.is_set():   # the first drop should not wait
            _WARMING.set()
            threading.Thread(target=_warm_encoder, daemon=True, name="encoder-warm-up").start()

    @property
    def running(self) -> bool:
        return self._job is not None and self.state.fit_status in ("queued", "running")

    def _chosen(self) -> list["RecordingState"]:
        s = self.state
        names = [n for n in (s.selection or [s.current]) if n in s.names()]
        if names and not s.joint:
            names = [s.current if s.current in names else names[0]]
        return [s.state_of(n) for n in names]

    def instant(self, item: "RecordingState") -> bool:
        """Show the impact encoder's match of ``item`` as its fit now (Fit refines it from
        there); False (notified) when the encoder cannot read it."""
        s = self.state
        try:
            from ..learned.impact import encode

            audio, rate = item.audio(), item.recording.sample_rate
            preset = encode(audio, rate, n_modes=s.n_modes, name=item.name)
            item.record = record_from_preset(preset, audio, rate, source="encoder match")
        except (WorkbenchError, ImportError) as err:
            s.notify("warning", f"no instant match of {item.name}: {err}")
            return False
        if item.name == s.current:
            s.show_record(item.record)
        return True

    def start(self, init: str | None = None) -> bool:
        """Fit the selected recordings (jointly when ``state.joint``; from ``init``, default the
        fitter's); False (notified) if none."""
        s = self.state
        if self.running:
            s.notify("warning", "a fit is already running; cancel it first")
            return False
        items = self._chosen()
        if not items:
            s.notify("error", "load a recording first (drop a file on the page)")
            return False
        try:        # the fitter checks too, but only once the job has waited its turn
            for item in items:
                n, rate = len(item.audio()), item.recording.sample_rate
                FIT_SAMPLES.check(n, what=f"fit of {item.name} ({n / rate:.1f} s at {rate} Hz)",
                                  hint="trim the recording to the strikes to fit")
        except WorkbenchError as err:
            s.notify("error", str(err))
            return False
        options = dict(n_modes=s.n_modes, steps=s.steps, seed=s.seed, sensitivity=s.sensitivity,
                       joint=bool(s.joint and len(items) > 1), report_every=self.REPORT_EVERY)
        if init is None and len(items) == 1 and items[0].record is not None \
                and items[0].record.source == "encoder match":
            init = "encoder"            # refine the instant match from where it is
        if init is not None:
            options["init"] = init
        clips = [item.clip() for item in items]
        labels = {clip.name: item.label() for clip, item in zip(clips, items)}
        if all(labels.values()):        # every clip labelled: a tool/object-separating fit
            options["labels"] = labels
        self._job = FitJob(clips, fit_fn=self.fit_fn, **options)
        self._items, self._targets = items, [c.audio for c in clips]    # the fitter may resample a clip
        self._version, self._preview_t = -1, 0.0
        self.last_status = "queued"
        names = ", ".join(item.name for item in items)
        s.param.update(fit_status="queued", fit_step=0, fit_total=s.steps, fit_losses=[],
                       fit_message=f"fit of {names} queued")
        return True

    def close(self) -> None:
        """Cancel the fit and forget it (its recordings and sounds); the session is closing."""
        if self._job is not None:
            self._job.cancel()
        self._job, self._items, self._targets = None, [], []

    def cancel(self) -> None:
        """Stop the running fit; the fitter returns the best result so far."""
        if self._job is not None and not self._job.finished:
            self._job.cancel()
            self.state.fit_message = "cancelling: keeping the best result so far..."

    def poll(self) -> bool:
        """Copy the job's progress into the state's parameters; True while it runs."""
        job, s = self._job, self.state
        if job is None:
            return False
        snap = job.snapshot()
        if snap.version == self._version:
            return not job.finished
        self._version = snap.version
        items = self._items
        names = ", ".join(item.name for item in items)
        if snap.status in ("queued", "running"):
            done = snap.step + 1 if snap.losses or snap.step else 0     # the fitter counts steps from 0
            total = snap.total_steps or s.steps
            s.param.update(fit_status=snap.status, fit_step=done, fit_total=total, fit_losses=snap.losses,
                           fit_message=(f"fitting {names}: step {done}/{total} - loss {snap.losses[-1][1]:.4g}"
                                        if snap.losses else f"fit of {names} {snap.status}"))
            now = time.perf_counter()
            if (snap.preset is not None and items[0].name == s.current
                    and now - self._preview_t >= self.PREVIEW_INTERVAL_S):
                self._preview_t = now
                s.preview_step = done
                s.preview = snap.preset          # plots follow; players wait for the result
            return True
        self._job = None
        s.preview = None
        if snap.result is None:                  # failed, or cancelled before it started
            msg = snap.error or "the fit was cancelled before it started"
            status = "failed" if snap.status == "failed" else "cancelled"
            self.last_status = status
            s.param.update(fit_status=status, fit_losses=snap.losses, fit_message=msg)
            s.notify("error" if status == "failed" else "warning", msg, about=[item.name for item in items])
            return False
        for i, item in enumerate(items):
            try:
                item.record = record_from_result(snap.result, i, full_target=self._targets[i])
            except IndexError:
                s.notify("error", f"the fit returned no result for {item.name}")
        first = items[0].record
        losses = list(enumerate(first.loss_history)) if first is not None else snap.losses
        cancelled = snap.status == "cancelled"
        ran = getattr(snap.result, "steps_run", None)
        ran = ran if isinstance(ran, int) and ran > 0 else len(losses)
        planned = max(s.fit_total, ran)
        early = getattr(snap.result, "stopped", "") == "converged" and ran < planned
        text = (f"fit {'cancelled, kept the best result' if cancelled else 'done'}: {names} - {ran} steps"
                + (f" (converged before the {planned} allowed)" if early else "")
                + (f", spectral distance {first.distance:.3f}" if first is not None and first.distance is not None
                   else "") + f" ({snap.elapsed_s:.1f} s)")
        self.last_status = snap.status
        shown = s.recording_state
        if shown is not None and any(item is shown for item in items):
            # done: every step it ran is done (the bar is full); cancelled: the steps run of those planned
            s.param.update(fit_status=snap.status, fit_losses=losses, fit_step=ran,
                           fit_total=planned if cancelled else ran, fit_message=text)
            s.show_record(shown.record)
        else:           # another recording is on show: its own status, not this fit's
            s.param.update(fit_status="idle", fit_step=0, fit_total=0, fit_losses=[], fit_message="")
        s.notify("warning" if cancelled else "success", text, about=[item.name for item in items])
        return False

    def wait(self, timeout: float = 600.0, poll_s: float = 0.1) -> str:
        """Block until the fit ends (cancelled after ``timeout`` s); its final status (done, cancelled, failed)."""
        deadline = time.monotonic() + timeout
        while self.poll():
            if time.monotonic() > deadline:
                self.cancel()
                deadline = time.monotonic() + 60
            time.sleep(poll_s)
        return self.last_status
