"""The ThreeDWorld export against what the workbench plays, over the shipped preset library.

PyImpact's conventions (cosine phase, -80 dB re 1 cut) are exact; the workbench's (every
mode, sine phase, uncut, the preset's duration) must stay within 0.05 or the round trip
must say what TDW cannot play (`workbench.export.tdw_verify`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from workbench.export import tdw, tdw_verify
from workbench.presets import load_preset

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted((REPO / "presets").rglob("*.json"))


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(REPO / "presets").as_posix())
def test_shipped_presets_export_what_the_workbench_plays(path):
    """Every library preset is within 0.05 of what the workbench plays (every mode, sine phase, uncut), or
    the check names what TDW cannot play and how much energy it carries. (PyImpact's own conventions are
    exact: `tests/test_export.py` and `bench/export_roundtrip.py`.)"""
    preset = load_preset(path)
    body = tdw.build_bodies(preset)[0][0]
    r = tdw_verify.workbench_check(preset, body)
    if r["distance_workbench"] > tdw_verify.ROUND_TRIP_GATE:
        assert r["why_not"] and f"{r['distance_phase']:.3f}" in r["why_not"], r
        assert all(f"{n} mode(s) {why}" in r["why_not"] for why, n in r["left_out"].items()), r
    else:
        assert r["why_not"] == "" and r["distance_workbench"] >= 0, r
    # the spectral distance hardly sees a missing mode (it weighs the quiet tails): bound the energy, too
    assert r["left_out_energy"] < 1e-6 or r["left_out"].keys() == {"at or above 22050 Hz"}, r


def test_workbench_convention_sees_the_cut_and_the_missing_energy():
    """The check is not blind: the same modes at PyImpact's mixing level (-30 dB re 1: the cut 50 dB down)
    fail it; a mode left out shows in the energy share and in the reason."""
    preset = load_preset(REPO / "presets" / "metal" / "impactBell_heavy_001.json")
    body = tdw.build_bodies(preset)[0][0]
    assert tdw_verify.workbench_distance(preset, body)[0] <= 0.05
    quiet = tdw.plan_modes([m.freq_hz for m in preset.object.modes], [m.t60_s for m in preset.object.modes],
                           [m.gain_db for m in preset.object.modes], modes_peak_db=-30.0)
    assert tdw_verify.workbench_distance(preset, dataclasses.replace(body, modes=quiet))[0] > 0.05
    m = body.modes
    fewer = dataclasses.replace(m, freqs_hz=m.freqs_hz[1:], t60_s=m.t60_s[1:], gains_db=m.gains_db[1:],
                                source_index=m.source_index[1:])
    counts, share = tdw_verify.left_out(preset, dataclasses.replace(body, modes=fewer))
    assert counts == {"too quiet or out of range": 1} and share > 0.3
    reason = tdw_verify.why_not(0.06, counts, share, 0.02)
    assert reason.startswith("TDW cannot play 1 mode(s) too quiet") and f"{100 * share:.2g} % of the energy" in reason
    assert tdw_verify.why_not(0.05, counts, share, 0.02) == ""
