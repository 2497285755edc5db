"""Variation banks: drawn within their distance bound, distinct, velocity/size as physics, written and read back."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from workbench.banks import COLUMNS, MIN_DISTINCT, make_bank, write_bank
from workbench.cli import app
from workbench.data import HAMMER_RECORDING
from workbench.errors import WorkbenchError
from workbench.presets import Preset
from workbench.variations import VariationModel

REPO = Path(__file__).resolve().parents[1]
SR = 16000


def _preset(**changes) -> Preset:
    modes = [{"freq_hz": f, "t60_s": t, "gain_db": g} for f, t, g in
             [(420.0, 0.4, 0.0), (1130.0, 0.3, -3.0), (2450.0, 0.2, -6.0), (4100.0, 0.1, -9.0)]]
    p = Preset(name="pan lid", sample_rate=SR, duration_s=0.5, object={"modes": modes},
               impacts=[{"time_s": 0.02, "contact_s": 3e-4, "magnitude": 1.0},
                        {"time_s": 0.25, "contact_s": 4e-4, "magnitude": 0.6}])
    return p.replace(**changes) if changes else p


WIDE = VariationModel(cov_log=((0.09, 0.0), (0.0, 0.25)), gain_sd_db=(6.0,) * 8, n_strikes=5, source="recording")


def _centroid(x: np.ndarray) -> float:
    s = np.abs(np.fft.rfft(x))
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float((s * f).sum() / s.sum())


def _peak_hz(x: np.ndarray) -> float:
    s = np.abs(np.fft.rfft(x, 8 * len(x)))
    return float(np.fft.rfftfreq(8 * len(x), 1 / SR)[np.argmax(s)])


@pytest.fixture(scope="module")
def layered():
    return make_bank(_preset(), 12, model=WIDE, velocity_range=(0.5, 2.0), layers=2, seed=4)


def test_every_file_is_within_the_bound_and_all_are_distinct(layered):
    b = layered
    assert len(b.audio) == len(b.rows) == 12
    assert all(r["distance"] <= b.max_distance for r in b.rows)
    assert b.summary["max_distance"] <= b.max_distance
    assert b.summary["min_between"] > MIN_DISTINCT and b.summary["pairs"] == 66
    assert len({x.tobytes() for x in b.audio}) == 12
    assert max(float(np.max(np.abs(x))) for x in b.audio) <= 10 ** (-1 / 20)


def test_velocity_layers_are_harder_hits(layered):
    """Layer 1 (v 1-2) vs layer 0 (v 0.5-1): louder by about 20 log10 of the velocity ratio, brighter, shorter contact."""
    rows, audio = layered.rows, layered.audio
    v = np.array([r["velocity"] for r in rows])
    layer = np.array([r["layer"] for r in rows])
    assert np.all((v >= 0.5) & (v <= 2.0)) and list(layer) == [0] * 6 + [1] * 6
    assert v[layer == 0].max() <= 1.0 + 1e-9 <= v[layer == 1].min() + 2e-9
    gain = np.array([r["gain_db"] for r in rows])
    assert gain[layer == 1].mean() - gain[layer == 0].mean() > 3.0
    cents = np.array([_centroid(x) for x in audio])
    assert np.median(cents[layer == 1]) > np.median(cents[layer == 0])
    m = json.loads(json.dumps(layered.rows))
    assert [e["layer"] for e in m] == list(layer)


def test_a_tight_bound_is_kept():
    b = make_bank(_preset(), 6, model=WIDE, max_distance=0.01, seed=1)
    assert all(r["distance"] <= 0.01 for r in b.rows)


def test_size_lowers_the_pitch_by_the_size_law():
    b = make_bank(_preset(), 4, model=WIDE.__class__(cov_log=((0.0, 0.0), (0.0, 0.0)), gain_sd_db=(0.0,) * 8),
                  size_range=(1.5, 2.0), seed=0)
    for r, x in zip(b.rows, b.audio):
        assert r["mass"] == pytest.approx(r["size"] ** 3, rel=1e-3)
        assert r["pitch_semitones"] == pytest.approx(-12 * np.log2(r["size"]), abs=1e-3)
        assert _peak_hz(x) == pytest.approx(420.0 / r["size"], rel=0.01)


def test_the_same_seed_gives_the_same_bank():
    a, b = (make_bank(_preset(), 3, model=WIDE, seed=9) for _ in range(2))
    assert all(np.array_equal(x, y) for x, y in zip(a.audio, b.audio)) and a.rows == b.rows
    c = make_bank(_preset(), 3, model=WIDE, seed=10)
    assert not np.array_equal(a.audio[0], c.audio[0])


def test_written_bank_reads_back(tmp_path, layered):
    out = write_bank(layered, tmp_path / "bank")
    mapping = json.loads((out / "mapping.json").read_text())
    assert mapping["schema"] == "impact-workbench/variation-bank" and mapping["version"] == 1
    assert [f["file"] for f in mapping["files"]] == [r["file"] for r in layered.rows]
    assert [layer["files"] for layer in mapping["layers"]] == [[r["file"] for r in layered.rows[:6]],
                                                               [r["file"] for r in layered.rows[6:]]]
    with open(out / "mapping.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 12
    assert float(rows[3]["velocity"]) == layered.rows[3]["velocity"]
    for r, x in zip(layered.rows, layered.audio):
        y, sr = sf.read(out / r["file"], dtype="float32")
        assert sr == SR and sf.info(out / r["file"]).subtype == "PCM_24"
        np.testing.assert_allclose(y, x, atol=2 ** -22)
    assert "Random container" in (out / "README.md").read_text()
    with pytest.raises(WorkbenchError, match="exists"):
        write_bank(layered, out)
    write_bank(layered, out, force=True)


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, r"n \(-n\)"), ({"n": 1001}, r"n \(-n\).*1000"),
    ({"velocity_range": (2.0, 1.0)}, r"velocity_range \(--velocity-range\)"),
    ({"velocity_range": (0.5, 50.0)}, r"velocity_range"), ({"size_range": (0.0, 1.0)}, r"size_range"),
    ({"layers": 5, "n": 4}, r"layers \(--layers\)"), ({"max_distance": 0.0}, r"max_distance"),
])
def test_bad_arguments_are_named(kwargs, match):
    n = kwargs.pop("n", 4)
    with pytest.raises(WorkbenchError, match=match):
        make_bank(_preset(), n, model=WIDE, **kwargs)


def test_cli_learns_from_the_recording_and_writes_the_bank(tmp_path):
    out = tmp_path / "bank"
    args = ["variations", str(REPO / "presets" / "wood" / "hammer_wood_multi.json"), "-n", "4", "-o", str(out),
            "--recording", str(HAMMER_RECORDING), "--channel", "0", "--duration", "0.4",
            "--velocity-range", "0.5", "2", "--layers", "2"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "recording (10 strikes)" in r.output and "distance to the original" in r.output
    assert len(list((out / "wavs").glob("*.wav"))) == 4
    model = json.loads((out / "mapping.json").read_text())["model"]
    assert model["source"] == "recording" and model["n_strikes"] == 10
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "exists; use --force" in again.output and "Traceback" not in again.output
    bad = CliRunner().invoke(app, args[:2] + ["-n", "4", "-o", str(tmp_path / "b2"), "--velocity-range", "3", "1"])
    assert bad.exit_code == 2 and "velocity_range (--velocity-range)" in bad.output
