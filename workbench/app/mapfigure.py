"""The sound map's Bokeh figure, shared by the dashboard's Map tab and the standalone page.

`map_figure` draws a `workbench.soundmap.SoundMap`: one point per preset coloured by
material (legend), a tooltip with its name, material and source, and hover-to-play: a
`CustomJS` hover callback plays the hovered point's audition (embedded as a WAV data
URI) at once through one ``<audio class="wb-map-audio">`` per point, pausing the one
before, so sounds never stack; while the mouse sweeps across points it switches at most
every `SWITCH_MS` (the latest point wins). Each play is logged in ``window.wbMap.log``
(hover and ``playing`` times from ``performance.now()``) for the browser test.
`save_map_html` writes the same figure as one self-contained HTML file (Bokeh's JS
inline: no CDN, works offline and from ``file://``). Bokeh only: no Panel here.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from pathlib import Path

from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, CustomJS, Div, HoverTool, TapTool
from bokeh.plotting import figure
from bokeh.resources import Resources

from ..atomic import atomic_write_text
from ..soundmap import SoundMap

#: Colour of each material (Okabe-Ito, colour-blind safe); others take `OTHER_COLOURS` in turn.
MATERIAL_COLOURS = {"metal": "#0072B2", "wood": "#D55E00", "ceramic": "#009E73", "glass": "#56B4E9",
                    "plastic": "#CC79A7", "stone": "#999999", "unknown": "#000000"}
OTHER_COLOURS = ("#E69F00", "#F0E442", "#882255", "#44AA99", "#117733", "#332288")
#: Fastest the hover switches from one point's sound to the next (ms) while the mouse sweeps.
SWITCH_MS = 80
#: The figure's name in the Bokeh document (tests find its view by it).
FIGURE_NAME = "wb-soundmap"

HOVER_JS = """
const hit = cb_data.index.indices;
const st = window.wbMap || (window.wbMap = {audio: {}, current: null, last: null, switched: -1e9,
                                            timer: null, log: []});
