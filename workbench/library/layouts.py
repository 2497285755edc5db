"""What a folder of recordings holds: its layout, one `ClipSource` per recording, the joint groups.

Three layouts are told apart from the folder's shape (`detect_layout`):

* ``folder`` - any folder, searched recursively; a preset per file named after its stem;
  tool/object labels from ``*_<tool>_on_<object>`` names (`workbench.names.tool_object`).
* ``diffimpact`` - DiffImpact's ``data/robot/<tool>-<object>/<timestamp>.wav`` (its
  ``data/hammer/*.wav`` too): the labels come from the folder name (``steel-fork-ceramic-mug``:
  tool ``steelfork``, object ``ceramicmug``; the words split in half) and the preset is named
  ``<stem>_<tool>_on_<object>``; ``hammer/`` files carry the force sensor on channel 1.
* ``realimpact`` - RealImpact's per-object folders ``<id>_<ObjectName>/`` (``3_CeramicKoiBowl``)
  holding recordings: the material is guessed from the object's name and the preset is
  named ``<ObjectName>_<stem>``. (RealImpact ships its recordings as ``.npy`` arrays; this
  layout reads them once written out as audio files per object folder.)

Metadata (material, license, description) come from a ``MANIFEST.md`` table in the source
folder when there is one (as in ``shared/data/real_impacts``), else the material is guessed
from what was struck (`workbench.names.guess_material`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..audio import AUDIO_SUFFIXES, file_sha256
from ..errors import WorkbenchError
from ..names import guess_material, tool_object

# DiffImpact's impact-hammer files carry the hammer's force sensor on channel 1.
FORCE_SENSOR_PREFIX = "hammer_"
#: Clips of one (tool, object) pair that enter a joint separation fit (the rest are fitted
#: alone only): the joint fit's memory and time grow with its clips, and one clip per pair
#: already ties every tool to every object it struck.
JOINT_CLIPS_PER_PAIR = 1
LAYOUTS = ("folder", "diffimpact", "realimpact")

_ROW = re.compile(r"^\|\s*`(?P<file>[^`]+)`\s*\|(?P<rest>.*)\|\s*$")
_REALIMPACT_OBJECT = re.compile(r"^(?P<id>\d+)_(?P<name>[A-Za-z][A-Za-z0-9_-]*)$")


@dataclass(frozen=True)
class ClipSource:
    """One recording of the source folder and how the library fits and files it.

    Attributes:
        path: The file.
        rel: Its path relative to the source folder (POSIX), as the manifest and presets cite it.
        name: The preset's name.
        material: Free-text material of what was struck (manifest, else guessed; may be '').
        channel: Channel fitted (None: mix down).
        label: ``(tool, object)`` for the joint separation fit, or None.
        info: The file's ``MANIFEST.md`` row (empty if none).
        sha256: Hash of the file's bytes (part of the key of its fit).
        size: File size in bytes.
    """

    path: Path
    rel: str
    name: str
    material: str
    channel: int | None
    label: tuple[str, str] | None
    info: dict = field(default_factory=dict, compare=False)
    sha256: str = ""
    size: int = 0


@dataclass
class Scan:
    """The recordings of a source folder: ``clips`` to fit, ``skipped`` ``(rel, reason)`` pairs."""

    source: Path
    layout: str
    clips: list[ClipSource]
    skipped: list[tuple[str, str]]


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


def _audio_files(source: Path) -> list[Path]:
    return sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def _diffimpact_pair(path: Path) -> tuple[str, str] | None:
    """(tool, object) of a file in DiffImpact's ``robot/<tool>-<object>/`` folder, else None."""
    if path.parent.parent.name != "robot":
        return None
    words = [w for w in path.parent.name.lower().split("-") if w]
    if len(words) < 2 or not all(re.fullmatch(r"[a-z0-9]+", w) for w in words):
        return None
    half = len(words) // 2
    return "".join(words[:half]), "".join(words[half:])


