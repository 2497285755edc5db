"""Tool/object labels for source-separating joint fits (DiffImpact Sec. 4.3).

Labels come from a CSV (``file,tool,object[,material]``), a dict keyed by clip name
or file name, or file names of the form ``<anything>_<tool>_on_<object>`` (the
DiffImpact robot clips: ``robot_steelfork_on_steelbowl.wav`` is a steel fork striking
a steel bowl; the rule is `workbench.names.tool_object`).

Example:
    >>> label_from_name("robot_steelfork_on_ceramicmug.wav")
    ClipLabel(tool='steelfork', object='ceramicmug', material='ceramic')
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import WorkbenchError
from ..names import material_word, tool_object


@dataclass(frozen=True)
class ClipLabel:
    """Which tool struck which object in one clip."""

    tool: str | None
    object: str
    material: str = ""


def label_from_name(name: str) -> ClipLabel:
    """Parse ``*_<tool>_on_<object>``; raises `WorkbenchError` for other names."""
    pair = tool_object(name)
    if pair is None:
        raise WorkbenchError(f"{name}: cannot read tool/object labels from the file name "
                             "(expected '<...>_<tool>_on_<object>'); pass a labels CSV instead")
    return ClipLabel(pair[0], pair[1], material_word(pair[1]))


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
                                                row.get("material") or material_word(row["object"]))
    return out


def resolve_labels(labels, clips) -> list[ClipLabel]:
    """One label per clip from a CSV path, a dict or ``"names"``.

    A dict or CSV is looked up by the clip's file name, its name, that name's stem,
    then the file's stem; values are `ClipLabel` or ``(tool or None, object)`` tuples.

    Raises:
        WorkbenchError: a clip without a label (named), a name that holds none, bad ``labels``.
    """
    if isinstance(labels, str) and labels == "names":
        return [label_from_name(c.path or c.name) for c in clips]
    if isinstance(labels, (str, os.PathLike)):
        labels = read_labels_csv(labels)
    if not isinstance(labels, dict):
        raise WorkbenchError("labels: expected a CSV path, a dict or 'names'")
    out = []
    for c in clips:
        files = (Path(c.path).name, Path(c.path).stem) if c.path else ()
        keys = dict.fromkeys((files[:1] + (c.name, Path(c.name).stem) + files[1:]))
        lab = next((labels[k] for k in keys if k in labels), None)
        if lab is None:
            raise WorkbenchError(f"labels: no label for {c.name}")
        if isinstance(lab, tuple):
            lab = ClipLabel(lab[0], lab[1], material_word(lab[1]))
        out.append(lab)
    return out
