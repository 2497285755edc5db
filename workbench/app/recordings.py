"""Recordings in: decoding, validation, default labels and impact detection (no UI).

* `Recording` - a loaded file with all its channels (the channel is picked later).
* `decode_recording` (uploaded bytes), `read_recording` (a path) - every bad input
  raises `WorkbenchError` with a message that starts with the file's name.
* `default_labels` - ``(tool, object)`` from the file name (`workbench.names.tool_object`).
* `RecordingState` - a loaded recording and what a session knows about it (channel,
  sensitivity, impacts, labels, fit); `workbench.app.state.AppState` keeps one each.
* `detect`, `detect_recording` - impact times over `workbench.analysis.detect_impacts`
  (guarded import: the app works while the detector is missing).

Mono mixes, detections and decoded command-line files are cached in
`workbench.app.derived.DERIVED` (bounded by bytes; an uploaded recording's entries go
with it), never in a process-wide cache that would keep closed sessions' recordings.

Example:
    >>> default_labels("robot_steelfork_on_steelbowl.wav"), default_labels("hit.wav")
    (('steelfork', 'steelbowl'), ('', ''))
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf

from ..audio import check_audio, check_decoded_size
from ..budgets import SESSION_SAMPLES, UPLOAD_BYTES
from ..errors import WorkbenchError
from ..fitting.settings import SENSITIVITY
from ..names import tool_object
from .derived import DERIVED
from .records import FitRecord

if TYPE_CHECKING:
    from ..fitting.clips import Clip

#: Default cap on one uploaded file (bytes, `workbench.budgets.UPLOAD_BYTES`); `workbench serve
#: --max-upload-mb` changes it.
DEFAULT_MAX_UPLOAD_BYTES = UPLOAD_BYTES.limit


@dataclasses.dataclass(frozen=True, eq=False)
class Recording:
    """A loaded recording: ``data`` is read-only float32 (n_samples, n_channels)."""

    name: str
    data: np.ndarray
    sample_rate: int
    source: str = ""

    @property
    def n_channels(self) -> int:
        return int(self.data.shape[1])

    @property
    def duration_s(self) -> float:
        return self.data.shape[0] / self.sample_rate

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    def mono(self, channel: int | None = None) -> np.ndarray:
        """(n_samples,) read-only float32: one channel (0-based) or, with ``None``, the mix (cached)."""
        return DERIVED.get_or(self, ("mono", channel), lambda: _mono(self, channel))


def check_session_room(held, rec: Recording) -> None:
    """Refuse ``rec`` when the recordings ``held`` by a session plus it pass `budgets.SESSION_SAMPLES`.

    Raises:
        WorkbenchError: naming the file and saying to remove a recording first.
    """
    SESSION_SAMPLES.check(sum(r.data.size for r in held) + rec.data.size,
                          what=f"{rec.name}: the session's recordings with this one",
                          hint="remove a recording, then load this one again")


def forget(rec: Recording) -> None:
    """Drop the cached mixes and detections of ``rec`` now (its session closed)."""
    DERIVED.drop(rec)


def _mono(rec: Recording, channel: int | None) -> np.ndarray:
    if channel is None:
        x = rec.data[:, 0] if rec.n_channels == 1 else rec.data.mean(axis=1)
    elif 0 <= channel < rec.n_channels:
        x = rec.data[:, channel]
    else:
        raise WorkbenchError(f"{rec.name}: channel {channel} does not exist (the file has {rec.n_channels})")
    out = check_audio(np.ascontiguousarray(x, dtype=np.float32), rec.sample_rate,
                      name=rec.name + ("" if channel is None else f" channel {channel}"))
    out.setflags(write=False)
    return out


def _fmt_mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def decode_recording(name: str, payload: bytes | str | None, *,
                     max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, source: str = "upload") -> Recording:
    """Decode an uploaded file (the bytes of a WAV/FLAC/OGG/MP3).

    Raises:
        WorkbenchError: empty, over ``max_bytes``, not audio / corrupt, more samples than
            `workbench.budgets.DECODED_SAMPLES` (read from the header, before decoding),
            no samples, silent, NaN samples, too short; the message starts with ``name``.
    """
    if isinstance(payload, str):   # FileDropper decodes text/* uploads as str
        raise WorkbenchError(f"{name}: a text file, not audio (expected WAV, FLAC, OGG or MP3)")
    size = 0 if payload is None else len(payload)
    if size == 0:
        raise WorkbenchError(f"{name}: the file is empty (0 bytes)")
    if size > max_bytes:
        raise WorkbenchError(f"{name}: {_fmt_mb(size)} is over the upload limit of {_fmt_mb(max_bytes)}")
    buf = io.BytesIO(payload)
    buf.name = name
    try:
        f = sf.SoundFile(buf)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError) as err:
        raise _unreadable(name, err) from None
    with f:
        check_decoded_size(f, name)              # from the header, before decoding
        try:                                     # a header that under-states is cut there
            data, rate = f.read(max(0, int(f.frames)), dtype="float32", always_2d=True), f.samplerate
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError) as err:
            raise _unreadable(name, err) from None
    if data.shape[0] == 0:
        raise WorkbenchError(f"{name}: the file holds no audio samples")
    data = np.ascontiguousarray(data, dtype=np.float32)
    data.setflags(write=False)
    rec = Recording(name=name, data=data, sample_rate=int(rate), source=source)
    rec.mono(None)   # validates: rate, NaN, silence, length
    return rec


def _unreadable(name: str, err: Exception) -> WorkbenchError:
    reason = re.sub(r"^Error opening .*?: ", "", str(err).strip().split("\n")[0]) or "unknown format"
    return WorkbenchError(f"{name}: not a readable audio file - expected WAV, FLAC, OGG or MP3 ({reason})")


def read_recording(path: str | os.PathLike, *, max_bytes: int | None = None) -> Recording:
    """Read an audio file from disk (all channels; cached while the file is unchanged)."""
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such file")
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise WorkbenchError(f"{path.name}: {_fmt_mb(path.stat().st_size)} is over the limit of {_fmt_mb(max_bytes)}")
    full, mtime = str(path.resolve()), path.stat().st_mtime_ns
    return DERIVED.get_or(None, ("file", full, mtime), lambda: _read(full))


def _read(path: str) -> Recording:
    p = Path(path)
    payload = p.read_bytes()
    return decode_recording(p.name, payload, max_bytes=max(len(payload), 1), source=path)


def default_labels(name: str) -> tuple[str, str]:
    """(tool, object) read from a file name like ``robot_steelfork_on_steelbowl.wav``, else ('', '')."""
    return tool_object(name) or ("", "")


def detector_status() -> tuple[bool, str]:
    """(available, reason) of the impact detector."""
    try:
        from ..analysis import detect_impacts  # noqa: F401
    except ImportError as err:
        return False, f"impact detection unavailable ({err})"
    return True, ""


def detect(audio: np.ndarray, sample_rate: int, sensitivity: float) -> list[tuple[float, float]]:
    """Detected impacts as (time_s, confidence) pairs; [] when the detector is missing."""
    try:
        from ..analysis import detect_impacts
    except ImportError:
        return []
    found = detect_impacts(np.asarray(audio, dtype=np.float32), int(sample_rate), sensitivity=float(sensitivity))
    return [(float(i.time_s), float(getattr(i, "confidence", 1.0))) for i in found]


def detect_recording(rec: Recording, channel: int | None, sensitivity: float) -> tuple[tuple[float, float], ...]:
    """`detect` on a recording's channel, cached while the recording lives (recordings are immutable)."""
    return DERIVED.get_or(rec, ("impacts", channel, float(sensitivity)),
                          lambda: tuple(detect(rec.mono(channel), rec.sample_rate, sensitivity)),
                          size=lambda found: 256 + 128 * len(found))


