"""Damping laws: fitted to modes, stored in presets, and a prior that ties decay times together."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from workbench.damping import DampingLaw, body_law, fit_damping_law, with_laws
from workbench.errors import WorkbenchError
from workbench.fitting.damping_prior import DampingPrior
from workbench.fitting.params import BankInit, ClipInit, FitParams
from workbench.presets import Preset, load_preset, preset_from_dict, save_preset
from workbench.specs import T60_DECAY

F = np.array([150.0, 400.0, 900.0, 1800.0, 3500.0, 7000.0])


def test_a_power_law_is_recovered_and_scales_as_a_power():
    t60 = T60_DECAY / (2.0 * (F / 1000.0) ** 1.3)
    law = fit_damping_law(F, t60, kind="power")
    assert law.coefficients["p"] == pytest.approx(1.3, abs=1e-9)
    assert law.spread == pytest.approx(0.0, abs=1e-9)
    # doubling the frequency divides T60 by 2^p
    assert law.t60_at(2000.0) / law.t60_at(1000.0) == pytest.approx(2.0 ** -1.3)


def test_a_rayleigh_law_is_recovered_and_auto_prefers_it_when_it_fits_better():
    a, b = 6.0, 2e-7
    sigma = a / 2 + b * (2 * math.pi * F) ** 2 / 2
    law = fit_damping_law(F, T60_DECAY / sigma)
    assert law.kind == "rayleigh"
    assert law.coefficients["a"] == pytest.approx(a, rel=1e-4)
    assert law.coefficients["b"] == pytest.approx(b, rel=1e-4)
    np.testing.assert_allclose(law.t60_at(F), T60_DECAY / sigma, rtol=1e-4)


def test_spread_measures_the_scatter_and_weights_pick_the_strong_modes():
    rng = np.random.default_rng(0)
    t60 = T60_DECAY / (3.0 * (F / 1000.0)) * np.exp(rng.normal(0, 0.3, len(F)))
    law = fit_damping_law(F, t60, kind="power")
    assert 0.1 < law.spread < 0.6
    outlier = t60.copy()
    outlier[2] *= 20.0                   # one weak mode far off the law...
    weights = np.ones(len(F))
    weights[2] = 1e-6                    # ...barely moves it
    assert fit_damping_law(F, outlier, weights, kind="power").coefficients["p"] == pytest.approx(
        fit_damping_law(np.delete(F, 2), np.delete(t60, 2), kind="power").coefficients["p"], abs=1e-3)


def test_bad_input_is_refused_by_name():
    with pytest.raises(WorkbenchError, match="kind"):
        fit_damping_law(F, F, kind="linear")
    with pytest.raises(WorkbenchError, match="freqs_hz and t60_s"):
        fit_damping_law(F, F[:-1])
    assert fit_damping_law(F[:2], F[:2]) is None     # too few modes: no law


def _preset(**extra) -> Preset:
    modes = [{"freq_hz": float(f), "t60_s": float(T60_DECAY / (2.0 * f / 1000.0)), "gain_db": -10.0} for f in F]
    return Preset(name="bar", sample_rate=44100, object={"modes": modes, **extra},
                  impacts=[{"time_s": 0.01, "contact_s": 2e-4, "magnitude": 1.0}])


def test_the_law_is_stored_in_the_preset_and_survives_a_round_trip(tmp_path):
    p = with_laws(_preset())
    assert p.object.damping.law in ("power", "rayleigh") and p.object.damping.n_modes == len(F)
    path = save_preset(p, tmp_path / "bar.json")
    back = load_preset(path)
    assert back.object.damping == p.object.damping
    law = DampingLaw.from_dict(back.object.damping.model_dump())
    np.testing.assert_allclose(law.t60_at(F), [m.t60_s for m in p.object.modes], rtol=1e-6)
    assert "spread x" in law.describe()


def test_presets_without_a_law_are_written_back_unchanged(tmp_path):
    p = _preset()
    data = json.loads(save_preset(p, tmp_path / "old.json").read_text())
    assert "damping" not in data["object"]


def test_a_malformed_law_is_refused_naming_the_field():
    bad = _preset().to_dict()
    bad["object"]["damping"] = {"law": "power", "coefficients": {"a": 1.0, "b": 2.0}, "freq_range_hz": [100, 200]}
    with pytest.raises(WorkbenchError, match="object.damping"):
        preset_from_dict(bad)


def test_body_law_ignores_inaudible_modes():
    g = np.full(len(F), -10.0)
    g[-1] = -120.0
    t60 = T60_DECAY / (2.0 * F / 1000.0)
    t60[-1] = 50.0
    assert body_law(F, t60, g).n_modes == len(F) - 1


def test_a_weak_mode_borrows_its_decay_from_the_strong_ones():
    """Data term: the strong modes' decays are well measured (stiff), the weak mode's
    barely (soft); with the prior, the weak mode moves onto the strong modes' law."""
    t60 = T60_DECAY / (2.0 * F / 1000.0)
    measured = t60.copy()
    measured[3] *= 8.0                 # a weak mode whose decay the spectrum barely shows
    stiffness = torch.tensor([1.0, 1.0, 1.0, 1e-3, 1.0, 1.0])
    gains = np.zeros(len(F))
    gains[3] = -30.0
    bank = BankInit(F.copy(), measured, gains)
    clip = ClipInit(np.array([0.01]), np.array([2e-4]), np.ones(1), 1e-8, np.full(8, -80.0),
                    np.full(8, -40.0), np.full(8, 0.3))
    params = FitParams([bank], [], [clip], noise_freqs_hz=np.geomspace(100, 10000, 8),
                       reverb_freqs_hz=np.geomspace(100, 10000, 8), max_freq_hz=20000.0)
    prior = DampingPrior(params, weight=1.0, every=10)
    opt = torch.optim.Adam([params.object_banks[0].t60], lr=0.05)
    target = torch.log(torch.tensor(measured, dtype=torch.float32))
    for step in range(200):
        opt.zero_grad()
        log_t60 = torch.log(FitParams.bank_values(params.object_banks[0])[1])
        (10.0 * (stiffness * (log_t60 - target) ** 2).sum() + prior(step)).backward()
        opt.step()
    after = FitParams.bank_values(params.object_banks[0])[1].detach().numpy()
    assert abs(math.log(after[3] / t60[3])) < 0.3 * math.log(8.0)            # onto the law
    strong = np.delete(np.arange(len(F)), 3)
    assert np.all(np.abs(np.log(after[strong] / t60[strong])) < 0.1)          # the strong ones stay
