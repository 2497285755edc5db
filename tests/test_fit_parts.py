"""Named clips, fits in parts (independent clips at different sample rates), long files with labels."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import WorkbenchError
from workbench.fitting import Clip, fit
from workbench.presets import Preset, default_noise
from workbench.rendering import render

SR = 44100


def bell(time_s=0.1, freqs=(610.0, 1530.0, 3710.0), duration_s=1.0, impacts=None, tool=None) -> Preset:
    return Preset(
        name="bell", sample_rate=SR, duration_s=duration_s, tool=tool, acceleration=1e-8, noise=default_noise(-75.0),
        object={"modes": [{"freq_hz": f, "t60_s": t, "gain_db": g}
                          for f, t, g in zip(freqs, (0.6, 0.35, 0.2), (-6.0, -10.0, -14.0))]},
        impacts=impacts or [{"time_s": time_s, "contact_s": 2e-4, "magnitude": 1.0}])


@pytest.fixture(scope="module")
def mixed_rate_fit():
    """Three independent clips, the middle one at another rate: two parts, every option set."""
    a = render(bell(), device="cpu")
    b = render(bell(freqs=(820.0, 2210.0, 4900.0)), sample_rate=48000, device="cpu")
    seen = []

    def on_progress(p):
        seen.append((p.step, p.total_steps, p.part, p.n_parts, [q.name for q in p.presets]))

    result = fit([(a, SR), (b, 48000), (a, SR)], n_modes=6, steps=8, reverb=False, init="random", patience=None,
                 report_every=2, lr=0.02, seed=3, callback=on_progress, device="cpu")
    return result, seen


def test_parts_keep_input_order_names_and_rates(mixed_rate_fit):
    result, _ = mixed_rate_fit
    assert [p.name for p in result.presets] == ["clip0", "clip1", "clip2"]
    assert [p.sample_rate for p in result.presets] == [SR, 48000, SR]
    assert len(result.distances) == len(result.impacts) == len(result.targets) == 3
    assert result.render(index=1).shape == result.targets[1].shape


def test_parts_use_every_option(mixed_rate_fit):
    result, _ = mixed_rate_fit
    for p in result.presets:
        settings = p.provenance["settings"]
        assert settings["init"] == "random"
        assert len(p.object.modes) == 6            # a random start keeps all n_modes modes
        assert (settings["patience"], settings["lr"], settings["seed"]) == (None, 0.02, 3)
    assert result.steps_run == 16 and result.stopped == "steps"   # patience=None: every step of both parts


def test_parts_keep_every_loss_history(mixed_rate_fit):
    result, _ = mixed_rate_fit
    assert [len(h) for h in result.loss_histories] == [8, 8]
    assert result.loss_history == result.loss_histories[0] + result.loss_histories[1]


def test_callback_reports_across_parts(mixed_rate_fit):
    _, seen = mixed_rate_fit
    assert [s for s, *_ in seen] == [0, 2, 4, 6, 7, 8, 10, 12, 14, 15]
    assert {(total, n_parts) for _, total, _, n_parts, _ in seen} == {(16, 2)}
    assert [part for _, _, part, _, _ in seen] == [0] * 5 + [1] * 5
    assert seen[0][4] == ["clip0", "clip2"] and seen[-1][4] == ["clip1"]


def test_cancel_in_the_first_part_stops_the_others():
    import threading

    cancel = threading.Event()
    a = render(bell(), device="cpu")
    b = render(bell(), sample_rate=48000, device="cpu")
    result = fit([(a, SR), (b, 48000)], n_modes=3, steps=50, reverb=False, report_every=1, cancel=cancel,
                 callback=lambda p: p.step >= 2 and cancel.set(), device="cpu")
    assert result.cancelled and [len(h) for h in result.loss_histories] == [3, 0]
    assert [p.name for p in result.presets] == ["clip0", "clip1"] and len(result.distances) == 2


def test_named_clips_name_presets_labels_and_sources():
    tool = {"modes": [{"freq_hz": 7200.0, "t60_s": 0.03, "gain_db": -8.0}]}
    clips = [Clip(name="take 1.wav", audio=render(bell(tool=tool), device="cpu"), sample_rate=SR),
             Clip(name="mug take", audio=render(bell(freqs=(820.0, 2210.0, 4900.0), tool=tool), device="cpu"),
                  sample_rate=SR)]
    result = fit(clips, labels={"take 1": ("fork", "steelbowl"), "mug take": ("fork", "mug")}, n_modes=4,
                 n_tool_modes=2, steps=4, reverb=False, device="cpu")
    assert [p.name for p in result.presets] == ["take 1.wav", "mug take"]
    assert [p.tags for p in result.presets] == [("fork", "steelbowl"), ("fork", "mug")]
    assert result.presets[0].material == "steel"
    assert [p.provenance["source"] for p in result.presets] == ["take 1.wav", "mug take"]


def test_a_resampled_clip_is_not_changed():
    audio = render(bell(), device="cpu")
    clip = Clip(name="bell", audio=audio, sample_rate=SR)
    result = fit(clip, sample_rate=48000, n_modes=3, steps=2, reverb=False, device="cpu")
    assert result.preset.sample_rate == 48000 and result.targets[0].size == 48000
    assert clip.sample_rate == SR and clip.audio is audio


def steady_hum():
    t = np.arange(2 * SR) / SR
    hum = 0.1 * np.sin(2 * np.pi * 100 * t) + 1e-3 * np.random.default_rng(0).standard_normal(t.size)
    return (hum * np.minimum(t / 0.5, 1.0)).astype(np.float32)


@pytest.mark.parametrize("clips, kwargs, message", [
    ([Clip(name="quiet take", audio=np.zeros(SR, np.float32), sample_rate=SR)], {}, "quiet take: .*silent"),
    ([Clip(name="hum take", audio=steady_hum(), sample_rate=SR)], {}, "hum take: no impact detected"),
    ([Clip(name="short take", audio=render(bell(time_s=0.01), device="cpu")[:1500], sample_rate=SR)], {},
     "short take: too short"),
    ([Clip(name="a", audio=steady_hum(), sample_rate=SR), Clip(name="b b", audio=steady_hum(), sample_rate=SR)],
     {"labels": {"a": (None, "bowl")}}, "no label for b b"),
    ([Clip(name="", audio=steady_hum(), sample_rate=SR)], {}, "needs a non-empty name"),
    ([Clip(name="wide", audio=np.zeros((2, SR), np.float32), sample_rate=SR)], {}, "wide: expected a mono"),
])
def test_errors_name_the_clip(clips, kwargs, message):
    with pytest.raises(WorkbenchError, match=message):
        fit(clips, n_modes=3, steps=2, device="cpu", **kwargs)


def test_long_file_segments_get_the_file_label(monkeypatch):
    from workbench.fitting import clips

    monkeypatch.setattr(clips, "MAX_CLIP_S", 1.0)    # pretend 2 s is "minutes"
    strikes = [{"time_s": t, "contact_s": 2e-4, "magnitude": m} for t, m in ((0.1, 1.0), (0.8, 0.5), (1.5, 0.8))]
    audio = render(bell(duration_s=2.0, impacts=strikes), device="cpu")
    result = fit(Clip(name="robot_fork_on_steelbowl", audio=audio, sample_rate=SR), labels="names", n_modes=3,
                 n_tool_modes=1, steps=2, reverb=False, device="cpu")
    assert len(result.presets) == 3
    assert {p.tags for p in result.presets} == {("fork", "steelbowl")}
    assert result.preset.name == "robot_fork_on_steelbowl" and len(result.preset.impacts) == 3
