"""Fuzzing the two file formats users hand us (issue 14): presets (mutated JSON) and audio
(mutated WAV headers, truncated or random bytes). Every input gives a valid result or a
`WorkbenchError`, never another exception, and each example takes bounded time.

Deterministic (``derandomize=True``, no example database) so CI runs the same examples.
"""

from __future__ import annotations

import atexit
import io
import json
import math
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.app.recordings import decode_recording
from workbench.audio import audio_info, load_audio
from workbench.errors import WorkbenchError
from workbench.presets import Preset, load_preset, preset_from_dict

REPO = Path(__file__).resolve().parents[1]
DEMO = json.loads((REPO / "presets" / "demo.json").read_text(encoding="utf-8"))
SCRATCH = Path(tempfile.mkdtemp(prefix="workbench-fuzz-"))     # one file rewritten per example
atexit.register(shutil.rmtree, SCRATCH, True)
FUZZ = settings(max_examples=200, deadline=3000, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---- presets ---------------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, -1, 1e308, -1e-308, 2**63, 5e-324]),
    st.builds(lambda: 10**5000), st.just(-(2**1024)), st.text(max_size=20),   # builds: repr() of 10**5000 fails
    st.sampled_from(["440", "", "\x00", "a\nb", "\u202e", "NaN", "1e999", " " * 50, "x" * 100_000]))
_extremes = st.one_of(st.builds(lambda: 10**5000), st.sampled_from(
    [10**400, -(10**400), 2**64, 1e308, -0.0, math.nan, math.inf, -math.inf, True, False, "440", None, [], {}]))
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                       max_leaves=12)


def _paths(obj, prefix=()):
    """Every (path) to a value inside a JSON-like object."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


PRESET_PATHS = [p for p in _paths(DEMO) if p]


def _nest(depth: int):
    value: object = 1.0
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def mutated_presets(draw):
    """The demo preset with 1-4 mutations: replaced, deleted, added, deeply nested or long values."""
    data = json.loads(json.dumps(DEMO))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(PRESET_PATHS))
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            last = path[-1]
            parent[last]
        except (KeyError, IndexError, TypeError):
            continue
        kind = draw(st.sampled_from(["replace", "replace", "extreme", "delete", "extra", "nest", "long", "scale"]))
        if kind == "replace":
            parent[last] = draw(_values)
        elif kind == "extreme":
            parent[last] = draw(_extremes)
        elif kind == "delete":
            del parent[last]
        elif kind == "extra" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(_values)
        elif kind == "nest":
            parent[last] = _nest(draw(st.sampled_from([10, 500, 5000])))
        elif kind == "long" and isinstance(parent[last], list) and parent[last]:
            parent[last] = parent[last][:1] * draw(st.sampled_from([0, 2, 513, 1025, 20_000]))
        elif kind == "scale" and isinstance(parent[last], (int, float)) and not isinstance(parent[last], bool):
            factor = draw(st.sampled_from([-1, 0, 1e-30, 1e30, math.inf, math.nan]))
            try:
                parent[last] = parent[last] * factor
            except OverflowError:        # a huge int from an earlier mutation
                parent[last] = math.inf
    return data


def _expect_preset_or_error(fn, *args):
    try:
        result = fn(*args)
    except WorkbenchError as err:
        assert "\n" not in str(err).strip("\n") or len(str(err)) < 2000
        return None
    assert isinstance(result, Preset)
    return result


@FUZZ
@given(mutated_presets())
def test_fuzz_preset_dicts(data):
    preset = _expect_preset_or_error(preset_from_dict, data)
    if preset is not None:      # a valid preset survives its own file round trip
        assert preset_from_dict(preset.to_dict()) == preset


@FUZZ
@given(mutated_presets(), st.data())
def test_fuzz_preset_files(data, draw):
    """The same, through the JSON text (also truncated or with flipped bytes) and `load_preset`."""
    try:
        text = json.dumps(data).encode("utf-8")
    except (RecursionError, ValueError):
        return
    cut = draw.draw(st.sampled_from([None, None, 0, 1, len(text) // 2, len(text) - 1]))
    if cut is not None:
        text = text[:cut]
    for _ in range(draw.draw(st.integers(0, 3))):
        if text:
            i = draw.draw(st.integers(0, len(text) - 1))
            text = text[:i] + bytes([draw.draw(st.integers(0, 255))]) + text[i + 1:]
    path = SCRATCH / "fuzz.json"
    path.write_bytes(text)
    _expect_preset_or_error(load_preset, path)


# ---- audio -----------------------------------------------------------------------------------

def _wav(subtype: str, channels: int, rate: int, fmt: str = "WAV") -> bytes:
    t = np.arange(int(0.1 * rate)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440 * t) * np.exp(-20 * t)
    buf = io.BytesIO()
    sf.write(buf, np.stack([tone] * channels, axis=1), rate, format=fmt, subtype=subtype)
    return buf.getvalue()


VALID_AUDIO = [_wav("PCM_16", 1, 16000), _wav("FLOAT", 2, 44100), _wav("PCM_24", 1, 8000), _wav("PCM_U8", 1, 22050),
               _wav("PCM_16", 1, 16000, "FLAC")]
#: Offsets of the canonical 44-byte WAV header's fields: channels, sample rate, byte rate,
#: block align, bits per sample, data size, RIFF size, fmt size.
WAV_FIELDS = [(22, "<H"), (24, "<I"), (28, "<I"), (32, "<H"), (34, "<H"), (40, "<I"), (4, "<I"), (16, "<I")]
EXTREMES = [0, 1, 2, 3, 255, 256, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]


@st.composite
def mutated_audio(draw):
    data = bytearray(draw(st.sampled_from(VALID_AUDIO)))
    kind = draw(st.sampled_from(["field", "field", "bytes", "truncate", "random", "append"]))
    if kind == "field" and data[:4] == b"RIFF":
        for _ in range(draw(st.integers(1, 3))):
            offset, fmt = draw(st.sampled_from(WAV_FIELDS))
            value = draw(st.sampled_from(EXTREMES)) & (0xFFFF if fmt == "<H" else 0xFFFFFFFF)
            struct.pack_into(fmt, data, offset, value)
    elif kind == "bytes":
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, 63))] = draw(st.integers(0, 255))
    elif kind == "truncate":
        data = data[:draw(st.integers(0, len(data)))]
    elif kind == "random":
        data = bytearray(draw(st.binary(min_size=0, max_size=400)))
    else:
        data += draw(st.binary(min_size=1, max_size=200))
    return bytes(data)


def _expect_audio_or_error(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except WorkbenchError:
        pass


@FUZZ
@given(mutated_audio())
def test_fuzz_audio_files(data):
    path = SCRATCH / "fuzz.wav"
    path.write_bytes(data)
    _expect_audio_or_error(load_audio, path)
    _expect_audio_or_error(load_audio, path, channel=1, sample_rate=16000)
    _expect_audio_or_error(audio_info, path)


@FUZZ
@given(mutated_audio())
def test_fuzz_uploads(data):
    """The dashboard's upload path (bytes in memory, all channels kept)."""
    _expect_audio_or_error(decode_recording, "fuzz.wav", data)


@pytest.mark.parametrize("data", VALID_AUDIO)
def test_unmutated_audio_is_valid(data):
    path = SCRATCH / "valid.wav"
    path.write_bytes(data)
    assert load_audio(path)[0].size > 0 and audio_info(path)["duration_s"] == pytest.approx(0.1, abs=1e-3)
    assert decode_recording("valid.wav", data).n_channels in (1, 2)
