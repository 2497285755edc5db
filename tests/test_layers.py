"""The package's shape: imports point down the layers only, nothing imports the package
root, no UI library below the app, no file over the length a reader can hold.

Every ``import`` statement counts, also those inside functions (a lazy import is still
a dependency). The layers are the ones the package docstring (`workbench/__init__.py`)
describes.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "workbench"

#: Layer of each top-level module or subpackage of `workbench`, bottom (0) to top.
LAYERS = {
    "errors": 0, "version": 0, "atomic": 0, "names": 0, "specs": 0, "data": 0, "budgets": 0, "memo": 0,
    "damping": 0,
    "functional": 1,
    "presets": 2, "audio": 2, "plots": 2, "analysis": 2,
    "synth": 3, "losses": 3, "jtfs": 3,
    "controls": 4, "edits": 4, "rendering": 4, "levels": 4, "physical": 4, "materials": 4, "families": 4,
    "fitting": 5, "export": 5, "library": 5, "variations": 5, "banks": 5, "soundmap": 5, "classify": 5, "classify_train": 5, "learned": 5,
    "app": 6, "notebook": 6, "cli": 6, "cli_classify": 6, "cli_map": 6, "cli_learned": 6, "__main__": 6,
}
UI_LIBRARIES = ("panel", "param", "ipywidgets", "bokeh")
MAX_LINES = 500


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``."""
    module = _name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "workbench" or (node.level and not node.module):
                # `from .. import x`: x may be a submodule; count each name
                out += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
            else:
                out.append((node.lineno, target))
    return out


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "workbench" or len(parts) < 2:
        return None
    return LAYERS.get(parts[1])


def test_every_module_has_a_layer():
    missing = sorted({_name(p).split(".")[1] for p in _modules() if _name(p) != "workbench"} - set(LAYERS))
    assert not missing, f"modules without a layer in tests/test_layers.py: {missing}"


def test_imports_point_down_only():
    upward = []
    for path in _modules():
        here = _layer(_name(path))
        if here is None:
            continue
        for line, target in _imports(path):
            there = _layer(target)
            if there is not None and there > here:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target} (layer {there} > {here})")
    assert not upward, "\n".join(upward)


def test_nothing_imports_the_package_root():
    offenders = []
    for path in _modules():
        if path == PACKAGE / "__init__.py":
            continue
        for line, target in _imports(path):
            if target == "workbench" or (target.startswith("workbench.") and _layer(target) is None):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert not offenders, "\n".join(offenders)


def test_no_ui_library_below_the_app():
    offenders = []
    for path in _modules():
        layer = _layer(_name(path))
        if layer is None or layer >= LAYERS["app"]:
            continue
        for line, target in _imports(path):
            if target.split(".")[0] in UI_LIBRARIES:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert not offenders, "\n".join(offenders)


def test_no_file_is_too_long():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines: {long}"


def test_the_layer_check_catches_an_upward_import(tmp_path, monkeypatch):
    """The checker itself: a synthetic low module importing the app is reported."""
    fake = tmp_path / "workbench"
    (fake / "functional").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "functional" / "__init__.py").write_text("")
    (fake / "functional" / "bad.py").write_text("def f():\n    from ..app import state\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    with pytest.raises(AssertionError, match="bad.py:2 imports workbench.app"):
        test_imports_point_down_only()


@pytest.mark.parametrize("module", ["workbench", "workbench.presets", "workbench.edits", "workbench.names",
                                    "workbench.fitting.settings", "workbench.cli"])
def test_light_imports_do_not_import_torch(module):
    """``import workbench`` (and the schema, edits, settings, CLI) stays light until something renders."""
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False", f"importing {module} imported torch"
