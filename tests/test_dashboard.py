"""The dashboard in a real browser: Debian's Chromium driven by plain Playwright.

A module fixture starts ``workbench serve --no-show`` on a free loopback port with the
preset library in a temporary folder and a small upload cap; each test opens its own
browser context (its own server session). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import io
import os
import re
import time
import zipfile
from pathlib import Path

import pytest

from served import playwright_api, serve

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
UPLOAD_CAP_MB = 3
TIMEOUT_MS = 30_000

sync_api = playwright_api()
expect = sync_api.expect


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    presets = tmp_path_factory.mktemp("presets")
    with serve(tmp_path_factory.mktemp("server"), "--presets", str(presets), "--max-upload-mb", str(UPLOAD_CAP_MB),
               start_timeout_s=120) as server:
        yield {"url": server.url, "presets": presets, "log": server.log}


@pytest.fixture
def page(browser, server, request):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server["url"])
    expect(page.locator(".wb-recordings option").first).to_be_attached(timeout=TIMEOUT_MS)   # session is live
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    ctx.close()
    assert not errors, errors


def _recordings(page) -> list[str]:
    return [re.sub(r"\s+\([\d.]+ s, \d+ ch\)$", "", t) for t in page.locator(".wb-recordings option").all_inner_texts()]


def _upload(page, *files) -> None:
    page.locator(".wb-drop input[type=file]").set_input_files([str(f) for f in files])


def _set_number(page, css: str, value: int) -> None:
    box = page.locator(f"{css} input")
    box.fill(str(value))
    box.press("Enter")


def _notification(page, pattern: str):
    return page.locator(".notyf__toast").filter(has_text=re.compile(pattern))


def test_opens_on_the_demo_at_laptop_and_large_screen(page, browser, server):
    assert page.title() == "Impact Workbench"
    expect(page.get_by_text("Drop recordings here")).to_be_visible()
    assert _recordings(page) == ["robot_steelfork_on_steelbowl.wav"]
    expect(page.locator(".wb-player-original audio")).to_have_attribute("src", re.compile("^data:audio/wav"))
    for css in (".wb-spec-target canvas", ".wb-spec-resyn canvas", ".wb-loss canvas"):
        expect(page.locator(css).first).to_be_visible()
    # 1366x768: the sidebar, the sliders and both spectrograms fit the width (no sideways scrolling)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard_1366x768.png"))
    big = browser.new_context(viewport={"width": 2560, "height": 1440}).new_page()
    big.goto(server["url"])
    expect(big.locator(".wb-recordings option").first).to_be_attached(timeout=TIMEOUT_MS)
    expect(big.locator(".wb-player-original audio")).to_have_attribute("src", re.compile("^data:audio/wav"),
                                                                       timeout=TIMEOUT_MS)
    big.wait_for_timeout(500)
    big.screenshot(path=str(ARTIFACTS / "dashboard_2560x1440.png"))
    big.context.close()


def test_upload_fit_edit_save_export(page, server, bundled_data):
    _upload(page, bundled_data / "robot_woodspoon_on_steelbowl.wav")
    expect(page.locator(".wb-recordings option")).to_have_count(2, timeout=TIMEOUT_MS)
    assert "robot_woodspoon_on_steelbowl.wav" in _recordings(page)
    resyn_before = page.locator(".wb-spec-resyn").screenshot()
    loss_before = page.locator(".wb-loss").screenshot()

    _set_number(page, ".wb-modes", 8)
    _set_number(page, ".wb-steps", 4)
    page.locator(".wb-fit button").click()
    expect(page.locator(".wb-cancel button")).to_be_enabled(timeout=TIMEOUT_MS)      # running
    expect(page.locator(".wb-fit-status")).to_contain_text("fit done", timeout=180_000)
    expect(page.locator(".wb-fit-status")).to_contain_text("robot_woodspoon_on_steelbowl.wav")
    expect(page.locator(".wb-fit button")).to_be_enabled()
    page.wait_for_timeout(500)
    assert page.locator(".wb-loss").screenshot() != loss_before        # the loss curve was drawn
    assert page.locator(".wb-spec-resyn").screenshot() != resyn_before    # the resynthesis is shown
    page.screenshot(path=str(ARTIFACTS / "after_fit.png"))

    edited = page.locator(".wb-player-edited audio")
    expect(edited).to_have_attribute("src", re.compile("^data:audio/wav"))
    before = edited.get_attribute("src")
    handle = page.locator(".wb-edit-pitch_semitones .noUi-handle")
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    expect(edited).not_to_have_attribute("src", before, timeout=TIMEOUT_MS)
    expect(page.locator(".wb-render-time")).to_contain_text("sound updated in")

    page.locator(".bk-tab").filter(has_text="Presets").click()
    name = page.locator(".wb-preset-name input")
    name.fill("browser test bowl")
    name.press("Enter")
    page.locator(".wb-save button").click()
    saved = server["presets"] / "browser_test_bowl.json"
    expect(_notification(page, "saved preset")).to_be_visible(timeout=TIMEOUT_MS)
    assert saved.is_file()
    import workbench as wb
    p = wb.load_preset(saved)
    assert p.name == "browser test bowl" and p.provenance["edits"]["pitch_semitones"] > 0

    button = page.locator(".wb-export-tdw button")
    if not button.is_enabled():
        pytest.skip("exporter not installed: export button disabled (checked it says so)")
    with page.expect_download(timeout=120_000) as dl:
        button.click()
    data = Path(dl.value.path()).read_bytes()
    assert zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_dropped_recording_to_bank_and_faust_file(page, bundled_data):
    """Issue 15's path in the browser: drop, fit, a physical edit, a variation bank and a Faust file."""
    import json

    _upload(page, bundled_data / "robot_woodspoon_on_steelbowl.wav")
    expect(page.locator(".wb-recordings option")).to_have_count(2, timeout=TIMEOUT_MS)
    _set_number(page, ".wb-modes", 8)
    _set_number(page, ".wb-steps", 4)
    page.locator(".wb-fit button").click()
    expect(page.locator(".wb-fit-status")).to_contain_text("fit done", timeout=180_000)

    edited = page.locator(".wb-player-edited audio")
    expect(edited).to_have_attribute("src", re.compile("^data:audio/wav"))
    before = edited.get_attribute("src")
    handle = page.locator(".wb-edit-size .noUi-handle")       # the object twice as large, or so
    handle.focus()
    for _ in range(3):
        handle.press("ArrowRight")
    expect(edited).not_to_have_attribute("src", before, timeout=TIMEOUT_MS)

    page.locator(".bk-tab").filter(has_text="Variations").click()
    _set_number(page, ".wb-var-files", 4)
    page.locator(".wb-var-generate button").click()
    expect(page.locator(".wb-var-summary")).to_contain_text("4 variations", timeout=120_000)
    expect(page.locator(".wb-var-player audio")).to_have_attribute("src", re.compile("^data:audio/wav"))
    with page.expect_download(timeout=120_000) as dl:
        page.locator(".wb-var-download button").click()
    bank = zipfile.ZipFile(io.BytesIO(Path(dl.value.path()).read_bytes()))
    root = bank.namelist()[0].split("/")[0]
    mapping = json.loads(bank.read(f"{root}/mapping.json"))
    assert len(mapping["files"]) == 4 and sum(n.endswith(".wav") for n in bank.namelist()) == 4
    assert all(f["distance"] <= mapping["max_distance"] for f in mapping["files"])
    assert {f"{root}/mapping.csv", f"{root}/README.md"} <= set(bank.namelist())

    page.locator(".bk-tab").filter(has_text="Presets").click()
    with page.expect_download(timeout=120_000) as dl:
        page.locator(".wb-export-faust button").click()
    faust = zipfile.ZipFile(io.BytesIO(Path(dl.value.path()).read_bytes()))
    dsp = [n for n in faust.namelist() if n.endswith(".dsp")]
    assert len(dsp) == 1 and 'import("stdfaust.lib")' in faust.read(dsp[0]).decode()


