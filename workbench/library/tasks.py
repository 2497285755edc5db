"""What a Dask worker runs for the library: one fit (a clip, or a joint group), its thumbnails, its record.

`run_fit` takes plain data (a task: its key, kind and clips; the fit settings; the store
folder; the worker threads per host) and returns a plain record, so it runs the same on
a local worker, a worker on another machine, or in the client's process. A fit that
the workbench refuses (`WorkbenchError`: not audio, silent, no strike...) comes back as
a ``failed`` record with the reason; anything else raises (Dask retries it once).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import io
import os
import time
from pathlib import Path

from ..errors import WorkbenchError
from .store import read_record, write_record


def usable_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_host(address: str) -> str:
    """The machine of a Dask address (``tcp://10.0.0.5:40331`` -> ``10.0.0.5``)."""
    from distributed.comm import get_address_host

    return get_address_host(address)


def _where() -> tuple[str, str | None]:
    """(address, host) of the Dask worker running this, or ("", None) outside one."""
    try:
        from distributed import get_worker

        address = get_worker().address
    except (ImportError, ValueError):
        return "", None
    return address, worker_host(address)


def _set_threads(threads_by_host: dict[str, int], host: str | None) -> int:
    """Torch threads so that the worker threads of this host share its CPUs without oversubscribing
    (``$WORKBENCH_TORCH_THREADS`` when set, as for the dashboard's fit workers)."""
    import torch

    n = max(1, usable_cpus() // max(1, threads_by_host.get(host, 1)))
    env = os.environ.get("WORKBENCH_TORCH_THREADS", "")
    if env.isdigit() and int(env) > 0:
        n = int(env)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


_MALLOC_TUNED: list[bool] = []


def _undo_dask_malloc_trim() -> None:
    """Give glibc back its large-allocation thresholds in a worker a Dask nanny started.

    A nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` for its workers; setting it turns off glibc's
    dynamic mmap threshold, so every tensor over 128 kB becomes an mmap and a munmap, with
    page faults each time: a robot clip's fit took 7.1 s instead of 2.9 s. A local build's
    workers do not get it (`workbench.library.run.connect`); on a cluster started with
    ``dask worker``, the mmap threshold goes back to 32 MiB (glibc's own upper bound) and the
    trim threshold to 64 MiB, so freed memory still goes back to the system past that.
    """
    if _MALLOC_TUNED or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    _MALLOC_TUNED.append(True)
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 2**20)     # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 * 2**20)     # M_TRIM_THRESHOLD
    except (OSError, AttributeError):    # not glibc
        pass


def thumbnail_png(preset) -> bytes:
    """A small spectrogram of the preset's render (the library's thumbnail), as PNG bytes."""
    from matplotlib.figure import Figure

    from ..plots import plot_spectrogram
    from ..rendering import render

    fig = Figure(figsize=(3.2, 1.6), layout="constrained")
    ax = fig.add_subplot()
    audio = render(preset, device="cpu")
    plot_spectrogram(ax, audio, preset.sample_rate, vmin=-100, vmax=0, max_freq_hz=min(16000, preset.sample_rate / 2))
    ax.set_xlabel("time (s)", fontsize=6)
    ax.set_ylabel("kHz", fontsize=6)
    ax.tick_params(labelsize=5)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return buf.getvalue()


def _png(preset) -> str:
    return base64.b64encode(thumbnail_png(preset)).decode("ascii")


def fit(*args, **kwargs):
    """`workbench.fitting.fit` (imported when the first task runs)."""
    from ..fitting import fit as run

    return run(*args, **kwargs)


def _fit_single(clip: dict, settings: dict) -> dict:
    result = fit(clip["path"], steps=settings["steps"], n_modes=settings["n_modes"], channel=clip["channel"])
    preset = result.preset
    seen = preset.provenance.get("sha256")
    if seen and clip.get("sha256") and seen != clip["sha256"]:
        raise WorkbenchError(f"{clip['path']}: the file changed since the build read it; run the build again")
    return {"presets": [preset.to_dict()], "thumbnails": [_png(preset)], "distance": float(result.distance)}


def _fit_group(clips: list[dict], settings: dict) -> dict:
    from ..fitting.clips import as_clips

    loaded = []
    for c in clips:
        [one] = as_clips([c["path"]], sample_rate=None, channel=c["channel"])
        loaded.append(dataclasses.replace(one, name=c["name"]))
    labels = {c["name"]: tuple(c["label"]) for c in clips}
    result = fit(loaded, labels=labels, steps=settings["steps"], n_modes=settings["n_modes"])
    objects, seen = [], set()
    for i, (c, preset) in enumerate(zip(clips, result.presets)):
        if c["label"][1] not in seen:            # the object alone, from its first clip's fit
            seen.add(c["label"][1])
            alone = preset.replace(tool=None)
            objects.append({"object": c["label"][1], "member": i, "preset": alone.to_dict(), "thumbnail": _png(alone)})
    return {"presets": [p.to_dict() for p in result.presets], "thumbnails": [_png(p) for p in result.presets],
            "objects": objects, "distance": float(result.distance), "distances": [float(d) for d in result.distances]}


def run_fit(task: dict, settings: dict, store: str, threads_by_host: dict[str, int]) -> dict:
    """Run one library fit on this worker and return its record (also written into ``store`` when
    that folder is visible here; a record already there is returned without fitting again).

    Args:
        task: ``{"key", "kind": "single" | "group", "clips": [{"path", "name", "channel", "sha256",
            "label"}]}``.
        settings: ``{"steps", "n_modes"}``.
        store: The results store folder (absolute).
        threads_by_host: Dask worker threads per host, to share each host's CPUs.
    """
    t0 = time.perf_counter()
    done = read_record(store, task["key"])
    address, host = _where()
    if done is not None:
        return {**done, "reused": True}
    threads = _set_threads(threads_by_host, host)
    _undo_dask_malloc_trim()
    record = {"key": task["key"], "kind": task["kind"], "clips": [c["name"] for c in task["clips"]]}
    try:
        body = _fit_single(task["clips"][0], settings) if task["kind"] == "single" else _fit_group(task["clips"],
                                                                                                   settings)
        record.update(status="fitted", **body)
    except WorkbenchError as err:
        record.update(status="failed", reason=str(err))
    record.update(elapsed_s=round(time.perf_counter() - t0, 3), worker=address, host=host or "", pid=os.getpid(),
                  torch_threads=threads, peak_rss_mb=peak_rss_mb(),
                  finished_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    stored = False
    if record["status"] == "fitted" and Path(store).is_dir():     # the client's folder is visible here
        try:
            write_record(store, record)
            stored = True
        except WorkbenchError:
            pass
    return {**record, "stored": stored}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux: ``VmHWM``, which, unlike
    ``ru_maxrss``, does not carry over the peak of the process a spawned worker was forked from)."""
    import resource
    import sys

    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss       # KiB on Linux, bytes on macOS
    return round(peak / (2**20 if sys.platform == "darwin" else 1024), 1)
