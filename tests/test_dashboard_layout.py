"""The served page's layout at 1366x768 and 1920x1080 (issue 13, item 8), in Chromium.

Measured with DOM geometry: cut text is an element whose content is wider than its box
(``scrollWidth > clientWidth``) or that runs past its container; overlaps are bounding
boxes that intersect. Panel and Bokeh draw inside shadow roots: the page scripts walk
them (`_DEEP`). Bokeh draws titles and legends on a canvas: their geometry comes from
Bokeh's own views (``Bokeh.index``). The CLI's help at 80 columns is checked here too.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from served import playwright_api, serve

UPLOAD_CAP_MB = 3
TIMEOUT_MS = 30_000
VIEWPORTS = [pytest.param((1366, 768), id="1366x768"), pytest.param((1920, 1080), id="1920x1080")]
#: A file name longer than the sidebar is wide, without spaces to break at.
LONG_NAME = "impactMetal_light_000_recorded_on_the_long_bench_take_03.ogg"

#: ``deep(selector)``: every matching element of the page, shadow roots included.
_DEEP = r"""
const deep = (sel) => {
  const out = [];
  const walk = (root) => root.querySelectorAll("*").forEach((e) => {
    if (e.matches(sel)) out.push(e);
    if (e.shadowRoot) walk(e.shadowRoot);
  });
  walk(document);
  return out;
};
const box = (e) => { const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; };
// the laid-out width of e's text beyond its content box (> 0: cut, even where an ellipsis keeps scrollWidth)
const excess = (e) => {
  const s = getComputedStyle(e), r = document.createRange();
  r.selectNodeContents(e);
  return r.getBoundingClientRect().width - (e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight));
};
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    playwright_api()
    presets = tmp_path_factory.mktemp("presets")
    with serve(tmp_path_factory.mktemp("server"), "--presets", str(presets),
               "--max-upload-mb", str(UPLOAD_CAP_MB)) as server:
        yield {"url": server.url}


@pytest.fixture
def open_page(browser, server):
    """``open_page((width, height))``: a fresh session's page at that viewport, the demo loaded."""
    contexts, errors = [], []
    expect = playwright_api().expect

    def open_(viewport):
        ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server["url"])
        expect(page.locator(".wb-recordings option").first).to_be_attached(timeout=TIMEOUT_MS)
        page.wait_for_timeout(500)
        return page

    yield open_
    for ctx in contexts:
        ctx.close()
    assert not errors, errors


def _expect():
    return playwright_api().expect


def _tab(page, name: str) -> None:
    page.locator(".bk-tab").filter(has_text=name).click()
    page.wait_for_timeout(1500)          # the tab's plots render and lay out


def _cut(page, selector: str) -> list:
    """Visible elements matching ``selector`` whose content is wider than their box."""
    return page.evaluate(_DEEP + """(sel) => deep(sel).filter((e) => e.clientWidth > 0)
        .filter((e) => e.scrollWidth > e.clientWidth + 1 || excess(e) > 0.5)
        .map((e) => [e.textContent, e.scrollWidth, e.clientWidth, excess(e)])""",
                         selector)


def _titles(page) -> list:
    """(title text, its width in its font, the room the canvas leaves it) of every shown figure."""
    return page.evaluate(_DEEP + """() => {
      const ctx = document.createElement("canvas").getContext("2d");
      const out = [];
      for (const v of Bokeh.index.all_views()) {
        const t = v.model.title;
        if (v.frame == null || t == null || !t.text || v.bbox == null || v.bbox.width <= 0) continue;
        ctx.font = `${t.text_font_style} ${t.text_font_size} ${t.text_font}`;
        out.push([t.text, ctx.measureText(t.text).width, v.bbox.width - v.frame.bbox.left]);
      }
      return out;
    }""")


