"""The preset library builder: MANIFEST.md metadata, one preset per clip, separation, thumbnails, index."""

from __future__ import annotations

import shutil

import pytest

from workbench.data import DATA_DIR
from workbench.errors import WorkbenchError
from workbench.library import build_library, read_manifest
from workbench.presets import load_preset

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

MANIFEST = """# Test recordings

Some text before the table | with a pipe.

| file | tier | material | object / description | license |
|---|---|---|---|---|
| `robot/robot_steelfork_on_steelbowl.wav` | A | metal (steel) | steel bowl, steel fork | MIT |
| `robot/robot_woodspoon_on_steelbowl.wav` | A | metal (steel) | steel bowl, wooden spoon | MIT |
| `hit_on_glass_shelf.ogg` | C | glass | a light hit | CC0-1.0 |
"""


def test_read_manifest_keys_rows_by_relative_path(tmp_path):
    assert read_manifest(tmp_path) == {}
    (tmp_path / "MANIFEST.md").write_text(MANIFEST, encoding="utf-8")
    rows = read_manifest(tmp_path)
    assert list(rows) == ["robot/robot_steelfork_on_steelbowl.wav", "robot/robot_woodspoon_on_steelbowl.wav",
                          "hit_on_glass_shelf.ogg"]
    assert rows["hit_on_glass_shelf.ogg"] == {"file": "hit_on_glass_shelf.ogg", "tier": "C", "material": "glass",
                                              "object / description": "a light hit", "license": "CC0-1.0"}
    assert read_manifest(str(tmp_path))["robot/robot_steelfork_on_steelbowl.wav"]["material"] == "metal (steel)"


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Two robot clips (in a subfolder) and a game SFX whose name only looks like ``<tool>_on_<object>``."""
    source = tmp_path_factory.mktemp("recordings")
    (source / "robot").mkdir()
    for name in ("robot_steelfork_on_steelbowl.wav", "robot_woodspoon_on_steelbowl.wav"):
        shutil.copy(DATA_DIR / name, source / "robot" / name)
    shutil.copy(DATA_DIR / "impactMetal_light_000.ogg", source / "hit_on_glass_shelf.ogg")
    (source / "MANIFEST.md").write_text(MANIFEST, encoding="utf-8")
    out = tmp_path_factory.mktemp("library")
    messages: list[str] = []
    entries = build_library(source, out, steps=20, n_modes=8, log=messages.append)
    return source, out, entries, messages


def test_build_library_writes_presets_thumbnails_and_index(library):
    _, out, entries, messages = library
    kinds = sorted((e.kind, e.family, e.preset.name) for e in entries)
    assert kinds == [("object", "metal", "steelbowl_object"),
                     ("separated", "metal", "robot_steelfork_on_steelbowl_separated"),
                     ("separated", "metal", "robot_woodspoon_on_steelbowl_separated"),
                     ("single", "glass", "hit_on_glass_shelf"),
                     ("single", "metal", "robot_steelfork_on_steelbowl"),
                     ("single", "metal", "robot_woodspoon_on_steelbowl")]
    for e in entries:
        assert e.path == out / e.family / f"{e.preset.name}.json"
        assert load_preset(e.path) == e.preset
        assert e.thumbnail == out / e.family / "thumbs" / f"{e.preset.name}.png"
        assert e.thumbnail.read_bytes()[:8] == PNG_MAGIC
    index = (out / "README.md").read_text(encoding="utf-8")
    for e in entries:
        assert f"[`{e.preset.name}`]({e.path.relative_to(out)})" in index
        assert f"![]({e.thumbnail.relative_to(out)})" in index
    assert any(m.startswith("tool/object separation over 2 clips") for m in messages)


def test_library_metadata_comes_from_the_manifest(library):
    _, _, entries, _ = library
    by_name = {e.preset.name: e for e in entries}
    glass = by_name["hit_on_glass_shelf"]
    assert glass.preset.material == "glass" and glass.license == "CC0-1.0"
    assert glass.preset.tags == ("glass", "C")
    assert glass.preset.provenance["source"] == "hit_on_glass_shelf.ogg"
    assert glass.preset.provenance["description"] == "a light hit"
    fork = by_name["robot_steelfork_on_steelbowl_separated"]
    assert fork.preset.tool is not None and fork.preset.provenance["source"] == "robot/robot_steelfork_on_steelbowl.wav"
    bowl = by_name["steelbowl_object"]
    assert bowl.preset.tool is None and bowl.preset.tags == ("steelbowl", "object only")


def test_library_without_manifest_takes_the_material_from_the_name(tmp_path):
    shutil.copy(DATA_DIR / "impactMetal_light_000.ogg", tmp_path / "impactMetal_light_000.ogg")
    (entry,) = build_library(tmp_path, tmp_path / "out", steps=5, n_modes=4, log=lambda _: None)
    assert entry.family == "metal" and entry.preset.tags == ("metal",)
    assert entry.path == tmp_path / "out" / "metal" / "impactMetal_light_000.json"


def test_library_of_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(WorkbenchError, match="no recordings"):
        build_library(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
