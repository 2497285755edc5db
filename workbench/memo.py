"""Caches bounded by bytes, not by entry count.

`functools.lru_cache(maxsize=32)` of a table whose size grows with the signal length
holds 32 tables of whatever length came last: a few long renders and a process keeps
gigabytes. `ByteLRU` and `bytes_cache` evict least-recently-used entries until the
cached arrays fit ``max_bytes``; a value larger than the whole budget is returned
but not kept. Sizes are measured with `nbytes` (numpy arrays, torch tensors,
and tuples/lists/dicts of them), so the bound is the memory held, whatever the input.

Example:
    >>> import numpy as np
    >>> cache = ByteLRU(max_bytes=1000)
    >>> a = cache.get_or("a", lambda: np.zeros(100))      # 800 bytes
    >>> b = cache.get_or("b", lambda: np.zeros(100))      # evicts "a"
    >>> list(cache), cache.nbytes
    (['b'], 800)
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable


def nbytes(value: Any) -> int:
    """Bytes held by an array, tensor, bytes, or a tuple/list/dict of them (else 0)."""
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value)
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    size = getattr(value, "nbytes", None)            # numpy, torch >= 2.1
    if isinstance(size, int):
        return size
    if hasattr(value, "element_size") and hasattr(value, "numel"):
        return int(value.element_size() * value.numel())
    return 0


class ByteLRU:
    """A least-recently-used cache holding at most ``max_bytes`` of values (thread-safe).

    Args:
        max_bytes: The most bytes kept; 0 keeps nothing.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.RLock()
        self.nbytes = 0

    def __contains__(self, key) -> bool:
        return key in self._items

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def get_or(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The cached value of ``key``, or ``make()`` (kept if it fits the budget)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        value = make()
        self.put(key, value)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key``, evicting the least recently used entries to fit."""
        size = nbytes(value)
        with self._lock:
            self.pop(key)
            if size > self.max_bytes:
                return
            self._items[key] = (value, size)
            self.nbytes += size
            while self.nbytes > self.max_bytes:
                _, (_, old) = self._items.popitem(last=False)
                self.nbytes -= old

    def pop(self, key: Hashable) -> Any:
        """Drop ``key`` (no error if absent); returns its value or None."""
        with self._lock:
            item = self._items.pop(key, None)
            if item is None:
                return None
            self.nbytes -= item[1]
            return item[0]

    def drop_where(self, predicate: Callable[[Hashable], bool]) -> int:
        """Drop every entry whose key satisfies ``predicate``; returns how many."""
        with self._lock:
            keys = [k for k in self._items if predicate(k)]
            for k in keys:
                self.pop(k)
            return len(keys)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.nbytes = 0


def bytes_cache(max_bytes: int) -> Callable:
    """Decorator: memoise a function of hashable arguments in a `ByteLRU` of ``max_bytes``.

    The wrapper has ``cache`` (the `ByteLRU`) and ``cache_clear()``, like `functools.lru_cache`.
    """

    def decorate(fn: Callable) -> Callable:
        cache = ByteLRU(max_bytes)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            key = args + tuple(sorted(kwargs.items())) if kwargs else args
            return cache.get_or(key, lambda: fn(*args, **kwargs))

        wrapper.cache = cache
        wrapper.cache_clear = cache.clear
        return wrapper

    return decorate
