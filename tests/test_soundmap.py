"""The sound map: features, a deterministic layout, placing and nearest presets, the page, the CLI, the Map tab's state.

(`tests/test_soundmap_browser.py` drives the Map tab and the standalone page in Chromium.)
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from workbench.app.mapfigure import map_page
from workbench.cli import app
from workbench.errors import WorkbenchError
from workbench.presets import load_preset
from workbench.soundmap import FEATURE_NAMES, build_map, library_files, preset_features

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "presets"
#: A preset and its separated sibling (the same joint fit's object modes, with and without the tool).
SIBLINGS = ("metal/steelbowl_object", "metal/robot_ceramicchopstick_on_steelbowl_separated")


@pytest.fixture(scope="module")
def lib_map():
    return build_map(PRESETS, seed=0)


def _few(tmp_path: Path, keys) -> Path:
    for key in keys:
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PRESETS / f"{key}.json", tmp_path / f"{key}.json")
    return tmp_path


def test_features_are_finite_and_fixed_length():
    files = library_files(PRESETS)
    assert len(files) >= 39
    rows = np.stack([preset_features(load_preset(p)) for _, p in files])
    assert rows.shape == (len(files), len(FEATURE_NAMES)) and np.isfinite(rows).all()
    assert set(rows[:, FEATURE_NAMES.index("tool")]) == {0.0, 1.0}      # separated fits have a tool


def test_the_map_is_deterministic_for_a_seed(lib_map):
    again = build_map(PRESETS, seed=0, sounds=False)
    assert lib_map.method == "umap" and lib_map.keys == again.keys
    np.testing.assert_allclose(again.embedding, lib_map.embedding, atol=1e-6)
    assert np.isfinite(lib_map.embedding).all() and lib_map.embedding.shape == (len(lib_map), 2)
    other = build_map(PRESETS, seed=1, sounds=False)
    assert not np.allclose(other.embedding, lib_map.embedding)


def test_nearest_returns_the_preset_itself_first(lib_map):
    for key in ("metal/robot_steelfork_on_steelbowl_separated", "wood/Xylo_Medium_C4_ff_01_far", SIBLINGS[0]):
        preset = load_preset(PRESETS / f"{key}.json")
        near = lib_map.nearest(preset, k=5)
        assert len(near) == 5 and near[0].key == key and near[0].distance < 1e-9
        assert all(a.distance <= b.distance for a, b in zip(near, near[1:]))


@pytest.mark.parametrize("a, b", [SIBLINGS, ("ceramic/ceramicmug_object", "ceramic/robot_steelfork_on_ceramicmug_separated"),
                                  ("wood/woodholder_object", "wood/robot_polyspoon_on_woodholder_separated")])
def test_a_preset_and_its_separated_sibling_are_neighbours(lib_map, a, b):
    pa, pb = (load_preset(PRESETS / f"{k}.json") for k in (a, b))
    assert b in [n.key for n in lib_map.nearest(pa, k=3)] and a in [n.key for n in lib_map.nearest(pb, k=3)]
    emb = lib_map.embedding
    diameter = float(np.linalg.norm(emb.max(axis=0) - emb.min(axis=0)))
    at_a = emb[lib_map.keys.index(a)]
    assert np.linalg.norm(emb[lib_map.keys.index(b)] - at_a) < 0.05 * diameter       # side by side on the map
    assert np.linalg.norm(lib_map.place(pb) - at_a) < 0.1 * diameter                  # and placed there


def test_every_preset_placed_lands_next_to_itself(lib_map):
    emb = lib_map.embedding
    diameter = float(np.linalg.norm(emb.max(axis=0) - emb.min(axis=0)))
    off, among_neighbours = [], 0
    for key in lib_map.keys:
        preset = load_preset(PRESETS / f"{key}.json")
        xy = lib_map.place(preset)
        off.append(np.linalg.norm(xy - emb[lib_map.keys.index(key)]) / diameter)
        closest = lib_map.keys[int(np.argmin(np.linalg.norm(emb - xy, axis=1)))]
        among_neighbours += closest in {n.key for n in lib_map.nearest(preset, k=4)}
    assert max(off) < 0.15, f"placed up to {max(off):.2f} of the map's width from its own point"
    assert among_neighbours >= 0.85 * len(lib_map), f"{among_neighbours} of {len(lib_map)} land among their neighbours"


def test_small_libraries_are_laid_out_without_umap(tmp_path):
    few = build_map(_few(tmp_path, ["metal/steelbowl_object", "wood/woodholder_object", "glass/impactGlass_medium_000"]),
                    sounds=False)
    assert few.method == "pca" and few.embedding.shape == (3, 2) and np.isfinite(few.embedding).all()
    xy = few.place(load_preset(PRESETS / "wood/woodholder_object.json"))
    np.testing.assert_allclose(xy, few.embedding[few.keys.index("wood/woodholder_object")], atol=1e-9)
    one = build_map([load_preset(PRESETS / "demo.json")], sounds=False)
    assert one.method == "single" and one.embedding.tolist() == [[0.0, 0.0]]


def test_each_point_gets_a_short_audition(lib_map):
    import soundfile as sf

    assert len(lib_map.sounds) == len(lib_map)
    y, sr = sf.read(io.BytesIO(lib_map.sounds[0]))
    assert sr == 16000 and len(y) == 16000 and 0.3 < np.abs(y).max() <= 0.51
    assert np.abs(y[:int(0.1 * sr)]).max() > 0.1        # the strike is at the start, not half a second in


def test_the_standalone_page_is_offline_and_embeds_one_sound_per_point(lib_map):
    import workbench.app.views.workbench  # noqa: F401  Panel's models declare JS files Bokeh adds to any page
    page = map_page(lib_map)
    # no element fetches anything (BokehJS, inline, holds a MathJax URL it uses only for LaTeX labels)
    tags = re.findall(r"<(?:script|link|img|audio|source|iframe)\b[^>]*>", page)
    assert tags and not [t for t in tags if re.search(r"""\b(src|href)\s*=\s*["']?(https?:)?//""", t)], tags
    assert "cdn.bokeh.org" not in page and not [t for t in tags if t.startswith("<script") and "src=" in t]
    assert page.count("data:audio/wav;base64,") == len(lib_map)
    assert len(page) < 8 * 2**20


