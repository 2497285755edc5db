"""Parameter ranges as data: every spec is consistent, and its consumers read it."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from workbench import specs
from workbench.edits import EDIT_SPECS
from workbench.errors import WorkbenchError
from workbench.fitting.settings import FIT_SPECS
from workbench.presets import preset_from_dict
from workbench.specs import ParamSpec

ALL_SPECS = [v for v in vars(specs).values() if isinstance(v, ParamSpec)] + list(EDIT_SPECS.values()) \
    + list(FIT_SPECS.values())


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: s.name)
def test_every_spec_is_consistent(spec):
    assert spec.map_minimum <= spec.default <= spec.maximum
    assert spec.contains(spec.default)
    assert not spec.contains(math.nan) and not spec.contains(math.inf)
    assert spec.doc.endswith(".") and spec.unit is not None
    if spec.scale == "log":
        assert spec.map_minimum > 0


def test_specs_are_built_with_keywords_only():
    with pytest.raises(TypeError):
        ParamSpec("x", "Hz", 1.0, 2.0, "linear", 1.5, "doc.")  # type: ignore[misc]
    with pytest.raises(ValueError, match="bad bounds or default"):
        ParamSpec(name="x", unit="", minimum=1.0, maximum=2.0, scale="linear", default=3.0, doc="d.")
    with pytest.raises(ValueError, match="log scale"):
        ParamSpec(name="x", unit="", minimum=0.0, maximum=2.0, scale="log", default=1.0, doc="d.")
    with pytest.raises(dataclasses.FrozenInstanceError):
        specs.FREQ_HZ.maximum = 1.0  # type: ignore[misc]


def test_clip_and_contains_use_the_bounds():
    s = specs.T60_S
    assert s.clip(100.0) == s.maximum and s.clip(0.0) == s.minimum
    assert s.contains(s.minimum) and s.contains(s.maximum) and not s.contains(s.maximum * 1.01)
    # a log spec whose minimum is 0 maps from its floor
    assert specs.MAGNITUDE.map_minimum == specs.MAGNITUDE.floor > 0 and specs.MAGNITUDE.contains(0.0)


@pytest.mark.parametrize("spec", [specs.FREQ_HZ, specs.GAIN_DB, specs.CONTACT_S], ids=lambda s: s.name)
def test_sample_draws_within_range_on_the_spec_scale(spec):
    rng = np.random.default_rng(0)
    x = spec.sample(rng, 20_000)
    assert np.all((x >= spec.map_minimum) & (x <= spec.maximum))
    domain = np.log(x) if spec.scale == "log" else x
    lo, hi = (np.log([spec.map_minimum, spec.maximum]) if spec.scale == "log"
              else (spec.map_minimum, spec.maximum))
    # uniform on the spec's own scale: the median sits at the middle of the domain
    assert np.median(domain) == pytest.approx((lo + hi) / 2, abs=0.02 * (hi - lo))


def test_presets_validate_against_the_specs(demo_preset_path):
    import json

    data = json.loads(demo_preset_path.read_text())
    data["object"]["modes"][0]["freq_hz"] = specs.FREQ_HZ.maximum * 2
    with pytest.raises(WorkbenchError, match=r"object\.modes\[0\]\.freq_hz.*outside \[20, 24000\] Hz"):
        preset_from_dict(data)
    data["object"]["modes"][0]["freq_hz"] = specs.FREQ_HZ.maximum
    data["duration_s"] = specs.DURATION_S.maximum + 1
    with pytest.raises(WorkbenchError, match="duration_s"):
        preset_from_dict(data)
