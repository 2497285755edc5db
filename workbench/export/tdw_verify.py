"""Round trip of the ThreeDWorld export: ThreeDWorld's own synthesiser vs ours.

`round_trip` exports a preset (`workbench.export.tdw.build_bodies`), renders the exported
``Modes`` JSON with tdw's ``Modes.sum_modes`` (`tdw_mode_sum`, no Unity) and compares it
with `workbench.functional.modal.modal_ir` in two conventions. Distances are
`workbench.losses.spectral_distance` (0 identical, 1 = white noise of the same RMS).

* **PyImpact's** (`mode_sum_distance`): the same modes in cosine phase, each cut at its
  -80 dB re 1 point (`reference_mode_sum`). Exact up to rounding: it checks every unit.
* **The workbench's** (`workbench_distance`): what the user heard, every mode of the
  preset below 22.05 kHz in sine phase, uncut, over the preset's duration
  (`workbench_mode_sum`), against tdw's sum brought back to the preset's gains. What it
  keeps of the difference is what TDW cannot play: the modes the export leaves out
  (`left_out`) and the cosine phase (`phase_distance`); `why_not` says which, when over
  `ROUND_TRIP_GATE`.

`write_tdw` runs both on every export when tdw is installed (`export_check`).

Example (PyImpact keeps a mode for T60 (80 + p) / 60; in cosine phase it starts at 10**(p/20)):
    >>> tdw_mode_lengths([-20.0, -80.0], [300.0, 300.0]).tolist()
    [13230, 0]
    >>> y = reference_mode_sum([440.0], [0.3], [-20.0], n_samples=4, phase="cos")
    >>> round(float(y[0]), 9)
    0.1
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import torch

from .. import specs
from ..errors import WorkbenchError
from ..functional.modal import modal_ir
from ..losses import spectral_distance
from ..presets import Preset
from .common import as_preset, json_bytes
from .tdw import DEFAULT_PEAK_DB, TdwBody, build_bodies
from .tdw_compat import MIN_T60_S, N_MATERIAL_MODES, TDW_SAMPLE_RATE, import_py_impact, modes_class

#: Largest `mode_sum_distance` (and `workbench_distance`) at which an export counts as verified.
ROUND_TRIP_GATE = 0.05
WORKBENCH_CONVENTION = ("every preset mode below 22.05 kHz, sine phase, no cut, the preset's duration, "
                        "at 44.1 kHz (our modal_ir) vs tdw Modes.sum_modes of object_modes.json at the preset's gains")
PYIMPACT_CONVENTION = ("tdw Modes.sum_modes(fs=44100, resonance=1) of object_modes.json vs workbench modal_ir "
                       "of the same modes (cosine phase, cut at -80 dB re 1)")


def tdw_mode_sum(modes_json: dict[str, Any], *, resonance: float = 1.0) -> np.ndarray:
    """ThreeDWorld's bare mode sum of a ``Modes`` JSON: ``Modes(...).sum_modes(fs=44100)``.

    Args:
        modes_json: ``{"frequencies": Hz, "powers": dB, "decay_times": ms, ...}``.
        resonance: PyImpact's T60 multiplier.

    Returns:
        (n_samples,) float64 at 44.1 kHz; its length is the longest mode's -80 dB point.
    """
    Modes = modes_class()
    modes = Modes(np.asarray(modes_json["frequencies"], dtype=np.float64),
                  np.asarray(modes_json["powers"], dtype=np.float64),
                  np.asarray(modes_json["decay_times"], dtype=np.float64))
    return np.asarray(modes.sum_modes(fs=TDW_SAMPLE_RATE, resonance=resonance), dtype=np.float64)


def tdw_mode_lengths(powers_db, decay_times_ms, *, sample_rate: int = TDW_SAMPLE_RATE) -> np.ndarray:
    """(K,) samples PyImpact keeps of each mode: ``ceil(T60 * (80 + p) / 60 * fs)`` (<= 0: none)."""
    p = np.asarray(powers_db, dtype=np.float64)
    t_ms = np.asarray(decay_times_ms, dtype=np.float64)
    return np.ceil(t_ms * (80.0 + p) / 60.0 / 1e3 * sample_rate).astype(np.int64)


def reference_mode_sum(freqs_hz, t60_s, gains_db, *, n_samples: int, sample_rate: int = TDW_SAMPLE_RATE,
                       phase: str = "sin", lengths=None, chunk_elements: int = 4_000_000) -> np.ndarray:
    """Our modal IR (`workbench.functional.modal.modal_ir`), optionally in PyImpact's conventions.

    With ``phase="cos"`` each mode is turned from our sine phase into PyImpact's cosine
    phase exactly, using the damped-sinusoid identity on two neighbouring samples
    (s = our mode, r = per-sample decay, w = 2 pi f / fs)::

        c[n] = (s[n + 1] - r cos(w) s[n]) / (r sin(w))

    Args:
        freqs_hz, t60_s, gains_db: (K,) modes (Hz, s, dB).
        n_samples: Output length.
        sample_rate: Hz.
        phase: ``"sin"`` (our renderer) or ``"cos"`` (PyImpact).
        lengths: Optional (K,) samples to keep of each mode (PyImpact cuts at -80 dB).
        chunk_elements: Memory bound: modes are rendered in chunks of this many samples.

    Returns:
        (n_samples,) float64 sum of the modes.
    """
    f = np.asarray(freqs_hz, dtype=np.float64).reshape(-1)
    t = np.asarray(t60_s, dtype=np.float64).reshape(-1)
    g = np.asarray(gains_db, dtype=np.float64).reshape(-1)
    if phase not in ("sin", "cos"):
        raise WorkbenchError(f"phase: {phase!r} is not 'sin' or 'cos'")
    out = np.zeros(n_samples, dtype=np.float64)
    if f.size == 0 or n_samples <= 0:
        return out
    extra = 1 if phase == "cos" else 0
    step = max(1, chunk_elements // (n_samples + extra))
    n = np.arange(n_samples)
    for lo in range(0, f.size, step):
        sl = slice(lo, lo + step)
        # one mode per batch item: (K_chunk, 1) -> (K_chunk, n_samples + extra), all float64
        s = modal_ir(torch.as_tensor(f[sl, None]), torch.as_tensor(t[sl, None]), torch.as_tensor(g[sl, None]),
                     n_samples=n_samples + extra, sample_rate=sample_rate).numpy()
        if phase == "cos":
            w = 2.0 * math.pi * f[sl] / sample_rate
            r = np.exp(-specs.T60_DECAY / (t[sl] * sample_rate))
            s = (s[:, 1:] - (r * np.cos(w))[:, None] * s[:, :-1]) / (r * np.sin(w))[:, None]
        if lengths is not None:
            s = np.where(n[None, :] < np.asarray(lengths)[sl, None], s, 0.0)
        out += s.sum(axis=0)
    return out


def _as_read(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` written as an export file and read back: exactly what a reader of the file gets."""
    return json.loads(json_bytes(obj).decode("utf-8"))


