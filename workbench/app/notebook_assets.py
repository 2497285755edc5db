"""Panel's JavaScript and CSS in a notebook, from the Jupyter server: no CDN, nothing embedded.

``pn.extension()`` in a notebook either makes the browser fetch Bokeh/Panel from
cdn.holoviz.org and cdn.bokeh.org (``inline=False``), or embeds the whole bundle in the
output (``inline=True``: about 4 MB, published twice, in every saved notebook; and a
component that updates later, a Markdown pane say, still asks the CDN for its
stylesheets). Neither works offline with a small notebook.

Panel's Jupyter server extension (installed with Panel, enabled by default) already
serves Panel's ``dist`` folder at ``<base_url>panel_dist/`` and Bokeh's static files at
``<base_url>panel-preview/static/``. So in ``"server"`` mode (the default):

* `load` runs ``pn.extension`` with its notebook output captured and publishes the same
  loader with every CDN address rewritten to those paths (a few kB instead of 8 MB);
* `LocalResources` wraps a view so that its rendered stylesheets point there too, and
  sets the document's ``dist_url`` so that Panel rewrites every later update the same
  way.

This needs the kernel's Panel version on the Jupyter server too (one environment, as
``make setup`` builds it; a server without Panel answers 404 and the output stays blank).
``WORKBENCH_NOTEBOOK_RESOURCES=inline`` embeds the bundle instead (for front ends
without a Jupyter server, such as VS Code or an nbconvert HTML export opened elsewhere).
The classic Notebook 6 (require.js) would still take Tabulator and FilePond from jsdelivr.
``WORKBENCH_JUPYTER_BASE_URL`` (default: ``$JUPYTERHUB_SERVICE_PREFIX`` or ``/``) is
the server's base URL.
"""

from __future__ import annotations

import os
import re

import panel as pn
from panel.io.resources import CDN_DIST

#: Bokeh's own CDN files (``bokeh-3.9.2.min.js``, ``bokeh-widgets-3.9.2.min.js``, ...).
_BOKEH_CDN = re.compile(r"https://cdn\.bokeh\.org/bokeh/(?:release|dev)/"
                        r"(bokeh(?:-[a-z]+)?)-\d[\w.+]*?(\.min)?\.js")
_EXEC_MIME = "application/vnd.holoviews_exec.v0+json"


def mode() -> str:
    """``"server"`` (resources from the Jupyter server) or ``"inline"`` (embedded)."""
    value = os.environ.get("WORKBENCH_NOTEBOOK_RESOURCES", "server").strip().lower()
    return "inline" if value == "inline" else "server"


def base_url() -> str:
    base = os.environ.get("WORKBENCH_JUPYTER_BASE_URL") or os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/"
    return base if base.endswith("/") else base + "/"


def dist_url() -> str:
    """Where the Jupyter server serves Panel's ``dist`` folder."""
    return f"{base_url()}panel_dist/"


def localize(text: str) -> str:
    """``text`` with Panel's and Bokeh's CDN addresses replaced by the Jupyter server's."""
    text = text.replace(CDN_DIST, dist_url())
    return _BOKEH_CDN.sub(lambda m: f"{base_url()}panel-preview/static/js/{m[1]}{m[2] or ''}.js", text)


def load(*extensions: str) -> None:
    """``pn.extension(*extensions)`` for a notebook, without notifications (see `Workbench`)."""
    if mode() == "inline":
        pn.extension(*extensions, inline=True)
        return
    from IPython.display import publish_display_data
    from IPython.utils.capture import capture_output

    with capture_output(stdout=False, stderr=False) as captured:
        pn.extension(*extensions, inline=False)
    for out in captured.outputs:      # outside a kernel there are none
        data = {k: localize(v) if isinstance(v, str) else v for k, v in out.data.items()}
        publish_display_data(data=data, metadata=out.metadata)


class LocalResources(pn.viewable.Viewer):
    """Shows ``obj`` with its stylesheets (now and after every update) from the Jupyter server."""

    def __init__(self, obj, **params):
        super().__init__(**params)
        self._obj = obj

    def __panel__(self):
        return self._obj

    def _repr_mimebundle_(self, include=None, exclude=None):
        from panel.io.state import state

        out = self._obj._repr_mimebundle_(include, exclude)
        if mode() == "inline" or not out:
            return out
        data, meta = out
        ref = (meta or {}).get(_EXEC_MIME, {}).get("id")
        if ref in state._views:            # later models and updates: Panel rewrites CDN_DIST to this
            state._views[ref][2]._template_variables["dist_url"] = dist_url()
        return {k: localize(v) if isinstance(v, str) else v for k, v in data.items()}, meta
