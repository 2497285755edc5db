"""A real `workbench serve` for browser and protocol tests: started on a free port, stopped after."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
#: Chromium flags for tests: no sandbox (root in a container), no GPU, no traffic of its own.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--autoplay-policy=no-user-gesture-required"]


def playwright_api():
    """Playwright's sync API; skips the calling module when Chromium or Playwright is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (make test does: apt-get install chromium)",
                    allow_module_level=True)
    return pytest.importorskip("playwright.sync_api")


@contextlib.contextmanager
def chromium():
    """A headless Chromium driven by Playwright (the `browser` fixture of conftest.py)."""
    with playwright_api().sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, log: Path, *, timeout_s: float, what: str) -> None:
    """Poll ``url`` until it answers; fail the test with the end of ``log`` if ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"{what} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)


@dataclass
class Server:
    url: str
    pid: int
    log: Path


@contextlib.contextmanager
def serve(folder: Path, *args: str, fit_workers: int = 2, start_timeout_s: float = 180.0):
    """Run ``workbench serve --no-show`` with ``args`` on 127.0.0.1 (log in ``folder``); yields a `Server`."""
    port = free_port()
    log = folder / "serve.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "WORKBENCH_FIT_WORKERS": str(fit_workers)}
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--no-show", "--port", str(port),
                                 "--address", "127.0.0.1", *args],
                                cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    wait_until_up(url, proc, log, timeout_s=start_timeout_s, what="workbench serve")
    try:
        yield Server(url=url, pid=proc.pid, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
