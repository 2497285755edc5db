"""The served dashboard under abuse: memory stays within the budgets, and errors are said.

A module fixture starts ``workbench serve --no-show`` on a free port (as in
tests/test_dashboard.py) with an upload cap of `CAP_MB`. The hostile client is the page
itself: `_install_sender` takes the upload-event class from the page's own drop zone, so
crafted events (lies about chunks, a gzip bomb as inline bytes, thousands of messages)
travel the real Bokeh protocol. Memory is the resident size of the server plus its fit
workers (psutil), held to bounds derived from `workbench.budgets`.
"""

from __future__ import annotations

import base64
import gc
import re
import shutil
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from served import playwright_api, serve

from workbench.budgets import DECODED_SAMPLES, FIT_SAMPLES, MEMORY_BYTES, RENDER_CACHE_BYTES, SERVER_CACHE_BYTES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CAP_MB = 8
CAP = CAP_MB * 2**20
CHUNK = 2 * 2**20                 # workbench.app.views.load.CHUNK_BYTES (no Panel import here)
MESSAGE = 4 * CHUNK               # the server's websocket and inline-bytes budget per message
TIMEOUT_MS = 60_000
MB = 2**20
#: Python heap, Bokeh documents and messages in flight: what a server's resident size
#: moves by with no upload at all (measured: ~40 MB over a session's life).
NOISE = 96 * MB

sync_api = playwright_api()
psutil = pytest.importorskip("psutil")
expect = sync_api.expect



def _memory(pid: int) -> tuple[int, dict[int, int]]:
    """(server RSS, {child pid: RSS}) in bytes: the fit workers and their helpers."""
    proc = psutil.Process(pid)
    children = {}
    for c in proc.children(recursive=True):
        try:
            children[c.pid] = c.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return proc.memory_info().rss, children


def _total(pid: int) -> int:
    server, children = _memory(pid)
    return server + sum(children.values())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    presets = tmp_path_factory.mktemp("presets")
    with serve(tmp_path_factory.mktemp("server"), "--presets", str(presets), "--max-upload-mb", str(CAP_MB)) as server:
        yield {"url": server.url, "pid": server.pid, "log": server.log}
    text = server.log.read_text(errors="replace")
    assert "_pending_writes" not in text, text[-3000:]       # no Bokeh model changed outside the lock


def _open(browser, server):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.goto(server["url"])
    expect(page.locator(".wb-recordings option").first).to_be_attached(timeout=TIMEOUT_MS)
    return page


def _recordings(page) -> list[str]:
    return [re.sub(r"\s+\([\d.]+ s, \d+ ch\)$", "", t) for t in page.locator(".wb-recordings option").all_inner_texts()]


def _said(page, pattern: str, timeout: int = TIMEOUT_MS) -> None:
    """Wait until a notification matching ``pattern`` has been shown (even if it faded since)."""
    page.wait_for_function("(p) => wbToasts.some((n) => n.classList.contains('notyf__toast') || "
                           "n.querySelector('.notyf__toast') ? new RegExp(p).test(n.textContent) : false)",
                           arg=pattern, timeout=timeout)


_SENDER = """async () => {
  const view = Bokeh.index.query_one((v) => typeof v._process_upload === "function");
  const model = view.model, send = model.trigger_event.bind(model);
  let Event = null;
  model.trigger_event = (ev) => { Event = ev.constructor; };
  const empty = {name: "probe", size: 0, type: "", slice: () => ({arrayBuffer: async () => new ArrayBuffer(0)})};
  view._process_upload(empty, () => {}, () => {}, () => {});
  for (let i = 0; i < 50 && Event === null; i++) await new Promise((r) => setTimeout(r, 20));
  model.trigger_event = send;
  let symbol = null;
  for (let p = Event.prototype; p && !symbol; p = Object.getPrototypeOf(p))
    symbol = Object.getOwnPropertySymbols(p).find((s) => s.description === "serialize");
  window.wbSend = (data) => send(new Event(data));
  window.wbInline = (b64) => ({[symbol]: () => ({type: "bytes", data: b64})});
  window.wbBuffer = (n) => new ArrayBuffer(n);
  window.wbToasts = [];          // every notification shown, kept after it fades
  new MutationObserver((changes) => { for (const c of changes) for (const n of c.addedNodes)
    if (n.nodeType === 1) window.wbToasts.push(n); }).observe(document.body, {childList: true, subtree: true});
  return symbol !== null;
}"""


def _install_sender(page) -> None:
    """``wbSend(data)``: an upload event from the drop zone; ``wbInline(b64)``: inline (gzip) bytes."""
    assert page.evaluate(_SENDER)


def _barrier(page, name: str) -> None:
    """Send a refused chunk and wait for its notification: every event sent before it is handled."""
    page.evaluate("(name) => wbSend({name, chunk: 1, total_chunks: 100000, data: wbBuffer(0), type: ''})", name)
    _said(page, f"{re.escape(name)}: .*over the upload limit")


