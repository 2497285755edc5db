"""Fit settings, declared once as data: `workbench.fit`, the CLI and the dashboard read these.

Each setting is a `workbench.specs.ParamSpec` (bounds, default, meaning);
`FitSettings` is the validated set one fit runs with. No torch here, so the CLI and
the dashboard can read the defaults without importing the fitter.

Example:
    >>> FitSettings().n_modes, FitSettings(steps=100).steps
    (48, 100)
    >>> FitSettings(n_modes=0)
    Traceback (most recent call last):
    ...
    workbench.errors.WorkbenchError: n_modes: 0 is outside [1, 1024]
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass

from ..errors import WorkbenchError
from ..specs import ParamSpec

N_MODES = ParamSpec(name="n_modes", unit="", minimum=1, maximum=1024, scale="log", default=48,
                    doc="Object modes to fit (fewer if the recording has fewer).")
N_TOOL_MODES = ParamSpec(name="n_tool_modes", unit="", minimum=1, maximum=256, scale="log", default=16,
                         doc="Modes per striking tool in a labelled (tool/object) fit.")
STEPS = ParamSpec(name="steps", unit="", minimum=1, maximum=100_000, scale="log", default=250,
                  doc="Most optimiser steps (the fit stops earlier once converged).")
PATIENCE = ParamSpec(name="patience", unit="", minimum=1, maximum=100_000, scale="log", default=40,
                     doc="Stop when the loss has not improved for this many steps.")
LEARNING_RATE = ParamSpec(name="lr", unit="", minimum=1e-5, maximum=1.0, scale="log", default=0.05,
                          doc="Adam learning rate on the unconstrained variables.")
SENSITIVITY = ParamSpec(name="sensitivity", unit="", minimum=0.0, maximum=1.0, scale="linear", default=0.5,
                        doc="Impact detection sensitivity: an impact needs confidence >= 1 - sensitivity.")
REPORT_EVERY = ParamSpec(name="report_every", unit="", minimum=1, maximum=100_000, scale="log", default=10,
                         doc="Steps between two progress reports.")
DAMPING_WEIGHT = ParamSpec(name="damping_weight", unit="", minimum=0.0, maximum=100.0, scale="linear", default=0.0,
                           doc="Weight of the damping-law prior on the decay times (0: none; the law is "
                               "still fitted and stored). Off by default: on modes whose decays follow no "
                               "one law (bench: ThreeDWorld, synthetic) 0.1 doubles the T60 error.")

#: Every numeric fit setting by name.
FIT_SPECS: dict[str, ParamSpec] = {s.name: s for s in (N_MODES, N_TOOL_MODES, STEPS, PATIENCE, LEARNING_RATE,
                                                       SENSITIVITY, REPORT_EVERY, DAMPING_WEIGHT)}
#: How the modes start: estimated from the signal, DiffImpact-style at random, or read by the
#: impact encoder (`workbench.learned.impact`).
INITS = ("physics", "random", "encoder")
#: Model parts a fit can leave out, with their meaning (each a bool setting, default on).
SWITCHES: dict[str, str] = {
    "reverb": "Fit a room reverb.",
    "residual": "Fit the strike's residual: decaying band noise the modes do not explain.",
}

_INTEGERS = ("n_modes", "n_tool_modes", "steps", "patience", "report_every")


@dataclass(frozen=True)
class FitSettings:
    """The settings of one fit; every value is checked against its spec on creation.

    Attributes mirror `workbench.fit`'s keyword arguments; ``patience=None`` runs every step;
    ``steps=0`` runs none (the fit returns its start).
    Numbers (numpy's too) are stored as plain ``int``/``float``.

    Raises:
        WorkbenchError: a value outside its spec's range or of the wrong type (booleans
            and strings are not numbers), an unknown ``init``, a non-bool ``reverb`` or ``residual``, a
            ``seed`` that is not a whole number in [0, 2**63).
    """

    n_modes: int = int(N_MODES.default)
    steps: int = int(STEPS.default)
    patience: int | None = int(PATIENCE.default)
    lr: float = LEARNING_RATE.default
    sensitivity: float = SENSITIVITY.default
    n_tool_modes: int = int(N_TOOL_MODES.default)
    report_every: int = int(REPORT_EVERY.default)
    init: str = "physics"
    reverb: bool = True
    seed: int = 0
    residual: bool = True
    damping_weight: float = DAMPING_WEIGHT.default

    def __post_init__(self) -> None:
        for name, spec in FIT_SPECS.items():
            value = getattr(self, name)
            if value is None and name == "patience":
                continue
            if name == "steps" and not isinstance(value, bool) and isinstance(value, numbers.Integral) and value == 0:
                object.__setattr__(self, name, 0)
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not spec.contains(value):
                raise WorkbenchError(f"{name}: {value!r} is outside [{spec.minimum:g}, {spec.maximum:g}]")
            if name in _INTEGERS and int(value) != value:
                raise WorkbenchError(f"{name}: {value!r} is not a whole number")
            object.__setattr__(self, name, int(value) if name in _INTEGERS else float(value))
        if not isinstance(self.init, str) or self.init not in INITS:
            raise WorkbenchError(f"init: {self.init!r} is not one of {', '.join(map(repr, INITS))}")
        for name in SWITCHES:
            if not isinstance(getattr(self, name), bool):
                raise WorkbenchError(f"{name}: expected True or False, got {getattr(self, name)!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or not 0 <= self.seed < 2**63:
            raise WorkbenchError(f"seed: expected a whole number in [0, 2**63), got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))

    def to_dict(self) -> dict:
        """The settings as plain values (for provenance)."""
        return dataclasses.asdict(self)
