"""Impact Workbench: fit, edit and export physically meaningful impact sounds.

Layers, bottom to top (a module imports only from its own layer or the ones below;
`tests/test_layers.py` checks it):

1. `workbench.errors`, `workbench.version`, `workbench.atomic`, `workbench.names`,
   `workbench.specs` (parameter ranges as data) - plain Python and numpy.
2. `workbench.functional` - pure tensor DSP in physical units (modes, contact, noise, reverb).
3. `workbench.presets` (the file schema, no torch), `workbench.audio` (files in and out),
   `workbench.plots` (matplotlib figures), `workbench.analysis` (detection, physics priors).
4. `workbench.synth` (`ImpactSynth`, DiffImpact eq. 1, per-part spectra and their mix),
   `workbench.losses`.
5. `workbench.controls` (presets <-> synth controls), `workbench.edits` (relative edits of
   a preset), `workbench.rendering` (`render` presets; `PartCache` for incremental renders).
6. `workbench.fitting` (analysis by synthesis), `workbench.export` (ThreeDWorld, Habitat),
   `workbench.library` (preset libraries from folders of recordings).
7. `workbench.app`, `workbench.notebook` (the dashboard, Panel/param), `workbench.cli`.

The names below are imported on first use, so ``import workbench`` does not import
torch until something renders or fits.
"""

from __future__ import annotations

import importlib

from .errors import WorkbenchError
from .version import __version__

_LAZY = {
    "MultiScaleSpectralLoss": "losses", "spectral_distance": "losses",
    "Preset": "presets", "load_preset": "presets", "save_preset": "presets",
    "load_audio": "audio", "save_audio": "audio",
    "render": "rendering", "fit": "fitting",
}

__all__ = ["WorkbenchError", "__version__", *sorted(_LAZY)]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