@dataclasses.dataclass(eq=False)
class RecordingState:
    """One loaded recording and what the session knows about it.

    Attributes:
        recording: The file (all channels).
        channel: The channel used (0-based; None: the mix of all channels).
        sensitivity: Impact detection sensitivity in [0, 1].
        impacts: Detected impacts at that channel and sensitivity: (time_s, confidence).
        tool, object: Labels for a tool/object-separating fit ('' : none).
        record: Its latest fit (None: unfitted).
    """

    recording: Recording
    channel: int | None = None
    sensitivity: float = SENSITIVITY.default
    impacts: tuple[tuple[float, float], ...] = ()
    tool: str = ""
    object: str = ""
    record: FitRecord | None = None

    @property
    def name(self) -> str:
        return self.recording.name

    def audio(self) -> np.ndarray:
        """(n_samples,) read-only float32 of the chosen channel."""
        return self.recording.mono(self.channel)

    def detect(self) -> None:
        """Detect the impacts again (after a change of channel or sensitivity)."""
        self.impacts = detect_recording(self.recording, self.channel, self.sensitivity)

    def label(self) -> tuple[str | None, str] | None:
        """(tool or None, object) for the fitter's ``labels``; None without an object label."""
        obj = self.object.strip()
        return (self.tool.strip() or None, obj) if obj else None

    def clip(self) -> "Clip":
        """The chosen channel as a `workbench.fitting.Clip` named after the recording (its stem,
        as the fitter names presets of files)."""
        from ..fitting.clips import Clip

        return Clip(name=Path(self.name).stem, audio=np.array(self.audio()), sample_rate=self.recording.sample_rate)
