"""Fitting recordings: physics-prior start, then analysis by synthesis.

Modules: `settings` (fit settings as data), `clips` (named clips, fitted windows,
long-file segments), `labels` (tool/object labels), `prior` (the starting values),
`params` (unconstrained variables -> physical controls), `optimize` (the Adam loop
with rollback, cancel and early stopping), `api` (`fit`, `FitResult`, `FitProgress`),
`report` (a PNG and WAVs per fitted clip).
The names below are imported on first use (`settings` needs no torch).

Example:
    >>> from workbench import fitting
    >>> fitting.FitSettings().steps == fitting.settings.STEPS.default
    True
"""

from __future__ import annotations

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "api": ["FitProgress", "FitResult", "fit"], "clips": ["Clip"], "settings": ["FitSettings"]})
