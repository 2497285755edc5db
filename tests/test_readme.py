"""The README: what it shows and lists is there."""

from __future__ import annotations

import re
from pathlib import Path

from workbench import budgets

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_the_readme_lists_every_budget():
    missing = [name for name in budgets.BUDGETS if f"`{name}`" not in README]
    assert not missing, f"README's Limits table lacks {missing}"


def test_every_picture_the_readme_shows_is_in_the_repository():
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert pictures and all((REPO / p).is_file() for p in pictures), pictures