def _write_strikes(path: Path, channels: int, frames: int, rate: int = 44100) -> Path:
    """A FLAC of silence with four strikes, written block by block (small in memory and on disk)."""
    import soundfile as sf

    t = np.arange(int(0.5 * rate)) / rate
    starts = {int(frames * f) for f in (0.01, 0.3, 0.6, 0.9)}
    with sf.SoundFile(path, "w", samplerate=rate, channels=channels, subtype="PCM_16", format="FLAC") as f:
        block = 2**20
        for i0 in range(0, frames, block):
            x = np.zeros((min(block, frames - i0), channels), np.float32)
            for k, s in enumerate(sorted(starts)):
                lo, hi = max(s, i0), min(s + t.size, i0 + len(x))
                if lo < hi:
                    tt = t[lo - s:hi - s]
                    x[lo - i0:hi - i0] += (0.5 * np.exp(-8 * tt) * np.sin(2 * np.pi * (440 + 110 * k) * tt))[:, None]
            f.write(x)
    return path


@pytest.fixture(scope="module")
def largest(tmp_path_factory) -> Path:
    """The largest recording a session may load and fit: 8 channels x FIT_SAMPLES frames, so that
    it decodes to exactly DECODED_SAMPLES and its mix is exactly FIT_SAMPLES long (95 s)."""
    channels = DECODED_SAMPLES.limit // FIT_SAMPLES.limit
    return _write_strikes(tmp_path_factory.mktemp("largest") / "largest.flac", channels, FIT_SAMPLES.limit)


