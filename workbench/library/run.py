"""`build`: fit a folder of recordings into a preset library on Dask, resumably.

Each clip's fit, and each joint tool/object group's, is one task on ``dask.distributed``:
on a `LocalCluster` of this machine (``workers`` processes of one thread; one worker runs
in this process, which saves a process start and its imports) or on a running cluster
(``scheduler="tcp://HOST:PORT"``; its workers need the workbench installed, the
recordings at the same paths, and ideally the output folder too, see
`workbench.library.store`). Finished fits go into the results store keyed by what they
depend on, so a build that is killed (the client or a worker) and started again redoes
nothing that finished and loses nothing. A clip that cannot be fitted is recorded in the
manifest (``library.jsonl``) with the reason and does not stop the build; a task whose
worker dies is tried once more, then recorded as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import WorkbenchError
from ..fitting.settings import FitSettings
from ..version import __version__
from .assemble import MANIFEST, LibraryEntry, assemble, write_index, write_manifest
from .layouts import ClipSource, joint_groups, scan
from .store import ResultStore, fit_key
from .tasks import run_fit, usable_cpus, worker_host

#: Where a local cluster serves its dashboard (another port when taken; this machine only).
DASHBOARD_ADDRESS = "127.0.0.1:8787"


def default_workers() -> int:
    """Local workers when none are asked for: two, or one on a one-CPU machine."""
    return max(1, min(2, usable_cpus()))


@dataclass
class LibraryResult:
    """What a build did.

    Attributes:
        entries: The library's presets.
        index, manifest: ``out/README.md`` and ``out/library.jsonl``.
        layout: The source's layout (`workbench.library.layouts`).
        rows: The manifest's rows: one per clip (``file``, ``status``, ``reason``, ``key``...),
            then one per joint group (``group``).
        counts: Clips ``fitted`` (this build), ``cached``, ``failed``, ``skipped``.
        records: Records of the fits this build ran (time, worker, memory of each).
        fit_wall_s: Seconds from the first task sent to the last one back (0 when all were cached).
        total_s: Seconds of the whole build.
        workers: Dask workers the fits ran on (0 when nothing had to be fitted).
        dashboard: The Dask dashboard's address, if any.
    """

    entries: list[LibraryEntry]
    index: Path
    manifest: Path
    layout: str
    rows: list[dict]
    counts: dict[str, int]
    records: list[dict] = field(default_factory=list)
    fit_wall_s: float = 0.0
    total_s: float = 0.0
    workers: int = 0
    dashboard: str | None = None

    @property
    def clips_per_minute(self) -> float:
        """Clips fitted by this build per minute of fitting (0 when none were)."""
        return 60.0 * self.counts["fitted"] / self.fit_wall_s if self.fit_wall_s > 0 else 0.0

    @property
    def failures(self) -> list[tuple[str, str]]:
        """(file or group, reason) of every fit that failed."""
        return [(r.get("file") or ", ".join(r["group"]), r["reason"]) for r in self.rows if r["status"] == "failed"]


def _spec(clip: ClipSource) -> dict:
    return {"path": str(clip.path.absolute()), "name": clip.name, "channel": clip.channel, "sha256": clip.sha256,
            "label": list(clip.label) if clip.label else None}


def plan(clips: list[ClipSource], settings: FitSettings, separate: bool):
    """The fits a library needs: (tasks, key of each clip's own fit by ``rel``, joint groups as (key, members)).

    Clips with the same bytes share one fit (and one key).
    """
    wanted = settings.to_dict()
    tasks: dict[str, dict] = {}
    single_keys: dict[str, str] = {}
    for clip in clips:
        spec = _spec(clip)
        key = fit_key("single", [{"sha256": clip.sha256, "channel": clip.channel}], wanted)
        single_keys[clip.rel] = key
        tasks.setdefault(key, {"key": key, "kind": "single", "clips": [spec], "size": clip.size, "title": clip.name})
    groups = []
    for members in joint_groups(clips) if separate else []:
        specs = [_spec(c) for c in members]
        key = fit_key("group", specs, wanted)
        groups.append((key, members))
        tasks.setdefault(key, {"key": key, "kind": "group", "clips": specs, "size": sum(c.size for c in members),
                               "title": f"tool/object separation over {len(members)} clips"})
    return list(tasks.values()), single_keys, groups


@contextlib.contextmanager
def connect(workers: int, scheduler: str | None, *, dashboard: bool = True):
    """A Dask client: of the running cluster at ``scheduler``, else of a new local one (closed after)."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as err:
            raise WorkbenchError(f"--scheduler {scheduler}: cannot connect ({err})") from None
        with client:
            try:
                client.wait_for_workers(1, timeout=120)
            except TimeoutError:
                raise WorkbenchError(f"--scheduler {scheduler}: no worker joined within 120 s") from None
            yield client
        return
    threads = str(max(1, usable_cpus() // workers))
    # Each worker process gets these (a nanny sets them in this process's environment to spawn
    # it, so they are put back after); not Dask's MALLOC_TRIM_THRESHOLD_ (see tasks._undo_dask_malloc_trim).
    spawn_env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
                 "MALLOC_TRIM_THRESHOLD_": None}
    saved = {k: os.environ.get(k) for k in [*spawn_env, "PYTHONHASHSEED"]}
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": spawn_env}), \
                LocalCluster(n_workers=workers, threads_per_worker=1, processes=workers > 1,
                             dashboard_address=DASHBOARD_ADDRESS, silence_logs=logging.ERROR,
                             scheduler_kwargs={"allowed_failures": 1, "dashboard": dashboard,
                                               # without the dashboard, its HTTP server on any free port
                                               **({} if dashboard else {"dashboard_address": "127.0.0.1:0"})}
                             ) as cluster, \
                Client(cluster, set_as_default=False) as client:
            yield client
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _dashboard(client) -> str | None:
    """The cluster's dashboard address (None when it serves none)."""
    try:
        scheduler = getattr(client.cluster, "scheduler", None)
        if getattr(scheduler, "http_server", None) is not None:     # a local cluster's: on this machine only
            from distributed.utils import format_dashboard_link

            return format_dashboard_link("127.0.0.1", scheduler.http_server.port)
        return client.dashboard_link or None
    except (KeyError, AttributeError):
        return None


def _threads_by_host(client) -> dict[str, int]:
    counts: dict[str, int] = {}
    for address, w in client.scheduler_info()["workers"].items():
        host = worker_host(address)
        counts[host] = counts.get(host, 0) + int(w.get("nthreads", 1))
    return counts


def _fit_all(client, tasks: list[dict], store: ResultStore, settings: dict, *, progress: bool, log) -> tuple:
    """Run ``tasks`` on ``client``; (records by key, failure reasons by key, reused keys, wall seconds)."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    threads = _threads_by_host(client)
    t0 = time.perf_counter()
    futures = {}
    for task in sorted(tasks, key=lambda t: -t["size"]):          # the longest first: no long tail at the end
        payload = {k: task[k] for k in ("key", "kind", "clips")}
        fut = client.submit(run_fit, payload, settings, str(store.folder), threads, key=f"workbench-fit-{task['key']}",
                            retries=1)
        futures[fut] = task
    records, failures, reused = {}, {}, set()
    bar = Progress(TextColumn("[bold]fitting[/]"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[failed]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), disable=not progress)
    with bar:
        job = bar.add_task("fits", total=len(tasks), failed="")
        for fut in as_completed(list(futures), loop=client.loop):
            task = futures[fut]
            try:
                record = fut.result()
            except KilledWorker as err:
                record = {"status": "failed", "reason": f"the worker fitting it died, {err.allowed_failures + 1} "
                                                        "times (killed, or out of memory?)"}
            except (Exception, asyncio.CancelledError) as err:
                record = {"status": "failed", "reason": f"{type(err).__name__}: {err}"}
            fut.release()
            if record["status"] == "fitted":
                store.ensure(record)
                records[task["key"]] = record
                if record.get("reused"):
                    reused.add(task["key"])
                where = f" on {record['worker']}" if record.get("worker") else ""
                log(f"{task['title']}: {'mean ' if task['kind'] == 'group' else ''}distance {record['distance']:.3f} "
                    f"in {record['elapsed_s']:.1f} s{where}")
            else:
                failures[task["key"]] = record["reason"]
                log(f"failed {task['title']}: {record['reason']}")
            bar.update(job, advance=1, failed=f"[red]{len(failures)} failed[/]" if failures else "")
    return records, failures, reused, time.perf_counter() - t0


def _rows(clips, skipped, single_keys, groups, records, failures, fresh, files) -> list[dict]:
    def state(key: str) -> dict:
        rec = records.get(key)
        if rec is None:
            return {"status": "failed", "reason": failures.get(key, "not fitted")}
        return {"status": "fitted" if key in fresh else "cached", "distance": rec.get("distance"),
                "elapsed_s": rec.get("elapsed_s"), "worker": rec.get("worker", ""), "fitted_at": rec.get("finished_at")}

    rows, first = [], {}
    group_of = {c.rel: key for key, members in groups for c in members}
    for clip in clips:
        key = single_keys[clip.rel]
        row = {"file": clip.rel, "name": clip.name, "sha256": clip.sha256, "key": key, **state(key),
               "presets": files.get(clip.rel, [])}
        if key in first:
            row["same_recording_as"] = first[key]
        first.setdefault(key, clip.rel)
        if clip.rel in group_of:
            row["group"] = group_of[clip.rel]
        rows.append(row)
    rows += [{"file": rel, "status": "skipped", "reason": why} for rel, why in skipped]
    rows += [{"group": [c.rel for c in members], "key": key, **state(key)} for key, members in groups]
    return rows


def build(source: str | Path, out: str | Path = "presets", *, workers: int | None = None,
          scheduler: str | None = None, steps: int = 250, n_modes: int = 48, separate: bool = True,
          progress: bool = True, dashboard: bool = True, log=print) -> LibraryResult:
    """Fit every recording in ``source`` on Dask and write the library into ``out``; resumable.

    Args:
        source: Folder of recordings (a plain folder, DiffImpact's or RealImpact's layout,
            `workbench.library.layouts`), optionally with MANIFEST.md.
        out: Library folder; presets go to ``out/<material>/``, fits to ``out/.fits``, the
            manifest to ``out/library.jsonl``.
        workers: Local worker processes (default `default_workers`); 1 runs the fits in
            this process (no worker process to start, no second import of torch). Not with
            ``scheduler``.
        scheduler: Address of a running Dask scheduler (``tcp://HOST:PORT``) to fit on instead.
        steps, n_modes: Fit settings (part of each fit's key).
        separate: Also run the joint tool/object fits (`workbench.library.layouts.joint_groups`).
        progress: Show a progress bar on stderr.
        dashboard: Serve the local cluster's Dask dashboard.
        log: Progress messages go here.

    Raises:
        WorkbenchError: no recordings, bad settings, both ``workers`` and ``scheduler``,
            a scheduler that cannot be reached, another build writing into ``out``.
    """
    t_start = time.perf_counter()
    if workers is not None and scheduler:
        raise WorkbenchError("--workers and --scheduler: give one (the scheduler's cluster has its own workers)")
    if workers is not None and workers < 1:
        raise WorkbenchError(f"--workers: {workers} must be at least 1")
    fit_settings = FitSettings(n_modes=n_modes, steps=steps)
    source, out = Path(source), Path(out)
    found = scan(source)
    tasks, single_keys, groups = plan(found.clips, fit_settings, separate)
    store = ResultStore(out)
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    with store.open():
        records = {t["key"]: r for t in tasks if (r := store.get(t["key"])) is not None}
        todo = [t for t in tasks if t["key"] not in records]
        log(f"{len(found.clips)} recordings ({found.layout} layout), {len(tasks)} fits: "
            f"{len(records)} cached, {len(todo)} to fit")
        failures, fresh, wall, n_workers, link = {}, set(), 0.0, 0, None
        if todo:
            with connect(workers or default_workers(), scheduler, dashboard=dashboard) as client:
                n_workers = len(client.scheduler_info()["workers"])
                link = _dashboard(client) if (dashboard or scheduler) else None
                if link:
                    log(f"Dask dashboard: {link}")
                ran, failures, reused, wall = _fit_all(client, todo, store, {"steps": steps, "n_modes": n_modes},
                                                       progress=progress, log=log)
            records.update(ran)
            fresh = set(ran) - reused
        entries, files = assemble(out, found.clips, single_keys, groups, records)
        index = write_index(entries, out)
        rows = _rows(found.clips, found.skipped, single_keys, groups, records, failures, fresh, files)
        counts = {s: sum(1 for r in rows if "file" in r and r["status"] == s)
                  for s in ("fitted", "cached", "failed", "skipped")}
        result = LibraryResult(entries=entries, index=index, manifest=out / MANIFEST, layout=found.layout,
                               rows=rows, counts=counts, records=[records[k] for k in sorted(fresh)],
                               fit_wall_s=wall, workers=n_workers, dashboard=link)
        result.total_s = time.perf_counter() - t_start
        run = {"source": str(source.absolute()), "layout": found.layout, "workbench": __version__,
               "settings": fit_settings.to_dict(), "scheduler": scheduler or "local", "workers": n_workers,
               "started_at": started, "fit_wall_s": round(wall, 2), "total_s": round(result.total_s, 2),
               "clips": counts, "clips_per_minute": round(result.clips_per_minute, 2)}
        write_manifest(out, run, rows)
    return result


def build_library(source: str | Path, out: str | Path = "presets", *, steps: int = 250, n_modes: int = 48,
                  separate: bool = True, log=print) -> list[LibraryEntry]:
    """`build` with one worker in this process, no progress bar and no dashboard; returns the entries.

    The sequential build is the Dask build with one worker: Dask adds about 10 ms per fit
    (a task's round trip, bench/library.py) to fits of seconds, so there is no second path.
    """
    return build(source, out, workers=1, steps=steps, n_modes=n_modes, separate=separate, progress=False,
                 dashboard=False, log=log).entries
