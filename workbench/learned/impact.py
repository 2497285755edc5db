"""The impact encoder: a recording in, a preset of our impact model out, in one pass.

`ImpactEncoder` reads the first strike of a recording (``crop``: resampled to
`impact_data.SAMPLE_RATE`, ``DURATION_S`` from ``ONSET_S`` before the detected onset,
peak-normalised) through two front ends:

* a log-mel spectrogram into `nets.ConvEncoder`, whose pooled features are the embedding
  (`embed`) and whose head predicts the global controls (``GLOBALS``: contact tau, click,
  noise bands, room on/levels/T60, residual on/levels/T60);
* a log-frequency spectrum (``N_BINS`` x ``FINE`` points from 40 Hz to 15 kHz, the STFT's
  log power averaged over ``SEGMENTS`` of time, and its level above the surrounding quarter
  octave), into a 1-D convnet along frequency that also reads the embedding; per bin it
  predicts a mode's presence logit, its place within the bin (0-1, in log frequency), ln T60
  and its ringing level (dB: gain + contact spectrum).

`decode` keeps the bins with presence > 0.5 (the ``n_modes`` most energetic) and turns the
levels into gains for the predicted contact. `encode` adds two closed-form steps (both
documented in the returned preset's provenance and switchable): ``snap`` moves each mode
to the largest peak of the window's long-FFT spectrum within half a bin (a peak pick, no
fit), ``level_match`` scales the impulse so the render's energy equals the window's
(one overall gain, sqrt(sum x^2 / sum y^2), closed form, one render; the net's levels are
otherwise kept). The weights ship in
``workbench/data/impact_encoder.pt`` (metadata beside it in ``impact_encoder.json``),
loaded once per process on the CPU.

Example:
    >>> import numpy as np
    >>> net = ImpactEncoder()
    >>> bins, glob = net(torch.zeros(1, N_SAMPLES))
    >>> tuple(bins.shape), tuple(glob.shape), tuple(net.embed(torch.zeros(1, N_SAMPLES)).shape)
    ((1, 4, 256), (1, 56), (1, 256))
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import specs
from ..analysis.detect import detect_impacts
from ..audio import check_audio, resample
from ..data import DATA_DIR
from ..errors import WorkbenchError
from ..presets import Preset
from .impact_data import DURATION_S, FREQ_RANGE_HZ, N_SAMPLES, ONSET_S, SAMPLE_RATE
from .nets import ConvEncoder, LogMel

WEIGHTS_PATH = DATA_DIR / "impact_encoder.pt"
N_BINS, FINE = 256, 4
#: Edges of the time segments (STFT frames of 32 ms) the log-frequency spectrum is averaged over.
SEGMENTS = (0, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 94)
_N_FFT, _HOP = 4096, 1024
_LOG_RATIO = math.log(FREQ_RANGE_HZ[1] / FREQ_RANGE_HZ[0]) / N_BINS
#: Global outputs, in order, with their sizes.
GLOBALS = (("log_contact", 1), ("log10_click", 1), ("noise_db", 16), ("reverb_on", 1), ("reverb_db", 9),
           ("reverb_log_t60", 9), ("residual_on", 1), ("residual_db", 9), ("residual_log_t60", 9))
N_GLOBAL = sum(n for _, n in GLOBALS)
#: dB values are predicted as (x - DB_CENTRE) / DB_SCALE.
DB_CENTRE, DB_SCALE = -60.0, 30.0
#: ln contact_s and log10 click are predicted less these centres.
CONTACT_CENTRE, CLICK_CENTRE = math.log(1e-4), -8.0


def bin_freqs_hz(k) -> np.ndarray:
    """Lower edge (Hz) of log-frequency bin ``k`` (fractional ``k`` inside the bin)."""
    return FREQ_RANGE_HZ[0] * np.exp(np.asarray(k, dtype=np.float64) * _LOG_RATIO)


def contact_db(freqs_hz, contact_s) -> np.ndarray:
    """Level (dB) of the contact pulse's spectrum at ``freqs_hz``: -(pi tau f)^2 / 6 in nepers."""
    return 20.0 / math.log(10.0) * -((math.pi * np.asarray(contact_s) * np.asarray(freqs_hz)) ** 2) / 6.0


