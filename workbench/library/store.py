"""The results store of a library build: one file per finished fit, keyed by what it depends on.

A fit's key is a hash of the bytes of its recording(s), their channels and labels, every
fit setting (`workbench.fitting.settings.FitSettings`) and the workbench version. Its
record (the fitted presets, their thumbnails, the distance, the time and the worker)
lies in ``<out>/.fits/<key>.fit`` (JSON; not ``.json``, so that tools listing the
library's presets do not take it for one), written atomically: by the worker that ran
the fit where it sees that folder, and by the client otherwise. A build skips every key
already there, so a build that was killed and started again redoes nothing that
finished. Failed fits are not stored: the next build tries them again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from ..atomic import atomic_write_bytes
from ..errors import WorkbenchError
from ..version import __version__

STORE_DIR = ".fits"
SUFFIX = ".fit"


def fit_key(kind: str, clips: list[dict], settings: dict) -> str:
    """Key of a fit: ``kind`` (``single``/``group``), each clip's ``sha256``/``channel``/``label``,
    the fit settings and the workbench version."""
    what = {"kind": kind, "settings": settings, "workbench": __version__,
            "clips": [{k: c.get(k) for k in ("sha256", "channel", "label")} for c in clips]}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:40]


def record_path(folder: str | Path, key: str) -> Path:
    return Path(folder) / f"{key}{SUFFIX}"


def read_record(folder: str | Path, key: str) -> dict | None:
    """The stored record of ``key``, or None (absent or unreadable: fitted again)."""
    try:
        record = json.loads(record_path(folder, key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("key") == key else None


def write_record(folder: str | Path, record: dict) -> Path:
    """Write ``record`` atomically under its key."""
    data = json.dumps(record, separators=(",", ":")).encode("utf-8")
    return atomic_write_bytes(record_path(folder, record["key"]), data)


class ResultStore:
    """``<out>/.fits``: the records of the fits that finished."""

    def __init__(self, out: str | Path):
        self.folder = Path(out).absolute() / STORE_DIR

    def get(self, key: str) -> dict | None:
        return read_record(self.folder, key)

    def path(self, key: str) -> Path:
        return record_path(self.folder, key)

    def ensure(self, record: dict) -> Path:
        """The record's file: written now unless a worker already wrote it."""
        path = self.path(record["key"])
        return path if read_record(self.folder, record["key"]) is not None else write_record(self.folder, record)

    @contextlib.contextmanager
    def open(self):
        """Create the store, refuse a second build writing into it, remove temp files a killed one left."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "a+b") as fh:
            try:
                import fcntl
            except ImportError:       # not POSIX: no lock
                fcntl = None
            if fcntl is not None:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise WorkbenchError(f"{self.folder.parent}: another library build is writing into "
                                         "this folder; wait for it or choose another -o") from None
            for tmp in self.folder.glob(f".*{SUFFIX}.*.tmp"):
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            yield self
