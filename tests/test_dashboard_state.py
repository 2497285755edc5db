"""What the served page shows after uploads, saves and comparisons (issue 13, items 3 and 7), in Chromium.

Only what the browser alone shows is checked here: the drop zone's file chips (FilePond,
in the page), the status banner, the names of downloaded files and the A/B text. The
state behind them is tested without a browser in `tests/test_app_shown_state.py`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from served import playwright_api, serve

pytestmark = pytest.mark.browser

sync_api = playwright_api()
expect = sync_api.expect

UPLOAD_CAP_MB = 3
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    presets = tmp_path_factory.mktemp("presets")
    with serve(tmp_path_factory.mktemp("server"), "--presets", str(presets),
               "--max-upload-mb", str(UPLOAD_CAP_MB)) as server:
        yield {"url": server.url, "presets": presets}


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server["url"])
    expect(page.locator(".wb-recordings option").first).to_be_attached(timeout=TIMEOUT_MS)
    yield page
    ctx.close()
    assert not errors, errors


def _chip(page, name: str):
    """The drop zone's chip of file ``name`` (FilePond's list item)."""
    return page.locator(".wb-drop .filepond--item").filter(has_text=name)


def test_a_refused_upload_leaves_the_drop_zone_and_a_later_success_replaces_the_error(page, tmp_path,
                                                                                       bundled_data):
    banner = page.locator(".wb-status")
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(2000))
    page.locator(".wb-drop input[type=file]").set_input_files(str(corrupt))
    expect(banner).to_contain_text("corrupt.wav: not a readable audio file", timeout=TIMEOUT_MS)
    expect(_chip(page, "corrupt.wav")).to_have_count(0, timeout=TIMEOUT_MS)    # no green "Upload complete"

    huge = tmp_path / "huge.wav"               # refused at its first chunk, while the rest is still sent
    huge.write_bytes(b"\0" * ((UPLOAD_CAP_MB + 2) * 2**20))
    page.locator(".wb-drop input[type=file]").set_input_files(str(huge))
    expect(banner).to_contain_text("huge.wav", timeout=TIMEOUT_MS)
    expect(_chip(page, "huge.wav")).to_have_count(0, timeout=TIMEOUT_MS)

    good = bundled_data / "impactMetal_light_000.ogg"
    page.locator(".wb-drop input[type=file]").set_input_files(str(good))
    expect(page.locator(".wb-recordings option")).to_have_count(2, timeout=TIMEOUT_MS)
    expect(banner).to_contain_text(f"Done: loaded {good.name}", timeout=TIMEOUT_MS)   # the error is replaced
    expect(banner).not_to_contain_text("huge.wav")
    expect(_chip(page, good.name)).to_contain_text("Upload complete", timeout=TIMEOUT_MS)
    assert page.locator(".wb-drop .filepond--item").count() == 1


def test_downloads_follow_the_saved_name_and_ab_says_when_a_is_b(page, server):
    page.locator(".bk-tab").filter(has_text="Presets").click()
    wav_button = page.locator(".wb-download-wav")
    expect(wav_button).to_be_visible(timeout=TIMEOUT_MS)
    with page.expect_download(timeout=TIMEOUT_MS) as dl:
        wav_button.locator("button").click()
    wav = dl.value.suggested_filename
    assert wav.endswith("_edited.wav") and wav != "robot_steelfork_on_steelbowl.wav", wav

    page.locator(".wb-compare button").click()          # A edited, B the fit: no edits yet
    expect(page.locator(".wb-ab-text")).to_contain_text("same preset", timeout=TIMEOUT_MS)
    expect(page.locator(".wb-ab-text")).not_to_contain_text("0.000")

    name = page.locator(".wb-preset-name input")
    name.fill("my bowl")
    name.press("Enter")
    page.locator(".wb-save button").click()
    expect(page.locator(".wb-status")).to_contain_text("saved preset", timeout=TIMEOUT_MS)
    json_button = page.locator(".wb-download-json")
    with page.expect_download(timeout=TIMEOUT_MS) as dl:
        json_button.locator("button").click()
    assert dl.value.suggested_filename == "my_bowl.json"
    assert json.loads(Path(dl.value.path()).read_text())["name"] == "my bowl"
    with page.expect_download(timeout=TIMEOUT_MS) as dl:
        wav_button.locator("button").click()
    assert re.fullmatch(r"my_bowl_edited\.wav", dl.value.suggested_filename)
