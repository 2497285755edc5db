"""The `workbench` command line: render, info, fit, detect, export, variations, serve, library, materials, classify, map.

Start-up stays light (``workbench --help`` imports neither torch nor the fitter):
each command imports what it needs when it runs.

Example:
    >>> from typer.testing import CliRunner
    >>> result = CliRunner().invoke(app, ["fit", "--help"])
    >>> result.exit_code, "--modes" in result.output
    (0, True)
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from .errors import WorkbenchError
from .fitting.settings import N_MODES, SENSITIVITY, STEPS

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Impact Workbench: fit, edit and export physically meaningful impact sounds.")
out = Console(soft_wrap=True)
err = Console(stderr=True)


def _spec_help(spec, extra: str = "") -> str:
    """Help text of a fit setting from its spec: its meaning and range."""
    return f"{spec.doc}{extra} Range {spec.minimum:g}-{spec.maximum:g}."


def fail(message: str, code: int = 2) -> None:
    """Print one clear line to stderr and exit non-zero (no traceback)."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def check_output(path: Path, option: str, *, suffixes: tuple[str, ...] = (), folder: bool = False) -> None:
    """Refuse an output path that cannot be written, before any long work (fits take minutes).

    Args:
        path: Where the command will write.
        option: The option that gave it (``-o``), for the message.
        suffixes: File suffixes accepted (lower case; empty: any).
        folder: The output is a folder (created if missing) rather than a file.

    Raises:
        WorkbenchError: a folder given for a file (or a file for a folder), a wrong suffix,
            or a parent that is not a folder or cannot be written into.
    """
    if folder:
        if path.exists() and not path.is_dir():
            raise WorkbenchError(f"{option} {path}: exists and is not a folder (the output here is a folder)")
    else:
        if path.is_dir():
            example = path / f"name{suffixes[0] if suffixes else ''}"
            raise WorkbenchError(f"{option} {path}: is a folder; give a file name (e.g. {example})")
        if suffixes and path.suffix.lower() not in suffixes:
            raise WorkbenchError(f"{option} {path}: expected a {', '.join(suffixes)} file, got "
                                 f"{path.suffix or 'no suffix'}")
    parent = path if folder else path.parent
    existing = next((p for p in (parent, *parent.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise WorkbenchError(f"{option} {path}: {existing} is a file, not a folder")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise WorkbenchError(f"{option} {path}: cannot write into {existing} (permission denied)")


def _run(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except WorkbenchError as e:
        fail(str(e))
    except KeyboardInterrupt:
        fail("interrupted", 130)


@app.command()
def render(
    preset: Path = typer.Argument(..., help="Preset JSON file."),
    output: Path = typer.Option(..., "-o", "--output", help="Output audio file (.wav, .flac, .ogg)."),
    duration: Optional[float] = typer.Option(None, "--duration", help="Length in seconds (default: the preset's)."),
    sample_rate: Optional[int] = typer.Option(None, "--sample-rate", help="Sample rate in Hz, 16000-96000."),
    part: str = typer.Option("all", "--part", help="all | object | tool | residual | dry | clean"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda | mps | auto"),
    subtype: str = typer.Option("PCM_16", "--subtype", help="PCM_16 | PCM_24 | FLOAT (WAV)"),
    spectrogram: Optional[Path] = typer.Option(None, "--spectrogram", help="Also save a spectrogram PNG here."),
    no_limit: bool = typer.Option(False, "--no-limit", help="Keep the preset's level even above -1 dBFS."),
):
    """Render a preset to an audio file (lowered to a -1 dBFS peak if it is louder)."""
    from . import audio, presets
    from .specs import HEADROOM_DBFS, HEADROOM_PEAK
    from .rendering import render as render_preset

    def go():
        check_output(output, "-o", suffixes=(".wav", ".flac", ".ogg"))
        if spectrogram is not None:
            check_output(spectrogram, "--spectrogram")
        p = presets.load_preset(preset)
        y = render_preset(p, duration_s=duration, sample_rate=sample_rate, device=device, parts=part)
        sr = sample_rate or p.sample_rate
        peak = float(abs(y).max()) if y.size else 0.0
        ceiling = HEADROOM_PEAK
        if peak > ceiling and not no_limit:
            out.print(f"level: lowered by {20 * math.log10(peak / ceiling):.1f} dB to a {HEADROOM_DBFS:g} dBFS peak "
                      "(the preset is unchanged; --no-limit keeps its level)")
            y, peak = y * (ceiling / peak), ceiling
        if peak > 1.0 and subtype != "FLOAT":
            err.print(f"[yellow]warning:[/] peak {peak:.2f} exceeds full scale; {subtype} output will clip "
                      "(use --subtype FLOAT or lower the impact magnitude)")
        written = [audio.save_audio(output, y, sr, subtype=subtype)]
        if spectrogram is not None:
            from .plots import save_figure, spectrogram_figure
            written.append(save_figure(spectrogram_figure(y, sr, title=f"{p.name} ({part})"), spectrogram,
                                       dpi=110))
        out.print(f"rendered [bold]{p.name}[/]: {len(y) / sr:.2f} s at {sr} Hz, part={part}, peak "
                  f"{20 * math.log10(max(peak, 1e-12)):.1f} dBFS")
        for path in written:
            out.print(f"wrote {path}")

    _run(go)


@app.command()
def info(file: Path = typer.Argument(..., help="An audio file or a preset JSON.")):
    """Describe an audio file (rate, duration, level) or a preset (its modes)."""
    from . import audio, presets

    def go():
        if file.suffix.lower() == ".json":
            p = presets.load_preset(file)
            out.print(f"[bold]{p.name}[/]  material={p.material or '-'}  sample_rate={p.sample_rate} Hz  "
                      f"duration={p.duration_s:g} s  impacts={len(p.impacts)}  reverb={'on' if p.reverb.enabled else 'off'}"
                      f"  residual={'on' if p.residual is not None and p.residual.enabled else 'off'}"
                      + (f"  fade-out={p.fade_out.start_s:g}-{p.fade_out.end_s:g} s (the recording's edit)"
                         if p.fade_out else ""))
            for label, body in (("object", p.object), ("tool", p.tool)):
                if body is None:
                    continue
                table = Table(title=f"{label} modes ({len(body.modes)})")
                for col in ("#", "freq (Hz)", "T60 (s)", "gain (dB)"):
                    table.add_column(col, justify="right")
                for i, m in enumerate(body.modes):
                    table.add_row(str(i), f"{m.freq_hz:.1f}", f"{m.t60_s:.3f}", f"{m.gain_db:.1f}")
                out.print(table)
            return
        d = audio.audio_info(file)
        out.print(f"{d['file']}: {d['format']}, {d['sample_rate']} Hz, {d['channels']} channel(s), "
                  f"{d['duration_s']:.3f} s, peak {d['peak_dbfs']:.1f} dBFS, RMS {d['rms_dbfs']:.1f} dBFS")

    _run(go)


@app.command()
def fit(
    recordings: list[Path] = typer.Argument(..., help="Recording(s) to fit (WAV/FLAC/OGG/MP3)."),
    output: Path = typer.Option(..., "-o", "--output", help="Preset JSON to write (a folder when fitting "
                                "several clips without --joint, or with --labels)."),
    modes: int = typer.Option(int(N_MODES.default), "--modes", help=_spec_help(N_MODES)),
    steps: int = typer.Option(int(STEPS.default), "--steps", help=_spec_help(STEPS)),
    joint: bool = typer.Option(False, "--joint", help="Several clips of one object: share its modes."),
    labels: Optional[str] = typer.Option(None, "--labels", help="Tool/object labels: a CSV (file,tool,object) "
                                         "or 'names' to parse *_<tool>_on_<object> file names."),
    channel: Optional[int] = typer.Option(None, "--channel", help="Channel to fit (default: mix down)."),
    sample_rate: Optional[int] = typer.Option(None, "--sample-rate", help="Fit at this rate (Hz)."),
    sensitivity: float = typer.Option(SENSITIVITY.default, "--sensitivity", help=_spec_help(SENSITIVITY)),
    no_reverb: bool = typer.Option(False, "--no-reverb", help="Fit without a room reverb."),
    no_residual: bool = typer.Option(False, "--no-residual", help="Fit without the strike's residual "
                                     "(decaying band noise the modes do not explain)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (fits are deterministic for a seed)."),
    init: str = typer.Option("physics", "--init", help="Start: physics (signal analysis), encoder (the impact "
                             "encoder's instant match; --steps 0 keeps it as it is) or random."),
    device: str = typer.Option("auto", "--device", help="cpu | cuda | mps | auto"),
    report: Optional[Path] = typer.Option(None, "--report", help="Folder for the resynthesised WAV and a "
                                          "report PNG (spectrograms, force, loss, modes)."),
):
    """Fit recordings with the physical model and save the preset(s)."""
    import warnings

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .fitting import fit as run_fit
    from .fitting.clips import as_clips
    from .names import unique_name
    from .presets import save_preset

    def go():
        # several clips fitted apart (or tool/object-separated): one preset per clip, into a folder
        separate = len(recordings) > 1 and (labels is not None or not joint)
        check_output(output, "-o", suffixes=() if separate else (".json",), folder=separate)
        if report is not None:
            check_output(report, "--report", folder=True)
        bar = Progress(TextColumn("[bold]fitting[/]"), BarColumn(), TextColumn("step {task.completed}/{task.total}"),
                       TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), console=err, transient=False)
        task = bar.add_task("fit", total=steps, loss="-")

        def on_progress(p):     # clips at several sample rates are fitted in parts: total = parts x steps
            if not bar.live.is_started:      # the bar appears with the first step: bad input prints none
                bar.start()
            bar.update(task, total=p.total_steps, completed=p.step + 1, loss=f"{p.loss:.4f}")

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # read and check every recording (missing, corrupt, empty, silent) before any fitting
            clips = as_clips([str(r) for r in recordings], sample_rate=sample_rate, channel=channel)
            try:
                result = run_fit(clips, n_modes=modes, steps=steps, joint=joint, labels=labels,
                                 sample_rate=sample_rate, seed=seed, sensitivity=sensitivity,
                                 reverb=not no_reverb, residual=not no_residual, device=device, callback=on_progress,
                                 report_every=5, init=init)
                bar.update(task, completed=steps * len(result.loss_histories))
            finally:
                bar.stop()
        for w in caught:
            err.print(f"[yellow]warning:[/] {w.message}", highlight=False)
        if separate:
            stems: list[str] = []        # clips of the same name (a/hit.wav, b/hit.wav): hit, hit-2
            for p in result.presets:
                stems.append(unique_name(p.name, stems))
            written = [save_preset(p, output / f"{stem}.json") for p, stem in zip(result.presets, stems)]
        else:
            written = [save_preset(result.preset, output)]
        out.print(f"fitted {len(result.presets)} clip(s) in {result.elapsed_s:.1f} s, {result.steps_run} steps "
                  f"({result.stopped}); normalised distance "
                  + ", ".join(f"{p.name} {d:.3f}" for p, d in zip(result.presets, result.distances)))
        if report is not None:
            from .fitting.report import write_report
            written += write_report(result, report)
        for path in written:
            out.print(f"wrote {path}")

    _run(go)


@app.command()
def detect(
    recording: Path = typer.Argument(..., help="Recording to scan."),
    sensitivity: float = typer.Option(SENSITIVITY.default, "--sensitivity", help=_spec_help(SENSITIVITY)),
    channel: Optional[int] = typer.Option(None, "--channel", help="Channel to scan (default: mix down)."),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Also write time_s,confidence,peak_db rows here."),
):
    """Find the impacts in a recording and print their times."""
    from . import audio
    from .analysis.detect import detect_impacts

    def go():
        if csv is not None:
            check_output(csv, "--csv")
        if not SENSITIVITY.contains(sensitivity):
            raise WorkbenchError(f"--sensitivity: {sensitivity} is outside [{SENSITIVITY.minimum:g}, "
                                 f"{SENSITIVITY.maximum:g}]")
        y, sr = audio.load_audio(recording, channel=channel)
        impacts = detect_impacts(y, sr, sensitivity=sensitivity)
        table = Table(title=f"{len(impacts)} impact(s) in {recording.name}")
        for col in ("#", "time (s)", "confidence", "peak (dB re file peak)"):
            table.add_column(col, justify="right")
        for i, imp in enumerate(impacts):
            table.add_row(str(i), f"{imp.time_s:.4f}", f"{imp.confidence:.2f}", f"{imp.peak_db:.1f}")
        out.print(table)
        if csv is not None:
            from .atomic import atomic_write_bytes
            lines = ["time_s,confidence,peak_db"] + [f"{i.time_s:.6f},{i.confidence:.4f},{i.peak_db:.2f}"
                                                     for i in impacts]
            text = "\n".join(lines) + "\n"
            out.print(f"wrote {atomic_write_bytes(csv, text.encode())}")

    _run(go)


@app.command("export")
def export_cmd(
    preset: Path = typer.Argument(..., help="Preset JSON file."),
    to: str = typer.Option(..., "--to", help="tdw (ThreeDWorld PyImpact) | habitat (habitat-sim audio) | "
                                             "faust (a .dsp for faust2lv2, faust2vst, ...)"),
    output: Path = typer.Option(..., "-o", "--output", help="Export folder to create."),
    force: bool = typer.Option(False, "--force", help="Replace the export folder if it exists."),
    sample_rate: Optional[int] = typer.Option(None, "--sample-rate",
                                              help="habitat: WAV sample rate in Hz (default 44100; e.g. 16000, 48000); "
                                                   "faust: rate of the reference WAV (default: the preset's)."),
    variations: Optional[int] = typer.Option(None, "--variations",
                                             help="habitat: WAVs per preset (strength x contact x seed grid; default 9)."),
    duration: Optional[float] = typer.Option(None, "--duration", help="habitat: WAV length in s (default: the preset's)."),
    room_volume: Optional[float] = typer.Option(None, "--room-volume",
                                                help="habitat: room volume in m^3 for Eyring absorption (default 60)."),
    room_area: Optional[float] = typer.Option(None, "--room-area",
                                              help="habitat: room surface in m^2 for Eyring absorption (default 94)."),
):
    """Export a preset for a simulator (ThreeDWorld or Habitat) or as a Faust plugin source into a new folder."""
    from .export import export as export_preset

    def go():
        r = export_preset(preset, to=to, output=output, force=force, sample_rate=sample_rate, variations=variations,
                          duration_s=duration, room_volume_m3=room_volume, room_area_m2=room_area)
        out.print(f"exported [bold]{r.record['preset']['name']}[/] for {to}: {len(r.files)} files in {r.path}")
        for w in r.warnings:
            err.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
        for n in r.notes:
            out.print(f"note: {n}", highlight=False, soft_wrap=True)
        rt = r.record.get("tdw", {}).get("round_trip")
        if rt:
            out.print(f"round trip with tdw's synthesiser: distance {rt['distance']:.2g} in PyImpact's conventions, "
                      f"{rt['distance_workbench']:.3f} from what the workbench plays (<= {rt['max_allowed']:g})")

    _run(go)


@app.command()
def variations(
    preset: Path = typer.Argument(..., help="Preset JSON file (a fitted preset)."),
    n: int = typer.Option(40, "-n", help="Files in the bank."),
    output: Path = typer.Option(..., "-o", "--output", help="Bank folder to create."),
    force: bool = typer.Option(False, "--force", help="Replace the bank folder if it exists."),
    velocity_range: tuple[float, float] = typer.Option((1.0, 1.0), "--velocity-range", metavar="LOW HIGH",
                                                       help="Strike velocity relative to the fitted strike."),
    size_range: tuple[float, float] = typer.Option((1.0, 1.0), "--size-range", metavar="LOW HIGH",
                                                   help="Object size relative to the fitted object."),
    layers: int = typer.Option(1, "--layers", help="Velocity layers (blend/switch container entries)."),
    max_distance: float = typer.Option(0.25, "--max-distance",
                                       help="Bound on each file's normalised spectral distance to the original."),
    seed: int = typer.Option(0, "--seed", help="Seed of the draws (same seed, same bank)."),
    recording: Optional[Path] = typer.Option(None, "--recording",
                                             help="The recording the preset was fitted to: mode gain spread "
                                                  "measured on its strikes (default: the library prior)."),
    channel: Optional[int] = typer.Option(None, "--channel", help="Channel of a multichannel recording."),
    sample_rate: Optional[int] = typer.Option(None, "--sample-rate", help="WAV sample rate (default: the preset's)."),
    duration: Optional[float] = typer.Option(None, "--duration", help="WAV length in s (default: the preset's)."),
):
    """Write a bank of strike variations learned from the recording, with a game-engine mapping."""
    from .banks import make_bank, write_bank
    from .presets import load_preset
    from .variations import learn_variation

    def go():
        check_output(output, "-o", folder=True)
        if output.exists() and not force:
            raise WorkbenchError(f"-o {output}: exists; use --force to replace it")
        p = load_preset(preset)
        audio, sr = (None, None)
        if recording is not None:
            from .audio import load_audio
            audio, sr = load_audio(recording, sample_rate=p.sample_rate, channel=channel)
        model = learn_variation(p, audio, sr)
        bank = make_bank(p, n, model=model, seed=seed, velocity_range=velocity_range, size_range=size_range,
                         layers=layers, max_distance=max_distance, sample_rate=sample_rate, duration_s=duration)
        write_bank(bank, output, force=force)
        s = bank.summary
        out.print(f"wrote {len(bank.rows)} variations of [bold]{p.name}[/] to {output} "
                  f"(model: {model.describe()})", highlight=False)
        out.print(f"distance to the original: median {s['median_distance']:.3f}, max {s['max_distance']:.3f} "
                  f"(bound {max_distance:g}); between files: median {s['median_between']:.3f}, "
                  f"smallest {s['min_between']:.4f}", highlight=False)

    _run(go)


@app.command("variation-prior")
def variation_prior(
    presets_dir: Path = typer.Argument(..., help="Preset library folder (presets with repeated strikes are used)."),
    recordings: Path = typer.Argument(..., help="Folder of the recordings the presets were fitted to."),
    output: Path = typer.Option(..., "-o", "--output", help="JSON file to write (the package's: "
                                                            "workbench/data/variation_prior.json)."),
):
    """Learn the library prior of strike variations from every multi-strike recording."""
    from .atomic import atomic_write_bytes
    from .export.common import json_bytes
    from .variations import prior_from_library

    def go():
        check_output(output, "-o", suffixes=(".json",))
        model = prior_from_library(presets_dir, recordings)
        atomic_write_bytes(output, json_bytes(model.to_dict(), name=str(output)))
        out.print(f"wrote {output}: {model.describe()}", highlight=False)

    _run(go)


@app.command()
def serve(
    files: Optional[list[Path]] = typer.Argument(None, help="Recordings to open (default: the fitted demo)."),
    port: int = typer.Option(5006, "--port", help="Port to listen on (0: any free port)."),
    address: str = typer.Option("127.0.0.1", "--address", help="Address to listen on (0.0.0.0: every interface)."),
    show: bool = typer.Option(True, "--show/--no-show", help="Open the workbench in a browser tab."),
    presets_dir: Optional[Path] = typer.Option(None, "--presets", envvar="WORKBENCH_PRESETS",
                                               help="Preset library folder (default: presets/)."),
    max_upload_mb: float = typer.Option(50.0, "--max-upload-mb", help="Largest accepted upload in MB."),
    allow_origin: Optional[list[str]] = typer.Option(None, "--allow-websocket-origin", metavar="HOST:PORT",
                                                     help="Extra host allowed to connect (repeatable)."),
):
    """Open the workbench in the browser: load, fit, listen, edit, save and export."""
    if not 0 <= port <= 65535:
        fail(f"--port: {port} is outside [0, 65535]")
    if not max_upload_mb > 0:
        fail(f"--max-upload-mb: {max_upload_mb} must be > 0")
    from .audio import AUDIO_SUFFIXES

    for f in files or []:
        if f.suffix.lower() not in AUDIO_SUFFIXES:
            fail(f"{f}: not an audio file (expected {', '.join(sorted(AUDIO_SUFFIXES))})")
    from .app.server import serve as serve_app

    _run(serve_app, [str(f) for f in files or []], port=port, address=address, show=show,
         presets_dir=presets_dir, max_upload_mb=max_upload_mb, allow_websocket_origin=allow_origin or ())


@app.command()
def library(
    source: Path = typer.Argument(..., help="Folder of recordings (recursively; MANIFEST.md read if present)."),
    output: Path = typer.Option(Path("presets"), "-o", "--output", help="Library folder."),
    steps: int = typer.Option(int(STEPS.default), "--steps", help=_spec_help(STEPS, " Per fit.")),
    modes: int = typer.Option(int(N_MODES.default), "--modes", help=_spec_help(N_MODES, " Per fit.")),
    no_separation: bool = typer.Option(False, "--no-separation", help="Skip the joint tool/object fit."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Local Dask worker processes (default: 2, or "
                                          "1 on a one-CPU machine); each clip's fit is one task."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="tcp://HOST:PORT",
                                            help="Fit on a running Dask cluster instead of local workers."),
):
    """Fit every recording in a folder into a preset library with a README table, on Dask.

    Resumable: finished fits are kept in OUT/.fits (keyed by each clip's bytes and the fit
    settings), so a build that is stopped and started again fits only what is missing.
    Every clip's status (fitted, cached, failed with the reason) is listed in OUT/library.jsonl.
    """
    from .library import build

    def go():
        check_output(output, "-o", folder=True)
        r = build(source, output, workers=workers, scheduler=scheduler, steps=steps, n_modes=modes,
                  separate=not no_separation, progress=True, log=lambda msg: err.print(msg, highlight=False))
        table = Table(title=f"library {output}")
        for col in ("fitted", "cached", "failed", "skipped", "presets", "workers", "fit s", "clips/min"):
            table.add_column(col, justify="right")
        c = r.counts
        table.add_row(str(c["fitted"]), str(c["cached"]), str(c["failed"]), str(c["skipped"]), str(len(r.entries)),
                      str(r.workers or "-"), f"{r.fit_wall_s:.1f}", f"{r.clips_per_minute:.1f}" if c["fitted"] else "-")
        out.print(table)
        for what, reason in r.failures:
            err.print(f"[yellow]failed:[/] {what}: {reason}", highlight=False, soft_wrap=True)
        out.print(f"wrote {len(r.entries)} presets, {r.index} and {r.manifest}")

    _run(go)


@app.command()
def materials(
    output: Path = typer.Option(Path("workbench/data/materials.json"), "-o", "--output",
                                help="Material table JSON to write."),
    presets_dir: Path = typer.Option(Path("presets"), "--presets", help="Preset library whose laws are pooled."),
    no_tdw: bool = typer.Option(False, "--no-tdw", help="Skip ThreeDWorld's material tables."),
):
    """Rebuild the physical edits' material table (E, density, damping laws per material)."""
    from .materials import build_material_table, write_material_table

    def go():
        check_output(output, "-o", suffixes=(".json",))
        table = build_material_table(presets_dir, use_tdw=not no_tdw)
        out.print(f"wrote {write_material_table(table, output)}: {len(table['materials'])} materials")

    _run(go)


from .cli_classify import classify  # noqa: E402 - kept apart: this file is at its length limit
app.command()(classify)
from .cli_map import sound_map  # noqa: E402 - kept apart, like classify
app.command("map")(sound_map)
from .cli_learned import train_encoder  # noqa: E402 - kept apart, like classify
app.command("train-encoder")(train_encoder)


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":
    sys.exit(main())
