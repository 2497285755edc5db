"""Round trip of the ThreeDWorld export over every preset under presets/ (recursively).

For each preset JSON: export it for PyImpact, render the exported ``Modes`` with
ThreeDWorld's own synthesiser (``tdw.physics_audio.modes.Modes.sum_modes``, no Unity) and
compare with our modal IR of the same modes (`workbench.export.tdw_verify.round_trip`).
Prints a markdown table and writes it to ``bench/results/export_roundtrip.md``.

    .venv/bin/python bench/export_roundtrip.py [--no-impact]
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

from workbench.errors import WorkbenchError  # noqa: E402
from workbench.atomic import atomic_write_bytes  # noqa: E402
from workbench.export.tdw_compat import TDW_VERSION  # noqa: E402
from workbench.export.tdw_verify import round_trip  # noqa: E402

RESULT = REPO / "bench" / "results" / "export_roundtrip.md"
GATE = 0.05


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-impact", action="store_true", help="skip the full-impact comparison (faster)")
    parser.add_argument("--presets", type=Path, default=REPO / "presets", help="folder searched recursively")
    args = parser.parse_args(argv)

    paths = sorted(args.presets.rglob("*.json"))
    rows = []
    failed = 0
    for path in paths:
        rel = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        t0 = time.perf_counter()
        try:
            r = round_trip(path, impact=not args.no_impact)
        except WorkbenchError as e:
            rows.append(f"| `{rel}` | - | - | - | - | - | - | - | - | error: {e} |")
            failed += 1
            continue
        ok = r["distance"] <= GATE
        failed += not ok
        impact = f"{r['distance_impact']:.3f}" if "distance_impact" in r else "-"
        rows.append(f"| `{rel}` | {r['preset']} | {r['n_modes_exported']}/{r['n_modes_preset']} | "
                    f"{r['offset_db']:+.1f} | {r['mass_kg']:g} | {r['duration_s']:.2f} | {r['distance']:.2e} | "
                    f"{r['distance_material']:.3f} | {impact} | {'pass' if ok else 'FAIL'} "
                    f"({time.perf_counter() - t0:.1f} s) |")

    lines = [
        "# ThreeDWorld export round trip",
        "",
        f"`bench/export_roundtrip.py`, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, tdw {TDW_VERSION}, "
        f"Python {platform.python_version()}, {platform.machine()}.",
        "",
        "Normalised multi-scale spectral distance (`workbench.losses.spectral_distance`: 0 identical, "
        "1 = white noise of the same RMS), all at 44.1 kHz:",
        "",
        "* **distance** (gate <= 0.05): tdw's `Modes.sum_modes(fs=44100, resonance=1)` of the exported "
        "`object_modes.json` vs our `modal_ir` of the same modes in PyImpact's conventions (cosine phase, "
        "each mode cut at its -80 dB point), scaled by the export's dB offset. Checks every unit conversion.",
        "* **material**: tdw's sum of the 10-mode material table (without PyImpact's random jitter) vs all "
        "of the preset's object modes as we render them (sine phase, no cut): what the material path keeps.",
        "* **impact**: PyImpact's `_synth_impact_modes` (half-sine contact from `mass_kg`, peak-normalised) "
        "vs our object-only render of one impact (Gaussian contact), both peak-normalised.",
        "",
        "| preset file | name | modes exported/preset | offset dB | mass kg | length s | distance | material "
        "| impact | result |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    if not paths:
        lines.insert(-1, f"(no preset JSON found under {args.presets})")
    text = "\n".join(lines)
    print(text)
    atomic_write_bytes(RESULT, text.encode("utf-8"))
    print(f"wrote {RESULT}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
