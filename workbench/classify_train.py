"""Fit-in-the-loop synthetic sets for the material classifier (`workbench.classify`).

The shipped classifier learns from the *true* modes of synthetic bodies (`classify.synthetic_body`).
What it classifies, though, are the modes the fitter *finds* in a recording. To measure (and
optionally train on) that gap, `fitted_set` renders small DiffImpact-like sets of synthetic
clips and fits them with the same joint tool/object fit as the robot clips:

* each set: 2 tools x 2 objects of materials drawn uniformly (`classify.MATERIALS`), bodies
  from `classify.synthetic_body`, rendered into a template preset's room, noise, residual and
  strike (`workbench.rendering.render`), white noise 55-75 dB below the peak, the 4 clips fitted
  together with tool/object labels (`workbench.fitting.fit`, default settings, CPU);
* per set, one JSON file in a cache folder (``set<k>.json``, resumable): each clip's true
  tool and object material, the fitted object and tool modes, and the modes `classify.audio_modes`
  estimates from the unseparated mix.

`fitted_features` reads a cache back as (features, material labels) per role (``object``,
``tool``, ``mix``: the raw mix labelled with its object's material).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from .classify import MATERIALS, audio_modes, features, synthetic_body, tdw_patterns
from .errors import WorkbenchError


def fitted_set(k: int, folder: str | os.PathLike, templates, *, seed: int = 123, patterns=None,
               **fit_options) -> Path:
    """Render and fit set ``k`` (seeded by ``[seed, k]``) into ``folder``; returns its file (kept
    when it already exists). ``templates``: preset files whose room, noise and strike the clips use."""
    from .fitting import fit
    from .presets import preset_from_dict
    from .rendering import render

    out = Path(folder) / f"set{k:04d}.json"
    if out.exists():
        return out
    templates = [Path(t) for t in templates]
    if not templates:
        raise WorkbenchError("templates: need at least one preset file")
    patterns = patterns or tdw_patterns()
    rng = np.random.default_rng([seed, k])
    t0 = time.perf_counter()
    tools = [str(rng.choice(MATERIALS)) for _ in range(2)]
    objects = [str(rng.choice(MATERIALS)) for _ in range(2)]

    def body(material: str, role: str, top_db: float) -> list[dict]:
        f, t60, g = synthetic_body(material, role, rng, patterns)
        return [{"freq_hz": float(a), "t60_s": float(b), "gain_db": float(c - g.max() + top_db)}
                for a, b, c in zip(f, t60, g)]

    tool_banks = [body(m, "tool", rng.uniform(-6.0, 6.0)) for m in tools]
    object_banks = [body(m, "object", rng.uniform(0.0, 12.0)) for m in objects]
    clips, labels, truth, raw = [], {}, [], []
    for i in range(2):
        for j in range(2):
            d = json.loads(templates[rng.integers(len(templates))].read_text(encoding="utf-8"))
            d["object"] = {"modes": object_banks[j]}
            d["tool"] = {"modes": tool_banks[i]}
            d["impacts"] = d["impacts"][:1]
            d["impacts"][0]["contact_s"] = float(np.exp(rng.uniform(np.log(6e-5), np.log(1.5e-4))))
            d["name"] = f"t{i}_on_o{j}"
            preset = preset_from_dict(d)
            a = render(preset, device="cpu")
            a = a + rng.normal(0.0, 10 ** (rng.uniform(-75, -55) / 20) * np.abs(a).max(), a.shape).astype(np.float32)
            clips.append((a, preset.sample_rate))
            labels[f"clip{len(clips) - 1}"] = (f"tool{i}", f"object{j}")
            truth.append((tools[i], objects[j]))
            try:
                raw.append([v.tolist() for v in audio_modes(a, preset.sample_rate)])
            except WorkbenchError:
                raw.append(None)
    result = fit(clips, labels=labels, **{"device": "cpu", **fit_options})
    fits = [{"clip": f"clip{n}", "tool": t, "object": o,
             "object_modes": [[m.freq_hz, m.t60_s, m.gain_db] for m in p.object.modes],
             "tool_modes": [[m.freq_hz, m.t60_s, m.gain_db] for m in p.tool.modes] if p.tool else [],
             "raw_modes": r}
            for n, ((t, o), p, r) in enumerate(zip(truth, result.presets, raw))]
    from .atomic import atomic_write_text

    return atomic_write_text(out, json.dumps({"tools": tools, "objects": objects, "fits": fits,
                                              "steps": result.steps_run,
                                              "seconds": round(time.perf_counter() - t0, 1)}))


def fitted_features(folder: str | os.PathLike, role: str) -> tuple[np.ndarray, np.ndarray]:
    """(n, len(FEATURES)) features and (n,) material names of a `fitted_set` cache for ``role``:
    ``object`` / ``tool`` (each fitted body once per set), ``mix`` (each clip's raw modes)."""
    if role not in ("object", "tool", "mix"):
        raise WorkbenchError(f"role: {role!r} is not one of object, tool, mix")
    xs, ys = [], []
    for path in sorted(Path(folder).glob("set*.json")):
        seen = set()
        for r in json.loads(path.read_text(encoding="utf-8"))["fits"]:
            modes = r.get("raw_modes") if role == "mix" else r[f"{role}_modes"]
            if not modes:
                continue
            if role != "mix":
                key = (r[role], tuple(modes[0]))
                if key in seen:
                    continue
                seen.add(key)
            arr = np.asarray(modes, dtype=np.float64)
            xs.append(features(*(arr if role == "mix" else arr.T)))
            ys.append(r["object" if role == "mix" else role])
    return np.array(xs).reshape(-1, len(xs[0]) if xs else 0), np.array(ys)
