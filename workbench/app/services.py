"""Services of the workbench app, with no UI: recordings, rendering, fit jobs, presets.

Plain Python and numpy (no panel, no param), so the state model, the dashboard, the
notebook and the benchmarks share one implementation and the tests need no browser.

* `Recording`, `read_recording`, `decode_recording` - audio in (all channels kept, so
  the channel can be picked later), with every bad input raising `WorkbenchError`.
* `detect` - impact times over `workbench.analysis.detect_impacts` (guarded import).
* `IncrementalRenderer` - renders a preset's full sound and its object-only and
  tool-only parts, caching each model component (contact force, object modes, tool
  modes, noise, room) so a slider that moves one of them re-renders only that one.
* `FitJob` - runs `workbench.fitting.fit` on a shared worker pool; the fitting thread only
  writes a snapshot under a lock, the UI thread polls it (`FitJob.snapshot`).
* `PresetLibrary` - the presets folder; `export_zip`, `playback_status`, `play`.
* Plot data: `envelope`, `spectrogram_image`, `force_profile` (numpy arrays for Bokeh).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import io
import logging
import math
import os
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import soundfile as sf
import torch

from ..audio import check_audio, encode_wav
from ..errors import WorkbenchError
from ..presets import Preset, load_preset, save_preset
from ..rendering import PartCache, force_profile as _force

log = logging.getLogger(__name__)

#: Default cap on one uploaded file (bytes); `workbench serve --max-upload-mb` changes it.
DEFAULT_MAX_UPLOAD_BYTES = 50 * 2**20
REPO_DIR = Path(__file__).resolve().parents[2]
#: The shipped fit of the demo recording: the preset library's joint tool/object fit of it
#: (`workbench library`, presets/README.md), so the demo shows object and tool players.
DEMO_FITTED_PRESET = REPO_DIR / "presets" / "metal" / "robot_steelfork_on_steelbowl_separated.json"


def default_presets_dir() -> Path:
    """``$WORKBENCH_PRESETS`` if set, else the repository's ``presets/`` (else ./presets)."""
    env = os.environ.get("WORKBENCH_PRESETS")
    if env:
        return Path(env)
    repo = REPO_DIR / "presets"
    return repo if repo.is_dir() else Path.cwd() / "presets"


# ---------------------------------------------------------------------------------------
# Recordings
# ---------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class Recording:
    """A loaded recording with all its channels (read-only float32, (n_samples, channels))."""

    name: str
    data: np.ndarray
    sample_rate: int
    source: str = ""

    @property
    def n_channels(self) -> int:
        return int(self.data.shape[1])

    @property
    def duration_s(self) -> float:
        return self.data.shape[0] / self.sample_rate

    def mono(self, channel: int | None = None) -> np.ndarray:
        """One channel (0-based) or, with ``None``, the mix of all channels; validated."""
        return _mono(self, channel)


@functools.lru_cache(maxsize=64)
def _mono(rec: Recording, channel: int | None) -> np.ndarray:
    if channel is None:
        x = rec.data[:, 0] if rec.n_channels == 1 else rec.data.mean(axis=1)
    elif 0 <= channel < rec.n_channels:
        x = rec.data[:, channel]
    else:
        raise WorkbenchError(f"{rec.name}: channel {channel} does not exist (the file has {rec.n_channels})")
    out = check_audio(np.ascontiguousarray(x, dtype=np.float32),
                      rec.sample_rate, name=f"{rec.name}" + ("" if channel is None else f" channel {channel}"))
    out.setflags(write=False)
    return out


