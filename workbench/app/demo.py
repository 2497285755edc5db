"""The demo: the bundled recording and its shipped fit, loaded once per process."""

from __future__ import annotations

import functools
import logging

from ..data import DEMO_RECORDING
from ..errors import WorkbenchError
from ..presets import load_preset
from .preset_library import REPO_PRESETS
from .recordings import Recording, read_recording
from .records import FitRecord, record_from_preset

log = logging.getLogger(__name__)

#: The shipped fit of the demo recording: the preset library's joint tool/object fit of it
#: (`workbench library`, presets/README.md), so the demo shows object and tool players.
DEMO_FITTED_PRESET = REPO_PRESETS / "metal" / "robot_steelfork_on_steelbowl_separated.json"


@functools.lru_cache(maxsize=1)
def demo() -> tuple[Recording, FitRecord | None]:
    """The bundled demo recording and its shipped fit (None while there is no valid shipped fit)."""
    rec = read_recording(DEMO_RECORDING)
    if not DEMO_FITTED_PRESET.is_file():
        return rec, None
    try:
        preset = load_preset(DEMO_FITTED_PRESET)
    except WorkbenchError:
        log.warning("shipped demo fit %s is not a valid preset; showing the recording unfitted",
                    DEMO_FITTED_PRESET, exc_info=True)
        return rec, None
    return rec, record_from_preset(preset, rec.mono(None), rec.sample_rate, source="shipped demo fit")