def mode_sum_distance(preset: Preset, body: TdwBody, *,
                      tdw: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """The round-trip check of one exported body (object or tool).

    Returns:
        ``(distance, tdw, ours)``: tdw's ``Modes.sum_modes`` of ``body.modes_json()`` as read
        from the file, (n,) float64 at 44.1 kHz; the preset's same modes rendered by
        `reference_mode_sum` (cosine phase, cut at -80 dB) in PyImpact's dB re 1, (n,); and
        their `spectral_distance`.

    Raises:
        WorkbenchError: tdw is not installed.
    """
    exported = _as_read(body.modes_json())
    if tdw is None:
        tdw = tdw_mode_sum(exported)
    src = _body_modes(preset, body.role)
    picked = [src[i] for i in body.modes.source_index]
    t60 = np.maximum([m.t60_s for m in picked], MIN_T60_S)
    ours = reference_mode_sum([m.freq_hz for m in picked], t60, [m.gain_db for m in picked],
                              n_samples=tdw.size, phase="cos",
                              lengths=tdw_mode_lengths(exported["powers"], exported["decay_times"]))
    ours *= 10.0 ** (body.modes.offset_db / 20.0)    # our dB per unit impulse -> PyImpact's dB re 1
    return spectral_distance(tdw, ours), tdw, ours


def _body_modes(preset: Preset, role: str):
    return preset.object.modes if role == "object" else preset.tool.modes


def workbench_mode_sum(preset: Preset, role: str = "object", *, phase: str = "sin") -> np.ndarray:
    """The body's modes as the workbench plays them, at 44.1 kHz: (n,) float64.

    Every mode below 22.05 kHz (those above cannot exist at 44.1 kHz), at the preset's
    gains, in sine phase (``phase="cos"``: PyImpact's), uncut, over ``preset.duration_s``.
    """
    modes = [m for m in _body_modes(preset, role) if m.freq_hz < TDW_SAMPLE_RATE / 2]
    return reference_mode_sum([m.freq_hz for m in modes], [m.t60_s for m in modes], [m.gain_db for m in modes],
                              n_samples=max(1, int(round(preset.duration_s * TDW_SAMPLE_RATE))), phase=phase)


def workbench_distance(preset: Preset, body: TdwBody, *, tdw: np.ndarray | None = None,
                       ours: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """The exported body against what the workbench plays (see the module docstring).

    Args:
        tdw: tdw's ``sum_modes`` of ``body.modes_json()`` if already computed.
        ours: `workbench_mode_sum` of the body if already computed.

    Returns:
        ``(distance, heard, ours)``: tdw's sum at the preset's gains over the preset's
        duration (zero-padded), `workbench_mode_sum`, and their `spectral_distance`.
    """
    if tdw is None:
        tdw = tdw_mode_sum(_as_read(body.modes_json()))
    if ours is None:
        ours = workbench_mode_sum(preset, body.role)
    heard = np.zeros(ours.size)
    k = min(ours.size, tdw.size)
    heard[:k] = tdw[:k] * 10.0 ** (-body.modes.offset_db / 20.0)   # PyImpact's dB re 1 -> the preset's gains
    return spectral_distance(heard, ours), heard, ours


def phase_distance(preset: Preset, role: str = "object", *, ours: np.ndarray | None = None) -> float:
    """What PyImpact's cosine phase alone changes: `workbench_mode_sum` in cosine vs sine phase."""
    if ours is None:
        ours = workbench_mode_sum(preset, role)
    return spectral_distance(workbench_mode_sum(preset, role, phase="cos"), ours)


def left_out(preset: Preset, body: TdwBody) -> tuple[dict[str, int], float]:
    """The preset's modes that the export leaves out, by reason, and their share of its energy.

    Energy is amplitude² x T60 (proportional to each damped mode's energy), so a share is
    what the missing modes would have added to the sound.

    Example:
        >>> from workbench.presets import Preset
        >>> from workbench.export.tdw import build_bodies
        >>> p = Preset(name="x", object={"modes": [{"freq_hz": 500.0, "t60_s": 0.5, "gain_db": 0.0},
        ...                                         {"freq_hz": 23000.0, "t60_s": 0.5, "gain_db": 0.0}]},
        ...            impacts=[{"time_s": 0.05, "contact_s": 1e-4, "magnitude": 1.0}], sample_rate=48000, duration_s=0.5)
        >>> left_out(p, build_bodies(p)[0][0])
        ({'at or above 22050 Hz': 1}, 0.5)
    """
    modes = _body_modes(preset, body.role)
    kept = set(int(i) for i in body.modes.source_index)
    energy = np.array([10.0 ** (m.gain_db / 10.0) * m.t60_s for m in modes], dtype=np.float64)
    counts: dict[str, int] = {}
    for i, m in enumerate(modes):
        if i not in kept:
            why = (f"at or above {TDW_SAMPLE_RATE // 2} Hz" if m.freq_hz >= TDW_SAMPLE_RATE / 2
                   else "too quiet or out of range")
            counts[why] = counts.get(why, 0) + 1
    missing = [i for i in range(len(modes)) if i not in kept]
    total = float(energy.sum())
    return counts, (float(energy[missing].sum()) / total if total > 0 else 0.0)


def why_not(distance: float, counts: dict[str, int], share: float, phase: float) -> str:
    """Why the workbench-convention distance stays over the gate ("" when it does not)."""
    if distance <= ROUND_TRIP_GATE:
        return ""
    parts = [f"{n} mode(s) {why}" for why, n in counts.items()]
    modes = (f"TDW cannot play {' and '.join(parts)}, {100 * share:.2g} % of the energy; " if parts
             else "every mode is exported; ")
    return (f"{modes}PyImpact's cosine phase alone makes {phase:.3f}; the rest is the -80 dB re 1 cut of the "
            "tails")


def workbench_check(preset: Preset, body: TdwBody, *, tdw: np.ndarray | None = None,
                    phase: bool = False) -> dict[str, Any]:
    """The workbench-convention figures of an exported body (see the module docstring).

    Args:
        tdw: tdw's ``sum_modes`` of ``body.modes_json()`` if already computed.
        phase: Always compute ``distance_phase`` (otherwise only when over the gate).

    Returns:
        ``distance_workbench``, ``left_out`` (count by reason), ``left_out_energy`` (share),
        ``distance_phase`` (or None) and ``why_not`` ("" within `ROUND_TRIP_GATE`).
    """
    ours = workbench_mode_sum(preset, body.role)
    heard = workbench_distance(preset, body, tdw=tdw, ours=ours)[0]
    counts, share = left_out(preset, body)
    over = heard > ROUND_TRIP_GATE
    ph = phase_distance(preset, body.role, ours=ours) if phase or over else None
    return {"distance_workbench": heard, "left_out": counts, "left_out_energy": share, "distance_phase": ph,
            "why_not": why_not(heard, counts, share, ph) if over else ""}


def export_check(preset: Preset, body: TdwBody) -> tuple[dict[str, Any], list[str], list[str]]:
    """Both round trips of an exported body, as `write_tdw` records them.

    Returns:
        ``(record, readme_lines, warnings)``.
    """
    tdw = tdw_mode_sum(_as_read(body.modes_json()))
    distance = mode_sum_distance(preset, body, tdw=tdw)[0]
    wb = workbench_check(preset, body, tdw=tdw)
    heard, reason = wb["distance_workbench"], wb["why_not"]
    record = {"distance": distance, "distance_workbench": heard, "max_allowed": ROUND_TRIP_GATE,
              "left_out_energy": wb["left_out_energy"], "compared": PYIMPACT_CONVENTION,
              "compared_workbench": WORKBENCH_CONVENTION, "why_not_workbench": reason or None}
    lines = [f"In PyImpact's conventions ({PYIMPACT_CONVENTION}): normalised spectral distance {distance:.2g} "
             f"(<= {ROUND_TRIP_GATE:g} required).",
             f"As the workbench plays it ({WORKBENCH_CONVENTION}): {heard:.3f}"
             + (f" (over {ROUND_TRIP_GATE:g}: {reason})." if reason else f" (<= {ROUND_TRIP_GATE:g}).")
             + f" Modes left out: {100 * wb['left_out_energy']:.2g} % of the energy."]
    warnings_ = []
    if distance > ROUND_TRIP_GATE:
        warnings_.append(f"round trip: tdw's synthesiser differs from ours (distance {distance:.3f} > "
                         f"{ROUND_TRIP_GATE:g})")
    if reason:
        warnings_.append(f"round trip: TDW plays the object {heard:.3f} away from what the workbench plays: {reason}")
    return record, lines, warnings_


def impact_distance(preset: Preset, body: TdwBody) -> float:
    """Full impact: PyImpact's ``_synth_impact_modes`` (half-sine contact) vs our object render."""
    from ..rendering import render

    PyImpact = import_py_impact()
    Modes = modes_class()
    exported = _as_read(body.modes_json())
    modes = Modes(*(np.asarray(exported[k], dtype=np.float64) for k in ("frequencies", "powers", "decay_times")))
    silent = Modes(np.array([100.0]), np.array([-90.0]), np.array([10.0]))   # an empty Modes crashes
    x = np.asarray(PyImpact._synth_impact_modes(modes, silent, exported["mass_kg"], 1.0, 1.0), dtype=np.float64)
    tau = body.contact_s
    single = preset.replace(impacts=[{"time_s": tau, "contact_s": tau, "magnitude": 1.0}], tool=None)
    shift = int(round(tau * TDW_SAMPLE_RATE))     # our pulse is centred at 1.5 tau, PyImpact's at 0.5 tau
    y = render(single, duration_s=(x.size + shift) / TDW_SAMPLE_RATE, sample_rate=TDW_SAMPLE_RATE,
               parts="object", device="cpu").astype(np.float64)[shift:shift + x.size]
    return spectral_distance(x / np.abs(x).max(), y / max(np.abs(y).max(), 1e-30))


def round_trip(preset, *, peak_db: float = DEFAULT_PEAK_DB, impact: bool = True) -> dict[str, Any]:
    """Render the exported object with ThreeDWorld's own synthesiser and compare with ours.

    Figures (normalised multi-scale spectral distance, 0 = identical, 1 = white noise):

    * ``distance`` (the check, must be <= `ROUND_TRIP_GATE`): ``Modes.sum_modes(fs=44100, resonance=1)`` of
      ``object_modes.json`` (after JSON serialisation) vs `modal_ir` of the same preset modes
      in PyImpact's conventions (cosine phase, each mode cut at its -80 dB point), scaled by
      the export's dB offset. It checks every unit conversion (Hz, dB, s -> ms, T60).
    * ``distance_workbench`` (`workbench_distance`): the same tdw sum vs every preset mode as the
      workbench plays it (sine phase, uncut, the preset's duration); with ``distance_phase``
      (`phase_distance`), ``left_out`` and ``left_out_energy`` (`left_out`), and ``why_not``
      (`why_not`: empty when within the gate).
    * ``distance_material``: the 10-mode material table summed by tdw (without PyImpact's
      random jitter) vs *all* the preset's object modes rendered by us as they are (sine
      phase, no cut): what PyImpact's material path keeps of the fitted sound.
    * ``distance_impact`` (``impact=True``): PyImpact's ``_synth_impact_modes`` (half-sine
      contact from ``mass_kg``, peak-normalised) vs our object-only render of one impact.

    Args:
        preset: A `Preset` or a preset path.
        peak_db: As in the export.
        impact: Also compute ``distance_impact`` (imports PyImpact, ~2 s the first time).

    Returns:
        A dict with the preset name, mode counts, offsets, mass and the distances; ``ok``
        (PyImpact's conventions within the gate) and ``ok_workbench`` (within the gate, or
        ``why_not`` says why it cannot be).

    Raises:
        WorkbenchError: tdw is not installed, or the preset cannot be exported.
    """
    preset, source = as_preset(preset)
    bodies, warnings_, _ = build_bodies(preset, peak_db=peak_db)
    body = bodies[0]
    distance, tdw, _ = mode_sum_distance(preset, body)
    wb = workbench_check(preset, body, tdw=tdw, phase=True)

    cf, op, rt, n_pad = body.modes.material_table()
    table = tdw_mode_sum({"frequencies": cf, "powers": op, "decay_times": [1000.0 * v for v in rt]})
    audible = [m for m in preset.object.modes if m.freq_hz < TDW_SAMPLE_RATE / 2]
    ours_all = reference_mode_sum([m.freq_hz for m in audible], [m.t60_s for m in audible],
                                  [m.gain_db for m in audible], n_samples=table.size, phase="sin")
    ours_all *= 10.0 ** (body.modes.material_offset_db / 20.0)
    result = {
        "preset": preset.name, "source": source, "n_modes_preset": len(preset.object.modes),
        "n_modes_exported": body.modes.n_modes, "n_material_modes": N_MATERIAL_MODES - n_pad,
        "offset_db": body.modes.offset_db, "material_offset_db": body.modes.material_offset_db,
        "mass_kg": body.mass_kg, "n_samples": int(tdw.size), "duration_s": tdw.size / TDW_SAMPLE_RATE,
        "distance": distance, **wb, "distance_material": spectral_distance(table, ours_all), "warnings": warnings_,
    }
    if impact:
        result["distance_impact"] = impact_distance(preset, body)
    result["ok"] = bool(distance <= ROUND_TRIP_GATE)
    result["ok_workbench"] = bool(wb["distance_workbench"] <= ROUND_TRIP_GATE or wb["why_not"])
    return result
