"""The dashboard's limits without a browser: upload chunk accounting, the wire guards,
the decoded-size and fit budgets, and caches that free what a closed session held.

`tests/test_server_limits.py` drives the same limits through a real server.
"""

from __future__ import annotations

import base64
import dataclasses
import gc
import gzip
import weakref
from types import SimpleNamespace

import numpy as np
import pytest

import workbench as wb
from test_app_jobs import FakeFit
from workbench.app import uploads
from workbench.app.derived import DERIVED, DerivedCache
from workbench.app.plotdata import spectrogram_cached
from workbench.app.recordings import decode_recording, detect_recording
from workbench.app.state import AppState
from workbench.app.uploads import MAX_PARTIAL_FILES, RefusedBytes, UploadLedger
from workbench.budgets import DECODED_SAMPLES, FIT_SAMPLES
from workbench.errors import WorkbenchError

CS = 1000          # chunk size of the ledgers below
CAP = 10 * CS      # their upload cap


def _chunk(name, chunk, total, data=None):
    return {"name": name, "chunk": chunk, "total_chunks": total, "type": "audio/wav",
            "data": bytes(CS) if data is None else data}


# -- chunk accounting --------------------------------------------------------------------
def test_an_honest_upload_arrives_whole():
    ledger = UploadLedger(CAP, CS)
    body = bytes(range(256)) * 10            # 2560 bytes: 3 chunks
    pieces = [body[i:i + CS] for i in range(0, len(body), CS)]
    kinds = [ledger.receive(_chunk("a.wav", i + 1, 3, p)) for i, p in enumerate(pieces)]
    assert [k.kind for k in kinds] == ["partial", "partial", "done"]
    assert kinds[-1].payload == body and ledger.buffered == 0


