"""Impact detection against the impact hammer's force sensor, and on every shared recording.

For ``diffimpact/hammer_*.wav`` (channel 0: microphone, channel 1: force sensor), the
strikes found on channel 0 by `workbench.analysis.detect_impacts` are matched one to one
with the force-sensor strike onsets (`force_sensor_strikes`) within +-10 ms. Every other
recording in ../shared/data/real_impacts is run too (first channel) and its strike count
reported, and the speed is measured on ten minutes of tapping (a hammer file repeated).
Prints a markdown table and writes it to ``bench/results/detect.md``.

    .venv/bin/python bench/detect.py [--sensitivity 0.5]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workbench.analysis import detect_impacts, force_sensor_strikes, match_times  # noqa: E402
from workbench.audio import AUDIO_SUFFIXES  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "real_impacts"
RESULT = REPO / "bench" / "results" / "detect.md"
TOLERANCE_S = 0.01


def hammer_rows(sensitivity: float) -> list[str]:
    rows = []
    for path in sorted((DATA / "diffimpact").glob("hammer_*.wav")):
        recording, sr = sf.read(path, always_2d=True)
        t0 = time.perf_counter()
        found = [imp.time_s for imp in detect_impacts(recording[:, 0], sr, sensitivity=sensitivity)]
        elapsed = time.perf_counter() - t0
        for label, gap in (("strikes (rebounds < 30 ms merged)", 0.03), ("every contact pulse", 0.0)):
            truth = force_sensor_strikes(recording[:, 1], sr, min_gap_s=gap)
            precision, recall, errors = match_times(found, truth, tolerance_s=TOLERANCE_S)
            median_ms = 1e3 * np.median(errors) if len(errors) else float("nan")
            worst_ms = 1e3 * np.max(np.abs(errors)) if len(errors) else float("nan")
            rows.append(
                f"| `{path.name}` | {label} | {len(truth)} | {len(found)} | {precision:.3f} | {recall:.3f} | "
                f"{median_ms:+.2f} | {worst_ms:.2f} | {1e3 * elapsed:.0f} |"
            )
    return rows


def count_rows(sensitivity: float) -> list[str]:
    rows = []
    for path in sorted(p for p in DATA.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
        audio, sr = sf.read(path, always_2d=True)
        t0 = time.perf_counter()
        impacts = detect_impacts(audio[:, 0], sr, sensitivity=sensitivity)
        elapsed = time.perf_counter() - t0
        times = ", ".join(f"{imp.time_s:.3f}" for imp in impacts[:6]) + (" ..." if len(impacts) > 6 else "")
        confidences = ", ".join(f"{imp.confidence:.2f}" for imp in impacts[:6])
        rows.append(
            f"| `{path.relative_to(DATA)}` | {len(audio) / sr:.2f} | {len(impacts)} | {times} | {confidences} | "
            f"{1e3 * elapsed:.0f} |"
        )
    return rows


def speed_row(sensitivity: float) -> str:
    recording, sr = sf.read(DATA / "diffimpact" / "hammer_steel_multi.wav", dtype="float32")
    repeats = int(np.ceil(600.0 * sr / len(recording)))
    long = np.tile(recording[:, 0], repeats)
    t0 = time.perf_counter()
    impacts = detect_impacts(long, sr, sensitivity=sensitivity)
    elapsed = time.perf_counter() - t0
    return (
        f"{len(long) / sr / 60:.1f} min of tapping (`hammer_steel_multi.wav` x {repeats}): {len(impacts)} impacts "
        f"in {elapsed:.2f} s ({len(long) / sr / elapsed:.0f}x real time)."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensitivity", type=float, default=0.5, help="detect_impacts sensitivity in [0, 1]")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"skipped: the shared recordings are not at {DATA} (../shared beside the repo)")
        return 0
    # Warm-up: librosa's first STFT in a process loads its modules (~1-2 s).
    detect_impacts(np.random.default_rng(0).standard_normal(44100), 44100)
    lines = [
        "# Impact detection",
        "",
        f"`bench/detect.py`, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, sensitivity {args.sensitivity}, "
        f"Python {platform.python_version()}, {platform.machine()}.",
        "",
        f"Hammer recordings: detections on channel 0 matched one to one with the force-sensor onsets "
        f"(channel 1) within +-{1e3 * TOLERANCE_S:.0f} ms. Error = detected - force onset (the sound reaches "
        "the microphone a little after contact). Rows are two readings of the ground truth: rebound pulses "
        "within 30 ms of a strike merged into it, or counted as strikes of their own.",
        "",
        "| file | ground truth | true | found | precision | recall | median error ms | max abs error ms | time ms |",
        "|---|---|---|---|---|---|---|---|---|",
        *hammer_rows(args.sensitivity),
        "",
        "Every shared recording (first channel): strikes found.",
        "",
        "| file | length s | strikes | times s | confidence | time ms |",
        "|---|---|---|---|---|---|",
        *count_rows(args.sensitivity),
        "",
        "Speed: " + speed_row(args.sensitivity),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(text, encoding="utf-8")
    print(f"wrote {RESULT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
