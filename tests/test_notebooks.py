"""The tutorial notebooks run top to bottom on a fresh checkout (nbclient, CPU), show their
figures as images, stay small, and ask no CDN for anything."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
#: An executed tutorial, outputs included. What is left is mostly the workbench's own players:
#: Panel embeds each of the six (the residual's since it became a part) as a full-rate WAV
#: (3 s at 44.1 kHz: 350 kB of base64 each): five players fitted in 3 MiB, six need 3.5.
MAX_EXECUTED_BYTES = int(3.5 * 2**20)
CDN = re.compile(r"https://cdn\.(holoviz\.org|bokeh\.org)/")


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _largest_outputs(nb, n: int = 4) -> str:
    sizes = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            for mime, value in out.get("data", {}).items():
                sizes.append((len(_text(value)), i, mime))
    return ", ".join(f"cell {i} {mime} {size / 1e6:.2f} MB" for size, i, mime in sorted(sizes, reverse=True)[:n])


def test_the_three_tutorials_exist():
    assert [p.name for p in NOTEBOOKS][:3] == ["01_quickstart.ipynb", "02_sliders.ipynb",
                                               "03_batch_and_export.ipynb"]


def test_a_figure_is_shown_as_an_image_without_pyplot():
    """IPython shows a Figure made without pyplot as text unless it has ``_repr_png_``."""
    from IPython.core.formatters import DisplayFormatter

    from workbench.notebook import Workbench

    fig = Workbench().figure()
    data, _ = DisplayFormatter().format(fig)
    assert data["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data["image/png"]) < 300_000


def test_notebook_resources_point_at_the_jupyter_server(monkeypatch):
    from panel.io.resources import CDN_DIST

    from workbench.app.notebook_assets import localize

    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    monkeypatch.setenv("WORKBENCH_JUPYTER_BASE_URL", "/user/me")
    text = (f'["{CDN_DIST}panel.min.js", "{CDN_DIST}css/markdown.css", '
            '"https://cdn.bokeh.org/bokeh/release/bokeh-3.9.2.min.js", '
            '"https://cdn.bokeh.org/bokeh/release/bokeh-widgets-3.9.2.min.js"]')
    assert json.loads(localize(text)) == ["/user/me/panel_dist/panel.min.js", "/user/me/panel_dist/css/markdown.css",
                                          "/user/me/panel-preview/static/js/bokeh.min.js",
                                          "/user/me/panel-preview/static/js/bokeh-widgets.min.js"]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()    # a failing cell raises CellExecutionError with the cell and traceback
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors

    # every figure is an image, not its text repr ("<Figure size 1100x380 with 3 Axes>")
    for i, cell in enumerate(code):
        outs = [o for o in cell.get("outputs", []) if "data" in o]
        texts = " ".join(_text(o["data"].get("text/plain", "")) for o in outs)
        wants_image = ".figure(" in cell.source or "Figure size" in texts
        if wants_image:
            assert any("image/png" in o["data"] for o in outs), f"code cell {i} shows no image: {texts[:200]}"

    saved = nbformat.writes(nb)
    assert not CDN.search(saved), f"an output loads from a CDN: {CDN.search(saved).group(0)}"
    size = len(saved.encode())
    assert size <= MAX_EXECUTED_BYTES, (f"executed {path.name} is {size / 1e6:.1f} MB "
                                        f"(largest outputs: {_largest_outputs(nb)})")
