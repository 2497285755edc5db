"""Presets <-> the synthesiser's batched controls, both directions, in one place.

`controls_from_presets` batches presets into `workbench.synth.ImpactControls`
(padding modes and impacts with silent entries); `preset_from_controls` reads one row
of controls back into a validated `workbench.presets.Preset` (dropping the silent
padding, clipping every value into its `workbench.specs` range). The renderer, the
fitter, the dashboard's render cache and the exporters all go through these two.

Example:
    >>> import torch
    >>> from workbench.presets import Preset
    >>> p = Preset(name="bell", sample_rate=44100, object={"modes": [{"freq_hz": 440, "t60_s": 2, "gain_db": 0}]},
    ...            impacts=[{"time_s": 0.01, "contact_s": 5e-4, "magnitude": 1}])
    >>> c = controls_from_presets([p, p], dtype=torch.float64)
    >>> tuple(c.freqs_hz.shape), c.tool_freqs_hz is None
    ((2, 1), True)
    >>> back = preset_from_controls(c, 0, name="bell", sample_rate=44100, duration_s=2.0)
    >>> back.object == p.object, back.impacts == p.impacts
    (True, True)
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from . import specs
from .errors import WorkbenchError
from .presets import ModalBody, Preset
from .synth import NO_FADE_S, ImpactControls

#: Gain (dB) at or below which a mode counts as silent padding (not written to presets).
SILENT_GAIN_DB = -190.0


def _pad(rows: list[list[float]], fill: float) -> np.ndarray:
    width = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), width), fill, dtype=np.float64)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def _modes_array(bodies: list[ModalBody | None]):
    modes = [list(b.modes) if b else [] for b in bodies]
    return (_pad([[m.freq_hz for m in ms] for ms in modes], specs.FREQ_HZ.default),
            _pad([[m.t60_s for m in ms] for ms in modes], specs.T60_S.default),
            _pad([[m.gain_db for m in ms] for ms in modes], -math.inf))


def controls_from_presets(presets: Sequence[Preset], *, dtype=torch.float32, device=None) -> ImpactControls:
    """Batch presets into `ImpactControls` (padding modes and impacts).

    All presets of a batch must share noise and reverb band frequencies, and those with a
    residual its band frequencies; a preset without a residual (or with it disabled) gets
    a silent one (gain -inf dB) in a batch where others have one.

    Raises:
        WorkbenchError: the presets' noise, reverb or residual bands differ.
    """
    presets = list(presets)
    noise_f = tuple(b.freq_hz for b in presets[0].noise.bands)
    reverb_f = tuple(b.freq_hz for b in presets[0].reverb.bands)
    for p in presets[1:]:
        if tuple(b.freq_hz for b in p.noise.bands) != noise_f or \
                tuple(b.freq_hz for b in p.reverb.bands) != reverb_f:
            raise WorkbenchError(f"preset {p.name!r}: noise/reverb bands differ from {presets[0].name!r}; "
                                 "presets rendered together must share band frequencies")
    with_residual = [p for p in presets if p.residual is not None]
    residual_f = tuple(b.freq_hz for b in with_residual[0].residual.bands) if with_residual else ()
    for p in with_residual[1:]:
        if tuple(b.freq_hz for b in p.residual.bands) != residual_f:
            raise WorkbenchError(f"preset {p.name!r}: residual bands differ from {with_residual[0].name!r}; "
                                 "presets rendered together must share band frequencies")
    t = lambda a: torch.as_tensor(np.asarray(a), dtype=dtype, device=device)  # noqa: E731
    f, t60, g = _modes_array([p.object for p in presets])
    has_tool = any(p.tool is not None and p.tool.modes for p in presets)
    tf, tt, tg = _modes_array([p.tool for p in presets]) if has_tool else (None, None, None)
    imps = [list(p.impacts) for p in presets]
    fades = [(p.fade_out.start_s, p.fade_out.end_s) if p.fade_out else (NO_FADE_S, NO_FADE_S) for p in presets]
    faded = any(p.fade_out for p in presets)
    return ImpactControls(
        freqs_hz=t(f), t60_s=t(t60), gains_db=t(g),
        times_s=t(_pad([[i.time_s for i in im] for im in imps], 0.0)),
        contacts_s=t(_pad([[i.contact_s for i in im] for im in imps], specs.CONTACT_S.default)),
        magnitudes=t(_pad([[i.magnitude for i in im] for im in imps], 0.0)),
        acceleration=t([p.acceleration for p in presets]),
        noise_freqs_hz=noise_f,
        noise_gains_db=t([[b.gain_db for b in p.noise.bands] for p in presets]),
        reverb_freqs_hz=reverb_f,
        reverb_gains_db=t([[b.gain_db if p.reverb.enabled else -math.inf for b in p.reverb.bands]
                           for p in presets]),
        reverb_t60_s=t([[b.t60_s for b in p.reverb.bands] for p in presets]),
        tool_freqs_hz=None if tf is None else t(tf),
        tool_t60_s=None if tt is None else t(tt),
        tool_gains_db=None if tg is None else t(tg),
        reverb_enabled=any(p.reverb.enabled for p in presets),
        residual_freqs_hz=residual_f,
        residual_gains_db=t([[b.gain_db if p.residual.enabled else -math.inf for b in p.residual.bands]
                             if p.residual is not None else [-math.inf] * len(residual_f)
                             for p in presets]) if with_residual else None,
        residual_t60_s=t([[b.t60_s for b in p.residual.bands] if p.residual is not None
                          else [specs.RESIDUAL_T60_S.default] * len(residual_f)
                          for p in presets]) if with_residual else None,
        residual_enabled=any(p.residual.enabled for p in with_residual),
        fade_start_s=t([f[0] for f in fades]) if faded else None,
        fade_end_s=t([f[1] for f in fades]) if faded else None,
    )


def _numpy(x: torch.Tensor | None, index: int) -> np.ndarray | None:
    return None if x is None else x[index].detach().double().cpu().numpy()


def _modes(freqs, t60, gains) -> list[dict[str, float]]:
    """Audible modes (padding dropped), clipped into range, sorted by frequency."""
    if freqs is None:
        return []
    return sorted(({"freq_hz": float(specs.FREQ_HZ.clip(f)), "t60_s": float(specs.T60_S.clip(t)),
                    "gain_db": float(specs.GAIN_DB.clip(g))}
                   for f, t, g in zip(freqs, t60, gains) if g > SILENT_GAIN_DB),
                  key=lambda m: m["freq_hz"])


def preset_from_controls(c: ImpactControls, index: int = 0, *, name: str, sample_rate: int, duration_s: float,
                         n_impacts: int | None = None, time_offset_s: float = 0.0, level: float = 1.0,
                         material: str = "", tags: Sequence[str] = (),
                         provenance: dict[str, Any] | None = None) -> Preset:
    """Row ``index`` of batched controls as a validated preset.

    Args:
        c: Batched controls (any dtype/device; read without gradients).
        index: Which row of the batch.
        name, sample_rate, duration_s, material, tags, provenance: The preset's fields.
        n_impacts: Keep the first ``n_impacts`` impacts (default: all of the row).
        time_offset_s: Added to every impact time (controls of a window cut from a file).
        level: Linear factor applied to the impact magnitudes and the noise (controls
            fitted on a normalised signal); the modes and the residual (both per unit
            impulse) are left as they are.

    Returns:
        The preset; silent padding modes (gain <= ``SILENT_GAIN_DB``) are dropped,
        every value is clipped into its `workbench.specs` range and impact times to
        before ``duration_s``. Controls without residual bands give ``residual=None``.
    """
    with torch.no_grad():
        f, t60, g = (_numpy(x, index) for x in (c.freqs_hz, c.t60_s, c.gains_db))
        tf, tt, tg = (_numpy(x, index) for x in (c.tool_freqs_hz, c.tool_t60_s, c.tool_gains_db))
        times, contacts, mags = (_numpy(x, index) for x in (c.times_s, c.contacts_s, c.magnitudes))
        acc = float(c.acceleration[index])
        noise, rg, rt = (_numpy(x, index) for x in (c.noise_gains_db, c.reverb_gains_db, c.reverb_t60_s))
        sg, st = (_numpy(x, index) for x in (c.residual_gains_db, c.residual_t60_s))
        fade = None if c.fade_start_s is None or float(c.fade_start_s[index]) >= NO_FADE_S / 2 else \
            (float(c.fade_start_s[index]) + time_offset_s, float(c.fade_end_s[index]) + time_offset_s)
    level_db = 20.0 * math.log10(level)
    tool_modes = _modes(tf, tt, tg)
    n_imp = len(times) if n_impacts is None else n_impacts
    last_s = math.nextafter(float(duration_s), 0.0)    # an impact starts inside the sound
    return Preset(
        name=name, sample_rate=sample_rate, duration_s=duration_s, material=material, tags=tuple(tags),
        object={"modes": _modes(f, t60, g)},
        tool={"modes": tool_modes} if tool_modes else None,
        impacts=[{"time_s": min(float(specs.TIME_S.clip(times[k] + time_offset_s)), last_s),
                  "contact_s": float(specs.CONTACT_S.clip(contacts[k])),
                  "magnitude": float(specs.MAGNITUDE.clip(mags[k] * level))} for k in range(n_imp)],
        acceleration=float(specs.ACCELERATION.clip(acc)),
        noise={"bands": [{"freq_hz": fq, "gain_db": float(specs.NOISE_GAIN_DB.clip(v + level_db))}
                         for fq, v in zip(c.noise_freqs_hz, noise)]},
        reverb={"enabled": bool(c.reverb_enabled), "bands": [
            {"freq_hz": fq, "gain_db": float(specs.REVERB_GAIN_DB.clip(a)),
             "t60_s": float(specs.REVERB_T60_S.clip(b))}
            for fq, a, b in zip(c.reverb_freqs_hz, rg, rt)]},
        residual=None if sg is None or not c.residual_freqs_hz else {"enabled": bool(c.residual_enabled), "bands": [
            {"freq_hz": fq, "gain_db": float(specs.RESIDUAL_GAIN_DB.clip(a)),
             "t60_s": float(specs.RESIDUAL_T60_S.clip(b))}
            for fq, a, b in zip(c.residual_freqs_hz, sg, st)]},
        fade_out=None if fade is None else {"start_s": float(specs.TIME_S.clip(fade[0])),
                                            "end_s": float(specs.TIME_S.clip(fade[1]))},
        provenance=dict(provenance or {}),
    )
