"""Render presets to audio: the public entry point over `workbench.synth`.

* `render` / `render_batch` - presets (or preset files) to waveforms.
* `PartCache` - renders a preset's full sound and its object-only, tool-only and
  residual-only parts through `ImpactSynth`'s per-part spectra, caching each part
  (contact force, object modes, tool modes, residual, noise, room) by its parameters, so an edit that moves one of them
  re-renders only that one. The dashboard and the notebook use it for slider edits.
* `force_profile` - the contact force F(t) of a preset (plots, reports).

Example:
    >>> from workbench.presets import Preset
    >>> p = Preset(name="bell", sample_rate=16000, duration_s=0.5,
    ...            object={"modes": [{"freq_hz": 440, "t60_s": 2, "gain_db": 0}]},
    ...            impacts=[{"time_s": 0.01, "contact_s": 5e-4, "magnitude": 1}])
    >>> cache = PartCache()
    >>> out = cache.render(p)
    >>> sorted(out), out["all"].shape, bool(abs(out["all"] - render(p, device="cpu")).max() < 1e-6)
    (['all', 'object', 'residual', 'tool'], (8000,), True)
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Callable, Sequence

import numpy as np
import torch

from . import specs
from .budgets import RENDER_CACHE_BYTES, RENDER_SAMPLES
from .errors import WorkbenchError
from .memo import ByteLRU
from .controls import controls_from_presets
from .presets import Preset, load_preset
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


def render_size(presets: Sequence[Preset], *, duration_s: float | None = None,
                sample_rate: int | None = None) -> tuple[int, int]:
    """(sample_rate, n_samples) of rendering ``presets`` together, checked against the budgets.

    Raises:
        WorkbenchError: a rate outside 16-96 kHz, a duration outside (0, 600] s, or more
            samples (n_samples x batch) than `workbench.budgets.RENDER_SAMPLES` allows.
    """
    sr = sample_rate if sample_rate is not None else presets[0].sample_rate
    if isinstance(sr, bool) or not isinstance(sr, (int, float, np.integer, np.floating)) \
            or not specs.SAMPLE_RATE.contains(sr):
        raise WorkbenchError(f"sample_rate: {sr!r} Hz is outside [16000, 96000] Hz")
    duration = duration_s if duration_s is not None else max(p.duration_s for p in presets)
    if isinstance(duration, bool) or not isinstance(duration, (int, float, np.integer, np.floating)) \
            or not (0 < duration <= specs.DURATION_S.maximum):
        raise WorkbenchError(f"duration_s: {duration!r} is outside (0, {specs.DURATION_S.maximum:g}] s")
    n = max(1, int(round(float(duration) * int(sr))))
    what = f"{presets[0].name}" if len(presets) == 1 else f"{len(presets)} presets"
    RENDER_SAMPLES.check(n * len(presets), what=f"render of {what} ({float(duration):g} s at {int(sr)} Hz"
                         + ("" if len(presets) == 1 else f" x {len(presets)}") + ")",
                         hint="render a shorter duration or a lower sample rate")
    return int(sr), n


def render_batch(presets, *, duration_s: float | None = None, sample_rate: int | None = None,
                 device=None, parts: str | Parts = "all", dtype=torch.float32) -> torch.Tensor:
    """Render several presets at once; (batch, n_samples) tensor on ``device``.

    Raises:
        WorkbenchError: no presets, a bad preset, rate, duration or part, or a render over
            the `workbench.budgets.RENDER_SAMPLES` budget (checked before any work).
    """
    if isinstance(presets, (str, os.PathLike, Preset)) or not isinstance(presets, Sequence) or not presets:
        raise WorkbenchError("presets: expected a non-empty list of presets or preset files")
    presets = [_as_preset(p) for p in presets]
    sr, n = render_size(presets, duration_s=duration_s, sample_rate=sample_rate)
    if isinstance(parts, str):
        parts = Parts.named(parts)
    elif not isinstance(parts, Parts):
        raise WorkbenchError(f"parts: expected one of {', '.join(Parts.NAMES)}, got {parts!r}")
    dev = resolve_device(device)
    synth = ImpactSynth(sample_rate=sr, n_samples=n)
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
        parts: ``all``, ``object``, ``tool``, ``residual``, ``dry`` or ``clean`` (see `Parts.named`).

    Returns:
        (n_samples,) float32 numpy array.
    """
    return render_batch([preset], duration_s=duration_s, sample_rate=sample_rate,
                        device=device, parts=parts)[0].cpu().numpy().astype(np.float32)


def force_profile(preset: Preset, *, duration_s: float | None = None, sample_rate: int | None = None,
                  dtype=torch.float32) -> np.ndarray:
    """(n_samples,) contact force F(t) of ``preset`` (default: its own length and rate)."""
    sr, n = render_size([preset], duration_s=duration_s, sample_rate=sample_rate)
    with torch.no_grad():
        return ImpactSynth(sample_rate=sr, n_samples=n).contact_force(
            controls_from_presets([preset], dtype=dtype))[0].numpy()


#: The sounds `PartCache.render` can make: everything, the object's modes alone, the tool's
#: alone, the residual alone (each dry, without noise, like `Parts.named`).
CACHED_PARTS = ("all", "object", "tool", "residual")