def _fmt_mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def decode_recording(name: str, payload: bytes | str | None, *,
                     max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, source: str = "upload") -> Recording:
    """Decode an uploaded file (the bytes of a WAV/FLAC/OGG/MP3).

    Raises:
        WorkbenchError: empty, over ``max_bytes``, not audio / corrupt, no samples,
            silent, NaN samples, too short; the message starts with ``name``.
    """
    if isinstance(payload, str):   # FileDropper decodes text/* uploads as str
        raise WorkbenchError(f"{name}: a text file, not audio (expected WAV, FLAC, OGG or MP3)")
    size = 0 if payload is None else len(payload)
    if size == 0:
        raise WorkbenchError(f"{name}: the file is empty (0 bytes)")
    if size > max_bytes:
        raise WorkbenchError(f"{name}: {_fmt_mb(size)} is over the upload limit of {_fmt_mb(max_bytes)}")
    buf = io.BytesIO(payload)
    buf.name = name
    try:
        data, rate = sf.read(buf, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError) as err:
        reason = re.sub(r"^Error opening .*?: ", "", str(err).strip().split("\n")[0]) or "unknown format"
        raise WorkbenchError(f"{name}: not a readable audio file - expected WAV, FLAC, OGG or MP3 "
                             f"({reason})") from None
    return _make_recording(name, data, rate, source)


def read_recording(path: str | os.PathLike, *, max_bytes: int | None = None) -> Recording:
    """Read an audio file from disk (all channels)."""
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such file")
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise WorkbenchError(f"{path.name}: {_fmt_mb(path.stat().st_size)} is over the limit of {_fmt_mb(max_bytes)}")
    return _read_cached(str(path.resolve()), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _read_cached(path: str, _mtime: int) -> Recording:
    p = Path(path)
    payload = p.read_bytes()
    return decode_recording(p.name, payload, max_bytes=max(len(payload), 1), source=path)


def _make_recording(name: str, data: np.ndarray, rate: int, source: str) -> Recording:
    if data.shape[0] == 0:
        raise WorkbenchError(f"{name}: the file holds no audio samples")
    data = np.ascontiguousarray(data, dtype=np.float32)
    data.setflags(write=False)
    rec = Recording(name=name, data=data, sample_rate=int(rate), source=source)
    rec.mono(None)   # validates: rate, NaN, silence, length
    return rec


def default_labels(name: str) -> tuple[str, str]:
    """(tool, object) guessed from a file name like ``robot_steelfork_on_steelbowl.wav``."""
    stem = Path(name).stem.lower()
    m = re.search(r"(?:^|_)([a-z0-9-]+)_on_([a-z0-9-]+)", stem)
    return (m.group(1), m.group(2)) if m else ("", "")


# ---------------------------------------------------------------------------------------
# Impact detection (another module; guarded so the app works while it is missing)
# ---------------------------------------------------------------------------------------

def detector_status() -> tuple[bool, str]:
    try:
        from ..analysis import detect_impacts  # noqa: F401
    except ImportError as err:
        return False, f"impact detection unavailable ({err})"
    return True, ""


def detect(audio: np.ndarray, sample_rate: int, sensitivity: float) -> list[tuple[float, float]]:
    """Detected impacts as (time_s, confidence) pairs; [] when the detector is missing."""
    try:
        from ..analysis import detect_impacts
    except ImportError:
        return []
    found = detect_impacts(np.asarray(audio, dtype=np.float32), int(sample_rate), sensitivity=float(sensitivity))
    return [(float(i.time_s), float(getattr(i, "confidence", 1.0))) for i in found]


@functools.lru_cache(maxsize=128)
def detect_recording(rec: Recording, channel: int | None, sensitivity: float) -> tuple[tuple[float, float], ...]:
    """`detect` on a recording's channel, cached (recordings are immutable)."""
    return tuple(detect(rec.mono(channel), rec.sample_rate, sensitivity))


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------

def wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    """16-bit WAV bytes for players and downloads (clipped to full scale, never wrapped)."""
    return encode_wav(np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0), int(sample_rate))


# ---------------------------------------------------------------------------------------
# Plot data (numpy only; the views put it into Bokeh sources)
# ---------------------------------------------------------------------------------------

