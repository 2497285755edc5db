"""No HTML from data, in a real browser: file names, preset files and validation errors that
carry markup are shown as text and run nothing.

One ``workbench serve`` on a free port whose preset folder holds a preset file *named*
``<img src=x onerror=...>.json`` (valid; its name, material and tags carry markup too)
and one whose ``sample_rate`` is markup (the validation error quotes it). The page
loads both from the library, and receives a real WAV and a broken file uploaded under
markup names. Each payload would set ``window.__pwned`` if it ran.
"""

from __future__ import annotations

import json
import re

import pytest

from served import REPO, playwright_api, serve

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000

sync_api = playwright_api()
expect = sync_api.expect



def _payload(n: int) -> str:
    return f"<img src=x onerror=window.__pwned={n}>"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    presets = tmp_path_factory.mktemp("presets")
    demo = json.loads((REPO / "presets" / "demo.json").read_text())
    good = {**demo, "name": _payload(4), "material": _payload(5), "tags": [_payload(6)]}
    (presets / f"{_payload(1)}.json").write_text(json.dumps(good))
    (presets / "bad.json").write_text(json.dumps({**demo, "sample_rate": _payload(2)}))
    with serve(tmp_path_factory.mktemp("server"), "--presets", str(presets), fit_workers=1,
               start_timeout_s=120) as server:
        yield server.url


def _toast(page, text: str):
    return page.locator(".notyf__toast").filter(has_text=text)


def test_markup_in_file_names_presets_and_errors_is_shown_as_text(server, bundled_data, browser):
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    try:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server)
        expect(page.locator(".wb-recordings option").first).to_be_attached(timeout=TIMEOUT_MS)

        # a preset file named with markup, loaded from the library
        page.locator(".bk-tab").filter(has_text="Presets").click()
        library = page.locator(".wb-library select")
        expect(library.locator("option")).to_have_count(2, timeout=TIMEOUT_MS)
        library.select_option(label=_payload(1))
        load = page.get_by_role("button", name="Load", exact=True)
        load.click()
        loaded = f"loaded preset '{_payload(1)}'"
        expect(_toast(page, loaded)).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.locator(".wb-status")).to_contain_text(f"Note: {loaded}")

        # a preset whose invalid field value is markup: the validation error quotes it
        library.select_option(label="bad")
        load.click()
        quoted = f"(got '{_payload(2)}')"
        expect(_toast(page, quoted)).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.locator(".wb-status")).to_contain_text(re.compile(r"Error: .*bad\.json: sample_rate: .*"
                                                                      + re.escape(quoted)))

        # uploads named with markup: a real recording, and a broken file (its error names it)
        wav = (bundled_data / "robot_woodspoon_on_steelbowl.wav").read_bytes()
        drop = page.locator(".wb-drop input[type=file]")
        drop.set_input_files([{"name": f"{_payload(3)}.wav", "mimeType": "audio/wav", "buffer": wav}])
        expect(page.locator(".wb-recordings option").filter(has_text=f"{_payload(3)}.wav")).to_be_attached(
            timeout=TIMEOUT_MS)
        drop.set_input_files([{"name": f"{_payload(7)}.wav", "mimeType": "audio/wav",
                               "buffer": b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(2000)}])
        broken = f"{_payload(7)}.wav: not a readable audio file"
        expect(_toast(page, broken)).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.locator(".wb-status")).to_contain_text(broken)

        page.wait_for_timeout(500)              # an injected <img src=x> would have failed to load by now
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator('img[src="x"]').count() == 0      # CSS locators pierce the shadow roots
        assert not errors, errors
    finally:
        page.close()
