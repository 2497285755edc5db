"""The `workbench` command line: render, info (and fit, detect, export, serve)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from .errors import WorkbenchError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Impact Workbench: fit, edit and export physically meaningful impact sounds.")
out = Console()
err = Console(stderr=True)

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff"}


def fail(message: str, code: int = 2) -> None:
    """Print one clear line to stderr and exit non-zero (no traceback)."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


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
    part: str = typer.Option("all", "--part", help="all | object | tool | dry | clean"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda | mps | auto"),
    subtype: str = typer.Option("PCM_16", "--subtype", help="PCM_16 | PCM_24 | FLOAT (WAV)"),
    spectrogram: Optional[Path] = typer.Option(None, "--spectrogram", help="Also save a spectrogram PNG here."),
):
    """Render a preset to an audio file."""
    from . import audio, presets
    from .render import render as render_preset

    def go():
        p = presets.load_preset(preset)
        y = render_preset(p, duration_s=duration, sample_rate=sample_rate, device=device, parts=part)
        sr = sample_rate or p.sample_rate
        peak = float(abs(y).max()) if y.size else 0.0
        if peak > 1.0 and subtype != "FLOAT":
            err.print(f"[yellow]warning:[/] peak {peak:.2f} exceeds full scale; {subtype} output will clip "
                      "(use --subtype FLOAT or lower the impact magnitude)")
        written = [audio.save_audio(output, y, sr, subtype=subtype)]
        if spectrogram is not None:
            from .plots import spectrogram_figure
            from .presets import atomic_write_bytes
            import io
            fig = spectrogram_figure(y, sr, title=f"{p.name} ({part})")
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=110)
            written.append(atomic_write_bytes(spectrogram, buf.getvalue()))
        out.print(f"rendered [bold]{p.name}[/]: {len(y) / sr:.2f} s at {sr} Hz, part={part}, peak "
                  f"{20 * __import__('math').log10(max(peak, 1e-12)):.1f} dBFS")
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
                      f"duration={p.duration_s:g} s  impacts={len(p.impacts)}  reverb={'on' if p.reverb.enabled else 'off'}")
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


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":
    sys.exit(main())
