"""Fitting recordings: physics-prior start, then analysis by synthesis.

Modules: `params` (unconstrained variables -> physical controls), `optimize` (the Adam
loop with rollback, cancel and early stopping), `labels` (tool/object labels), `api`
(`fit`, `FitResult`, `FitProgress`).
"""

from .api import FitProgress, FitResult, fit

__all__ = ["FitProgress", "FitResult", "fit"]
