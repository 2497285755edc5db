"""Rendering presets: one signal chain, rendered whole or part by part.

`ImpactSynth.mix` over the per-part spectra is the same chain as `get_signal`;
`PartCache` renders through it and re-renders only the parts an edit touches.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.controls import controls_from_presets, preset_from_controls
from workbench.edits import Edits, apply_edits
from workbench.presets import default_residual, load_preset
from workbench.rendering import PartCache, force_profile, render
from workbench.synth import ImpactSynth, Parts

DEMO = "presets/metal/robot_steelfork_on_steelbowl_separated.json"   # object + tool modes, reverb


@pytest.fixture(scope="module")
def preset():
    from conftest import REPO

    p = load_preset(REPO / DEMO)
    assert p.tool is not None and p.tool.modes and p.reverb.enabled
    # the strike is at 0.57 s; a quiet residual so every part is heard
    return p.replace(duration_s=1.0, residual=default_residual(gain_db=-80.0, t60_s=0.05))


@pytest.mark.parametrize("name", Parts.NAMES)
def test_mix_of_part_spectra_is_get_signal(preset, name):
    """The parts, mixed by hand in float64, give exactly what the synth renders."""
    synth = ImpactSynth(sample_rate=preset.sample_rate, n_samples=int(preset.duration_s * preset.sample_rate))
    c = controls_from_presets([preset], dtype=torch.float64)
    parts = Parts.named(name)
    modes = [synth.modal_spectrum(c.freqs_hz, c.t60_s, c.gains_db)] if parts.object else []
    if parts.tool:
        modes.append(synth.modal_spectrum(c.tool_freqs_hz, c.tool_t60_s, c.tool_gains_db))
    if parts.residual:
        modes.append(synth.residual_spectrum(c))
    mixed = synth.mix(force=synth.force_spectrum(c), modes=modes,
                      acceleration=c.acceleration if parts.acceleration else None,
                      noise=synth.noise_spectrum(c) if parts.noise else None,
                      room=synth.room_spectrum(c) if parts.reverb else None)
    whole = synth.get_signal(c, parts)
    assert float(whole.abs().max()) > 1e-3
    torch.testing.assert_close(mixed, whole, rtol=0, atol=1e-12)


def test_mix_of_nothing_is_silence(preset):
    synth = ImpactSynth(sample_rate=16000, n_samples=800)
    assert synth.mix() is None
    c = controls_from_presets([preset])
    none = Parts(object=False, tool=False, acceleration=False, noise=False, reverb=False)
    assert not synth.get_signal(c, none).any()


def test_part_cache_matches_render_for_every_part(preset):
    out = PartCache().render(preset)
    for part in ("all", "object", "tool"):
        np.testing.assert_allclose(out[part], render(preset, parts=part, device="cpu"), atol=1e-6)
        assert not out[part].flags.writeable


def _counting(monkeypatch) -> dict[str, int]:
    calls = {"force": 0, "modal": 0, "noise": 0, "room": 0}
    for method, key in (("force_spectrum", "force"), ("modal_spectrum", "modal"),
                        ("noise_spectrum", "noise"), ("room_spectrum", "room")):
        original = getattr(ImpactSynth, method)

        def counted(self, *args, _original=original, _key=key, **kwargs):
            calls[_key] += 1
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(ImpactSynth, method, counted)
    return calls


@pytest.mark.parametrize("edit, recomputed", [
    (Edits(noise_db=10), {"noise"}),
    (Edits(reverb_db=-6), {"room"}),
    (Edits(reverb_decay_scale=2), {"room"}),
    (Edits(contact_scale=2), {"force"}),
    (Edits(strength_db=-6), {"force"}),
    (Edits(pitch_semitones=2), {"modal"}),
    (Edits(decay_scale=0.5), {"modal"}),
])
def test_an_edit_re_renders_only_the_parts_it_touches(preset, monkeypatch, edit, recomputed):
    cache = PartCache()
    first = cache.render(preset)
    calls = _counting(monkeypatch)
    edited = apply_edits(preset, edit)
    out = cache.render(edited)
    assert {k for k, n in calls.items() if n} == recomputed
    if "modal" not in recomputed and "force" not in recomputed:
        assert out["object"] is first["object"] and out["tool"] is first["tool"]
    np.testing.assert_allclose(out["all"], render(edited, device="cpu"), atol=1e-6)
    assert cache.render(preset)["all"] is first["all"]          # going back costs nothing


def test_tool_off_renders_a_silent_tool_part(preset):
    out = PartCache().render(apply_edits(preset, Edits(tool_on=False)), ("tool", "all"))
    assert not out["tool"].any() and out["all"].any()


def test_force_profile_integrates_to_the_impulses(preset):
    f = force_profile(preset, dtype=torch.float64)
    assert len(f) == round(preset.duration_s * preset.sample_rate) and f.min() >= 0
    total = sum(i.magnitude for i in preset.impacts)
    assert f.sum() / preset.sample_rate == pytest.approx(total, rel=1e-6)


def test_preset_survives_controls_and_back(preset):
    c = controls_from_presets([preset], dtype=torch.float64)
    back = preset_from_controls(c, 0, name=preset.name, sample_rate=preset.sample_rate,
                                duration_s=preset.duration_s, material=preset.material, tags=preset.tags,
                                provenance=preset.provenance)
    # the damping law is what the fit measured, not a control: it does not travel through them
    lawless = preset.replace(object={**preset.object.model_dump(mode="json"), "damping": None},
                             tool={**preset.tool.model_dump(mode="json"), "damping": None})
    assert back == lawless
