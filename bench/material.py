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
LOOP = REPO / "out" / "classify_cache" / "loop"
RELEVANT = ("ceramic", "metal", "plastic", "wood")
_NAME_WORDS = (("steel", "metal"), ("ceramic", "ceramic"), ("poly", "plastic"), ("wood", "wood"))
#: What else was measured on these clips (by hand, cached joint fit of the 9 clips, seed 0 unless said).
NOTES = [
    "What was tried (separated object / separated tool / raw object, robot clips, 4 candidates):", "",
    "- Features v1 -> v2 (kept): energy-weighted means, spread and T60 median of the loss factor -> its "
    "quantiles (10/50/90 %) and a Huber line of log eta vs log f (value at 3.2 kHz, slope): 7/9, 4/9, 5/9 -> "
    "7/9, 7/9, 4/9. The tools gain because their fitted banks hold ~10 heavily damped modes (T60 10-25 ms, the "
    "contact's click) that pulled the mean; the 10 % quantile reads the modes that ring.",
    "- Wider plastic loss factors (5e-3 to 5e-2, polycarbonate's low end) (not kept): object 7/9 over seeds "
    "0-2 (the cup stays wood), tool 7/9, 7/9, 5/9.",
    "- Gradient boosting (scikit-learn HistGradientBoosting, 200 iterations) on the same features (not kept): "
    "object 7/9; tool 8/9 on seed 0 but 7/9 on seeds 1 and 2. Logistic regression with C = 0.1: unchanged.",
    "- Contact duration for the tool (not used): the fitted contact_s is 0.070-0.079 ms for the steel, ceramic "
    "and plastic tools and 0.093-0.107 ms for the wood spoon; softer-is-longer agrees with Hertz, but the values "
    "do not move with the object (steel fork on steel 0.077 ms, on polycarbonate 0.074 ms; Hertz: ~4x longer) "
    "and sit 2-5x below Hertz, so a Hertz-drawn synthetic range would not match what the fitter returns.",
    "- With glass among the candidates, v2 reads the steel bowl and the ceramic mug as glass (separated object "
    "5/9 -> 2/9 of five): both measure eta ~1e-3, where the recipe's glass overlaps metal and ceramic.",
    "- Fit-in-the-loop (measured, not shipped): 99 sets (`workbench.classify_train.fitted_set`, seed 123; "
    "templates: the 9 robot clips' joint-fit presets, their room, noise, residual and strike with the modes "
    "replaced; sets 0-12 drew from 4 materials, no glass). Held out by blocks of sets (5 folds), on fitted "
    "synthetic bodies, 4 candidates: object 0.70 (recipe only) / 0.77 (recipe + fits, equal total weight) / "
    "0.78 (fits only); tool 0.38 / 0.38 / 0.38; mix 0.63 / 0.75 / 0.73. On the robot clips it changes no "
    "object or tool answer (7/9, 7/9) and lowers raw to 1-3/9, so the shipped model stays recipe-only. The "
    "synthetic tools are not separated well by the joint fit (0.38): the recipe's grip loss (3e-3 to 3e-2) "
    "damps synthetic tools far more than the robot's tools measure (steel fork eta ~3e-4 above 6 kHz).",
    "- Mode density per octave (not used): the fitter returns a fixed 48 object and 16 tool modes whatever "
    "the body, so the count says nothing about the material.",
    "- Polycarbonate cup -> wood: its fitted loss factors equal the wood holder's (median eta 10^-2.05 vs "
    "10^-2.11, 10 % quantile 10^-2.40 vs 10^-2.39); polycarbonate is among the least damped glassy polymers, "
    "inside wood's range, and nothing in the spectral pattern separates them. Ceramic chopstick -> metal: its "
    "ringing modes (10-15 kHz) have eta ~1e-3, the textbook ceramic/metal boundary.",
]
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
    parser.add_argument("--loop", type=Path, default=LOOP, help="A `workbench.classify_train.fitted_set` cache: "
                        "score the shipped classifier on fitted synthetic sets and train on them (skipped if absent).")
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

    loop_lines = fit_in_the_loop(args.loop, model, feats) if args.loop.is_dir() else [
        f"(no fit-in-the-loop cache at `{args.loop}`: see `workbench/classify_train.py`)"]

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
        "of 1-4 clips. The recipe's decay model (loss to the surroundings falling with frequency and differing "
        "per mode; a grip damping a tool's modes alike; lowest mode independent of material) and the features "
        "(robust quantiles and line, chosen after seeing that the tools' damped click modes moved the means) "
        "were revised while looking at these clips' results, so they are not a clean held-out test. Nothing "
        "was fitted to them: the classifier's weights come from synthetic sounds only.", "",
        "Same features, classifiers trained on other seeds of the recipe (separated object, tool; raw vs object):", "",
        "| seed | raw object | separated object | separated tool |", "|---|---|---|---|", *seeds, "",
        *loop_lines, "", *NOTES, "",
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


