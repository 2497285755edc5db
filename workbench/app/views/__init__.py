"""Thin Panel views over `workbench.app.state.AppState` (browser and JupyterLab alike).

Each view builds its widgets and Bokeh figures once and then only updates their
contents when the state changes (no layouts rebuilt per change, no matplotlib on the
slider path). Everything they do goes through the state. One module per panel group:

* `base` - the `View` base class, colours, figure defaults.
* `load` - drop zone, recordings, channel, sensitivity (`LoadPanel`).
* `fit` - fit settings, Fit/Cancel, progress and loss (`FitPanel`).
* `players` - the audio players and device playback (`PlayersPanel`).
* `edit` - the resynthesis sliders linked to the edit controls (`EditPanel`).
* `compare` - waveform and spectrograms (`WaveformView`, `SpectrogramView`).
* `model` - force, modes and mode table, noise and reverb bands (`ModelView`, `BandsView`).
* `presets` - library, A/B, downloads, export (`PresetPanel`).
* `soundmap` - the library as a sound map: hover plays, click loads, select to export or joint-fit (`MapPanel`).
* `workbench` - all of them composed (`Workbench`), the page and the notebook view.
"""
