"""Variation banks over the preset library: how far files are from the original and from each other.

For each multi-strike preset (its model learned from its recording, read from
``../shared/data/real_impacts``; when that is missing, its fitted strikes and the prior's gain spread) and a few
single-strike presets (the library prior), makes a bank of 40 at the fitted velocity
and one of 40 over velocities 0.5-2 in 4 layers, and reports the median and largest
normalised spectral distance to the original (at the same velocity), the median and
smallest distance between files, and the time per bank. For comparison, the same preset
with hand-set jitter (PyImpact's N(0, 2 dB) per mode, fixed contact and impulse). Prints a markdown table and writes ``bench/results/variations.md``.

    .venv/bin/python bench/variations.py [--n 40]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workbench.atomic import atomic_write_bytes  # noqa: E402
from workbench.audio import load_audio  # noqa: E402
from workbench.banks import make_bank  # noqa: E402
from workbench.library import FORCE_SENSOR_PREFIX  # noqa: E402
from workbench.presets import load_preset  # noqa: E402
from workbench.variations import MIN_STRIKES, VariationModel, learn_variation, load_prior  # noqa: E402

RESULT = REPO / "bench" / "results" / "variations.md"
SHARED = REPO.parent / "shared" / "data" / "real_impacts"
SINGLE = ("presets/metal/robot_steelfork_on_steelbowl.json", "presets/wood/Xylo_Medium_C4_ff_01_far.json",
          "presets/glass/impactGlass_medium_000.json", "presets/ceramic/robot_woodspoon_on_ceramicmug.json")
#: Hand-set jitter for comparison: PyImpact's per-mode N(0, 2 dB), nothing else varies.
JITTER = VariationModel(cov_log=((0.0, 0.0), (0.0, 0.0)), gain_sd_db=(2.0,) * 8, source="hand-set jitter")


def _model(path: Path, notes: list[str]) -> VariationModel:
    preset = load_preset(path)
    if len(preset.impacts) < MIN_STRIKES:
        return load_prior()
    source = SHARED / str(preset.provenance.get("source", ""))
    if not source.is_file():
        notes.append(f"{path.name}: {source} missing, gains from the prior")
        return learn_variation(preset)
    audio, sr = load_audio(source, sample_rate=preset.sample_rate,
                           channel=0 if source.name.startswith(FORCE_SENSOR_PREFIX) else None)
    return learn_variation(preset, audio, sr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="files per bank")
    args = parser.parse_args(argv)
    multi = sorted(p for p in (REPO / "presets").rglob("*.json")
                   if p.name != "README.json" and "impacts" in p.read_text() and
                   len(load_preset(p).impacts) >= MIN_STRIKES)
    paths = multi + [REPO / s for s in SINGLE]
    notes: list[str] = []
    if not SHARED.is_dir():
        notes.append(f"{SHARED} is missing: multi-strike models use fitted impacts and the prior's gain spread")
    rows = []
    for path in paths:
        preset = load_preset(path)
        model = _model(path, notes)
        for label, m, kw in (("learned", model, {}),
                             ("learned, v 0.5-2, 4 layers", model, {"velocity_range": (0.5, 2.0), "layers": 4}),
                             ("hand-set jitter", JITTER, {})):
            t0 = time.perf_counter()
            bank = make_bank(preset, args.n, model=m, **kw)
            dt = time.perf_counter() - t0
            s = bank.summary
            rows.append(f"| `{path.relative_to(REPO)}` | {label} | {m.source} ({m.n_strikes}) | "
                        f"{s['median_distance']:.3f} | {s['max_distance']:.3f} | {s['median_between']:.3f} | "
                        f"{s['min_between']:.4f} | {s['distinct_files']} | {bank.settings['duration_s']:.2f} | "
                        f"{bank.settings['redrawn_to_original']} | {dt:.1f} |")
            print(rows[-1], flush=True)
    lines = [f"# Variation banks ({args.n} files each, dry, each until it has rung down 60 dB)", "",
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
             f"{platform.python_version()}; `.venv/bin/python bench/variations.py --n {args.n}`.", "",
             "Distances are normalised multi-scale spectral distances (0 identical, 1 white noise): to the original "
             "strike at the same velocity and size (bound 0.25, rejection-sampled), and between files of a bank "
             "(all pairs up to 400). `model` is where the spread comes from (strikes it was learned on).", "",
             "| preset | bank | model | median to original | max to original | median between | "
             "smallest between | distinct files | file length (s) | files left at the original | time (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|", *rows, ""]
    if notes:
        lines += ["## Notes", "", *[f"* {n}" for n in notes], ""]
    text = "\n".join(lines)
    print(text)
    atomic_write_bytes(RESULT, text.encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