def test_bad_uploads_show_errors_and_keep_working(page, tmp_path, bundled_data):
    before = _recordings(page)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(2000))
    _upload(page, corrupt)
    expect(_notification(page, "corrupt.wav: not a readable audio file")).to_be_visible(timeout=TIMEOUT_MS)
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    _upload(page, empty)
    expect(_notification(page, "empty.flac: the file is empty")).to_be_visible(timeout=TIMEOUT_MS)
    huge = tmp_path / "huge.wav"
    huge.write_bytes(b"\0" * ((UPLOAD_CAP_MB + 2) * 2**20))
    _upload(page, huge)
    expect(_notification(page, "huge.wav: .* over the upload limit")).to_be_visible(timeout=TIMEOUT_MS)
    assert _recordings(page) == before
    _upload(page, bundled_data / "impactMetal_light_000.ogg")      # still works afterwards
    expect(page.locator(".wb-recordings option")).to_have_count(len(before) + 1, timeout=TIMEOUT_MS)


def test_two_sessions_do_not_share_recordings(browser, server, bundled_data):
    pages = []
    for _ in range(2):
        ctx = browser.new_context(viewport={"width": 1366, "height": 768})
        p = ctx.new_page()
        p.goto(server["url"])
        expect(p.locator(".wb-recordings option").first).to_be_attached(timeout=TIMEOUT_MS)
        pages.append(p)
    a, b = pages
    _upload(a, bundled_data / "robot_woodspoon_on_steelbowl.wav")
    expect(a.locator(".wb-recordings option")).to_have_count(2, timeout=TIMEOUT_MS)
    b.reload()
    expect(b.locator(".wb-recordings option").first).to_be_attached(timeout=TIMEOUT_MS)
    b.wait_for_timeout(500)
    assert _recordings(b) == ["robot_steelfork_on_steelbowl.wav"]
    assert "robot_woodspoon_on_steelbowl.wav" in _recordings(a)
    for p in pages:
        p.context.close()


