"""Work budgets, declared once as data and checked before the work starts.

Every limit on how much work one request may cause lives here: the renderer, the
preset schema, the audio loader, the fitter, the dashboard's uploads and the caches
read these values, and nothing else hard-codes a size. Peak memory is then a
function of the budgets, not of the input; ``bench/limits.py`` measures the worst
allowed render, fit and upload against `MEMORY_BYTES`.

Each `Budget` raises `WorkbenchError` naming the argument (or file), the amount
asked for and the limit, so the CLI prints one line (exit 2) and the dashboard one
message, before any long work.

Example:
    >>> RENDER_SAMPLES.limit, f"{RENDER_SAMPLES.limit / 44100:.0f} s at 44.1 kHz"
    (4194304, '95 s at 44.1 kHz')
    >>> MODES_PER_BODY.check(2000, what="presets/x.json: object.modes")
    Traceback (most recent call last):
    ...
    workbench.errors.WorkbenchError: presets/x.json: object.modes: 2000 modes is over the budget of 1024 modes per body
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import WorkbenchError


@dataclass(frozen=True, kw_only=True)
class Budget:
    """One limit on the size of a piece of work.

    Attributes:
        name: Identifier (as used in tables and settings).
        limit: The largest amount allowed (inclusive).
        unit: What is counted, plural (``samples``, ``modes``, ``bytes``).
        per: What one limit applies to, for messages (``per render``, ``per body``).
        doc: One sentence: what is counted and why the limit is where it is.
    """

    name: str
    limit: int
    unit: str
    per: str
    doc: str

    def allows(self, amount: float) -> bool:
        """Whether ``amount`` is within the budget."""
        return amount <= self.limit

    def check(self, amount: float, *, what: str, hint: str = "") -> None:
        """Raise `WorkbenchError` when ``amount`` is over the budget.

        Args:
            amount: The amount the work would take, in ``unit``.
            what: The argument or file (and field) the amount comes from; starts the message.
            hint: What the user can do instead (appended after a semicolon).
        """
        if not self.allows(amount):
            tail = f"; {hint}" if hint else ""
            raise WorkbenchError(f"{what}: {_amount(amount, self.unit)} is over the budget of "
                                 f"{_amount(self.limit, self.unit)} {self.per}{tail}")


def _amount(value: float, unit: str) -> str:
    if unit == "bytes":
        return f"{value / 2**20:.1f} MB"
    return f"{int(value)} {unit}" if float(value).is_integer() else f"{value:g} {unit}"


#: Samples one render call makes (duration x sample rate x batch): 95 s at 44.1 kHz,
#: 44 s at 96 kHz. Rendering holds about 300 bytes per sample at its peak.
RENDER_SAMPLES = Budget(name="render_samples", limit=2**22, unit="samples", per="per render",
                        doc="Samples one render makes (duration x sample rate, summed over a batch).")
#: Modes of one modal body (the object, or the tool) in a preset or a fit.
MODES_PER_BODY = Budget(name="modes_per_body", limit=1024, unit="modes", per="per body",
                        doc="Modes of one resonating body; the fitter's largest n_modes.")
#: Impacts (contact pulses) in one preset.
IMPACTS = Budget(name="impacts", limit=512, unit="impacts", per="per preset",
                 doc="Contact pulses in one preset; the force is built pulse by pulse.")
#: Encoded size of one uploaded file (``workbench serve --max-upload-mb`` lowers or raises it).
UPLOAD_BYTES = Budget(name="upload_bytes", limit=50 * 2**20, unit="bytes", per="per upload",
                      doc="Size of one uploaded file as sent, checked on every chunk.")
#: Decoded size of one recording (frames x channels), checked from the header before decoding:
#: 128 MiB of float32, e.g. 6 min of stereo at 48 kHz.
DECODED_SAMPLES = Budget(name="decoded_samples", limit=2**25, unit="samples", per="per recording",
                         doc="Samples of one decoded recording, all channels (frames x channels).")
#: Decoded samples of every recording one dashboard session holds at once (4 at the
#: `DECODED_SAMPLES` budget: 512 MiB of float32).
SESSION_SAMPLES = Budget(name="session_samples", limit=4 * DECODED_SAMPLES.limit, unit="samples",
                         per="per session", doc="Decoded samples of all the recordings one session holds.")
#: Files one dashboard session may have half-uploaded at once (the browser sends two at a time).
UPLOADS_IN_FLIGHT = Budget(name="uploads_in_flight", limit=4, unit="files", per="per session",
                           doc="Files half-received at once by one session's drop zone.")
#: Length of the recording one fit takes (at the fit's sample rate): the resynthesis is
#: rendered at full length, so it is the render budget.
FIT_SAMPLES = Budget(name="fit_samples", limit=RENDER_SAMPLES.limit, unit="samples", per="per fit",
                     doc="Samples of the recording one fit takes (its resynthesis is one render).")
#: Bytes of rendered parts and sounds one `workbench.rendering.PartCache` (one dashboard
#: session) keeps for fast slider edits.
RENDER_CACHE_BYTES = Budget(name="render_cache_bytes", limit=96 * 2**20, unit="bytes", per="per session",
                            doc="Rendered parts and sounds kept by one session for incremental edits.")
#: Bytes of derived data (mono mixes, detections, spectrograms, rendered parts) all
#: sessions of one server may cache; a closed session's entries are freed at once.
SERVER_CACHE_BYTES = Budget(name="server_cache_bytes", limit=512 * 2**20, unit="bytes", per="per server",
                            doc="Derived data cached by the dashboard server, over all sessions.")
#: Bytes of signal-processing tables (band weights, white-noise spectra, FFT twiddles) kept
#: between calls in one process; each family of tables is bounded by this.
TABLE_CACHE_BYTES = Budget(name="table_cache_bytes", limit=32 * 2**20, unit="bytes", per="per table cache",
                           doc="Precomputed DSP tables kept between calls, per kind of table.")
#: The peak resident memory the worst allowed render, fit or upload may reach (measured
#: in ``bench/limits.py``, not enforced at run time).
MEMORY_BYTES = Budget(name="memory_bytes", limit=2 * 2**30, unit="bytes", per="per process",
                      doc="Peak resident memory of the worst allowed render, fit or upload.")

#: Size of one preset JSON file on disk, checked before it is read: far above any real
#: preset (1024 modes per body are about 100 kB), low enough to parse in about a second.
PRESET_BYTES = Budget(name="preset_bytes", limit=64 * 2**20, unit="bytes", per="per preset file",
                      doc="Size of one preset JSON file, checked before it is read and parsed.")
#: Bands of one noise or reverb spectrum in a preset (the workbench writes 16 and 9).
BANDS = Budget(name="bands", limit=256, unit="bands", per="per spectrum",
               doc="Bands of a preset's noise or reverb spectrum; each band is interpolated per render.")
#: Files of one variation bank (``workbench variations -n``): each is a render and a distance check.
BANK_FILES = Budget(name="bank_files", limit=1000, unit="files", per="per variation bank",
                    doc="Variations in one bank; each is rendered and checked against the original.")
#: Presets on one sound map (`workbench.soundmap`): each is rendered once and its 1 s audition
#: embedded in the page (about 43 kB of base64 each: 500 make a page of about 22 MB).
MAP_POINTS = Budget(name="map_points", limit=500, unit="presets", per="per sound map",
                    doc="Presets laid out on one sound map; each embeds a rendered 1 s audition.")

#: Every budget by name (for tables, docs and the benchmark).
BUDGETS: dict[str, Budget] = {b.name: b for b in (
    RENDER_SAMPLES, MODES_PER_BODY, IMPACTS, UPLOAD_BYTES, DECODED_SAMPLES, SESSION_SAMPLES, UPLOADS_IN_FLIGHT,
    FIT_SAMPLES,
    RENDER_CACHE_BYTES, SERVER_CACHE_BYTES, TABLE_CACHE_BYTES, MEMORY_BYTES,
    PRESET_BYTES, BANDS, BANK_FILES, MAP_POINTS)}
