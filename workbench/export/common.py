"""Shared pieces of the exporters: atomic export folders, strict JSON, the preset and its digest.

An export is a folder. It is assembled in a hidden temporary folder next to the
target (``.<name>.partial-<pid>-<random>``) and renamed into place only when every file
is written, so a failure (or Ctrl-C) never leaves a half-written export behind: the
temporary folder is removed and an existing target (``force=True``) is left as it was.
A process killed outright (``kill -9``) cannot clean up; the next export into the same
folder removes such leftovers (`clean_stale_partials`).
Names and material classes come from `workbench.names`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
import secrets
import shutil
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..errors import WorkbenchError
from ..presets import Impact, Preset, load_preset

#: Version of the ``export.json`` record written into every export folder.
EXPORT_SCHEMA = "impact-workbench/export"
EXPORT_VERSION = 1
#: A temporary export folder this old (s, by its modification time) is stale even when
#: its process seems alive (its pid may have been reused); exports take seconds.
STALE_PARTIAL_S = 3600.0
#: ``.<name>.partial-<pid>-<8 hex>`` (older versions wrote ``.<name>.partial-<8 hex>``).
_PARTIAL = re.compile(r"^\..+\.partial-(?:(?P<pid>\d+)-)?[0-9a-f]{8}$")


@dataclass
class ExportResult:
    """What an export wrote.

    Attributes:
        path: The export folder.
        target: ``"tdw"``, ``"habitat"`` or ``"faust"``.
        files: Paths of the written files, relative to ``path`` (POSIX style).
        warnings: Problems that were fixed by dropping or clamping (also in ``export.json``).
        notes: Informational lines (choices made, e.g. which 10 modes PyImpact gets).
        record: The ``export.json`` content.
    """

    path: Path
    target: str
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)


def as_preset(preset) -> tuple[Preset, str | None]:
    """A `Preset` and its source path (``None`` when given as an object).

    Raises:
        WorkbenchError: not a preset or a readable preset file.
    """
    if isinstance(preset, Preset):
        return preset, None
    if isinstance(preset, (str, os.PathLike)):
        return load_preset(preset), str(preset)
    raise WorkbenchError(f"preset: expected a Preset or a path, got {type(preset).__name__}")


def loudest_impact(preset: Preset) -> Impact:
    """The impact with the largest magnitude (the earliest of equals): what a single strike exports."""
    return max(preset.impacts, key=lambda i: (i.magnitude, -i.time_s))


def preset_digest(preset: Preset) -> str:
    """SHA-256 (hex) of the preset's canonical JSON: identifies exactly what was exported."""
    text = json.dumps(preset.to_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _finite(obj: Any, where: str) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        raise WorkbenchError(f"{where}: refusing to write a non-finite number ({obj!r}) into an export")
    if isinstance(obj, dict):
        return {k: _finite(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    return obj


def json_bytes(obj: Any, *, name: str = "json") -> bytes:
    """Indented UTF-8 JSON; NaN/inf refused (strict JSON readers reject them).

    Raises:
        WorkbenchError: a non-finite number; the message names ``name`` and the key.
    """
    return (json.dumps(_finite(obj, name), indent=2, allow_nan=False) + "\n").encode("utf-8")


def write_file(folder: Path, relative: str, data: bytes, written: list[str]) -> Path:
    """Write ``data`` to ``folder/relative`` (flushed to disk) and record the name."""
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    written.append(relative)
    return path


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (on this machine)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0      # another user's process (or a pid too large to exist)
    return True


def clean_stale_partials(folder: str | os.PathLike, *, max_age_s: float = STALE_PARTIAL_S) -> list[Path]:
    """Remove the temporary export folders in ``folder`` left by killed exports; returns them.

    A ``.<name>.partial-<pid>-<random>`` folder is stale when its process is gone or it is
    older than ``max_age_s`` (s); one without a pid (older versions) only by age. Errors
    are ignored: cleaning up never stops an export.
    """
    removed: list[Path] = []
    try:
        candidates = [p for p in Path(folder).iterdir() if _PARTIAL.match(p.name)]
    except OSError:
        return removed
    now = time.time()
    for path in candidates:
        try:
            if path.is_symlink() or not path.is_dir():
                continue
            pid = _PARTIAL.match(path.name)["pid"]
            old = now - path.stat().st_mtime > max_age_s
        except OSError:
            continue
        if old or (pid is not None and not _alive(int(pid))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _new_sibling(target: Path, tag: str) -> Path:
    for _ in range(100):
        candidate = target.parent / f".{target.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            candidate.mkdir()        # honours the umask, unlike tempfile.mkdtemp's 0o700
            return candidate
        except FileExistsError:
            continue
        except OSError as e:
            raise WorkbenchError(f"{target.parent}: cannot write the export there ({e.strerror or e})") from None
    raise WorkbenchError(f"{target}: could not create a temporary folder next to it")


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike, *, force: bool = False) -> Iterator[Path]:
    """Build a folder atomically: yields a temporary sibling, renamed to ``target`` on success.

    Args:
        target: The folder to create.
        force: Replace ``target`` if it is an existing folder (only once the new one is
            complete; on failure the old folder is kept).

    Raises:
        WorkbenchError: ``target`` exists and ``force`` is false, or it exists and is not a
            folder, or its parent cannot be created.
    """
    target = Path(target)
    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink():
            raise WorkbenchError(f"{target}: exists and is not a folder; choose another output folder")
        if not force:
            raise WorkbenchError(f"{target}: the output folder already exists (use --force to replace it)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WorkbenchError(f"{target.parent}: cannot create the output's parent folder ({e.strerror})") from None
    clean_stale_partials(target.parent)
    tmp = _new_sibling(target, "partial")
    try:
        yield tmp
        backup = None
        if target.exists():
            backup = target.parent / f".{target.name}.old-{secrets.token_hex(4)}"
            os.replace(target, backup)
        try:
            os.replace(tmp, target)
        except BaseException:
            if backup is not None:
                os.replace(backup, target)
            raise
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def zip_directory(folder: str | os.PathLike, *, root: str | None = None) -> bytes:
    """The files of ``folder`` as ZIP bytes, stored under ``root/`` (default: the folder's name)."""
    folder = Path(folder)
    root = root or folder.name
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            zf.write(path, f"{root}/{path.relative_to(folder).as_posix()}")
    return buf.getvalue()
