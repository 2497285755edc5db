"""Fit jobs (`workbench.app.jobs`): progress, cancel and failures reach the snapshot.

`FakeFit` stands in for `workbench.fitting.fit` with its contract: a list of named
`Clip` objects in, `FitProgress` callbacks, a cancel flag, a real `FitResult` of real
`Preset` objects out. `tests/test_app_state.py` uses it too.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import workbench as wb
from workbench.app.jobs import FitJob, SharedCancel
from workbench.errors import WorkbenchError
from workbench.fitting import Clip, FitProgress, FitResult


class FakeFit:
    """Stand-in for `workbench.fitting.fit`: presets named after the clips, loss 1/(step+1).

    Args:
        preset: What every clip's fit looks like (renamed and cut to the clip's length).
        hold: Set: step 1 waits for it (a fit that is still running).
        error: Raised instead of fitting.
    """

    def __init__(self, preset, *, hold: threading.Event | None = None, error: Exception | None = None):
        self.preset, self.hold, self.error, self.calls = preset, hold, error, []

    def __call__(self, clips, *, callback=None, cancel=None, steps=10, **options):
        assert all(isinstance(c, Clip) for c in clips), clips
        self.calls.append({"clips": [c.name for c in clips], "steps": steps, **options})
        if self.error is not None:
            raise self.error
        presets = [self.preset.replace(name=c.name, duration_s=len(c.audio) / c.sample_rate,
                                       sample_rate=c.sample_rate) for c in clips]
        losses, stopped = [], "steps"
        for step in range(steps):
            if cancel is not None and cancel.is_set():
                stopped = "cancelled"
                break
            losses.append(1.0 / (step + 1))
            if callback is not None:
                callback(FitProgress(step=step, total_steps=steps, loss=losses[-1], elapsed_s=0.01 * step,
                                     _make_presets=lambda: presets,
                                     _render=lambda parts, i: np.zeros(len(clips[i].audio), np.float32)))
            if self.hold is not None and step == 1:
                self.hold.wait(10)
        return FitResult(presets=presets, targets=[c.audio for c in clips], sample_rate=clips[0].sample_rate,
                         loss_history=losses, distances=[0.5] * len(clips), impacts=[[0.1]] * len(clips),
                         steps_run=len(losses), stopped=stopped, elapsed_s=0.01 * len(losses))


@pytest.fixture(scope="module")
def demo_preset(demo_preset_path):
    return wb.load_preset(demo_preset_path)


@pytest.fixture
def clip():
    t = np.arange(22050) / 44100
    return Clip(name="bell.wav", audio=(0.5 * np.sin(2 * np.pi * 440 * t) * np.exp(-8 * t)).astype(np.float32),
                sample_rate=44100)


def _until(pred, timeout=10.0):
    t0 = time.monotonic()
    while not pred():
        assert time.monotonic() - t0 < timeout, "timed out"
        time.sleep(0.01)


def test_progress_then_result(demo_preset, clip):
    hold = threading.Event()
    fake = FakeFit(demo_preset, hold=hold)
    job = FitJob([clip], fit_fn=fake, steps=4, n_modes=8)
    _until(lambda: job.snapshot().losses)
    snap = job.snapshot()
    assert snap.status == "running" and snap.total_steps == 4 and snap.preset.name == "bell.wav"
    assert not job.finished
    hold.set()
    _until(lambda: job.finished)
    snap = job.snapshot()
    assert snap.status == "done" and [s for s, _ in snap.losses] == [0, 1, 2, 3]
    assert isinstance(snap.result, FitResult) and snap.result.presets[0].name == "bell.wav"
    assert fake.calls == [{"clips": ["bell.wav"], "steps": 4, "n_modes": 8}]


def test_cancel_keeps_the_best_result_so_far(demo_preset, clip):
    hold = threading.Event()
    job = FitJob([clip], fit_fn=FakeFit(demo_preset, hold=hold), steps=50)
    _until(lambda: job.snapshot().losses)
    job.cancel()
    hold.set()
    _until(lambda: job.finished)
    snap = job.snapshot()
    assert snap.status == "cancelled" and snap.result.cancelled and len(snap.result.loss_history) == 2


@pytest.mark.parametrize("error, status, message", [
    (WorkbenchError("bell.wav: no impact found"), "failed", "bell.wav: no impact found"),
    (RuntimeError("boom"), "failed", "the fit failed: RuntimeError: boom"),
])
def test_failures_are_reported_not_raised(demo_preset, clip, error, status, message):
    job = FitJob([clip], fit_fn=FakeFit(demo_preset, error=error), steps=3)
    _until(lambda: job.finished)
    snap = job.snapshot()
    assert (snap.status, snap.error, snap.result) == (status, message, None)


def test_shared_cancel_flag_is_one_byte_per_slot():
    flags = bytearray(4)
    a, b = SharedCancel(flags, 1), SharedCancel(flags, 2)
    a.set()
    assert a.is_set() and a.wait() and not b.is_set() and flags == bytearray([0, 1, 0, 0])
    a.clear()
    assert not a.is_set()
