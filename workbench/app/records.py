"""The fit shown for a recording: `FitRecord`, made from a fit result or from a preset.

* `record_from_result` - clip ``index`` of a `workbench.fitting.FitResult`.
* `record_from_preset` - a shipped or saved preset shown against its recording.
* `distance` - `workbench.losses.spectral_distance` of two (read-only) signals.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..losses import spectral_distance
from ..presets import Preset
from ..rendering import PartCache


@dataclasses.dataclass(frozen=True, eq=False)
class FitRecord:
    """A fit of one recording (from the fitter, a shipped preset or a cancelled fit).

    Attributes:
        preset: The fitted preset.
        target: (n_samples,) read-only float32: the sound it was fitted to.
        sample_rate: Rate of ``target`` (Hz).
        loss_history: Loss per optimiser step (empty when not stored).
        distance: Spectral distance of the fit to ``target`` (0 identical, 1 noise).
        impacts: Impact times (s).
        cancelled: The fit was cancelled (the best result so far).
        source: Where it came from ("fit", "shipped demo fit", ...).
    """

    preset: Preset
    target: np.ndarray
    sample_rate: int
    loss_history: tuple[float, ...] = ()
    distance: float | None = None
    impacts: tuple[float, ...] = ()
    cancelled: bool = False
    source: str = "fit"


def record_from_result(result, index: int = 0, *, full_target: np.ndarray | None = None) -> FitRecord:
    """A `FitRecord` for clip ``index`` of a `workbench.fitting.FitResult`.

    A long recording fitted by segments has one ``file_preset`` for the whole file: it
    is shown against ``full_target`` (the recording as given to the fitter).

    Raises:
        IndexError: the result has no clip ``index``.
    """
    preset, distance = result.presets[index], result.distances[index]
    target = result.targets[index] if index < len(result.targets) else np.zeros(0)
    times = result.impacts[index] if index < len(result.impacts) else ()
    if result.file_preset is not None and index == 0 and full_target is not None:
        preset, target, distance = result.file_preset, full_target, result.distance
        times = [i.time_s for i in result.file_preset.impacts]
    target = np.asarray(target, dtype=np.float32)
    target.setflags(write=False)
    return FitRecord(preset=preset, target=target, sample_rate=int(preset.sample_rate),
                     loss_history=tuple(float(v) for v in result.loss_history),
                     distance=None if distance is None else float(distance),
                     impacts=tuple(float(t) for t in times), cancelled=bool(result.cancelled), source="fit")


def distance(x: np.ndarray, target: np.ndarray) -> float:
    """`workbench.losses.spectral_distance` of two (n_samples,) signals (read-only is fine)."""
    return float(spectral_distance(np.array(x, dtype=np.float32), np.array(target, dtype=np.float32)))


def record_from_preset(preset: Preset, target: np.ndarray, sample_rate: int, *, source: str) -> FitRecord:
    """A `FitRecord` for a shipped/saved preset of a recording (its distance computed here)."""
    y = PartCache().render(preset, ("all",), duration_s=len(target) / sample_rate, sample_rate=sample_rate)["all"]
    hist = preset.provenance.get("loss_history") if isinstance(preset.provenance, dict) else None
    return FitRecord(preset=preset, target=target, sample_rate=sample_rate,
                     loss_history=tuple(float(v) for v in hist) if isinstance(hist, list) else (),
                     distance=distance(y, target),
                     impacts=tuple(i.time_s for i in preset.impacts), source=source)
