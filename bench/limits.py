"""Limits benchmark: peak memory and time of the worst work the budgets allow.

Each case runs in a fresh Python process through the public entry points a user
reaches (the CLI for render and fit, the dashboard's `AppState.add_upload` for an
upload) and reports that process's peak RSS (``ru_maxrss``) and wall time:

* render: a preset at every budget at once (1024 object + 1024 tool modes, 512
  impacts of the longest contact, reverb on) for `RENDER_SAMPLES` samples at 96 kHz,
  written as a WAV; and the refusal of a 600 s render at 44.1 kHz.
* fit: a recording of `FIT_SAMPLES` samples at 44.1 kHz (95 s, a strike every 1.5 s)
  with the largest ``--modes`` (1024), with ``--report`` (full-length resynthesis and
  figure); and the refusal of a 600 s recording.
* upload: a FLAC at the `DECODED_SAMPLES` budget (8 channels, mostly silence, a few
  strikes) decoded, mixed, detected and shown; and the refusal of 30 min x 8 channels
  (5 MB on disk) from its header.

The worst case must stay under `MEMORY_BYTES` (2 GiB). ``--previous DIR`` runs the
same allowed cases on another checkout (e.g. a ``git worktree`` of the previous
commit) in the same run, for the table's comparison column; the refused cases are not
run there (before the budgets they took 17 GB and more).

    python bench/limits.py [--previous /tmp/prev] [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.budgets import DECODED_SAMPLES, FIT_SAMPLES, IMPACTS, MEMORY_BYTES, MODES_PER_BODY, \
    RENDER_SAMPLES  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "limits.md"

_RUN = """
import json, resource, sys, time, traceback
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
outcome = "ok"
try:
{body}
except SystemExit as e:
    outcome = "refused (exit %s)" % e.code if e.code else "ok"
except Exception as e:
    outcome = "FAILED: %s: %s" % (type(e).__name__, str(e).splitlines()[0][:120])
