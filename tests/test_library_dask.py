"""The library on Dask: a real scheduler and workers over TCP, a killed client and a killed worker,
failed clips, the dataset layouts (`workbench.library`).

Fits are few, short (about 1 s clips cut from the bundled recordings) and small
(``--steps 5 --modes 8`` unless a test needs them to last).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import soundfile as sf
from typer.testing import CliRunner

from workbench.cli import app
from workbench.data import DATA_DIR
from workbench.library import build, detect_layout, read_manifest_lines, scan
from workbench.library.layouts import joint_groups
from workbench.library.store import STORE_DIR, SUFFIX

DASK = Path(sys.executable).parent / "dask"
SMALL = ["--steps", "5", "--modes", "8"]
#: (bundled file, name in the source folder, start s): about 1 s from just before the strike.
CUTS = [("robot_steelfork_on_steelbowl.wav", "robot_steelfork_on_steelbowl.wav", 0.3),
        ("robot_woodspoon_on_steelbowl.wav", "robot_woodspoon_on_steelbowl.wav", 0.3),
        ("hammer_wood_multi.wav", "hammer_wood.wav", 0.0),
        ("perc_bell2__hullum_fs415559.flac", "bell.wav", 0.0),
        ("robot_steelfork_on_steelbowl.wav", "sub/steel_hit.wav", 0.45)]


def _cut(src: Path, dst: Path, start_s: float, dur_s: float = 1.0) -> None:
    y, sr = sf.read(src, always_2d=True)
    dst.parent.mkdir(parents=True, exist_ok=True)
    sf.write(dst, y[int(start_s * sr):int((start_s + dur_s) * sr)], sr, subtype="PCM_16")


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """Five short clips (two robot clips named ``*_<tool>_on_<object>``, one in a sub-folder) and a short OGG."""
    folder = tmp_path_factory.mktemp("clips")
    for name, dst, start in CUTS:
        _cut(DATA_DIR / name, folder / dst, start)
    shutil.copy(DATA_DIR / "impactMetal_light_000.ogg", folder / "impactMetal_light_000.ogg")
    return folder


def _source(clips: Path, tmp_path: Path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(clips, src)
    return src


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "workbench", "library", *args]


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process this test started in its own session, with the processes it started."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        time.sleep(0.5)       # the group's other members (a nanny's worker) get the signal too


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes on the loopback, stopped after the module."""
    from distributed import Client

    logs = tmp_path_factory.mktemp("dask-logs")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    cmds = [[str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]]
    cmds += [[str(DASK), "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
              "--host", "127.0.0.1", "--name", f"w{i}"] for i in range(2)]
    procs, files = [], []
    try:
        for i, cmd in enumerate(cmds):
            files.append(open(logs / f"{i}.log", "wb"))
            procs.append(subprocess.Popen(cmd, stdout=files[-1], stderr=subprocess.STDOUT, start_new_session=True))
            if i == 0:
                time.sleep(1.0)
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            _stop(p)
        for f in files:
            f.close()


def _statuses(out: Path) -> dict[str, str]:
    _, rows = read_manifest_lines(out)
    return {r.get("file") or "group": r["status"] for r in rows}


