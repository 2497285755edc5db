"""The workbench's vocabulary of names: file-safe slugs, tool/object labels, materials.

One rule for each, used by the fitter, the library builder, the exporters and the app:

* `slugify` - a file-safe identifier (lower-case ``[a-z0-9_]`` by default; the
  preset library keeps case, dots and dashes); `unique_name` / `unique_slug` - one
  that no other file of the folder has (``-2``, ``-3``... appended).
* `tool_object` - ``(tool, object)`` from a name like ``robot_steelfork_on_steelbowl.wav``.
* `material_class` - the ThreeDWorld/PyImpact ``AudioMaterial`` that a free-text
  material names (``"stainless steel"`` -> ``"metal"``); `material_word` - the first
  material word inside a run-together name (``"steelbowl"`` -> ``"steel"``);
  `guess_material` - that word for what was struck (the object of a tool/object name);
  `material_family` - the folder a preset's material files it under.

Example:
    >>> tool_object("robot_steelfork_on_steelbowl.wav")
    ('steelfork', 'steelbowl')
    >>> material_word("steelbowl"), material_class("steel"), material_family("metal (steel)")
    ('steel', 'metal', 'metal')
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

#: ``<...>_<tool>_on_<object>`` at the end of a file's stem.
TOOL_OBJECT_PATTERN = re.compile(r"(?:^|_)(?P<tool>[A-Za-z0-9-]+)_on_(?P<object>[A-Za-z0-9-]+)$")

#: The 14 PyImpact / Clatter impact materials (``tdw.physics_audio.audio_material.AudioMaterial``).
AUDIO_MATERIALS = ("ceramic", "glass", "metal", "wood_hard", "wood_medium", "wood_soft", "cardboard", "paper",
                   "plastic_hard", "plastic_soft_foam", "rubber", "fabric", "leather", "stone")

#: Words that name one of the AudioMaterial classes (checked longest first, as whole words).
MATERIAL_WORDS: dict[str, tuple[str, ...]] = {
    "metal": ("metal", "steel", "iron", "aluminium", "aluminum", "brass", "copper", "bronze", "tin", "gong",
              "bell", "cymbal", "titanium", "silver", "gold", "zinc", "pewter"),
    "glass": ("glass", "crystal"),
    "ceramic": ("ceramic", "porcelain", "china", "pottery", "earthenware", "stoneware", "terracotta", "tile"),
    "wood_hard": ("hardwood", "hard_wood", "wood_hard", "oak", "maple", "beech", "walnut", "ash", "teak",
                  "mahogany", "ebony", "cherry"),
    "wood_medium": ("wood", "wooden", "wood_medium", "plywood", "timber"),
    "wood_soft": ("softwood", "soft_wood", "wood_soft", "pine", "balsa", "spruce", "cedar", "fir"),
    "cardboard": ("cardboard", "carton", "corrugated"),
    "paper": ("paper", "book", "newspaper"),
    "plastic_hard": ("plastic", "plastic_hard", "hard_plastic", "acrylic", "pvc", "abs", "polycarbonate",
                     "nylon", "bakelite", "resin"),
    "plastic_soft_foam": ("foam", "styrofoam", "polystyrene", "sponge", "plastic_soft_foam", "soft_plastic"),
    "rubber": ("rubber", "silicone", "latex", "eraser"),
    "fabric": ("fabric", "cloth", "textile", "cotton", "wool", "felt", "carpet", "cushion"),
    "leather": ("leather", "suede"),
    "stone": ("stone", "rock", "marble", "granite", "concrete", "brick", "slate", "cement", "pebble"),
}

#: Material words looked for inside run-together object names (``steelbowl``), in this order.
#: Each one is also a word of `MATERIAL_WORDS`, so `material_class` maps it to a class.
NAME_MATERIAL_WORDS = ("steel", "metal", "iron", "bronze", "brass", "ceramic", "porcelain", "glass", "wood",
                       "plastic", "polycarbonate", "stone", "rubber", "cardboard", "paper")

_BY_LENGTH = sorted(((w, m) for m, ws in MATERIAL_WORDS.items() for w in ws), key=lambda wm: -len(wm[0]))


def slugify(text: str, *, lowercase: bool = True, keep: str = "", max_length: int = 48,
            default: str = "") -> str:
    """A file-safe identifier: runs of other characters become ``_``, the ends are trimmed.

    Args:
        text: Any text (a preset name, a material).
        lowercase: Lower-case the result (identifiers, PyImpact keys); ``False`` keeps case.
        keep: Punctuation kept besides letters and digits (``"._-"`` for file names).
        max_length: Longest result.
        default: Returned when nothing is left.

    Example:
        >>> slugify("Demo steel bowl (v2)!"), slugify("My bowl v1.2", lowercase=False, keep="._-")
        ('demo_steel_bowl_v2', 'My_bowl_v1.2')
    """
    text = text.strip().lower() if lowercase else text.strip()
    allowed = "a-z0-9" if lowercase else "A-Za-z0-9"
    slug = re.sub(f"[^{allowed}{re.escape(keep)}]+", "_", text).strip("._-")
    return slug[:max_length].strip("._-") or default


def unique_name(stem: str, taken: Iterable[str]) -> str:
    """``stem``, or ``stem-2``, ``stem-3``... : the first not in ``taken`` (compared case-insensitively,
    as on macOS and Windows file systems).

    Example:
        >>> unique_name("bell", ["Bell", "bell-2"]), unique_name("gong", ["bell"])
        ('bell-3', 'gong')
    """
    used = {t.casefold() for t in taken}
    name, k = stem, 1
    while name.casefold() in used:
        k += 1
        name = f"{stem}-{k}"
    return name


def unique_slug(name: str, taken: Iterable[str], *, lowercase: bool = False, keep: str = "._-",
                max_length: int = 80, default: str = "preset") -> str:
    """`slugify` ``name`` (file-name style by default: case, dots and dashes kept), then `unique_name`.

    Two names with the same slug (``"Bell, v1"`` and ``"Bell v1"``) get different file stems
    instead of overwriting each other.

    Example:
        >>> taken = []
        >>> for name in ("Bell, v1", "Bell v1", "bell/v1"):
        ...     taken.append(unique_slug(name, taken))
        >>> taken
        ['Bell_v1', 'Bell_v1-2', 'bell_v1-3']
    """
    base = slugify(name, lowercase=lowercase, keep=keep, max_length=max_length, default=default)
    return unique_name(base, taken)


def tool_object(name: str) -> tuple[str, str] | None:
    """``(tool, object)`` read from ``<...>_<tool>_on_<object>`` at the end of a name's stem, else None."""
    m = TOOL_OBJECT_PATTERN.search(Path(name).stem)
    return (m["tool"], m["object"]) if m else None


