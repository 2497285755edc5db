"""`workbench train-encoder`: train the impact encoder (`workbench.learned.impact`) and write its weights.

Registered on `workbench.cli.app`; it lives apart only to keep `workbench.cli` short. The
run uses one torch thread (the shared 2-core machine), draws and renders its batches on the
fly, logs every 25 steps and writes a checkpoint (weights + metadata) every
``--checkpoint-every`` steps, so a run stopped by ``--max-minutes`` still leaves its weights.
The shipped ``workbench/data/impact_encoder.pt`` is the output of the command in its metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def train_encoder(
    steps: int = typer.Option(1200, "--steps", min=1, help="Optimiser steps (batches of 32 rendered sounds)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the drawn presets, the noise and the weights."),
    batch: int = typer.Option(32, "--batch", min=1, max=256, help="Rendered sounds per step."),
    output: Path = typer.Option(Path("workbench/data/impact_encoder.pt"), "-o", "--output", show_default=False,
                                help="Weights to write (.pt; the metadata goes beside it as .json) "
                                     "[default: workbench/data/impact_encoder.pt]."),
    max_minutes: Optional[float] = typer.Option(None, "--max-minutes", min=0.1,
                                                help="Stop after this much wall time (metadata says so)."),
    checkpoint_every: int = typer.Option(100, "--checkpoint-every", min=1, help="Steps between checkpoints."),
    log: Optional[Path] = typer.Option(None, "--log", help="Also append progress lines to this file."),
    library: bool = typer.Option(True, "--library/--no-library",
                                 help="Draw from the preset library too (else the physics priors only)."),
):
    """Train the impact encoder on presets drawn from the physics priors and the preset library."""
    from .cli import _run, check_output, out

    def go():
        import torch

        from .learned.impact_train import train

        check_output(output, "-o", suffixes=(".pt",))
        torch.set_num_threads(1)
        sink = open(log, "a", encoding="utf-8") if log else None

        def say(line: str) -> None:
            out.print(line, highlight=False)
            if sink:
                sink.write(line + "\n")
                sink.flush()

        try:
            _, meta = train(steps=steps, seed=seed, batch=batch, log=say, checkpoint=output, checkpoint_every=checkpoint_every,
                            max_minutes=max_minutes, library=None if library else [])
        finally:
            if sink:
                sink.close()
        out.print(f"wrote {output} ({meta['steps_run']} steps, held-out loss {meta['final_held_out_loss']})",
                  highlight=False)

    _run(go)
