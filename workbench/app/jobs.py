"""Fit jobs: `workbench.fitting.fit` on workers shared by every session (no UI).

With the real fitter a fit runs in a worker process of `fit_process_pool`; it reports
through one queue that a reader thread (`_pump`) copies into the job's snapshot, and
it polls a cancel flag in shared memory (one byte per job slot). With a custom
``fit_fn`` (tests) or ``WORKBENCH_FIT_PROCESSES=0`` it runs on a thread of `fit_pool`.
Either way the UI thread only reads `FitJob.snapshot` (never blocks on the fit).

Environment: ``WORKBENCH_FIT_WORKERS`` (workers, default half the cores),
``WORKBENCH_FIT_PROCESSES=0`` (threads instead of processes), ``WORKBENCH_TORCH_THREADS``
(torch threads per worker, default 1).
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import dataclasses
import functools
import gc
import logging
import math
import os
import threading
import time
from typing import Any, Callable, Sequence

import torch

from ..errors import WorkbenchError
from ..presets import Preset

log = logging.getLogger(__name__)


def fitter_status() -> tuple[bool, str]:
    """(available, reason) of `workbench.fitting.fit`."""
    try:
        from ..fitting import fit  # noqa: F401
    except ImportError as err:
        return False, f"the fitter is not available ({err})"
    return True, ""


def _real_fit(*args, **kwargs):
    try:
        from ..fitting import fit
    except ImportError as err:
        raise WorkbenchError(f"the fitter is not available ({err})") from None
    return fit(*args, **kwargs)


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the system (glibc ``malloc_trim``), so
    the resident size falls after a fit or a closed session instead of staying at its peak."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):   # not glibc
        pass


def fit_workers() -> int:
    """Number of fit workers: ``$WORKBENCH_FIT_WORKERS``, else half the cores (at least 1)."""
    env = os.environ.get("WORKBENCH_FIT_WORKERS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, (os.cpu_count() or 2) // 2)


def fit_in_processes() -> bool:
    """Fits run in worker processes unless ``WORKBENCH_FIT_PROCESSES=0`` (then threads).

    A fitting thread shares the GIL with the page: on 2 cores a slider render took 60 ms
    (median, 220 ms worst) beside one, against 24 ms beside a fitting process.
    """
    return os.environ.get("WORKBENCH_FIT_PROCESSES", "1") != "0"


@functools.lru_cache(maxsize=1)
def fit_pool() -> concurrent.futures.ThreadPoolExecutor:
    """Thread pool for fits with a custom ``fit_fn`` (tests) or with processes turned off."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=fit_workers(), thread_name_prefix="workbench-fit")


_MP = None
_PROC_LOCK = threading.Lock()
_PROC: dict[str, Any] = {}
#: Cancel flags shared with the workers: one byte per job slot (job id modulo the size).
_CANCEL_SLOTS = 512
_JOBS: dict[int, "FitJob"] = {}
_JOB_IDS = iter(range(1, 2**62))


def _mp():
    global _MP
    if _MP is None:
        import multiprocessing
        _MP = multiprocessing.get_context("spawn")   # never fork a process that runs threads
    return _MP


class SharedCancel:
    """`threading.Event`-like view of one job's cancel flag in shared memory (what the fitter polls)."""

    def __init__(self, flags, slot: int):
        self.flags, self.slot = flags, slot

    def is_set(self) -> bool:
        return bool(self.flags[self.slot])

    def set(self) -> None:
        self.flags[self.slot] = 1

    def clear(self) -> None:
        self.flags[self.slot] = 0

    def wait(self, timeout=None) -> bool:  # the fitter only polls; kept for the Event protocol
        return self.is_set()


# -- in the worker process ---------------------------------------------------------------
_W: dict[str, Any] = {}


