"""The sound map in a real browser: the dashboard's Map tab (hover plays, click loads, a selection
lists and loads recordings) and the standalone page from ``file://`` (hover plays, offline).

Hover-to-sound is timed in the page with ``performance.now()``: from the last mouse event to the
audio element's ``playing`` event (target: 300 ms).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from served import playwright_api, serve

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
TIMEOUT_MS = 30_000
#: Hover to the audio's ``playing`` event, at most (ms).
HOVER_TO_SOUND_MS = 300

sync_api = playwright_api()
expect = sync_api.expect

#: Screen position of every point of the map's figure: [[key, name, x, y], ...] (CSS pixels of the page).
POINTS_JS = """
() => {
  for (const doc of Bokeh.documents) {
    const plot = doc.get_model_by_name('wb-soundmap');
    if (plot == null) { continue; }
    const view = Bokeh.index.find_one(plot);
    if (view == null) { continue; }
    const data = plot.renderers[0].data_source.data;
    const box = view.canvas.el.getBoundingClientRect();
    return data.x.map((x, i) => [data.key[i], data.name[i], box.left + view.frame.x_scale.compute(x),
                                 box.top + view.frame.y_scale.compute(data.y[i])]);
  }
  return null;
}
"""
#: Record when the mouse last moved (capture phase: before Bokeh sees it).
TRACK_JS = "document.addEventListener('mousemove', () => { window.wbLastMove = performance.now(); }, true)"


def _points(page) -> list:
    page.wait_for_function(f"({POINTS_JS})() !== null", timeout=TIMEOUT_MS)
    return page.evaluate(POINTS_JS)


def _loneliest(points) -> list:
    """The point farthest from every other (so a hover or click hits it and only it)."""
    def gap(p):
        return min(((p[2] - q[2]) ** 2 + (p[3] - q[3]) ** 2) ** 0.5 for q in points if q is not p)
    return max(points, key=gap)


def _hover_latency_ms(page, point) -> float:
    """Move onto ``point`` and return ms from that mouse event to its sound's ``playing`` event."""
    page.mouse.move(point[2] + 40, point[3] + 40)
    page.wait_for_timeout(200)
    page.mouse.move(point[2], point[3])
    page.wait_for_function("(name) => window.wbMap && window.wbMap.log.some(e => e.name === name && e.playing)",
                           arg=point[1], timeout=TIMEOUT_MS)
    entry = page.evaluate("(name) => window.wbMap.log.filter(e => e.name === name && e.playing).pop()", point[1])
    playing = page.evaluate("(name) => [...document.querySelectorAll('audio.wb-map-audio')]"
                            ".some(a => a.dataset.name === name && !a.paused)", point[1])
    assert playing, "the hovered point's audio is not playing"
    return entry["playing"] - page.evaluate("window.wbLastMove")


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    lib = tmp_path_factory.mktemp("library")
    shutil.copytree(REPO / "presets", lib, dirs_exist_ok=True, ignore=shutil.ignore_patterns("thumbs", "*.md"))
    return lib


@pytest.fixture(scope="module")
def server(tmp_path_factory, library):
    with serve(tmp_path_factory.mktemp("server"), "--presets", str(library), start_timeout_s=120) as server:
        yield server


@pytest.fixture
def page(browser, request):
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(TRACK_JS)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    ctx.close()
    assert not errors, errors


def test_map_tab_hover_plays_and_click_loads(page, server):
    page.goto(server.url)
    expect(page.locator(".wb-recordings option").first).to_be_attached(timeout=TIMEOUT_MS)     # session is live
    page.locator(".bk-tab").filter(has_text=re.compile(r"^Map$")).click()
    expect(page.locator(".wb-map-info")).to_contain_text("presets of", timeout=120_000)         # built (cold: JIT)
    points = _points(page)
    assert len(points) >= 39
    point = _loneliest(points)
    latency = _hover_latency_ms(page, point)
    print(f"dashboard hover-to-sound: {latency:.0f} ms")
    assert latency <= HOVER_TO_SOUND_MS, f"hover to sound took {latency:.0f} ms"
    # the shown recording's fit (the demo) is the star, with what it sounds like
    expect(page.locator(".wb-map-like")).to_contain_text("Sounds like")
    page.mouse.click(point[2], point[3])
    expect(page.locator(".wb-status")).to_contain_text(f"loaded preset '{point[0]}'", timeout=TIMEOUT_MS)
    assert page.evaluate("window.wbMap.log.filter(e => e.playing).length") >= 1


def test_map_selection_loads_recordings_for_a_joint_fit(page, server):
    page.goto(server.url)
    expect(page.locator(".wb-recordings option").first).to_be_attached(timeout=TIMEOUT_MS)
    page.locator(".bk-tab").filter(has_text=re.compile(r"^Map$")).click()
    expect(page.locator(".wb-map-info")).to_contain_text("presets of", timeout=120_000)
    keys = [p[0] for p in _points(page)]
    chosen = [keys.index("metal/robot_steelfork_on_steelbowl"), keys.index("metal/robot_woodspoon_on_steelbowl")]
    # what a lasso does: set the figure's selection (box and lasso gestures end in the same property)
    page.evaluate("""(chosen) => {
      for (const doc of Bokeh.documents) {
        const plot = doc.get_model_by_name('wb-soundmap');
        if (plot != null) { plot.renderers[0].data_source.selected.indices = chosen; }
      }
    }""", chosen)
    expect(page.locator(".wb-map-selected")).to_contain_text("2 selected", timeout=TIMEOUT_MS)
    page.locator(".wb-map-joint button").click()
    expect(page.locator(".wb-status")).to_contain_text("selected for a joint fit", timeout=TIMEOUT_MS)
    expect(page.locator(".wb-recordings option")).to_have_count(2)


def test_standalone_page_plays_on_hover_from_file(page, library, tmp_path):
    from workbench.app.mapfigure import save_map_html
    from workbench.soundmap import build_map

    path = save_map_html(build_map(library), tmp_path / "map.html")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri())
    point = _loneliest(_points(page))
    latency = _hover_latency_ms(page, point)
    print(f"standalone hover-to-sound: {latency:.0f} ms")
    assert latency <= HOVER_TO_SOUND_MS, f"hover to sound took {latency:.0f} ms"
    assert not [u for u in requests if u.startswith(("http:", "https:"))], requests