@pytest.mark.slow
def test_fits_run_on_a_running_cluster_through_scheduler(clips, tmp_path, scheduler):
    src, out = _source(clips, tmp_path), tmp_path / "lib"
    t0 = time.perf_counter()
    run = subprocess.run(_cli(str(src), "-o", str(out), "--scheduler", scheduler, *SMALL),
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "6 recordings (folder layout), 7 fits: 0 cached, 7 to fit" in run.stderr
    info, rows = read_manifest_lines(out)
    assert info["scheduler"] == scheduler and info["workers"] == 2 and info["clips"]["fitted"] == 6
    assert all(r["status"] == "fitted" for r in rows), rows
    assert {r["worker"].rsplit(":", 1)[0] for r in rows} == {"tcp://127.0.0.1"}
    assert len({r["worker"] for r in rows}) == 2, "both workers fitted"
    for r in rows:
        for rel in r.get("presets", []):
            assert (out / rel).is_file()
    assert (out / "steel" / "robot_steelfork_on_steelbowl_separated.json").is_file()   # no MANIFEST.md: the
    assert (out / "steel" / "steelbowl_object.json").is_file()                        # material from the name
    assert len(list((out / STORE_DIR).glob(f"*{SUFFIX}"))) == 7
    assert "clips/min" in run.stdout and "wrote 9 presets" in run.stdout
    print(f"cluster run: {time.perf_counter() - t0:.1f} s")


@pytest.mark.slow
def test_a_worker_killed_mid_fit_is_retried_and_nothing_is_lost(clips, tmp_path, scheduler):
    from distributed import Client

    src, out = _source(clips, tmp_path), tmp_path / "lib"
    proc = subprocess.Popen(_cli(str(src), "-o", str(out), "--scheduler", scheduler, "--steps", "60", "--modes", "8",
                                 "--no-separation"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    try:
        with Client(scheduler, timeout="30s") as client:
            deadline = time.monotonic() + 120
            while killed is None and time.monotonic() < deadline and proc.poll() is None:
                busy = [w for w, keys in client.processing().items() if any("workbench-fit" in str(k) for k in keys)]
                if busy:
                    pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
                    os.kill(pid, signal.SIGKILL)             # kill -9 of the worker, mid-fit
                    killed = busy[0]
                time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert killed, "no fit was seen running"
    assert proc.returncode == 0, stderr[-3000:]
    _, rows = read_manifest_lines(out)
    assert len(rows) == 6
    for r in rows:     # the killed fit ran again elsewhere (or is recorded as failed, with the reason)
        assert r["status"] == "fitted" or (r["status"] == "failed" and "died" in r["reason"]), r
    assert sum(r["status"] == "fitted" for r in rows) >= 5


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.slow
def test_a_killed_build_resumes_without_redoing_or_losing_a_fit(clips, tmp_path):
    src, out = _source(clips, tmp_path), tmp_path / "lib"
    store = out / STORE_DIR
    proc = subprocess.Popen(_cli(str(src), "-o", str(out), "--workers", "2", "--steps", "25", "--modes", "8"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 180
        while not list(store.glob(f"*{SUFFIX}")) and time.monotonic() < deadline and proc.poll() is None:
            workers = _children(proc.pid) or workers
            time.sleep(0.02)
        assert proc.poll() is None, "the build ended before it could be killed"
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)                     # kill -9 of the client, part-way
        proc.wait(timeout=10)
        _, alive = psutil.wait_procs(workers, timeout=20)   # its local workers exit with it
        assert not alive, f"workers outlived the killed client: {alive}"
    finally:
        for p in workers:
            if p.is_running():
                p.kill()
        if proc.poll() is None:
            proc.kill()
    done = {p.name: p.stat().st_mtime_ns for p in store.glob(f"*{SUFFIX}")}
    assert 1 <= len(done) < 7, "killed part-way"
    again = subprocess.run(_cli(str(src), "-o", str(out), "--workers", "2", "--steps", "25", "--modes", "8"),
                           capture_output=True, text=True, timeout=240)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"7 fits: {len(done)} cached, {7 - len(done)} to fit" in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in store.glob(f"*{SUFFIX}") if p.name in done} == done   # 0 redone
    _, rows = read_manifest_lines(out)
    assert all(r["status"] in ("fitted", "cached") for r in rows), rows                         # 0 lost
    cached_keys = {r["key"] for r in rows if r["status"] == "cached"}
    assert {f"{k}{SUFFIX}" for k in cached_keys} <= set(done)
    assert len(list(store.glob(f"*{SUFFIX}"))) == 7


def test_a_broken_or_silent_clip_is_recorded_as_failed_and_the_rest_complete(clips, tmp_path):
    src, out = tmp_path / "src", tmp_path / "lib"
    src.mkdir()
    shutil.copy(clips / "bell.wav", src / "bell.wav")
    (src / "broken.wav").write_bytes(os.urandom(3000))
    sf.write(src / "silent.wav", np.zeros(44100, dtype=np.float32), 44100)
    messages: list[str] = []
    r = build(src, out, workers=1, steps=5, n_modes=8, progress=False, dashboard=False, log=messages.append)
    status = {row["file"]: row for row in r.rows}
    assert status["bell.wav"]["status"] == "fitted" and (out / status["bell.wav"]["presets"][0]).is_file()
    for name in ("broken.wav", "silent.wav"):
        assert status[name]["status"] == "failed" and status[name]["reason"], status[name]
    assert "broken.wav" in status["broken.wav"]["reason"]
    assert r.counts == {"fitted": 1, "cached": 0, "failed": 2, "skipped": 0}
    assert [f for f, _ in r.failures] == ["broken.wav", "silent.wav"]
    assert any(m.startswith("failed silent") for m in messages)
    # started again: the finished fit is cached, the failed ones are tried again (and fail again)
    r2 = build(src, out, workers=1, steps=5, n_modes=8, progress=False, dashboard=False, log=lambda m: None)
    assert r2.counts == {"fitted": 0, "cached": 1, "failed": 2, "skipped": 0}


def test_the_three_layouts_are_detected(clips, tmp_path):
    wav = clips / "bell.wav"
    di = tmp_path / "diffimpact" / "data"
    for rel in ("robot/steel-fork-ceramic-mug/1623447441460_68.wav",
                "robot/wood-spoon-ceramic-mug/1623459615544_45.wav",
                "robot/wood-spoon-ceramic-mug/1623459631088_42.wav",
                "robot/steel-fork-steel-bowl/1623466283944_59.wav", "hammer/wood.wav"):
        (di / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(wav, di / rel)
    found = scan(di)
    assert found.layout == "diffimpact" == detect_layout(di)
    by = {c.rel: c for c in found.clips}
    mug = by["robot/steel-fork-ceramic-mug/1623447441460_68.wav"]
    assert mug.name == "1623447441460_68_steelfork_on_ceramicmug" and mug.label == ("steelfork", "ceramicmug")
    assert mug.material == "ceramic" and mug.channel is None
    assert by["hammer/wood.wav"].name == "hammer_wood" and by["hammer/wood.wav"].channel == 0
    [group] = joint_groups(found.clips)       # one clip per (tool, object) pair; steel fork ties mug and bowl
    assert [c.label for c in group] == [("steelfork", "ceramicmug"), ("steelfork", "steelbowl"),
                                        ("woodspoon", "ceramicmug")]

    ri = tmp_path / "realimpact"
    for rel in ("3_CeramicKoiBowl/mic_0.wav", "3_CeramicKoiBowl/mic_1.wav", "12_WoodPlate/hits/hit_5.wav",
                "12_WoodPlate/._hit_6.wav"):
        (ri / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(wav, ri / rel)
    found = scan(ri)
    assert found.layout == "realimpact"
    assert [(c.name, c.material, c.label) for c in found.clips] == [
        ("WoodPlate_hit_5", "wood", None), ("CeramicKoiBowl_mic_0", "ceramic", None),
        ("CeramicKoiBowl_mic_1", "ceramic", None)]
    assert found.skipped == [("12_WoodPlate/._hit_6.wav", "hidden file")]

    plain = tmp_path / "plain"
    (plain / "kenney").mkdir(parents=True)
    shutil.copy(wav, plain / "kenney" / "impactGlass_medium_000.wav")
    shutil.copy(wav, plain / "robot_steelfork_on_steelbowl.wav")
    found = scan(plain)
    assert found.layout == "folder"
    assert [(c.name, c.label, c.material) for c in found.clips] == [
        ("impactGlass_medium_000", None, "glass"),
        ("robot_steelfork_on_steelbowl", ("steelfork", "steelbowl"), "steel")]


def test_a_diffimpact_folder_builds_joint_presets_from_its_folder_labels(clips, tmp_path):
    robot = tmp_path / "data" / "robot"
    (robot / "steel-fork-steel-bowl").mkdir(parents=True)
    (robot / "wood-spoon-steel-bowl").mkdir(parents=True)
    shutil.copy(clips / "robot_steelfork_on_steelbowl.wav", robot / "steel-fork-steel-bowl" / "1623466283944_59.wav")
    shutil.copy(clips / "robot_woodspoon_on_steelbowl.wav", robot / "wood-spoon-steel-bowl" / "1623459983248_69.wav")
    r = build(tmp_path / "data", tmp_path / "lib", workers=1, steps=5, n_modes=8, progress=False, dashboard=False,
              log=lambda m: None)
    assert r.layout == "diffimpact"
    names = sorted(e.preset.name for e in r.entries)
    assert names == ["1623459983248_69_woodspoon_on_steelbowl", "1623459983248_69_woodspoon_on_steelbowl_separated",
                     "1623466283944_59_steelfork_on_steelbowl", "1623466283944_59_steelfork_on_steelbowl_separated",
                     "steelbowl_object"]
    sep = next(e for e in r.entries if e.kind == "separated")
    assert sep.preset.tool is not None and sep.family == "steel"
    assert sep.preset.provenance["source"] == "robot/steel-fork-steel-bowl/1623466283944_59.wav"


def test_workers_and_scheduler_together_are_refused(tmp_path):
    result = CliRunner().invoke(app, ["library", str(tmp_path), "-o", str(tmp_path / "lib"), "--workers", "2",
                                      "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2 and "give one" in result.output
