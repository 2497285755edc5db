"""The ``README.md`` of a ThreeDWorld export folder: files, units, levels, the round trip, warnings.

`readme` is called by `workbench.export.tdw.write_tdw` with the planned bodies and the
lines of `workbench.export.tdw_verify.export_check` (both conventions of the round trip).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .tdw import DEFAULT_PEAK_DB, MODES_PEAK_DB
from .tdw_compat import MIN_POWER_DB, TDW_VERSION

if TYPE_CHECKING:
    from ..presets import Preset
    from .tdw import TdwBody


def readme(preset: Preset, bodies: list[TdwBody], warnings_: list[str], notes: list[str],
           round_trip: list[str]) -> str:
    """The export folder's README (markdown).

    Args:
        preset: The exported preset.
        bodies: The exported bodies (object first).
        warnings_, notes: One line each.
        round_trip: Lines describing the round-trip check (or why it did not run).
    """
    lines = [f"# ThreeDWorld export of \"{preset.name}\"", "",
             f"Exported by Impact Workbench for ThreeDWorld PyImpact (tdw {TDW_VERSION}, 44.1 kHz).", "",
             "## Files", "",
             "| file | what | units |", "|---|---|---|"]
    for b in bodies:
        r = b.role
        lines += [f"| `{b.material_key}_mm.json` | {r}: PyImpact material table (10 modes, most energy first) "
                  f"| cf Hz, op dB re 1, rt = T60 s |",
                  f"| `{r}_modes.json` | {r}: `Modes` (all {b.modes.n_modes} playable modes) + resonance, mass_kg, amp "
                  f"| frequencies Hz, powers dB re 1, decay_times = T60 ms |",
                  f"| `{r}_audio_static.json` | {r}: `ObjectAudioStatic` fields (built-in fallback material) | "
                  f"mass kg, amp 0-1 |"]
    lines += ["| `play_in_tdw.py` | registers the material with PyImpact and plays it | |",
              "| `export.json` | machine-readable record of this export | |", "",
              "## Mapping", ""]
    for b in bodies:
        m = b.modes
        lines += [f"* **{b.role}**: {m.n_modes} mode(s). `{b.role}_modes.json`: powers = gain_db "
                  f"{m.offset_db:+.2f} dB (strongest at {m.powers_db.max():+.1f} dB re 1). Material table: op = "
                  f"gain_db {m.material_offset_db:+.2f} dB (strongest at {m.material_powers_db.max():.1f} dB). "
                  f"Contact {1000 * b.contact_s:.3g} ms -> mass {b.mass_kg:g} kg (half-sine of "
                  f"min(1 ms/kg * m, 2 ms)); amp {b.amp:g}; fallback `{b.material}` size {b.size} "
                  f"({b.material_source})."]
    lines += ["* resonance = 1 (the fitted T60s are exported unchanged).",
              "* PyImpact jitters material-table modes (f +-10 %, power +-10 dB, T60 +-10 %) and uses only the "
              "first 10; the `Modes` path (`PyImpact._synth_impact_modes`) plays the fitted modes exactly.",
              f"* Two levels. PyImpact cuts every mode where it reaches {MIN_POWER_DB:g} dB re 1 and "
              f"peak-normalises its output, so the `Modes` file puts its strongest mode at {MODES_PEAK_DB:+g} dB re 1: "
              f"each tail is kept down to {MODES_PEAK_DB - MIN_POWER_DB:g} dB below the strongest onset, beyond what "
              "16-bit sound holds, and the sum is what the workbench plays. The material table sits at the level "
              f"of tdw's own tables (strongest about {DEFAULT_PEAK_DB:g} dB) because PyImpact mixes it with the "
              "partner's table. To mix the `Modes` file with a "
              "built-in partner at PyImpact's usual balance, add (material offset - Modes offset) dB to its "
              "powers (this shortens the tails again).", ""]
    lines += ["## Round trip", "", *[f"* {line}" for line in round_trip], ""]
    if warnings_:
        lines += ["## Warnings", ""] + [f"* {w}" for w in warnings_] + [""]
    if notes:
        lines += ["## Notes", ""] + [f"* {n}" for n in notes] + [""]
    lines += ["## Play it", "", "```bash",
              "pip install tdw==1.13.0.0",
              "python play_in_tdw.py --offline   # no Unity build needed: writes object_tdw_*.wav here",
              "python play_in_tdw.py             # with a TDW build: drops an object and plays the sound",
              "```", "",
              "`play_in_tdw.py` works around two problems of tdw 1.13 on Linux: `PyImpact()` opens "
              "`ceramic_3_mm.json` but the file is `Ceramic_3_mm.json`, and recent setuptools no longer "
              "ship `pkg_resources`, which tdw imports.", ""]
    return "\n".join(lines)
