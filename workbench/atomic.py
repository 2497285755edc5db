"""Atomic file writes: a temp file in the same folder, fsync, then a rename.

Readers never see a half-written preset, WAV or PNG, and a write that fails (disk
full, ``kill -9``) leaves the previous file untouched. A file that is replaced keeps
its permission bits; a new one gets ``0o666 & ~umask``, as ``open()`` would give it.
A write that the system refuses raises `WorkbenchError` naming the file and the reason.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write_text(folder / "a.txt", "hello").read_text()
    'hello'
"""

from __future__ import annotations

import functools
import os
import stat
import tempfile
from pathlib import Path

from .errors import WorkbenchError


def _umask_from_proc() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


@functools.lru_cache(maxsize=1)
def _umask_by_setting() -> int:
    # Setting the umask is the only portable way to read it (racy with other threads),
    # so it is done once per process, only where /proc is missing.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def current_umask() -> int:
    """The process's umask (``/proc/self/status`` where available, else read once by setting it)."""
    mask = _umask_from_proc()
    return _umask_by_setting() if mask is None else mask


def _target_mode(path: Path) -> int:
    """Permission bits for ``path``: an existing regular file's own, else ``0o666 & ~umask``."""
    try:
        st = os.stat(path)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    return 0o666 & ~current_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same folder and a rename; returns the path.

    Raises:
        WorkbenchError: the folder cannot be created or written, the path is a folder,
            the disk is full...: the message names ``path`` and the system's reason.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = _target_mode(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise WorkbenchError(f"{path}: cannot write the file ({err.strerror or err})") from None
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """`atomic_write_bytes` of UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))
