"""Material classification of raw vs separated sounds (DiffImpact Table 1) on the shared recordings.

The classifier (`workbench.classify`, trained only on synthetic mode sets: ThreeDWorld frequency
patterns, textbook loss factors) names the material of

* the 9 DiffImpact robot clips ``diffimpact/robot_<tool>_on_<object>.wav``: the *raw* audio
  (one material for the mix, scored against the object's and the tool's label), and the
  *separated* object and tool banks of one joint tool/object fit over all 9 clips
  (`workbench.fit(paths, labels="names")`, run here, default settings, seed 0);
* every other labelled shared recording (one material per file, raw audio; the hammer files'
  channel 0, the microphone).

Labels come from the file names (ceramic, polycarbonate/poly -> plastic, steel -> metal, wood)
and, for the other recordings, from MANIFEST.md's material column. As DiffImpact trains on "only
the relevant materials", the robot clips are scored among ceramic, metal, plastic and wood (glass
left out); the five-material scores are reported beside them. Prints markdown and writes
``bench/results/material.md``.

    OMP_NUM_THREADS=1 .venv/bin/python bench/material.py
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workbench.audio import load_audio  # noqa: E402
from workbench.classify import MATERIALS, audio_features, bank_features, load_model, predict, train_model  # noqa: E402
from workbench.materials import resolve_material  # noqa: E402
from workbench.names import tool_object  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "real_impacts"
RESULT = REPO / "bench" / "results" / "material.md"
RELEVANT = ("ceramic", "metal", "plastic", "wood")
_NAME_WORDS = (("steel", "metal"), ("ceramic", "ceramic"), ("poly", "plastic"), ("wood", "wood"))
# DiffImpact Table 1 (object / tool material accuracy).
PAPER = {"raw": (37.5, 12.5), "separated": (90.6, 43.8)}


def label_of(word: str) -> str:
    """The robot clips' material from a tool or object name (``polyspoon`` -> ``plastic``)."""
    return next(m for key, m in _NAME_WORDS if key in word.lower())


def best(probs: dict[str, float]) -> str:
    return max(probs, key=probs.get)


def confusion(pairs: list[tuple[str, str]], classes=RELEVANT) -> list[str]:
    """Markdown confusion matrix: rows true, columns predicted."""
    rows = ["| true \\ predicted | " + " | ".join(classes) + " |", "|---|" + "---|" * len(classes)]
    for t in classes:
        if any(tt == t for tt, _ in pairs):
            rows.append(f"| {t} | " + " | ".join(str(sum(1 for tt, p in pairs if tt == t and p == c))
                                                for c in classes) + " |")
    return rows


def accuracy(pairs) -> str:
    hits = sum(t == p for t, p in pairs)
    return f"{100.0 * hits / len(pairs):.1f} % ({hits}/{len(pairs)})"