def _upload_long_name(page, tmp_path, bundled_data) -> None:
    f = tmp_path / LONG_NAME
    shutil.copyfile(bundled_data / "impactMetal_light_000.ogg", f)
    page.locator(".wb-drop input[type=file]").set_input_files(str(f))
    expect = _expect()
    expect(page.locator(".wb-recordings option")).to_have_count(2, timeout=TIMEOUT_MS)
    expect(page.locator(".wb-drop .filepond--item").filter(has_text="Upload complete")).to_have_count(
        1, timeout=TIMEOUT_MS)
    page.wait_for_timeout(800)


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_no_text_is_cut(open_page, viewport, tmp_path, bundled_data):
    page = open_page(viewport)
    handle = page.locator(".noUi-handle").nth(1)    # pitch +1 (0: sensitivity): the longest resynthesis title
    handle.focus()
    handle.press("ArrowRight")
    page.wait_for_timeout(1500)
    for text, width, room in _titles(page):
        assert width <= room, f"title cut: {text!r} needs {width:.0f} px, has {room:.0f}"
    assert any("+ edits" in text for text, _, _ in _titles(page)), _titles(page)
    _upload_long_name(page, tmp_path, bundled_data)
    assert not _cut(page, ".wb-recordings option"), "recording list"
    assert not _cut(page, ".wb-drop .filepond--file-info-main"), "upload chips"
    assert not _cut(page, "button.bk-btn"), "button labels"
    # the device button stays in its column, left of the tabs
    play = page.evaluate(_DEEP + """() => [box(deep("button.bk-btn").find((b) => b.textContent === "Play on this machine")),
                                           box(deep(".bk-tab").find((t) => t.textContent === "Compare"))]""")
    assert play[0]["x"] + play[0]["w"] <= play[1]["x"], play
    for text, width, room in _titles(page):
        assert width <= room, f"title cut: {text!r} needs {width:.0f} px, has {room:.0f}"

    _tab(page, "Model")
    for text, width, room in _titles(page):
        assert width <= room, f"title cut: {text!r} needs {width:.0f} px, has {room:.0f}"
    heads = page.evaluate(_DEEP + """() => {
      const holder = deep(".wb-modes-table .tabulator-tableholder, .tabulator-tableholder")[0];
      const right = holder.getBoundingClientRect().left + holder.clientWidth;
      return deep(".tabulator-col[tabulator-field]").filter((c) => c.offsetWidth > 0).map((c) => {
        const title = c.querySelector(".tabulator-col-title");
        return [c.getAttribute("tabulator-field"), c.getBoundingClientRect().right, right, excess(title)];
      });
    }""")
    assert [h[0] for h in heads][-1] == "on", heads
    for field, col_right, room, over in heads:
        assert col_right <= room + 1 and over <= 0, (field, col_right, room, over)

    _tab(page, "Noise & reverb")
    for text, width, room in _titles(page):
        assert width <= room, f"title cut: {text!r} needs {width:.0f} px, has {room:.0f}"


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_toasts_cover_no_plot(open_page, viewport, tmp_path):
    page = open_page(viewport)
    bad = tmp_path / "corrupt.wav"
    bad.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(2000))
    page.locator(".wb-drop input[type=file]").set_input_files(str(bad))
    toast = page.locator(".notyf__toast").filter(has_text=re.compile("corrupt.wav"))
    _expect()(toast).to_be_visible(timeout=TIMEOUT_MS)
    page.wait_for_timeout(800)                       # its slide-in animation ends
    t = toast.bounding_box()
    plots = page.evaluate(_DEEP + """() => deep("canvas").filter((c) => c.offsetWidth > 0).map(box)""")
    assert plots
    for p in plots:
        apart = (t["x"] + t["width"] <= p["x"] or p["x"] + p["w"] <= t["x"]
                 or t["y"] + t["height"] <= p["y"] or p["y"] + p["h"] <= t["y"])
        assert apart, (t, p)


def _plot_geometry(page, title_start: str) -> dict:
    """The frame and legend boxes (canvas pixels) and the y ranges of the figure whose title starts so."""
    return page.evaluate(_DEEP + """(start) => {
      for (const v of Bokeh.index.all_views()) {
        const t = v.model.title;
        if (v.frame == null || t == null || !String(t.text).startsWith(start)) continue;
        const f = v.frame.bbox;
        const legends = [];
        for (const rv of v.renderer_views.values())
          if (rv.model.type === "Legend") { const b = rv.bbox; legends.push({x: b.x, y: b.y, w: b.width, h: b.height}); }
        const ranges = {default: [v.model.y_range.start, v.model.y_range.end]};
        const extra = v.model.extra_y_ranges;
        for (const [k, r] of (extra instanceof Map ? extra.entries() : Object.entries(extra))) ranges[k] = [r.start, r.end];
        return {frame: {x: f.x, y: f.y, w: f.width, h: f.height}, legends, ranges};
      }
      return null;
    }""", title_start)


def _overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"]
                or a["y"] + a["h"] <= b["y"] or b["y"] + b["h"] <= a["y"])


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_legends_leave_the_data_and_the_reverb_line_has_headroom(open_page, viewport):
    page = open_page(viewport)
    _tab(page, "Model")
    modes = _plot_geometry(page, "Modes")
    assert modes and modes["legends"], modes
    for legend in modes["legends"]:
        assert legend["w"] > 0 and not _overlap(legend, modes["frame"]), modes

    _tab(page, "Noise & reverb")
    reverb = _plot_geometry(page, "Reverb bands")
    assert reverb and reverb["legends"], reverb
    for legend in reverb["legends"]:
        assert legend["w"] > 0 and not _overlap(legend, reverb["frame"]), reverb
    data = page.evaluate("""() => {
      for (const v of Bokeh.index.all_views()) {
        if (v.frame == null || v.model.title == null || !String(v.model.title.text).startsWith("Reverb bands")) continue;
        for (const rv of v.renderer_views.values()) {
          const src = rv.model.data_source;
          if (src != null && src.data.gain_db != null) return [Array.from(src.data.gain_db), Array.from(src.data.t60_s)];
        }
      }
    }""")
    (lo, hi), (tlo, thi) = reverb["ranges"]["default"], reverb["ranges"]["t60"]
    assert data and max(data[0]) <= hi - 0.05 * (hi - lo), (data[0], lo, hi)     # not on the top edge
    assert max(data[1]) <= thi - 0.05 * (thi - tlo), (data[1], tlo, thi)


