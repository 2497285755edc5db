"""Fitting recordings: physics-prior start, then analysis by synthesis.

Modules: `settings` (fit settings as data), `params` (unconstrained variables ->
physical controls), `optimize` (the Adam loop with rollback, cancel and early
stopping), `labels` (tool/object labels), `api` (`fit`, `FitResult`, `FitProgress`).
The names below are imported on first use (`settings` needs no torch).
"""

from __future__ import annotations

import importlib

_LAZY = {"Clip": "api", "FitProgress": "api", "FitResult": "api", "fit": "api", "FitSettings": "settings"}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workbench.fitting' has no attribute {name!r}")