def envelope(audio: np.ndarray, sample_rate: int, columns: int = 1500) -> dict[str, np.ndarray]:
    """Min/max envelope of a waveform in ``columns`` time bins: {t, lo, hi}."""
    x = np.asarray(audio, dtype=np.float32)
    step = max(1, int(math.ceil(len(x) / columns)))
    m = len(x) // step
    if m == 0:
        return {"t": np.zeros(0), "lo": np.zeros(0), "hi": np.zeros(0)}
    blocks = x[: m * step].reshape(m, step)
    return {"t": (np.arange(m) * step + step / 2) / sample_rate, "lo": blocks.min(axis=1), "hi": blocks.max(axis=1)}


SPEC_FLOOR_DB = -100.0


def spectrogram_image(audio: np.ndarray, sample_rate: int, *, max_rows: int = 256, max_cols: int = 600,
                      n_fft: int = 2048) -> dict[str, Any]:
    """A dBFS spectrogram pooled (max) to at most ``max_rows`` x ``max_cols`` for an image glyph.

    Returns {image (rows, cols) float32, x, y, dw, dh} with time in s and frequency in kHz.
    """
    from ..plots import spectrogram_db

    x = np.asarray(audio, dtype=np.float32)
    hop = max(n_fft // 8, int(math.ceil(len(x) / max_cols / 256)) * 256)
    times, freqs, level = spectrogram_db(x, sample_rate, n_fft=n_fft, hop_length=hop)
    rows = int(math.ceil(level.shape[0] / max_rows))
    if rows > 1:
        r = level.shape[0] // rows
        level = level[: r * rows].reshape(r, rows, -1).max(axis=1)
    cols = int(math.ceil(level.shape[1] / max_cols))
    if cols > 1:
        c = level.shape[1] // cols
        level = level[:, : c * cols].reshape(level.shape[0], c, cols).max(axis=2)
    return {"image": level.astype(np.float32), "x": 0.0, "y": 0.0, "dw": len(x) / sample_rate,
            "dh": sample_rate / 2 / 1e3}


_SPEC_CACHE: "OrderedDict[int, tuple[np.ndarray, int, dict]]" = OrderedDict()
_SPEC_LOCK = threading.Lock()


def spectrogram_cached(audio: np.ndarray, sample_rate: int) -> dict[str, Any]:
    """`spectrogram_image` of a read-only array, cached by identity (shared demo data)."""
    if audio.flags.writeable:
        return spectrogram_image(audio, sample_rate)
    with _SPEC_LOCK:
        hit = _SPEC_CACHE.get(id(audio))
        if hit is not None and hit[0] is audio and hit[1] == sample_rate:
            _SPEC_CACHE.move_to_end(id(audio))
            return hit[2]
    img = spectrogram_image(audio, sample_rate)
    with _SPEC_LOCK:
        _SPEC_CACHE[id(audio)] = (audio, sample_rate, img)
        while len(_SPEC_CACHE) > 32:
            _SPEC_CACHE.popitem(last=False)
    return img


def force_profile(preset: Preset, *, sample_rate: int | None = None, points: int = 3000) -> dict[str, np.ndarray]:
    """Contact force over time (max-pooled so short pulses stay visible): {t, f}."""
    sr = int(sample_rate or preset.sample_rate)
    f = _force(preset, sample_rate=sr)
    n = len(f)
    step = max(1, int(math.ceil(n / points)))
    m = n // step
    f = f[: m * step].reshape(m, step).max(axis=1)
    return {"t": (np.arange(m) * step) / sr, "f": f}


def mode_rows(preset: Preset | None) -> list[dict[str, Any]]:
    """One row per mode of the object and the tool (for tables and scatter plots)."""
    rows = []
    if preset is None:
        return rows
    for body_name, body in (("object", preset.object), ("tool", preset.tool)):
        if body is None:
            continue
        for i, m in enumerate(body.modes):
            rows.append({"body": body_name, "index": i, "freq_hz": m.freq_hz, "t60_s": m.t60_s,
                         "gain_db": m.gain_db})
    return rows


# ---------------------------------------------------------------------------------------
# Fit results and fit jobs
# ---------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class FitRecord:
    """The fit shown for one recording (from the fitter, a shipped preset or a running fit)."""

    preset: Preset
    target: np.ndarray
    sample_rate: int
    loss_history: tuple[float, ...] = ()
    distance: float | None = None
    impacts: tuple[float, ...] = ()
    cancelled: bool = False
    source: str = "fit"


def record_from_result(result, index: int = 0, *, full_target: np.ndarray | None = None,
                       name: str | None = None) -> FitRecord:
    """A `FitRecord` for clip ``index`` of a `workbench.fitting.FitResult`.

    A long recording fitted by segments has one ``file_preset`` for the whole file: it
    is shown against ``full_target`` (the recording as given to the fitter).
    """
    presets = list(getattr(result, "presets", None) or [result.preset])
    targets = list(getattr(result, "targets", None) or [])
    distances = list(getattr(result, "distances", None) or [getattr(result, "distance", None)])
    impacts = list(getattr(result, "impacts", None) or [])
    preset = presets[index]
    target = targets[index] if index < len(targets) else np.zeros(0)
    distance = distances[index] if index < len(distances) else None
    times = impacts[index] if index < len(impacts) else ()
    file_preset = getattr(result, "file_preset", None)
    if file_preset is not None and index == 0 and full_target is not None:
        preset, target, distance = file_preset, full_target, getattr(result, "distance", distance)
        times = [i.time_s for i in file_preset.impacts]
    target = np.asarray(target, dtype=np.float32)
    target.setflags(write=False)
    if name and isinstance(preset, Preset):     # array clips come back as clip0, clip1...
        prov = dict(preset.provenance)
        prov["source"] = name
        preset = preset.replace(name=Path(name).stem, provenance=prov)
    return FitRecord(
        preset=preset, target=target, sample_rate=int(result.sample_rate),
        loss_history=tuple(float(v) for v in (getattr(result, "loss_history", None) or ())),
        distance=None if distance is None else float(distance),
        impacts=tuple(float(t) for t in times),
        cancelled=bool(getattr(result, "cancelled", False)), source="fit")


def distance(x: np.ndarray, target: np.ndarray) -> float:
    """`workbench.spectral_distance` of two (possibly read-only) signals."""
    from ..losses import spectral_distance

    return float(spectral_distance(np.array(x, dtype=np.float32), np.array(target, dtype=np.float32)))


def record_from_preset(preset: Preset, target: np.ndarray, sample_rate: int, *, source: str) -> FitRecord:
    """A `FitRecord` for a shipped/saved preset of a recording (distance computed here)."""
    y = PartCache().render(preset, ("all",), duration_s=len(target) / sample_rate,
                                     sample_rate=sample_rate)["all"]
    hist = preset.provenance.get("loss_history") if isinstance(preset.provenance, dict) else None
    return FitRecord(preset=preset, target=target, sample_rate=sample_rate,
                     loss_history=tuple(float(v) for v in hist) if isinstance(hist, list) else (),
                     distance=distance(y, target),
                     impacts=tuple(i.time_s for i in preset.impacts), source=source)


def fitter_status() -> tuple[bool, str]:
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


def _fit_workers() -> int:
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
    return concurrent.futures.ThreadPoolExecutor(max_workers=_fit_workers(), thread_name_prefix="workbench-fit")


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
    from .. import fitting  # noqa: F401  (import once, before the first fit)


class _SharedCancel:
    """`threading.Event`-like view of one job's cancel flag (what the fitter polls)."""

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


def _fit_in_worker(job_id: int, clips, options: dict):
    """Runs in a worker process: the fit, reporting progress through the shared queue."""
    cancel = _SharedCancel(_W["cancel"], job_id % _CANCEL_SLOTS)
    if cancel.is_set():
        return None
    q = _W["progress"]
    q.put((job_id, "running"))
    from ..fitting import fit

    def callback(p):
        q.put((job_id, "progress", int(p.step), int(p.total_steps), float(p.loss), float(p.elapsed_s), p.preset))

    return fit(clips, callback=callback, cancel=cancel, **options)


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
            _PROC["pool"] = ProcessPoolExecutor(max_workers=_fit_workers(), mp_context=_mp(),
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
        for _ in range(_fit_workers()):
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
    """What the UI thread reads from a running fit."""

    status: str                       # queued | running | done | cancelled | failed
    step: int = 0
    total_steps: int = 0
    elapsed_s: float = 0.0
    losses: list[tuple[int, float]] = dataclasses.field(default_factory=list)
    preset: Preset | None = None
    version: int = 0                  # increases with every callback
    result: Any = None
    error: str | None = None


class FitJob:
    """A fit on the shared workers; the UI thread polls `snapshot` (never blocks on it).

    With the real fitter the fit runs in a worker process (`fit_process_pool`) and
    reports through a queue that a reader thread copies into the snapshot; with a
    custom ``fit_fn`` (tests) or
    ``WORKBENCH_FIT_PROCESSES=0`` it runs on a thread of `fit_pool` and writes the
    snapshot under a lock. Either way nothing here touches UI objects.

    Args:
        clips: [(audio, sample_rate)] - the recordings (one per clip of a joint fit).
        fit_fn: The fitter (default: `workbench.fitting.fit`); tests pass a stand-in.
        **options: n_modes, steps, seed, joint, labels... (passed to the fitter).
    """

    def __init__(self, clips: list[tuple[np.ndarray, int]], *, fit_fn: Callable | None = None,
                 pool: concurrent.futures.Executor | None = None, **options):
        self.clips = clips
        self.options = options
        self._lock = threading.Lock()
        self._snap = FitSnapshot(status="queued", total_steps=int(options.get("steps", 0)))
        self._started = time.perf_counter()
        self._finished = False
        arg = clips if len(clips) > 1 else clips[0]
        self.job_id = next(_JOB_IDS)
        if fit_fn is None and pool is None and fit_in_processes():
            try:
                ppool, flags = fit_process_pool()
                self.cancel_event = _SharedCancel(flags, self.job_id % _CANCEL_SLOTS)
                self.cancel_event.clear()
                _JOBS[self.job_id] = self
                self.future = ppool.submit(_fit_in_worker, self.job_id, arg, options)
                return
            except Exception as err:  # no processes here (sandbox, broken pool): use a thread
                log.warning("fit workers unavailable (%s); fitting on a thread", err)
                _JOBS.pop(self.job_id, None)
                shutdown_fit_processes()
        self.cancel_event = threading.Event()
        self._fit_fn = fit_fn or _real_fit
        self.future = (pool or fit_pool()).submit(self._run, arg)

    # -- thread backend -------------------------------------------------------------------
    def _callback(self, progress) -> None:
        with self._lock:
            self._progress(int(progress.step), int(getattr(progress, "total_steps", 0) or 0), float(progress.loss),
                           float(getattr(progress, "elapsed_s", time.perf_counter() - self._started)),
                           getattr(progress, "preset", None))

    def _progress(self, step, total, loss, elapsed, preset) -> None:
        s = self._snap
        s.status = "running"
        s.step, s.total_steps = step, total or s.total_steps
        s.elapsed_s = elapsed
        if math.isfinite(loss):
            s.losses.append((step, loss))
        s.preset = preset or s.preset
        s.version += 1

    def _run(self, arg) -> Any:
        if self.cancel_event.is_set():
            return None
        with self._lock:
            self._snap.status, self._snap.version = "running", self._snap.version + 1
        return self._fit_fn(arg, callback=self._callback, cancel=self.cancel_event, **self.options)

    # -- both -----------------------------------------------------------------------------
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
            if result is None:
                status, error = "cancelled", None
            else:
                status, error = ("cancelled" if getattr(result, "cancelled", False) else "done"), None
        s.status, s.result, s.error = status, result, error
        s.elapsed_s = time.perf_counter() - self._started
        s.version += 1
        self._finished = True
        _JOBS.pop(getattr(self, "job_id", None), None)

    def cancel(self) -> None:
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

    def wait(self, timeout: float | None = None) -> FitSnapshot:
        try:
            self.future.result(timeout)
        except concurrent.futures.TimeoutError:
            pass
        except Exception:  # reported by snapshot()
            pass
        return self.snapshot()


# ---------------------------------------------------------------------------------------
# Presets, export, playback
# ---------------------------------------------------------------------------------------

def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name.strip()).strip("._-")
    return slug[:80]


class PresetLibrary:
    """The presets folder: ``*.json`` files (also in sub-folders), named by relative path."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(str(p.relative_to(self.folder).with_suffix(""))
                      for p in self.folder.rglob("*.json") if not p.name.startswith("."))

    def path(self, name: str) -> Path:
        path = (self.folder / f"{name}.json").resolve()
        if self.folder.resolve() not in path.parents:
            raise WorkbenchError(f"preset {name!r}: not inside the presets folder {self.folder}")
        return path

    def load(self, name: str) -> Preset:
        return load_preset(self.path(name))

    def save(self, preset: Preset, name: str, *, tags: Sequence[str] = (), material: str = "") -> Path:
        """Save under ``name`` (file name: the name made file-safe); returns the path."""
        slug = _slug(name)
        if not slug:
            raise WorkbenchError("preset name: give the preset a name (letters, digits, - or _)")
        tags = tuple(t.strip() for t in tags if t and t.strip())
        preset = preset.replace(name=name.strip(), tags=list(tags), material=material.strip())
        return save_preset(preset, self.folder / f"{slug}.json")


def export_status() -> tuple[bool, str]:
    """Whether `workbench.export.export_zip` is importable (and why not)."""
    try:
        from ..export import export_zip  # noqa: F401
    except ImportError as err:
        return False, f"exporter not installed ({err})"
    return True, ""


def export_zip(preset: Preset, to: str) -> bytes:
    try:
        from ..export import export_zip as _export
    except ImportError as err:
        raise WorkbenchError(f"export: the exporter is not installed ({err})") from None
    return _export(preset, to=to)


def playback_status() -> tuple[bool, str]:
    """(available, reason) of playing through the machine's audio device (sounddevice)."""
    try:
        import sounddevice as sd
    except ImportError:
        return False, "sounddevice is not installed (pip install sounddevice)"
    except OSError:
        return False, "the PortAudio library is missing (apt-get install libportaudio2)"
    try:
        dev = sd.query_devices(kind="output")
    except Exception as err:  # PortAudioError, ValueError: no default output device
        return False, f"no audio output device on this machine ({str(err).strip() or type(err).__name__})"
    return True, str(dev.get("name", "default output") if isinstance(dev, dict) else dev)


def play(audio: np.ndarray, sample_rate: int) -> None:
    """Play through the default output device (non-blocking)."""
    ok, reason = playback_status()
    if not ok:
        raise WorkbenchError(f"playback: {reason}")
    import sounddevice as sd
    sd.play(np.clip(np.asarray(audio, dtype=np.float32), -1, 1), int(sample_rate))


# ---------------------------------------------------------------------------------------
# The demo (bundled recording + its shipped fit), computed once per process
# ---------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def demo() -> tuple[Recording, FitRecord | None]:
    """The bundled demo recording and its shipped fit (None while there is no shipped fit)."""
    from ..data import DEMO_RECORDING

    rec = read_recording(DEMO_RECORDING)
    if not DEMO_FITTED_PRESET.is_file():
        return rec, None
    try:
        preset = load_preset(DEMO_FITTED_PRESET)
    except WorkbenchError:
        log.warning("shipped demo fit %s is not a valid preset; showing the recording unfitted",
                    DEMO_FITTED_PRESET, exc_info=True)
        return rec, None
    return rec, record_from_preset(preset, rec.mono(None), rec.sample_rate, source="shipped demo fit")
