"""Chunked uploads, accounted on every chunk (no UI): `UploadLedger`.

The browser's drop zone (Panel's FileDropper) sends a file as numbered chunks,
``{name, chunk (1-based), total_chunks, data, type}`` with ``total_chunks =
ceil((size + 1) / chunk_size)`` and every chunk but the last exactly ``chunk_size``
bytes. Panel's own dropper trusts all of it: it appends whatever arrives, so a client
that announced 2 chunks and then sent 95 more with another total buffered 1.5 GB.
`UploadLedger.receive` checks each chunk before it is kept:

* the size announced by chunk 1 (``(total_chunks - 1) x chunk_size``) and the bytes
  received so far are within ``max_bytes`` (`workbench.budgets.UPLOAD_BYTES`, or
  ``workbench serve --max-upload-mb``);
* chunks arrive in order (1, 2, ... total_chunks) with the total announced by chunk 1,
  each ``chunk_size`` bytes but the last; anything else is a lie and refuses the file;
* at most `MAX_PARTIAL_FILES` files are half-received in one session (one idle for
  `STALE_S` makes way for a new one), with at most ``2 x max_bytes`` buffered over them,
  and at most ``4 x max_bytes`` over every session of the process.

A refused file's buffered chunks are dropped at once and its later chunks ignored,
until a new chunk 1 of that name starts it over. A chunk whose data Bokeh refused to
inflate (`RefusedBytes`, see `workbench.app.wire`) refuses its file with that reason.

Example:
    >>> ledger = UploadLedger(max_bytes=10, chunk_size=4)
    >>> ledger.receive({"name": "a.wav", "chunk": 1, "total_chunks": 2, "data": b"RIFF"}).kind
    'partial'
    >>> ledger.receive({"name": "a.wav", "chunk": 2, "total_chunks": 2, "data": b"!"}).payload
    b'RIFF!'
    >>> print(ledger.receive({"name": "b.wav", "chunk": 1, "total_chunks": 9, "data": b"RIFF"}).reason)
    b.wav: about 32 bytes announced (9 chunks) is over the upload limit of 10 bytes
"""

from __future__ import annotations

import dataclasses
import threading
import time
import weakref
from typing import Any

from ..budgets import UPLOADS_IN_FLIGHT

#: Files one session may have half-received at once (`workbench.budgets.UPLOADS_IN_FLIGHT`).
MAX_PARTIAL_FILES = UPLOADS_IN_FLIGHT.limit
#: Longest accepted file name (characters).
MAX_NAME_CHARS = 255
#: A half-received file with no chunk for this long (s) is dropped when another needs its place.
STALE_S = 60.0


