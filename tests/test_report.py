"""The fit report's figure: modes with each body's damping law, the law's description, the
residual bands, the force at the detected strikes."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.damping import DampingLaw, with_laws
from workbench.fitting.api import FitResult
from workbench.fitting.report import NO_LAW, damping_lines, report_figure, write_report
from workbench.presets import default_residual, load_preset


def _result(preset) -> FitResult:
    sr = preset.sample_rate
    return FitResult(presets=[preset], targets=[np.zeros(int(0.4 * sr), np.float32)], sample_rate=sr,
                     loss_history=[1.0, 0.5], distances=[0.3], impacts=[[i.time_s for i in preset.impacts]],
                     steps_run=2, stopped="steps", elapsed_s=1.0)


@pytest.fixture(scope="module")
def demo(demo_preset_path):
    return load_preset(demo_preset_path)


def _texts(fig) -> str:
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts)


def _modes_axes(fig):
    return next(ax for ax in fig.axes if ax.get_title().startswith("modes"))


def test_the_report_shows_the_damping_law_and_the_residual(demo):
    preset = with_laws(demo).replace(residual=default_residual(gain_db=-30.0, t60_s=0.05))
    law = DampingLaw.from_dict(preset.object.damping.model_dump())
    fig = report_figure(_result(preset))
    ax = _modes_axes(fig)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    curve = next(line for line in ax.get_lines() if line.get_label() == "object law")
    f, t60 = curve.get_data()
    assert (f[0], f[-1]) == pytest.approx(law.freq_range_hz) and t60 == pytest.approx(law.t60_at(f))
    text = _texts(fig)
    formula, _, spread = law.describe().partition(", ")
    assert f"object: {formula}" in text and spread in text and NO_LAW not in text
    assert "residual (band, level, T60)" in text
    assert text.count(" -30.0 dB ") == len(preset.residual.bands)
    assert any(ax.get_title() == "contact force" for ax in fig.axes)


def test_a_preset_without_a_law_shows_its_modes_and_says_so(demo):
    assert demo.object.damping is None
    fig = report_figure(_result(demo))
    ax = _modes_axes(fig)
    assert not [line for line in ax.get_lines() if line.get_label().endswith("law")]
    assert len(ax.collections[0].get_offsets()) == len(demo.object.modes)
    assert damping_lines(demo) == [f"object: {NO_LAW}"] and f"object: {NO_LAW}" in _texts(fig)
    assert "residual: none" in _texts(fig)


def test_write_report_writes_the_residual_part(demo, tmp_path):
    preset = with_laws(demo).replace(residual=default_residual())
    names = sorted(p.name for p in write_report(_result(preset), tmp_path))
    stem = preset.name.replace("#", "_")
    assert names == sorted(f"{stem}{s}" for s in ("_fit.wav", "_residual.wav", "_report.png"))