if (hit.length === 0) { st.last = null; return; }
const i = hit[0];
if (!source.data.sound[i]) { return; }     // a map built without sounds
const key = source.id + ':' + i;
if (key === st.last) { return; }            // still on the same point: let it ring
st.last = key;
const hovered = performance.now();
function play() {
  st.timer = null;
  if (st.last !== key) { return; }          // the mouse moved on before this one's turn
  let a = st.audio[key];
  if (a == null) {
    a = document.createElement('audio');
    a.className = 'wb-map-audio';
    a.preload = 'auto';
    a.dataset.name = source.data.name[i];
    a.src = source.data.sound[i];
    a.addEventListener('playing', () => {
      const entry = st.log.filter(e => e.key === key && e.playing == null).pop();
      if (entry) { entry.playing = performance.now(); }
    });
    document.body.appendChild(a);
    st.audio[key] = a;
  }
  if (st.current != null && st.current !== a) { st.current.pause(); }
  st.current = a;
  st.switched = performance.now();
  st.log.push({key: key, name: source.data.name[i], hovered: hovered, started: st.switched, playing: null});
  a.pause();                                // from its start, and a 'playing' event every time
  a.currentTime = 0;
  const started = a.play();
  if (started) { started.catch(() => {}); }
}
if (st.timer != null) { clearTimeout(st.timer); }
const wait = SWITCH_MS - (hovered - st.switched);
if (wait <= 0) { play(); } else { st.timer = setTimeout(play, wait); }
""".replace("SWITCH_MS", str(SWITCH_MS))

TAP_JS = """
const idx = source.selected.indices;
if (idx.length === 0) { return; }
tapped.data = {key: [source.data.key[idx[0]]], serial: [Date.now()]};
"""

SELECTED_JS = """
const names = source.selected.indices.map(i => source.data.name[i]);
div.text = names.length ? '<b>' + names.length + ' selected:</b> ' + names.join(', ') : '';
"""


def material_colours(materials) -> dict[str, str]:
    """{material: colour} for the materials of a map (the fixed ones first)."""
    others = iter(OTHER_COLOURS * (1 + len(set(materials)) // len(OTHER_COLOURS)))
    return {m: MATERIAL_COLOURS.get(m) or next(others) for m in sorted(set(materials))}


def data_uri(wav: bytes) -> str:
    return "data:audio/wav;base64," + base64.b64encode(wav).decode("ascii")


@dataclass
class MapFigure:
    """The figure and its data sources: ``points`` (one row per preset), ``placed`` (the shown
    fit's point, empty until placed), ``tapped`` (the key of the last tapped point)."""

    figure: object
    points: ColumnDataSource
    placed: ColumnDataSource
    tapped: ColumnDataSource


def map_figure(sound_map: SoundMap, *, height: int = 520, title: str = "Sound map") -> MapFigure:
    """The Bokeh figure of ``sound_map`` (see the module docstring)."""
    colours = material_colours(sound_map.materials)
    n = len(sound_map)
    points = ColumnDataSource({
        "x": sound_map.embedding[:, 0].tolist(), "y": sound_map.embedding[:, 1].tolist(),
        "key": list(sound_map.keys), "name": list(sound_map.names), "material": list(sound_map.materials),
        "source": [s or "-" for s in sound_map.sources], "colour": [colours[m] for m in sound_map.materials],
        "sound": [data_uri(w) for w in sound_map.sounds] if sound_map.sounds else [""] * n})
    placed = ColumnDataSource({"x": [], "y": [], "name": []})
    tapped = ColumnDataSource({"key": [], "serial": []})
    fig = figure(title=title, height=height, sizing_mode="stretch_width", name=FIGURE_NAME,
                 tools="pan,wheel_zoom,box_select,lasso_select,reset,save", toolbar_location="right",
                 x_axis_label="UMAP 1" if sound_map.method == "umap" else "axis 1",
                 y_axis_label="UMAP 2" if sound_map.method == "umap" else "axis 2")
    fig.toolbar.logo = None
    fig.title.text_font_size = "11pt"
    dots = fig.scatter("x", "y", source=points, size=13, fill_color="colour", line_color="white", line_width=1.5,
                       legend_group="material", selection_line_color="black", nonselection_fill_alpha=0.3)
    mark = fig.scatter("x", "y", source=placed, marker="star", size=24, fill_color="#FFD400", line_color="black")
    fig.add_tools(HoverTool(renderers=[dots], tooltips=[("name", "@name"), ("material", "@material"),
                                                        ("source", "@source")],
                            callback=CustomJS(args={"source": points}, code=HOVER_JS)),
                  HoverTool(renderers=[mark], tooltips=[("placed", "@name")]),
                  TapTool(renderers=[dots], callback=CustomJS(args={"source": points, "tapped": tapped},
                                                              code=TAP_JS)))
    legend = fig.legend[0]             # beside the plot: inside, it covered points
    fig.center = [r for r in fig.center if r is not legend]
    legend.border_line_alpha = 0
    fig.add_layout(legend, "right")
    return MapFigure(fig, points, placed, tapped)


class _BokehOnly(Resources):
    """Bokeh's own JS and CSS inline, without the files other libraries' models declare: Bokeh
    adds every imported model class's ``__javascript__`` (Panel's, once Panel is imported: a
    server-relative ``<script src>`` and CDN addresses) to any page, used or not."""

    def _collect_external_resources(self, resource_attr) -> list[str]:
        return []

    def clone(self, *, components=None) -> "_BokehOnly":        # Bokeh's clone() makes a plain Resources
        return _BokehOnly(mode=self.mode, components=components if components is not None else list(self.components))


def map_page(sound_map: SoundMap, *, title: str = "Sound map") -> str:
    """The map as one self-contained HTML page (Bokeh inline, no CDN)."""
    made = map_figure(sound_map, height=640, title=title)
    where = html.escape(sound_map.folder or "presets")
    about = Div(text=f"<p>{len(sound_map)} presets of <code>{where}</code>, laid out by "
                     f"{sound_map.method.upper()} from their physical parameters. Hover a point to hear it "
                     "(1 s, from the strike); lasso or box select to list several.</p>", sizing_mode="stretch_width")
    chosen = Div(text="", sizing_mode="stretch_width", css_classes=["wb-map-selected"])
    made.points.selected.js_on_change("indices", CustomJS(args={"source": made.points, "div": chosen},
                                                          code=SELECTED_JS))
    return file_html(column(about, made.figure, chosen, sizing_mode="stretch_width"),
                     resources=_BokehOnly(mode="inline"), title=title)


def save_map_html(sound_map: SoundMap, path: str | os.PathLike, *, title: str = "Sound map") -> Path:
    """Write `map_page` to ``path`` atomically; returns the path."""
    return atomic_write_text(path, map_page(sound_map, title=title))