def _wait_for_new_src(audio, before: str, what: str) -> None:
    """Wait until an <audio> element's src differs from ``before`` (fails naming ``what``, not the data URL)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while audio.get_attribute("src") == before:
        assert time.monotonic() < deadline, f"the edited sound did not change after {what}"
        time.sleep(0.1)


def test_mode_table_edits_change_the_sound(page):
    """Type a new frequency into the mode table and switch a mode off: the edited sound changes each time."""
    page.locator(".bk-tab").filter(has_text="Model").click()
    table = page.locator(".wb-modes-table")
    expect(table.locator(".tabulator-row").first).to_be_visible(timeout=TIMEOUT_MS)
    edited = page.locator(".wb-player-edited audio")
    expect(edited).to_have_attribute("src", re.compile("^data:audio/wav"), timeout=TIMEOUT_MS)

    row = table.locator(".tabulator-row").first
    freq = row.locator('.tabulator-cell[tabulator-field="freq_hz"]')
    new_hz = round(float(freq.inner_text()) * 1.5, 1)
    before = edited.get_attribute("src")
    freq.click()
    box = freq.locator("input")
    expect(box).to_be_visible(timeout=TIMEOUT_MS)
    box.fill(str(new_hz))
    box.press("Enter")
    _wait_for_new_src(edited, before, "typing a new frequency")
    expect(freq).to_have_text(f"{new_hz:.1f}")

    before = edited.get_attribute("src")
    on = row.locator('.tabulator-cell[tabulator-field="on"]')
    on.click()                                          # one click on the tick: the mode is off
    _wait_for_new_src(edited, before, "switching the mode off")
    off = edited.get_attribute("src")
    row.locator('.tabulator-cell[tabulator-field="on"]').click()      # and back on: exactly the sound before
    _wait_for_new_src(edited, off, "switching the mode back on")
    assert edited.get_attribute("src") == before, "switching the mode back on did not restore its sound"


def test_the_page_asks_nothing_outside_this_machine(browser, server):
    """Scripts, stylesheets, fonts and the websocket all come from the local server (no CDN)."""
    urls = []
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    ctx.on("request", lambda r: urls.append(r.url))
    page = ctx.new_page()
    page.on("websocket", lambda ws: urls.append(ws.url))
    page.goto(server["url"])
    expect(page.locator(".wb-recordings option").first).to_be_attached(timeout=TIMEOUT_MS)
    for tab in ("Model", "Noise & reverb", "Presets", "Compare"):     # tabs render their parts on demand
        page.locator(".bk-tab").filter(has_text=tab).click()
        page.wait_for_timeout(300)
    handle = page.locator(".wb-edit-pitch_semitones .noUi-handle")
    handle.focus()
    handle.press("ArrowRight")
    expect(page.locator(".wb-render-time")).to_contain_text("sound updated in", timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)
    ctx.close()
    origin = server["url"].rstrip("/")
    outside = sorted({u for u in urls if not u.startswith((origin, "ws" + origin[4:], "data:", "blob:"))})
    assert not outside, f"requests that left the machine: {outside}"
