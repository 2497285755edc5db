"""The dashboard's cache of derived data: bounded by bytes, and dying with what it derives from.

Process-wide ``functools.lru_cache``s keyed by recordings (detections: 128 entries, mono
mixes: 64) held every recording they had seen: after two large uploads the server
stayed at 6.2 GB minutes after both sessions had closed. `DERIVED` replaces them: one
`workbench.memo.ByteLRU` of `workbench.budgets.SERVER_CACHE_BYTES` over all sessions,
each entry filed under an *owner* (the recording or sound it was derived from) that it
never keeps alive: a weak reference drops the owner's entries the moment it is freed,
and `DerivedCache.drop` drops them at once (a session closing). Entries with no owner
(decoded files named on the command line) are shared and leave by LRU only.

Example:
    >>> import numpy as np
    >>> cache, sound = DerivedCache(max_bytes=10_000), np.ones(100)
    >>> float(cache.get_or(sound, "double", lambda: sound * 2).sum()), len(cache)
    (200.0, 1)
    >>> del sound; len(cache)
    0
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, Hashable

from ..budgets import SERVER_CACHE_BYTES
from ..memo import ByteLRU
from ..memo import nbytes as _nbytes


class _Sized:
    """A cached value and the bytes it is counted as (`workbench.memo.nbytes` reads ``nbytes``)."""

    __slots__ = ("value", "nbytes")

    def __init__(self, value: Any, size: int):
        self.value, self.nbytes = value, int(size)


class DerivedCache:
    """Values derived from owners (recordings, sounds), at most ``max_bytes`` in all (thread-safe)."""

    def __init__(self, max_bytes: int):
        self._lru = ByteLRU(max_bytes)
        self._owners: dict[int, weakref.finalize] = {}
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return self._lru.nbytes

    @property
    def max_bytes(self) -> int:
        return self._lru.max_bytes

    def __len__(self) -> int:
        return len(self._lru)

    def keys(self) -> list:
        return list(self._lru)

    def get_or(self, owner: Any, key: Hashable, make: Callable[[], Any], *,
               size: Callable[[Any], int] = _nbytes) -> Any:
        """The value of ``key`` derived from ``owner`` (None: shared), computing it with ``make()``.

        Args:
            size: The bytes a value counts as (default `workbench.memo.nbytes`, which
                counts arrays; give one for tuples of numbers and other small values).
        """
        oid = None if owner is None else id(owner)
        full = (oid, key)
        entry = self._lru.get_or(full, lambda: _Sized(v := make(), size(v)))
        if oid is not None and full in self._lru:
            with self._lock:
                if oid not in self._owners:
                    self._owners[oid] = weakref.finalize(owner, self._forget, oid)
        return entry.value

    def _forget(self, oid: int) -> None:
        with self._lock:
            self._owners.pop(oid, None)
        self._lru.drop_where(lambda k: k[0] == oid)

    def drop(self, owner: Any) -> None:
        """Drop every entry derived from ``owner`` now."""
        with self._lock:
            fin = self._owners.pop(id(owner), None)
        if fin is not None:
            fin.detach()
        self._forget(id(owner))

    def clear(self) -> None:
        with self._lock:
            for fin in self._owners.values():
                fin.detach()
            self._owners.clear()
        self._lru.clear()


#: The server's cache: mono mixes, detections, spectrogram images, decoded command-line files.
DERIVED = DerivedCache(SERVER_CACHE_BYTES.limit)
