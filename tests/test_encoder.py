"""The impact encoder (`workbench.learned.impact`): shipped weights, its match of a bundled
clip, the fitter's encoder start, the embedding, and a tiny training run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from workbench.audio import load_audio
from workbench.data import DATA_DIR
from workbench.errors import WorkbenchError
from workbench.fitting import fit
from workbench.learned import impact
from workbench.losses import normalized_distance, white_noise_like
from workbench.rendering import render

CLIP = DATA_DIR / "robot_woodspoon_on_steelbowl.wav"
#: The encoder's match of CLIP must be at least this much closer to it than white noise of its
#: RMS is (white noise scores 1.0 by construction of the normalised distance).
MARGIN = 0.6


@pytest.fixture(scope="module")
def clip():
    return load_audio(CLIP)


def test_shipped_weights_load_offline():
    assert impact.WEIGHTS_PATH.is_file() and impact.WEIGHTS_PATH.stat().st_size <= 20 * 2**20
    net, meta = impact.load_encoder()
    assert not net.training
    assert meta["command"].startswith("workbench train-encoder") and "--seed" in meta["command"]
    assert meta["steps_run"] >= 1 and meta["recipe"]["sample_rate"] == impact.SAMPLE_RATE
    beside = json.loads(impact.WEIGHTS_PATH.with_suffix(".json").read_text())
    assert beside["command"] == meta["command"] and beside["steps_run"] == meta["steps_run"]
    assert impact.load_encoder() is impact.load_encoder()      # read once


def test_match_of_a_bundled_clip_beats_white_noise(clip):
    audio, sr = clip
    preset = impact.encode(audio, sr, name="spoon")
    assert preset.sample_rate == sr and len(preset.object.modes) >= 1 and len(preset.impacts) == 1
    assert abs(preset.impacts[0].time_s - impact.first_onset_s(audio, sr)) < 1e-6
    y = torch.from_numpy(render(preset, duration_s=len(audio) / sr, sample_rate=sr, device="cpu"))[None]
    target = torch.from_numpy(audio)[None]
    ours = float(normalized_distance(y, target)[0])
    noise = float(normalized_distance(white_noise_like(target), target)[0])
    assert noise == pytest.approx(1.0)
    assert ours < noise - MARGIN, f"encoder match {ours:.3f} vs white noise {noise:.3f}"


def test_fit_from_the_encoder_with_no_steps_is_the_encoder_preset(clip):
    audio, sr = clip
    enc = impact.encode(audio, sr, level_match=False)
    got = fit((audio, sr), init="encoder", steps=0, device="cpu").preset
    assert got.provenance["steps_run"] == 0 and got.provenance["settings"]["init"] == "encoder"
    f_enc = np.array([m.freq_hz for m in enc.object.modes])
    f_got = np.array([m.freq_hz for m in got.object.modes])
    assert len(f_got) == len(f_enc)
    np.testing.assert_allclose(f_got, f_enc, rtol=2e-3)
    np.testing.assert_allclose([m.t60_s for m in got.object.modes], [m.t60_s for m in enc.object.modes], rtol=2e-3)
    # Levels: the fit works on its own peak-normalised window; the gains differ by one offset.
    dg = np.array([m.gain_db for m in got.object.modes]) - np.array([m.gain_db for m in enc.object.modes])
    assert np.ptp(dg) < 0.5
    assert got.impacts[0].contact_s == pytest.approx(enc.impacts[0].contact_s, rel=1e-3)


def test_embedding_is_fixed_size_and_finite(clip):
    audio, sr = clip
    e = impact.embed(audio, sr)
    bell, sr2 = load_audio(DATA_DIR / "perc_bell2__hullum_fs415559.flac")
    e2 = impact.embed(bell, sr2)
    assert e.shape == e2.shape == (256,) and e.dtype == np.float32
    assert np.all(np.isfinite(e)) and np.all(np.isfinite(e2)) and not np.allclose(e, e2)


def test_bad_input_is_named():
    with pytest.raises(WorkbenchError, match="audio"):
        impact.encode(np.zeros(0, np.float32), 44100)
    with pytest.raises(WorkbenchError, match="sample_rate"):
        impact.encode(np.ones(100, np.float32), 0)
    with pytest.raises(WorkbenchError, match="silent"):
        impact.encode(np.zeros(44100, np.float32), 44100)


def test_tiny_training_run_writes_loadable_weights(tmp_path, clip):
    from workbench.cli import app

    out = tmp_path / "tiny.pt"
    run = CliRunner().invoke(app, ["train-encoder", "--steps", "2", "--batch", "2", "--seed", "3", "--no-library",
                                   "--checkpoint-every", "1", "-o", str(out)])
    assert run.exit_code == 0, run.output
    _, meta = impact.load_encoder(out)
    assert meta["steps_run"] == 2 and meta["seed"] == 3 and "--batch 2" in meta["command"]
    assert np.isfinite(meta["final_held_out_loss"]) and out.with_suffix(".json").is_file()
    preset = impact.encode(*clip, weights=out)
    assert len(preset.impacts) == 1


def test_dashboard_drop_shows_the_encoder_match_and_fits_from_it(tmp_path, clip):
    from workbench.app.state import AppState
    from workbench.audio import encode_wav

    calls = []

    def fake_fit(clips, **options):          # stands in for the fitter: records how it was asked
        calls.append(options)

    s = AppState(presets_dir=tmp_path, fit_fn=fake_fit)          # on by default
    assert s.instant_match
    audio, sr = clip
    assert s.add_upload("spoon.wav", encode_wav(audio, sr)) is not None
    assert s.record is not None and s.record.source == "encoder match"
    assert s.record.distance < 1.0 - MARGIN and s.base is s.record.preset
    assert s.audio.get("fit") is not None and len(s.audio["fit"]) > 0       # the Fit player has it
    assert not calls                                   # nothing fits until the user asks
    assert s.fits.start()                              # Fit: refine the match from where it is
    s.wait_fit(timeout=60)
    assert len(calls) == 1 and calls[0]["init"] == "encoder"
    off = AppState(presets_dir=tmp_path, fit_fn=fake_fit, instant_match=False)
    off.add_upload("spoon.wav", encode_wav(audio, sr))
    assert off.record is None or off.record.source != "encoder match"
