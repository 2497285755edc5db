"""The residual (Su et al. eq. 5-6): decaying band noise driven by each strike, as physics."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from workbench import specs
from workbench.controls import controls_from_presets, preset_from_controls
from workbench.errors import WorkbenchError
from workbench.presets import Preset, default_noise, default_residual, load_preset, preset_from_dict, save_preset
from workbench.rendering import PartCache, render
from workbench.synth import ImpactSynth, Parts

SR = 16000
BANDS = specs.RESIDUAL_BAND_FREQS_HZ
ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(__file__).parent / "data" / "renders_before_residual.npz"
OLD = Path(__file__).parent / "data" / "presets_before_residual"


def residual_only(band: int, *, t60_s: float = 0.2, gain_db: float = -40.0) -> dict:
    """A residual with only ``band`` audible (the others at the floor)."""
    return {"enabled": True, "bands": [
        {"freq_hz": f, "gain_db": gain_db if b == band else specs.RESIDUAL_GAIN_DB.minimum, "t60_s": t60_s}
        for b, f in enumerate(BANDS)]}


def strike_preset(residual, *, impacts=((0.05, 1.0),), duration_s=1.0, gain_db=-140.0, **kw) -> Preset:
    """A (near) silent object, no noise, no room: what is heard is the residual."""
    kw.setdefault("noise", default_noise(-160.0))
    return Preset(name="strike", sample_rate=SR, duration_s=duration_s,
                  object={"modes": [{"freq_hz": 440.0, "t60_s": 0.1, "gain_db": gain_db}]},
                  impacts=[{"time_s": t, "contact_s": 1e-4, "magnitude": m} for t, m in impacts],
                  acceleration=specs.ACCELERATION.minimum, residual=residual, **kw)


def band_energy(y: np.ndarray, lo_hz: float, hi_hz: float, sr: int = SR) -> float:
    spectrum = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(len(y), 1 / sr)
    return float(spectrum[(f >= lo_hz) & (f <= hi_hz)].sum())


@pytest.mark.parametrize("band", [3, 5])
def test_one_band_rings_in_its_band(band):
    y = render(strike_preset(residual_only(band)), parts="residual", device="cpu").astype(np.float64)
    f0 = BANDS[band]
    inside = band_energy(y, BANDS[band - 1], BANDS[band + 1])     # the band's triangle reaches its neighbours
    assert inside > 0.98 * band_energy(y, 0, SR / 2)     # (the decay smears the edges a little)
    assert band_energy(y, f0 / 1.3, f0 * 1.3) > 0.5 * inside       # most of it near the centre


@pytest.mark.parametrize("t60", [0.08, 0.3])
def test_one_band_has_fallen_60_db_at_its_t60(t60):
    onset = 0.05
    y = render(strike_preset(residual_only(5, t60_s=t60), duration_s=onset + 1.5 * t60),
               parts="residual", device="cpu").astype(np.float64)
    frame = int(0.004 * SR)
    start = int((onset + 0.002) * SR)
    n_frames = int(t60 * SR) // frame
    energy = np.array([np.sum(y[start + k * frame:start + (k + 1) * frame] ** 2) for k in range(n_frames)])
    t = (np.arange(n_frames) + 0.5) * frame / SR
    slope, _ = np.polyfit(t, 10 * np.log10(energy), 1)             # dB per second of the band's envelope
    assert slope * t60 == pytest.approx(-60.0, abs=3.0)


def test_nothing_before_the_first_strike_and_each_strike_excites_it():
    res = residual_only(4, t60_s=0.1)
    t1, t2 = 0.1, 0.1 + 1000 / SR
    both = render(strike_preset(res, impacts=((t1, 1.0), (t2, 0.5))), parts="residual", device="cpu")
    first = render(strike_preset(res, impacts=((t1, 1.0),)), parts="residual", device="cpu")
    second = render(strike_preset(res, impacts=((t2, 0.5),)), parts="residual", device="cpu")
    peak = np.abs(both).max()
    assert np.abs(both[:int((t1 - 2e-4) * SR)]).max() < 1e-6 * peak     # the pulse starts at t1 - tau
    np.testing.assert_allclose(both, first + second, atol=1e-6 * peak)   # one onset per strike
    # the second strike's onset is the first's, 1000 samples later, at half the level
    np.testing.assert_allclose(second[1000:], 0.5 * first[:-1000], atol=1e-4 * peak)
    assert np.abs(second[:int((t2 - 2e-4) * SR)]).max() < 1e-6 * peak


def test_nothing_above_nyquist():
    # the 16 kHz band lies wholly above 8 kHz (its triangle starts at the 8 kHz centre): silent at 16 kHz
    top = len(BANDS) - 1
    y = render(strike_preset(residual_only(top, gain_db=0.0)), parts="residual", device="cpu")
    loud = render(strike_preset(residual_only(top, gain_db=0.0)), parts="residual", sample_rate=44100,
                  device="cpu")
    assert np.abs(loud).max() > 1.0
    assert np.abs(y).max() < 1e-5 * np.abs(loud).max()       # only the other bands' -160 dB floor


def test_level_does_not_depend_on_the_sample_rate():
    p = strike_preset(residual_only(4, t60_s=1.0))
    rms = [np.sqrt(np.mean(render(p, parts="residual", sample_rate=sr, device="cpu")[
        int(0.06 * sr):int(0.5 * sr)] ** 2)) for sr in (16000, 48000)]
    assert 20 * math.log10(rms[1] / rms[0]) == pytest.approx(0.0, abs=1.5)


def test_gradients_match_finite_differences():
    p = strike_preset(default_residual(gain_db=-40.0, t60_s=0.05), duration_s=0.06, impacts=((0.005, 1.0),))
    c = controls_from_presets([p], dtype=torch.float64)
    synth = ImpactSynth(sample_rate=SR, n_samples=int(0.06 * SR))
    probe = torch.randn(synth.n_samples, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def out(gains, t60):
        c.residual_gains_db, c.residual_t60_s = gains, t60
        return (synth(c, Parts.named("residual")) * probe).sum(-1)

    gains = c.residual_gains_db.clone().requires_grad_(True)
    t60 = c.residual_t60_s.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(out, (gains, t60), eps=1e-6, atol=1e-6, rtol=1e-4)


def test_presets_without_residual_render_as_before():
    ref = np.load(REFERENCE)
    sep = OLD / "robot_steelfork_on_ceramicmug_separated.json"
    got = {"glass": render(OLD / "impactGlass_medium_000.json", device="cpu"),
           "separated": render(sep, duration_s=0.3, device="cpu"),
           "separated_tool": render(sep, duration_s=0.3, device="cpu", parts="tool"),
           "till_16k": render(OLD / "perc_till__Zott820_fs209578_multi.json", duration_s=1.0,
                              sample_rate=16000, device="cpu")}
    for key, y in got.items():
        np.testing.assert_allclose(y, ref[key], rtol=0, atol=1e-6 * np.abs(ref[key]).max(), err_msg=key)


# Presets as the library shipped them before the residual (and damping) keys existed:
# byte-identical copies of files from commit ccca24c (the library has been refitted since).
OLD_PRESETS = sorted(OLD.glob("*.json")) + [ROOT / "presets" / "demo.json"]


@pytest.mark.parametrize("path", OLD_PRESETS, ids=lambda p: p.name)
def test_a_preset_from_before_has_no_residual_and_renders_unchanged(path):
    data = json.loads(path.read_text())
    assert "residual" not in data and "damping" not in data["object"]
    p = load_preset(path)
    assert p.residual is None and p.object.damping is None
    assert not np.any(render(p, duration_s=0.05, parts="residual", device="cpu"))
    np.testing.assert_array_equal(render(p, duration_s=0.05, device="cpu"),
                                  render(p.replace(residual=None), duration_s=0.05, device="cpu"))
    assert p.to_dict() == data                     # written back as it was read: no new keys


@pytest.mark.parametrize("path", sorted((ROOT / "presets").rglob("*.json")), ids=lambda p: p.name)
def test_every_bundled_preset_renders_its_residual(path):
    p = load_preset(path)
    if p.residual is None:
        return
    alone = render(p, duration_s=0.3, parts="residual", device="cpu")
    assert np.all(np.isfinite(alone))
    np.testing.assert_allclose(render(p, duration_s=0.3, parts="dry", device="cpu"),
                               render(p.replace(residual={**p.residual.model_dump(), "enabled": False}),
                                      duration_s=0.3, parts="dry", device="cpu") + alone, atol=2e-5)


def test_preset_round_trip_keeps_the_residual(tmp_path):
    res = default_residual(gain_db=-55.0, t60_s=0.03)
    p = strike_preset(res)
    back = load_preset(save_preset(p, tmp_path / "p.json"))
    assert back.residual == res and back == p
    c = controls_from_presets([p], dtype=torch.float64)
    again = preset_from_controls(c, 0, name=p.name, sample_rate=SR, duration_s=p.duration_s)
    assert again.residual == res
    off = strike_preset(default_residual(enabled=False))
    assert preset_from_controls(controls_from_presets([off]), 0, name="x", sample_rate=SR,
                                duration_s=1.0).residual.enabled is False
    assert not np.any(render(off, parts="residual", device="cpu"))


def test_batch_of_presets_with_and_without_residual():
    a, b = strike_preset(residual_only(4)), strike_preset(None)
    c = controls_from_presets([a, b], dtype=torch.float64)
    y = ImpactSynth(sample_rate=SR, n_samples=SR)(c, Parts.named("residual"))
    assert y[0].abs().max() > 1e-3 and y[1].abs().max() == 0


@pytest.mark.parametrize("change, message", [
    ({"t60_s": 5.0}, "residual.bands[0].t60_s: 5.0 is outside [0.005, 2] s"),
    ({"gain_db": 3.0}, "residual.bands[0].gain_db: 3.0 is outside [-160, 0] dB"),
])
def test_validation_names_the_field(change, message):
    data = strike_preset(default_residual()).to_dict()
    data["residual"]["bands"][0].update(change)
    with pytest.raises(WorkbenchError, match=message.replace("[", r"\[").replace("]", r"\]")):
        preset_from_dict(data)


def test_band_budget_applies():
    data = strike_preset(default_residual()).to_dict()
    data["residual"]["bands"] = [{"freq_hz": 20.0 + k, "gain_db": -80.0, "t60_s": 0.05} for k in range(300)]
    with pytest.raises(WorkbenchError, match="residual.bands"):
        preset_from_dict(data)


def test_named_part_residual_renders_only_it():
    p = strike_preset(default_residual(gain_db=-50.0), gain_db=-10.0, noise=default_noise(-60.0))
    assert Parts.named("residual") == Parts(object=False, tool=False, acceleration=False, noise=False,
                                            reverb=False, residual=True)
    alone = render(p, parts="residual", device="cpu")
    without = render(p.replace(residual=None), device="cpu")
    np.testing.assert_allclose(render(p, device="cpu"), without + alone, atol=2e-6)   # the room is off
    assert not any(Parts.named(n).residual for n in ("object", "tool"))
    cached = PartCache().render(p)
    np.testing.assert_allclose(cached["residual"], alone, atol=1e-6)
    np.testing.assert_allclose(cached["all"], render(p, device="cpu"), atol=2e-6)


def test_part_cache_rerenders_only_the_residual_on_a_residual_edit():
    cache = PartCache()
    p = strike_preset(default_residual(gain_db=-50.0), gain_db=-10.0)
    first = cache.render(p)
    q = p.replace(residual=default_residual(gain_db=-45.0))
    second = cache.render(q)
    assert second["object"] is first["object"]
    assert second["residual"] is not first["residual"]
    np.testing.assert_allclose(second["residual"], render(q, parts="residual", device="cpu"), atol=1e-6)


@pytest.mark.slow
def test_fit_recovers_the_residual_level():
    from workbench.fitting import Clip, fit

    truth = Preset(name="truth", sample_rate=SR, duration_s=0.6, noise=default_noise(-90.0),
                   object={"modes": [{"freq_hz": 700.0, "t60_s": 0.4, "gain_db": -12.0}]},
                   impacts=[{"time_s": 0.1, "contact_s": 2e-4, "magnitude": 1.0}],
                   residual=default_residual(gain_db=-50.0, t60_s=0.06))
    audio = render(truth, device="cpu")
    result = fit(Clip(name="clip", audio=audio, sample_rate=SR), n_modes=2, steps=80, reverb=False,
                 device="cpu", patience=None)
    fitted = result.preset
    assert fitted.residual is not None and fitted.residual.enabled
    # from -100 dB to within a few dB where the residual is what is heard (1-4 kHz, above the mode)
    levels = {b.freq_hz: b.gain_db for b in fitted.residual.bands}
    for band in (1004.0, 2006.0, 4008.0):
        assert levels[band] == pytest.approx(-50.0, abs=6.0), (band, levels)
    off = fit(Clip(name="clip", audio=audio, sample_rate=SR), n_modes=2, steps=2, reverb=False, residual=False,
              device="cpu")
    assert off.preset.residual is not None and not off.preset.residual.enabled
    assert off.preset.provenance["settings"]["residual"] is False
