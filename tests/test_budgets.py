"""Budgets: declared once, checked before the work starts, and caches bounded by bytes."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from workbench import budgets
from workbench.errors import WorkbenchError
from workbench.functional import bands, reverb, spectral
from workbench.memo import ByteLRU, bytes_cache, nbytes
from workbench.presets import Preset
from workbench.rendering import PartCache, render, render_batch


def _preset(duration_s=1.0, sample_rate=16000, **kw) -> Preset:
    return Preset(name="bell", sample_rate=sample_rate, duration_s=duration_s,
                  object={"modes": [{"freq_hz": 440, "t60_s": 0.5, "gain_db": -6}]},
                  impacts=[{"time_s": 0.01, "contact_s": 5e-4, "magnitude": 1}], **kw)


def test_every_budget_is_declared_once_with_its_unit():
    assert set(budgets.BUDGETS) >= {"render_samples", "modes_per_body", "impacts", "upload_bytes",
                                    "decoded_samples", "fit_samples", "server_cache_bytes", "memory_bytes"}
    for b in budgets.BUDGETS.values():
        assert b.limit > 0 and b.unit and b.doc
    # the fitter's largest n_modes is the modes budget: a fit can always be saved as a preset
    from workbench.fitting.settings import N_MODES
    assert N_MODES.maximum == budgets.MODES_PER_BODY.limit


def test_a_render_over_budget_is_refused_before_any_work():
    long = _preset(duration_s=600.0, sample_rate=44100)
    t0 = time.perf_counter()
    with pytest.raises(WorkbenchError, match=r"render of bell \(600 s at 44100 Hz\): .* over the budget"):
        render(long, device="cpu")
    assert time.perf_counter() - t0 < 0.5
    # the budget counts a batch: two presets at half the budget each are refused together
    half = budgets.RENDER_SAMPLES.limit // 2 + 16000
    with pytest.raises(WorkbenchError, match="2 presets"):
        render_batch([long, long], duration_s=half / 16000, sample_rate=16000, device="cpu")
    with pytest.raises(WorkbenchError, match="over the budget"):
        PartCache().render(long)


@pytest.mark.parametrize("kwargs, match", [
    ({"parts": None}, "parts: expected one of"),
    ({"duration_s": "2"}, "duration_s: '2'"),
    ({"duration_s": float("nan")}, "duration_s"),
    ({"sample_rate": 2.5e9}, "sample_rate"),
])
def test_bad_render_arguments_are_named(kwargs, match):
    with pytest.raises(WorkbenchError, match=match):
        render(_preset(), device="cpu", **kwargs)


def test_render_batch_needs_a_list_of_presets():
    with pytest.raises(WorkbenchError, match="non-empty list"):
        render_batch([], device="cpu")
    with pytest.raises(WorkbenchError, match="non-empty list"):
        render_batch(_preset(), device="cpu")


def test_a_fit_over_budget_is_refused_before_any_work():
    from workbench.fitting import fit

    sr = 16000
    n = budgets.FIT_SAMPLES.limit + sr
    audio = np.zeros(n, np.float32)
    audio[sr // 10: sr // 10 + 200] = np.hanning(200)
    t0 = time.perf_counter()
    with pytest.raises(WorkbenchError, match=r"clip0 \(.* s at 16000 Hz\): .* over the budget of .* per fit"):
        fit((audio, sr), steps=1, device="cpu")
    assert time.perf_counter() - t0 < 2.0


def test_byte_lru_evicts_by_bytes_and_skips_values_larger_than_the_budget():
    cache = ByteLRU(max_bytes=10_000)
    for i in range(10):
        cache.get_or(i, lambda: torch.zeros(500))          # 2000 bytes each
    assert list(cache) == [5, 6, 7, 8, 9] and cache.nbytes == 10_000
    cache.get_or(7, lambda: pytest.fail("cached"))          # a hit moves 7 to the end
    cache.put("big", np.zeros(2000))                        # 16 kB: returned by get_or, never kept
    assert "big" not in cache and cache.nbytes == 10_000
    assert cache.drop_where(lambda k: k in (5, 6)) == 2 and cache.nbytes == 6000
    assert nbytes((np.zeros(3), {"a": torch.zeros(2, dtype=torch.float64)}, b"xy")) == 24 + 16 + 2


def test_bytes_cache_memoises_like_lru_cache():
    calls = []

    @bytes_cache(1000)
    def table(n):
        calls.append(n)
        return np.ones(n)

    assert table(10) is table(10) and calls == [10]
    table(200)                       # 1600 bytes: too big to keep
    table(200)
    assert calls == [10, 200, 200]
    table.cache_clear()
    table(10)
    assert calls == [10, 200, 200, 10]


def test_dsp_tables_stay_within_their_budget_over_many_lengths():
    caches = [spectral._twiddles.cache, bands._white_spectrum.cache, bands._white_spectrum_cpu.cache,
              bands._interpolation.cache, bands._weights_np.cache, bands._weights_tensor.cache,
              reverb._band_noise.cache]
    for seconds in (1.0, 3.0, 7.0, 11.0, 13.0):
        render(_preset(duration_s=seconds, sample_rate=44100, reverb={"enabled": True, "bands": [
            {"freq_hz": 200.0, "gain_db": -20.0, "t60_s": 0.5}, {"freq_hz": 4000.0, "gain_db": -20.0, "t60_s": 0.3}]}),
            device="cpu")
    for cache in caches:
        assert 0 < cache.nbytes <= budgets.TABLE_CACHE_BYTES.limit or cache.nbytes == 0


def test_part_cache_holds_at_most_its_budget():
    cache = PartCache(max_bytes=8 * 2**20)
    preset = _preset(duration_s=6.0, sample_rate=44100)
    for pitch in range(12):           # twelve slider positions of a 6 s sound (~2 MB per spectrum)
        moved = preset.replace(object={"modes": [{"freq_hz": 440 + 10 * pitch, "t60_s": 0.5, "gain_db": -6}]})
        out = cache.render(moved)
        assert out["all"].shape == (6 * 44100,)
    held = sum(c.nbytes for c in (*cache._parts.values(), cache._outputs))
    assert 0 < held <= 8 * 2**20
    cache.clear()
    assert sum(c.nbytes for c in (*cache._parts.values(), cache._outputs)) == 0


def test_band_interpolation_equals_the_weight_matrix_and_its_gradient():
    freqs = (40.0, 300.0, 2500.0, 12000.0)
    gains = torch.tensor([[-10.0, -30.0, -5.0, -60.0]], dtype=torch.float64, requires_grad=True)
    w = bands.band_weights(freqs, n_fft=1000, sample_rate=32000, dtype=torch.float64)
    ours = bands.interpolate_bands(freqs, gains, n_fft=1000, sample_rate=32000)
    torch.testing.assert_close(ours, gains @ w)
    probe = torch.randn(ours.shape, dtype=torch.float64)
    g1, = torch.autograd.grad((ours * probe).sum(), gains)
    g2, = torch.autograd.grad(((gains @ w) * probe).sum(), gains)
    torch.testing.assert_close(g1, g2)

