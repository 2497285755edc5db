"""The undo history of one session's edits (no UI): `EditHistory`.

It holds what the controls held before each change: the `workbench.edits.Edits`, or
any value that compares by equality (`AppState` keeps the edits together with the
model family's slider values, so moving a family slider is undone like an edit). A
history belongs to one preset being edited: `AppState` starts a fresh one when another
preset takes its place (a library preset loaded, another recording or a new fit shown),
so Undo never re-applies edits to a preset they were not made on.

Example:
    >>> from workbench.edits import Edits
    >>> h = EditHistory(Edits())
    >>> h.changed(Edits(pitch_semitones=3.0)); h.changed(Edits(pitch_semitones=5.0))
    >>> h.pop().pitch_semitones, len(h)
    (3.0, 1)
    >>> h.restart(Edits(decay_scale=2.0)); bool(h), h.pop()
    (False, None)
"""

from __future__ import annotations

import contextlib
from typing import Any

import param


class EditHistory:
    """Undo stack of edits: `changed` after every change, `pop` to undo one.

    Args:
        current: The edits now (what the first change is undone to).
        limit: Most changes kept (the oldest go first).
    """

    def __init__(self, current: Any, *, limit: int = 200):
        self.limit = int(limit)
        self._past: list[Any] = []
        self._last = current
        self._quiet = 0

    def __len__(self) -> int:
        return len(self._past)

    @property
    def current(self) -> Any:
        """What the controls hold now, as last told."""
        return self._last

    def changed(self, new: Any, *, before: Any = None) -> None:
        """The controls now hold ``new``: remember what they held before (unless `quiet`).

        ``before``: what to undo to, when not the last value told (a change made of
        several steps, some of them quiet).
        """
        before = self._last if before is None else before
        if not self._quiet and new != before:
            self._past.append(before)
            del self._past[:-self.limit]
        self._last = new

    def pop(self) -> Any | None:
        """The edits before the last change (None when there is nothing to undo)."""
        return self._past.pop() if self._past else None

    def restart(self, current: Any) -> None:
        """Forget every change: a fresh history from ``current``."""
        self._past.clear()
        self._last = current

    @contextlib.contextmanager
    def quiet(self):
        """Changes made inside are not recorded (an undo, a reset that comes with a new preset)."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1


def slider_values(controls: param.Parameterized | None) -> tuple[tuple[str, float], ...] | None:
    """(name, value) of each numeric slider of ``controls`` (None for None): a value the
    history can hold and compare, and `param.update` can set back."""
    if controls is None:
        return None
    return tuple((name, float(value)) for name, value in controls.param.values().items()
                 if isinstance(controls.param[name], param.Number))
