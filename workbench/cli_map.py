"""`workbench map`: a preset library as a sound map page (`workbench.soundmap`, `workbench.app.mapfigure`).

Registered on `workbench.cli.app`; it lives apart only to keep `workbench.cli` short.
The shared helpers (`_run`, `check_output`, the consoles) are imported when the command
runs, so importing this module first does not import the CLI half-built.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer


def sound_map(
    presets_dir: Path = typer.Argument(..., help="Preset library folder (every *.json in it, recursively)."),
    output: Path = typer.Option(..., "-o", "--output", help="HTML page to write (self-contained, works offline)."),
    seed: int = typer.Option(0, "--seed", help="UMAP's random state (same library and seed, same map)."),
):
    """Lay a preset library out as a sound map (UMAP of physical parameters): a page where hovering plays."""
    from .cli import _run, check_output, err, out

    def go():
        check_output(output, "-o", suffixes=(".html", ".htm"))
        t0 = time.perf_counter()
        from .app.mapfigure import save_map_html
        from .soundmap import build_map

        built = build_map(presets_dir, seed=seed)
        save_map_html(built, output, title=f"Sound map of {presets_dir}")
        for line in built.skipped:
            err.print(f"skipped {line}", highlight=False)
        out.print(f"wrote {output}: {len(built)} presets by {built.method.upper()}, built in "
                  f"{built.timings['total']:.1f} s ({time.perf_counter() - t0:.1f} s with imports and the page)",
                  highlight=False)

    _run(go)