def fit_in_the_loop(folder: Path, model: dict, feats) -> list[str]:
    """Markdown: the shipped classifier on fitted synthetic sets (the sim-to-fit gap), and classifiers
    trained on those fits (alone, and added to the recipe's set) scored on the robot clips."""
    from sklearn.linear_model import LogisticRegression

    from workbench.classify import synthetic_set
    from workbench.classify_train import fitted_features

    rows = ["Fit-in-the-loop (`workbench/classify_train.py`): synthetic 2 tools x 2 objects sets rendered "
            "and fitted with the same joint fit; the shipped classifier on the *fitted* modes, and logistic "
            "regressions trained on them (robot clips, 4 candidates; mix = raw modes of the unseparated "
            "clip, labelled with the object):", "",
            "| role | fitted bodies | shipped model on fitted synthetic (4 candidates) | trained on fits: robot "
            "| recipe + fits (equal weight): robot |", "|---|---|---|---|---|"]
    cases = {"object": [(o, fo) for o, _, _, fo, _ in feats], "tool": [(t, ft) for _, t, _, _, ft in feats],
             "mix": [(o, fr) for o, _, fr, _, _ in feats]}
    for role in ("object", "tool", "mix"):
        x, y = fitted_features(folder, role)
        keep = np.isin(y, RELEVANT)
        if keep.sum() < 20 or len(set(y)) < len(MATERIALS):
            rows.append(f"| {role} | {len(y)} | - | - | - |")
            continue
        shipped = np.mean([best(predict(v, role="tool" if role == "tool" else "object", materials=RELEVANT,
                                        model=model)) == t for v, t in zip(x[keep], y[keep])])
        xs, ys = synthetic_set("tool" if role == "tool" else "object", per_material=model["per_material"],
                               seed=model["seed"])
        scores = []
        # fits alone; the recipe's bodies plus the fits, each half of the total weight
        for tx, ty, tw in ((x, y, np.ones(len(y))),
                           (np.vstack([xs, x]), np.concatenate([np.array(MATERIALS)[ys], y]),
                            np.concatenate([np.ones(len(ys)), np.full(len(y), len(ys) / len(y))]))):
            mean, std = tx.mean(0), tx.std(0) + 1e-9
            clf = LogisticRegression(max_iter=3000).fit((tx - mean) / std, ty, sample_weight=tw)
            idx = [list(clf.classes_).index(m) for m in RELEVANT]
            hits = sum(RELEVANT[int(np.argmax(clf.predict_proba(((f - mean) / std)[None])[0][idx]))] == t
                       for t, f in cases[role])
            scores.append(f"{hits}/9")
        rows.append(f"| {role} | {len(y)} | {100 * shipped:.1f} % ({keep.sum()}) | {scores[0]} | {scores[1]} |")
    return rows


def _rate(pairs) -> float:
    return float(np.mean([t == p for t, p in pairs]))


if __name__ == "__main__":
    sys.exit(main())
