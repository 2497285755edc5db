"""Faust export: the preset's modal model as a ``.dsp`` that ``faust2*`` builds into a plugin.

`dsp_source` writes one Faust program (mono out, no audio in) that plays what
`workbench.synth.ImpactSynth` renders for one strike, without the room:

* **Modes.** Each object and tool mode is an exact impulse-invariant resonator, the
  coupled form ``z[n] = r e^(i w) z[n-1] + A x[n]`` (two real states) with output
  ``Im z``: its impulse response ``A r^n sin(w n)`` is our
  ``10**(gain_db/20) exp(-6.908 t / t60_s) sin(2 pi freqs_hz t)`` sample for sample
  (``w = 2 pi f / SR``, ``r = exp(-6.908 / (t60 SR))``). The coefficients are computed in
  the dsp from ``ma.SR``, so the plugin is right at any host rate; a mode at or above the
  host's Nyquist is muted (gain 0), as in our renderer. In single precision (the
  ``faust2*`` default) the coupled form keeps 40-s tails within 1 % (the direct form
  ``fi.tf2`` drifts by up to 14 %); ``-double`` is not needed (measurements:
  `workbench/export/README.md`).
* **Excitation.** A rising edge of ``gate`` plays the preset's *first* impact's contact
  pulse (`workbench.functional.contact`), starting at the edge: ``C(t) = relu(exp(-6 x^2) -
  exp(-13.5))``, ``x = (t - 1.5 tau) / tau``, force ``F = m C / (tau K)`` in impulse units
  per second, ``K = sqrt(pi/6) erf(1.5 sqrt 6) - 3 exp(-13.5)`` the pulse's closed-form
  integral per second of contact. The renderer divides by the pulse's *discrete* sum
  instead (exact impulse at every rate); `pulse_area_error` measures the difference:
  below 5e-7 for contacts of 3 samples or more (the library's: 3-6 samples at 44.1 kHz),
  but 1e-4 at 2.3 samples and 2 % at 1.6 (a 0.1 ms contact at 16 kHz). So the dsp adds the
  sampling terms of the Poisson sum, ``sqrt(pi/6) 2 sum_k exp(-(pi k tau SR)^2 / 6)
  cos(3 pi k tau SR)``, k = 1..6, which make it the discrete sum to within 3e-6 at any
  rate and contact (`pulse_area`). ``velocity``
  (held at the edge; 1 = the fitted strike) scales it by Hertz's law: ``tau = tau0 v^(-1/5)``, ``m = m0 v``, so the peak force goes as v^(6/5).
  The modes hear ``F / SR`` (the renderer's ``modal_ir(..., scale=1/sr)``), plus the
  click ``acceleration * F``; ``gain`` (dB) scales the output.
* **Optional** (checkboxes, off by default; random, so not part of the round trip): the
  background ``noise`` (white noise through a Butterworth crossover filter bank, one
  level per band of ``preset.noise``) and the ``residual`` (band noise whose envelope is
  ``F`` through a one-pole decay per band of ``preset.residual``, each band lowered by
  the Gaussian pulse's spectrum at its centre, exp(-pi^2 tau^2 f^2 / 6)).

`strike_preset` is the preset that the dsp plays (its first impact alone, moved to start at
t = 0, scaled to a velocity) and `reference_render` our render of its modal part, the
target of the round trip (`workbench.export.faust_verify`).

Example:
    >>> bell = Preset(name="bell", sample_rate=44100, object={"modes": [{"freq_hz": 440, "t60_s": 2, "gain_db": 0}]},
    ...               impacts=[{"time_s": 0.01, "contact_s": 5e-4, "magnitude": 1}])
    >>> text = dsp_source(bell)
    >>> 'declare name "bell";' in text, "mode(440.0, 2.0, 0.0)" in text, 'button("gate")' in text
    (True, True, True)
    >>> reference_render(bell, duration_s=0.1).shape         # what the dsp plays, at 44.1 kHz
    (4410,)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .. import specs
from ..audio import encode_wav
from ..errors import WorkbenchError
from ..names import slugify
from ..presets import Impact, ModalBody, Preset
from ..synth import Parts
from .common import write_file

#: Velocity slider range and default (1 = the fitted strike).
VELOCITY_RANGE = (0.1, 10.0)
#: Hertz contact: tau ~ v^(-1/5), impulse ~ v (peak force ~ v^(6/5)).
CONTACT_EXPONENT = -0.2
#: exp(-13.5): the pulse's value at its support edges, subtracted (`workbench.functional.contact`).
PULSE_EDGE = math.exp(-13.5)
#: Closed-form integral of the pulse per second of contact.
PULSE_AREA = math.sqrt(math.pi / 6.0) * math.erf(1.5 * math.sqrt(6.0)) - 3.0 * PULSE_EDGE
#: Sampling (Poisson) terms the dsp adds to the closed form: k = 1..ALIAS_TERMS.
ALIAS_TERMS = 6
#: The parts of the render the dsp reproduces sample for sample: modes and click, dry, no noise.
MODAL_PARTS = Parts(noise=False, reverb=False, residual=False)
#: Output gain slider range in dB.
GAIN_RANGE_DB = (-60.0, 24.0)


def first_impact(preset: Preset) -> Impact:
    """The earliest impact (the one strike a ``gate`` plays)."""
    return min(preset.impacts, key=lambda i: i.time_s)


def strike_preset(preset: Preset, velocity: float = 1.0) -> Preset:
    """The preset as the dsp plays it at ``velocity``: its first impact alone, at t = tau.

    The contact pulse's support [t - tau, t + 2 tau] then starts at sample 0, like the
    dsp's pulse at the ``gate`` edge. tau = tau0 v^(-1/5), magnitude m0 v.

    Raises:
        WorkbenchError: ``velocity`` outside `VELOCITY_RANGE`, or one that takes tau or the
            impulse outside `workbench.specs` (named).
    """
    lo, hi = VELOCITY_RANGE
    if isinstance(velocity, bool) or not isinstance(velocity, (int, float)) or not lo <= velocity <= hi:
        raise WorkbenchError(f"velocity: {velocity!r} is outside [{lo:g}, {hi:g}]")
    hit = first_impact(preset)
    tau = hit.contact_s * velocity ** CONTACT_EXPONENT
    magnitude = hit.magnitude * velocity
    if not (specs.CONTACT_S.contains(tau) and specs.MAGNITUDE.contains(magnitude)):
        raise WorkbenchError(f"velocity: {velocity:g} makes the contact {tau:.3g} s and the impulse {magnitude:.3g}, "
                             "outside what a preset can hold")
    return preset.replace(impacts=[{"time_s": tau, "contact_s": tau, "magnitude": magnitude}])


def reference_render(preset: Preset, *, velocity: float = 1.0, sample_rate: int | None = None,
                     duration_s: float | None = None) -> np.ndarray:
    """(n_samples,) float64: our render of what the dsp plays (`strike_preset`, `MODAL_PARTS`)."""
    from ..rendering import render_batch
    import torch

    return render_batch([strike_preset(preset, velocity)], duration_s=duration_s, sample_rate=sample_rate,
                        parts=MODAL_PARTS, device="cpu", dtype=torch.float64)[0].numpy()


def pulse_area(contact_s: float, sample_rate: float | None = None) -> float:
    """Integral of the pulse C (s) as the dsp computes it: ``contact_s * PULSE_AREA``, plus,
    given ``sample_rate``, the Poisson sum's sampling terms (the dsp's ``ALIAS``)."""
    if sample_rate is None:
        return contact_s * PULSE_AREA
    u = contact_s * sample_rate
    alias = 2 * sum(math.exp(-(math.pi * k * u) ** 2 / 6) * math.cos(3 * math.pi * k * u)
                    for k in range(1, ALIAS_TERMS + 1))
    return contact_s * (PULSE_AREA + math.sqrt(math.pi / 6.0) * alias)


def pulse_area_error(contact_s: float, sample_rate: float, *, closed_form: bool = False) -> float:
    """Relative difference of the pulse's discrete integral (the renderer's normalisation,
    sampled as at the gate: t = n / sample_rate) from `pulse_area` (with its sampling terms,
    as in the dsp, or ``closed_form`` alone)."""
    n = np.arange(int(math.ceil(3 * contact_s * sample_rate)) + 2)
    x = (n / sample_rate - 1.5 * contact_s) / contact_s
    discrete = np.maximum(np.exp(-6.0 * x * x) - PULSE_EDGE, 0.0).sum() / sample_rate
    return float(discrete / pulse_area(contact_s, None if closed_form else sample_rate) - 1.0)


def _num(x: float) -> str:
    """A Faust float literal that round-trips ``x`` exactly (always with '.' or an exponent)."""
    x = float(x)
    if not math.isfinite(x):
        raise WorkbenchError(f"faust export: refusing to write a non-finite number ({x!r})")
    return repr(x)


def _text(s: str) -> str:
    """A one-line Faust string literal body (no quotes or backslashes)."""
    return " ".join(s.replace("\\", "/").replace('"', "'").split())


def _bank(name: str, body: ModalBody | None) -> list[str]:
    modes = body.modes if body is not None else ()
    if not modes:
        return [f"{name} = _ : !, 0;   // no modes"]
    lines = [f"// {len(modes)} modes: mode(freq_hz, t60_s, gain_db)", f"{name} = _ <: ("]
    lines += [f"  mode({_num(m.freq_hz)}, {_num(m.t60_s)}, {_num(m.gain_db)})" + ("," if k < len(modes) - 1 else "")
              for k, m in enumerate(modes)]
    return lines + [") :> _;"]


def _band_lines(name: str, freqs: list[float]) -> list[str]:
    """Crossover frequencies (geometric means of neighbouring band centres), kept below Nyquist."""
    cross = [math.sqrt(a * b) for a, b in zip(freqs, freqs[1:])]
    return [f"{name} = ({', '.join(_num(c) for c in cross)});"] if cross else []


def noise_band_levels(preset: Preset) -> list[float]:
    """Linear level of each band of the dsp's noise filter bank (lowest first).

    The renderer's noise has amplitude ``10**(g(f)/20)`` per bin, ``g`` the band gains (dB)
    interpolated over log frequency; the dsp's band b (between the crossovers) gets the
    RMS of that curve over its frequencies up to the preset's Nyquist, so the band powers match.
    """
    freqs = np.array([b.freq_hz for b in preset.noise.bands])
    gains = np.array([b.gain_db for b in preset.noise.bands])
    edges = [0.0, *np.sqrt(freqs[1:] * freqs[:-1]), preset.sample_rate / 2]
    levels = []
    for lo, hi in zip(edges, edges[1:]):
        f = np.linspace(lo, max(hi, lo), 512)
        db = np.interp(np.log(np.maximum(f, 1e-3)), np.log(freqs), gains)
        levels.append(float(np.sqrt(np.mean(10.0 ** (db / 10.0)))))
    return levels


def _split(name: str, freqs: list[float], gains: list[str]) -> str:
    """A white noise split into bands (``fi.filterbank``: highest band first), weighted by ``gains``."""
    if len(freqs) == 1:
        return f"*({gains[0]})"
    weights = ", ".join(f"*({g})" for g in reversed(gains))
    return (f"fi.filterbank(3, par(i, {len(freqs) - 1}, min(0.45 * ma.SR, ba.take(i + 1, {name})))) : "
            f"({weights}) :> _")


def dsp_source(preset: Preset, *, include_noise: bool = True, include_residual: bool = True) -> str:
    """The Faust program of ``preset`` (see the module docstring); UTF-8 text."""
    from ..version import __version__

    hit = first_impact(preset)
    tool = preset.tool if preset.tool is not None and preset.tool.modes else None
    residual = preset.residual if include_residual and preset.residual is not None and preset.residual.enabled \
        else None
    n_obj, n_tool = len(preset.object.modes), len(tool.modes) if tool else 0
    desc = (f"Modal impact model '{_text(preset.name)}' ({_text(preset.material) or 'no material'}): "
            f"{n_obj} object + {n_tool} tool modes; gate strikes, velocity scales it (Hertz contact)")
    lo, hi = VELOCITY_RANGE
    out = [
        f"// {_text(preset.name)}: exported by Impact Workbench {__version__} (workbench export --to faust).",
        "//",
        "// A rising edge of `gate` plays ONE strike: the preset's first impact (of "
        f"{len(preset.impacts)}), starting at the edge.",
        "// Its modes are exact impulse-invariant resonators, so at velocity 1 and gain 0 dB the output is",
        "// the workbench's render of that impact (modes + contact click; no noise, room or residual).",
        "// Build: faust2lv2 / faust2vst / faust2puredata / faust2supercollider / faust2max6 <this file>",
        "// (README.md: parameters, precision, limits).",
        "",
        f'declare name "{_text(preset.name)}";',
        'declare author "Impact Workbench";',
        f'declare version "{__version__}";',
        f'declare license "{_text(str(preset.provenance.get("license") or "MIT"))}";',
        f'declare description "{desc}";',
        'declare reference "workbench/export/faust.py";',
        "",
        'import("stdfaust.lib");',
        "",
        "// ---- controls",
        'gate = button("gate");',
        f'velocity = hslider("velocity", 1.0, {_num(lo)}, {_num(hi)}, 0.01);',
        f'gain_db = hslider("gain [unit:dB]", 0.0, {_num(GAIN_RANGE_DB[0])}, {_num(GAIN_RANGE_DB[1])}, 0.1);',
    ]
    if tool:
        out.append('tool_on = 1 - checkbox("mute tool");')
    if include_noise:
        out.append('noise_on = checkbox("noise");')
    if residual:
        out.append('residual_on = checkbox("residual");')
    out += [
        "",
        "// ---- the contact force (workbench/functional/contact.py), impulse units per second",
        f"CONTACT_S = {_num(hit.contact_s)};      // tau0: the fitted impact's contact duration",
        f"MAGNITUDE = {_num(hit.magnitude)};      // m0: its impulse",
        f"ACCELERATION = {_num(preset.acceleration)};   // alpha: the click, alpha * F",
        "T60_DECAY = 6.907755278982137;   // 3 ln 10",
        "EDGE = exp(-13.5);",
        "PULSE_AREA = sqrt(ma.PI / 6) * ma.erf(1.5 * sqrt(6)) - 3 * EDGE;   // integral of the pulse / tau",
        "// + the sampling terms of the Poisson sum: the area becomes the pulse's discrete sum (u = tau SR samples)",
        f"ALIAS(u) = 2 * sum(k, {ALIAS_TERMS}, exp(0 - (ma.PI * (k + 1) * u) ^ 2 / 6) * cos(3 * ma.PI * (k + 1) * u));",
        "",
        "trigger = gate > gate';                       // rising edge",
        "struck = trigger : max ~ _;                   // 0 until the first strike",
        "elapsed = (+(1) : min(1073741824) : *(1 - trigger)) ~ _;   // samples since the edge (0 at the edge)",
        f"held = ba.sAndH(trigger, velocity) : max({_num(lo)});   // velocity at the edge",
        f"contact = CONTACT_S * pow(held, {_num(CONTACT_EXPONENT)});   // Hertz: tau ~ v^(-1/5)",
        "impulse = MAGNITUDE * held;                  // m ~ v",
        "x = (elapsed / ma.SR - 1.5 * contact) / contact;",
        "area = contact * (PULSE_AREA + sqrt(ma.PI / 6) * ALIAS(contact * ma.SR));",
        "force = struck * impulse / area * max(exp(-6 * x * x) - EDGE, 0);",
        "",
        "// ---- modes: the coupled form z[n] = r e^(iw) z[n-1] + A x[n] (z = u + iv), output v = Im z:",
        "// impulse response A r^n sin(w n), the workbench's mode sample for sample.",
        "mode(f, t60, g) = loop ~ (_, _) : !, _",
        "with {",
        "  w = 2 * ma.PI * f / ma.SR;                     // radians per sample",
        "  r = exp(0 - T60_DECAY / (t60 * ma.SR));        // amplitude decay per sample",
        "  c = r * cos(w);",
        "  s = r * sin(w);",
        "  a = ba.db2linear(g) * (f < ma.SR / 2);         // muted at and above the host's Nyquist",
        "  loop(u, v, e) = c * u - s * v + a * e, s * u + c * v;",
        "};",
        "",
        "// ---- object",
        *_bank("object", preset.object),
        *(["", "// ---- tool", *_bank("tool", tool)] if tool else []),
        "",
        "modal = force <: (/(ma.SR) <: object" + (", tool * tool_on :> _" if tool else "")
        + "), *(ACCELERATION) :> _;   // F / SR through the modes, plus the click alpha F",
    ]
    parts = ["modal"]
    if residual:
        freqs = [b.freq_hz for b in residual.bands]
        out += ["", "// ---- residual (workbench/functional/residual.py), approximate: decaying band noise driven by F",
                *_band_lines("RESIDUAL_CROSSOVERS_HZ", freqs),
                "residual_band(f, g, t60) = force : fi.pole(exp(0 - T60_DECAY / (t60 * ma.SR)))"
                " : *(ba.db2linear(g) / sqrt(ma.SR) * exp(0 - (ma.PI * contact * f)^2 / 6));",
                "residual = (no.noises(2, 1) * sqrt(3) : " + _split("RESIDUAL_CROSSOVERS_HZ", freqs, [
                    "envelope" + str(k) for k in range(len(freqs))]) + ")",
                "with {",
                *[f"  envelope{k} = residual_band({_num(b.freq_hz)}, {_num(b.gain_db)}, {_num(b.t60_s)});"
                  for k, b in enumerate(residual.bands)],
                "};"]
        parts.append("residual * residual_on")
    if include_noise:
        freqs = [b.freq_hz for b in preset.noise.bands]
        out += ["", "// ---- background noise (workbench/functional/noise.py), approximate: stationary band noise",
                *_band_lines("NOISE_CROSSOVERS_HZ", freqs),
                "noise = no.noises(2, 0) * sqrt(3) : " + _split("NOISE_CROSSOVERS_HZ", freqs, [
                    _num(a) for a in noise_band_levels(preset)]) + ";"]
        parts.append("noise * noise_on")
    out += ["", f"process = ({' + '.join(parts)}) * ba.db2linear(gain_db);", ""]
    return "\n".join(out)


def _readme(preset: Preset, stem: str, record: dict[str, Any], warnings_: list[str], notes: list[str]) -> str:
    lo, hi = VELOCITY_RANGE
    lines = [
        f"# Faust export of \"{preset.name}\"", "",
        f"`{stem}.dsp` is the preset's modal model as a Faust program: one mono output, no audio input. "
        "Build it into a plugin or an object with the Faust tools (Debian package `faust`):", "",
        "| target | command |", "|---|---|",
        f"| LV2 | `faust2lv2 {stem}.dsp` |",
        f"| VST | `faust2vst {stem}.dsp` (needs the VST SDK) |",
        f"| Pure Data | `faust2puredata {stem}.dsp` (an `{stem}~` object) |",
        f"| SuperCollider | `faust2supercollider {stem}.dsp` |",
        f"| Max/MSP | `faust2max6 {stem}.dsp` |",
        f"| JACK standalone | `faust2jaqt {stem}.dsp` |", "",
        "Add `-double` to any of them for 64-bit arithmetic; single precision (their default) is enough: "
        "see the precision section of `workbench/export/README.md`.", "",
        "## Parameters", "",
        "| name | what | range |", "|---|---|---|",
        "| `gate` (button) | a rising edge plays one strike, starting at the edge | 0/1 |",
        f"| `velocity` | strike strength, held at the edge; 1 = the fitted strike. Hertz contact: "
        f"contact time x v^(-1/5), impulse x v (peak force x v^(6/5)) | {lo:g} - {hi:g} |",
        f"| `gain` | output gain, dB | {GAIN_RANGE_DB[0]:g} - {GAIN_RANGE_DB[1]:g} |"]
    if record["n_tool_modes"]:
        lines.append("| `mute tool` (checkbox) | silence the tool's modes | off |")
    if record["noise"]:
        lines.append("| `noise` (checkbox) | the recording's background noise (stationary, approximate) | off |")
    if record["residual"]:
        lines.append("| `residual` (checkbox) | the strike's residual: decaying band noise (approximate) | off |")
    lines += [
        "", "## What it plays", "",
        f"* {record['n_object_modes']} object and {record['n_tool_modes']} tool modes, each an exact "
        "impulse-invariant resonator with its coefficients computed from the host's sample rate; modes at or "
        "above the host's Nyquist frequency are muted.",
        f"* **One strike per gate**: the preset's first impact (of {len(preset.impacts)}): contact "
        f"{record['contact_s']:.3g} s, impulse {record['magnitude']:.3g}, plus the contact click (acceleration "
        f"{preset.acceleration:.3g} s). Later impacts of the preset are not exported; play them with more gates.",
        "* Not exported: the room reverb. The noise and residual are random, so they are approximations "
        "(band-filtered white noise), off by default.",
        "", "## Files", "",
        f"* `{stem}.dsp`: the Faust program.",
        f"* `{record['reference_wav']}`: our render of what the dsp plays at velocity 1, gain 0 dB "
        f"({record['sample_rate']} Hz, 32-bit float, the strike at t = 0): render the plugin offline with the "
        "gate pressed at sample 0 and compare.",
        "* `export.json`: machine-readable record of this export.", ""]
    if warnings_:
        lines += ["## Warnings", ""] + [f"* {w}" for w in warnings_] + [""]
    if notes:
        lines += ["## Notes", ""] + [f"* {n}" for n in notes] + [""]
    return "\n".join(lines)


def write_faust(preset: Preset, folder: Path, *, sample_rate: int | None = None, include_noise: bool = True,
                include_residual: bool = True) -> tuple[list[str], list[str], list[str], dict[str, Any]]:
    """Write a Faust export into an (empty, temporary) ``folder``.

    Args:
        preset: The preset.
        folder: Where to write.
        sample_rate: Rate of the reference WAV in Hz (16000-96000; default: the preset's).
            The dsp itself runs at the host's rate.
        include_noise: Write the background noise section (a ``noise`` checkbox, off by default).
        include_residual: Write the residual section when the preset has one (a ``residual``
            checkbox, off by default).

    Returns:
        ``(files, warnings, notes, target_record)``; the caller writes ``export.json``.

    Raises:
        WorkbenchError: a bad option (named) or a preset with no modes.
    """
    sr = preset.sample_rate if sample_rate is None else sample_rate
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or not specs.SAMPLE_RATE.contains(sr):
        raise WorkbenchError(f"sample_rate (--sample-rate): {sample_rate!r} is not a whole number of Hz in "
                             "[16000, 96000]")
    for name, value in (("include_noise", include_noise), ("include_residual", include_residual)):
        if not isinstance(value, bool):
            raise WorkbenchError(f"{name}: expected true or false, got {value!r}")
    if not preset.object.modes:
        raise WorkbenchError(f"preset {preset.name!r}: object has no modes; there is no impact sound to export")
    sr = int(sr)
    warnings_: list[str] = []
    notes: list[str] = []
    hit = first_impact(preset)
    if len(preset.impacts) > 1:
        notes.append(f"impacts: only the first of {len(preset.impacts)} impacts is exported (at t = "
                     f"{hit.time_s:.3f} s); a gate plays one strike")
    has_residual = preset.residual is not None and preset.residual.enabled
    if preset.reverb.enabled:
        notes.append("room: the preset's reverb is not exported (add a reverb in the host)")
    for role, body in (("object", preset.object), ("tool", preset.tool)):
        high = [m.freq_hz for m in (body.modes if body else ()) if m.freq_hz >= sr / 2]
        if high:
            warnings_.append(f"{role}: {len(high)} mode(s) at or above {sr / 2:g} Hz are muted at {sr} Hz "
                             "(and in a host running at that rate)")
    stem = slugify(preset.name, default="preset")
    files: list[str] = []
    write_file(folder, f"{stem}.dsp", dsp_source(preset, include_noise=include_noise,
                                                 include_residual=include_residual).encode("utf-8"), files)
    wav = f"{stem}_reference.wav"
    y = reference_render(preset, sample_rate=sr)
    write_file(folder, wav, encode_wav(y, sr, subtype="FLOAT"), files)
    record = {"dsp_file": f"{stem}.dsp", "reference_wav": wav, "sample_rate": sr, "n_samples": int(y.size),
              "n_object_modes": len(preset.object.modes),
              "n_tool_modes": len(preset.tool.modes) if preset.tool is not None else 0,
              "impact_index": preset.impacts.index(hit), "contact_s": hit.contact_s, "magnitude": hit.magnitude,
              "acceleration": preset.acceleration, "velocity_range": list(VELOCITY_RANGE),
              "pulse_area_error": pulse_area_error(hit.contact_s, sr),
              "pulse_area_error_closed_form": pulse_area_error(hit.contact_s, sr, closed_form=True),
              "noise": include_noise, "residual": include_residual and has_residual,
              "reference_peak": float(np.max(np.abs(y)))}
    write_file(folder, "README.md", _readme(preset, stem, record, warnings_, notes).encode("utf-8"), files)
    return files, warnings_, notes, record