def _worker_init(threads: int, progress, cancel_flags, parent: int) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C / a notebook interrupt is the parent's business
    torch.set_num_threads(threads)
    _W.update(progress=progress, cancel=cancel_flags)

    def orphan_watch():            # the server was killed: do not linger
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)
    threading.Thread(target=orphan_watch, daemon=True).start()
    from ..fitting import fit  # noqa: F401  (import once, before the first fit)


def _fit_in_worker(job_id: int, clips, options: dict):
    """Runs in a worker process: the fit, reporting progress through the shared queue."""
    cancel = SharedCancel(_W["cancel"], job_id % _CANCEL_SLOTS)
    if cancel.is_set():
        return None
    q = _W["progress"]
    q.put((job_id, "running"))
    from ..fitting import fit

    def callback(p):
        q.put((job_id, "progress", p.step, p.total_steps, float(p.loss), p.elapsed_s, p.preset))

    try:
        return fit(clips, callback=callback, cancel=cancel, **options)
    finally:
        del clips
        release_memory()


# -- in the server ------------------------------------------------------------------------
def _pump(progress) -> None:
    """Reader thread: hands each worker message to its job (under the job's lock)."""
    while True:
        try:
            msg = progress.get()
        except (EOFError, OSError, ValueError):
            return
        if msg is None:
            return
        job = _JOBS.get(msg[0])
        if job is not None:
            job._message(msg[1:])


def fit_process_pool():
    """(pool, cancel flags): worker processes shared by every session, started on first use."""
    with _PROC_LOCK:
        if "pool" not in _PROC:
            import atexit
            from concurrent.futures import ProcessPoolExecutor

            threads = int(os.environ.get("WORKBENCH_TORCH_THREADS", "1"))
            progress = _mp().SimpleQueue()
            flags = _mp().Array("b", _CANCEL_SLOTS, lock=False)
            _PROC["pool"] = ProcessPoolExecutor(max_workers=fit_workers(), mp_context=_mp(),
                                                initializer=_worker_init,
                                                initargs=(threads, progress, flags, os.getpid()))
            _PROC["flags"], _PROC["progress"] = flags, progress
            threading.Thread(target=_pump, args=(progress,), daemon=True, name="workbench-fit-progress").start()
            if not _PROC.get("atexit"):
                atexit.register(shutdown_fit_processes)
                _PROC["atexit"] = True
        return _PROC["pool"], _PROC["flags"]


def warm_fit_processes() -> None:
    """Start the worker processes now (imports take seconds), not on the first Fit."""
    if fit_in_processes():
        pool, _ = fit_process_pool()
        for _ in range(fit_workers()):
            pool.submit(int)


def shutdown_fit_processes() -> None:
    """Stop the fit workers (running fits are abandoned)."""
    with _PROC_LOCK:
        pool, progress = _PROC.pop("pool", None), _PROC.pop("progress", None)
        _PROC.pop("flags", None)
    if pool is not None:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
    if progress is not None:
        try:
            progress.put(None)      # ends the reader thread
        except (OSError, ValueError):
            pass


@dataclasses.dataclass
class FitSnapshot:
    """What the UI thread reads from a fit job."""

    status: str                       # queued | running | done | cancelled | failed
    step: int = 0
    total_steps: int = 0
    elapsed_s: float = 0.0
    losses: list[tuple[int, float]] = dataclasses.field(default_factory=list)
    preset: Preset | None = None      # the fitter's current estimate of clip 0
    version: int = 0                  # increases with every change
    result: Any = None                # the `workbench.fitting.FitResult` once done
    error: str | None = None


