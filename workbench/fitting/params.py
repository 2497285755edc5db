"""The fitter's variables: unconstrained tensors that map to physical controls.

`FitParams` holds one set of variables per *object* and per *tool* (shared by every
clip that shows it) and one per *clip* (its impacts, click, noise, room and residual). Every
variable is unconstrained; `workbench.functional.scaling.to_physical` maps it into
its bounds (the spec's range, or a local window around the initial value for mode
frequencies and impact times), so no optimiser step can leave the physical range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .. import specs
from ..functional.scaling import to_physical, to_unconstrained
from ..synth import NO_FADE_S, ImpactControls

# Mode frequencies may move this far (relative) from their initial estimate. A
# physics-prior start measures them on a long FFT, to a fraction of a peak's width; a
# wider window (it was 3 %) only lets the spectral loss's coarse frames pull a ringing
# mode off its peak (ThreeDWorld renders: 76 % of the modes within 1 % at 3 %, 78 % at
# 1 %), and it keeps modes from swapping.
FREQ_WINDOW = 0.01
# Impact times may move this far (s) from the detected onset.
TIME_WINDOW_S = 0.004
# Gains may move this far (dB) below/above their initial estimate.
GAIN_WINDOW_DB = (-60.0, 30.0)
# Background noise may rise at most this far (dB) above the level of the file's quietest
# stretch (`workbench.analysis.estimate_noise_bands`; `noise_ceiling`): noise is stationary,
# so it is no louder than where nothing rings. Unbounded, the fit raised it 35-40 dB in
# bands between a slow ring's partials (perc_bell2), where it then stood over the decay.
NOISE_HEADROOM_DB = 6.0
# A silent stand-in for "no tool" in a batch where other clips have one.
_SILENT_DB = -200.0
# The residual starts this quiet in every band (dB re 1/Hz per unit impulse: an octave band
# at 4 kHz then starts ~15 dB under a -20 dB mode, close enough for the fit to raise it in
# a few dozen steps; from -100 dB it had not reached a -50 dB truth after 80), and this
# short: the room's measured decay is the modes' tail, not the strike's noise.
RESIDUAL_INIT_DB = -70.0
RESIDUAL_INIT_T60_S = 0.05


@dataclass
class BankInit:
    """Initial modes of one object or tool: (K,) arrays of freq_hz, t60_s, gain_db."""

    freqs_hz: np.ndarray
    t60_s: np.ndarray
    gains_db: np.ndarray


@dataclass
class ClipInit:
    """Initial per-clip values. Times in seconds from the start of the fitted window."""

    times_s: np.ndarray
    contacts_s: np.ndarray
    magnitudes: np.ndarray
    acceleration: float
    noise_gains_db: np.ndarray
    reverb_gains_db: np.ndarray
    reverb_t60_s: np.ndarray
    residual_gains_db: np.ndarray | None = None    # None: every band at RESIDUAL_INIT_DB
    residual_t60_s: np.ndarray | None = None       # None: every band at RESIDUAL_INIT_T60_S
    noise_ceiling_db: np.ndarray | None = None     # None: the noise may reach the spec's maximum
    fade_s: tuple[float, float] | None = None      # the recording's fade-out (start, end), fixed
    object_index: int = 0
    tool_index: int = -1
    extra: dict = field(default_factory=dict)


def _u(x, spec, low=None, high=None) -> torch.nn.Parameter:
    x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    return torch.nn.Parameter(to_unconstrained(x, spec, low=low, high=high).float())


class FitParams(torch.nn.Module):
    """Unconstrained variables for a joint fit of clips sharing objects and tools.

    Args:
        objects: Initial modes per object.
        tools: Initial modes per tool (may be empty).
        clips: Initial values per clip (with indices into ``objects``/``tools``).
        noise_freqs_hz, reverb_freqs_hz, residual_freqs_hz: Band centre frequencies.
        max_freq_hz: Upper bound of mode frequencies (below Nyquist).
        residual: Render (and so fit) the residual; off, its variables stay at their start.
    """

    def __init__(self, objects: list[BankInit], tools: list[BankInit], clips: list[ClipInit], *,
                 noise_freqs_hz, reverb_freqs_hz, max_freq_hz: float, local: bool = True,
                 residual_freqs_hz=specs.RESIDUAL_BAND_FREQS_HZ, residual: bool = True):
        super().__init__()
        self.noise_freqs_hz = tuple(noise_freqs_hz)
        self.reverb_freqs_hz = tuple(reverb_freqs_hz)
        self.residual_freqs_hz = tuple(residual_freqs_hz)
        self.residual = bool(residual)
        self.n_clips = len(clips)
        self.object_banks = torch.nn.ModuleList(self._bank(b, max_freq_hz, local) for b in objects)
        self.tool_banks = torch.nn.ModuleList(self._bank(b, max_freq_hz, local) for b in tools)
        self.register_buffer("object_index", torch.tensor([c.object_index for c in clips]))
        self.register_buffer("tool_index", torch.tensor([c.tool_index for c in clips]))

        n_imp = max(len(c.times_s) for c in clips)
        pad = lambda rows, fill: np.array([np.pad(np.asarray(r, float), (0, n_imp - len(r)),  # noqa: E731
                                                  constant_values=fill) for r in rows])
        times0 = pad([c.times_s for c in clips], 0.0)
        self.register_buffer("impact_mask", torch.tensor(pad([np.ones(len(c.times_s)) for c in clips], 0.0),
                                                         dtype=torch.float32))
        self.register_buffer("time_low", torch.tensor(np.maximum(times0 - TIME_WINDOW_S, 0.0), dtype=torch.float32))
        self.register_buffer("time_high", torch.tensor(times0 + TIME_WINDOW_S, dtype=torch.float32))
        self.times = _u(times0, specs.TIME_S, self.time_low.double(), self.time_high.double())
        self.contacts = _u(pad([c.contacts_s for c in clips], specs.CONTACT_S.default), specs.CONTACT_S)
        self.magnitudes = _u(pad([c.magnitudes for c in clips], 1.0), specs.MAGNITUDE)
        self.acceleration = _u([c.acceleration for c in clips], specs.ACCELERATION)
        high = np.stack([np.full(len(c.noise_gains_db), specs.NOISE_GAIN_DB.maximum) if c.noise_ceiling_db is None
                         else np.asarray(c.noise_ceiling_db, float) for c in clips])
        self.register_buffer("noise_low", torch.full(high.shape, specs.NOISE_GAIN_DB.minimum))
        self.register_buffer("noise_high", torch.tensor(high, dtype=torch.float32))
        noise0 = np.minimum(np.stack([c.noise_gains_db for c in clips]), high - 0.5)
        self.noise_gains = _u(noise0, specs.NOISE_GAIN_DB, self.noise_low.double(), self.noise_high.double())
        self.faded = any(c.fade_s is not None for c in clips)
        self.register_buffer("fade", torch.tensor([c.fade_s or (NO_FADE_S, NO_FADE_S) for c in clips],
                                                  dtype=torch.float32))
        self.reverb_gains = _u(np.stack([c.reverb_gains_db for c in clips]), specs.REVERB_GAIN_DB)
        self.reverb_t60 = _u(np.stack([c.reverb_t60_s for c in clips]), specs.REVERB_T60_S)
        n_res = len(self.residual_freqs_hz)
        self.residual_gains = _u(specs.RESIDUAL_GAIN_DB.clip(np.stack([
            np.full(n_res, RESIDUAL_INIT_DB) if c.residual_gains_db is None else c.residual_gains_db
            for c in clips])), specs.RESIDUAL_GAIN_DB)
        self.residual_t60 = _u(specs.RESIDUAL_T60_S.clip(np.stack([
            np.full(n_res, RESIDUAL_INIT_T60_S) if c.residual_t60_s is None else c.residual_t60_s
            for c in clips])), specs.RESIDUAL_T60_S)

    @staticmethod
    def _bank(init: BankInit, max_freq_hz: float, local: bool) -> torch.nn.Module:
        """Variables of one modal bank; ``local`` bounds frequencies and gains to windows
        around the initial values (physics-prior start), else to the whole range."""
        bank = torch.nn.Module()
        f0 = np.clip(np.asarray(init.freqs_hz, float), specs.FREQ_HZ.minimum * (1 + FREQ_WINDOW),
                     max_freq_hz / (1 + FREQ_WINDOW))
        g0 = np.clip(np.asarray(init.gains_db, float), specs.GAIN_DB.minimum - GAIN_WINDOW_DB[0],
                     specs.GAIN_DB.maximum - GAIN_WINDOW_DB[1])
        if local:
            f_lo, f_hi = f0 / (1 + FREQ_WINDOW), f0 * (1 + FREQ_WINDOW)
            g_lo, g_hi = g0 + GAIN_WINDOW_DB[0], g0 + GAIN_WINDOW_DB[1]
        else:
            f_lo, f_hi = np.full_like(f0, specs.FREQ_HZ.minimum), np.full_like(f0, max_freq_hz)
            g_lo, g_hi = np.full_like(g0, specs.GAIN_DB.minimum), np.full_like(g0, specs.GAIN_DB.maximum)
        bank.register_buffer("freq_low", torch.tensor(f_lo, dtype=torch.float32))
        bank.register_buffer("freq_high", torch.tensor(f_hi, dtype=torch.float32))
        bank.register_buffer("gain_low", torch.tensor(g_lo, dtype=torch.float32))
        bank.register_buffer("gain_high", torch.tensor(g_hi, dtype=torch.float32))
        bank.freqs = _u(f0, specs.FREQ_HZ, bank.freq_low.double(), bank.freq_high.double())
        bank.t60 = _u(specs.T60_S.clip(init.t60_s), specs.T60_S)
        bank.gains = _u(g0, specs.GAIN_DB, bank.gain_low.double(), bank.gain_high.double())
        return bank

    @staticmethod
    def bank_values(bank) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(freqs_hz, t60_s, gains_db) of one bank, each (K,)."""
        return (to_physical(bank.freqs, specs.FREQ_HZ, low=bank.freq_low, high=bank.freq_high),
                to_physical(bank.t60, specs.T60_S),
                to_physical(bank.gains, specs.GAIN_DB, low=bank.gain_low, high=bank.gain_high))

    def _stack_banks(self, banks, index: torch.Tensor):
        values = [self.bank_values(b) for b in banks]
        width = max(v[0].shape[0] for v in values)

        def padded(i, j, fill):
            v = values[i][j]
            return torch.nn.functional.pad(v, (0, width - v.shape[0]), value=fill)

        rows = []
        for i in index.tolist():
            if i < 0:
                rows.append((torch.full((width,), specs.FREQ_HZ.default, device=index.device),
                             torch.full((width,), specs.T60_S.default, device=index.device),
                             torch.full((width,), _SILENT_DB, device=index.device)))
            else:
                rows.append((padded(i, 0, specs.FREQ_HZ.default), padded(i, 1, specs.T60_S.default),
                             padded(i, 2, _SILENT_DB)))
        return tuple(torch.stack([r[j] for r in rows]) for j in range(3))

    def controls(self, *, reverb: bool = True, residual: bool | None = None) -> ImpactControls:
        """Physical controls of every clip, batched (n_clips, ...); ``residual`` None: as constructed."""
        freqs, t60, gains = self._stack_banks(self.object_banks, self.object_index)
        tool = self._stack_banks(self.tool_banks, self.tool_index) if len(self.tool_banks) else (None,) * 3
        return ImpactControls(
            freqs_hz=freqs, t60_s=t60, gains_db=gains,
            times_s=to_physical(self.times, specs.TIME_S, low=self.time_low, high=self.time_high),
            contacts_s=to_physical(self.contacts, specs.CONTACT_S),
            magnitudes=to_physical(self.magnitudes, specs.MAGNITUDE) * self.impact_mask,
            acceleration=to_physical(self.acceleration, specs.ACCELERATION),
            noise_freqs_hz=self.noise_freqs_hz,
            noise_gains_db=to_physical(self.noise_gains, specs.NOISE_GAIN_DB, low=self.noise_low, high=self.noise_high),
            reverb_freqs_hz=self.reverb_freqs_hz,
            reverb_gains_db=to_physical(self.reverb_gains, specs.REVERB_GAIN_DB),
            reverb_t60_s=to_physical(self.reverb_t60, specs.REVERB_T60_S),
            tool_freqs_hz=tool[0], tool_t60_s=tool[1], tool_gains_db=tool[2],
            reverb_enabled=reverb,
            residual_freqs_hz=self.residual_freqs_hz,
            residual_gains_db=to_physical(self.residual_gains, specs.RESIDUAL_GAIN_DB),
            residual_t60_s=to_physical(self.residual_t60, specs.RESIDUAL_T60_S),
            residual_enabled=self.residual if residual is None else residual,
            fade_start_s=self.fade[:, 0] if self.faded else None,
            fade_end_s=self.fade[:, 1] if self.faded else None,
        )

    def all_finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in self.parameters())


def noise_ceiling(measured_db: np.ndarray) -> np.ndarray:
    """Highest fitted noise gain per band (dB): the measured floor plus `NOISE_HEADROOM_DB`."""
    low = specs.NOISE_GAIN_DB.minimum + NOISE_HEADROOM_DB
    return np.clip(np.asarray(measured_db, float) + NOISE_HEADROOM_DB, low, specs.NOISE_GAIN_DB.maximum)


def gain_for_amplitude(amplitude, freqs_hz, contact_s: float, magnitude: float = 1.0) -> np.ndarray:
    """Mode gain (dB) that makes a contact of ``contact_s`` and ``magnitude`` ring at ``amplitude``.

    The unit-area Gaussian pulse attenuates frequency f by exp(-(pi tau f)^2 / 6).
    """
    attenuation = np.exp(-(math.pi * contact_s * np.asarray(freqs_hz)) ** 2 / 6.0)
    return 20.0 * np.log10(np.maximum(np.asarray(amplitude), 1e-12) / (magnitude * attenuation))
