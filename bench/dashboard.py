"""Dashboard benchmark: first page load, slider-to-sound latency, 5 concurrent fitting sessions.

    python bench/dashboard.py [--sessions 5] [--steps 10] [--repeats 200]

a. Page load: ``workbench serve --no-show`` is started; once it answers HTTP, a fresh
   Chromium page opens it and the clock runs until the fitted demo is on screen (the
   fit status shows the shipped fit's distance, the Fit player has its sound and the
   resynthesis spectrogram is drawn). First visit and the median of 3 more.
b. Slider latency, server side: for a 2 s sound at 44.1 kHz (the fitted demo, 32 object
   + 16 tool modes), the time from a slider value to the new sounds as WAV bytes
   (apply_edits + incremental render of edited / object-only / tool-only + encoding of
   the players that changed), per control, median and 90th percentile. Also the same
   through `AppState` (what a slider callback runs) and, in the browser, key press on
   the pitch slider -> new ``<audio src>`` (includes the websocket round trip).
c. Load: N browser sessions press Fit at once (``--steps`` steps each); every fit must
   end "fit done" without a page error, while another session moves a slider (its
   latency under load is reported).

Needs Debian's chromium at /usr/bin/chromium. Writes bench/results/dashboard.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workbench.app.demo import DEMO_FITTED_PRESET, demo  # noqa: E402
from workbench.app.jobs import fit_workers  # noqa: E402
from workbench.app.playback import wav_bytes  # noqa: E402
from workbench.app.records import FitRecord  # noqa: E402
from workbench.app.state import AppState  # noqa: E402
from workbench.edits import Edits, apply_edits  # noqa: E402
from workbench.rendering import PartCache  # noqa: E402

RESULTS = REPO / "bench" / "results" / "dashboard.md"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def _pct(xs, q):
    return float(np.percentile(xs, q))


# ---------------------------------------------------------------------------------------
# b. slider latency (server side, in process)
# ---------------------------------------------------------------------------------------

SLIDERS = [
    ("pitch", "pitch_semitones", lambda i: (i % 48) / 2 - 12),
    ("decay", "decay_scale", lambda i: 0.5 + (i % 20) / 10),
    ("brightness", "brightness_db_per_octave", lambda i: (i % 24) / 2 - 6),
    ("contact time", "contact_scale", lambda i: 0.5 + (i % 20) / 10),
    ("impact strength", "strength_db", lambda i: (i % 40) / 2 - 10),
    ("noise level", "noise_db", lambda i: (i % 40) - 20),
    ("reverb amount", "reverb_db", lambda i: (i % 20) - 10),
    ("reverb decay", "reverb_decay_scale", lambda i: 0.5 + (i % 20) / 10),
    # the physical sliders (`workbench.physical`), a new value each time (no cached part);
    # a dict sets several controls at once
    ("size", "size", lambda i: 0.5 * 1.01 ** (i % 200)),
    ("material (and amount)", None, lambda i: {"material": ("wood", "glass", "plastic", "ceramic", "stone")[i % 5],
                                               "material_amount": 0.1 + (0.618 * i) % 0.9}),
    ("strike velocity", "velocity", lambda i: 0.5 * 1.01 ** (i % 200)),
    ("mallet stiffness", "stiffness", lambda i: 0.5 * 1.01 ** (i % 200)),
    ("strike position", "strike_position", lambda i: (0.618 * i) % 1.0),
]


def demo_2s():
    rec, record = demo()
    if record is None:
        raise SystemExit(f"no shipped demo fit ({DEMO_FITTED_PRESET})")
    return record.preset.replace(duration_s=2.0)


def slider_latency(repeats: int, only: str = "") -> list[tuple[str, float, float, int]]:
    preset = demo_2s()
    renderer = PartCache()
    renderer.render(preset)
    rows = []
    for label, field, value in SLIDERS:
        if only and only not in label:
            continue
        times, last = [], renderer.render(preset)
        for i in range(repeats):
            t0 = time.perf_counter()
            v = value(i + 1)
            edited = apply_edits(preset, Edits(**(v if isinstance(v, dict) else {field: v})))
            out = renderer.render(edited)
            for k, y in out.items():          # the players whose sound changed
                if y is not last[k]:
                    wav_bytes(y, edited.sample_rate)
            times.append((time.perf_counter() - t0) * 1e3)
            last = out
        rows.append((label, statistics.median(times), _pct(times, 90), len(times)))
    return rows


def state_latency(repeats: int) -> tuple[float, float]:
    s = AppState(presets_dir=tempfile.mkdtemp())
    rec, record = demo()
    s.add_recording(rec, record=FitRecord(**{**record.__dict__, "preset": record.preset.replace(duration_s=2.0),
                                             "target": record.target[: 2 * record.sample_rate]}))
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        s.controls.pitch_semitones = ((i + 1) % 48) / 2 - 12
        for k in ("edited", "object", "tool"):
            wav_bytes(s.audio[k], s.audio_rate)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), _pct(times, 90)


# ---------------------------------------------------------------------------------------
# a + c. the browser
# ---------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(presets: str):
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = open(Path(presets) / "serve.log", "wb")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--no-show", "--port", str(port),
                             "--presets", presets], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            break
        except OSError:
            if proc.poll() is not None or time.perf_counter() - t0 > 180:
                proc.kill()
                raise SystemExit((Path(presets) / "serve.log").read_text()[-2000:])
            time.sleep(0.1)
    return proc, url, time.perf_counter() - t0


def page_ready(page, timeout_ms=60_000):
    from playwright.sync_api import expect
    expect(page.locator(".wb-fit-status")).to_contain_text("spectral distance", timeout=timeout_ms)
    expect(page.locator(".wb-player-fit audio")).to_have_attribute("src", re.compile("^data:audio/wav"),
                                                                    timeout=timeout_ms)
    expect(page.locator(".wb-spec-resyn canvas").first).to_be_visible(timeout=timeout_ms)


def slider_round_trip(page, presses: int = 8) -> list[float]:
    """Key press on the pitch slider -> the Edited player's src changes (ms)."""
    audio = page.locator(".wb-player-edited audio")
    handle = page.locator(".wb-edit-pitch_semitones .noUi-handle")
    out = []
    for i in range(presses):
        before = audio.get_attribute("src")
        handle.focus()
        t0 = time.perf_counter()
        handle.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        page.wait_for_function("([el, s]) => el.getAttribute('src') !== s",
                               arg=[audio.element_handle(), before], timeout=30_000, polling=5)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def browser_bench(n_sessions: int, steps: int) -> dict:
    from playwright.sync_api import expect, sync_playwright

    res: dict = {}
    with tempfile.TemporaryDirectory() as presets, sync_playwright() as p:
        proc, url, up_s = start_server(presets)
        res["server_up_s"] = up_s
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            loads = []
            for _ in range(4):
                ctx = b.new_context(viewport={"width": 1366, "height": 768})
                page = ctx.new_page()
                t0 = time.perf_counter()
                page.goto(url)
                page_ready(page)
                loads.append(time.perf_counter() - t0)
                if len(loads) == 4:
                    res["round_trip_ms"] = slider_round_trip(page)
                ctx.close()
            res["first_load_s"], res["load_s"] = loads[0], statistics.median(loads[1:])

            # c. N sessions fit at once, another one keeps editing
            pages, errors = [], []
            for i in range(n_sessions + 1):
                ctx = b.new_context(viewport={"width": 1366, "height": 768})
                page = ctx.new_page()
                page.on("pageerror", lambda e, i=i: errors.append(f"session {i}: {e}"))
                page.goto(url)
                page_ready(page)
                pages.append(page)
            fitters, editor = pages[:n_sessions], pages[n_sessions]
            for page in fitters:
                for css, v in ((".wb-steps", steps), (".wb-modes", 16)):
                    box = page.locator(f"{css} input")
                    box.fill(str(v))
                    box.press("Enter")
            t0 = time.perf_counter()
            for page in fitters:
                page.locator(".wb-fit button").click()
            res["under_load_ms"] = slider_round_trip(editor, 6)
            done = []
            for i, page in enumerate(fitters):
                expect(page.locator(".wb-fit-status")).to_contain_text("fit done", timeout=600_000)
                done.append(time.perf_counter() - t0)
                text = page.locator(".wb-fit-status p").first.inner_text()
                m = re.search(r"distance ([\d.]+)", text)
                res.setdefault("distances", []).append(float(m.group(1)) if m else float("nan"))
                if page.locator(".notyf__toast").filter(has_text="rror").count():
                    errors.append(f"session {i}: error notification")
            res["fit_done_s"], res["errors"] = done, errors
            b.close()
        finally:
            proc.terminate()
            proc.wait(15)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))

    load_before = os.getloadavg()[0]
    lat = slider_latency(args.repeats)
    st_med, st_p90 = state_latency(args.repeats // 2)
    br = {} if args.no_browser or not Path(CHROMIUM).exists() else browser_bench(args.sessions, args.steps)

    cpu = platform.processor() or platform.machine()
    lines = ["# Dashboard benchmark", "",
             f"`python bench/dashboard.py --sessions {args.sessions} --steps {args.steps} --repeats {args.repeats}` "
             f"on {os.cpu_count()} CPU cores ({cpu}), torch {torch.__version__}, {torch.get_num_threads()} threads; "
             f"{time.strftime('%Y-%m-%d')}; load average {load_before:.1f} before the run (other jobs on the "
             "machine), and Chromium runs on the same cores as the server.", ""]
    if br:
        rt = br["round_trip_ms"]
        lines += ["## First page load (fitted demo)", "",
                  "| measure | value |", "|---|---|",
                  f"| server start (`workbench serve` -> HTTP answers, incl. imports and demo warm-up) | {br['server_up_s']:.1f} s |",
                  f"| first visit: page open -> fitted plots and players on screen | **{br['first_load_s']:.2f} s** |",
                  f"| later visits (median of 3) | {br['load_s']:.2f} s |", ""]
    lines += ["## Slider -> sound (2 s at 44.1 kHz, fitted demo: "
              f"{len(demo_2s().object.modes)} object + {len(demo_2s().tool.modes) if demo_2s().tool else 0} tool modes)", "",
              "Server side: `apply_edits` + incremental render (edited, object-only, tool-only; unchanged "
              "parts reused) + WAV encoding of the players that changed.", "",
              "| control | median (ms) | p90 (ms) | n |", "|---|---|---|---|"]
    lines += [f"| {label} | {med:.1f} | {p90:.1f} | {n} |" for label, med, p90, n in lat]
    lines += [f"| pitch, through `AppState` (a slider callback; encodes all 3 players) | {st_med:.1f} | {st_p90:.1f} | {args.repeats // 2} |"]
    if br:
        lines += [f"| pitch, in Chromium: key press -> new `<audio src>` (websocket round trip) | "
                  f"{statistics.median(rt):.0f} | {_pct(rt, 90):.0f} | {len(rt)} |", "",
                  "The in-browser figure includes Playwright's polling and the browser decoding three ~350 kB "
                  "WAV data URLs; a one-slider Panel app that swaps one such sound measures ~145 ms the same way "
                  "on this machine.", ""]
        ok = not br["errors"] and len(br["fit_done_s"]) == args.sessions
        lines += [f"## {args.sessions} concurrent sessions fitting", "",
                  f"Each of {args.sessions} browser sessions pressed Fit ({args.steps} steps, 16 modes) at the same "
                  "time; fits share the server's worker pool "
                  f"(`WORKBENCH_FIT_WORKERS`, default half the cores = {fit_workers()} here), so they queue.", "",
                  "| measure | value |", "|---|---|",
                  f"| sessions finished without errors | **{len(br['fit_done_s']) - len(br['errors'])}/{args.sessions}** |",
                  f"| fits done after (s) | {', '.join(f'{t:.0f}' for t in br['fit_done_s'])} |",
                  f"| spectral distances | {', '.join(f'{d:.3f}' for d in br['distances'])} |",
                  f"| another session's slider while they fit: key press -> new sound, median / max | "
                  f"{statistics.median(br['under_load_ms']):.0f} / {max(br['under_load_ms']):.0f} ms |",
                  f"| errors | {'; '.join(br['errors']) or 'none'} |", ""]
        if not ok:
            print("LOAD CHECK FAILED:", br["errors"])
    text = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
