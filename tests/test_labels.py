"""Tool/object labels: one naming rule (`workbench.names`), lookups by clip or file name."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import WorkbenchError
from workbench.fitting import Clip, labels
from workbench.fitting.labels import ClipLabel, label_from_name, read_labels_csv, resolve_labels
from workbench.names import material_word, tool_object


def clip(name, path=None):
    return Clip(name=name, audio=np.zeros(10, np.float32), sample_rate=44100, path=path)


def test_names_follow_the_one_rule():
    for name in ("robot_steelfork_on_ceramicmug.wav", "x/hammer_on_woodblock.flac", "fork_on_bowl"):
        tool, obj = tool_object(name)
        assert label_from_name(name) == ClipLabel(tool, obj, material_word(obj))
    for name in ("hammer_wood_multi.wav", "robot_fork_on_bowl_take2.wav"):   # anchored at the end of the stem
        assert tool_object(name) is None
        with pytest.raises(WorkbenchError, match="cannot read tool/object labels"):
            label_from_name(name)


def test_no_second_material_list():
    assert not hasattr(labels, "material_of") and not hasattr(labels, "_MATERIALS")


def test_dict_labels_by_clip_name_file_name_or_stem():
    got = resolve_labels({"take 1": ("fork", "steelbowl"), "b.wav": ClipLabel(None, "mug"), "c": (None, "glass")},
                         [clip("take 1.wav"), clip("b", path="/x/b.wav"), clip("c#2", path="/x/c.wav")])
    assert got == [ClipLabel("fork", "steelbowl", "steel"), ClipLabel(None, "mug"), ClipLabel(None, "glass", "glass")]
    with pytest.raises(WorkbenchError, match="labels: no label for take 2"):
        resolve_labels({"take 1": ("fork", "bowl")}, [clip("take 2")])


def test_names_and_csv_labels(tmp_path):
    assert resolve_labels("names", [clip("a_fork_on_bowl"), clip("z", path="/r/b_spoon_on_mug.wav")]) == [
        ClipLabel("fork", "bowl"), ClipLabel("spoon", "mug")]
    csv = tmp_path / "labels.csv"
    csv.write_text("file,tool,object,material\nx.wav,fork,steelbowl,\ny.wav,,mug,porcelain\n")
    table = read_labels_csv(csv)
    assert table["x.wav"] == ClipLabel("fork", "steelbowl", "steel") and table["y.wav"] == ClipLabel(None, "mug",
                                                                                                      "porcelain")
    assert resolve_labels(csv, [clip("y", path="/a/y.wav")]) == [table["y.wav"]]
