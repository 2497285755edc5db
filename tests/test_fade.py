"""A recording's edited end: the fade-out is read, rendered with the fit and kept out of the physics."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.analysis import edited_fade, estimate_noise_bands
from workbench.edits import Edits, apply_edits
from workbench.errors import WorkbenchError
from workbench.fitting import fit
from workbench.presets import Preset, preset_from_dict
from workbench.rendering import PartCache, render

SR = 16000
FREQS, T60, AMPS = np.array([330.0, 1250.0]), np.array([4.0, 2.5]), np.array([1.0, 0.5])
NOISE_RMS = 3e-4          # white: -70 dB in every band


def faded_recording(start_s=1.2, end_s=2.2, n=int(2.6 * SR), onset_s=0.1, seed=0):
    """Two long modes over white noise, faded out linearly, then digital silence."""
    t = np.arange(n) / SR
    tt = t - onset_s
    ring = np.where(tt >= 0, (AMPS[:, None] * np.exp(-6.908 * tt / T60[:, None])
                              * np.sin(2 * np.pi * FREQS[:, None] * tt)).sum(0), 0.0)
    x = ring + NOISE_RMS * np.random.default_rng(seed).standard_normal(n)
    return x * np.clip((end_s - t) / (end_s - start_s), 0.0, 1.0)


def test_the_fade_is_read_from_where_the_level_leaves_its_decay():
    start, end = edited_fade(faded_recording(), SR, onset_s=0.1)
    assert abs(end - 2.2) < 1e-3 and abs(start - 1.2) < 0.15
    cut = faded_recording(start_s=2.2 - 1e-4)            # cut, not faded
    start, end = edited_fade(cut, SR, onset_s=0.1)
    assert start == end and abs(end - 2.2) < 1e-3
    assert edited_fade(faded_recording(end_s=3.0), SR) is None   # no digital silence: no edit


def preset(**extra):
    return Preset(name="bell", sample_rate=SR, duration_s=1.0, impacts=[{"time_s": 0.05, "contact_s": 3e-4,
                  "magnitude": 1.0}], object={"modes": [{"freq_hz": 440.0, "t60_s": 4.0, "gain_db": 0.0}]}, **extra)


def test_the_render_fades_and_a_preset_without_the_key_is_unchanged():
    plain = preset()
    faded = plain.replace(fade_out={"start_s": 0.5, "end_s": 0.8})
    a, b = render(plain, device="cpu"), render(faded, device="cpu")
    np.testing.assert_array_equal(a[:int(0.5 * SR)], b[:int(0.5 * SR)])
    k = int(0.65 * SR)
    assert b[k] == pytest.approx(0.5 * a[k], rel=1e-3, abs=1e-7)       # half way down
    assert np.all(b[int(0.8 * SR) + 1:] == 0.0)
    assert "fade_out" not in plain.to_dict()                           # written back as before the key
    assert preset_from_dict(faded.to_dict()) == faded
    parts = PartCache().render(faded, ("all", "object"))
    np.testing.assert_allclose(parts["all"], b, atol=1e-6)
    assert np.all(parts["object"][int(0.8 * SR) + 1:] == 0.0)
    assert apply_edits(faded, Edits(fade_on=False)).fade_out is None    # the natural ring


@pytest.mark.parametrize("fade, field", [({"start_s": 0.6, "end_s": 0.5}, "end_s"),
                                         ({"start_s": 0.01, "end_s": 0.5}, "start_s")])
def test_a_bad_fade_is_refused_naming_the_field(fade, field):
    with pytest.raises(WorkbenchError, match=field):
        preset_from_dict({**preset().to_dict(), "fade_out": fade})


def test_a_faded_recording_keeps_its_decays_and_its_noise_floor():
    x = faded_recording()
    result = fit((x, SR), steps=60, n_modes=8, device="cpu")
    p = result.preset
    assert p.fade_out is not None and abs(p.fade_out.start_s - 1.2) < 0.15 and abs(p.fade_out.end_s - 2.2) < 0.01
    for f, t60 in zip(FREQS, T60):
        mode = min(p.object.modes, key=lambda m: abs(m.freq_hz / f - 1))
        assert abs(mode.freq_hz / f - 1) < 0.01 and abs(mode.t60_s / t60 - 1) < 0.15, (f, mode)
    # The floor is the noise before the fade (-70 dB), not the digital silence after it.
    bands = np.array([b.freq_hz for b in p.noise.bands])
    measured = estimate_noise_bands(x[:int(1.2 * SR)], SR, band_freqs_hz=bands, onset_s=0.1, stationary=True)
    assert np.all(np.abs(measured[bands < 6000] + 70.0) < 4.0)
    fitted = np.array([b.gain_db for b in p.noise.bands]) - p.provenance.get("level_gain_db", 0.0)
    assert np.median(fitted) > -80.0
    assert result.distance < 0.2
