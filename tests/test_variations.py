"""The learned variation model: strike amplitudes read off a recording, the library prior, draws."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workbench.audio import load_audio
from workbench.data import DATA_DIR, HAMMER_RECORDING
from workbench.errors import WorkbenchError
from workbench.presets import Preset, load_preset
from workbench.rendering import render
from workbench.variations import (VariationModel, build_prior, draw, gain_deviations, learn_variation, load_prior,
                                  prior_from_library, strike_amplitudes)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "real_impacts"
HAMMER_PRESET = REPO / "presets" / "wood" / "hammer_wood_multi.json"
SR = 16000
MODES = [(310.0, 0.8, 0.0), (745.0, 0.5, -4.0), (1390.0, 0.35, -8.0), (2630.0, 0.2, -10.0)]


def _strike(gains_offset_db, t0: float, tau: float = 2e-4, mag: float = 1.0) -> Preset:
    modes = [{"freq_hz": f, "t60_s": t, "gain_db": g + d} for (f, t, g), d in zip(MODES, gains_offset_db)]
    return Preset(name="s", sample_rate=SR, duration_s=2.0, object={"modes": modes},
                  impacts=[{"time_s": t0, "contact_s": tau, "magnitude": mag}])


@pytest.fixture(scope="module")
def synthetic():
    """Five overlapping strikes (each rings into the next) with known per-mode gain offsets."""
    rng = np.random.default_rng(3)
    times = [0.05, 0.33, 0.61, 0.95, 1.3]
    offsets = rng.normal(0.0, 3.0, (len(times), len(MODES)))
    audio = sum(render(_strike(o, t)) for o, t in zip(offsets, times))
    fitted = _strike(np.zeros(len(MODES)), times[0]).replace(
        impacts=[{"time_s": t, "contact_s": 2e-4, "magnitude": 1.0} for t in times])
    return fitted, audio, offsets


def test_strike_amplitudes_recover_each_strikes_own_ring(synthetic):
    """Earlier strikes' tails are taken out: each strike's mode gains come back within 0.3 dB."""
    fitted, audio, offsets = synthetic
    amplitudes, measured = strike_amplitudes(fitted, audio.astype(np.float64), SR)
    assert measured.all()
    d = gain_deviations(fitted, amplitudes, measured)
    truth = offsets - offsets.mean(0, keepdims=True)
    truth = truth - truth.mean(1, keepdims=True)
    for _ in range(3):
        truth = truth - truth.mean(0, keepdims=True)
        truth = truth - truth.mean(1, keepdims=True)
    assert np.max(np.abs(d - truth)) < 0.3, np.round(d - truth, 2)


def test_a_recording_without_variation_gives_no_gain_spread(synthetic):
    fitted, _, _ = synthetic
    audio = sum(render(_strike(np.zeros(len(MODES)), i.time_s)) for i in fitted.impacts)
    flat = VariationModel(cov_log=((0.0, 0.0), (0.0, 0.0)), gain_sd_db=(0.0,) * 8)
    model = learn_variation(fitted, audio, SR, prior=flat, prior_strikes=0)
    assert model.source == "recording"
    assert max(model.gain_sd_db) < 0.05
    assert model.sd_log_contact == 0.0 and model.sd_log_magnitude == 0.0


def test_learned_from_the_bundled_hammer_recording():
    preset = load_preset(HAMMER_PRESET)
    audio, sr = load_audio(HAMMER_RECORDING, channel=0)
    model = learn_variation(preset, audio, sr)
    assert (model.source, model.n_strikes) == ("recording", 10)
    logs = np.log([[i.contact_s, i.magnitude] for i in preset.impacts])
    own, prior = np.cov(logs, rowvar=False), np.asarray(load_prior().cov_log)
    np.testing.assert_allclose(model.cov_log, (9 * own + 3 * prior) / 12, rtol=1e-9)
    assert all(0.5 < s < 15 for s in model.gain_sd_db)
    assert VariationModel.from_dict(json.loads(json.dumps(model.to_dict()))) == model


def test_one_strike_takes_the_prior():
    p = _strike(np.zeros(len(MODES)), 0.01)
    assert learn_variation(p) == load_prior()


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/real_impacts is not beside the repository")
def test_the_shipped_prior_is_what_the_library_gives():
    """``workbench variation-prior presets ../shared/data/real_impacts`` reproduces the shipped file."""
    rebuilt = prior_from_library(REPO / "presets", SHARED)
    shipped = load_prior()
    np.testing.assert_allclose(rebuilt.cov_log, shipped.cov_log, rtol=1e-6)
    np.testing.assert_allclose(rebuilt.gain_sd_db, shipped.gain_sd_db, atol=1e-3)
    assert rebuilt.n_strikes == shipped.n_strikes == 24
    assert json.loads((DATA_DIR / "variation_prior.json").read_text())["source"] == "prior"


def test_the_prior_needs_repeated_strikes():
    with pytest.raises(WorkbenchError, match="no recording with 3 or more strikes"):
        build_prior([(_strike(np.zeros(len(MODES)), 0.01), np.zeros(SR), SR)])


def test_draws_follow_the_model():
    """2000 draws: the (ln tau, ln m) covariance and each mode's gain spread are the model's."""
    model = VariationModel(cov_log=((0.04, 0.01), (0.01, 0.09)), gain_sd_db=(3.0,) * 8)
    base = _strike(np.zeros(len(MODES)), 2e-4)
    rng = np.random.default_rng(0)
    draws = [draw(base, model, rng)[0] for _ in range(2000)]
    logs = np.log([[p.impacts[0].contact_s, p.impacts[0].magnitude] for p in draws])
    np.testing.assert_allclose(np.cov(logs, rowvar=False), model.cov_log, atol=0.006)
    gains = np.array([[m.gain_db for m in p.object.modes] for p in draws]) - [g for _, _, g in MODES]
    np.testing.assert_allclose(gains.std(0), 3.0, rtol=0.06)
    np.testing.assert_allclose(gains.mean(0), 0.0, atol=0.2)
    again = draw(base, model, np.random.default_rng(0))[0]
    assert again == draws[0]                                       # seeded: reproducible
    assert draw(base, model, np.random.default_rng(1), shrink=0.0)[0].object == base.object


def test_a_bad_model_file_is_refused():
    with pytest.raises(WorkbenchError, match="variation model"):
        VariationModel.from_dict({"cov_log": [[1.0]], "band_hz": [1.0], "gain_sd_db": [1.0, 2.0],
                                  "n_strikes": 1, "source": "prior"})


def test_pairwise_distances_are_normalized_distances():
    import torch

    from workbench.losses import normalized_distance, pairwise_distances
    x = torch.randn(4, 4000, generator=torch.Generator().manual_seed(0)) * torch.tensor([[1.0], [0.5], [2.0], [1.0]])
    pairs = [(0, 1), (1, 0), (2, 3), (3, 3)]
    want = torch.cat([normalized_distance(x[i][None], x[j][None]) for i, j in pairs])
    torch.testing.assert_close(pairwise_distances(x, pairs), want, rtol=1e-5, atol=1e-7)
