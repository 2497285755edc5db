"""Build a Faust export offline and check it against our render (the round trip).

`compile_offline` turns a ``.dsp`` into a small command-line renderer with the installed
``faust`` compiler and ``g++``, through `ARCHITECTURE`, a minimal C++ architecture file:
a ``UI`` that records every widget's zone by its label, so that the renderer can set
``velocity`` (or any parameter) and hold ``gate`` down from sample 0, then writes the
rendered samples as raw little-endian float64 (``--meta`` prints the ``declare``
metadata instead). `render_offline` runs it; `round_trip` exports a preset, compiles,
renders and compares with `workbench.export.faust.reference_render` in
`workbench.losses.spectral_distance` (0 identical, 1 = white noise of the same RMS).

Example (needs ``faust`` and ``g++``; ``make system-deps`` installs them)::

    from workbench.export.faust_verify import round_trip
    r = round_trip("presets/demo.json", build_dir="build/faust")
    print(r["distance"], r["max_error"])
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import WorkbenchError
from ..losses import spectral_distance
from ..names import slugify
from .common import as_preset
from .faust import dsp_source, reference_render

#: The round trip's gate on the modal part.
ROUND_TRIP_GATE = 0.05

#: The offline renderer: ``prog OUT.f64 SAMPLE_RATE N_SAMPLES [label=value ...]`` or ``prog --meta``.
ARCHITECTURE = r"""
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>
#include "faust/gui/UI.h"
#include "faust/gui/meta.h"
#include "faust/dsp/dsp.h"

<<includeIntrinsic>>
<<includeclass>>

struct ZoneUI : public UI {            // every widget's zone by label
    std::map<std::string, FAUSTFLOAT*> zones;
    void openTabBox(const char*) {} void openHorizontalBox(const char*) {} void openVerticalBox(const char*) {}
    void closeBox() {} void declare(FAUSTFLOAT*, const char*, const char*) {}
    void addButton(const char* l, FAUSTFLOAT* z) { zones[l] = z; }
    void addCheckButton(const char* l, FAUSTFLOAT* z) { zones[l] = z; }
    void addVerticalSlider(const char* l, FAUSTFLOAT* z, FAUSTFLOAT, FAUSTFLOAT, FAUSTFLOAT, FAUSTFLOAT) { zones[l] = z; }
    void addHorizontalSlider(const char* l, FAUSTFLOAT* z, FAUSTFLOAT, FAUSTFLOAT, FAUSTFLOAT, FAUSTFLOAT) { zones[l] = z; }
    void addNumEntry(const char* l, FAUSTFLOAT* z, FAUSTFLOAT, FAUSTFLOAT, FAUSTFLOAT, FAUSTFLOAT) { zones[l] = z; }
    void addHorizontalBargraph(const char*, FAUSTFLOAT*, FAUSTFLOAT, FAUSTFLOAT) {}
    void addVerticalBargraph(const char*, FAUSTFLOAT*, FAUSTFLOAT, FAUSTFLOAT) {}
    void addSoundfile(const char*, const char*, Soundfile**) {}
};

struct PrintMeta : public Meta {
    void declare(const char* key, const char* value) { std::printf("%s\t%s\n", key, value); }
};

