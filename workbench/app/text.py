"""Data into markup: file names, preset fields, error messages shown as plain text.

Panel's Markdown and HTML panes, its notifications (Notyf) and widget descriptions
render HTML, so text that comes from outside the app (an uploaded file's name, a preset
in a shared folder, an error that quotes a field) goes through one of these before it
meets them; the app's own markup (``**Error:**``) stays outside the escaped part.
Bokeh plot titles, Select/MultiSelect option labels and text inputs take plain text and
need nothing.

Example:
    >>> escape_html('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    >>> print(escape_markdown("[a](javascript:alert(1)) **b** &amp; <i>"))
    \\[a\\]\\(javascript\\:alert\\(1\\)\\) \\*\\*b\\*\\* &amp;amp\\; &lt;i&gt;
"""

from __future__ import annotations

import html
import string

#: ASCII punctuation that can start markdown syntax: backslash-escaped (CommonMark renders
#: an escaped one as itself). ``&<>"`` become HTML entities instead, so raw HTML and
#: character references in the data show literally.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_MARKDOWN = str.maketrans({c: _ENTITIES.get(c, "\\" + c) for c in string.punctuation})


def escape_html(text: object) -> str:
    """``text`` (any object: its ``str``) for an HTML sink: shows literally, runs nothing."""
    return html.escape(str(text), quote=True)


def escape_markdown(text: object) -> str:
    """``text`` for a Markdown sink: no emphasis, link, image, code, HTML or entity survives,
    and the rendered page shows the characters as they are."""
    return str(text).translate(_MARKDOWN)
