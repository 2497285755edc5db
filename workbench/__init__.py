"""Impact Workbench: fit, edit and export physically meaningful impact sounds.

Layers, bottom to top (a module imports only from its own layer or the ones below;
`tests/test_layers.py` checks it):

1. `workbench.errors`, `workbench.version`, `workbench.atomic`, `workbench.names`,
   `workbench.specs` (parameter ranges as data), `workbench.budgets` (work limits as data),
   `workbench.memo` (byte-bounded caches) - plain Python and numpy.
2. `workbench.functional` - pure tensor DSP in physical units (modes, contact, noise, reverb,
   the FTM drum's modes).
3. `workbench.presets` (the file schema, no torch), `workbench.audio` (files in and out),
   `workbench.plots` (matplotlib figures), `workbench.analysis` (detection, physics priors).
4. `workbench.synth` (`ImpactSynth`, DiffImpact eq. 1, per-part spectra and their mix),
   `workbench.losses`, `workbench.jtfs` (joint time-frequency scattering).
5. `workbench.controls` (presets <-> synth controls), `workbench.edits` (relative edits of
   a preset), `workbench.physical` (size, material and strike edits as physical laws) and
   `workbench.materials` (their material table), `workbench.families` (model families: the
   FTM drum), `workbench.rendering` (`render` presets; `PartCache` for incremental renders).
6. `workbench.fitting` (analysis by synthesis), `workbench.export` (ThreeDWorld, Habitat),
   `workbench.library` (preset libraries from folders of recordings), `workbench.classify`
   and `workbench.classify_train` (material of separated sounds), `workbench.learned`
   (the impact encoder, the PNP loss and the drum encoder), variations, banks, the sound map.
7. `workbench.app`, `workbench.notebook` (the dashboard, Panel/param), `workbench.cli`.

The names below are imported on first use (`lazy_loader`, as librosa does), so ``import workbench`` does not import
torch until something renders or fits.
"""

from __future__ import annotations

import lazy_loader

from .errors import WorkbenchError
from .version import __version__

__getattr__, __dir__, _lazy_all = lazy_loader.attach(__name__, submod_attrs={
    "audio": ["load_audio", "save_audio"], "classify": ["classify_material"], "fitting": ["fit"],
    "families": ["drum_preset", "with_family_params"], "learned.impact": ["embed", "encode"],
    "jtfs": ["JTFS", "jtfs_distance"], "losses": ["JTFSDistance", "MultiScaleSpectralLoss", "spectral_distance"],
    "physical": ["scaled", "struck", "with_material"],
    "presets": ["Preset", "load_preset", "save_preset"], "rendering": ["render"]})
__all__ = ["WorkbenchError", "__version__", *_lazy_all]