class LogFreq(nn.Module):
    """Waveform (batch, N_SAMPLES) -> (batch, len(SEGMENTS) - 1, N_BINS * FINE): log10 power at
    log-spaced frequencies (linear interpolation between FFT bins), averaged per time segment."""

    def __init__(self):
        super().__init__()
        grid = bin_freqs_hz((np.arange(N_BINS * FINE) + 0.5) / FINE) / (SAMPLE_RATE / _N_FFT)
        lo = np.floor(grid).astype(int)
        interp = np.zeros((_N_FFT // 2 + 1, len(grid)), np.float32)
        interp[lo, np.arange(len(grid))] = 1.0 - (grid - lo)
        interp[lo + 1, np.arange(len(grid))] = grid - lo
        self.register_buffer("interp", torch.from_numpy(interp), persistent=False)
        self.register_buffer("window", torch.hann_window(_N_FFT), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(audio, _N_FFT, _HOP, window=self.window, return_complex=True).abs().square()
        logp = torch.log10(torch.matmul(spec.transpose(1, 2), self.interp) + 1e-9)      # (batch, frames, F)
        return torch.stack([logp[:, a:b].mean(dim=1) for a, b in zip(SEGMENTS, SEGMENTS[1:])], dim=1)


class ImpactEncoder(nn.Module):
    """(batch, N_SAMPLES) peak-normalised windows -> per-bin (batch, 4, N_BINS) and global
    (batch, N_GLOBAL) predictions; `embed` -> (batch, 256)."""

    def __init__(self, *, width: int = 16, channels: int = 64):
        super().__init__()
        self.mel = LogMel(SAMPLE_RATE, n_fft=1024, hop_length=640, n_mels=64)
        self.trunk = ConvEncoder(N_GLOBAL, width=width)
        self.freq = LogFreq()
        n_seg, c = len(SEGMENTS) - 1, channels
        self.local = nn.Sequential(nn.Conv1d(2 * n_seg, 32, 9, padding=4), nn.ReLU(),
                                   nn.Conv1d(32, c, 2 * FINE, stride=FINE, padding=FINE // 2), nn.ReLU())
        self.context = nn.Linear(width * 16, c)
        self.mix = nn.Sequential(nn.Conv1d(2 * c, c, 5, padding=2), nn.ReLU(),
                                 nn.Conv1d(c, c, 5, padding=4, dilation=2), nn.ReLU(),
                                 nn.Conv1d(c, c, 5, padding=2), nn.ReLU(), nn.Conv1d(c, 4, 1))

    def embed(self, audio: torch.Tensor) -> torch.Tensor:
        return self.trunk.embed(self.mel(audio))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.embed(audio)
        spec = self.freq(audio)
        spec = spec - spec.amax(dim=(1, 2), keepdim=True)
        # Peakiness: the level above its neighbourhood (33 points, ~1/4 octave), what marks a mode.
        local = spec - F.avg_pool1d(spec, 33, stride=1, padding=16, count_include_pad=False)
        h = self.local(torch.cat([spec / 4.0, local], dim=1))[..., :N_BINS]
        ctx = self.context(e)[..., None].expand(-1, -1, h.shape[-1])
        return self.mix(torch.cat([h, ctx], dim=1)), self.trunk.head(e)


def split_globals(glob: torch.Tensor) -> dict[str, torch.Tensor]:
    """The global outputs (batch, N_GLOBAL) by name (``GLOBALS``)."""
    out, i = {}, 0
    for name, n in GLOBALS:
        out[name] = glob[:, i:i + n]
        i += n
    return out


# ------------------------------------------------------------------------------------- decoding
def decode(bins: torch.Tensor, glob: torch.Tensor, *, n_modes: int = 48) -> list[dict]:
    """Predictions -> per item a dict of normalised controls (impulse 1, levels re the window's peak):
    ``freqs_hz``, ``t60_s``, ``gains_db`` (K,), ``contact_s``, ``acceleration``, ``noise_db`` (16,),
    ``reverb_on``, ``reverb_db``, ``reverb_t60_s`` (9,), ``residual_on``, ``residual_db``,
    ``residual_t60_s`` (9,)."""
    g = {k: v.detach().double().cpu().numpy() for k, v in split_globals(glob).items()}
    b = bins.detach().double().cpu().numpy()
    out = []
    for i in range(b.shape[0]):
        tau = float(specs.CONTACT_S.clip(math.exp(g["log_contact"][i, 0] + CONTACT_CENTRE)))
        present = np.flatnonzero(b[i, 0] > 0.0)
        f = bin_freqs_hz(present + np.clip(b[i, 1, present], 0.0, 1.0))
        t60 = np.exp(b[i, 2, present])
        level = b[i, 3, present] * DB_SCALE + DB_CENTRE
        energy = 2 * level + 10 * np.log10(t60)
        keep = np.argsort(-energy)[:n_modes]
        keep = keep[np.argsort(f[keep])]
        out.append({
            "freqs_hz": f[keep], "t60_s": specs.T60_S.clip(t60[keep]),
            "gains_db": specs.GAIN_DB.clip(level[keep] - contact_db(f[keep], tau)), "contact_s": tau,
            "acceleration": float(specs.ACCELERATION.clip(10 ** (g["log10_click"][i, 0] + CLICK_CENTRE))),
            "noise_db": specs.NOISE_GAIN_DB.clip(g["noise_db"][i] * DB_SCALE + DB_CENTRE),
            "reverb_on": bool(g["reverb_on"][i, 0] > 0), "reverb_db": specs.REVERB_GAIN_DB.clip(
                g["reverb_db"][i] * DB_SCALE + DB_CENTRE),
            "reverb_t60_s": specs.REVERB_T60_S.clip(np.exp(g["reverb_log_t60"][i])),
            "residual_on": bool(g["residual_on"][i, 0] > 0), "residual_db": specs.RESIDUAL_GAIN_DB.clip(
                g["residual_db"][i] * DB_SCALE + DB_CENTRE),
            "residual_t60_s": specs.RESIDUAL_T60_S.clip(np.exp(g["residual_log_t60"][i]))})
    return out


def preset_of(c: dict, *, name: str, sample_rate: int, duration_s: float, onset_s: float,
              magnitude: float = 1.0, noise_shift_db: float = 0.0, provenance: dict | None = None) -> Preset:
    """A `decode` dict as a preset: one strike at ``onset_s`` of ``magnitude`` (the window's level),
    noise raised by ``noise_shift_db`` (20 log10 of the same level); modes at or above
    0.49 ``sample_rate`` are dropped."""
    ok = c["freqs_hz"] < 0.49 * sample_rate
    modes = [{"freq_hz": float(specs.FREQ_HZ.clip(f)), "t60_s": float(t), "gain_db": float(g)}
             for f, t, g in zip(c["freqs_hz"][ok], c["t60_s"][ok], c["gains_db"][ok])]
    if not modes:
        modes = [{"freq_hz": 440.0, "t60_s": 0.1, "gain_db": -100.0}]
    noise = specs.NOISE_GAIN_DB.clip(c["noise_db"] + noise_shift_db)
    bands = lambda freqs, db, t60: [{"freq_hz": f, "gain_db": float(d), "t60_s": float(t)}  # noqa: E731
                                    for f, d, t in zip(freqs, db, t60)]
    return Preset(
        name=name, sample_rate=int(sample_rate), duration_s=float(duration_s), object={"modes": modes},
        impacts=[{"time_s": float(onset_s), "contact_s": c["contact_s"],
                  "magnitude": float(specs.MAGNITUDE.clip(magnitude))}],
        acceleration=c["acceleration"],
        noise={"bands": [{"freq_hz": f, "gain_db": float(d)} for f, d in zip(specs.NOISE_BAND_FREQS_HZ, noise)]},
        reverb={"enabled": c["reverb_on"], "bands": bands(specs.REVERB_BAND_FREQS_HZ, c["reverb_db"],
                                                            c["reverb_t60_s"])},
        residual={"enabled": c["residual_on"], "bands": bands(specs.RESIDUAL_BAND_FREQS_HZ, c["residual_db"],
                                                               c["residual_t60_s"])},
        provenance=provenance or {})


# ------------------------------------------------------------------------------------- reading audio
def first_onset_s(audio: np.ndarray, sample_rate: int, sensitivity: float = 0.5) -> float:
    """Onset (s) of the first detected strike; the loudest sample's time if none is detected."""
    try:
        hits = detect_impacts(audio, sample_rate, sensitivity=sensitivity)
    except WorkbenchError:
        hits = []
    return float(hits[0].time_s) if hits else float(np.argmax(np.abs(audio)) / sample_rate)


def crop(audio: np.ndarray, sample_rate: int, *, onset_s: float | None = None) -> tuple[np.ndarray, float, float]:
    """The encoder's window of a recording: (N_SAMPLES,) at SAMPLE_RATE starting ONSET_S before
    the first strike (zero-padded), peak 1; also the onset (s, clip time) and the window's peak.

    Raises:
        WorkbenchError: audio `workbench.audio.check_audio` refuses (empty, silent, non-finite,
            too short, ...), a sample rate that is not a whole number of Hz in range.
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) \
            or not specs.MIN_LOAD_SAMPLE_RATE <= sample_rate <= specs.MAX_LOAD_SAMPLE_RATE:
        raise WorkbenchError(f"sample_rate: expected a whole number of Hz in [{specs.MIN_LOAD_SAMPLE_RATE}, "
                             f"{specs.MAX_LOAD_SAMPLE_RATE}], got {sample_rate!r}")
    x = check_audio(audio, sample_rate)         # mono, finite, not silent, a sane rate: as every reader
    onset = first_onset_s(x, int(sample_rate)) if onset_s is None else float(onset_s)
    first = max(int((onset - ONSET_S) * sample_rate) - 64, 0)      # resample only the window (+ margin)
    x = x[first:first + int((DURATION_S + 0.01) * sample_rate) + 128]
    onset_in = onset - first / sample_rate
    if sample_rate != SAMPLE_RATE:
        x = resample(x, int(sample_rate), SAMPLE_RATE)
    start = int(round((onset_in - ONSET_S) * SAMPLE_RATE))
    window = np.zeros(N_SAMPLES, np.float32)
    lo = max(start, 0)
    seg = x[lo:lo + N_SAMPLES - (lo - start)]
    window[lo - start:lo - start + len(seg)] = seg
    peak = float(np.max(np.abs(window)))
    if peak <= 0:
        raise WorkbenchError("audio: silent around the detected strike")
    return window / peak, onset, peak


def snap_freqs(freqs_hz: np.ndarray, window: np.ndarray, *, reach: float = 0.5 * _LOG_RATIO) -> np.ndarray:
    """Each frequency moved to the largest peak of the window's spectrum within ``exp(+-reach)``
    (zero-padded FFT of the whole window from the onset; parabolic interpolation of the peak)."""
    x = window[int(ONSET_S * SAMPLE_RATE):]
    n = 2 * len(x)
    mag = np.log(np.abs(np.fft.rfft(x * np.hanning(len(x)) ** 0.5, n)) + 1e-12)
    hz = SAMPLE_RATE / n
    out = np.array(freqs_hz, dtype=np.float64)
    for i, f in enumerate(out):
        lo, hi = int(f * math.exp(-reach) / hz), int(math.ceil(f * math.exp(reach) / hz)) + 1
        lo, hi = max(lo, 1), min(hi, len(mag) - 1)
        if hi - lo < 3:
            continue
        k = lo + int(np.argmax(mag[lo:hi]))
        if lo < k < hi - 1:
            a, b, c = mag[k - 1], mag[k], mag[k + 1]
            d = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) < 0 else 0.0
            out[i] = (k + d) * hz
    return out


def level_gain(preset: Preset, window: np.ndarray) -> float:
    """Amplitude factor that makes ``preset``'s render (at SAMPLE_RATE, one window long, strike at
    ONSET_S) carry the window's energy: sqrt(sum x^2 / sum y^2) (by Parseval, the gain that
    equates the total power of the two spectra)."""
    from ..rendering import render

    y = render(preset, duration_s=DURATION_S, sample_rate=SAMPLE_RATE, device="cpu")
    ey = float(np.sum(y.astype(np.float64) ** 2))
    return math.sqrt(float(np.sum(window.astype(np.float64) ** 2)) / ey) if ey > 0 else 1.0


# ------------------------------------------------------------------------------------- the shipped model
def _load(path: str | os.PathLike) -> tuple[ImpactEncoder, dict]:
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"impact encoder weights not found: {path} (run `workbench train-encoder`)")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    meta = json.loads(blob["meta"])
    net = ImpactEncoder(**meta.get("architecture", {}))
    net.load_state_dict(blob["state_dict"])
    return net.eval(), meta


@functools.lru_cache(maxsize=4)
def load_encoder(path: str | os.PathLike = WEIGHTS_PATH) -> tuple[ImpactEncoder, dict]:
    """The encoder and its metadata (training command, seed, recipe, steps, loss), read once."""
    return _load(path)


def _run(window: np.ndarray, net: ImpactEncoder) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.inference_mode():
        return net(torch.from_numpy(window)[None])


def predict(audio: np.ndarray, sample_rate: int, *, onset_s: float | None = None, n_modes: int = 48,
            snap: bool = True, weights: str | os.PathLike = WEIGHTS_PATH) -> tuple[dict, np.ndarray, float, float]:
    """The normalised controls (`decode`) of a recording's first strike, its window, onset (s) and peak."""
    net, _ = load_encoder(weights)
    window, onset, peak = crop(audio, sample_rate, onset_s=onset_s)
    c = decode(*_run(window, net), n_modes=n_modes)[0]
    if snap and len(c["freqs_hz"]):
        c["freqs_hz"] = snap_freqs(c["freqs_hz"], window)
        c["gains_db"] = specs.GAIN_DB.clip(c["gains_db"])
    return c, window, onset, peak


def encode(audio, sample_rate: int, *, n_modes: int = 48, snap: bool = True, level_match: bool = True,
           name: str = "encoded", weights: str | os.PathLike = WEIGHTS_PATH) -> Preset:
    """A preset of the recording's first strike, in one pass of the shipped encoder.

    Args:
        audio: (n_samples,) mono samples (any scale; a 2-D array is mixed down).
        sample_rate: Hz of ``audio``; the preset is at this rate (16-96 kHz, else 44.1 kHz).
        n_modes: Most modes kept (the most energetic of the bins predicted present).
        snap: Move each mode to the window's nearest spectral peak (within half a bin).
        level_match: Scale the impulse to the window's energy (one render).

    Returns:
        A preset with one strike at the detected onset, the recording's length and level.

    Raises:
        WorkbenchError: bad audio or rate (named), missing weights.
    """
    t0 = time.perf_counter()
    x = _mono(audio)
    c, window, onset, peak = predict(x, sample_rate, n_modes=n_modes, snap=snap, weights=weights)
    rate = int(sample_rate) if specs.SAMPLE_RATE.contains(sample_rate) else 44_100
    gain = 1.0
    if level_match:
        gain = level_gain(preset_of(c, name=name, sample_rate=SAMPLE_RATE, duration_s=DURATION_S, onset_s=ONSET_S),
                          window)
    _, meta = load_encoder(weights)
    prov = {"fitted_by": "impact encoder", "encoder": {"weights": Path(weights).name, "steps": meta.get("steps"),
                                                         "snap": snap, "level_match": level_match,
                                                         "level_gain_db": round(20 * math.log10(gain), 3),
                                                         "seconds": round(time.perf_counter() - t0, 4)}}
    return preset_of(c, name=name, sample_rate=rate, duration_s=max(len(x) / sample_rate, onset + 0.01),
                     onset_s=onset, magnitude=peak * gain, noise_shift_db=20 * math.log10(peak), provenance=prov)


def _mono(audio) -> np.ndarray:
    """float32 samples; a 2-D array (channels on the shorter axis) mixed down."""
    try:
        x = np.asarray(audio, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise WorkbenchError(f"audio: expected an array of samples ({err})") from None
    return x.mean(axis=0 if x.shape[0] < x.shape[1] else 1) if x.ndim == 2 else x


def embed(audio, sample_rate: int, *, weights: str | os.PathLike = WEIGHTS_PATH) -> np.ndarray:
    """(256,) float32 embedding of the recording's first strike (the encoder's pooled features:
    mean and max of its convnet's last feature map, `nets.ConvEncoder.embed`)."""
    net, _ = load_encoder(weights)
    window, _, _ = crop(_mono(audio), sample_rate)
    with torch.inference_mode():
        return net.embed(torch.from_numpy(window)[None])[0].numpy().astype(np.float32)
