"""Signal analysis for the fitter: ``detect`` (impacts, segments, force-sensor truth), ``modes`` (modes, noise, room decay)."""

from __future__ import annotations

from .detect import Impact, Segment, detect_impacts, force_sensor_strikes, match_times, segment_impacts
from .modes import ModeEstimate, estimate_modes, estimate_noise_bands, estimate_room_decay

__all__ = [
    "Impact",
    "ModeEstimate",
    "Segment",
    "detect_impacts",
    "estimate_modes",
    "estimate_noise_bands",
    "estimate_room_decay",
    "force_sensor_strikes",
    "match_times",
    "segment_impacts",
]
