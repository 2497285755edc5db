"""The preset library folder and exports (`workbench.app.preset_library`)."""

from __future__ import annotations

import sys

import pytest

import workbench as wb
from workbench.app.preset_library import PresetLibrary, export_status, export_zip, file_stem
from workbench.errors import WorkbenchError


@pytest.fixture(scope="module")
def demo_preset(demo_preset_path):
    return wb.load_preset(demo_preset_path)


def test_save_load_and_names(tmp_path, demo_preset):
    lib = PresetLibrary(tmp_path)
    path = lib.save(demo_preset, "My bowl / v2", tags=["metal", " bowl "], material="steel")
    assert path.parent == tmp_path and path.name == "My_bowl_v2.json"
    p = lib.load("My_bowl_v2")
    assert (p.name, p.tags, p.material) == ("My bowl / v2", ("metal", "bowl"), "steel")
    assert lib.names() == ["My_bowl_v2"]
    with pytest.raises(WorkbenchError, match="give the preset a name"):
        lib.save(demo_preset, "  ")
    with pytest.raises(WorkbenchError, match="not inside"):
        lib.load("../../etc/passwd")


def test_file_stem_keeps_case_dots_and_dashes():
    assert file_stem("Bowl v1.2 - dull!") == "Bowl_v1.2_-_dull"
    assert len(file_stem("x" * 200)) == 80 and file_stem("???") == ""


def test_export_status_says_why(monkeypatch, demo_preset):
    assert export_status() == (True, "")                 # the exporter ships with the package
    assert export_zip(demo_preset, "tdw")[:2] == b"PK"
    monkeypatch.setitem(sys.modules, "workbench.export", None)    # as if it were not installed
    ok, reason = export_status()
    assert not ok and reason.startswith("exporter not installed (")
    with pytest.raises(WorkbenchError, match="export: the exporter is not installed"):
        export_zip(demo_preset, "tdw")


def test_two_names_with_one_file_stem_do_not_overwrite_each_other(tmp_path):
    from workbench.app.preset_library import PresetLibrary
    from workbench.presets import Preset, load_preset

    bell = Preset(name="x", sample_rate=16000, duration_s=0.5,
                  object={"modes": [{"freq_hz": 440, "t60_s": 0.3, "gain_db": -6}]},
                  impacts=[{"time_s": 0.01, "contact_s": 5e-4, "magnitude": 1}])
    lib = PresetLibrary(tmp_path)
    first = lib.save(bell, "Bell, v1")
    second = lib.save(bell, "Bell v1")
    again = lib.save(bell, "Bell v1")          # the same name again: an update of its own file
    assert first.name == "Bell_v1.json" and second.name == "Bell_v1-2.json" and again == second
    assert load_preset(first).name == "Bell, v1" and load_preset(second).name == "Bell v1"
