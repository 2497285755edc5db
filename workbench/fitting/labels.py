"""Tool/object labels for source-separating joint fits (DiffImpact Sec. 4.3).

Labels come from a CSV (``file,tool,object[,material]``), a dict, or file names of the
form ``<anything>_<tool>_on_<object>`` (the DiffImpact robot clips:
``robot_steelfork_on_steelbowl.wav`` is a steel fork striking a steel bowl).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import WorkbenchError

_NAME = re.compile(r"(?:^|_)(?P<tool>[A-Za-z0-9-]+)_on_(?P<object>[A-Za-z0-9-]+)$")
# Material words recognised in object names, for the presets' `material` field.
_MATERIALS = ("steel", "metal", "iron", "bronze", "brass", "ceramic", "porcelain", "glass", "wood",
              "plastic", "polycarbonate", "stone", "rubber", "cardboard", "paper")


@dataclass(frozen=True)
class ClipLabel:
    """Which tool struck which object in one clip."""

    tool: str | None
    object: str
    material: str = ""


def material_of(name: str) -> str:
    """The first material word in a name (``steelbowl`` -> ``steel``), else ''."""
    low = name.lower()
    return next((m for m in _MATERIALS if m in low), "")


def label_from_name(name: str) -> ClipLabel:
    """Parse ``*_<tool>_on_<object>``; raises `WorkbenchError` for other names."""
    m = _NAME.search(Path(name).stem)
    if not m:
        raise WorkbenchError(f"{name}: cannot read tool/object labels from the file name "
                             "(expected '<...>_<tool>_on_<object>'); pass a labels CSV instead")
    return ClipLabel(m["tool"], m["object"], material_of(m["object"]))


def read_labels_csv(path: str | os.PathLike) -> dict[str, ClipLabel]:
    """Read ``file,tool,object[,material]`` rows (header required); keys are file names."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        raise WorkbenchError(f"{path}: no such labels file") from None
    if not rows or not {"file", "object"} <= set(rows[0]):
        raise WorkbenchError(f"{path}: a labels CSV needs a header with at least 'file' and 'object' "
                             "(and optionally 'tool', 'material')")
    out = {}
    for k, row in enumerate(rows, start=2):
        if not row.get("file") or not row.get("object"):
            raise WorkbenchError(f"{path}: line {k}: 'file' and 'object' must not be empty")
        out[Path(row["file"]).name] = ClipLabel(row.get("tool") or None, row["object"],
                                                row.get("material") or material_of(row["object"]))
    return out


def resolve_labels(labels, clips) -> list[ClipLabel]:
    """One label per clip from a CSV path, a dict, or ``"names"``."""
    if isinstance(labels, str) and labels == "names":
        return [label_from_name(c.path or c.name) for c in clips]
    if isinstance(labels, (str, os.PathLike)):
        labels = read_labels_csv(labels)
    if not isinstance(labels, dict):
        raise WorkbenchError("labels: expected a CSV path, a dict or 'names'")
    out = []
    for c in clips:
        key = Path(c.path).name if c.path else c.name
        lab = labels.get(key, labels.get(Path(key).stem))
        if lab is None:
            raise WorkbenchError(f"labels: no label for {key}")
        if isinstance(lab, tuple):
            lab = ClipLabel(lab[0], lab[1], material_of(lab[1]))
        out.append(lab)
    return out
