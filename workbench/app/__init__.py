"""The workbench app: one state model, UI-free services, thin views.

* `workbench.app.services` - recordings, incremental rendering, fit jobs, the preset
  library, playback and export; plain Python and numpy (no panel, no param).
* `workbench.app.state` - `AppState`, the single ``param.Parameterized`` source of truth
  (no panel import), and the pure `apply_edits` of the slider resynthesis.
* `workbench.app.views` - thin Panel ``Viewer`` classes over the state.
* `workbench.app.server` - the page shell and `serve` (``workbench serve``).

`workbench.notebook.Workbench` shows the same views in JupyterLab.
"""