def material_word(name: str) -> str:
    """The first of `NAME_MATERIAL_WORDS` inside ``name`` (``steelbowl`` -> ``steel``), else ''."""
    low = name.lower()
    return next((m for m in NAME_MATERIAL_WORDS if m in low), "")


def guess_material(name: str) -> str:
    """The material word of what was struck, from a file or clip name: of the object in
    ``*_<tool>_on_<object>`` names (the tool is not what rings), else of the whole stem; '' if none.

    Example:
        >>> guess_material("robot_steelfork_on_ceramicmug.wav"), guess_material("steel_gong_hit.wav")
        ('ceramic', 'steel')
    """
    labels = tool_object(name)
    return material_word(labels[1] if labels else Path(name).stem)


def material_class(material: str) -> str | None:
    """The AudioMaterial that a free-text ``material`` names, if any.

    Exact AudioMaterial names win; otherwise the longest known word found in the text
    (``"steel bowl"`` -> ``"metal"``, ``"oak plank"`` -> ``"wood_hard"``).

    Example:
        >>> material_class("Stainless steel"), material_class("wood_soft"), material_class("mystery")
        ('metal', 'wood_soft', None)
    """
    norm = slugify(material or "")
    if not norm:
        return None
    if norm in AUDIO_MATERIALS:
        return norm
    padded = f"_{norm}_"
    for word, mat in _BY_LENGTH:
        if f"_{word}_" in padded or f"_{word}s_" in padded:
            return mat
    return None


def material_family(material: str) -> str:
    """The library folder of a material: its first word, file-safe (``'metal (steel)'`` -> ``'metal'``).

    Example:
        >>> material_family("metal (steel)"), material_family("")
        ('metal', 'unsorted')
    """
    word = re.split(r"[\s(]", material.strip().lower(), maxsplit=1)[0] if material.strip() else ""
    return re.sub(r"[^a-z0-9_-]", "", word) or "unsorted"
