"""Helpers for tests that drive the dashboard's Panel widgets without a browser."""

from __future__ import annotations

import param


def release(widget, value) -> None:
    """What the browser does when a slider's handle is let go."""
    with param.edit_constant(widget):
        widget.value_throttled = value
