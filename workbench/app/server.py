"""The dashboard shell and server: ``workbench serve`` (one `AppState` per browser session).

Each browser tab gets its own state (recordings, fits, edits are never shared between
sessions); only read-only data (the bundled demo, its shipped fit, decoded files
given on the command line) is cached for the whole process. Fits of all sessions
share one small pool of worker processes (`workbench.app.jobs`), so the page stays responsive.

Bounded under abuse: uploads are checked on every chunk (`workbench.app.uploads`), what
one client message may carry is bounded before Bokeh decodes it (`workbench.app.wire`),
derived data lives in one cache of `workbench.budgets.SERVER_CACHE_BYTES`
(`workbench.app.derived`), and a closed session's recordings, sounds, caches and fit are
dropped at once (`AppState.close`).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Sequence

import panel as pn
import torch
from tornado.ioloop import IOLoop

from ..errors import WorkbenchError
from .demo import demo
from .jobs import release_memory, shutdown_fit_processes, warm_fit_processes
from .plotdata import spectrogram_cached
from .preset_library import default_presets_dir
from .recordings import DEFAULT_MAX_UPLOAD_BYTES, detect_recording, detector_status, read_recording
from .state import AppState
from .views.load import CHUNK_BYTES
from .views.workbench import Workbench
from .wire import install as install_wire_guards

log = logging.getLogger(__name__)

TITLE = "Impact Workbench"
_EXTENSIONS = ("tabulator", "filedropper")
_CSS = """
.wb-status p { margin: 4px 0; }
/* disabled buttons look disabled (the theme keeps their colour) */
.bk-btn[disabled], .bk-btn:disabled { opacity: 0.45; filter: grayscale(0.8); cursor: not-allowed; }
/* a checkbox's label toggles it: the (invisible) input spans the label, a drawn box shows its state */
:host(.bk-Checkbox) { position: relative; }
:host(.bk-Checkbox) input[type="checkbox"] { position: absolute; inset: 0; width: 100%; height: 100%; margin: 0;
  opacity: 0; cursor: pointer; z-index: 1; }
:host(.bk-Checkbox) input[type="checkbox"] + .bk-label { top: 0; margin-left: 0; padding-left: 22px; }
:host(.bk-Checkbox) input[type="checkbox"] + .bk-label::before { content: ""; position: absolute; left: 0; top: 2px;
  width: 16px; height: 16px; border: 1px solid #767676; border-radius: 3px; background: #fff; color: #fff;
  font-size: 13px; line-height: 15px; text-align: center; }
:host(.bk-Checkbox) input[type="checkbox"]:checked + .bk-label::before { content: "\\2713"; background: #0072B5;
  border-color: #0072B5; }
:host(.bk-Checkbox) input[type="checkbox"]:focus-visible + .bk-label::before { outline: 2px solid #0072B5;
  outline-offset: 1px; }
:host(.bk-Checkbox) input[type="checkbox"]:disabled { cursor: not-allowed; }
:host(.bk-Checkbox) input[type="checkbox"]:disabled + .bk-label { opacity: 0.5; }
"""


def _extension() -> None:
    pn.extension(*_EXTENSIONS, notifications=True, raw_css=[_CSS])
    pn.config.respect_explicit_sizing = True    # the plots' boxes size themselves (CSS height)


def create_state(files: Sequence[str | os.PathLike] = (), *, presets_dir=None,
                 max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, fit_fn=None) -> AppState:
    """A session's state: the given files, or the bundled demo recording (fitted)."""
    return AppState.open(files, presets_dir=presets_dir, max_upload_bytes=max_upload_bytes, fit_fn=fit_fn)


def create_app(files: Sequence[str | os.PathLike] = (), *, presets_dir=None,
               max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES):
    """The page of one session (a Panel template)."""
    state = create_state(files, presets_dir=presets_dir, max_upload_bytes=max_upload_bytes)
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        # a closed tab frees its place in the fit queue and its memory
        pn.state.on_session_destroyed(lambda ctx: _close(state))
    return Workbench(state=state, fill_height=True).template(TITLE)


def _close(state: AppState) -> None:
    names = state.names()
    try:
        state.close()
    finally:   # the page's models are let go by Panel's own destroy hooks: trim once they are gone
        IOLoop.current().call_later(2.0, _released, names)


def _released(names: list[str]) -> None:
    release_memory()
    log.info("session closed: released %r with their sounds, caches and fit", names)


def warm_up() -> None:
    """Do the per-process work before the first visitor: imports, the demo's fit and sound."""
    warm_fit_processes()
    detector_status()
    rec, record = demo()
    detect_recording(rec, None, AppState.param.sensitivity.default)
    spectrogram_cached(rec.mono(None), rec.sample_rate)
    if record is not None:
        spectrogram_cached(record.target, record.sample_rate)
    create_app()      # first session: the lazy imports (pandas, Tabulator, Bokeh models) happen now


def serve(files: Sequence[str | os.PathLike] = (), *, port: int = 5006, address: str = "127.0.0.1",
          show: bool = True, presets_dir: str | os.PathLike | None = None, max_upload_mb: float = 50.0,
          allow_websocket_origin: Sequence[str] = (), threaded: bool = False):
    """Start the dashboard server (blocks until interrupted).

    Args:
        files: Recordings every new session starts with (default: the fitted demo).
        port, address: Where to listen (``127.0.0.1``: this machine only).
        show: Open a browser tab.
        presets_dir: The preset library folder (default: ``$WORKBENCH_PRESETS`` or presets/).
        max_upload_mb: Largest accepted upload; the websocket message limit is raised to match.
        allow_websocket_origin: Extra hosts (``host:port``) allowed to connect (for
            ``--address 0.0.0.0``).
    """
    files = [str(Path(f)) for f in files]
    for f in files:      # fail early, with the CLI's one-line error, on a bad file
        read_recording(f)
    _extension()
    if not log.handlers:              # session lifecycle lines beside Bokeh's own
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    # One intra-op thread per torch call: renders (UI thread) and fits (worker processes) run
    # side by side, and OpenMP teams waiting for a busy core made slider renders ~8x slower.
    torch.set_num_threads(int(os.environ.get("WORKBENCH_TORCH_THREADS", "1")))
    max_bytes = int(max_upload_mb * 2**20)
    folder = str(presets_dir) if presets_dir else str(default_presets_dir())
    warm_up()

    def session():
        return create_app(files, presets_dir=folder, max_upload_bytes=max_bytes)

    origins = list(allow_websocket_origin)
    if origins:
        origins += [f"localhost:{port}", f"127.0.0.1:{port}"]
    # The drop zone sends CHUNK_BYTES per message; nothing else the page sends comes near it.
    ws_limit = 4 * CHUNK_BYTES
    install_wire_guards(ws_limit)
    extra = {"allow_websocket_origin": origins} if origins else {}

    def stop(signum, frame):       # SIGTERM: stop the fit workers, then leave at once
        shutdown_fit_processes()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)                # not SystemExit: it can be swallowed by the loop's shutdown
    signal.signal(signal.SIGTERM, stop)
    try:
        return pn.serve({"/": session}, port=port, address=address, show=show, title=TITLE,
                        websocket_max_message_size=ws_limit, threaded=threaded, start=True, verbose=True,
                        check_unused_sessions_milliseconds=5000, **extra)   # closed tabs freed in ~20 s
    except OSError as err:   # port in use, address not on this machine
        raise WorkbenchError(f"cannot listen on {address}:{port} ({err.strerror or err})") from None
