"""Round trip of the ThreeDWorld export over every preset under presets/ (recursively).

For each preset JSON: export it for PyImpact, render the exported ``Modes`` with
ThreeDWorld's own synthesiser (``tdw.physics_audio.modes.Modes.sum_modes``, no Unity) and
compare it with our modal IR in PyImpact's conventions and in the workbench's
(`workbench.export.tdw_verify.round_trip`). Prints a markdown table and writes it to
``bench/results/export_roundtrip.md``.

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
            rows.append(f"| `{rel}` | - | - | - | - | - | - | - | - | - | - | - | error: {e} |")
            failed += 1
            continue
        ok = r["ok"] and r["ok_workbench"]
        failed += not ok
        impact = f"{r['distance_impact']:.3f}" if "distance_impact" in r else "-"
        why = f"; over the gate: {r['why_not']}" if r["why_not"] else ""
        rows.append(f"| `{rel}` | {r['n_modes_exported']}/{r['n_modes_preset']} | {r['offset_db']:+.1f} / "
                    f"{r['material_offset_db']:+.1f} | {r['mass_kg']:g} | {r['duration_s']:.2f} | "
                    f"{r['distance']:.1e} | **{r['distance_workbench']:.3f}** | {r['distance_phase']:.3f} | "
                    f"{100 * r['left_out_energy']:.2g} % | {r['distance_material']:.3f} | {impact} | "
                    f"{'pass' if ok else 'FAIL'} ({time.perf_counter() - t0:.1f} s){why} |")

    lines = [
        "# ThreeDWorld export round trip",
        "",
        f"`bench/export_roundtrip.py`, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, tdw {TDW_VERSION}, "
        f"Python {platform.python_version()}, {platform.machine()}.",
        "",
        "Normalised multi-scale spectral distance (`workbench.losses.spectral_distance`: 0 identical, "
        "1 = white noise of the same RMS), all at 44.1 kHz:",
        "",
        "* **PyImpact conv.** (gate <= 0.05): tdw's `Modes.sum_modes(fs=44100, resonance=1)` of the exported "
        "`object_modes.json` vs our `modal_ir` of the same modes in PyImpact's conventions (cosine phase, "
        "each mode cut at its -80 dB re 1 point), scaled by the export's dB offset. Checks every unit conversion.",
        "* **workbench conv.** (gate <= 0.05, or the reason it cannot be met): the same tdw sum, brought back "
        "to the preset's gains, vs the object as the workbench plays it: every mode below 22.05 kHz, sine phase, "
        "no cut, over the preset's duration. The export puts the strongest mode of `object_modes.json` at "
        "+20 dB re 1 so that PyImpact's -80 dB re 1 cut falls 100 dB below it (at -30 dB, as before, it cut "
        "the tails 50 dB down; see `workbench/export/README.md`).",
        "* **phase only**: every mode in cosine vs sine phase, the part of the workbench-convention distance "
        "no export can remove (the `Modes` format has no phase). **left out**: the energy (amplitude² x T60) "
        "of the preset's modes that TDW cannot play (at or above 22.05 kHz, or over 100 dB below the strongest).",
        "* **material**: tdw's sum of the 10-mode material table (without PyImpact's random jitter) vs all "
        "of the preset's object modes as we render them (sine phase, no cut): what the material path keeps.",
        "* **impact**: PyImpact's `_synth_impact_modes` (half-sine contact from `mass_kg`, peak-normalised) "
        "vs our object-only render of one impact (Gaussian contact), both peak-normalised.",
        "",
        "| preset file | modes exported/preset | offset dB (Modes / material) | mass kg | tdw length s "
        "| PyImpact conv. | workbench conv. | phase only | left out | material | impact | result |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
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