int main(int argc, char* argv[]) {
    mydsp dsp;
    if (argc == 2 && std::strcmp(argv[1], "--meta") == 0) { PrintMeta m; dsp.metadata(&m); return 0; }
    if (argc < 4) { std::fprintf(stderr, "usage: %s OUT SAMPLE_RATE N_SAMPLES [label=value ...]\n", argv[0]); return 2; }
    long n = std::atol(argv[3]);
    dsp.init(std::atoi(argv[2]));
    ZoneUI ui;
    dsp.buildUserInterface(&ui);
    if (dsp.getNumOutputs() != 1 || dsp.getNumInputs() != 0) { std::fprintf(stderr, "expected 0 in, 1 out\n"); return 2; }
    if (ui.zones.count("gate")) *ui.zones["gate"] = 1;      // pressed from sample 0
    for (int i = 4; i < argc; i++) {
        const char* eq = std::strchr(argv[i], '=');
        std::string label = eq ? std::string(argv[i], eq - argv[i]) : std::string(argv[i]);
        if (!eq || !ui.zones.count(label)) { std::fprintf(stderr, "no parameter '%s'\n", label.c_str()); return 2; }
        *ui.zones[label] = (FAUSTFLOAT)std::atof(eq + 1);
    }
    FILE* out = std::fopen(argv[1], "wb");
    if (!out) { std::perror(argv[1]); return 1; }
    const int block = 512;
    std::vector<FAUSTFLOAT> buffer(block);
    std::vector<double> samples(block);
    FAUSTFLOAT* outputs[1] = {buffer.data()};
    for (long done = 0; done < n; done += block) {
        int count = (int)((n - done) < block ? (n - done) : block);
        dsp.compute(count, nullptr, outputs);
        for (int k = 0; k < count; k++) samples[k] = (double)buffer[k];
        std::fwrite(samples.data(), sizeof(double), count, out);
    }
    return std::fclose(out) == 0 ? 0 : 1;
}
"""


def find_tools() -> tuple[str, str]:
    """Paths of ``faust`` and ``g++``.

    Raises:
        WorkbenchError: either is missing (the message says to run ``make system-deps``).
    """
    faust, cxx = shutil.which("faust"), shutil.which(os.environ.get("CXX", "g++"))
    if faust is None or cxx is None:
        missing = " and ".join(n for n, p in (("faust", faust), ("g++", cxx)) if p is None)
        raise WorkbenchError(f"faust: {missing} not found; run `make system-deps` (Debian packages faust, g++) "
                             "to build Faust exports")
    return faust, cxx


def _run(cmd: list[str], what: str, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise WorkbenchError(f"{what}: failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-2000:]}")
    return proc


def compile_offline(dsp_path: str | os.PathLike, build_dir: str | os.PathLike, *, double: bool = True) -> Path:
    """Compile ``dsp_path`` into an offline renderer in ``build_dir``; returns its path.

    Args:
        double: ``faust -double`` (64-bit samples and state) or the ``faust2*`` default (32-bit).

    Raises:
        WorkbenchError: no ``faust``/``g++``, or either fails (with its message).
    """
    faust, cxx = find_tools()
    dsp_path, build = Path(dsp_path), Path(build_dir)
    build.mkdir(parents=True, exist_ok=True)
    tag = f"{dsp_path.stem}_{'f64' if double else 'f32'}"
    arch = build / "offline_arch.cpp"
    arch.write_text(ARCHITECTURE, encoding="utf-8")
    cpp, binary = build / f"{tag}.cpp", build / tag
    _run([faust, *(["-double"] if double else []), "-a", str(arch), str(dsp_path), "-o", str(cpp)],
         f"faust {dsp_path.name}")
    flags = ["-DFAUSTFLOAT=double"] if double else []
    _run([cxx, "-O1", "-std=c++11", *flags, str(cpp), "-o", str(binary)], f"g++ {cpp.name}")
    return binary


def render_offline(binary: str | os.PathLike, *, sample_rate: int, n_samples: int,
                   params: dict[str, float] | None = None) -> np.ndarray:
    """(n_samples,) float64: the compiled dsp at ``sample_rate`` with ``gate`` pressed at sample 0.

    Args:
        params: Other widgets by label (``velocity``, ``gain``, ``noise`` ...).
    """
    with tempfile.TemporaryDirectory(prefix="workbench-faust-") as tmp:
        out = Path(tmp) / "out.f64"
        args = [f"{k}={float(v)!r}" for k, v in (params or {}).items()]
        _run([str(binary), str(out), str(int(sample_rate)), str(int(n_samples)), *args], f"render {Path(binary).name}")
        return np.fromfile(out, dtype="<f8")


def metadata(binary: str | os.PathLike) -> dict[str, str]:
    """The ``declare`` metadata compiled into ``binary`` (name, author, version, ...)."""
    proc = _run([str(binary), "--meta"], f"metadata of {Path(binary).name}")
    return dict(line.split("\t", 1) for line in proc.stdout.splitlines() if "\t" in line)


#: `compare`'s ``tail_error`` is measured only where our tail is above this level re our peak (-100 dB).
TAIL_FLOOR = 1e-5


def compare(ours: np.ndarray, faust: np.ndarray) -> dict[str, float]:
    """How close ``faust`` is to ``ours`` (same length).

    Returns:
        ``distance`` (`spectral_distance`), ``max_error`` (max abs difference / our peak) and
        ``tail_error`` (RMS difference over the last tenth / our RMS there: the drift of a long
        decay; NaN when our tail is below `TAIL_FLOOR` of our peak, where it means nothing).
    """
    peak = float(np.max(np.abs(ours)))
    tail = slice(-max(1, ours.size // 10), None)
    level = float(np.sqrt(np.mean(ours[tail] ** 2)))
    drift = float(np.sqrt(np.mean((faust[tail] - ours[tail]) ** 2)) / level) if level > TAIL_FLOOR * peak \
        else float("nan")
    return {"distance": spectral_distance(faust, ours),
            "max_error": float(np.max(np.abs(faust - ours)) / peak) if peak > 0 else float("inf"),
            "tail_error": drift}


def round_trip(preset, *, build_dir: str | os.PathLike | None = None, double: bool = True, velocity: float = 1.0,
               sample_rate: int | None = None, binary: str | os.PathLike | None = None) -> dict[str, Any]:
    """Export ``preset`` as a dsp, compile it (unless ``binary`` is given), render it and compare.

    Args:
        preset: A `Preset` or a preset path.
        build_dir: Where the dsp and the renderer are built (needed without ``binary``).
        double: Compile with ``-double`` (see `compile_offline`).
        velocity: The ``velocity`` parameter, and the strike our render plays.
        sample_rate: The host rate (default: the preset's).
        binary: An offline renderer of this preset already compiled.

    Raises:
        WorkbenchError: no ``build_dir`` nor ``binary``, a bad velocity, or a tool failing.

    Returns:
        ``distance``, ``max_error``, ``tail_error`` (see `compare`), ``ok`` (distance <= `ROUND_TRIP_GATE`),
        ``binary``, ``compile_s``, ``render_s`` and the two signals (``faust``, ``ours``).
    """
    preset, _ = as_preset(preset)
    sr = int(sample_rate or preset.sample_rate)
    compile_s = 0.0
    if binary is None:
        if build_dir is None:
            raise WorkbenchError("build_dir: give a folder to compile the dsp in (or a compiled binary)")
        build = Path(build_dir)
        build.mkdir(parents=True, exist_ok=True)
        dsp = build / f"{slugify(preset.name, default='preset')}.dsp"
        dsp.write_text(dsp_source(preset), encoding="utf-8")
        t0 = time.perf_counter()
        binary = compile_offline(dsp, build, double=double)
        compile_s = time.perf_counter() - t0
    ours = reference_render(preset, velocity=velocity, sample_rate=sr)
    t0 = time.perf_counter()
    faust = render_offline(binary, sample_rate=sr, n_samples=ours.size, params={"velocity": velocity})
    render_s = time.perf_counter() - t0
    result = compare(ours, faust)
    return {**result, "ok": result["distance"] <= ROUND_TRIP_GATE, "binary": str(binary), "compile_s": compile_s,
            "render_s": render_s, "faust": faust, "ours": ours}
