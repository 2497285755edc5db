"""Multi-scale spectral loss and the normalised distance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench import spectral_distance
from workbench.errors import WorkbenchError
from workbench.functional.modal import modal_ir
from workbench.losses import MultiScaleSpectralLoss, white_noise_like

SR = 44100


def tone(freq, n=SR // 2):
    t = torch.tensor
    return modal_ir(t([[freq, freq * 2.7]]), t([[0.3, 0.2]]), t([[0.0, -6.0]]), n_samples=n, sample_rate=SR)


def test_loss_is_zero_for_equal_inputs_and_grows_with_detuning():
    loss = MultiScaleSpectralLoss()
    x = tone(800.0)
    assert float(loss(x, x)) == 0.0
    values = [float(loss(tone(800.0 * (1 + d)), x)) for d in (0.002, 0.01, 0.05, 0.2)]
    assert all(b > a for a, b in zip(values, values[1:]))


def test_loss_terms_and_batching():
    loss = MultiScaleSpectralLoss(lin_weight=1.0, log_weight=0.5)
    a, b = torch.cat([tone(500.0), tone(900.0)]), torch.cat([tone(510.0), tone(900.0)])
    terms = loss.terms(a, b)
    assert set(terms) == {f"{k}_{n}" for k in ("lin", "log") for n in (2048, 1024, 512, 256, 128)}
    per = loss.per_item(a, b)
    assert per.shape == (2,) and float(per[1]) == 0.0
    torch.testing.assert_close(loss(a, b), per.mean())
    torch.testing.assert_close(sum(terms.values()), per.mean())
    assert "log_128" not in MultiScaleSpectralLoss(log_weight=0.0).terms(a, b)


def test_white_noise_scores_about_one():
    target = tone(700.0)[0].numpy() + 0.01 * np.random.default_rng(3).standard_normal(SR // 2)
    rng = np.random.default_rng(11)
    noise = rng.standard_normal(target.size) * np.sqrt(np.mean(target ** 2))
    assert spectral_distance(noise, target, SR) == pytest.approx(1.0, abs=0.1)
    assert spectral_distance(target, target, SR) == 0.0
    assert spectral_distance(target * 1.05, target, SR) < 0.1


def test_distance_rejects_silent_target():
    with pytest.raises(WorkbenchError, match="target"):
        spectral_distance(np.ones(4096), np.zeros(4096))


def test_noise_reference_has_target_rms():
    target = tone(300.0)
    noise = white_noise_like(target)
    torch.testing.assert_close(noise.pow(2).mean().sqrt(), target.pow(2).mean().sqrt())


def test_fixed_target_loss_matches_plain_call():
    loss = MultiScaleSpectralLoss()
    a, b = torch.cat([tone(500.0), tone(700.0)]), torch.cat([tone(510.0), tone(650.0)])
    torch.testing.assert_close(loss.against(b)(a), loss(a, b))
