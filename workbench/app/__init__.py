"""The workbench app: one state model, UI-free services below it, thin views above it.

No panel, param or bokeh below `state` (the services are plain Python and numpy):

* `recordings` - `Recording`, decoding and reading audio files, default labels, impact
  detection, and `RecordingState` (a loaded recording with its channel, labels and fit).
* `records` - `FitRecord`: the fit shown for a recording (from a fit result or a preset).
* `jobs` - `FitJob`: fits on worker processes shared by all sessions, progress, cancel flags.
* `plotdata` - envelopes, spectrogram images, force profiles, mode rows for the plots.
* `playback` - WAV bytes for the players, playback on this machine's audio device.
* `preset_library` - the presets folder (`PresetLibrary`) and exports.
* `demo` - the bundled demo recording and its shipped fit.

The model (``param``, no panel):

* `state` - `AppState`, the single source of truth of one session.
* `edit_controls` - `EditControls`: the slider controls (and per-mode edits) as parameters.
* `fit_control` - `FitController`: starts, follows and cancels the session's fit.

The UI (panel): `views` (one module per panel group) and `server` (``workbench serve``).
`workbench.notebook.Workbench` shows the same views in JupyterLab, with Panel's files
from the Jupyter server (`notebook_assets`).
"""
