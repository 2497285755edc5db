"""A preset library fitted from a folder of recordings.

`build_library` fits every recording in a folder and writes one preset per file under
``<out>/<material>/`` (the material from the manifest, else guessed from the name of the
struck object, `workbench.names.guess_material`; clips of the same name get ``-2``, ``-3``...),
plus, for clips named ``*_<tool>_on_<object>``, a joint fit with tool/object separation
(DiffImpact Sec. 4.3): one preset per clip with both modal banks and one tool-free object
preset per object. A thumbnail spectrogram per preset and a
generated ``README.md`` table list the library. Re-running it regenerates everything.

Metadata (material, license, description) come from a ``MANIFEST.md`` markdown table in
the source folder when there is one (as in ``shared/data/real_impacts``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from .atomic import atomic_write_bytes
from .audio import AUDIO_SUFFIXES
from .errors import WorkbenchError
from .fitting import fit
from .names import guess_material, material_family, tool_object, unique_name
from .plots import plot_spectrogram, save_figure
from .presets import Preset, save_preset

# DiffImpact's impact-hammer files carry the hammer's force sensor on channel 1.
FORCE_SENSOR_PREFIX = "hammer_"
_ROW = re.compile(r"^\|\s*`(?P<file>[^`]+)`\s*\|(?P<rest>.*)\|\s*$")


@dataclass
class LibraryEntry:
    """One preset of the library."""

    path: Path
    preset: Preset
    family: str
    kind: str            # "single" | "separated" | "object"
    thumbnail: Path
    license: str = ""


def read_manifest(folder: str | Path) -> dict[str, dict[str, str]]:
    """Rows of the ``MANIFEST.md`` table in ``folder``, keyed by relative file path (empty if absent).

    The table's header row starts with ``file``; data rows name their file in backticks,
    ``| `sub/clip.wav` | metal (steel) | ... |``. Each row maps every header to its cell.
    """
    manifest = Path(folder) / "MANIFEST.md"
    if not manifest.is_file():
        return {}
    header, rows = None, {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None and cells and cells[0] == "file":
            header = cells
            continue
        m = _ROW.match(line)
        if header and m:
            rows[m["file"]] = dict(zip(header, [m["file"]] + [c.strip() for c in m["rest"].split("|")]))
    return rows


def _thumbnail(preset: Preset, path: Path) -> Path:
    from .rendering import render

    fig = Figure(figsize=(3.2, 1.6), layout="constrained")
    ax = fig.add_subplot()
    audio = render(preset, device="cpu")
    plot_spectrogram(ax, audio, preset.sample_rate, vmin=-100, vmax=0, max_freq_hz=min(16000, preset.sample_rate / 2))
    ax.set_xlabel("time (s)", fontsize=6)
    ax.set_ylabel("kHz", fontsize=6)
    ax.tick_params(labelsize=5)
    return save_figure(fig, path, dpi=80)


def build_library(source: str | Path, out: str | Path = "presets", *, steps: int = 250, n_modes: int = 48,
                  separate: bool = True, log=print) -> list[LibraryEntry]:
    """Fit every recording in ``source`` and write the library into ``out``.

    Args:
        source: Folder of recordings (searched recursively), optionally with MANIFEST.md.
        out: Library folder; presets go to ``out/<material>/``.
        steps, n_modes: Fit settings.
        separate: Also run the joint tool/object separation over ``*_<tool>_on_<object>`` clips.
        log: Progress messages go here.

    Returns:
        The library entries (also listed in ``out/README.md``).
    """
    source, out = Path(source), Path(out)
    files = sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise WorkbenchError(f"{source}: no recordings (.wav, .flac, .ogg, .mp3) found")
    manifest = read_manifest(source)
    entries: list[LibraryEntry] = []

    def meta(path: Path) -> dict[str, str]:
        return manifest.get(path.relative_to(source).as_posix(), {})

    taken: dict[str, list[str]] = {}     # file stems written per family folder in this run

    def add(preset: Preset, family: str, kind: str, license_: str) -> None:
        stem = unique_name(preset.name, taken.setdefault(family, []))   # same-named clips: -2, -3...
        taken[family].append(stem)
        path = save_preset(preset, out / family / f"{stem}.json")
        thumb = _thumbnail(preset, out / family / "thumbs" / f"{stem}.png")
        entries.append(LibraryEntry(path, preset, family, kind, thumb, license_))

    for path in files:
        info = meta(path)
        material = info.get("material", "") or guess_material(path.name)   # the object's, not the tool's
        channel = 0 if path.name.startswith(FORCE_SENSOR_PREFIX) else None
        t0 = time.perf_counter()
        try:
            result = fit(path, steps=steps, n_modes=n_modes, channel=channel)
        except WorkbenchError as err:
            log(f"skipped {path.name}: {err}")
            continue
        family = material_family(material)
        preset = result.preset.replace(
            material=family, tags=tuple(t for t in (material, info.get("tier", "")) if t),
            provenance={**result.preset.provenance, "source": path.relative_to(source).as_posix(),
                        "license": info.get("license", "see source folder"),
                        "description": info.get("object / description", "")})
        add(preset, family, "single", info.get("license", ""))
        log(f"{path.name}: distance {result.distance:.3f} in {time.perf_counter() - t0:.1f} s")

    labelled = [p for p in files if tool_object(p.name)]
    if separate and len(labelled) >= 2:
        t0 = time.perf_counter()
        result = fit([str(p) for p in labelled], labels="names", steps=steps, n_modes=n_modes)
        log(f"tool/object separation over {len(labelled)} clips: mean distance {result.distance:.3f} "
            f"in {time.perf_counter() - t0:.1f} s")
        seen_objects = set()
        for path, preset in zip(labelled, result.presets):
            info = meta(path)
            family = material_family(info.get("material", "") or preset.material)
            _, obj_name = tool_object(path.name)
            prov = {**preset.provenance, "source": path.relative_to(source).as_posix(),
                    "license": info.get("license", "see source folder"), "separation": "joint tool/object fit"}
            add(preset.replace(name=f"{path.stem}_separated", material=family, provenance=prov),
                family, "separated", info.get("license", ""))
            if obj_name not in seen_objects:
                seen_objects.add(obj_name)
                obj = preset.replace(name=f"{obj_name}_object", tool=None, material=family,
                                     tags=(obj_name, "object only"),
                                     provenance={**prov, "note": f"object modes shared by every clip of {obj_name}"})
                add(obj, family, "object", info.get("license", ""))
    write_index(entries, out)
    return entries


def write_index(entries: list[LibraryEntry], out: Path) -> Path:
    """The library table, ``out/README.md``."""
    lines = ["# Preset library", "",
             "Generated by `workbench library ../shared/data/real_impacts -o presets` (see `workbench/library.py`);",
             "do not edit by hand. Each preset is fitted from a real recording; `single` = one recording fitted "
             "alone, `separated` = joint tool/object fit over the DiffImpact robot clips (tool and object modes), "
             "`object` = the object's modes from that joint fit, without the tool. Distance is the normalised "
             "spectral distance of the fit to its recording (0 identical, 1 no better than noise).", "",
             "| preset | material | kind | object modes | tool modes | fit distance | source | license | spectrogram |",
             "|---|---|---|---|---|---|---|---|---|"]
    for e in sorted(entries, key=lambda e: (e.family, e.kind, e.preset.name)):
        p = e.preset
        rel = e.path.relative_to(out)
        thumb = e.thumbnail.relative_to(out)
        dist = p.provenance.get("distance")
        lines.append(f"| [`{p.name}`]({rel}) | {e.family} | {e.kind} | {len(p.object.modes)} | "
                     f"{len(p.tool.modes) if p.tool else 0} | {dist if dist is not None else '-'} | "
                     f"`{p.provenance.get('source', '')}` | {e.license or '-'} | ![]({thumb}) |")
    return atomic_write_bytes(out / "README.md", ("\n".join(lines) + "\n").encode("utf-8"))
