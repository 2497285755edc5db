"""Packaging metadata: `make setup` installs the package without setuptools deprecation warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# What `pip install -e .` runs first: setuptools reads [project] into a Distribution (warnings included).
PROBE = """
import warnings
from setuptools.dist import Distribution
from setuptools.config.pyprojecttoml import apply_configuration
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    dist = apply_configuration(Distribution(), "pyproject.toml")
for w in caught:
    print("WARNING", w.category.__name__, str(w.message).splitlines()[0])
print("LICENSE", dist.metadata.license_expression, dist.metadata.license_files)
"""


def test_pyproject_applies_without_setuptools_warnings():
    """The license is an SPDX string with license-files (a TOML table is deprecated since setuptools 77)."""
    r = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "WARNING" not in r.stdout, r.stdout
    assert "LICENSE MIT ['LICENSE', 'workbench/data/LICENSE-MIT.txt']" in r.stdout, r.stdout
    assert all((REPO / f).is_file() for f in ["LICENSE", "workbench/data/LICENSE-MIT.txt"])
