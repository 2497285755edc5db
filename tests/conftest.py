"""Shared fixtures: paths to the bundled and the shared real recordings."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data" / "real_impacts"
BUNDLED_DATA = REPO / "workbench" / "data"

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real recordings not found at {SHARED_DATA} (../shared beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def bundled_data() -> Path:
    """Real recordings committed with the package (always present)."""
    return BUNDLED_DATA


@pytest.fixture(scope="session")
def demo_preset_path() -> Path:
    return REPO / "presets" / "demo.json"


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for one test module (skips when Chromium or Playwright is missing)."""
    from served import chromium

    with chromium() as b:
        yield b