class _LRU(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get_or(self, key, make: Callable):
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = make()
        self[key] = value
        while len(self) > self.size:
            self.popitem(last=False)
        return value


def _modes_key(body) -> tuple:
    return () if body is None else tuple((m.freq_hz, m.t60_s, m.gain_db) for m in body.modes)


def _residual_key(residual) -> tuple:
    return () if residual is None or not residual.enabled else \
        tuple((b.freq_hz, b.gain_db, b.t60_s) for b in residual.bands)


class PartCache:
    """Render presets like `render`, re-using every unchanged part of the signal chain.

    Each part's spectrum comes from `ImpactSynth` (`force_spectrum`, `modal_spectrum`,
    `residual_spectrum`, `noise_spectrum`, `room_spectrum`) and the sound from `ImpactSynth.mix`, so there
    is one signal chain; the parts are cached by the preset values they depend on.
    Not thread-safe: one cache per session.

    Args:
        max_bytes: Most bytes of spectra and sounds kept (the last few slider positions of
            each part; default `workbench.budgets.RENDER_CACHE_BYTES`): a long sound keeps
            fewer versions, never more memory.
    """

    def __init__(self, max_bytes: int = RENDER_CACHE_BYTES.limit):
        self._synths = _LRU(2)
        share = max_bytes // 9           # each of the six parts, and the outputs (three ninths)
        self._parts = {k: ByteLRU(share) for k in ("force", "object", "tool", "residual", "noise", "room")}
        self._outputs = ByteLRU(max_bytes - 6 * share)

    def clear(self) -> None:
        """Drop every cached part and sound (frees their memory)."""
        self._synths.clear()
        for cache in (*self._parts.values(), self._outputs):
            cache.clear()

    def render(self, preset: Preset, parts: Sequence[str] = CACHED_PARTS, *, duration_s: float | None = None,
               sample_rate: int | None = None) -> dict[str, np.ndarray]:
        """{part: (n_samples,) float32} for ``parts`` among ``all``, ``object``, ``tool``, ``residual``.

        Arrays are read-only and shared: an unchanged part returns the same object.

        Raises:
            WorkbenchError: an unknown part name.
        """
        bad = [p for p in parts if p not in CACHED_PARTS]
        if bad:
            raise WorkbenchError(f"part: unknown part {bad[0]!r}; choose from {', '.join(CACHED_PARTS)}")
        sr, n = render_size([preset], duration_s=duration_s, sample_rate=sample_rate)
        synth = self._synths.get_or((sr, n), lambda: ImpactSynth(sample_rate=sr, n_samples=n))
        controls: list = []

        def c():
            if not controls:
                controls.append(controls_from_presets([preset]))
            return controls[0]

        base = (sr, n)
        k_force = base + (tuple((i.time_s, i.contact_s, i.magnitude) for i in preset.impacts),)
        k_obj = base + (_modes_key(preset.object),)
        k_tool = base + (_modes_key(preset.tool),)
        k_residual = base + (_residual_key(preset.residual),)
        k_noise = base + (tuple((b.freq_hz, b.gain_db) for b in preset.noise.bands),)
        k_room = base + (preset.reverb.enabled, tuple((b.freq_hz, b.gain_db, b.t60_s) for b in preset.reverb.bands))
        k_fade = None if preset.fade_out is None else (preset.fade_out.start_s, preset.fade_out.end_s)
        fade = None if k_fade is None else tuple(torch.tensor([v], dtype=torch.float32) for v in k_fade)
        has_tool = bool(preset.tool is not None and preset.tool.modes)
        cached = self._parts

        def force():
            return cached["force"].get_or(k_force, lambda: synth.force_spectrum(c()))

        def modes(with_object: bool, with_tool: bool, with_residual: bool) -> list[torch.Tensor]:
            out = []
            if with_object:
                out.append(cached["object"].get_or(k_obj, lambda: synth.modal_spectrum(
                    c().freqs_hz, c().t60_s, c().gains_db)))
            if with_tool and has_tool:
                out.append(cached["tool"].get_or(k_tool, lambda: synth.modal_spectrum(
                    c().tool_freqs_hz, c().tool_t60_s, c().tool_gains_db)))
            if with_residual and k_residual[-1]:
                out.append(cached["residual"].get_or(k_residual, lambda: synth.residual_spectrum(c())))
            return out

        def finish(y: torch.Tensor | None) -> np.ndarray:
            out = np.zeros(n, np.float32) if y is None else y[0].numpy()
            out.setflags(write=False)
            return out

        def make(part: str) -> np.ndarray:
            if part == "all":
                return finish(synth.mix(
                    force=force(), modes=modes(True, True, True),
                    acceleration=torch.tensor([preset.acceleration], dtype=torch.float32),
                    noise=cached["noise"].get_or(k_noise, lambda: synth.noise_spectrum(c())),
                    room=cached["room"].get_or(k_room, lambda: synth.room_spectrum(c())), fade=fade))
            chosen = modes(part == "object", part == "tool", part == "residual")
            return finish(synth.mix(force=force(), modes=chosen, fade=fade) if chosen else None)

        keys = {"all": ("all", k_force, k_obj, k_tool, k_residual, k_noise, k_room, preset.acceleration, k_fade),
                "object": ("object", k_force, k_obj, k_fade), "tool": ("tool", k_force, k_tool, k_fade),
                "residual": ("residual", k_force, k_residual, k_fade)}
        with torch.no_grad():
            return {part: self._outputs.get_or(keys[part], lambda: make(part)) for part in parts}
