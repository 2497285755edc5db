"""Fitter benchmark: are a fit's parameters the object's? (issue 10)

    python bench/fit.py [--synthetic 30] [--steps 250] [--baseline-synthetic 10] [--tdw 14]
                        [--compare REV] [--only synthetic,real,force,ring,tdw,levels] [--files SUBSTR,...]

a. synthetic: random presets (5-60 modes, 1-4 impacts, noise at 20-40 dB SNR, a third
   with reverb) rendered, then fitted. Modes scored: the ten most energetic true modes
   (those within 40 dB of the strongest: a mode 90 dB under it is not heard),
   energy = 10**(gain_db/10) * t60_s * A(f)**2 with A(f) = exp(-(pi tau f)**2 / 6) the
   contact pulse's spectrum (tau of the first impact), each matched to the nearest fitted
   mode (relative frequency). A mode is *resolvable* when, for every other true mode j,
   |f_i - f_j| > (B_i + B_j) / 2 with B = 6.908 / (pi * t60_s) its half-power bandwidth.
   Frequency and T60 errors (|fit / true - 1|) are medians over all scored modes of all
   presets, resolvable and unresolvable apart; also the number of resolvable scored modes
   off by more than 2 % in frequency, impact time error, normalised distance, wall time.
b. real: every recording in ../shared/data/real_impacts (.wav .flac .ogg .mp3):
   distance, wall time, steps (hammer files: channel 0, the microphone).
c. force: hammer files, fitted force profile vs the force sensor (channel 1).
d. detection: precision/recall of strike times against the force sensor (+-10 ms).
e. ring: every single-strike clip of b (no ``_multi``, no ``hammer_``), the fit of b.
   Onset = first detected impact; peaks = `workbench.analysis.rings.ringing_peaks` (the
   five strongest decaying peaks above 250 Hz in the 0.5 s after the onset, >= 15 dB above
   the file's quietest 0.3 s); recovered = a fitted object or tool mode within 1 %
   (`ring_recovery`). A clip "starts at the strike" when its onset is < 0.05 s.
f. tdw: sounds made by ThreeDWorld's PyImpact code from its material tables
   (`fit_cases.tdw_case`: tdw's own mode draw and synthesis, T60 = decay_times * resonance),
   40 dB SNR. Audible modes: energy 10**(p/10) * T60 * |H(f)|**2 (H = PyImpact's half-sine
   contact) within 40 dB of the strongest; found = a fitted mode within 1 %; T60 error of
   the nearest fitted mode, median over the found audible modes.
g. levels: peak (dBFS) of every real fit's default render (`workbench.render`), the TDW
   export's ``amp`` (PyImpact's output peak re full scale, clipped to 1 by the exporter)
   and the Habitat export's first WAV.
h. --compare REV: the fits of b with REV's library (a child process; REV's workbench/
   extracted to /tmp by git archive), side by side: distance, wall time, ring recovery
   (peaks from this tree's yardstick). "-" where REV cannot do it.

Each synthetic (first --baseline-synthetic) and real case of a-d also runs a plain
DiffImpact-style fit (random modes, Adam lr 1e-3, no physics prior, same step budget).
Writes bench/results/fit.md (only the sections run). Reads recordings from ../shared.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import fit_cases as fc  # noqa: E402
from fit_cases import dbfs, marks, med, mode_errors, mode_freqs, pct, ratio, time_error  # noqa: E402
import workbench as wb  # noqa: E402
from workbench.analysis.detect import MATCH_TOLERANCE_S, detect_impacts, force_sensor_strikes, match_times  # noqa: E402
from workbench.analysis.rings import ring_recovery, ringing_peaks  # noqa: E402
from workbench.fitting import fit  # noqa: E402
from workbench.presets import Preset, default_noise, default_reverb  # noqa: E402
from workbench.rendering import force_profile  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "real_impacts"
RESULTS = REPO / "bench" / "results" / "fit.md"
SR = 44100
SECTIONS = ("synthetic", "real", "force", "ring", "tdw", "levels")
BASELINE = {"init": "random", "lr": 1e-3, "patience": None}
STRIKE_START_S = 0.05
LEVEL_LIMIT_DBFS = -1.0


def random_preset(rng: np.random.Generator, index: int) -> Preset:
    k = int(rng.integers(5, 61))
    n_imp = int(rng.integers(1, 5))
    times = np.sort(0.05 + 0.25 * np.arange(n_imp) + rng.uniform(0, 0.08, n_imp))
    freqs = np.exp(rng.uniform(np.log(100), np.log(12000), k))
    modes = [{"freq_hz": float(f), "t60_s": float(np.exp(rng.uniform(np.log(0.05), np.log(1.5)))),
              "gain_db": float(-6 - 30 * rng.uniform())} for f in freqs]
    reverb = default_reverb(enabled=bool(index % 3 == 0))
    if reverb.enabled:
        reverb = reverb.model_copy(update={"bands": tuple(b.model_copy(update={"gain_db": -25.0, "t60_s": 0.3})
                                                          for b in reverb.bands)})
    clean = Preset(name=f"synthetic{index:02d}", sample_rate=SR, duration_s=1.5, object={"modes": modes},
                   impacts=[{"time_s": float(t), "contact_s": float(np.exp(rng.uniform(np.log(5e-5), np.log(1e-3)))),
                             "magnitude": float(rng.uniform(0.3, 1.0))} for t in times],
                   acceleration=1e-7, noise=default_noise(-160.0), reverb=reverb)
    rms = float(np.sqrt(np.mean(wb.render(clean, parts="clean") ** 2)))
    snr = float(rng.uniform(20, 40))
    return clean.replace(noise=default_noise(float(np.clip(20 * np.log10(rms) - snr, -160, 0))),
                         provenance={"snr_db": snr})


def synthetic(n: int, steps: int, n_baseline: int):
    rng = np.random.default_rng(2026)
    rows = []
    for i in range(n):
        truth = random_preset(rng, i)
        audio = wb.render(truth)
        entry = {"name": truth.name, "k": len(truth.object.modes), "impacts": len(truth.impacts),
                 "reverb": truth.reverb.enabled, "snr": truth.provenance["snr_db"]}
        for label, kwargs in (("ours", {}), ("baseline", BASELINE)):
            if label == "baseline" and i >= n_baseline:
                continue
            t0 = time.perf_counter()
            r = fit((audio, SR), n_modes=48, steps=steps, **kwargs)
            wall = time.perf_counter() - t0
            modes = mode_errors(truth, r.preset)
            entry[label] = {"modes": modes, "freq": med([m[0] for m in modes if m[2]]),
                            "t60": med([m[1] for m in modes if m[2]]), "time": time_error(truth, r.preset),
                            "dist": r.distance, "wall": wall, "steps": r.steps_run,
                            "off": sum(m[2] and m[0] > 0.02 for m in modes)}
        rows.append(entry)
        o = entry["ours"]
        print(f"{truth.name}: K={entry['k']} imp={entry['impacts']} resolvable freq {pct(o['freq'], 2)} "
              f"t60 {pct(o['t60'])} off>2% {o['off']} time {o['time'] * 1e3:.2f} ms dist {o['dist']:.3f} "
              f"wall {o['wall']:.1f} s", flush=True)
    return rows


def real(files: list[Path], steps: int, baseline: bool):
    rows = []
    for path in files:
        channel = 0 if fc.is_hammer(path) else None
        entry = {"file": str(path.relative_to(SHARED)), "path": path}
        for label, kwargs in (("ours", {}), ("baseline", BASELINE)):
            if label == "baseline" and not baseline:
                continue
            t0 = time.perf_counter()
            try:
                r = fit(path, channel=channel, steps=steps, **kwargs)
                entry[label] = {"dist": r.distance, "wall": time.perf_counter() - t0, "steps": r.steps_run,
                                "impacts": len(r.preset.impacts), "result": r}
                if label == "ours":
                    entry[label]["floor"] = fc.noise_floor_distance(r)
            except wb.WorkbenchError as err:
                entry[label] = {"error": str(err)}
        rows.append(entry)
        o = entry["ours"]
        print(f"{entry['file']}: " + (f"dist {o['dist']:.3f} wall {o['wall']:.1f} s steps {o['steps']}"
                                      if "dist" in o else o["error"]), flush=True)
    return rows
def force_and_detection(real_rows):
    rows = []
    for entry in real_rows:
        if not Path(entry["file"]).name.startswith("hammer_") or "result" not in entry["ours"]:
            continue
        path = SHARED / entry["file"]
        stereo, sr = wb.load_audio(path, channel=1)
        mic, _ = wb.load_audio(path, channel=0)
        truth = force_sensor_strikes(stereo, sr)
        # detection (+-10 ms)
        found = np.array([i.time_s for i in detect_impacts(mic, sr)])
        precision, recall, _ = match_times(found, truth, tolerance_s=MATCH_TOLERANCE_S)
        # fitted force profile vs sensor, per strike, after alignment
        result = entry["ours"]["result"]
        preset = result.preset
        force = force_profile(preset, duration_s=len(mic) / sr, sample_rate=sr, dtype=torch.float64)
        fitted_times = np.array([i.time_s for i in preset.impacts])
        corrs, t_errs = [], []
        half = int(0.003 * sr)
        sensor = stereo * np.sign(stereo[np.argmax(np.abs(stereo))])
        for t in truth:
            j = int(np.argmin(np.abs(fitted_times - t)))
            if abs(fitted_times[j] - t) > 0.010:
                continue
            t_errs.append(abs(fitted_times[j] - t))
            c = int(t * sr)
            a = sensor[max(c - half, 0):c + 2 * half]
            best = -1.0
            for shift in range(-half, half + 1):   # align the strike: best lag within +-3 ms
                lo = c + shift
                b = force[max(lo - half, 0):lo + 2 * half]
                if len(b) == len(a) and np.std(b) > 0:
                    best = max(best, float(np.corrcoef(a, b)[0, 1]))
            corrs.append(best)
        rows.append({"file": entry["file"], "strikes": len(truth), "found": len(found), "precision": precision,
                     "recall": recall, "corr": med(corrs), "time_err": med(t_errs), "matched": len(corrs)})
    return rows


def rings(real_rows):
    """Section e: ringing peaks of every single-strike clip and which the fits of b recover."""
    rows = []
    for entry in real_rows:
        if not fc.is_single_strike(entry["path"]):
            continue
        audio, sr = wb.load_audio(entry["path"])
        impacts = detect_impacts(audio, sr)
        onset = impacts[0].time_s if impacts else 0.0
        peaks = ringing_peaks(audio, sr, onset_s=onset)
        row = {"file": entry["file"], "onset": onset, "peaks": peaks}
        for who in ("ours", "baseline"):
            if "result" in entry.get(who, {}):
                row[who] = ring_recovery(peaks, mode_freqs(entry[who]["result"].preset))
        rows.append(row)
        print(f"{entry['file']}: onset {onset:.3f} s, peaks {np.round(peaks).astype(int).tolist()}, "
              f"recovered {row['ours'].tolist() if 'ours' in row else '-'}", flush=True)
    return rows


def tdw(n: int, steps: int):
    """Section f: ThreeDWorld material renders, audible modes found within 1 % and their T60 error."""
    rows = []
    for i in range(n):
        case = fc.tdw_case(i)
        t0 = time.perf_counter()
        r = fit((case["audio"], case["sr"]), steps=steps)
        wall = time.perf_counter() - t0
        fitted = list(r.preset.object.modes) + list(r.preset.tool.modes if r.preset.tool else ())
        f_fit = np.array([m.freq_hz for m in fitted])
        t_fit = np.array([m.t60_s for m in fitted])
        e = case["energy"]
        audible = [k for k in np.argsort(case["freqs"]) if e[k] >= e.max() * 1e-4]
        found, t_err = [], []
        for k in audible:
            j = int(np.argmin(np.abs(f_fit / case["freqs"][k] - 1)))
            found.append(abs(f_fit[j] / case["freqs"][k] - 1) <= 0.01)
            if found[-1]:
                t_err.append(abs(t_fit[j] / case["t60"][k] - 1))
        rows.append({"name": case["name"], "audible": len(audible), "found": int(sum(found)), "t60": t_err,
                     "dist": r.distance, "wall": wall,
                     "modes": ", ".join(f"{case['freqs'][k]:.0f}{'✓' if ok else '✗'}" for k, ok in zip(audible, found))})
        x = rows[-1]
        print(f"tdw {x['name']}: audible {x['audible']} found {x['found']} T60 err {pct(med(t_err))} "
              f"dist {x['dist']:.3f} wall {wall:.1f} s ({x['modes']})", flush=True)
    return rows


def levels(real_rows):
    """Section g: peak of the default render and of the TDW / Habitat exports of every real fit."""
    from workbench.export.habitat import write_habitat
    from workbench.export.tdw import build_bodies

    rows = []
    for entry in real_rows:
        if "result" not in entry["ours"]:
            continue
        preset = entry["ours"]["result"].preset
        row = {"file": entry["file"], "render": dbfs(float(np.max(np.abs(wb.render(preset, device="cpu")))))}
        try:
            bodies, _, notes = build_bodies(preset)
            row["tdw"] = dbfs(max(b.amp for b in bodies))
            row["tdw_clipped"] = any("above full scale" in note for note in notes)
        except Exception as err:   # noqa: BLE001 - a failing export is reported, not fatal
            row["tdw_error"] = f"{type(err).__name__}: {err}"
        try:
            with tempfile.TemporaryDirectory() as tmp:
                write_habitat(preset, Path(tmp), variations=1)
                row["habitat"] = json.loads((Path(tmp) / "manifest.json").read_text())["files"][0]["peak_dbfs"]
        except Exception as err:   # noqa: BLE001
            row["habitat_error"] = f"{type(err).__name__}: {err}"
        rows.append(row)
        print(f"levels {row['file']}: render {row['render']:+.1f} dBFS, tdw {row.get('tdw', float('nan')):+.1f}, "
              f"habitat {row.get('habitat', float('nan')):+.1f}", flush=True)
    return rows


def compare(rev: str, real_rows, ring_rows, steps: int):
    """Section h: the fits of b with ``rev``'s library; ring recovery with this tree's peaks."""
    sha, fits = fc.run_revision(rev, [e["path"] for e in real_rows], steps)
    peaks = {r["file"]: r["peaks"] for r in ring_rows}
    rows = []
    for e in real_rows:
        other = fits.get(str(e["path"]), {"error": "not run"})
        row = {"file": e["file"], "here": e["ours"], "other": other}
        if e["file"] in peaks:
            for who, fitted in (("here", mode_freqs(e["ours"]["result"].preset) if "result" in e["ours"] else None),
                                ("other", np.array(other["freqs"]) if "freqs" in other else None)):
                row[f"ring_{who}"] = None if fitted is None else ring_recovery(peaks[e["file"]], fitted)
        rows.append(row)
    return sha, rows


def report_synthetic(syn) -> list[str]:
    lines = ["## a. Synthetic ground truth", "",
             "Scored modes: the ten most energetic true modes of each preset (10**(gain_db/10) * t60_s * A(f)², "
             "A = the contact pulse's spectrum) that are audible (within 40 dB of the strongest), each against "
             "the nearest fitted mode. Resolvable: |f_i - f_j| > "
             "(B_i + B_j)/2 for every other true mode j, B = 6.908/(pi * t60_s) the half-power bandwidth. Errors: "
             "medians over the scored modes of all presets.", "",
             "| fit | presets | freq error (resolvable) | T60 error (resolvable) | freq error (unresolvable) | "
             "T60 error (unresolvable) | resolvable / scored | resolvable off > 2 % | impact time error | "
             "normalised distance | wall time | steps |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for who in ("ours", "baseline"):
        rows = [r[who] for r in syn if who in r]
        if not rows:
            continue
        modes = [m for r in rows for m in r["modes"]]
        res, unres = [m for m in modes if m[2]], [m for m in modes if not m[2]]
        o = lambda key, rows=rows: med([r[key] for r in rows])  # noqa: E731
        lines.append(f"| {who} | {len(rows)} | {pct(med([m[0] for m in res]), 2)} | {pct(med([m[1] for m in res]))} | "
                     f"{pct(med([m[0] for m in unres]), 2)} | {pct(med([m[1] for m in unres]))} | "
                     f"{len(res)}/{len(modes)} | {sum(r['off'] for r in rows)} | {o('time') * 1e3:.2f} ms | "
                     f"{o('dist'):.3f} | {o('wall'):.1f} s | {o('steps'):.0f} |")
    lines += ["", "Targets (resolvable modes): frequency error <= 0.5 %, T60 error <= 15 %, none off by > 2 %; "
              "impact time error <= 1 ms, distance <= 0.10.", "",
              "<details><summary>every synthetic preset (ours; errors: medians over its resolvable scored modes)"
              "</summary>", "",
              "| preset | K | impacts | reverb | SNR dB | resolvable | freq err | T60 err | off > 2 % | time err ms | "
              "distance | wall s |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in syn:
        x = r["ours"]
        lines.append(f"| {r['name']} | {r['k']} | {r['impacts']} | {'yes' if r['reverb'] else 'no'} | {r['snr']:.0f} | "
                     f"{sum(m[2] for m in x['modes'])}/{len(x['modes'])} | {pct(x['freq'], 2)} | {pct(x['t60'])} | "
                     f"{x['off']} | {x['time'] * 1e3:.2f} | {x['dist']:.3f} | {x['wall']:.1f} |")
    return lines + ["", "</details>", ""]


def report_real(rea) -> list[str]:
    lines = ["## b. Real recordings", "",
             "Floor: the distance between two renders of the fitted preset that differ only in the seeds of its "
             "noise, room and residual (a recording is one more draw of that noise): no parametric fit gets much "
             "below it.", "",
             "| file | distance (ours) | floor | wall s | steps | distance (baseline) | baseline wall s |",
             "|---|---|---|---|---|---|---|"]
    for r in rea:
        a, b = r["ours"], r.get("baseline", {"error": "-"})
        fa = (f"{a['dist']:.3f} | {a['floor']:.3f} | {a['wall']:.1f} | {a['steps']}" if "dist" in a
              else f"error: {a['error']} | | | ")
        fb = f"{b['dist']:.3f} | {b['wall']:.1f}" if "dist" in b else f"{b['error']} |"
        lines.append(f"| {r['file']} | {fa} | {fb} |")
    singles = [r for r in rea if "dist" in r["ours"] and fc.is_single_strike(r["path"])]
    d = [r["ours"]["dist"] for r in singles]
    return lines + ["", f"Single-strike files ({len(singles)}): median distance {med(d):.3f} (floor "
                    f"{med([r['ours']['floor'] for r in singles]):.3f}), largest "
                    f"{max(d, default=float('nan')):.3f} (baseline median "
                    f"{med([r.get('baseline', {}).get('dist') for r in singles]):.3f}), median wall time "
                    f"{med([r['ours']['wall'] for r in singles]):.1f} s. Targets: median distance <= 0.13, none "
                    "above 0.25, wall time <= 5 s.", ""]


def report_force(frc) -> list[str]:
    lines = ["## c. Force profile and d. detection (hammer files, force sensor = channel 1)", "",
             "| file | sensor strikes | detected | precision | recall | fitted strikes matched | "
             "force correlation (median) | strike time error (median) |", "|---|---|---|---|---|---|---|---|"]
    for r in frc:
        lines.append(f"| {r['file']} | {r['strikes']} | {r['found']} | {r['precision']:.2f} | {r['recall']:.2f} | "
                     f"{r['matched']} | {r['corr']:.2f} | {r['time_err'] * 1e3:.2f} ms |")
    return lines + ["", "Targets: correlation >= 0.8, precision >= 0.95, recall >= 0.9 (+-10 ms), time error <= 1 ms.",
                    ""]


def report_rings(rings_rows, rea) -> list[str]:
    by_file = {r["file"]: r for r in rea}
    lines = ["## e. Ring recovery (real single-strike clips)", "",
             "Peaks: `workbench.analysis.rings.ringing_peaks` after the first detected impact (the five strongest "
             "decaying peaks above 250 Hz in 0.5 s, >= 15 dB above the file's quietest 0.3 s); ✓ = a fitted object "
             "or tool mode within 1 % (`ring_recovery`). Fits of section b.", "",
             "| file | onset s | starts at strike | peaks Hz (ours) | recovered (ours) | recovered (baseline) | "
             "distance | wall s |", "|---|---|---|---|---|---|---|---|"]
    for r in rings_rows:
        o = by_file[r["file"]]["ours"]
        ours, base = r.get("ours"), r.get("baseline")
        lines.append(f"| {r['file']} | {r['onset']:.3f} | {'yes' if r['onset'] < STRIKE_START_S else 'no'} | "
                     f"{marks(r['peaks'], ours) if ours is not None else '-'} | "
                     f"{ratio(int(ours.sum()), len(ours)) if ours is not None else '-'} | "
                     f"{ratio(int(base.sum()), len(base)) if base is not None else '-'} | "
                     + (f"{o['dist']:.3f} | {o['wall']:.1f} |" if "dist" in o else "error | |"))
    tot = lambda rows, who="ours": (sum(int(r[who].sum()) for r in rows if who in r),  # noqa: E731
                                    sum(len(r["peaks"]) for r in rows if who in r))
    start = [r for r in rings_rows if r["onset"] < STRIKE_START_S]
    lines += ["", f"Recovered: {ratio(*tot(rings_rows))} of the peaks of {len(rings_rows)} clips "
              f"(baseline {ratio(*tot(rings_rows, 'baseline')) if any('baseline' in r for r in rings_rows) else 'not run'}); clips that start at the strike (onset < "
              f"{STRIKE_START_S} s, {len(start)}): {ratio(*tot(start))}. "
              f"Clips without a ringing peak: {sum(len(r['peaks']) == 0 for r in rings_rows)}. "
              "Target: >= 95 % of the peaks, every clip included.", ""]
    return lines


def report_tdw(rows) -> list[str]:
    lines = ["## f. ThreeDWorld material renders", "",
             "PyImpact's own code (tdw 1.13: `PyImpact._get_object_modes` draws 10 modes from the material table "
             "with its jitter, `PyImpact._synth_impact_modes` sums them and convolves with the half-sine contact; "
             "resonance r and mass m: medians of tdw's objects.csv for that material and size), T60 = "
             "decay_times (ms) * r / 1000, white noise 40 dB below the sound's RMS. Audible: energy "
             "10**(p/10) * T60 * |H(f)|² (H = the contact's spectrum) within 40 dB of the strongest; found: a fitted "
             "mode within 1 %; T60 error: |fit/true - 1| of the nearest fitted mode, over found audible modes.", "",
             "| material_size | audible modes (✓ found) | found within 1 % | T60 error (median) | distance | wall s |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['modes']} | {ratio(r['found'], r['audible'])} | {pct(med(r['t60']))} | "
                     f"{r['dist']:.3f} | {r['wall']:.1f} |")
    found, audible = sum(r["found"] for r in rows), sum(r["audible"] for r in rows)
    lines += ["", f"All renders ({len(rows)}): {ratio(found, audible)} of the audible modes found within 1 %, "
              f"T60 error median {pct(med([t for r in rows for t in r['t60']]))} (over found modes), median "
              f"distance {med([r['dist'] for r in rows]):.3f}, wall time {med([r['wall'] for r in rows]):.1f} s. "
              "Targets: >= 90 % within 1 %, T60 error <= 15 %.", ""]
    return lines


def report_levels(rows) -> list[str]:
    lines = ["## g. Levels of the fitted presets", "",
             "Peak of `workbench.render(preset)` (default duration, all parts), of the TDW export's `amp` (the peak "
             "PyImpact plays the body at; the exporter clips it to 1 = 0 dBFS) and of the Habitat export's first WAV "
             "(FLOAT).", "", "| file | default render dBFS | TDW amp dBFS | Habitat WAV dBFS |", "|---|---|---|---|"]
    over = 0
    for r in rows:
        tdw_ = (f"{r['tdw']:+.2f}" + (" (clipped)" if r["tdw_clipped"] else "")) if "tdw" in r else "error"
        hab = f"{r['habitat']:+.2f}" if "habitat" in r else "error"
        over += any(r.get(k, -math.inf) > LEVEL_LIMIT_DBFS + 0.01 for k in ("render", "tdw", "habitat"))
        lines.append(f"| {r['file']} | {r['render']:+.2f} | {tdw_} | {hab} |")
    errors = [f"{r['file']}: {r[k]}" for r in rows for k in ("tdw_error", "habitat_error") if k in r]
    return lines + [""] + [f"* {e}" for e in errors] + ([""] if errors else []) + \
        [f"Fits with a render or export above -1 dBFS: {over} of {len(rows)}. Target: none.", ""]


def report_compare(rev: str, sha: str, rows) -> list[str]:
    def dist(x):
        return f"{x['dist']:.3f}" if "dist" in x else "-"

    def wall(x):
        return f"{x['wall']:.1f}" if "wall" in x else "-"

    def ring(x):
        return "-" if x is None else ratio(int(x.sum()), len(x))

    lines = [f"## h. This tree vs {rev} ({sha[:10]}), same run, same cases", "",
             f"| file | distance (here) | distance ({rev}) | wall s (here) | wall s ({rev}) | rings (here) | "
             f"rings ({rev}) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['file']} | {dist(r['here'])} | {dist(r['other'])} | {wall(r['here'])} | "
                     f"{wall(r['other'])} | {ring(r.get('ring_here'))} | {ring(r.get('ring_other'))} |")
    singles = [r for r in rows if fc.is_single_strike(SHARED / r["file"])]
    summary = []
    for who, name in (("here", "here"), ("other", rev)):
        rr = [r[f"ring_{who}"] for r in singles if r.get(f"ring_{who}") is not None]
        summary.append(f"{name}: median distance {med([r[who].get('dist') for r in singles]):.3f}, wall "
                       f"{med([r[who].get('wall') for r in singles]):.1f} s, rings "
                       f"{ratio(sum(int(x.sum()) for x in rr), sum(len(x) for x in rr))}")
    errors = [f"* {r['file']} ({rev}): {r['other']['error']}" for r in rows if "error" in r["other"]]
    return lines + ["", "Single-strike clips: " + "; ".join(summary) + ".", ""] + errors + ([""] if errors else [])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--synthetic", type=int, default=30)
    ap.add_argument("--baseline-synthetic", type=int, default=10)
    ap.add_argument("--steps", type=int, default=250)
    ap.add_argument("--tdw", type=int, default=len(fc.TDW_CASES), help="ThreeDWorld renders (material x size)")
    ap.add_argument("--compare", metavar="REV", help="also fit the real clips with the library of git revision REV")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}")
    ap.add_argument("--files", default="", help="comma-separated substrings: only real files whose path has one")
    args = ap.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    if only - set(SECTIONS):
        ap.error(f"--only: unknown section(s) {', '.join(sorted(only - set(SECTIONS)))}; choose from {', '.join(SECTIONS)}")
    if args.compare:
        only.add("ring")
    torch.manual_seed(0)
    lines = ["# Fitter benchmark", "",
             f"`python bench/fit.py {' '.join(sys.argv[1:])}` on {platform.machine()}, {torch.get_num_threads()} "
             "torch threads, CPU. Medians. 'baseline' = DiffImpact-style fit: random modes over the whole range, "
             "Adam lr 1e-3, no physics prior, the full step budget without early stopping (impact times from the "
             "same detector).", ""]
    out: dict[str, list[str]] = {}      # section -> its lines, written in the order a-h
    if "synthetic" in only:
        out["a"] = report_synthetic(synthetic(args.synthetic, args.steps, args.baseline_synthetic))
    needs_real = only & {"real", "force", "ring", "levels"}
    if needs_real and not SHARED.is_dir():
        out["b"] = ["## Real recordings", "", f"Skipped ({', '.join(sorted(needs_real))}): {SHARED} not found "
                    "(../shared beside the repo).", ""]
    elif needs_real:
        files = [p for p in fc.real_files(SHARED)
                 if only & {"real", "levels"} or ("force" in only and fc.is_hammer(p))
                 or ("ring" in only and fc.is_single_strike(p))]
        keep = [k.strip() for k in args.files.split(",") if k.strip()]
        files = [p for p in files if not keep or any(k in str(p.relative_to(SHARED)) for k in keep)]
        rea = real(files, args.steps, baseline="real" in only)
        ring_rows = rings(rea) if "ring" in only else []
        if "real" in only:
            out["b"] = report_real(rea)
        if "force" in only:
            out["c"] = report_force(force_and_detection(rea))
        if "ring" in only:
            out["e"] = report_rings(ring_rows, rea)
        if "levels" in only:
            out["g"] = report_levels(levels(rea))
        if args.compare:
            sha, rows = compare(args.compare, rea, ring_rows, args.steps)
            out["h"] = report_compare(args.compare, sha, rows)
    if "tdw" in only and args.tdw:
        try:
            out["f"] = report_tdw(tdw(args.tdw, args.steps))
        except wb.WorkbenchError as err:       # tdw not installed
            out["f"] = ["## f. ThreeDWorld material renders", "", f"Skipped: {err}", ""]
    lines += [line for key in sorted(out) for line in out[key]]
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + kept_sections(RESULTS))


def kept_sections(path: Path) -> str:
    """The sections other benchmarks write into fit.md (between ``<!-- NAME:start -->`` and
    ``<!-- NAME:end -->``, e.g. `bench/fit_encoder.py`'s), to keep when this one rewrites it."""
    old = path.read_text() if path.exists() else ""
    blocks = re.finditer(r"\n<!-- (\w+):start -->.*?<!-- \1:end -->\n", old, flags=re.S)
    return "".join(m.group(0) for m in blocks)


if __name__ == "__main__":
    main()