def test_cli_writes_the_page_and_refuses_a_bad_folder(tmp_path):
    lib = _few(tmp_path / "lib", ["metal/steelbowl_object", "wood/woodholder_object", "glass/impactGlass_medium_000",
                                  "ceramic/ceramicmug_object", "plastic/polycarbonatecup_object", "demo"])
    (lib / "broken.json").write_text("{not json")
    out = tmp_path / "map.html"
    r = CliRunner().invoke(app, ["map", str(lib), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "wrote" in r.output and "6 presets by UMAP" in r.output and "skipped" in r.output
    assert out.read_text().count("data:audio/wav;base64,") == 6
    for args, message in ((["map", str(tmp_path / "nowhere"), "-o", str(out)], "not a folder of presets"),
                          (["map", str(tmp_path), "-o", str(tmp_path / "map.png")], "expected a .html")):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 2 and message in r.output
        assert len(r.output.strip().splitlines()) == 1, r.output
    empty = tmp_path / "empty"
    empty.mkdir()
    r = CliRunner().invoke(app, ["map", str(empty), "-o", str(out)])
    assert r.exit_code == 2 and "no preset" in r.output


def test_build_map_errors_name_the_folder(tmp_path):
    with pytest.raises(WorkbenchError, match="not a folder"):
        build_map(tmp_path / "missing")
    (tmp_path / "bad.json").write_text("[]")
    with pytest.raises(WorkbenchError, match="no usable preset"):
        build_map(tmp_path)


# -- the Map tab's state (AppState's MapActions) ---------------------------------------------


@pytest.fixture(scope="module")
def map_state(tmp_path_factory):
    from workbench.app.state import AppState

    lib = _few(tmp_path_factory.mktemp("maplib"), [
        "metal/robot_steelfork_on_steelbowl_separated", "metal/robot_woodspoon_on_steelbowl", "metal/steelbowl_object",
        "wood/woodholder_object", "glass/impactGlass_medium_000", "ceramic/ceramicmug_object", "demo"])
    return AppState.open(presets_dir=lib)


def test_the_shown_fit_is_placed_with_what_it_sounds_like(map_state):
    m = map_state.sound_map()
    assert m is map_state.sound_map()          # built once per folder
    xy, near, label = map_state.map_placement(m)
    assert np.isfinite(xy).all() and label == "fit of robot_steelfork_on_steelbowl.wav"
    assert near[0].key == "metal/robot_steelfork_on_steelbowl_separated" and near[0].distance < 1e-9


def test_a_tapped_point_loads_its_preset(map_state):
    assert map_state.map_load("wood/woodholder_object").name == "woodholder_object"
    assert map_state.base_source == "library: wood/woodholder_object" and "loaded preset" in map_state.message[1]


def test_selected_presets_export_together(map_state):
    pytest.importorskip("workbench.export")
    data = map_state.map_export(["metal/steelbowl_object", "wood/woodholder_object"], "faust")
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert {n.split("/")[0] for n in names} == {"steelbowl_object_faust", "woodholder_object_faust"}
    with pytest.raises(WorkbenchError, match="select presets"):
        map_state.map_export([], "tdw")


def test_selected_presets_load_their_recordings_for_a_joint_fit(map_state):
    chosen = map_state.map_joint_fit(["metal/robot_steelfork_on_steelbowl_separated", "metal/robot_woodspoon_on_steelbowl"])
    assert chosen == ["robot_steelfork_on_steelbowl.wav", "robot_woodspoon_on_steelbowl.wav"]
    assert map_state.selection == chosen and map_state.joint and "press Fit" in map_state.message[1]
    assert map_state.names().count("robot_steelfork_on_steelbowl.wav") == 1      # the session's own, not reloaded
    assert map_state.map_joint_fit(["demo"]) == []
    assert map_state.message[0] == "error" and "no source recording found for demo" in map_state.message[1]


def test_the_map_panel_builds_and_reacts_without_a_browser(map_state):
    pytest.importorskip("panel")
    from workbench.app.views.soundmap import MapPanel

    panel = MapPanel(state=map_state)
    panel.show()
    made = panel._made
    assert made is not None and len(made.points.data["key"]) == 7 and "presets of" in panel._info.object
    i = made.points.data["key"].index("glass/impactGlass_medium_000")
    panel._on_select("indices", [], [i])
    assert not panel._joint.disabled and "1 selected:** impactGlass" in panel._selected.object
    panel._on_tap("data", {}, {"key": ["glass/impactGlass_medium_000"], "serial": [1]})
    assert map_state.base_source == "library: glass/impactGlass_medium_000"
