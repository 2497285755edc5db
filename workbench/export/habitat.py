"""Habitat (habitat-sim audio sensor, RLRAudioPropagation / SoundSpaces 2.0) export.

Habitat has no impact or modal synthesis: its audio sensor returns a room impulse
response that users convolve with their own *dry* source sound
(``docs/export_formats.md`` section 2). So a Habitat export is

* a bank of dry impact WAVs (``wavs/``), rendered by `workbench.rendering` without the
  room (and without the recording's background noise, unless asked; with the strike's
  residual when the preset has one, since it is part of the strike), one strike per
  file starting at t = 0, over a small grid of variations: strike strength
  (0, -6, -12 dB re the preset's loudest impact), contact duration (x1, x0.5, x2) and
  seeds (seed 0 is the preset itself; seed s > 0 moves every mode gain by N(0, s(f)^2) dB,
  s(f) the per-band spread of mode gains between strikes learned from recordings,
  `workbench.variations`; where PyImpact jitters repeated impacts by a hand-set 2 dB). Each strike is the preset through
  `workbench.edits.apply_edits`, the same edits as the dashboard's sliders (`strike`);
* ``manifest.json``: object, material label, file, sample rate and strike parameters per WAV;
* when the preset's reverb is enabled, ``habitat_materials.json`` in RLR's
  ``{"materials": [...]}`` schema: the fitted room as an acoustic material whose
  absorption per band comes from the fitted per-band T60 by Eyring's formula
  ``alpha = 1 - exp(-0.161 V / (S T60))`` for a room of volume V and surface S. Modal
  damping of the *object* is never turned into absorption (it is not a surface property).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import specs
from ..audio import encode_wav
from ..edits import Edits, ModeEdit, apply_edits
from ..errors import WorkbenchError
from ..names import material_class, slugify
from ..presets import Preset
from ..specs import HEADROOM_DBFS, HEADROOM_PEAK
from ..synth import Parts
from ..variations import learn_variation
from .common import json_bytes, loudest_impact, write_file

DEFAULT_SAMPLE_RATE = 44_100
DEFAULT_VARIATIONS = 9
MAX_VARIATIONS = 500
#: Strike strengths in dB re the preset's loudest impact magnitude.
STRENGTHS_DB = (0.0, -6.0, -12.0)
#: Contact durations relative to the loudest impact's (shorter = harder = brighter).
CONTACT_SCALES = (1.0, 0.5, 2.0)
#: Default room for Eyring: a 5 m x 4 m x 3 m room.
DEFAULT_ROOM_VOLUME_M3 = 60.0
DEFAULT_ROOM_AREA_M2 = 94.0
#: Bands of the absorption/scattering/transmission tables (the mp3d layout).
MATERIAL_BANDS_HZ = (125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0)
#: Semantic categories the fitted room material applies to (substring match in RLR).
DEFAULT_LABELS = ("wall", "ceiling", "floor")
#: Defaults for what a reverb fit cannot measure (export_formats.md 2.4).
SCATTERING = (0.10, 0.10, 0.15, 0.20, 0.25, 0.30)
TRANSMISSION = 0.01
#: Sabine's constant 24 ln(10) / c at c = 343 m/s, in s/m.
SABINE_S_PER_M = 0.161
#: RLR's ``default`` entry (used where no label matches).
DEFAULT_ENTRY = {"name": "Default", "labels": ["default"], "absorption": [20.0, 0.1, 20000.0, 0.1],
                 "scattering": [20.0, 0.5, 20000.0, 0.5], "transmission": [20.0, 0.0, 20000.0, 0.0]}
#: mp3d material an object class most resembles (a hint for labels; export_formats.md 2.4).
RLR_MATERIAL_HINTS = {"metal": "Steel", "glass": "Glass", "wood_hard": "Wood, Thick", "wood_medium": "Wood, Thick",
                      "wood_soft": "Wood, Thick", "fabric": "Curtain", "ceramic": "Tile, Ceramic"}

_PAIRS = {"type": "array", "minItems": 2, "items": {"type": "number", "minimum": 0}}

#: JSON schema of ``habitat_materials.json`` (RLRAudioPropagation's material config).
#: Flat ``[freq_Hz, value, ...]`` pairs cannot be typed position by position in JSON
#: schema; `check_pairs` adds that check (even length, increasing Hz, values in [0, 1]).
MATERIALS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "RLRAudioPropagation material config",
    "type": "object",
    "required": ["materials"],
    "additionalProperties": False,
    "properties": {"materials": {"type": "array", "minItems": 1, "items": {
        "type": "object",
        "required": ["name", "labels", "absorption", "scattering", "transmission"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "labels": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "absorption": _PAIRS, "scattering": _PAIRS, "transmission": _PAIRS, "damping": _PAIRS,
            "speed": {"type": "number", "exclusiveMinimum": 0},
            "density": {"type": "number", "exclusiveMinimum": 0},
        }}}},
}

#: JSON schema of the bank's ``manifest.json``.
MANIFEST_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Impact Workbench Habitat impact bank",
    "type": "object",
    "required": ["schema", "version", "object", "material_label", "sample_rate", "parts", "files"],
    "properties": {
        "schema": {"const": "impact-workbench/habitat-bank"},
        "version": {"const": 1},
        "object": {"type": "string", "minLength": 1},
        "material_label": {"type": "string", "minLength": 1},
        "rlr_material_hint": {"type": ["string", "null"]},
        "sample_rate": {"type": "integer", "minimum": 16000, "maximum": 96000},
        "parts": {"type": "string"},
        "room_materials_file": {"type": ["string", "null"]},
        "level_gain_db": {"type": "number", "maximum": 0,
                          "description": "gain applied to every WAV so the loudest peaks at -1 dBFS (0: none)"},
        "files": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["file", "object", "material_label", "sample_rate", "n_samples", "strength_db", "magnitude",
                         "contact_s", "contact_scale", "seed", "peak_dbfs"],
            "properties": {
                "file": {"type": "string", "pattern": r"^wavs/[A-Za-z0-9_.-]+\.wav$"},
                "object": {"type": "string"}, "material_label": {"type": "string"},
                "sample_rate": {"type": "integer"}, "n_samples": {"type": "integer", "minimum": 1},
                "duration_s": {"type": "number", "exclusiveMinimum": 0},
                "strength_db": {"type": "number"}, "magnitude": {"type": "number", "minimum": 0},
                "contact_s": {"type": "number", "exclusiveMinimum": 0},
                "contact_scale": {"type": "number", "exclusiveMinimum": 0},
                "seed": {"type": "integer", "minimum": 0}, "peak_dbfs": {"type": "number"},
            }}},
    },
}


def check_pairs(values, *, name: str, unit_interval: bool = True) -> None:
    """Check a flat ``[freq_Hz, value, ...]`` list: even length, increasing Hz, values in [0, 1].

    Raises:
        WorkbenchError: naming ``name`` and the problem.
    """
    v = list(values)
    if len(v) < 2 or len(v) % 2:
        raise WorkbenchError(f"{name}: expected [freq_Hz, value, ...] pairs, got {len(v)} numbers")
    freqs, vals = v[0::2], v[1::2]
    if any(not (isinstance(x, (int, float)) and math.isfinite(x)) for x in v):
        raise WorkbenchError(f"{name}: holds a non-finite or non-numeric entry")
    if any(b <= a for a, b in zip(freqs, freqs[1:])) or freqs[0] <= 0:
        raise WorkbenchError(f"{name}: band frequencies must be positive and increasing, got {freqs}")
    if unit_interval and any(not (0.0 <= x <= 1.0) for x in vals):
        raise WorkbenchError(f"{name}: values must lie in [0, 1], got {vals}")


def check_materials(data: dict[str, Any]) -> None:
    """The checks of `MATERIALS_SCHEMA` that JSON schema cannot state (`check_pairs` per table)."""
    for i, m in enumerate(data.get("materials", [])):
        for key in ("absorption", "scattering", "transmission"):
            check_pairs(m[key], name=f"materials[{i}].{key}")


def eyring_absorption(t60_s, *, volume_m3: float, area_m2: float) -> np.ndarray:
    """Mean absorption coefficient of a room from its reverberation time (Eyring).

    ``alpha = 1 - exp(-0.161 V / (S T60))``.

    Args:
        t60_s: (B,) reverberation times in seconds (> 0).
        volume_m3: Room volume V in m³.
        area_m2: Total surface S in m².

    Returns:
        (B,) absorption coefficients in (0, 1).

    Example:
        >>> round(float(eyring_absorption([0.5], volume_m3=60.0, area_m2=94.0)[0]), 3)
        0.186
    """
    t = np.asarray(t60_s, dtype=np.float64)
    return 1.0 - np.exp(-SABINE_S_PER_M * volume_m3 / (area_m2 * t))


def _check_room(volume_m3: float, area_m2: float) -> None:
    for name, v in (("room_volume_m3", volume_m3), ("room_area_m2", area_m2)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise WorkbenchError(f"{name} (--{name[:-3].replace('_', '-')}): {v!r} must be a positive number")
    least = (36.0 * math.pi * volume_m3 ** 2) ** (1.0 / 3.0)     # a sphere encloses V with the least surface
    if area_m2 < least:
        raise WorkbenchError(f"room_area_m2 (--room-area): {area_m2:g} m² cannot enclose {volume_m3:g} m³ "
                             f"(a sphere needs at least {least:.1f} m²)")


def materials_json(preset: Preset, *, volume_m3: float = DEFAULT_ROOM_VOLUME_M3,
                   area_m2: float = DEFAULT_ROOM_AREA_M2, labels=DEFAULT_LABELS) -> tuple[dict[str, Any], dict]:
    """RLR material config with the preset's fitted room as one material.

    The fitted per-band T60s are interpolated (over log frequency) onto the mp3d bands
    125 Hz ... 4 kHz and turned into absorption with `eyring_absorption`. Scattering and
    transmission cannot be fitted from a recording; they get the defaults of
    ``export_formats.md`` (0.1-0.3 rising with frequency; 0.01). RLR's ``Default`` entry is
    included so the file is complete on its own.

    Returns:
        ``(config, details)``: the JSON content and the T60/absorption values per band.
    """
    _check_room(volume_m3, area_m2)
    labels = [str(x).strip() for x in labels if str(x).strip()]
    if not labels:
        raise WorkbenchError("labels: give at least one semantic category name for the room material")
    bands = preset.reverb.bands
    t60 = np.interp(np.log(MATERIAL_BANDS_HZ), np.log([b.freq_hz for b in bands]), [b.t60_s for b in bands])
    alpha = eyring_absorption(t60, volume_m3=volume_m3, area_m2=area_m2)

    def pairs(values) -> list[float]:
        return [x for f, v in zip(MATERIAL_BANDS_HZ, values) for x in (f, round(float(v), 4))]

    entry = {"name": f"workbench_{slugify(preset.name, default='preset')}_room", "labels": labels,
             "absorption": pairs(alpha), "scattering": pairs(SCATTERING),
             "transmission": pairs([TRANSMISSION] * len(MATERIAL_BANDS_HZ))}
    details = {"bands_hz": list(MATERIAL_BANDS_HZ), "t60_s": [round(float(v), 4) for v in t60],
               "absorption": [round(float(v), 4) for v in alpha], "room_volume_m3": volume_m3,
               "room_area_m2": area_m2, "formula": "Eyring: alpha = 1 - exp(-0.161 V / (S T60))"}
    return {"materials": [dict(DEFAULT_ENTRY), entry]}, details


@dataclass(frozen=True)
class Variation:
    """One strike of the bank."""

    index: int
    strength_db: float
    contact_scale: float
    seed: int


def variation_grid(n: int) -> list[Variation]:
    """The first ``n`` strikes of the grid strength x contact x seed (strength fastest).

    Example:
        >>> [(v.strength_db, v.contact_scale, v.seed) for v in variation_grid(4)]
        [(0.0, 1.0, 0), (-6.0, 1.0, 0), (-12.0, 1.0, 0), (0.0, 0.5, 0)]
    """
    per_seed = len(STRENGTHS_DB) * len(CONTACT_SCALES)
    return [Variation(index=i, strength_db=STRENGTHS_DB[i % len(STRENGTHS_DB)],
                      contact_scale=CONTACT_SCALES[(i // len(STRENGTHS_DB)) % len(CONTACT_SCALES)],
                      seed=i // per_seed) for i in range(n)]


def gain_jitter(preset: Preset, seed: int) -> tuple[ModeEdit, ...]:
    """Seed ``seed``'s per-mode gain offsets, object modes then tool modes (none for seed 0):
    N(0, s(f)^2) dB with s(f) the spread of `workbench.variations.learn_variation` (the preset's
    strikes, else the library prior).

    Example:
        >>> from workbench.presets import Preset
        >>> p = Preset(name="bell", sample_rate=44100, object={"modes": [{"freq_hz": 440, "t60_s": 2, "gain_db": 0}]},
        ...            impacts=[{"time_s": 0.01, "contact_s": 5e-4, "magnitude": 1}])
        >>> gain_jitter(p, 0), [(e.body, e.index) for e in gain_jitter(p, 3)]
        ((), [('object', 0)])
    """
    if seed == 0:
        return ()
    spread = learn_variation(preset).gain_sd_at
    rng = np.random.default_rng(seed)
    return tuple(ModeEdit(role, i, gain_db=float(m.gain_db + rng.normal(0.0, float(spread([m.freq_hz])[0]))))
                 for role, body in (("object", preset.object), ("tool", preset.tool)) if body is not None
                 for i, m in enumerate(body.modes))


def strike(preset: Preset, v: Variation) -> tuple[Preset, dict[str, Any], bool]:
    """The preset as strike ``v`` of the bank: its loudest impact alone, starting at t = 0.

    The loudest impact moves to t = tau (the pulse's support [t - tau, t + 2 tau] then starts
    at sample 0, tau its contact time after scaling) and `workbench.edits.apply_edits` applies
    ``v``'s strength (dB), contact scale and gain jitter (`gain_jitter`).

    Returns:
        ``(preset, manifest fields, clipped)``; ``clipped``: the scaled contact time fell
        outside `workbench.specs.CONTACT_S` and was clipped into it.
    """
    ref = loudest_impact(preset)
    tau = ref.contact_s * v.contact_scale
    clipped = not specs.CONTACT_S.contains(tau)
    one = preset.replace(impacts=[{"time_s": float(specs.CONTACT_S.clip(tau)), "contact_s": ref.contact_s,
                                   "magnitude": ref.magnitude}])
    p = apply_edits(one, Edits(impact_pattern="single", strength_db=v.strength_db, contact_scale=v.contact_scale,
                               modes=gain_jitter(preset, v.seed)))
    hit = p.impacts[0]
    return p, {"strength_db": v.strength_db, "magnitude": hit.magnitude, "contact_s": hit.contact_s,
               "contact_scale": v.contact_scale, "seed": v.seed}, clipped


def _readme(preset: Preset, manifest: dict, room: dict | None, warnings_: list[str], notes: list[str]) -> str:
    sr = manifest["sample_rate"]
    lines = [f"# Habitat export of \"{preset.name}\"", "",
             f"A bank of {len(manifest['files'])} dry impact sounds ({sr} Hz, mono) for habitat-sim's audio "
             "sensor (RLRAudioPropagation). Habitat has no impact synthesis: convolve a WAV with the sensor's "
             "impulse response, `out = scipy.signal.fftconvolve(wav, ir[channel])`, per event.", "",
             "## Files", "",
             "* `wavs/*.wav`: one strike each, starting at t = 0, rendered without room reverb "
             f"({manifest['parts']}); absolute levels kept (32-bit float unless asked otherwise).",
             "* `manifest.json`: object, material label, file, sample rate and strike parameters "
             "(strength dB re the preset's loudest impact, impulse magnitude, contact duration s, seed).",
             "* `export.json`: machine-readable record of this export."]
    if room is not None:
        lines += ["* `habitat_materials.json`: RLR material config with the fitted room "
                  f"(`{room['labels']}`); load with `audio_sensor.setAudioMaterialsJSON(path)`, set "
                  "`enableMaterials`, and use a scene with a semantic mesh (labels match category names). "
                  "Or merge the entry into your `mp3d_material_config.json`.", "",
                  "## Room material", "",
                  f"Eyring, `alpha = 1 - exp(-0.161 V / (S T60))`, V = {room['room_volume_m3']:g} m³, "
                  f"S = {room['room_area_m2']:g} m² (`--room-volume`, `--room-area`).", "",
                  "| band (Hz) | fitted T60 (s) | absorption |", "|---|---|---|"]
        lines += [f"| {f:g} | {t:.3f} | {a:.3f} |" for f, t, a in zip(room["bands_hz"], room["t60_s"],
                                                                       room["absorption"])]
    lines.append("")
    if warnings_:
        lines += ["## Warnings", ""] + [f"* {w}" for w in warnings_] + [""]
    if notes:
        lines += ["## Notes", ""] + [f"* {n}" for n in notes] + [""]
    return "\n".join(lines)


def write_habitat(preset: Preset, folder: Path, *, sample_rate: int = DEFAULT_SAMPLE_RATE,
                  variations: int = DEFAULT_VARIATIONS, duration_s: float | None = None,
                  room_volume_m3: float | None = None, room_area_m2: float | None = None,
                  labels=DEFAULT_LABELS, subtype: str = "FLOAT", include_noise: bool = False,
                  ) -> tuple[list[str], list[str], list[str], dict[str, Any]]:
    """Write a Habitat export into an (empty, temporary) ``folder``.

    Args:
        preset: The preset.
        folder: Where to write.
        sample_rate: WAV rate in Hz (16000-96000; Habitat's default is 44100).
        variations: Number of WAVs (see `variation_grid`).
        duration_s: Length of each WAV (default: the preset's duration).
        room_volume_m3, room_area_m2: Room for Eyring (defaults 60 m³, 94 m²).
        labels: Semantic categories the room material applies to.
        subtype: ``FLOAT`` (default, no clipping), ``PCM_24`` or ``PCM_16``.
        include_noise: Keep the recording's background noise in the WAVs.

    Returns:
        ``(files, warnings, notes, target_record)``; the caller writes ``export.json``.

    Raises:
        WorkbenchError: a bad option (named) or a preset with no modes.
    """
    from ..rendering import render_batch

    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) \
            or not specs.SAMPLE_RATE.contains(sample_rate):
        raise WorkbenchError(f"sample_rate (--sample-rate): {sample_rate!r} is not a whole number of Hz in "
                             "[16000, 96000] (Habitat uses 44100 by default; 16000 and 48000 are common)")
    sample_rate = int(sample_rate)
    if isinstance(variations, bool) or not isinstance(variations, (int, np.integer)) \
            or not 1 <= variations <= MAX_VARIATIONS:
        raise WorkbenchError(f"variations (--variations): {variations!r} is not a whole number in "
                             f"[1, {MAX_VARIATIONS}]")
    duration = float(preset.duration_s if duration_s is None else duration_s)
    if not (math.isfinite(duration) and 0.01 <= duration <= 600):
        raise WorkbenchError(f"duration_s (--duration): {duration_s!r} is outside [0.01, 600] s")
    if subtype not in ("FLOAT", "PCM_24", "PCM_16"):
        raise WorkbenchError(f"subtype: {subtype!r} is not one of FLOAT, PCM_24, PCM_16")
    if not preset.object.modes:
        raise WorkbenchError(f"preset {preset.name!r}: object has no modes; there is no impact sound to export")
    volume = DEFAULT_ROOM_VOLUME_M3 if room_volume_m3 is None else room_volume_m3
    area = DEFAULT_ROOM_AREA_M2 if room_area_m2 is None else room_area_m2
    _check_room(volume, area)      # before rendering: a bad option fails fast

    warnings_: list[str] = []
    notes: list[str] = []
    nyquist = sample_rate / 2
    for role, body in (("object", preset.object), ("tool", preset.tool)):
        high = [m.freq_hz for m in (body.modes if body else ()) if m.freq_hz >= nyquist]
        if high:
            warnings_.append(f"{role}: {len(high)} mode(s) at or above {nyquist:g} Hz are silent at {sample_rate} Hz")
    if all(m.freq_hz >= nyquist for m in preset.object.modes):
        raise WorkbenchError(f"sample_rate (--sample-rate): every object mode is at or above {nyquist:g} Hz; "
                             f"nothing would be audible at {sample_rate} Hz")

    slug = slugify(preset.name, default="preset")
    label = material_class(preset.material) or slugify(preset.material, default="unknown")
    parts = Parts(noise=include_noise, reverb=False)
    has_residual = preset.residual is not None and preset.residual.enabled
    parts_text = ("object + tool" + (" + residual" if has_residual else "") + " + contact click"
                  + (" + background noise" if include_noise else "") + ", no room")
    strikes = [strike(preset, v) for v in variation_grid(int(variations))]
    clipped = sum(c for _, _, c in strikes)
    if clipped:
        warnings_.append(f"{clipped} strike(s): contact duration clipped to [{specs.CONTACT_S.minimum:g}, "
                         f"{specs.CONTACT_S.maximum:g}] s")
    files: list[str] = []
    entries = []
    chunk = max(1, int(4_000_000 // max(1, duration * sample_rate)))

    def rendered():
        for lo in range(0, len(strikes), chunk):
            batch = strikes[lo:lo + chunk]
            audio = render_batch([p for p, _, _ in batch], duration_s=duration, sample_rate=sample_rate,
                                 parts=parts, device="cpu").cpu().numpy()
            yield from zip(batch, audio)

    # Headroom: one gain for the whole bank (the velocities keep their relative levels),
    # so that its loudest file peaks at HEADROOM_DBFS at most; measured in a first pass.
    top = max(float(np.max(np.abs(y))) for _, y in rendered())
    bank_gain = min(1.0, HEADROOM_PEAK / top) if top > 0 else 1.0
    if bank_gain < 1.0:
        notes.append(f"level: the bank was lowered by {-20 * math.log10(bank_gain):.1f} dB so that its loudest "
                     f"strike peaks at {HEADROOM_DBFS:g} dBFS (manifest: level_gain_db)")
    for (_, params, _), y in rendered():
        y = y * bank_gain
        i = len(entries)
        peak = float(np.max(np.abs(y)))
        if peak > 1.0 and subtype != "FLOAT":
            warnings_.append(f"wavs/{slug}_v{i:02d}.wav: peak {peak:.2f} exceeds full scale; {subtype} clips "
                             "(use the default FLOAT)")
        name = f"wavs/{slug}_v{i:02d}.wav"
        write_file(folder, name, encode_wav(y, sample_rate, subtype=subtype), files)
        entries.append({"file": name, "object": preset.name, "material_label": label,
                        "sample_rate": sample_rate, "n_samples": int(y.size), "duration_s": y.size / sample_rate,
                        **params, "peak_dbfs": round(20 * math.log10(max(peak, 1e-12)), 2)})

    room = None
    room_file = None
    if preset.reverb.enabled:
        config, room = materials_json(preset, volume_m3=volume, area_m2=area, labels=labels)
        room["labels"] = config["materials"][1]["labels"]
        check_materials(config)
        room_file = "habitat_materials.json"
        write_file(folder, room_file, json_bytes(config, name=room_file), files)
        missing = [n for n, v in (("volume", room_volume_m3), ("area", room_area_m2)) if v is None]
        if missing:
            notes.append(f"room: Eyring used the default {' and '.join(missing)} (a 5 x 4 x 3 m room: "
                         f"{DEFAULT_ROOM_VOLUME_M3:g} m³, {DEFAULT_ROOM_AREA_M2:g} m²); set --room-volume and "
                         "--room-area to the recording room's")
    else:
        notes.append("room: the preset's reverb is disabled, so no habitat_materials.json was written")
        if room_volume_m3 is not None or room_area_m2 is not None:
            warnings_.append("room_volume_m3/room_area_m2: ignored, the preset's reverb is disabled")

    manifest = {"schema": "impact-workbench/habitat-bank", "version": 1, "object": preset.name,
                "material_label": label, "rlr_material_hint": RLR_MATERIAL_HINTS.get(label),
                "sample_rate": sample_rate, "parts": parts_text, "room_materials_file": room_file,
                "level_gain_db": round(20 * math.log10(bank_gain), 3), "files": entries}
    write_file(folder, "manifest.json", json_bytes(manifest, name="manifest.json"), files)
    write_file(folder, "README.md", _readme(preset, manifest, room, warnings_, notes).encode("utf-8"), files)
    record = {"sample_rate": sample_rate, "n_wavs": len(entries), "subtype": subtype, "parts": parts_text,
              "grid": {"strengths_db": list(STRENGTHS_DB), "contact_scales": list(CONTACT_SCALES),
                       "seed_gain_spread": learn_variation(preset).describe()},
              "manifest_file": "manifest.json", "room_materials_file": room_file, "room": room}
    return files, warnings_, notes, record
