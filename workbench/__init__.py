"""Impact Workbench: fit, edit and export physically meaningful impact sounds.

Layers (imports point down only):

* `workbench.functional` - pure tensor DSP in physical units (modes, contact, noise, reverb).
* `workbench.synth` - the `ImpactSynth` module composing them (DiffImpact eq. 1).
* `workbench.specs` - parameter ranges as data; `workbench.presets` - the preset file format.
* `workbench.losses` - multi-scale spectral loss and the normalised distance.
* `workbench.audio`, `workbench.render` - files in and out.
* `workbench.analysis` - impact detection and physics-prior estimates (numpy/librosa).
* `workbench.fitting` - analysis by synthesis; `workbench.export` - ThreeDWorld and Habitat;
  `workbench.library` - preset libraries from folders of recordings.
* `workbench.app`, `workbench.notebook` - the dashboard (Panel) and its notebook view.
* `workbench.cli` - the command line.
"""

from __future__ import annotations

from .audio import load_audio, save_audio
from .errors import WorkbenchError
from .losses import MultiScaleSpectralLoss, spectral_distance
from .presets import Preset, load_preset, save_preset
from .render import render


def fit(audio_or_paths, **kwargs):
    """Fit recordings with the physical model; see `workbench.fitting.fit` (imported lazily)."""
    from .fitting import fit as _fit

    return _fit(audio_or_paths, **kwargs)

__all__ = [
    "MultiScaleSpectralLoss", "Preset", "WorkbenchError", "fit", "load_audio", "load_preset", "render",
    "save_audio", "save_preset", "spectral_distance",
]
__version__ = "0.1.0"
