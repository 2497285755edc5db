"""Matplotlib figures for reports, the CLI and the dashboard (no pyplot: server-safe).

Example:
    >>> import numpy as np
    >>> tone = np.sin(2 * np.pi * 1500.0 * np.arange(48000) / 48000)    # 1 s, on an STFT bin
    >>> times, freqs, level = spectrogram_db(tone, 48000)
    >>> level.shape == (freqs.size, times.size), float(freqs[level[:, 10].argmax()]), bool(abs(level.max()) < 1e-9)
    (True, 1500.0, True)
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

SPEC_N_FFT = 2048
SPEC_HOP = 256
SPEC_FLOOR_DB = -100.0


def spectrogram_db(audio: np.ndarray, sample_rate: int, *, n_fft: int = SPEC_N_FFT,
                   hop_length: int = SPEC_HOP) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times_s (T,), freqs_hz (F,), level_db (F, T)) of a Hann STFT, in dBFS (sine peak = 0 dB).

    ``F = n_fft // 2 + 1`` bins of ``sample_rate / n_fft`` Hz; frames every ``hop_length``
    samples, zero-padded at both ends; levels floored at `SPEC_FLOOR_DB`.
    """
    import scipy.signal

    audio = np.asarray(audio, dtype=np.float64)
    window = scipy.signal.get_window("hann", n_fft)
    freqs, times, z = scipy.signal.stft(audio, fs=sample_rate, window=window, nperseg=n_fft,
                                        noverlap=n_fft - hop_length, boundary="zeros", padded=True,
                                        scaling="spectrum")
    level = 20 * np.log10(np.maximum(np.abs(z) * 2, 10 ** (SPEC_FLOOR_DB / 20)))
    return times, freqs, level


def plot_spectrogram(ax, audio: np.ndarray, sample_rate: int, *, title: str = "",
                     vmin: float = SPEC_FLOOR_DB, vmax: float = 0.0, max_freq_hz: float | None = None):
    """Draw a spectrogram (time in s, frequency in kHz, level in dBFS) on ``ax``; returns the image."""
    times, freqs, level = spectrogram_db(audio, sample_rate)
    img = ax.pcolormesh(times, freqs / 1e3, level, shading="auto", cmap="magma", vmin=vmin, vmax=vmax,
                        rasterized=True)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (kHz)")
    ax.set_ylim(0, (max_freq_hz or sample_rate / 2) / 1e3)
    if title:
        ax.set_title(title)
    return img


def save_figure(fig: Figure, path, *, dpi: int = 100):
    """Write ``fig`` as a PNG (``dpi`` dots per inch) atomically, creating folders; returns the path."""
    import io

    from .atomic import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return atomic_write_bytes(path, buf.getvalue())


def spectrogram_figure(audio: np.ndarray, sample_rate: int, *, title: str = "",
                       figsize=(8, 4)) -> Figure:
    """A figure with one spectrogram and a dBFS colour bar."""
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    img = plot_spectrogram(ax, audio, sample_rate, title=title)
    fig.colorbar(img, ax=ax, label="level (dBFS)")
    return fig