def manifest_materials() -> dict[str, str]:
    """{relative file: material} from MANIFEST.md's table."""
    out = {}
    for line in (DATA / "MANIFEST.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\|\s*`([^`]+)`\s*\|\s*[ABC]\s*\|\s*([^|]+)\|", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="Joint fit's steps (default: the fitter's).")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from workbench.fitting import fit

    robots = sorted((DATA / "diffimpact").glob("robot_*_on_*.wav"))
    t0 = time.perf_counter()
    result = fit([str(p) for p in robots], labels="names", device="cpu",
                 **({"steps": args.steps} if args.steps else {}))
    fit_s = time.perf_counter() - t0
    model = load_model()
    rows, feats = [], []
    pairs = {k: [] for k in ("sep_obj", "sep_tool", "raw_obj", "raw_tool", "sep_obj5", "sep_tool5", "raw5")}
    for path, preset in zip(robots, result.presets):
        tool, obj = (label_of(w) for w in tool_object(path.name))
        audio, sr = load_audio(path)
        f_raw, f_obj, f_tool = audio_features(audio, sr), bank_features(preset.object.modes), bank_features(preset.tool.modes)
        feats.append((obj, tool, f_raw, f_obj, f_tool))
        raw = predict(f_raw, role="object", materials=RELEVANT, model=model)
        so = predict(f_obj, role="object", materials=RELEVANT, model=model)
        st = predict(f_tool, role="tool", materials=RELEVANT, model=model)
        pairs["raw_obj"].append((obj, best(raw)))
        pairs["raw_tool"].append((tool, best(raw)))
        pairs["sep_obj"].append((obj, best(so)))
        pairs["sep_tool"].append((tool, best(st)))
        pairs["raw5"].append((obj, best(predict(f_raw, role="object", model=model))))
        pairs["sep_obj5"].append((obj, best(predict(f_obj, role="object", model=model))))
        pairs["sep_tool5"].append((tool, best(predict(f_tool, role="tool", model=model))))
        rows.append(f"| `{path.name}` | {obj} | {best(raw)} ({raw[best(raw)]:.2f}) | {best(so)} ({so[best(so)]:.2f}) "
                    f"| {tool} | {best(st)} ({st[best(st)]:.2f}) |")

    seeds = []                 # the same features, classifiers trained on other seeds of the recipe
    for seed in range(1, 5):
        m = train_model(seed=seed, per_material=model["per_material"])
        hits = [sum(best(predict(f, role=role, materials=RELEVANT, model=m)) == truth
                    for truth, f in cases) for role, cases in
                (("object", [(o, fr) for o, _, fr, _, _ in feats]), ("object", [(o, fo) for o, _, _, fo, _ in feats]),
                 ("tool", [(t, ft) for _, t, _, _, ft in feats]))]
        seeds.append(f"| {seed} | {hits[0]}/9 | {hits[1]}/9 | {hits[2]}/9 |")

    others = []
    for rel, text in sorted(manifest_materials().items()):
        if rel.startswith("diffimpact/robot_"):
            continue
        truth = resolve_material(text)
        audio, sr = load_audio(DATA / rel, channel=0 if "hammer_" in rel else None)
        try:
            probs = predict(audio_features(audio, sr), role="object", model=model)
            guess = f"{best(probs)} ({probs[best(probs)]:.2f})"
            others.append((rel, text, truth, best(probs), guess))
        except Exception as e:   # noqa: BLE001 - a clip too short to classify is a row, not a crash
            others.append((rel, text, truth, None, f"- ({e})"))

    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Material classification: raw vs separated sounds (DiffImpact Table 1)", "",
        f"`bench/material.py`, {now}, Python {platform.python_version()}, {platform.machine()}, 1 torch thread. "
        f"Classifier: `workbench/data/material_classifier.json` ({model['generated_by']}), trained only on "
        f"synthetic mode sets ({model['per_material']} per material and role, seed {model['seed']}).", "",
        f"Separation: one joint tool/object fit over the {len(robots)} robot clips ({result.steps_run} steps, "
        f"{result.stopped}, {fit_s:.0f} s); each clip's object bank and tool bank are classified apart. Raw: modes "
        "estimated from the unseparated clip, one material for the mix, scored against the object's and the "
        "tool's label. Candidates: ceramic, metal, plastic, wood (the robot clips' materials, as DiffImpact "
        "trains on only the relevant materials).", "",
        "| robot clips (9) | object accuracy | tool accuracy | DiffImpact object | DiffImpact tool |",
        "|---|---|---|---|---|",
        f"| raw audio | {accuracy(pairs['raw_obj'])} | {accuracy(pairs['raw_tool'])} | {PAPER['raw'][0]} % | "
        f"{PAPER['raw'][1]} % |",
        f"| separated (joint fit) | {accuracy(pairs['sep_obj'])} | {accuracy(pairs['sep_tool'])} | "
        f"{PAPER['separated'][0]} % | {PAPER['separated'][1]} % |", "",
        f"With all five materials as candidates ({', '.join(MATERIALS)}): raw {accuracy(pairs['raw5'])} (object), "
        f"separated object {accuracy(pairs['sep_obj5'])}, separated tool {accuracy(pairs['sep_tool5'])}.", "",
        "Targets (issue 12): separated object >= 95 %, separated tool >= 60 %: "
        f"object {'met' if _rate(pairs['sep_obj']) >= 0.95 else 'NOT met'}, "
        f"tool {'met' if _rate(pairs['sep_tool']) >= 0.60 else 'NOT met'}.", "",
        "Read with care: the joint fit gives every clip of one object the same object bank (and every clip "
        "of one tool the same tool bank), so the 9 clips hold 4 objects and 4 tools; a figure moves in steps "
        "of 2-4 clips. The recipe's decay model (loss to the surroundings falling with frequency and differing "
        "per mode; a grip damping a tool's modes alike; lowest mode independent of material) was revised "
        "while looking at these clips' results, so they are not a clean held-out test.", "",
        "Same features, classifiers trained on other seeds of the recipe (separated object, tool; raw vs object):", "",
        "| seed | raw object | separated object | separated tool |", "|---|---|---|---|", *seeds, "",
        "| clip | object | raw -> (p) | separated object -> (p) | tool | separated tool -> (p) |",
        "|---|---|---|---|---|---|", *rows, "",
        "Confusion, separated objects:", "", *confusion(pairs["sep_obj"]), "",
        "Confusion, separated tools:", "", *confusion(pairs["sep_tool"]), "",
        "Confusion, raw audio vs the object's label:", "", *confusion(pairs["raw_obj"]), "",
        "Other labelled shared recordings (raw audio, one material per file, all five candidates; "
        "the clip's material from MANIFEST.md):", "",
        "| file | manifest material | label | predicted (p) |", "|---|---|---|---|",
        *[f"| `{rel}` | {text} | {truth or '-'} | {guess} |" for rel, text, truth, _, guess in others], "",
        f"Accuracy on the other recordings: {accuracy([(t, p) for _, _, t, p, _ in others if t and p])}.", "",
    ]
    text = "\n".join(lines)
    print(text)
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(text, encoding="utf-8")
    return 0


def _rate(pairs) -> float:
    return float(np.mean([t == p for t, p in pairs]))


if __name__ == "__main__":
    sys.exit(main())