def test_lies_bombs_and_floods_are_refused_within_memory(browser, server, tmp_path, largest):
    page = _open(browser, server)
    _install_sender(page)
    before, pid = _recordings(page), server["pid"]
    gc.collect()
    start, _ = _memory(pid)
    peak = [start]
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            peak[0] = max(peak[0], _memory(pid)[0])
            time.sleep(0.1)
    threading.Thread(target=sample, daemon=True).start()
    try:
        # 1. announce 2 chunks, then send 149 more with other totals (300 MB): refused at chunk 2
        page.evaluate("""() => { const b = wbBuffer(%d);
            wbSend({name: "lie.wav", chunk: 1, total_chunks: 2, data: b, type: "audio/wav"});
            wbSend({name: "lie.wav", chunk: 2, total_chunks: 4, data: b, type: "audio/wav"});
            for (let c = 3; c <= 150; c++) wbSend({name: "lie.wav", chunk: c, total_chunks: 150, data: b, type: ""}); }"""
                      % CHUNK)
        _barrier(page, "after-lie.wav")
        _said(page, r"lie.wav: chunk 2 of 4 arrived where chunk 2 of 2 was due \(inconsistent upload\); "
                    r"nothing was loaded")
        # 2. a gzip bomb: 1.4 MB of base64 that Bokeh would have inflated to 1 GB
        c = zlib.compressobj(6, zlib.DEFLATED, 31)
        packed = b"".join([c.compress(bytes(MB)) for _ in range(1024)] + [c.flush()])
        page.evaluate("(b64) => wbSend({name: 'bomb.wav', chunk: 1, total_chunks: 1, data: wbInline(b64), "
                      "type: 'audio/wav'})", base64.b64encode(packed).decode())
        _said(page, r"bomb.wav: refused before decoding: its compressed data would inflate past the limit of "
                    r"8.0 MB per message")
        # 3. a real file one frame over the decoded-size budget (small on the wire): refused from its header
        over = _write_strikes(tmp_path / "over.flac", 8, DECODED_SAMPLES.limit // 8 + 1)
        page.locator(".wb-drop input[type=file]").set_input_files(str(over))
        _said(page, rf"over.flac \(95.1 s, 8 channel\(s\)\): {DECODED_SAMPLES.limit + 8} samples is over the "
                    rf"budget of {DECODED_SAMPLES.limit} samples per recording")
        # 4. ten files at once, each growing to the cap: four are buffered, to 2 x the cap in all
        page.evaluate("""() => { const b = wbBuffer(%d);
            for (let c = 1; c <= 4; c++) for (let i = 0; i < 10; i++)
              wbSend({name: `many${i}.wav`, chunk: c, total_chunks: 5, data: b, type: "audio/wav"}); }""" % CHUNK)
        _said(page, r"many9.wav: 4 other uploads are still arriving")
        _said(page, r"many\d.wav: too much is arriving at once")
        # 5. a flood of small messages: 1000 chunks of a refused file
        page.evaluate("() => wbSend({name: 'flood.wav', chunk: 1, total_chunks: 3, data: wbBuffer(16), type: ''})")
        _said(page, r"flood.wav: chunk 1 of 3 holds 16 bytes")
        page.evaluate("""() => { const b = wbBuffer(16);
            for (let i = 0; i < 1000; i++) wbSend({name: "flood.wav", chunk: 2, total_chunks: 3, data: b, type: ""}); }""")
        t0 = time.monotonic()
        _barrier(page, "after-flood.wav")
        print(f"\n1000 small messages handled in {time.monotonic() - t0:.1f} s")
        assert _recordings(page) == before                  # nothing was loaded
    finally:
        sampling.set()
    time.sleep(0.3)
    grown = peak[0] - start
    # bound: every session's partial uploads (4 x cap), two messages in flight, the noise
    allowed = 4 * CAP + 2 * MESSAGE + NOISE
    print(f"\nabuse: server RSS {start / MB:.0f} MB at the start, peak +{grown / MB:.0f} MB "
          f"(allowed +{allowed / MB:.0f} MB)")
    assert grown <= allowed
    page.context.close()


def _fit_largest(browser, server, files: list[Path]) -> list:
    """Open one session per file, upload it, start a short fit in each; wait for all to finish."""
    pages = []
    for f in files:
        page = _open(browser, server)
        page.locator(".wb-drop input[type=file]").set_input_files(str(f))
        expect(page.locator(".wb-recordings option")).to_have_count(2, timeout=120_000)
        for css, value in ((".wb-modes", 8), (".wb-steps", 3)):
            box = page.locator(f"{css} input")
            box.fill(str(value))
            box.press("Enter")
        pages.append(page)
    for page in pages:
        page.locator(".wb-fit button").click()
    for page, f in zip(pages, files):
        expect(page.locator(".wb-fit-status")).to_contain_text(f"fit done: {f.name}", timeout=240_000)
    return pages


def _settle(pid: int, target: int, timeout: float) -> int:
    """Wait (up to ``timeout`` s) for the total RSS to fall to ``target``; the last reading."""
    deadline = time.monotonic() + timeout
    while True:
        now = _total(pid)
        if now <= target or time.monotonic() > deadline:
            return now
        time.sleep(1.0)


def _wait_released(server, files: list[Path], timeout: float = 60) -> None:
    """Wait until the server has released the sessions that loaded ``files``: a closed tab's
    session ends at Bokeh's next unused-session check (15 s unused, checked every 5 s)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [ln for ln in server["log"].read_text(errors="replace").splitlines() if "session closed: released" in ln]
        if all(any(repr(f.name) in ln for ln in lines) for f in files):
            return
        assert time.monotonic() < deadline, f"the sessions of {[f.name for f in files]} were not released in time"
        time.sleep(0.5)


def test_two_sessions_fitting_the_largest_files_stay_in_budget_and_give_memory_back(browser, server, largest,
                                                                                    tmp_path):
    pid = server["pid"]
    files = []
    for tag in "abcd":
        files.append(tmp_path / f"largest_{tag}.flac")
        shutil.copy(largest, files[-1])
    # warm-up: the same two fits once (lazy imports, each worker's first long fit, the
    # process-wide DSP tables of this length), then the sessions close
    for page in _fit_largest(browser, server, files[:2]):
        page.context.close()
    _wait_released(server, files[:2])
    server_start, workers_start = _memory(pid)
    start = server_start + sum(workers_start.values())
    peaks = {"server": server_start, "workers": dict(workers_start)}
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            s, w = _memory(pid)
            peaks["server"] = max(peaks["server"], s)
            for k, v in w.items():
                peaks["workers"][k] = max(peaks["workers"].get(k, 0), v)
            time.sleep(0.1)
    threading.Thread(target=sample, daemon=True).start()
    try:
        pages = _fit_largest(browser, server, files[2:])
    finally:
        sampling.set()
    for page in pages:
        page.context.close()
    _wait_released(server, files[2:])
    end = _settle(pid, int(start * 1.10), 10)
    server_end, workers_end = _memory(pid)
    # the server: per session its decoded recording, RENDER_CACHE_BYTES and ten FIT_SAMPLES-long
    # float32 sounds (mix, fit, edited, object, tool, their WAVs and the strings sent to the
    # page); SERVER_CACHE_BYTES; and the working memory of one render or decode at a time
    # (MEMORY_BYTES: the worst allowed one). A fit worker: MEMORY_BYTES.
    session = 4 * DECODED_SAMPLES.limit + RENDER_CACHE_BYTES.limit + 10 * 4 * FIT_SAMPLES.limit
    server_allowed = server_start + 2 * session + SERVER_CACHE_BYTES.limit + MEMORY_BYTES.limit
    worst_worker = max(peaks["workers"].values())
    print(f"\ntwo sessions: total RSS {start / MB:.0f} MB after warm-up (server {server_start / MB:.0f} MB, "
          f"workers {[round(v / MB) for v in workers_start.values()]} MB); server peak "
          f"{peaks['server'] / MB:.0f} MB (allowed {server_allowed / MB:.0f} MB), largest worker peak "
          f"{worst_worker / MB:.0f} MB (allowed {MEMORY_BYTES.limit / MB:.0f} MB); {end / MB:.0f} MB after "
          f"both closed (allowed {start * 1.1 / MB:.0f} MB: server {server_end / MB:.0f} MB, workers "
          f"{[round(v / MB) for v in workers_end.values()]} MB)")
    assert peaks["server"] <= server_allowed
    assert worst_worker <= MEMORY_BYTES.limit
    assert end <= start * 1.10