def _realimpact_object(path: Path, source: Path) -> str | None:
    """The object name of a file under a top-level ``<id>_<Name>/`` folder of ``source``, else None."""
    parts = path.relative_to(source).parts
    m = _REALIMPACT_OBJECT.match(parts[0]) if len(parts) > 1 else None
    return m["name"] if m else None


def detect_layout(source: str | Path, files: list[Path] | None = None) -> str:
    """``diffimpact`` when any recording lies in a ``robot/<tool>-<object>/`` folder,
    ``realimpact`` when every one lies under a top-level ``<id>_<Name>/`` folder, else ``folder``."""
    source = Path(source)
    files = _audio_files(source) if files is None else files
    if any(_diffimpact_pair(p) for p in files):
        return "diffimpact"
    if files and all(_realimpact_object(p, source) for p in files):
        return "realimpact"
    return "folder"


def scan(source: str | Path) -> Scan:
    """Every recording of ``source`` (recursively) as a `ClipSource`, in path order.

    Hidden files (``._clip.wav`` from macOS copies) are skipped, with the reason.

    Raises:
        WorkbenchError: ``source`` is not a folder, or holds no recordings.
    """
    source = Path(source)
    if not source.is_dir():
        raise WorkbenchError(f"{source}: not a folder of recordings")
    found = _audio_files(source)
    skipped = [(p.relative_to(source).as_posix(), "hidden file") for p in found
               if any(part.startswith(".") for part in p.relative_to(source).parts)]
    files = [p for p in found if not any(part.startswith(".") for part in p.relative_to(source).parts)]
    if not files:
        raise WorkbenchError(f"{source}: no recordings ({', '.join(AUDIO_SUFFIXES)}) found")
    layout = detect_layout(source, files)
    manifest = read_manifest(source)
    clips = []
    for path in files:
        rel = path.relative_to(source).as_posix()
        info = manifest.get(rel, {})
        name, label, channel = path.stem, tool_object(path.name), None
        if layout == "diffimpact" and (pair := _diffimpact_pair(path)):
            name, label = f"{path.stem}_{pair[0]}_on_{pair[1]}", pair
        elif layout == "diffimpact" and path.parent.name == "hammer":
            name = f"{FORCE_SENSOR_PREFIX}{path.stem}"
        elif layout == "realimpact":
            name = f"{_realimpact_object(path, source)}_{path.stem}"
        if name.startswith(FORCE_SENSOR_PREFIX):
            channel = 0
        struck = path.relative_to(source).parts[0] if layout == "realimpact" else name   # names the object
        material = info.get("material", "") or guess_material(struck)
        clips.append(ClipSource(path=path, rel=rel, name=name, material=material, channel=channel, label=label,
                                info=info, sha256=file_sha256(path), size=path.stat().st_size))
    return Scan(source=source, layout=layout, clips=clips, skipped=skipped)


def joint_groups(clips: list[ClipSource], per_pair: int = JOINT_CLIPS_PER_PAIR) -> list[list[ClipSource]]:
    """The labelled clips in groups for the joint tool/object fit, each in path order.

    A group is a connected set of tools and objects (a tool that struck two objects ties
    them together); clips of a group share the tool's and the object's modes, groups
    share nothing. At most ``per_pair`` clips of each (tool, object) pair; groups of one
    clip are left out (one clip cannot tell the tool from the object).
    """
    chosen, per = [], {}
    for c in clips:
        if c.label is not None and per.get(c.label, 0) < per_pair:
            per[c.label] = per.get(c.label, 0) + 1
            chosen.append(c)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for c in chosen:
        parent[find("t:" + c.label[0])] = find("o:" + c.label[1])
    groups: dict[str, list[ClipSource]] = {}
    for c in chosen:
        groups.setdefault(find("o:" + c.label[1]), []).append(c)
    return [g for g in groups.values() if len(g) >= 2]

