"""The workbench in JupyterLab: the same state and the same views as ``workbench serve``.

    from workbench.notebook import Workbench
    wb = Workbench(["my_hit.wav"])      # no paths: the bundled demo recording
    wb.show()                          # the whole workbench, live, in the notebook
    wb.fit(steps=100)                  # or press Fit; blocks until done (wait=False: background)
    wb.edit(pitch_semitones=3, decay_scale=0.5)
    wb.listen("edited")
    wb.figure()                        # target vs resynthesis spectrograms (matplotlib)
    wb.save("bowl, shorter", tags="metal", material="steel")

`Workbench` is a thin wrapper: every value lives in ``wb.state`` (a
`workbench.app.state.AppState`), and ``show()``/``sliders()`` are the dashboard's own
Panel views over it. Nothing here duplicates the dashboard's logic.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from .app.plotdata import spectrogram_cached
from .app.records import FitRecord
from .app.state import AppState
from .edits import Edits
from .errors import WorkbenchError
from .presets import Preset

_EXTENSIONS = ("tabulator", "filedropper")
#: Resolution of `Workbench.figure`'s PNG (the saved notebook carries it).
FIGURE_DPI = 80


def _panel():
    """Panel, loaded for this notebook once: its JavaScript and CSS come from the Jupyter
    server (no CDN, not embedded: `workbench.app.notebook_assets`). No toast notifications
    (Panel's notification area does not load in JupyterLab): the workbench's status line
    above the players shows every message instead."""
    import panel as pn

    if not getattr(_panel, "_loaded", False):
        from .app.notebook_assets import load

        load(*_EXTENSIONS)
        _panel._loaded = True
    return pn


class ShownFigure(Figure):
    """A matplotlib `Figure` that a notebook displays as a PNG without pyplot's inline backend.

    IPython shows a bare `Figure` (one not made by pyplot) as ``<Figure size ...>`` unless
    ``%matplotlib inline`` has registered its PNG formatter; ``_repr_png_`` covers that case
    (with the formatter registered, IPython uses the formatter: one image either way).
    """

    def _repr_png_(self) -> bytes:
        from PIL import Image      # matplotlib's own dependency

        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=FIGURE_DPI)
        # a 256-colour palette: a spectrogram's PNG is a third of the size, and looks the same
        out = io.BytesIO()
        Image.open(io.BytesIO(buf.getvalue())).convert("RGB").quantize(256).save(out, format="PNG", optimize=True)
        return out.getvalue()


class _Flac:
    """An audio player for a notebook: the sound as lossless FLAC (a third of a WAV's size)."""

    def __init__(self, audio: np.ndarray, sample_rate: int):
        import soundfile as sf

        buf = io.BytesIO()
        sf.write(buf, np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0), int(sample_rate),
                 format="FLAC", subtype="PCM_16")
        self.data, self.sample_rate = buf.getvalue(), int(sample_rate)

    def _repr_html_(self) -> str:
        import base64

        src = base64.b64encode(self.data).decode("ascii")
        return f'<audio controls="controls"><source src="data:audio/flac;base64,{src}" type="audio/flac"/></audio>'


class Workbench:
    """One workbench session in a notebook.

    Args:
        paths: Recordings to load (a path or a list); none: the bundled demo, fitted.
        presets_dir: The preset library folder (default: ``$WORKBENCH_PRESETS`` or presets/).
        max_upload_mb: Largest file accepted by the drop zone.
    """

    def __init__(self, paths: str | os.PathLike | Sequence[str | os.PathLike] | None = None, *,
                 presets_dir: str | os.PathLike | None = None, max_upload_mb: float = 50.0, fit_fn=None):
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.state = AppState.open(list(paths or ()), presets_dir=presets_dir,
                                   max_upload_bytes=int(max_upload_mb * 2**20), fit_fn=fit_fn)
        for p in paths or ():
            if Path(p).name not in self.state.names():
                raise WorkbenchError(self.state.message[1] or f"{p}: could not be loaded")

    # -- views ----------------------------------------------------------------------------
    def show(self):
        """The whole workbench (load, fit, players, sliders, plots, presets) as a Panel layout."""
        _panel()
        from .app.notebook_assets import LocalResources
        from .app.views.workbench import Workbench as WorkbenchView

        return LocalResources(WorkbenchView(state=self.state))

    def sliders(self):
        """Just the resynthesis sliders with the players and the mode plots."""
        pn = _panel()
        from .app.notebook_assets import LocalResources
        from .app.views.edit import EditPanel
        from .app.views.model import ModelView
        from .app.views.players import PlayersPanel

        # wraps: the plots go under the sliders when the notebook is narrow
        model = pn.Column(ModelView(state=self.state), sizing_mode="stretch_width", min_width=0,
                          styles={"flex": "1 1 520px"})
        return LocalResources(pn.Column(
            PlayersPanel(state=self.state),
            pn.FlexBox(pn.Column(EditPanel(state=self.state), width=280), model, flex_wrap="wrap",
                       sizing_mode="stretch_width"), sizing_mode="stretch_width"))

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.show()._repr_mimebundle_(include, exclude)

    # -- actions --------------------------------------------------------------------------
    def fit(self, *, steps: int | None = None, n_modes: int | None = None, joint: bool | None = None,
            names: Sequence[str] | None = None, wait: bool = True, timeout: float = 3600) -> FitRecord | None:
        """Fit the current recording (or ``names`` jointly); returns its `FitRecord` when ``wait``.

        Raises:
            WorkbenchError: the fit could not start or failed (the message says why).
        """
        s = self.state
        updates = {k: v for k, v in (("steps", steps), ("n_modes", n_modes), ("joint", joint)) if v is not None}
        if names:
            updates.update(selection=list(names), joint=True if joint is None else joint)
        s.param.update(**updates)
        if names:
            s.select(list(names)[0])
            s.selection = list(names)
        if not s.start_fit():
            raise WorkbenchError(s.message[1])
        if not wait:
            return None
        status = s.wait_fit(timeout)
        if status == "failed":
            raise WorkbenchError(s.fit_message)
        return s.record

    def select(self, name: str) -> None:
        """Show another loaded recording."""
        if name not in self.state.names():
            raise WorkbenchError(f"{name}: not loaded (loaded: {', '.join(self.state.names())})")
        self.state.select(name)

    def edit(self, **changes) -> Preset | None:
        """Set resynthesis controls (see `workbench.edits.Edits`); returns the edited preset."""
        unknown = set(changes) - set(Edits.__dataclass_fields__)
        if unknown:
            raise WorkbenchError(f"edit: unknown control(s) {', '.join(sorted(unknown))}; "
                                 f"choose from {', '.join(Edits.__dataclass_fields__)}")
        self.state.controls.param.update(**changes)
        return self.state.preset

    def reset(self) -> None:
        self.state.reset_edits()

    def undo(self) -> None:
        self.state.undo()

    def listen(self, part: str = "edited"):
        """An audio player for ``original``, ``fit``, ``edited``, ``object``, ``tool`` or ``residual`` (FLAC, lossless)."""
        if part not in self.state.audio:
            raise WorkbenchError(f"no {part} sound yet (have: {', '.join(self.state.audio)})")
        return _Flac(self.state.audio[part], self.state.audio_rate)

    def figure(self, *, figsize=(11, 3.8)):
        """Target and resynthesis spectrograms side by side, same axes and colour scale.

        Returns a `ShownFigure`: a notebook cell ending with it shows the PNG.
        """
        from .plots import plot_spectrogram

        tgt = self.state.target()
        if tgt is None:
            raise WorkbenchError("no recording loaded")
        panels = [(f"target: {self.state.current}", *tgt)]
        if "edited" in self.state.audio:
            panels.append((f"resynthesis: {self.state.base_source}", self.state.audio["edited"], self.state.audio_rate))
        top = float(spectrogram_cached(*tgt)["image"].max())
        vmax = 10 * (int(top // 10) + 1)
        fig = ShownFigure(figsize=figsize, layout="constrained")
        axes = fig.subplots(1, len(panels), sharex=True, sharey=True, squeeze=False)[0]
        img = None
        for ax, (title, audio, sr) in zip(axes, panels):
            img = plot_spectrogram(ax, audio, sr, title=title, vmin=vmax - 100, vmax=vmax)
        fig.colorbar(img, ax=list(axes), label="level (dBFS)")
        return fig

    def save(self, name: str, *, tags: str | Sequence[str] = (), material: str = "") -> Path:
        """Save the edited preset to the library folder; returns its path."""
        path = self.state.save_preset(name, tags=tags, material=material)
        if path is None:
            raise WorkbenchError(self.state.message[1])
        return path

    # -- read-only views of the state -----------------------------------------------------
    @property
    def preset(self) -> Preset | None:
        """The edited preset (the fit with the current edits)."""
        return self.state.preset

    @property
    def record(self) -> FitRecord | None:
        """The fit of the current recording."""
        return self.state.record

    @property
    def recordings(self) -> list[str]:
        return self.state.names()
