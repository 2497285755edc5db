#!/usr/bin/env python3
"""Play an Impact Workbench export in ThreeDWorld's PyImpact (tdw 1.13.0.0).

Copied into every ThreeDWorld export folder; it reads ``export.json`` next to it and
needs only ``tdw`` and ``numpy`` (not the workbench)::

    python play_in_tdw.py --offline   # no Unity build: render with tdw's synthesiser, write WAVs here
    python play_in_tdw.py             # with a TDW build: drop an object on the floor and listen

Two ways to use the exported modes:

* **Modes path** (exact, deterministic): ``object_modes.json`` -> ``Modes`` ->
  ``PyImpact._synth_impact_modes`` (`synth_modes`). Every fitted mode, no jitter.
* **Material path** (PyImpact's usual one; it keeps 10 modes and jitters them): the table
  ``<key>_mm.json`` is registered in ``py_impact.material_data`` under its key
  (`make_py_impact`). Pass the key as ``primary_material`` to ``get_impact_sound``
  (`synth_material`), or, with ``override_builtin=True``, it also replaces the built-in
  ``<audio material>_<size>`` table, so that PyImpact's automatic mode plays it for every
  object whose ``ObjectAudioStatic`` has that material and size (`play_in_build`).

tdw 1.13 needs two work-arounds on Linux (`patch_tdw`): ``PyImpact()`` opens
``material_data/ceramic_3_mm.json`` but the file is ``Ceramic_3_mm.json``, and tdw imports
``pkg_resources``, which setuptools >= 81 no longer ships.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import types
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
#: The floor PyImpact uses by default (``PyImpact.floor`` = wood_medium, ``FLOOR_SIZE`` = 4).
FLOOR_MATERIAL = "wood_medium_4"
FLOOR_AMP = 0.5
FLOOR_MASS = 100.0


def resource_filename(package: str, resource: str) -> str:
    """``pkg_resources.resource_filename`` that also finds files whose name differs in case."""
    spec = importlib.util.find_spec(package)
    path = Path(spec.origin).parent / resource
    if not path.exists() and path.parent.is_dir():
        for candidate in path.parent.iterdir():
            if candidate.name.lower() == path.name.lower():
                return str(candidate)
    return str(path)


def patch_tdw() -> None:
    """Make ``tdw.add_ons.py_impact`` importable and ``PyImpact()`` constructible on Linux."""
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = resource_filename
        sys.modules["pkg_resources"] = shim
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # pydub warns when ffmpeg is missing (only scrapes need it)
        import tdw.add_ons.py_impact as py_impact_module
    py_impact_module.resource_filename = resource_filename


def load_export(folder: Path = HERE) -> dict:
    """The ``export.json`` record of this folder."""
    return json.loads((folder / "export.json").read_text(encoding="utf-8"))


def body_record(role: str = "object", folder: Path = HERE) -> dict:
    """The ``tdw.bodies`` entry of ``role`` ("object" or "tool")."""
    for body in load_export(folder)["tdw"]["bodies"]:
        if body["role"] == role:
            return body
    raise KeyError(f"this export has no {role}")


def _json(name: str, folder: Path = HERE) -> dict:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def load_modes(role: str = "object", folder: Path = HERE):
    """``(Modes, settings)`` from ``<role>_modes.json``; settings hold resonance, mass_kg, amp."""
    from tdw.physics_audio.modes import Modes

    data = _json(body_record(role, folder)["modes_file"], folder)
    modes = Modes(np.asarray(data["frequencies"], dtype=float), np.asarray(data["powers"], dtype=float),
                  np.asarray(data["decay_times"], dtype=float))
    return modes, {k: data[k] for k in ("resonance", "mass_kg", "amp")}


def audio_static(role: str = "object", object_id: int = 0, folder: Path = HERE):
    """The ``ObjectAudioStatic`` of ``role`` (built-in fallback material, size, mass, amp)."""
    patch_tdw()
    from tdw.physics_audio.audio_material import AudioMaterial
    from tdw.physics_audio.object_audio_static import ObjectAudioStatic

    d = _json(body_record(role, folder)["audio_static_file"], folder)
    return ObjectAudioStatic(name=d["name"], amp=d["amp"], mass=d["mass"], material=AudioMaterial[d["material"]],
                             bounciness=d["bounciness"], resonance=d["resonance"], size=d["size"],
                             object_id=object_id)


def make_py_impact(*, override_builtin: bool = False, folder: Path = HERE, **kwargs):
    """A ``PyImpact`` with this export's material tables registered.

    Args:
        override_builtin: Also replace the built-in ``<audio material>_<size>`` table(s).
        kwargs: ``PyImpact`` arguments (``initial_amp``, ``rng``, ``auto``, ...).
    """
    patch_tdw()
    from tdw.add_ons.py_impact import PyImpact

    py_impact = PyImpact(**kwargs)
    for body in load_export(folder)["tdw"]["bodies"]:
        table = _json(body["material_file"], folder)
        py_impact.material_data[body["material_key"]] = table
        if override_builtin:
            py_impact.material_data[f"{body['audio_material']}_{body['size']}"] = table
    return py_impact


def synth_modes(role: str = "object", folder: Path = HERE, initial_amp: float = 0.5) -> np.ndarray:
    """Modes path: the exact impact sound (44.1 kHz float, peak ``amp * initial_amp``)."""
    patch_tdw()
    from tdw.add_ons.py_impact import PyImpact
    from tdw.physics_audio.modes import Modes

    modes, settings = load_modes(role, folder)
    silent = Modes(np.array([100.0]), np.array([-90.0]), np.array([10.0]))   # an empty Modes crashes
    x = PyImpact._synth_impact_modes(modes, silent, settings["mass_kg"], settings["resonance"], 1.0)
    return settings["amp"] * initial_amp * x / np.max(np.abs(x))


def synth_material(role: str = "object", seed: int = 0, folder: Path = HERE, initial_amp: float = 0.5):
    """Material path: PyImpact's jittered impact of the registered table on its default floor.

    Returns:
        A ``tdw.physics_audio.base64_sound.Base64Sound`` (``.write(path)`` saves a WAV).
    """
    py_impact = make_py_impact(folder=folder, auto=False, initial_amp=initial_amp,
                               rng=np.random.RandomState(seed))
    body = body_record(role, folder)
    settings = _json(body["modes_file"], folder)
    return py_impact.get_impact_sound(
        velocity=np.array([0.0, -2.0, 0.0]), contact_normals=[np.array([0.0, 1.0, 0.0])],
        primary_id=1, primary_material=body["material_key"], primary_amp=settings["amp"],
        primary_mass=settings["mass_kg"], secondary_id=None, secondary_material=FLOOR_MATERIAL,
        secondary_amp=FLOOR_AMP, secondary_mass=FLOOR_MASS, primary_resonance=settings["resonance"],
        secondary_resonance=settings["resonance"])


def offline(out_dir: Path = HERE, folder: Path = HERE) -> list[Path]:
    """Render every body both ways without Unity; write ``<role>_tdw_modes.wav`` and ``_material.wav``."""
    patch_tdw()
    from tdw.physics_audio.base64_sound import Base64Sound

    written = []
    for body in load_export(folder)["tdw"]["bodies"]:
        role = body["role"]
        path = Path(out_dir) / f"{role}_tdw_modes.wav"
        Base64Sound(synth_modes(role, folder)).write(path)
        written.append(path)
        path = Path(out_dir) / f"{role}_tdw_material.wav"
        synth_material(role, folder=folder).write(path)
        written.append(path)
    return written


def play_in_build(model: str = "iron_box", library: str = "models_core.json", frames: int = 250,
                  folder: Path = HERE) -> None:
    """With a TDW build: drop ``model`` on the floor; PyImpact plays the exported object's table."""
    patch_tdw()
    from tdw.add_ons.audio_initializer import AudioInitializer
    from tdw.add_ons.third_person_camera import ThirdPersonCamera
    from tdw.controller import Controller
    from tdw.tdw_utils import TDWUtils

    c = Controller()
    object_id = Controller.get_unique_id()
    py_impact = make_py_impact(override_builtin=True, folder=folder, rng=np.random.RandomState(0),
                               static_audio_data_overrides={object_id: audio_static("object", object_id, folder)})
    camera = ThirdPersonCamera(avatar_id="a", position={"x": 1.0, "y": 1.6, "z": -2.0},
                               look_at={"x": 0.0, "y": 0.5, "z": 0.0})
    c.add_ons.extend([camera, AudioInitializer(avatar_id="a"), py_impact])
    c.communicate([TDWUtils.create_empty_room(12, 12),
                   *Controller.get_add_physics_object(model_name=model, object_id=object_id, library=library,
                                                      position={"x": 0.0, "y": 1.5, "z": 0.0})])
    for _ in range(frames):
        c.communicate([])
    c.communicate({"$type": "terminate"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", action="store_true", help="render WAVs with tdw's synthesiser; no Unity")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the offline WAVs (default: here)")
    parser.add_argument("--model", default="iron_box", help="model dropped in the build (default iron_box)")
    args = parser.parse_args(argv)
    if args.offline:
        for path in offline(args.out):
            print(f"wrote {path}")
    else:
        play_in_build(model=args.model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
