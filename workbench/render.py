"""Render presets to audio (the public entry point over `workbench.synth`)."""

from __future__ import annotations

import os

import numpy as np
import torch

from . import specs
from .errors import WorkbenchError
from .presets import Preset, controls_from_presets, load_preset
from .synth import ImpactSynth, Parts


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/"auto": CUDA if present, else MPS if present, else CPU; otherwise as given.

    Raises:
        WorkbenchError: a device that is not available here.
    """
    if device is None or str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise WorkbenchError(f"device: {device!r} is not a torch device (use cpu, cuda, mps)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise WorkbenchError("device: cuda was asked for but no CUDA GPU is available")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise WorkbenchError("device: mps was asked for but is not available")
    return dev


def _as_preset(preset) -> Preset:
    if isinstance(preset, Preset):
        return preset
    if isinstance(preset, (str, os.PathLike)):
        return load_preset(preset)
    raise WorkbenchError(f"preset: expected a Preset or a path, got {type(preset).__name__}")


def render_batch(presets, *, duration_s: float | None = None, sample_rate: int | None = None,
                 device=None, parts: str | Parts = "all", dtype=torch.float32) -> torch.Tensor:
    """Render several presets at once; (batch, n_samples) tensor on ``device``."""
    presets = [_as_preset(p) for p in presets]
    sr = int(sample_rate or presets[0].sample_rate)
    if not specs.SAMPLE_RATE.contains(sr):
        raise WorkbenchError(f"sample_rate: {sr} Hz is outside [16000, 96000] Hz")
    duration = float(duration_s if duration_s is not None else max(p.duration_s for p in presets))
    if not (0 < duration <= 600):
        raise WorkbenchError(f"duration_s: {duration} is outside (0, 600] s")
    parts = Parts.named(parts) if isinstance(parts, str) else parts
    dev = resolve_device(device)
    synth = ImpactSynth(sample_rate=sr, n_samples=max(1, int(round(duration * sr))))
    controls = controls_from_presets(presets, dtype=dtype, device=dev)
    with torch.no_grad():
        return synth(controls, parts)


def render(
    preset,
    *,
    duration_s: float | None = None,
    sample_rate: int | None = None,
    device=None,
    parts: str | Parts = "all",
) -> np.ndarray:
    """Render a preset to a mono waveform.

    Args:
        preset: A `Preset` or the path of a preset JSON file.
        duration_s: Length in seconds (default: the preset's ``duration_s``).
        sample_rate: Output rate in Hz, 16-96 kHz (default: the preset's).
        device: torch device (``None``: GPU when there is one, else CPU).
        parts: ``all``, ``object``, ``tool``, ``dry`` or ``clean`` (see `Parts.named`).

    Returns:
        (n_samples,) float32 numpy array.
    """
    return render_batch([preset], duration_s=duration_s, sample_rate=sample_rate,
                        device=device, parts=parts)[0].cpu().numpy().astype(np.float32)