print(json.dumps({{"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "wall_s": time.perf_counter() - t0, "outcome": outcome}}))
"""


def run_case(root: Path, body: str) -> dict:
    """Run ``body`` in a fresh interpreter with ``root`` first on the path; its peak RSS and wall time."""
    code = _RUN.format(root=str(root), body=textwrap.indent(textwrap.dedent(body), "    "))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "WORKBENCH_FIT_PROCESSES": "0",
                               "HOME": str(Path.home())})
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"peak_mb": float("nan"), "wall_s": float("nan"),
                "outcome": f"crashed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}"}
    return json.loads(lines[-1])


def _cli(args: list[str]) -> str:
    return f"from workbench.cli import app\napp({args!r}, standalone_mode=True)\n"


def worst_preset(path: Path, sample_rate: int, n_samples: int) -> None:
    rng = np.random.default_rng(0)
    duration = n_samples / sample_rate

    def modes(n):
        f = np.exp(rng.uniform(np.log(50), np.log(20000), n))
        return [{"freq_hz": float(x), "t60_s": float(rng.uniform(0.05, 3.0)), "gain_db": float(rng.uniform(-60, -20))}
                for x in f]
    impacts = [{"time_s": float(t), "contact_s": 0.02, "magnitude": 1.0}
               for t in np.linspace(0.01, duration - 0.1, IMPACTS.limit)]
    preset = {"schema": "impact-workbench/preset", "version": 1, "name": "worst", "sample_rate": sample_rate,
              "duration_s": duration, "object": {"modes": modes(MODES_PER_BODY.limit)},
              "tool": {"modes": modes(MODES_PER_BODY.limit)}, "impacts": impacts,
              "reverb": {"enabled": True, "bands": [{"freq_hz": 100.0, "gain_db": -20.0, "t60_s": 1.0},
                                                    {"freq_hz": 4000.0, "gain_db": -25.0, "t60_s": 0.5}]}}
    path.write_text(json.dumps(preset))


def strikes(n_frames: int, sample_rate: int, every_s: float, channels: int = 1) -> np.ndarray:
    rng = np.random.default_rng(1)
    out = np.zeros((n_frames, channels), np.float32)
    t = np.arange(int(1.2 * sample_rate)) / sample_rate
    ring = sum(np.exp(-t * d) * np.sin(2 * np.pi * f * t) for f, d in ((523, 4), (1370, 7), (2810, 11))) / 3
    for start in np.arange(0.2, n_frames / sample_rate - 1.3, every_s):
        i = int(start * sample_rate)
        out[i:i + len(t)] += (0.5 * ring)[:, None].astype(np.float32)
    out += 1e-4 * rng.standard_normal(out.shape).astype(np.float32)
    return out


def make_inputs(folder: Path) -> dict[str, Path]:
    files = {"preset": folder / "worst.json", "preset_long": folder / "long.json",
             "fit": folder / "fit.wav", "fit_long": folder / "fit_long.flac",
             "upload": folder / "upload.flac", "upload_long": folder / "upload_long.flac"}
    worst_preset(files["preset"], 96000, RENDER_SAMPLES.limit)
    data = json.loads(files["preset"].read_text())
    files["preset_long"].write_text(json.dumps({**data, "sample_rate": 44100, "duration_s": 600.0}))
    sf.write(files["fit"], strikes(FIT_SAMPLES.limit, 44100, 1.5), 44100, subtype="PCM_16")
    sf.write(files["fit_long"], strikes(600 * 16000, 16000, 30.0), 16000, subtype="PCM_16")
    frames = DECODED_SAMPLES.limit // 8
    sf.write(files["upload"], strikes(frames, 48000, 10.0, channels=8), 48000, subtype="PCM_16")
    with sf.SoundFile(files["upload_long"], "w", 48000, 8, subtype="PCM_16") as f:   # 30 min, silent
        block = np.zeros((48000 * 60, 8), np.int16)
        for _ in range(30):
            f.write(block)
    return files


def cases(files: dict[str, Path], out: Path) -> list[tuple[str, str, bool]]:
    """(name, body, allowed) of each case; refused ones are checked to be refused early."""
    upload = """
        from pathlib import Path
        from workbench.app.state import AppState
        s = AppState()
        rec = s.add_upload({name!r}, Path({path!r}).read_bytes())
        if rec is None:
            raise SystemExit(2)
        s.select(rec.name)
    """
    return [
        (f"render: all budgets, {RENDER_SAMPLES.limit / 96000:.1f} s at 96 kHz",
         _cli(["render", str(files["preset"]), "-o", str(out / "worst.wav"), "--subtype", "FLOAT"]), True),
        ("render: 600 s at 44.1 kHz (refused)", _cli(["render", str(files["preset_long"]), "-o",
                                                      str(out / "long.wav")]), False),
        (f"fit: {FIT_SAMPLES.limit / 44100:.0f} s at 44.1 kHz, 1024 modes, report",
         _cli(["fit", str(files["fit"]), "-o", str(out / "fit.json"), "--modes", "1024", "--steps", "20",
               "--device", "cpu", "--report", str(out / "report")]), True),
        ("fit: 600 s recording (refused)", _cli(["fit", str(files["fit_long"]), "-o", str(out / "long.json"),
                                                 "--device", "cpu"]), False),
        (f"upload: {DECODED_SAMPLES.limit // 8 / 48000:.0f} s x 8 ch FLAC at 48 kHz",
         upload.format(name="upload.flac", path=str(files["upload"])), True),
        ("upload: 30 min x 8 ch FLAC (refused)",
         upload.format(name="upload_long.flac", path=str(files["upload_long"])), False),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--previous", type=Path, help="Another checkout to run the allowed cases on.")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = make_inputs(tmp)
        sizes = {k: f"{p.stat().st_size / 2**20:.1f} MB" for k, p in files.items()}
        for name, body, allowed in cases(files, tmp):
            now = run_case(ROOT, body)
            before = run_case(args.previous.resolve(), body) if (args.previous and allowed) else None
            rows.append((name, now, before))
            print(f"{name}: {now}" + (f"  previous: {before}" if before else ""), flush=True)
    worst = max(r[1]["peak_mb"] for r in rows)
    lines = [
        "# Limits: peak memory of the worst allowed work", "",
        f"Machine: {platform.machine()}, {platform.system()}, Python {platform.python_version()}; "
        f"one fresh process per case (peak RSS = ru_maxrss, includes Python, torch and the imports). "
        f"Inputs: {', '.join(f'{k} {v}' for k, v in sizes.items())}.", "",
        "Budgets (`workbench/budgets.py`): " + ", ".join(
            f"{b.name} {b.limit}" for b in (RENDER_SAMPLES, FIT_SAMPLES, DECODED_SAMPLES, MODES_PER_BODY, IMPACTS)),
        "",
        "| case | outcome | peak RSS (MB) | wall (s) | previous commit: peak RSS (MB) | previous: wall (s) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, now, before in rows:
        prev = (f"{before['peak_mb']:.0f} | {before['wall_s']:.1f}" if before else "not run | -")
        lines.append(f"| {name} | {now['outcome']} | {now['peak_mb']:.0f} | {now['wall_s']:.1f} | {prev} |")
    verdict = "under" if worst * 2**20 < MEMORY_BYTES.limit else "OVER"
    lines += ["", f"Worst peak: {worst:.0f} MB, {verdict} the {MEMORY_BYTES.limit / 2**30:.0f} GiB "
                  "memory budget."]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
