"""Signal analysis for the fitter: ``detect`` (impacts, segments, force-sensor truth), ``modes`` (modes, contact duration), ``background`` (noise floor, room decay, an edited end)."""

from __future__ import annotations

from .detect import Impact, Segment, detect_impacts, force_sensor_strikes, match_times, segment_impacts
from .background import edited_fade, estimate_noise_bands, estimate_room_decay
from .modes import ModeEstimate, estimate_contact_s, estimate_modes

__all__ = [
    "Impact",
    "ModeEstimate",
    "Segment",
    "detect_impacts",
    "edited_fade",
    "estimate_contact_s",
    "estimate_modes",
    "estimate_noise_bands",
    "estimate_room_decay",
    "force_sensor_strikes",
    "match_times",
    "segment_impacts",
]
