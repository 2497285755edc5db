"""Fit settings as data: `fit()` and the CLI take their defaults and bounds from `fitting.settings`."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest
import typer

from workbench.errors import WorkbenchError
from workbench.fitting import FitSettings, fit
from workbench.fitting.settings import FIT_SPECS, N_MODES, SENSITIVITY, STEPS


def test_fit_defaults_are_the_settings_defaults():
    defaults = FitSettings()
    params = inspect.signature(fit).parameters
    for f in dataclasses.fields(FitSettings):
        assert params[f.name].default == getattr(defaults, f.name), f.name
        assert params[f.name].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("name, bad", [(name, spec.maximum * 2 + 1) for name, spec in FIT_SPECS.items()]
                         + [("n_modes", 0), ("steps", 2.5), ("init", "zeros"), ("lr", float("nan"))])
def test_every_bad_setting_is_named(name, bad):
    with pytest.raises(WorkbenchError, match=f"^{name}: "):
        FitSettings(**{name: bad})


def test_fit_validates_before_reading_anything(tmp_path):
    with pytest.raises(WorkbenchError, match=r"^patience: 0 is outside \[1, 100000\]"):
        fit(tmp_path / "missing.wav", patience=0)
    with pytest.raises(WorkbenchError, match=r"^lr: 2.0 is outside"):
        fit(tmp_path / "missing.wav", lr=2.0)


def test_numbers_are_stored_as_plain_python():
    s = FitSettings(n_modes=np.int64(12), lr=np.float32(0.25), steps=30.0)
    assert (s.n_modes, s.steps, s.lr) == (12, 30, 0.25)
    assert type(s.n_modes) is int and type(s.steps) is int and type(s.lr) is float
    assert s.to_dict()["patience"] == FitSettings().patience


def _cli_default(command: str, option: str):
    from workbench.cli import app

    click_app = typer.main.get_command(app)
    param = next(p for p in click_app.commands[command].params if p.name == option)
    return param.default, param.help


@pytest.mark.parametrize("command, option, spec", [
    ("fit", "modes", N_MODES), ("fit", "steps", STEPS), ("fit", "sensitivity", SENSITIVITY),
    ("library", "modes", N_MODES), ("library", "steps", STEPS), ("detect", "sensitivity", SENSITIVITY),
])
def test_cli_defaults_and_help_come_from_the_specs(command, option, spec):
    default, help_text = _cli_default(command, option)
    assert default == spec.default and spec.doc in help_text
