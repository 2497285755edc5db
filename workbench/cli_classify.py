"""`workbench classify`: the material of a struck object (and of the tool) from its sound.

Registered on `workbench.cli.app`; it lives apart only to keep `workbench.cli` short.
The shared helpers (`_run`, `check_output`, the consoles) are imported when the command
runs, so importing this module first does not import the CLI half-built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .errors import WorkbenchError
from .fitting.settings import STEPS


def classify(
    file: Optional[Path] = typer.Argument(None, help="An audio file, or a fitted preset JSON (its object and tool banks)."),
    separate: bool = typer.Option(False, "--separate", help="Fit a tool bank and classify the object and the tool "
                                  "apart (a fit: seconds to a minute); default: one material for the whole mix."),
    materials: Optional[str] = typer.Option(None, "--materials", help="Comma-separated candidate materials "
                                            "(default: all the classifier knows)."),
    steps: int = typer.Option(int(STEPS.default), "--steps", help=f"{STEPS.doc} With --separate."),
    train: bool = typer.Option(False, "--train", help="Train the classifier on synthetic sounds and write it (-o)."),
    output: Path = typer.Option(Path("workbench/data/material_classifier.json"), "-o", "--output",
                                show_default=False, help="With --train: the classifier JSON to write "
                                                         "(default: material_classifier.json in the package's data folder)."),
    seed: int = typer.Option(0, "--seed", help="With --train: the synthetic set's seed."),
    per_material: Optional[int] = typer.Option(None, "--per-material", min=10, help="With --train: synthetic "
                                               "sounds per material and role (default: the shipped model's)."),
):
    """Name the material of a struck object (and of the tool) from its sound, or train the classifier."""
    from . import classify as cls
    from .cli import _run, check_output, out

    def go():
        if train:
            check_output(output, "-o", suffixes=(".json",))
            model = cls.train_model(seed=seed, **({"per_material": per_material} if per_material else {}))
            accuracy = ", ".join(f"{r} {v['train_accuracy']:.1%}" for r, v in model["roles"].items())
            out.print(f"wrote {cls.write_model(model, output)} (training accuracy on synthetic sounds: {accuracy})",
                      highlight=False)
            return
        if file is None:
            raise WorkbenchError("FILE: give an audio file or a preset JSON to classify (or --train)")
        candidates = [m.strip() for m in materials.split(",") if m.strip()] if materials else None
        if file.suffix.lower() == ".json":
            from .presets import load_preset

            result = cls.classify_preset(load_preset(file), materials=candidates)
        else:
            result = cls.classify_material(file, separate=separate, materials=candidates, steps=steps)
        table = Table(title=f"material of {result.name}" + (" (separated)" if result.separated else " (whole mix)"))
        for col in ("part", "material", "probabilities"):
            table.add_column(col)
        parts = [("object" if result.separated else "mix", result.object)] + ([("tool", result.tool)] if result.tool else [])
        for part, guess in parts:
            probs = "  ".join(f"{m} {p:.0%}" for m, p in sorted(guess.probabilities.items(), key=lambda kv: -kv[1]))
            table.add_row(part, guess.material, probs)
        out.print(table)

    _run(go)
