"""What a session does with the sound map (no UI): `MapActions`, the map half of `AppState`.

* `library_map` - the library folder's `workbench.soundmap.SoundMap`, built once per
  folder and process (sessions share it) and rebuilt when a preset file changes; the
  build also warms UMAP's transform (numba compiles it on first use).
* `MapActions.map_load` (a tapped point), `map_export` (a zip of the selected presets'
  exports), `map_joint_fit` (the selected presets' source recordings loaded and selected
  for a joint fit), `map_placement` (the shown recording's fit on the map, with the
  presets it sounds like).
* Source recordings are looked up by the presets' ``provenance["source"]`` (relative to a
  recordings folder: `recording_roots`) or, by file name, among the session's recordings.
"""

from __future__ import annotations

import io
import os
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..data import DATA_DIR
from ..errors import WorkbenchError
from ..soundmap import Neighbour, SoundMap, build_map, library_files
from .preset_library import REPO_PRESETS, export_zip, file_stem

#: The shared recordings the shipped library was fitted from (``workbench library``).
SHARED_RECORDINGS = REPO_PRESETS.parent.parent / "shared" / "data" / "real_impacts"
#: Recordings whose first channel is the sound (the second a force sensor), as the library fits them.
FORCE_SENSOR_PREFIX = "hammer_"

_MAPS: dict[str, tuple[tuple, SoundMap]] = {}
_LOCK = threading.Lock()


def _signature(folder: Path) -> tuple:
    try:
        return tuple((key, p.stat().st_mtime_ns, p.stat().st_size) for key, p in library_files(folder))
    except (OSError, WorkbenchError):      # no folder, or no preset in it: nothing to cache
        return ()


def library_map(folder: str | os.PathLike, *, seed: int = 0) -> SoundMap:
    """The sound map of preset folder ``folder`` (cached per folder; see the module docstring).

    Raises:
        WorkbenchError: no presets in the folder (`workbench.soundmap.build_map`).
    """
    folder = Path(folder).resolve()
    with _LOCK:       # one build per folder, however many sessions ask at once
        signature = _signature(folder)
        cached = _MAPS.get(str(folder))
        if cached is not None and cached[0] == signature:
            return cached[1]
        sound_map = build_map(folder, seed=seed)
        if len(sound_map):
            from ..presets import load_preset

            sound_map.place(load_preset(folder / f"{sound_map.keys[0]}.json"))      # compile the transform now
        _MAPS[str(folder)] = (signature, sound_map)
        return sound_map


def cached_library_map(folder: str | os.PathLike) -> SoundMap | None:
    """The map of ``folder`` if it is built and current, else None (never builds)."""
    folder = Path(folder).resolve()
    cached = _MAPS.get(str(folder))
    return cached[1] if cached is not None and cached[0] == _signature(folder) else None


def recording_roots() -> list[Path]:
    """Folders searched for a preset's source recording: ``$WORKBENCH_RECORDINGS`` (``os.pathsep``
    separated), the shared recordings beside the repository, the bundled recordings."""
    env = [Path(p) for p in os.environ.get("WORKBENCH_RECORDINGS", "").split(os.pathsep) if p]
    return [*env, SHARED_RECORDINGS, DATA_DIR]


def find_recording(source: str, roots: Sequence[Path]) -> Path | None:
    """The file of provenance ``source`` under one of ``roots`` (as a relative path, else by file name)."""
    if not source or Path(source).is_absolute() or ".." in Path(source).parts:
        return None
    for root in roots:
        for candidate in (root / source, root / Path(source).name):
            if candidate.is_file():
                return candidate
    return None


class MapActions:
    """`AppState`'s sound-map methods (mixed into it; they use its parameters and methods)."""

    def sound_map(self) -> SoundMap:
        """The library's map (built on first call per folder: seconds; then cached)."""
        return library_map(self.presets_dir)

    def map_load(self, key: str):
        """Load the tapped point's preset into the workbench (`load_library_preset`)."""
        return self.load_library_preset(key)

    def map_placement(self, sound_map: SoundMap, k: int = 5) -> tuple[np.ndarray, list[Neighbour], str] | None:
        """(where the shown recording's fit lands, its ``k`` nearest presets, its label), or None when unfitted."""
        item = self.recording_state
        if item is None or item.record is None:
            return None
        preset = item.record.preset
        try:
            return sound_map.place(preset), sound_map.nearest(preset, k), f"fit of {self.current}"
        except WorkbenchError as err:
            self.notify("error", f"sound map: {err}")
            return None

    def map_export(self, keys: Sequence[str], to: str) -> bytes:
        """A zip of the presets ``keys`` exported for ``to`` (``tdw``, ``habitat``, ``faust``), one folder each.

        Raises:
            WorkbenchError: nothing selected, a preset that does not load or export.
        """
        if not keys:
            raise WorkbenchError("export: select presets on the map first (lasso or box select)")
        buf, stems = io.BytesIO(), set()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
            for key in keys:
                preset = self.presets.load(key)
                stem, i = file_stem(preset.name) or "preset", 2
                while stem in stems:
                    stem, i = f"{file_stem(preset.name) or 'preset'}-{i}", i + 1
                stems.add(stem)
                with zipfile.ZipFile(io.BytesIO(export_zip(preset, to))) as one:
                    for member in one.infolist():
                        if not member.is_dir():
                            out.writestr(f"{stem}_{to}/{member.filename}", one.read(member))
        return buf.getvalue()

    def map_joint_fit(self, keys: Sequence[str]) -> list[str]:
        """Load the source recordings of presets ``keys`` (or find them among the session's) and select
        them for a joint fit; returns the recordings selected. What is missing is notified."""
        sources, missing = [], []
        for key in keys:
            try:
                source = str(self.presets.load(key).provenance.get("source", ""))
            except WorkbenchError as err:
                missing.append(f"{key} ({err})")
                continue
            if source and Path(source).name in self.names():
                sources.append((Path(source).name, None))
                continue
            path = find_recording(source, recording_roots())
            if path is None:
                why = f"its source {source!r} is not" if source else "it records no source recording"
                missing.append(f"{key} ({why} in {', '.join(str(r) for r in recording_roots())} "
                               "or this session's recordings)")
            else:
                sources.append((path.name, path))
        chosen: list[str] = []
        for name, path in dict(sources).items():      # one recording per source file
            if path is not None and name not in self.names():
                added = self.add_files([path])
                if not added:
                    continue
                name = added[0].name
                item = self.state_of(name)
                if name.startswith(FORCE_SENSOR_PREFIX) and item is not None and item.recording.n_channels > 1:
                    self.select(name)
                    self.channel = 0
            if self.state_of(name) is not None and name not in chosen:
                chosen.append(name)
        if not chosen:
            self.notify("error", "joint fit: no source recording found for " + "; ".join(missing or list(keys)))
            return []
        self.select(chosen[0])
        self.param.update(selection=list(chosen), joint=len(chosen) > 1)
        what = (f"{len(chosen)} recordings selected for a joint fit: {', '.join(chosen)}; press Fit"
                if len(chosen) > 1 else f"{chosen[0]} selected (a joint fit needs two or more); press Fit")
        self.notify("warning" if missing else "success",
                    what + (f" (not found: {'; '.join(missing)})" if missing else ""))
        return chosen
