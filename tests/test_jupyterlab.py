"""The workbench in a real JupyterLab: Debian's Chromium at 1366x768 with the file browser open.

A module fixture starts JupyterLab (token-less, loopback, free port) in a temporary folder
holding one small notebook that shows the workbench on the bundled demo. The test runs
that cell, checks the layout has room (the output area is ~930 px wide here), moves the
Pitch slider and waits for the Edited player's sound to change, and fails on any request
that left the machine (Panel's JavaScript and CSS come from the Jupyter server, not a CDN).
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from served import free_port, playwright_api, wait_until_up

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
TIMEOUT_MS = 60_000
CELL = """import tempfile
from workbench.notebook import Workbench
wb = Workbench(presets_dir=tempfile.mkdtemp(prefix="presets_"))
wb.show()"""

pytest.importorskip("jupyterlab", reason="jupyterlab is not installed (make setup installs it)")
nbformat = pytest.importorskip("nbformat")
sync_api = playwright_api()
expect = sync_api.expect


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "workbench.ipynb")
    settings = root / ".settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)   # no "Jupyter news?" toast over the page
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                           "checkForUpdates": False}))
    port = free_port()
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(root / ".settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces"), "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
           "IPYTHONDIR": str(root / ".ipython"), "WORKBENCH_TORCH_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    log = root / "lab.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
                                 f"--port={port}", "--ServerApp.token=", "--ServerApp.password=",
                                 f"--ServerApp.root_dir={root}", "--allow-root",
                                 "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                                cwd=root, env=env, stdout=fh, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/api/status", proc, log, timeout_s=60, what="jupyter lab")
    yield {"base": base, "port": port, "log": log}
    proc.terminate()           # Jupyter shuts its kernels down on SIGTERM
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _is_local(url: str, port: int) -> bool:
    return url.startswith(("data:", "blob:")) or any(
        url.startswith(f"{scheme}://{host}:{port}/") for scheme in ("http", "ws")
        for host in ("127.0.0.1", "localhost"))


def _run_first_cell(page) -> None:
    cell = page.locator(".jp-Notebook .jp-CodeCell").first
    for _ in range(2):         # a click during the notebook's first layout can miss: try once more
        cell.locator(".jp-InputPrompt").click()
        page.locator(".jp-NotebookPanel-toolbar [data-command='notebook:run-cell-and-select-next']").click()
        try:
            expect(page.locator(".wb-player-edited audio")).to_be_attached(timeout=TIMEOUT_MS / 2)
            return
        except AssertionError:
            continue
    raise AssertionError("the workbench cell did not show the workbench")


def test_workbench_in_jupyterlab_plays_the_edit_and_stays_on_this_machine(lab, browser):
    urls, errors = [], []
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    ctx.on("request", lambda r: urls.append(r.url))
    page = ctx.new_page()
    page.on("websocket", lambda ws: urls.append(ws.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(f"{lab['base']}/lab/tree/workbench.ipynb")
        expect(page.locator(".jp-FileBrowser")).to_be_visible(timeout=TIMEOUT_MS)   # the default layout
        expect(page.locator(".jp-Notebook .jp-CodeCell").first).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.locator("#jp-main-statusbar").get_by_text(re.compile(r"\| Idle"))).to_be_visible(
            timeout=TIMEOUT_MS)                 # the kernel is up
        _run_first_cell(page)
        edited = page.locator(".wb-player-edited audio")
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while not (edited.get_attribute("src") or "").startswith("data:audio/wav"):
            assert time.monotonic() < deadline, "the Edited player got no sound"
            time.sleep(0.2)
        page.wait_for_timeout(1000)

        # room for the plots although the file browser takes ~280 px of the 1366
        out = page.locator(".jp-OutputArea-output").last
        width = out.evaluate("e => e.getBoundingClientRect().width")
        assert width < 1000
        for css in (".wb-spec-target", ".wb-spec-resyn"):
            box = page.locator(css).first.bounding_box()
            assert box and box["width"] >= 250, f"{css} is {box and box['width']:.0f} px wide in {width:.0f}"
        assert out.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "the workbench overflows the output"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "jupyterlab_1366x768.png"))

        # move Pitch: a new sound reaches the Edited player
        before = edited.get_attribute("src")
        handle = page.locator(".wb-edit-pitch_semitones .noUi-handle")
        handle.scroll_into_view_if_needed()
        handle.focus()
        for _ in range(3):
            handle.press("ArrowRight")
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while edited.get_attribute("src") == before:
            assert time.monotonic() < deadline, "the Edited sound did not change after moving Pitch"
            time.sleep(0.1)
        expect(page.locator(".wb-render-time")).to_contain_text("sound updated in", timeout=TIMEOUT_MS)
        page.wait_for_timeout(1500)         # late stylesheet or script loads would show up here
        page.screenshot(path=str(ARTIFACTS / "jupyterlab_1366x768_after_pitch.png"))
    finally:
        ctx.close()
    outside = sorted({u for u in urls if not _is_local(u, lab["port"])})
    assert not outside, f"requests that left the machine: {outside}"
    assert any("/panel_dist/" in u for u in urls), "Panel's files did not come from the Jupyter server"
    assert not errors, errors
