"""Presets on disk: the library folder the dashboard saves to and loads from, and exports.

Example:
    >>> import tempfile
    >>> from workbench.presets import Preset
    >>> bell = Preset(name="bell", sample_rate=44100, object={"modes": [{"freq_hz": 440, "t60_s": 2, "gain_db": 0}]},
    ...               impacts=[{"time_s": 0.01, "contact_s": 5e-4, "magnitude": 1}])
    >>> lib = PresetLibrary(tempfile.mkdtemp())
    >>> lib.save(bell, "Bell, v1.2").name, lib.names(), lib.load("Bell_v1.2").name
    ('Bell_v1.2.json', ['Bell_v1.2'], 'Bell, v1.2')
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from ..errors import WorkbenchError
from ..names import slugify
from ..presets import Preset, load_preset, preset_path_for, save_preset

#: The repository's preset library (the shipped presets, the demo's fit among them).
REPO_PRESETS = Path(__file__).resolve().parents[2] / "presets"


def default_presets_dir() -> Path:
    """``$WORKBENCH_PRESETS`` if set, else the repository's ``presets/`` (else ./presets)."""
    env = os.environ.get("WORKBENCH_PRESETS")
    if env:
        return Path(env)
    return REPO_PRESETS if REPO_PRESETS.is_dir() else Path.cwd() / "presets"


def file_stem(name: str) -> str:
    """The file-safe stem a preset called ``name`` is saved under ('' when nothing is left)."""
    return slugify(name, lowercase=False, keep="._-", max_length=80)


def download_names(preset_name: str, recording: str = "") -> dict[str, str]:
    """File names of a preset's downloads: ``json``, ``wav`` (its edited sound), ``tdw``, ``habitat``, ``faust``.

    The WAV is ``<stem>_edited.wav`` and never ``recording``'s file name (case aside), so a
    download cannot overwrite the source recording in the same folder.

    Example:
        >>> download_names("steel bowl")["wav"], download_names("x", "X_edited.wav")["wav"]
        ('steel_bowl_edited.wav', 'x_edited-2.wav')
    """
    stem = file_stem(preset_name) or "preset"
    wav = f"{stem}_edited.wav"
    if wav.lower() == Path(recording).name.lower():
        wav = f"{stem}_edited-2.wav"
    return {"json": f"{stem}.json", "wav": wav, "tdw": f"{stem}_tdw.zip", "habitat": f"{stem}_habitat.zip",
            "faust": f"{stem}_faust.zip"}


class PresetLibrary:
    """The presets folder: ``*.json`` files (also in sub-folders), named by relative path."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def names(self) -> list[str]:
        """Relative paths of the presets without ``.json``, sorted."""
        if not self.folder.is_dir():
            return []
        return sorted(str(p.relative_to(self.folder).with_suffix(""))
                      for p in self.folder.rglob("*.json") if not p.name.startswith("."))

    def path(self, name: str) -> Path:
        """The file of preset ``name``; raises `WorkbenchError` outside the folder."""
        path = (self.folder / f"{name}.json").resolve()
        if self.folder.resolve() not in path.parents:
            raise WorkbenchError(f"preset {name!r}: not inside the presets folder {self.folder}")
        return path

    def load(self, name: str) -> Preset:
        return load_preset(self.path(name))

    def save(self, preset: Preset, name: str, *, tags: Sequence[str] = (), material: str = "") -> Path:
        """Save under ``name``; returns the path: `file_stem` of the name, suffixed ``-2``,
        ``-3``... when another preset's name has the same stem (`workbench.presets.preset_path_for`)."""
        if not file_stem(name):
            raise WorkbenchError("preset name: give the preset a name (letters, digits, - or _)")
        tags = tuple(t.strip() for t in tags if t and t.strip())
        preset = preset.replace(name=name.strip(), tags=list(tags), material=material.strip())
        return save_preset(preset, preset_path_for(self.folder, name.strip()))


def export_status() -> tuple[bool, str]:
    """(available, reason): whether `workbench.export.export_zip` is importable."""
    try:
        from ..export import export_zip  # noqa: F401
    except ImportError as err:
        return False, f"exporter not installed ({err})"
    return True, ""


def export_zip(preset: Preset, to: str) -> bytes:
    """The zip of ``preset`` exported for ``to`` (``tdw``, ``habitat`` or ``faust``)."""
    try:
        from ..export import export_zip as export
    except ImportError as err:
        raise WorkbenchError(f"export: the exporter is not installed ({err})") from None
    return export(preset, to=to)
