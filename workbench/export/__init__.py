"""Export presets to simulators: ThreeDWorld (PyImpact), Habitat (RLRAudioPropagation) and Faust.

* `export` writes an export folder atomically (built next to the target, renamed when
  complete; an existing folder is replaced only with ``force=True``).
* `export_zip` returns the same folder as ZIP bytes (the dashboard's download button).
* `workbench.export.tdw`: PyImpact material table, ``Modes`` JSON, ``ObjectAudioStatic``
  record, ``play_in_tdw.py``; `workbench.export.tdw_compat`: what tdw 1.13 does and ships;
  `workbench.export.tdw_verify.round_trip` checks the export against ThreeDWorld's own
  synthesiser, in PyImpact's conventions and as the workbench plays the preset
  (``workbench/export/README.md``); `workbench.export.tdw_readme` writes the folder's README.
* `workbench.export.habitat`: dry impact WAV bank, ``manifest.json`` and an acoustic
  material for the fitted room.
* `workbench.export.faust`: a Faust ``.dsp`` of the modal model (``faust2lv2``, ``faust2vst``,
  ``faust2puredata`` ... build it into a plugin) and a reference WAV;
  `workbench.export.faust_verify` compiles it offline and checks it against our render.

Every export folder holds ``export.json`` (what was exported, from which preset, with
which options, and every warning) and a ``README.md`` saying how to use it.

Example::

    from workbench.export import export, export_zip
    result = export("presets/demo.json", to="tdw", output="out/demo_tdw")
    data = export_zip("presets/demo.json", to="habitat", sample_rate=16000, variations=3)
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import WorkbenchError
from ..names import slugify
from .common import (EXPORT_SCHEMA, EXPORT_VERSION, ExportResult, as_preset, atomic_directory, json_bytes,
                     preset_digest, write_file, zip_directory)

#: Export targets.
TARGETS = ("tdw", "habitat", "faust")
#: Options each target accepts (keyword arguments of `export`).
OPTIONS = {
    "tdw": ("peak_db",),
    "habitat": ("sample_rate", "variations", "duration_s", "room_volume_m3", "room_area_m2", "labels",
                "subtype", "include_noise"),
    "faust": ("sample_rate", "include_noise", "include_residual"),
}

__all__ = ["OPTIONS", "TARGETS", "ExportResult", "export", "export_zip"]


#: Command-line spelling of the options (for messages).
FLAGS = {"sample_rate": "--sample-rate", "variations": "--variations", "duration_s": "--duration",
         "room_volume_m3": "--room-volume", "room_area_m2": "--room-area"}


def _check(to: str, options: dict[str, Any]) -> dict[str, Any]:
    if to not in TARGETS:
        raise WorkbenchError(f"to (--to): {to!r} is not an export target; choose one of {', '.join(TARGETS)}")
    given = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(given) - set(OPTIONS[to]))
    if unknown:
        names = ", ".join(f"{k} ({FLAGS[k]})" if k in FLAGS else k for k in unknown)
        other = [t for t in TARGETS if t != to and set(unknown) <= set(OPTIONS[t])]
        hint = f"; it applies to --to {other[0]} only" if other else ""
        if to == "tdw" and "sample_rate" in unknown:
            hint += " (PyImpact always plays at 44100 Hz)"
        raise WorkbenchError(f"{names}: not an option of the {to} export{hint}")
    return given


def export(preset, *, to: str, output: str | os.PathLike, force: bool = False, **options) -> ExportResult:
    """Export a preset for a simulator into the folder ``output``.

    Args:
        preset: A `workbench.Preset` or the path of a preset JSON file.
        to: ``"tdw"`` (ThreeDWorld PyImpact), ``"habitat"`` (habitat-sim audio) or ``"faust"``
            (a Faust ``.dsp`` to build plugins from).
        output: The export folder to create.
        force: Replace ``output`` if it exists (only once the new export is complete).
        options: Target options, see `OPTIONS`, `workbench.export.tdw.write_tdw`,
            `workbench.export.habitat.write_habitat` and `workbench.export.faust.write_faust`.
            ``None`` values mean "default".

    Returns:
        An `ExportResult` (folder, files, warnings, notes, the ``export.json`` record).

    Raises:
        WorkbenchError: bad preset or option, nothing playable, or ``output`` exists
            (without ``force``). Nothing is left behind on any error.
    """
    given = _check(to, options)
    preset, source = as_preset(preset)
    from ..version import __version__

    output = Path(output)
    try:
        return _export(preset, source, to, output, force, given, __version__)
    except OSError as e:      # disk full, permissions: one clear line (nothing was left behind)
        raise WorkbenchError(f"{output}: could not write the export ({e.strerror or e})") from e


def _export(preset, source, to, output: Path, force: bool, given: dict[str, Any], version: str) -> ExportResult:
    with atomic_directory(output, force=force) as tmp:
        if to == "tdw":
            from .tdw import write_tdw
            files, warnings_, notes, record = write_tdw(preset, tmp, **given)
        elif to == "habitat":
            from .habitat import write_habitat
            files, warnings_, notes, record = write_habitat(preset, tmp, **given)
        else:
            from .faust import write_faust
            files, warnings_, notes, record = write_faust(preset, tmp, **given)
        files = files + ["export.json"]
        full = {
            "schema": EXPORT_SCHEMA, "version": EXPORT_VERSION, "target": to,
            "workbench_version": version,
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "preset": {"name": preset.name, "material": preset.material, "source": source,
                       "sha256": preset_digest(preset)},
            "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in given.items()},
            "files": sorted(files), "warnings": warnings_, "notes": notes, to: record,
        }
        write_file(tmp, "export.json", json_bytes(full, name="export.json"), [])
    return ExportResult(path=output, target=to, files=sorted(files), warnings=warnings_, notes=notes, record=full)


def export_zip(preset, *, to: str, **options) -> bytes:
    """The export of ``preset`` as ZIP bytes (files under ``<preset>_<target>/``).

    Args:
        preset: A `workbench.Preset` or a preset path.
        to: ``"tdw"``, ``"habitat"`` or ``"faust"``.
        options: As for `export`.

    Raises:
        WorkbenchError: as `export`.
    """
    preset, _ = as_preset(preset)
    root = f"{slugify(preset.name, default='preset')}_{to}"
    with tempfile.TemporaryDirectory(prefix="workbench-export-") as tmp:
        result = export(preset, to=to, output=Path(tmp) / root, **options)
        return zip_directory(result.path, root=root)
