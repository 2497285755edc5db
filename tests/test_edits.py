"""Relative edits of a preset (`workbench.edits`): each control as physics, every result a valid preset."""

from __future__ import annotations

import math

import numpy as np
import pytest

import workbench as wb
from workbench import specs
from workbench.edits import EDIT_SPECS, Edits, ModeEdit, apply_edits
from workbench.errors import WorkbenchError
from workbench.presets import preset_from_dict


@pytest.fixture(scope="module")
def demo_preset(demo_preset_path):
    return wb.load_preset(demo_preset_path)


@pytest.fixture(scope="module")
def tool_preset(demo_preset):
    """The demo with a tool and reverb on (every part of the model present)."""
    tool = {"modes": [{"freq_hz": 2500.0, "t60_s": 0.05, "gain_db": -20.0},
                      {"freq_hz": 4100.0, "t60_s": 0.03, "gain_db": -26.0}]}
    reverb = demo_preset.reverb.model_dump()
    reverb["enabled"] = True
    return demo_preset.replace(tool=tool, reverb=reverb, duration_s=1.0)


def test_no_edits_returns_the_same_preset(demo_preset):
    assert apply_edits(demo_preset, Edits()) is demo_preset


def test_pitch_decay_brightness(tool_preset):
    e = apply_edits(tool_preset, Edits(pitch_semitones=12, decay_scale=0.5, brightness_db_per_octave=3))
    for body in ("object", "tool"):
        before, after = getattr(tool_preset, body).modes, getattr(e, body).modes
        for m0, m1 in zip(before, after):
            assert m1.freq_hz == pytest.approx(min(2 * m0.freq_hz, specs.FREQ_HZ.maximum))
            assert m1.t60_s == pytest.approx(max(m0.t60_s * 0.5, specs.T60_S.minimum))
            tilt = 3 * math.log2(m1.freq_hz / 1000.0)
            assert m1.gain_db == pytest.approx(m0.gain_db + tilt)
    assert e.provenance["edits"] == {"pitch_semitones": 12, "decay_scale": 0.5, "brightness_db_per_octave": 3}
    assert e.provenance["edited_from"] == tool_preset.name


def test_contact_strength_noise_reverb_and_tool(tool_preset):
    e = apply_edits(tool_preset, Edits(contact_scale=2, strength_db=20, noise_db=-10, reverb_db=6,
                                       reverb_decay_scale=2, tool_on=False))
    i0, i1 = tool_preset.impacts[0], e.impacts[0]
    assert i1.contact_s == pytest.approx(i0.contact_s * 2)
    assert i1.magnitude == pytest.approx(i0.magnitude * 10)
    assert [b.gain_db for b in e.noise.bands] == pytest.approx(
        [max(b.gain_db - 10, specs.NOISE_GAIN_DB.minimum) for b in tool_preset.noise.bands])
    for b0, b1 in zip(tool_preset.reverb.bands, e.reverb.bands):
        assert b1.gain_db == pytest.approx(min(b0.gain_db + 6, specs.REVERB_GAIN_DB.maximum))
        assert b1.t60_s == pytest.approx(min(b0.t60_s * 2, specs.REVERB_T60_S.maximum))
    assert e.tool is None and tool_preset.tool is not None
    assert not apply_edits(tool_preset, Edits(reverb_on=False)).reverb.enabled


def test_extreme_edits_are_clipped_into_the_specs(tool_preset):
    hi = {k: s.maximum for k, s in EDIT_SPECS.items()}
    lo = {k: s.minimum for k, s in EDIT_SPECS.items()}
    for values in (hi, lo):
        values = {**values, "impact_count": int(values["impact_count"])}
        for pattern in ("fitted", "regular", "bounce"):
            e = apply_edits(tool_preset, Edits(impact_pattern=pattern, **values))
            for m in e.object.modes:
                assert specs.FREQ_HZ.contains(m.freq_hz) and specs.T60_S.contains(m.t60_s)
                assert specs.GAIN_DB.contains(m.gain_db)
            for i in e.impacts:
                assert specs.CONTACT_S.contains(i.contact_s) and specs.MAGNITUDE.contains(i.magnitude)


def test_impact_patterns(demo_preset):
    first = demo_preset.impacts[0]
    single = apply_edits(demo_preset, Edits(impact_pattern="single"))
    assert len(single.impacts) == 1
    reg = apply_edits(demo_preset, Edits(impact_pattern="regular", impact_count=4, impact_interval_s=0.3))
    assert [i.time_s for i in reg.impacts] == pytest.approx([first.time_s + 0.3 * k for k in range(4)])
    assert {i.magnitude for i in reg.impacts} == {first.magnitude}
    bounce = apply_edits(demo_preset, Edits(impact_pattern="bounce", impact_count=3, impact_interval_s=0.2))
    t = [i.time_s for i in bounce.impacts]
    assert np.diff(t) == pytest.approx([0.2, 0.2 * 0.7])
    assert bounce.impacts[2].magnitude == pytest.approx(first.magnitude * 0.36)
    long = apply_edits(demo_preset, Edits(impact_pattern="regular", impact_count=16, impact_interval_s=2.0))
    assert all(i.time_s < demo_preset.duration_s for i in long.impacts)   # no impacts past the end
    with pytest.raises(WorkbenchError, match="impact_pattern"):
        apply_edits(demo_preset, Edits(impact_pattern="drumroll"))


def test_mode_edits_override_and_mute(demo_preset):
    e = apply_edits(demo_preset, Edits(modes=(ModeEdit("object", 0, freq_hz=300.0, gain_db=-3.0),
                                              ModeEdit("object", 1, enabled=False),
                                              ModeEdit("object", 999, freq_hz=50.0))))
    assert len(e.object.modes) == len(demo_preset.object.modes) - 1
    assert (e.object.modes[0].freq_hz, e.object.modes[0].gain_db) == (300.0, -3.0)
    assert e.object.modes[0].t60_s == demo_preset.object.modes[0].t60_s
    assert e.object.modes[1] == demo_preset.object.modes[2]


def test_every_edit_gives_a_preset_that_validates(tool_preset):
    """`apply_edits` builds its result without a second validation pass: check it would pass."""
    edits = [Edits(**{k: s.maximum}) for k, s in EDIT_SPECS.items() if k != "impact_count"]
    edits += [Edits(**{k: s.minimum}) for k, s in EDIT_SPECS.items() if k != "impact_count"]
    edits += [Edits(impact_pattern=p, impact_count=16, impact_interval_s=0.02) for p in ("single", "bounce")]
    edits += [Edits(tool_on=False, reverb_on=False, modes=(ModeEdit("tool", 0, t60_s=1e-3),))]
    for e in edits:
        out = apply_edits(tool_preset, e)
        assert preset_from_dict(out.to_dict()) == out, e


def test_mode_edit_values_must_be_finite(demo_preset):
    with pytest.raises(WorkbenchError, match="mode 0 of the object: freq_hz"):
        apply_edits(demo_preset, Edits(modes=(ModeEdit("object", 0, freq_hz=math.nan),)))
