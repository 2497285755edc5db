"""The dashboard's instant match in a real browser: a dropped recording gets the impact
encoder's match as its fit (drawn and playable at once) while a fit refines it.

The instant match is on by default (`AppState.instant_match`; ``WORKBENCH_INSTANT_MATCH=0``
turns it off).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from served import playwright_api, serve

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "workbench" / "data" / "impactMetal_light_000.ogg"
TIMEOUT_MS = 30_000

expect = playwright_api().expect


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("server"), "--presets", str(tmp_path_factory.mktemp("presets")),
               fit_workers=1, start_timeout_s=240) as server:
        yield server


def test_a_dropped_recording_plays_the_encoder_match_and_fit_refines_it(browser, server):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url)
    expect(page.locator(".wb-recordings option").first).to_be_attached(timeout=TIMEOUT_MS)
    player = page.locator(".wb-player-fit audio")
    before = player.get_attribute("src")              # the demo recording's shipped fit
    t0 = time.perf_counter()
    page.locator(".wb-drop input[type=file]").set_input_files(str(CLIP))
    expect(page.locator(".wb-recordings option").filter(has_text=CLIP.name)).to_be_attached(timeout=TIMEOUT_MS)
    expect(player).to_have_attribute("src", re.compile("^data:audio/wav"), timeout=TIMEOUT_MS)
    expect(player).not_to_have_attribute("src", before or "", timeout=TIMEOUT_MS)
    shown_s = time.perf_counter() - t0
    matched = player.get_attribute("src")
    # Fit refines it from the encoder's start
    page.locator(".wb-steps input").fill("5")
    page.locator(".wb-steps input").press("Enter")
    page.locator(".wb-fit button").click()
    expect(page.locator(".wb-fit-status")).to_contain_text("fit done", timeout=120_000)
    expect(player).not_to_have_attribute("src", matched, timeout=TIMEOUT_MS)
    log = server.log.read_text()
    assert "Traceback" not in log, log[-2000:]
    print(f"instant match playable {shown_s:.2f} s after the drop (upload, encode, render, browser)")
    ctx.close()
    assert not errors, errors
