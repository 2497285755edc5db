"""What every view shares: the `View` base class, colours, figure defaults, deferred updates."""

from __future__ import annotations

import panel as pn
import param
from bokeh.models import FixedTicker
from bokeh.plotting import figure

from ..state import AppState

ACCENT = "#0072B5"
TOOL_COLOUR = "#E18727"
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"


def new_figure(title: str, x_label: str, y_label: str, height: int, **kw) -> figure:
    """A Bokeh figure in the workbench's style (full width, auto-hiding toolbar)."""
    f = figure(title=title, height=height, sizing_mode="stretch_width", tools=TOOLS,
               toolbar_location="right", x_axis_label=x_label, y_axis_label=y_label, **kw)
    f.toolbar.logo = None
    f.toolbar.autohide = True
    f.min_border_right = 10
    f.title.text_font_size = "11pt"
    return f


def hz_ticks(axis, ticks=(20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)) -> None:
    """Fixed ticks on a log frequency ``axis`` (a figure's ``xaxis``), labelled 500, 1k, 2k..."""
    axis.ticker = FixedTicker(ticks=list(ticks))
    axis.major_label_overrides = {t: (f"{t // 1000}k" if t >= 1000 else str(t)) for t in ticks}


def legend_below(fig) -> None:
    """Move the figure's legend under the plot area (one row): inside, it covered data."""
    legend = fig.legend[0]
    fig.center = [r for r in fig.center if r is not legend]
    legend.orientation, legend.location = "horizontal", "center"
    legend.border_line_alpha, legend.margin = 0, 0
    fig.add_layout(legend, "below")


def elide(name: str, most: int = 30) -> str:
    """``name`` cut in the middle to at most ``most`` characters: plot titles (drawn on a canvas,
    they cannot wrap) keep their start and end; the full name is in the recordings list."""
    if len(name) <= most:
        return name
    tail = (most - 1) // 2
    return f"{name[:most - 1 - tail]}\u2026{name[-tail:]}"


def later(fn, ms: int = 60) -> None:
    """Run ``fn`` ``ms`` later on the session's loop (immediately outside a server session).

    Plot refreshes go through here so that the new sound, computed in the same event,
    reaches the browser first instead of waiting behind spectrograms and tables.
    """
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        fn()
        return
    pn.state.add_periodic_callback(fn, period=ms, count=1)


class View(pn.viewable.Viewer):
    """Base of the views: one reference to the shared state."""

    state = param.ClassSelector(class_=AppState)

    def update_later(self, *events) -> None:
        """Run ``self._update()`` once, `later`, however many changes arrive before it runs
        (a param watcher: the events are not needed)."""
        if getattr(self, "_update_pending", False):
            return
        self._update_pending = True

        def run():
            self._update_pending = False
            self._update()
        later(run)
