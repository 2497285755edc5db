"""Bundled real recordings (see ATTRIBUTION.md) for the demo and the tests."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
DEMO_RECORDING = DATA_DIR / "robot_steelfork_on_steelbowl.wav"
HAMMER_RECORDING = DATA_DIR / "hammer_wood_multi.wav"
#: A bell recording that starts at the strike (no quiet lead-in to measure the noise on).
BELL_AT_STRIKE = DATA_DIR / "perc_bell2__hullum_fs415559.flac"


def bundled(name: str) -> Path:
    """Path of a bundled recording by file name."""
    return DATA_DIR / name