def test_a_file_at_the_cap_is_accepted_and_one_byte_more_is_not():
    for size, kind in ((CAP, "done"), (CAP + 1, "refused")):
        ledger = UploadLedger(CAP, CS)
        total = -(-(size + 1) // CS)            # what the browser announces: ceil((size + 1) / chunk)
        body = bytes(size)
        outs = [ledger.receive(_chunk("a.wav", i + 1, total, body[i * CS:(i + 1) * CS])) for i in range(total)]
        assert outs[-1].kind == kind or any(o.kind == kind for o in outs), (size, outs)


def test_a_lie_about_the_chunk_count_is_refused_and_its_chunks_dropped():
    ledger = UploadLedger(CAP, CS)
    assert ledger.receive(_chunk("lie.wav", 1, 2)).kind == "partial"
    out = ledger.receive(_chunk("lie.wav", 2, 7))           # another total: the attack
    assert out.kind == "refused" and "inconsistent upload" in out.reason and out.reason.startswith("lie.wav: ")
    assert ledger.buffered == 0 and ledger.partial_names == []
    assert all(ledger.receive(_chunk("lie.wav", c, 97)).kind == "ignored" for c in range(3, 98))
    assert ledger.buffered == 0
    assert ledger.receive(_chunk("lie.wav", 1, 1, b"RIFF")).kind == "done"      # a fresh start is heard


@pytest.mark.parametrize("events, why", [
    ([_chunk("a.wav", 1, 99)], "announced (99 chunks) is over the upload limit"),
    ([_chunk("a.wav", 1, 3), _chunk("a.wav", 3, 3)], "chunk 3 of 3 arrived where chunk 2 of 3 was due"),
    ([_chunk("a.wav", 2, 3)], "arrived where chunk 1 was due"),
    ([_chunk("a.wav", 1, 3, b"x")], "not the 1000 bytes chunk size"),
    ([_chunk("a.wav", 1, 2, bytes(CS + 1))], "not the 1000 bytes chunk size"),
    ([_chunk("a.wav", 1, 1, "text")], "holds str, not bytes"),
    ([_chunk("a.wav", True, 1)], "is not a chunk number"),
    ([_chunk("a.wav", 3, 2)], "is not a chunk number"),
    ([_chunk("a.wav", 1, 1, RefusedBytes.because("its data would inflate past 8 MB"))], "inflate past 8 MB"),
])
def test_inconsistent_chunks_are_refused(events, why):
    ledger = UploadLedger(CAP, CS)
    outs = [ledger.receive(e) for e in events]
    assert outs[-1].kind == "refused" and why in outs[-1].reason, outs
    assert ledger.buffered == 0


def test_too_many_files_at_once_are_refused_and_the_buffer_stays_bounded():
    ledger = UploadLedger(CAP, CS)
    outs = [ledger.receive(_chunk(f"f{i}.wav", 1, 10)) for i in range(MAX_PARTIAL_FILES + 3)]
    assert [o.kind for o in outs].count("partial") == MAX_PARTIAL_FILES
    assert "files at once" in outs[-1].reason
    for c in range(2, 10):                       # the partial files grow to 2 x the cap in all, no further
        for i in range(MAX_PARTIAL_FILES):
            ledger.receive(_chunk(f"f{i}.wav", c, 10))
            assert ledger.buffered <= 2 * CAP
    assert uploads.buffered_bytes() <= 4 * CAP
    del ledger
    gc.collect()
    assert uploads.buffered_bytes() == 0        # a dropped ledger (closed session) holds nothing


def test_a_malformed_event_is_refused():
    assert UploadLedger(CAP, CS).receive({"chunk": 1}).kind == "refused"
    assert UploadLedger(CAP, CS).receive(None).kind == "refused"


# -- the drop zone and the load panel ----------------------------------------------------
def _event(**data):
    return SimpleNamespace(event_name="upload_event", data=data)


def test_the_drop_zone_keeps_no_payload_and_says_why(tmp_path, bundled_data):
    from workbench.app.views.load import LoadPanel

    s = AppState(presets_dir=tmp_path)
    panel = LoadPanel(state=s)
    dropper = panel._dropper
    dropper.param.update(chunk_size=CS, max_bytes=CAP)
    dropper.param.watch(lambda e: None, "value")
    dropper._process_event(_event(name="lie.wav", chunk=1, total_chunks=2, data=bytes(CS), type="audio/wav"))
    dropper._process_event(_event(name="lie.wav", chunk=2, total_chunks=95, data=bytes(CS), type="audio/wav"))
    level, text, _ = s.message
    assert level == "error" and text.startswith("lie.wav: ") and "nothing was loaded" in text
    assert dropper.value == {} and dropper.ledger.buffered == 0 and s.recordings == []
    good = (bundled_data / "robot_woodspoon_on_steelbowl.wav").read_bytes()
    dropper.param.update(chunk_size=2**20, max_bytes=2**23)
    total = -(-(len(good) + 1) // 2**20)
    for i in range(total):
        dropper._process_event(_event(name="ok.wav", chunk=i + 1, total_chunks=total, type="audio/wav",
                                      data=good[i * 2**20:(i + 1) * 2**20]))
    assert s.names() == ["ok.wav"] and dropper.value == {}           # decoded, and not kept as bytes
    dropper._process_event(_event(name="bad.wav", chunk=1, total_chunks=1, data=b"RIFF nonsense", type=""))
    assert "not a readable audio file" in s.message[1] and dropper.value == {} and s.names() == ["ok.wav"]


# -- the wire guards ---------------------------------------------------------------------
@pytest.fixture
def wire_budget():
    from workbench.app import wire

    before = wire.message_budget()
    wire.install(2**20)
    yield 2**20
    wire.install(before)


def test_inline_bytes_inflate_at_most_the_message_budget(wire_budget):
    from bokeh.core.serialization import Buffer, Deserializer

    small = bytes(range(256)) * 100
    assert Deserializer().decode({"type": "bytes", "data": Buffer("1", small).to_base64()}) == small
    bomb = base64.b64encode(gzip.compress(bytes(64 * 2**20))).decode()        # 64 MB from 64 kB
    out = Deserializer().decode({"type": "bytes", "data": bomb})
    assert isinstance(out, RefusedBytes) and out == b"" and "inflate past the limit of 1.0 MB" in out.reason
    # the budget is per message: many values under it one by one still stop at it
    half = base64.b64encode(gzip.compress(bytes(600_000))).decode()
    outs = Deserializer().decode([{"type": "bytes", "data": half}, {"type": "bytes", "data": half}])
    assert len(outs[0]) == 600_000 and isinstance(outs[1], RefusedBytes)


def test_a_message_cannot_carry_more_buffers_than_the_budget(wire_budget):
    from bokeh.protocol import Protocol
    from bokeh.protocol.exceptions import ProtocolError

    msg = Protocol().assemble('{"msgid": "1", "msgtype": "PATCH-DOC", "num_buffers": 1000}', "{}",
                              '{"events": []}')
    msg.assemble_buffer({"id": "1"}, bytes(600_000))
    with pytest.raises(ProtocolError, match="over the limit"):
        msg.assemble_buffer({"id": "2"}, bytes(600_000))


def test_scheduled_events_run_with_the_document_lock(wire_budget):
    from panel.reactive import Syncable

    assert Syncable._event_coroutine.lock is True


# -- budgets before work -----------------------------------------------------------------
def test_the_decoded_size_is_checked_from_the_header_before_decoding(monkeypatch):
    import soundfile as sf

    monkeypatch.setattr(wb.audio, "DECODED_SAMPLES", dataclasses.replace(DECODED_SAMPLES, limit=8000))
    monkeypatch.setattr(sf.SoundFile, "read", lambda *a, **k: pytest.fail("decoded before the check"))
    payload = wb.audio.encode_wav(np.full((4001, 2), 0.1, np.float32), 44100)
    with pytest.raises(WorkbenchError, match=r"^big.wav \(0.1 s, 2 channel\(s\)\): 8002 samples is over the "
                                             r"budget of 8000 samples per recording"):
        decode_recording("big.wav", payload)


def test_a_fit_over_the_budget_is_refused_before_it_is_queued(tmp_path, bundled_data, demo_preset_path,
                                                               monkeypatch):
    from workbench.app import fit_control

    fake = FakeFit(wb.load_preset(demo_preset_path))
    s = AppState(presets_dir=tmp_path, fit_fn=fake)
    s.add_files([bundled_data / "robot_woodspoon_on_steelbowl.wav"])
    monkeypatch.setattr(fit_control, "FIT_SAMPLES", dataclasses.replace(FIT_SAMPLES, limit=1000))
    assert s.start_fit() is False and not fake.calls and s.fit_status == "idle"
    assert s.message[0] == "error" and "over the budget of 1000 samples per fit" in s.message[1]


def test_a_library_preset_over_the_render_budget_is_refused(tmp_path, demo_preset_path):
    s = AppState(presets_dir=tmp_path)
    s.load_demo()
    long = wb.load_preset(demo_preset_path).replace(duration_s=120.0)    # 5.3 M samples at 44.1 kHz
    s.presets.save(long, "long")
    base = s.base
    assert s.load_library_preset("long") is None
    assert s.message[0] == "error" and "over the budget" in s.message[1] and s.base is base


# -- caches that free what a session held ------------------------------------------------
def test_the_derived_cache_is_bounded_by_bytes_and_by_its_owners():
    cache = DerivedCache(max_bytes=10_000)
    owners = [np.ones(10) for _ in range(5)]
    for o in owners:
        cache.get_or(o, "big", lambda: np.zeros(500))         # 4000 bytes each
    assert cache.nbytes <= 10_000 and len(cache) == 2
    cache.drop(owners[-1])
    assert len(cache) == 1
    del owners
    gc.collect()
    assert len(cache) == 0 and cache.nbytes == 0


def test_spectrograms_and_mixes_do_not_keep_a_recording_alive(bundled_data):
    rec = decode_recording("x.wav", (bundled_data / "robot_woodspoon_on_steelbowl.wav").read_bytes())
    spectrogram_cached(rec.mono(None), rec.sample_rate)
    detect_recording(rec, None, 0.5)
    owned = [k for k in DERIVED.keys() if k[0] in (id(rec), id(rec.mono(None)))]
    assert len(owned) >= 3
    alive = weakref.ref(rec)
    del rec
    gc.collect()
    assert alive() is None and not [k for k in DERIVED.keys() if k in owned]


def test_closing_a_session_frees_its_recordings_sounds_and_caches(tmp_path, bundled_data, demo_preset_path):
    fake = FakeFit(wb.load_preset(demo_preset_path))
    s = AppState(presets_dir=tmp_path, fit_fn=fake)
    s.load_demo()
    rec = s.add_upload("up.wav", (bundled_data / "robot_woodspoon_on_steelbowl.wav").read_bytes())
    s.steps = 3
    assert s.start_fit() and s.wait_fit(30) == "done" and s.audio
    spectrogram_cached(s.target()[0], s.target()[1])
    mono = rec.mono(None)
    owned = [k for k in DERIVED.keys() if k[0] in (id(rec), id(mono))]
    assert owned
    alive = [weakref.ref(x) for x in (rec, s.audio["edited"], s.recordings[-1])]
    del rec, mono
    s.close()
    gc.collect()
    assert s.recordings == [] and s.audio == {} and s.base is None and s.record is None
    assert not [k for k in DERIVED.keys() if k in owned]
    assert [a() for a in alive] == [None, None, None]


def test_a_session_holds_at_most_its_budget_of_recordings(monkeypatch):
    """Uploads past `budgets.SESSION_SAMPLES` (all the session's recordings) are refused, named."""
    import numpy as np

    from workbench import budgets
    from workbench.app import recordings as recs
    from workbench.app.state import AppState

    sr = 16000
    audio = np.zeros((sr, 1), np.float32)
    audio[1000:1400, 0] = np.hanning(400) * np.sin(np.arange(400) * 0.3)
    limit = dataclasses.replace(budgets.SESSION_SAMPLES, limit=2 * sr + 10)
    monkeypatch.setattr(recs, "SESSION_SAMPLES", limit)
    state = AppState()
    for name in state.names():
        state.remove_recording(name)
    for name in ("a.wav", "b.wav"):
        assert state.add_recording(recs.Recording(name=name, data=audio, sample_rate=sr)) is not None
    assert state.add_recording(recs.Recording(name="c.wav", data=audio, sample_rate=sr)) is None
    level, text, _ = state.message
    assert level == "error" and text.startswith("c.wav: the session's recordings with this one") \
        and "remove a recording" in text
    assert state.names() == ["a.wav", "b.wav"]