class RefusedBytes(bytes):
    """Empty bytes standing for data that was refused before it was decoded; ``reason`` says why."""

    reason: str = ""

    @classmethod
    def because(cls, reason: str) -> "RefusedBytes":
        out = cls(b"")
        out.reason = reason
        return out


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one chunk did: ``kind`` is partial, done (``payload``), refused (``reason``) or ignored."""

    kind: str
    name: str = ""
    payload: bytes | None = None
    reason: str = ""


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n} bytes"


@dataclasses.dataclass
class _Partial:
    total: int
    parts: list = dataclasses.field(default_factory=list)
    received: int = 0
    last: float = dataclasses.field(default_factory=time.monotonic)


_LEDGERS: "weakref.WeakSet[UploadLedger]" = weakref.WeakSet()
_LEDGERS_LOCK = threading.Lock()


def buffered_bytes() -> int:
    """Bytes of half-received uploads held by every live ledger of this process."""
    with _LEDGERS_LOCK:
        return sum(ledger.buffered for ledger in list(_LEDGERS))


class UploadLedger:
    """The chunks of one drop zone's uploads, checked and buffered until each file is complete.

    Args:
        max_bytes: Largest file accepted (bytes).
        chunk_size: Bytes per chunk the browser sends (the dropper's ``chunk_size``).
    """

    def __init__(self, max_bytes: int, chunk_size: int):
        self.max_bytes, self.chunk_size = int(max_bytes), int(chunk_size)
        self._partial: dict[str, _Partial] = {}
        self._refused: set[str] = set()
        self._lock = threading.Lock()
        with _LEDGERS_LOCK:
            _LEDGERS.add(self)

    @property
    def buffered(self) -> int:
        """Bytes of half-received files held now."""
        return sum(p.received for p in list(self._partial.values()))

    @property
    def partial_names(self) -> list[str]:
        return list(self._partial)

    def discard(self, name: str) -> None:
        """Forget a file (the user removed it from the drop zone)."""
        with self._lock:
            self._partial.pop(name, None)
            self._refused.discard(name)

    def clear(self) -> None:
        with self._lock:
            self._partial.clear()
            self._refused.clear()

    def _refuse(self, name: str, reason: str) -> Outcome:
        self._partial.pop(name, None)          # its chunks go at once
        self._refused.add(name)
        return Outcome("refused", name, reason=f"{name}: {reason}")

    def receive(self, event: Any) -> Outcome:
        """Check and keep one chunk (an upload event's ``data`` dict)."""
        if not isinstance(event, dict) or not isinstance(event.get("name"), str) or not event["name"]:
            return Outcome("refused", "upload", reason="upload: a chunk without a file name was refused")
        name = event["name"][:MAX_NAME_CHARS]
        chunk, total, data = event.get("chunk"), event.get("total_chunks"), event.get("data")
        with self._lock:
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (chunk, total)) \
                    or not 1 <= chunk <= total:
                return self._refuse(name, f"chunk {chunk!r} of {total!r} is not a chunk number")
            if chunk == 1:                       # a new upload of this name starts over
                self._partial.pop(name, None)
                self._refused.discard(name)
            elif name in self._refused:
                return Outcome("ignored", name)
            if isinstance(data, RefusedBytes):
                return self._refuse(name, f"refused before decoding: {data.reason}")
            if isinstance(data, (bytearray, memoryview)):
                data = bytes(data)
            if not isinstance(data, bytes):
                return self._refuse(name, f"chunk {chunk} holds {type(data).__name__}, not bytes")
            return self._keep(name, chunk, total, data)

    def _keep(self, name: str, chunk: int, total: int, data: bytes) -> Outcome:
        announced = (total - 1) * self.chunk_size
        if announced > self.max_bytes:
            return self._refuse(name, f"about {_size(announced)} announced ({total} chunks) is over the "
                                      f"upload limit of {_size(self.max_bytes)}")
        part = self._partial.get(name)
        if chunk > 1 and (part is None or chunk != len(part.parts) + 1 or total != part.total):
            expected = "chunk 1" if part is None else f"chunk {len(part.parts) + 1} of {part.total}"
            return self._refuse(name, f"chunk {chunk} of {total} arrived where {expected} was due "
                                      "(inconsistent upload)")
        if len(data) > self.chunk_size or (chunk < total and len(data) != self.chunk_size):
            return self._refuse(name, f"chunk {chunk} of {total} holds {_size(len(data))}, not the "
                                      f"{_size(self.chunk_size)} chunk size (inconsistent upload)")
        if chunk == 1:
            now = time.monotonic()
            for stale in [n for n, p in self._partial.items() if now - p.last > STALE_S]:
                del self._partial[stale]          # an upload the browser gave up on
            if len(self._partial) >= MAX_PARTIAL_FILES:
                return self._refuse(name, f"{len(self._partial)} other uploads are still arriving; "
                                          f"send at most {MAX_PARTIAL_FILES} files at once")
            part = self._partial[name] = _Partial(total=total)
        if part.received + len(data) > self.max_bytes:
            return self._refuse(name, f"{_size(part.received + len(data))} received is over the upload "
                                      f"limit of {_size(self.max_bytes)}")
        if self.buffered + len(data) > 2 * self.max_bytes:
            return self._refuse(name, "too much is arriving at once in this session; send fewer files at a time")
        if buffered_bytes() + len(data) > 4 * self.max_bytes:
            return self._refuse(name, "the server is receiving too many uploads at once; try again in a moment")
        part.parts.append(data)
        part.received += len(data)
        part.last = time.monotonic()
        if chunk < total:
            return Outcome("partial", name)
        del self._partial[name]
        return Outcome("done", name, payload=b"".join(part.parts))
