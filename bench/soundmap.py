"""Sound map build time over the preset library: cold (a new process) and warm (the same process again).

Each case runs in a fresh Python process that imports the workbench and UMAP, builds the
map of ``--presets`` (load, features, UMAP layout, one 1 s audition per preset), places a
preset on it (UMAP's transform: compiled on first use), writes the standalone page, and
builds the map a second time (warm). Numba compiles UMAP's kernels on first use in a
process; the workbench caches them on disk (`workbench.soundmap`), so the cases are:

* **first ever** - an empty numba cache (``NUMBA_CACHE_DIR`` set to a new folder): everything compiles;
* **cold** - a new process with that cache filled (what every later ``workbench map`` and server start see).

Target (issue 12): the map of the shared library in <= 10 s. Prints a markdown table and
writes ``bench/results/soundmap.md``.

    .venv/bin/python bench/soundmap.py [--presets presets] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULT = REPO / "bench" / "results" / "soundmap.md"

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from workbench.soundmap import build_map, library_files
from workbench.app.mapfigure import map_page
from workbench.presets import load_preset
t_imports = time.perf_counter() - t0
folder = sys.argv[1]
m = build_map(folder)
t1 = time.perf_counter()
m.place(load_preset(library_files(folder)[0][1]))
t_place = time.perf_counter() - t1
t2 = time.perf_counter()
page = map_page(m)
t_page = time.perf_counter() - t2
warm = build_map(folder)
print(json.dumps({"n": len(m), "method": m.method, "imports": t_imports, "cold": m.timings, "place": t_place,
                  "page": t_page, "page_mb": len(page) / 2**20, "warm": warm.timings,
                  "process": time.perf_counter() - t0}))
"""


def _run(folder: Path, cache: Path) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True, env=env,
                         cwd=REPO, timeout=900)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(case: str, runs: list[dict], key: str) -> str:
    def med(f):
        return statistics.median(f(r) for r in runs)
    t = lambda stage: med(lambda r: r[key][stage])  # noqa: E731
    imports = med(lambda r: r["imports"]) if key == "cold" else 0.0
    place = med(lambda r: r["place"]) if key == "cold" else float("nan")
    total = t("total") + imports
    return (f"| {case} | {len(runs)} | {imports:.2f} | {t('load'):.2f} | {t('features'):.3f} | {t('layout'):.2f} | "
            f"{t('sounds'):.2f} | **{t('total'):.2f}** | {total:.2f} | "
            + (f"{place:.2f} |" if place == place else "- |"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", type=Path, default=REPO / "presets", help="preset library folder")
    parser.add_argument("--repeats", type=int, default=3, help="cold processes to time (median)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        first = _run(args.presets, Path(cache))
        cold = [_run(args.presets, Path(cache)) for _ in range(args.repeats)]
    n, method = first["n"], first["method"]
    lines = [
        f"# Sound map build ({n} presets of `{args.presets.relative_to(REPO) if args.presets.is_relative_to(REPO) else args.presets}`, "
        f"{method.upper()})", "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; `.venv/bin/python bench/soundmap.py --repeats {args.repeats}`.", "",
        "Seconds. *imports*: the workbench and Bokeh in a new process (UMAP is imported in the layout step); "
        "*build*: `build_map` (load, features, layout, auditions); *build + imports*: what `workbench map` and the "
        "Map tab's first build wait for; *place*: the first `SoundMap.place` (UMAP's transform, compiled then). "
        "Medians over the runs.", "",
        "| case | runs | imports | load | features | layout (UMAP) | sounds (1 s @ 16 kHz each) | build | "
        "build + imports | place (first) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        _row("first ever (empty numba cache)", [first], "cold"),
        _row("cold (new process, numba cache filled)", cold, "cold"),
        _row("warm (same process, built again)", cold, "warm"),
        "",
        f"Standalone page: {statistics.median(r['page_mb'] for r in cold):.2f} MB "
        f"(written in {statistics.median(r['page'] for r in cold):.2f} s).",
        "",
    ]
    cold_total = statistics.median(r["cold"]["total"] + r["imports"] for r in cold)
    lines.append(f"Target <= 10 s for the library's map: cold {cold_total:.1f} s with imports "
                 f"({'met' if cold_total <= 10 else 'NOT met'}); first ever "
                 f"{first['cold']['total'] + first['imports']:.1f} s.")
    lines += ["", "Notes:", "",
              "* Numba compiles UMAP's kernels on first use; `workbench.soundmap` caches them on disk, so the "
              "*first ever* row is paid once per machine (or numba cache folder), every later process is *cold*.",
              "* The auditions render on one torch thread and UMAP runs on numba's `workqueue` thread pool: with "
              "numba's OpenMP pool, torch's two OpenMP threads rendered the 39 auditions in 6-8 s instead of 0.1 s "
              "(measured on this machine while writing this benchmark).",
              "* Hover-to-sound in Chromium (`tests/test_soundmap_browser.py`, mouse event to the audio's `playing` "
              "event, measured in the page): printed by the test; the auditions are embedded, nothing is fetched."]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
