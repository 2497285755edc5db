"""Guards on the Bokeh wire protocol and event dispatch, installed by `workbench serve`.

Bokeh decodes a client's message before any application code sees it, so the per-chunk
checks of `workbench.app.uploads` come too late for two of its paths, and Panel runs
some events outside the document lock. `install` adds three narrow hooks, each one
method wide with the original signature and the original behaviour within the budget
(process-wide; idempotent; the dashboard server is the only Bokeh server in its process):

* **Inline bytes** - a ``{"type": "bytes", "data": "<base64>"}`` value is gunzipped by
  `bokeh.core.serialization.Deserializer._decode_bytes` with `gzip.decompress`, with no
  limit: a 1.4 MB message became 1 GB before anything could look at it. BokehJS never
  sends inline bytes to a server (its messages carry binary buffers), so only a crafted
  client does. The replacement inflates with ``zlib.decompressobj().decompress(data,
  max_length)``, at most the message budget over all inline values of one message; past
  it the value decodes to an empty `workbench.app.uploads.RefusedBytes` carrying the
  reason, so the session stays up and the drop zone says why the file was refused.
* **Binary buffers** - a message header announces ``num_buffers`` and Bokeh's receiver
  keeps every buffer until that count is reached, each as large as the websocket allows.
  `bokeh.protocol.message.Message.assemble_buffer` is wrapped to raise `ProtocolError`
  (Bokeh then closes that connection) once one message's buffers pass the budget.
* **Event lock** - Panel hands a Bokeh event (an upload chunk, a button click) that
  arrives while a property change of the page is pending to a next-tick callback that it
  runs *without* the document lock (`panel.io.server.async_execute` unlocks every
  callback lacking a ``lock`` attribute). A handler that then changed a Bokeh model
  directly (a plot's data source) made Bokeh raise "RuntimeError: _pending_writes should
  be non-None when we have a document lock". `install` marks
  `panel.reactive.Syncable._event_coroutine` ``lock = True`` (as `panel.io.with_lock`
  does), so these events run with the lock like every other session callback.
"""

from __future__ import annotations

import base64
import binascii
import zlib

from .uploads import RefusedBytes

#: Bytes one client message may carry (inline values inflated, or binary buffers), set by `install`.
_STATE = {"max_bytes": 8 * 2**20, "installed": False}


def message_budget() -> int:
    """Bytes one client message may carry now."""
    return int(_STATE["max_bytes"])


def inflate_bounded(packed: bytes, limit: int) -> bytes | None:
    """Gunzip ``packed`` (one or more gzip members); None when the output would pass ``limit`` bytes.

    Raises:
        zlib.error: not gzip data.
    """
    out, rest = [], packed
    while rest:
        z = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        chunk = z.decompress(rest, limit + 1)
        out.append(chunk)
        limit -= len(chunk)
        if limit < 0 or z.unconsumed_tail:
            return None
        if not z.eof:
            raise zlib.error("truncated gzip data")
        rest = z.unused_data
    return b"".join(out)


def _decode_bytes(self, obj):
    data = obj["data"]
    if not isinstance(data, str):
        return _ORIGINAL["decode_bytes"](self, obj)
    budget = message_budget()
    used = getattr(self, "_wb_inflated", 0)
    try:
        out = inflate_bounded(base64.b64decode(data), budget - used)
    except (binascii.Error, zlib.error, ValueError) as err:
        self.error(f"invalid inline bytes ({err})")
    if out is None:
        self._wb_inflated = budget
        return RefusedBytes.because(f"its compressed data would inflate past the limit of "
                                    f"{budget / 2**20:.1f} MB per message")
    self._wb_inflated = used + len(out)
    return out


def _assemble_buffer(self, buf_header, buf_payload):
    total = getattr(self, "_wb_buffered", 0) + len(buf_payload)
    if total > message_budget():
        from bokeh.protocol.exceptions import ProtocolError

        raise ProtocolError(f"message buffers over the limit of {message_budget()} bytes")
    self._wb_buffered = total
    return _ORIGINAL["assemble_buffer"](self, buf_header, buf_payload)


_ORIGINAL: dict = {}


def install(max_message_bytes: int) -> None:
    """Bound what one client message may carry to ``max_message_bytes`` and lock Panel's events."""
    from bokeh.core.serialization import Deserializer
    from bokeh.protocol.message import Message
    from panel.reactive import Syncable

    _STATE["max_bytes"] = int(max_message_bytes)
    if _STATE["installed"]:
        return
    _ORIGINAL["decode_bytes"] = Deserializer._decode_bytes
    _ORIGINAL["assemble_buffer"] = Message.assemble_buffer
    Deserializer._decode_bytes = _decode_bytes
    Message.assemble_buffer = _assemble_buffer
    Syncable._event_coroutine.lock = True
    _STATE["installed"] = True
