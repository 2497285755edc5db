"""Data shown as text, never as markup: the escaping helpers and the views' HTML sinks (no browser).

(`tests/test_injection.py` checks the same in the served page with Chromium.)
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from workbench.app.state import AppState
from workbench.app.text import escape_html, escape_markdown

pn = pytest.importorskip("panel")

from workbench.app.views.workbench import Workbench  # noqa: E402

PAYLOADS = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "[a](javascript:alert(1))",
            "![x](http://e/x.png)", "**bold** _it_ `code`", "&amp; &lt;b&gt; &#106;", "<https://e.example>",
            '"quoted" \'single\' back\\slash', "# heading\n- item\n> quote | a | b |", "$x$ ~~s~~ 50% <3",
            "plain text, a-b_c.wav (1)"]
MARKUP = re.compile(r"<(strong|em|code|a|img|script|h\d|ul|ol|li|blockquote|table|del|pre)\b")


def _render_markdown(text: str) -> str:
    return pn.pane.Markdown._get_parser("markdown-it", (), True).render(text)


def _shown(rendered: str) -> str:
    """What a browser shows for rendered HTML (tags dropped, entities decoded, spaces collapsed)."""
    return _spaces(html.unescape(re.sub(r"<[^>]+>", "", rendered)))


def _spaces(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escape_html_shows_the_text_and_leaves_no_markup(payload):
    out = escape_html(payload)
    assert not re.search(r"[<>\"]", out) and html.unescape(out) == payload


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escape_markdown_renders_the_text_literally(payload):
    rendered = _render_markdown(escape_markdown(payload))
    assert not MARKUP.search(rendered), rendered
    assert _shown(rendered) == _spaces(payload)


def test_escape_accepts_any_object():
    assert escape_html(3) == "3" and escape_markdown(None) == "None" and escape_markdown("") == ""


@pytest.fixture
def view(tmp_path):
    folder = tmp_path / "<img src=x onerror=alert(7)> presets"
    folder.mkdir()
    return Workbench(state=AppState(presets_dir=folder))


@pytest.fixture
def toasts(monkeypatch):
    """Panel's notification area (Notyf renders its message as HTML) replaced by a recorder."""
    shown = []

    class Area:
        def __getattr__(self, level):
            return lambda text, duration=0: shown.append((level, text))

    monkeypatch.setattr(type(pn.state), "notifications", property(lambda self: Area()))
    return shown


@pytest.mark.parametrize("payload", PAYLOADS)
def test_notify_keeps_plain_text_and_the_page_escapes_it(view, toasts, payload):
    s = view.state
    s.notify("error", payload)
    assert s.message[1] == payload                    # notebooks raise it as is: no entities in errors
    status = view._status.object
    assert status.startswith("**Error:** ")           # the app's own markup stays markup
    rendered = _render_markdown(status)
    assert "<strong>Error:</strong>" in rendered and not MARKUP.search(rendered.replace("<strong>Error:</strong>", ""))
    assert _shown(rendered) == _spaces(f"Error: {payload}")
    assert toasts == [("error", escape_html(payload))]


def test_a_loaded_preset_and_a_bad_one_are_named_literally(view, toasts, demo_preset_path):
    s = view.state
    folder = Path(s.presets_dir)
    evil = "<img src=x onerror=alert(1)>"
    (folder / f"{evil}.json").write_text(demo_preset_path.read_text())
    bad = demo_preset_path.read_text().replace('"sample_rate": 44100', '"sample_rate": "<script>alert(2)</script>"')
    (folder / "bad.json").write_text(bad)
    s.refresh_library()
    assert s.load_library_preset(evil) is not None
    assert toasts[-1] == ("info", escape_html(f"loaded preset {evil!r}"))
    assert evil in _shown(_render_markdown(view._status.object)) and not MARKUP.search(view._status.object)
    assert s.load_library_preset("bad") is None
    level, text = toasts[-1]
    assert level == "error" and "&lt;script&gt;alert(2)&lt;/script&gt;" in text and "<script" not in text
    assert "<script" not in _render_markdown(view._status.object)
    folder_md = _render_markdown(view.presets._folder.object)
    assert "<img" not in folder_md and _shown(folder_md) == f"Library folder: {folder}"


def test_fit_status_escapes_the_fit_message(view):
    view.state.fit_message = "fit of <img src=x onerror=alert(1)>.wav failed: [x](javascript:alert(1))"
    rendered = _render_markdown(view.fit._status.object)
    assert not MARKUP.search(rendered) and _shown(rendered) == view.state.fit_message