class FitJob:
    """One fit on the shared workers; the UI thread polls `snapshot` (never blocks on it).

    Args:
        clips: The recordings as `workbench.fitting.Clip` objects (several: a joint fit),
            so that presets, labels and error messages carry their names.
        fit_fn: The fitter (default: `workbench.fitting.fit`, in a worker process); a
            stand-in (tests) runs on a thread of ``pool`` (default `fit_pool`).
        **options: n_modes, steps, seed, joint, labels... (passed to the fitter).
    """

    def __init__(self, clips: Sequence, *, fit_fn: Callable | None = None,
                 pool: concurrent.futures.Executor | None = None, **options):
        self.clips = list(clips)
        self.options = options
        self._lock = threading.Lock()
        self._snap = FitSnapshot(status="queued", total_steps=int(options.get("steps", 0)))
        self._started = time.perf_counter()
        self._finished = False
        self.job_id = next(_JOB_IDS)
        if fit_fn is None and pool is None and fit_in_processes():
            try:
                ppool, flags = fit_process_pool()
                self.cancel_event = SharedCancel(flags, self.job_id % _CANCEL_SLOTS)
                self.cancel_event.clear()
                _JOBS[self.job_id] = self
                self.future = ppool.submit(_fit_in_worker, self.job_id, self.clips, options)
                # forgotten when it ends, even if no session polls it any more (closed tab)
                self.future.add_done_callback(lambda f, job_id=self.job_id: _JOBS.pop(job_id, None))
                return
            except Exception as err:  # no processes here (sandbox, broken pool): use a thread
                log.warning("fit workers unavailable (%s); fitting on a thread", err)
                _JOBS.pop(self.job_id, None)
                shutdown_fit_processes()
        self.cancel_event = threading.Event()
        self._fit_fn = fit_fn or _real_fit
        self.future = (pool or fit_pool()).submit(self._run)

    # -- thread backend -------------------------------------------------------------------
    def _callback(self, p) -> None:
        with self._lock:
            self._progress(p.step, p.total_steps, float(p.loss), p.elapsed_s, p.preset)

    def _run(self) -> Any:
        if self.cancel_event.is_set():
            return None
        with self._lock:
            self._snap.status, self._snap.version = "running", self._snap.version + 1
        return self._fit_fn(self.clips, callback=self._callback, cancel=self.cancel_event, **self.options)

    # -- both -----------------------------------------------------------------------------
    def _progress(self, step: int, total: int, loss: float, elapsed_s: float, preset: Preset | None) -> None:
        s = self._snap
        s.status = "running"
        s.step, s.total_steps = int(step), int(total) or s.total_steps
        s.elapsed_s = float(elapsed_s)
        if math.isfinite(loss):
            s.losses.append((s.step, loss))
        s.preset = preset or s.preset
        s.version += 1

    def _message(self, msg) -> None:
        """A worker's message (reader thread)."""
        with self._lock:
            if self._finished:
                return
            if msg[0] == "running":
                self._snap.status, self._snap.version = "running", self._snap.version + 1
            elif msg[0] == "progress":
                self._progress(*msg[1:])

    def _finish(self) -> None:
        s = self._snap
        try:
            result = self.future.result()
        except WorkbenchError as err:
            status, result, error = "failed", None, str(err)
        except concurrent.futures.BrokenExecutor:
            shutdown_fit_processes()        # the next fit starts fresh workers
            status, result, error = "failed", None, "the fit's worker process died (out of memory?); try again"
        except Exception as err:  # a bug in the fitter must not take the page down
            log.error("fit failed", exc_info=err)
            status, result, error = "failed", None, f"the fit failed: {type(err).__name__}: {err}"
        else:
            status = "cancelled" if result is None or result.cancelled else "done"
            error = None
        s.status, s.result, s.error = status, result, error
        s.elapsed_s = time.perf_counter() - self._started
        s.version += 1
        self._finished = True
        _JOBS.pop(self.job_id, None)

    def cancel(self) -> None:
        """Ask the fitter to stop; it returns the best result so far."""
        self.cancel_event.set()

    @property
    def finished(self) -> bool:
        return self.future.done()

    def snapshot(self) -> FitSnapshot:
        """The latest progress (and the result once done); call from the UI thread."""
        with self._lock:
            if self.future.done() and not self._finished:
                self._finish()
            return dataclasses.replace(self._snap, losses=list(self._snap.losses))
