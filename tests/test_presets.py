"""Preset file format: exact round trip, atomic writes, clear schema errors."""

from __future__ import annotations

import json

import pytest

import workbench as wb
from workbench.errors import WorkbenchError
from workbench.presets import preset_from_dict


def test_round_trip_is_exact(demo_preset_path, tmp_path):
    p = wb.load_preset(demo_preset_path)
    out = wb.save_preset(p, tmp_path / "copy.json")
    assert wb.load_preset(out) == p
    assert json.loads(out.read_text()) == json.loads(demo_preset_path.read_text())
    assert not list(tmp_path.glob(".*.tmp"))            # temp file renamed away


def test_save_failure_keeps_previous_file(demo_preset_path, tmp_path):
    target = tmp_path / "keep.json"
    wb.save_preset(wb.load_preset(demo_preset_path), target)
    before = target.read_text()
    bad = json.loads(before)
    bad["object"]["modes"][0]["t60_s"] = -1
    with pytest.raises(WorkbenchError):
        wb.save_preset(bad, target)
    assert target.read_text() == before


def _data(demo_preset_path):
    return json.loads(demo_preset_path.read_text())


@pytest.mark.parametrize("edit, expected", [
    (lambda d: d["object"]["modes"][2].update(t60_s=-0.5), r"object\.modes\[2\]\.t60_s: -0\.5 is outside"),
    (lambda d: d["object"]["modes"][0].update(freq_hz="loud"), r"object\.modes\[0\]\.freq_hz"),
    (lambda d: d["object"]["modes"][0].pop("gain_db"), r"object\.modes\[0\]\.gain_db: Field required"),
    (lambda d: d["impacts"][0].update(contact_s=1.0), r"impacts\[0\]\.contact_s: 1\.0 is outside"),
    (lambda d: d.update(impacts=[]), r"impacts: "),
    (lambda d: d.update(sample_rate=8000), r"sample_rate: 8000 is outside"),
    (lambda d: d.update(version=2), r"version: this workbench reads version 1, got 2"),
    (lambda d: d.update(schema="other"), r"schema: expected"),
    (lambda d: d["object"]["modes"][0].update(freq=1.0), r"object\.modes\[0\]\.freq: Extra inputs"),
    (lambda d: d["noise"]["bands"].reverse(), r"noise: .*strictly increasing"),
    (lambda d: d["reverb"]["bands"][0].update(t60_s=float("nan")), r"reverb\.bands\[0\]\.t60_s: nan"),
    (lambda d: d.update(acceleration=5.0), r"acceleration: 5\.0 is outside"),
])
def test_schema_errors_name_field_and_value(demo_preset_path, edit, expected):
    data = _data(demo_preset_path)
    edit(data)
    with pytest.raises(WorkbenchError, match=expected):
        preset_from_dict(data, source="x.json")


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(WorkbenchError, match="missing.json: no such preset file"):
        wb.load_preset(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(WorkbenchError, match="bad.json: not valid JSON"):
        wb.load_preset(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(WorkbenchError, match="bad.json: a preset must be a JSON object"):
        wb.load_preset(bad)
