"""Sounds out: WAV bytes for the players and downloads, playback on this machine's device.

Example:
    >>> import numpy as np
    >>> wav_bytes(np.zeros(100, np.float32), 44100)[:4]
    b'RIFF'
"""

from __future__ import annotations

import numpy as np

from ..audio import encode_wav
from ..errors import WorkbenchError


def wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    """16-bit WAV bytes of (n_samples,) audio, clipped to full scale (never wrapped)."""
    return encode_wav(np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0), int(sample_rate))


def playback_status() -> tuple[bool, str]:
    """(available, reason) of playing through the machine's audio device (sounddevice).

    The reason names the output device when available, else what is missing.
    """
    try:
        import sounddevice as sd
    except ImportError:
        return False, "sounddevice is not installed (pip install sounddevice)"
    except OSError:
        return False, "the PortAudio library is missing (apt-get install libportaudio2)"
    try:
        dev = sd.query_devices(kind="output")
    except Exception as err:  # PortAudioError, ValueError: no default output device
        return False, f"no audio output device on this machine ({str(err).strip() or type(err).__name__})"
    return True, str(dev.get("name", "default output") if isinstance(dev, dict) else dev)


def play(audio: np.ndarray, sample_rate: int) -> None:
    """Play (n_samples,) audio through the default output device; returns at once (non-blocking).

    A new call stops the sound still playing (sounddevice's one shared stream).

    Raises:
        WorkbenchError: no playback here, nothing to play, or the device refused the
            stream (the message says why).
    """
    ok, reason = playback_status()
    if not ok:
        raise WorkbenchError(f"playback: {reason}")
    samples = np.ascontiguousarray(np.clip(np.nan_to_num(np.asarray(audio, dtype=np.float32).reshape(-1)), -1, 1))
    if samples.size == 0:
        raise WorkbenchError("playback: the sound is empty")
    import sounddevice as sd
    try:
        sd.play(samples, int(sample_rate), blocking=False)
    except Exception as err:  # PortAudioError (device busy, rate refused), ValueError
        raise WorkbenchError(f"playback: the output device could not play the sound at {int(sample_rate)} Hz "
                             f"({str(err).strip() or type(err).__name__})") from None
