"""Spectrogram figures: levels in dBFS at the right frequency, PNGs that are real images."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

from workbench.plots import SPEC_FLOOR_DB, plot_spectrogram, save_figure, spectrogram_db, spectrogram_figure

SR = 48_000


def tone(freq_hz: float, amplitude: float = 1.0, seconds: float = 1.0, sample_rate: int = SR) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq_hz * np.arange(int(seconds * sample_rate)) / sample_rate)


@pytest.mark.parametrize("freq_hz", [1500.0, 3000.0, 9375.0])       # on STFT bins (48000 / 2048 = 23.4375 Hz)
def test_a_pure_tone_peaks_at_its_frequency_at_its_level(freq_hz):
    times, freqs, level = spectrogram_db(tone(freq_hz, amplitude=0.5), SR)
    assert level.shape == (freqs.size, times.size) == (2048 // 2 + 1, times.size)
    assert freqs[1] == pytest.approx(SR / 2048) and times[1] == pytest.approx(256 / SR)
    inside = level[:, 5:-5]                                                # frames away from the padded ends
    assert np.all(freqs[inside.argmax(axis=0)] == freq_hz)
    np.testing.assert_allclose(inside.max(axis=0), 20 * np.log10(0.5), atol=1e-6)   # sine peak 0.5: -6 dBFS


def test_an_off_bin_tone_still_peaks_at_the_nearest_bin():
    times, freqs, level = spectrogram_db(tone(1000.0, sample_rate=44_100), 44_100)
    assert abs(freqs[level[:, times.size // 2].argmax()] - 1000.0) <= 44_100 / 2048 / 2


def test_silence_sits_at_the_floor():
    _, _, level = spectrogram_db(np.zeros(4096), SR)
    assert np.all(level == pytest.approx(SPEC_FLOOR_DB))


def test_save_figure_writes_a_png_that_reads_back(tmp_path):
    fig = spectrogram_figure(tone(2000.0, seconds=0.25), SR, title="2 kHz", figsize=(4, 2))
    path = save_figure(fig, tmp_path / "sub" / "spec.png", dpi=50)
    assert path == tmp_path / "sub" / "spec.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[:2] == (2 * 50, 4 * 50) and image.shape[2] in (3, 4)
    assert image[..., :3].std() > 0.05                                   # drawn, not blank
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["spec.png"]     # no temporary file left


def test_plot_spectrogram_draws_on_the_axes():
    fig = Figure()
    ax = fig.add_subplot()
    img = plot_spectrogram(ax, tone(1500.0, seconds=0.3), SR, title="bell", vmin=-80, max_freq_hz=4000)
    assert img in ax.collections and img.get_clim() == (-80, 0.0)
    assert ax.get_title() == "bell" and ax.get_ylim() == (0, 4.0)
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "frequency (kHz)"
    data = np.asarray(img.get_array()).reshape(-1)
    assert data.size > 0 and data.max() == pytest.approx(0.0, abs=1e-6)