@pytest.mark.browser
def test_disabled_buttons_look_disabled(open_page):
    page = open_page((1366, 768))
    styles = page.evaluate(_DEEP + """() => {
      const b = deep("button.bk-btn").find((e) => e.textContent === "Cancel");
      const look = () => { const s = getComputedStyle(b); return [b.disabled, s.opacity, s.filter, s.cursor]; };
      const off = look();
      b.disabled = false;
      const on = look();
      b.disabled = true;
      return [off, on];
    }""")
    off, on = styles
    assert off[0] and not on[0]
    assert off[1:] != on[1:], styles
    assert float(off[1]) < 0.7 <= float(on[1]), styles


@pytest.mark.browser
@pytest.mark.parametrize("label", ["Joint fit", "Reverb on", "Tool on"])
def test_a_click_on_a_checkbox_label_toggles_it(open_page, label):
    page = open_page((1366, 768))
    state = _DEEP + """(label) => deep(".bk-label").find((e) => e.textContent === label)
        .parentNode.querySelector("input[type=checkbox]").checked"""
    before = page.evaluate(state, label)
    text = page.get_by_text(label, exact=True)
    text.scroll_into_view_if_needed()
    for now in (not before, before):       # a real click where the text is drawn (not on the box)
        b = text.bounding_box()
        page.mouse.click(b["x"] + b["width"] - 8, b["y"] + b["height"] / 2)
        page.wait_for_timeout(300)
        assert page.evaluate(state, label) is now


@pytest.mark.browser
def test_a_click_on_a_modes_on_tick_mutes_the_mode(open_page):
    page = open_page((1366, 768))
    expect = _expect()
    _tab(page, "Model")
    edited = page.locator(".wb-player-edited audio")
    src_before = edited.get_attribute("src")
    assert src_before
    rows = page.locator(".wb-modes-table .tabulator-row")
    cell = rows.nth(2).locator(".tabulator-cell[tabulator-field=on]")
    html_before = cell.inner_html()
    cell.click()
    page.wait_for_function(
        _DEEP + """(before) => { const c = deep(".tabulator-row")[2].querySelector(".tabulator-cell[tabulator-field=on]");
                                 return c.innerHTML !== before; }""", arg=html_before, timeout=TIMEOUT_MS)
    expect(edited).not_to_have_attribute("src", src_before or "", timeout=TIMEOUT_MS)     # the Edited sound
    cell = page.locator(".wb-modes-table .tabulator-row").nth(2).locator(".tabulator-cell[tabulator-field=on]")
    cell.click()                                                            # and back on
    page.wait_for_function(
        _DEEP + """(before) => { const c = deep(".tabulator-row")[2].querySelector(".tabulator-cell[tabulator-field=on]");
                                 return c.innerHTML === before; }""", arg=html_before, timeout=TIMEOUT_MS)
    # a click elsewhere in a row still selects it
    page.locator(".wb-modes-table .tabulator-row").nth(4).locator(".tabulator-cell[tabulator-field=body]").click()
    expect(page.locator(".wb-modes-table .tabulator-row").nth(4)).to_have_class(re.compile("tabulator-selected"),
                                                                             timeout=TIMEOUT_MS)


def test_cli_help_is_not_truncated_at_80_columns():
    from typer.testing import CliRunner

    from workbench.cli import app

    runner = CliRunner()
    top = runner.invoke(app, ["--help"], env={"COLUMNS": "80", "TERM": "xterm"})
    assert top.exit_code == 0 and "…" not in top.output, top.output
    commands = re.findall(r"^│ (\w[\w-]*) ", top.output, flags=re.M)
    assert "serve" in commands, top.output
    for cmd in commands:
        res = runner.invoke(app, [cmd, "--help"], env={"COLUMNS": "80", "TERM": "xterm"})
        assert res.exit_code == 0, res.output
        assert max(len(line) for line in res.output.splitlines()) <= 80, res.output
        assert "…" not in res.output, f"{cmd} --help at 80 columns:\n{res.output}"
