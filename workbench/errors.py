"""The one exception type that user-facing errors in Impact Workbench raise."""

from __future__ import annotations


class WorkbenchError(ValueError):
    """A user error: bad input file, bad preset, bad argument.

    The message always names the file or argument and says what is wrong, so the
    CLI and the dashboard can show it as one line without a traceback.
    """
